package accel

import "slices"

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

// phaseGridMax bounds the phase-plane grid, in floats, for which Conv2D
// takes convPadded at stride 2: one L2's worth. Best of 9 interleaved runs
// at one thread, 3x3 stride 2, against im2colPacker: 1.10–1.16× on ResNet's
// grids (56×56 to 14×14 inputs, 0.1–0.9 MB) and 1.40× on its 7x7 stem
// (0.6 MB), even at 3 MB (YOLOv3's 256→512 at 52×52), but 0.72–0.89× at 6
// to 22 MB (YOLOv3's 416×416 to 104×104 inputs), whose hundreds of rows a
// tile reads from memory at once outrun the prefetchers.
const phaseGridMax = l2Bytes / 4

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
// while it is in cache (cropTile). Then the lowered matrix's row for
// input channel ci and kernel tap (ki, kj) is one contiguous stretch of
// the padded image,
//
//	B[r][j] = padded[ci·Hp·Wp + ki·DilationH·Wp + kj·DilationW + j]
//
// so packing B is plain copies with no per-element bounds logic
// (offsetPacker). The Wp − OW columns per row past the output's width are
// computed and dropped: 2 of every 58 columns at 56×56 with 3x3 kernels.
//
// Copying the image in and the tiles out costs about as much as the packing
// it saves when the GEMM is shallow, so Conv2D takes this path only from
// paddedMinK rows of B up. With a direct micro-kernel (AVX-512) B is not
// packed at all: the kernel reads each row's stretch where it lies in the
// grid (at grid.offsets), and the path pays from directMinK rows up, and
// for stride 2 too, on the image split into phase planes (see grid).
func convPadded(dst, src, weight []float32, pw *packedGroups, p ConvParams, oh, ow int, ep *Epilogue) {
	cg, ocg := p.C/p.Groups, p.OutC/p.Groups
	k := cg * p.KH * p.KW
	g := newGrid(p)
	nc := (oh-1)*g.wq + ow // the grid columns that hold outputs
	offs := g.offsets(p)
	// The kernels read whole nr-wide tiles: the last tile's rows run up to
	// nr−1 floats past the image (zeroed slack).
	padLen := max(g.len(cg), slices.Max(offs)+roundUp(nc, gemm.nr))
	padBuf, outBuf := getBuf(padLen), getBuf(ocg*nc)
	defer putBuf(padBuf)
	defer putBuf(outBuf)
	pad, out := (*padBuf)[:padLen], *outBuf
	clear(pad[g.len(cg):])
	// With a direct micro-kernel, B is not packed at all: the kernel reads
	// each row's stretch where it lies in the image.
	var direct *directB
	var packer panelPacker
	if gemm.direct != nil {
		direct = newDirectB(pad, offs, nc, gemm.nr)
	} else {
		packer = offsetPacker(pad, offs)
	}
	f := newFusedEpilogue(ep, p.OutC)
	defer f.release()
	for n := 0; n < p.N; n++ {
		for gr := 0; gr < p.Groups; gr++ {
			img := src[(n*p.C+gr*cg)*p.H*p.W:]
			g.fill(pad, img, cg, p)
			y := dst[(n*p.OutC+gr*ocg)*oh*ow:]
			f.gemm(ocg, nc, k, weight[gr*ocg*k:], pw.group(gr), packer, direct, out, nc, gr*ocg,
				func(i, h, j, w int) { cropTile(y, out, nc, oh, ow, g.wq, i, h, j, w) })
		}
	}
}

// grid is the image convPadded multiplies by: the zero-padded input,
// [Cg, Hp, Wp], for stride 1; for stride s > 1, the padded input split
// into s×s phase planes, [Cg, s, s, ⌈Hp/s⌉, ⌈Wp/s⌉], plane (a, b) holding
// the pixels at rows ≡ a and columns ≡ b (mod s). A stride-s convolution
// reads, for output (oy, ox) and tap (ki, kj), phase (ki mod s, kj mod s)
// at (oy + ki/s, ox + kj/s): on the phase planes it is a stride-1
// convolution, whose lowered rows are again contiguous stretches.
type grid struct {
	s      int // the stride; 1 or, with dilation 1, 2 and more
	hp, wp int // the padded input
	hq, wq int // a phase plane (hp, wp for stride 1)
}

func newGrid(p ConvParams) grid {
	g := grid{s: p.StrideH, hp: p.H + 2*p.PadH, wp: p.W + 2*p.PadW}
	g.hq, g.wq = (g.hp+g.s-1)/g.s, (g.wp+g.s-1)/g.s
	return g
}

// len is the length of a grid of c channels.
func (g grid) len(c int) int { return c * g.s * g.s * g.hq * g.wq }

// offsets returns, for each row r of the lowered matrix (input channel
// ci, kernel tap ki, kj, in the weights' order), where its stretch starts
// in the grid:
//
//	stride 1: ci·Hp·Wp + ki·DilationH·Wp + kj·DilationW
//	stride s: ((ci·s + ki mod s)·s + kj mod s)·hq·wq + (ki/s)·wq + kj/s
//
// (at stride s not in increasing order: the phases interleave).
func (g grid) offsets(p ConvParams) []int {
	cg, s := p.C/p.Groups, g.s
	offs := make([]int, 0, cg*p.KH*p.KW)
	for ci := 0; ci < cg; ci++ {
		for ki := 0; ki < p.KH; ki++ {
			for kj := 0; kj < p.KW; kj++ {
				if s == 1 {
					offs = append(offs, ci*g.hp*g.wp+ki*p.DilationH*g.wp+kj*p.DilationW)
				} else {
					offs = append(offs, ((ci*s+ki%s)*s+kj%s)*g.hq*g.wq+ki/s*g.wq+kj/s)
				}
			}
		}
	}
	return offs
}

// fill writes the grid of the c channels of img [c, H, W] into dst.
func (g grid) fill(dst, img []float32, c int, p ConvParams) {
	if g.s == 1 {
		padImage(dst, img, c, p.H, p.W, p.PadH, p.PadW)
		return
	}
	s, ph, pw := g.s, p.PadH, p.PadW
	parallelFor(c, func(ci int) {
		planes := dst[ci*s*s*g.hq*g.wq : (ci+1)*s*s*g.hq*g.wq]
		for a := 0; a < s; a++ {
			for b := 0; b < s; b++ {
				plane := planes[(a*s+b)*g.hq*g.wq : (a*s+b+1)*g.hq*g.wq]
				for y := 0; y < g.hq; y++ {
					row := plane[y*g.wq : (y+1)*g.wq]
					iy := y*s + a - ph // the input row
					if iy < 0 || iy >= p.H {
						clear(row)
						continue
					}
					src := img[(ci*p.H+iy)*p.W : (ci*p.H+iy+1)*p.W]
					for x := range row {
						ix := x*s + b - pw
						if ix >= 0 && ix < p.W {
							row[x] = src[ix]
						} else {
							row[x] = 0
						}
					}
				}
			}
		}
	})
}

// offsetPacker packs B's panels from the rows of a grid at offs, for
// micro-kernels that cannot read them in place.
func offsetPacker(pad []float32, offs []int) panelPacker {
	return func(p0, kc, j0, w, nr int, dst []float32) {
		panels, full := (w+nr-1)/nr, w/nr
		for pp := 0; pp < kc; pp++ {
			row := pad[offs[p0+pp]+j0 : offs[p0+pp]+j0+w]
			copyChunks(dst[pp*nr:], kc*nr, row, full, nr)
			if full < panels {
				d := dst[full*kc*nr+pp*nr : full*kc*nr+pp*nr+nr]
				clear(d[copy(d, row[full*nr:]):])
			}
		}
	}
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
