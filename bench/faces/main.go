// Command faces times govision's face detectors (detect's "face", face-api's
// Tiny Face Detector, and "face-ssd", its SSD-MobileNetV1) against face-api
// itself under Node, in one run, with OpenCV's Haar cascade for context,
// and prints a Markdown table of milliseconds per image.
//
//	go run ./bench/faces [-threads 1,2] [-mintime 3s] [-quick] [-install=false]
//
// The images are the photos face-api's golden uses (darknet's person.jpg,
// OpenCV's messi5.jpg, scikit-image's astronaut.png, from Debian), written
// as PNGs so that every tool decodes the same pixels; decoding is not
// timed. Each tool runs every image once untimed, then times passes over
// the images (at least 3 and -mintime) and reports the median pass over
// the number of images:
//
//   - govision: FaceDetector.Detect with face-api's defaults, on T kernel
//     threads (accel.SetThreads) for each T of -threads;
//   - face-api 1.7.15 (dist/face-api.node-wasm.js) under Node, on tfjs'
//     pure-JS "cpu" backend and on @tensorflow/tfjs-backend-wasm (XNNPACK,
//     SIMD, one thread: the faster peer), images passed as int32 tensors
//     decoded with pngjs; installed with npm into a scratch folder, never
//     the repository (faceapi_peer.js);
//   - OpenCV 4's Haar cascade, haarcascade_frontalface_default.xml
//     (Debian python3-opencv and opencv-data, run with /usr/bin/python3
//     -E -s; -install installs opencv-data with apt-get when missing), on T
//     threads (haar_peer.py).
//
// -quick skips npm and Node (CI): govision and, when installed, the Haar
// cascade, one pass each.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	_ "embed"

	"govision.dev/accel"
	"govision.dev/bench/internal/measure"
	"govision.dev/detect"
	"govision.dev/vision/imageio"
)

//go:embed faceapi_peer.js
var faceAPIPeer []byte

//go:embed haar_peer.py
var haarPeer []byte

// photos are the golden's photos, where Debian installs them.
var photos = []string{
	"/usr/share/darknet/data/person.jpg",
	"/usr/share/doc/opencv-doc/examples/data/messi5.jpg",
	"/usr/lib/python3/dist-packages/skimage/data/astronaut.png",
}

// npmPackages are face-api and the tfjs it was golden-checked with.
var npmPackages = []string{"@vladmandic/face-api@1.7.15", "@tensorflow/tfjs@4.22.0",
	"@tensorflow/tfjs-backend-wasm@4.22.0", "pngjs@7"}

const haarCascade = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"

func main() {
	if err := run(os.Args, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "faces:", err)
		os.Exit(1)
	}
}

type config struct {
	threads []int
	minTime time.Duration
	quick   bool
	install bool
}

func parseConfig(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	threads := fs.String("threads", "1,2", "thread counts, comma-separated")
	minTime := fs.Duration("mintime", 3*time.Second, "least time timed per tool and setting")
	quick := fs.Bool("quick", false, "no npm or Node; one pass per setting (CI)")
	install := fs.Bool("install", true, "apt-get install opencv-data when the Haar cascade is missing")
	if err := fs.Parse(args[1:]); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	ts, err := measure.Ints(*threads)
	if err != nil {
		return config{}, fmt.Errorf("-threads: %v", err)
	}
	c := config{threads: ts, minTime: *minTime, quick: *quick, install: *install}
	if c.quick {
		c.minTime = 0
	}
	return c, nil
}

// row is one line of the table: a tool and setting, ms per image by
// thread count ("" when not run).
type row struct {
	tool, model string
	ms          map[int]float64
	faces       int
	note        string
}

func run(args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "bench-faces-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	imgs, pngs, err := writePNGs(tmp)
	if err != nil {
		return err
	}
	var rows []row
	for _, name := range detect.FaceNames() {
		r, err := timeGo(name, imgs, cfg)
		if err != nil {
			return err
		}
		rows = append(rows, r)
	}
	if !cfg.quick {
		fa, err := timeFaceAPI(tmp, pngs, cfg, stderr)
		if err != nil {
			fmt.Fprintln(stderr, "faces: face-api skipped:", err)
		}
		rows = append(rows, fa...)
	}
	haar, err := timeHaar(tmp, pngs, cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "faces: Haar cascade skipped:", err)
	} else {
		rows = append(rows, haar)
	}
	printTable(stdout, args, cfg, rows, len(pngs))
	return nil
}

// writePNGs decodes the photos as govision does and writes them as PNGs.
func writePNGs(dir string) ([]image.Image, []string, error) {
	var imgs []image.Image
	var files []string
	for _, p := range photos {
		img, err := imageio.DecodeFile(p)
		if err != nil {
			return nil, nil, fmt.Errorf("%v (Debian packages darknet, opencv-doc, python3-skimage)", err)
		}
		out := filepath.Join(dir, strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))+".png")
		f, err := os.Create(out)
		if err != nil {
			return nil, nil, err
		}
		err = png.Encode(f, img)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, nil, err
		}
		// Read back, so that Go times the image Node and OpenCV read.
		if img, err = imageio.DecodeFile(out); err != nil {
			return nil, nil, err
		}
		imgs = append(imgs, img)
		files = append(files, out)
	}
	return imgs, files, nil
}

func timeGo(name string, imgs []image.Image, cfg config) (row, error) {
	d, err := detect.PretrainedFace(name)
	if err != nil {
		return row{}, err
	}
	opts, err := detect.DefaultFaceOptions(name)
	if err != nil {
		return row{}, err
	}
	r := row{tool: "govision", model: name, ms: map[int]float64{}}
	defer accel.SetThreads(runtime.GOMAXPROCS(0))
	for _, t := range cfg.threads {
		accel.SetThreads(t)
		var runErr error
		pass := func() {
			n := 0
			for _, img := range imgs {
				dets, err := d.Detect(img, opts)
				if err != nil {
					runErr = err
				}
				n += len(dets)
			}
			r.faces = n
		}
		med, _ := measure.Median(pass, 1, 3, cfg.minTime)
		if runErr != nil {
			return row{}, fmt.Errorf("%s: %w", name, runErr)
		}
		r.ms[t] = float64(med.Microseconds()) / 1000 / float64(len(imgs))
	}
	return r, nil
}

// timeFaceAPI installs face-api with npm into dir/npm and runs the peer on
// each backend.
func timeFaceAPI(dir string, pngs []string, cfg config, stderr io.Writer) ([]row, error) {
	npm := filepath.Join(dir, "npm")
	if err := os.MkdirAll(npm, 0o755); err != nil {
		return nil, err
	}
	install := exec.Command("npm", append([]string{"install", "--silent", "--no-audit", "--no-fund", "--prefix", npm}, npmPackages...)...)
	install.Dir = npm
	if out, err := install.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("npm install: %v: %s", err, measure.LastLine(string(out)))
	}
	peer := filepath.Join(dir, "faceapi_peer.js")
	if err := os.WriteFile(peer, faceAPIPeer, 0o644); err != nil {
		return nil, err
	}
	modules := filepath.Join(npm, "node_modules")
	models := filepath.Join(modules, "@vladmandic", "face-api", "model")
	var rows []row
	for _, backend := range []string{"wasm", "cpu"} {
		minMS := cfg.minTime.Milliseconds()
		if backend == "cpu" {
			minMS = 0 // seconds per image: three passes are enough
		}
		cmd := exec.Command("node", append([]string{peer, backend, models, fmt.Sprint(minMS)}, pngs...)...)
		cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
		var errBuf strings.Builder
		cmd.Stderr = &errBuf
		out, err := cmd.Output()
		if err != nil {
			fmt.Fprintf(stderr, "faces: face-api %s: %v: %s\n", backend, err, measure.LastLine(errBuf.String()))
			continue
		}
		sc := bufio.NewScanner(strings.NewReader(string(out)))
		for sc.Scan() {
			var v struct {
				Backend, Model string
				MS             float64
				Faces          int
			}
			if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
				continue // face-api's own log lines
			}
			note := "tfjs pure-JS kernels"
			if v.Backend == "wasm" {
				note = "XNNPACK SIMD, 1 thread"
			}
			rows = append(rows, row{tool: "face-api (" + v.Backend + ")", model: v.Model, ms: map[int]float64{1: v.MS}, faces: v.Faces, note: note})
		}
	}
	if len(rows) == 0 {
		return nil, errors.New("no backend ran")
	}
	return rows, nil
}

func timeHaar(dir string, pngs []string, cfg config, stderr io.Writer) (row, error) {
	if _, err := os.Stat(haarCascade); err != nil {
		if !cfg.install {
			return row{}, fmt.Errorf("%s missing (Debian opencv-data)", haarCascade)
		}
		if err := measure.AptInstall(stderr, "opencv-data"); err != nil {
			return row{}, err
		}
	}
	peer := filepath.Join(dir, "haar_peer.py")
	if err := os.WriteFile(peer, haarPeer, 0o644); err != nil {
		return row{}, err
	}
	r := row{tool: "OpenCV Haar cascade", model: "frontalface_default", ms: map[int]float64{}, note: "context: not a CNN"}
	for _, t := range cfg.threads {
		cmd := exec.Command("/usr/bin/python3", append([]string{"-E", "-s", peer, haarCascade, fmt.Sprint(t), fmt.Sprint(cfg.minTime.Seconds())}, pngs...)...)
		var errBuf strings.Builder
		cmd.Stderr = &errBuf
		out, err := cmd.Output()
		if err != nil {
			return row{}, fmt.Errorf("%v: %s", err, measure.LastLine(errBuf.String()))
		}
		var v struct {
			MS     float64
			Faces  int
			OpenCV string
		}
		if err := json.Unmarshal([]byte(measure.LastLine(string(out))), &v); err != nil {
			return row{}, fmt.Errorf("haar_peer.py: %v", err)
		}
		r.ms[t], r.faces = v.MS, v.Faces
		r.note = "OpenCV " + v.OpenCV + ", context: not a CNN"
	}
	return r, nil
}

func printTable(w io.Writer, args []string, cfg config, rows []row, images int) {
	fmt.Fprintf(w, "`%s`\n\n", measure.CommandLine(args, "./bench/faces"))
	fmt.Fprintf(w, "%s, %d photos (person, messi5, astronaut), load average %s; ms per image, median pass.\n\n",
		measure.CPUModel(), images, measure.LoadAverage())
	head := "| tool | model |"
	sep := "|---|---|"
	for _, t := range cfg.threads {
		head += fmt.Sprintf(" %d thread%s |", t, map[bool]string{true: "", false: "s"}[t == 1])
		sep += "---:|"
	}
	fmt.Fprintln(w, head+" faces | note |")
	fmt.Fprintln(w, sep+"---:|---|")
	for _, r := range rows {
		line := "| " + r.tool + " | " + r.model + " |"
		for _, t := range cfg.threads {
			if v, ok := r.ms[t]; ok {
				line += fmt.Sprintf(" %.1f |", v)
			} else {
				line += " — |"
			}
		}
		fmt.Fprintf(w, "%s %d | %s |\n", line, r.faces, r.note)
	}
	// The target: govision at one thread against face-api's wasm backend.
	for _, g := range rows {
		if g.tool != "govision" {
			continue
		}
		for _, p := range rows {
			if p.tool == "face-api (wasm)" && p.model == g.model && g.ms[1] > 0 && p.ms[1] > 0 {
				fmt.Fprintf(w, "\n%s: govision %.2f× face-api wasm at one thread (target ≥ 3×).", g.model, p.ms[1]/g.ms[1])
			}
		}
	}
	fmt.Fprintln(w)
}
