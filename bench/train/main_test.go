package main

import (
	"io"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	c, err := parseConfig([]string{"train", "-threads", "2", "-batch", "32", "-quick"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.threads) != 1 || c.threads[0] != 2 || c.batch != 32 || c.minReps != 5 || c.minTime != 200*time.Millisecond {
		t.Errorf("config %+v", c)
	}
	for _, bad := range [][]string{{"train", "-threads", "0"}, {"train", "-batch", "0"}, {"train", "-nope"}} {
		if _, err := parseConfig(bad, io.Discard); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

// TestGoStep runs a few of govision's training steps: the loss must come
// out finite (Step returns an error otherwise).
func TestGoStep(t *testing.T) {
	step, err := goStep(8)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		step()
	}
}
