// Command yolo times YOLOv3 and YOLOv3-tiny in govision against OpenCV's
// DNN module and the darknet binary, in one run, and prints a Markdown
// table of milliseconds per image.
//
//	go run ./bench/yolo [-models yolov3-tiny,yolov3] [-threads 1,2] [-quick]
//
// The networks are Debian's cfgs (/usr/share/darknet/cfg, -cfgdir) at
// 416×416 (-size), batch 1. Debian's yolov3.cfg says width=height=608: the
// harness writes a copy of each cfg with the size set, which OpenCV and
// darknet read; govision reads Debian's own file with darknet.WithSize, as
// vision detect --imgsz does. The weights are random, drawn by govision
// (darknet.New with WithSeed(-seed), as darknet's make_*_layer draw them)
// and written in darknet's format by SaveWeights to a temporary folder
// (YOLOv3's are 248 MB): one file, read by all three.
//
// The input is darknet's sample dog.jpg (-image), letterboxed to the
// network size by govision.dev/vision/imageio.Letterbox (darknet's
// letterbox_image, bit for bit): govision and OpenCV run that same blob.
// The darknet binary letterboxes the image itself, the same way.
//
//   - govision: darknet.Load(cfg, weights, darknet.WithSize(size, size)),
//     then Net.Forward on the blob, its outputs released to the tensor pool
//     after each call; accel.SetThreads(T) and runtime.GOMAXPROCS(T).
//   - OpenCV: Debian's python3-opencv under Debian's /usr/bin/python3
//     (-python; run with -E -s, since another python3 without cv2 may come
//     first on PATH), in a subprocess started once that waits for commands
//     (opencv_peer.py): cv2.dnn.readNetFromDarknet(cfg, weights), the
//     OpenCV backend on the CPU, cv2.setNumThreads(T); a call is
//     setInput(blob) and forward(getUnconnectedOutLayersNames()).
//   - darknet: Debian's darknet binary (-darknet), single-threaded, run as
//     `darknet detector test DATA CFG WEIGHTS IMAGE -thresh 1 -out
//     predictions` in the temporary folder, with a .data file there naming Debian's
//     coco.names; it prints "Predicted in X seconds", the time of
//     network_predict alone, which is what the table reports (not loading
//     the weights or drawing boxes). -thresh 1 keeps every box of the
//     random network below the threshold, so that darknet's O(n²) NMS over
//     thousands of boxes does not slow the run down (it is not timed);
//     -out makes it save the picture rather than open a window.
//
// Before anything is timed, the harness checks that govision computes what
// OpenCV computes: OpenCV's outputs of the layers feeding the yolo layers,
// put through the yolo layer's logistic (as darknet's forward_yolo_layer),
// must match govision's yolo outputs to relTol × their largest magnitude,
// or the run fails.
//
// The measurements are interleaved, so that a machine whose load changes
// affects every peer alike: -rounds times, for each model and thread
// count, govision, then OpenCV, then (at one thread) darknet. In each,
// govision and OpenCV run -warmup untimed calls, then calls until at least
// -reps of them and -mintime in total, and take the median; darknet runs
// -darknet-runs times. The table gives the median over the rounds of
// each round's median; a second table the fastest single call of all
// rounds, which on a shared machine is the one least disturbed.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"govision.dev/accel"
	"govision.dev/bench/internal/measure"
)

func main() {
	if err := run(os.Args, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// knownModels are the networks the harness runs, in table order.
var knownModels = []string{"yolov3-tiny", "yolov3"}

// relTol bounds max |govision − OpenCV| / max |OpenCV| over a yolo
// output. Both sum in float32 in different orders (OpenCV's 3×3
// convolutions may run as Winograd); over YOLOv3's 75 convolutions with
// random weights that stays around 1e-5, so 1e-3 catches any wrong layer
// while leaving room for rounding.
const relTol = 1e-3

// config is a parsed command line.
type config struct {
	models  []string
	threads []int
	size    int
	seed    uint64
	rounds  int
	warmup  int
	minReps int
	minTime time.Duration

	cfgDir      string // Debian's cfgs
	image       string
	names       string // coco.names, for darknet's .data file
	python      string // Debian's interpreter, with its cv2
	darknet     string // the darknet binary; "" skips it
	darknetRuns int
	install     bool
	dataFile    string // darknet's .data file, in the temporary folder

	args []string // the command line, for the report
}

// aptPackages are what the peers need from Debian.
var aptPackages = []string{"python3-opencv", "darknet"}

// parseConfig parses the command line args (args[0] is the program).
func parseConfig(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("yolo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		models  = fs.String("models", strings.Join(knownModels, ","), "comma-separated models: "+strings.Join(knownModels, ", "))
		threads = fs.String("threads", "1,2", "comma-separated thread counts")
		quick   = fs.Bool("quick", false, "a short run, for CI: -models yolov3-tiny -threads 1 -rounds 1 -warmup 1 -reps 2 -mintime 0 -darknet '' (explicit flags win)")
		minTime = fs.Duration("mintime", time.Second, "and at least this much time in total, per measurement")
		seed    = fs.Uint64("seed", 1, "darknet.WithSeed for the random weights")
		cfg     config
	)
	fs.IntVar(&cfg.size, "size", 416, "network input width and height")
	fs.IntVar(&cfg.rounds, "rounds", 3, "interleaved rounds of every measurement")
	fs.IntVar(&cfg.warmup, "warmup", 2, "untimed calls before timing")
	fs.IntVar(&cfg.minReps, "reps", 5, "at least this many timed calls per measurement")
	fs.StringVar(&cfg.cfgDir, "cfgdir", "/usr/share/darknet/cfg", "Debian darknet's cfg folder")
	fs.StringVar(&cfg.image, "image", "/usr/share/darknet/data/dog.jpg", "the input image")
	fs.StringVar(&cfg.names, "names", "/usr/share/darknet/data/coco.names", "the class names darknet's .data file points to")
	fs.StringVar(&cfg.python, "python", "/usr/bin/python3", "Debian's python3, with python3-opencv")
	fs.StringVar(&cfg.darknet, "darknet", "/usr/bin/darknet", "Debian's darknet binary; empty: not timed")
	fs.IntVar(&cfg.darknetRuns, "darknet-runs", 1, "darknet runs per round (each loads the weights again)")
	fs.BoolVar(&cfg.install, "install", true, "apt-get install "+strings.Join(aptPackages, " ")+" if missing")
	if err := fs.Parse(args[1:]); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("yolo: unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *quick {
		for name, v := range map[string]string{"models": "yolov3-tiny", "threads": "1", "rounds": "1", "warmup": "1", "reps": "2", "mintime": "0", "darknet": ""} {
			if !set[name] {
				if err := fs.Set(name, v); err != nil {
					return config{}, err
				}
			}
		}
	}
	var err error
	if cfg.threads, err = measure.Ints(*threads); err != nil {
		return config{}, fmt.Errorf("yolo: -threads: %v", err)
	}
	for _, m := range strings.Split(*models, ",") {
		m = strings.TrimSpace(m)
		if !slices.Contains(knownModels, m) {
			return config{}, fmt.Errorf("yolo: -models: unknown model %q, want some of %s", m, strings.Join(knownModels, ", "))
		}
		if !slices.Contains(cfg.models, m) {
			cfg.models = append(cfg.models, m)
		}
	}
	switch {
	case cfg.size < 32 || cfg.size%32 != 0:
		return config{}, fmt.Errorf("yolo: -size %d: want a multiple of 32 (the networks' stride)", cfg.size)
	case cfg.rounds < 1 || cfg.minReps < 1 || cfg.warmup < 0 || cfg.darknetRuns < 1:
		return config{}, fmt.Errorf("yolo: -rounds %d, -reps %d, -warmup %d, -darknet-runs %d: want at least 1, 1, 0, 1",
			cfg.rounds, cfg.minReps, cfg.warmup, cfg.darknetRuns)
	}
	cfg.seed = *seed
	cfg.minTime = *minTime
	cfg.args = args
	return cfg, nil
}

// sample is one peer's time of one call in one round: the median and
// the fastest of the calls.
type sample struct {
	median, best time.Duration
	reps         int
}

// row is one line of the table: a model at one thread count.
type row struct {
	model    string
	threads  int
	gflop    float64  // per image
	govision []sample // one per round
	opencv   []sample
	darknet  []sample // empty: not timed at this thread count
}

// check is the numerical comparison of one model's outputs.
type check struct {
	model   string
	outputs []outputCheck
}

type outputCheck struct {
	layer   int    // the yolo layer
	opencv  string // the OpenCV layer compared
	shape   []int
	relDiff float64 // max |govision − OpenCV| / max |OpenCV|
}

// report is everything the output says.
type report struct {
	date     time.Time
	cpu      string
	goInfo   string
	kernels  []accel.Kernel
	features []string
	opencv   string // opencv.describe()
	darknet  string // "" when not timed
	size     int
	seed     uint64
	image    string
	weights  map[string]int64 // model → float32 values in the weights file
	checks   []check
	rounds   int
	warmup   int
	minReps  int
	minTime  time.Duration
	dnRuns   int
	command  string
	rows     []row
}

// run is the command: parse args, prepare the models, check, measure,
// print.
func run(args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	start := time.Now()
	dir, err := os.MkdirTemp("", "bench-yolo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if strings.ContainsAny(dir, " \t\n") {
		return fmt.Errorf("yolo: temporary folder %q has white space, which the OpenCV peer's commands cannot carry", dir)
	}
	if cfg.darknet != "" {
		if err := findDarknet(&cfg, dir, stderr); err != nil {
			return err
		}
	}
	input, err := letterboxed(cfg.image, cfg.size, dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "yolo: starting OpenCV (%s)\n", cfg.python)
	cv, err := startOpenCV(cfg, dir, stderr)
	if err != nil {
		return err
	}
	defer cv.Close()

	var models []*model
	r := report{weights: map[string]int64{}}
	for _, name := range cfg.models {
		fmt.Fprintf(stderr, "yolo: %s: writing random weights, loading them in govision and OpenCV\n", name)
		m, err := prepare(cfg, name, dir, input, cv)
		if err != nil {
			return err
		}
		models = append(models, m)
		fmt.Fprintf(stderr, "yolo: %s: govision's darknet.Load took %v (%.1f GFLOP per image)\n", name, m.loadTime.Round(time.Millisecond), m.gflop)
		r.weights[name] = m.weightsLen
		c := m.check
		for _, o := range c.outputs {
			fmt.Fprintf(stderr, "yolo: %s: layer %d matches OpenCV's %s through the logistic: max |Δ| = %.3g × max |y|\n",
				name, o.layer, o.opencv, o.relDiff)
		}
		r.checks = append(r.checks, c)
	}

	rows, err := measureAll(cfg, models, cv, stderr)
	if err != nil {
		return err
	}
	r.date = start
	r.cpu = fmt.Sprintf("%s (%d logical CPUs)", measure.CPUModel(), runtime.NumCPU())
	r.goInfo = fmt.Sprintf("%s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	r.kernels, r.features = accel.Kernels(), accel.Features()
	r.opencv = cv.describe()
	if cfg.darknet != "" {
		r.darknet = describeDarknet(cfg.darknet)
	}
	r.size, r.seed, r.image = cfg.size, cfg.seed, cfg.image
	r.rounds, r.warmup, r.minReps, r.minTime, r.dnRuns = cfg.rounds, cfg.warmup, cfg.minReps, cfg.minTime, cfg.darknetRuns
	r.command = measure.CommandLine(cfg.args, "./bench/yolo")
	r.rows = rows
	w := bufio.NewWriter(stdout)
	writeReport(w, r)
	return w.Flush()
}

// measureAll times every model at every thread count, -rounds times,
// interleaved: in each round, for each model and thread count, govision,
// OpenCV, then darknet (at one thread). progress gets a line per
// measurement.
func measureAll(cfg config, models []*model, cv *opencv, progress io.Writer) ([]row, error) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	defer accel.SetThreads(0)
	var rows []row
	for _, m := range models {
		for _, t := range cfg.threads {
			rows = append(rows, row{model: m.name, threads: t, gflop: m.gflop})
		}
	}
	for round := 1; round <= cfg.rounds; round++ {
		k := 0
		for _, m := range models {
			for _, t := range cfg.threads {
				r := &rows[k]
				k++
				runtime.GOMAXPROCS(t)
				accel.SetThreads(t)
				g, err := m.timeGovision(cfg)
				if err != nil {
					return nil, err
				}
				r.govision = append(r.govision, g)
				fmt.Fprintf(progress, "yolo: round %d: %s T=%d govision %9.2f ms (%d calls)\n", round, m.name, t, ms(g.median), g.reps)

				o, err := cv.time(m.name, t, cfg.warmup, cfg.minReps, cfg.minTime)
				if err != nil {
					return nil, err
				}
				r.opencv = append(r.opencv, o)
				fmt.Fprintf(progress, "yolo: round %d: %s T=%d OpenCV   %9.2f ms (%d calls)\n", round, m.name, t, ms(o.median), o.reps)

				if cfg.darknet != "" && t == 1 {
					d, err := timeDarknet(cfg, m)
					if err != nil {
						return nil, err
					}
					r.darknet = append(r.darknet, d)
					fmt.Fprintf(progress, "yolo: round %d: %s T=1 darknet  %9.2f ms (%d runs)\n", round, m.name, ms(d.median), d.reps)
				}
			}
		}
	}
	return rows, nil
}

func ms(d time.Duration) float64 { return d.Seconds() * 1e3 }

// medianOf is the median of the rounds' medians (the mean of the middle
// two for an even count), and 0 for none.
func medianOf(s []sample) time.Duration {
	if len(s) == 0 {
		return 0
	}
	ds := make([]time.Duration, len(s))
	for i, x := range s {
		ds[i] = x.median
	}
	slices.Sort(ds)
	h := len(ds) / 2
	if len(ds)%2 == 0 {
		return (ds[h-1] + ds[h]) / 2
	}
	return ds[h]
}

// bestOf is the fastest call of all rounds, and 0 for none.
func bestOf(s []sample) time.Duration {
	if len(s) == 0 {
		return 0
	}
	best := s[0].best
	for _, x := range s[1:] {
		best = min(best, x.best)
	}
	return best
}

func calls(s []sample) int {
	n := 0
	for _, x := range s {
		n += x.reps
	}
	return n
}

// writeReport writes the header lines and the Markdown tables.
func writeReport(w io.Writer, r report) {
	fmt.Fprintf(w, "# YOLO at %d×%d, batch 1: govision against OpenCV DNN and darknet\n\n", r.size, r.size)
	fmt.Fprintf(w, "- date: %s\n", r.date.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "- cpu: %s\n", r.cpu)
	fmt.Fprintf(w, "- go: %s\n", r.goInfo)
	var ks []string
	for _, k := range r.kernels {
		ks = append(ks, k.Name+": "+k.Impl)
	}
	fmt.Fprintf(w, "- govision: accel kernels %s; features %s\n", strings.Join(ks, "; "), strings.Join(r.features, " "))
	fmt.Fprintf(w, "- OpenCV: %s\n", r.opencv)
	if r.darknet != "" {
		fmt.Fprintf(w, "- darknet: %s\n", r.darknet)
	}
	var ws []string
	for _, row := range r.rows {
		if n, ok := r.weights[row.model]; ok && !slices.Contains(ws, row.model+": "+fmt.Sprint(n)) {
			ws = append(ws, row.model+": "+fmt.Sprint(n))
		}
	}
	fmt.Fprintf(w, "- weights: random, drawn by govision (darknet.New, WithSeed(%d)) and written in darknet's format (SaveWeights), one file per model read by all three; float32 values %s\n",
		r.seed, strings.Join(ws, ", "))
	fmt.Fprintf(w, "- input: %s letterboxed to %d×%d by imageio.Letterbox (darknet's letterbox_image); the same blob to govision and OpenCV\n", r.image, r.size, r.size)
	for _, c := range r.checks {
		var parts []string
		for _, o := range c.outputs {
			parts = append(parts, fmt.Sprintf("layer %d %v vs %s: %.3g", o.layer, o.shape, o.opencv, o.relDiff))
		}
		fmt.Fprintf(w, "- check %s: govision's yolo outputs against OpenCV's yolo inputs through darknet's logistic, max |Δ| / max |y| (tolerance %g): %s\n",
			c.model, relTol, strings.Join(parts, "; "))
	}
	dn := ""
	if r.darknet != "" {
		dn = fmt.Sprintf(", then darknet at one thread (%s per round, its own \"Predicted in\" time: network_predict alone)", plural(r.dnRuns, "run"))
	}
	best := ""
	if r.rounds > 1 || r.minReps > 1 {
		best = "; below, the fastest single call of all rounds (on a shared machine, the least disturbed)"
	}
	fmt.Fprintf(w, "- method: %s, interleaved; in each, per model and thread count T, govision then OpenCV%s. "+
		"govision and OpenCV: %d warm-up calls, then at least %d calls and %v, median. "+
		"govision: darknet.Load(cfg, weights, WithSize), Net.Forward, outputs released; accel.SetThreads(T), runtime.GOMAXPROCS(T). "+
		"OpenCV: readNetFromDarknet, DNN_BACKEND_OPENCV on DNN_TARGET_CPU, cv2.setNumThreads(T), setInput + forward(getUnconnectedOutLayersNames()). "+
		"Table: the median over the rounds%s\n", plural(r.rounds, "round"), dn, r.warmup, r.minReps, r.minTime, best)
	fmt.Fprintf(w, "- command: %s\n\n", r.command)

	table := func(pick func([]sample) time.Duration) {
		fmt.Fprintf(w, "| model | threads | govision ms | OpenCV ms | darknet ms | govision/OpenCV |\n")
		fmt.Fprintf(w, "|---|---:|---:|---:|---:|---:|\n")
		for _, x := range r.rows {
			g, o, d := pick(x.govision), pick(x.opencv), pick(x.darknet)
			ratio, dns := "–", "–"
			if o > 0 {
				ratio = fmt.Sprintf("%.2f", g.Seconds()/o.Seconds())
			}
			if d > 0 {
				dns = fmt.Sprintf("%.1f", ms(d))
			}
			fmt.Fprintf(w, "| %s | %d | %.1f | %.1f | %s | %s |\n", x.model, x.threads, ms(g), ms(o), dns, ratio)
		}
		fmt.Fprintln(w)
	}
	table(medianOf)
	if best != "" {
		fmt.Fprintf(w, "Fastest call:\n\n")
		table(bestOf)
	}
	for _, x := range r.rows {
		fmt.Fprintf(w, "- %s T=%d (%.1f GFLOP per image): govision %s, %.0f GFLOP/s; OpenCV %s, %.0f GFLOP/s",
			x.model, x.threads, x.gflop, plural(calls(x.govision), "call"), x.gflop/medianOf(x.govision).Seconds(),
			plural(calls(x.opencv), "call"), x.gflop/medianOf(x.opencv).Seconds())
		if len(x.darknet) > 0 {
			fmt.Fprintf(w, "; darknet %s, %.0f GFLOP/s", plural(calls(x.darknet), "run"), x.gflop/medianOf(x.darknet).Seconds())
		}
		fmt.Fprintln(w)
	}
}

// plural is "1 call", "3 calls".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// cfgPath is Debian's cfg of a model.
func (c config) cfgPath(model string) string { return filepath.Join(c.cfgDir, model+".cfg") }
