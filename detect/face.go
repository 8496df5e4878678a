package detect

import (
	"embed"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"maps"
	"math"
	"slices"

	"govision.dev/accel"
	"govision.dev/vision/imageio"
	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
	"govision.dev/vision/weights"
)

// The face detectors of face-api (github.com/vladmandic/face-api, MIT
// licence, a maintained fork of justadudewhohacks/face-api.js), run as
// face-api runs them on a tensor input, with the weights it publishes
// converted to safetensors with our parameter names by
// tools/faceapi/convert.sh (ConvertFaceAPI) and embedded here (models/,
// with face-api's licence text), so that they work with no download. The
// conversion keeps face-api's uint8 quantization: each tensor is stored as
// its U8 codes with its min and scale in the file's metadata
// (weights.SaveQuantized), dequantized on load to exactly the float32
// values face-api's own files give, at a quarter of the float32 size
// (193 KB and 5.5 MB).

// faceModelFiles holds the converted weights and face-api's licence.
//
//go:embed models
var faceModelFiles embed.FS

// faceLabels is the face detectors' one class.
var faceLabels = []string{"face"}

// faceSpec is a row of the face zoo (registry.go: faceRegistry).
type faceSpec struct {
	name  string
	paper string
	// size is the default side of the square input, and min, max and step
	// the sizes allowed (face-api's inputSize: a multiple of 32). When min
	// and max are equal, fixedSize says why.
	size, minSize, maxSize, step int
	fixedSize                    string
	// conf and iou are face-api's default score threshold and NMS IoU.
	conf, iou float32
	// file is the embedded safetensors file, in models/; tfjs the name
	// face-api's manifest goes by.
	file, tfjs string
	build      func() faceNet
}

// faceNet is a face network: its layers (nn tags give our parameter
// names), how to run it, and how face-api's tensors map to ours.
type faceNet interface {
	nn.Module
	// boxes runs the network on x, face-api's input for a w×h image
	// padded and resized to side×side, and returns the candidates scoring
	// above conf, boxes in pixels of the image.
	boxes(x *tensor.Tensor, w, h, side int, conf float32) ([]Detection, error)
	// tfjsName says where face-api's tensor k goes: our parameter name and
	// how its layout changes (tfjsDrop, and no name, for the graph's
	// constants the network does not use).
	tfjsName(k string) (name string, layout tfjsLayout, err error)
	// macs counts the multiply-accumulates of the convolutions on a
	// side×side input.
	macs(side int) int64
}

// tfjsLayout is how one of face-api's tensors becomes one of ours.
type tfjsLayout int

const (
	tfjsDrop      tfjsLayout = iota // a graph constant the network does not use
	tfjsAsIs                        // a bias or a batch norm's vector
	tfjsConv                        // a conv2d filter: [KH, KW, In, Out] to [Out, In, KH, KW]
	tfjsDepthwise                   // a depthwise filter: [KH, KW, C, M] to [C·M, 1, KH, KW]
)

// fromTFJS renames and transposes face-api's tensors (TensorFlow layouts,
// as weights.LoadTFJS reads them) into a state dict of net.
func fromTFJS(net faceNet, ts map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	sd := map[string]*tensor.Tensor{}
	from := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(ts)) {
		name, layout, err := net.tfjsName(k)
		if err != nil {
			return nil, err
		}
		if layout == tfjsDrop {
			continue
		}
		if prev, dup := from[name]; dup {
			return nil, fmt.Errorf("tensors %q and %q both give %s", prev, k, name)
		}
		from[name] = k
		switch t := ts[k]; layout {
		case tfjsConv:
			sd[name], err = hwioToOIHW(k, t)
		case tfjsDepthwise:
			sd[name], err = depthwiseToOIHW(k, t)
		default:
			sd[name] = t
		}
		if err != nil {
			return nil, err
		}
	}
	return sd, nil
}

// FaceDetector is one of face-api's face detectors. Detect is safe for
// concurrent use; Load is not safe to run concurrently with Detect.
type FaceDetector struct {
	spec faceSpec
	net  faceNet
}

// IsFace reports whether name is one of the face detectors (FaceNames).
func IsFace(name string) bool {
	_, ok := faceRegistry[name]
	return ok
}

// FaceNames returns the names of the face detectors, sorted: "face"
// (face-api's Tiny Face Detector), "face-ssd" (its SSD-MobileNetV1).
func FaceNames() []string {
	names := make([]string, 0, len(faceRegistry))
	for n := range faceRegistry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// NewFace builds the named face detector with zero weights: Load reads a
// weights file, LoadEmbedded the converted face-api weights the package
// embeds (PretrainedFace does both steps). An unknown name is an error
// wrapping ErrUnknownModel.
func NewFace(name string) (*FaceDetector, error) {
	s, ok := faceRegistry[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (the face detectors are %v)", ErrUnknownModel, name, FaceNames())
	}
	return &FaceDetector{spec: s, net: s.build()}, nil
}

// FaceInfo describes a face detector.
type FaceInfo struct {
	Name  string
	Paper string // the papers and sections the architecture follows
	// Size is the default side of the square input, in pixels; MinSize,
	// MaxSize and Step bound Options.ImgSize (face-ssd: 512 only).
	Size, MinSize, MaxSize, Step int
	Conf, IoU                    float32 // face-api's score threshold and NMS IoU
	Params                       int     // learned parameters (nn.NumParams: not the batch norms' statistics)
	MACs                         int64   // multiply-accumulates of the convolutions at Size
	// File is the embedded weights file (safetensors, in the package's
	// models/ folder); TFJS the name of face-api's manifest it was
	// converted from.
	File, TFJS string
}

// DescribeFace returns the named face detector's FaceInfo. An unknown name
// is an error wrapping ErrUnknownModel.
func DescribeFace(name string) (FaceInfo, error) {
	s, ok := faceRegistry[name]
	if !ok {
		return FaceInfo{}, fmt.Errorf("%w %q (the face detectors are %v)", ErrUnknownModel, name, FaceNames())
	}
	net := s.build()
	return FaceInfo{Name: s.name, Paper: s.paper, Size: s.size, MinSize: s.minSize, MaxSize: s.maxSize, Step: s.step,
		Conf: s.conf, IoU: s.iou, Params: nn.NumParams(net), MACs: net.macs(s.size), File: s.file, TFJS: s.tfjs}, nil
}

// PretrainedFace builds the named face detector with face-api's weights,
// from the package's embedded copy.
func PretrainedFace(name string) (*FaceDetector, error) {
	d, err := NewFace(name)
	if err != nil {
		return nil, err
	}
	if err := d.LoadEmbedded(); err != nil {
		return nil, err
	}
	return d, nil
}

// Name returns the model's name.
func (d *FaceDetector) Name() string { return d.spec.name }

// Labels returns the class names: "face".
func (d *FaceDetector) Labels() []string { return faceLabels }

// Classes returns 1.
func (d *FaceDetector) Classes() int { return 1 }

// Size returns the default input size, width and height in pixels.
func (d *FaceDetector) Size() (w, h int) { return d.spec.size, d.spec.size }

// Module returns the network; nn.StateDict of it gives the parameters by
// our names.
func (d *FaceDetector) Module() nn.Module { return d.net }

// DefaultFaceOptions returns face-api's settings for the named detector:
// its score threshold and NMS IoU; 100 detections at most.
func DefaultFaceOptions(name string) (Options, error) {
	s, ok := faceRegistry[name]
	if !ok {
		return Options{}, fmt.Errorf("%w %q", ErrUnknownModel, name)
	}
	o := DefaultOptions()
	o.Conf, o.IoU, o.ImgSize, o.MaxDet, o.NMS = s.conf, s.iou, s.size, 100, NMSGreedy
	return o, nil
}

// LoadEmbedded loads the face-api weights the package embeds.
func (d *FaceDetector) LoadEmbedded() error {
	sd, err := weights.LoadFS(faceModelFiles, "models/"+d.spec.file)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("detect: %s: the embedded weights models/%s are missing: run tools/faceapi/convert.sh", d.spec.name, d.spec.file)
	}
	if err != nil {
		return fmt.Errorf("detect: %s: %w", d.spec.name, err)
	}
	return d.adopt(sd)
}

// Load reads a weights file into the detector: our safetensors (as
// tools/faceapi/convert.sh writes them, our parameter names) or face-api's
// own TensorFlow.js manifest (e.g. tiny_face_detector_model-weights_manifest.json
// with its .bin beside it), told by the content. A file that does not fit
// the network is an error naming the tensors, and changes nothing.
func (d *FaceDetector) Load(path string) error {
	sd, err := weights.Load(path)
	if err != nil {
		return fmt.Errorf("detect: %s: %w", d.spec.name, err)
	}
	return d.adopt(sd)
}

// ConvertFaceAPI converts face-api's published weights for the named face
// detector — its TensorFlow.js manifest (FaceInfo.TFJS, with its shards
// beside it) — to the file the package embeds, written to out
// (tools/faceapi/convert.sh runs it): safetensors with our parameter names
// and layouts, each of face-api's uint8-quantized tensors stored as its
// codes (dtype U8, transposed as the tensor is) with its min and scale in
// the metadata (weights.SaveQuantized). Loading the file gives exactly the
// float32 values the manifest gives. The file holds face-api's tensors
// only: not the graph's constants the network does not use (the SSD's
// anchors, which ssdAnchors generates), nor the batch norms'
// num_batches_tracked, which face-api has not either. The same manifest
// always gives the same bytes.
func ConvertFaceAPI(name, manifest, out string) error {
	d, err := NewFace(name)
	if err != nil {
		return err
	}
	ts, err := weights.LoadTFJS(manifest)
	if err != nil {
		return fmt.Errorf("detect: %s: %w", name, err)
	}
	quant, err := weights.TFJSQuantization(manifest)
	if err != nil {
		return fmt.Errorf("detect: %s: %w", name, err)
	}
	sd, err := fromTFJS(d.net, ts)
	if err != nil {
		return fmt.Errorf("detect: %s: face-api weights: %w", name, err)
	}
	if err := nn.AdoptStateDict(d.net, sd); err != nil { // they fit the network
		return fmt.Errorf("detect: %s: %w", name, err)
	}
	// The quantization goes with the tensor under its new name: renaming
	// and transposing move the values, not change them.
	q := map[string]weights.Quantization{}
	for k, v := range quant {
		if ours, layout, err := d.net.tfjsName(k); err == nil && layout != tfjsDrop {
			q[ours] = v
		}
	}
	if err := weights.SaveQuantized(out, sd, q); err != nil {
		return fmt.Errorf("detect: %s: %w", name, err)
	}
	return nil
}

// adopt loads sd, converting face-api's names and layouts when sd is a
// tfjs file's.
func (d *FaceDetector) adopt(sd map[string]*tensor.Tensor) error {
	if isTFJSNames(sd) {
		var err error
		if sd, err = fromTFJS(d.net, sd); err != nil {
			return fmt.Errorf("detect: %s: face-api weights: %w", d.spec.name, err)
		}
	}
	if err := nn.AdoptStateDict(d.net, sd); err != nil {
		return fmt.Errorf("detect: %s: %w", d.spec.name, err)
	}
	return nil
}

// isTFJSNames reports whether sd's names are TensorFlow's (conv0/filters),
// not ours (conv0.weight).
func isTFJSNames(sd map[string]*tensor.Tensor) bool {
	for k := range sd {
		for _, c := range k {
			if c == '/' {
				return true
			}
		}
	}
	return false
}

// Resolve returns the options Detect runs with: o with its zero fields
// set to face-api's defaults (DefaultFaceOptions), checked. An option out
// of range, an ImgSize the detector does not take among them, is an error
// wrapping ErrOptions: a caller can check its options once, before a
// batch of images.
func (d *FaceDetector) Resolve(o Options) (Options, error) {
	if o.Conf == 0 {
		o.Conf = d.spec.conf
	}
	if o.IoU == 0 {
		o.IoU = d.spec.iou
	}
	if o.MaxDet == 0 {
		o.MaxDet = 100
	}
	o, err := o.resolve(1)
	if err != nil {
		return o, err
	}
	if o.ImgSize == 0 {
		o.ImgSize = d.spec.size
	}
	s := d.spec
	if s.minSize == s.maxSize && o.ImgSize != s.size {
		return o, fmt.Errorf("%w: ImgSize %d: %s runs at %d only (%s)", ErrOptions, o.ImgSize, s.name, s.size, s.fixedSize)
	}
	if o.ImgSize < s.minSize || o.ImgSize > s.maxSize || (o.ImgSize-s.minSize)%s.step != 0 {
		return o, fmt.Errorf("%w: ImgSize %d: %s takes %d to %d in steps of %d", ErrOptions, o.ImgSize, s.name, s.minSize, s.maxSize, s.step)
	}
	return o, nil
}

// Detect finds the faces in img as face-api does (detectAllFaces with the
// model's options): the image is padded with black to a square on its
// right or bottom and resized to opts.ImgSize (TensorFlow's bilinear
// resize), the network run, boxes scoring above opts.Conf kept (default:
// face-api's, DefaultFaceOptions) and suppressed with greedy NMS at
// opts.IoU (face-api's nonMaxSuppression; the Soft-NMS kinds also work,
// and NMSDarknet means greedy here). Boxes are x1, y1, x2, y2 in pixels of
// img, not clipped, sorted by decreasing score, at most opts.MaxDet.
//
// Detect is safe for concurrent use.
func (d *FaceDetector) Detect(img image.Image, opts Options) ([]Detection, error) {
	o, err := d.Resolve(opts)
	if err != nil {
		return nil, err
	}
	if img == nil || img.Bounds().Empty() {
		return nil, fmt.Errorf("detect: %s: empty image", d.spec.name)
	}
	b := img.Bounds()
	x := faceInput(img, o.ImgSize)
	defer x.Release()
	dets, err := d.net.boxes(x, b.Dx(), b.Dy(), o.ImgSize, o.Conf)
	if err != nil {
		return nil, fmt.Errorf("detect: %s: %w", d.spec.name, err)
	}
	dets = slices.DeleteFunc(dets, func(x Detection) bool {
		for _, v := range x.Box {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return true
			}
		}
		return false
	})
	switch o.NMS {
	case NMSSoftLinear:
		dets = SoftNMSLinear(dets, o.IoU, o.Conf)
	case NMSSoftGaussian:
		dets = SoftNMSGaussian(dets, o.Sigma, o.Conf)
	default:
		dets = NMS(dets, o.IoU)
	}
	slices.SortStableFunc(dets, byScore)
	if len(dets) > o.MaxDet {
		dets = dets[:o.MaxDet]
	}
	return dets, nil
}

// faceInput is face-api's NetInput.toBatchTensor(side, false) for an
// image tensor: img's 0–255 RGB values, padded with zeros on the right
// (a tall image) or the bottom (a wide one) to a square, resized to
// side×side with tf.image.resizeBilinear (alignCorners and
// halfPixelCenters false: source = dst·(square/side), clamped, lerped in
// float64 and stored as float32, as tfjs's cpu backend computes it). The
// result is [1, 3, side, side], values 0–255 (not normalised).
func faceInput(img image.Image, side int) *tensor.Tensor {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	sq := max(w, h)
	ratio := float64(sq) / float64(side)
	type tap struct {
		lo, hi int
		frac   float64
	}
	taps := make([]tap, side)
	for i := range side {
		f := ratio * float64(i)
		lo := max(0, int(math.Floor(f)))
		taps[i] = tap{lo, min(sq-1, int(math.Ceil(f))), f - float64(lo)}
	}
	// Each source row a lerp reads, resized horizontally as it is decoded
	// (the same float64 operations as resizeBilinear's top and bottom
	// lerps), channel by channel: hrows[y][c·side + col]. Rows and columns
	// past the image are the zero padding.
	need := make([]bool, sq)
	for _, t := range taps {
		need[t.lo], need[t.hi] = true, true
	}
	hrows := make([][]float64, sq)
	zero := make([]float64, 3*side)
	for y := h; y < sq; y++ {
		hrows[y] = zero
	}
	imageio.RGBRows(img, func(y int, rgb []uint8) {
		if !need[y] {
			return
		}
		r := make([]float64, 3*side)
		for c := range 3 {
			rc := r[c*side : (c+1)*side]
			for col, tx := range taps {
				var l, rr float64
				if tx.lo < w {
					l = float64(rgb[3*tx.lo+c])
				}
				if tx.hi < w {
					rr = float64(rgb[3*tx.hi+c])
				}
				rc[col] = l + (rr-l)*tx.frac
			}
		}
		hrows[y] = r
	})
	out := tensor.Get(1, 3, side, side)
	o := out.Data()
	for c := range 3 {
		for r, ty := range taps {
			top := hrows[ty.lo][c*side : (c+1)*side]
			bot := hrows[ty.hi][c*side : (c+1)*side]
			dst := o[(c*side+r)*side : (c*side+r+1)*side]
			for col := range dst {
				dst[col] = float32(top[col] + (bot[col]-top[col])*ty.frac)
			}
		}
	}
	return out
}

// convMACs counts c's multiply-accumulates on an h×w input and returns
// its output size: ⌈h/stride⌉ with TensorFlow's SAME padding (same), else
// ⌊(h + 2·pad − k)/stride⌋ + 1.
func convMACs(c *nn.Conv2d, h, w int, same bool) (macs int64, oh, ow int) {
	if same {
		oh, ow = (h+c.StrideH-1)/c.StrideH, (w+c.StrideW-1)/c.StrideW
	} else {
		oh, ow = (h+2*c.PadH-c.KH)/c.StrideH+1, (w+2*c.PadW-c.KW)/c.StrideW+1
	}
	return int64(oh*ow) * int64(c.OutC) * int64(c.InC/c.Groups*c.KH*c.KW), oh, ow
}

// maxPoolSame is tf.maxPool(x, [2, 2], [stride, stride], 'same') on NCHW:
// output side ⌈n/stride⌉, windows that reach past the input's right or
// bottom edge taking the maximum of what they cover. At stride 2 these are
// darknet's 2×2 windows with its default padding, which accel.MaxPool2x2
// runs in AVX-512 (a third of the Tiny Face Detector's time as the Go loop
// below); the one difference, a NaN, which never wins there and always
// wins here, does not arise from finite inputs.
func maxPoolSame(x *tensor.Tensor, stride int) *tensor.Tensor {
	s := x.Shape()
	n, c, h, w := s[0], s[1], s[2], s[3]
	oh, ow := (h+stride-1)/stride, (w+stride-1)/stride
	// TensorFlow's SAME padding puts the odd pixel after: top and left pad
	// ⌊(total)/2⌋, which is 0 for a 2×2 window.
	y := tensor.Get(n, c, oh, ow)
	src, dst := x.Data(), y.Data()
	if stride == 2 {
		accel.MaxPool2x2(dst, src, n, c, h, w, oh, ow)
		return y
	}
	for p := range n * c {
		in, out := src[p*h*w:(p+1)*h*w], dst[p*oh*ow:(p+1)*oh*ow]
		for i := range oh {
			r0, r1 := i*stride, min(i*stride+1, h-1)
			a, b, o := in[r0*w:(r0+1)*w], in[r1*w:(r1+1)*w], out[i*ow:(i+1)*ow]
			j := 0
			// Windows wholly inside the row; then the last, cut short.
			for ; j*stride+1 < w && j < ow; j++ {
				c := j * stride
				o[j] = max(a[c], a[c+1], b[c], b[c+1])
			}
			for ; j < ow; j++ {
				c := j * stride
				o[j] = max(a[c], b[c])
			}
		}
	}
	return y
}

// sigmoid is face-api's 1/(1+e^−x), in float64.
func sigmoid(x float32) float64 { return 1 / (1 + math.Exp(-float64(x))) }
