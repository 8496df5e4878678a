package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"govision.dev/accel"
	"govision.dev/vision/internal/filemap"
	"govision.dev/vision/tensor"
)

// Linear is torch.nn.Linear: y = x·Wᵀ + b for x [N, In], W [Out, In].
type Linear struct {
	Weight *tensor.Tensor `nn:"weight"`
	Bias   *tensor.Tensor `nn:"bias"` // nil: bias=False

	In, Out int

	// packed is Weight packed by loaded (Refresh) for small batches, as
	// the weights of a 1x1 convolution: see Forward.
	packed *accel.PackedConv
}

// linearPackedMaxN is the largest batch Forward runs as a 1x1
// convolution over packed weights, one matrix-vector product per row of
// x, each reading all the weights; larger batches share one pass over the
// weights in Sgemm, which repacks them.
const linearPackedMaxN = 4

// linearPackedMinWeights is the least In·Out for which loaded packs the
// weights and Forward takes the convolution's path at small batches:
// below it, repacking per call costs next to nothing.
const linearPackedMinWeights = 1 << 14

// loaded packs the weights for Forward (accel.PackedConv): a classifier's
// head at batch 1 is a matrix-vector product in which packing the
// weights per call costs several times the arithmetic (resnet50's fc:
// 2048×1000 floats, 8 MB, moved for 2 MFLOP).
func (l *Linear) loaded() {
	l.packed = nil
	if l.Weight == nil || l.In < 1 || l.Out < 1 || l.Weight.Len() != l.In*l.Out ||
		l.In*l.Out < linearPackedMinWeights {
		return // Forward says why
	}
	l.packed = accel.PackConv(l.Weight.Data(), l.convParams(1))
	// Larger batches still read Weight, but a classifier's are rare: let
	// the pages of mapped weights go (see Conv2d.loaded).
	filemap.Release(l.Weight.Data())
}

// convParams is Linear as a 1x1 convolution of n images of In channels.
func (l *Linear) convParams(n int) accel.ConvParams {
	return accel.ConvParams{N: n, C: l.In, H: 1, W: 1, OutC: l.Out, KH: 1, KW: 1}
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
	w := l.Weight.Data()
	if n <= linearPackedMaxN && l.In*l.Out >= linearPackedMinWeights {
		// x [N, In] and y [N, Out] are the NCHW planes of 1x1 images:
		// the packed weights when Refresh has packed them, else the same
		// convolution packing them per call (the same sums, bit for bit).
		var ep accel.Epilogue
		if l.Bias != nil {
			ep.Bias = l.Bias.Data()
		}
		if l.packed.Of(w) {
			l.packed.Conv2D(dst, x.Data(), l.convParams(n), &ep)
		} else {
			accel.Conv2D(dst, x.Data(), w, l.convParams(n), &ep)
		}
		return y, nil
	}
	accel.Sgemm(false, true, n, l.Out, l.In, 1, x.Data(), l.In, w, l.In, 0, dst, l.Out)
	if l.Bias != nil {
		for i := 0; i < n; i++ {
			accel.Add(dst[i*l.Out:(i+1)*l.Out], dst[i*l.Out:(i+1)*l.Out], l.Bias.Data())
		}
	}
	return y, nil
}
