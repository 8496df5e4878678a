package classify

import (
	"fmt"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// BN-Inception: Ioffe and Szegedy, "Batch Normalization: Accelerating Deep
// Network Training by Reducing Internal Covariate Shift", ICML 2015
// (arXiv:1502.03167), §4.2 and Figure 5 (Appendix): GoogLeNet with a batch
// norm after every convolution, the 5x5 convolutions replaced by two 3x3,
// grid reductions by stride-2 modules (3c, 4e) without 1x1 branch and with
// a max-pooling pass-through, average pooling in most pool branches.
//
// torchvision lacks it. The tensors are named as the widely used PyTorch
// port of the authors' Caffe model (Cadene's pretrained-models
// bninception, flat names from the Caffe prototxt: conv1_7x7_s2.weight,
// conv1_7x7_s2_bn.running_mean, inception_3a_double_3x3_1.bias,
// inception_5b_pool_proj_bn.weight, last_linear.bias, …), so that its
// checkpoint loads. As there, every convolution has a bias and its batch
// norm ε = 1e-5, the poolings use ceil_mode (Caffe's sizes), and the
// network's first convolution takes BGR channels (the Caffe model's):
// Forward takes RGB, as every model of the zoo, and reorders them.
//
// The paper gives no parameter count; this network has 11,295,240
// parameters with 1000 classes (the port's count).

// bnInceptionRow is one line of Figure 5. A stride-2 module (3c, 4e) has
// no 1x1 branch; its 3x3 and second double-3x3 convolutions have stride 2
// and its pool branch is a 3x3/2 max pooling passed through (poolProj 0).
type bnInceptionRow struct {
	name                                          string // "3a"
	ch1x1, ch3x3red, ch3x3, dblRed, dbl, poolProj int
	pool                                          string // "avg", "max" (3x3/1) or "max/2" (pass-through)
}

// stride2 reports whether the module halves the grid.
func (r bnInceptionRow) stride2() bool { return r.pool == "max/2" }

// out is the module's output channels for in input channels.
func (r bnInceptionRow) out(in int) int {
	if r.stride2() {
		return r.ch3x3 + r.dbl + in
	}
	return r.ch1x1 + r.ch3x3 + r.dbl + r.poolProj
}

type bnInceptionSpec struct {
	modules []bnInceptionRow
	classes int
}

// bnInceptionTable is Ioffe & Szegedy 2015, Figure 5 (stem: 7x7/2 64,
// max pool 3x3/2, 1x1 64, 3x3 192, max pool 3x3/2).
var bnInceptionTable = bnInceptionSpec{
	modules: []bnInceptionRow{
		//  #1x1 #3x3red #3x3 dbl#3x3red dbl#3x3 poolproj pool
		{"3a", 64, 64, 64, 64, 96, 32, "avg"},
		{"3b", 64, 64, 96, 64, 96, 64, "avg"},
		{"3c", 0, 128, 160, 64, 96, 0, "max/2"},
		{"4a", 224, 64, 96, 96, 128, 128, "avg"},
		{"4b", 192, 96, 128, 96, 128, 128, "avg"},
		{"4c", 160, 128, 160, 128, 160, 128, "avg"},
		{"4d", 96, 128, 192, 160, 192, 128, "avg"},
		{"4e", 0, 128, 192, 192, 256, 0, "max/2"},
		{"5a", 352, 192, 320, 160, 224, 128, "avg"},
		{"5b", 352, 192, 320, 192, 224, 128, "max"},
	},
	classes: 1000,
}

// bnInceptionModels are the zoo's rows for this file.
var bnInceptionModels = []entry{{
	name:  "bn_inception",
	paper: "Ioffe & Szegedy 2015, §4.2 and Figure 5 (BN-Inception)",
	build: func() nn.Module { return newBNInception(bnInceptionTable) },
	init:  initTorchDefault,
	weights: Weights{
		File: "bn_inception-239d2248.pth", SHA256: "239d2248",
		URL:    "http://data.lip6.fr/cadene/pretrainedmodels/bn_inception-239d2248.pth",
		Params: 11295240, Top1: 73.522, Top5: 91.560,
		Source: "Cadene pretrained-models.pytorch bninception (Xiong Yuanjun's Caffe training, ported): its README's ImageNet validation figures",
		// The port takes BGR values in [0, 255] minus the Caffe means
		// (B 104, G 117, R 128): with v ∈ [0, 1], (v − mean/255)/(1/255)
		// in RGB order (Forward reorders to BGR).
		Preprocess: Preprocess{Resize: 256, Crop: 224,
			Mean: [3]float32{128.0 / 255, 117.0 / 255, 104.0 / 255},
			Std:  [3]float32{1.0 / 255, 1.0 / 255, 1.0 / 255}},
		Labels: ImageNet,
	},
}}

// BNInception is the network of Figure 5.
//
// Forward is safe for concurrent use.
type BNInception struct {
	Conv1      *convBN // conv1_7x7_s2
	Conv2Red   *convBN // conv2_3x3_reduce
	Conv2      *convBN // conv2_3x3
	Modules    []*BNInceptionModule
	LastLinear *nn.Linear // last_linear
}

// BNInceptionModule is an Inception module with batch norms: 1x1; 1x1 →
// 3x3; 1x1 → 3x3 → 3x3; pool → 1x1 (or, in a stride-2 module, no 1x1
// branch, stride-2 3x3s and a max-pooling pass-through).
type BNInceptionModule struct {
	Row                   bnInceptionRow
	Conv1x1               *convBN // nil in a stride-2 module
	Reduce3x3, Conv3x3    *convBN
	ReduceDbl, Dbl1, Dbl2 *convBN
	PoolProj              *convBN // nil in a stride-2 module
}

// convBN is a convolution (with a bias) → batch norm → ReLU whose two
// layers are named as the Caffe port's flat attributes: "<name>" and
// "<name>_bn".
type convBN struct {
	Name string
	Conv *nn.Conv2d
	BN   *nn.BatchNorm2d
}

func newConvBN(name string, in, out, k, stride, pad int) *convBN {
	return &convBN{Name: name, Conv: convHW(in, out, sq(k), sq(stride), sq(pad), true), BN: nn.NewBatchNorm2d(out)}
}

// Forward computes relu(bn(conv(x))) in one convolution.
func (c *convBN) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	return nn.ConvBNAct(x, c.Conv, c.BN, relu)
}

func (c *convBN) blockMACs(h, w int) (int64, int, int) { return convMACs(c.Conv, h, w) }

func (c *convBN) children() []nn.Child {
	return []nn.Child{{Name: c.Name, Module: c.Conv}, {Name: c.Name + "_bn", Module: c.BN}}
}

// newBNInception lays out s with zero weights.
func newBNInception(s bnInceptionSpec) *BNInception {
	n := &BNInception{
		Conv1:    newConvBN("conv1_7x7_s2", 3, 64, 7, 2, 3),
		Conv2Red: newConvBN("conv2_3x3_reduce", 64, 64, 1, 1, 0),
		Conv2:    newConvBN("conv2_3x3", 64, 192, 3, 1, 1),
	}
	in := 192
	for _, r := range s.modules {
		p := "inception_" + r.name + "_"
		stride := 1
		if r.stride2() {
			stride = 2
		}
		m := &BNInceptionModule{Row: r,
			Reduce3x3: newConvBN(p+"3x3_reduce", in, r.ch3x3red, 1, 1, 0),
			Conv3x3:   newConvBN(p+"3x3", r.ch3x3red, r.ch3x3, 3, stride, 1),
			ReduceDbl: newConvBN(p+"double_3x3_reduce", in, r.dblRed, 1, 1, 0),
			Dbl1:      newConvBN(p+"double_3x3_1", r.dblRed, r.dbl, 3, 1, 1),
			Dbl2:      newConvBN(p+"double_3x3_2", r.dbl, r.dbl, 3, stride, 1),
		}
		if !r.stride2() {
			m.Conv1x1 = newConvBN(p+"1x1", in, r.ch1x1, 1, 1, 0)
			m.PoolProj = newConvBN(p+"pool_proj", in, r.poolProj, 1, 1, 0)
		}
		n.Modules = append(n.Modules, m)
		in = r.out(in)
	}
	n.LastLinear = newLinear(in, s.classes)
	return n
}

// Children lists the layers under the port's flat names, in its order.
func (n *BNInception) Children() []nn.Child {
	var cs []nn.Child
	for _, c := range []*convBN{n.Conv1, n.Conv2Red, n.Conv2} {
		cs = append(cs, c.children()...)
	}
	for _, m := range n.Modules {
		for _, c := range []*convBN{m.Conv1x1, m.Reduce3x3, m.Conv3x3, m.ReduceDbl, m.Dbl1, m.Dbl2, m.PoolProj} {
			if c != nil {
				cs = append(cs, c.children()...)
			}
		}
	}
	return append(cs, nn.Child{Name: "last_linear", Module: n.LastLinear})
}

// The poolings of BN-Inception, with ceil_mode as the Caffe model; the
// branch average pooling counts the padding. They keep no state.
var (
	bnInceptionPool      = nn.NewMaxPool2d(nn.Kernel(3), nn.PoolOptions{Stride: nn.Stride(2), CeilMode: true})
	bnInceptionAvgBranch = nn.NewAvgPool2d(nn.Kernel(3), nn.PoolOptions{Stride: nn.Stride(1), Padding: nn.Padding(1), CeilMode: true})
	bnInceptionMaxBranch = nn.NewMaxPool2d(nn.Kernel(3), nn.PoolOptions{Stride: nn.Stride(1), Padding: nn.Padding(1), CeilMode: true})
)

// Forward maps RGB images x [N, 3, H, W] (224×224) to logits [N, classes].
func (n *BNInception) Forward(x *tensor.Tensor) (*tensor.Tensor, error) { return n.forward(x, nil) }

func (n *BNInception) forward(x *tensor.Tensor, tap tapFunc) (*tensor.Tensor, error) {
	p := &pipe{tap: tap}
	x = p.run(channelReverse{}, x) // RGB → BGR, the Caffe weights' order
	x = p.run(n.Conv1, x)          // 64 × 112 × 112
	x = p.run(bnInceptionPool, x)  // 64 × 56 × 56
	x = p.run(n.Conv2Red, x)       // 64 × 56 × 56
	x = p.run(n.Conv2, x)          // 192 × 56 × 56
	x = p.run(bnInceptionPool, x)  // 192 × 28 × 28
	for _, m := range n.Modules {  // 3a, 3b: 28×28 (256, 320); 3c → 14×14×576; 4a–4e (576, 576, 608, 608; 4e → 7×7×1056); 5a, 5b: 7×7×1024
		x = runStage(p, "inception_"+m.Row.name, m, x)
	}
	x = p.run(globalAvgPool, x) // 1024 × 1 × 1
	x = p.run(n.LastLinear, x)
	return p.result(x)
}

// Forward runs the module's branches and concatenates them.
func (m *BNInceptionModule) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	b2 := layerSeq{m.Reduce3x3, m.Conv3x3}
	b3 := layerSeq{m.ReduceDbl, m.Dbl1, m.Dbl2}
	switch m.Row.pool {
	case "max/2": // grid reduction: the pooled input passes through
		return concatBranches(x, b2, b3, bnInceptionPool)
	case "max":
		return concatBranches(x, m.Conv1x1, b2, b3, &poolBranch{Pool: bnInceptionMaxBranch, Proj: m.PoolProj})
	default:
		return concatBranches(x, m.Conv1x1, b2, b3, &poolBranch{Pool: bnInceptionAvgBranch, Proj: m.PoolProj})
	}
}

func (m *BNInceptionModule) blockMACs(h, w int) (int64, int, int) {
	b2 := layerSeq{m.Reduce3x3, m.Conv3x3}
	b3 := layerSeq{m.ReduceDbl, m.Dbl1, m.Dbl2}
	if m.Row.stride2() {
		return branchMACs(h, w, b2, b3)
	}
	return branchMACs(h, w, m.Conv1x1, b2, b3, m.PoolProj)
}

// macs counts the multiply-accumulates of the convolutions and the
// classifier on an h×w image.
func (n *BNInception) macs(h, w int) int64 {
	var t macTally
	for _, b := range []macBlock{n.Conv1, ceilPooling{3, 2}, n.Conv2Red, n.Conv2, ceilPooling{3, 2}} {
		h, w = t.add(b, h, w)
	}
	for _, m := range n.Modules {
		h, w = t.add(m, h, w)
	}
	return t.n + int64(n.LastLinear.In)*int64(n.LastLinear.Out)
}

// ceilPooling is a ceil_mode max pooling's size change, for blockMACs.
type ceilPooling struct{ k, stride int }

func (p ceilPooling) blockMACs(h, w int) (int64, int, int) {
	return 0, poolSize(h, p.k, p.stride, 0, true), poolSize(w, p.k, p.stride, 0, true)
}

// channelReverse reverses the channel order of x [N, C, H, W] (RGB ↔ BGR).
type channelReverse struct{}

func (channelReverse) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	if x == nil || x.Dims() != 4 {
		return nil, fmt.Errorf("%w: input %v, want [N, C, H, W]", nn.ErrShape, shapeOf(x))
	}
	n, c, plane := x.Dim(0), x.Dim(1), x.Dim(2)*x.Dim(3)
	y := tensor.New(x.Shape()...)
	for i := 0; i < n; i++ {
		for ch := 0; ch < c; ch++ {
			copy(y.Data()[(i*c+ch)*plane:(i*c+ch+1)*plane], x.Data()[(i*c+c-1-ch)*plane:])
		}
	}
	return y, nil
}
