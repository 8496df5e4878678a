package accel

import (
	"fmt"
)

// ConvParams is the shape of a 2-D convolution, with PyTorch's meanings:
// src is NCHW [N, C, H, W], weight is [OutC, C/Groups, KH, KW], dst is
// [N, OutC, OH, OW] with OH, OW from OutSize. Padding is symmetric on each
// axis (PadH rows of zeros above and below, PadW columns left and right),
// plus PadAfterH more rows below and PadAfterW more columns right: the odd
// pixel of TensorFlow's padding="SAME" (OH = ⌈H/Stride⌉ from a total
// padding of max((OH−1)·Stride + Dilation·(K−1) + 1 − H, 0), ⌊total/2⌋
// before and the rest after, so a 3x3 stride-2 kernel on an even side pads
// 0 before and 1 after) and of ONNX's uneven pads. The after-padding only
// adds the output rows and columns whose windows reach into it: output
// (oy, ox) still reads input (oy·StrideH − PadH + ki·DilationH,
// ox·StrideW − PadW + kj·DilationW).
//
// A zero StrideH, StrideW, DilationH, DilationW or Groups means 1, so a
// literal need only name what differs from PyTorch's defaults.
type ConvParams struct {
	N, C, H, W           int // input: batch, channels, height, width
	OutC                 int // output channels
	KH, KW               int // kernel height and width
	StrideH, StrideW     int
	PadH, PadW           int // zero rows above and below, columns left and right
	PadAfterH, PadAfterW int // more zero rows below, columns right
	DilationH, DilationW int
	Groups               int // C and OutC are split into Groups independent convolutions
}

// withDefaults returns p with zero strides, dilations and groups set to 1.
func (p ConvParams) withDefaults() ConvParams {
	one := func(v *int) {
		if *v == 0 {
			*v = 1
		}
	}
	one(&p.StrideH)
	one(&p.StrideW)
	one(&p.DilationH)
	one(&p.DilationW)
	one(&p.Groups)
	return p
}

// OutSize returns the output height and width, PyTorch's formula with
// the after-padding added
//
//	OH = (H + 2·PadH + PadAfterH - DilationH·(KH-1) - 1)/StrideH + 1
//	OW = (W + 2·PadW + PadAfterW - DilationW·(KW-1) - 1)/StrideW + 1
//
// rounded down, and 0 on an axis where the dilated kernel is larger than the
// padded input.
func (p ConvParams) OutSize() (oh, ow int) {
	p = p.withDefaults()
	return outLen(p.H+p.PadAfterH, p.KH, p.StrideH, p.PadH, p.DilationH),
		outLen(p.W+p.PadAfterW, p.KW, p.StrideW, p.PadW, p.DilationW)
}

func outLen(in, k, stride, pad, dil int) int {
	span := in + 2*pad - dil*(k-1) - 1
	if span < 0 || stride < 1 {
		return 0
	}
	return span/stride + 1
}

// check panics unless p (with defaults filled in) describes a convolution
// fn can run; it returns p with defaults and the output size. needOutC is
// false for Im2col, which ignores N and OutC.
func (p ConvParams) check(fn string, needOutC bool) (q ConvParams, oh, ow int) {
	q = p.withDefaults()
	bad := func(format string, args ...any) {
		panic(fmt.Sprintf("accel: "+fn+": "+format, args...))
	}
	for _, d := range []struct {
		name string
		v    int
		min  int
	}{
		{"C", q.C, 1}, {"H", q.H, 1}, {"W", q.W, 1}, {"KH", q.KH, 1}, {"KW", q.KW, 1},
		{"StrideH", q.StrideH, 1}, {"StrideW", q.StrideW, 1},
		{"DilationH", q.DilationH, 1}, {"DilationW", q.DilationW, 1},
		{"PadH", q.PadH, 0}, {"PadW", q.PadW, 0},
		{"PadAfterH", q.PadAfterH, 0}, {"PadAfterW", q.PadAfterW, 0}, {"Groups", q.Groups, 1},
	} {
		if d.v < d.min {
			bad("%s=%d, must be at least %d", d.name, d.v, d.min)
		}
	}
	if q.C%q.Groups != 0 {
		bad("C=%d not divisible by Groups=%d", q.C, q.Groups)
	}
	if needOutC {
		if q.N < 0 {
			bad("N=%d, must be at least 0", q.N)
		}
		if q.OutC < 1 {
			bad("OutC=%d, must be at least 1", q.OutC)
		}
		if q.OutC%q.Groups != 0 {
			bad("OutC=%d not divisible by Groups=%d", q.OutC, q.Groups)
		}
	}
	oh, ow = q.OutSize()
	if oh < 1 || ow < 1 {
		bad("%dx%d kernel with dilation %dx%d spans %dx%d, more than the %dx%d padded input",
			q.KH, q.KW, q.DilationH, q.DilationW,
			q.DilationH*(q.KH-1)+1, q.DilationW*(q.KW-1)+1, q.H+2*q.PadH+q.PadAfterH, q.W+2*q.PadW+q.PadAfterW)
	}
	return q, oh, ow
}

// checkConvLen panics unless len(s) ≥ need, naming the slice and the shape
// (what) that needs it.
func checkConvLen(fn, name string, s []float32, need int, what string) {
	if len(s) < need {
		panic(fmt.Sprintf("accel: %s: len(%s) = %d, need at least %d for %s", fn, name, len(s), need, what))
	}
}

// Im2col lowers one group of one image to the B operand of a GEMM: with
// Cg = C/Groups and K = Cg·KH·KW, it writes the K×(OH·OW) row-major matrix
//
//	for ci := 0; ci < Cg; ci++ {
//		for ki := 0; ki < KH; ki++ {
//			for kj := 0; kj < KW; kj++ {
//				r := (ci*KH+ki)*KW + kj
//				for oy := 0; oy < OH; oy++ {
//					for ox := 0; ox < OW; ox++ {
//						iy := oy*StrideH - PadH + ki*DilationH
//						ix := ox*StrideW - PadW + kj*DilationW
//						var v float32 // zero padding
//						if 0 <= iy && iy < H && 0 <= ix && ix < W {
//							v = img[(ci*H+iy)*W+ix]
//						}
//						cols[r*OH*OW+oy*OW+ox] = v
//					}
//				}
//			}
//		}
//	}
//
// so that a group's weights, [OutC/Groups, K] row-major (PyTorch's layout),
// times cols is that group's output, [OutC/Groups, OH·OW]: exactly the NCHW
// output planes as they lie in memory.
//
// img holds the group's Cg channels, [Cg, H, W] (for group g of image n,
// src[(n*C+g*Cg)*H*W:]); p.N and p.OutC are not used. cols is overwritten
// and must not overlap img. Rows are filled in parallel on the worker pool.
//
// It panics if p is inconsistent (see Conv2D) or a slice is too short.
func Im2col(cols, img []float32, p ConvParams) {
	q, oh, ow := p.check("Im2col", false)
	cg := q.C / q.Groups
	checkConvLen("Im2col", "img", img, cg*q.H*q.W, fmt.Sprintf("C/Groups=%d H=%d W=%d", cg, q.H, q.W))
	checkConvLen("Im2col", "cols", cols, cg*q.KH*q.KW*oh*ow,
		fmt.Sprintf("C/Groups·KH·KW=%d rows × OH·OW=%d columns", cg*q.KH*q.KW, oh*ow))
	im2colRows(cols, img, q, cg, oh, ow, 0, oh)
}

// im2colSerial is the size K·columns below which im2colRows fills rows in
// the calling goroutine: a few microseconds of copying, about what handing
// tasks to the pool costs (a guess checked against BenchmarkIm2col).
const im2colSerial = 1 << 14

// im2colRows is Im2col restricted to output rows oy0..oy1: it writes the
// K×((oy1-oy0)·ow) matrix of the columns for those rows, leading dimension
// (oy1-oy0)·ow. p has its defaults filled in.
func im2colRows(cols, img []float32, p ConvParams, cg, oh, ow, oy0, oy1 int) {
	kk := p.KH * p.KW
	rows := cg * kk
	ncols := (oy1 - oy0) * ow
	row := func(r int) {
		ci, ki, kj := r/kk, r%kk/p.KW, r%p.KW
		dst := cols[r*ncols : (r+1)*ncols]
		plane := img[ci*p.H*p.W : (ci+1)*p.H*p.W]
		yoff := ki*p.DilationH - p.PadH // iy = oy*StrideH + yoff
		xoff := kj*p.DilationW - p.PadW // ix = ox*StrideW + xoff
		ylo, yhi := validRange(oh, p.H, p.StrideH, yoff)
		ylo, yhi = min(max(ylo, oy0), oy1), max(min(yhi, oy1), oy0)
		if ylo >= yhi {
			clear(dst)
			return
		}
		xlo, xhi := validRange(ow, p.W, p.StrideW, xoff)
		// Output rows whose input row is padding: one run of zeros each side.
		clear(dst[:(ylo-oy0)*ow])
		clear(dst[(yhi-oy0)*ow:])
		for oy := ylo; oy < yhi; oy++ {
			seg := dst[(oy-oy0)*ow : (oy-oy0+1)*ow]
			clear(seg[:xlo])
			clear(seg[xhi:])
			if xlo >= xhi {
				continue
			}
			srow := plane[(oy*p.StrideH+yoff)*p.W : (oy*p.StrideH+yoff+1)*p.W]
			d := seg[xlo:xhi]
			s := srow[xlo*p.StrideW+xoff:]
			switch p.StrideW {
			case 1:
				copy(d, s)
			case 2:
				s = s[:2*len(d)-1]
				for i := range d {
					d[i] = s[2*i]
				}
			default:
				st := p.StrideW
				s = s[:st*(len(d)-1)+1]
				for i := range d {
					d[i] = s[st*i]
				}
			}
		}
	}
	if rows*ncols < im2colSerial {
		for r := 0; r < rows; r++ {
			row(r)
		}
		return
	}
	parallelFor(rows, row)
}

// validRange returns the output positions o in [lo, hi) whose input index
// o*stride + off lies in [0, size), clipped to [0, out); lo ≤ hi.
func validRange(out, size, stride, off int) (lo, hi int) {
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	if last := size - 1 - off; last >= 0 {
		hi = last/stride + 1
	}
	lo, hi = min(lo, out), min(hi, out)
	return lo, max(lo, hi)
}

// im2colPacker packs panels of the matrix Im2col would write, straight from
// the image: the implicit GEMM. Row r of the lowered matrix is input channel
// ci, kernel tap (ki, kj); column j is output position (j/OW, j%OW). Each
// call walks its rows, and within a row its columns in runs that stay in one
// output row and one panel, copying from the input row (stride 1) or
// gathering (other strides), with zeros where the tap falls on padding.
func im2colPacker(img []float32, p ConvParams, oh, ow int) panelPacker {
	kk := p.KH * p.KW
	return func(p0, kc, j0, w, nr int, dst []float32) {
		panels := (w + nr - 1) / nr
		dst = dst[:panels*kc*nr]
		for pp := 0; pp < kc; pp++ {
			r := p0 + pp
			ci, ki, kj := r/kk, r%kk/p.KW, r%p.KW
			plane := img[ci*p.H*p.W : (ci+1)*p.H*p.W]
			yoff := ki*p.DilationH - p.PadH
			xoff := kj*p.DilationW - p.PadW
			xlo, xhi := validRange(ow, p.W, p.StrideW, xoff)
			oy, ox := j0/ow, j0%ow // output position of column j
			t, q := 0, 0           // panel and column within it
			for j := j0; j < j0+w; {
				run := min(ow-ox, nr-q, j0+w-j)
				at := t*kc*nr + pp*nr + q
				iy := oy*p.StrideH + yoff
				if q == 0 && p.StrideW == 1 && ox >= xlo && iy >= 0 && iy < p.H {
					// Whole panel rows inside this input row: one call
					// moves them all into consecutive panels.
					if n := min(min(ow, xhi)-ox, j0+w-j) / nr; n > 0 {
						ix := iy*p.W + ox + xoff
						copyChunks(dst[at:], kc*nr, plane[ix:ix+n*nr], n, nr)
						j, ox, t = j+n*nr, ox+n*nr, t+n
						if ox == ow {
							ox, oy = 0, oy+1
						}
						continue
					}
				}
				if iy < 0 || iy >= p.H {
					clear(dst[at : at+run])
				} else {
					d := dst[at : at+run]
					a, b := min(max(xlo-ox, 0), run), min(max(xhi-ox, 0), run)
					if a > 0 {
						clear(d[:a])
					}
					if b < run {
						clear(d[max(a, b):])
					}
					if a < b {
						src := plane[iy*p.W:]
						ix := (ox+a)*p.StrideW + xoff
						if p.StrideW == 1 {
							copy(d[a:b], src[ix:ix+b-a])
						} else {
							for i := a; i < b; i++ {
								d[i] = src[ix]
								ix += p.StrideW
							}
						}
					}
				}
				j += run
				if ox += run; ox == ow {
					ox, oy = 0, oy+1
				}
				if q += run; q == nr {
					q, t = 0, t+1
				}
			}
			if tail := panels*nr - w; tail > 0 {
				last := (panels-1)*kc*nr + pp*nr
				clear(dst[last+nr-tail : last+nr])
			}
		}
	}
}
