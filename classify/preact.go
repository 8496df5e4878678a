package classify

// Pre-activation ResNet: K. He, X. Zhang, S. Ren and J. Sun, "Identity
// Mappings in Deep Residual Networks", ECCV 2016 (arXiv:1603.05027).
//
// A unit is BN → ReLU → conv → BN → ReLU → conv (→ BN → ReLU → conv for a
// bottleneck), its output added to the shortcut with nothing after the sum
// (Fig. 1(b), "full pre-activation", §4.1). As in the authors' Torch code
// (fb.resnet.torch's preresnet.lua): where a unit projects (1x1 convolution,
// no batch norm) its shortcut, the projection takes the pre-activated input
// BN → ReLU(x), shared with the residual branch; an identity shortcut takes
// x itself. The first unit after the ImageNet stem (conv1 → BN → ReLU →
// max pool) has no pre-activation of its own; on CIFAR the first unit's
// pre-activation is the activation "right after conv1" (§4.1). The last
// unit is followed by BN → ReLU before the global average pooling (§4.1).
// Bottlenecks stride on their 3x3 convolution.
//
// torchvision has no pre-activation ResNet; the names follow torchvision's
// ResNet where they can (conv1, bn1, layer1.0.conv1, fc) with the paper's
// words where it has no counterpart: a unit's projection is "shortcut",
// the final batch norm "bn_final".

import (
	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// preactSpec is a row of the pre-activation networks.
type preactSpec struct {
	block  blockKind
	layers []int // units per stage: 4 stages on ImageNet, 3 on CIFAR
	// widths are the stages' filters: the planes of a bottleneck (which
	// outputs 4×), the width of a basic unit.
	widths []int
	cifar  bool // CIFAR-10 layout: 3x3 conv1 of 16 filters, no max pool
}

// The ImageNet rows have the depths of He et al. 2016a, Table 1; the
// CIFAR-10 rows are He et al. 2016b's ResNet-164 and ResNet-1001 (Table 3):
// 9n+2 layers of bottleneck units, n = 18 and 111.
var preactSpecs = map[string]preactSpec{
	"preact_resnet18":   {block: basic, layers: []int{2, 2, 2, 2}, widths: imagenetWidths},
	"preact_resnet34":   {block: basic, layers: []int{3, 4, 6, 3}, widths: imagenetWidths},
	"preact_resnet50":   {block: bottleneck, layers: []int{3, 4, 6, 3}, widths: imagenetWidths},
	"preact_resnet101":  {block: bottleneck, layers: []int{3, 4, 23, 3}, widths: imagenetWidths},
	"preact_resnet152":  {block: bottleneck, layers: []int{3, 8, 36, 3}, widths: imagenetWidths},
	"preact_resnet164":  {block: bottleneck, layers: []int{18, 18, 18}, widths: cifarWidths, cifar: true},
	"preact_resnet1001": {block: bottleneck, layers: []int{111, 111, 111}, widths: cifarWidths, cifar: true},
}

var (
	imagenetWidths = []int{64, 128, 256, 512}
	cifarWidths    = []int{16, 32, 64}
)

// preactTop1 is 100 − the CIFAR-10 test error of He et al. 2016b, Table 3.
var preactTop1 = map[string]float64{"preact_resnet164": 94.54, "preact_resnet1001": 95.08}

var preactModels = func() []entry {
	var t []entry
	for name, s := range preactSpecs {
		e := entry{
			name:  name,
			paper: "He et al. 2016b, full pre-activation (Fig. 1(b)); depths of He et al. 2016a, Table 1",
			build: func() nn.Module { return newPreActResNet(s, 1000) },
			init:  initResNet,
			weights: Weights{File: name + ".safetensors", Source: "no published weights",
				Preprocess: imagenetPreprocess(256, 224), Labels: ImageNet},
		}
		if s.cifar {
			e.paper = "He et al. 2016b, Table 3 (CIFAR-10)"
			e.build = func() nn.Module { return newPreActResNet(s, 10) }
			e.weights = Weights{File: name + ".safetensors", Top1: preactTop1[name],
				Source:     "He et al. 2016b, Table 3 (CIFAR-10 test error); no published weights",
				Preprocess: cifarPreprocess, Labels: CIFAR10}
		}
		t = append(t, e)
	}
	return t
}()

// PreActResNet is a pre-activation ResNet, on ImageNet or CIFAR; the Wide
// ResNets of CIFAR (wideresnet.go) are the same network, wider.
type PreActResNet struct {
	Conv1   *nn.Conv2d      `nn:"conv1"`
	BN1     *nn.BatchNorm2d `nn:"bn1"` // the ImageNet stem's; nil on CIFAR
	Layer1  []block         `nn:"layer1"`
	Layer2  []block         `nn:"layer2"`
	Layer3  []block         `nn:"layer3"`
	Layer4  []block         `nn:"layer4"` // ImageNet only
	BNFinal *nn.BatchNorm2d `nn:"bn_final"`
	FC      *nn.Linear      `nn:"fc"`
}

func newPreActResNet(s preactSpec, classes int) *PreActResNet {
	r := &PreActResNet{}
	in := 64
	if s.cifar {
		r.Conv1, in = conv(3, 16, 3, 1, 1), 16
	} else {
		r.Conv1, r.BN1 = conv(3, 64, 7, 2, 3), nn.NewBatchNorm2d(64)
	}
	stages := []*[]block{&r.Layer1, &r.Layer2, &r.Layer3, &r.Layer4}
	for i, n := range s.layers {
		for j := 0; j < n; j++ {
			stride := 1
			if j == 0 && i > 0 {
				stride = 2
			}
			preact := !(i == 0 && j == 0 && !s.cifar) // the ImageNet stem activated already
			var b *PreActBlock
			b, in = newPreActBlock(s.block, in, s.widths[i], stride, preact)
			*stages[i] = append(*stages[i], b)
		}
	}
	r.BNFinal, r.FC = nn.NewBatchNorm2d(in), newLinear(in, classes)
	return r
}

// Forward maps images [N, 3, H, W] to logits [N, classes].
func (r *PreActResNet) Forward(x *tensor.Tensor) (*tensor.Tensor, error) { return r.forward(x, nil) }

func (r *PreActResNet) forward(x *tensor.Tensor, tap tapFunc) (*tensor.Tensor, error) {
	p := pipe{tap: tap}
	if r.BN1 != nil {
		x = p.conv(x, r.Conv1, r.BN1, relu) // 7x7, 64, stride 2, BN, ReLU
		p.mark("conv1", x)
		x = p.run(resnetMaxPool, x) // 3x3 max pool, stride 2
	} else {
		x = p.conv(x, r.Conv1, nil, nil) // 3x3, 16
		p.mark("conv1", x)
	}
	for i, stage := range [][]block{r.Layer1, r.Layer2, r.Layer3, r.Layer4} {
		if len(stage) == 0 {
			break
		}
		x = p.blocks(x, stage)
		p.mark("layer"+string(rune('1'+i)), x)
	}
	x = p.bnReLU(x, r.BNFinal) // the last unit's activation
	x = p.run(globalAvgPool, x)
	return p.result(p.run(r.FC, x))
}

func (r *PreActResNet) macs(h, w int) int64 {
	n, h, w := convMACs(r.Conv1, h, w)
	if r.BN1 != nil {
		h, w = poolSize(h, 3, 2, 1, false), poolSize(w, 3, 2, 1, false)
	}
	for _, stage := range [][]block{r.Layer1, r.Layer2, r.Layer3, r.Layer4} {
		var m int64
		m, h, w = blocksMACs(stage, h, w)
		n += m
	}
	return n + int64(r.FC.In*r.FC.Out)
}

// PreActBlock is a full pre-activation unit (He et al. 2016b, Fig. 4(e)),
// basic (two 3x3 convolutions) or bottleneck (1x1, 3x3, 1x1).
type PreActBlock struct {
	BN1      *nn.BatchNorm2d `nn:"bn1"` // nil: the input is activated already
	Conv1    *nn.Conv2d      `nn:"conv1"`
	BN2      *nn.BatchNorm2d `nn:"bn2"`
	Conv2    *nn.Conv2d      `nn:"conv2"`
	BN3      *nn.BatchNorm2d `nn:"bn3"`      // bottleneck only
	Conv3    *nn.Conv2d      `nn:"conv3"`    // bottleneck only
	Shortcut *nn.Conv2d      `nn:"shortcut"` // 1x1 projection; nil: identity
}

// newPreActBlock returns a unit from in channels, of width (basic) or
// planes (bottleneck) filters, and its output channels. A unit whose shape
// changes projects its shortcut.
func newPreActBlock(kind blockKind, in, width, stride int, preact bool) (*PreActBlock, int) {
	b := &PreActBlock{}
	if preact {
		b.BN1 = nn.NewBatchNorm2d(in)
	}
	out := width
	if kind == basic {
		b.Conv1, b.BN2 = conv(in, width, 3, stride, 1), nn.NewBatchNorm2d(width)
		b.Conv2 = conv(width, width, 3, 1, 1)
	} else {
		out = 4 * width
		b.Conv1, b.BN2 = conv(in, width, 1, 1, 0), nn.NewBatchNorm2d(width)
		b.Conv2, b.BN3 = conv(width, width, 3, stride, 1), nn.NewBatchNorm2d(width)
		b.Conv3 = conv(width, out, 1, 1, 0)
	}
	if stride != 1 || in != out {
		b.Shortcut = conv(in, out, 1, stride, 0)
	}
	return b, out
}

// Forward computes x' + F(x'), x' = BN→ReLU(x) feeding the residual branch
// F and a projection shortcut; an identity shortcut adds x.
func (b *PreActBlock) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	var p pipe
	a := x
	if b.BN1 != nil {
		a = p.bnReLU(x, b.BN1)
	}
	sc := x
	if b.Shortcut != nil {
		sc = p.conv(a, b.Shortcut, nil, nil)
	}
	y := p.conv(a, b.Conv1, b.BN2, relu)
	if b.Conv3 == nil {
		y = p.conv(y, b.Conv2, nil, nil)
	} else {
		y = p.conv(y, b.Conv2, b.BN3, relu)
		y = p.conv(y, b.Conv3, nil, nil)
	}
	return p.result(p.add(y, sc))
}

func (b *PreActBlock) cost(h, w int) (int64, int, int) {
	n, oh, ow := convMACs(b.Conv1, h, w)
	m, oh, ow := convMACs(b.Conv2, oh, ow)
	n += m
	if b.Conv3 != nil {
		m, oh, ow = convMACs(b.Conv3, oh, ow)
		n += m
	}
	if b.Shortcut != nil {
		m, _, _ = convMACs(b.Shortcut, h, w)
		n += m
	}
	return n, oh, ow
}
