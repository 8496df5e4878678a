package detect

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"image"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"govision.dev/vision/darknet"
	"govision.dev/vision/imageio"
	"govision.dev/vision/tensor"
)

// cfgFiles holds the cfgs of the zoo and the files they name (9k.tree),
// copied from Debian's darknet by tools/golden/detect_assets.sh.
//
//go:embed cfg/*.cfg cfg/9k.tree cfg/coco9k.map
var cfgFiles embed.FS

// cfgFS is cfgFiles' cfg folder, where a cfg's relative file names
// (yolo9000's tree=9k.tree) resolve.
var cfgFS, _ = fs.Sub(cfgFiles, "cfg")

// embeddedConfig parses the embedded cfg file name.
func embeddedConfig(name string) (*darknet.Config, error) {
	b, err := fs.ReadFile(cfgFS, name)
	if err != nil {
		return nil, fmt.Errorf("detect: embedded cfg %s: %w", name, err)
	}
	return darknet.Parse(name, bytes.NewReader(b))
}

// Detection is one object found in an image.
type Detection struct {
	Class int     `json:"class"` // index into the model's labels
	Label string  `json:"label"` // the class's name
	Score float32 `json:"score"` // in (0, 1]: objectness × class probability
	// Box is the object's box, x1, y1, x2, y2, in pixels of the image
	// given to Detect: x right and y down from its top-left corner,
	// whatever the image's Bounds().Min. Boxes are not clipped to the
	// image, as darknet's are not.
	Box [4]float32 `json:"box"`
}

// Options are Detect's settings. The zero value of a field means its
// default (DefaultOptions).
type Options struct {
	// Conf is darknet's thresh: a box is a candidate when its objectness
	// is above it, and is reported for each class whose probability
	// (objectness × class score) is above it. In (0, 1]; default 0.25,
	// darknet's `detector test -thresh`.
	Conf float32
	// HierThresh is YOLO9000's threshold for going down the WordTree
	// (darknet's -hier); in (0, 1]; default 0.5.
	HierThresh float32
	// IoU is the NMS threshold: boxes of a class overlapping with an IoU
	// above it are suppressed (Soft-NMS linear: decayed at or above it).
	// In (0, 1]; default 0.45, darknet's.
	IoU float32
	// ImgSize is the side of the square network input, in pixels: a
	// multiple of 32 for the fully convolutional models (YOLOv1's fully
	// connected layers fix its size at 448). 0: the model's (Size).
	ImgSize int
	// Classes, if not empty, keeps only the detections of these classes.
	Classes []int
	// MaxDet caps the detections returned, highest scores first; default
	// 300.
	MaxDet int
	// NMS is the kind of non-maximum suppression; the zero value is
	// darknet's do_nms_sort.
	NMS NMSKind
	// Sigma is Gaussian Soft-NMS's σ; default 0.5 (Bodla et al. 2017).
	Sigma float32
}

// DefaultOptions returns the settings darknet's `detector test` uses:
// thresh 0.25, hier_thresh 0.5, NMS 0.45 with do_nms_sort; and at most
// 300 detections.
func DefaultOptions() Options {
	return Options{Conf: 0.25, HierThresh: 0.5, IoU: 0.45, MaxDet: 300, NMS: NMSDarknet, Sigma: 0.5}
}

// ErrOptions is the category of Detect's error for options out of range.
var ErrOptions = errors.New("detect: bad options")

// resolve fills in the defaults and checks the ranges.
func (o Options) resolve(classes int) (Options, error) {
	d := DefaultOptions()
	for _, f := range []struct {
		name string
		v    *float32
		def  float32
	}{{"Conf", &o.Conf, d.Conf}, {"HierThresh", &o.HierThresh, d.HierThresh}, {"IoU", &o.IoU, d.IoU}} {
		if *f.v == 0 {
			*f.v = f.def
		}
		if !(*f.v > 0 && *f.v <= 1) { // also refuses NaN
			return o, fmt.Errorf("%w: %s %g: want a value in (0, 1]", ErrOptions, f.name, *f.v)
		}
	}
	if o.Sigma == 0 {
		o.Sigma = d.Sigma
	}
	if !(o.Sigma > 0) {
		return o, fmt.Errorf("%w: Sigma %g: want a positive value", ErrOptions, o.Sigma)
	}
	if o.MaxDet == 0 {
		o.MaxDet = d.MaxDet
	}
	if o.MaxDet < 0 {
		return o, fmt.Errorf("%w: MaxDet %d: want a positive number", ErrOptions, o.MaxDet)
	}
	if o.ImgSize < 0 {
		return o, fmt.Errorf("%w: ImgSize %d: want a positive size", ErrOptions, o.ImgSize)
	}
	if o.NMS < 0 || int(o.NMS) >= len(nmsNames) {
		return o, fmt.Errorf("%w: %v", ErrOptions, o.NMS)
	}
	for _, c := range o.Classes {
		if c < 0 || c >= classes {
			return o, fmt.Errorf("%w: class %d: the model has classes 0 to %d", ErrOptions, c, classes-1)
		}
	}
	return o, nil
}

// Detector is a YOLO network with its labels, ready to find objects.
//
// Detect is safe for concurrent use; Load is not safe to run
// concurrently with Detect.
type Detector struct {
	name    string
	cfg     *darknet.Config
	labels  []string
	classes int
	size    [2]int // default network input width, height
	stretch bool   // a detection layer (YOLOv1): resize, not letterbox
	weights Weights

	base *darknet.Net // at size; holds the weights

	// The fresh weights New promises are drawn on first use (fresh), not
	// when the network is built: drawing YOLOv3's 62 million takes about
	// a second, for nothing when Load follows.
	seed     uint64
	drawOnce sync.Once

	mu   sync.Mutex
	nets map[[2]int]*darknet.Net // other input sizes, sharing base's weights (darknet.Net.Resize)
}

// maxNets bounds the other input sizes a Detector keeps networks for.
const maxNets = 4

// New builds the named model of the zoo (Names lists them: "yolov3",
// "yolov2-tiny", "yolo9000", …) from the darknet cfg the package embeds,
// with fresh weights drawn as darknet draws them, from a fixed seed — on
// first use, so that a Load that follows (a weights file) does not pay for
// drawing them. Load a weights file with Load. An unknown name is an error wrapping
// ErrUnknownModel that lists the close matches.
func New(name string) (*Detector, error) {
	s, ok := registry[name]
	if !ok {
		return nil, unknownModel(name)
	}
	cfg, err := embeddedConfig(s.cfg)
	if err != nil {
		return nil, err
	}
	return build(name, cfg, cfgFS, s.labels.Names(), s.size, s.weights)
}

// FromCfg builds a detector from a darknet cfg file on disk, with fresh
// weights, at the cfg's input size: any network whose outputs are yolo,
// region or detection layers. labels names its classes; with nil, the
// label set LabelsFor gives for its class count (COCO, VOC, 9k), or
// "class <i>".
//
// A file the cfg names (a WordTree, tree=) is looked for as darknet looks
// for it: an absolute name as is, a relative one in the cfg's folder, its
// parent (darknet's cfg/ beside data/) and the working directory; failing
// those, the package's own copy of a file of that base name is used
// (9k.tree), so that Debian's yolo9000.cfg, which names
// /usr/share/darknet/data/9k.tree, also builds where darknet is not
// installed.
func FromCfg(cfgPath string, labels []string) (*Detector, error) {
	cfg, err := darknet.ParseFile(cfgPath)
	if err != nil {
		return nil, err
	}
	name := strings.TrimSuffix(filepath.Base(cfgPath), filepath.Ext(cfgPath))
	return build(name, cfg, cfgFileFS{dir: filepath.Dir(cfgPath)}, labels, 0, Weights{File: name + ".weights"})
}

// cfgFileFS opens the files a cfg on disk names, for darknet.WithFS: see
// FromCfg. Names are file paths, not fs.ValidPath ones.
type cfgFileFS struct{ dir string }

func (f cfgFileFS) Open(name string) (fs.File, error) {
	cands := []string{name}
	if !filepath.IsAbs(name) {
		cands = []string{filepath.Join(f.dir, name), filepath.Join(f.dir, "..", name), name}
	}
	for _, c := range cands {
		file, err := os.Open(c)
		if err == nil {
			return file, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if file, err := cfgFS.Open(path.Base(filepath.ToSlash(name))); err == nil {
		return file, nil
	}
	return nil, &fs.PathError{Op: "open", Path: strings.Join(cands, ", "), Err: fs.ErrNotExist}
}

func build(name string, cfg *darknet.Config, fsys fs.FS, labels []string, size int, w Weights) (*Detector, error) {
	opts := []darknet.Option{darknet.WithSeed(seedOf(name))}
	if fsys != nil {
		opts = append(opts, darknet.WithFS(fsys))
	}
	if size > 0 {
		opts = append(opts, darknet.WithSize(size, size))
	}
	net, err := darknet.Build(cfg, append(opts, darknet.WithoutInit())...)
	if err != nil {
		return nil, err
	}
	d := &Detector{name: name, cfg: cfg, base: net, size: [2]int{net.Width, net.Height},
		weights: w, nets: map[[2]int]*darknet.Net{}, seed: seedOf(name)}
	if net.Channels != 3 {
		return nil, fmt.Errorf("detect: %s: the network takes %d channels; a detector takes RGB images (3)", cfg.File, net.Channels)
	}
	d.classes = -1
	for _, i := range net.Outputs() {
		var c int
		switch l := cfg.Layers[i].(type) {
		case *darknet.Yolo:
			c = l.Classes
			for _, a := range l.Mask {
				if a < 0 || 2*a+1 >= len(l.Anchors) {
					return nil, fmt.Errorf("detect: %s:%d: [yolo] mask %d: only %d anchors", cfg.File, l.Line, a, len(l.Anchors)/2)
				}
			}
		case *darknet.Region:
			c = l.Classes
			if l.Coords < 4 || len(l.Anchors) < 2*l.Num {
				return nil, fmt.Errorf("detect: %s:%d: [region] with coords=%d and %d anchor values for num=%d: want coords ≥ 4 and 2·num anchor values",
					cfg.File, l.Line, l.Coords, len(l.Anchors), l.Num)
			}
		case *darknet.Detection:
			c = l.Classes
			d.stretch = true
			if l.Coords != 4 {
				return nil, fmt.Errorf("detect: %s:%d: [detection] with coords=%d: want 4", cfg.File, l.Line, l.Coords)
			}
		default:
			return nil, fmt.Errorf("detect: %s: the network's output is a %s layer (line %d), not yolo, region or detection: not a detector",
				cfg.File, l.Info().Kind, l.Info().Line)
		}
		if d.classes >= 0 && c != d.classes {
			return nil, fmt.Errorf("detect: %s: output layers with %d and %d classes", cfg.File, d.classes, c)
		}
		d.classes = c
	}
	if labels == nil {
		labels = LabelsFor(d.classes).Names()
	}
	d.labels = labels
	return d, nil
}

// seedOf gives each model its own stream of fresh weights.
func seedOf(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

// Name returns the model's name (a cfg file's base name for FromCfg).
func (d *Detector) Name() string { return d.name }

// Labels returns the class names by index; the slice is shared.
func (d *Detector) Labels() []string { return d.labels }

// Classes returns the number of classes the network predicts.
func (d *Detector) Classes() int { return d.classes }

// Size returns the default network input size, width and height in
// pixels.
func (d *Detector) Size() (w, h int) { return d.size[0], d.size[1] }

// Weights returns the record of the model's published weights (for
// FromCfg, only the file name).
func (d *Detector) Weights() Weights { return d.weights }

// Net returns the darknet network at the default input size, whose
// tensors are the detector's weights.
func (d *Detector) Net() *darknet.Net {
	d.fresh()
	return d.base
}

// fresh draws the fresh weights if nothing has set them yet.
func (d *Detector) fresh() {
	d.drawOnce.Do(func() { d.base.Init(d.seed) })
}

// Load reads a darknet .weights file into the detector (see
// darknet.Net.LoadWeightsFile: a file whose length does not fit the
// network is an error that says so, and leaves the weights unchanged).
// It must not run concurrently with Detect.
func (d *Detector) Load(path string) error {
	if err := d.base.LoadWeightsFile(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, os.ErrPermission) {
			return fmt.Errorf("detect: %s weights: %w", d.name, err)
		}
		return fmt.Errorf("detect: %s weights %s: %w", d.name, path, err)
	}
	// The networks at other sizes share base's tensors: they have the
	// new weights too. New's fresh ones are not needed any more.
	d.drawOnce.Do(func() {})
	return nil
}

// net returns the network for a side×side input (0: the default size),
// made on first use by resizing the base network, whose weights it
// shares.
func (d *Detector) net(side int) (*darknet.Net, error) {
	d.fresh()
	key := d.size
	if side > 0 {
		key = [2]int{side, side}
	}
	if key == d.size {
		return d.base, nil
	}
	if d.stretch {
		return nil, fmt.Errorf("%w: ImgSize %d: %s takes only %dx%d inputs (its fully connected layers fix the size)",
			ErrOptions, side, d.name, d.size[0], d.size[1])
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if n, ok := d.nets[key]; ok {
		return n, nil
	}
	n, err := d.base.Resize(key[0], key[1])
	if err != nil {
		return nil, fmt.Errorf("%w: ImgSize %d: %v", ErrOptions, side, err)
	}
	if len(d.nets) >= maxNets {
		for k := range d.nets {
			delete(d.nets, k)
			break
		}
	}
	d.nets[key] = n
	return n, nil
}

// Detect finds the objects in img, as darknet's `detector test` does
// (src/detector.c: test_detector): the image is letterboxed into the
// network's input (imageio.Letterbox, darknet's letterbox_image bit for
// bit; YOLOv1: stretched, see yolov1.go), the network run, the boxes of
// its yolo or region layers decoded (get_network_boxes with opts.Conf and
// opts.HierThresh) and mapped back to img's pixels (correct_yolo_boxes),
// then suppressed (do_nms_sort at opts.IoU, or opts.NMS's kind) and
// reported for each class whose probability is above opts.Conf. The
// result is sorted by decreasing score, at most opts.MaxDet long. Boxes
// that are not finite (a broken network's) are dropped.
//
// Detect is safe for concurrent use.
func (d *Detector) Detect(img image.Image, opts Options) ([]Detection, error) {
	o, err := opts.resolve(d.classes)
	if err != nil {
		return nil, err
	}
	if img == nil || img.Bounds().Empty() {
		return nil, fmt.Errorf("detect: %s: empty image", d.name)
	}
	net, err := d.net(o.ImgSize)
	if err != nil {
		return nil, err
	}
	cs, err := d.candidates(net, img, o)
	if err != nil {
		return nil, err
	}
	return d.suppress(cs, o), nil
}

// candidates runs the network on img and returns the boxes its output
// layers propose, in pixels of img.
func (d *Detector) candidates(net *darknet.Net, img image.Image, o Options) ([]Candidate, error) {
	b := img.Bounds()
	var x *tensor.Tensor
	var lb imageio.LetterboxInfo
	if d.stretch {
		x = stretch(img, net.Width, net.Height)
	} else {
		x, lb = imageio.Letterbox(img, net.Width, net.Height)
	}
	outs, err := net.Forward(x)
	if err != nil {
		return nil, fmt.Errorf("detect: %s: %w", d.name, err)
	}
	defer func() {
		for _, t := range outs {
			t.Release()
		}
	}()
	var cs []Candidate
	for k, i := range net.Outputs() {
		s := net.Shape(i)
		data := outs[k].Data()
		// The layouts the decoders read (see darknet.Net.Forward); the
		// first image of the batch.
		var want int
		switch l := d.cfg.Layers[i].(type) {
		case *darknet.Yolo:
			want = len(l.Mask) * (5 + l.Classes) * s[1] * s[2]
		case *darknet.Region:
			want = l.Num * (l.Coords + 1 + l.Classes) * s[1] * s[2]
		case *darknet.Detection:
			want = l.Side * l.Side * ((1+l.Coords)*l.Num + l.Classes)
		}
		if len(data) < want || s[0]*s[1]*s[2] != want {
			return nil, fmt.Errorf("detect: %s: layer %d's output is %v, its decoder reads %d values", d.name, i, s, want)
		}
		switch l := d.cfg.Layers[i].(type) {
		case *darknet.Yolo:
			cs = decodeYolo(cs, data, l, s[1], s[2], net.Width, net.Height, o.Conf)
		case *darknet.Region:
			cs = decodeRegion(cs, data, l, net.Tree(i), s[1], s[2], o.Conf, o.HierThresh)
		case *darknet.Detection:
			cs = decodeDetection(cs, data, l, o.Conf)
		}
	}
	if d.stretch {
		unstretch(cs, b.Dx(), b.Dy())
	} else {
		unletterbox(cs, lb)
	}
	return cs, nil
}

// finite reports whether b's numbers are all finite: a network whose
// weights make its outputs overflow gives infinite boxes, which Detect
// drops (darknet would report them).
func finite(b imageio.Box) bool {
	for _, v := range [4]float32{b.X, b.Y, b.W, b.H} {
		if math.IsInf(float64(v), 0) || math.IsNaN(float64(v)) {
			return false
		}
	}
	return true
}

// suppress applies o's NMS to the candidates and returns the detections,
// filtered by class, sorted by decreasing score, at most o.MaxDet.
func (d *Detector) suppress(cs []Candidate, o Options) []Detection {
	if o.NMS == NMSDarknet {
		cs = NMSSort(cs, o.IoU)
	}
	var dets []Detection
	for _, c := range cs {
		if c.Objectness == 0 || !finite(c.Box) {
			continue
		}
		for j, p := range c.Prob {
			// draw_detections' test: prob > thresh.
			if p > o.Conf && (len(o.Classes) == 0 || slices.Contains(o.Classes, j)) {
				dets = append(dets, Detection{Class: j, Label: labelOf(d.labels, j), Score: p, Box: corners(c.Box)})
			}
		}
	}
	switch o.NMS {
	case NMSGreedy:
		dets = NMS(dets, o.IoU)
	case NMSSoftLinear:
		dets = SoftNMSLinear(dets, o.IoU, o.Conf)
	case NMSSoftGaussian:
		dets = SoftNMSGaussian(dets, o.Sigma, o.Conf)
	}
	slices.SortStableFunc(dets, byScore)
	if len(dets) > o.MaxDet {
		dets = dets[:o.MaxDet]
	}
	return dets
}
