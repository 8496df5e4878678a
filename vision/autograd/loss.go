package autograd

import (
	"fmt"
	"math"
	"slices"

	"govision.dev/vision/tensor"
)

// Losses, each torch's function of the same name (torch 1.13 semantics,
// checked against it by tools/golden/autograd.py). Inputs are Vars,
// targets plain tensors or class indices (they need no gradient). Each
// computes in float64 and rounds once; each returns a scalar of shape []
// unless the reduction is ReduceNone.

// Reduction is how a loss combines its per-element values.
type Reduction int

// Reductions, torch's names.
const (
	ReduceMean      Reduction = iota // "mean": the (weighted) average; the default
	ReduceSum                        // "sum"
	ReduceNone                       // "none": one value per element (per sample for the class losses)
	ReduceBatchMean                  // "batchmean": the sum divided by the batch size (KLDiv)
)

func (r Reduction) String() string {
	switch r {
	case ReduceMean:
		return "mean"
	case ReduceSum:
		return "sum"
	case ReduceNone:
		return "none"
	case ReduceBatchMean:
		return "batchmean"
	}
	return fmt.Sprintf("Reduction(%d)", int(r))
}

// ClassLoss are the options of CrossEntropy and NLL.
type ClassLoss struct {
	// Weight, if not nil, weighs each class's terms (torch's weight, one
	// value per class).
	Weight []float32
	// IgnoreIndex is a target value whose positions count for nothing;
	// 0 means torch's default, −100.
	IgnoreIndex int
	// LabelSmoothing ε ∈ [0, 1] mixes the target with the uniform
	// distribution: (1−ε)·one-hot + ε/C (CrossEntropy only).
	LabelSmoothing float64
	Reduction      Reduction
}

func (o ClassLoss) ignore() int {
	if o.IgnoreIndex == 0 {
		return -100
	}
	return o.IgnoreIndex
}

// classLayout checks scores [N, C, d...] against targets (N·d... class
// indices) and returns N, C and the inner size d.
func classLayout(name string, x *Var, targets []int, o ClassLoss) (n, c, inner int, err error) {
	if err := need(x); err != nil {
		return 0, 0, 0, fmt.Errorf("autograd: %s: %w", name, err)
	}
	s := x.value.Shape()
	if len(s) < 2 || s[0] == 0 || s[1] == 0 {
		return 0, 0, 0, fmt.Errorf("%w: autograd: %s: scores %v, want [N, C, ...]", ErrShape, name, s)
	}
	n, c = s[0], s[1]
	inner = x.value.Len() / (n * c)
	if len(targets) != n*inner {
		return 0, 0, 0, fmt.Errorf("%w: autograd: %s: %d targets for scores %v, want %d", ErrShape, name, len(targets), s, n*inner)
	}
	if o.Weight != nil && len(o.Weight) != c {
		return 0, 0, 0, fmt.Errorf("%w: autograd: %s: %d class weights for %d classes", ErrShape, name, len(o.Weight), c)
	}
	if !(o.LabelSmoothing >= 0 && o.LabelSmoothing <= 1) {
		return 0, 0, 0, fmt.Errorf("autograd: %s: label smoothing %v, want between 0 and 1", name, o.LabelSmoothing)
	}
	ig := o.ignore()
	for i, t := range targets {
		if t != ig && (t < 0 || t >= c) {
			return 0, 0, 0, fmt.Errorf("autograd: %s: target %d at position %d is not a class of %d (nor the ignore index %d)", name, t, i, c, ig)
		}
	}
	return n, c, inner, nil
}

// CrossEntropy is torch.nn.functional.cross_entropy with class indices:
// logits x [N, C] (or [N, C, d1, ...] with targets [N, d1, ...], flat in
// row-major order), the negative log-likelihood of the softmax over C,
// with optional class weights, an ignored target value, and label
// smoothing as torch 1.13 defines it:
//
//	loss = (1−ε)·nll + ε/C·smooth,  smooth_i = −Σ_c w_c·log p_ic
//
// where the mean divides nll by the summed weights of the counted
// targets, and smooth by that sum with class weights, else by the number
// of counted targets (ignored positions count for nothing in either).
func CrossEntropy(x *Var, targets []int, o ClassLoss) (*Var, error) {
	n, c, inner, err := classLayout("CrossEntropy", x, targets, o)
	if err != nil {
		return nil, err
	}
	logp := logSoftmax64(x.value.Data(), n, c, inner)
	return classLoss("CrossEntropy", x, targets, o, n, c, inner, logp, true)
}

// NLL is torch.nn.functional.nll_loss: x holds log-probabilities [N, C]
// (or [N, C, d1, ...]); the loss of position i is −w_{t_i}·x[i, t_i], and
// the mean divides by the summed weights of the targets not ignored.
func NLL(x *Var, targets []int, o ClassLoss) (*Var, error) {
	o.LabelSmoothing = 0
	n, c, inner, err := classLayout("NLL", x, targets, o)
	if err != nil {
		return nil, err
	}
	logp := make([]float64, x.value.Len())
	for i, v := range x.value.Data() {
		logp[i] = float64(v)
	}
	return classLoss("NLL", x, targets, o, n, c, inner, logp, false)
}

// logSoftmax64 returns the log-softmax over the class dimension of scores
// laid out [n, c, inner], in float64.
func logSoftmax64(src []float32, n, c, inner int) []float64 {
	out := make([]float64, len(src))
	for i := 0; i < n; i++ {
		for p := 0; p < inner; p++ {
			base := i*c*inner + p
			m := math.Inf(-1)
			for k := 0; k < c; k++ {
				m = math.Max(m, float64(src[base+k*inner]))
			}
			var s float64
			for k := 0; k < c; k++ {
				s += math.Exp(float64(src[base+k*inner]) - m)
			}
			lse := m + math.Log(s)
			for k := 0; k < c; k++ {
				out[base+k*inner] = float64(src[base+k*inner]) - lse
			}
		}
	}
	return out
}

// classLoss computes Σ_i Σ_c a_ic·(−logp_ic) with the coefficients a of
// the options; softmax says whether logp came from logits (the gradient
// then is (Σ_c a_ic)·p_ik − a_ik) or is the input itself (−a_ik).
func classLoss(name string, x *Var, targets []int, o ClassLoss, n, c, inner int, logp []float64, softmax bool) (*Var, error) {
	ig := o.ignore()
	eps := o.LabelSmoothing
	w := func(k int) float64 {
		if o.Weight == nil {
			return 1
		}
		return float64(o.Weight[k])
	}
	// Denominators of the mean: the nll term's and the smoothing term's.
	dNLL, dSmooth := 1.0, 1.0
	if o.Reduction == ReduceMean {
		var sw, counted float64
		for _, t := range targets {
			if t != ig {
				sw += w(t)
				counted++
			}
		}
		dNLL = sw
		dSmooth = counted
		if o.Weight != nil {
			dSmooth = sw
		}
	}
	// a holds the coefficients, laid out as x.
	a := make([]float64, len(logp))
	per := make([]float64, len(targets))
	for i := 0; i < n; i++ {
		for p := 0; p < inner; p++ {
			pos := i*inner + p
			t := targets[pos]
			if t == ig {
				continue
			}
			base := i*c*inner + p
			var l float64
			if k := base + t*inner; true {
				a[k] += (1 - eps) * w(t) / dNLL
				l += (1 - eps) * w(t) * -logp[k]
			}
			if eps > 0 {
				for k := 0; k < c; k++ {
					a[base+k*inner] += eps / float64(c) * w(k) / dSmooth
					l += eps / float64(c) * w(k) * -logp[base+k*inner]
				}
			}
			per[pos] = l
		}
	}
	var y *tensor.Tensor
	if o.Reduction == ReduceNone {
		shape := x.value.Shape()
		shape = append([]int{shape[0]}, shape[2:]...)
		y = tensor.New(shape...)
		for i, l := range per {
			y.Data()[i] = float32(l)
		}
		// Without a reduction the coefficients carry no denominators.
	} else {
		var total float64
		for k, v := range a {
			total += v * -logp[k]
		}
		y = scalar(total)
	}
	if !x.requiresGrad {
		return Constant(y), nil
	}
	return Record(name, y, []*Var{x}, func(gy *tensor.Tensor) ([]*tensor.Tensor, error) {
		gx := tensor.New(x.value.Shape()...)
		d := gx.Data()
		for i := 0; i < n; i++ {
			for p := 0; p < inner; p++ {
				g := float64(gy.Data()[0])
				if o.Reduction == ReduceNone {
					g = float64(gy.Data()[i*inner+p])
				}
				base := i*c*inner + p
				var sa float64
				for k := 0; k < c; k++ {
					sa += a[base+k*inner]
				}
				for k := 0; k < c; k++ {
					at := base + k*inner
					v := -a[at]
					if softmax {
						v += sa * math.Exp(logp[at])
					}
					d[at] = float32(g * v)
				}
			}
		}
		return []*tensor.Tensor{gx}, nil
	}), nil
}

func scalar(v float64) *tensor.Tensor {
	t := tensor.New()
	t.Data()[0] = float32(v)
	return t
}

// pointwise is a loss of one value per element: f returns the element's
// loss and its derivative with respect to x.
func pointwise(name string, x *Var, target *tensor.Tensor, r Reduction, f func(i int, x, t float64) (l, dl float64)) (*Var, error) {
	if err := need(x); err != nil {
		return nil, fmt.Errorf("autograd: %s: %w", name, err)
	}
	if target == nil || !slices.Equal(target.Shape(), x.value.Shape()) {
		var s []int
		if target != nil {
			s = target.Shape()
		}
		return nil, fmt.Errorf("%w: autograd: %s: target %v for input %v", ErrShape, name, s, x.value.Shape())
	}
	if r == ReduceBatchMean && x.value.Dims() == 0 {
		return nil, fmt.Errorf("%w: autograd: %s: batchmean of a scalar", ErrShape, name)
	}
	xs, ts := x.value.Data(), target.Data()
	dl := make([]float64, len(xs))
	ls := make([]float64, len(xs))
	for i, v := range xs {
		ls[i], dl[i] = f(i, float64(v), float64(ts[i]))
	}
	scale := 1.0
	switch r {
	case ReduceMean:
		scale = 1 / float64(max(len(xs), 1))
		if len(xs) == 0 {
			scale = math.NaN() // torch: the mean of nothing
		}
	case ReduceBatchMean:
		scale = 1 / float64(max(x.value.Dim(0), 1))
	}
	var y *tensor.Tensor
	if r == ReduceNone {
		y = tensor.New(x.value.Shape()...)
		for i, l := range ls {
			y.Data()[i] = float32(l)
		}
	} else {
		var s float64
		for _, l := range ls {
			s += l
		}
		y = scalar(s * scale)
	}
	if !x.requiresGrad {
		return Constant(y), nil
	}
	return Record(name, y, []*Var{x}, func(gy *tensor.Tensor) ([]*tensor.Tensor, error) {
		gx := tensor.New(x.value.Shape()...)
		for i, d := range dl {
			g := float64(gy.Data()[0]) * scale
			if r == ReduceNone {
				g = float64(gy.Data()[i])
			}
			gx.Data()[i] = float32(g * d)
		}
		return []*tensor.Tensor{gx}, nil
	}), nil
}

// MSE is torch.nn.functional.mse_loss: (x − target)².
func MSE(x *Var, target *tensor.Tensor, r Reduction) (*Var, error) {
	return pointwise("MSE", x, target, r, func(_ int, x, t float64) (float64, float64) {
		d := x - t
		return d * d, 2 * d
	})
}

// SmoothL1 is torch.nn.functional.smooth_l1_loss (Fast R-CNN's loss):
// 0.5·d²/β where |d| < β, |d| − 0.5·β elsewhere, d = x − target; β = 0 is
// the L1 loss.
func SmoothL1(x *Var, target *tensor.Tensor, beta float64, r Reduction) (*Var, error) {
	if beta < 0 {
		return nil, fmt.Errorf("autograd: SmoothL1: beta %v, want at least 0", beta)
	}
	return pointwise("SmoothL1", x, target, r, func(_ int, x, t float64) (float64, float64) {
		d := x - t
		if a := math.Abs(d); a < beta {
			return 0.5 * d * d / beta, d / beta
		} else {
			return a - 0.5*beta, sign(d)
		}
	})
}

func sign(v float64) float64 {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// BCEWithLogits is torch.nn.functional.binary_cross_entropy_with_logits:
// −[p·t·log σ(x) + (1−t)·log(1−σ(x))] for targets t ∈ [0, 1], computed
// stably as (1−t)·x + (1+(p−1)·t)·log(1+e^−x). posWeight (nil: 1) is
// torch's pos_weight, one value per position of the last dimension.
func BCEWithLogits(x *Var, target *tensor.Tensor, posWeight []float32, r Reduction) (*Var, error) {
	if err := need(x); err != nil {
		return nil, fmt.Errorf("autograd: BCEWithLogits: %w", err)
	}
	last := 1
	if x.value.Dims() > 0 {
		last = x.value.Dim(-1)
	}
	if posWeight != nil && len(posWeight) != last {
		return nil, fmt.Errorf("%w: autograd: BCEWithLogits: %d positive weights for a last dimension of %d", ErrShape, len(posWeight), last)
	}
	return pointwise("BCEWithLogits", x, target, r, func(i int, x, t float64) (float64, float64) {
		p := 1.0
		if posWeight != nil {
			p = float64(posWeight[i%last])
		}
		lw := 1 + (p-1)*t
		// softplus(−x) = log(1+e^−x), stably.
		sp := math.Max(-x, 0) + math.Log1p(math.Exp(-math.Abs(x)))
		return (1-t)*x + lw*sp, (1 - t) - lw*sigmoid(-x)
	})
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// SigmoidFocal is torchvision.ops.sigmoid_focal_loss (Lin et al. 2017,
// RetinaNet, Eq. 5): ce·(1 − p_t)^γ·α_t with ce the binary cross-entropy
// of the logits x against targets t, p = σ(x), p_t = p·t + (1−p)(1−t),
// α_t = α·t + (1−α)(1−t), no α weighting when alpha < 0. The paper's
// values are α = 0.25, γ = 2. Its reduction is torchvision's: mean, sum or
// none over elements.
func SigmoidFocal(x *Var, target *tensor.Tensor, alpha, gamma float64, r Reduction) (*Var, error) {
	if gamma < 0 {
		return nil, fmt.Errorf("autograd: SigmoidFocal: gamma %v, want at least 0", gamma)
	}
	return pointwise("SigmoidFocal", x, target, r, func(_ int, x, t float64) (float64, float64) {
		p := sigmoid(x)
		ce := math.Max(-x, 0) + math.Log1p(math.Exp(-math.Abs(x))) + (1-t)*x
		pt := p*t + (1-p)*(1-t)
		q := 1 - pt
		m := math.Pow(q, gamma)
		dp := p * (1 - p)
		var dm float64
		if gamma != 0 && dp != 0 {
			dm = -gamma * math.Pow(q, gamma-1) * (2*t - 1) * dp
		}
		l, d := ce*m, (p-t)*m+ce*dm
		if alpha >= 0 {
			at := alpha*t + (1-alpha)*(1-t)
			l, d = l*at, d*at
		}
		return l, d
	})
}

// KLDiv is torch.nn.functional.kl_div(x, target) with x log-probabilities
// and target probabilities: target·(log target − x), 0 where target is 0.
// ReduceBatchMean (the sum over the batch size) is the mathematically
// right reduction; ReduceMean, torch's default, averages over elements.
func KLDiv(x *Var, target *tensor.Tensor, r Reduction) (*Var, error) {
	return pointwise("KLDiv", x, target, r, func(_ int, x, t float64) (float64, float64) {
		if t <= 0 {
			return 0, 0
		}
		return t * (math.Log(t) - x), -t
	})
}

// Distillation is Hinton et al. 2015's soft-target loss at temperature T:
// T²·KL(softmax(teacher/T) ‖ softmax(student/T)) per sample, averaged over
// the batch — torch's kl_div(log_softmax(s/T, 1), softmax(t/T, 1),
// reduction="batchmean")·T² — for student logits [N, C] (a Var) and
// teacher logits [N, C] (a constant). The T² keeps the gradients' size
// independent of T (§2).
func Distillation(student *Var, teacher *tensor.Tensor, temperature float64) (*Var, error) {
	if err := need(student); err != nil {
		return nil, fmt.Errorf("autograd: Distillation: %w", err)
	}
	s := student.value.Shape()
	if len(s) != 2 || s[0] == 0 || teacher == nil || !slices.Equal(teacher.Shape(), s) {
		return nil, fmt.Errorf("%w: autograd: Distillation: student %v and teacher logits, want both [N, C]", ErrShape, s)
	}
	if !(temperature > 0) {
		return nil, fmt.Errorf("autograd: Distillation: temperature %v, want above 0", temperature)
	}
	n, c := s[0], s[1]
	scaled := func(src []float32) []float32 {
		out := make([]float32, len(src))
		for i, v := range src {
			out[i] = float32(float64(v) / temperature)
		}
		return out
	}
	logq := logSoftmax64(scaled(student.value.Data()), n, c, 1)
	logp := logSoftmax64(scaled(teacher.Data()), n, c, 1)
	var total float64
	for i, lp := range logp {
		p := math.Exp(lp)
		if p > 0 {
			total += p * (lp - logq[i])
		}
	}
	t2 := temperature * temperature
	y := scalar(total * t2 / float64(n))
	if !student.requiresGrad {
		return Constant(y), nil
	}
	return Record("Distillation", y, []*Var{student}, func(gy *tensor.Tensor) ([]*tensor.Tensor, error) {
		gx := tensor.New(s...)
		g := float64(gy.Data()[0]) * temperature / float64(n)
		for i := range gx.Data() {
			gx.Data()[i] = float32(g * (math.Exp(logq[i]) - math.Exp(logp[i])))
		}
		return []*tensor.Tensor{gx}, nil
	}), nil
}
