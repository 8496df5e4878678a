package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"govision.dev/accel"
	"govision.dev/vision/internal/filemap"
	"govision.dev/vision/tensor"
)

// Conv2d is torch.nn.Conv2d in evaluation: a 2-D convolution of an NCHW
// input with a weight [OutC, InC/Groups, KH, KW] and an optional bias
// [OutC].
type Conv2d struct {
	Weight *tensor.Tensor `nn:"weight"`
	Bias   *tensor.Tensor `nn:"bias"` // nil: bias=False

	InC, OutC            int
	KH, KW               int
	StrideH, StrideW     int
	PadH, PadW           int
	DilationH, DilationW int
	Groups               int

	// packed is Weight packed for the GEMM micro-kernel, made by loaded
	// (Refresh) so that Forward does not repack the weights on every call;
	// nil until then, and ignored once Weight holds other data.
	packed *accel.PackedConv
}

// loaded packs the weights once for Forward (see accel.PackedConv); like
// the folded batch norms, the packed copy is a snapshot that Refresh
// renews after the weights change in place.
func (c *Conv2d) loaded() {
	c.packed = nil
	g := c.Groups
	if c.Weight == nil || c.InC < 1 || c.OutC < 1 || c.KH < 1 || c.KW < 1 || g < 1 ||
		c.InC%g != 0 || c.OutC%g != 0 || c.StrideH < 0 || c.StrideW < 0 ||
		c.PadH < 0 || c.PadW < 0 || c.DilationH < 0 || c.DilationW < 0 ||
		c.Weight.Len() != c.OutC*c.InC/g*c.KH*c.KW {
		return // not a convolution Forward can run; it says why
	}
	c.packed = accel.PackConv(c.Weight.Data(), c.params(1, c.KH, c.KW))
	if c.packed.Packed() {
		// Forward reads the packed copy: weights mapped from a file
		// (weights.Map) leave resident memory, so the model is not held
		// twice.
		filemap.Release(c.Weight.Data())
	}
}

// conv2D runs accel.Conv2D with the packed weights when they are Weight's.
func (c *Conv2d) conv2D(dst, src []float32, p accel.ConvParams, ep *accel.Epilogue) {
	if w := c.Weight.Data(); !c.packed.Of(w) {
		accel.Conv2D(dst, src, w, p, ep)
		return
	}
	c.packed.Conv2D(dst, src, p, ep)
}

// ConvOptions are Conv2d's keyword arguments beyond the channels and the
// kernel size, as torch names them; zero values mean torch's defaults
// (stride 1, padding 0, dilation 1, groups 1, bias true).
type ConvOptions struct {
	Stride, Padding, Dilation [2]int // [H, W]; a zero pair means the default
	Groups                    int
	NoBias                    bool
}

// Kernel, Stride, Padding and Dilation make the square [H, W] pairs of
// constructors and options (ConvOptions, PoolOptions, …).
func Kernel(k int) [2]int { return [2]int{k, k} }

// Stride returns a square stride pair.
func Stride(s int) [2]int { return [2]int{s, s} }

// Padding returns a square padding pair.
func Padding(p int) [2]int { return [2]int{p, p} }

// Dilation returns a square dilation pair.
func Dilation(d int) [2]int { return [2]int{d, d} }

// NewConv2d returns a convolution with torch's default initialisation
// (Kaiming uniform with a=√5 for the weight, uniform ±1/√fan_in for the
// bias), drawn from rng; kernel is [KH, KW].
func NewConv2d(inC, outC int, kernel [2]int, o ConvOptions, rng *rand.Rand) *Conv2d {
	c := &Conv2d{InC: inC, OutC: outC, KH: kernel[0], KW: kernel[1],
		StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1, Groups: 1}
	if o.Stride != [2]int{} {
		c.StrideH, c.StrideW = o.Stride[0], o.Stride[1]
	}
	c.PadH, c.PadW = o.Padding[0], o.Padding[1]
	if o.Dilation != [2]int{} {
		c.DilationH, c.DilationW = o.Dilation[0], o.Dilation[1]
	}
	if o.Groups > 0 {
		c.Groups = o.Groups
	}
	if inC%c.Groups != 0 || outC%c.Groups != 0 {
		panic(fmt.Sprintf("nn: NewConv2d: channels %d→%d not divisible by groups %d", inC, outC, c.Groups))
	}
	fanIn := inC / c.Groups * c.KH * c.KW
	bound := float32(1 / math.Sqrt(float64(fanIn)))
	// kaiming_uniform_(a=√5): gain √(2/(1+5)), bound gain·√(3/fan_in) = 1/√fan_in.
	c.Weight = uniform(rng, bound, outC, inC/c.Groups, c.KH, c.KW)
	if !o.NoBias {
		c.Bias = uniform(rng, bound, outC)
	}
	return c
}

// uniform returns a tensor of the shape with values uniform in [-bound, bound).
func uniform(rng *rand.Rand, bound float32, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	for i := range t.Data() {
		t.Data()[i] = (2*rng.Float32() - 1) * bound
	}
	return t
}

func (c *Conv2d) params(n, h, w int) accel.ConvParams {
	return accel.ConvParams{N: n, C: c.InC, H: h, W: w, OutC: c.OutC, KH: c.KH, KW: c.KW,
		StrideH: c.StrideH, StrideW: c.StrideW, PadH: c.PadH, PadW: c.PadW,
		DilationH: c.DilationH, DilationW: c.DilationW, Groups: c.Groups}
}

// Forward convolves x [N, InC, H, W] into [N, OutC, OH, OW].
func (c *Conv2d) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	return c.forward(x, nil, accel.ActLinear, 0, padAfter{})
}

// padAfter is zero padding below (h rows) and right of (w columns) the
// input on top of a Conv2d's symmetric PadH, PadW: the odd pixel of
// TensorFlow's SAME padding, which ConvBNActSame passes to accel as
// ConvParams.PadAfterH, PadAfterW. The zero value is none.
type padAfter struct{ h, w int }

// forward runs the convolution, padded further by after, with bn (if not
// nil) folded in and the activation fused.
func (c *Conv2d) forward(x *tensor.Tensor, bn *BatchNorm2d, act accel.Activation, slope float32, after padAfter) (*tensor.Tensor, error) {
	n, _, h, w, err := nchw("Conv2d", x, c.InC)
	if err != nil {
		return nil, err
	}
	p := c.params(n, h, w)
	p.PadAfterH, p.PadAfterW = after.h, after.w
	oh, ow := p.OutSize()
	if h < 1 || w < 1 || oh < 1 || ow < 1 {
		return nil, fmt.Errorf("%w: Conv2d: input %v too small for a %dx%d kernel (dilation %d,%d, padding %d,%d)",
			ErrShape, x.Shape(), c.KH, c.KW, c.DilationH, c.DilationW, c.PadH, c.PadW)
	}
	ep := accel.Epilogue{Act: act, Slope: slope}
	if c.Bias != nil {
		ep.Bias = c.Bias.Data()
	}
	if bn != nil {
		if bn.C != c.OutC {
			return nil, fmt.Errorf("%w: BatchNorm2d of %d features after a Conv2d of %d channels", ErrShape, bn.C, c.OutC)
		}
		ep.Scale, ep.Shift = bn.scale, bn.shift
	}
	y := tensor.Get(n, c.OutC, oh, ow)
	c.conv2D(y.Data(), x.Data(), p, &ep)
	return y, nil
}

// ConvBNAct computes act(bn(conv(x))) in one pass, folding the batch norm
// into the convolution's epilogue: the fused form of torchvision's
// conv → bn → relu. bn may be nil; act is one of nil, *ReLU, *ReLU6,
// *LeakyReLU or *Sigmoid.
func ConvBNAct(x *tensor.Tensor, conv *Conv2d, bn *BatchNorm2d, act Module) (*tensor.Tensor, error) {
	return convBNAct(x, conv, bn, act, padAfter{})
}

// convBNAct is ConvBNAct with the input padded further by after.
func convBNAct(x *tensor.Tensor, conv *Conv2d, bn *BatchNorm2d, act Module, after padAfter) (*tensor.Tensor, error) {
	a, slope, ok := fusable(act)
	if !ok {
		y, err := conv.forward(x, bn, accel.ActLinear, 0, after)
		if err != nil {
			return nil, err
		}
		z, err := act.Forward(y)
		if err == nil {
			releaseIntermediate(y, z, x)
		}
		return z, err
	}
	return conv.forward(x, bn, a, slope, after)
}
