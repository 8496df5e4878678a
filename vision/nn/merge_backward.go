package nn

import (
	"fmt"
	"math"
	"slices"

	"govision.dev/vision/tensor"
)

func exp64(v float32) float64 { return math.Exp(float64(v)) }

// ConcatBackward splits gy, the gradient of Concat's output [N, ΣCi, ...],
// into the gradients of its inputs, [N, Ci, ...] for the channel counts
// channels (Ci, in Concat's order).
func ConcatBackward(gy *tensor.Tensor, channels []int) ([]*tensor.Tensor, error) {
	if gy == nil || gy.Dims() < 2 {
		return nil, fmt.Errorf("%w: Concat backward: gradient must have at least 2 dimensions", ErrShape)
	}
	s := gy.Shape()
	total := 0
	for _, c := range channels {
		if c < 0 {
			return nil, fmt.Errorf("%w: Concat backward: negative channel count %d", ErrShape, c)
		}
		total += c
	}
	if total != s[1] {
		return nil, fmt.Errorf("%w: Concat backward: gradient %v, inputs of %v channels", ErrShape, s, channels)
	}
	n := s[0]
	inner := 1
	for _, d := range s[2:] {
		inner *= d
	}
	out := make([]*tensor.Tensor, len(channels))
	src := gy.Data()
	at := 0
	for k, c := range channels {
		shape := slices.Clone(s)
		shape[1] = c
		t := tensor.New(shape...)
		for i := 0; i < n; i++ {
			copy(t.Data()[i*c*inner:(i+1)*c*inner], src[(i*total+at)*inner:])
		}
		at += c
		out[k] = t
	}
	return out, nil
}

// ChannelScaleBackward returns the gradients of ChannelScale(x, s) given
// gy [N, C, H, W]: gx = gy·s per plane and gs, of s's shape, the sum of
// gy·x over each plane (in float64).
func ChannelScaleBackward(x, s, gy *tensor.Tensor, want Grads) (gx, gs *tensor.Tensor, err error) {
	n, c, h, w, err := nchw("ChannelScale", x, -1)
	if err != nil {
		return nil, nil, err
	}
	if s == nil || s.Len() != n*c {
		return nil, nil, fmt.Errorf("%w: ChannelScale backward: scale for input %v", ErrShape, x.Shape())
	}
	if err := checkGrad("ChannelScale", gy, x.Shape()); err != nil {
		return nil, nil, err
	}
	plane := h * w
	src, dy, sc := x.Data(), gy.Data(), s.Data()
	if want.Input {
		gx = tensor.New(n, c, h, w)
		dst := gx.Data()
		for q, v := range sc {
			for j, d := range dy[q*plane : (q+1)*plane] {
				dst[q*plane+j] = d * v
			}
		}
	}
	if want.Params {
		gs = tensor.New(s.Shape()...)
		for q := range sc {
			var sum float64
			xs := src[q*plane : (q+1)*plane]
			for j, d := range dy[q*plane : (q+1)*plane] {
				sum += float64(d) * float64(xs[j])
			}
			gs.Data()[q] = float32(sum)
		}
	}
	return gx, gs, nil
}

// Backward returns the gradient of Forward's input, [N, C, inH, inW],
// given gy: gy's planes cropped back (or, where Forward cropped, padded
// with zeros).
func (z *ZeroPad2d) Backward(gy *tensor.Tensor, inH, inW int) (*tensor.Tensor, error) {
	n, c, oh, ow, err := nchw("ZeroPad2d", gy, -1)
	if err != nil {
		return nil, err
	}
	if oh != inH+z.Top+z.Bottom || ow != inW+z.Left+z.Right {
		return nil, fmt.Errorf("%w: ZeroPad2d backward: gradient %v for a %dx%d input", ErrShape, gy.Shape(), inH, inW)
	}
	h, w := inH, inW
	gx := tensor.New(n, c, h, w)
	// Input (iy, ix) is output (iy+Top, ix+Left) where that exists.
	y0, y1 := max(0, -z.Top), min(h, oh-z.Top)
	x0, x1 := max(0, -z.Left), min(w, ow-z.Left)
	if y0 >= y1 || x0 >= x1 {
		return gx, nil
	}
	src, dst := gy.Data(), gx.Data()
	for p := 0; p < n*c; p++ {
		for iy := y0; iy < y1; iy++ {
			oy := iy + z.Top
			copy(dst[(p*h+iy)*w+x0:(p*h+iy)*w+x1], src[(p*oh+oy)*ow+x0+z.Left:])
		}
	}
	return gx, nil
}
