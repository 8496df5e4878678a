package classify

import (
	"math"
	"math/rand/v2"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// Inception-v3: Szegedy, Vanhoucke, Ioffe, Shlens and Wojna, "Rethinking
// the Inception Architecture for Computer Vision", CVPR 2016
// (arXiv:1512.00567), Table 1, in the form of the released TensorFlow model
// that torchvision ports (same state-dict keys: Conv2d_1a_3x3.conv.weight,
// Mixed_6b.branch7x7dbl_3.bn.running_mean, fc.bias, …):
//
//	299×299×3   stem: conv 3x3/2, conv 3x3, conv 3x3 padded, max pool 3x3/2,
//	            conv 1x1 (80), conv 3x3 (192), max pool 3x3/2
//	35×35×192   3 × Inception (Figure 5: the 5x5 factorised into 3x3s;
//	            the released model keeps one 5x5 branch)   → 35×35×288
//	35×35×288   grid reduction (Figure 10)                → 17×17×768
//	17×17×768   4 × Inception (Figure 6: n×n factorised into 1×7, 7×1)
//	17×17×768   grid reduction                            → 8×8×1280
//	8×8×1280    2 × Inception (Figure 7: expanded filter banks) → 8×8×2048
//	            average pool, dropout, linear
//
// Every convolution is a BasicConv2d (conv → batch norm ε = 0.001 → ReLU).
// The auxiliary classifier on the 17×17 grid (§7) is optional (AuxLogits,
// off by default as torchvision's eval model) and never run by Forward.

// inceptionV3Spec holds the network's free parameters, Table 1 with the
// released model's widths.
type inceptionV3Spec struct {
	poolFeatures [3]int // the pool projections of Mixed_5b, 5c, 5d
	channels7x7  [4]int // the 1x7/7x1 widths of Mixed_6b, 6c, 6d, 6e
	aux          bool   // the auxiliary classifier (AuxLogits)
	classes      int
	// div divides every width (not the 3 input channels): 1 for the
	// published network; the parity fixtures use 16.
	div int
}

var inceptionV3Table = inceptionV3Spec{
	poolFeatures: [3]int{32, 64, 64},
	channels7x7:  [4]int{128, 160, 160, 192},
	classes:      1000,
	div:          1,
}

// inceptionV3Models are the zoo's rows for this file.
var inceptionV3Models = []entry{{
	name:    "inception_v3",
	paper:   "Szegedy et al. 2016, Table 1 (the released TensorFlow model, as torchvision's Inception3)",
	build:   func() nn.Module { return newInceptionV3(inceptionV3Table) },
	init:    initInceptionV3,
	weights: transformInputWeights(torchvisionWeights["inception_v3"]),
}}

// InceptionV3 is torchvision's Inception3.
//
// Forward is safe for concurrent use.
type InceptionV3 struct {
	Conv1a    *BasicConv2d    `nn:"Conv2d_1a_3x3"`
	Conv2a    *BasicConv2d    `nn:"Conv2d_2a_3x3"`
	Conv2b    *BasicConv2d    `nn:"Conv2d_2b_3x3"`
	Conv3b    *BasicConv2d    `nn:"Conv2d_3b_1x1"`
	Conv4a    *BasicConv2d    `nn:"Conv2d_4a_3x3"`
	Mixed5b   *InceptionA     `nn:"Mixed_5b"`
	Mixed5c   *InceptionA     `nn:"Mixed_5c"`
	Mixed5d   *InceptionA     `nn:"Mixed_5d"`
	Mixed6a   *InceptionB     `nn:"Mixed_6a"`
	Mixed6b   *InceptionC     `nn:"Mixed_6b"`
	Mixed6c   *InceptionC     `nn:"Mixed_6c"`
	Mixed6d   *InceptionC     `nn:"Mixed_6d"`
	Mixed6e   *InceptionC     `nn:"Mixed_6e"`
	AuxLogits *InceptionV3Aux `nn:"AuxLogits"` // nil without the auxiliary classifier
	Mixed7a   *InceptionD     `nn:"Mixed_7a"`
	Mixed7b   *InceptionE     `nn:"Mixed_7b"`
	Mixed7c   *InceptionE     `nn:"Mixed_7c"`
	FC        *nn.Linear      `nn:"fc"`

	// TransformInput is torchvision's transform_input (see GoogLeNet's).
	TransformInput bool
}

// InceptionA is a 35×35 module (Figure 5): 1x1; 1x1 → 5x5; 1x1 → 3x3 →
// 3x3; 3x3 average pooling → 1x1.
type InceptionA struct {
	Branch1x1     *BasicConv2d `nn:"branch1x1"`
	Branch5x5_1   *BasicConv2d `nn:"branch5x5_1"`
	Branch5x5_2   *BasicConv2d `nn:"branch5x5_2"`
	Branch3x3dbl1 *BasicConv2d `nn:"branch3x3dbl_1"`
	Branch3x3dbl2 *BasicConv2d `nn:"branch3x3dbl_2"`
	Branch3x3dbl3 *BasicConv2d `nn:"branch3x3dbl_3"`
	BranchPool    *BasicConv2d `nn:"branch_pool"`
}

// InceptionB is the 35→17 grid reduction (Figure 10): 3x3/2; 1x1 → 3x3 →
// 3x3/2; 3x3/2 max pooling.
type InceptionB struct {
	Branch3x3     *BasicConv2d `nn:"branch3x3"`
	Branch3x3dbl1 *BasicConv2d `nn:"branch3x3dbl_1"`
	Branch3x3dbl2 *BasicConv2d `nn:"branch3x3dbl_2"`
	Branch3x3dbl3 *BasicConv2d `nn:"branch3x3dbl_3"`
}

// InceptionC is a 17×17 module (Figure 6, n = 7): 1x1; 1x1 → 1x7 → 7x1;
// 1x1 → 7x1 → 1x7 → 7x1 → 1x7; 3x3 average pooling → 1x1.
type InceptionC struct {
	Branch1x1     *BasicConv2d `nn:"branch1x1"`
	Branch7x7_1   *BasicConv2d `nn:"branch7x7_1"`
	Branch7x7_2   *BasicConv2d `nn:"branch7x7_2"`
	Branch7x7_3   *BasicConv2d `nn:"branch7x7_3"`
	Branch7x7dbl1 *BasicConv2d `nn:"branch7x7dbl_1"`
	Branch7x7dbl2 *BasicConv2d `nn:"branch7x7dbl_2"`
	Branch7x7dbl3 *BasicConv2d `nn:"branch7x7dbl_3"`
	Branch7x7dbl4 *BasicConv2d `nn:"branch7x7dbl_4"`
	Branch7x7dbl5 *BasicConv2d `nn:"branch7x7dbl_5"`
	BranchPool    *BasicConv2d `nn:"branch_pool"`
}

// InceptionD is the 17→8 grid reduction: 1x1 → 3x3/2; 1x1 → 1x7 → 7x1 →
// 3x3/2; 3x3/2 max pooling.
type InceptionD struct {
	Branch3x3_1   *BasicConv2d `nn:"branch3x3_1"`
	Branch3x3_2   *BasicConv2d `nn:"branch3x3_2"`
	Branch7x7x3_1 *BasicConv2d `nn:"branch7x7x3_1"`
	Branch7x7x3_2 *BasicConv2d `nn:"branch7x7x3_2"`
	Branch7x7x3_3 *BasicConv2d `nn:"branch7x7x3_3"`
	Branch7x7x3_4 *BasicConv2d `nn:"branch7x7x3_4"`
}

// InceptionE is an 8×8 module with expanded filter banks (Figure 7): 1x1;
// 1x1 → (1x3, 3x1); 1x1 → 3x3 → (1x3, 3x1); 3x3 average pooling → 1x1.
type InceptionE struct {
	Branch1x1      *BasicConv2d `nn:"branch1x1"`
	Branch3x3_1    *BasicConv2d `nn:"branch3x3_1"`
	Branch3x3_2a   *BasicConv2d `nn:"branch3x3_2a"`
	Branch3x3_2b   *BasicConv2d `nn:"branch3x3_2b"`
	Branch3x3dbl1  *BasicConv2d `nn:"branch3x3dbl_1"`
	Branch3x3dbl2  *BasicConv2d `nn:"branch3x3dbl_2"`
	Branch3x3dbl3a *BasicConv2d `nn:"branch3x3dbl_3a"`
	Branch3x3dbl3b *BasicConv2d `nn:"branch3x3dbl_3b"`
	BranchPool     *BasicConv2d `nn:"branch_pool"`
}

// InceptionV3Aux is the auxiliary classifier on the 17×17×768 grid (§7):
// 5x5/3 average pooling, 1x1 (128), 5x5 (768), global pooling, linear.
type InceptionV3Aux struct {
	Conv0 *BasicConv2d `nn:"conv0"`
	Conv1 *BasicConv2d `nn:"conv1"`
	FC    *nn.Linear   `nn:"fc"`
}

// newInceptionV3 lays out s with zero weights.
func newInceptionV3(s inceptionV3Spec) *InceptionV3 {
	d := func(c int) int { return c / s.div }
	k, one, two := sq(3), sq(1), sq(2)
	m := &InceptionV3{
		Conv1a:  basicConv(3, d(32), k, two, sq(0)),
		Conv2a:  basicConv(d(32), d(32), k, one, sq(0)),
		Conv2b:  basicConv(d(32), d(64), k, one, one),
		Conv3b:  basicConv(d(64), d(80), one, one, sq(0)),
		Conv4a:  basicConv(d(80), d(192), k, one, sq(0)),
		Mixed5b: newInceptionA(d(192), d(s.poolFeatures[0]), d),
		Mixed5c: newInceptionA(d(256), d(s.poolFeatures[1]), d),
		Mixed5d: newInceptionA(d(288), d(s.poolFeatures[2]), d),
		Mixed6a: newInceptionB(d(288), d),
		Mixed6b: newInceptionC(d(768), d(s.channels7x7[0]), d),
		Mixed6c: newInceptionC(d(768), d(s.channels7x7[1]), d),
		Mixed6d: newInceptionC(d(768), d(s.channels7x7[2]), d),
		Mixed6e: newInceptionC(d(768), d(s.channels7x7[3]), d),
		Mixed7a: newInceptionD(d(768), d),
		Mixed7b: newInceptionE(d(1280), d),
		Mixed7c: newInceptionE(d(2048), d),
		FC:      newLinear(d(2048), s.classes),
	}
	if s.aux {
		m.AuxLogits = &InceptionV3Aux{
			Conv0: basicConv(d(768), d(128), one, one, sq(0)),
			Conv1: basicConv(d(128), d(768), sq(5), one, sq(0)),
			FC:    newLinear(d(768), s.classes),
		}
	}
	return m
}

// bc1x1 is a 1x1 BasicConv2d; bcK one of kernel k and padding p (stride 1).
func bc1x1(in, out int) *BasicConv2d { return basicConv(in, out, sq(1), sq(1), sq(0)) }
func bcK(in, out int, k, p [2]int) *BasicConv2d {
	return basicConv(in, out, k, sq(1), p)
}

// The factorised kernels and their paddings.
var (
	k1x7, p1x7 = [2]int{1, 7}, [2]int{0, 3}
	k7x1, p7x1 = [2]int{7, 1}, [2]int{3, 0}
	k1x3, p1x3 = [2]int{1, 3}, [2]int{0, 1}
	k3x1, p3x1 = [2]int{3, 1}, [2]int{1, 0}
)

func newInceptionA(in, pool int, d func(int) int) *InceptionA {
	return &InceptionA{
		Branch1x1:     bc1x1(in, d(64)),
		Branch5x5_1:   bc1x1(in, d(48)),
		Branch5x5_2:   bcK(d(48), d(64), sq(5), sq(2)),
		Branch3x3dbl1: bc1x1(in, d(64)),
		Branch3x3dbl2: bcK(d(64), d(96), sq(3), sq(1)),
		Branch3x3dbl3: bcK(d(96), d(96), sq(3), sq(1)),
		BranchPool:    bc1x1(in, pool),
	}
}

func newInceptionB(in int, d func(int) int) *InceptionB {
	return &InceptionB{
		Branch3x3:     basicConv(in, d(384), sq(3), sq(2), sq(0)),
		Branch3x3dbl1: bc1x1(in, d(64)),
		Branch3x3dbl2: bcK(d(64), d(96), sq(3), sq(1)),
		Branch3x3dbl3: basicConv(d(96), d(96), sq(3), sq(2), sq(0)),
	}
}

func newInceptionC(in, c7 int, d func(int) int) *InceptionC {
	return &InceptionC{
		Branch1x1:     bc1x1(in, d(192)),
		Branch7x7_1:   bc1x1(in, c7),
		Branch7x7_2:   bcK(c7, c7, k1x7, p1x7),
		Branch7x7_3:   bcK(c7, d(192), k7x1, p7x1),
		Branch7x7dbl1: bc1x1(in, c7),
		Branch7x7dbl2: bcK(c7, c7, k7x1, p7x1),
		Branch7x7dbl3: bcK(c7, c7, k1x7, p1x7),
		Branch7x7dbl4: bcK(c7, c7, k7x1, p7x1),
		Branch7x7dbl5: bcK(c7, d(192), k1x7, p1x7),
		BranchPool:    bc1x1(in, d(192)),
	}
}

func newInceptionD(in int, d func(int) int) *InceptionD {
	return &InceptionD{
		Branch3x3_1:   bc1x1(in, d(192)),
		Branch3x3_2:   basicConv(d(192), d(320), sq(3), sq(2), sq(0)),
		Branch7x7x3_1: bc1x1(in, d(192)),
		Branch7x7x3_2: bcK(d(192), d(192), k1x7, p1x7),
		Branch7x7x3_3: bcK(d(192), d(192), k7x1, p7x1),
		Branch7x7x3_4: basicConv(d(192), d(192), sq(3), sq(2), sq(0)),
	}
}

func newInceptionE(in int, d func(int) int) *InceptionE {
	return &InceptionE{
		Branch1x1:      bc1x1(in, d(320)),
		Branch3x3_1:    bc1x1(in, d(384)),
		Branch3x3_2a:   bcK(d(384), d(384), k1x3, p1x3),
		Branch3x3_2b:   bcK(d(384), d(384), k3x1, p3x1),
		Branch3x3dbl1:  bc1x1(in, d(448)),
		Branch3x3dbl2:  bcK(d(448), d(384), sq(3), sq(1)),
		Branch3x3dbl3a: bcK(d(384), d(384), k1x3, p1x3),
		Branch3x3dbl3b: bcK(d(384), d(384), k3x1, p3x1),
		BranchPool:     bc1x1(in, d(192)),
	}
}

// initInceptionV3 is torchvision's init_weights: convolution and linear
// weights from a normal truncated to [−2, 2] of standard deviation 0.1
// (0.001 for the auxiliary classifier's fc, the one layer whose stddev
// attribute torchvision's loop sees), batch norms γ = 1, β = 0, linear
// biases torch's default.
func initInceptionV3(net nn.Module, rng *rand.Rand) {
	var auxFC *nn.Linear
	if m, ok := net.(*InceptionV3); ok && m.AuxLogits != nil {
		auxFC = m.AuxLogits.FC
	}
	for _, m := range nn.Modules(net) {
		switch l := m.(type) {
		case *nn.Conv2d:
			truncNormalFill(rng, l.Weight, 0.1)
		case *nn.Linear:
			std := 0.1
			if l == auxFC {
				std = 0.001
			}
			truncNormalFill(rng, l.Weight, std)
			uniformFill(rng, l.Bias, 1/math.Sqrt(float64(l.In)))
		}
	}
}

// The poolings of Inception-v3 (no ceil_mode; the branch poolings count
// the padding, torch's default); they keep no state.
var (
	inceptionV3Pool       = nn.NewMaxPool2d(nn.Kernel(3), nn.PoolOptions{Stride: nn.Stride(2)})
	inceptionV3BranchPool = nn.NewAvgPool2d(nn.Kernel(3), nn.PoolOptions{Stride: nn.Stride(1), Padding: nn.Padding(1)})
	inceptionV3AuxPool    = nn.NewAvgPool2d(nn.Kernel(5), nn.PoolOptions{Stride: nn.Stride(3)})
)

// Forward maps images x [N, 3, H, W] (299×299; at least 75×75) to logits
// [N, classes].
func (m *InceptionV3) Forward(x *tensor.Tensor) (*tensor.Tensor, error) { return m.forward(x, nil) }

func (m *InceptionV3) forward(x *tensor.Tensor, tap tapFunc) (*tensor.Tensor, error) {
	p := &pipe{tap: tap}
	if m.TransformInput {
		x = p.run(inputTransform{}, x)
	}
	x = p.run(m.Conv1a, x)                    // 32 × 149 × 149
	x = p.run(m.Conv2a, x)                    // 32 × 147 × 147
	x = p.run(m.Conv2b, x)                    // 64 × 147 × 147
	x = p.run(inceptionV3Pool, x)             // 64 × 73 × 73
	x = p.run(m.Conv3b, x)                    // 80 × 73 × 73
	x = p.run(m.Conv4a, x)                    // 192 × 71 × 71
	x = p.run(inceptionV3Pool, x)             // 192 × 35 × 35
	x = runStage(p, "Mixed_5b", m.Mixed5b, x) // 256 × 35 × 35
	x = runStage(p, "Mixed_5c", m.Mixed5c, x) // 288 × 35 × 35
	x = runStage(p, "Mixed_5d", m.Mixed5d, x) // 288 × 35 × 35
	x = runStage(p, "Mixed_6a", m.Mixed6a, x) // 768 × 17 × 17
	x = runStage(p, "Mixed_6b", m.Mixed6b, x) // 768 × 17 × 17
	x = runStage(p, "Mixed_6c", m.Mixed6c, x) // 768 × 17 × 17
	x = runStage(p, "Mixed_6d", m.Mixed6d, x) // 768 × 17 × 17
	x = runStage(p, "Mixed_6e", m.Mixed6e, x) // 768 × 17 × 17 (AuxLogits branches off here in training)
	x = runStage(p, "Mixed_7a", m.Mixed7a, x) // 1280 × 8 × 8
	x = runStage(p, "Mixed_7b", m.Mixed7b, x) // 2048 × 8 × 8
	x = runStage(p, "Mixed_7c", m.Mixed7c, x) // 2048 × 8 × 8
	x = p.run(globalAvgPool, x)               // 2048 × 1 × 1; dropout 0.5 is the identity
	x = p.run(m.FC, x)
	return p.result(x)
}

// Forward runs the four branches and concatenates them.
func (b *InceptionA) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	return concatBranches(x,
		b.Branch1x1,
		convChain{b.Branch5x5_1, b.Branch5x5_2},
		convChain{b.Branch3x3dbl1, b.Branch3x3dbl2, b.Branch3x3dbl3},
		&poolBranch{Pool: inceptionV3BranchPool, Proj: b.BranchPool})
}

// Forward runs the three branches and concatenates them.
func (b *InceptionB) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	return concatBranches(x,
		b.Branch3x3,
		convChain{b.Branch3x3dbl1, b.Branch3x3dbl2, b.Branch3x3dbl3},
		inceptionV3Pool)
}

// Forward runs the four branches and concatenates them.
func (b *InceptionC) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	return concatBranches(x,
		b.Branch1x1,
		convChain{b.Branch7x7_1, b.Branch7x7_2, b.Branch7x7_3},
		convChain{b.Branch7x7dbl1, b.Branch7x7dbl2, b.Branch7x7dbl3, b.Branch7x7dbl4, b.Branch7x7dbl5},
		&poolBranch{Pool: inceptionV3BranchPool, Proj: b.BranchPool})
}

// Forward runs the three branches and concatenates them.
func (b *InceptionD) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	return concatBranches(x,
		convChain{b.Branch3x3_1, b.Branch3x3_2},
		convChain{b.Branch7x7x3_1, b.Branch7x7x3_2, b.Branch7x7x3_3, b.Branch7x7x3_4},
		inceptionV3Pool)
}

// Forward runs the four branches (two of which split in two) and
// concatenates them: 1x1, 3x3 (1x3 and 3x1), double 3x3 (1x3 and 3x1),
// pool.
func (b *InceptionE) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	return concatBranches(x,
		b.Branch1x1,
		splitBranch{Stem: convChain{b.Branch3x3_1}, A: b.Branch3x3_2a, B: b.Branch3x3_2b},
		splitBranch{Stem: convChain{b.Branch3x3dbl1, b.Branch3x3dbl2}, A: b.Branch3x3dbl3a, B: b.Branch3x3dbl3b},
		&poolBranch{Pool: inceptionV3BranchPool, Proj: b.BranchPool})
}

// Forward computes the auxiliary logits of the 17×17 features (the head
// torchvision runs in training only).
func (a *InceptionV3Aux) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	p := &pipe{}
	x = p.run(inceptionV3AuxPool, x) // 768 × 5 × 5
	x = p.run(a.Conv0, x)            // 128 × 5 × 5
	x = p.run(a.Conv1, x)            // 768 × 1 × 1
	x = p.run(globalAvgPool, x)
	x = p.run(a.FC, x)
	return p.result(x)
}

// splitBranch is a branch whose last step runs two convolutions on the
// same input and concatenates them (the expanded filter banks of Figure 7,
// Inception-v4's Inception-C).
type splitBranch struct {
	Stem convChain
	A, B *BasicConv2d
}

func (s splitBranch) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	y, err := s.Stem.Forward(x)
	if err != nil {
		return nil, err
	}
	return concatBranches(y, s.A, s.B)
}

func (s splitBranch) blockMACs(h, w int) (int64, int, int) {
	n, h, w := s.Stem.blockMACs(h, w)
	m, oh, ow := branchMACs(h, w, s.A, s.B)
	return n + m, oh, ow
}

// maxPoolSize is a max pooling branch's multiply-accumulates (none) and output
// size, for blockMACs: a k×k window of the stride, no padding.
type maxPoolSize struct{ k, stride int }

func (p maxPoolSize) blockMACs(h, w int) (int64, int, int) {
	return 0, poolSize(h, p.k, p.stride, 0, false), poolSize(w, p.k, p.stride, 0, false)
}

func (b *InceptionA) blockMACs(h, w int) (int64, int, int) {
	return branchMACs(h, w, b.Branch1x1, convChain{b.Branch5x5_1, b.Branch5x5_2},
		convChain{b.Branch3x3dbl1, b.Branch3x3dbl2, b.Branch3x3dbl3}, b.BranchPool)
}

func (b *InceptionB) blockMACs(h, w int) (int64, int, int) {
	return branchMACs(h, w, b.Branch3x3, convChain{b.Branch3x3dbl1, b.Branch3x3dbl2, b.Branch3x3dbl3})
}

func (b *InceptionC) blockMACs(h, w int) (int64, int, int) {
	return branchMACs(h, w, b.Branch1x1, convChain{b.Branch7x7_1, b.Branch7x7_2, b.Branch7x7_3},
		convChain{b.Branch7x7dbl1, b.Branch7x7dbl2, b.Branch7x7dbl3, b.Branch7x7dbl4, b.Branch7x7dbl5}, b.BranchPool)
}

func (b *InceptionD) blockMACs(h, w int) (int64, int, int) {
	return branchMACs(h, w, convChain{b.Branch3x3_1, b.Branch3x3_2},
		convChain{b.Branch7x7x3_1, b.Branch7x7x3_2, b.Branch7x7x3_3, b.Branch7x7x3_4})
}

func (b *InceptionE) blockMACs(h, w int) (int64, int, int) {
	return branchMACs(h, w, b.Branch1x1,
		splitBranch{Stem: convChain{b.Branch3x3_1}, A: b.Branch3x3_2a, B: b.Branch3x3_2b},
		splitBranch{Stem: convChain{b.Branch3x3dbl1, b.Branch3x3dbl2}, A: b.Branch3x3dbl3a, B: b.Branch3x3dbl3b},
		b.BranchPool)
}

// macs counts the multiply-accumulates of the convolutions and fc on an
// h×w image (the auxiliary classifier, not run, is not counted).
func (m *InceptionV3) macs(h, w int) int64 {
	var t macTally
	pool := maxPoolSize{3, 2}
	for _, b := range []macBlock{m.Conv1a, m.Conv2a, m.Conv2b, pool, m.Conv3b, m.Conv4a, pool,
		m.Mixed5b, m.Mixed5c, m.Mixed5d, m.Mixed6a, m.Mixed6b, m.Mixed6c, m.Mixed6d, m.Mixed6e,
		m.Mixed7a, m.Mixed7b, m.Mixed7c} {
		h, w = t.add(b, h, w)
	}
	return t.n + int64(m.FC.In)*int64(m.FC.Out)
}

// upgradeStateDict drops the auxiliary classifier's tensors (AuxLogits.*)
// from a checkpoint when the network has none, as torchvision does after
// loading its inception_v3 checkpoint.
func (m *InceptionV3) upgradeStateDict(sd map[string]*tensor.Tensor) map[string]*tensor.Tensor {
	if m.AuxLogits != nil {
		return sd
	}
	return dropPrefixes(sd, "AuxLogits.")
}
