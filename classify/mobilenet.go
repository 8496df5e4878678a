package classify

import (
	"fmt"
	"strconv"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// MobileNetV1: Howard et al., "MobileNets: Efficient Convolutional Neural
// Networks for Mobile Vision Applications", 2017 (arXiv:1704.04861).
// Table 1's body: a 3×3 convolution of stride 2, then thirteen
// depthwise-separable convolutions (§3.1, Figure 3: a 3×3 depthwise
// convolution, batch norm, ReLU; a 1×1 pointwise convolution, batch norm,
// ReLU), global average pooling and a fully connected classifier. The
// width multiplier α (§3.3) thins every layer to max(⌊α·c⌋, 8) channels
// (TF-slim's depth(), min_depth 8); the rows are Table 6's α.
//
// As TF-slim builds it (mobilenet_v1.py), which all published weights
// come from: the activations are ReLU6 (min(max(x, 0), 6); the paper's
// figure says ReLU), the padding is TensorFlow's "SAME" (a stride-2
// layer on an even side pads only the bottom and right), and the last
// depthwise layer has stride 1 (Table 1 prints "s2", but its output stays
// 7×7). face-api's SSD backbone (detect's face-ssd) is this network at
// α = 1 with the pointwise and first convolutions' batch norms folded into
// a bias (MobileNetV1Config.Folded), as TensorFlow's frozen graph exports
// them.
//
// Parameter names: conv0.weight, bn0.{weight,bias,running_mean,running_var}
// (conv0.bias when folded), conv1.depthwise.weight,
// conv1.depthwise_bn.*, conv1.pointwise.weight, conv1.pointwise_bn.*
// (conv1.pointwise.bias when folded), …, conv13.*, fc.weight, fc.bias.

// mobilenetV1Layers is Table 1: each row a convolution's stride and output
// channels at α = 1; the first row is the full 3×3 convolution, each
// other a depthwise 3×3 of that stride followed by a pointwise 1×1.
var mobilenetV1Layers = [14]struct{ stride, out int }{
	{2, 32},            // Conv / s2, 3×3×3×32
	{1, 64},            // Conv dw / s1, Conv / s1
	{2, 128}, {1, 128}, // 112² → 56²
	{2, 256}, {1, 256}, // → 28²
	{2, 512},                                         // → 14²
	{1, 512}, {1, 512}, {1, 512}, {1, 512}, {1, 512}, // 5× Conv dw / s1, Conv / s1
	{2, 1024}, // → 7²
	{1, 1024}, // printed "s2" in Table 1; 7² → 7²
}

// mobilenetV1Specs are Table 6's width multipliers at 224×224.
var mobilenetV1Specs = []struct {
	name  string
	width float64
	top1  float64 // Table 6's ImageNet accuracy
	paper string
}{
	{"mobilenet_v1", 1.0, 70.6, "Howard et al. 2017, Table 1 (α = 1: Table 8's 1.0 MobileNet-224, 4.2 M parameters)"},
	{"mobilenet_v1_075", 0.75, 68.4, "Howard et al. 2017, Table 1 with α = 0.75 (Table 6)"},
	{"mobilenet_v1_050", 0.5, 63.7, "Howard et al. 2017, Table 1 with α = 0.5 (Table 6)"},
	{"mobilenet_v1_025", 0.25, 50.6, "Howard et al. 2017, Table 1 with α = 0.25 (Table 6)"},
}

// mobilenetPreprocess is TF-slim's Inception preprocessing, which the
// published MobileNets were trained with: values scaled to [−1, 1].
var mobilenetPreprocess = Preprocess{Resize: 256, Crop: 224,
	Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.5, 0.5, 0.5}}

// mobilenetModels are the zoo's rows for this file.
var mobilenetModels = func() []entry {
	var es []entry
	for _, s := range mobilenetV1Specs {
		width := s.width
		es = append(es, entry{
			name:  s.name,
			paper: s.paper,
			build: func() nn.Module { return NewMobileNetV1(MobileNetV1Config{Width: width, Classes: 1000}) },
			init:  initTorchDefault,
			weights: Weights{
				// Google publishes TF-slim checkpoints (1001 classes, a
				// background first); no PyTorch weights.
				Top1:       s.top1,
				Source:     "Howard et al. 2017, Table 6 (TF-slim checkpoints only; the count is this network's)",
				Preprocess: mobilenetPreprocess, Labels: ImageNet,
			},
		})
	}
	return es
}()

// MobileNetV1Config lays out a MobileNetV1.
type MobileNetV1Config struct {
	// Width is the width multiplier α (§3.3); 0 means 1.
	Width float64
	// Classes is the classifier's outputs; 0 builds the body alone, a
	// backbone (Forward then returns the last feature map).
	Classes int
	// Folded gives the first and the pointwise convolutions a bias in
	// place of their batch norms (the form of a frozen TensorFlow graph,
	// face-api's); the depthwise convolutions keep theirs.
	Folded bool
}

// MobileNetV1 is the network of Howard et al. 2017, Table 1.
//
// Forward is safe for concurrent use.
type MobileNetV1 struct {
	Conv0  *nn.Conv2d
	BN0    *nn.BatchNorm2d // nil when folded
	Blocks [13]*SeparableConv
	FC     *nn.Linear // nil in a backbone
}

// SeparableConv is a depthwise-separable convolution (§3.1): a 3×3
// depthwise convolution, batch norm, ReLU6, a 1×1 pointwise convolution,
// batch norm (or a bias, folded), ReLU6; TensorFlow's SAME padding.
type SeparableConv struct {
	Depthwise   *nn.Conv2d      `nn:"depthwise"`
	DepthwiseBN *nn.BatchNorm2d `nn:"depthwise_bn"`
	Pointwise   *nn.Conv2d      `nn:"pointwise"`
	PointwiseBN *nn.BatchNorm2d `nn:"pointwise_bn"` // nil when folded
}

// mobilenetDepth is TF-slim's depth(): max(⌊α·c⌋, 8).
func mobilenetDepth(c int, width float64) int {
	return max(int(float64(c)*width), 8)
}

// NewMobileNetV1 lays out the network with zero weights (batch norms at
// their identity: γ = 1, variance 1); load weights with
// nn.LoadStateDict, or build it through New for fresh ones.
func NewMobileNetV1(cfg MobileNetV1Config) *MobileNetV1 {
	if cfg.Width == 0 {
		cfg.Width = 1
	}
	bn := func(c int) *nn.BatchNorm2d {
		b := nn.NewBatchNorm2d(c)
		b.Eps = 1e-3 // TF-slim's batch_norm epsilon (0.001)
		nn.Refresh(b)
		return b
	}
	l0 := mobilenetV1Layers[0]
	c := mobilenetDepth(l0.out, cfg.Width)
	m := &MobileNetV1{Conv0: newConv(3, c, 3, nn.ConvOptions{Stride: nn.Stride(l0.stride), NoBias: !cfg.Folded})}
	if !cfg.Folded {
		m.BN0 = bn(c)
	}
	for i, l := range mobilenetV1Layers[1:] {
		out := mobilenetDepth(l.out, cfg.Width)
		b := &SeparableConv{
			Depthwise:   newConv(c, c, 3, nn.ConvOptions{Stride: nn.Stride(l.stride), Groups: c, NoBias: true}),
			DepthwiseBN: bn(c),
			Pointwise:   newConv(c, out, 1, nn.ConvOptions{NoBias: !cfg.Folded}),
		}
		if !cfg.Folded {
			b.PointwiseBN = bn(out)
		}
		m.Blocks[i] = b
		c = out
	}
	if cfg.Classes > 0 {
		m.FC = newLinear(c, cfg.Classes)
	}
	return m
}

// Children names the layers conv0, bn0, conv1 … conv13, fc.
func (m *MobileNetV1) Children() []nn.Child {
	cs := []nn.Child{{Name: "conv0", Module: m.Conv0}}
	if m.BN0 != nil {
		cs = append(cs, nn.Child{Name: "bn0", Module: m.BN0})
	}
	for i, b := range m.Blocks {
		cs = append(cs, nn.Child{Name: "conv" + strconv.Itoa(i+1), Module: b})
	}
	if m.FC != nil {
		cs = append(cs, nn.Child{Name: "fc", Module: m.FC})
	}
	return cs
}

var relu6 = nn.ReLU6{}

// Forward runs the separable convolution on x [N, C, H, W].
func (b *SeparableConv) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	y, err := nn.ConvBNActSame(x, b.Depthwise, b.DepthwiseBN, relu6)
	if err != nil {
		return nil, err
	}
	defer y.Release()
	return nn.ConvBNActSame(y, b.Pointwise, b.PointwiseBN, relu6)
}

// Forward maps images x [N, 3, H, W] to logits [N, classes] or, in a
// backbone, to the last feature map [N, 1024α, ⌈H/32⌉, ⌈W/32⌉].
func (m *MobileNetV1) Forward(x *tensor.Tensor) (*tensor.Tensor, error) { return m.forward(x, nil) }

func (m *MobileNetV1) forward(x *tensor.Tensor, tap tapFunc) (*tensor.Tensor, error) {
	maps, err := m.featureMaps(x, []int{13}, tap)
	if err != nil {
		return nil, err
	}
	y := maps[0]
	if m.FC == nil {
		return y, nil
	}
	p := &pipe{tap: tap}
	g := p.run(globalAvgPool, y) // Avg Pool / s1, 7×7
	y.Release()
	return p.result(p.run(m.FC, g)) // FC / s1, 1024×1000
}

// FeatureMaps runs the body on x [N, 3, H, W] as far as the last of
// layers (0 is the first convolution, 1–13 the separable ones, in
// increasing order) and returns those layers' outputs, after ReLU6: the
// inputs of an SSD's box predictors (face-api's take layers 11 and 13).
// The caller owns the results (Release them when done).
func (m *MobileNetV1) FeatureMaps(x *tensor.Tensor, layers ...int) ([]*tensor.Tensor, error) {
	return m.featureMaps(x, layers, nil)
}

func (m *MobileNetV1) featureMaps(x *tensor.Tensor, layers []int, tap tapFunc) ([]*tensor.Tensor, error) {
	for i, l := range layers {
		if l < 0 || l > 13 || (i > 0 && l <= layers[i-1]) {
			return nil, fmt.Errorf("%w: MobileNetV1 feature maps %v: want increasing layers 0–13", tensor.ErrShape, layers)
		}
	}
	var out []*tensor.Tensor
	keep := func(i int, y *tensor.Tensor) bool {
		if len(out) < len(layers) && layers[len(out)] == i {
			out = append(out, y)
			return true
		}
		return false
	}
	fail := func(err error) ([]*tensor.Tensor, error) {
		for _, t := range out {
			t.Release()
		}
		return nil, err
	}
	y, err := nn.ConvBNActSame(x, m.Conv0, m.BN0, relu6)
	if err != nil {
		return fail(err)
	}
	if tap != nil {
		tap("conv0", y)
	}
	kept := keep(0, y)
	for i, b := range m.Blocks {
		if len(out) == len(layers) {
			break
		}
		z, err := b.Forward(y)
		if !kept {
			y.Release()
		}
		if err != nil {
			return fail(err)
		}
		y = z
		if tap != nil {
			tap("conv"+strconv.Itoa(i+1), y)
		}
		kept = keep(i+1, y)
	}
	if !kept {
		y.Release()
	}
	return out, nil
}

// macs counts Table 8's mult-adds on an h×w input (SAME padding: each
// output side ⌈n/stride⌉).
func (m *MobileNetV1) macs(h, w int) int64 {
	var n int64
	count := func(c *nn.Conv2d) {
		h, w = (h+c.StrideH-1)/c.StrideH, (w+c.StrideW-1)/c.StrideW
		n += int64(h*w) * int64(c.OutC) * int64(c.InC/c.Groups*c.KH*c.KW)
	}
	count(m.Conv0)
	for _, b := range m.Blocks {
		count(b.Depthwise)
		count(b.Pointwise)
	}
	if m.FC != nil {
		n += int64(m.FC.In) * int64(m.FC.Out)
	}
	return n
}
