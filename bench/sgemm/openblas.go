package main

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	"govision.dev/accel"
	"govision.dev/bench/internal/measure"
)

// helperScript is openblas.py, fed to the interpreter on stdin so that the
// harness runs from any directory.
//
//go:embed openblas.py
var helperScript string

// aptPackages are what Debian's python3 needs for the OpenBLAS peer.
// python3-numpy alone depends on any libblas.so.3 and is satisfied by the
// netlib reference BLAS (libblas3), which is ~10× slower than OpenBLAS; so
// libopenblas0-pthread is named explicitly.
var aptPackages = []string{"python3-numpy", "python3-threadpoolctl", "libopenblas0-pthread"}

// openBLAS runs OpenBLAS SGEMM through numpy in a subprocess.
type openBLAS struct {
	cfg     config
	core    string // OPENBLAS_CORETYPE for the helper; "" leaves it unset
	coreWhy string // why core is set, for the report
	probe   helperOutput
	// unavailable, if not empty, says why the peer cannot be measured.
	unavailable string
}

// helperOutput is the JSON openblas.py prints.
type helperOutput struct {
	Error   string             `json:"error"`
	N       int                `json:"n"`
	MedianS float64            `json:"median_s"`
	Reps    int                `json:"reps"`
	Numpy   string             `json:"numpy"`
	Python  string             `json:"python"`
	Env     map[string]*string `json:"env"`
	BLAS    struct {
		InternalAPI  string `json:"internal_api"`
		Version      string `json:"version"`
		Architecture string `json:"architecture"`
		NumThreads   int    `json:"num_threads"`
		Threading    string `json:"threading_layer"`
		Filepath     string `json:"filepath"`
		Source       string `json:"source"`
		Config       string `json:"config"`
	} `json:"blas"`
}

// setupOpenBLAS checks that Debian's python3 has numpy on OpenBLAS,
// installing the packages if allowed, and chooses OPENBLAS_CORETYPE:
//
//   - -openblas-core=detect leaves it unset: OpenBLAS detects the CPU.
//   - -openblas-core=NAME sets it to NAME.
//   - -openblas-core=auto (the default) leaves it unset, unless the CPU has
//     AVX-512F and OpenBLAS then picks a core without AVX-512 kernels; then
//     it sets SkylakeX and the report says so. OpenBLAS releases older than
//     the CPU do not recognise it and fall back to a generic core (Debian
//     12's 0.3.21 picks Prescott, SSE3, on Intel family 6 model 207), which
//     would make the peer a straw man.
//
// log gets progress and apt-get's output.
func setupOpenBLAS(cfg config, log io.Writer) *openBLAS {
	ob := &openBLAS{cfg: cfg}
	if _, err := os.Stat(cfg.python); err != nil {
		ob.unavailable = fmt.Sprintf("no interpreter at %s (%v)", cfg.python, err)
		return ob
	}
	switch cfg.openblasCore {
	case "auto", "detect", "":
	default:
		ob.core = cfg.openblasCore
		ob.coreWhy = "OPENBLAS_CORETYPE set by -openblas-core"
	}
	out, err := ob.helper(0, 1)
	usable := func() bool { return err == nil && out.BLAS.InternalAPI == "openblas" }
	if !usable() && cfg.install {
		fmt.Fprintf(log, "sgemm: %s has no numpy on OpenBLAS; apt-get install -y %s\n", cfg.python, strings.Join(aptPackages, " "))
		if ierr := measure.AptInstall(log, aptPackages...); ierr != nil {
			fmt.Fprintf(log, "sgemm: %v\n", ierr)
		}
		out, err = ob.helper(0, 1)
	}
	switch {
	case err != nil:
		ob.unavailable = err.Error()
		return ob
	case out.BLAS.InternalAPI != "openblas":
		ob.unavailable = fmt.Sprintf("numpy %s in %s uses %s (%s), not OpenBLAS; apt-get install %s",
			out.Numpy, cfg.python, out.BLAS.InternalAPI, out.BLAS.Filepath, strings.Join(aptPackages, " "))
		return ob
	}
	if cfg.openblasCore == "auto" && slices.Contains(accel.Features(), "avx512f") && !measure.OpenBLASAVX512(out.BLAS.Architecture) {
		detected := out.BLAS.Architecture
		ob.core = "SkylakeX"
		if out, err = ob.helper(0, 1); err != nil {
			ob.unavailable = err.Error()
			return ob
		}
		ob.coreWhy = fmt.Sprintf("OPENBLAS_CORETYPE=%s set by the harness: left unset, OpenBLAS %s picked %s, without AVX-512 kernels, on this AVX-512 CPU (-openblas-core=detect measures that)",
			ob.core, out.BLAS.Version, detected)
	}
	ob.probe = out
	return ob
}

// describe is the report's OpenBLAS line.
func (ob *openBLAS) describe() string {
	p := ob.probe
	s := fmt.Sprintf("%s %s (%s), core %s", p.BLAS.InternalAPI, p.BLAS.Version, p.BLAS.Threading, p.BLAS.Architecture)
	if ob.coreWhy != "" {
		s += "; " + ob.coreWhy
	} else {
		s += ", detected by OpenBLAS (OPENBLAS_CORETYPE unset)"
	}
	s += fmt.Sprintf("; OPENBLAS_L2_SIZE unset; %s; numpy %s under %s; info from %s", p.BLAS.Filepath, p.Numpy, p.Python, p.BLAS.Source)
	if p.BLAS.Config != "" {
		s += fmt.Sprintf("; config %q", strings.TrimSpace(p.BLAS.Config))
	}
	return s
}

// run measures one n×n product on t threads and returns its median seconds.
func (ob *openBLAS) run(n, t int) (float64, error) {
	out, err := ob.helper(n, t)
	switch {
	case err != nil:
		return 0, err
	case out.BLAS.NumThreads != t:
		return 0, fmt.Errorf("OpenBLAS ran on %d threads, asked for %d", out.BLAS.NumThreads, t)
	case out.BLAS.Architecture != ob.probe.BLAS.Architecture:
		return 0, fmt.Errorf("OpenBLAS ran core %s, probed %s", out.BLAS.Architecture, ob.probe.BLAS.Architecture)
	case out.MedianS <= 0:
		return 0, fmt.Errorf("openblas.py reported no time")
	}
	return out.MedianS, nil
}

// helper runs openblas.py for size n (0: only describe the BLAS) on t
// threads. Its environment is ours without OPENBLAS_CORETYPE and
// OPENBLAS_L2_SIZE (set here to force slower kernels), with the thread
// counts set, and OPENBLAS_CORETYPE=ob.core if that is not empty. -E and -s
// keep PYTHONPATH and the user's site-packages (say, a pip numpy with its
// own OpenBLAS) out of Debian's interpreter.
func (ob *openBLAS) helper(n, t int) (helperOutput, error) {
	cmd := exec.Command(ob.cfg.python, "-E", "-s", "-",
		"--n", strconv.Itoa(n),
		"--reps", strconv.Itoa(ob.cfg.minReps),
		"--min-time", strconv.FormatFloat(ob.cfg.minTime.Seconds(), 'g', -1, 64))
	cmd.Stdin = strings.NewReader(helperScript)
	cmd.Env = helperEnv(os.Environ(), t, ob.core)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var out helperOutput
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		if runErr != nil {
			return out, fmt.Errorf("%s openblas.py: %v: %s", ob.cfg.python, runErr, measure.LastLine(stderr.String()))
		}
		return out, fmt.Errorf("%s openblas.py: bad output %q: %v", ob.cfg.python, measure.LastLine(stdout.String()), err)
	}
	if out.Error != "" {
		return out, fmt.Errorf("%s openblas.py: %s", ob.cfg.python, out.Error)
	}
	if runErr != nil {
		return out, fmt.Errorf("%s openblas.py: %v: %s", ob.cfg.python, runErr, measure.LastLine(stderr.String()))
	}
	return out, nil
}

// helperEnv returns environ without the OpenBLAS and OpenMP variables the
// harness controls, then with the thread counts set to t and, if core is not
// empty, OPENBLAS_CORETYPE=core.
func helperEnv(environ []string, t int, core string) []string {
	var env []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "GOTO_NUM_THREADS":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "OPENBLAS_NUM_THREADS="+strconv.Itoa(t), "OMP_NUM_THREADS="+strconv.Itoa(t))
	if core != "" {
		env = append(env, "OPENBLAS_CORETYPE="+core)
	}
	return env
}
