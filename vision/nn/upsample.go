package nn

import (
	"fmt"

	"govision.dev/vision/tensor"
)

// Interpolation modes, torch's names.
const (
	Nearest  = "nearest"
	Bilinear = "bilinear"
)

// InterpolateOptions are torch.nn.functional.interpolate's arguments for a
// 4-dimensional input: exactly one of Size and ScaleFactor is set.
type InterpolateOptions struct {
	// Size is the output [OH, OW].
	Size [2]int
	// ScaleFactor multiplies [H, W]: the output is ⌊H·ScaleFactor[0]⌋ ×
	// ⌊W·ScaleFactor[1]⌋ (in float64).
	ScaleFactor [2]float64
	// Mode is Nearest (the zero value means Nearest) or Bilinear.
	Mode string
	// AlignCorners, for Bilinear, maps the corner pixels' centres onto each
	// other: source = dst·(in−1)/(out−1). Otherwise pixels are areas:
	// source = (dst+½)·scale − ½, clamped at 0. torch's default is false.
	AlignCorners bool
	// RecomputeScaleFactor, with ScaleFactor, maps pixels with in/out
	// computed from the rounded output size instead of 1/ScaleFactor.
	RecomputeScaleFactor bool
}

// check panics unless o is a combination torch accepts.
func (o InterpolateOptions) check(fn string) InterpolateOptions {
	if o.Mode == "" {
		o.Mode = Nearest
	}
	bySize := o.Size != [2]int{}
	byScale := o.ScaleFactor != [2]float64{}
	switch {
	case o.Mode != Nearest && o.Mode != Bilinear:
		panic(fmt.Sprintf("nn: %s: mode %q, want %q or %q", fn, o.Mode, Nearest, Bilinear))
	case bySize == byScale:
		panic(fmt.Sprintf("nn: %s: set exactly one of Size (%v) and ScaleFactor (%v)", fn, o.Size, o.ScaleFactor))
	case bySize && (o.Size[0] < 1 || o.Size[1] < 1):
		panic(fmt.Sprintf("nn: %s: size %v, want at least 1x1", fn, o.Size))
	case byScale && !(o.ScaleFactor[0] > 0 && o.ScaleFactor[1] > 0):
		panic(fmt.Sprintf("nn: %s: scale factor %v, want positive", fn, o.ScaleFactor))
	case o.AlignCorners && o.Mode == Nearest:
		panic(fmt.Sprintf("nn: %s: align_corners is only for the interpolating modes, not %q", fn, o.Mode))
	case o.RecomputeScaleFactor && bySize:
		panic(fmt.Sprintf("nn: %s: recompute_scale_factor is not meaningful with an explicit size", fn))
	}
	return o
}

// Upsample is torch.nn.Upsample for NCHW inputs: nearest or bilinear
// resizing to a size or by a scale factor (see InterpolateOptions).
type Upsample struct {
	InterpolateOptions
}

// NewUpsample returns an upsampling with options o. It panics if o is not a
// combination torch accepts: an unknown mode, neither or both of Size and
// ScaleFactor, a size below 1 or a scale not above 0, AlignCorners with
// Nearest, RecomputeScaleFactor with Size.
func NewUpsample(o InterpolateOptions) *Upsample {
	return &Upsample{o.check("NewUpsample")}
}

// Forward resizes x [N, C, H, W] into [N, C, OH, OW].
func (u *Upsample) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	return interpolate(x, u.InterpolateOptions)
}

// Interpolate is torch.nn.functional.interpolate on x [N, C, H, W]. It
// returns an error wrapping ErrShape if x is not 4-dimensional or the
// output would be empty, and panics if o is not a combination torch
// accepts (see NewUpsample).
func Interpolate(x *tensor.Tensor, o InterpolateOptions) (*tensor.Tensor, error) {
	return interpolate(x, o.check("Interpolate"))
}

func interpolate(x *tensor.Tensor, o InterpolateOptions) (*tensor.Tensor, error) {
	n, c, h, w, err := nchw("Upsample", x, -1)
	if err != nil {
		return nil, err
	}
	oh, ow := o.Size[0], o.Size[1]
	// The scales torch's kernels receive: the user's factor, or none (0),
	// in which case they use in/out.
	sh, sw := o.ScaleFactor[0], o.ScaleFactor[1]
	if o.Size == [2]int{} {
		oh, ow = int(float64(h)*sh), int(float64(w)*sw)
		if o.RecomputeScaleFactor {
			sh, sw = 0, 0
		}
	}
	if h < 1 || w < 1 || oh < 1 || ow < 1 {
		return nil, fmt.Errorf("%w: Upsample: input %v gives an empty output %dx%d", ErrShape, x.Shape(), oh, ow)
	}
	y := tensor.Get(n, c, oh, ow)
	planes := n * c
	src, dst := x.Data(), y.Data()
	if o.Mode == Nearest {
		rows, cols := nearestIndices(h, oh, sh), nearestIndices(w, ow, sw)
		for p := 0; p < planes; p++ {
			in, out := src[p*h*w:(p+1)*h*w], dst[p*oh*ow:(p+1)*oh*ow]
			for oy, iy := range rows {
				srow, drow := in[iy*w:(iy+1)*w], out[oy*ow:(oy+1)*ow]
				for ox, ix := range cols {
					drow[ox] = srow[ix]
				}
			}
		}
		return y, nil
	}
	ry, rx := linearTaps(h, oh, sh, o.AlignCorners), linearTaps(w, ow, sw, o.AlignCorners)
	for p := 0; p < planes; p++ {
		in, out := src[p*h*w:(p+1)*h*w], dst[p*oh*ow:(p+1)*oh*ow]
		for oy, ty := range ry {
			r0, r1 := in[ty.i0*w:(ty.i0+1)*w], in[ty.i1*w:(ty.i1+1)*w]
			drow := out[oy*ow : (oy+1)*ow]
			for ox, tx := range rx {
				top := tx.l0*r0[tx.i0] + tx.l1*r0[tx.i1]
				bottom := tx.l0*r1[tx.i0] + tx.l1*r1[tx.i1]
				drow[ox] = ty.l0*top + ty.l1*bottom
			}
		}
	}
	return y, nil
}

// nearestIndices returns the source index of each of out positions along
// an axis of in, as torch's nearest_idx (upsample_nearest2d, torch 1.13):
// the identity when out == in, dst/2 when out == 2·in, else
// min(⌊dst·scale⌋, in−1) with scale = float32(1/factor) when a scale
// factor was given and float32(in)/out otherwise — computed in float32, as
// torch does, so that the floors match.
func nearestIndices(in, out int, factor float64) []int {
	idx := make([]int, out)
	scale := float32(in) / float32(out)
	if factor > 0 {
		scale = float32(1 / factor)
	}
	for d := range idx {
		switch out {
		case in:
			idx[d] = d
		case 2 * in:
			idx[d] = d >> 1
		default:
			idx[d] = min(int(float32(d)*scale), in-1)
		}
	}
	return idx
}

// linearTap is one output position's two source indices and weights.
type linearTap struct {
	i0, i1 int
	l0, l1 float32
}

// linearTaps returns the taps of each of out positions along an axis of
// in, as torch's compute_indices_weights_linear: scale is (in−1)/(out−1)
// with align_corners (0 for one output), else float32(1/factor) or
// float32(in)/out; the source is dst·scale, or (dst+½)·scale − ½ clamped
// at 0; i0 its floor (at most in−1), i1 = i0+1 unless i0 is the last, l1 the fraction.
// Computed in float32, each step rounded, as torch does.
func linearTaps(in, out int, factor float64, alignCorners bool) []linearTap {
	var scale float32
	switch {
	case alignCorners && out > 1:
		scale = float32(in-1) / float32(out-1)
	case alignCorners:
		scale = 0
	case factor > 0:
		scale = float32(1 / factor)
	default:
		scale = float32(in) / float32(out)
	}
	taps := make([]linearTap, out)
	for d := range taps {
		var src float32
		if alignCorners {
			src = scale * float32(d)
		} else {
			src = float32(scale*(float32(d)+0.5)) - 0.5
			if src < 0 {
				src = 0
			}
		}
		i0 := min(int(src), in-1)
		l1 := min(max(src-float32(i0), 0), 1)
		i1 := i0
		if i0 < in-1 {
			i1 = i0 + 1
		}
		taps[d] = linearTap{i0: i0, i1: i1, l0: 1 - l1, l1: l1}
	}
	return taps
}
