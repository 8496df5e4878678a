package nn

import (
	"fmt"

	"govision.dev/accel"
	"govision.dev/vision/tensor"
)

// ReLU is torch.nn.ReLU: max(x, 0).
type ReLU struct{}

// ReLU6 is torch.nn.ReLU6: min(max(x, 0), 6).
type ReLU6 struct{}

// LeakyReLU is torch.nn.LeakyReLU: max(x, 0) + Slope·min(x, 0).
type LeakyReLU struct{ Slope float32 }

// Sigmoid is torch.nn.Sigmoid: 1/(1+e^−x).
type Sigmoid struct{}

// Tanh is torch.nn.Tanh.
type Tanh struct{}

func unary(x *tensor.Tensor, f func(dst, src []float32)) (*tensor.Tensor, error) {
	if x == nil {
		return nil, fmt.Errorf("%w: nil input", ErrShape)
	}
	y := tensor.Get(x.Shape()...)
	f(y.Data(), x.Data())
	return y, nil
}

// Forward applies the activation element-wise (any shape).
func (ReLU) Forward(x *tensor.Tensor) (*tensor.Tensor, error) { return unary(x, accel.ReLU) }

// Forward applies the activation element-wise (any shape).
func (ReLU6) Forward(x *tensor.Tensor) (*tensor.Tensor, error) { return unary(x, accel.ReLU6) }

// Forward applies the activation element-wise (any shape).
func (l LeakyReLU) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	return unary(x, func(dst, src []float32) { accel.LeakyReLU(dst, src, l.Slope) })
}

// Forward applies the activation element-wise (any shape).
func (Sigmoid) Forward(x *tensor.Tensor) (*tensor.Tensor, error) { return unary(x, accel.Sigmoid) }

// Forward applies the activation element-wise (any shape).
func (Tanh) Forward(x *tensor.Tensor) (*tensor.Tensor, error) { return unary(x, accel.Tanh) }

// fusable reports whether act can run in a convolution's epilogue, and as
// which accel activation. A nil act is the identity.
func fusable(act Module) (accel.Activation, float32, bool) {
	switch a := act.(type) {
	case nil:
		return accel.ActLinear, 0, true
	case ReLU, *ReLU:
		return accel.ActReLU, 0, true
	case ReLU6, *ReLU6:
		return accel.ActReLU6, 0, true
	case LeakyReLU:
		return accel.ActLeakyReLU, a.Slope, true
	case *LeakyReLU:
		return accel.ActLeakyReLU, a.Slope, true
	case Sigmoid, *Sigmoid:
		return accel.ActSigmoid, 0, true
	}
	return 0, 0, false
}
