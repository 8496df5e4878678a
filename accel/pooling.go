package accel

import (
	"fmt"
	"math"
)

// Pooling on NCHW float32 data: n images of c planes of h×w values, plane p
// (p = image·c + channel) at src[p*h*w:], row-major. Every kernel here
// overwrites dst and reads src only; dst must not overlap src. Each plane is
// pooled by one goroutine in a fixed order, so results do not depend on the
// thread count. The kernels follow PyTorch's CPU operators loop for loop
// (checked against torch 1.13 by testdata/golden/pooling.json): max pooling
// and its indices exactly (without indices, a zero's sign may differ),
// AvgPool2D bit for bit, and the adaptive and global averages, which divide
// or sum differently, within a unit in the last place.

// Pool2DParams describes a pooling window the way torch.nn.MaxPool2d and
// torch.nn.AvgPool2d do. Sizes are in input pixels; H is the row (y)
// direction and W the column (x) direction.
type Pool2DParams struct {
	KernelH, KernelW int // window size, at least 1
	// StrideH, StrideW step between windows; 0 means the kernel size,
	// PyTorch's default.
	StrideH, StrideW int
	// PadH, PadW pad both sides of the input, at most half the kernel
	// size. Max pooling pads with -Inf, which is never chosen.
	PadH, PadW int
	// DilationH, DilationW space the taps of a max pooling window; 0 means
	// 1. Average pooling allows only 1 (as PyTorch).
	DilationH, DilationW int
	// CeilMode rounds the output size up instead of down (PoolOutputSize).
	CeilMode bool
	// CountIncludePad, for average pooling, divides by the window size
	// including padding instead of by the number of input values in the
	// window.
	CountIncludePad bool
}

// PoolOutputSize is the number of windows along one axis of length in, by
// PyTorch's pooling_output_shape:
//
//	out = floor((in + 2*pad - dilation*(kernel-1) - 1 + (ceilMode ? stride-1 : 0)) / stride) + 1
//	if ceilMode && (out-1)*stride >= in+pad { out-- }
//
// The correction keeps the last window starting inside the input or its
// left padding. The result is below 1 when the window does not fit; the
// pooling kernels panic then.
func PoolOutputSize(in, kernel, stride, pad, dilation int, ceilMode bool) int {
	num := in + 2*pad - dilation*(kernel-1) - 1
	if ceilMode {
		num += stride - 1
	}
	out := floorDiv(num, stride) + 1
	if ceilMode && (out-1)*stride >= in+pad {
		out--
	}
	return out
}

// floorDiv is a/b rounded toward minus infinity, for b > 0.
func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// OutputSize is the output plane size for an h×w input, with p's zero
// strides and dilations read as their defaults.
func (p Pool2DParams) OutputSize(h, w int) (outH, outW int) {
	p = p.withDefaults()
	return PoolOutputSize(h, p.KernelH, p.StrideH, p.PadH, p.DilationH, p.CeilMode),
		PoolOutputSize(w, p.KernelW, p.StrideW, p.PadW, p.DilationW, p.CeilMode)
}

func (p Pool2DParams) withDefaults() Pool2DParams {
	if p.StrideH == 0 {
		p.StrideH = p.KernelH
	}
	if p.StrideW == 0 {
		p.StrideW = p.KernelW
	}
	if p.DilationH == 0 {
		p.DilationH = 1
	}
	if p.DilationW == 0 {
		p.DilationW = 1
	}
	return p
}

// check panics unless p is a window PyTorch accepts for an h×w input, and
// returns p with defaults filled in and the output size.
func (p Pool2DParams) check(kernel string, h, w int, dilated bool) (q Pool2DParams, outH, outW int) {
	q = p.withDefaults()
	for _, f := range []struct {
		name string
		v    int
		min  int
	}{
		{"KernelH", q.KernelH, 1}, {"KernelW", q.KernelW, 1},
		{"StrideH", q.StrideH, 1}, {"StrideW", q.StrideW, 1},
		{"PadH", q.PadH, 0}, {"PadW", q.PadW, 0},
		{"DilationH", q.DilationH, 1}, {"DilationW", q.DilationW, 1},
	} {
		if f.v < f.min {
			panic(fmt.Sprintf("accel: %s: %s = %d, less than %d", kernel, f.name, f.v, f.min))
		}
	}
	if !dilated && (q.DilationH != 1 || q.DilationW != 1) {
		panic(fmt.Sprintf("accel: %s: dilation %d×%d, only 1 is supported", kernel, q.DilationH, q.DilationW))
	}
	if q.PadH > q.KernelH/2 || q.PadW > q.KernelW/2 {
		panic(fmt.Sprintf("accel: %s: padding %d×%d, more than half the %d×%d kernel", kernel, q.PadH, q.PadW, q.KernelH, q.KernelW))
	}
	outH, outW = q.OutputSize(h, w)
	if outH < 1 || outW < 1 {
		panic(fmt.Sprintf("accel: %s: output %d×%d from a %d×%d input: the window does not fit", kernel, outH, outW, h, w))
	}
	return q, outH, outW
}

// checkPlanes panics on a negative count or an empty plane.
func checkPlanes(kernel string, n, c, h, w int) {
	if n < 0 || c < 0 || h < 1 || w < 1 {
		panic(fmt.Sprintf("accel: %s: bad shape n=%d c=%d h=%d w=%d (need n, c ≥ 0 and h, w ≥ 1)", kernel, n, c, h, w))
	}
}

// checkLen panics unless len(s) ≥ need; shape describes need.
func checkLen[T any](kernel, name string, s []T, need int, shape string) {
	if len(s) < need {
		panic(fmt.Sprintf("accel: %s: len(%s) = %d, need %d for %s", kernel, name, len(s), need, shape))
	}
}

// checkIndexPlane panics if an h×w plane is too large for int32 indices.
func checkIndexPlane(kernel string, h, w int) {
	if h*w > math.MaxInt32 {
		panic(fmt.Sprintf("accel: %s: a %d×%d plane has more values than int32 indices reach", kernel, h, w))
	}
}

// poolParallelWork is the number of window taps (output values × window
// size) below which pooling runs on the calling goroutine. Chosen from
// BenchmarkMaxPool2DSplit on 2 cores: handing planes to the pool costs a
// few microseconds, a third more time at 2k taps and a loss up to 7k, while
// from about 30k taps (some 30 µs of work) parallel was as fast or faster.
const poolParallelWork = 1 << 15

// forPlanes calls fn(p) for every plane p in [0, planes), on the worker pool
// when the call's work (in window taps) is large enough.
func forPlanes(planes, work int, fn func(p int)) {
	if work < poolParallelWork || planes < 2 {
		for p := 0; p < planes; p++ {
			fn(p)
		}
		return
	}
	parallelFor(planes, fn)
}

// MaxPool2D computes torch.nn.functional.max_pool2d: for each plane and
// each output position (y, x) of the outH×outW output (p.OutputSize(h, w)),
//
//	dst[y*outW+x] = max over i < KernelH, j < KernelW of src[r*w+s]
//	    with r = y*StrideH - PadH + i*DilationH, s = x*StrideW - PadW + j*DilationW,
//	    over the taps inside the input (padding is -Inf: never chosen)
//
// and, if indices is not nil, indices[y*outW+x] = r*w+s of the maximum: the
// flat index within the h×w input plane that PyTorch's return_indices gives
// and MaxUnpool2D takes. Of equal maxima the first in row-major order wins; a
// NaN in a window wins over every number, and of several NaNs the last one
// does (PyTorch's rule: v > max || isnan(v)). A window with no tap inside
// the input, possible only with dilation, gives -Inf and the index of its
// first tap at or after row and column 0, as PyTorch does, which may lie
// outside the plane. Without indices, a window whose maximum is a zero
// gives +0 even where PyTorch would keep a -0. dst and indices have
// n·c·outH·outW elements.
//
// It panics if p is not a window PyTorch accepts (a size, stride or dilation
// below 1, padding above half the kernel, or an output smaller than 1×1), or
// if a slice is too short.
func MaxPool2D(dst []float32, indices []int32, src []float32, n, c, h, w int, p Pool2DParams) {
	const name = "MaxPool2D"
	checkPlanes(name, n, c, h, w)
	p, oh, ow := p.check(name, h, w, true)
	shape := fmt.Sprintf("n=%d c=%d outH=%d outW=%d", n, c, oh, ow)
	checkLen(name, "src", src, n*c*h*w, fmt.Sprintf("n=%d c=%d h=%d w=%d", n, c, h, w))
	checkLen(name, "dst", dst, n*c*oh*ow, shape)
	if indices != nil {
		checkIndexPlane(name, h, w)
		checkLen(name, "indices", indices, n*c*oh*ow, shape)
	}
	in, out := h*w, oh*ow
	forPlanes(n*c, n*c*out*p.KernelH*p.KernelW, func(q int) {
		if indices == nil {
			maxPoolPlaneValues(dst[q*out:(q+1)*out], src[q*in:(q+1)*in], h, w, oh, ow, p)
			return
		}
		maxPoolPlane(dst[q*out:(q+1)*out], indices[q*out:(q+1)*out], src[q*in:(q+1)*in], h, w, oh, ow, p)
	})
}

// maxPoolPlaneValues is MaxPool2D on one plane without indices, computed
// separably: for each output row, the column maxima over the window's rows,
// then each window's maximum over its columns. It uses Go's max, which
// propagates NaN and has no data-dependent branch, so the values equal
// PyTorch's except that a window whose maximum is 0 held as both -0 and +0
// gives +0 (BenchmarkMaxPool2D: 4× faster than a running max with
// branches on unordered data).
func maxPoolPlaneValues(dst, src []float32, h, w, oh, ow int, p Pool2DParams) {
	negInf := float32(math.Inf(-1))
	var buf [512]float32
	col := buf[:0]
	if w > len(buf) {
		col = make([]float32, w)
	}
	col = col[:w]
	kh, kw, dh, dw := p.KernelH, p.KernelW, p.DilationH, p.DilationW
	for y := 0; y < oh; y++ {
		r0 := y*p.StrideH - p.PadH
		r1 := min(r0+(kh-1)*dh+1, h)
		if r0 < 0 {
			r0 += (-r0 + dh - 1) / dh * dh
		}
		if r0 < r1 {
			copy(col, src[r0*w:r0*w+w])
		} else {
			for s := range col {
				col[s] = negInf
			}
		}
		for r := r0 + dh; r < r1; r += dh {
			row := src[r*w : r*w+w]
			for s, v := range row {
				col[s] = max(col[s], v)
			}
		}
		out := dst[y*ow : y*ow+ow]
		for x := range out {
			s0 := x*p.StrideW - p.PadW
			s1 := min(s0+(kw-1)*dw+1, w)
			if s0 < 0 {
				s0 += (-s0 + dw - 1) / dw * dw
			}
			best := negInf
			for s := s0; s < s1; s += dw {
				best = max(best, col[s])
			}
			out[x] = best
		}
	}
}

// maxPoolPlane is MaxPool2D on one plane with indices, as PyTorch's loop:
// the window's end clipped to the input, its start stepped by the dilation
// until inside, and a running maximum. (Finding the index in a second pass
// after maxPoolPlaneValues, with or without branches, measured no faster in
// BenchmarkMaxPool2D.)
func maxPoolPlane(dst []float32, ind []int32, src []float32, h, w, oh, ow int, p Pool2DParams) {
	negInf := float32(math.Inf(-1))
	kh, kw, dh, dw := p.KernelH, p.KernelW, p.DilationH, p.DilationW
	for y := 0; y < oh; y++ {
		r0 := y*p.StrideH - p.PadH
		r1 := min(r0+(kh-1)*dh+1, h)
		if r0 < 0 {
			r0 += (-r0 + dh - 1) / dh * dh
		}
		for x := 0; x < ow; x++ {
			s0 := x*p.StrideW - p.PadW
			s1 := min(s0+(kw-1)*dw+1, w)
			if s0 < 0 {
				s0 += (-s0 + dw - 1) / dw * dw
			}
			best, at := negInf, r0*w+s0
			for r := r0; r < r1; r += dh {
				row := src[r*w : r*w+s1]
				for s := s0; s < s1; s += dw {
					if v := row[s]; v > best || v != v {
						best, at = v, r*w+s
					}
				}
			}
			dst[y*ow+x] = best
			ind[y*ow+x] = int32(at)
		}
	}
}

// AvgPool2D computes torch.nn.functional.avg_pool2d: for each plane and each
// output position (y, x) of the outH×outW output (p.OutputSize(h, w)),
//
//	r0, s0 := y*StrideH - PadH, x*StrideW - PadW
//	r1, s1 := min(r0+KernelH, h+PadH), min(s0+KernelW, w+PadW)
//	dst[y*outW+x] = (sum of src[r*w+s] over max(r0,0) ≤ r < min(r1,h),
//	                 max(s0,0) ≤ s < min(s1,w), in row-major order) / divisor
//
// where divisor is (r1-r0)·(s1-s0), the window clipped to the padded input,
// when p.CountIncludePad, and otherwise the number of values summed. The sum
// is in float32, in the order shown, as PyTorch's CPU kernel does. dst has
// n·c·outH·outW elements. p.DilationH and p.DilationW must be 0 or 1.
//
// It panics if p is not a window PyTorch accepts (see MaxPool2D) or if a
// slice is too short.
func AvgPool2D(dst, src []float32, n, c, h, w int, p Pool2DParams) {
	const name = "AvgPool2D"
	checkPlanes(name, n, c, h, w)
	p, oh, ow := p.check(name, h, w, false)
	checkLen(name, "src", src, n*c*h*w, fmt.Sprintf("n=%d c=%d h=%d w=%d", n, c, h, w))
	checkLen(name, "dst", dst, n*c*oh*ow, fmt.Sprintf("n=%d c=%d outH=%d outW=%d", n, c, oh, ow))
	in, out := h*w, oh*ow
	forPlanes(n*c, n*c*out*p.KernelH*p.KernelW, func(q int) {
		avgPoolPlane(dst[q*out:(q+1)*out], src[q*in:(q+1)*in], h, w, oh, ow, p)
	})
}

func avgPoolPlane(dst, src []float32, h, w, oh, ow int, p Pool2DParams) {
	for y := 0; y < oh; y++ {
		r0 := y*p.StrideH - p.PadH
		r1 := min(r0+p.KernelH, h+p.PadH)
		padH := r1 - r0
		r0, r1 = max(r0, 0), min(r1, h)
		for x := 0; x < ow; x++ {
			s0 := x*p.StrideW - p.PadW
			s1 := min(s0+p.KernelW, w+p.PadW)
			padW := s1 - s0
			s0, s1 = max(s0, 0), min(s1, w)
			if r0 >= r1 || s0 >= s1 {
				dst[y*ow+x] = 0 // no input in the window (PyTorch writes 0)
				continue
			}
			div := (r1 - r0) * (s1 - s0)
			if p.CountIncludePad {
				div = padH * padW
			}
			var sum float32
			for r := r0; r < r1; r++ {
				for _, v := range src[r*w+s0 : r*w+s1] {
					sum += v
				}
			}
			dst[y*ow+x] = sum / float32(div)
		}
	}
}

// GlobalAvgPool2D sets dst[q] to the mean of plane q, for the n·c planes of
// src: torch.mean over the last two dimensions. The sum is kept in float64,
// in order, and rounded once. dst has n·c elements.
//
// It panics if a slice is too short or h or w is below 1.
func GlobalAvgPool2D(dst, src []float32, n, c, h, w int) {
	const name = "GlobalAvgPool2D"
	checkPlanes(name, n, c, h, w)
	checkLen(name, "src", src, n*c*h*w, fmt.Sprintf("n=%d c=%d h=%d w=%d", n, c, h, w))
	checkLen(name, "dst", dst, n*c, fmt.Sprintf("n=%d c=%d", n, c))
	in := h * w
	forPlanes(n*c, n*c*in, func(q int) {
		var sum float64
		for _, v := range src[q*in : (q+1)*in] {
			sum += float64(v)
		}
		dst[q] = float32(sum / float64(in))
	})
}

// GlobalMaxPool2D sets dst[q] to the maximum of plane q, for the n·c planes
// of src; a NaN in the plane gives NaN (as torch.amax). dst has n·c
// elements.
//
// It panics if a slice is too short or h or w is below 1.
func GlobalMaxPool2D(dst, src []float32, n, c, h, w int) {
	const name = "GlobalMaxPool2D"
	checkPlanes(name, n, c, h, w)
	checkLen(name, "src", src, n*c*h*w, fmt.Sprintf("n=%d c=%d h=%d w=%d", n, c, h, w))
	checkLen(name, "dst", dst, n*c, fmt.Sprintf("n=%d c=%d", n, c))
	in := h * w
	forPlanes(n*c, n*c*in, func(q int) {
		best := float32(math.Inf(-1))
		for _, v := range src[q*in : (q+1)*in] {
			if v > best || v != v {
				best = v
				if v != v {
					break
				}
			}
		}
		dst[q] = best
	})
}

// MaxUnpool2D computes torch.nn.functional.max_unpool2d, the partial inverse
// of MaxPool2D that SegNet's decoder uses: for each of the n·c planes it
// zeroes the outH×outW output plane, then, in order,
//
//	dst[indices[i]] = src[i]    for each i < h·w of the plane
//
// where src and indices are h×w planes (MaxPool2D's output and indices) and
// each index is flat within the output plane. When an index repeats (from
// overlapping windows), the last write wins. dst has n·c·outH·outW elements.
//
// It panics, with a message naming the index and its position, if an index
// is outside [0, outH·outW) — MaxPool2D never makes one, so it means indices
// from another shape — and if a slice is too short or a size is below 1.
func MaxUnpool2D(dst, src []float32, indices []int32, n, c, h, w, outH, outW int) {
	const name = "MaxUnpool2D"
	checkPlanes(name, n, c, h, w)
	if outH < 1 || outW < 1 {
		panic(fmt.Sprintf("accel: %s: output %d×%d, need at least 1×1", name, outH, outW))
	}
	shape := fmt.Sprintf("n=%d c=%d h=%d w=%d", n, c, h, w)
	checkLen(name, "src", src, n*c*h*w, shape)
	checkLen(name, "indices", indices, n*c*h*w, shape)
	checkLen(name, "dst", dst, n*c*outH*outW, fmt.Sprintf("n=%d c=%d outH=%d outW=%d", n, c, outH, outW))
	in, out := h*w, outH*outW
	// A task cannot panic on the caller's goroutine, so each plane records
	// its first bad position and the caller panics after the loop.
	bad := make([]int, n*c)
	forPlanes(n*c, n*c*(in+out), func(q int) {
		d := dst[q*out : (q+1)*out]
		clear(d)
		bad[q] = -1
		ind := indices[q*in : (q+1)*in]
		for i, v := range src[q*in : (q+1)*in] {
			k := int(ind[i])
			if k < 0 || k >= out {
				bad[q] = q*in + i
				return
			}
			d[k] = v
		}
	})
	for _, i := range bad {
		if i >= 0 {
			panic(fmt.Sprintf("accel: %s: indices[%d] = %d, outside the %d×%d output plane", name, i, indices[i], outH, outW))
		}
	}
}

// adaptiveStart and adaptiveEnd bound output cell i of out cells over an
// axis of length in, as PyTorch's adaptive pooling:
// [floor(i·in/out), ceil((i+1)·in/out)).
func adaptiveStart(i, in, out int) int { return i * in / out }
func adaptiveEnd(i, in, out int) int   { return ((i+1)*in + out - 1) / out }

// AdaptiveAvgPool2D computes torch.nn.functional.adaptive_avg_pool2d: each
// h×w plane becomes an outH×outW plane whose cell (y, x) is the mean of the
// input rows [floor(y·h/outH), ceil((y+1)·h/outH)) and columns
// [floor(x·w/outW), ceil((x+1)·w/outW)). Windows overlap when the sizes do
// not divide, and repeat inputs when the output is larger. The sum is in
// float32, row-major. dst has n·c·outH·outW elements.
//
// It panics if a slice is too short or a size is below 1.
func AdaptiveAvgPool2D(dst, src []float32, n, c, h, w, outH, outW int) {
	const name = "AdaptiveAvgPool2D"
	checkAdaptive(name, n, c, h, w, outH, outW)
	checkLen(name, "src", src, n*c*h*w, fmt.Sprintf("n=%d c=%d h=%d w=%d", n, c, h, w))
	checkLen(name, "dst", dst, n*c*outH*outW, fmt.Sprintf("n=%d c=%d outH=%d outW=%d", n, c, outH, outW))
	in, out := h*w, outH*outW
	forPlanes(n*c, n*c*adaptiveWork(h, w, outH, outW), func(q int) {
		d, s := dst[q*out:(q+1)*out], src[q*in:(q+1)*in]
		for y := 0; y < outH; y++ {
			r0, r1 := adaptiveStart(y, h, outH), adaptiveEnd(y, h, outH)
			for x := 0; x < outW; x++ {
				s0, s1 := adaptiveStart(x, w, outW), adaptiveEnd(x, w, outW)
				var sum float32
				for r := r0; r < r1; r++ {
					for _, v := range s[r*w+s0 : r*w+s1] {
						sum += v
					}
				}
				d[y*outW+x] = sum / float32((r1-r0)*(s1-s0))
			}
		}
	})
}

// AdaptiveMaxPool2D computes torch.nn.functional.adaptive_max_pool2d over
// the windows of AdaptiveAvgPool2D, with MaxPool2D's rules for ties and NaN
// and its flat h×w indices (written when indices is not nil). dst and
// indices have n·c·outH·outW elements.
//
// It panics if a slice is too short or a size is below 1.
func AdaptiveMaxPool2D(dst []float32, indices []int32, src []float32, n, c, h, w, outH, outW int) {
	const name = "AdaptiveMaxPool2D"
	checkAdaptive(name, n, c, h, w, outH, outW)
	shape := fmt.Sprintf("n=%d c=%d outH=%d outW=%d", n, c, outH, outW)
	checkLen(name, "src", src, n*c*h*w, fmt.Sprintf("n=%d c=%d h=%d w=%d", n, c, h, w))
	checkLen(name, "dst", dst, n*c*outH*outW, shape)
	if indices != nil {
		checkIndexPlane(name, h, w)
		checkLen(name, "indices", indices, n*c*outH*outW, shape)
	}
	in, out := h*w, outH*outW
	negInf := float32(math.Inf(-1))
	forPlanes(n*c, n*c*adaptiveWork(h, w, outH, outW), func(q int) {
		d, s := dst[q*out:(q+1)*out], src[q*in:(q+1)*in]
		for y := 0; y < outH; y++ {
			r0, r1 := adaptiveStart(y, h, outH), adaptiveEnd(y, h, outH)
			for x := 0; x < outW; x++ {
				s0, s1 := adaptiveStart(x, w, outW), adaptiveEnd(x, w, outW)
				best, at := negInf, r0*w+s0
				for r := r0; r < r1; r++ {
					for j, v := range s[r*w+s0 : r*w+s1] {
						if v > best || v != v {
							best, at = v, r*w+s0+j
						}
					}
				}
				d[y*outW+x] = best
				if indices != nil {
					indices[q*out+y*outW+x] = int32(at)
				}
			}
		}
	})
}

func checkAdaptive(kernel string, n, c, h, w, outH, outW int) {
	checkPlanes(kernel, n, c, h, w)
	if outH < 1 || outW < 1 {
		panic(fmt.Sprintf("accel: %s: output %d×%d, need at least 1×1", kernel, outH, outW))
	}
}

// adaptiveWork is the number of taps of one adaptive plane: each output
// row's window is at most ceil(h/outH)+1 rows tall.
func adaptiveWork(h, w, outH, outW int) int {
	return outH * outW * (h/outH + 1) * (w/outW + 1)
}
