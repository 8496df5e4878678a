package classify

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// GoogLeNet: Szegedy et al., "Going Deeper with Convolutions", CVPR 2015
// (arXiv:1409.4842), Table 1 and Figure 3, as torchvision builds it (same
// state-dict keys: conv1.conv.weight, inception3a.branch2.1.bn.running_var,
// fc.bias, …), so that torchvision's checkpoint loads:
//
//   - every convolution is torchvision's BasicConv2d, conv (no bias) →
//     batch norm (ε = 0.001) → ReLU, where the paper has conv → ReLU (the
//     checkpoint is a port of the original weights with batch norms);
//   - the "5x5" branch of each Inception module has a 3x3 kernel, a
//     torchvision bug (pytorch/vision issue 906) its checkpoint is
//     trained with; the widths are the paper's;
//   - the local response normalisations of the paper are left out.
//
// The auxiliary classifiers after inception4a and inception4d (§5) are
// optional (aux1, aux2; off by default, as torchvision's eval model): they
// exist for their weights only, and Forward, an inference pass, never runs
// them.

// inceptionRow is one line of Table 1: an Inception module's widths.
type inceptionRow struct {
	name                                              string // "3a"
	ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, poolProj int
}

// out is the module's output channels, its four branches concatenated.
func (r inceptionRow) out() int { return r.ch1x1 + r.ch3x3 + r.ch5x5 + r.poolProj }

// googlenetSpec is the network: the stem's widths (conv1 7x7/2, conv2
// 1x1, conv3 3x3) and the nine Inception modules, in order.
type googlenetSpec struct {
	stem    [3]int
	modules [9]inceptionRow
	aux     bool // the auxiliary classifiers
	classes int
}

// googlenetTable is Szegedy et al. 2015, Table 1.
var googlenetTable = googlenetSpec{
	stem: [3]int{64, 64, 192},
	modules: [9]inceptionRow{
		//  #1x1 #3x3red #3x3 #5x5red #5x5 poolproj
		{"3a", 64, 96, 128, 16, 32, 32},
		{"3b", 128, 128, 192, 32, 96, 64},
		{"4a", 192, 96, 208, 16, 48, 64},
		{"4b", 160, 112, 224, 24, 64, 64},
		{"4c", 128, 128, 256, 24, 64, 64},
		{"4d", 112, 144, 288, 32, 64, 64},
		{"4e", 256, 160, 320, 32, 128, 128},
		{"5a", 256, 160, 320, 32, 128, 128},
		{"5b", 384, 192, 384, 48, 128, 128},
	},
	classes: 1000,
}

// googlenetModels are the zoo's rows for this file.
var googlenetModels = []entry{{
	name:    "googlenet",
	paper:   "Szegedy et al. 2015, Table 1 (torchvision's GoogLeNet: batch-normalised, 3x3 in the 5x5 branch)",
	build:   func() nn.Module { return newGoogLeNet(googlenetTable) },
	init:    initGoogLeNet,
	weights: transformInputWeights(torchvisionWeights["googlenet"]),
}}

// transformInputWeights adapts the record of a torchvision checkpoint
// trained with transform_input=True (GoogLeNet, Inception-v3). That flag
// turns an ImageNet-normalised input x = (p − mean)/std into
// x·std/0.5 + (mean − 0.5)/0.5 = (p − 0.5)/0.5 per channel, so normalising
// with mean = std = 0.5 gives the network the same input, and it runs
// without the extra pass (TransformInput stays false).
func transformInputWeights(w Weights) Weights {
	w.Preprocess.Mean = [3]float32{0.5, 0.5, 0.5}
	w.Preprocess.Std = [3]float32{0.5, 0.5, 0.5}
	return w
}

// GoogLeNet is Inception v1.
//
// Forward is safe for concurrent use.
type GoogLeNet struct {
	Conv1       *BasicConv2d  `nn:"conv1"`
	Conv2       *BasicConv2d  `nn:"conv2"`
	Conv3       *BasicConv2d  `nn:"conv3"`
	Inception3a *Inception    `nn:"inception3a"`
	Inception3b *Inception    `nn:"inception3b"`
	Inception4a *Inception    `nn:"inception4a"`
	Inception4b *Inception    `nn:"inception4b"`
	Inception4c *Inception    `nn:"inception4c"`
	Inception4d *Inception    `nn:"inception4d"`
	Inception4e *Inception    `nn:"inception4e"`
	Inception5a *Inception    `nn:"inception5a"`
	Inception5b *Inception    `nn:"inception5b"`
	Aux1        *InceptionAux `nn:"aux1"` // nil without auxiliary classifiers
	Aux2        *InceptionAux `nn:"aux2"`
	FC          *nn.Linear    `nn:"fc"`

	// TransformInput is torchvision's transform_input: inputs normalised
	// with the ImageNet mean and standard deviation are turned into the
	// (v − 0.5)/0.5 normalisation the original weights were trained on.
	// Off by default, as torchvision's googlenet(weights=None).
	TransformInput bool
}

// Inception is GoogLeNet's Inception module (Figure 2b): 1x1; 1x1 → 3x3;
// 1x1 → "5x5" (3x3, see the file's doc); 3x3 max pooling → 1x1;
// concatenated.
type Inception struct {
	Branch1 *BasicConv2d `nn:"branch1"`
	Branch2 convChain    `nn:"branch2"`
	Branch3 convChain    `nn:"branch3"`
	Branch4 *poolBranch  `nn:"branch4"`
}

// InceptionAux is an auxiliary classifier (§5): 4x4 average pooling, a 1x1
// convolution to 128 channels, fc1 (1024, ReLU), dropout 0.7, fc2.
type InceptionAux struct {
	Conv *BasicConv2d `nn:"conv"`
	FC1  *nn.Linear   `nn:"fc1"`
	FC2  *nn.Linear   `nn:"fc2"`
}

// newGoogLeNet lays out s with zero weights.
func newGoogLeNet(s googlenetSpec) *GoogLeNet {
	g := &GoogLeNet{
		Conv1: basicConv(3, s.stem[0], sq(7), sq(2), sq(3)),
		Conv2: basicConv(s.stem[0], s.stem[1], sq(1), sq(1), sq(0)),
		Conv3: basicConv(s.stem[1], s.stem[2], sq(3), sq(1), sq(1)),
	}
	slots := [9]**Inception{&g.Inception3a, &g.Inception3b, &g.Inception4a, &g.Inception4b,
		&g.Inception4c, &g.Inception4d, &g.Inception4e, &g.Inception5a, &g.Inception5b}
	in := s.stem[2]
	for i, r := range s.modules {
		*slots[i] = newInception(in, r)
		if s.aux && r.name == "4a" {
			g.Aux1 = newInceptionAux(r.out(), s.classes)
		}
		if s.aux && r.name == "4d" {
			g.Aux2 = newInceptionAux(r.out(), s.classes)
		}
		in = r.out()
	}
	g.FC = newLinear(in, s.classes)
	return g
}

func newInception(in int, r inceptionRow) *Inception {
	return &Inception{
		Branch1: basicConv(in, r.ch1x1, sq(1), sq(1), sq(0)),
		Branch2: convChain{basicConv(in, r.ch3x3red, sq(1), sq(1), sq(0)), basicConv(r.ch3x3red, r.ch3x3, sq(3), sq(1), sq(1))},
		Branch3: convChain{basicConv(in, r.ch5x5red, sq(1), sq(1), sq(0)), basicConv(r.ch5x5red, r.ch5x5, sq(3), sq(1), sq(1))},
		Branch4: &poolBranch{Pool: googlenetBranchPool, Proj: basicConv(in, r.poolProj, sq(1), sq(1), sq(0))},
	}
}

func newInceptionAux(in, classes int) *InceptionAux {
	return &InceptionAux{Conv: basicConv(in, 128, sq(1), sq(1), sq(0)), FC1: newLinear(2048, 1024), FC2: newLinear(1024, classes)}
}

// initGoogLeNet is torchvision's init_weights: convolution and linear
// weights from a normal of standard deviation 0.01 truncated to [−2, 2],
// batch norms γ = 1, β = 0, linear biases torch's default.
func initGoogLeNet(net nn.Module, rng *rand.Rand) {
	for _, m := range nn.Modules(net) {
		switch l := m.(type) {
		case *nn.Conv2d:
			truncNormalFill(rng, l.Weight, 0.01)
		case *nn.Linear:
			truncNormalFill(rng, l.Weight, 0.01)
			uniformFill(rng, l.Bias, 1/math.Sqrt(float64(l.In)))
		}
	}
}

// The poolings of GoogLeNet, all with ceil_mode as torchvision's (the
// Caffe original's output sizes); they keep no state.
var (
	googlenetPool       = nn.NewMaxPool2d(nn.Kernel(3), nn.PoolOptions{Stride: nn.Stride(2), CeilMode: true})
	googlenetPool4      = nn.NewMaxPool2d(nn.Kernel(2), nn.PoolOptions{Stride: nn.Stride(2), CeilMode: true})
	googlenetBranchPool = nn.NewMaxPool2d(nn.Kernel(3), nn.PoolOptions{Stride: nn.Stride(1), Padding: nn.Padding(1), CeilMode: true})
	googlenetAuxPool    = nn.NewAdaptiveAvgPool2d(4, 4)
)

// Forward maps images x [N, 3, H, W] (224×224 in the paper) to logits
// [N, classes].
func (g *GoogLeNet) Forward(x *tensor.Tensor) (*tensor.Tensor, error) { return g.forward(x, nil) }

func (g *GoogLeNet) forward(x *tensor.Tensor, tap tapFunc) (*tensor.Tensor, error) {
	p := &pipe{tap: tap}
	if g.TransformInput {
		x = p.run(inputTransform{}, x)
	}
	x = p.run(g.Conv1, x)                            // 64 × 112 × 112
	x = p.run(googlenetPool, x)                      // 64 × 56 × 56
	x = p.run(g.Conv2, x)                            // 64 × 56 × 56
	x = p.run(g.Conv3, x)                            // 192 × 56 × 56
	x = p.run(googlenetPool, x)                      // 192 × 28 × 28
	x = runStage(p, "inception3a", g.Inception3a, x) // 256 × 28 × 28
	x = runStage(p, "inception3b", g.Inception3b, x) // 480 × 28 × 28
	x = p.run(googlenetPool, x)                      // 480 × 14 × 14
	x = runStage(p, "inception4a", g.Inception4a, x) // 512 × 14 × 14 (aux1 branches off here in training)
	x = runStage(p, "inception4b", g.Inception4b, x) // 512 × 14 × 14
	x = runStage(p, "inception4c", g.Inception4c, x) // 512 × 14 × 14
	x = runStage(p, "inception4d", g.Inception4d, x) // 528 × 14 × 14 (aux2 branches off here in training)
	x = runStage(p, "inception4e", g.Inception4e, x) // 832 × 14 × 14
	x = p.run(googlenetPool4, x)                     // 832 × 7 × 7
	x = runStage(p, "inception5a", g.Inception5a, x) // 832 × 7 × 7
	x = runStage(p, "inception5b", g.Inception5b, x) // 1024 × 7 × 7
	x = p.run(globalAvgPool, x)                      // 1024 × 1 × 1; dropout 0.4 (torchvision 0.2) is the identity
	x = p.run(g.FC, x)
	return p.result(x)
}

// Forward runs the module's four branches on x and concatenates them.
func (m *Inception) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	return concatBranches(x, m.Branch1, m.Branch2, m.Branch3, m.Branch4)
}

// Forward computes the auxiliary logits of the features x [N, C, 14, 14]
// (the head torchvision runs in training only).
func (a *InceptionAux) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	p := &pipe{}
	x = p.run(googlenetAuxPool, x) // N × C × 4 × 4
	x = p.run(a.Conv, x)           // N × 128 × 4 × 4
	x = p.run(a.FC1, x)            // N × 1024
	x = p.run(relu, x)             // dropout 0.7 is the identity
	x = p.run(a.FC2, x)
	return p.result(x)
}

// blockMACs counts the multiply-accumulates of an Inception module on an
// h×w input; the plane keeps its size.
func (m *Inception) blockMACs(h, w int) (int64, int, int) {
	return branchMACs(h, w, m.Branch1, m.Branch2, m.Branch3, m.Branch4)
}

// macs counts the multiply-accumulates of the convolutions and fc on an
// h×w image (the auxiliary classifiers, not run, are not counted).
func (g *GoogLeNet) macs(h, w int) int64 {
	var t macTally
	h, w = t.add(g.Conv1, h, w)
	h, w = poolSize(h, 3, 2, 0, true), poolSize(w, 3, 2, 0, true)
	h, w = t.add(g.Conv2, h, w)
	h, w = t.add(g.Conv3, h, w)
	h, w = poolSize(h, 3, 2, 0, true), poolSize(w, 3, 2, 0, true)
	h, w = t.add(g.Inception3a, h, w)
	h, w = t.add(g.Inception3b, h, w)
	h, w = poolSize(h, 3, 2, 0, true), poolSize(w, 3, 2, 0, true)
	for _, m := range []*Inception{g.Inception4a, g.Inception4b, g.Inception4c, g.Inception4d, g.Inception4e} {
		h, w = t.add(m, h, w)
	}
	h, w = poolSize(h, 2, 2, 0, true), poolSize(w, 2, 2, 0, true)
	h, w = t.add(g.Inception5a, h, w)
	t.add(g.Inception5b, h, w)
	return t.n + int64(g.FC.In)*int64(g.FC.Out)
}

// upgradeStateDict drops the auxiliary classifiers' tensors (aux1.*,
// aux2.*) from a checkpoint when the network has none, as torchvision does
// after loading its googlenet checkpoint, which carries them untrained.
func (g *GoogLeNet) upgradeStateDict(sd map[string]*tensor.Tensor) map[string]*tensor.Tensor {
	if g.Aux1 != nil {
		return sd
	}
	return dropPrefixes(sd, "aux1.", "aux2.")
}

// runStage runs m on x and reports the output as the named stage.
func runStage(p *pipe, name string, m nn.Module, x *tensor.Tensor) *tensor.Tensor {
	x = p.run(m, x)
	p.mark(name, x)
	return x
}

// inputTransform is torchvision's _transform_input for GoogLeNet and
// Inception-v3: x [N, 3, H, W] normalised with the ImageNet mean and
// standard deviation becomes (v − 0.5)/0.5 of the pixel value v, channel
// by channel: x·(std/0.5) + (mean − 0.5)/0.5.
type inputTransform struct{}

func (inputTransform) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	if x == nil || x.Dims() != 4 || x.Dim(1) != 3 {
		return nil, fmt.Errorf("%w: input %v, want [N, 3, H, W] for transform_input", nn.ErrShape, shapeOf(x))
	}
	mean := [3]float32{0.485, 0.456, 0.406}
	std := [3]float32{0.229, 0.224, 0.225}
	y := tensor.New(x.Shape()...)
	plane := x.Dim(2) * x.Dim(3)
	for q := 0; q < x.Dim(0)*3; q++ {
		c := q % 3
		a, b := std[c]/0.5, (mean[c]-0.5)/0.5
		d := y.Data()[q*plane : (q+1)*plane]
		for i, v := range x.Data()[q*plane : (q+1)*plane] {
			d[i] = v*a + b
		}
	}
	return y, nil
}

// --- The building blocks of the Inception family (GoogLeNet, BN-Inception,
// Inception-v3, Inception-v4 and Inception-ResNet).

// BasicConv2d is the convolution of torchvision's (and the Inception-v4
// ports') Inception networks: conv (no bias) → batch norm (ε = 0.001, the
// TensorFlow value) → ReLU, run as one convolution with the batch norm
// folded in and the ReLU fused.
type BasicConv2d struct {
	Conv *nn.Conv2d      `nn:"conv"`
	BN   *nn.BatchNorm2d `nn:"bn"`
}

// basicConv lays out a BasicConv2d of zero weights; kernel, stride and
// padding are [H, W] pairs.
func basicConv(in, out int, kernel, stride, pad [2]int) *BasicConv2d {
	bn := nn.NewBatchNorm2d(out)
	bn.Eps = 1e-3
	return &BasicConv2d{Conv: convHW(in, out, kernel, stride, pad, false), BN: bn}
}

// Forward computes relu(bn(conv(x))).
func (b *BasicConv2d) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	return nn.ConvBNAct(x, b.Conv, b.BN, relu)
}

func (b *BasicConv2d) blockMACs(h, w int) (int64, int, int) { return convMACs(b.Conv, h, w) }

// convHW lays out a Conv2d of zero weights with a kernel, stride and
// padding of [H, W] (the 1x7 and 7x1 convolutions of Inception-v3 on).
func convHW(in, out int, kernel, stride, pad [2]int, bias bool) *nn.Conv2d {
	c := &nn.Conv2d{InC: in, OutC: out, KH: kernel[0], KW: kernel[1], StrideH: stride[0], StrideW: stride[1],
		PadH: pad[0], PadW: pad[1], DilationH: 1, DilationW: 1, Groups: 1, Weight: tensor.New(out, in, kernel[0], kernel[1])}
	if bias {
		c.Bias = tensor.New(out)
	}
	return c
}

// sq is a square [H, W] pair.
func sq(v int) [2]int { return [2]int{v, v} }

// convChain is a branch of BasicConv2ds run in order, named "0", "1", …
// as torchvision's nn.Sequential branches.
type convChain []*BasicConv2d

// Children names the convolutions by index.
func (c convChain) Children() []nn.Child {
	cs := make([]nn.Child, len(c))
	for i, b := range c {
		cs[i] = nn.Child{Name: strconv.Itoa(i), Module: b}
	}
	return cs
}

// Forward runs the convolutions in order.
func (c convChain) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	for i, b := range c {
		var err error
		if x, err = b.Forward(x); err != nil {
			return nil, fmt.Errorf("%d: %w", i, err)
		}
	}
	return x, nil
}

func (c convChain) blockMACs(h, w int) (int64, int, int) {
	var t macTally
	for _, b := range c {
		h, w = t.add(b, h, w)
	}
	return t.n, h, w
}

// poolBranch is a pooling followed by a 1x1 projection, torchvision's
// nn.Sequential(pool, BasicConv2d): the projection is child "1".
type poolBranch struct {
	Pool nn.Module      // a pooling of stride 1 that keeps the plane's size
	Proj inceptionLayer `nn:"1"`
}

// Forward computes proj(pool(x)).
func (b *poolBranch) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	y, err := b.Pool.Forward(x)
	if err != nil {
		return nil, err
	}
	return b.Proj.Forward(y)
}

func (b *poolBranch) blockMACs(h, w int) (int64, int, int) { return b.Proj.blockMACs(h, w) }

// inceptionLayer is a block of the Inception family: a module that counts its
// multiply-accumulates.
type inceptionLayer interface {
	nn.Module
	macBlock
}

// layerSeq runs layers in order: a branch whose layers are named elsewhere.
type layerSeq []inceptionLayer

// Forward runs the layers in order.
func (s layerSeq) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	for i, l := range s {
		var err error
		if x, err = l.Forward(x); err != nil {
			return nil, fmt.Errorf("%d: %w", i, err)
		}
	}
	return x, nil
}

func (s layerSeq) blockMACs(h, w int) (int64, int, int) {
	var t macTally
	for _, l := range s {
		h, w = t.add(l, h, w)
	}
	return t.n, h, w
}

// concatBranches runs each branch on x and concatenates the outputs along
// the channels: an Inception module's filter concatenation.
func concatBranches(x *tensor.Tensor, branches ...nn.Module) (*tensor.Tensor, error) {
	ys := make([]*tensor.Tensor, len(branches))
	for i, b := range branches {
		var err error
		if ys[i], err = b.Forward(x); err != nil {
			return nil, fmt.Errorf("branch %d: %w", i+1, err)
		}
	}
	return nn.Concat(ys...)
}

// macBlock is a block that counts its multiply-accumulates on an h×w input
// and gives its output size.
type macBlock interface {
	blockMACs(h, w int) (macs int64, oh, ow int)
}

// branchMACs sums the branches' multiply-accumulates; the output size is
// the first branch's (all branches agree).
func branchMACs(h, w int, branches ...macBlock) (int64, int, int) {
	var n int64
	oh, ow := h, w
	for i, b := range branches {
		m, bh, bw := b.blockMACs(h, w)
		n += m
		if i == 0 {
			oh, ow = bh, bw
		}
	}
	return n, oh, ow
}

// macTally adds up the multiply-accumulates of blocks run in sequence.
type macTally struct{ n int64 }

func (t *macTally) add(b macBlock, h, w int) (int, int) {
	m, oh, ow := b.blockMACs(h, w)
	t.n += m
	return oh, ow
}

// truncNormalFill draws t from a normal of mean 0 and standard deviation
// std, redrawing values outside [−2, 2]: torch's trunc_normal_ with its
// default bounds.
func truncNormalFill(rng *rand.Rand, t *tensor.Tensor, std float64) {
	if t == nil {
		return
	}
	for i := range t.Data() {
		v := rng.NormFloat64() * std
		for v < -2 || v > 2 {
			v = rng.NormFloat64() * std
		}
		t.Data()[i] = float32(v)
	}
}

// dropPrefixes returns sd without the keys that start with any prefix.
func dropPrefixes(sd map[string]*tensor.Tensor, prefixes ...string) map[string]*tensor.Tensor {
	out := make(map[string]*tensor.Tensor, len(sd))
next:
	for k, v := range sd {
		for _, p := range prefixes {
			if len(k) >= len(p) && k[:len(p)] == p {
				continue next
			}
		}
		out[k] = v
	}
	return out
}
