package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"govision.dev/bench/internal/measure"
	"govision.dev/classify"
)

// rssTarget is issue 4's bound on the peak RSS of a resnet50 inference
// process: 2.5 times the bytes of its weight file.
const rssTarget = 2.5

// darknetDog is the photo -rss classifies when -image is not given and
// Debian's darknet package is installed.
const darknetDog = "/usr/share/darknet/data/dog.jpg"

// rssRow is one process of the RSS table, run cfg.rssRuns times.
type rssRow struct {
	model   string
	process string // what ran, for the table
	images  int
	weights int64           // the weight file's bytes
	peaks   []int64         // peak RSS of each run, bytes
	walls   []time.Duration // wall time of each run
}

// peak is the median peak RSS of the runs.
func (r rssRow) peak() int64 {
	p := slices.Clone(r.peaks)
	slices.Sort(p)
	return p[len(p)/2]
}

// wall is the median wall time of the runs.
func (r rssRow) wall() time.Duration {
	w := slices.Clone(r.walls)
	slices.Sort(w)
	return w[len(w)/2]
}

// rssReport is everything the -rss output says.
type rssReport struct {
	header
	image  string // the image classified
	vision string // where the vision binary came from
	env    string // the Go runtime's environment knobs the child saw
	runs   int
	rows   []rssRow
}

// measureRSS runs, for each of cfg.models, `vision classify` on one image
// and on a folder of cfg.rssImages copies of it, then PyTorch's inference
// process, each cfg.rssRuns times, and reads their peak RSS. The peer
// saves each model's state dict (the file vision loads, as a user's
// torchvision checkpoint) into dir.
func measureRSS(cfg config, dir string, pt *pytorch, log io.Writer) (rssReport, error) {
	r := rssReport{runs: cfg.rssRuns, env: goEnv(os.Environ())}
	bin, how := cfg.vision, "-vision "+cfg.vision
	if bin == "" {
		var err error
		if bin, err = buildVision(dir, log); err != nil {
			return r, err
		}
		how = "go build -o " + filepath.Join("$TMPDIR", filepath.Base(bin)) + " govision.dev/cmd/vision"
	}
	r.vision = how
	img := cfg.image
	if img == "" {
		var err error
		if img, err = defaultImage(dir); err != nil {
			return r, err
		}
	}
	r.image = img
	folder := filepath.Join(dir, "images")
	if err := copies(folder, img, cfg.rssImages); err != nil {
		return r, err
	}
	for _, name := range cfg.models {
		info, err := classify.Describe(name)
		if err != nil {
			return r, err
		}
		size := info.Weights.Preprocess.Size()
		fx, err := pt.fixture(name, size)
		if err != nil {
			return r, err
		}
		st, err := os.Stat(fx.Weights)
		if err != nil {
			return r, err
		}
		procs := []struct {
			process string
			images  int
			cmd     func() *exec.Cmd
		}{
			{fmt.Sprintf("vision classify IMAGE --model %s --weights %s.pth", name, name), 1,
				func() *exec.Cmd { return exec.Command(bin, "classify", img, "--model", name, "--weights", fx.Weights) }},
			{fmt.Sprintf("vision classify FOLDER --model %s --weights %s.pth", name, name), cfg.rssImages,
				func() *exec.Cmd {
					return exec.Command(bin, "classify", folder, "--model", name, "--weights", fx.Weights)
				}},
			{fmt.Sprintf("PyTorch: torch.load, torchvision %s load_state_dict, one forward", name), 1,
				func() *exec.Cmd {
					return pt.Command("--rss-model", name, "--rss-weights", fx.Weights, "--size", fmt.Sprint(size))
				}},
		}
		for _, p := range procs {
			row := rssRow{model: name, process: p.process, images: p.images, weights: st.Size()}
			for range cfg.rssRuns {
				peak, wall, err := runPeak(p.cmd())
				if err != nil {
					return r, err
				}
				row.peaks, row.walls = append(row.peaks, peak), append(row.walls, wall)
			}
			fmt.Fprintf(log, "classify: %s, images: %d: peak RSS %.1f MiB = %.2f × the weights\n",
				p.process, p.images, mib(row.peak()), float64(row.peak())/float64(row.weights))
			r.rows = append(r.rows, row)
		}
	}
	return r, nil
}

// runPeak runs cmd to its end and returns its peak resident set size in
// bytes (wait4's rusage) and its wall time. Its output is discarded; a
// failure is an error quoting the end of its stderr.
func runPeak(cmd *exec.Cmd) (int64, time.Duration, error) {
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("classify: %s: %v: %s", strings.Join(cmd.Args[:min(len(cmd.Args), 2)], " "), err, measure.LastLine(stderr.String()))
	}
	wall := time.Since(t0)
	peak, err := peakRSS(cmd.ProcessState)
	return peak, wall, err
}

// buildVision builds govision's command into dir, from the workspace the
// harness runs in.
func buildVision(dir string, log io.Writer) (string, error) {
	bin := filepath.Join(dir, "vision")
	fmt.Fprintf(log, "classify: go build -o %s govision.dev/cmd/vision\n", bin)
	cmd := exec.Command("go", "build", "-o", bin, "govision.dev/cmd/vision")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("classify: building cmd/vision (or give -vision): %v", err)
	}
	return bin, nil
}

// defaultImage is darknet's dog.jpg if installed, else a 640×480 PNG
// written into dir.
func defaultImage(dir string) (string, error) {
	if _, err := os.Stat(darknetDog); err == nil {
		return darknetDog, nil
	}
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for y := 0; y < 480; y++ {
		for x := 0; x < 640; x++ {
			img.Set(x, y, color.RGBA{R: uint8(x * 255 / 639), G: uint8(y * 255 / 479), B: uint8((x ^ y) & 255), A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "gradient.png")
	return path, os.WriteFile(path, buf.Bytes(), 0o644)
}

// copies fills folder with n copies of the image at path.
func copies(folder, path string, n int) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(folder, 0o755); err != nil {
		return err
	}
	for i := range n {
		if err := os.WriteFile(filepath.Join(folder, fmt.Sprintf("%03d%s", i, filepath.Ext(path))), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// goEnv describes the Go runtime's memory settings in environ.
func goEnv(environ []string) string {
	var set []string
	for _, kv := range environ {
		if k, _, _ := strings.Cut(kv, "="); k == "GOGC" || k == "GOMEMLIMIT" || k == "GODEBUG" {
			set = append(set, kv)
		}
	}
	if len(set) == 0 {
		return "GOGC and GOMEMLIMIT unset (vision then collects at GOGC=50, its own default; no limit)"
	}
	return strings.Join(set, " ")
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// writeRSSReport writes the header lines and the Markdown table of peak
// RSS.
func writeRSSReport(w io.Writer, r rssReport) {
	var models []string
	for _, x := range r.rows {
		if !slices.Contains(models, x.model) {
			models = append(models, x.model)
		}
	}
	writeHeader(w, "Peak memory of a "+strings.Join(models, ", ")+" inference process", r.header)
	fmt.Fprintf(w, "- weights: torchvision.models.<name>(weights=None)'s state dict saved with torch.save (a .pth as torchvision publishes)\n")
	fmt.Fprintf(w, "- image: %s; FOLDER holds copies of it\n", r.image)
	fmt.Fprintf(w, "- vision: %s; %s\n", r.vision, r.env)
	fmt.Fprintf(w, "- method: each process run %d times to its end; peak RSS from wait4's rusage (ru_maxrss), median; target: peak RSS ≤ %g × the weight file's bytes\n", r.runs, rssTarget)
	fmt.Fprintf(w, "- command: %s\n\n", r.command)
	fmt.Fprintf(w, "| process | images | peak RSS MiB | weights MiB | peak RSS / weights | wall s |\n")
	fmt.Fprintf(w, "|---|---:|---:|---:|---:|---:|\n")
	for _, x := range r.rows {
		fmt.Fprintf(w, "| %s | %d | %.1f | %.1f | %.2f | %.2f |\n", x.process, x.images,
			mib(x.peak()), mib(x.weights), float64(x.peak())/float64(x.weights), x.wall().Seconds())
	}
}
