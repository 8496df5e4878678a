package main

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"govision.dev/accel"
	"govision.dev/bench/internal/measure"
)

// peerScript is pytorch_peer.py, passed to the interpreter with -c so that
// the harness runs from any directory.
//
//go:embed pytorch_peer.py
var peerScript string

// aptPackages are what Debian's python3 needs for the PyTorch peer. torch
// runs some 1×1 convolutions through the system's libblas.so.3, which
// python3-torch is content to get from the netlib reference BLAS, ~10×
// slower than OpenBLAS: so libopenblas0-pthread is named explicitly.
var aptPackages = []string{"python3-torch", "python3-torchvision", "libopenblas0-pthread"}

// pytorchInfo is the description line pytorch_peer.py prints on start.
type pytorchInfo struct {
	Error         string  `json:"error"`
	Torch         string  `json:"torch"`
	Torchvision   string  `json:"torchvision"`
	MKLDNN        bool    `json:"mkldnn"`
	OneDNN        *string `json:"onednn"`
	CPUCapability *string `json:"cpu_capability"`
	Python        string  `json:"python"`
	BLAS          struct {
		Path     *string `json:"path"`
		OpenBLAS bool    `json:"openblas"`
		Core     string  `json:"core"`
		Config   string  `json:"config"`
	} `json:"blas"`
	Env map[string]*string `json:"env"`
}

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
	Error       string         `json:"error"`
	Threads     int            `json:"threads"`
	BLASThreads *int           `json:"blas_threads"`
	MedianS     float64        `json:"median_s"`
	Reps        int            `json:"reps"`
	Convs       map[string]int `json:"convs"` // ATen kernel → convolutions of one call
}

func (i *pytorchInfo) Failure() string    { return i.Error }
func (f *pytorchFixture) Failure() string { return f.Error }
func (t *pytorchTiming) Failure() string  { return t.Error }

// pytorch is pytorch_peer.py running in a subprocess that waits for
// commands, so that neither Python's start-up nor torch's import is timed
// and govision and torch are measured in the same period.
type pytorch struct {
	info    pytorchInfo
	core    string // OPENBLAS_CORETYPE the harness set, "" if none
	coreWhy string // why, for the report

	*measure.Peer
}

// startPyTorch starts pytorch_peer.py with cfg's interpreter, writing its
// fixtures into dir, and waits for its description. It chooses
// OPENBLAS_CORETYPE by cfg.openblasCore as bench/bottleneck does:
//
//   - "keep" leaves the environment as it is;
//   - "detect" removes OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, so that
//     OpenBLAS detects the CPU;
//   - a core name sets OPENBLAS_CORETYPE to it (and removes
//     OPENBLAS_L2_SIZE);
//   - "auto", the default, is "detect", unless the CPU has AVX-512F and
//     OpenBLAS then picks a core without AVX-512 kernels: then the peer is
//     restarted with SkylakeX, and the report says so. Debian 12's
//     OpenBLAS 0.3.21 picks Prescott (SSE3) on CPUs newer than itself, and
//     torch 1.13 sends it the 1×1 convolutions it runs on one thread.
//
// log gets progress and apt-get's output.
func startPyTorch(cfg config, dir string, log io.Writer) (*pytorch, error) {
	core, why := "", ""
	switch cfg.openblasCore {
	case "auto", "detect", "keep":
	default:
		core, why = cfg.openblasCore, "set by -openblas-core"
	}
	p, err := spawnPyTorch(cfg, dir, core)
	var missing *missingTorchError
	if errors.As(err, &missing) && cfg.install {
		fmt.Fprintf(log, "classify: %v; apt-get install -y %s\n", err, strings.Join(aptPackages, " "))
		if ierr := measure.AptInstall(log, aptPackages...); ierr != nil {
			fmt.Fprintf(log, "classify: %v\n", ierr)
		}
		p, err = spawnPyTorch(cfg, dir, core)
	}
	if err != nil {
		return nil, err
	}
	if b := p.info.BLAS; cfg.openblasCore == "auto" && b.OpenBLAS && slices.Contains(accel.Features(), "avx512f") && !measure.OpenBLASAVX512(b.Core) {
		detected := b.Core
		if err := p.Close(); err != nil {
			return nil, err
		}
		core = "SkylakeX"
		if p, err = spawnPyTorch(cfg, dir, core); err != nil {
			return nil, err
		}
		why = fmt.Sprintf("set by the harness: left to itself OpenBLAS picked %s, without AVX-512 kernels, on this AVX-512 CPU (-openblas-core=detect measures that)", detected)
	}
	p.core, p.coreWhy = core, why
	return p, nil
}

// missingTorchError says the interpreter lacks torch or torchvision.
type missingTorchError struct{ python, why string }

func (e *missingTorchError) Error() string {
	return fmt.Sprintf("classify: %s has no usable torch and torchvision: %s", e.python, e.why)
}

// pythonCommand is cfg's interpreter running pytorch_peer.py with args in
// dir. -E and -s keep PYTHONPATH and the user's site-packages (a pip torch
// with its own libraries) out of Debian's interpreter; running in dir
// keeps a file named like a module in the current directory from
// shadowing it.
func pythonCommand(cfg config, dir, core string, args ...string) *exec.Cmd {
	cmd := exec.Command(cfg.python, append([]string{"-E", "-s", "-c", peerScript}, args...)...)
	cmd.Dir = dir
	cmd.Env = measure.PeerEnv(os.Environ(), cfg.openblasCore, core)
	return cmd
}

// spawnPyTorch starts the peer and reads its description line.
func spawnPyTorch(cfg config, dir, core string) (*pytorch, error) {
	if _, err := os.Stat(cfg.python); err != nil {
		return nil, &missingTorchError{cfg.python, err.Error()}
	}
	cmd := pythonCommand(cfg, dir, core, "--dir", dir, "--seed", strconv.Itoa(cfg.seed))
	p := &pytorch{}
	peer, err := measure.StartPeer(cmd, "classify: pytorch_peer.py", &p.info)
	if err != nil {
		if strings.Contains(err.Error(), "cannot import torch") {
			return nil, &missingTorchError{cfg.python, err.Error()}
		}
		return nil, err
	}
	p.Peer = peer
	return p, nil
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
	switch {
	case out.Threads != t:
		return out, fmt.Errorf("classify: torch ran on %d threads, asked for %d", out.Threads, t)
	case out.BLASThreads != nil && *out.BLASThreads != t:
		return out, fmt.Errorf("classify: torch's OpenBLAS ran on %d threads, asked for %d", *out.BLASThreads, t)
	case !(out.MedianS > 0):
		return out, fmt.Errorf("classify: pytorch_peer.py reported no time")
	}
	return out, nil
}

// describe is the report's PyTorch line.
func (p *pytorch) describe() string {
	i := p.info
	str := func(s *string) string {
		if s == nil {
			return "unknown"
		}
		return *s
	}
	s := fmt.Sprintf("torch %s, torchvision %s, torch.backends.mkldnn.is_available() = %s (oneDNN %s), ATen CPU capability %s; %s",
		i.Torch, i.Torchvision, pyBool(i.MKLDNN), str(i.OneDNN), str(i.CPUCapability), i.Python)
	switch b := i.BLAS; {
	case b.Path == nil:
		s += "; no BLAS library mapped"
	case !b.OpenBLAS:
		s += fmt.Sprintf("; BLAS %s (not OpenBLAS)", *b.Path)
	default:
		s += fmt.Sprintf("; BLAS %s, core %s", b.Config, b.Core)
		if p.core != "" {
			s += fmt.Sprintf(" (OPENBLAS_CORETYPE=%s %s)", p.core, p.coreWhy)
		}
	}
	var env []string
	for _, k := range slices.Sorted(maps.Keys(i.Env)) {
		if v := i.Env[k]; v != nil {
			env = append(env, k+"="+*v)
		}
	}
	if len(env) == 0 {
		env = []string{"none of " + strings.Join(slices.Sorted(maps.Keys(i.Env)), ", ")}
	}
	return s + "; environment: " + strings.Join(env, " ")
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}
