package measure

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Median calls fn warmup times untimed (worker pools, packing buffers,
// pages of the output, a peer's caches), then times it until it has run at
// least minReps times and for at least minTime in total, and returns the
// median time of one call and the number of timed calls. With an even
// count the median is the mean of the two middle times, as Python's
// statistics.median, so that a Python peer timed the same way is
// comparable.
func Median(fn func(), warmup, minReps int, minTime time.Duration) (time.Duration, int) {
	for range warmup {
		fn()
	}
	var (
		ts    []time.Duration
		total time.Duration
	)
	for len(ts) < max(minReps, 1) || total < minTime {
		t0 := time.Now()
		fn()
		d := time.Since(t0)
		ts = append(ts, d)
		total += d
	}
	slices.Sort(ts)
	h := len(ts) / 2
	if len(ts)%2 == 0 {
		return (ts[h-1] + ts[h]) / 2, len(ts)
	}
	return ts[h], len(ts)
}

// CPUModel returns the first "model name" of /proc/cpuinfo, with the
// vendor, family and model numbers (virtual machines often hide the
// marketing name), or GOARCH where there is no /proc/cpuinfo.
func CPUModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	return cpuModel(string(data))
}

func cpuModel(cpuinfo string) string {
	var vendor, family, model string
	for _, line := range strings.Split(cpuinfo, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch k, v = strings.TrimSpace(k), strings.TrimSpace(v); {
		case k == "vendor_id" && vendor == "":
			vendor = v
		case k == "cpu family" && family == "":
			family = v
		case k == "model" && model == "":
			model = v
		case k == "model name":
			return fmt.Sprintf("%s (%s family %s model %s)", v, vendor, family, model)
		}
	}
	return runtime.GOARCH
}

// CommandLine returns args (args[0] the program) quoted as a shell needs
// them. A program that `go run` built in its temporary directory is named
// as `go run pkg` (say, pkg = "./bench/sgemm"), the command to type again.
func CommandLine(args []string, pkg string) string {
	if len(args) == 0 {
		return ""
	}
	out := []string{args[0]}
	if strings.Contains(args[0], "go-build") {
		out = []string{"go", "run", pkg}
	}
	for _, a := range args[1:] {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`*?[]{}()<>|&;#~") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out = append(out, a)
	}
	return strings.Join(out, " ")
}

// Ints parses a comma-separated list of positive integers, such as a
// -threads flag's "1,2". The error quotes the first bad element; callers
// prefix the command and the flag.
func Ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, v)
	}
	return out, nil
}

// AptInstall runs apt-get install -y for pkgs, non-interactively, waiting
// up to 15 minutes for another apt to release its lock; log gets apt-get's
// output.
func AptInstall(log io.Writer, pkgs ...string) error {
	args := append([]string{"install", "-y", "-o", "DPkg::Lock::Timeout=900"}, pkgs...)
	cmd := exec.Command("apt-get", args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("apt-get install %s: %v", strings.Join(pkgs, " "), err)
	}
	return nil
}

// LastLine returns the last non-empty line of s, trimmed: the line of a
// peer's stderr that usually says why it failed.
func LastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
}

// OpenBLASAVX512 reports whether the OpenBLAS core type (as
// openblas_get_corename or OPENBLAS_CORETYPE name it) has AVX-512 SGEMM
// kernels. OpenBLAS releases older than the CPU do not recognise it and
// fall back to a generic core (Debian 12's 0.3.21 picks Prescott, SSE3, on
// Intel family 6 model 207), which makes an OpenBLAS peer a straw man; the
// harnesses then set OPENBLAS_CORETYPE=SkylakeX.
func OpenBLASAVX512(core string) bool {
	switch strings.ToLower(core) {
	case "skylakex", "cooperlake", "sapphirerapids":
		return true
	}
	return false
}

// PeerEnv returns environ for a peer that uses OpenBLAS: with openblasCore
// "keep", as it is; otherwise without OPENBLAS_CORETYPE and
// OPENBLAS_L2_SIZE (which the environment may set to force slower kernels)
// and then, if core is not empty, with OPENBLAS_CORETYPE=core.
func PeerEnv(environ []string, openblasCore, core string) []string {
	if openblasCore == "keep" {
		return slices.Clone(environ)
	}
	var env []string
	for _, kv := range environ {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE":
			continue
		}
		env = append(env, kv)
	}
	if core != "" {
		env = append(env, "OPENBLAS_CORETYPE="+core)
	}
	return env
}

// LockedBuffer is a bytes.Buffer safe for concurrent use: a subprocess's
// stderr, written by exec's copying goroutine while the harness may read
// it for an error message.
type LockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// LoadAverage returns the 1-, 5- and 15-minute load averages of
// /proc/loadavg ("0.52 0.61 0.70"), or "unknown" where there is none: on a
// shared machine, what the figures measured beside.
func LoadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
