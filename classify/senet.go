package classify

// SENet: J. Hu, L. Shen and G. Sun, "Squeeze-and-Excitation Networks",
// CVPR 2018 (arXiv:1709.01507).
//
// An SE block (Fig. 1, §3) rescales a residual branch's channels before
// the shortcut is added (Fig. 3, SE-ResNet module): global average pooling
// (squeeze), FC to C/r, ReLU, FC back to C, sigmoid (excitation, r = 16),
// and a per-channel product (Eq. 4). The networks are ResNet-50/101/152
// and ResNeXt-50/101 (32×4d) with SE blocks (Table 1), and SENet-154
// (§6.1, Appendix): a 64×4d ResNeXt-152 with SE blocks, a stem of three
// 3x3 convolutions, 3x3 projection shortcuts where a stage strides, and
// dropout 0.2 before the classifier.
//
// torchvision has no SENet. Names, shapes and layer details are those of
// the widely used PyTorch port of the authors' Caffe models, Cadene's
// pretrainedmodels (pretrainedmodels/models/senet.py), so its checkpoints
// (se_resnet50-ce0d4300.pth, …) load: the stem is the Sequential layer0
// (conv1, bn1, relu1, … , a 3x3 max pool of stride 2 with ceil_mode),
// blocks hold conv1…bn3, se_module.fc1/fc2 (1x1 convolutions with bias)
// and downsample; the classifier is last_linear. As in the Caffe models,
// an SE-ResNet bottleneck strides on its first 1x1 convolution, an
// SE-ResNeXt or SENet-154 bottleneck on its 3x3. The final 7x7 average pool
// of the port is a global average pool here: the same at 224x224, and
// other sizes work.

import (
	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// seKind is the bottleneck of a row.
type seKind int

const (
	seResNet  seKind = iota // SEResNetBottleneck: stride on the 1x1, width planes
	seResNeXt               // SEResNeXtBottleneck: width ⌊planes·d/64⌋·C, stride on the 3x3
	seNet154                // SEBottleneck: 2·planes, then 4·planes in C groups
)

// senetSpec is a row of Hu et al. 2018, Table 1 (and §6.1 for SENet-154),
// with the port's stem and shortcut options.
type senetSpec struct {
	kind      seKind
	layers    [4]int
	groups    int  // cardinality (1 for SE-ResNet)
	inplanes  int  // the stem's output channels
	stem3x3   bool // three 3x3 convolutions instead of one 7x7
	downK     int  // kernel of the projection shortcuts of stages 2–4 (1 or 3)
	reduction int  // r of the SE blocks
}

var senetSpecs = map[string]senetSpec{
	"se_resnet50":         {kind: seResNet, layers: [4]int{3, 4, 6, 3}, groups: 1, inplanes: 64, downK: 1, reduction: 16},
	"se_resnet101":        {kind: seResNet, layers: [4]int{3, 4, 23, 3}, groups: 1, inplanes: 64, downK: 1, reduction: 16},
	"se_resnet152":        {kind: seResNet, layers: [4]int{3, 8, 36, 3}, groups: 1, inplanes: 64, downK: 1, reduction: 16},
	"se_resnext50_32x4d":  {kind: seResNeXt, layers: [4]int{3, 4, 6, 3}, groups: 32, inplanes: 64, downK: 1, reduction: 16},
	"se_resnext101_32x4d": {kind: seResNeXt, layers: [4]int{3, 4, 23, 3}, groups: 32, inplanes: 64, downK: 1, reduction: 16},
	"senet154":            {kind: seNet154, layers: [4]int{3, 8, 36, 3}, groups: 64, inplanes: 128, stem3x3: true, downK: 3, reduction: 16},
}

// senetWeights are the port's files (named by their SHA-256 prefix, as
// torch.hub names files) and 100 − the single-crop (224x224) error of
// Hu et al. 2018, Table 2 (SENet-154: Table 8).
var senetWeights = map[string]struct {
	file       string
	top1, top5 float64
	table      string
}{
	"se_resnet50":         {"se_resnet50-ce0d4300.pth", 76.71, 93.38, "Table 2"},
	"se_resnet101":        {"se_resnet101-7e38fcc6.pth", 77.62, 93.93, "Table 2"},
	"se_resnet152":        {"se_resnet152-d17c99b7.pth", 78.43, 94.27, "Table 2"},
	"se_resnext50_32x4d":  {"se_resnext50_32x4d-a260b3a4.pth", 78.90, 94.51, "Table 2"},
	"se_resnext101_32x4d": {"se_resnext101_32x4d-3b2fe3d8.pth", 79.30, 94.99, "Table 2"},
	"senet154":            {"senet154-c7b49a05.pth", 81.32, 95.53, "Table 8"},
}

var senetModels = func() []entry {
	var t []entry
	for name, s := range senetSpecs {
		w := senetWeights[name]
		t = append(t, entry{
			name:  name,
			paper: "Hu et al. 2018, Table 1 (Cadene's pretrainedmodels layout)",
			build: func() nn.Module { return newSENet(s, 1000) },
			init:  initTorchDefault,
			weights: Weights{File: w.file, URL: "http://data.lip6.fr/cadene/pretrainedmodels/" + w.file,
				SHA256: w.file[len(w.file)-12 : len(w.file)-4], Top1: w.top1, Top5: w.top5,
				Source:     "Hu et al. 2018, " + w.table + " (single-crop error); weights: Cadene's pretrainedmodels",
				Preprocess: imagenetPreprocess(256, 224), Labels: ImageNet},
		})
	}
	return t
}()

// SENet is Cadene's SENet class.
type SENet struct {
	Layer0     *nn.Sequential `nn:"layer0"` // the stem
	Layer1     []block        `nn:"layer1"`
	Layer2     []block        `nn:"layer2"`
	Layer3     []block        `nn:"layer3"`
	Layer4     []block        `nn:"layer4"`
	LastLinear *nn.Linear     `nn:"last_linear"`
}

// senetPool is the stem's max pool: 3x3, stride 2, ceil_mode (the Caffe
// models' rounding).
var senetPool = nn.NewMaxPool2d(nn.Kernel(3), nn.PoolOptions{Stride: nn.Stride(2), CeilMode: true})

func newSENet(s senetSpec, classes int) *SENet {
	l0 := nn.NewSequential()
	if s.stem3x3 {
		l0.Add("conv1", conv(3, 64, 3, 2, 1))
		l0.Add("bn1", nn.NewBatchNorm2d(64))
		l0.Add("relu1", relu)
		l0.Add("conv2", conv(64, 64, 3, 1, 1))
		l0.Add("bn2", nn.NewBatchNorm2d(64))
		l0.Add("relu2", relu)
		l0.Add("conv3", conv(64, s.inplanes, 3, 1, 1))
		l0.Add("bn3", nn.NewBatchNorm2d(s.inplanes))
		l0.Add("relu3", relu)
	} else {
		l0.Add("conv1", conv(3, s.inplanes, 7, 2, 3))
		l0.Add("bn1", nn.NewBatchNorm2d(s.inplanes))
		l0.Add("relu1", relu)
	}
	l0.Add("pool", senetPool)
	n := &SENet{Layer0: l0}
	in := s.inplanes
	stages := [4]*[]block{&n.Layer1, &n.Layer2, &n.Layer3, &n.Layer4}
	for i, planes := range [4]int{64, 128, 256, 512} {
		stride, downK := 2, s.downK
		if i == 0 {
			stride, downK = 1, 1
		}
		for j := 0; j < s.layers[i]; j++ {
			b := s.newBlock(in, planes, stride, downK)
			*stages[i] = append(*stages[i], b)
			in, stride = 4*planes, 1
		}
	}
	n.LastLinear = newLinear(in, classes)
	return n
}

func (s senetSpec) newBlock(in, planes, stride, downK int) *SEBottleneck {
	out := 4 * planes
	b := &SEBottleneck{SE: newSEModule(out, s.reduction)}
	grouped := func(c1, c2 int, stride int) *nn.Conv2d {
		return newConv(c1, c2, 3, nn.ConvOptions{Stride: nn.Stride(stride), Padding: nn.Padding(1), Groups: s.groups, NoBias: true})
	}
	var width int
	switch s.kind {
	case seResNet:
		width = planes
		b.Conv1, b.Conv2 = conv(in, width, 1, stride, 0), grouped(width, width, 1)
		b.BN1, b.BN2 = nn.NewBatchNorm2d(width), nn.NewBatchNorm2d(width)
	case seResNeXt:
		width = planes * 4 / 64 * s.groups // base width d = 4
		b.Conv1, b.Conv2 = conv(in, width, 1, 1, 0), grouped(width, width, stride)
		b.BN1, b.BN2 = nn.NewBatchNorm2d(width), nn.NewBatchNorm2d(width)
	case seNet154:
		width = 4 * planes
		b.Conv1, b.Conv2 = conv(in, 2*planes, 1, 1, 0), grouped(2*planes, width, stride)
		b.BN1, b.BN2 = nn.NewBatchNorm2d(2*planes), nn.NewBatchNorm2d(width)
	}
	b.Conv3, b.BN3 = conv(width, out, 1, 1, 0), nn.NewBatchNorm2d(out)
	if stride != 1 || in != out {
		b.Downsample = nn.NewSequential(conv(in, out, downK, stride, downK/2), nn.NewBatchNorm2d(out))
	}
	return b
}

// Forward maps images [N, 3, H, W] to logits [N, classes].
func (n *SENet) Forward(x *tensor.Tensor) (*tensor.Tensor, error) { return n.forward(x, nil) }

func (n *SENet) forward(x *tensor.Tensor, tap tapFunc) (*tensor.Tensor, error) {
	p := pipe{tap: tap}
	x = p.run(n.Layer0, x) // stem and max pool: 56x56 at 224
	p.mark("layer0", x)
	for i, stage := range [][]block{n.Layer1, n.Layer2, n.Layer3, n.Layer4} {
		x = p.blocks(x, stage)
		p.mark("layer"+string(rune('1'+i)), x)
	}
	x = p.run(globalAvgPool, x) // global average pool, (dropout), fc
	return p.result(p.run(n.LastLinear, x))
}

func (n *SENet) macs(h, w int) int64 {
	total, h, w := seqMACs(n.Layer0, h, w)
	for _, stage := range [][]block{n.Layer1, n.Layer2, n.Layer3, n.Layer4} {
		var m int64
		m, h, w = blocksMACs(stage, h, w)
		total += m
	}
	return total + int64(n.LastLinear.In*n.LastLinear.Out)
}

// SEBottleneck is a bottleneck with an SE block on its residual branch
// (Hu et al. 2018, Fig. 3): relu(se(bn3(conv3(…conv1(x)))) + shortcut(x)).
type SEBottleneck struct {
	Conv1      *nn.Conv2d      `nn:"conv1"`
	BN1        *nn.BatchNorm2d `nn:"bn1"`
	Conv2      *nn.Conv2d      `nn:"conv2"`
	BN2        *nn.BatchNorm2d `nn:"bn2"`
	Conv3      *nn.Conv2d      `nn:"conv3"`
	BN3        *nn.BatchNorm2d `nn:"bn3"`
	SE         *SEModule       `nn:"se_module"`
	Downsample *nn.Sequential  `nn:"downsample"` // nil: identity shortcut
}

// Forward computes the block.
func (b *SEBottleneck) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	var p pipe
	y := p.conv(x, b.Conv1, b.BN1, relu)
	y = p.conv(y, b.Conv2, b.BN2, relu)
	y = p.conv(y, b.Conv3, b.BN3, nil)
	y = p.run(b.SE, y)
	sc := x
	if b.Downsample != nil {
		sc = p.run(b.Downsample, x)
	}
	return p.result(p.addReLU(y, sc))
}

func (b *SEBottleneck) cost(h, w int) (int64, int, int) {
	m1, oh, ow := convMACs(b.Conv1, h, w)
	m2, oh, ow := convMACs(b.Conv2, oh, ow)
	m3, oh, ow := convMACs(b.Conv3, oh, ow)
	se := int64(b.SE.FC1.InC*b.SE.FC1.OutC + b.SE.FC2.InC*b.SE.FC2.OutC)
	return m1 + m2 + m3 + se + downsampleMACs(b.Downsample, h, w), oh, ow
}

// SEModule is the squeeze-and-excitation block (Hu et al. 2018, §3):
// x · sigmoid(fc2(relu(fc1(avgpool(x))))), the two FC layers as 1x1
// convolutions with bias (the port's, and torchvision.ops.SqueezeExcitation's,
// fc1 and fc2).
type SEModule struct {
	FC1 *nn.Conv2d `nn:"fc1"` // C → C/r
	FC2 *nn.Conv2d `nn:"fc2"` // C/r → C
}

func newSEModule(c, reduction int) *SEModule {
	return &SEModule{FC1: newConv(c, c/reduction, 1, nn.ConvOptions{}), FC2: newConv(c/reduction, c, 1, nn.ConvOptions{})}
}

// Forward rescales x's channels.
func (s *SEModule) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	var p pipe
	z := p.run(globalAvgPool, x)            // squeeze: [N, C, 1, 1]
	z = p.conv(z, s.FC1, nil, relu)         // excitation: C/r, ReLU
	z = p.conv(z, s.FC2, nil, nn.Sigmoid{}) // C, sigmoid
	if p.err != nil {
		return nil, p.err
	}
	return nn.ChannelScale(x, z) // scale (Eq. 4)
}
