package accel

import "fmt"

// Col2im is the adjoint of Im2col: it adds the K×(OH·OW) column matrix cols
// back into the image it would have been lowered from. With Cg = C/Groups,
// K = Cg·KH·KW and OH, OW from p.OutSize, it computes
//
//	for ci := 0; ci < Cg; ci++ {
//		for ki := 0; ki < KH; ki++ {
//			for kj := 0; kj < KW; kj++ {
//				r := (ci*KH+ki)*KW + kj
//				for oy := 0; oy < OH; oy++ {
//					for ox := 0; ox < OW; ox++ {
//						iy := oy*StrideH - PadH + ki*DilationH
//						ix := ox*StrideW - PadW + kj*DilationW
//						if 0 <= iy && iy < H && 0 <= ix && ix < W {
//							img[(ci*H+iy)*W+ix] += cols[r*OH*OW+oy*OW+ox]
//						}
//					}
//				}
//			}
//		}
//	}
//
// in that order for each image value, so the result does not depend on the
// thread count. Columns that fall in the padding are dropped.
//
// This is a transposed convolution's second half: with the weight
// [C, OutC/Groups, KH, KW] (PyTorch's ConvTranspose2d layout) as a
// Cg×(OCg·KH·KW) matrix A per group, cols = Aᵀ·x (Sgemm with transA) for
// an input x [Cg, OH·OW], and Col2im of cols into the zeroed output
// [OCg, H, W] with p describing the forward convolution from that output
// back to x. It is also the gradient of Im2col.
//
// img holds the group's Cg channels, [Cg, H, W]; p.N and p.OutC are not
// used. Col2im accumulates: img is read and added to (zero it first for a
// plain scatter). cols is only read and must not overlap img. Channels are
// filled in parallel on the worker pool.
//
// It panics if p is inconsistent (see Conv2D) or a slice is too short.
func Col2im(img, cols []float32, p ConvParams) {
	q, oh, _ := p.check("Col2im", false)
	Col2imRows(img, cols, q, 0, oh)
}

// Col2imRows is Col2im restricted to the columns of output rows oy0..oy1:
// cols is the K×((oy1-oy0)·OW) matrix for those rows (leading dimension
// (oy1-oy0)·OW), as Conv2D lowers an image in blocks of output rows. Calling
// it for consecutive blocks that cover [0, OH) adds the same terms as one
// Col2im call, block by block, so each image value can differ from
// Col2im's by float32 rounding (the order of its additions changes).
//
// It panics if p is inconsistent, if 0 ≤ oy0 ≤ oy1 ≤ OH does not hold, or
// if a slice is too short.
func Col2imRows(img, cols []float32, p ConvParams, oy0, oy1 int) {
	q, oh, ow := p.check("Col2imRows", false)
	if oy0 < 0 || oy1 < oy0 || oy1 > oh {
		panic(fmt.Sprintf("accel: Col2imRows: rows [%d, %d) outside the %d output rows", oy0, oy1, oh))
	}
	cg := q.C / q.Groups
	checkConvLen("Col2imRows", "img", img, cg*q.H*q.W, fmt.Sprintf("C/Groups=%d H=%d W=%d", cg, q.H, q.W))
	checkConvLen("Col2imRows", "cols", cols, cg*q.KH*q.KW*(oy1-oy0)*ow,
		fmt.Sprintf("C/Groups·KH·KW=%d rows × %d output rows·OW=%d columns", cg*q.KH*q.KW, oy1-oy0, ow))
	col2imRows(img, cols, (oy1-oy0)*ow, q, cg, oh, ow, oy0, oy1)
}

// Col2imBatch is Col2im for the columns of several images lowered side
// by side, as a training step lowers a batch so that one GEMM covers it:
// image j's K×(OH·OW) columns start at cols[j*OH*OW], rows ld ≥
// images·OH·OW apart, and its Cg planes at img[j*imgStride:]. Each image
// value sums its terms in Col2im's order, so every image's result is
// Col2im's bit for bit. The images' channels are filled in parallel on the
// worker pool.
//
// It panics if p is inconsistent, ld < images·OH·OW, imgStride < Cg·H·W
// (with images > 1), or a slice is too short.
func Col2imBatch(img []float32, imgStride int, cols []float32, ld, images int, p ConvParams) {
	q, oh, ow := p.check("Col2imBatch", false)
	cg := q.C / q.Groups
	plane := oh * ow
	if images < 0 || ld < images*plane || images > 1 && imgStride < cg*q.H*q.W {
		panic(fmt.Sprintf("accel: Col2imBatch: %d images of %d columns at ld = %d, planes at stride %d (C/Groups·H·W = %d)",
			images, plane, ld, imgStride, cg*q.H*q.W))
	}
	if images == 0 {
		return
	}
	checkConvLen("Col2imBatch", "img", img, (images-1)*imgStride+cg*q.H*q.W,
		fmt.Sprintf("%d images %d apart of C/Groups=%d H=%d W=%d", images, imgStride, cg, q.H, q.W))
	checkConvLen("Col2imBatch", "cols", cols, (cg*q.KH*q.KW-1)*ld+images*plane,
		fmt.Sprintf("C/Groups·KH·KW=%d rows of %d images·OH·OW=%d columns, ld=%d", cg*q.KH*q.KW, images, plane, ld))
	if q.StrideW == 1 && tapSumKernel != nil {
		col2imTaps(tapSumKernel, img, imgStride, cols, ld, plane, images, q, cg, oh, ow, 0, oh)
		return
	}
	for j := 0; j < images; j++ {
		col2imRows(img[j*imgStride:], cols[j*plane:], ld, q, cg, oh, ow, 0, oh)
	}
}

// col2imRows adds the columns of output rows oy0..oy1 (row r of cols at
// cols[r*ld:], (oy1-oy0)·OW of them) into img, one task per channel (a
// channel's KH·KW rows of cols all land in its own plane, so tasks write
// disjoint memory and each value sums in a fixed order). p has its
// defaults filled in.
func col2imRows(img, cols []float32, ld int, p ConvParams, cg, oh, ow, oy0, oy1 int) {
	kk := p.KH * p.KW
	ncols := (oy1 - oy0) * ow
	if ncols == 0 {
		return
	}
	if p.StrideW == 1 && tapSumKernel != nil {
		col2imTaps(tapSumKernel, img, 0, cols, ld, 0, 1, p, cg, oh, ow, oy0, oy1)
		return
	}
	channel := func(ci int) {
		plane := img[ci*p.H*p.W : (ci+1)*p.H*p.W]
		for k := 0; k < kk; k++ {
			ki, kj := k/p.KW, k%p.KW
			src := cols[(ci*kk+k)*ld:][:ncols]
			yoff := ki*p.DilationH - p.PadH // iy = oy*StrideH + yoff
			xoff := kj*p.DilationW - p.PadW // ix = ox*StrideW + xoff
			ylo, yhi := validRange(oh, p.H, p.StrideH, yoff)
			ylo, yhi = min(max(ylo, oy0), oy1), max(min(yhi, oy1), oy0)
			xlo, xhi := validRange(ow, p.W, p.StrideW, xoff)
			if ylo >= yhi || xlo >= xhi {
				continue
			}
			for oy := ylo; oy < yhi; oy++ {
				seg := src[(oy-oy0)*ow+xlo : (oy-oy0)*ow+xhi]
				drow := plane[(oy*p.StrideH+yoff)*p.W : (oy*p.StrideH+yoff+1)*p.W]
				d := drow[xlo*p.StrideW+xoff:]
				if p.StrideW == 1 {
					d = d[:len(seg)]
					for i, v := range seg {
						d[i] += v
					}
					continue
				}
				st := p.StrideW
				d = d[:st*(len(seg)-1)+1]
				for i, v := range seg {
					d[st*i] += v
				}
			}
		}
	}
	if cg*kk*ncols < im2colSerial {
		for ci := 0; ci < cg; ci++ {
			channel(ci)
		}
		return
	}
	parallelFor(cg, channel)
}
