package detect

// face-api's Tiny Face Detector (src/tinyFaceDetector, on
// src/tinyYolov2/TinyYolov2Base.ts: runMobilenet, extractBoxes): a
// Tiny-YOLOv2 (Redmon & Farhadi 2017, YOLO9000, §2) whose 3×3
// convolutions after the first are depthwise-separable (Howard et al.
// 2017, MobileNets, §3.1), with leaky ReLU (slope 0.1), one class and five
// anchors; one 13×13 grid at input 416.
//
//	conv0  3×3 conv, 3→16, no padding, leaky    maxpool 2, stride 2, same
//	conv1  separable 3×3 pad 1, 16→32, leaky    maxpool 2, stride 2, same
//	conv2  separable, 32→64                     maxpool 2, stride 2, same
//	conv3  separable, 64→128                    maxpool 2, stride 2, same
//	conv4  separable, 128→256                   maxpool 2, stride 2, same
//	conv5  separable, 256→512                   maxpool 2, stride 1, same
//	conv8  1×1 conv, 512→25: 5 anchors × (x, y, w, h, score)
//
// Input: RGB 0–255 minus face-api's mean (117.001, 114.697, 97.404), over
// 255. Parameter names: conv0.weight, conv1.depthwise.weight,
// conv1.pointwise.weight, conv1.pointwise.bias, …, conv8.weight, conv8.bias.

import (
	"fmt"
	"math"
	"strings"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

var tinyFaceModels = []faceSpec{{
	name:  "face",
	paper: "face-api's Tiny Face Detector: Tiny-YOLOv2 (Redmon & Farhadi 2017, §2) with depthwise-separable convolutions (Howard et al. 2017, §3.1)",
	size:  416, minSize: 128, maxSize: 608, step: 32,
	conf: 0.5, iou: 0.4, // TinyYolov2Options' scoreThreshold; tinyFaceDetector/const.ts IOU_THRESHOLD
	file: "tiny_face_detector.safetensors", tfjs: "tiny_face_detector_model-weights_manifest.json",
	build: newTinyFaceNet,
}}

// tinyFaceMean is tinyFaceDetector/const.ts MEAN_RGB.
var tinyFaceMean = [3]float32{117.001, 114.697, 97.404}

// tinyFaceAnchors are tinyFaceDetector/const.ts BOX_ANCHORS, (w, h) in
// grid cells.
var tinyFaceAnchors = [5][2]float64{
	{1.603231, 2.094468}, {6.041143, 7.080126}, {2.882459, 3.518061}, {4.266906, 5.178857}, {9.041765, 10.66308},
}

// leaky is face-api's leaky ReLU (tinyYolov2/leaky.ts), slope 0.1.
var leaky = &nn.LeakyReLU{Slope: 0.1}

// sepConv is face-api's depthwiseSeparableConv: pad 1, a depthwise 3×3,
// a pointwise 1×1 with bias, leaky ReLU.
type sepConv struct {
	Depthwise *nn.Conv2d `nn:"depthwise"`
	Pointwise *nn.Conv2d `nn:"pointwise"`
}

func newSepConv(in, out int) *sepConv {
	dw := &nn.Conv2d{InC: in, OutC: in, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1,
		DilationH: 1, DilationW: 1, Groups: in, Weight: tensor.New(in, 1, 3, 3)}
	return &sepConv{Depthwise: dw, Pointwise: pointwise(in, out)}
}

// pointwise returns a 1×1 convolution with bias, zero weights.
func pointwise(in, out int) *nn.Conv2d {
	return &nn.Conv2d{InC: in, OutC: out, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1,
		Groups: 1, Weight: tensor.New(out, in, 1, 1), Bias: tensor.New(out)}
}

func (s *sepConv) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	y, err := s.Depthwise.Forward(x)
	if err != nil {
		return nil, err
	}
	defer y.Release()
	return nn.ConvBNAct(y, s.Pointwise, nil, leaky)
}

// tinyFaceNet is the network; fields are our parameter names.
type tinyFaceNet struct {
	Conv0 *nn.Conv2d `nn:"conv0"`
	Conv1 *sepConv   `nn:"conv1"`
	Conv2 *sepConv   `nn:"conv2"`
	Conv3 *sepConv   `nn:"conv3"`
	Conv4 *sepConv   `nn:"conv4"`
	Conv5 *sepConv   `nn:"conv5"`
	Conv8 *nn.Conv2d `nn:"conv8"`
}

func newTinyFaceNet() faceNet {
	c0 := &nn.Conv2d{InC: 3, OutC: 16, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1,
		Groups: 1, Weight: tensor.New(16, 3, 3, 3), Bias: tensor.New(16)}
	return &tinyFaceNet{Conv0: c0, Conv1: newSepConv(16, 32), Conv2: newSepConv(32, 64), Conv3: newSepConv(64, 128),
		Conv4: newSepConv(128, 256), Conv5: newSepConv(256, 512), Conv8: pointwise(512, 25)}
}

// Forward runs the network on a normalised [N, 3, S, S] input and
// returns conv8's [N, 25, S', S'] output: channel 5a+k is anchor a's k-th
// value (x, y, w, h, score), before any sigmoid or exp.
func (n *tinyFaceNet) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	y, err := nn.ConvBNAct(x, n.Conv0, nil, leaky)
	if err != nil {
		return nil, err
	}
	for _, l := range []*sepConv{n.Conv1, n.Conv2, n.Conv3, n.Conv4, n.Conv5, nil} {
		stride := 2
		if l == nil { // after conv5
			stride = 1
		}
		p := maxPoolSame(y, stride)
		y.Release()
		y = p
		if l == nil {
			break
		}
		if y, err = l.Forward(p); err != nil {
			return nil, err
		}
		p.Release()
	}
	out, err := n.Conv8.Forward(y)
	y.Release()
	return out, err
}

// macs follows Forward: the 2×2 max pools halve the side (rounding up),
// the last keeps it.
func (n *tinyFaceNet) macs(side int) int64 {
	total, h, w := convMACs(n.Conv0, side, side, false)
	for _, l := range []*sepConv{n.Conv1, n.Conv2, n.Conv3, n.Conv4, n.Conv5} {
		h, w = (h+1)/2, (w+1)/2
		var d, p int64
		d, h, w = convMACs(l.Depthwise, h, w, false)
		p, h, w = convMACs(l.Pointwise, h, w, false)
		total += d + p
	}
	m, _, _ := convMACs(n.Conv8, h, w, false)
	return total + m
}

func (n *tinyFaceNet) boxes(x *tensor.Tensor, w, h, side int, conf float32) ([]Detection, error) {
	s := x.Shape()
	if len(s) != 4 || s[1] != 3 {
		return nil, fmt.Errorf("%w: input %v: want [1, 3, S, S]", tensor.ErrShape, s)
	}
	normalizeTinyFace(x)
	out, err := n.Forward(x)
	if err != nil {
		return nil, err
	}
	defer out.Release()
	return tinyFaceDecode(out.Data(), out.Dim(2), w, h, side, conf), nil
}

// normalizeTinyFace is TinyYolov2Base.forwardInput's normalisation, in
// place on [1, 3, S, S] 0–255 values: (v − mean)/255, in float32.
func normalizeTinyFace(x *tensor.Tensor) {
	d := x.Data()
	plane := x.Dim(2) * x.Dim(3)
	for c := range 3 {
		m := tinyFaceMean[c]
		for i, v := range d[c*plane : (c+1)*plane] {
			d[c*plane+i] = (v - m) / 255
		}
	}
}

// tinyFaceDecode is TinyYolov2Base.extractBoxes and the mapping to image
// pixels (ObjectDetection's relativeBox.rescale(imageDims)): for each
// cell and anchor scoring sigmoid(t_s) > conf, the box centred at
// ((col + σ(t_x))/cells, (row + σ(t_y))/cells) of size
// (e^t_w·anchor_w/cells, e^t_h·anchor_h/cells), as fractions of the padded
// square, corrected to fractions of the image by side/reshaped (the
// image's size in the square, computeReshapedDimensions) and scaled by the
// image's w and h.
func tinyFaceDecode(out []float32, cells, w, h, side int, conf float32) []Detection {
	scale := float64(side) / float64(max(w, h))
	rw, rh := math.Round(float64(w)*scale), math.Round(float64(h)*scale)
	corrX, corrY := float64(side)/rw, float64(side)/rh
	nc := float64(cells)
	plane := cells * cells
	var dets []Detection
	for row := range cells {
		for col := range cells {
			for a, anc := range tinyFaceAnchors {
				v := func(k int) float32 { return out[(5*a+k)*plane+row*cells+col] }
				score := sigmoid(v(4))
				if !(score > float64(conf)) {
					continue
				}
				cx := (float64(col) + sigmoid(v(0))) / nc * corrX
				cy := (float64(row) + sigmoid(v(1))) / nc * corrY
				bw := math.Exp(float64(v(2))) * anc[0] / nc * corrX
				bh := math.Exp(float64(v(3))) * anc[1] / nc * corrY
				x0, y0 := cx-bw/2, cy-bh/2
				// Box.rescale: x·W, width·W; right = x + width.
				px, py, pw, ph := x0*float64(w), y0*float64(h), bw*float64(w), bh*float64(h)
				dets = append(dets, Detection{Class: 0, Label: faceLabels[0], Score: float32(score),
					Box: [4]float32{float32(px), float32(py), float32(px + pw), float32(py + ph)}})
			}
		}
	}
	return dets
}

// tfjsName maps face-api's names (conv0/filters, conv1/depthwise_filter,
// conv1/pointwise_filter, conv1/bias, conv8/filters, conv8/bias) to ours.
func (n *tinyFaceNet) tfjsName(k string) (string, tfjsLayout, error) {
	layer, kind, _ := strings.Cut(k, "/")
	switch {
	case kind == "filters":
		return layer + ".weight", tfjsConv, nil
	case kind == "bias" && (layer == "conv0" || layer == "conv8"):
		return layer + ".bias", tfjsAsIs, nil
	case kind == "bias":
		return layer + ".pointwise.bias", tfjsAsIs, nil
	case kind == "depthwise_filter":
		return layer + ".depthwise.weight", tfjsDepthwise, nil
	case kind == "pointwise_filter":
		return layer + ".pointwise.weight", tfjsConv, nil
	}
	return "", tfjsDrop, fmt.Errorf("tensor %q: not a face-api tiny face detector name", k)
}

// hwioToOIHW transposes a TensorFlow conv2d filter [KH, KW, In, Out] to
// torch's [Out, In, KH, KW].
func hwioToOIHW(name string, t *tensor.Tensor) (*tensor.Tensor, error) {
	s := t.Shape()
	if len(s) != 4 {
		return nil, fmt.Errorf("%w: tensor %q: shape %v, want a 4-d filter", tensor.ErrShape, name, s)
	}
	kh, kw, in, out := s[0], s[1], s[2], s[3]
	r := tensor.New(out, in, kh, kw)
	src, dst := t.Data(), r.Data()
	for y := range kh {
		for x := range kw {
			for i := range in {
				for o := range out {
					dst[((o*in+i)*kh+y)*kw+x] = src[((y*kw+x)*in+i)*out+o]
				}
			}
		}
	}
	return r, nil
}

// depthwiseToOIHW transposes a TensorFlow depthwise filter [KH, KW, C, M]
// to torch's grouped [C·M, 1, KH, KW].
func depthwiseToOIHW(name string, t *tensor.Tensor) (*tensor.Tensor, error) {
	s := t.Shape()
	if len(s) != 4 {
		return nil, fmt.Errorf("%w: tensor %q: shape %v, want a 4-d depthwise filter", tensor.ErrShape, name, s)
	}
	kh, kw, c, m := s[0], s[1], s[2], s[3]
	r := tensor.New(c*m, 1, kh, kw)
	src, dst := t.Data(), r.Data()
	for y := range kh {
		for x := range kw {
			for i := range c {
				for j := range m {
					dst[((i*m+j)*kh+y)*kw+x] = src[((y*kw+x)*c+i)*m+j]
				}
			}
		}
	}
	return r, nil
}
