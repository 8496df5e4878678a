package classify

// ResNet: K. He, X. Zhang, S. Ren and J. Sun, "Deep Residual Learning for
// Image Recognition", CVPR 2016 (arXiv:1512.03385).
//
// The ImageNet networks (Table 1) are torchvision's ResNet "v1.5": a
// downsampling bottleneck strides on its 3x3 convolution (conv2), where
// the paper's Caffe models stride on the first 1x1; shortcuts are identity
// or, where the shape changes, a 1x1 projection with batch norm (option B,
// §3.3). Names and shapes are torchvision's (conv1, bn1, layer1.0.conv1,
// layer1.0.downsample.0, fc …), so torchvision's checkpoints load.
//
// The CIFAR-10 networks (§4.2) have 6n+2 layers: a 3x3 convolution of 16
// filters, three stages of n basic blocks of 16, 32 and 64 filters on
// 32x32, 16x16 and 8x8 maps, global average pooling and a 10-way linear
// layer. Their shortcuts are all parameter-free (option A): where a stage
// halves the map and doubles the filters, the shortcut takes every second
// pixel and pads the new channels with zeros. The layout (conv1, bn1,
// layer1.0.conv1 …, linear, and the zero channels split evenly before and
// after the identity ones) is that of the widely used PyTorch
// re-implementation by Y. Idelbayev (akamaster/pytorch_resnet_cifar10),
// whose checkpoints load once re-saved by a torch ≥ 1.6.

import (
	"fmt"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// blockKind is a residual block's shape (He et al. 2016, Fig. 5).
type blockKind int

const (
	basic      blockKind = iota // two 3x3 convolutions
	bottleneck                  // 1x1 down, 3x3, 1x1 up (×4)
)

// resnetSpec is a row of the ImageNet ResNet tables: ResNet (He et al.
// 2016, Table 1), ResNeXt (resnext.go) and Wide ResNet (wideresnet.go) are
// all torchvision's ResNet class with other rows.
type resnetSpec struct {
	block  blockKind
	layers [4]int // blocks in conv2_x … conv5_x
	// groups is ResNeXt's cardinality C (0: 1); widthPerGroup its
	// bottleneck width d, or 64·k for a Wide ResNet (0: 64). A bottleneck
	// of planes p has ⌊p·widthPerGroup/64⌋·groups channels inside.
	groups, widthPerGroup int
}

// He et al. 2016, Table 1.
var resnetSpecs = map[string]resnetSpec{
	"resnet18":  {block: basic, layers: [4]int{2, 2, 2, 2}},
	"resnet34":  {block: basic, layers: [4]int{3, 4, 6, 3}},
	"resnet50":  {block: bottleneck, layers: [4]int{3, 4, 6, 3}},
	"resnet101": {block: bottleneck, layers: [4]int{3, 4, 23, 3}},
	"resnet152": {block: bottleneck, layers: [4]int{3, 8, 36, 3}},
}

// He et al. 2016, §4.2: 6n+2 layers, n blocks per stage.
var cifarResNetSpecs = map[string]int{
	"resnet20":  3,
	"resnet32":  5,
	"resnet44":  7,
	"resnet56":  9,
	"resnet110": 18,
}

// cifarResNetTop1 is 100 − the test error of He et al. 2016, Table 6
// (the best of 5 runs for ResNet-110's 6.43).
var cifarResNetTop1 = map[string]float64{
	"resnet20": 91.25, "resnet32": 92.49, "resnet44": 92.83, "resnet56": 93.03, "resnet110": 93.57,
}

var resnetModels = func() []entry {
	var t []entry
	for name, s := range resnetSpecs {
		t = append(t, resnetEntry(name, "He et al. 2016, Table 1 (torchvision v1.5)", s))
	}
	for name, n := range cifarResNetSpecs {
		t = append(t, entry{
			name:  name,
			paper: "He et al. 2016, §4.2 (CIFAR-10, option A shortcuts)",
			build: func() nn.Module { return newCIFARResNet(n, 10) },
			init:  initResNet,
			weights: Weights{File: name + ".safetensors", Top1: cifarResNetTop1[name],
				Source:     "He et al. 2016, Table 6 (CIFAR-10 test error); no published weights",
				Preprocess: cifarPreprocess, Labels: CIFAR10},
		})
	}
	return t
}()

// resnetEntry is the zoo row of a torchvision ResNet-class model.
func resnetEntry(name, paper string, s resnetSpec) entry {
	return entry{
		name:    name,
		paper:   paper,
		build:   func() nn.Module { return newResNet(s, 1000) },
		init:    initResNet,
		weights: torchvisionWeights[name],
	}
}

// ResNet is torchvision's ResNet: the network of He et al. 2016, Table 1.
type ResNet struct {
	Conv1  *nn.Conv2d      `nn:"conv1"`
	BN1    *nn.BatchNorm2d `nn:"bn1"`
	Layer1 []block         `nn:"layer1"` // conv2_x, 56x56 at 224
	Layer2 []block         `nn:"layer2"` // conv3_x, 28x28
	Layer3 []block         `nn:"layer3"` // conv4_x, 14x14
	Layer4 []block         `nn:"layer4"` // conv5_x, 7x7
	FC     *nn.Linear      `nn:"fc"`
}

// resnetMaxPool is conv2_x's 3x3 max pool of stride 2.
var resnetMaxPool = nn.NewMaxPool2d(nn.Kernel(3), nn.PoolOptions{Stride: nn.Stride(2), Padding: nn.Padding(1)})

func newResNet(s resnetSpec, classes int) *ResNet {
	r := &ResNet{Conv1: conv(3, 64, 7, 2, 3), BN1: nn.NewBatchNorm2d(64)}
	in := 64
	layers := [4]*[]block{&r.Layer1, &r.Layer2, &r.Layer3, &r.Layer4}
	for i, planes := range [4]int{64, 128, 256, 512} {
		stride := 2
		if i == 0 {
			stride = 1
		}
		for j := 0; j < s.layers[i]; j++ {
			var b block
			b, in = s.newBlock(in, planes, stride)
			*layers[i] = append(*layers[i], b)
			stride = 1
		}
	}
	r.FC = newLinear(in, classes)
	return r
}

// newBlock returns a block of the spec's kind and its output channels.
func (s resnetSpec) newBlock(in, planes, stride int) (block, int) {
	groups, wpg := max(s.groups, 1), s.widthPerGroup
	if wpg == 0 {
		wpg = 64
	}
	out := planes
	if s.block == bottleneck {
		out = 4 * planes
	}
	var down *nn.Sequential
	if stride != 1 || in != out {
		down = nn.NewSequential(conv(in, out, 1, stride, 0), nn.NewBatchNorm2d(out))
	}
	if s.block == basic {
		return &BasicBlock{
			Conv1: conv(in, planes, 3, stride, 1), BN1: nn.NewBatchNorm2d(planes),
			Conv2: conv(planes, planes, 3, 1, 1), BN2: nn.NewBatchNorm2d(planes),
			Downsample: down,
		}, out
	}
	width := planes * wpg / 64 * groups
	return &Bottleneck{
		Conv1: conv(in, width, 1, 1, 0), BN1: nn.NewBatchNorm2d(width),
		Conv2: newConv(width, width, 3, nn.ConvOptions{Stride: nn.Stride(stride), Padding: nn.Padding(1), Groups: groups, NoBias: true}),
		BN2:   nn.NewBatchNorm2d(width),
		Conv3: conv(width, out, 1, 1, 0), BN3: nn.NewBatchNorm2d(out),
		Downsample: down,
	}, out
}

// Forward maps images [N, 3, H, W] to logits [N, classes].
func (r *ResNet) Forward(x *tensor.Tensor) (*tensor.Tensor, error) { return r.forward(x, nil) }

func (r *ResNet) forward(x *tensor.Tensor, tap tapFunc) (*tensor.Tensor, error) {
	p := pipe{tap: tap}
	x = p.conv(x, r.Conv1, r.BN1, relu) // conv1: 7x7, 64, stride 2
	p.mark("conv1", x)
	x = p.run(resnetMaxPool, x) // conv2_x: 3x3 max pool, stride 2
	x = p.blocks(x, r.Layer1)
	p.mark("layer1", x)
	x = p.blocks(x, r.Layer2)
	p.mark("layer2", x)
	x = p.blocks(x, r.Layer3)
	p.mark("layer3", x)
	x = p.blocks(x, r.Layer4)
	p.mark("layer4", x)
	x = p.run(globalAvgPool, x) // average pool, 1000-d fc
	return p.result(p.run(r.FC, x))
}

func (r *ResNet) macs(h, w int) int64 {
	n, h, w := convMACs(r.Conv1, h, w)
	h, w = poolSize(h, 3, 2, 1, false), poolSize(w, 3, 2, 1, false)
	for _, layer := range [][]block{r.Layer1, r.Layer2, r.Layer3, r.Layer4} {
		var m int64
		m, h, w = blocksMACs(layer, h, w)
		n += m
	}
	return n + int64(r.FC.In*r.FC.Out)
}

// BasicBlock is torchvision's BasicBlock: two 3x3 convolutions with batch
// norm, the shortcut added before the last ReLU (He et al. 2016, Fig. 5
// left).
type BasicBlock struct {
	Conv1      *nn.Conv2d      `nn:"conv1"`
	BN1        *nn.BatchNorm2d `nn:"bn1"`
	Conv2      *nn.Conv2d      `nn:"conv2"`
	BN2        *nn.BatchNorm2d `nn:"bn2"`
	Downsample *nn.Sequential  `nn:"downsample"` // projection shortcut (option B); nil: identity

	// padShortcut selects option A where the shape changes: subsample and
	// pad with zero channels.
	padShortcut bool
}

// Forward computes relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)).
func (b *BasicBlock) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	var p pipe
	h := p.conv(x, b.Conv1, b.BN1, relu)
	y := p.conv(h, b.Conv2, b.BN2, nil)
	h.Release()
	sc := b.shortcut(&p, x, y)
	y = p.addReLU(y, sc)
	if sc != x {
		sc.Release()
	}
	return p.result(y)
}

func (b *BasicBlock) shortcut(p *pipe, x, y *tensor.Tensor) *tensor.Tensor {
	switch {
	case p.err != nil:
		return nil
	case b.Downsample != nil:
		return p.run(b.Downsample, x)
	case b.padShortcut && (x.Dim(1) != y.Dim(1) || x.Dim(2) != y.Dim(2)):
		return p.padShortcut(x, y.Dim(1), b.Conv1.StrideH)
	}
	return x
}

func (b *BasicBlock) cost(h, w int) (int64, int, int) {
	m1, oh, ow := convMACs(b.Conv1, h, w)
	m2, oh, ow := convMACs(b.Conv2, oh, ow)
	return m1 + m2 + downsampleMACs(b.Downsample, h, w), oh, ow
}

// Bottleneck is torchvision's Bottleneck (He et al. 2016, Fig. 5 right;
// Xie et al. 2017, Fig. 3(c) with groups): 1x1, 3x3 (strided, grouped),
// 1x1 convolutions with batch norm, the shortcut added before the last
// ReLU.
type Bottleneck struct {
	Conv1      *nn.Conv2d      `nn:"conv1"`
	BN1        *nn.BatchNorm2d `nn:"bn1"`
	Conv2      *nn.Conv2d      `nn:"conv2"`
	BN2        *nn.BatchNorm2d `nn:"bn2"`
	Conv3      *nn.Conv2d      `nn:"conv3"`
	BN3        *nn.BatchNorm2d `nn:"bn3"`
	Downsample *nn.Sequential  `nn:"downsample"` // nil: identity shortcut
}

// Forward computes relu(bn3(conv3(…conv1(x))) + shortcut(x)).
func (b *Bottleneck) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	var p pipe
	h1 := p.conv(x, b.Conv1, b.BN1, relu)
	h2 := p.conv(h1, b.Conv2, b.BN2, relu)
	h1.Release()
	y := p.conv(h2, b.Conv3, b.BN3, nil)
	h2.Release()
	sc := x
	if b.Downsample != nil {
		sc = p.run(b.Downsample, x)
	}
	y = p.addReLU(y, sc)
	if sc != x {
		sc.Release()
	}
	return p.result(y)
}

func (b *Bottleneck) cost(h, w int) (int64, int, int) {
	m1, oh, ow := convMACs(b.Conv1, h, w)
	m2, oh, ow := convMACs(b.Conv2, oh, ow)
	m3, oh, ow := convMACs(b.Conv3, oh, ow)
	return m1 + m2 + m3 + downsampleMACs(b.Downsample, h, w), oh, ow
}

// block is a residual block: a module that also counts its
// multiply-accumulates on an h×w input and gives its output size.
type block interface {
	nn.Module
	cost(h, w int) (macs int64, oh, ow int)
}

// blocksMACs counts a stage of blocks.
func blocksMACs(blocks []block, h, w int) (int64, int, int) {
	var n int64
	for _, b := range blocks {
		var m int64
		m, h, w = b.cost(h, w)
		n += m
	}
	return n, h, w
}

// downsampleMACs counts a projection shortcut's convolution (its first
// module).
func downsampleMACs(d *nn.Sequential, h, w int) int64 {
	if d == nil {
		return 0
	}
	m, _, _ := convMACs(d.At(0).(*nn.Conv2d), h, w)
	return m
}

// padShortcut is option A's shortcut: x [N, C, H, W] subsampled by stride
// (x[:, :, ::stride, ::stride]) into out channels, the new ones zero and
// split evenly before and after the identity ones, as
// F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, (out−C)/2, (out−C)/2)) does.
func (p *pipe) padShortcut(x *tensor.Tensor, out, stride int) *tensor.Tensor {
	if p.err != nil {
		return nil
	}
	n, c, h, w := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	if out < c || (out-c)%2 != 0 || stride < 1 {
		p.err = fmt.Errorf("%w: option A shortcut from %d to %d channels", nn.ErrShape, c, out)
		return nil
	}
	oh, ow := (h+stride-1)/stride, (w+stride-1)/stride
	y := tensor.New(n, out, oh, ow)
	src, dst := x.Data(), y.Data()
	before := (out - c) / 2
	for i := 0; i < n; i++ {
		for ch := 0; ch < c; ch++ {
			in := src[(i*c+ch)*h*w:]
			o := dst[(i*out+before+ch)*oh*ow:]
			for r := 0; r < oh; r++ {
				for q := 0; q < ow; q++ {
					o[r*ow+q] = in[r*stride*w+q*stride]
				}
			}
		}
	}
	return y
}

// CIFARResNet is the CIFAR-10 ResNet of He et al. 2016, §4.2.
type CIFARResNet struct {
	Conv1  *nn.Conv2d      `nn:"conv1"`
	BN1    *nn.BatchNorm2d `nn:"bn1"`
	Layer1 []block         `nn:"layer1"` // 32x32, 16 filters
	Layer2 []block         `nn:"layer2"` // 16x16, 32 filters
	Layer3 []block         `nn:"layer3"` // 8x8, 64 filters
	Linear *nn.Linear      `nn:"linear"`
}

func newCIFARResNet(n, classes int) *CIFARResNet {
	r := &CIFARResNet{Conv1: conv(3, 16, 3, 1, 1), BN1: nn.NewBatchNorm2d(16), Linear: newLinear(64, classes)}
	in := 16
	for i, layer := range []*[]block{&r.Layer1, &r.Layer2, &r.Layer3} {
		out := 16 << i
		for j := 0; j < n; j++ {
			stride := 1
			if j == 0 && i > 0 {
				stride = 2
			}
			*layer = append(*layer, &BasicBlock{
				Conv1: conv(in, out, 3, stride, 1), BN1: nn.NewBatchNorm2d(out),
				Conv2: conv(out, out, 3, 1, 1), BN2: nn.NewBatchNorm2d(out),
				padShortcut: true,
			})
			in = out
		}
	}
	return r
}

// Forward maps images [N, 3, 32, 32] to logits [N, 10].
func (r *CIFARResNet) Forward(x *tensor.Tensor) (*tensor.Tensor, error) { return r.forward(x, nil) }

func (r *CIFARResNet) forward(x *tensor.Tensor, tap tapFunc) (*tensor.Tensor, error) {
	p := pipe{tap: tap}
	x = p.conv(x, r.Conv1, r.BN1, relu) // 3x3, 16
	p.mark("conv1", x)
	x = p.blocks(x, r.Layer1) // 2n layers, 32x32, 16 filters
	p.mark("layer1", x)
	x = p.blocks(x, r.Layer2) // 2n layers, 16x16, 32 filters
	p.mark("layer2", x)
	x = p.blocks(x, r.Layer3) // 2n layers, 8x8, 64 filters
	p.mark("layer3", x)
	x = p.run(globalAvgPool, x) // global average pooling, 10-way fc
	return p.result(p.run(r.Linear, x))
}

func (r *CIFARResNet) macs(h, w int) int64 {
	n, h, w := convMACs(r.Conv1, h, w)
	for _, layer := range [][]block{r.Layer1, r.Layer2, r.Layer3} {
		var m int64
		m, h, w = blocksMACs(layer, h, w)
		n += m
	}
	return n + int64(r.Linear.In*r.Linear.Out)
}
