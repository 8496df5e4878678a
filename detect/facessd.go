package detect

// face-api's SSD-MobileNetV1 face detector (src/ssdMobilenetv1:
// SsdMobilenetv1.ts, mobileNetV1.ts, predictionLayer.ts, outputLayer.ts),
// a TensorFlow object detection API SSD (Liu et al. 2016, "SSD: Single
// Shot MultiBox Detector", §2.1–2.2) on a MobileNetV1 of width 1 (Howard
// et al. 2017; classify.MobileNetV1 with its batch norms folded), at input
// 512, one class:
//
//	backbone      MobileNetV1, TF "SAME" padding, ReLU6; layer 11 (32², 512) and 13 (16², 1024)
//	extra 0–7     1×1 conv → 3×3 conv stride 2, four times, ReLU6: 8², 4², 2², 1²
//	box_predictor 1×1 convs on conv11, conv13, extra 1, 3, 5, 7: per anchor 4 box
//	              offsets and 3 class logits (face-api scores σ of the second)
//
// 32²·3 + (16² + 8² + 4² + 2² + 1²)·6 = 5118 default boxes (ssdAnchors),
// decoded with variances 0.1 (centre) and 0.2 (size). Input: RGB 0–255
// over 127.5, minus 1. Parameter names: backbone.conv0.weight, …
// (classify.MobileNetV1's), extra.0.weight, extra.0.bias, …,
// box_predictor.0.box.weight, box_predictor.0.class.bias, ….

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"govision.dev/classify"
	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

var ssdFaceModels = []faceSpec{{
	name:  "face-ssd",
	paper: "face-api's SSD-MobileNetV1: SSD (Liu et al. 2016, §2) on MobileNetV1 (Howard et al. 2017, Table 1)",
	// SsdMobilenetv1.forwardInput resizes every input to 512
	// (toBatchTensor(512): SsdMobilenetv1Options has no inputSize), and
	// its 5118 anchors are the 512 network's.
	size: 512, minSize: 512, maxSize: 512, step: 32,
	fixedSize: "face-api's SsdMobilenetv1 resizes every image to 512, and its anchors are for 512",

	conf: 0.5, iou: 0.5, // SsdMobilenetv1Options' minConfidence; locateFaces' iouThreshold
	// Converted with face-api's uint8 quantization kept: 5.5 MB, not the
	// 22 MB of float32.
	file: "ssd_mobilenetv1.safetensors", tfjs: "ssd_mobilenetv1_model-weights_manifest.json",
	build: newSSDFaceNet,
}}

// ssdFeatureLayers are the backbone layers the first two box predictors
// read (mobileNetV1.ts returns conv11 and the last, conv13).
var ssdFeatureLayers = []int{11, 13}

// ssdExtra are predictionLayer.ts' conv_0 … conv_7: kernel, stride and
// output channels; the box predictors 2–5 read the stride-2 ones.
var ssdExtra = [8]struct{ k, stride, out int }{
	{1, 1, 256}, {3, 2, 512}, {1, 1, 128}, {3, 2, 256},
	{1, 1, 128}, {3, 2, 256}, {1, 1, 64}, {3, 2, 128},
}

// ssdPredictorInputs are the channels of the six feature maps, and
// ssdAnchorsPer the default boxes per cell of each (the lowest layer has
// three, §2.2's reduced set).
var (
	ssdPredictorInputs = [6]int{512, 1024, 512, 256, 256, 128}
	ssdAnchorsPer      = [6]int{3, 6, 6, 6, 6, 6}
)

// ssdVariance is the box coder's scaling (outputLayer.ts: offsets over
// 10, log sizes over 5).
const ssdCentreVariance, ssdSizeVariance = 0.1, 0.2

// ssdPredictor is a box predictor: offsets and class logits per anchor.
type ssdPredictor struct {
	Box   *nn.Conv2d `nn:"box"`
	Class *nn.Conv2d `nn:"class"`
}

// Forward returns the box offsets [N, 4·anchors, H, W]; predict reads
// Class too.
func (p *ssdPredictor) Forward(x *tensor.Tensor) (*tensor.Tensor, error) { return p.Box.Forward(x) }

// ssdFaceNet is the network; fields are our parameter names.
type ssdFaceNet struct {
	Backbone   *classify.MobileNetV1 `nn:"backbone"`
	Extra      [8]*nn.Conv2d         `nn:"extra"`
	Predictors [6]*ssdPredictor      `nn:"box_predictor"`
	// anchors are the 5118 default boxes, ymin, xmin, ymax, xmax as
	// fractions of the square input (ssdAnchors(512)).
	anchors [][4]float32
}

func newSSDFaceNet() faceNet {
	n := &ssdFaceNet{Backbone: classify.NewMobileNetV1(classify.MobileNetV1Config{Width: 1, Folded: true}),
		anchors: ssdAnchors(512)}
	in := 1024
	for i, e := range ssdExtra {
		n.Extra[i] = &nn.Conv2d{InC: in, OutC: e.out, KH: e.k, KW: e.k, StrideH: e.stride, StrideW: e.stride,
			DilationH: 1, DilationW: 1, Groups: 1, Weight: tensor.New(e.out, in, e.k, e.k), Bias: tensor.New(e.out)}
		in = e.out
	}
	for i, c := range ssdPredictorInputs {
		n.Predictors[i] = &ssdPredictor{Box: pointwise(c, 4*ssdAnchorsPer[i]), Class: pointwise(c, 3*ssdAnchorsPer[i])}
	}
	return n
}

// ssdScales are §2.2's scales, s_k = s_min + (s_max − s_min)(k − 1)/(m − 1)
// for the m = 6 maps, s_min 0.2, s_max 0.95 (the TensorFlow config's
// ssd_anchor_generator), and 1 past the last for the interpolated box.
func ssdScales() [7]float64 {
	var s [7]float64
	for k := range 6 {
		s[k] = 0.2 + (0.95-0.2)*float64(k)/5
	}
	s[6] = 1
	return s
}

// ssdAnchors generates the default boxes for a side×side input (§2.2,
// "Choosing scales and aspect ratios for default boxes"), in the order of
// the predictions: map by map, row by row, column by column, box by box.
// Each box is centred on its cell ((j + 0.5)/|f_k|, (i + 0.5)/|f_k|),
// of width s_k·√a_r and height s_k/√a_r for a_r in {1, 2, 1/2, 3, 1/3}
// (0.3333 in the config), with the extra box of scale √(s_k·s_{k+1}) and
// ratio 1 after the first; the lowest map has three boxes only, (0.1, 1),
// (s_1, 2) and (s_1, 1/2) (TensorFlow's reduce_boxes_in_lowest_layer).
// Boxes are ymin, xmin, ymax, xmax, unclipped, computed in float64 and
// stored as float32.
func ssdAnchors(side int) [][4]float32 {
	s := ssdScales()
	var out [][4]float32
	f := side / 16 // the first map: the backbone's conv11, stride 16
	for k := range 6 {
		type box struct{ scale, ratio float64 }
		var boxes []box
		if k == 0 {
			boxes = []box{{0.1, 1}, {s[0], 2}, {s[0], 0.5}}
		} else {
			boxes = []box{{s[k], 1}, {math.Sqrt(s[k] * s[k+1]), 1}, {s[k], 2}, {s[k], 0.5}, {s[k], 3}, {s[k], 0.3333}}
		}
		for i := range f {
			for j := range f {
				cy, cx := (float64(i)+0.5)/float64(f), (float64(j)+0.5)/float64(f)
				for _, b := range boxes {
					h, w := b.scale/math.Sqrt(b.ratio), b.scale*math.Sqrt(b.ratio)
					out = append(out, [4]float32{float32(cy - h/2), float32(cx - w/2), float32(cy + h/2), float32(cx + w/2)})
				}
			}
		}
		f = max(1, (f+1)/2)
	}
	return out
}

// relu6 is face-api's clipByValue(x, 0, 6).
var relu6 = nn.ReLU6{}

// Forward runs the network on a normalised [1, 3, 512, 512] input and
// returns the box offsets [5118·4] (ty, tx, th, tw per anchor) and the
// class logits [5118·3], in anchor order (ssdAnchors).
func (n *ssdFaceNet) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	box, cls, err := n.predict(x)
	if err != nil {
		return nil, err
	}
	cls.Release()
	return box, nil
}

// predict runs the backbone, the extra layers and the box predictors.
func (n *ssdFaceNet) predict(x *tensor.Tensor) (box, cls *tensor.Tensor, err error) {
	maps, err := n.Backbone.FeatureMaps(x, ssdFeatureLayers...)
	if err != nil {
		return nil, nil, err
	}
	feats := []*tensor.Tensor{maps[0], maps[1]}
	defer func() {
		for _, f := range feats {
			f.Release()
		}
	}()
	y := maps[1]
	for i, c := range n.Extra {
		z, err := nn.ConvBNActSame(y, c, nil, relu6)
		if err != nil {
			return nil, nil, err
		}
		if i%2 == 1 {
			feats = append(feats, z) // a predictor's input
		} else {
			defer z.Release()
		}
		y = z
	}
	na := 0
	for i, f := range feats {
		na += f.Dim(2) * f.Dim(3) * ssdAnchorsPer[i]
	}
	if na != len(n.anchors) {
		return nil, nil, fmt.Errorf("%w: input %v gives %d default boxes, want %d (face-ssd runs at 512)", tensor.ErrShape, x.Shape(), na, len(n.anchors))
	}
	box, cls = tensor.New(na*4), tensor.New(na*3)
	bd, cd := box.Data(), cls.Data()
	a0 := 0
	for i, f := range feats {
		p := n.Predictors[i]
		b, err := p.Box.Forward(f)
		if err != nil {
			return nil, nil, err
		}
		c, err := p.Class.Forward(f)
		if err != nil {
			b.Release()
			return nil, nil, err
		}
		// NCHW channels (anchor·4 + k) to the NHWC order face-api reshapes.
		plane, per := f.Dim(2)*f.Dim(3), ssdAnchorsPer[i]
		for q := range plane {
			for a := range per {
				for k := range 4 {
					bd[(a0+q*per+a)*4+k] = b.Data()[(a*4+k)*plane+q]
				}
				for k := range 3 {
					cd[(a0+q*per+a)*3+k] = c.Data()[(a*3+k)*plane+q]
				}
			}
		}
		a0 += plane * per
		b.Release()
		c.Release()
	}
	return box, cls, nil
}

// macs follows predict: the backbone, the extra layers, then the box
// predictors on the six feature maps; SAME padding throughout.
func (n *ssdFaceNet) macs(side int) int64 {
	total, feats := backboneMACs(n.Backbone, side)
	h, w := feats[1][0], feats[1][1]
	for i, c := range n.Extra {
		var m int64
		m, h, w = convMACs(c, h, w, true)
		total += m
		if i%2 == 1 {
			feats = append(feats, [2]int{h, w})
		}
	}
	for i, p := range n.Predictors {
		bm, _, _ := convMACs(p.Box, feats[i][0], feats[i][1], true)
		cm, _, _ := convMACs(p.Class, feats[i][0], feats[i][1], true)
		total += bm + cm
	}
	return total
}

// backboneMACs counts the MobileNetV1's multiply-accumulates on a
// side×side input and returns them with the sizes of its feature maps 11
// and 13 (ssdFeatureLayers).
func backboneMACs(b *classify.MobileNetV1, side int) (int64, [][2]int) {
	total, h, w := convMACs(b.Conv0, side, side, true)
	var feats [][2]int
	for i, l := range b.Blocks {
		var d, p int64
		d, h, w = convMACs(l.Depthwise, h, w, true)
		p, h, w = convMACs(l.Pointwise, h, w, true)
		total += d + p
		if slices.Contains(ssdFeatureLayers, i+1) {
			feats = append(feats, [2]int{h, w})
		}
	}
	return total, feats
}

func (n *ssdFaceNet) boxes(x *tensor.Tensor, w, h, side int, conf float32) ([]Detection, error) {
	boxes, scores, err := n.outputs(x)
	if err != nil {
		return nil, err
	}
	return ssdDetections(boxes, scores, w, h, side, conf), nil
}

// outputs is SsdMobilenetv1.forwardInput, what face-api's
// nets.ssdMobilenetv1.forward returns: the network run on x, face-api's
// 0–255 input [1, 3, 512, 512] (normalised in place: x/127.5 − 1, in
// float32), and outputLayer.ts's decoding of every anchor, before any
// threshold or NMS: boxes ymin, xmin, ymax, xmax as fractions of the
// square input, unclipped, and scores σ(class logit 1), in anchor order
// (ssdAnchors).
func (n *ssdFaceNet) outputs(x *tensor.Tensor) (boxes [][4]float64, scores []float64, err error) {
	s := x.Shape()
	if len(s) != 4 || s[0] != 1 || s[1] != 3 {
		return nil, nil, fmt.Errorf("%w: input %v: want [1, 3, S, S]", tensor.ErrShape, s)
	}
	for i, v := range x.Data() {
		x.Data()[i] = v/127.5 - 1
	}
	box, cls, err := n.predict(x)
	if err != nil {
		return nil, nil, err
	}
	defer box.Release()
	defer cls.Release()
	boxes, scores = ssdDecode(box.Data(), cls.Data(), n.anchors)
	return boxes, scores, nil
}

// ssdDecode is outputLayer.ts: for each anchor, the box of centre
// (a_cy + ty/10·a_h, a_cx + tx/10·a_w) and size (a_h·e^(th/5),
// a_w·e^(tw/5)), and the score σ(class logit 1); in float64.
func ssdDecode(box, cls []float32, anchors [][4]float32) (boxes [][4]float64, scores []float64) {
	boxes, scores = make([][4]float64, len(anchors)), make([]float64, len(anchors))
	for i, a := range anchors {
		t := box[4*i : 4*i+4]
		ah, aw := float64(a[2]-a[0]), float64(a[3]-a[1])
		acy, acx := float64(a[0])+ah/2, float64(a[1])+aw/2
		cy := float64(t[0])/10*ah + acy // 10 and 5: 1/ssdCentreVariance, 1/ssdSizeVariance
		cx := float64(t[1])/10*aw + acx
		hh := math.Exp(float64(t[2])/5) * ah / 2
		hw := math.Exp(float64(t[3])/5) * aw / 2
		boxes[i] = [4]float64{cy - hh, cx - hw, cy + hh, cx + hw}
		scores[i] = sigmoid(cls[3*i+1])
	}
	return boxes, scores
}

// ssdDetections is locateFaces' mapping of the boxes scoring above conf:
// clipped to [0, 1] of the square, corrected to fractions of the image by
// side/reshaped (the image's size in the square) and scaled to its w and
// h pixels.
func ssdDetections(boxes [][4]float64, scores []float64, w, h, side int, conf float32) []Detection {
	scale := float64(side) / float64(max(w, h))
	padX := float64(side) / math.Round(float64(w)*scale)
	padY := float64(side) / math.Round(float64(h)*scale)
	var dets []Detection
	for i, b := range boxes {
		score := scores[i]
		if !(score > float64(conf)) {
			continue
		}
		top, bottom := max(0, b[0])*padY, min(1, b[2])*padY
		left, right := max(0, b[1])*padX, min(1, b[3])*padX
		px, py := left*float64(w), top*float64(h)
		pw, ph := (right-left)*float64(w), (bottom-top)*float64(h)
		dets = append(dets, Detection{Class: 0, Label: faceLabels[0], Score: float32(score),
			Box: [4]float32{float32(px), float32(py), float32(px + pw), float32(py + ph)}})
	}
	return dets
}

// ssdBNNames maps face-api's BatchNorm tensor names to ours.
var ssdBNNames = map[string]string{"gamma": "weight", "beta": "bias", "moving_mean": "running_mean", "moving_variance": "running_var"}

// tfjsName maps face-api's names (the TensorFlow graph's:
// MobilenetV1/Conv2d_1_depthwise/depthwise_weights,
// MobilenetV1/Conv2d_1_depthwise/BatchNorm/gamma,
// MobilenetV1/Conv2d_1_pointwise/weights, …/convolution_bn_offset,
// Prediction/Conv2d_0_pointwise/…, Prediction/BoxPredictor_0/
// BoxEncodingPredictor/weights, …/ClassPredictor/biases) to ours. The
// graph's constants (Preprocessor/…, concat_1/axis,
// Prediction/BoxPredictor_0/stack_1/1, …) and Output/extra_dim, the
// anchors (which ssdAnchors generates; TestSSDAnchors compares them), are
// dropped.
func (n *ssdFaceNet) tfjsName(k string) (string, tfjsLayout, error) {
	bad := fmt.Errorf("tensor %q: not a face-api SSD-MobileNetV1 name", k)
	num := func(s, prefix, suffix string) (string, bool) {
		if !strings.HasPrefix(s, prefix) || !strings.HasSuffix(s, suffix) {
			return "", false
		}
		d := s[len(prefix) : len(s)-len(suffix)]
		if _, err := strconv.Atoi(d); err != nil {
			return "", false
		}
		return d, true
	}
	scope, rest, _ := strings.Cut(k, "/")
	layer, kind, _ := strings.Cut(rest, "/")
	switch scope {
	case "MobilenetV1":
		if i, ok := num(layer, "Conv2d_", "_pointwise"); ok {
			name := "backbone.conv" + i + ".pointwise"
			if i == "0" {
				name = "backbone.conv0"
			}
			switch kind {
			case "weights":
				return name + ".weight", tfjsConv, nil
			case "convolution_bn_offset":
				return name + ".bias", tfjsAsIs, nil
			}
		} else if i, ok := num(layer, "Conv2d_", "_depthwise"); ok {
			name := "backbone.conv" + i + ".depthwise"
			if kind == "depthwise_weights" {
				return name + ".weight", tfjsDepthwise, nil
			}
			if p, ok := strings.CutPrefix(kind, "BatchNorm/"); ok && ssdBNNames[p] != "" {
				return name + "_bn." + ssdBNNames[p], tfjsAsIs, nil
			}
		}
		return "", tfjsDrop, bad
	case "Prediction":
		if i, ok := num(layer, "Conv2d_", "_pointwise"); ok {
			switch kind {
			case "weights":
				return "extra." + i + ".weight", tfjsConv, nil
			case "convolution_bn_offset":
				return "extra." + i + ".bias", tfjsAsIs, nil
			}
			return "", tfjsDrop, bad
		}
		if i, ok := num(layer, "BoxPredictor_", ""); ok {
			head, param, _ := strings.Cut(kind, "/")
			name := "box_predictor." + i
			switch head {
			case "BoxEncodingPredictor":
				name += ".box"
			case "ClassPredictor":
				name += ".class"
			default:
				return "", tfjsDrop, nil // the graph's constants (stack_1/1, strided_slice/…)
			}
			switch param {
			case "weights":
				return name + ".weight", tfjsConv, nil
			case "biases":
				return name + ".bias", tfjsAsIs, nil
			}
			return "", tfjsDrop, bad
		}
	}
	return "", tfjsDrop, nil
}
