package accel

// paddedMinK is the least depth K = Cg·KH·KW for which Conv2D uses
// convPadded. Best of 60 runs at one thread (3x3, stride 1, pad 1): at
// K = 576 (64→64 at 56×56) the padded grid was 30% faster than
// im2colPacker, at K = 1152 and 2304 (52×52, 26×26) even, and at K = 27,
// 144 and 288 (416×416, 208×208) 15–30% slower.
const paddedMinK = 512

// directMinK is paddedMinK when the micro-kernel reads B in place
// (gemmKernel.direct): with no packing left, the padded grid wins from
// shallower GEMMs. Best of 15 interleaved runs at one thread, 3x3 stride 1
// (YOLOv3-tiny's and ResNet's layers): against im2colPacker, 1.12× at K =
// 144 (16→32 at 208×208), 1.31× at K = 288, 1.30–1.62× at K = 576 to
// 3456, about even at 13×13 with K = 2304 and 4608, and 0.83× at K = 27
// (3→16 at 416×416, where the output dominates).
const directMinK = 128

// paddedMin is the least depth for which Conv2D takes convPadded with the
// current micro-kernel.
func paddedMin() int {
	if gemm.direct != nil {
		return directMinK
	}
	return paddedMinK
}

// convPadded is the implicit GEMM for stride-1 convolutions, on a padded
// grid. The input is copied once into a zero-padded image [Cg, Hp, Wp]
// (Hp = H + 2·PadH, Wp = W + 2·PadW) and the output is computed on the
// padded grid's width: column j of the GEMM is output position
// (j / Wp, j % Wp), and each finished tile is copied into dst's planes
// while it is in cache (cropTile). Then the lowered matrix's row for input channel ci and
// kernel tap (ki, kj) is one contiguous stretch of the padded image,
//
//	B[r][j] = padded[ci·Hp·Wp + ki·DilationH·Wp + kj·DilationW + j]
//
// so packing B is plain copies with no per-element bounds logic
// (paddedPacker). The Wp − OW columns per row past the output's width are
// computed and dropped: 2 of every 58 columns at 56×56 with 3x3 kernels.
//
// Copying the image in and the tiles out costs about as much as the packing
// it saves when the GEMM is shallow, so Conv2D takes this path only from
// paddedMinK rows of B up. With a direct micro-kernel (AVX-512) B is not
// packed at all: the kernel reads each row's stretch where it lies in the
// padded image (offsets from paddedOffsets), and the path pays from
// directMinK rows up.
func convPadded(dst, src, weight []float32, pw *packedGroups, p ConvParams, oh, ow int, ep *Epilogue) {
	cg, ocg := p.C/p.Groups, p.OutC/p.Groups
	k := cg * p.KH * p.KW
	hp, wp := p.H+2*p.PadH, p.W+2*p.PadW
	nc := (oh-1)*wp + ow // the padded-grid columns that hold outputs
	padLen := cg * hp * wp
	// With a direct micro-kernel, B is not packed at all: its rows are read
	// where they lie in the padded image, at these offsets, and the last
	// tile's reads run up to nr−1 floats past the image (zeroed slack).
	var offs []int
	if gemm.direct != nil {
		offs = paddedOffsets(p, hp, wp)
		padLen = offs[len(offs)-1] + roundUp(nc, gemm.nr)
	}
	padBuf, outBuf := getBuf(padLen), getBuf(ocg*nc)
	defer putBuf(padBuf)
	defer putBuf(outBuf)
	pad, out := (*padBuf)[:padLen], *outBuf
	clear(pad[cg*hp*wp:])
	var direct *directB
	if offs != nil {
		direct = newDirectB(pad, offs, nc, gemm.nr)
	}
	f := newFusedEpilogue(ep, p.OutC)
	defer f.release()
	for n := 0; n < p.N; n++ {
		for g := 0; g < p.Groups; g++ {
			img := src[(n*p.C+g*cg)*p.H*p.W:]
			padImage(pad, img, cg, p.H, p.W, p.PadH, p.PadW)
			y := dst[(n*p.OutC+g*ocg)*oh*ow:]
			var packer panelPacker
			if direct == nil {
				packer = paddedPacker(pad, p, hp, wp)
			}
			f.gemm(ocg, nc, k, weight[g*ocg*k:], pw.group(g), packer, direct, out, nc, g*ocg,
				func(i, h, j, w int) { cropTile(y, out, nc, oh, ow, wp, i, h, j, w) })
		}
	}
}

// paddedOffsets returns, for each row r of the lowered matrix (input
// channel ci, kernel tap ki, kj, in the weights' order), where its
// stretch starts in the padded image [Cg, hp, wp]:
//
//	offs[r] = ci·hp·wp + ki·DilationH·wp + kj·DilationW
//
// increasing with r, so the last is the largest.
func paddedOffsets(p ConvParams, hp, wp int) []int {
	cg := p.C / p.Groups
	offs := make([]int, 0, cg*p.KH*p.KW)
	for ci := 0; ci < cg; ci++ {
		for ki := 0; ki < p.KH; ki++ {
			for kj := 0; kj < p.KW; kj++ {
				offs = append(offs, ci*hp*wp+ki*p.DilationH*wp+kj*p.DilationW)
			}
		}
	}
	return offs
}

// cropTile copies the finished tile (rows i..i+h, columns j..j+w) of the
// padded-grid output out (leading dimension nc) into the output planes y
// [rows, oh, ow], dropping the columns past the output's width; it runs
// while the tile is still in L1.
func cropTile(y, out []float32, nc, oh, ow, wp, i, h, j, w int) {
	for q := j; q < j+w; {
		oy, ox := q/wp, q%wp
		run := min(wp-ox, j+w-q)
		if ox < ow {
			n := min(run, ow-ox)
			for r := i; r < i+h; r++ {
				copy(y[(r*oh+oy)*ow+ox:(r*oh+oy)*ow+ox+n], out[r*nc+q:])
			}
		}
		q += run
	}
}

// padImage copies c planes of h×w from img into pad as planes of
// (h+2·ph)×(w+2·pw) with zero borders.
func padImage(pad, img []float32, c, h, w, ph, pw int) {
	hp, wp := h+2*ph, w+2*pw
	parallelFor(c, func(ci int) {
		plane := pad[ci*hp*wp : (ci+1)*hp*wp]
		clear(plane[:ph*wp])
		clear(plane[(ph+h)*wp:])
		for y := 0; y < h; y++ {
			row := plane[(ph+y)*wp : (ph+y+1)*wp]
			clear(row[:pw])
			copy(row[pw:pw+w], img[(ci*h+y)*w:(ci*h+y+1)*w])
			clear(row[pw+w:])
		}
	})
}

// paddedPacker packs B panels for convPadded: row r of B (input channel ci,
// kernel tap (ki, kj)) is the padded image from offset
// ci·Hp·Wp + ki·DilationH·Wp + kj·DilationW on, so each row's columns
// j0..j0+w are one contiguous copy spread over the panels.
func paddedPacker(pad []float32, p ConvParams, hp, wp int) panelPacker {
	kk := p.KH * p.KW
	return func(p0, kc, j0, w, nr int, dst []float32) {
		panels, full := (w+nr-1)/nr, w/nr
		for pp := 0; pp < kc; pp++ {
			r := p0 + pp
			ci, ki, kj := r/kk, r%kk/p.KW, r%p.KW
			off := ci*hp*wp + ki*p.DilationH*wp + kj*p.DilationW + j0
			row := pad[off : off+w]
			copyChunks(dst[pp*nr:], kc*nr, row, full, nr)
			if full < panels {
				d := dst[full*kc*nr+pp*nr : full*kc*nr+pp*nr+nr]
				clear(d[copy(d, row[full*nr:]):])
			}
		}
	}
}
