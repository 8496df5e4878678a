// Command sgemm measures govision's accel.Sgemm against its peers in one run,
// side by side, and prints a Markdown table of GFLOP/s.
//
//	go run ./bench/sgemm [-n 256,512,1024,2048] [-threads 1,2] [-peers openblas,gonum,vek] [-quick]
//
// Every product is C = A·B on square N×N row-major float32 matrices filled
// uniformly from [0, 1): no transposes, alpha 1, beta 0. The peers are
//
//   - govision: accel.Sgemm, with accel.SetThreads(T);
//   - openblas: OpenBLAS SGEMM through Debian's python3-numpy, run as
//     /usr/bin/python3 on the embedded openblas.py with
//     OPENBLAS_NUM_THREADS = OMP_NUM_THREADS = T (see openblas.go);
//   - gonum: gonum.Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, …);
//   - vek: vek32.MatMul_Into, the allocation-free form of vek32.MatMul.
//
// gonum and vek pick their own goroutine counts (gonum from GOMAXPROCS, vek
// from runtime.NumCPU), so for T threads the harness sets runtime.GOMAXPROCS(T)
// around every Go peer: at T=1 they run on one OS thread.
//
// For each N, and each T, the peers run one after another, so they are
// measured under the same conditions. Each gets one warm-up call, then
// repetitions until at least -reps of them and at least -mintime in total;
// the table reports GFLOP/s = 2N³/t/1e9 for the median time t. The Go peers'
// results are checked against govision's (see relTol); a disagreement fails
// the run after the table is printed.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/viterin/vek/vek32"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"govision.dev/accel"
	"govision.dev/bench/internal/measure"
)

func main() {
	if err := run(os.Args, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// peerNames are the peers -peers may select, in table order. govision is
// always measured.
var peerNames = []string{"openblas", "gonum", "vek"}

// config is a parsed command line.
type config struct {
	sizes   []int
	threads []int
	peers   []string // selected from peerNames, in table order
	minReps int
	minTime time.Duration

	python       string // Debian's interpreter, with its numpy
	install      bool   // apt-get install numpy and OpenBLAS when missing
	openblasCore string // "auto", "detect" or an OPENBLAS_CORETYPE value

	args []string // the command line, for the report
}

// parseConfig parses the command line args (args[0] is the program).
func parseConfig(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("sgemm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		sizes   = fs.String("n", "256,512,1024,2048", "comma-separated square sizes `N`")
		threads = fs.String("threads", "1,2", "comma-separated thread counts")
		peers   = fs.String("peers", strings.Join(peerNames, ","), "comma-separated peers to measure beside govision: "+strings.Join(peerNames, ", "))
		quick   = fs.Bool("quick", false, "small sizes and short runs, for CI: N=64,128, -reps 3, -mintime 20ms (explicit flags win)")
		reps    = fs.Int("reps", 3, "at least this many timed repetitions per measurement")
		minTime = fs.Duration("mintime", 500*time.Millisecond, "and at least this much time in total")
		cfg     config
	)
	fs.StringVar(&cfg.python, "python", "/usr/bin/python3", "Debian's python3, whose numpy uses Debian's OpenBLAS")
	fs.BoolVar(&cfg.install, "install", true, "apt-get install python3-numpy, python3-threadpoolctl and libopenblas0-pthread if missing")
	fs.StringVar(&cfg.openblasCore, "openblas-core", "auto", "OPENBLAS_CORETYPE: `core` name, \"detect\" (leave unset), or \"auto\" (leave unset unless OpenBLAS misses AVX-512; see openblas.go)")
	if err := fs.Parse(args[1:]); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("sgemm: unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *quick {
		if !set["n"] {
			*sizes = "64,128"
		}
		if !set["reps"] {
			*reps = 3
		}
		if !set["mintime"] {
			*minTime = 20 * time.Millisecond
		}
	}
	var err error
	if cfg.sizes, err = parseInts("n", *sizes); err != nil {
		return config{}, err
	}
	if cfg.threads, err = parseInts("threads", *threads); err != nil {
		return config{}, err
	}
	for _, p := range strings.Split(*peers, ",") {
		p = strings.TrimSpace(p)
		switch {
		case p == "" || p == "govision":
		case slices.Contains(peerNames, p):
			if !slices.Contains(cfg.peers, p) {
				cfg.peers = append(cfg.peers, p)
			}
		default:
			return config{}, fmt.Errorf("sgemm: -peers: unknown peer %q (have %s)", p, strings.Join(peerNames, ", "))
		}
	}
	slices.SortFunc(cfg.peers, func(a, b string) int { return slices.Index(peerNames, a) - slices.Index(peerNames, b) })
	if *reps < 1 {
		return config{}, fmt.Errorf("sgemm: -reps = %d, want at least 1", *reps)
	}
	cfg.minReps, cfg.minTime = *reps, *minTime
	cfg.args = args
	return cfg, nil
}

// parseInts parses the comma-separated positive integers of flag -name.
func parseInts(name, s string) ([]int, error) {
	v, err := measure.Ints(s)
	if err != nil {
		return nil, fmt.Errorf("sgemm: -%s: %v", name, err)
	}
	return v, nil
}

// peer is one SGEMM implementation. Exactly one of mul and run is set.
type peer struct {
	name string
	// mul, for a peer in this process, sets c = a·b for n×n row-major
	// matrices, using up to GOMAXPROCS threads.
	mul func(n int, a, b, c []float32)
	// run, for a peer in another process, measures it itself and returns
	// the median seconds of one n×n product on t threads.
	run func(n, t int) (float64, error)
	// unavailable, if not empty, says why the peer cannot be measured.
	unavailable string
}

func govisionMul(n int, a, b, c []float32) {
	accel.Sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
}

func gonumMul(n int, a, b, c []float32) {
	gonum.Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, n, n, n, 1, a, n, b, n, 0, c, n)
}

func vekMul(n int, a, b, c []float32) {
	vek32.MatMul_Into(c, a, b, n)
}

// goPeers are the peers that run in this process, by name.
var goPeers = map[string]func(n int, a, b, c []float32){
	"govision": govisionMul,
	"gonum":    gonumMul,
	"vek":      vekMul,
}

// result is one table row: every peer at one size and thread count.
type result struct {
	n, threads int
	seconds    map[string]float64 // median time of one product, by peer
	reps       map[string]int
	relDiff    map[string]float64 // Go peers: largest relative difference from govision
	failed     map[string]string  // peers that were selected but not measured, and why
}

func (r result) gflops(name string) (float64, bool) {
	s, ok := r.seconds[name]
	if !ok || s <= 0 {
		return 0, false
	}
	return 2 * math.Pow(float64(r.n), 3) / s / 1e9, true
}

// unitRoundoff is float32's unit roundoff u = 2⁻²⁴ (round to nearest).
const unitRoundoff = 0x1p-24

// relTol is how far two float32 products of depth k may disagree, relative
// to the exact value. With non-negative inputs each element is a sum of k
// non-negative products, and any summation order (blocked, pairwise, with or
// without FMA) computes it within γ_k ≈ k·u of the exact sum, relative
// (Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., §3.1);
// two such results differ by at most 2·k·u relative. For N=2048 that is
// 2.4e-4; typical differences are far smaller (errors grow like √k).
func relTol(k int) float64 { return 2 * float64(k) * unitRoundoff }

// measurePeers times govision and the peers at every size and thread count,
// interleaved: for each N and T every peer runs once, one after another.
// progress, if not nil, gets a line per measurement.
func measurePeers(cfg config, peers []peer, progress io.Writer) []result {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	defer accel.SetThreads(0)
	var results []result
	for _, n := range cfg.sizes {
		a, b := randomMatrix(n, 1), randomMatrix(n, 2)
		ref := make([]float32, n*n)
		c := make([]float32, n*n)
		for _, t := range cfg.threads {
			runtime.GOMAXPROCS(t)
			accel.SetThreads(t)
			r := result{n: n, threads: t,
				seconds: map[string]float64{}, reps: map[string]int{},
				relDiff: map[string]float64{}, failed: map[string]string{}}
			for _, p := range peers {
				switch {
				case p.unavailable != "":
					r.failed[p.name] = p.unavailable
					continue
				case p.run != nil:
					s, err := p.run(n, t)
					if err != nil {
						r.failed[p.name] = err.Error()
						continue
					}
					r.seconds[p.name] = s
				default:
					dst := c
					if p.name == "govision" {
						dst = ref
					}
					clear(dst)
					mul := p.mul
					d, reps := measure.Median(func() { mul(n, a, b, dst) }, 1, cfg.minReps, cfg.minTime)
					r.seconds[p.name], r.reps[p.name] = d.Seconds(), reps
					if p.name != "govision" {
						r.relDiff[p.name] = maxRelDiff(dst, ref)
					}
				}
				if progress != nil {
					g, _ := r.gflops(p.name)
					fmt.Fprintf(progress, "sgemm: N=%d T=%d %-8s %7.1f GFLOP/s\n", n, t, p.name, g)
				}
			}
			results = append(results, r)
		}
	}
	return results
}

// randomMatrix returns an n×n matrix filled uniformly from [0, 1), the same
// for the same seed. Non-negative entries make relTol a rigorous bound.
func randomMatrix(n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	m := make([]float32, n*n)
	for i := range m {
		m[i] = rng.Float32()
	}
	return m
}

// maxRelDiff returns max |got-want| / |want| over the elements (the
// absolute difference where want is 0).
func maxRelDiff(got, want []float32) float64 {
	var m float64
	for i, w := range want {
		d := math.Abs(float64(got[i]) - float64(w))
		if w != 0 {
			d /= math.Abs(float64(w))
		}
		if d > m || math.IsNaN(d) {
			m = d
		}
	}
	return m
}

// check returns an error naming every Go peer whose result disagrees with
// govision's by more than relTol.
func check(results []result) error {
	var errs []error
	for _, r := range results {
		for _, name := range peerNames {
			d, ok := r.relDiff[name]
			if ok && !(d <= relTol(r.n)) {
				errs = append(errs, fmt.Errorf("sgemm: N=%d T=%d: %s differs from govision by %.3g relative, more than %.3g", r.n, r.threads, name, d, relTol(r.n)))
			}
		}
	}
	return errors.Join(errs...)
}

// run is the command: parse args, set up the peers, measure, print.
func run(args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	peers := []peer{{name: "govision", mul: govisionMul}}
	var ob *openBLAS
	for _, name := range cfg.peers {
		if name == "openblas" {
			ob = setupOpenBLAS(cfg, stderr)
			peers = append(peers, peer{name: name, run: ob.run, unavailable: ob.unavailable})
			continue
		}
		peers = append(peers, peer{name: name, mul: goPeers[name]})
	}
	start := time.Now()
	results := measurePeers(cfg, peers, stderr)
	w := bufio.NewWriter(stdout)
	writeReport(w, cfg, ob, start, results)
	if err := w.Flush(); err != nil {
		return err
	}
	return check(results)
}

// writeReport writes the header lines and the Markdown table.
func writeReport(w io.Writer, cfg config, ob *openBLAS, start time.Time, results []result) {
	fmt.Fprintf(w, "# SGEMM: govision against its peers\n\n")
	fmt.Fprintf(w, "- date: %s\n", start.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "- cpu: %s (%d logical CPUs)\n", measure.CPUModel(), runtime.NumCPU())
	fmt.Fprintf(w, "- go: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "- govision: accel.Sgemm, kernel %s; features %s\n", sgemmKernel(), strings.Join(accel.Features(), " "))
	switch {
	case ob == nil:
		fmt.Fprintf(w, "- OpenBLAS: not selected\n")
	case ob.unavailable != "":
		fmt.Fprintf(w, "- OpenBLAS: unavailable: %s\n", ob.unavailable)
	default:
		fmt.Fprintf(w, "- OpenBLAS: %s\n", ob.describe())
	}
	fmt.Fprintf(w, "- command: %s\n", measure.CommandLine(cfg.args, "./bench/sgemm"))
	fmt.Fprintf(w, "- method: C = A·B, N×N float32 row-major, A and B uniform in [0,1); per N and threads T the peers run one after another; "+
		"one warm-up call, then at least %d calls and %v; median time t; GFLOP/s = 2N³/t/1e9\n", cfg.minReps, cfg.minTime)
	fmt.Fprintf(w, "- threads: govision accel.SetThreads(T); gonum and vek under runtime.GOMAXPROCS(T) (they size their goroutines from GOMAXPROCS and NumCPU); "+
		"OpenBLAS with OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=T\n\n")

	fmt.Fprintf(w, "| N | threads | govision GFLOP/s | OpenBLAS | ratio to OpenBLAS | gonum | vek32 MatMul |\n")
	fmt.Fprintf(w, "|---:|---:|---:|---:|---:|---:|---:|\n")
	cell := func(r result, name string) string {
		g, ok := r.gflops(name)
		if !ok {
			return "–"
		}
		return fmt.Sprintf("%.1f", g)
	}
	for _, r := range results {
		ratio := "–"
		if g, ok := r.gflops("govision"); ok {
			if o, ok := r.gflops("openblas"); ok {
				ratio = fmt.Sprintf("%.2f", g/o)
			}
		}
		fmt.Fprintf(w, "| %d | %d | %s | %s | %s | %s | %s |\n", r.n, r.threads,
			cell(r, "govision"), cell(r, "openblas"), ratio, cell(r, "gonum"), cell(r, "vek"))
	}

	var notes []string
	for _, name := range peerNames {
		var worst float64
		measured := false
		for _, r := range results {
			if d, ok := r.relDiff[name]; ok {
				measured = true
				worst = max(worst, d/relTol(r.n))
			}
		}
		if measured {
			verdict := "agrees with"
			if !(worst <= 1) {
				verdict = "DISAGREES with"
			}
			notes = append(notes, fmt.Sprintf("%s %s govision: largest relative difference %.3g× the bound 2·N·2⁻²⁴ (relTol)", name, verdict, worst))
		}
	}
	seen := map[string]bool{}
	for _, r := range results {
		for _, name := range peerNames {
			if why, ok := r.failed[name]; ok && !seen[name+why] {
				seen[name+why] = true
				notes = append(notes, fmt.Sprintf("%s not measured at N=%d T=%d: %s", name, r.n, r.threads, why))
			}
		}
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
		for _, s := range notes {
			fmt.Fprintf(w, "- %s\n", s)
		}
	}
}

func sgemmKernel() string {
	for _, k := range accel.Kernels() {
		if k.Name == "sgemm" {
			return k.Impl
		}
	}
	return "unknown"
}
