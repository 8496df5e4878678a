package main

import (
	"bytes"
	"image/jpeg"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	cfg, err := parseConfig([]string{"datasetresize", "-quick", "-n", "5"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.n != 5 || cfg.width != 320 || cfg.reps != 1 || len(cfg.threads) != 1 || cfg.threads[0] != 2 {
		t.Errorf("quick with -n 5: %+v", cfg)
	}
	for _, bad := range [][]string{{"-threads", "0"}, {"-n", "0"}, {"extra"}} {
		if _, err := parseConfig(append([]string{"datasetresize"}, bad...), io.Discard); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

func TestGenerate(t *testing.T) {
	dir := t.TempDir()
	if err := generate(dir, 3, 64, 48); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.jpg"))
	if len(files) != 3 {
		t.Fatalf("%d files", len(files))
	}
	f, _ := os.Open(files[0])
	defer f.Close()
	if cfg, err := jpeg.DecodeConfig(f); err != nil || cfg.Width != 64 || cfg.Height != 48 {
		t.Errorf("%v, %v", cfg, err)
	}
}

func TestWriteReport(t *testing.T) {
	var b bytes.Buffer
	writeReport(&b, config{n: 10, width: 64, height: 48, size: 32, reps: 1, args: []string{"datasetresize"}}, "ImageMagick 6.9",
		[]row{{threads: 2, govision: 100, convert: 50, mogrify: 80}, {threads: 1, govision: 60, convert: math.NaN(), mogrify: math.NaN()}})
	for _, w := range []string{"| 2 | 100.0 | 50.0 | 2.00 | 80.0 |", "- ImageMagick: ImageMagick 6.9"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("report lacks %q:\n%s", w, b.String())
		}
	}
}
