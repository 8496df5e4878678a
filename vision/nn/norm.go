package nn

import (
	"fmt"
	"math"

	"govision.dev/vision/tensor"
)

// LocalResponseNorm is torch.nn.LocalResponseNorm, AlexNet's and
// GoogLeNet's normalisation across channels (Krizhevsky et al. 2012,
// §3.3), in torch's form:
//
//	b[c] = a[c] / (K + Alpha/Size · Σ a[j]²)^Beta
//
// summed over the channels j from c − Size/2 to c + (Size−1)/2 that exist
// (integer halves: the window is centred, one longer after c when Size is
// even). The divisor is always Size, even where the window is cut off at
// the first or last channel: torch averages over the zero-padded channels
// (avg_pool3d with count_include_pad). The paper's α is torch's
// Alpha/Size.
type LocalResponseNorm struct {
	Size           int
	Alpha, Beta, K float32
}

// NewLocalResponseNorm returns a normalisation over size channels with
// torch's defaults (alpha 1e-4, beta 0.75, k 1). It panics if size is
// below 1.
func NewLocalResponseNorm(size int) *LocalResponseNorm {
	if size < 1 {
		panic(fmt.Sprintf("nn: NewLocalResponseNorm: size %d, want at least 1", size))
	}
	return &LocalResponseNorm{Size: size, Alpha: 1e-4, Beta: 0.75, K: 1}
}

// Forward normalises x [N, C, ...] (3 or more dimensions, channels second)
// into a new tensor of its shape. The window sums and the power are in
// float64, rounded once.
func (l *LocalResponseNorm) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	if x == nil || x.Dims() < 3 {
		var s []int
		if x != nil {
			s = x.Shape()
		}
		return nil, fmt.Errorf("%w: LocalResponseNorm: input %v, want 3 or more dimensions [N, C, ...]", ErrShape, s)
	}
	n, c := x.Dim(0), x.Dim(1)
	y := tensor.Get(x.Shape()...)
	if y.Len() == 0 {
		return y, nil
	}
	plane := x.Len() / (n * c)
	before, after := l.Size/2, (l.Size-1)/2
	alpha, beta, k := float64(l.Alpha)/float64(l.Size), float64(l.Beta), float64(l.K)
	src, dst := x.Data(), y.Data()
	sum := make([]float64, plane)
	for i := 0; i < n; i++ {
		img := src[i*c*plane : (i+1)*c*plane]
		out := dst[i*c*plane : (i+1)*c*plane]
		for ch := 0; ch < c; ch++ {
			clear(sum)
			for j := max(0, ch-before); j <= min(c-1, ch+after); j++ {
				for p, v := range img[j*plane : (j+1)*plane] {
					sum[p] += float64(v) * float64(v)
				}
			}
			a := img[ch*plane : (ch+1)*plane]
			b := out[ch*plane : (ch+1)*plane]
			for p, s := range sum {
				b[p] = float32(float64(a[p]) / math.Pow(k+alpha*s, beta))
			}
		}
	}
	return y, nil
}
