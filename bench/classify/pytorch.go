package main

import (
	_ "embed"
	"fmt"
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

// pytorchFixture is pytorch_peer.py's answer to a fixture command: where
// it saved the model's state dict and its input and logits.
type pytorchFixture struct {
	Error   string `json:"error"`
	Model   string `json:"model"`
	Weights string `json:"weights"` // torch.save(model.state_dict())
	IO      string `json:"io"`      // torch.save({"input": x, "output": y})
	Params  int    `json:"params"`
}

// pytorchTiming is pytorch_peer.py's answer to a time command.
type pytorchTiming struct {
	pypeer.Timing
	Convs map[string]int `json:"convs"` // ATen kernel → convolutions of one call
}

func (f *pytorchFixture) Failure() string { return f.Error }

// pytorch is pytorch_peer.py running in a subprocess that waits for
// commands (see pypeer.Torch).
type pytorch struct{ *pypeer.Torch }

// startPyTorch starts pytorch_peer.py with cfg's interpreter, writing its
// fixtures into dir, and waits for its description. It chooses
// OPENBLAS_CORETYPE by cfg.openblasCore as pypeer.StartTorch says (as
// bench/bottleneck does), and installs torch if it is missing and
// cfg.install is set. log gets progress and apt-get's output.
func startPyTorch(cfg config, dir string, log io.Writer) (*pytorch, error) {
	p, err := pypeer.StartTorch(pypeer.Spec{
		Harness: "classify", Name: "pytorch_peer.py", Script: peerScript,
		Python: cfg.python, Dir: dir, Install: cfg.install,
		Args: []string{"--dir", dir, "--seed", strconv.Itoa(cfg.seed)},
	}, cfg.openblasCore, log)
	if err != nil {
		return nil, err
	}
	return &pytorch{p}, nil
}

// fixture has the peer build torchvision's model name for size×size
// inputs and save its state dict, an input and its logits.
func (p *pytorch) fixture(name string, size int) (pytorchFixture, error) {
	var out pytorchFixture
	if err := p.Do(&out, "fixture %s %d", name, size); err != nil {
		return out, err
	}
	if out.Model != name || out.Weights == "" || out.IO == "" {
		return out, fmt.Errorf("classify: pytorch_peer.py: fixture %s answered %+v", name, out)
	}
	return out, nil
}

// time measures the peer's loaded model on t threads, timed as
// measure.Median does.
func (p *pytorch) time(name string, t, warmup, minReps int, minTime time.Duration) (pytorchTiming, error) {
	var out pytorchTiming
	if err := p.Do(&out, "time %s %d %d %d %g", name, t, warmup, minReps, minTime.Seconds()); err != nil {
		return out, err
	}
	return out, p.CheckTiming(&out.Timing, t)
}
