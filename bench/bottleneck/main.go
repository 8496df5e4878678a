// Command bottleneck times one ResNet-50 bottleneck block in govision
// against the same block in PyTorch, in one run, and prints a Markdown table
// of milliseconds per call.
//
//	go run ./bench/bottleneck [-threads 1,2] [-quick] [-openblas-core auto]
//
// The block is torchvision.models.resnet.Bottleneck(256, 64), the second
// and third blocks of ResNet-50's conv2_x stage (He et al. 2015, Table 1,
// Fig. 5 right; the first has a projection shortcut): 256 → 64 → 64 → 256
// channels at 56×56, batch 1, stride 1, identity shortcut,
//
//	conv1x1(256→64) → BN → ReLU → conv3x3(64→64, pad 1) → BN → ReLU →
//	conv1x1(64→256) → BN → + x → ReLU
//
// with no convolution biases. PyTorch is Debian's python3-torch under
// Debian's /usr/bin/python3 (-python), in eager mode: .eval(),
// torch.no_grad(), torch.set_num_threads(T). It runs pytorch_peer.py in a
// subprocess that builds the block from torch.manual_seed(-seed), gives its
// batch norms non-trivial statistics, and writes the state dict, an input
// and its output to a temporary directory as raw float32 (see the script's
// doc). govision builds the block from govision.dev/vision/nn (each
// convolution with its batch norm folded in and its ReLU fused, the
// residual sum and last ReLU in one pass), loads torch's state dict into it
// by torchvision's names, and checks its output against torch's before
// anything is timed: a difference above relTol fails the run.
//
// For each thread count T, govision then PyTorch: govision (releasing its
// output to the tensor pool after each call, as a serving loop would) with
// accel.SetThreads(T) and runtime.GOMAXPROCS(T) (so that at T=1 the
// garbage collector shares the one thread too), then the waiting PyTorch
// subprocess, told to time T threads, so Python's start-up is not timed and
// both run in the same period. Each runs -warmup untimed calls, then calls
// until at least -reps of them and -mintime in total; the table reports
// the median.
//
// Debian's torch runs the 1×1 convolutions on one thread as im2col + GEMM
// through the system's BLAS (OpenBLAS), so the harness tells OpenBLAS the
// thread count too and, with -openblas-core=auto, makes sure OpenBLAS uses
// its AVX-512 kernels on an AVX-512 CPU (see startPyTorch); the report says
// what ran.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"govision.dev/accel"
	"govision.dev/bench/internal/measure"
	"govision.dev/bench/internal/pypeer"
)

func main() {
	if err := run(os.Args, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// config is a parsed command line.
type config struct {
	threads []int
	shape   shape
	seed    int
	warmup  int
	minReps int
	minTime time.Duration

	python       string // Debian's interpreter, with its torch
	install      bool   // apt-get install torch when missing
	openblasCore string // "auto", "detect", "keep" or an OPENBLAS_CORETYPE value

	args []string // the command line, for the report
}

// parseConfig parses the command line args (args[0] is the program).
func parseConfig(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("bottleneck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		threads = fs.String("threads", "1,2", "comma-separated thread counts")
		quick   = fs.Bool("quick", false, "short runs, for CI: -warmup 1 -reps 3 -mintime 20ms (explicit flags win)")
		minTime = fs.Duration("mintime", 500*time.Millisecond, "and at least this much time in total")
		cfg     = config{shape: resnet50Layer1}
	)
	fs.IntVar(&cfg.shape.in, "in", resnet50Layer1.in, "input and output channels")
	fs.IntVar(&cfg.shape.width, "width", resnet50Layer1.width, "channels of the 3×3 convolution")
	fs.IntVar(&cfg.shape.size, "size", resnet50Layer1.size, "input height and width")
	fs.IntVar(&cfg.seed, "seed", 0, "torch.manual_seed for the weights and the input")
	fs.IntVar(&cfg.warmup, "warmup", 3, "untimed calls before timing")
	fs.IntVar(&cfg.minReps, "reps", 5, "at least this many timed calls per measurement")
	fs.StringVar(&cfg.python, "python", "/usr/bin/python3", "Debian's python3, with python3-torch and python3-torchvision")
	fs.BoolVar(&cfg.install, "install", true, "apt-get install "+strings.Join(pypeer.TorchPackages, " ")+" if torch is missing")
	fs.StringVar(&cfg.openblasCore, "openblas-core", "auto", "OPENBLAS_CORETYPE for torch's BLAS: `core` name, \"keep\" (the environment's), \"detect\" (unset), or \"auto\" (unset unless OpenBLAS misses AVX-512; see pytorch.go)")
	if err := fs.Parse(args[1:]); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("bottleneck: unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *quick {
		if !set["warmup"] {
			cfg.warmup = 1
		}
		if !set["reps"] {
			cfg.minReps = 3
		}
		if !set["mintime"] {
			*minTime = 20 * time.Millisecond
		}
	}
	var err error
	if cfg.threads, err = measure.Ints(*threads); err != nil {
		return config{}, fmt.Errorf("bottleneck: -threads: %v", err)
	}
	if err := cfg.shape.validate(); err != nil {
		return config{}, err
	}
	if cfg.minReps < 1 || cfg.warmup < 0 {
		return config{}, fmt.Errorf("bottleneck: -reps %d, -warmup %d: want at least 1 and 0", cfg.minReps, cfg.warmup)
	}
	if cfg.openblasCore == "" {
		return config{}, errors.New("bottleneck: -openblas-core is empty; want auto, detect, keep or a core name")
	}
	cfg.minTime = *minTime
	cfg.args = args
	return cfg, nil
}

// row is one line of the table: the block at one thread count.
type row struct {
	threads            int
	govision, pytorch  time.Duration // median of one call
	govReps, torchReps int
	torchConvs         map[string]string // conv name → the ATen kernel torch ran
}

// report is everything the output says.
type report struct {
	date     time.Time
	cpu      string
	goInfo   string
	kernels  []accel.Kernel
	features []string
	pytorch  string // pt.Describe()
	torch    string // torch's version, for the check line
	shape    shape
	relDiff  float64 // max |govision − torch| / max |torch|
	warmup   int
	minReps  int
	minTime  time.Duration
	command  string
	rows     []row
}

// run is the command: parse args, start PyTorch, check, measure, print.
func run(args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	start := time.Now()
	dir, err := os.MkdirTemp("", "bottleneck-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintf(stderr, "bottleneck: starting PyTorch (%s) for block %v\n", cfg.python, cfg.shape)
	pt, err := startPyTorch(cfg, dir, stderr)
	if err != nil {
		return err
	}
	defer pt.Close()
	f, err := loadFixture(dir)
	if err != nil {
		return err
	}
	if f.shape != cfg.shape {
		return fmt.Errorf("%w: pytorch_peer.py wrote block %v, asked for %v", errFixture, f.shape, cfg.shape)
	}
	block, diff, err := loadBlock(f)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "bottleneck: govision matches torch %s: max |Δ| = %.3g × max |y|\n", f.torch, diff)

	rows, err := measureBlock(cfg, block, f, pt, stderr)
	if err != nil {
		return err
	}
	r := report{
		date: start, cpu: fmt.Sprintf("%s (%d logical CPUs)", measure.CPUModel(), runtime.NumCPU()),
		goInfo:  fmt.Sprintf("%s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH),
		kernels: accel.Kernels(), features: accel.Features(),
		pytorch: pt.Describe(), torch: f.torch, shape: cfg.shape, relDiff: diff,
		warmup: cfg.warmup, minReps: cfg.minReps, minTime: cfg.minTime,
		command: measure.CommandLine(cfg.args, "./bench/bottleneck"),
		rows:    rows,
	}
	w := bufio.NewWriter(stdout)
	writeReport(w, r)
	return w.Flush()
}

// measureBlock times govision then PyTorch at each thread count.
// progress, if not nil, gets a line per measurement.
func measureBlock(cfg config, block *bottleneck, f *fixture, pt *pytorch, progress io.Writer) ([]row, error) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	defer accel.SetThreads(0)
	var rows []row
	for _, t := range cfg.threads {
		runtime.GOMAXPROCS(t)
		accel.SetThreads(t)
		r := row{threads: t}
		var ferr error
		r.govision, r.govReps = measure.Median(func() {
			y, err := block.Forward(f.input)
			if err != nil && ferr == nil {
				ferr = err
			}
			y.Release()
		}, cfg.warmup, cfg.minReps, cfg.minTime)
		if ferr != nil {
			return nil, ferr
		}
		if progress != nil {
			fmt.Fprintf(progress, "bottleneck: T=%d govision %8.3f ms (%d calls)\n", t, ms(r.govision), r.govReps)
		}
		pyt, err := pt.time(t, cfg.warmup, cfg.minReps, cfg.minTime)
		if err != nil {
			return nil, err
		}
		r.pytorch = time.Duration(pyt.MedianS * float64(time.Second))
		r.torchReps, r.torchConvs = pyt.Reps, pyt.Convs
		if progress != nil {
			fmt.Fprintf(progress, "bottleneck: T=%d PyTorch  %8.3f ms (%d calls)\n", t, ms(r.pytorch), r.torchReps)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

func ms(d time.Duration) float64 { return d.Seconds() * 1e3 }

// torchvisionCall is the Python expression that builds the block.
func (s shape) torchvisionCall() string {
	planes := s.in / 4
	if bw := 64 * s.width / planes; bw != 64 {
		return fmt.Sprintf("Bottleneck(%d, %d, base_width=%d)", s.in, planes, bw)
	}
	return fmt.Sprintf("Bottleneck(%d, %d)", s.in, planes)
}

// writeReport writes the header lines and the Markdown table.
func writeReport(w io.Writer, r report) {
	title := "Bottleneck block " + r.shape.String()
	if r.shape == resnet50Layer1 {
		title = "ResNet-50 bottleneck block (conv2_x, " + r.shape.String() + ")"
	}
	fmt.Fprintf(w, "# %s: govision against PyTorch\n\n", title)
	fmt.Fprintf(w, "- date: %s\n", r.date.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "- cpu: %s\n", r.cpu)
	fmt.Fprintf(w, "- go: %s\n", r.goInfo)
	var ks []string
	for _, k := range r.kernels {
		ks = append(ks, k.Name+": "+k.Impl)
	}
	fmt.Fprintf(w, "- govision: accel kernels %s; features %s\n", strings.Join(ks, "; "), strings.Join(r.features, " "))
	fmt.Fprintf(w, "- PyTorch: %s\n", r.pytorch)
	s := r.shape
	fmt.Fprintf(w, "- block: torchvision.models.resnet.%s, stride 1, identity shortcut: conv1x1(%d→%d) → BN → ReLU → conv3x3(%d→%d, pad 1) → BN → ReLU → conv1x1(%d→%d) → BN → + x → ReLU, no conv biases; input [1, %d, %d, %d]; %.3g GFLOP per call\n",
		s.torchvisionCall(), s.in, s.width, s.width, s.width, s.width, s.in, s.in, s.size, s.size, s.flops()/1e9)
	fmt.Fprintf(w, "- check: torch's weights (manual_seed, perturbed batch norms) loaded into govision by state-dict name; govision's output within %.3g × max |y| of torch %s's (tolerance %g)\n",
		r.relDiff, r.torch, relTol)
	fmt.Fprintf(w, "- method: per thread count T, govision then PyTorch, one after another; each %d warm-up calls, then at least %d calls and %v; median. "+
		"govision: nn.ConvBNAct (BN folded, ReLU fused) ×3 + one add-ReLU pass, activations from tensor.Get and released, accel.SetThreads(T), runtime.GOMAXPROCS(T). "+
		"PyTorch: eager, .eval(), torch.no_grad(), torch.set_num_threads(T) and openblas_set_num_threads(T), in a subprocess started beforehand\n",
		r.warmup, r.minReps, r.minTime)
	fmt.Fprintf(w, "- command: %s\n\n", r.command)

	fmt.Fprintf(w, "| threads | govision ms | PyTorch ms | ratio (govision/PyTorch) |\n")
	fmt.Fprintf(w, "|---:|---:|---:|---:|\n")
	for _, x := range r.rows {
		ratio := "–"
		if x.pytorch > 0 {
			ratio = fmt.Sprintf("%.2f", x.govision.Seconds()/x.pytorch.Seconds())
		}
		fmt.Fprintf(w, "| %d | %.3f | %.3f | %s |\n", x.threads, ms(x.govision), ms(x.pytorch), ratio)
	}
	if len(r.rows) > 0 {
		fmt.Fprintln(w)
	}
	for _, x := range r.rows {
		var convs []string
		for _, name := range []string{"conv1", "conv2", "conv3"} {
			if k, ok := x.torchConvs[name]; ok {
				convs = append(convs, name+" "+k)
			}
		}
		fmt.Fprintf(w, "- T=%d: govision %d calls, %.1f GFLOP/s; PyTorch %d calls, %.1f GFLOP/s",
			x.threads, x.govReps, gflops(s, x.govision), x.torchReps, gflops(s, x.pytorch))
		if len(convs) > 0 {
			fmt.Fprintf(w, ", convolutions: %s", strings.Join(convs, ", "))
		}
		fmt.Fprintln(w)
	}
}

func gflops(s shape, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return s.flops() / d.Seconds() / 1e9
}
