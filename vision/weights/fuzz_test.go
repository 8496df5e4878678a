package weights

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"govision.dev/vision/tensor"
)

// fuzzRecords are the storage records FuzzLoadPTH puts beside a fuzzed
// pickle: keys "0" to "15", 256 bytes each, enough for the fixtures'
// storages and patterned so that every dtype decodes to varied values.
var fuzzRecords = func() map[string][]byte {
	m := map[string][]byte{}
	for k := range 16 {
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(i*37 + k*11)
		}
		m[fmt.Sprintf("data/%d", k)] = b
	}
	return m
}()

// seedFixtures adds the golden files matching the patterns to f's corpus
// and returns their contents.
func seedFixtures(f *testing.F, patterns ...string) [][]byte {
	var out [][]byte
	for _, p := range patterns {
		files, _ := filepath.Glob(filepath.Join(goldenDir, p))
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		f.Fatalf("no fixtures match %v", patterns)
	}
	return out
}

// checkLoaded fails t unless err is nil or wraps ErrFormat, and unless the
// tensors loaded are consistent and bounded by the input's size.
func checkLoaded(t *testing.T, ts map[string]*tensor.Tensor, err error, size int) {
	if err != nil {
		if !errors.Is(err, ErrFormat) {
			t.Fatalf("error %v does not wrap ErrFormat", err)
		}
		return
	}
	total := 0
	for k, x := range ts {
		n := 1
		for _, d := range x.Shape() {
			n *= d
		}
		if n != x.Len() {
			t.Fatalf("%s: shape %v but %d values", k, x.Shape(), x.Len())
		}
		total += n
	}
	if total > 2*size+1<<20 {
		t.Fatalf("%d values from %d bytes", total, size)
	}
}

// FuzzLoadPTH fuzzes the PyTorch path. An input starting "PK" is a whole
// checkpoint; anything else is a data.pkl, put in an archive beside
// fuzzRecords, so that the fuzzer reaches the pickle (a mutated pickle
// inside a zip would only fail the zip's CRC).
func FuzzLoadPTH(f *testing.F) {
	for _, b := range seedFixtures(f, "*.pth", "*.pt") {
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			continue // the legacy file
		}
		for _, zf := range zr.File {
			if filepath.Base(zf.Name) == "data.pkl" {
				rc, _ := zf.Open()
				var p bytes.Buffer
				p.ReadFrom(rc)
				rc.Close()
				f.Add(p.Bytes())
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !bytes.HasPrefix(b, []byte("PK")) {
			b = torchZip(t, b, fuzzRecords)
		}
		ts, err := loadTorch("fuzz.pth", bytes.NewReader(b), int64(len(b)), nil)
		checkLoaded(t, ts, err, len(b))
		// Map's path, on the bytes as they lie: the same tensors or the
		// same failure.
		mapped := bytes.Clone(b)
		tm, errm := loadTorch("fuzz.pth", bytes.NewReader(mapped), int64(len(mapped)), mapped)
		checkLoaded(t, tm, errm, len(b))
		if (err == nil) != (errm == nil) {
			t.Fatalf("Load's error %v, Map's %v", err, errm)
		}
		for name, x := range ts {
			y := tm[name]
			if y == nil || !slices.Equal(x.Shape(), y.Shape()) ||
				!slices.EqualFunc(x.Data(), y.Data(), func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
				t.Fatalf("tensor %q differs between Load's and Map's paths", name)
			}
		}
	})
}

func FuzzLoadSafetensors(f *testing.F) {
	seedFixtures(f, "*.safetensors")
	f.Add(safetensorsFile(`{"a":{"dtype":"BF16","shape":[2,1],"data_offsets":[0,4]},"__metadata__":{}}`, []byte{1, 2, 3, 4}))
	f.Add(safetensorsFile(`{"__metadata__":{"quantization/a":"{\"min\":-1,\"scale\":0.5}"},"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`, []byte{1, 2, 3, 4}))
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, err := loadSafetensors("fuzz.safetensors", bytes.NewReader(b), int64(len(b)))
		checkLoaded(t, ts, err, len(b))
	})
}
