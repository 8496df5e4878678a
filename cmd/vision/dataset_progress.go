package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// datasetBar is the progress bar of the dataset commands, on stderr:
//
//	resize [=========>          ]  420/1000  42%  85.1/s  ETA 6s
//
// redrawn in place at most every 100 ms, only when stderr is a terminal
// (captured or piped stderr stays clean) and not with --quiet. With an
// unknown total it shows the count and rate. Safe for concurrent use.
type datasetBar struct {
	mu       sync.Mutex
	w        io.Writer
	label    string
	total    int // -1: unknown
	done     int
	on       bool
	start    time.Time
	lastDraw time.Time
	wide     int
}

func newDatasetBar(g *globals, label string, total int) *datasetBar {
	return &datasetBar{w: g.stderr, label: label, total: total, on: !g.quiet && datasetTerminal(g.stderr), start: time.Now()}
}

// datasetTerminal reports whether w is a character device (a terminal).
func datasetTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// set records done items and redraws.
func (b *datasetBar) set(done int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done = done
	if !b.on || (time.Since(b.lastDraw) < 100*time.Millisecond && done != b.total) {
		return
	}
	b.lastDraw = time.Now()
	el := time.Since(b.start).Seconds()
	rate := float64(done) / max(el, 1e-9)
	var line string
	if b.total > 0 {
		const width = 30
		filled := min(width, width*done/b.total)
		bar := strings.Repeat("=", filled)
		if filled < width {
			bar += ">" + strings.Repeat(" ", width-filled-1)
		}
		eta := ""
		if rate > 0 && done < b.total {
			eta = "  ETA " + time.Duration(float64(b.total-done)/rate*float64(time.Second)).Round(time.Second).String()
		}
		line = fmt.Sprintf("%s [%s] %*d/%d  %3d%%  %.1f/s%s", b.label, bar, len(fmt.Sprint(b.total)), done, b.total, 100*done/b.total, rate, eta)
	} else {
		line = fmt.Sprintf("%s %d  %.1f/s", b.label, done, rate)
	}
	pad := ""
	if len(line) < b.wide {
		pad = strings.Repeat(" ", b.wide-len(line))
	}
	b.wide = len(line)
	fmt.Fprint(b.w, "\r"+line+pad)
}

// clear erases the bar so that a message can be printed; the next set
// draws it again.
func (b *datasetBar) clear() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.on && b.wide > 0 {
		fmt.Fprint(b.w, "\r"+strings.Repeat(" ", b.wide)+"\r")
		b.wide = 0
		b.lastDraw = time.Time{}
	}
}

// finish erases the bar for good.
func (b *datasetBar) finish() {
	b.clear()
	b.mu.Lock()
	b.on = false
	b.mu.Unlock()
}
