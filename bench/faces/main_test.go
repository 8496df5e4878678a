package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	cfg, err := parseConfig([]string{"faces", "-quick", "-threads", "2"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.quick || cfg.minTime != 0 || len(cfg.threads) != 1 || cfg.threads[0] != 2 {
		t.Errorf("-quick -threads 2: %+v", cfg)
	}
	for _, bad := range [][]string{{"-threads", "0"}, {"extra"}} {
		if _, err := parseConfig(append([]string{"faces"}, bad...), io.Discard); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

func TestPrintTable(t *testing.T) {
	var b strings.Builder
	cfg := config{threads: []int{1, 2}, minTime: time.Second}
	printTable(&b, []string{"faces"}, cfg, []row{
		{tool: "govision", model: "face", ms: map[int]float64{1: 10, 2: 6}, faces: 1},
		{tool: "face-api (wasm)", model: "face", ms: map[int]float64{1: 40}, faces: 1},
	}, 3)
	out := b.String()
	for _, want := range []string{"| govision | face | 10.0 | 6.0 | 1 |", "| face-api (wasm) | face | 40.0 | — |", "4.00× face-api wasm"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
