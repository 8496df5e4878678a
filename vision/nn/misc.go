package nn

import (
	"fmt"
	"math"

	"govision.dev/accel"
	"govision.dev/vision/tensor"
)

// Identity is torch.nn.Identity: Forward returns its input itself.
type Identity struct{}

// Forward returns x (not a copy).
func (Identity) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	if x == nil {
		return nil, fmt.Errorf("%w: Identity: nil input", ErrShape)
	}
	return x, nil
}

// Dropout is torch.nn.Dropout in evaluation: the identity. P, the
// probability of zeroing a value in training, is kept for training and for
// the record.
type Dropout struct{ P float32 }

// NewDropout returns a dropout of probability p. It panics unless
// 0 ≤ p ≤ 1, as torch does.
func NewDropout(p float32) *Dropout {
	if !(p >= 0 && p <= 1) {
		panic(fmt.Sprintf("nn: NewDropout: probability %v, want between 0 and 1", p))
	}
	return &Dropout{P: p}
}

// Forward returns x (not a copy): inference mode.
func (d *Dropout) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	if x == nil {
		return nil, fmt.Errorf("%w: Dropout: nil input", ErrShape)
	}
	return x, nil
}

// Flatten is torch.nn.Flatten: dimensions StartDim through EndDim (negative
// counts from the end) merged into one.
type Flatten struct{ StartDim, EndDim int }

// NewFlatten returns torch's default Flatten: start_dim 1, end_dim −1, so
// [N, C, H, W] becomes [N, C·H·W].
func NewFlatten() *Flatten { return &Flatten{StartDim: 1, EndDim: -1} }

// Forward returns a view of x (sharing its data) with the dimensions
// merged. A dimension index outside x's dimensions, or a start after the
// end, is an error wrapping ErrShape.
func (f *Flatten) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	if x == nil {
		return nil, fmt.Errorf("%w: Flatten: nil input", ErrShape)
	}
	s := x.Shape()
	if len(s) == 0 { // torch flattens a scalar to one value
		return x.Reshape(1)
	}
	start, end := f.StartDim, f.EndDim
	if start < 0 {
		start += len(s)
	}
	if end < 0 {
		end += len(s)
	}
	if start < 0 || end >= len(s) || start > end {
		return nil, fmt.Errorf("%w: Flatten: dimensions %d to %d of input %v", ErrShape, f.StartDim, f.EndDim, s)
	}
	merged := 1
	for _, d := range s[start : end+1] {
		merged *= d
	}
	shape := append(append(append([]int(nil), s[:start]...), merged), s[end+1:]...)
	return x.Reshape(shape...)
}

// ZeroPad2d is torch.nn.ZeroPad2d: Left, Right, Top and Bottom columns and
// rows of zeros around each plane. A negative amount crops instead, as in
// torch.
type ZeroPad2d struct{ Left, Right, Top, Bottom int }

// NewZeroPad2d returns a padding in torch's order (left, right, top,
// bottom).
func NewZeroPad2d(left, right, top, bottom int) *ZeroPad2d {
	return &ZeroPad2d{Left: left, Right: right, Top: top, Bottom: bottom}
}

// Forward pads x [N, C, H, W] into [N, C, Top+H+Bottom, Left+W+Right]. An
// output size below 0 is an error wrapping ErrShape.
func (z *ZeroPad2d) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	n, c, h, w, err := nchw("ZeroPad2d", x, -1)
	if err != nil {
		return nil, err
	}
	oh, ow := h+z.Top+z.Bottom, w+z.Left+z.Right
	if oh < 0 || ow < 0 {
		return nil, fmt.Errorf("%w: ZeroPad2d: input %v with padding (%d, %d, %d, %d) gives a negative size",
			ErrShape, x.Shape(), z.Left, z.Right, z.Top, z.Bottom)
	}
	y := tensor.New(n, c, oh, ow)
	src, dst := x.Data(), y.Data()
	// Output (oy, ox) is input (oy−Top, ox−Left) where that exists.
	y0, y1 := max(0, z.Top), min(oh, h+z.Top)
	x0, x1 := max(0, z.Left), min(ow, w+z.Left)
	if y0 >= y1 || x0 >= x1 {
		return y, nil
	}
	for p := 0; p < n*c; p++ {
		for oy := y0; oy < y1; oy++ {
			iy := oy - z.Top
			copy(dst[(p*oh+oy)*ow+x0:(p*oh+oy)*ow+x1], src[(p*h+iy)*w+x0-z.Left:])
		}
	}
	return y, nil
}

// Softmax is torch.nn.Softmax(dim): exp(x)/Σexp(x) along dimension Dim
// (negative counts from the end), the maximum subtracted first so that
// nothing overflows. For classification logits [N, C] and segmentation
// scores [N, C, H, W] Dim is 1, the channels.
type Softmax struct{ Dim int }

// LogSoftmax is torch.nn.LogSoftmax(dim): x − max − log Σexp(x − max)
// along dimension Dim.
type LogSoftmax struct{ Dim int }

// NewSoftmax returns a softmax along dim.
func NewSoftmax(dim int) *Softmax { return &Softmax{Dim: dim} }

// NewLogSoftmax returns a log-softmax along dim.
func NewLogSoftmax(dim int) *LogSoftmax { return &LogSoftmax{Dim: dim} }

// Forward computes the softmax of x (any shape with dimension Dim) into a
// new tensor; sums are in float64.
func (s *Softmax) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	return softmax("Softmax", x, s.Dim, false)
}

// Forward computes the log-softmax of x into a new tensor.
func (s *LogSoftmax) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	return softmax("LogSoftmax", x, s.Dim, true)
}

// softmax views x as [outer, D, inner] around dimension dim. With inner 1
// the rows are contiguous and go to accel's row kernels; otherwise each
// image of D planes of inner values is reduced plane by plane, position by
// position, with the same arithmetic.
func softmax(layer string, x *tensor.Tensor, dim int, log bool) (*tensor.Tensor, error) {
	if x == nil {
		return nil, fmt.Errorf("%w: %s: nil input", ErrShape, layer)
	}
	s := x.Shape()
	d := dim
	if d < 0 {
		d += len(s)
	}
	if d < 0 || d >= len(s) {
		return nil, fmt.Errorf("%w: %s: dimension %d of input %v", ErrShape, layer, dim, s)
	}
	outer, inner := 1, 1
	for _, v := range s[:d] {
		outer *= v
	}
	for _, v := range s[d+1:] {
		inner *= v
	}
	size := s[d]
	y := tensor.Get(s...)
	src, dst := x.Data(), y.Data()
	if y.Len() == 0 {
		return y, nil
	}
	if inner == 1 {
		if log {
			accel.LogSoftmaxRows(dst, src, outer, size)
		} else {
			accel.SoftmaxRows(dst, src, outer, size)
		}
		return y, nil
	}
	m := make([]float32, inner)
	sum := make([]float64, inner)
	for o := 0; o < outer; o++ {
		in := src[o*size*inner : (o+1)*size*inner]
		out := dst[o*size*inner : (o+1)*size*inner]
		copy(m, in[:inner])
		for j := 1; j < size; j++ {
			for p, v := range in[j*inner : (j+1)*inner] {
				m[p] = max(m[p], v)
			}
		}
		clear(sum)
		for j := 0; j < size; j++ {
			e := out[j*inner : (j+1)*inner]
			for p, v := range in[j*inner : (j+1)*inner] {
				e[p] = v - m[p]
			}
			accel.Exp(e, e)
			for p, v := range e {
				sum[p] += float64(v)
			}
		}
		if log {
			for j := 0; j < size; j++ {
				for p, v := range in[j*inner : (j+1)*inner] {
					out[j*inner+p] = float32(float64(v) - float64(m[p]) - math.Log(sum[p]))
				}
			}
			continue
		}
		for j := 0; j < size; j++ {
			e := out[j*inner : (j+1)*inner]
			for p := range e {
				e[p] = float32(float64(e[p]) / sum[p])
			}
		}
	}
	return y, nil
}
