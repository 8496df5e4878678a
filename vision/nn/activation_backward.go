package nn

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"govision.dev/vision/tensor"
)

// The activations' backward passes take Forward's input x, its output y
// and gy (all of one shape) and return gx; each reads what torch's
// derivative reads.

func unaryBackward(layer string, in, gy *tensor.Tensor, f func(gx, in, gy []float32)) (*tensor.Tensor, error) {
	if in == nil || gy == nil || !slices.Equal(in.Shape(), gy.Shape()) {
		return nil, fmt.Errorf("%w: %s backward: tensor and output gradient differ in shape", ErrShape, layer)
	}
	gx := tensor.New(gy.Shape()...)
	f(gx.Data(), in.Data(), gy.Data())
	return gx, nil
}

// Backward returns gy where the output is positive, 0 elsewhere
// (torch's threshold_backward on the result).
func (ReLU) Backward(x, y, gy *tensor.Tensor) (*tensor.Tensor, error) {
	return unaryBackward("ReLU", y, gy, func(gx, y, gy []float32) {
		for i, v := range y {
			if v > 0 {
				gx[i] = gy[i]
			}
		}
	})
}

// Backward returns gy where 0 < x < 6, 0 elsewhere (torch's
// hardtanh_backward: nothing passes at the corners).
func (ReLU6) Backward(x, y, gy *tensor.Tensor) (*tensor.Tensor, error) {
	return unaryBackward("ReLU6", x, gy, func(gx, x, gy []float32) {
		for i, v := range x {
			if v > 0 && v < 6 {
				gx[i] = gy[i]
			}
		}
	})
}

// Backward returns gy where x > 0 and Slope·gy elsewhere.
func (l LeakyReLU) Backward(x, y, gy *tensor.Tensor) (*tensor.Tensor, error) {
	return unaryBackward("LeakyReLU", x, gy, func(gx, x, gy []float32) {
		for i, v := range x {
			if v > 0 {
				gx[i] = gy[i]
			} else {
				gx[i] = gy[i] * l.Slope
			}
		}
	})
}

// Backward returns gy·y·(1 − y).
func (Sigmoid) Backward(x, y, gy *tensor.Tensor) (*tensor.Tensor, error) {
	return unaryBackward("Sigmoid", y, gy, func(gx, y, gy []float32) {
		for i, v := range y {
			gx[i] = gy[i] * (1 - v) * v
		}
	})
}

// Backward returns gy·(1 − y²).
func (Tanh) Backward(x, y, gy *tensor.Tensor) (*tensor.Tensor, error) {
	return unaryBackward("Tanh", y, gy, func(gx, y, gy []float32) {
		for i, v := range y {
			gx[i] = gy[i] * (1 - v*v)
		}
	})
}

// Backward returns gy (the identity's gradient).
func (Identity) Backward(x, y, gy *tensor.Tensor) (*tensor.Tensor, error) {
	return gy, nil
}

// ForwardTrain is Dropout in training mode (Srivastava et al. 2014, with
// torch's inverted scaling): each value is zeroed with probability P,
// drawn from rng in order, and the others are multiplied by 1/(1 − P); P = 1
// zeroes everything. It returns y and the mask, of x's shape, holding 0 or
// 1/(1 − P) per value, for Backward. The same rng state gives the same
// mask.
func (d *Dropout) ForwardTrain(x *tensor.Tensor, rng *rand.Rand) (y, mask *tensor.Tensor, err error) {
	if x == nil {
		return nil, nil, fmt.Errorf("%w: Dropout: nil input", ErrShape)
	}
	mask = tensor.New(x.Shape()...)
	y = tensor.New(x.Shape()...)
	keep := float32(0)
	if d.P < 1 {
		keep = 1 / (1 - d.P)
	}
	m, src, dst := mask.Data(), x.Data(), y.Data()
	p := float64(d.P)
	for i := range m {
		if rng.Float64() >= p {
			m[i] = keep
			dst[i] = src[i] * keep
		}
	}
	return y, mask, nil
}

// Backward returns gy·mask, the mask ForwardTrain returned.
func (d *Dropout) Backward(mask, gy *tensor.Tensor) (*tensor.Tensor, error) {
	return unaryBackward("Dropout", mask, gy, func(gx, m, gy []float32) {
		for i, v := range m {
			gx[i] = gy[i] * v
		}
	})
}

// Backward returns the gradient of Forward's input given y, the softmax
// it returned, and gy: gx = y·(gy − Σ gy·y) along Dim, summed in float64.
func (s *Softmax) Backward(y, gy *tensor.Tensor) (*tensor.Tensor, error) {
	return softmaxBackward("Softmax", y, gy, s.Dim, false)
}

// Backward returns the gradient of Forward's input given y, the
// log-softmax it returned, and gy: gx = gy − exp(y)·Σ gy along Dim.
func (s *LogSoftmax) Backward(y, gy *tensor.Tensor) (*tensor.Tensor, error) {
	return softmaxBackward("LogSoftmax", y, gy, s.Dim, true)
}

func softmaxBackward(layer string, y, gy *tensor.Tensor, dim int, log bool) (*tensor.Tensor, error) {
	if y == nil || gy == nil || !slices.Equal(y.Shape(), gy.Shape()) {
		return nil, fmt.Errorf("%w: %s backward: output and its gradient differ in shape", ErrShape, layer)
	}
	s := y.Shape()
	d := dim
	if d < 0 {
		d += len(s)
	}
	if d < 0 || d >= len(s) {
		return nil, fmt.Errorf("%w: %s backward: dimension %d of %v", ErrShape, layer, dim, s)
	}
	outer, inner := 1, 1
	for _, v := range s[:d] {
		outer *= v
	}
	for _, v := range s[d+1:] {
		inner *= v
	}
	size := s[d]
	gx := tensor.New(s...)
	ys, gs, dst := y.Data(), gy.Data(), gx.Data()
	for o := 0; o < outer; o++ {
		base := o * size * inner
		for p := 0; p < inner; p++ {
			var sum float64
			for j := 0; j < size; j++ {
				k := base + j*inner + p
				if log {
					sum += float64(gs[k])
				} else {
					sum += float64(gs[k]) * float64(ys[k])
				}
			}
			for j := 0; j < size; j++ {
				k := base + j*inner + p
				if log {
					dst[k] = float32(float64(gs[k]) - exp64(ys[k])*sum)
				} else {
					dst[k] = float32(float64(ys[k]) * (float64(gs[k]) - sum))
				}
			}
		}
	}
	return gx, nil
}
