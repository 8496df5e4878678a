package accel

import "math"

// A 3x3, undilated depthwise convolution (MobileNets' and the face
// detectors' workhorse) at stride 2, or at stride 1 with one column of
// padding each side, runs row by row of the output, straight from the
// input plane: output (oy, ox) reads input rows s·oy − PadH + ki and
// columns s·ox − PadW + kj. A row of outputs is one row of a row kernel
// over three input rows, a shared row of zeros standing in for rows in the
// padding (PadH above, PadH + PadAfterH below); the columns outside the
// plane are read as zeros by the kernel itself (masked loads), so no
// padded copy is made and the borders take no separate pass. The rows
// whose windows lie inside the plane are one kernel call per plane.
//
// At stride 1 the kernel's windows start one column left of the plane
// (PadW = 1). At stride 2 they start at its first column: TensorFlow's
// padding="SAME" on an even side pads 0 before and 1 after (see
// ConvParams); where there is left padding (PyTorch's symmetric PadW = 1),
// the first ⌈PadW/2⌉ outputs of each row, whose windows start left of the
// plane, are computed in Go, and the kernel starts one or two columns in.

// dwRowsFunc is a row kernel of 3x3 depthwise convolutions with the
// epilogue fused, dw3x3RowsGo's meaning at its stride.
type dwRowsFunc func(o []float32, ldo int, r0, r1, r2 []float32, step, rows, n, avail int, w *[9]float32, ep *[5]float32, flags int)

// dw3x3s1Kernel and dw3x3s2Kernel are the vector row kernels at stride 1
// and 2; nil where the machine has none (then Conv2D keeps its other
// depthwise paths). Set by depthwise_amd64.go.
var dw3x3s1Kernel, dw3x3s2Kernel dwRowsFunc

// dw3x3RowsGo computes rows rows of n outputs of the stride-s filter (s is
// 1 or 2) with the epilogue ep (scale, shift, lo, hi, slope) under flags
// (tile* bits). Row j of the output is o[j·ldo:], and its three input rows
// are r0[j·step:], r1[j·step:] and r2[j·step:], of which only columns 0 …
// avail−1 are read: the others count as zeros. Output i's window starts at
// column c0 + s·i, c0 = −1 at stride 1 (one column of padding on the
// left), 0 at stride 2.
//
//	x := func(r []float32, c int) float32 { // input column c of row j
//		if 0 <= c && c < avail {
//			return r[j*step+c]
//		}
//		return 0
//	}
//	y := w[0] * x(r0, c0+s*i)
//	y = fma(w[1], x(r0, c0+s*i+1), y) // rounded once, as VFMADD
//	y = fma(w[2], x(r0, c0+s*i+2), y)
//	y = fma(w[3], x(r1, c0+s*i), y)   // … the nine taps in (ki, kj) order
//	…
//	if flags&tileAffine != 0 { y = fma(y, ep[0], ep[1]) }
//	if flags&tileClampLo != 0 && ep[2] > y { y = ep[2] }
//	if flags&tileClampHi != 0 && ep[3] < y { y = ep[3] }
//	if flags&tileLeaky != 0 && ep[4]*y > y { y = ep[4] * y }
//	o[j*ldo+i] = y
//
// The comparisons are VMAXPS's and VMINPS's (the second operand wins a tie
// or a NaN; y is the second), so the vector kernels compute exactly this,
// bit for bit.
func dw3x3RowsGo(s int, o []float32, ldo int, r0, r1, r2 []float32, step, rows, n, avail int, w *[9]float32, ep *[5]float32, flags int) {
	c0 := 0
	if s == 1 {
		c0 = -1
	}
	rs := [3][]float32{r0, r1, r2}
	for j := 0; j < rows; j++ {
		out := o[j*ldo : j*ldo+n]
		for i := range out {
			var y float32
			for k := 0; k < 9; k++ {
				var v float32
				if c := c0 + s*i + k%3; c >= 0 && c < avail {
					v = rs[k/3][j*step+c]
				}
				if k == 0 {
					y = w[0] * v
				} else {
					y = fma32(w[k], v, y)
				}
			}
			out[i] = dwRowsEpilogue(y, ep, flags)
		}
	}
}

// dwRowsEpilogue runs the epilogue steps flags select on y, with the row
// kernels' rounding and comparisons (see dw3x3RowsGo).
func dwRowsEpilogue(y float32, ep *[5]float32, flags int) float32 {
	if flags&tileAffine != 0 {
		y = fma32(y, ep[0], ep[1])
	}
	if flags&tileClampLo != 0 && ep[2] > y {
		y = ep[2]
	}
	if flags&tileClampHi != 0 && ep[3] < y {
		y = ep[3]
	}
	if flags&tileLeaky != 0 {
		if t := ep[4] * y; t > y {
			y = t
		}
	}
	return y
}

// fma32 returns x·y + z rounded once to float32, as a fused multiply-add
// instruction does; Go has no float32 FMA. The product is exact in
// float64; the sum is rounded to odd in float64 (rounded to nearest, then,
// if inexact and even, moved one ulp towards the exact sum, whose error
// TwoSum gives exactly), and rounding that to float32 is the correctly
// rounded sum, since float64 has more than float32's precision plus two
// bits (Boldo and Melquiond, "Emulation of FMA and correctly rounded sums:
// proved algorithms using rounding to odd", IEEE Trans. Computers, 2008).
func fma32(x, y, z float32) float32 {
	p, c := float64(x)*float64(y), float64(z)
	s := p + c
	b := s - p
	e := (p - (s - b)) + (c - b) // p + c = s + e exactly (Knuth's TwoSum)
	if e != 0 && s-s == 0 {      // inexact and finite
		if bits := math.Float64bits(s); bits&1 == 0 {
			if (e > 0) == (s > 0) {
				bits++ // away from zero
			} else {
				bits--
			}
			s = math.Float64frombits(bits)
		}
	}
	return float32(s)
}

// depthwiseRows is Conv2D's path for 3x3, dilation 1 depthwise
// convolutions with one output channel per input channel, through the row
// kernel of the stride (StrideH = StrideW = s): at stride 2 with any
// padding, at stride 1 with PadW = 1 (and any PadH, PadAfterH, PadAfterW).
// Planes are tasks on the worker pool; within a plane the rows whose three
// input rows all lie in the plane are one kernel call, the others (in the
// top and bottom padding) one call each.
func depthwiseRows(dst, src, weight []float32, p ConvParams, oh, ow int, ep *Epilogue) {
	s := p.StrideW
	f := newFusedEpilogue(ep, p.OutC)
	defer f.release()
	flags := f.channelFlags()
	// Columns: the first ox0 outputs start left of the kernel's reach and
	// are computed in Go; the kernel takes the other n, reading row
	// stretches from input column x0.
	kern, ox0, x0 := dw3x3s1Kernel, 0, 0
	if s == 2 {
		kern = dw3x3s2Kernel
		ox0 = min((p.PadW+1)/2, ow)
		x0 = 2*ox0 - p.PadW // 0 or 1
		if x0 >= p.W {
			ox0 = ow // a one-column plane with odd PadW: all in Go
		}
	}
	n, avail := ow-ox0, p.W-x0
	// Rows: outputs [oy0, oy1) read only rows inside the plane.
	oy0, oy1 := min((p.PadH+s-1)/s, oh), 0
	if last := p.H - 3 + p.PadH; last >= 0 {
		oy1 = min(oh, last/s+1)
	}
	oy1 = max(oy1, oy0)
	zeroBuf := getBuf(p.W)
	defer putBuf(zeroBuf)
	zero := *zeroBuf
	clear(zero)
	parallelFor(p.N*p.C, func(t int) {
		c := t % p.C
		e := f.channel(c)
		w := (*[9]float32)(weight[c*9 : c*9+9])
		plane := src[t*p.H*p.W : (t+1)*p.H*p.W]
		out := dst[t*oh*ow : (t+1)*oh*ow]
		if n > 0 {
			row := func(iy int) []float32 {
				if iy < 0 || iy >= p.H {
					return zero
				}
				return plane[iy*p.W+x0:]
			}
			for oy := 0; oy < oh; {
				rows, step := 1, 0
				if oy == oy0 && oy1 > oy0 {
					rows, step = oy1-oy0, s*p.W
				}
				iy := s*oy - p.PadH
				kern(out[oy*ow+ox0:], ow, row(iy), row(iy+1), row(iy+2), step, rows, n, avail, w, &e, flags)
				oy += rows
			}
		}
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ox0; ox++ {
				out[oy*ow+ox] = dwRowsEdge(plane, p, oy, ox, w, &e, flags)
			}
		}
		if f.act != ActLinear {
			activate(out, f.act, f.slope)
		}
	})
}

// dwRowsEdge computes output (oy, ox) of one plane from the taps inside
// the plane, in (ki, kj) order, with the epilogue: the outputs left of the
// kernel's columns.
func dwRowsEdge(plane []float32, p ConvParams, oy, ox int, w *[9]float32, ep *[5]float32, flags int) float32 {
	var y float32
	for ki := 0; ki < 3; ki++ {
		iy := oy*p.StrideH - p.PadH + ki
		if iy < 0 || iy >= p.H {
			continue
		}
		for kj := 0; kj < 3; kj++ {
			if ix := ox*p.StrideW - p.PadW + kj; ix >= 0 && ix < p.W {
				y += w[3*ki+kj] * plane[iy*p.W+ix]
			}
		}
	}
	return dwRowsEpilogue(y, ep, flags)
}
