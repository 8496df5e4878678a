package classify

import (
	"fmt"
	"slices"
	"strconv"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// Inception-ResNet-v1 and -v2 (Szegedy, Ioffe, Vanhoucke and Alemi 2016,
// Figure 15): the residual half of the Inception-v4 paper. The rows, the
// port names and how the released models differ from the figures are in
// inception_v4.go's file doc; the blocks shared with Inception-v4 (mixed,
// convPoolMix, the pools) stay there.

// inceptionResNetSpec is Figure 15 with Table 1's Reduction-A widths and
// §3.3's residual scaling.
type inceptionResNetSpec struct {
	v2         bool
	a, b, c    int        // residual A, B and C blocks; c excludes the final block8 without ReLU
	k, l, m, n int        // Reduction-A: v1 192, 192, 256, 384; v2 256, 256, 384, 384
	scale      [3]float32 // the residual scaling of the A, B, C blocks (§3.3: 0.1–0.3)
	classes    int
}

// The released models' rows (see the file's doc for the paper's counts).
var inceptionResNetSpecs = map[string]inceptionResNetSpec{
	"inception_resnet_v1": {a: 5, b: 10, c: 5, k: 192, l: 192, m: 256, n: 384, scale: [3]float32{0.17, 0.10, 0.20}, classes: 1000},
	"inception_resnet_v2": {v2: true, a: 10, b: 20, c: 9, k: 256, l: 256, m: 384, n: 384, scale: [3]float32{0.17, 0.10, 0.20}, classes: 1000},
}

// InceptionResNet is Inception-ResNet-v1 or -v2 (Figure 15), with the
// ports' names.
//
// Forward is safe for concurrent use.
type InceptionResNet struct {
	Conv1a  *BasicConv2d `nn:"conv2d_1a"`
	Conv2a  *BasicConv2d `nn:"conv2d_2a"`
	Conv2b  *BasicConv2d `nn:"conv2d_2b"`
	Conv3b  *BasicConv2d `nn:"conv2d_3b"`
	Conv4a  *BasicConv2d `nn:"conv2d_4a"`
	Conv4b  *BasicConv2d `nn:"conv2d_4b"` // v1: 3x3/2 256 (Figure 14); nil in v2
	Mixed5b *mixed       `nn:"mixed_5b"`  // v2: the released stem's last module; nil in v1

	// The residual stages. The ports name them repeat_1, repeat_2,
	// repeat_3 (v1) and repeat, repeat_1, repeat_2 (v2); Children does.
	RepeatA    []*residualInception
	Mixed6a    *mixed // Reduction-A (Figure 7)
	RepeatB    []*residualInception
	Mixed7a    *mixed // Reduction-B (Figure 12 v1, 18 v2)
	RepeatC    []*residualInception
	Block8     *residualInception // the last C block, without ReLU
	Conv7b     *BasicConv2d       // v2: 1x1 to 1536; nil in v1
	LastLinear *nn.Linear

	v2 bool
}

// Children lists the tensors' owners under the ports' names.
func (m *InceptionResNet) Children() []nn.Child {
	cs := []nn.Child{{Name: "conv2d_1a", Module: m.Conv1a}, {Name: "conv2d_2a", Module: m.Conv2a},
		{Name: "conv2d_2b", Module: m.Conv2b}, {Name: "conv2d_3b", Module: m.Conv3b}, {Name: "conv2d_4a", Module: m.Conv4a}}
	repeats := [3]string{"repeat_1", "repeat_2", "repeat_3"}
	if m.v2 {
		cs = append(cs, nn.Child{Name: "mixed_5b", Module: m.Mixed5b})
		repeats = [3]string{"repeat", "repeat_1", "repeat_2"}
	} else {
		cs = append(cs, nn.Child{Name: "conv2d_4b", Module: m.Conv4b})
	}
	cs = append(cs,
		nn.Child{Name: repeats[0], Module: residualRepeat(m.RepeatA)},
		nn.Child{Name: "mixed_6a", Module: m.Mixed6a},
		nn.Child{Name: repeats[1], Module: residualRepeat(m.RepeatB)},
		nn.Child{Name: "mixed_7a", Module: m.Mixed7a},
		nn.Child{Name: repeats[2], Module: residualRepeat(m.RepeatC)},
		nn.Child{Name: "block8", Module: m.Block8})
	if m.Conv7b != nil {
		cs = append(cs, nn.Child{Name: "conv2d_7b", Module: m.Conv7b})
	}
	return append(cs, nn.Child{Name: "last_linear", Module: m.LastLinear})
}

// newInceptionResNet lays out s with zero weights.
func newInceptionResNet(s inceptionResNetSpec) *InceptionResNet {
	m := &InceptionResNet{
		v2:     s.v2,
		Conv1a: bc(3, 32, 3, 2, 0),
		Conv2a: bc(32, 32, 3, 1, 0),
		Conv2b: bc(32, 64, 3, 1, 1),
		Conv3b: bc(64, 80, 1, 1, 0),
		Conv4a: bc(80, 192, 3, 1, 0),
	}
	// The residual blocks' widths: [A, B, C] × (grid channels, branch widths).
	var grid [3]int
	if s.v2 {
		m.Mixed5b = &mixed{ // Inception-v3's Mixed_5b with a 96-wide 1x1
			Branch0: bc(192, 96, 1, 1, 0),
			Branch1: convChain{bc(192, 48, 1, 1, 0), bc(48, 64, 5, 1, 2)},
			Branch2: convChain{bc(192, 64, 1, 1, 0), bc(64, 96, 3, 1, 1), bc(96, 96, 3, 1, 1)},
			Branch3: &poolBranch{Pool: avgPoolExcludePad, Proj: bc(192, 64, 1, 1, 0)},
		}
		grid[0] = 320
	} else {
		m.Conv4b = bc(192, 256, 3, 2, 0)
		grid[0] = 256
	}
	for i := 0; i < s.a; i++ {
		m.RepeatA = append(m.RepeatA, newResidualA(grid[0], s.v2, s.scale[0]))
	}
	m.Mixed6a = &mixed{
		Branch0: bc(grid[0], s.n, 3, 2, 0),
		Branch1: convChain{bc(grid[0], s.k, 1, 1, 0), bc(s.k, s.l, 3, 1, 1), bc(s.l, s.m, 3, 2, 0)},
		Branch2: maxPool3s2{},
	}
	grid[1] = grid[0] + s.n + s.m // v1 896, v2 1088
	for i := 0; i < s.b; i++ {
		m.RepeatB = append(m.RepeatB, newResidualB(grid[1], s.v2, s.scale[1]))
	}
	// Reduction-B: 1x1 256 → 3x3/2 384; 1x1 256 → 3x3/2 (v1 256, v2 288);
	// 1x1 256 → 3x3 → 3x3/2 (v1 256, 256; v2 288, 320); max pooling.
	w1, w2a, w2b := 256, 256, 256
	if s.v2 {
		w1, w2a, w2b = 288, 288, 320
	}
	m.Mixed7a = &mixed{
		Branch0: convChain{bc(grid[1], 256, 1, 1, 0), bc(256, 384, 3, 2, 0)},
		Branch1: convChain{bc(grid[1], 256, 1, 1, 0), bc(256, w1, 3, 2, 0)},
		Branch2: convChain{bc(grid[1], 256, 1, 1, 0), bc(256, w2a, 3, 1, 1), bc(w2a, w2b, 3, 2, 0)},
		Branch3: maxPool3s2{},
	}
	grid[2] = grid[1] + 384 + w1 + w2b // v1 1792, v2 2080
	for i := 0; i < s.c; i++ {
		m.RepeatC = append(m.RepeatC, newResidualC(grid[2], s.v2, s.scale[2], true))
	}
	m.Block8 = newResidualC(grid[2], s.v2, 1, false)
	out := grid[2]
	if s.v2 {
		m.Conv7b = bc(grid[2], 1536, 1, 1, 0)
		out = 1536
	}
	m.LastLinear = newLinear(out, s.classes)
	return m
}

// residualInception is an Inception-ResNet block (Figures 10, 11, 13 for
// v1; 16, 17, 19 for v2): branches concatenated, a linear 1x1 convolution
// ("conv2d", with a bias) back to the grid's width, scaled and added to
// the input, then ReLU (§3.3).
type residualInception struct {
	Branch0 *BasicConv2d `nn:"branch0"`
	Branch1 convChain    `nn:"branch1"`
	Branch2 convChain    `nn:"branch2"` // A blocks only
	Conv2d  *nn.Conv2d   `nn:"conv2d"`
	Scale   float32
	ReLU    bool
}

// newResidualA is Inception-ResNet-A (v1 Figure 10: 32; 32 → 32;
// 32 → 32 → 32. v2 Figure 16: 32; 32 → 32; 32 → 48 → 64).
func newResidualA(c int, v2 bool, scale float32) *residualInception {
	w2a, w2b := 32, 32
	if v2 {
		w2a, w2b = 48, 64
	}
	return &residualInception{
		Branch0: bc(c, 32, 1, 1, 0),
		Branch1: convChain{bc(c, 32, 1, 1, 0), bc(32, 32, 3, 1, 1)},
		Branch2: convChain{bc(c, 32, 1, 1, 0), bc(32, w2a, 3, 1, 1), bc(w2a, w2b, 3, 1, 1)},
		Conv2d:  convHW(32+32+w2b, c, sq(1), sq(1), sq(0), true),
		Scale:   scale, ReLU: true,
	}
}

// newResidualB is Inception-ResNet-B (v1 Figure 11: 128; 128 → 1x7 128 →
// 7x1 128. v2 Figure 17: 192; 128 → 1x7 160 → 7x1 192).
func newResidualB(c int, v2 bool, scale float32) *residualInception {
	b0, w1, w2 := 128, 128, 128
	if v2 {
		b0, w1, w2 = 192, 160, 192
	}
	return &residualInception{
		Branch0: bc(c, b0, 1, 1, 0),
		Branch1: convChain{bc(c, 128, 1, 1, 0), br(128, w1, k1x7, p1x7), br(w1, w2, k7x1, p7x1)},
		Conv2d:  convHW(b0+w2, c, sq(1), sq(1), sq(0), true),
		Scale:   scale, ReLU: true,
	}
}

// newResidualC is Inception-ResNet-C (v1 Figure 13: 192; 192 → 1x3 192 →
// 3x1 192. v2 Figure 19: 192; 192 → 1x3 224 → 3x1 256).
func newResidualC(c int, v2 bool, scale float32, relu bool) *residualInception {
	w1, w2 := 192, 192
	if v2 {
		w1, w2 = 224, 256
	}
	return &residualInception{
		Branch0: bc(c, 192, 1, 1, 0),
		Branch1: convChain{bc(c, 192, 1, 1, 0), br(192, w1, k1x3, p1x3), br(w1, w2, k3x1, p3x1)},
		Conv2d:  convHW(192+w2, c, sq(1), sq(1), sq(0), true),
		Scale:   scale, ReLU: relu,
	}
}

// Forward computes relu(x + Scale·conv2d(concat(branches(x)))) (no ReLU
// for the final block8).
func (r *residualInception) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	var y *tensor.Tensor
	var err error
	if len(r.Branch2) > 0 {
		y, err = concatBranches(x, r.Branch0, r.Branch1, r.Branch2)
	} else {
		y, err = concatBranches(x, r.Branch0, r.Branch1)
	}
	if err != nil {
		return nil, err
	}
	up, err := r.Conv2d.Forward(y)
	if err != nil {
		return nil, fmt.Errorf("conv2d: %w", err)
	}
	if !slices.Equal(up.Shape(), x.Shape()) {
		return nil, fmt.Errorf("%w: residual %v for input %v", nn.ErrShape, up.Shape(), x.Shape())
	}
	// up·scale + x, then ReLU, in place (up is this call's own tensor).
	u, xs, s := up.Data(), x.Data(), r.Scale
	if r.ReLU {
		for i, v := range xs {
			u[i] = max(u[i]*s+v, 0)
		}
	} else {
		for i, v := range xs {
			u[i] = u[i]*s + v
		}
	}
	return up, nil
}

func (r *residualInception) blockMACs(h, w int) (int64, int, int) {
	var n int64
	var ch, cw int
	if len(r.Branch2) > 0 {
		n, ch, cw = branchMACs(h, w, r.Branch0, r.Branch1, r.Branch2)
	} else {
		n, ch, cw = branchMACs(h, w, r.Branch0, r.Branch1)
	}
	m, _, _ := convMACs(r.Conv2d, ch, cw)
	return n + m, h, w
}

// residualRepeat names a stage's blocks "0", "1", … as the ports'
// nn.Sequential.
type residualRepeat []*residualInception

func (r residualRepeat) Children() []nn.Child {
	cs := make([]nn.Child, len(r))
	for i, b := range r {
		cs[i] = nn.Child{Name: strconv.Itoa(i), Module: b}
	}
	return cs
}

// Forward runs the blocks in order.
func (r residualRepeat) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	for i, b := range r {
		var err error
		if x, err = b.Forward(x); err != nil {
			return nil, fmt.Errorf("%d: %w", i, err)
		}
	}
	return x, nil
}

// Forward maps images x [N, 3, H, W] (299×299) to logits [N, classes].
func (m *InceptionResNet) Forward(x *tensor.Tensor) (*tensor.Tensor, error) { return m.forward(x, nil) }

func (m *InceptionResNet) forward(x *tensor.Tensor, tap tapFunc) (*tensor.Tensor, error) {
	p := &pipe{tap: tap}
	x = p.run(m.Conv1a, x)        // 32 × 149 × 149
	x = p.run(m.Conv2a, x)        // 32 × 147 × 147
	x = p.run(m.Conv2b, x)        // 64 × 147 × 147
	x = p.run(inceptionV3Pool, x) // 64 × 73 × 73
	x = p.run(m.Conv3b, x)        // 80 × 73 × 73
	x = p.run(m.Conv4a, x)        // 192 × 71 × 71
	if m.v2 {
		x = p.run(inceptionV3Pool, x) // 192 × 35 × 35
		x = p.run(m.Mixed5b, x)       // 320 × 35 × 35
	} else {
		x = p.run(m.Conv4b, x) // 256 × 35 × 35
	}
	p.mark("stem", x)
	x = runStage(p, "repeat_a", residualRepeat(m.RepeatA), x) // v1 256, v2 320 × 35 × 35
	x = runStage(p, "mixed_6a", m.Mixed6a, x)                 // v1 896, v2 1088 × 17 × 17
	x = runStage(p, "repeat_b", residualRepeat(m.RepeatB), x) // same
	x = runStage(p, "mixed_7a", m.Mixed7a, x)                 // v1 1792, v2 2080 × 8 × 8
	x = p.run(residualRepeat(m.RepeatC), x)
	x = runStage(p, "repeat_c", m.Block8, x) // same
	if m.Conv7b != nil {
		x = runStage(p, "conv2d_7b", m.Conv7b, x) // v2: 1536 × 8 × 8
	}
	x = p.run(globalAvgPool, x) // dropout (keep 0.8) is the identity
	x = p.run(m.LastLinear, x)
	return p.result(x)
}

// macs counts the multiply-accumulates of the convolutions and the
// classifier on an h×w image.
func (m *InceptionResNet) macs(h, w int) int64 {
	var t macTally
	pool := maxPoolSize{3, 2}
	bs := []macBlock{m.Conv1a, m.Conv2a, m.Conv2b, pool, m.Conv3b, m.Conv4a}
	if m.v2 {
		bs = append(bs, pool, m.Mixed5b)
	} else {
		bs = append(bs, m.Conv4b)
	}
	for _, b := range m.RepeatA {
		bs = append(bs, b)
	}
	bs = append(bs, m.Mixed6a)
	for _, b := range m.RepeatB {
		bs = append(bs, b)
	}
	bs = append(bs, m.Mixed7a)
	for _, b := range m.RepeatC {
		bs = append(bs, b)
	}
	bs = append(bs, m.Block8)
	if m.Conv7b != nil {
		bs = append(bs, m.Conv7b)
	}
	for _, b := range bs {
		h, w = t.add(b, h, w)
	}
	return t.n + int64(m.LastLinear.In)*int64(m.LastLinear.Out)
}

// upgradeStateDict drops the background class of a 1001-class checkpoint
// (row 0 of last_linear), as Cadene's loader does.
func (m *InceptionResNet) upgradeStateDict(sd map[string]*tensor.Tensor) map[string]*tensor.Tensor {
	return dropBackgroundClass(sd, m.LastLinear)
}
