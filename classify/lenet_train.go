package classify

// LeNet-5's differentiable form, for training (LeCun et al. 1998, §II.B
// and Appendix A): the paper's own layers — the squashing function, the
// subsampling layers S2 and S4, C3's partial connections (Table I) and the
// RBF output — as custom autograd operations, registered on an
// autograd.Net over a LeNet5 so that an optimizer's steps change the
// model's own tensors. lenet.go is the inference form; the two agree to a
// few float32 units (the squashing is computed differently, see squash).
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
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

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
// (Fig. 2), then the RBF output. Each layer and its squashing are one
// operation (squashed), and C1 to F6 one chain of them, so that the
// outputs in between and their gradients live in scratch memory from one
// training step to the next (see chain).
func diffLeNet5(n *autograd.Net, l *LeNet5, x *autograd.Var) (*autograd.Var, error) {
	steps := []nn.Module{l.C1, l.S2, l.C3, l.S4, l.C5, l.F6}
	ops, arity := make([]autograd.Func, len(steps)), make([]int, len(steps))
	operands := []*autograd.Var{x}
	for i, m := range steps {
		op, params, err := layerOp(n, m)
		if err != nil {
			return nil, fmt.Errorf("classify: lenet5: layer %d: %w", i, err)
		}
		ops[i], arity[i] = squashed(op), len(params)
		operands = append(operands, params...)
	}
	x, err := chain("lenet5", ops, arity).Apply(operands...)
	if err != nil {
		return nil, fmt.Errorf("classify: %w", err)
	}
	return n.Apply(l.Output, x)
}

// layerOp returns the operation of one of LeNet-5's layers and the Vars
// of its parameters, its operands after the input.
func layerOp(n *autograd.Net, m nn.Module) (autograd.Func, []*autograd.Var, error) {
	switch m := m.(type) {
	case *nn.Conv2d:
		if m.Bias == nil {
			return autograd.Func{}, nil, fmt.Errorf("%w: a convolution without a bias", nn.ErrShape)
		}
		return convOp(m), []*autograd.Var{n.Param(m.Weight), n.Param(m.Bias)}, nil
	case *nn.Linear:
		if m.Bias == nil {
			return autograd.Func{}, nil, fmt.Errorf("%w: a linear layer without a bias", nn.ErrShape)
		}
		return linearOp, []*autograd.Var{n.Param(m.Weight), n.Param(m.Bias)}, nil
	case *Subsampling:
		return subsamplingOp, []*autograd.Var{n.Param(m.Weight), n.Param(m.Bias)}, nil
	case *PartialConv:
		params, err := partialConvParams(n, m)
		if err != nil {
			return autograd.Func{}, nil, err
		}
		return partialConvOp(m), params, nil
	}
	return autograd.Func{}, nil, fmt.Errorf("%w: no LeNet-5 operation for %T", autograd.ErrGraph, m)
}

// Squashing function f(a) = A·tanh(S·a), A = 1.7159, S = 2/3 (Appendix
// A), computed as A·(2σ(2S·a) − 1) with accel's vectorised sigmoid: the
// inference Forward's float64 tanh agrees to a few float32 units.
const (
	squashA = 1.7159
	squashS = 2.0 / 3.0
)

// squashed is f followed by the squashing, as one operation. The
// squashing overwrites f's output, and its backward pass hands f's the
// gradient of that output in scratch memory, released on return: f's
// Forward must return a tensor of its own, and its Backward must not read
// its output (it gets nil) nor return its gradient (or a view of it).
func squashed(f autograd.Func) autograd.Func {
	return autograd.Func{
		Name: f.Name + "+squash",
		Forward: func(xs []*tensor.Tensor) (*tensor.Tensor, error) {
			y, err := f.Forward(xs)
			if err != nil {
				return nil, err
			}
			squash(y.Data(), y.Data())
			return y, nil
		},
		Backward: func(gy *tensor.Tensor, xs []*tensor.Tensor, y *tensor.Tensor, need []bool) ([]*tensor.Tensor, error) {
			ga := tensor.Get(gy.Shape()...)
			defer ga.Release()
			squashGrad(ga.Data(), gy.Data(), y.Data())
			return f.Backward(ga, xs, nil, need)
		},
	}
}

// chain runs fs one after the other as one operation. Each f's operands
// are the previous f's output (the chain's first operand, for the first f)
// and its own arity[i] operands, which follow in the chain's operands in
// order. The outputs in between, and their gradients, are the chain's own:
// kept from the forward pass to the backward pass, then released
// (tensor.Release), so that the next pass's tensor.Get reuses their memory
// rather than allocating and zeroing it. So each f's Forward must return
// a tensor of its own, and its Backward must not return its gy (nor a
// view of it).
func chain(name string, fs []autograd.Func, arity []int) autograd.Func {
	first := make([]int, len(fs)+1) // fs[i]'s own operands are xs[first[i]:first[i+1]]
	first[0] = 1
	for i, a := range arity {
		first[i+1] = first[i] + a
	}
	operands := func(xs []*tensor.Tensor, i int, in *tensor.Tensor) []*tensor.Tensor {
		return append([]*tensor.Tensor{in}, xs[first[i]:first[i+1]]...)
	}
	// The outputs of fs[:len(fs)-1], from the forward pass to the backward
	// pass (a chain is made per forward pass, so this is per call).
	var ys []*tensor.Tensor
	return autograd.Func{
		Name: name,
		Forward: func(xs []*tensor.Tensor) (*tensor.Tensor, error) {
			if len(xs) != first[len(fs)] {
				return nil, fmt.Errorf("%w: %d operands, want %d", nn.ErrShape, len(xs), first[len(fs)])
			}
			ys = make([]*tensor.Tensor, 0, len(fs)-1)
			y := xs[0]
			for i, f := range fs {
				var err error
				if y, err = f.Forward(operands(xs, i, y)); err != nil {
					return nil, fmt.Errorf("layer %d (%s): %w", i, f.Name, err)
				}
				if i < len(fs)-1 {
					ys = append(ys, y)
				}
			}
			return y, nil
		},
		Backward: func(gy *tensor.Tensor, xs []*tensor.Tensor, y *tensor.Tensor, need []bool) ([]*tensor.Tensor, error) {
			// in[i]: whether fs[i]'s input needs a gradient: the chain's
			// does, or an operand of an earlier f.
			in := make([]bool, len(fs))
			in[0] = need[0]
			for i := 1; i < len(fs); i++ {
				in[i] = in[i-1] || slices.Contains(need[first[i-1]:first[i]], true)
			}
			out := make([]*tensor.Tensor, len(xs))
			g := gy // the gradient of fs[i]'s output
			for i := len(fs) - 1; i >= 0; i-- {
				fn := append([]bool{in[i]}, need[first[i]:first[i+1]]...)
				if !slices.Contains(fn, true) {
					break // nor does anything before
				}
				x, yi := xs[0], y
				if i > 0 {
					x = ys[i-1]
				}
				if i < len(fs)-1 {
					yi = ys[i]
				}
				gs, err := fs[i].Backward(g, operands(xs, i, x), yi, fn)
				if err != nil {
					return nil, fmt.Errorf("layer %d (%s): %w", i, fs[i].Name, err)
				}
				copy(out[first[i]:first[i+1]], gs[1:])
				if i < len(fs)-1 { // the chain's own
					g.Release()
					ys[i].Release()
				}
				g = gs[0]
			}
			if need[0] {
				out[0] = g
			}
			return out, nil
		},
	}
}

// squashSpan is the number of values the squashing handles per task: a
// multiple of accel's 8-wide vector body, small enough that the passes
// over a span stay in L1 (2 × 8 KiB), large enough that a task's start
// costs nothing in comparison.
const squashSpan = 2048

// squash sets dst[i] = f(a[i]); dst may be a.
func squash(dst, a []float32) {
	forSpans(len(dst), func(lo, hi int) {
		d := dst[lo:hi]
		accel.Scale(d, 2*squashS, a[lo:hi])
		accel.Sigmoid(d, d)
		accel.Scale(d, 2*squashA, d)
		accel.AddConst(d, -squashA, d)
	})
}

// squashGrad sets ga[i] = gy[i]·f'(a[i]) from y[i] = f(a[i]), as
// (gy·(S/A))·(A² − y²): f'(a) = A·S·(1 − tanh²) = (S/A)·(A² − y²).
func squashGrad(ga, gy, y []float32) {
	const k = squashS / squashA
	forSpans(len(ga), func(lo, hi int) {
		p := spanScratch.Get().(*[]float32)
		defer spanScratch.Put(p)
		u, d := (*p)[:hi-lo], ga[lo:hi]
		accel.Mul(u, y[lo:hi], y[lo:hi])
		accel.Scale(u, -1, u)
		accel.AddConst(u, squashA*squashA, u)
		accel.Scale(d, k, gy[lo:hi])
		accel.Mul(d, d, u)
	})
}

// spanScratch holds scratch slices for squashGrad's spans, one per task
// running.
var spanScratch = sync.Pool{New: func() any {
	s := make([]float32, 2*squashSpan)
	return &s
}}

// forSpans calls fn(lo, hi) on spans of [0, n) of squashSpan values, the
// last one taking the remainder (so between squashSpan and 2·squashSpan
// long unless it is the only one), in parallel. The spans depend on n
// alone, so that accel's element-wise kernels see the same slices, and
// give the same values, whatever the thread count.
func forSpans(n int, fn func(lo, hi int)) {
	spans := max(1, n/squashSpan)
	parallel(spans, n, func(s int) {
		hi := (s + 1) * squashSpan
		if s == spans-1 {
			hi = n
		}
		fn(s*squashSpan, hi)
	})
}

// parallelSerial is the work (values read or written) below which parallel
// stays on the calling goroutine: squashing 16k values takes some 20 µs
// (one thread, timed on squash), well above the microsecond or two that
// starting a goroutine costs. Below it are C5's and F6's squashing.
const parallelSerial = 1 << 14

// parallel calls fn(task) for every task in [0, n): on up to accel.Threads()
// goroutines (at most GOMAXPROCS), the caller's included, each taking the
// next task in turn, or in order on the caller when work is below
// parallelSerial. Tasks must write disjoint memory, so that what a task
// computes does not depend on which goroutine runs it.
func parallel(n, work int, fn func(task int)) {
	t := min(runtime.GOMAXPROCS(0), accel.Threads(), n)
	if t <= 1 || work < parallelSerial {
		for task := range n {
			fn(task)
		}
		return
	}
	var next atomic.Int64
	run := func() {
		for {
			task := int(next.Add(1) - 1)
			if task >= n {
				return
			}
			fn(task)
		}
	}
	var wg sync.WaitGroup
	for range t - 1 {
		wg.Go(run)
	}
	run()
	wg.Wait()
}

// diffSubsampling is S2 and S4: per map, the sum of each 2x2 window
// times the map's coefficient plus its bias.
func diffSubsampling(n *autograd.Net, s *Subsampling, x *autograd.Var) (*autograd.Var, error) {
	return subsamplingOp.Apply(x, n.Param(s.Weight), n.Param(s.Bias))
}

// subsamplingOp is Subsampling.Forward, and the same sums in the same
// order, computed an image per task.
var subsamplingOp = autograd.Func{
	Name: "subsampling",
	Forward: func(xs []*tensor.Tensor) (*tensor.Tensor, error) {
		x, k, b := xs[0], xs[1].Data(), xs[2].Data()
		c := len(k)
		if x == nil || x.Dims() != 4 || x.Dim(1) != c || x.Dim(2) < 2 || x.Dim(3) < 2 {
			return (&Subsampling{Weight: xs[1], Bias: xs[2]}).Forward(x) // its shape error
		}
		n, h, w := x.Dim(0), x.Dim(2), x.Dim(3)
		oh, ow := h/2, w/2
		y := tensor.Get(n, c, oh, ow)
		src, dst := x.Data(), y.Data()
		parallel(n, x.Len(), func(img int) {
			for ch := range c {
				i := img*c + ch
				in, out := src[i*h*w:(i+1)*h*w], dst[i*oh*ow:(i+1)*oh*ow]
				kc, bc := k[ch], b[ch]
				for r := range oh {
					top, o := in[2*r*w:][:2*ow], out[r*ow:][:ow]
					bot := in[(2*r+1)*w:][:len(top)]
					for j := 1; j < len(top); j += 2 { // window j/2: top[j-1], top[j], bot[j-1], bot[j]
						o[j>>1] = kc*(top[j-1]+top[j]+bot[j-1]+bot[j]) + bc
					}
				}
			}
		})
		return y, nil
	},
	// Per map: ∂/∂x of each window's values is gy·coefficient, ∂/∂w the
	// sum of gy times the window sums, ∂/∂b the sum of gy; those two sums
	// in float64, per image and map, then over the batch in order.
	Backward: func(gy *tensor.Tensor, xs []*tensor.Tensor, _ *tensor.Tensor, need []bool) ([]*tensor.Tensor, error) {
		x, k := xs[0], xs[1].Data()
		n, c, h, w := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
		oh, ow := h/2, w/2
		var gx *tensor.Tensor
		var dx []float32
		if need[0] {
			gx = tensor.Get(n, c, h, w)
			dx = gx.Data()
		}
		sums := make([]float64, 2*n*c) // per image and map: Σ gy·window, Σ gy
		src, dy := x.Data(), gy.Data()
		parallel(n, x.Len(), func(img int) {
			for ch := range c {
				i := img*c + ch
				in, g := src[i*h*w:(i+1)*h*w], dy[i*oh*ow:(i+1)*oh*ow]
				var d []float32
				if dx != nil {
					d = dx[i*h*w : (i+1)*h*w]
					if h%2 != 0 || w%2 != 0 {
						clear(d) // the dropped last row or column
					}
				}
				kc := k[ch]
				var sw, sb float64
				for r := range oh {
					top, gr := in[2*r*w:][:2*ow], g[r*ow:][:ow]
					bot := in[(2*r+1)*w:][:len(top)]
					for j := 1; j < len(top); j += 2 { // window j/2, as in the forward pass
						v := gr[j>>1]
						sw += float64(v) * float64(top[j-1]+top[j]+bot[j-1]+bot[j])
						sb += float64(v)
					}
					if d != nil {
						dt := d[2*r*w:][:len(top)]
						db := d[(2*r+1)*w:][:len(top)]
						for j := 1; j < len(dt); j += 2 {
							e := gr[j>>1] * kc
							dt[j-1], dt[j], db[j-1], db[j] = e, e, e, e
						}
					}
				}
				sums[2*i], sums[2*i+1] = sw, sb
			}
		})
		gw, gb := make([]float64, c), make([]float64, c)
		for i := range n * c {
			gw[i%c] += sums[2*i]
			gb[i%c] += sums[2*i+1]
		}
		return []*tensor.Tensor{gx, float32Tensor(gw, xs[1].Shape()), float32Tensor(gb, xs[2].Shape())}, nil
	},
}

func float32Tensor(v []float64, shape []int) *tensor.Tensor {
	t := tensor.New(shape...)
	d := t.Data()
	for i, x := range v {
		d[i] = float32(x)
	}
	return t
}

// diffPartialConv is C3: map j convolves the input maps Table[j] with
// its own kernel. It runs as one dense convolution whose weight holds each
// map's kernel at its inputs and zeros elsewhere (a 16×6×5×5 weight for
// Table I), so that the batch is one GEMM per image; the dense weight's
// gradient is gathered back into the maps' kernels.
func diffPartialConv(n *autograd.Net, pc *PartialConv, x *autograd.Var) (*autograd.Var, error) {
	params, err := partialConvParams(n, pc)
	if err != nil {
		return nil, err
	}
	return partialConvOp(pc).Apply(append([]*autograd.Var{x}, params...)...)
}

// partialConvParams returns the Vars of pc's kernels then of its biases,
// partialConvOp's operands after the input.
func partialConvParams(n *autograd.Net, pc *PartialConv) ([]*autograd.Var, error) {
	if len(pc.Maps) == 0 || len(pc.Maps) != len(pc.Table) {
		return nil, fmt.Errorf("%w: PartialConv: %d maps for a table of %d", nn.ErrShape, len(pc.Maps), len(pc.Table))
	}
	var ops []*autograd.Var
	for _, m := range pc.Maps {
		ops = append(ops, n.Param(m.Weight))
	}
	for _, m := range pc.Maps {
		if m.Bias == nil {
			return nil, fmt.Errorf("%w: PartialConv: a map without a bias", nn.ErrShape)
		}
		ops = append(ops, n.Param(m.Bias))
	}
	return ops, nil
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

// convOp is autograd.Conv2d as a Func (for squashed): c's batch-wide
// forward and backward passes, with the operands' weight and bias.
func convOp(c *nn.Conv2d) autograd.Func {
	layer := func(xs []*tensor.Tensor) *nn.Conv2d {
		l := *c
		l.Weight, l.Bias = xs[1], xs[2]
		return &l
	}
	// The forward pass's lowered input, kept for the backward pass (a Func
	// is made per forward pass, so this is per call).
	var low *nn.Lowered
	return autograd.Func{
		Name: "conv2d",
		Forward: func(xs []*tensor.Tensor) (*tensor.Tensor, error) {
			y, l, err := layer(xs).ForwardBatch(xs[0], true)
			low = l
			return y, err
		},
		Backward: func(gy *tensor.Tensor, xs []*tensor.Tensor, _ *tensor.Tensor, need []bool) ([]*tensor.Tensor, error) {
			defer low.Release()
			gx, gw, gb, err := layer(xs).BackwardBatch(xs[0], gy, nn.Grads{Input: need[0], Params: need[1] || need[2]}, low)
			return []*tensor.Tensor{gx, gw, gb}, err
		},
	}
}

// linearOp is autograd.Linear as a Func (for squashed): x [N, In] times
// the weight [Out, In] transposed, plus the bias [Out].
var linearOp = autograd.Func{
	Name: "linear",
	Forward: func(xs []*tensor.Tensor) (*tensor.Tensor, error) {
		l, err := linearLayer(xs)
		if err != nil {
			return nil, err
		}
		return l.Forward(xs[0])
	},
	Backward: func(gy *tensor.Tensor, xs []*tensor.Tensor, _ *tensor.Tensor, need []bool) ([]*tensor.Tensor, error) {
		l, err := linearLayer(xs)
		if err != nil {
			return nil, err
		}
		gx, gw, gb, err := l.Backward(xs[0], gy, nn.Grads{Input: need[0], Params: need[1] || need[2]})
		return []*tensor.Tensor{gx, gw, gb}, err
	},
}

func linearLayer(xs []*tensor.Tensor) (*nn.Linear, error) {
	w := xs[1]
	if w.Dims() != 2 {
		return nil, fmt.Errorf("%w: Linear: weight %v, want [Out, In]", nn.ErrShape, w.Shape())
	}
	return &nn.Linear{Weight: w, Bias: xs[2], Out: w.Dim(0), In: w.Dim(1)}, nil
}

// diffRBF is the output layer: logits −Σ_j (x_j − w_ij)² against the
// fixed centres (a buffer: no gradient to them). Both passes are
// RBF.Forward's loops, an image per task.
func diffRBF(n *autograd.Net, r *RBF, x *autograd.Var) (*autograd.Var, error) {
	k, in := r.Weight.Dim(0), r.Weight.Dim(1)
	w := r.Weight.Data()
	return autograd.Func{
		Name: "rbf",
		Forward: func(xs []*tensor.Tensor) (*tensor.Tensor, error) {
			x := xs[0]
			if x == nil || x.Dims() < 1 || x.Dim(0) < 1 || x.Len() != x.Dim(0)*in {
				return r.Forward(x) // its shape error
			}
			nb := x.Dim(0)
			y := tensor.Get(nb, k)
			src, dst := x.Data(), y.Data()
			parallel(nb, nb*k*in, func(i int) {
				xi, yi := src[i*in:(i+1)*in], dst[i*k:(i+1)*k]
				for c := range yi {
					wc := w[c*in : (c+1)*in]
					var d float32
					for j, v := range xi {
						e := v - wc[j]
						d += e * e
					}
					yi[c] = -d
				}
			})
			return y, nil
		},
		// ∂(−Σ_j (x_j − w_ij)²)/∂x_j = −2(x_j − w_ij).
		Backward: func(gy *tensor.Tensor, xs []*tensor.Tensor, _ *tensor.Tensor, _ []bool) ([]*tensor.Tensor, error) {
			x := xs[0]
			nb := x.Dim(0)
			gx := tensor.Get(x.Shape()...)
			src, dy, dst := x.Data(), gy.Data(), gx.Data()
			parallel(nb, nb*k*in, func(i int) {
				xi, gi := src[i*in:(i+1)*in], dst[i*in:(i+1)*in]
				clear(gi)
				for c, gc := range dy[i*k : (i+1)*k] {
					g, wc := -2*gc, w[c*in:(c+1)*in]
					for j, v := range xi {
						gi[j] += g * (v - wc[j])
					}
				}
			})
			return []*tensor.Tensor{gx}, nil
		},
	}.Apply(x)
}
