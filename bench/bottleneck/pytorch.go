package main

import (
	_ "embed"
	"io"
	"strconv"
	"time"

	"govision.dev/bench/internal/pypeer"
)

// peerScript is pytorch_peer.py, passed to the interpreter with -c so that
// the harness runs from any directory.
//
//go:embed pytorch_peer.py
var peerScript string

// pytorchTiming is pytorch_peer.py's answer to a time command.
type pytorchTiming struct {
	pypeer.Timing
	Convs map[string]string `json:"convs"` // conv1, conv2, conv3 → ATen kernel (oneDNN implementation)
}

// pytorch is pytorch_peer.py running in a subprocess that waits for
// commands (see pypeer.Torch).
type pytorch struct{ *pypeer.Torch }

// startPyTorch starts pytorch_peer.py with cfg's interpreter, has it write
// the fixture for block cfg.shape into dir, and waits for its description.
// It chooses OPENBLAS_CORETYPE by cfg.openblasCore as pypeer.StartTorch
// says, and installs torch if it is missing and cfg.install is set. log
// gets progress and apt-get's output.
func startPyTorch(cfg config, dir string, log io.Writer) (*pytorch, error) {
	s := cfg.shape
	p, err := pypeer.StartTorch(pypeer.Spec{
		Harness: "bottleneck", Name: "pytorch_peer.py", Script: peerScript,
		Python: cfg.python, Dir: dir, Install: cfg.install,
		Args: []string{"--dir", dir, "--in-channels", strconv.Itoa(s.in), "--width", strconv.Itoa(s.width),
			"--size", strconv.Itoa(s.size), "--seed", strconv.Itoa(cfg.seed)},
	}, cfg.openblasCore, log)
	if err != nil {
		return nil, err
	}
	return &pytorch{p}, nil
}

// time measures the block on t threads, timed as measure.Median does, and
// returns torch's answer.
func (p *pytorch) time(t, warmup, minReps int, minTime time.Duration) (pytorchTiming, error) {
	var out pytorchTiming
	if err := p.Do(&out, "time %d %d %d %g", t, warmup, minReps, minTime.Seconds()); err != nil {
		return out, err
	}
	return out, p.CheckTiming(&out.Timing, t)
}
