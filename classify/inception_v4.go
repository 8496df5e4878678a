package classify

import (
	"strconv"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// Inception-v4, Inception-ResNet-v1 and Inception-ResNet-v2: Szegedy,
// Ioffe, Vanhoucke and Alemi, "Inception-v4, Inception-ResNet and the
// Impact of Residual Connections on Learning", AAAI 2017
// (arXiv:1602.07261). torchvision has none of them; the tensors are named
// as the PyTorch ports whose checkpoints people load: Cadene's
// pretrained-models (inceptionv4: features.0.conv.weight, …,
// features.21.branch3.1.bn.running_var, last_linear.weight;
// inceptionresnetv2: conv2d_1a.conv.weight, repeat_1.19.branch1.2.conv.weight,
// block8.conv2d.bias, conv2d_7b.bn.running_mean, last_linear.bias) and, for
// Inception-ResNet-v1, which has no ImageNet release, facenet-pytorch's
// trunk (conv2d_4b, repeat_1, repeat_2, repeat_3, block8) with the
// classifier named last_linear as the v2 port's.
//
// Every convolution but the residual blocks' final 1x1 ("conv2d", linear,
// with a bias, no batch norm, §3.2) is a BasicConv2d (conv → batch norm
// ε = 0.001 → ReLU). The ports follow the released TensorFlow models,
// which differ from the paper's figures in places; this file follows the
// releases so that their weights load, and says where:
//
//   - Inception-v4: the factorised 7x7 and 3x3 convolutions come in the
//     opposite order in some branches (7x1 before 1x7 in the stem's
//     Figure 3 and Inception-B's Figure 5 double branch; 3x1 before 1x3 in
//     Inception-C's Figure 6 double branch): same widths and parameter
//     counts, transposed kernels.
//   - Inception-ResNet-v2: the released model's stem is Inception-v3's
//     (to 35×35×192) with a mixed_5b module (to 35×35×320), not Figure 3
//     (35×35×384); its grids are 35×35×320, 17×17×1088 and 8×8×2080
//     (Figures 16–19 give 384, 1152/1154 and 2144/2048), then a 1x1
//     convolution to 1536; it repeats the blocks 10, 20 and 10 times
//     (Figure 15: 5, 10, 5), the last C block without ReLU.
//   - Inception-ResNet-v1 follows Figures 10–15 (stem 35×35×256,
//     17×17×896, 8×8×1792) with facenet's five C blocks plus a final one
//     without ReLU.
//
// Parameter counts (1000 classes): Inception-v4 42,679,816 and
// Inception-ResNet-v2 55,843,464, the figures timm publishes for these
// ports (42.68M, 55.84M); the paper gives none.

// inceptionV4Spec is Figure 9 with Table 1's Reduction-A widths.
type inceptionV4Spec struct {
	a, b, c    int // the Inception-A, -B and -C modules: 4, 7, 3
	k, l, m, n int // Reduction-A (Figure 7, Table 1): 192, 224, 256, 384
	classes    int
}

var inceptionV4Table = inceptionV4Spec{a: 4, b: 7, c: 3, k: 192, l: 224, m: 256, n: 384, classes: 1000}

// The TensorFlow-trained ports take RGB in [0, 1] normalised with mean
// and standard deviation 0.5, at 299×299 (Cadene's scale 0.875: 342).
var tfInceptionPreprocess = Preprocess{Resize: 342, Crop: 299,
	Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.5, 0.5, 0.5}}

// inceptionV4Models are the zoo's rows for this file.
var inceptionV4Models = []entry{
	{
		name:  "inception_v4",
		paper: "Szegedy et al. 2017, Figures 3–9 and Table 1 (Inception-v4, the released TensorFlow model)",
		build: func() nn.Module { return newInceptionV4(inceptionV4Table) },
		init:  initTorchDefault,
		weights: Weights{
			File: "inceptionv4-8e4777a0.pth", SHA256: "8e4777a0",
			URL:    "http://data.lip6.fr/cadene/pretrainedmodels/inceptionv4-8e4777a0.pth",
			Params: 42679816, Top1: 80.062, Top5: 94.926,
			Source:     "Cadene pretrained-models.pytorch inceptionv4 (a port of TF-slim's): its README's ImageNet validation figures; 1001 classes in the file, background dropped on load",
			Preprocess: tfInceptionPreprocess, Labels: ImageNet,
		},
	},
	{
		name:  "inception_resnet_v1",
		paper: "Szegedy et al. 2017, Figures 10–15 and Table 1 (Inception-ResNet-v1)",
		build: func() nn.Module { return newInceptionResNet(inceptionResNetSpecs["inception_resnet_v1"]) },
		init:  initTorchDefault,
		weights: Weights{
			// No ImageNet release.
			Params:     24357096,
			Source:     "Szegedy et al. 2017 (no published weights or parameter count; the count is this network's)",
			Preprocess: tfInceptionPreprocess, Labels: ImageNet,
		},
	},
	{
		name:  "inception_resnet_v2",
		paper: "Szegedy et al. 2017, Figures 15–19 and Table 1 (Inception-ResNet-v2, the released TensorFlow model)",
		build: func() nn.Module { return newInceptionResNet(inceptionResNetSpecs["inception_resnet_v2"]) },
		init:  initTorchDefault,
		weights: Weights{
			File: "inceptionresnetv2-520b38e4.pth", SHA256: "520b38e4",
			URL:    "http://data.lip6.fr/cadene/pretrainedmodels/inceptionresnetv2-520b38e4.pth",
			Params: 55843464, Top1: 80.170, Top5: 95.234,
			Source:     "Cadene pretrained-models.pytorch inceptionresnetv2 (a port of TF-slim's): its README's ImageNet validation figures; 1001 classes in the file, background dropped on load",
			Preprocess: tfInceptionPreprocess, Labels: ImageNet,
		},
	},
}

// --- Inception-v4.

// InceptionV4 is the network of Figure 9, the port's features Sequential
// (stem, Inception-A ×4, Reduction-A, Inception-B ×7, Reduction-B,
// Inception-C ×3) and last_linear.
//
// Forward is safe for concurrent use.
type InceptionV4 struct {
	Features   *V4Features `nn:"features"`
	LastLinear *nn.Linear  `nn:"last_linear"`
}

// V4Features are the blocks of Figure 9, named "0" to "21" in order.
type V4Features struct {
	Stem       [3]*BasicConv2d // 3x3/2 32, 3x3 32, 3x3 64 (Figure 3)
	Mixed3a    *convPoolMix    // 3x3/2 max pool ‖ 3x3/2 conv 96 → 73×73×160
	Mixed4a    *mixed          // → 71×71×192
	Mixed5a    *convPoolMix    // 3x3/2 conv 192 ‖ max pool → 35×35×384
	A          []*mixed        // Inception-A (Figure 4)
	ReductionA *mixed          // Figure 7 → 17×17×1024
	B          []*mixed        // Inception-B (Figure 5)
	ReductionB *mixed          // Figure 8 → 8×8×1536
	C          []*v4InceptionC // Inception-C (Figure 6)
}

// Children numbers the blocks as the port's nn.Sequential.
func (f *V4Features) Children() []nn.Child {
	ms := []nn.Module{f.Stem[0], f.Stem[1], f.Stem[2], f.Mixed3a, f.Mixed4a, f.Mixed5a}
	for _, m := range f.A {
		ms = append(ms, m)
	}
	ms = append(ms, f.ReductionA)
	for _, m := range f.B {
		ms = append(ms, m)
	}
	ms = append(ms, f.ReductionB)
	for _, m := range f.C {
		ms = append(ms, m)
	}
	cs := make([]nn.Child, len(ms))
	for i, m := range ms {
		cs[i] = nn.Child{Name: strconv.Itoa(i), Module: m}
	}
	return cs
}

// The layers of this file's networks. bc is a BasicConv2d of a square
// kernel, stride and padding; br one of a rectangular kernel, stride 1.
func bc(in, out, k, stride, pad int) *BasicConv2d {
	return basicConv(in, out, sq(k), sq(stride), sq(pad))
}

func br(in, out int, k, pad [2]int) *BasicConv2d { return basicConv(in, out, k, sq(1), pad) }

// newInceptionV4 lays out s with zero weights.
func newInceptionV4(s inceptionV4Spec) *InceptionV4 {
	f := &V4Features{
		Stem:    [3]*BasicConv2d{bc(3, 32, 3, 2, 0), bc(32, 32, 3, 1, 0), bc(32, 64, 3, 1, 1)},
		Mixed3a: &convPoolMix{Conv: bc(64, 96, 3, 2, 0), poolFirst: true},
		Mixed4a: &mixed{
			Branch0: convChain{bc(160, 64, 1, 1, 0), bc(64, 96, 3, 1, 0)},
			Branch1: convChain{bc(160, 64, 1, 1, 0), br(64, 64, k1x7, p1x7), br(64, 64, k7x1, p7x1), bc(64, 96, 3, 1, 0)},
		},
		Mixed5a: &convPoolMix{Conv: bc(192, 192, 3, 2, 0)},
	}
	for i := 0; i < s.a; i++ {
		f.A = append(f.A, &mixed{
			Branch0: bc(384, 96, 1, 1, 0),
			Branch1: convChain{bc(384, 64, 1, 1, 0), bc(64, 96, 3, 1, 1)},
			Branch2: convChain{bc(384, 64, 1, 1, 0), bc(64, 96, 3, 1, 1), bc(96, 96, 3, 1, 1)},
			Branch3: &poolBranch{Pool: avgPoolExcludePad, Proj: bc(384, 96, 1, 1, 0)},
		})
	}
	f.ReductionA = &mixed{
		Branch0: bc(384, s.n, 3, 2, 0),
		Branch1: convChain{bc(384, s.k, 1, 1, 0), bc(s.k, s.l, 3, 1, 1), bc(s.l, s.m, 3, 2, 0)},
		Branch2: maxPool3s2{},
	}
	in := 384 + s.n + s.m // 1024
	for i := 0; i < s.b; i++ {
		f.B = append(f.B, &mixed{
			Branch0: bc(in, 384, 1, 1, 0),
			Branch1: convChain{bc(in, 192, 1, 1, 0), br(192, 224, k1x7, p1x7), br(224, 256, k7x1, p7x1)},
			Branch2: convChain{bc(in, 192, 1, 1, 0), br(192, 192, k7x1, p7x1), br(192, 224, k1x7, p1x7),
				br(224, 224, k7x1, p7x1), br(224, 256, k1x7, p1x7)},
			Branch3: &poolBranch{Pool: avgPoolExcludePad, Proj: bc(in, 128, 1, 1, 0)},
		})
	}
	f.ReductionB = &mixed{
		Branch0: convChain{bc(in, 192, 1, 1, 0), bc(192, 192, 3, 2, 0)},
		Branch1: convChain{bc(in, 256, 1, 1, 0), br(256, 256, k1x7, p1x7), br(256, 320, k7x1, p7x1), bc(320, 320, 3, 2, 0)},
		Branch2: maxPool3s2{},
	}
	in += 192 + 320 // 1536
	for i := 0; i < s.c; i++ {
		f.C = append(f.C, &v4InceptionC{
			Branch0:   bc(in, 256, 1, 1, 0),
			Branch1_0: bc(in, 384, 1, 1, 0), Branch1_1a: br(384, 256, k1x3, p1x3), Branch1_1b: br(384, 256, k3x1, p3x1),
			Branch2_0: bc(in, 384, 1, 1, 0), Branch2_1: br(384, 448, k3x1, p3x1), Branch2_2: br(448, 512, k1x3, p1x3),
			Branch2_3a: br(512, 256, k1x3, p1x3), Branch2_3b: br(512, 256, k3x1, p3x1),
			Branch3: &poolBranch{Pool: avgPoolExcludePad, Proj: bc(in, 256, 1, 1, 0)},
		})
	}
	return &InceptionV4{Features: f, LastLinear: newLinear(in, s.classes)}
}

// v4InceptionC is Inception-C (Figure 6): 1x1 256; 1x1 384 → (1x3 256,
// 3x1 256); 1x1 384 → 3x1 448 → 1x3 512 → (1x3 256, 3x1 256); average
// pooling → 1x1 256.
type v4InceptionC struct {
	Branch0    *BasicConv2d `nn:"branch0"`
	Branch1_0  *BasicConv2d `nn:"branch1_0"`
	Branch1_1a *BasicConv2d `nn:"branch1_1a"`
	Branch1_1b *BasicConv2d `nn:"branch1_1b"`
	Branch2_0  *BasicConv2d `nn:"branch2_0"`
	Branch2_1  *BasicConv2d `nn:"branch2_1"`
	Branch2_2  *BasicConv2d `nn:"branch2_2"`
	Branch2_3a *BasicConv2d `nn:"branch2_3a"`
	Branch2_3b *BasicConv2d `nn:"branch2_3b"`
	Branch3    *poolBranch  `nn:"branch3"`
}

func (b *v4InceptionC) branches() []inceptionLayer {
	return []inceptionLayer{b.Branch0,
		splitBranch{Stem: convChain{b.Branch1_0}, A: b.Branch1_1a, B: b.Branch1_1b},
		splitBranch{Stem: convChain{b.Branch2_0, b.Branch2_1, b.Branch2_2}, A: b.Branch2_3a, B: b.Branch2_3b},
		b.Branch3}
}

// Forward runs the four branches and concatenates them.
func (b *v4InceptionC) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	bs := b.branches()
	return concatBranches(x, bs[0], bs[1], bs[2], bs[3])
}

func (b *v4InceptionC) blockMACs(h, w int) (int64, int, int) {
	bs := b.branches()
	return branchMACs(h, w, bs[0], bs[1], bs[2], bs[3])
}

// Forward runs the features: x [N, 3, 299, 299] to [N, 1536, 8, 8].
func (f *V4Features) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	return f.forward(x, nil)
}

func (f *V4Features) forward(x *tensor.Tensor, tap tapFunc) (*tensor.Tensor, error) {
	p := &pipe{tap: tap}
	x = p.run(f.Stem[0], x)                   // 32 × 149 × 149
	x = p.run(f.Stem[1], x)                   // 32 × 147 × 147
	x = p.run(f.Stem[2], x)                   // 64 × 147 × 147
	x = runStage(p, "mixed_3a", f.Mixed3a, x) // 160 × 73 × 73
	x = runStage(p, "mixed_4a", f.Mixed4a, x) // 192 × 71 × 71
	x = runStage(p, "stem", f.Mixed5a, x)     // 384 × 35 × 35
	for _, b := range f.A {
		x = p.run(b, x)
	}
	p.mark("inception_a", x)                        // 384 × 35 × 35
	x = runStage(p, "reduction_a", f.ReductionA, x) // 1024 × 17 × 17
	for _, b := range f.B {
		x = p.run(b, x)
	}
	p.mark("inception_b", x)                        // 1024 × 17 × 17
	x = runStage(p, "reduction_b", f.ReductionB, x) // 1536 × 8 × 8
	for _, b := range f.C {
		x = p.run(b, x)
	}
	p.mark("inception_c", x) // 1536 × 8 × 8
	return p.result(x)
}

// Forward maps images x [N, 3, H, W] (299×299) to logits [N, classes].
func (m *InceptionV4) Forward(x *tensor.Tensor) (*tensor.Tensor, error) { return m.forward(x, nil) }

func (m *InceptionV4) forward(x *tensor.Tensor, tap tapFunc) (*tensor.Tensor, error) {
	p := &pipe{tap: tap}
	x = p.run(tapped{m.Features, tap}, x) // 1536 × 8 × 8
	x = p.run(globalAvgPool, x)           // 1536; dropout (keep 0.8) is the identity
	x = p.run(m.LastLinear, x)
	return p.result(x)
}

// tapped runs a network part's forward with a tap.
type tapped struct {
	m interface {
		forward(*tensor.Tensor, tapFunc) (*tensor.Tensor, error)
	}
	tap tapFunc
}

func (t tapped) Forward(x *tensor.Tensor) (*tensor.Tensor, error) { return t.m.forward(x, t.tap) }

// macs counts the multiply-accumulates of the convolutions and the
// classifier on an h×w image.
func (m *InceptionV4) macs(h, w int) int64 {
	var t macTally
	f := m.Features
	bs := []macBlock{f.Stem[0], f.Stem[1], f.Stem[2], f.Mixed3a, f.Mixed4a, f.Mixed5a}
	for _, b := range f.A {
		bs = append(bs, b)
	}
	bs = append(bs, f.ReductionA)
	for _, b := range f.B {
		bs = append(bs, b)
	}
	bs = append(bs, f.ReductionB)
	for _, b := range f.C {
		bs = append(bs, b)
	}
	for _, b := range bs {
		h, w = t.add(b, h, w)
	}
	return t.n + int64(m.LastLinear.In)*int64(m.LastLinear.Out)
}

// upgradeStateDict drops the background class of the TensorFlow ports'
// 1001-class classifier (row 0 of last_linear), as Cadene's loader does
// for 1000-class ImageNet.
func (m *InceptionV4) upgradeStateDict(sd map[string]*tensor.Tensor) map[string]*tensor.Tensor {
	return dropBackgroundClass(sd, m.LastLinear)
}

// --- Blocks shared by the three networks.

// mixed is a block whose branches (branch0 … branch3, as the ports name
// them; nil ones absent) run on the same input and are concatenated: the
// Inception-v4 paper's Inception-A/B, reductions and mixed_5b.
type mixed struct {
	Branch0 inceptionLayer `nn:"branch0"`
	Branch1 inceptionLayer `nn:"branch1"`
	Branch2 inceptionLayer `nn:"branch2"`
	Branch3 inceptionLayer `nn:"branch3"`
}

func (m *mixed) branches() []inceptionLayer {
	var bs []inceptionLayer
	for _, b := range []inceptionLayer{m.Branch0, m.Branch1, m.Branch2, m.Branch3} {
		if b != nil {
			bs = append(bs, b)
		}
	}
	return bs
}

// Forward runs the branches and concatenates them.
func (m *mixed) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	bs := m.branches()
	ms := make([]nn.Module, len(bs))
	for i, b := range bs {
		ms[i] = b
	}
	return concatBranches(x, ms...)
}

func (m *mixed) blockMACs(h, w int) (int64, int, int) {
	bs := m.branches()
	ms := make([]macBlock, len(bs))
	for i, b := range bs {
		ms[i] = b
	}
	return branchMACs(h, w, ms...)
}

// convPoolMix is the stem's Mixed_3a / Mixed_5a (Figure 3): a 3x3/2
// convolution ("conv") and a 3x3/2 max pooling side by side, the pooling's
// output first in Mixed_3a, second in Mixed_5a.
type convPoolMix struct {
	Conv      *BasicConv2d `nn:"conv"`
	poolFirst bool
}

func (c *convPoolMix) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	if c.poolFirst {
		return concatBranches(x, maxPool3s2{}, c.Conv)
	}
	return concatBranches(x, c.Conv, maxPool3s2{})
}

func (c *convPoolMix) blockMACs(h, w int) (int64, int, int) { return c.Conv.blockMACs(h, w) }

// maxPool3s2 is the reductions' 3x3/2 max pooling branch (no padding).
type maxPool3s2 struct{}

func (maxPool3s2) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	return inceptionV3Pool.Forward(x)
}

func (maxPool3s2) blockMACs(h, w int) (int64, int, int) { return maxPoolSize{3, 2}.blockMACs(h, w) }

// avgPoolExcludePad is the ports' branch pooling: 3x3/1, padding 1,
// count_include_pad=False (TensorFlow's SAME average pooling).
var avgPoolExcludePad = nn.NewAvgPool2d(nn.Kernel(3), nn.PoolOptions{Stride: nn.Stride(1), Padding: nn.Padding(1), ExcludePad: true})

// dropBackgroundClass returns sd with row 0 of last_linear's weight and
// bias dropped when they have one row more than fc (the TensorFlow models'
// class 0, "background"); otherwise sd unchanged.
func dropBackgroundClass(sd map[string]*tensor.Tensor, fc *nn.Linear) map[string]*tensor.Tensor {
	w, b := sd["last_linear.weight"], sd["last_linear.bias"]
	if w == nil || b == nil || w.Dims() != 2 || b.Dims() != 1 || w.Dim(0) != fc.Out+1 || b.Dim(0) != fc.Out+1 || w.Dim(1) != fc.In {
		return sd
	}
	out := make(map[string]*tensor.Tensor, len(sd))
	for k, v := range sd {
		out[k] = v
	}
	nw, _ := tensor.FromData([]int{fc.Out, fc.In}, w.Data()[fc.In:])
	nb, _ := tensor.FromData([]int{fc.Out}, b.Data()[1:])
	out["last_linear.weight"], out["last_linear.bias"] = nw, nb
	return out
}
