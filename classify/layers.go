package classify

import (
	"math"
	"math/rand/v2"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// Building blocks shared by the family files: layers built with zero
// tensors (an entry's build only lays out names and shapes; its init draws
// the values), the initialisations the papers and torchvision use, and the
// analytic count of multiply-accumulates.

// newConv returns a Conv2d of zero weights with torch's options (kernel
// k×k; a zero stride, dilation or groups means 1).
func newConv(in, out, k int, o nn.ConvOptions) *nn.Conv2d {
	c := &nn.Conv2d{InC: in, OutC: out, KH: k, KW: k, StrideH: 1, StrideW: 1,
		PadH: o.Padding[0], PadW: o.Padding[1], DilationH: 1, DilationW: 1, Groups: 1}
	if o.Stride != [2]int{} {
		c.StrideH, c.StrideW = o.Stride[0], o.Stride[1]
	}
	if o.Dilation != [2]int{} {
		c.DilationH, c.DilationW = o.Dilation[0], o.Dilation[1]
	}
	if o.Groups > 0 {
		c.Groups = o.Groups
	}
	c.Weight = tensor.New(out, in/c.Groups, k, k)
	if !o.NoBias {
		c.Bias = tensor.New(out)
	}
	return c
}

// conv is a bias-free k×k convolution with the given stride and padding
// (the convolutions of the residual networks, followed by batch norm).
func conv(in, out, k, stride, pad int) *nn.Conv2d {
	return newConv(in, out, k, nn.ConvOptions{Stride: nn.Stride(stride), Padding: nn.Padding(pad), NoBias: true})
}

// newLinear returns a Linear of zero weights, with a bias.
func newLinear(in, out int) *nn.Linear {
	return &nn.Linear{In: in, Out: out, Weight: tensor.New(out, in), Bias: tensor.New(out)}
}

// The initialisations. Each walks every module of a network, as
// torchvision's `for m in self.modules()` loops do.

// initTorchDefault draws every Conv2d and Linear as torch's constructors
// do: weight and bias uniform in ±1/√fan_in (kaiming_uniform_ with a=√5).
// Batch norms keep γ = 1, β = 0.
func initTorchDefault(net nn.Module, rng *rand.Rand) {
	for _, m := range nn.Modules(net) {
		switch l := m.(type) {
		case *nn.Conv2d:
			b := 1 / math.Sqrt(float64(fanIn(l.Weight)))
			uniformFill(rng, l.Weight, b)
			uniformFill(rng, l.Bias, b)
		case *nn.Linear:
			b := 1 / math.Sqrt(float64(l.In))
			uniformFill(rng, l.Weight, b)
			uniformFill(rng, l.Bias, b)
		}
	}
}

// initResNet is torchvision's ResNet initialisation: convolutions
// kaiming_normal_(mode="fan_out", nonlinearity="relu"), batch norms γ = 1,
// β = 0, the classifier torch's default.
func initResNet(net nn.Module, rng *rand.Rand) {
	for _, m := range nn.Modules(net) {
		switch l := m.(type) {
		case *nn.Conv2d:
			normalFill(rng, l.Weight, math.Sqrt(2/float64(fanOut(l.Weight))))
			zeroFill(l.Bias)
		case *nn.Linear:
			b := 1 / math.Sqrt(float64(l.In))
			uniformFill(rng, l.Weight, b)
			uniformFill(rng, l.Bias, b)
		}
	}
}

// fanIn is a weight's inputs per output: in/groups·kh·kw, or In.
func fanIn(w *tensor.Tensor) int {
	n := 1
	for _, d := range w.Shape()[1:] {
		n *= d
	}
	return n
}

// fanOut is torch's fan_out: out·kh·kw.
func fanOut(w *tensor.Tensor) int {
	n := w.Dim(0)
	for _, d := range w.Shape()[2:] {
		n *= d
	}
	return n
}

func uniformFill(rng *rand.Rand, t *tensor.Tensor, bound float64) {
	if t == nil {
		return
	}
	for i := range t.Data() {
		t.Data()[i] = float32((2*rng.Float64() - 1) * bound)
	}
}

func normalFill(rng *rand.Rand, t *tensor.Tensor, std float64) {
	if t == nil {
		return
	}
	for i := range t.Data() {
		t.Data()[i] = float32(rng.NormFloat64() * std)
	}
}

func zeroFill(t *tensor.Tensor) {
	if t != nil {
		clear(t.Data())
	}
}

func constFill(t *tensor.Tensor, v float32) {
	if t == nil {
		return
	}
	for i := range t.Data() {
		t.Data()[i] = v
	}
}

// macCounter is implemented by networks that count their multiply-
// accumulates analytically (Describe's MACs): those of the convolutions and
// linear layers of one forward pass on one c×h×w image, as torchvision's
// and the papers' "FLOPs" count them (batch norm, pooling, activations and
// sums not counted).
type macCounter interface {
	macs(h, w int) int64
}

// convMACs is a convolution's multiply-accumulates on an h×w input and its
// output size.
func convMACs(c *nn.Conv2d, h, w int) (macs int64, oh, ow int) {
	oh = (h+2*c.PadH-c.DilationH*(c.KH-1)-1)/c.StrideH + 1
	ow = (w+2*c.PadW-c.DilationW*(c.KW-1)-1)/c.StrideW + 1
	return int64(oh*ow) * int64(c.OutC) * int64(c.InC/c.Groups*c.KH*c.KW), oh, ow
}

// poolSize is a pooling window's output size on a side of n (torch's
// formula, ceil_mode included: the last window must start inside the
// input or its left padding).
func poolSize(n, k, stride, pad int, ceil bool) int {
	span := n + 2*pad - k
	o := span/stride + 1
	if ceil && span%stride != 0 {
		o++
		if (o-1)*stride >= n+pad {
			o--
		}
	}
	return o
}
