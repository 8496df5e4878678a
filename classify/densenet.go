package classify

import (
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"sync"

	"govision.dev/accel"
	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// DenseNet: Huang, Liu, van der Maaten and Weinberger, "Densely Connected
// Convolutional Networks", CVPR 2017 (arXiv:1608.06993), in its DenseNet-BC
// form: each layer is a bottleneck BN-ReLU-Conv(1x1, 4k)-BN-ReLU-Conv(3x3,
// k) whose k new feature maps are concatenated to everything before it in
// its dense block (§3, "Dense connectivity", "Bottleneck layers"); between
// blocks a transition BN-ReLU-Conv(1x1)-AvgPool(2x2) halves the channels
// (compression θ = 0.5, "Compression"). The ImageNet models are Table 1's
// (torchvision's densenet121/161/169/201, same state-dict keys:
// features.denseblock1.denselayer1.norm1.weight, …); the CIFAR model is §3's
// DenseNet-BC with L = 100, k = 12 (Table 2), under torchvision's naming.

// denseNetSpec is one row of the paper's table.
type denseNetSpec struct {
	growth       int   // k, the growth rate (§3)
	blocks       []int // bottleneck layers per dense block (Table 1)
	initFeatures int   // output channels of the first convolution
	bnSize       int   // the 1x1 bottleneck gives bnSize·k maps (§3: 4k)
	cifar        bool  // the CIFAR stem: one 3x3 convolution, no pooling (§3, "Implementation Details")
	classes      int
}

// denseNetSpecs are the variants: Table 1 (ImageNet; densenet161 is the
// k = 48 model of torchvision and the authors' release) and §3 / Table 2
// (CIFAR: three dense blocks of (100−4)/6 = 16 bottleneck layers, 2k = 24
// channels from the first convolution).
var denseNetSpecs = map[string]denseNetSpec{
	"densenet121":        {growth: 32, blocks: []int{6, 12, 24, 16}, initFeatures: 64, bnSize: 4, classes: 1000},
	"densenet161":        {growth: 48, blocks: []int{6, 12, 36, 24}, initFeatures: 96, bnSize: 4, classes: 1000},
	"densenet169":        {growth: 32, blocks: []int{6, 12, 32, 32}, initFeatures: 64, bnSize: 4, classes: 1000},
	"densenet201":        {growth: 32, blocks: []int{6, 12, 48, 32}, initFeatures: 64, bnSize: 4, classes: 1000},
	"densenet_bc_100_12": {growth: 12, blocks: []int{16, 16, 16}, initFeatures: 24, bnSize: 4, cifar: true, classes: 10},
}

// DenseNet is a DenseNet-BC classifier. Its tensors are named as
// torchvision's (features.conv0.weight, features.denseblock2.denselayer3.
// conv1.weight, features.transition1.norm.running_var, classifier.bias).
//
// Forward is safe for concurrent use.
type DenseNet struct {
	Features   *DenseFeatures `nn:"features"`
	Classifier *nn.Linear     `nn:"classifier"`
}

// DenseFeatures is torchvision's features Sequential: the stem (conv0,
// norm0, relu0, pool0; the CIFAR stem has conv0 only), denseblock1,
// transition1, …, denseblockN, norm5.
type DenseFeatures struct {
	Conv0       *nn.Conv2d
	Norm0       *nn.BatchNorm2d // nil in the CIFAR stem
	Pool0       *nn.MaxPool2d   // nil in the CIFAR stem
	Blocks      []*DenseBlock
	Transitions []*DenseTransition // one fewer than Blocks
	Norm5       *nn.BatchNorm2d
}

// DenseBlock is a dense block: layer i sees the block's input and the
// outputs of layers 1…i−1, concatenated.
type DenseBlock struct {
	Layers []*DenseLayer
}

// DenseLayer is a bottleneck layer, BN-ReLU-Conv(1x1)-BN-ReLU-Conv(3x3).
type DenseLayer struct {
	Norm1 *nn.BatchNorm2d `nn:"norm1"`
	Conv1 *nn.Conv2d      `nn:"conv1"`
	Norm2 *nn.BatchNorm2d `nn:"norm2"`
	Conv2 *nn.Conv2d      `nn:"conv2"`
}

// DenseTransition is BN-ReLU-Conv(1x1)-AvgPool(2x2, stride 2).
type DenseTransition struct {
	Norm *nn.BatchNorm2d `nn:"norm"`
	Conv *nn.Conv2d      `nn:"conv"`
}

// densenetModels are the zoo's rows for this file.
var densenetModels = []entry{
	denseNetEntry("densenet121", "Huang et al. 2017, Table 1 (DenseNet-121, k = 32)", torchvisionWeights["densenet121"]),
	denseNetEntry("densenet161", "Huang et al. 2017, Table 1 (DenseNet-161, k = 48)", torchvisionWeights["densenet161"]),
	denseNetEntry("densenet169", "Huang et al. 2017, Table 1 (DenseNet-169, k = 32)", torchvisionWeights["densenet169"]),
	denseNetEntry("densenet201", "Huang et al. 2017, Table 1 (DenseNet-201, k = 32)", torchvisionWeights["densenet201"]),
	denseNetEntry("densenet_bc_100_12", "Huang et al. 2017, §3 and Table 2 (DenseNet-BC, L = 100, k = 12)", Weights{
		// No released file; the paper's figures.
		Params: 769162, Top1: 95.49,
		Source:     "Huang et al. 2017, Table 2: 0.8M parameters, 4.51% error on C10+ (augmented CIFAR-10)",
		Preprocess: cifarPreprocess, Labels: CIFAR10,
	}),
}

func denseNetEntry(name, paper string, w Weights) entry {
	s := denseNetSpecs[name]
	return entry{name: name, paper: paper, weights: w,
		build: func() nn.Module { return newDenseNet(s) },
		init:  initDenseNet,
	}
}

// newDenseNet lays out s with zero weights.
func newDenseNet(s denseNetSpec) *DenseNet {
	f := &DenseFeatures{}
	if s.cifar {
		f.Conv0 = conv(3, s.initFeatures, 3, 1, 1)
	} else {
		f.Conv0 = conv(3, s.initFeatures, 7, 2, 3)
		f.Norm0 = nn.NewBatchNorm2d(s.initFeatures)
		f.Pool0 = nn.NewMaxPool2d(nn.Kernel(3), nn.PoolOptions{Stride: nn.Stride(2), Padding: nn.Padding(1)})
	}
	c := s.initFeatures
	for i, layers := range s.blocks {
		b := &DenseBlock{}
		for j := 0; j < layers; j++ {
			b.Layers = append(b.Layers, &DenseLayer{
				Norm1: nn.NewBatchNorm2d(c + j*s.growth),
				Conv1: conv(c+j*s.growth, s.bnSize*s.growth, 1, 1, 0),
				Norm2: nn.NewBatchNorm2d(s.bnSize * s.growth),
				Conv2: conv(s.bnSize*s.growth, s.growth, 3, 1, 1),
			})
		}
		f.Blocks = append(f.Blocks, b)
		c += layers * s.growth
		if i < len(s.blocks)-1 { // compression θ = 0.5
			f.Transitions = append(f.Transitions, &DenseTransition{Norm: nn.NewBatchNorm2d(c), Conv: conv(c, c/2, 1, 1, 0)})
			c /= 2
		}
	}
	f.Norm5 = nn.NewBatchNorm2d(c)
	return &DenseNet{Features: f, Classifier: newLinear(c, s.classes)}
}

// initDenseNet is torchvision's initialisation: convolutions
// kaiming_normal_ (fan in, ReLU gain), batch norms γ = 1, β = 0, the
// classifier's weight torch's default and its bias 0.
func initDenseNet(net nn.Module, rng *rand.Rand) {
	for _, m := range nn.Modules(net) {
		switch l := m.(type) {
		case *nn.Conv2d:
			normalFill(rng, l.Weight, math.Sqrt(2/float64(fanIn(l.Weight))))
		case *nn.Linear:
			uniformFill(rng, l.Weight, 1/math.Sqrt(float64(l.In)))
			zeroFill(l.Bias)
		}
	}
}

// macs counts the multiply-accumulates of the convolutions and the
// classifier on an h×w image, each transition's convolution at its input
// resolution as the architecture defines it (Forward pools first).
func (d *DenseNet) macs(h, w int) int64 {
	f := d.Features
	total, h, w := convMACs(f.Conv0, h, w)
	if f.Pool0 != nil {
		h, w = poolSize(h, 3, 2, 1, false), poolSize(w, 3, 2, 1, false)
	}
	for i, b := range f.Blocks {
		for _, l := range b.Layers {
			m1, _, _ := convMACs(l.Conv1, h, w)
			m2, _, _ := convMACs(l.Conv2, h, w)
			total += m1 + m2
		}
		if i < len(f.Transitions) {
			m, _, _ := convMACs(f.Transitions[i].Conv, h, w)
			total += m
			h, w = h/2, w/2
		}
	}
	return total + int64(d.Classifier.In)*int64(d.Classifier.Out)
}

// oldDenseLayerKey matches the keys of torchvision's released DenseNet
// checkpoints, saved when a dense layer's modules were named "norm.1",
// "conv.2" and so on.
var oldDenseLayerKey = regexp.MustCompile(`^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$`)

// upgradeStateDict renames the old-style keys of torchvision's released
// DenseNet checkpoints (features.denseblock1.denselayer1.norm.1.weight) to
// the current ones (….norm1.weight), as torchvision's _load_state_dict
// does; other keys pass unchanged.
func (d *DenseNet) upgradeStateDict(sd map[string]*tensor.Tensor) map[string]*tensor.Tensor {
	out := make(map[string]*tensor.Tensor, len(sd))
	for k, v := range sd {
		if m := oldDenseLayerKey.FindStringSubmatch(k); m != nil {
			k = m[1] + m[2]
		}
		out[k] = v
	}
	return out
}

// Children names the stem, blocks and transitions as torchvision's
// Sequential does (conv0, norm0, denseblock1, transition1, …, norm5);
// relu0 and pool0 hold no tensors.
func (f *DenseFeatures) Children() []nn.Child {
	cs := []nn.Child{{Name: "conv0", Module: f.Conv0}}
	if f.Norm0 != nil {
		cs = append(cs, nn.Child{Name: "norm0", Module: f.Norm0})
	}
	for i, b := range f.Blocks {
		cs = append(cs, nn.Child{Name: "denseblock" + strconv.Itoa(i+1), Module: b})
		if i < len(f.Transitions) {
			cs = append(cs, nn.Child{Name: "transition" + strconv.Itoa(i+1), Module: f.Transitions[i]})
		}
	}
	return append(cs, nn.Child{Name: "norm5", Module: f.Norm5})
}

// Children names the layers denselayer1, denselayer2, ….
func (b *DenseBlock) Children() []nn.Child {
	cs := make([]nn.Child, len(b.Layers))
	for i, l := range b.Layers {
		cs[i] = nn.Child{Name: "denselayer" + strconv.Itoa(i+1), Module: l}
	}
	return cs
}

// Forward maps images x [N, 3, H, W] to logits [N, classes].
func (d *DenseNet) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	return d.forward(x, nil)
}

func (d *DenseNet) forward(x *tensor.Tensor, tap tapFunc) (*tensor.Tensor, error) {
	f, err := d.Features.forward(x, tap)
	if err != nil {
		return nil, err
	}
	// The final BN-ReLU and the global average pooling in one pass.
	n, c, h, w := f.Dim(0), f.Dim(1), f.Dim(2), f.Dim(3)
	pooled := tensor.New(n, c)
	bnReLUMean(pooled.Data(), f.Data(), n, c, h*w, d.Features.Norm5)
	f.Release()
	return d.Classifier.Forward(pooled)
}

// Forward runs the feature extractor: x [N, 3, H, W] to the last dense
// block's output after norm5, [N, C, H/32, W/32] (H/4 for CIFAR), before
// the final ReLU.
func (f *DenseFeatures) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	y, err := f.forward(x, nil)
	if err != nil {
		return nil, err
	}
	out, err := f.Norm5.Forward(y)
	y.Release()
	return out, err
}

// forward runs the features up to and excluding norm5 (DenseNet.forward
// fuses it with the pooling). The result may come from the scratch pool:
// the caller releases it.
func (f *DenseFeatures) forward(x *tensor.Tensor, tap tapFunc) (*tensor.Tensor, error) {
	p := &pipe{tap: tap}
	if f.Norm0 != nil { // conv0 → norm0 → relu0 → pool0
		x = p.conv(x, f.Conv0, f.Norm0, relu)
		x = p.run(f.Pool0, x)
	} else { // CIFAR: conv0 alone
		x = p.conv(x, f.Conv0, nil, nil)
	}
	p.mark("features.pool0", x)
	for i, b := range f.Blocks {
		x = swapRelease(x, p.run(b, x))
		p.mark("features.denseblock"+strconv.Itoa(i+1), x)
		if i < len(f.Transitions) {
			x = swapRelease(x, p.run(f.Transitions[i], x))
			p.mark("features.transition"+strconv.Itoa(i+1), x)
		}
	}
	return p.result(x)
}

// Forward computes the block's concatenated output [N, C + L·k, H, W]
// without concatenating anything: the output is allocated once, the input
// is copied into its first C channels, and each layer reads the channels
// written so far and writes its k new maps straight after them.
func (b *DenseBlock) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	if len(b.Layers) == 0 && x != nil {
		return x.Clone(), nil
	}
	if x == nil || len(b.Layers) == 0 || x.Dims() != 4 || x.Dim(1) != b.Layers[0].Norm1.C {
		return nil, fmt.Errorf("%w: dense block: input %v", nn.ErrShape, shapeOf(x))
	}
	n, c, h, w := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	total := c
	for _, l := range b.Layers {
		total += l.Conv2.OutC
	}
	plane := h * w
	out := tensor.Get(n, total, h, w)
	for i := 0; i < n; i++ {
		copy(out.Data()[i*total*plane:], x.Data()[i*c*plane:(i+1)*c*plane])
	}
	for j, l := range b.Layers {
		if l.Norm1.C != c || l.Conv1.InC != c || l.Conv2.InC != l.Conv1.OutC {
			return nil, fmt.Errorf("%w: denselayer%d expects %d channels, has %d", nn.ErrShape, j+1, l.Norm1.C, c)
		}
		// norm1 → relu1 on the c channels so far, into scratch.
		z := tensor.Get(n, c, h, w)
		for i := 0; i < n; i++ {
			bnReLUInto(z.Data()[i*c*plane:(i+1)*c*plane], out.Data()[i*total*plane:], c, plane, l.Norm1)
		}
		// conv1 → norm2 → relu2, the batch norm folded into the convolution.
		y, err := nn.ConvBNAct(z, l.Conv1, l.Norm2, nn.ReLU{})
		z.Release()
		if err != nil {
			return nil, fmt.Errorf("denselayer%d: %w", j+1, err)
		}
		// conv2, written into channels [c, c+k) of each image's output.
		k := l.Conv2.OutC
		p := accel.ConvParams{N: 1, C: l.Conv2.InC, H: h, W: w, OutC: k, KH: l.Conv2.KH, KW: l.Conv2.KW,
			StrideH: l.Conv2.StrideH, StrideW: l.Conv2.StrideW, PadH: l.Conv2.PadH, PadW: l.Conv2.PadW,
			DilationH: l.Conv2.DilationH, DilationW: l.Conv2.DilationW, Groups: l.Conv2.Groups}
		if oh, ow := p.OutSize(); oh != h || ow != w {
			return nil, fmt.Errorf("%w: denselayer%d conv2 changes the plane %dx%d to %dx%d", nn.ErrShape, j+1, h, w, oh, ow)
		}
		var ep *accel.Epilogue
		if l.Conv2.Bias != nil {
			ep = &accel.Epilogue{Bias: l.Conv2.Bias.Data()}
		}
		in := l.Conv2.InC * plane
		for i := 0; i < n; i++ {
			dst := out.Data()[(i*total+c)*plane : (i*total+c+k)*plane]
			accel.Conv2D(dst, y.Data()[i*in:(i+1)*in], l.Conv2.Weight.Data(), p, ep)
		}
		c += k
	}
	return out, nil
}

// Forward maps the concatenation of a block's input and earlier layers'
// outputs, x [N, C, H, W], to the layer's k new maps [N, k, H, W]
// (DenseBlock.Forward runs its layers without concatenating).
func (l *DenseLayer) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	if x == nil || x.Dims() != 4 || x.Dim(1) != l.Norm1.C {
		return nil, fmt.Errorf("%w: input %v for a dense layer of %d channels", nn.ErrShape, shapeOf(x), l.Norm1.C)
	}
	z := tensor.Get(x.Shape()...)
	bnReLUInto(z.Data(), x.Data(), x.Dim(0)*x.Dim(1), x.Dim(2)*x.Dim(3), l.Norm1)
	y, err := nn.ConvBNAct(z, l.Conv1, l.Norm2, nn.ReLU{})
	z.Release()
	if err != nil {
		return nil, err
	}
	return l.Conv2.Forward(y)
}

// Forward computes conv(avgpool(relu(norm(x)))) for x [N, C, H, W]: the 2x2 average pooling
// runs before the 1x1 convolution, which gives the same result (both are
// linear and the convolution has no bias; the sums are only ordered
// differently) for a quarter of the multiplications.
func (t *DenseTransition) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	if x == nil || x.Dims() != 4 || x.Dim(1) != t.Norm.C {
		return nil, fmt.Errorf("%w: input %v for a transition of %d channels", nn.ErrShape, shapeOf(x), t.Norm.C)
	}
	n, c, h, w := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	if h < 2 || w < 2 {
		return nil, fmt.Errorf("%w: input %v too small for the 2x2 pooling", nn.ErrShape, x.Shape())
	}
	z := tensor.Get(n, c, h, w)
	bnReLUInto(z.Data(), x.Data(), n*c, h*w, t.Norm)
	p := tensor.Get(n, c, h/2, w/2)
	accel.AvgPool2D(p.Data(), z.Data(), n, c, h, w, accel.Pool2DParams{KernelH: 2, KernelW: 2, StrideH: 2, StrideW: 2, CountIncludePad: true})
	z.Release()
	y, err := t.Conv.Forward(p)
	p.Release()
	return y, err
}

// bnReLU sets dst to max(bn(src), 0) for planes planes of size plane:
// plane q has the statistics of channel q mod bn.C. It is one pass of
// BatchNorm2d's folded form, y = x·scale + shift (scale = γ/√(var+ε),
// shift = β − mean·scale, computed as nn.BatchNorm2d does), and ReLU.
// DenseNet's pre-activation BN-ReLU comes before its convolution, so it
// cannot fold into that convolution's epilogue.
func bnReLUInto(dst, src []float32, planes, plane int, bn *nn.BatchNorm2d) {
	scale, shift := foldBN(bn)
	forPlanesParallel(planes, plane, func(q int) {
		s, t := scale[q%bn.C], shift[q%bn.C]
		d := dst[q*plane : (q+1)*plane]
		for i, v := range src[q*plane : (q+1)*plane] {
			d[i] = max(v*s+t, 0)
		}
	})
}

// bnReLUMean sets dst[i·c+ch] to the mean over the plane of max(bn(x), 0)
// for the n·c planes of src: torchvision's norm5 → relu →
// adaptive_avg_pool2d(1) in one pass, the sum in float64 as torch's mean.
func bnReLUMean(dst, src []float32, n, c, plane int, bn *nn.BatchNorm2d) {
	scale, shift := foldBN(bn)
	forPlanesParallel(n*c, plane, func(q int) {
		s, t := scale[q%c], shift[q%c]
		var sum float64
		for _, v := range src[q*plane : (q+1)*plane] {
			sum += float64(max(v*s+t, 0))
		}
		dst[q] = float32(sum / float64(plane))
	})
}

// foldBN returns bn's folded scale and shift, computed in float64 and
// rounded once, as nn.BatchNorm2d folds them.
func foldBN(bn *nn.BatchNorm2d) (scale, shift []float32) {
	scale, shift = make([]float32, bn.C), make([]float32, bn.C)
	g, b := bn.Weight.Data(), bn.Bias.Data()
	m, v := bn.RunningMean.Data(), bn.RunningVar.Data()
	for i := range scale {
		s := float64(g[i]) / math.Sqrt(float64(v[i])+float64(bn.Eps))
		scale[i] = float32(s)
		shift[i] = float32(float64(b[i]) - float64(m[i])*s)
	}
	return scale, shift
}

// parallelMin is the work (values touched) below which an element-wise
// pass stays on the calling goroutine: spawning costs about a microsecond,
// a pass over 32 K values about ten.
const parallelMin = 1 << 15

// forPlanesParallel calls fn(q) for q in [0, planes), split over
// accel.Threads() goroutines when there is enough work.
func forPlanesParallel(planes, plane int, fn func(q int)) {
	t := accel.Threads()
	if t < 2 || planes < 2 || planes*plane < parallelMin {
		for q := 0; q < planes; q++ {
			fn(q)
		}
		return
	}
	t = min(t, planes)
	var wg sync.WaitGroup
	for g := 0; g < t; g++ {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			for q := lo; q < hi; q++ {
				fn(q)
			}
		}(g*planes/t, (g+1)*planes/t)
	}
	wg.Wait()
}

// swapRelease releases old (an activation no longer needed; a no-op unless it
// came from the scratch pool) and returns next.
func swapRelease(old, next *tensor.Tensor) *tensor.Tensor {
	if old != next {
		old.Release()
	}
	return next
}

// shapeOf is x's shape for an error message; nil for a nil tensor.
func shapeOf(x *tensor.Tensor) []int {
	if x == nil {
		return nil
	}
	return x.Shape()
}
