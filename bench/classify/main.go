// Command classify times whole classifiers of govision's zoo against
// torchvision's in PyTorch, batch 1, in one run, and prints a Markdown
// table of milliseconds per image; with -rss it measures instead the peak
// memory of a `vision classify` process.
//
//	go run ./bench/classify [-models resnet50,vgg16,…] [-threads 1,2] [-quick]
//	go run ./bench/classify -rss [-models resnet50]
//
// For each model (default resnet50, vgg16, densenet121, inception_v3 at
// 299×299, resnext50_32x4d), PyTorch is Debian's python3-torch under
// Debian's /usr/bin/python3 -E -s (-python), in eager mode:
// torchvision.models.<name>(weights=None) (googlenet and inception_v3 with
// aux_logits=False, init_weights=True), .eval(), torch.no_grad(),
// torch.set_num_threads(T). It runs pytorch_peer.py in a subprocess started
// once, which builds the model from torch.manual_seed(-seed), gives its
// batch norms realistic statistics, and saves its state dict with
// torch.save and an input with its logits to a temporary directory (see
// the script's doc). govision builds the model with classify.New(name),
// loads that .pth with (*classify.Model).Load — the path a user's
// checkpoint takes — and its logits for the input must be within relTol of
// torch's before anything is timed: otherwise the run fails.
//
// Then for each thread count T, govision then PyTorch: govision's
// Model.Forward on the fixed input (its logits released to the tensor pool
// after each call) with accel.SetThreads(T) and runtime.GOMAXPROCS(T) (so
// that at T=1 the garbage collector shares the one thread too), then the
// waiting PyTorch subprocess, told to time T threads, so Python's start-up
// is not timed and both run in the same period. Each runs -warmup untimed
// calls, then calls until at least -reps of them and -mintime in total; the
// table reports the median. One model is in memory at a time, on each
// side.
//
// Debian's torch runs the 1×1 convolutions on one thread as im2col + GEMM
// through the system's BLAS (OpenBLAS), so the harness tells OpenBLAS the
// thread count too and, with -openblas-core=auto, makes sure OpenBLAS uses
// its AVX-512 kernels on an AVX-512 CPU, as bench/bottleneck does; the
// report says what ran.
//
// -rss (see rss.go) has the peer save the model's state dict, builds
// cmd/vision (or takes -vision), runs `vision classify IMAGE --model NAME
// --weights FILE` as a child and reads its peak resident set size from
// wait4's rusage, for one image and for a folder of -rss-images, and
// reports it against the weight file's size; PyTorch doing the same
// (torch.load, load_state_dict, one forward) is the peer row.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"govision.dev/accel"
	"govision.dev/bench/internal/measure"
	"govision.dev/bench/internal/pypeer"
	"govision.dev/classify"
	"govision.dev/vision/tensor"
	"govision.dev/vision/weights"
)

func main() {
	if err := run(os.Args, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// The models the harness times by default (issue 4's list), the one -rss
// measures by default, and the one -quick runs.
var (
	defaultModels = []string{"resnet50", "vgg16", "densenet121", "inception_v3", "resnext50_32x4d"}
	rssModel      = "resnet50"
	quickModel    = "resnet18"
)

// config is a parsed command line.
type config struct {
	models  []string
	threads []int
	seed    int
	warmup  int
	minReps int
	minTime time.Duration

	rss       bool
	rssImages int    // images in the folder run
	rssRuns   int    // runs of each process, median reported
	vision    string // a built cmd/vision; "" builds one
	image     string // "" uses darknet's dog.jpg or a generated PNG

	python       string // Debian's interpreter, with its torch
	install      bool   // apt-get install torch when missing
	openblasCore string // "auto", "detect", "keep" or an OPENBLAS_CORETYPE value

	args []string // the command line, for the report
}

// parseConfig parses the command line args (args[0] is the program).
func parseConfig(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("classify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		models  = fs.String("models", strings.Join(defaultModels, ","), "comma-separated zoo `names` that torchvision also has (-rss: default "+rssModel+")")
		threads = fs.String("threads", "1,2", "comma-separated thread counts")
		quick   = fs.Bool("quick", false, "short runs, for CI: -models "+quickModel+" -threads 1 -warmup 1 -reps 3 -mintime 20ms -rss-images 2 -rss-runs 1 (explicit flags win)")
		minTime = fs.Duration("mintime", 2*time.Second, "and at least this much time in total")
		cfg     config
	)
	fs.IntVar(&cfg.seed, "seed", 0, "torch.manual_seed for the weights and the input")
	fs.IntVar(&cfg.warmup, "warmup", 2, "untimed calls before timing")
	fs.IntVar(&cfg.minReps, "reps", 5, "at least this many timed calls per measurement")
	fs.BoolVar(&cfg.rss, "rss", false, "measure the peak RSS of `vision classify` instead of timing")
	fs.IntVar(&cfg.rssImages, "rss-images", 16, "-rss: images in the folder run")
	fs.IntVar(&cfg.rssRuns, "rss-runs", 3, "-rss: runs of each process (the median is reported)")
	fs.StringVar(&cfg.vision, "vision", "", "-rss: a built `vision` binary (default: go build govision.dev/cmd/vision into a temporary directory)")
	fs.StringVar(&cfg.image, "image", "", "-rss: the image to classify (default: darknet's dog.jpg if installed, else a generated PNG)")
	fs.StringVar(&cfg.python, "python", "/usr/bin/python3", "Debian's python3, with python3-torch and python3-torchvision")
	fs.BoolVar(&cfg.install, "install", true, "apt-get install "+strings.Join(pypeer.TorchPackages, " ")+" if torch is missing")
	fs.StringVar(&cfg.openblasCore, "openblas-core", "auto", "OPENBLAS_CORETYPE for torch's BLAS: `core` name, \"keep\" (the environment's), \"detect\" (unset), or \"auto\" (unset unless OpenBLAS misses AVX-512; see pytorch.go)")
	if err := fs.Parse(args[1:]); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("classify: unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if cfg.rss && !set["models"] {
		*models = rssModel
	}
	if *quick {
		for name, apply := range map[string]func(){
			"models":     func() { *models = quickModel },
			"threads":    func() { *threads = "1" },
			"warmup":     func() { cfg.warmup = 1 },
			"reps":       func() { cfg.minReps = 3 },
			"mintime":    func() { *minTime = 20 * time.Millisecond },
			"rss-images": func() { cfg.rssImages = 2 },
			"rss-runs":   func() { cfg.rssRuns = 1 },
		} {
			if !set[name] {
				apply()
			}
		}
	}
	var err error
	if cfg.threads, err = measure.Ints(*threads); err != nil {
		return config{}, fmt.Errorf("classify: -threads: %v", err)
	}
	for _, m := range strings.Split(*models, ",") {
		m = strings.TrimSpace(m)
		if !slices.Contains(classify.Names(), m) {
			return config{}, fmt.Errorf("%w %q in -models (`vision models` lists the zoo)", classify.ErrUnknownModel, m)
		}
		if slices.Contains(cfg.models, m) {
			return config{}, fmt.Errorf("classify: -models: %s named twice", m)
		}
		cfg.models = append(cfg.models, m)
	}
	switch {
	case cfg.minReps < 1 || cfg.warmup < 0:
		return config{}, fmt.Errorf("classify: -reps %d, -warmup %d: want at least 1 and 0", cfg.minReps, cfg.warmup)
	case cfg.rssImages < 1 || cfg.rssRuns < 1:
		return config{}, fmt.Errorf("classify: -rss-images %d, -rss-runs %d: want at least 1", cfg.rssImages, cfg.rssRuns)
	case cfg.openblasCore == "":
		return config{}, errors.New("classify: -openblas-core is empty; want auto, detect, keep or a core name")
	}
	cfg.minTime = *minTime
	cfg.args = args
	return cfg, nil
}

// row is one line of the table: a model at one thread count.
type row struct {
	model              string
	threads            int
	govision, pytorch  time.Duration // median of one call
	govReps, torchReps int
	torchConvs         map[string]int // ATen kernel → convolutions per call
}

// checked is a model whose govision logits matched torch's.
type checked struct {
	name    string
	size    int     // input height and width
	gflop   float64 // 2 × the multiply-accumulates of one image
	relDiff float64 // max |govision − torch| / max |torch|
}

// header is what every report's first lines say.
type header struct {
	date     time.Time
	cpu      string
	goInfo   string
	kernels  []accel.Kernel
	features []string
	pytorch  string    // pt.Describe()
	load     [2]string // load averages at the start and at the end
	command  string
}

// report is everything the timing output says.
type report struct {
	header
	models  []checked
	warmup  int
	minReps int
	minTime time.Duration
	rows    []row
}

// run is the command: parse args, start PyTorch, then time or measure RSS.
func run(args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	start := time.Now()
	dir, err := os.MkdirTemp("", "bench-classify-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintf(stderr, "classify: starting PyTorch (%s)\n", cfg.python)
	pt, err := startPyTorch(cfg, dir, stderr)
	if err != nil {
		return err
	}
	defer pt.Close()
	h := header{
		date: start, cpu: fmt.Sprintf("%s (%d logical CPUs)", measure.CPUModel(), runtime.NumCPU()),
		goInfo:  fmt.Sprintf("%s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH),
		kernels: accel.Kernels(), features: accel.Features(),
		pytorch: pt.Describe(),
		load:    [2]string{measure.LoadAverage()},
		command: measure.CommandLine(cfg.args, "./bench/classify"),
	}
	w := bufio.NewWriter(stdout)
	if cfg.rss {
		r, err := measureRSS(cfg, dir, pt, stderr)
		if err != nil {
			return err
		}
		h.load[1] = measure.LoadAverage()
		r.header = h
		writeRSSReport(w, r)
		return w.Flush()
	}
	r := report{header: h, warmup: cfg.warmup, minReps: cfg.minReps, minTime: cfg.minTime}
	for _, name := range cfg.models {
		c, rows, err := measureModel(cfg, name, pt, stderr)
		if err != nil {
			return err
		}
		r.models = append(r.models, c)
		r.rows = append(r.rows, rows...)
	}
	r.load[1] = measure.LoadAverage()
	writeReport(w, r)
	return w.Flush()
}

// relTol bounds how far govision's logits may be from torch's: max |Δ| ≤
// relTol · max |torch's logit|. Both compute the same float32 network in
// other orders (govision folds each batch norm into its convolution in
// float64, sums in other blocks and orders, and keeps no intermediate in
// higher precision); over 50–100 layers of sums of up to 4608 products
// (ResNet-50's 3×3×512) the rounding differences, each a few units of 2⁻²⁴
// relative to a layer's scale, grow to about 1e-5 of the logits' scale. A
// wrong or misplaced weight, or a wrong layer, moves logits by O(1) of it.
const relTol = 1e-3

// compare returns max |got−want| / max |want| (NaN if either holds a NaN,
// +Inf if want is all zeros but got is not).
func compare(got, want *tensor.Tensor) (float64, error) {
	if !slices.Equal(got.Shape(), want.Shape()) {
		return 0, fmt.Errorf("classify: logits %v, torch's %v", got.Shape(), want.Shape())
	}
	var diff, scale float64
	for i, w := range want.Data() {
		d := math.Abs(float64(got.Data()[i]) - float64(w))
		if math.IsNaN(d) {
			return math.NaN(), nil
		}
		diff = max(diff, d)
		scale = max(scale, math.Abs(float64(w)))
	}
	if diff == 0 {
		return 0, nil
	}
	return diff / scale, nil
}

// loadModel has the peer save model name's weights and a fixture, then
// checks govision's model on them (checkModel).
func loadModel(name string, pt *pytorch) (*classify.Model, *tensor.Tensor, checked, error) {
	info, err := classify.Describe(name)
	if err != nil {
		return nil, nil, checked{}, err
	}
	fx, err := pt.fixture(name, info.Weights.Preprocess.Size())
	if err != nil {
		return nil, nil, checked{}, err
	}
	return checkModel(info, fx)
}

// checkModel builds govision's model info.Name, loads fx's weight file
// with Model.Load and checks its parameter count and its logits for fx's
// input against fx's: a difference above relTol is an error. It returns
// the model, the input and the check.
func checkModel(info classify.Info, fx pytorchFixture) (*classify.Model, *tensor.Tensor, checked, error) {
	name := info.Name
	c := checked{name: name, size: info.Weights.Preprocess.Size(), gflop: 2 * float64(info.MACs) / 1e9}
	m, err := classify.New(name)
	if err != nil {
		return nil, nil, c, err
	}
	if err := m.Load(fx.Weights); err != nil {
		return nil, nil, c, fmt.Errorf("classify: torch's %s state dict: %w", name, err)
	}
	if m.Params() != fx.Params {
		return nil, nil, c, fmt.Errorf("classify: %s: govision has %d parameters, torch %d", name, m.Params(), fx.Params)
	}
	io, err := weights.Load(fx.IO)
	if err != nil {
		return nil, nil, c, err
	}
	x, want := io["input"], io["output"]
	if x == nil || want == nil {
		return nil, nil, c, fmt.Errorf("classify: %s holds no input and output", fx.IO)
	}
	y, err := m.Forward(x)
	if err != nil {
		return nil, nil, c, err
	}
	if c.relDiff, err = compare(y, want); err != nil {
		return nil, nil, c, err
	}
	if !(c.relDiff <= relTol) {
		return nil, nil, c, fmt.Errorf("classify: %s: govision's logits differ from torch's by %.3g of the largest logit, more than %g: the model or the loading of its weights is wrong",
			name, c.relDiff, relTol)
	}
	return m, x, c, nil
}

// measureModel checks one model, then times govision and PyTorch at each
// thread count. progress gets a line per measurement.
func measureModel(cfg config, name string, pt *pytorch, progress io.Writer) (checked, []row, error) {
	defer debug.FreeOSMemory() // the next model starts from a small heap
	m, x, c, err := loadModel(name, pt)
	if err != nil {
		return c, nil, err
	}
	fmt.Fprintf(progress, "classify: %s: govision matches torch: max |Δ| = %.3g × max |logit|\n", name, c.relDiff)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	defer accel.SetThreads(0)
	var rows []row
	for _, t := range cfg.threads {
		runtime.GOMAXPROCS(t)
		accel.SetThreads(t)
		r := row{model: name, threads: t}
		var ferr error
		r.govision, r.govReps = measure.Median(func() {
			y, err := m.Forward(x)
			if err != nil && ferr == nil {
				ferr = err
			}
			y.Release()
		}, cfg.warmup, cfg.minReps, cfg.minTime)
		if ferr != nil {
			return c, nil, ferr
		}
		fmt.Fprintf(progress, "classify: %s T=%d govision %9.3f ms (%d calls)\n", name, t, ms(r.govision), r.govReps)
		pyt, err := pt.time(name, t, cfg.warmup, cfg.minReps, cfg.minTime)
		if err != nil {
			return c, nil, err
		}
		r.pytorch = time.Duration(pyt.MedianS * float64(time.Second))
		r.torchReps, r.torchConvs = pyt.Reps, pyt.Convs
		fmt.Fprintf(progress, "classify: %s T=%d PyTorch  %9.3f ms (%d calls)\n", name, t, ms(r.pytorch), r.torchReps)
		rows = append(rows, r)
	}
	return c, rows, nil
}

func ms(d time.Duration) float64 { return d.Seconds() * 1e3 }

// writeHeader writes the title and the lines every report starts with.
func writeHeader(w io.Writer, title string, h header) {
	fmt.Fprintf(w, "# %s\n\n", title)
	fmt.Fprintf(w, "- date: %s\n", h.date.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "- cpu: %s\n", h.cpu)
	fmt.Fprintf(w, "- go: %s\n", h.goInfo)
	var ks []string
	for _, k := range h.kernels {
		ks = append(ks, k.Name+": "+k.Impl)
	}
	fmt.Fprintf(w, "- govision: accel kernels %s; features %s\n", strings.Join(ks, "; "), strings.Join(h.features, " "))
	fmt.Fprintf(w, "- PyTorch: %s\n", h.pytorch)
	fmt.Fprintf(w, "- load average (1, 5, 15 min): %s at the start, %s at the end\n", h.load[0], h.load[1])
}

// writeReport writes the header lines and the Markdown table of timings.
func writeReport(w io.Writer, r report) {
	writeHeader(w, "Classifiers, batch 1: govision against PyTorch", r.header)
	var models []string
	for _, c := range r.models {
		models = append(models, fmt.Sprintf("%s %d×%d (%.2f GFLOP, logits within %.2g)", c.name, c.size, c.size, c.gflop, c.relDiff))
	}
	fmt.Fprintf(w, "- models: %s\n", strings.Join(models, "; "))
	fmt.Fprintf(w, "- check: torchvision.models.<name>(weights=None) after torch.manual_seed, batch norms calibrated on random images, saved with torch.save and loaded into classify.New(name) with Model.Load; "+
		"govision's logits for a random input within the given fraction of torch's largest logit (tolerance %g)\n", relTol)
	fmt.Fprintf(w, "- method: per model and thread count T, govision then PyTorch, one after another; each %d warm-up calls, then at least %d calls and %v; median. "+
		"govision: Model.Forward, accel.SetThreads(T), runtime.GOMAXPROCS(T). "+
		"PyTorch: eager, .eval(), torch.no_grad(), torch.set_num_threads(T) and openblas_set_num_threads(T), in a subprocess started beforehand\n",
		r.warmup, r.minReps, r.minTime)
	fmt.Fprintf(w, "- command: %s\n\n", r.command)

	fmt.Fprintf(w, "| model | threads | govision ms | PyTorch ms | ratio (govision/PyTorch) |\n")
	fmt.Fprintf(w, "|---|---:|---:|---:|---:|\n")
	for _, x := range r.rows {
		ratio := "–"
		if x.pytorch > 0 {
			ratio = fmt.Sprintf("%.2f", x.govision.Seconds()/x.pytorch.Seconds())
		}
		fmt.Fprintf(w, "| %s | %d | %.1f | %.1f | %s |\n", x.model, x.threads, ms(x.govision), ms(x.pytorch), ratio)
	}
	if len(r.rows) > 0 {
		fmt.Fprintln(w)
	}
	for _, x := range r.rows {
		gflop := 0.0
		for _, c := range r.models {
			if c.name == x.model {
				gflop = c.gflop
			}
		}
		fmt.Fprintf(w, "- %s T=%d: govision %d calls, %.0f GFLOP/s; PyTorch %d calls, %.0f GFLOP/s",
			x.model, x.threads, x.govReps, rate(gflop, x.govision), x.torchReps, rate(gflop, x.pytorch))
		if len(x.torchConvs) > 0 {
			var ks []string
			for _, k := range slices.Sorted(maps.Keys(x.torchConvs)) {
				ks = append(ks, fmt.Sprintf("%s ×%d", k, x.torchConvs[k]))
			}
			fmt.Fprintf(w, "; torch's convolutions: %s", strings.Join(ks, ", "))
		}
		fmt.Fprintln(w)
	}
}

// rate is GFLOP/s for gflop of work in d.
func rate(gflop float64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return gflop / d.Seconds()
}
