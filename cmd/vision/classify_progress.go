package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progress is a one-line progress bar on a terminal's stderr:
//
//	classify [=========>          ]  42/100  3.1/s
//
// redrawn in place at most every 100 ms. It draws nothing unless the writer
// is a terminal and there is more than one item, so piped or captured
// stderr stays clean.
type progress struct {
	w         io.Writer
	label     string
	n, done   int
	on        bool
	start     time.Time
	lastDraw  time.Time
	drawnWide int
}

func newProgress(w io.Writer, n int, label string, want bool) *progress {
	return &progress{w: w, n: n, label: label, on: want && n > 1 && isTerminal(w), start: time.Now()}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// set records done items and redraws.
func (p *progress) set(done int) {
	p.done = done
	if !p.on || (time.Since(p.lastDraw) < 100*time.Millisecond && done < p.n) {
		return
	}
	p.lastDraw = time.Now()
	const width = 30
	filled := width * done / max(p.n, 1)
	bar := strings.Repeat("=", filled)
	if filled < width {
		bar += ">" + strings.Repeat(" ", width-filled-1)
	}
	rate := float64(done) / time.Since(p.start).Seconds()
	line := fmt.Sprintf("%s [%s] %*d/%d  %.1f/s", p.label, bar, len(fmt.Sprint(p.n)), done, p.n, rate)
	p.drawnWide = len(line)
	fmt.Fprint(p.w, "\r"+line)
}

// clear erases the bar so that a message can be printed on its line; the
// next set draws it again.
func (p *progress) clear() {
	if p.on && p.drawnWide > 0 {
		fmt.Fprint(p.w, "\r"+strings.Repeat(" ", p.drawnWide)+"\r")
		p.drawnWide = 0
		p.lastDraw = time.Time{}
	}
}

// finish erases the bar for good.
func (p *progress) finish() {
	p.clear()
	p.on = false
}
