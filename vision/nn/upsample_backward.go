package nn

import (
	"fmt"

	"govision.dev/vision/tensor"
)

// Backward returns the gradient of Forward's input, [N, C, inH, inW],
// given gy [N, C, OH, OW].
func (u *Upsample) Backward(gy *tensor.Tensor, inH, inW int) (*tensor.Tensor, error) {
	return interpolateBackward(gy, inH, inW, u.InterpolateOptions)
}

// InterpolateBackward returns the gradient of Interpolate(x, o)'s input,
// [N, C, inH, inW], given gy, the gradient of its output: each output
// value's gradient goes back to the source values it was read from,
// weighted as they were (nearest: the one source; bilinear: the four taps
// and their weights), in float32 as torch's upsample backward kernels.
func InterpolateBackward(gy *tensor.Tensor, inH, inW int, o InterpolateOptions) (*tensor.Tensor, error) {
	return interpolateBackward(gy, inH, inW, o.check("InterpolateBackward"))
}

func interpolateBackward(gy *tensor.Tensor, h, w int, o InterpolateOptions) (*tensor.Tensor, error) {
	n, c, gh, gw, err := nchw("Upsample", gy, -1)
	if err != nil {
		return nil, err
	}
	oh, ow := o.Size[0], o.Size[1]
	sh, sw := o.ScaleFactor[0], o.ScaleFactor[1]
	if o.Size == [2]int{} {
		oh, ow = int(float64(h)*sh), int(float64(w)*sw)
		if o.RecomputeScaleFactor {
			sh, sw = 0, 0
		}
	}
	if h < 1 || w < 1 || oh != gh || ow != gw {
		return nil, fmt.Errorf("%w: Upsample backward: gradient %v for a %dx%d input, want %dx%d planes",
			ErrShape, gy.Shape(), h, w, oh, ow)
	}
	gx := tensor.New(n, c, h, w)
	src, dst := gy.Data(), gx.Data()
	planes := n * c
	if o.Mode == Nearest {
		rows, cols := nearestIndices(h, oh, sh), nearestIndices(w, ow, sw)
		for p := 0; p < planes; p++ {
			in, out := dst[p*h*w:(p+1)*h*w], src[p*oh*ow:(p+1)*oh*ow]
			for oy, iy := range rows {
				drow, grow := in[iy*w:(iy+1)*w], out[oy*ow:(oy+1)*ow]
				for ox, ix := range cols {
					drow[ix] += grow[ox]
				}
			}
		}
		return gx, nil
	}
	ry, rx := linearTaps(h, oh, sh, o.AlignCorners), linearTaps(w, ow, sw, o.AlignCorners)
	for p := 0; p < planes; p++ {
		in, out := dst[p*h*w:(p+1)*h*w], src[p*oh*ow:(p+1)*oh*ow]
		for oy, ty := range ry {
			r0, r1 := in[ty.i0*w:(ty.i0+1)*w], in[ty.i1*w:(ty.i1+1)*w]
			grow := out[oy*ow : (oy+1)*ow]
			for ox, tx := range rx {
				g := grow[ox]
				r0[tx.i0] += ty.l0 * tx.l0 * g
				r0[tx.i1] += ty.l0 * tx.l1 * g
				r1[tx.i0] += ty.l1 * tx.l0 * g
				r1[tx.i1] += ty.l1 * tx.l1 * g
			}
		}
	}
	return gx, nil
}
