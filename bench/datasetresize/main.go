// Command datasetresize times `vision dataset resize` against ImageMagick's
// convert on the same generated JPEGs, in one run, and prints a Markdown
// table of images per second.
//
//	go run ./bench/datasetresize [-n 300] [-threads 2] [-size 416] [-quick]
//
// The images are -n JPEGs of -width×-height (quality 90) with smooth
// gradients, shapes and noise, so that they compress like photographs. For
// each thread count T, each rep times, in alternating order:
//
//   - govision: `vision --threads T dataset resize SRC DST --size S` (the
//     binary built from this checkout first), which decodes, resizes to fit
//     inside S×S (imaging's antialiased Linear filter) and encodes at
//     quality 95 on T goroutines, and writes the folder through a temporary
//     one;
//   - ImageMagick: `convert IN -resize SxS -quality 95 OUT`, one process per
//     image, T processes at a time, each limited to one thread
//     (MAGICK_THREAD_LIMIT=1) so that T processes use T cores;
//   - mogrify (reported, not the target): one `mogrify -path DST -resize SxS
//     -quality 95` process over all the images with T OpenMP threads, which
//     spares ImageMagick's start-up per image.
//
// Wall time includes everything each tool does (start-up, reading, writing);
// the table reports the median over -reps runs. ImageMagick is Debian's
// imagemagick package; -install=true (the default) installs it with
// apt-get when `convert` is not ImageMagick.
package main

import (
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"govision.dev/bench/internal/measure"
)

func main() {
	if err := run(os.Args, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

type config struct {
	n, width, height, size int
	threads                []int
	reps                   int
	install                bool
	keep                   string // folder to work in and keep ("": a temporary one)
	args                   []string
}

func parseConfig(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("datasetresize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config{}
	threads := fs.String("threads", "2", "comma-separated thread counts")
	quick := fs.Bool("quick", false, "a short run, for CI: -n 12 -width 320 -height 240 -reps 1 (explicit flags win)")
	fs.IntVar(&cfg.n, "n", 300, "number of images")
	fs.IntVar(&cfg.width, "width", 1024, "image width")
	fs.IntVar(&cfg.height, "height", 768, "image height")
	fs.IntVar(&cfg.size, "size", 416, "resize to fit inside size×size")
	fs.IntVar(&cfg.reps, "reps", 3, "timed runs per tool and thread count (median)")
	fs.BoolVar(&cfg.install, "install", true, "apt-get install imagemagick if convert is not ImageMagick")
	fs.StringVar(&cfg.keep, "dir", "", "work in this folder and keep it (default: a temporary folder, removed)")
	if err := fs.Parse(args[1:]); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("datasetresize: unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *quick {
		for name, v := range map[string]*int{"n": &cfg.n, "width": &cfg.width, "height": &cfg.height, "reps": &cfg.reps} {
			if !set[name] {
				*v = map[string]int{"n": 12, "width": 320, "height": 240, "reps": 1}[name]
			}
		}
	}
	var err error
	if cfg.threads, err = measure.Ints(*threads); err != nil {
		return config{}, fmt.Errorf("datasetresize: -threads: %v", err)
	}
	if cfg.n < 1 || cfg.width < 8 || cfg.height < 8 || cfg.size < 1 || cfg.reps < 1 {
		return config{}, errors.New("datasetresize: -n, -reps and -size must be positive, -width and -height at least 8")
	}
	cfg.args = args
	return cfg, nil
}

// row is one thread count's result: images per second of each tool.
type row struct {
	threads                    int
	govision, convert, mogrify float64
}

func run(args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		return err
	}
	dir := cfg.keep
	if dir == "" {
		if dir, err = os.MkdirTemp("", "datasetresize-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	src := filepath.Join(dir, "src")
	fmt.Fprintf(stderr, "datasetresize: generating %d JPEGs of %dx%d in %s\n", cfg.n, cfg.width, cfg.height, src)
	if err := generate(src, cfg.n, cfg.width, cfg.height); err != nil {
		return err
	}
	vision := filepath.Join(dir, "vision")
	if err := buildVision(vision); err != nil {
		return err
	}
	magick, err := findImageMagick(cfg.install, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "datasetresize: no ImageMagick peer: %v\n", err)
	}
	files, _ := filepath.Glob(filepath.Join(src, "*.jpg"))
	var rows []row
	k := 0
	for _, t := range cfg.threads {
		r := row{threads: t}
		var gv, cv, mg []time.Duration
		for rep := range cfg.reps {
			steps := []func() error{
				func() error {
					k++
					d, err := timeCmd(nil, vision, "--threads", fmt.Sprint(t), "-q", "dataset", "resize", "--size", fmt.Sprint(cfg.size), src, filepath.Join(dir, fmt.Sprintf("gv%d", k)))
					gv = append(gv, d)
					os.RemoveAll(filepath.Join(dir, fmt.Sprintf("gv%d", k)))
					return err
				},
			}
			if magick != "" {
				steps = append(steps,
					func() error {
						k++
						out := filepath.Join(dir, fmt.Sprintf("im%d", k))
						d, err := convertAll(files, out, cfg.size, t)
						cv = append(cv, d)
						os.RemoveAll(out)
						return err
					},
					func() error {
						k++
						out := filepath.Join(dir, fmt.Sprintf("mg%d", k))
						os.MkdirAll(out, 0o777)
						env := append(os.Environ(), fmt.Sprintf("MAGICK_THREAD_LIMIT=%d", t), fmt.Sprintf("OMP_NUM_THREADS=%d", t))
						d, err := timeCmd(env, "mogrify", append([]string{"-path", out, "-resize", fmt.Sprintf("%dx%d", cfg.size, cfg.size), "-quality", "95"}, files...)...)
						mg = append(mg, d)
						os.RemoveAll(out)
						return err
					})
			}
			if rep%2 == 1 {
				slices.Reverse(steps)
			}
			for _, s := range steps {
				if err := s(); err != nil {
					return err
				}
			}
		}
		r.govision = rate(cfg.n, gv)
		r.convert = rate(cfg.n, cv)
		r.mogrify = rate(cfg.n, mg)
		rows = append(rows, r)
	}
	writeReport(stdout, cfg, magick, rows)
	return nil
}

// rate is images per second at the median time.
func rate(n int, ts []time.Duration) float64 {
	if len(ts) == 0 {
		return math.NaN()
	}
	slices.Sort(ts)
	m := ts[len(ts)/2]
	if len(ts)%2 == 0 {
		m = (ts[len(ts)/2-1] + ts[len(ts)/2]) / 2
	}
	return float64(n) / m.Seconds()
}

func writeReport(w io.Writer, cfg config, magick string, rows []row) {
	fmt.Fprintf(w, "# `vision dataset resize` against ImageMagick\n\n")
	fmt.Fprintf(w, "- date: %s\n- cpu: %s (%d logical CPUs)\n- go: %s %s/%s\n", time.Now().UTC().Format(time.RFC3339), measure.CPUModel(), runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if magick != "" {
		fmt.Fprintf(w, "- ImageMagick: %s\n", magick)
	}
	fmt.Fprintf(w, "- work: %d JPEGs of %dx%d (quality 90) resized to fit %dx%d, written at quality 95; median of %d runs\n",
		cfg.n, cfg.width, cfg.height, cfg.size, cfg.size, cfg.reps)
	fmt.Fprintf(w, "- command: %s\n\n", measure.CommandLine(cfg.args, "./bench/datasetresize"))
	fmt.Fprintln(w, "| threads | govision img/s | convert img/s | ratio (govision/convert) | mogrify img/s |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %d | %.1f | %.1f | %.2f | %.1f |\n", r.threads, r.govision, r.convert, r.govision/r.convert, r.mogrify)
	}
}

// timeCmd runs a command and returns its wall time.
func timeCmd(env []string, name string, args ...string) (time.Duration, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = env
	var errb strings.Builder
	cmd.Stderr = &errb
	t0 := time.Now()
	err := cmd.Run()
	d := time.Since(t0)
	if err != nil {
		return d, fmt.Errorf("datasetresize: %s: %v: %s", name, err, measure.LastLine(errb.String()))
	}
	return d, nil
}

// convertAll resizes files into out with one convert process per image,
// threads processes at a time, and returns the wall time.
func convertAll(files []string, out string, size, threads int) (time.Duration, error) {
	if err := os.MkdirAll(out, 0o777); err != nil {
		return 0, err
	}
	env := append(os.Environ(), "MAGICK_THREAD_LIMIT=1", "OMP_NUM_THREADS=1")
	jobs := make(chan string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	t0 := time.Now()
	for range threads {
		wg.Go(func() {
			for f := range jobs {
				_, err := timeCmd(env, "convert", f, "-resize", fmt.Sprintf("%dx%d", size, size), "-quality", "95", filepath.Join(out, filepath.Base(f)))
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for _, f := range files {
		jobs <- f
	}
	close(jobs)
	wg.Wait()
	return time.Since(t0), firstErr
}

// findImageMagick returns convert's version line, installing Debian's
// imagemagick when asked and convert is missing or not ImageMagick.
func findImageMagick(install bool, log io.Writer) (string, error) {
	version := func() string {
		out, err := exec.Command("convert", "-version").Output()
		if err != nil || !strings.Contains(string(out), "ImageMagick") {
			return ""
		}
		line, _, _ := strings.Cut(string(out), "\n")
		return strings.TrimPrefix(line, "Version: ")
	}
	if v := version(); v != "" {
		return v, nil
	}
	if !install {
		return "", errors.New("convert is not ImageMagick (apt-get install imagemagick, or -install)")
	}
	fmt.Fprintln(log, "datasetresize: installing imagemagick")
	if err := measure.AptInstall(log, "imagemagick"); err != nil {
		return "", err
	}
	if v := version(); v != "" {
		return v, nil
	}
	return "", errors.New("convert is still not ImageMagick after installing imagemagick")
}

// buildVision builds cmd/vision from the workspace this harness is in.
func buildVision(out string) error {
	root, err := workspaceRoot()
	if err != nil {
		return err
	}
	cmd := exec.Command("go", "build", "-o", out, "./cmd/vision")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("datasetresize: building vision: %v\n%s", err, b)
	}
	return nil
}

// workspaceRoot is the folder of go.work above the current directory.
func workspaceRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("datasetresize: run it inside the govision checkout (no go.work above)")
		}
		dir = parent
	}
}

// generate writes n JPEGs that compress like photographs: a smooth
// two-colour gradient, a few filled discs and rectangles, and noise.
func generate(dir string, n, w, h int) error {
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				errs[i] = writeJPEG(filepath.Join(dir, fmt.Sprintf("img_%05d.jpg", i)), synthetic(i, w, h))
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

func synthetic(seed, w, h int) *image.RGBA {
	rng := rand.New(rand.NewPCG(uint64(seed), 11))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	c0 := [3]float64{rng.Float64() * 255, rng.Float64() * 255, rng.Float64() * 255}
	c1 := [3]float64{rng.Float64() * 255, rng.Float64() * 255, rng.Float64() * 255}
	type shape struct {
		x, y, r float64
		disc    bool
		c       color.RGBA
	}
	var shapes []shape
	for range 6 {
		shapes = append(shapes, shape{rng.Float64() * float64(w), rng.Float64() * float64(h), (0.05 + 0.2*rng.Float64()) * float64(min(w, h)),
			rng.IntN(2) == 0, color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255}})
	}
	for y := range h {
		for x := range w {
			t := (float64(x)/float64(w) + float64(y)/float64(h)) / 2
			p := img.Pix[img.PixOffset(x, y):]
			for c := range 3 {
				p[c] = uint8(math.Min(255, math.Max(0, c0[c]*(1-t)+c1[c]*t+rng.NormFloat64()*6)))
			}
			p[3] = 255
			for _, s := range shapes {
				dx, dy := float64(x)-s.x, float64(y)-s.y
				if s.disc && dx*dx+dy*dy < s.r*s.r || !s.disc && math.Abs(dx) < s.r && math.Abs(dy) < s.r/2 {
					p[0], p[1], p[2] = s.c.R, s.c.G, s.c.B
				}
			}
		}
	}
	return img
}

func writeJPEG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 90}); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
