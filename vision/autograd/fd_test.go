package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// Finite differences: every operation's analytic gradient against the
// central difference (L(x+h) − L(x−h))/2h of L = Σ y·r for a fixed random
// r, summed in float64. The forward passes are float32, so the difference
// carries about 1e-6/h of rounding and h² of curvature; fdTol allows for
// both, relative to the largest gradient value of the tensor checked.
// Inputs keep clear of the kinks (ReLU's 0, ties in a max pool) by more
// than h.

const (
	fdStep = 1e-2
	fdTol  = 2e-2
)

type fdCase struct {
	name   string
	inputs []*tensor.Tensor
	f      func(vs []*Var) (*Var, error)
	step   float64 // 0: fdStep
}

// randTensor returns values uniform in ±scale, kept at least gap away from 0.
func randTensor(rng *rand.Rand, scale, gap float64, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	for i := range t.Data() {
		v := (2*rng.Float64() - 1) * scale
		if math.Abs(v) < gap {
			v = math.Copysign(gap+rng.Float64()*gap, v)
		}
		t.Data()[i] = float32(v)
	}
	return t
}

// spreadTensor returns a random permutation of evenly spaced values
// (spacing step, centred on 0): no ties for a max pool to break.
func spreadTensor(rng *rand.Rand, step float64, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	n := t.Len()
	for i, p := range rng.Perm(n) {
		t.Data()[i] = float32((float64(p) - float64(n)/2 + 0.5) * step)
	}
	return t
}

// awayFrom6 moves values within 0.05 of 6 (ReLU6's upper kink) off it.
func awayFrom6(t *tensor.Tensor) *tensor.Tensor {
	for i, v := range t.Data() {
		if v > 5.95 && v < 6.05 {
			t.Data()[i] = v + 0.2
		}
	}
	return t
}

func dot64(y *tensor.Tensor, r []float64) float64 {
	var s float64
	for i, v := range y.Data() {
		s += float64(v) * r[i]
	}
	return s
}

func runFD(t *testing.T, c fdCase) {
	t.Helper()
	h := c.step
	if h == 0 {
		h = fdStep
	}
	rng := rand.New(rand.NewPCG(7, 7))
	vars := make([]*Var, len(c.inputs))
	for i, x := range c.inputs {
		vars[i] = Param(x)
	}
	y, err := c.f(vars)
	if err != nil {
		t.Fatalf("forward: %v", err)
	}
	r := make([]float64, y.Value().Len())
	gy := tensor.New(y.Shape()...)
	for i := range r {
		r[i] = 2*rng.Float64() - 1
		gy.Data()[i] = float32(r[i])
	}
	if err := y.BackwardWith(gy); err != nil {
		t.Fatalf("backward: %v", err)
	}
	loss := func() float64 {
		cs := make([]*Var, len(c.inputs))
		for i, x := range c.inputs {
			cs[i] = Constant(x)
		}
		y, err := c.f(cs)
		if err != nil {
			t.Fatalf("forward: %v", err)
		}
		return dot64(y.Value(), r)
	}
	for k, x := range c.inputs {
		g := vars[k].Grad()
		if g == nil {
			t.Errorf("input %d: no gradient", k)
			continue
		}
		var gmax float64
		for _, v := range g.Data() {
			gmax = math.Max(gmax, math.Abs(float64(v)))
		}
		d := x.Data()
		idx := make([]int, len(d))
		for i := range idx {
			idx[i] = i
		}
		if len(d) > 64 { // a sample of the positions
			idx = rng.Perm(len(d))[:64]
		}
		bad := 0
		for _, i := range idx {
			old := d[i]
			d[i] = float32(float64(old) + h)
			up := loss()
			d[i] = float32(float64(old) - h)
			down := loss()
			d[i] = old
			num := (up - down) / (2 * h)
			ana := float64(g.Data()[i])
			if math.Abs(num-ana) > fdTol*gmax+1e-4 {
				if bad < 5 {
					t.Errorf("input %d %v, value %d: analytic %.6g, numeric %.6g", k, x.Shape(), i, ana, num)
				}
				bad++
			}
		}
	}
}

func TestFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	rt := func(shape ...int) *tensor.Tensor { return randTensor(rng, 1, 0.05, shape...) }
	conv := func(in, out, k int, o nn.ConvOptions) *nn.Conv2d { return nn.NewConv2d(in, out, nn.Kernel(k), o, rng) }
	convCase := func(name string, c *nn.Conv2d, x *tensor.Tensor) fdCase {
		ins := []*tensor.Tensor{x, c.Weight}
		if c.Bias != nil {
			ins = append(ins, c.Bias)
		}
		return fdCase{name: name, inputs: ins, f: func(v []*Var) (*Var, error) {
			var b *Var
			if len(v) > 2 {
				b = v[2]
			}
			return Conv2d(c, v[0], v[1], b)
		}}
	}
	tconvCase := func(name string, c *nn.ConvTranspose2d, x *tensor.Tensor) fdCase {
		ins := []*tensor.Tensor{x, c.Weight}
		if c.Bias != nil {
			ins = append(ins, c.Bias)
		}
		return fdCase{name: name, inputs: ins, f: func(v []*Var) (*Var, error) {
			var b *Var
			if len(v) > 2 {
				b = v[2]
			}
			return ConvTranspose2d(c, v[0], v[1], b)
		}}
	}
	unary := func(name string, x *tensor.Tensor, f func(*Var) (*Var, error)) fdCase {
		return fdCase{name: name, inputs: []*tensor.Tensor{x}, f: func(v []*Var) (*Var, error) { return f(v[0]) }}
	}
	bn := nn.NewBatchNorm2d(3)
	for i := range 3 {
		bn.Weight.Data()[i] = 0.5 + float32(i)*0.4
		bn.Bias.Data()[i] = 0.1 * float32(i)
		bn.RunningMean.Data()[i] = 0.2
		bn.RunningVar.Data()[i] = 1.5
	}
	targets := []int{2, 0, 4, 1}
	probs := tensor.New(4, 5)
	for i := range probs.Data() {
		probs.Data()[i] = float32(rng.Float64())
	}
	cases := []fdCase{
		convCase("conv 3x3", conv(2, 3, 3, nn.ConvOptions{}), rt(2, 2, 5, 6)),
		convCase("conv stride 2 pad 1", conv(2, 4, 3, nn.ConvOptions{Stride: nn.Stride(2), Padding: nn.Padding(1)}), rt(2, 2, 7, 6)),
		convCase("conv dilation 2 pad 2", conv(3, 2, 3, nn.ConvOptions{Dilation: nn.Dilation(2), Padding: nn.Padding(2)}), rt(1, 3, 6, 7)),
		convCase("conv groups 2 no bias", conv(4, 6, 3, nn.ConvOptions{Groups: 2, Padding: nn.Padding(1), NoBias: true}), rt(2, 4, 5, 5)),
		convCase("conv depthwise", conv(3, 3, 3, nn.ConvOptions{Groups: 3, Stride: nn.Stride(2)}), rt(2, 3, 7, 7)),
		convCase("conv 1x1", conv(3, 4, 1, nn.ConvOptions{}), rt(2, 3, 4, 5)),
		convCase("conv 5x5 lenet", conv(1, 6, 5, nn.ConvOptions{}), rt(2, 1, 10, 10)),
		tconvCase("transposed 3x3 stride 2", nn.NewConvTranspose2d(3, 2, nn.Kernel(3), nn.ConvTransposeOptions{Stride: nn.Stride(2), Padding: nn.Padding(1), OutputPadding: nn.Padding(1)}, rng), rt(2, 3, 4, 5)),
		tconvCase("transposed groups dilation", nn.NewConvTranspose2d(4, 2, nn.Kernel(2), nn.ConvTransposeOptions{Groups: 2, Dilation: nn.Dilation(2)}, rng), rt(1, 4, 3, 4)),
		tconvCase("transposed outpad ≥ stride (dilation 3)", nn.NewConvTranspose2d(2, 2, nn.Kernel(2), nn.ConvTransposeOptions{Stride: nn.Stride(2), Dilation: nn.Dilation(3), OutputPadding: nn.Padding(2), NoBias: true}, rng), rt(1, 2, 3, 3)),
		{name: "linear", inputs: []*tensor.Tensor{rt(3, 5), rt(4, 5), rt(4)}, f: func(v []*Var) (*Var, error) { return Linear(v[0], v[1], v[2]) }},
		{name: "linear 4-D input", inputs: []*tensor.Tensor{rt(2, 2, 2, 2), rt(3, 8), rt(3)}, f: func(v []*Var) (*Var, error) { return Linear(v[0], v[1], v[2]) }},
		{name: "batch norm train", inputs: []*tensor.Tensor{rt(3, 3, 2, 3), bn.Weight, bn.Bias}, f: func(v []*Var) (*Var, error) { return BatchNorm2d(bn, v[0], v[1], v[2], true) }},
		{name: "batch norm eval", inputs: []*tensor.Tensor{rt(2, 3, 2, 3), bn.Weight, bn.Bias}, f: func(v []*Var) (*Var, error) { return BatchNorm2d(bn, v[0], v[1], v[2], false) }},
		unary("max pool 2x2", spreadTensor(rng, 0.05, 2, 2, 4, 6), func(x *Var) (*Var, error) { return MaxPool2d(nn.NewMaxPool2d(nn.Kernel(2), nn.PoolOptions{}), x) }),
		unary("max pool 3x3 s2 p1 ceil", spreadTensor(rng, 0.05, 1, 2, 6, 7), func(x *Var) (*Var, error) {
			return MaxPool2d(nn.NewMaxPool2d(nn.Kernel(3), nn.PoolOptions{Stride: nn.Stride(2), Padding: nn.Padding(1), CeilMode: true}), x)
		}),
		unary("max pool dilated", spreadTensor(rng, 0.05, 1, 2, 7, 7), func(x *Var) (*Var, error) {
			return MaxPool2d(nn.NewMaxPool2d(nn.Kernel(2), nn.PoolOptions{Stride: nn.Stride(1), Dilation: nn.Dilation(2)}), x)
		}),
		unary("avg pool 3x3 s2 p1 ceil", rt(1, 2, 6, 7), func(x *Var) (*Var, error) {
			return AvgPool2d(nn.NewAvgPool2d(nn.Kernel(3), nn.PoolOptions{Stride: nn.Stride(2), Padding: nn.Padding(1), CeilMode: true}), x)
		}),
		unary("avg pool exclude pad", rt(1, 2, 5, 5), func(x *Var) (*Var, error) {
			return AvgPool2d(nn.NewAvgPool2d(nn.Kernel(3), nn.PoolOptions{Stride: nn.Stride(2), Padding: nn.Padding(1), ExcludePad: true}), x)
		}),
		unary("adaptive avg 3x2 of 7x5", rt(2, 2, 7, 5), func(x *Var) (*Var, error) { return AdaptiveAvgPool2d(nn.NewAdaptiveAvgPool2d(3, 2), x) }),
		unary("adaptive avg global", rt(2, 3, 4, 5), func(x *Var) (*Var, error) { return AdaptiveAvgPool2d(nn.NewAdaptiveAvgPool2d(1, 1), x) }),
		unary("adaptive max 2x3 of 5x7", spreadTensor(rng, 0.05, 1, 2, 5, 7), func(x *Var) (*Var, error) { return AdaptiveMaxPool2d(nn.NewAdaptiveMaxPool2d(2, 3), x) }),
		unary("relu", rt(3, 7), ReLU),
		unary("relu6", awayFrom6(randTensor(rng, 8, 0.05, 4, 9)), ReLU6),
		unary("leaky relu", rt(3, 7), func(x *Var) (*Var, error) { return LeakyReLU(x, 0.1) }),
		unary("sigmoid", rt(3, 7), Sigmoid),
		unary("tanh", rt(3, 7), Tanh),
		unary("dropout", rt(4, 9), func(x *Var) (*Var, error) { return Dropout(x, 0.3, rand.New(rand.NewPCG(3, 3))) }),
		unary("softmax dim 1", rt(3, 5), func(x *Var) (*Var, error) { return Softmax(x, 1) }),
		unary("softmax channels", rt(2, 3, 2, 2), func(x *Var) (*Var, error) { return Softmax(x, 1) }),
		unary("log softmax", rt(3, 5), func(x *Var) (*Var, error) { return LogSoftmax(x, -1) }),
		unary("log softmax channels", rt(2, 3, 2, 2), func(x *Var) (*Var, error) { return LogSoftmax(x, 1) }),
		unary("upsample nearest x2", rt(1, 2, 3, 4), func(x *Var) (*Var, error) {
			return Interpolate(x, nn.InterpolateOptions{ScaleFactor: [2]float64{2, 2}})
		}),
		unary("upsample nearest 5x7", rt(1, 2, 3, 4), func(x *Var) (*Var, error) { return Interpolate(x, nn.InterpolateOptions{Size: [2]int{5, 7}}) }),
		unary("upsample bilinear", rt(1, 2, 3, 4), func(x *Var) (*Var, error) {
			return Interpolate(x, nn.InterpolateOptions{Size: [2]int{7, 5}, Mode: nn.Bilinear})
		}),
		unary("upsample bilinear align corners", rt(1, 2, 3, 4), func(x *Var) (*Var, error) {
			return Interpolate(x, nn.InterpolateOptions{ScaleFactor: [2]float64{2, 1.5}, Mode: nn.Bilinear, AlignCorners: true})
		}),
		unary("zero pad and crop", rt(1, 2, 4, 5), func(x *Var) (*Var, error) { return ZeroPad2d(nn.NewZeroPad2d(1, -1, 2, 0), x) }),
		unary("flatten", rt(2, 3, 2, 2), func(x *Var) (*Var, error) { return Flatten(x, 1, -1) }),
		{name: "concat", inputs: []*tensor.Tensor{rt(2, 1, 3, 2), rt(2, 3, 3, 2), rt(2, 2, 3, 2)}, f: func(v []*Var) (*Var, error) { return Concat(v...) }},
		{name: "add", inputs: []*tensor.Tensor{rt(2, 3), rt(2, 3)}, f: func(v []*Var) (*Var, error) { return Add(v[0], v[1]) }},
		{name: "add shared operand", inputs: []*tensor.Tensor{rt(2, 3)}, f: func(v []*Var) (*Var, error) {
			y, err := Mul(v[0], v[0])
			if err != nil {
				return nil, err
			}
			return Add(y, v[0])
		}},
		{name: "sub mul scale", inputs: []*tensor.Tensor{rt(2, 3), rt(2, 3)}, f: func(v []*Var) (*Var, error) {
			d, err := Sub(v[0], v[1])
			if err != nil {
				return nil, err
			}
			m, err := Mul(d, v[1])
			if err != nil {
				return nil, err
			}
			return Scale(m, -1.5)
		}},
		{name: "channel scale", inputs: []*tensor.Tensor{rt(2, 3, 2, 2), rt(2, 3, 1, 1)}, f: func(v []*Var) (*Var, error) { return ChannelScale(v[0], v[1]) }},
		unary("sum", rt(2, 3), Sum),
		unary("mean", rt(2, 3), Mean),
		unary("cross entropy", rt(4, 5), func(x *Var) (*Var, error) { return CrossEntropy(x, targets, ClassLoss{}) }),
		unary("cross entropy smoothing weights ignore", rt(4, 5), func(x *Var) (*Var, error) {
			return CrossEntropy(x, []int{2, -100, 4, 1}, ClassLoss{LabelSmoothing: 0.2, Weight: []float32{1, 2, 0.5, 1, 3}})
		}),
		unary("cross entropy spatial none", rt(2, 3, 2, 2), func(x *Var) (*Var, error) {
			return CrossEntropy(x, []int{0, 1, 2, 1, 2, 2, 0, 7}, ClassLoss{IgnoreIndex: 7, LabelSmoothing: 0.1, Reduction: ReduceNone})
		}),
		unary("nll", rt(4, 5), func(x *Var) (*Var, error) { return NLL(x, targets, ClassLoss{Reduction: ReduceSum}) }),
		unary("bce with logits", randTensor(rng, 3, 0, 4, 5), func(x *Var) (*Var, error) { return BCEWithLogits(x, probs, []float32{1, 2, 3, 0.5, 1}, ReduceMean) }),
		unary("mse", rt(4, 5), func(x *Var) (*Var, error) { return MSE(x, probs, ReduceSum) }),
		unary("smooth l1", randTensor(rng, 2, 0, 4, 5), func(x *Var) (*Var, error) { return SmoothL1(x, probs, 0.5, ReduceMean) }),
		unary("sigmoid focal", randTensor(rng, 3, 0, 4, 5), func(x *Var) (*Var, error) { return SigmoidFocal(x, probs, 0.25, 2, ReduceSum) }),
		unary("sigmoid focal gamma 0.5 no alpha", randTensor(rng, 3, 0, 4, 5), func(x *Var) (*Var, error) { return SigmoidFocal(x, probs, -1, 0.5, ReduceNone) }),
		unary("kl div", rt(4, 5), func(x *Var) (*Var, error) { return KLDiv(x, probs, ReduceBatchMean) }),
		unary("distillation T=4", randTensor(rng, 3, 0, 4, 5), func(x *Var) (*Var, error) { return Distillation(x, probs, 4) }),
		unary("straight through sign clipped", randTensor(rng, 2, 0.1, 3, 4), func(x *Var) (*Var, error) {
			// The estimator's gradient is not the sign's: compare it with
			// the clipped identity's finite difference.
			y, err := StraightThrough("sign", func(dst, src []float32) {
				for i, v := range src {
					dst[i] = float32(math.Copysign(1, float64(v)))
				}
			}, 1).Apply(x)
			if err != nil || !x.RequiresGrad() {
				c := tensor.New(x.Shape()...)
				for i, v := range x.Value().Data() {
					c.Data()[i] = max(-1, min(1, v))
				}
				return Constant(c), nil
			}
			return y, err
		}),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runFD(t, c) })
	}
}

// TestFiniteDifferencesNet differentiates a small network of nn layers
// through Net, in training mode: every parameter's gradient.
func TestFiniteDifferencesNet(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	net := nn.NewSequential(
		nn.NewConv2d(2, 4, nn.Kernel(3), nn.ConvOptions{Padding: nn.Padding(1)}, rng),
		nn.NewBatchNorm2d(4),
		nn.Tanh{},
		nn.NewAvgPool2d(nn.Kernel(2), nn.PoolOptions{}),
		nn.NewFlatten(),
		nn.NewLinear(16, 3, true, rng),
	)
	n := NewNet(net)
	x := randTensor(rng, 1, 0, 3, 2, 4, 4)
	var ins []*tensor.Tensor
	for _, p := range n.Params() {
		ins = append(ins, p.Var.Value())
	}
	ins = append(ins, x)
	runFD(t, fdCase{name: "net", inputs: ins, f: func(v []*Var) (*Var, error) {
		// The Net's own Vars for the parameters; the last operand is x.
		m := NewNet(net)
		for i, p := range m.Params() {
			if !v[i].RequiresGrad() {
				p.Var.SetRequiresGrad(false)
			} else {
				m.list[i].Var = v[i]
				m.params[p.Var.Value()] = v[i]
			}
		}
		return m.Forward(v[len(v)-1])
	}})
}

func ExampleStraightThrough() {
	sign := StraightThrough("sign", func(dst, src []float32) {
		for i, v := range src {
			dst[i] = float32(math.Copysign(1, float64(v)))
		}
	}, 1)
	x := Param(tensor.New(3))
	copy(x.Value().Data(), []float32{-2, 0.5, 0.25})
	y, _ := sign.Apply(x)
	s, _ := Sum(y)
	s.Backward()
	fmt.Println(y.Value().Data(), x.Grad().Data())
	// Output: [-1 1 1] [0 1 1]
}
