package classify

import (
	"math"
	"math/rand/v2"
	"testing"

	"govision.dev/vision/autograd"
	"govision.dev/vision/tensor"
)

// TestLeNet5FiniteDifferences checks LeNet-5's custom operations (squash,
// subsampling, the partial convolution, the RBF output) against central
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
	cases := []struct {
		name string
		ins  []*tensor.Tensor
		f    func(vs []*autograd.Var) (*autograd.Var, error)
	}{
		{"squash", []*tensor.Tensor{rt(2, 3, 4)}, func(v []*autograd.Var) (*autograd.Var, error) { return squashOp.Apply(v[0]) }},
		{"subsampling", []*tensor.Tensor{rt(2, 3, 5, 4), rt(3), rt(3)}, func(v []*autograd.Var) (*autograd.Var, error) {
			return subsamplingOp.Apply(v[0], v[1], v[2])
		}},
		{"rbf", []*tensor.Tensor{rt(2, 5)}, func(v []*autograd.Var) (*autograd.Var, error) { return diffRBF(net, small, v[0]) }},
		{"partial conv", append([]*tensor.Tensor{rt(2, 6, 7, 6)}, c3Params(l)...), func(v []*autograd.Var) (*autograd.Var, error) {
			return partialConvOp(l.C3).Apply(v...)
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
