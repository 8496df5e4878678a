package autograd

import (
	"fmt"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// The differentiable forms of nn's layers. Each takes the layer for its
// hyper-parameters and the Vars of its tensors, so that the tensors may be
// any (a masked weight, a shared one): the layer's own Weight and Bias are
// not read. Forward passes are the layers' own; backward passes are the
// layers' Backward methods.

func need(v *Var) error {
	if v == nil || v.value == nil {
		return fmt.Errorf("%w: nil operand", ErrShape)
	}
	return nil
}

// value returns v's tensor, or nil for a nil v (an absent bias).
func value(v *Var) *tensor.Tensor {
	if v == nil {
		return nil
	}
	return v.value
}

// Conv2d convolves x [N, InC, H, W] with the weight w [OutC, InC/Groups,
// KH, KW] and the bias b [OutC] (nil: none) with c's stride, padding,
// dilation and groups (torch.nn.functional.conv2d).
func Conv2d(c *nn.Conv2d, x, w, b *Var) (*Var, error) {
	if err := errs(need(x), need(w)); err != nil {
		return nil, fmt.Errorf("autograd: Conv2d: %w", err)
	}
	l := *c
	l.Weight, l.Bias = w.value, value(b)
	if !anyRequires(x, w, b) {
		return constant(l.Forward(x.value))
	}
	// Training: the batch-wide lowering (nn.Conv2d.ForwardBatch), one GEMM
	// over the batch's columns rather than one per image.
	keep := anyRequires(w, b)
	y, low, err := l.ForwardBatch(x.value, keep)
	if err != nil {
		return nil, err
	}
	return Record("Conv2d", y, []*Var{x, w, b}, func(gy *tensor.Tensor) ([]*tensor.Tensor, error) {
		defer low.Release()
		gx, gw, gb, err := l.BackwardBatch(x.value, gy, nn.Grads{Input: x.requiresGrad, Params: keep}, low)
		return []*tensor.Tensor{gx, gw, gb}, err
	}), nil
}

// ConvTranspose2d is the transposed convolution of x [N, InC, H, W] with
// the weight w [InC, OutC/Groups, KH, KW] and the bias b [OutC] (nil:
// none), with c's hyper-parameters (torch.nn.functional.conv_transpose2d).
func ConvTranspose2d(c *nn.ConvTranspose2d, x, w, b *Var) (*Var, error) {
	if err := errs(need(x), need(w)); err != nil {
		return nil, fmt.Errorf("autograd: ConvTranspose2d: %w", err)
	}
	l := *c
	l.Weight, l.Bias = w.value, value(b)
	y, err := l.Forward(x.value)
	if err != nil || !anyRequires(x, w, b) {
		return constant(y, err)
	}
	return Record("ConvTranspose2d", y, []*Var{x, w, b}, func(gy *tensor.Tensor) ([]*tensor.Tensor, error) {
		gx, gw, gb, err := l.Backward(x.value, gy, nn.Grads{Input: x.requiresGrad, Params: anyRequires(w, b)})
		return []*tensor.Tensor{gx, gw, gb}, err
	}), nil
}

// Linear maps x [N, In] (or [N, C, H, W] with C·H·W = In) to x·wᵀ + b,
// [N, Out], with w [Out, In] and b [Out] (nil: none).
func Linear(x, w, b *Var) (*Var, error) {
	if err := errs(need(x), need(w)); err != nil {
		return nil, fmt.Errorf("autograd: Linear: %w", err)
	}
	if w.value.Dims() != 2 {
		return nil, fmt.Errorf("%w: autograd: Linear: weight %v, want [Out, In]", ErrShape, w.value.Shape())
	}
	l := &nn.Linear{Weight: w.value, Bias: value(b), Out: w.value.Dim(0), In: w.value.Dim(1)}
	y, err := l.Forward(x.value)
	if err != nil || !anyRequires(x, w, b) {
		return constant(y, err)
	}
	return Record("Linear", y, []*Var{x, w, b}, func(gy *tensor.Tensor) ([]*tensor.Tensor, error) {
		gx, gw, gb, err := l.Backward(x.value, gy, nn.Grads{Input: x.requiresGrad, Params: anyRequires(w, b)})
		return []*tensor.Tensor{gx, gw, gb}, err
	}), nil
}

// BatchNorm2d normalises x [N, C, H, W] with bn's ε, momentum and running
// statistics and the affine parameters w (γ) and b (β). In training
// (train true) it uses the batch's statistics and updates bn's running
// ones (nn.BatchNorm2d.ForwardTrain); otherwise it uses the running
// statistics, as constants.
func BatchNorm2d(bn *nn.BatchNorm2d, x, w, b *Var, train bool) (*Var, error) {
	if err := errs(need(x), need(w), need(b)); err != nil {
		return nil, fmt.Errorf("autograd: BatchNorm2d: %w", err)
	}
	l := bn
	if w.value != bn.Weight || b.value != bn.Bias {
		c := *bn
		c.Weight, c.Bias = w.value, b.value
		l = &c
	}
	var (
		y   *tensor.Tensor
		st  *nn.BatchStats
		err error
	)
	if train {
		y, st, err = l.ForwardTrain(x.value)
		if err == nil && l != bn {
			nn.Refresh(bn) // the running statistics changed
		}
	} else {
		if l == bn {
			c := *bn
			l = &c
		}
		nn.Refresh(l) // fold the current γ and β, whatever an optimizer did
		y, err = l.Forward(x.value)
	}
	if err != nil || !anyRequires(x, w, b) {
		return constant(y, err)
	}
	return Record("BatchNorm2d", y, []*Var{x, w, b}, func(gy *tensor.Tensor) ([]*tensor.Tensor, error) {
		gx, gw, gb, err := l.Backward(x.value, gy, st, nn.Grads{Input: x.requiresGrad, Params: anyRequires(w, b)})
		return []*tensor.Tensor{gx, gw, gb}, err
	}), nil
}

// MaxPool2d pools x [N, C, H, W] as m does; the backward pass routes each
// gradient to the maximum its window chose.
func MaxPool2d(m *nn.MaxPool2d, x *Var) (*Var, error) {
	if err := need(x); err != nil {
		return nil, fmt.Errorf("autograd: MaxPool2d: %w", err)
	}
	if !x.requiresGrad {
		return constant(m.Forward(x.value))
	}
	y, ind, err := m.ForwardIndices(x.value)
	if err != nil {
		return nil, err
	}
	h, w := x.value.Dim(2), x.value.Dim(3)
	return Record("MaxPool2d", y, []*Var{x}, func(gy *tensor.Tensor) ([]*tensor.Tensor, error) {
		gx, err := m.Backward(gy, ind, h, w)
		return []*tensor.Tensor{gx}, err
	}), nil
}

// AdaptiveMaxPool2d pools x [N, C, H, W] as m does.
func AdaptiveMaxPool2d(m *nn.AdaptiveMaxPool2d, x *Var) (*Var, error) {
	if err := need(x); err != nil {
		return nil, fmt.Errorf("autograd: AdaptiveMaxPool2d: %w", err)
	}
	if !x.requiresGrad {
		return constant(m.Forward(x.value))
	}
	y, ind, err := m.ForwardIndices(x.value)
	if err != nil {
		return nil, err
	}
	h, w := x.value.Dim(2), x.value.Dim(3)
	return Record("AdaptiveMaxPool2d", y, []*Var{x}, func(gy *tensor.Tensor) ([]*tensor.Tensor, error) {
		gx, err := m.Backward(gy, ind, h, w)
		return []*tensor.Tensor{gx}, err
	}), nil
}

// AvgPool2d pools x [N, C, H, W] as a does.
func AvgPool2d(a *nn.AvgPool2d, x *Var) (*Var, error) {
	if err := need(x); err != nil {
		return nil, fmt.Errorf("autograd: AvgPool2d: %w", err)
	}
	y, err := a.Forward(x.value)
	if err != nil || !x.requiresGrad {
		return constant(y, err)
	}
	h, w := x.value.Dim(2), x.value.Dim(3)
	return Record("AvgPool2d", y, []*Var{x}, func(gy *tensor.Tensor) ([]*tensor.Tensor, error) {
		gx, err := a.Backward(gy, h, w)
		return []*tensor.Tensor{gx}, err
	}), nil
}

// AdaptiveAvgPool2d pools x [N, C, H, W] as a does.
func AdaptiveAvgPool2d(a *nn.AdaptiveAvgPool2d, x *Var) (*Var, error) {
	if err := need(x); err != nil {
		return nil, fmt.Errorf("autograd: AdaptiveAvgPool2d: %w", err)
	}
	y, err := a.Forward(x.value)
	if err != nil || !x.requiresGrad {
		return constant(y, err)
	}
	h, w := x.value.Dim(2), x.value.Dim(3)
	return Record("AdaptiveAvgPool2d", y, []*Var{x}, func(gy *tensor.Tensor) ([]*tensor.Tensor, error) {
		gx, err := a.Backward(gy, h, w)
		return []*tensor.Tensor{gx}, err
	}), nil
}

// Interpolate resizes x [N, C, H, W] (torch.nn.functional.interpolate,
// nearest or bilinear; see nn.InterpolateOptions).
func Interpolate(x *Var, o nn.InterpolateOptions) (*Var, error) {
	if err := need(x); err != nil {
		return nil, fmt.Errorf("autograd: Interpolate: %w", err)
	}
	u := nn.NewUpsample(o)
	y, err := u.Forward(x.value)
	if err != nil || !x.requiresGrad {
		return constant(y, err)
	}
	h, w := x.value.Dim(2), x.value.Dim(3)
	return Record("Interpolate", y, []*Var{x}, func(gy *tensor.Tensor) ([]*tensor.Tensor, error) {
		gx, err := u.Backward(gy, h, w)
		return []*tensor.Tensor{gx}, err
	}), nil
}

// ZeroPad2d pads (or crops) x [N, C, H, W] as z does.
func ZeroPad2d(z *nn.ZeroPad2d, x *Var) (*Var, error) {
	if err := need(x); err != nil {
		return nil, fmt.Errorf("autograd: ZeroPad2d: %w", err)
	}
	y, err := z.Forward(x.value)
	if err != nil || !x.requiresGrad {
		return constant(y, err)
	}
	h, w := x.value.Dim(2), x.value.Dim(3)
	return Record("ZeroPad2d", y, []*Var{x}, func(gy *tensor.Tensor) ([]*tensor.Tensor, error) {
		gx, err := z.Backward(gy, h, w)
		return []*tensor.Tensor{gx}, err
	}), nil
}

// constant wraps a forward result that needs no recording.
func constant(y *tensor.Tensor, err error) (*Var, error) {
	if err != nil {
		return nil, err
	}
	return Constant(y), nil
}

// errs returns the first non-nil error.
func errs(es ...error) error {
	for _, e := range es {
		if e != nil {
			return e
		}
	}
	return nil
}
