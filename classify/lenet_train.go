package classify

// LeNet-5's differentiable form, for training (LeCun et al. 1998, §II.B
// and Appendix A): the paper's own layers — the squashing function, the
// subsampling layers S2 and S4, C3's partial connections (Table I) and the
// RBF output — as custom autograd operations, registered on an
// autograd.Net over a LeNet5 so that an optimizer's steps change the
// model's own tensors. lenet.go is the inference form; the two agree to a
// few float32 units (the squashing is computed differently, see squashOp).
//
// Training with it:
//
//	m, _ := classify.New("lenet5")
//	m.Init(rand.New(rand.NewPCG(seed, 0))) // the paper's initialisation, from a run's seed
//	net := autograd.NewNet(m.Net())
//	classify.RegisterLeNet5(net)
//	logits, err := net.Forward(autograd.Constant(batch)) // then a loss, Backward, an optimizer step

import (
	"fmt"

	"govision.dev/accel"
	"govision.dev/vision/autograd"
	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// RegisterLeNet5 makes n run LeNet5 and its layers (Subsampling,
// PartialConv, RBF) differentiably: n must be a Net over a *LeNet5, or over
// a module holding one.
func RegisterLeNet5(n *autograd.Net) {
	autograd.Register(n, diffLeNet5)
	autograd.Register(n, diffSubsampling)
	autograd.Register(n, diffPartialConv)
	autograd.Register(n, diffRBF)
}

// diffLeNet5 is LeNet5.Forward: squashing after every layer up to F6
// (Fig. 2), then the RBF output.
func diffLeNet5(n *autograd.Net, l *LeNet5, x *autograd.Var) (*autograd.Var, error) {
	steps := []nn.Module{l.C1, l.S2, l.C3, l.S4, l.C5, l.F6}
	var err error
	for i, m := range steps {
		if x, err = n.Apply(m, x); err != nil {
			return nil, fmt.Errorf("classify: lenet5: layer %d: %w", i, err)
		}
		if x, err = squashOp.Apply(x); err != nil {
			return nil, err
		}
	}
	return n.Apply(l.Output, x)
}

// Squashing function f(a) = A·tanh(S·a), A = 1.7159, S = 2/3 (Appendix
// A), computed as A·(2σ(2S·a) − 1) with accel's vectorised sigmoid: the
// inference Forward's float64 tanh agrees to a few float32 units.
const (
	squashA = 1.7159
	squashS = 2.0 / 3.0
)

var squashOp = autograd.Func{
	Name: "squash",
	Forward: func(xs []*tensor.Tensor) (*tensor.Tensor, error) {
		y := tensor.New(xs[0].Shape()...)
		d := y.Data()
		accel.Scale(d, 2*squashS, xs[0].Data())
		accel.Sigmoid(d, d)
		for i, v := range d {
			d[i] = 2*squashA*v - squashA
		}
		return y, nil
	},
	// f'(a) = A·S·(1 − tanh²) = (S/A)·(A² − y²).
	Backward: func(gy *tensor.Tensor, _ []*tensor.Tensor, y *tensor.Tensor, _ []bool) ([]*tensor.Tensor, error) {
		gx := tensor.New(gy.Shape()...)
		const k = squashS / squashA
		for i, v := range y.Data() {
			gx.Data()[i] = gy.Data()[i] * k * (squashA*squashA - v*v)
		}
		return []*tensor.Tensor{gx}, nil
	},
}

// diffSubsampling is S2 and S4: per map, the sum of each 2x2 window
// times the map's coefficient plus its bias.
func diffSubsampling(n *autograd.Net, s *Subsampling, x *autograd.Var) (*autograd.Var, error) {
	return subsamplingOp.Apply(x, n.Param(s.Weight), n.Param(s.Bias))
}

var subsamplingOp = autograd.Func{
	Name: "subsampling",
	Forward: func(xs []*tensor.Tensor) (*tensor.Tensor, error) {
		s := &Subsampling{Weight: xs[1], Bias: xs[2]}
		return s.Forward(xs[0])
	},
	Backward: func(gy *tensor.Tensor, xs []*tensor.Tensor, _ *tensor.Tensor, need []bool) ([]*tensor.Tensor, error) {
		x, w := xs[0], xs[1].Data()
		n, c, h, wd := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
		oh, ow := h/2, wd/2
		var gx *tensor.Tensor
		if need[0] {
			gx = tensor.New(n, c, h, wd)
		}
		gw, gb := make([]float64, c), make([]float64, c)
		src, dy := x.Data(), gy.Data()
		for i := 0; i < n*c; i++ {
			ch := i % c
			in, g := src[i*h*wd:], dy[i*oh*ow:(i+1)*oh*ow]
			var sw, sb float64
			for r := 0; r < oh; r++ {
				for q := 0; q < ow; q++ {
					v := g[r*ow+q]
					a := in[2*r*wd+2*q:]
					sw += float64(v) * float64(a[0]+a[1]+a[wd]+a[wd+1])
					sb += float64(v)
					if gx != nil {
						d := gx.Data()[i*h*wd+2*r*wd+2*q:]
						e := v * w[ch]
						d[0], d[1], d[wd], d[wd+1] = e, e, e, e
					}
				}
			}
			gw[ch] += sw
			gb[ch] += sb
		}
		return []*tensor.Tensor{gx, float32Tensor(gw, xs[1].Shape()), float32Tensor(gb, xs[2].Shape())}, nil
	},
}

func float32Tensor(v []float64, shape []int) *tensor.Tensor {
	t := tensor.New(shape...)
	for i, x := range v {
		t.Data()[i] = float32(x)
	}
	return t
}

// diffPartialConv is C3: map j convolves the input maps Table[j] with
// its own kernel. It runs as one dense convolution whose weight holds each
// map's kernel at its inputs and zeros elsewhere (a 16×6×5×5 weight for
// Table I), so that the batch is one GEMM per image; the dense weight's
// gradient is gathered back into the maps' kernels.
func diffPartialConv(n *autograd.Net, pc *PartialConv, x *autograd.Var) (*autograd.Var, error) {
	if len(pc.Maps) == 0 || len(pc.Maps) != len(pc.Table) {
		return nil, fmt.Errorf("%w: PartialConv: %d maps for a table of %d", nn.ErrShape, len(pc.Maps), len(pc.Table))
	}
	ops := []*autograd.Var{x}
	for _, m := range pc.Maps {
		ops = append(ops, n.Param(m.Weight))
	}
	for _, m := range pc.Maps {
		if m.Bias == nil {
			return nil, fmt.Errorf("%w: PartialConv: a map without a bias", nn.ErrShape)
		}
		ops = append(ops, n.Param(m.Bias))
	}
	return partialConvOp(pc).Apply(ops...)
}

func partialConvOp(pc *PartialConv) autograd.Func {
	maps := len(pc.Maps)
	k := pc.Maps[0]
	inC := 0
	for _, t := range pc.Table {
		for _, c := range t {
			inC = max(inC, c+1)
		}
	}
	conv := &nn.Conv2d{InC: inC, OutC: maps, KH: k.KH, KW: k.KW, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1, Groups: 1}
	kk := k.KH * k.KW
	dense := func(xs []*tensor.Tensor) (*nn.Conv2d, error) {
		c := *conv
		c.Weight = tensor.New(maps, inC, k.KH, k.KW)
		c.Bias = tensor.New(maps)
		for j, in := range pc.Table {
			w := xs[1+j]
			if w.Len() != len(in)*kk {
				return nil, fmt.Errorf("%w: PartialConv: map %d's kernel %v for %d inputs", nn.ErrShape, j, w.Shape(), len(in))
			}
			for a, ch := range in {
				copy(c.Weight.Data()[(j*inC+ch)*kk:][:kk], w.Data()[a*kk:(a+1)*kk])
			}
			c.Bias.Data()[j] = xs[1+maps+j].Data()[0]
		}
		return &c, nil
	}
	// The forward pass's lowered input, kept for the backward pass (a Func
	// is made per forward pass, so this is per call).
	var low *nn.Lowered
	return autograd.Func{
		Name: "partial_conv",
		Forward: func(xs []*tensor.Tensor) (*tensor.Tensor, error) {
			c, err := dense(xs)
			if err != nil {
				return nil, err
			}
			y, l, err := c.ForwardBatch(xs[0], true)
			low = l
			return y, err
		},
		Backward: func(gy *tensor.Tensor, xs []*tensor.Tensor, _ *tensor.Tensor, need []bool) ([]*tensor.Tensor, error) {
			defer low.Release()
			c, err := dense(xs)
			if err != nil {
				return nil, err
			}
			gx, gw, gb, err := c.BackwardBatch(xs[0], gy, nn.Grads{Input: need[0], Params: true}, low)
			if err != nil {
				return nil, err
			}
			out := make([]*tensor.Tensor, 1+2*maps)
			out[0] = gx
			for j, in := range pc.Table {
				g := tensor.New(xs[1+j].Shape()...)
				for a, ch := range in {
					copy(g.Data()[a*kk:(a+1)*kk], gw.Data()[(j*inC+ch)*kk:][:kk])
				}
				out[1+j] = g
				b := tensor.New(xs[1+maps+j].Shape()...)
				b.Data()[0] = gb.Data()[j]
				out[1+maps+j] = b
			}
			return out, nil
		},
	}
}

// diffRBF is the output layer: logits −Σ_j (x_j − w_ij)² against the
// fixed centres (a buffer: no gradient to them).
func diffRBF(n *autograd.Net, r *RBF, x *autograd.Var) (*autograd.Var, error) {
	return autograd.Func{
		Name: "rbf",
		Forward: func(xs []*tensor.Tensor) (*tensor.Tensor, error) {
			return r.Forward(xs[0])
		},
		// ∂(−Σ_j (x_j − w_ij)²)/∂x_j = −2(x_j − w_ij).
		Backward: func(gy *tensor.Tensor, xs []*tensor.Tensor, _ *tensor.Tensor, _ []bool) ([]*tensor.Tensor, error) {
			k, in := r.Weight.Dim(0), r.Weight.Dim(1)
			x := xs[0]
			nb := x.Dim(0)
			gx := tensor.New(x.Shape()...)
			w := r.Weight.Data()
			for i := 0; i < nb; i++ {
				xi, gi := x.Data()[i*in:(i+1)*in], gx.Data()[i*in:(i+1)*in]
				for c := 0; c < k; c++ {
					g := -2 * gy.Data()[i*k+c]
					for j, v := range xi {
						gi[j] += g * (v - w[c*in+j])
					}
				}
			}
			return []*tensor.Tensor{gx}, nil
		},
	}.Apply(x)
}
