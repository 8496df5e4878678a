package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"govision.dev/accel"
	"govision.dev/vision/tensor"
)

// ConvTranspose2d is torch.nn.ConvTranspose2d in evaluation: the adjoint
// (gradient) of a Conv2d with the same kernel, stride, padding, dilation
// and groups, used by FCN and the segmentation decoders to upsample. Its
// weight is [InC, OutC/Groups, KH, KW] (torch's layout, transposed from
// Conv2d's) and its optional bias [OutC]. Input value (iy, ix) of channel
// ci adds weight[ci, oc, ki, kj] times itself to output position
//
//	oy = iy·StrideH − PadH + ki·DilationH,  ox = ix·StrideW − PadW + kj·DilationW
//
// of every output channel oc of ci's group, so the output is
//
//	OH = (H−1)·StrideH − 2·PadH + DilationH·(KH−1) + OutPadH + 1
//
// (likewise OW). OutputPadding only lengthens the output at the bottom and
// right, to pick among the sizes a strided Conv2d maps to the same input
// size.
type ConvTranspose2d struct {
	Weight *tensor.Tensor `nn:"weight"` // [InC, OutC/Groups, KH, KW]
	Bias   *tensor.Tensor `nn:"bias"`   // nil: bias=False

	InC, OutC            int
	KH, KW               int
	StrideH, StrideW     int
	PadH, PadW           int
	OutPadH, OutPadW     int
	DilationH, DilationW int
	Groups               int
}

// ConvTransposeOptions are ConvTranspose2d's keyword arguments beyond the
// channels and the kernel size, as torch names them; zero values mean
// torch's defaults (stride 1, padding 0, output_padding 0, dilation 1,
// groups 1, bias true).
type ConvTransposeOptions struct {
	Stride, Padding, OutputPadding, Dilation [2]int // [H, W]; a zero pair means the default
	Groups                                   int
	NoBias                                   bool
}

// NewConvTranspose2d returns a transposed convolution with torch's default
// initialisation, drawn from rng: Kaiming uniform with a=√5, that is
// uniform ±1/√fan_in, for the weight and the bias, where torch's fan_in
// for this layout is OutC/Groups·KH·KW. kernel is [KH, KW].
//
// It panics on hyper-parameters torch refuses: a kernel, stride, dilation
// or group count below 1, a negative padding, channels not divisible by
// the groups, or an output padding not smaller than either the stride or
// the dilation (on each axis).
func NewConvTranspose2d(inC, outC int, kernel [2]int, o ConvTransposeOptions, rng *rand.Rand) *ConvTranspose2d {
	c := &ConvTranspose2d{InC: inC, OutC: outC, KH: kernel[0], KW: kernel[1],
		StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1, Groups: 1,
		PadH: o.Padding[0], PadW: o.Padding[1], OutPadH: o.OutputPadding[0], OutPadW: o.OutputPadding[1]}
	if o.Stride != [2]int{} {
		c.StrideH, c.StrideW = o.Stride[0], o.Stride[1]
	}
	if o.Dilation != [2]int{} {
		c.DilationH, c.DilationW = o.Dilation[0], o.Dilation[1]
	}
	if o.Groups > 0 {
		c.Groups = o.Groups
	}
	switch {
	case inC < 1 || outC < 1 || c.KH < 1 || c.KW < 1 || c.StrideH < 1 || c.StrideW < 1 ||
		c.DilationH < 1 || c.DilationW < 1 || o.Groups < 0:
		panic(fmt.Sprintf("nn: NewConvTranspose2d: channels %d→%d, kernel %v, stride %dx%d, dilation %dx%d, groups %d: each must be at least 1",
			inC, outC, kernel, c.StrideH, c.StrideW, c.DilationH, c.DilationW, o.Groups))
	case c.PadH < 0 || c.PadW < 0:
		panic(fmt.Sprintf("nn: NewConvTranspose2d: negative padding %v", o.Padding))
	case inC%c.Groups != 0 || outC%c.Groups != 0:
		panic(fmt.Sprintf("nn: NewConvTranspose2d: channels %d→%d not divisible by groups %d", inC, outC, c.Groups))
	case c.OutPadH < 0 || c.OutPadW < 0 ||
		c.OutPadH >= max(c.StrideH, c.DilationH) || c.OutPadW >= max(c.StrideW, c.DilationW):
		panic(fmt.Sprintf("nn: NewConvTranspose2d: output padding %v must be smaller than either the stride %dx%d or the dilation %dx%d",
			o.OutputPadding, c.StrideH, c.StrideW, c.DilationH, c.DilationW))
	}
	fanIn := outC / c.Groups * c.KH * c.KW
	bound := float32(1 / math.Sqrt(float64(fanIn)))
	c.Weight = uniform(rng, bound, inC, outC/c.Groups, c.KH, c.KW)
	if !o.NoBias {
		c.Bias = uniform(rng, bound, outC)
	}
	return c
}

// OutputSize returns the output plane size for an h×w input (see the type's
// doc); it is below 1 when padding eats the whole output.
func (c *ConvTranspose2d) OutputSize(h, w int) (oh, ow int) {
	oh = (h-1)*c.StrideH - 2*c.PadH + c.DilationH*(c.KH-1) + c.OutPadH + 1
	ow = (w-1)*c.StrideW - 2*c.PadW + c.DilationW*(c.KW-1) + c.OutPadW + 1
	return oh, ow
}

// convTransposeBudget is the most float32s of column scratch one group of
// one image fills before scattering it: input rows are multiplied in blocks
// of this size (at least one row), as Conv2D lowers its input, so a large
// kernel such as FCN-32s's 64x64 never needs its whole OutC·KH·KW×H·W
// matrix at once. Conv2D's im2col budget (1 MiB, this machine's L2).
const convTransposeBudget = 1 << 18

var colScratch sync.Pool

// Forward computes x [N, InC, H, W] into [N, OutC, OH, OW]: per image and
// group, the columns Wᵀ·x (accel.Sgemm with the weight transposed, in
// blocks of input rows) scattered into the output by accel.Col2imRows,
// then the bias. It is safe for concurrent use.
func (c *ConvTranspose2d) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	n, _, h, w, err := nchw("ConvTranspose2d", x, c.InC)
	if err != nil {
		return nil, err
	}
	if h < 1 || w < 1 {
		return nil, fmt.Errorf("%w: ConvTranspose2d: input %v has an empty plane", ErrShape, x.Shape())
	}
	oh, ow := c.OutputSize(h, w)
	if oh < 1 || ow < 1 {
		return nil, fmt.Errorf("%w: ConvTranspose2d: input %v gives an empty %dx%d output (padding %dx%d)",
			ErrShape, x.Shape(), oh, ow, c.PadH, c.PadW)
	}
	cg, ocg := c.InC/c.Groups, c.OutC/c.Groups
	k := ocg * c.KH * c.KW
	// The convolution from one group's output back to its input.
	p := accel.ConvParams{C: ocg, H: oh, W: ow, KH: c.KH, KW: c.KW,
		StrideH: c.StrideH, StrideW: c.StrideW, PadH: c.PadH, PadW: c.PadW,
		DilationH: c.DilationH, DilationW: c.DilationW}
	// That convolution's output is H×W, or larger when an output padding
	// reaches a whole stride (possible with dilation > stride): the extra
	// columns' input is zero, so x is padded to the larger grid.
	gh, gw := p.OutSize()
	src, sw := x.Data(), w
	if gh != h || gw != w {
		src, sw = padPlanes(src, n*c.InC, h, w, gh, gw), gw
	}
	y := tensor.New(n, c.OutC, oh, ow)
	dst, weight := y.Data(), c.Weight.Data()
	rows := max(1, min(h, convTransposeBudget/(k*sw)))
	buf, _ := colScratch.Get().(*[]float32)
	if buf == nil || cap(*buf) < k*rows*sw {
		b := make([]float32, k*rows*sw)
		buf = &b
	}
	defer colScratch.Put(buf)
	for i := 0; i < n; i++ {
		for g := 0; g < c.Groups; g++ {
			in := src[(i*c.InC+g*cg)*gh*sw:]
			out := dst[(i*c.OutC+g*ocg)*oh*ow:]
			wg := weight[g*cg*k:]
			for iy0 := 0; iy0 < h; iy0 += rows {
				iy1 := min(h, iy0+rows)
				ncols := (iy1 - iy0) * sw
				cols := (*buf)[:k*ncols]
				accel.Sgemm(true, false, k, ncols, cg, 1, wg, k, in[iy0*sw:], gh*sw, 0, cols, ncols)
				accel.Col2imRows(out, cols, p, iy0, iy1)
			}
		}
	}
	if c.Bias != nil {
		plane := oh * ow
		for i := 0; i < n*c.OutC; i++ {
			b := c.Bias.Data()[i%c.OutC]
			for j := range dst[i*plane : (i+1)*plane] {
				dst[i*plane+j] += b
			}
		}
	}
	return y, nil
}

// padPlanes copies planes h×w planes into zeroed gh×gw ones (gh ≥ h,
// gw ≥ w), top left.
func padPlanes(src []float32, planes, h, w, gh, gw int) []float32 {
	out := make([]float32, planes*gh*gw)
	for p := 0; p < planes; p++ {
		for r := 0; r < h; r++ {
			copy(out[(p*gh+r)*gw:(p*gh+r)*gw+w], src[(p*h+r)*w:(p*h+r+1)*w])
		}
	}
	return out
}
