package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"govision.dev/vision/tensor"
)

// The per-image Conv2d.Backward (accel.Im2col, Sgemm, accel.Col2im) and
// the batch-wide BackwardBatch (checked against torch through
// vision/autograd's golden tests) compute the same sums in other orders:
// they must agree to float32 rounding, relative to each tensor's largest
// value. So must ForwardBatch and Forward.
func TestConvBackwardForms(t *testing.T) {
	const tol = 1e-5
	rng := rand.New(rand.NewPCG(4, 5))
	fill := func(x *tensor.Tensor) *tensor.Tensor {
		for i := range x.Data() {
			x.Data()[i] = float32(rng.NormFloat64())
		}
		return x
	}
	for _, c := range []struct {
		in, out, k int
		o          ConvOptions
		n, h, w    int
	}{
		{2, 3, 3, ConvOptions{}, 2, 6, 5},
		{3, 4, 3, ConvOptions{Stride: Stride(2), Padding: Padding(1)}, 3, 7, 8},
		{2, 3, 3, ConvOptions{Dilation: Dilation(2), Padding: Padding(2)}, 1, 7, 6},
		{4, 6, 3, ConvOptions{Groups: 2, Padding: Padding(1), NoBias: true}, 2, 5, 5},
		{3, 3, 3, ConvOptions{Groups: 3, Stride: Stride(2), Padding: Padding(1)}, 2, 8, 7},
		{5, 4, 1, ConvOptions{}, 2, 3, 4},
		{1, 6, 5, ConvOptions{}, 70, 32, 32}, // LeNet's C1: several chunks
		{16, 12, 5, ConvOptions{}, 9, 5, 5},  // LeNet's C5: one output position
		{3, 4, 3, ConvOptions{Padding: Padding(1)}, 3, 1, 1},
	} {
		conv := NewConv2d(c.in, c.out, Kernel(c.k), c.o, rng)
		x := fill(tensor.New(c.n, c.in, c.h, c.w))
		t.Run(fmt.Sprintf("%dx%d %+v n=%d", c.k, c.k, c.o, c.n), func(t *testing.T) {
			y, err := conv.Forward(x)
			if err != nil {
				t.Fatal(err)
			}
			for _, keep := range []bool{false, true} {
				yb, low, err := conv.ForwardBatch(x, keep)
				if err != nil {
					t.Fatal(err)
				}
				closeTo(t, "ForwardBatch", yb, y, tol)
				gy := fill(tensor.New(y.Shape()...))
				gx, gw, gb, err := conv.Backward(x, gy, Grads{Input: true, Params: true})
				if err != nil {
					t.Fatal(err)
				}
				bx, bw, bb, err := conv.BackwardBatch(x, gy, Grads{Input: true, Params: true}, low)
				if err != nil {
					t.Fatal(err)
				}
				low.Release()
				closeTo(t, "input gradient", bx, gx, tol)
				closeTo(t, "weight gradient", bw, gw, tol)
				if gb != nil {
					closeTo(t, "bias gradient", bb, gb, tol)
				}
			}
		})
	}
}

func closeTo(t *testing.T, what string, got, want *tensor.Tensor, tol float64) {
	t.Helper()
	if got == nil || got.Len() != want.Len() {
		t.Fatalf("%s: %v, want %v", what, got, want)
	}
	var d, m float64
	for i, w := range want.Data() {
		d = math.Max(d, math.Abs(float64(got.Data()[i]-w)))
		m = math.Max(m, math.Abs(float64(w)))
	}
	if d > tol*m {
		t.Errorf("%s: max difference %.3g, largest value %.3g", what, d, m)
	}
}
