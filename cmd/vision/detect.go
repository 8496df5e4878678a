package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"govision.dev/detect"
	"govision.dev/vision/imageio"
)

// detectFlags are vision detect's flags.
type detectFlags struct {
	model, weights, cfg string
	conf, iou, hier     float64
	imgsz               int
	classes             string
	maxDet              int
	out                 string
	asJSON              bool
	saveTxt, noSave     bool
	nms                 string
	confSet, iouSet     bool // --conf, --iou given: else a face model's defaults
}

// detector is what vision detect runs: a YOLO model (*detect.Detector) or
// a face detector (*detect.FaceDetector).
type detector interface {
	Name() string
	Classes() int
	Size() (w, h int)
	Detect(img image.Image, o detect.Options) ([]detect.Detection, error)
}

// detectLine is one line of `vision detect --json`: one detection, or an
// image that failed.
type detectLine struct {
	Image string      `json:"image"`
	Class *int        `json:"class,omitempty"`
	Label string      `json:"label,omitempty"`
	Score float32     `json:"score,omitempty"`
	Box   *[4]float32 `json:"box,omitempty"`
	Error string      `json:"error,omitempty"`
}

func newDetectCmd(g *globals) *cobra.Command {
	var f detectFlags
	cmd := &cobra.Command{
		Use:   "detect SOURCE... [--model yolov3|face|face-ssd]",
		Short: "Find objects in images with a YOLO model, or faces",
		Long: `detect finds the objects in images with a YOLO model, as darknet's
` + "`detector test`" + ` does: the same letterbox, thresholds and NMS, the same boxes;
or the faces, with face-api's detectors (--model ` + strings.Join(detect.FaceNames(), ", ") + `), as face-api does.

SOURCE is an image file, a folder (searched recursively for ` + strings.Join(imageExts, " ") + `),
a glob pattern ("photos/*.jpg", quoted so vision expands it) or a .txt file
listing images, one a line (relative paths are relative to the list's folder).

The models: ` + strings.Join(detect.Names(), ", ") + `.
--cfg FILE runs any darknet cfg instead (its classes named after --model's
labels when they fit, else COCO, VOC or 9k by their number).

The weights are --weights FILE, or <model>.weights in $VISION_HOME/weights,
or in <user cache dir>/govision/weights; ` + "`vision weights fetch yolov3`" + ` downloads
darknet's published file there. The face detectors need no download: face-api's
weights are built in (--weights takes our safetensors or face-api's
*-weights_manifest.json). Their --conf and --iou default to face-api's (face:
0.5 and 0.4, --imgsz 128 to 608, default 416; face-ssd: 0.5 and 0.5, --imgsz
512 only) and their NMS is face-api's greedy one (--nms darknet means it too).

For each image, a table of its detections (class, score, box x1 y1 x2 y2 in
pixels) is printed, or with --json one JSON object per detection and line:
{"image", "class", "label", "score", "box"} ({"image", "error"} for an image
that failed). Annotated images are written to a new folder per run,
DIR/<n> (--out DIR, default runs/detect; n = 1, 2, …), all at once when the
run ends, never half-written; --save-txt also writes YOLO label files,
DIR/<n>/labels/<image>.txt, one "class cx cy w h score" line per detection
(centre and size as fractions of the image). --no-save writes no images.

An image that fails (missing, not an image, too large) is reported, the
others are still processed, and vision exits with status 1.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.confSet, f.iouSet = cmd.Flags().Changed("conf"), cmd.Flags().Changed("iou")
			return runDetect(cmd.Context(), g, cmd.OutOrStdout(), args, f, cmd.Flags().Changed("model"))
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.model, "model", "m", "yolov3", "model: "+strings.Join(append(detect.Names(), detect.FaceNames()...), ", "))
	fl.StringVarP(&f.weights, "weights", "w", "", "darknet .weights file (default: <model>.weights in the weights folder)")
	fl.StringVar(&f.cfg, "cfg", "", "darknet .cfg file to run instead of the model's own")
	fl.Float64Var(&f.conf, "conf", 0.25, "confidence threshold, in (0, 1]: darknet's -thresh")
	fl.Float64Var(&f.iou, "iou", 0.45, "NMS IoU threshold, in (0, 1]")
	fl.Float64Var(&f.hier, "hier", 0.5, "YOLO9000's WordTree threshold, in (0, 1]: darknet's -hier")
	fl.IntVar(&f.imgsz, "imgsz", 0, "network input size in pixels, a multiple of 32 (default: the model's, 416 for yolov3)")
	fl.StringVar(&f.classes, "classes", "", "only these classes, by index: 0,2")
	fl.IntVar(&f.maxDet, "max-det", 300, "at most this many detections per image")
	fl.StringVar(&f.out, "out", filepath.Join("runs", "detect"), "folder that gets a new DIR/<n> folder of results per run")
	fl.BoolVar(&f.asJSON, "json", false, "print one JSON object per detection")
	fl.BoolVar(&f.saveTxt, "save-txt", false, "also write YOLO label files (class cx cy w h score)")
	fl.BoolVar(&f.noSave, "no-save", false, "do not write annotated images")
	fl.StringVar(&f.nms, "nms", "darknet", "NMS: darknet (do_nms_sort), greedy, soft-linear, soft-gaussian")
	return cmd
}

// options checks the flags and turns them into detect.Options.
func (f detectFlags) options() (detect.Options, error) {
	o := detect.Options{Conf: float32(f.conf), IoU: float32(f.iou), HierThresh: float32(f.hier),
		ImgSize: f.imgsz, MaxDet: f.maxDet}
	for _, t := range []struct {
		name string
		v    float64
	}{{"--conf", f.conf}, {"--iou", f.iou}, {"--hier", f.hier}} {
		if !(t.v > 0 && t.v <= 1) {
			return o, fmt.Errorf("%s %g: want a value in (0, 1], e.g. %s 0.25", t.name, t.v, t.name)
		}
	}
	if f.maxDet < 1 {
		return o, fmt.Errorf("--max-det %d: want at least 1", f.maxDet)
	}
	if f.imgsz < 0 || (f.imgsz > 0 && f.imgsz%32 != 0) {
		return o, fmt.Errorf("--imgsz %d: want a positive multiple of 32, e.g. 416 (or 0: the model's size)", f.imgsz)
	}
	k, err := detect.ParseNMS(f.nms)
	if err != nil {
		return o, fmt.Errorf("--nms %q: want darknet, greedy, soft-linear or soft-gaussian", f.nms)
	}
	o.NMS = k
	if f.classes != "" {
		for _, s := range strings.Split(f.classes, ",") {
			c, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || c < 0 {
				return o, fmt.Errorf("--classes %q: want class indices separated by commas, e.g. 0,2", f.classes)
			}
			o.Classes = append(o.Classes, c)
		}
	}
	return o, nil
}

func runDetect(ctx context.Context, g *globals, stdout io.Writer, args []string, f detectFlags, modelSet bool) error {
	opts, err := f.options()
	if err != nil {
		return err
	}
	paths, err := expandSources(args)
	if err != nil {
		return err
	}
	d, err := newDetector(g, f, modelSet)
	if err != nil {
		return err
	}
	if detect.IsFace(f.model) && f.cfg == "" {
		// Zero: the face detector's own defaults, face-api's.
		if !f.confSet {
			opts.Conf = 0
		}
		if !f.iouSet {
			opts.IoU = 0
		}
	}
	if fd, ok := d.(*detect.FaceDetector); ok {
		// Once, not once an image: face-ssd runs at 512 only, the tiny
		// detector at 128 to 608.
		if _, err := fd.Resolve(opts); err != nil {
			return err
		}
	}
	for _, c := range opts.Classes {
		if c >= d.Classes() {
			return fmt.Errorf("--classes: %d: %s has classes 0 to %d", c, d.Name(), d.Classes()-1)
		}
	}
	if opts.ImgSize == 0 {
		w, h := d.Size()
		g.logf("%s at %dx%d (--imgsz changes it)", d.Name(), w, h)
	}

	var run *runDir
	if !f.noSave || f.saveTxt {
		run, err = newRunDir(f.out)
		if err != nil {
			return err
		}
		defer run.discard() // unless committed
	}

	bar := newProgress(g.stderr, len(paths), "detect", !g.quiet && !f.asJSON)
	defer bar.finish()
	enc := json.NewEncoder(stdout)
	var failed []string
	for i, p := range paths {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("interrupted after %d of %d images (nothing saved): %w", i, len(paths), err)
		}
		start := time.Now()
		img, dets, err := detectFile(d, p, opts)
		bar.clear()
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", p, err))
			if f.asJSON {
				if err := enc.Encode(detectLine{Image: p, Error: err.Error()}); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(g.stderr, "vision: %s: %v\n", p, err)
			}
			bar.set(i + 1)
			continue
		}
		if f.asJSON {
			for _, x := range dets {
				if err := enc.Encode(detectLine{Image: p, Class: &x.Class, Label: x.Label, Score: x.Score, Box: &x.Box}); err != nil {
					return err
				}
			}
		} else if err := writeDetections(stdout, p, img.Bounds(), dets, time.Since(start)); err != nil {
			return err
		}
		if run != nil {
			if err := run.save(p, img, dets, !f.noSave, f.saveTxt); err != nil {
				return err
			}
		}
		bar.set(i + 1)
	}
	bar.finish()
	if run != nil && run.files > 0 {
		dir, err := run.commit()
		if err != nil {
			return err
		}
		if !g.quiet {
			fmt.Fprintf(g.stderr, "vision: results saved to %s\n", dir)
		}
	}
	if len(failed) > 0 {
		if len(failed) > 1 && !g.quiet {
			fmt.Fprintf(g.stderr, "vision: %d of %d images failed:\n", len(failed), len(paths))
			for _, f := range failed {
				fmt.Fprintf(g.stderr, "  %s\n", f)
			}
		}
		return fmt.Errorf("%d of %d images failed", len(failed), len(paths))
	}
	return nil
}

// detectFile decodes and runs one image. Errors do not repeat the path.
func detectFile(d detector, path string, o detect.Options) (image.Image, []detect.Detection, error) {
	img, err := imageio.DecodeFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Path == path {
			return nil, nil, pe.Err // "no such file or directory"
		}
		msg := strings.Replace(err.Error(), path+": ", "", 1)
		return nil, nil, errors.New(strings.TrimPrefix(msg, "imageio: "))
	}
	dets, err := d.Detect(img, o)
	return img, dets, err
}

// newDetector finds the weights, then builds the model (or --cfg) and
// loads them.
func newDetector(g *globals, f detectFlags, modelSet bool) (detector, error) {
	if detect.IsFace(f.model) {
		return newFaceDetector(g, f)
	}
	custom := f.cfg != "" && !modelSet // a cfg that is not one of the zoo's
	if !custom {
		if _, err := detect.Describe(f.model); err != nil {
			return nil, err
		}
	}
	file := f.weights
	if file == "" {
		name := f.model
		if custom {
			name = strings.TrimSuffix(filepath.Base(f.cfg), filepath.Ext(f.cfg))
		}
		var err error
		if file, err = findDetectWeights(name, custom); err != nil {
			return nil, err
		}
	}
	var (
		d   *detect.Detector
		err error
	)
	if f.cfg != "" {
		var labels []string
		if !custom {
			info, _ := detect.Describe(f.model)
			labels = info.Labels.Names()
		}
		d, err = detect.FromCfg(f.cfg, labels)
		if err == nil && labels != nil && len(labels) != d.Classes() {
			// --model's labels do not fit: name the classes by their count.
			d, err = detect.FromCfg(f.cfg, nil)
		}
	} else {
		d, err = detect.New(f.model)
	}
	if err != nil {
		return nil, err
	}
	g.logf("loading %s", file)
	if err := d.Load(file); err != nil {
		return nil, err
	}
	return d, nil
}

// newFaceDetector builds a face detector with its built-in weights, or
// --weights.
func newFaceDetector(g *globals, f detectFlags) (detector, error) {
	if f.cfg != "" {
		return nil, fmt.Errorf("--cfg: %s is not a darknet model; --cfg takes a YOLO model's name in --model", f.model)
	}
	if f.weights == "" {
		return detect.PretrainedFace(f.model)
	}
	d, err := detect.NewFace(f.model)
	if err != nil {
		return nil, err
	}
	g.logf("loading %s", f.weights)
	if err := d.Load(f.weights); err != nil {
		return nil, err
	}
	return d, nil
}

// weightsDirs are the folders vision looks for weight files in, in order:
// $VISION_HOME/weights if VISION_HOME is set, then
// <user cache dir>/govision/weights.
func weightsDirs() []string {
	var dirs []string
	if h := os.Getenv("VISION_HOME"); h != "" {
		dirs = append(dirs, filepath.Join(h, "weights"))
	}
	if c, err := os.UserCacheDir(); err == nil {
		if d := filepath.Join(c, "govision", "weights"); len(dirs) == 0 || dirs[0] != d {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// findDetectWeights returns the path of <name>.weights in the weights
// folders, or an error saying which file to get, from where, and how to
// pass it. custom is set for a --cfg network that is not a zoo model.
func findDetectWeights(name string, custom bool) (string, error) {
	file := name + ".weights"
	dirs := weightsDirs()
	for _, dir := range dirs {
		p := filepath.Join(dir, file)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	if len(dirs) == 0 {
		return "", fmt.Errorf("%w for %s: no weights folder (set VISION_HOME); pass --weights FILE", errNoWeights, name)
	}
	where := strings.Join(dirs, " nor in ")
	if len(dirs) > 1 {
		where = "neither in " + where
	} else {
		where = "not in " + where
	}
	if custom {
		return "", fmt.Errorf("%w for %s: %s is %s; pass --weights FILE", errNoWeights, name, file, where)
	}
	info, err := detect.Describe(name)
	if err != nil {
		return "", err
	}
	size := ""
	if info.Weights.Size > 0 {
		size = " (" + commas(info.Weights.Size) + " bytes)"
	}
	dest := filepath.Join(fetchDir(), file)
	return "", fmt.Errorf("%w for %s: %s is %s\n"+
		"  get it with:  vision weights fetch %s\n"+
		"  or download %s%s\n"+
		"  to %s, or pass --weights FILE",
		errNoWeights, name, file, where, name, info.Weights.URL, size, dest)
}

// commas formats n with thousands separators: 248,007,048.
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// expandSources turns the arguments into image paths: .txt files are
// lists of images, one a line (blank lines and # comments skipped,
// relative paths taken from the list's folder); the rest as
// expandImages does (files, folders, globs).
func expandSources(args []string) ([]string, error) {
	var paths, rest []string
	flush := func() error {
		if len(rest) == 0 {
			return nil
		}
		ps, err := expandImages(rest)
		paths, rest = append(paths, ps...), rest[:0]
		return err
	}
	for _, a := range args {
		if strings.EqualFold(filepath.Ext(a), ".txt") {
			if err := flush(); err != nil {
				return nil, err
			}
			list, err := readList(a)
			if err != nil {
				return nil, err
			}
			paths = append(paths, list...)
			continue
		}
		rest = append(rest, a)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return paths, nil
}

// maxListLine bounds a line of a .txt list.
const maxListLine = 1 << 16

func readList(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var paths []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 4096), maxListLine)
	dir := filepath.Dir(path)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !filepath.IsAbs(line) {
			line = filepath.Join(dir, line)
		}
		paths = append(paths, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("%s: lists no images", path)
	}
	return paths, nil
}

// writeDetections prints an image's detections as a table.
func writeDetections(w io.Writer, path string, b image.Rectangle, dets []detect.Detection, took time.Duration) error {
	var sb strings.Builder
	noun := "objects"
	if len(dets) == 1 {
		noun = "object"
	}
	fmt.Fprintf(&sb, "%s: %dx%d, %d %s, %d ms\n", path, b.Dx(), b.Dy(), len(dets), noun, took.Milliseconds())
	if len(dets) > 0 {
		wide := len("CLASS")
		for _, x := range dets {
			wide = max(wide, len(x.Label))
		}
		fmt.Fprintf(&sb, "  %-*s  %5s  %7s  %7s  %7s  %7s\n", wide, "CLASS", "SCORE", "X1", "Y1", "X2", "Y2")
		for _, x := range dets {
			fmt.Fprintf(&sb, "  %-*s  %5.2f  %7.1f  %7.1f  %7.1f  %7.1f\n", wide, x.Label, x.Score, x.Box[0], x.Box[1], x.Box[2], x.Box[3])
		}
	}
	_, err := io.WriteString(w, sb.String())
	return err
}
