package autograd

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"govision.dev/accel"
	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// activation is one of nn's element-wise activations with its backward.
type activation interface {
	Forward(x *tensor.Tensor) (*tensor.Tensor, error)
	Backward(x, y, gy *tensor.Tensor) (*tensor.Tensor, error)
}

func activate(op string, a activation, x *Var) (*Var, error) {
	if err := need(x); err != nil {
		return nil, fmt.Errorf("autograd: %s: %w", op, err)
	}
	y, err := a.Forward(x.value)
	if err != nil || !x.requiresGrad {
		return constant(y, err)
	}
	return Record(op, y, []*Var{x}, func(gy *tensor.Tensor) ([]*tensor.Tensor, error) {
		gx, err := a.Backward(x.value, y, gy)
		return []*tensor.Tensor{gx}, err
	}), nil
}

// ReLU is max(x, 0).
func ReLU(x *Var) (*Var, error) { return activate("ReLU", nn.ReLU{}, x) }

// ReLU6 is min(max(x, 0), 6).
func ReLU6(x *Var) (*Var, error) { return activate("ReLU6", nn.ReLU6{}, x) }

// LeakyReLU is max(x, 0) + slope·min(x, 0).
func LeakyReLU(x *Var, slope float32) (*Var, error) {
	return activate("LeakyReLU", nn.LeakyReLU{Slope: slope}, x)
}

// Sigmoid is 1/(1+e^−x).
func Sigmoid(x *Var) (*Var, error) { return activate("Sigmoid", nn.Sigmoid{}, x) }

// Tanh is tanh(x).
func Tanh(x *Var) (*Var, error) { return activate("Tanh", nn.Tanh{}, x) }

// Dropout zeroes each value of x with probability p, drawn from rng, and
// scales the others by 1/(1−p) (training mode; see nn.Dropout.ForwardTrain).
func Dropout(x *Var, p float32, rng *rand.Rand) (*Var, error) {
	if err := need(x); err != nil {
		return nil, fmt.Errorf("autograd: Dropout: %w", err)
	}
	if !(p >= 0 && p <= 1) {
		return nil, fmt.Errorf("autograd: Dropout: probability %v, want between 0 and 1", p)
	}
	d := &nn.Dropout{P: p}
	y, mask, err := d.ForwardTrain(x.value, rng)
	if err != nil || !x.requiresGrad {
		return constant(y, err)
	}
	return Record("Dropout", y, []*Var{x}, func(gy *tensor.Tensor) ([]*tensor.Tensor, error) {
		gx, err := d.Backward(mask, gy)
		return []*tensor.Tensor{gx}, err
	}), nil
}

// Softmax is exp(x)/Σexp(x) along dim.
func Softmax(x *Var, dim int) (*Var, error) {
	s := nn.NewSoftmax(dim)
	return softmaxOp("Softmax", x, s.Forward, s.Backward)
}

// LogSoftmax is x − log Σexp(x) along dim.
func LogSoftmax(x *Var, dim int) (*Var, error) {
	s := nn.NewLogSoftmax(dim)
	return softmaxOp("LogSoftmax", x, s.Forward, s.Backward)
}

func softmaxOp(op string, x *Var, fwd func(*tensor.Tensor) (*tensor.Tensor, error), bwd func(y, gy *tensor.Tensor) (*tensor.Tensor, error)) (*Var, error) {
	if err := need(x); err != nil {
		return nil, fmt.Errorf("autograd: %s: %w", op, err)
	}
	y, err := fwd(x.value)
	if err != nil || !x.requiresGrad {
		return constant(y, err)
	}
	return Record(op, y, []*Var{x}, func(gy *tensor.Tensor) ([]*tensor.Tensor, error) {
		gx, err := bwd(y, gy)
		return []*tensor.Tensor{gx}, err
	}), nil
}

// Concat joins xs [N, Ci, ...] along the channels (torch.cat(xs, 1)).
func Concat(xs ...*Var) (*Var, error) {
	ts := make([]*tensor.Tensor, len(xs))
	chans := make([]int, len(xs))
	for i, x := range xs {
		if err := need(x); err != nil {
			return nil, fmt.Errorf("autograd: Concat: tensor %d: %w", i, err)
		}
		ts[i] = x.value
		if x.value.Dims() > 1 {
			chans[i] = x.value.Dim(1)
		}
	}
	y, err := nn.Concat(ts...)
	if err != nil || !anyRequires(xs...) {
		return constant(y, err)
	}
	return Record("Concat", y, slices.Clone(xs), func(gy *tensor.Tensor) ([]*tensor.Tensor, error) {
		return nn.ConcatBackward(gy, chans)
	}), nil
}

// Add returns a + b, of one shape.
func Add(a, b *Var) (*Var, error) {
	if err := errs(need(a), need(b)); err != nil {
		return nil, fmt.Errorf("autograd: Add: %w", err)
	}
	y, err := nn.Add(a.value, b.value)
	if err != nil || !anyRequires(a, b) {
		return constant(y, err)
	}
	return Record("Add", y, []*Var{a, b}, func(gy *tensor.Tensor) ([]*tensor.Tensor, error) {
		return []*tensor.Tensor{gy, gy}, nil
	}), nil
}

// Sub returns a − b, of one shape.
func Sub(a, b *Var) (*Var, error) {
	if err := sameShape("Sub", a, b); err != nil {
		return nil, err
	}
	y := tensor.New(a.value.Shape()...)
	for i, v := range a.value.Data() {
		y.Data()[i] = v - b.value.Data()[i]
	}
	if !anyRequires(a, b) {
		return Constant(y), nil
	}
	return Record("Sub", y, []*Var{a, b}, func(gy *tensor.Tensor) ([]*tensor.Tensor, error) {
		var gb *tensor.Tensor
		if b.requiresGrad {
			gb = tensor.New(gy.Shape()...)
			accel.Scale(gb.Data(), -1, gy.Data())
		}
		return []*tensor.Tensor{gy, gb}, nil
	}), nil
}

// Mul returns a·b element-wise, of one shape.
func Mul(a, b *Var) (*Var, error) {
	if err := sameShape("Mul", a, b); err != nil {
		return nil, err
	}
	y := tensor.New(a.value.Shape()...)
	accel.Mul(y.Data(), a.value.Data(), b.value.Data())
	if !anyRequires(a, b) {
		return Constant(y), nil
	}
	return Record("Mul", y, []*Var{a, b}, func(gy *tensor.Tensor) ([]*tensor.Tensor, error) {
		var ga, gb *tensor.Tensor
		if a.requiresGrad {
			ga = tensor.New(gy.Shape()...)
			accel.Mul(ga.Data(), gy.Data(), b.value.Data())
		}
		if b.requiresGrad {
			gb = tensor.New(gy.Shape()...)
			accel.Mul(gb.Data(), gy.Data(), a.value.Data())
		}
		return []*tensor.Tensor{ga, gb}, nil
	}), nil
}

// Scale returns c·x.
func Scale(x *Var, c float32) (*Var, error) {
	if err := need(x); err != nil {
		return nil, fmt.Errorf("autograd: Scale: %w", err)
	}
	y := tensor.New(x.value.Shape()...)
	accel.Scale(y.Data(), c, x.value.Data())
	if !x.requiresGrad {
		return Constant(y), nil
	}
	return Record("Scale", y, []*Var{x}, func(gy *tensor.Tensor) ([]*tensor.Tensor, error) {
		gx := tensor.New(gy.Shape()...)
		accel.Scale(gx.Data(), c, gy.Data())
		return []*tensor.Tensor{gx}, nil
	}), nil
}

// ChannelScale multiplies each plane of x [N, C, H, W] by its weight in s
// ([N, C] or [N, C, 1, 1]), squeeze-and-excitation's gating.
func ChannelScale(x, s *Var) (*Var, error) {
	if err := errs(need(x), need(s)); err != nil {
		return nil, fmt.Errorf("autograd: ChannelScale: %w", err)
	}
	y, err := nn.ChannelScale(x.value, s.value)
	if err != nil || !anyRequires(x, s) {
		return constant(y, err)
	}
	return Record("ChannelScale", y, []*Var{x, s}, func(gy *tensor.Tensor) ([]*tensor.Tensor, error) {
		gx, gs, err := nn.ChannelScaleBackward(x.value, s.value, gy, nn.Grads{Input: x.requiresGrad, Params: s.requiresGrad})
		return []*tensor.Tensor{gx, gs}, err
	}), nil
}

// Sum returns the sum of x's values (in float64, rounded once), a scalar
// of shape [].
func Sum(x *Var) (*Var, error) { return reduce("Sum", x, 1) }

// Mean returns the mean of x's values, a scalar of shape [].
func Mean(x *Var) (*Var, error) {
	if err := need(x); err != nil {
		return nil, fmt.Errorf("autograd: Mean: %w", err)
	}
	if x.value.Len() == 0 {
		return nil, fmt.Errorf("%w: autograd: Mean of an empty tensor", ErrShape)
	}
	return reduce("Mean", x, 1/float64(x.value.Len()))
}

func reduce(op string, x *Var, scale float64) (*Var, error) {
	if err := need(x); err != nil {
		return nil, fmt.Errorf("autograd: %s: %w", op, err)
	}
	var s float64
	for _, v := range x.value.Data() {
		s += float64(v)
	}
	y := tensor.New()
	y.Data()[0] = float32(s * scale)
	if !x.requiresGrad {
		return Constant(y), nil
	}
	return Record(op, y, []*Var{x}, func(gy *tensor.Tensor) ([]*tensor.Tensor, error) {
		gx := tensor.New(x.value.Shape()...)
		g := float32(float64(gy.Data()[0]) * scale)
		for i := range gx.Data() {
			gx.Data()[i] = g
		}
		return []*tensor.Tensor{gx}, nil
	}), nil
}

// Reshape returns x with a new shape of the same size (one dimension may
// be −1), sharing its data.
func Reshape(x *Var, shape ...int) (*Var, error) {
	if err := need(x); err != nil {
		return nil, fmt.Errorf("autograd: Reshape: %w", err)
	}
	y, err := x.value.Reshape(shape...)
	if err != nil || !x.requiresGrad {
		return constant(y, err)
	}
	in := x.value.Shape()
	return Record("Reshape", y, []*Var{x}, func(gy *tensor.Tensor) ([]*tensor.Tensor, error) {
		gx, err := gy.Reshape(in...)
		return []*tensor.Tensor{gx}, err
	}), nil
}

// Flatten merges dimensions start through end (negative counts from the
// end) as torch.flatten, sharing x's data.
func Flatten(x *Var, start, end int) (*Var, error) {
	if err := need(x); err != nil {
		return nil, fmt.Errorf("autograd: Flatten: %w", err)
	}
	f := &nn.Flatten{StartDim: start, EndDim: end}
	y, err := f.Forward(x.value)
	if err != nil {
		return nil, err
	}
	return Reshape(x, y.Shape()...)
}

func sameShape(op string, a, b *Var) error {
	if err := errs(need(a), need(b)); err != nil {
		return fmt.Errorf("autograd: %s: %w", op, err)
	}
	if !slices.Equal(a.value.Shape(), b.value.Shape()) {
		return fmt.Errorf("%w: autograd: %s: shapes %v and %v differ", ErrShape, op, a.value.Shape(), b.value.Shape())
	}
	return nil
}
