package classify

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"govision.dev/vision/autograd"
	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// TestLeNet5FiniteDifferences checks LeNet-5's custom operations (the
// squashing, alone and after each kind of layer, subsampling, the partial
// convolution, the RBF output) against central
// differences of L = Σ y·r, r fixed and random, each on small operands
// (the full network's logits are sums of squares of order 100, whose
// float32 rounding would drown a difference quotient). The tolerance is
// relative to each operand's largest gradient.
func TestLeNet5FiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	rt := func(shape ...int) *tensor.Tensor {
		x := tensor.New(shape...)
		for i := range x.Data() {
			x.Data()[i] = float32(2*rng.Float64() - 1)
		}
		return x
	}
	m, err := New("lenet5")
	if err != nil {
		t.Fatal(err)
	}
	l := m.Net().(*LeNet5)
	initLeNet5(l, rng)
	net := autograd.NewNet(l)
	RegisterLeNet5(net)
	small := &RBF{Weight: rt(3, 5)}
	conv := &nn.Conv2d{InC: 2, OutC: 3, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1, Groups: 1}
	// identity is a layer that changes nothing, to test the squashing
	// alone: a copy forward (squashed overwrites it) and backward (squashed
	// releases its gradient).
	identity := autograd.Func{
		Name:    "identity",
		Forward: func(xs []*tensor.Tensor) (*tensor.Tensor, error) { return xs[0].Clone(), nil },
		Backward: func(gy *tensor.Tensor, _ []*tensor.Tensor, _ *tensor.Tensor, _ []bool) ([]*tensor.Tensor, error) {
			return []*tensor.Tensor{gy.Clone()}, nil
		},
	}
	cases := []struct {
		name string
		ins  []*tensor.Tensor
		f    func(vs []*autograd.Var) (*autograd.Var, error)
	}{
		{"squash", []*tensor.Tensor{rt(2, 3, 4)}, func(v []*autograd.Var) (*autograd.Var, error) { return squashed(identity).Apply(v[0]) }},
		{"subsampling", []*tensor.Tensor{rt(2, 3, 5, 4), rt(3), rt(3)}, func(v []*autograd.Var) (*autograd.Var, error) {
			return subsamplingOp.Apply(v...)
		}},
		{"squashed subsampling", []*tensor.Tensor{rt(2, 3, 6, 4), rt(3), rt(3)}, func(v []*autograd.Var) (*autograd.Var, error) {
			return squashed(subsamplingOp).Apply(v...)
		}},
		{"squashed conv", []*tensor.Tensor{rt(2, 2, 5, 6), rt(3, 2, 3, 3), rt(3)}, func(v []*autograd.Var) (*autograd.Var, error) {
			return squashed(convOp(conv)).Apply(v...)
		}},
		{"squashed linear", []*tensor.Tensor{rt(2, 5), rt(3, 5), rt(3)}, func(v []*autograd.Var) (*autograd.Var, error) {
			return squashed(linearOp).Apply(v...)
		}},
		{"rbf", []*tensor.Tensor{rt(2, 5)}, func(v []*autograd.Var) (*autograd.Var, error) { return diffRBF(net, small, v[0]) }},
		{"partial conv", append([]*tensor.Tensor{rt(2, 6, 7, 6)}, c3Params(l)...), func(v []*autograd.Var) (*autograd.Var, error) {
			return partialConvOp(l.C3).Apply(v...)
		}},
		{"squashed partial conv", append([]*tensor.Tensor{rt(2, 6, 7, 6)}, c3Params(l)...), func(v []*autograd.Var) (*autograd.Var, error) {
			return squashed(partialConvOp(l.C3)).Apply(v...)
		}},
		{"chain", []*tensor.Tensor{rt(2, 2, 6, 6), rt(3, 2, 3, 3), rt(3), rt(3), rt(3), rt(4, 12), rt(4)}, func(v []*autograd.Var) (*autograd.Var, error) {
			return chain("test", []autograd.Func{squashed(convOp(conv)), squashed(subsamplingOp), squashed(linearOp)}, []int{2, 2, 2}).Apply(v...)
		}},
	}
	const h, tol = 1e-2, 2e-2
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vars := make([]*autograd.Var, len(c.ins))
			for i, x := range c.ins {
				vars[i] = autograd.Param(x)
			}
			y, err := c.f(vars)
			if err != nil {
				t.Fatal(err)
			}
			r := rt(y.Shape()...)
			if err := y.BackwardWith(r); err != nil {
				t.Fatal(err)
			}
			loss := func() float64 {
				cs := make([]*autograd.Var, len(c.ins))
				for i, x := range c.ins {
					cs[i] = autograd.Constant(x)
				}
				y, err := c.f(cs)
				if err != nil {
					t.Fatal(err)
				}
				var s float64
				for i, v := range y.Value().Data() {
					s += float64(v) * float64(r.Data()[i])
				}
				return s
			}
			for k, x := range c.ins {
				g := vars[k].Grad().Data()
				var gmax float64
				for _, v := range g {
					gmax = math.Max(gmax, math.Abs(float64(v)))
				}
				d := x.Data()
				for _, i := range rng.Perm(len(d))[:min(len(d), 12)] {
					old := d[i]
					d[i] = old + h
					up := loss()
					d[i] = old - h
					down := loss()
					d[i] = old
					num := (up - down) / (2 * h)
					if math.Abs(num-float64(g[i])) > tol*gmax+1e-4 {
						t.Errorf("operand %d [%d]: analytic %.5g, numeric %.5g", k, i, g[i], num)
					}
				}
			}
		})
	}
}

// c3Params returns C3's kernels then its biases, as partialConvOp takes them.
func c3Params(l *LeNet5) []*tensor.Tensor {
	var ws, bs []*tensor.Tensor
	for _, m := range l.C3.Maps {
		ws = append(ws, m.Weight)
		bs = append(bs, m.Bias)
	}
	return append(ws, bs...)
}

// TestChainMatchesSteps runs three squashed layers (a convolution,
// subsampling, a linear layer) as one chain and as three operations: the
// outputs and every gradient must be the same, bit for bit, whichever
// operands require one (the chain skips what is not needed).
func TestChainMatchesSteps(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 5))
	rt := func(shape ...int) *tensor.Tensor {
		x := tensor.New(shape...)
		for i := range x.Data() {
			x.Data()[i] = float32(2*rng.Float64() - 1)
		}
		return x
	}
	conv := &nn.Conv2d{InC: 2, OutC: 3, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1, Groups: 1}
	ins := []*tensor.Tensor{rt(4, 2, 6, 6), rt(3, 2, 3, 3), rt(3), rt(3), rt(3), rt(5, 12), rt(5)}
	ops := func() []autograd.Func {
		return []autograd.Func{squashed(convOp(conv)), squashed(subsamplingOp), squashed(linearOp)}
	}
	arity := []int{2, 2, 2}
	for _, tc := range []struct {
		name     string
		requires []bool // per operand
	}{
		{"all", []bool{true, true, true, true, true, true, true}},
		{"constant input", []bool{false, true, true, true, true, true, true}},
		{"first layer frozen", []bool{false, false, false, true, true, true, true}},
		{"last layer only", []bool{false, false, false, false, false, true, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := func() []*autograd.Var {
				vs := make([]*autograd.Var, len(ins))
				for i, x := range ins {
					vs[i] = autograd.New(x, tc.requires[i])
				}
				return vs
			}
			r := rt(4, 5)
			a := vars()
			y := a[0]
			for i, op := range ops() {
				var err error
				if y, err = op.Apply(append([]*autograd.Var{y}, a[1+2*i:3+2*i]...)...); err != nil {
					t.Fatal(err)
				}
			}
			if err := y.BackwardWith(r); err != nil {
				t.Fatal(err)
			}
			b := vars()
			z, err := chain("test", ops(), arity).Apply(b...)
			if err != nil {
				t.Fatal(err)
			}
			if err := z.BackwardWith(r); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(y.Value().Data(), z.Value().Data()) {
				t.Errorf("outputs differ: steps %v, chain %v", y.Value().Data(), z.Value().Data())
			}
			for i := range ins {
				ga, gb := a[i].Grad(), b[i].Grad()
				if (ga == nil) != (gb == nil) || (ga != nil && !slices.Equal(ga.Data(), gb.Data())) {
					t.Errorf("operand %d: gradients differ: steps %v, chain %v", i, ga, gb)
				}
				if tc.requires[i] && gb == nil {
					t.Errorf("operand %d: no gradient", i)
				}
			}
		})
	}
}
