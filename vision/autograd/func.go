package autograd

import (
	"fmt"

	"govision.dev/vision/tensor"
)

// Func is a custom operation given as a pair of functions on tensors, for
// what the package does not have: a quantiser, a binariser, a paper's own
// layer. Apply runs Forward and, when an operand requires a gradient,
// records Backward.
type Func struct {
	// Name names the operation in errors.
	Name string
	// Forward computes the output from the operands' values. It must not
	// change them.
	Forward func(xs []*tensor.Tensor) (*tensor.Tensor, error)
	// Backward returns one gradient per operand, of the operand's shape
	// (nil where need is false), given gy, the gradient of the output, the
	// operands' values xs and the output y. It must not change gy, xs or y.
	Backward func(gy *tensor.Tensor, xs []*tensor.Tensor, y *tensor.Tensor, need []bool) ([]*tensor.Tensor, error)
}

// Apply runs f on the operands.
func (f Func) Apply(xs ...*Var) (*Var, error) {
	ts := make([]*tensor.Tensor, len(xs))
	need := make([]bool, len(xs))
	for i, x := range xs {
		if x == nil || x.value == nil {
			return nil, fmt.Errorf("%w: autograd: %s: operand %d is nil", ErrShape, f.Name, i)
		}
		ts[i] = x.value
		need[i] = x.requiresGrad
	}
	y, err := f.Forward(ts)
	if err != nil {
		return nil, fmt.Errorf("autograd: %s: %w", f.Name, err)
	}
	if !anyRequires(xs...) {
		return Constant(y), nil
	}
	if f.Backward == nil {
		return nil, fmt.Errorf("%w: autograd: %s has no backward function", ErrGraph, f.Name)
	}
	ins := append([]*Var(nil), xs...)
	return Record(f.Name, y, ins, func(gy *tensor.Tensor) ([]*tensor.Tensor, error) {
		return f.Backward(gy, ts, y, need)
	}), nil
}

// StraightThrough returns the one-operand operation whose forward pass is
// fwd (element-wise, dst and src of one length) and whose backward pass
// pretends it was the identity: the straight-through estimator (Bengio,
// Léonard and Courville 2013) that BinaryConnect, XNOR-Net and DoReFa-Net
// train their quantisers with. With clip > 0 the gradient passes only
// where |x| ≤ clip and is 0 elsewhere (Hubara et al. 2016's
// 1_{|r| ≤ 1} for clip = 1).
func StraightThrough(name string, fwd func(dst, src []float32), clip float32) Func {
	return Func{
		Name: name,
		Forward: func(xs []*tensor.Tensor) (*tensor.Tensor, error) {
			if len(xs) != 1 {
				return nil, fmt.Errorf("%w: %d operands, want 1", ErrShape, len(xs))
			}
			y := tensor.New(xs[0].Shape()...)
			fwd(y.Data(), xs[0].Data())
			return y, nil
		},
		Backward: func(gy *tensor.Tensor, xs []*tensor.Tensor, _ *tensor.Tensor, _ []bool) ([]*tensor.Tensor, error) {
			if clip <= 0 {
				return []*tensor.Tensor{gy}, nil
			}
			gx := tensor.New(gy.Shape()...)
			for i, v := range xs[0].Data() {
				if v >= -clip && v <= clip {
					gx.Data()[i] = gy.Data()[i]
				}
			}
			return []*tensor.Tensor{gx}, nil
		},
	}
}
