package nn

import (
	"fmt"

	"govision.dev/accel"
	"govision.dev/vision/tensor"
)

// PoolOptions are MaxPool2d's and AvgPool2d's keyword arguments beyond the
// kernel size, as torch names them; zero values mean torch's defaults
// (stride = kernel_size, padding 0, dilation 1, ceil_mode False,
// count_include_pad True).
type PoolOptions struct {
	Stride, Padding, Dilation [2]int // [H, W]; a zero pair means the default
	CeilMode                  bool
	// ExcludePad is AvgPool2d's count_include_pad=False: a window is
	// divided by the number of input values it covers, not its size.
	ExcludePad bool
}

// Indices are the positions of the maxima a max pooling chose, torch's
// return_indices: Data[((n*C+c)*OH+y)*OW+x] is the flat index r*W+s, within
// the H×W input plane (n, c), of output (n, c, y, x). MaxUnpool2d takes
// them back.
type Indices struct {
	Shape [4]int // [N, C, OH, OW], the pooled output's shape
	Data  []int32
}

// PoolWindow is the window of MaxPool2d and AvgPool2d, in input pixels,
// with the defaults resolved (stride = kernel when not given, dilation 1).
type PoolWindow struct {
	KernelH, KernelW     int
	StrideH, StrideW     int
	PadH, PadW           int
	DilationH, DilationW int
	CeilMode             bool
}

func newPoolWindow(layer string, kernel [2]int, o PoolOptions) PoolWindow {
	p := PoolWindow{KernelH: kernel[0], KernelW: kernel[1], StrideH: kernel[0], StrideW: kernel[1],
		PadH: o.Padding[0], PadW: o.Padding[1], DilationH: 1, DilationW: 1, CeilMode: o.CeilMode}
	if o.Stride != [2]int{} {
		p.StrideH, p.StrideW = o.Stride[0], o.Stride[1]
	}
	if o.Dilation != [2]int{} {
		p.DilationH, p.DilationW = o.Dilation[0], o.Dilation[1]
	}
	switch {
	case p.KernelH < 1 || p.KernelW < 1 || p.StrideH < 1 || p.StrideW < 1 || p.DilationH < 1 || p.DilationW < 1:
		panic(fmt.Sprintf("nn: New%s: kernel %v, stride %dx%d, dilation %dx%d: each must be at least 1",
			layer, kernel, p.StrideH, p.StrideW, p.DilationH, p.DilationW))
	case p.PadH < 0 || p.PadW < 0 || p.PadH > p.KernelH/2 || p.PadW > p.KernelW/2:
		panic(fmt.Sprintf("nn: New%s: padding %v must be between 0 and half the kernel %v", layer, o.Padding, kernel))
	}
	return p
}

func (p PoolWindow) params(excludePad bool) accel.Pool2DParams {
	return accel.Pool2DParams{KernelH: p.KernelH, KernelW: p.KernelW, StrideH: p.StrideH, StrideW: p.StrideW,
		PadH: p.PadH, PadW: p.PadW, DilationH: p.DilationH, DilationW: p.DilationW,
		CeilMode: p.CeilMode, CountIncludePad: !excludePad}
}

// shape checks x and returns its dimensions and the output plane size.
func (p PoolWindow) shape(layer string, x *tensor.Tensor) (n, c, h, w, oh, ow int, err error) {
	n, c, h, w, err = nchw(layer, x, -1)
	if err != nil {
		return
	}
	if h < 1 || w < 1 {
		err = fmt.Errorf("%w: %s: input %v has an empty plane", ErrShape, layer, x.Shape())
		return
	}
	oh, ow = p.params(false).OutputSize(h, w)
	if oh < 1 || ow < 1 {
		err = fmt.Errorf("%w: %s: input %v too small for a %dx%d window (dilation %dx%d, padding %dx%d)",
			ErrShape, layer, x.Shape(), p.KernelH, p.KernelW, p.DilationH, p.DilationW, p.PadH, p.PadW)
	}
	return
}

// MaxPool2d is torch.nn.MaxPool2d: the maximum over each window; padding
// is -∞ (never chosen). ForwardIndices also returns where each maximum was
// (return_indices=True), for MaxUnpool2d.
type MaxPool2d struct{ PoolWindow }

// NewMaxPool2d returns a max pooling of the kernel [KH, KW]. It panics on
// a size, stride or dilation below 1, or a padding that is negative or
// more than half the kernel (torch refuses them too).
func NewMaxPool2d(kernel [2]int, o PoolOptions) *MaxPool2d {
	if o.ExcludePad {
		panic("nn: NewMaxPool2d: ExcludePad is an AvgPool2d option")
	}
	return &MaxPool2d{newPoolWindow("MaxPool2d", kernel, o)}
}

// Forward pools x [N, C, H, W] into [N, C, OH, OW], with torch's output
// size (see accel.PoolOutputSize).
func (m *MaxPool2d) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	n, c, h, w, oh, ow, err := m.shape("MaxPool2d", x)
	if err != nil {
		return nil, err
	}
	y := tensor.Get(n, c, oh, ow)
	accel.MaxPool2D(y.Data(), nil, x.Data(), n, c, h, w, m.params(false))
	return y, nil
}

// ForwardIndices is Forward that also returns the position of each
// maximum, as torch's return_indices=True.
func (m *MaxPool2d) ForwardIndices(x *tensor.Tensor) (*tensor.Tensor, *Indices, error) {
	n, c, h, w, oh, ow, err := m.shape("MaxPool2d", x)
	if err != nil {
		return nil, nil, err
	}
	if int64(h)*int64(w) > 1<<31-1 {
		return nil, nil, fmt.Errorf("%w: MaxPool2d: input %v: a plane too large for int32 indices", ErrShape, x.Shape())
	}
	y := tensor.Get(n, c, oh, ow)
	ind := &Indices{Shape: [4]int{n, c, oh, ow}, Data: make([]int32, y.Len())}
	accel.MaxPool2D(y.Data(), ind.Data, x.Data(), n, c, h, w, m.params(false))
	return y, ind, nil
}

// AvgPool2d is torch.nn.AvgPool2d: the mean over each window, dividing by
// the window's size clipped to the padded input, or, with ExcludePad
// (count_include_pad=False), by the number of input values it covers.
type AvgPool2d struct {
	PoolWindow
	ExcludePad bool
}

// NewAvgPool2d returns an average pooling of the kernel [KH, KW]. It panics
// on a size or stride below 1, a dilation (torch's AvgPool2d has none), or
// a padding that is negative or more than half the kernel.
func NewAvgPool2d(kernel [2]int, o PoolOptions) *AvgPool2d {
	if o.Dilation != [2]int{} && o.Dilation != [2]int{1, 1} {
		panic(fmt.Sprintf("nn: NewAvgPool2d: dilation %v; average pooling has none", o.Dilation))
	}
	return &AvgPool2d{PoolWindow: newPoolWindow("AvgPool2d", kernel, o), ExcludePad: o.ExcludePad}
}

// Forward pools x [N, C, H, W] into [N, C, OH, OW].
func (a *AvgPool2d) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	n, c, h, w, oh, ow, err := a.shape("AvgPool2d", x)
	if err != nil {
		return nil, err
	}
	y := tensor.Get(n, c, oh, ow)
	accel.AvgPool2D(y.Data(), x.Data(), n, c, h, w, a.params(a.ExcludePad))
	return y, nil
}

func checkAdaptive(layer string, outH, outW int) {
	if outH < 0 || outW < 0 {
		panic(fmt.Sprintf("nn: New%s: output size %dx%d is negative", layer, outH, outW))
	}
}

// adaptiveShape checks x and returns its dimensions and the output plane
// size, 0 on an axis meaning the input's.
func adaptiveShape(layer string, x *tensor.Tensor, outH, outW int) (n, c, h, w, oh, ow int, err error) {
	n, c, h, w, err = nchw(layer, x, -1)
	if err != nil {
		return
	}
	if h < 1 || w < 1 {
		err = fmt.Errorf("%w: %s: input %v has an empty plane", ErrShape, layer, x.Shape())
		return
	}
	oh, ow = outH, outW
	if oh == 0 {
		oh = h
	}
	if ow == 0 {
		ow = w
	}
	return
}

// AdaptiveAvgPool2d is torch.nn.AdaptiveAvgPool2d: each output cell (y, x)
// of an OutH×OutW plane is the mean of input rows [⌊y·H/OutH⌋,
// ⌈(y+1)·H/OutH⌉) and columns [⌊x·W/OutW⌋, ⌈(x+1)·W/OutW⌉), for any input
// size.
type AdaptiveAvgPool2d struct {
	OutH, OutW int // 0: the input's size
}

// NewAdaptiveAvgPool2d returns an adaptive average pooling to outH×outW;
// 0 on an axis keeps the input's size (torch's None). It panics on a
// negative size.
func NewAdaptiveAvgPool2d(outH, outW int) *AdaptiveAvgPool2d {
	checkAdaptive("AdaptiveAvgPool2d", outH, outW)
	return &AdaptiveAvgPool2d{OutH: outH, OutW: outW}
}

// Forward pools x [N, C, H, W] into [N, C, OutH, OutW]. A 1×1 output is
// the plane's mean summed in float64, as torch's (it calls mean there).
func (a *AdaptiveAvgPool2d) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	n, c, h, w, oh, ow, err := adaptiveShape("AdaptiveAvgPool2d", x, a.OutH, a.OutW)
	if err != nil {
		return nil, err
	}
	y := tensor.Get(n, c, oh, ow)
	if oh == 1 && ow == 1 {
		accel.GlobalAvgPool2D(y.Data(), x.Data(), n, c, h, w)
	} else {
		accel.AdaptiveAvgPool2D(y.Data(), x.Data(), n, c, h, w, oh, ow)
	}
	return y, nil
}

// AdaptiveMaxPool2d is torch.nn.AdaptiveMaxPool2d: the maximum over the
// windows of AdaptiveAvgPool2d.
type AdaptiveMaxPool2d struct {
	OutH, OutW int // 0: the input's size
}

// NewAdaptiveMaxPool2d returns an adaptive max pooling to outH×outW; 0 on
// an axis keeps the input's size. It panics on a negative size.
func NewAdaptiveMaxPool2d(outH, outW int) *AdaptiveMaxPool2d {
	checkAdaptive("AdaptiveMaxPool2d", outH, outW)
	return &AdaptiveMaxPool2d{OutH: outH, OutW: outW}
}

// Forward pools x [N, C, H, W] into [N, C, OutH, OutW].
func (a *AdaptiveMaxPool2d) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	y, _, err := a.forward(x, false)
	return y, err
}

// ForwardIndices is Forward that also returns the position of each
// maximum (return_indices=True).
func (a *AdaptiveMaxPool2d) ForwardIndices(x *tensor.Tensor) (*tensor.Tensor, *Indices, error) {
	return a.forward(x, true)
}

func (a *AdaptiveMaxPool2d) forward(x *tensor.Tensor, withIndices bool) (*tensor.Tensor, *Indices, error) {
	n, c, h, w, oh, ow, err := adaptiveShape("AdaptiveMaxPool2d", x, a.OutH, a.OutW)
	if err != nil {
		return nil, nil, err
	}
	y := tensor.Get(n, c, oh, ow)
	var ind *Indices
	var data []int32
	if withIndices {
		if int64(h)*int64(w) > 1<<31-1 {
			return nil, nil, fmt.Errorf("%w: AdaptiveMaxPool2d: input %v: a plane too large for int32 indices", ErrShape, x.Shape())
		}
		ind = &Indices{Shape: [4]int{n, c, oh, ow}, Data: make([]int32, y.Len())}
		data = ind.Data
	}
	accel.AdaptiveMaxPool2D(y.Data(), data, x.Data(), n, c, h, w, oh, ow)
	return y, ind, nil
}

// MaxUnpool2d is torch.nn.MaxUnpool2d, the partial inverse of MaxPool2d
// that SegNet's decoder uses: each value goes back to the position its
// index names, in a zeroed output; positions no index names stay 0.
//
// It is not a Module: like torch's, its Forward also takes the indices.
type MaxUnpool2d struct {
	KernelH, KernelW int
	StrideH, StrideW int
	PadH, PadW       int
}

// NewMaxUnpool2d returns the unpooling of a max pooling with the given
// kernel, stride (a zero pair: the kernel) and padding; they set the
// default output size. It panics on a kernel or stride below 1 or a
// negative padding.
func NewMaxUnpool2d(kernel, stride, padding [2]int) *MaxUnpool2d {
	u := &MaxUnpool2d{KernelH: kernel[0], KernelW: kernel[1], StrideH: kernel[0], StrideW: kernel[1],
		PadH: padding[0], PadW: padding[1]}
	if stride != [2]int{} {
		u.StrideH, u.StrideW = stride[0], stride[1]
	}
	if u.KernelH < 1 || u.KernelW < 1 || u.StrideH < 1 || u.StrideW < 1 || u.PadH < 0 || u.PadW < 0 {
		panic(fmt.Sprintf("nn: NewMaxUnpool2d: kernel %v, stride %dx%d, padding %v", kernel, u.StrideH, u.StrideW, padding))
	}
	return u
}

// OutputSize is the default output plane size for an h×w input, torch's
// (h−1)·stride − 2·padding + kernel on each axis.
func (u *MaxUnpool2d) OutputSize(h, w int) (oh, ow int) {
	return (h-1)*u.StrideH - 2*u.PadH + u.KernelH, (w-1)*u.StrideW - 2*u.PadW + u.KernelW
}

// Forward unpools x [N, C, H, W] with ind (of x's shape) into
// [N, C, OH, OW]. size is torch's output_size: nil for OutputSize, or
// [OH, OW] (or [N, C, OH, OW], as x.Shape() of the tensor that was pooled),
// which must lie strictly within one stride of the default — the sizes a
// pooling with this stride could have come from. It returns an error
// wrapping ErrShape if the shapes disagree or an index is outside the
// output plane.
func (u *MaxUnpool2d) Forward(x *tensor.Tensor, ind *Indices, size []int) (*tensor.Tensor, error) {
	n, c, h, w, err := nchw("MaxUnpool2d", x, -1)
	if err != nil {
		return nil, err
	}
	if ind == nil || ind.Shape != [4]int{n, c, h, w} || len(ind.Data) != x.Len() {
		var got any = nil
		if ind != nil {
			got = ind.Shape
		}
		return nil, fmt.Errorf("%w: MaxUnpool2d: indices %v for input %v", ErrShape, got, x.Shape())
	}
	if h < 1 || w < 1 {
		return nil, fmt.Errorf("%w: MaxUnpool2d: input %v has an empty plane", ErrShape, x.Shape())
	}
	oh, ow := u.OutputSize(h, w)
	switch len(size) {
	case 0:
	case 2, 4:
		dh, dw := oh, ow
		oh, ow = size[len(size)-2], size[len(size)-1]
		if oh <= dh-u.StrideH || oh >= dh+u.StrideH || ow <= dw-u.StrideW || ow >= dw+u.StrideW {
			return nil, fmt.Errorf("%w: MaxUnpool2d: output size %v for input %v: want between %dx%d and %dx%d",
				ErrShape, size, x.Shape(), dh-u.StrideH+1, dw-u.StrideW+1, dh+u.StrideH-1, dw+u.StrideW-1)
		}
	default:
		return nil, fmt.Errorf("%w: MaxUnpool2d: output size %v: want [OH, OW] or [N, C, OH, OW]", ErrShape, size)
	}
	if oh < 1 || ow < 1 {
		return nil, fmt.Errorf("%w: MaxUnpool2d: output %dx%d for input %v", ErrShape, oh, ow, x.Shape())
	}
	plane := oh * ow
	for i, k := range ind.Data {
		if k < 0 || int(k) >= plane {
			return nil, fmt.Errorf("%w: MaxUnpool2d: index %d at position %d is outside the %dx%d output plane",
				ErrShape, k, i, oh, ow)
		}
	}
	y := tensor.Get(n, c, oh, ow)
	if n*c > 0 {
		accel.MaxUnpool2D(y.Data(), x.Data(), ind.Data, n, c, h, w, oh, ow)
	}
	return y, nil
}
