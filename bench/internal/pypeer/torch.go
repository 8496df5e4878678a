package pypeer

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"

	"govision.dev/accel"
	"govision.dev/bench/internal/measure"
)

// TorchPackages are what Debian's python3 needs for a PyTorch peer. torch
// runs some 1×1 convolutions through the system's libblas.so.3, which
// python3-torch is content to get from the netlib reference BLAS, ~10×
// slower than OpenBLAS: so libopenblas0-pthread is named explicitly.
var TorchPackages = []string{"python3-torch", "python3-torchvision", "libopenblas0-pthread"}

// TorchInfo is the description line a torch peer prints first
// (pypeer.describe_torch).
type TorchInfo struct {
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

// Timing is what a torch peer's answers to a time command have in common;
// a harness's answer type embeds it and adds what else its peer reports.
type Timing struct {
	Error       string  `json:"error"`
	Threads     int     `json:"threads"`      // torch.get_num_threads()
	BLASThreads *int    `json:"blas_threads"` // OpenBLAS's, nil if not OpenBLAS
	MedianS     float64 `json:"median_s"`
	Reps        int     `json:"reps"`
}

func (i *TorchInfo) Failure() string { return i.Error }
func (t *Timing) Failure() string    { return t.Error }

// Torch is a torch peer running in a subprocess that waits for commands,
// so that neither Python's start-up nor torch's import is timed and
// govision and torch are measured in the same period.
type Torch struct {
	Info    TorchInfo
	Core    string // OPENBLAS_CORETYPE the harness set, "" if none
	CoreWhy string // why, for the report

	spec Spec
	*measure.Peer
}

// StartTorch starts the torch peer s (whose Lacks, Packages and Env it
// sets) and waits for its description. It chooses OPENBLAS_CORETYPE by
// openblasCore, a harness's -openblas-core:
//
//   - "keep" leaves the environment as it is;
//   - "detect" removes OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, so that
//     OpenBLAS detects the CPU;
//   - a core name sets OPENBLAS_CORETYPE to it (and removes
//     OPENBLAS_L2_SIZE);
//   - "auto", the default, is "detect", unless the CPU has AVX-512F and
//     OpenBLAS then picks a core without AVX-512 kernels: then the peer is
//     restarted with SkylakeX, and the report says so. Debian 12's
//     OpenBLAS 0.3.21 picks Prescott (SSE3) on CPUs newer than itself
//     (Intel family 6 model 207), and torch 1.13 sends it the 1×1
//     convolutions it runs on one thread.
//
// log gets progress and apt-get's output.
func StartTorch(s Spec, openblasCore string, log io.Writer) (*Torch, error) {
	s.Lacks, s.Packages = "torch and torchvision", TorchPackages
	core, why := "", ""
	switch openblasCore {
	case "auto", "detect", "keep":
	default:
		core, why = openblasCore, "set by -openblas-core"
	}
	start := func() (*Torch, error) {
		s.Env = measure.PeerEnv(os.Environ(), openblasCore, core)
		peer, info, err := Start[TorchInfo](s, log)
		if err != nil {
			return nil, err
		}
		return &Torch{Info: *info, spec: s, Peer: peer}, nil
	}
	p, err := start()
	if err != nil {
		return nil, err
	}
	if b := p.Info.BLAS; openblasCore == "auto" && b.OpenBLAS && slices.Contains(accel.Features(), "avx512f") && !measure.OpenBLASAVX512(b.Core) {
		detected := b.Core
		if err := p.Close(); err != nil {
			return nil, err
		}
		core = "SkylakeX"
		if p, err = start(); err != nil {
			return nil, err
		}
		why = fmt.Sprintf("set by the harness: left to itself OpenBLAS picked %s, without AVX-512 kernels, on this AVX-512 CPU (-openblas-core=detect measures that)", detected)
	}
	p.Core, p.CoreWhy = core, why
	return p, nil
}

// Command returns the peer's interpreter running its script with args in
// its directory (where pypeer.py is), under the environment the peer runs
// in: a one-shot process beside the long-lived peer.
func (p *Torch) Command(args ...string) *exec.Cmd {
	return p.spec.Command(args...)
}

// CheckTiming returns an error unless the peer ran on t threads, OpenBLAS
// included, and reported a time.
func (p *Torch) CheckTiming(tm *Timing, t int) error {
	switch h := p.spec.Harness; {
	case tm.Threads != t:
		return fmt.Errorf("%s: torch ran on %d threads, asked for %d", h, tm.Threads, t)
	case tm.BLASThreads != nil && *tm.BLASThreads != t:
		return fmt.Errorf("%s: torch's OpenBLAS ran on %d threads, asked for %d", h, *tm.BLASThreads, t)
	case !(tm.MedianS > 0):
		return fmt.Errorf("%s: %s reported no time", h, p.spec.Name)
	}
	return nil
}

// Describe is the report's PyTorch line.
func (p *Torch) Describe() string {
	i := p.Info
	s := fmt.Sprintf("torch %s, torchvision %s, torch.backends.mkldnn.is_available() = %s (oneDNN %s), ATen CPU capability %s; %s",
		i.Torch, i.Torchvision, pyBool(i.MKLDNN), Known(i.OneDNN), Known(i.CPUCapability), i.Python)
	switch b := i.BLAS; {
	case b.Path == nil:
		s += "; no BLAS library mapped"
	case !b.OpenBLAS:
		s += fmt.Sprintf("; BLAS %s (not OpenBLAS)", *b.Path)
	default:
		s += fmt.Sprintf("; BLAS %s, core %s", b.Config, b.Core)
		if p.Core != "" {
			s += fmt.Sprintf(" (OPENBLAS_CORETYPE=%s %s)", p.Core, p.CoreWhy)
		}
	}
	return s + "; environment: " + EnvLine(i.Env)
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}
