package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"govision.dev/accel"
	"govision.dev/vision/tensor"
)

// Linear is torch.nn.Linear: y = x·Wᵀ + b for x [N, In], W [Out, In].
type Linear struct {
	Weight *tensor.Tensor `nn:"weight"`
	Bias   *tensor.Tensor `nn:"bias"` // nil: bias=False

	In, Out int
}

// NewLinear returns a linear layer with torch's default initialisation
// (uniform ±1/√In for weight and bias), drawn from rng.
func NewLinear(in, out int, bias bool, rng *rand.Rand) *Linear {
	bound := float32(1 / math.Sqrt(float64(in)))
	l := &Linear{In: in, Out: out, Weight: uniform(rng, bound, out, in)}
	if bias {
		l.Bias = uniform(rng, bound, out)
	}
	return l
}

// Forward maps x [N, In] to [N, Out]. A 4-dimensional x [N, C, H, W] with
// C·H·W = In is taken as flattened.
func (l *Linear) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	if x == nil || x.Dims() < 1 {
		return nil, fmt.Errorf("%w: Linear: input must have a batch dimension", ErrShape)
	}
	n := x.Dim(0)
	if n == 0 || x.Len()/n != l.In || x.Len()%n != 0 || (x.Dims() != 2 && x.Dims() != 4) {
		return nil, fmt.Errorf("%w: Linear: input %v, want [N, %d]", ErrShape, x.Shape(), l.In)
	}
	y := tensor.Get(n, l.Out)
	dst := y.Data()
	beta := float32(0)
	if l.Bias != nil {
		for i := 0; i < n; i++ {
			copy(dst[i*l.Out:(i+1)*l.Out], l.Bias.Data())
		}
		beta = 1
	}
	accel.Sgemm(false, true, n, l.Out, l.In, 1, x.Data(), l.In, l.Weight.Data(), l.In, beta, dst, l.Out)
	return y, nil
}
