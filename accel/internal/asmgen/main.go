// Command asmgen generates accel's Go-assembly micro-kernels with avo
// (github.com/mmcloughlin/avo). It is its own module so that accel itself
// does not depend on avo. Regenerate from accel/ with
//
//	go generate ./...
//
// which runs (see accel/gen.go)
//
//	cd internal/asmgen && go run . -out ../../sgemm_amd64.s -stubs ../../sgemm_stub_amd64.go -pkg accel
//
// CI regenerates and diffs the output.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("amd64")
	ConstraintExpr("!purego")
	sgemmTile(sgemmShape{
		name: "sgemmTile8x32AVX512", mr: 8, vecs: 2, lanes: 16,
		vec: func() reg.VecVirtual { return ZMM() }, isa: "AVX-512F",
		zero: func(r reg.VecVirtual) { VPXORD(r, r, r) },
	})
	sgemmTile(sgemmShape{
		name: "sgemmTileDirect8x32AVX512", mr: 8, vecs: 2, lanes: 16,
		vec: func() reg.VecVirtual { return ZMM() }, isa: "AVX-512F",
		zero: func(r reg.VecVirtual) { VPXORD(r, r, r) }, direct: true,
	})
	sgemmTile(sgemmShape{
		name: "sgemmTile6x16AVX2", mr: 6, vecs: 2, lanes: 8,
		vec: func() reg.VecVirtual { return YMM() }, isa: "AVX2 and FMA3",
		zero: func(r reg.VecVirtual) { VXORPS(r, r, r) },
	})
	copyChunks()
	maxPool2x2()
	depthwise3x3()
	depthwiseRows()
	dotTile()
	copyBlock()
	tapSum()
	winograd()
	Generate()
}

// dwUnroll is how many 16-float vectors one trip of depthwise3x3's loop
// computes: independent chains, so the nine dependent multiply-adds of
// each (4 cycles apiece) overlap.
const dwUnroll = 4

// depthwise3x3 emits
//
//	func dw3x3AVX512(o, r *float32, wp int, w *[9]float32, n int, ep *[5]float32, flags int)
//
// the 3x3 stride-1 depthwise filter on a plane laid out with row length
// wp, for n outputs (a multiple of 16):
//
//	for i := 0; i < n; i++ {
//		y := w[0]*r[i] + w[1]*r[i+1] + w[2]*r[i+2] +
//			w[3]*r[i+wp] + w[4]*r[i+wp+1] + w[5]*r[i+wp+2] +
//			w[6]*r[i+2wp] + w[7]*r[i+2wp+1] + w[8]*r[i+2wp+2] // in this order, fused
//		if flags&flagAffine != 0 { y = y*ep[0] + ep[1] }
//		if flags&flagClampLo != 0 { y = max(y, ep[2]) }
//		if flags&flagClampHi != 0 { y = min(y, ep[3]) }
//		if flags&flagLeaky != 0 { y = max(y, ep[4]*y) }
//		o[i] = y
//	}
func depthwise3x3() {
	TEXT("dw3x3AVX512", NOSPLIT, "func(o, r *float32, wp int, w *[9]float32, n int, ep *[5]float32, flags int)")
	Pragma("noescape")
	Doc("dw3x3AVX512 is a 3x3 stride-1 depthwise filter over a padded plane, epilogue fused: see depthwise3x3 in accel/internal/asmgen.")
	o := Load(Param("o"), GP64())
	r := Load(Param("r"), GP64())
	wp := Load(Param("wp"), GP64())
	SHLQ(U8(2), wp)
	wptr := Load(Param("w"), GP64())
	n := Load(Param("n"), GP64())
	ep := Load(Param("ep"), GP64())
	flags := Load(Param("flags"), GP64())
	var w [9]reg.VecVirtual
	for i := range w {
		w[i] = ZMM()
		VBROADCASTSS(Mem{Base: wptr, Disp: 4 * i}, w[i])
	}
	e := loadChannelEpilogue(ep)
	r1, r2 := GP64(), GP64() // the second and third rows of the window
	// body emits one trip over u 16-float vectors: the nine taps in order,
	// the epilogue steps whose flags are set, the stores.
	body := func(label string, u int) {
		MOVQ(r, r1)
		ADDQ(wp, r1)
		MOVQ(r1, r2)
		ADDQ(wp, r2)
		acc := make([]reg.VecVirtual, u)
		for v := range acc {
			acc[v] = ZMM()
			VMULPS(Mem{Base: r, Disp: 64 * v}, w[0], acc[v])
		}
		rows := []reg.Register{r, r1, r2}
		for k := 1; k < 9; k++ {
			for v := range acc {
				VFMADD231PS(Mem{Base: rows[k/3], Disp: 64*v + 4*(k%3)}, w[k], acc[v])
			}
		}
		channelEpilogue(label, flags, e, acc...)
		for v, a := range acc {
			VMOVUPS(a, Mem{Base: o, Disp: 64 * v})
		}
		ADDQ(U32(64*u), o)
		ADDQ(U32(64*u), r)
		SUBQ(U32(16*u), n)
	}
	Comment("Blocks of dwUnroll vectors, then single vectors.")
	Label("loop")
	CMPQ(n, U32(16*dwUnroll))
	JL(LabelRef("one"))
	body("loop", dwUnroll)
	JMP(LabelRef("loop"))
	Label("one")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	body("one", 1)
	JMP(LabelRef("one"))
	Label("done")
	VZEROUPPER()
	RET()
}

// loadChannelEpilogue broadcasts one channel's epilogue, the [5]float32 at
// ep (scale, shift, lo, hi, slope), into five vectors: the depthwise and
// Winograd kernels' operand.
func loadChannelEpilogue(ep reg.Register) [5]reg.VecVirtual {
	var e [5]reg.VecVirtual
	for i := range e {
		e[i] = ZMM()
		VBROADCASTSS(Mem{Base: ep, Disp: 4 * i}, e[i])
	}
	return e
}

// channelEpilogue emits loadChannelEpilogue's epilogue on each vector of
// acc, each step only when its bit is set in the register flags (tested
// at run time):
//
//	if flags&flagAffine != 0 { y = y*scale + shift } // one fused multiply-add
//	if flags&flagClampLo != 0 { y = max(y, lo) }
//	if flags&flagClampHi != 0 { y = min(y, hi) }
//	if flags&flagLeaky != 0 { y = max(y, slope*y) }
//
// label names the call site, for its skip labels.
func channelEpilogue(label string, flags reg.Register, e [5]reg.VecVirtual, acc ...reg.VecVirtual) {
	for _, step := range []struct {
		flag int
		emit func(a reg.VecVirtual)
	}{
		{flagAffine, func(a reg.VecVirtual) { VFMADD213PS(e[1], e[0], a) }},
		{flagClampLo, func(a reg.VecVirtual) { VMAXPS(a, e[2], a) }},
		{flagClampHi, func(a reg.VecVirtual) { VMINPS(a, e[3], a) }},
		{flagLeaky, func(a reg.VecVirtual) {
			t := ZMM()
			VMULPS(e[4], a, t)
			VMAXPS(a, t, a)
		}},
	} {
		skip := fmt.Sprintf("%s_skip%d", label, step.flag)
		TESTQ(U32(step.flag), flags)
		JZ(LabelRef(skip))
		for _, a := range acc {
			step.emit(a)
		}
		Label(skip)
	}
}

// copyChunks emits
//
//	func copyChunksAVX(dst *float32, dstStride int, src *float32, n, width int)
//
// copying n chunks of width floats (a multiple of 8), read one after
// another from src and written dstStride floats apart in dst:
//
//	for c := 0; c < n; c++ {
//		copy(dst[c*dstStride:c*dstStride+width], src[c*width:(c+1)*width])
//	}
//
// The implicit GEMM uses it to move a stretch of an input row into
// consecutive B panels (dstStride = kc·NR) in one call.
func copyChunks() {
	TEXT("copyChunksAVX", NOSPLIT, "func(dst *float32, dstStride int, src *float32, n, width int)")
	Pragma("noescape")
	Doc("copyChunksAVX copies n chunks of width floats from src to dst, dstStride floats apart: see copyChunks in accel/internal/asmgen.")
	dst := Load(Param("dst"), GP64())
	stride := Load(Param("dstStride"), GP64())
	SHLQ(U8(2), stride)
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	width := Load(Param("width"), GP64())
	bytes := GP64()
	MOVQ(width, bytes)
	SHLQ(U8(2), bytes)
	v := YMM()
	Label("chunk")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	off := GP64()
	XORQ(off, off)
	Label("vec")
	VMOVUPS(Mem{Base: src, Index: off, Scale: 1}, v)
	VMOVUPS(v, Mem{Base: dst, Index: off, Scale: 1})
	ADDQ(U8(32), off)
	CMPQ(off, bytes)
	JL(LabelRef("vec"))
	ADDQ(bytes, src)
	ADDQ(stride, dst)
	DECQ(n)
	JMP(LabelRef("chunk"))
	Label("done")
	VZEROUPPER()
	RET()
}

// sgemmShape describes one register-blocked micro-kernel: an mr×(vecs·lanes)
// tile of C held in mr·vecs vector registers.
type sgemmShape struct {
	name  string
	mr    int // rows of the tile: A values broadcast per depth step
	vecs  int // vector registers per row of the tile
	lanes int // float32 lanes per vector register
	vec   func() reg.VecVirtual
	zero  func(reg.VecVirtual)
	isa   string
	// direct reads B in place rather than packed: row p of the tile's B
	// is the nr floats at b[offs[p]:], offs a table of k ints (the
	// direct convolution: rows of a padded image, accel/conv2d_padded.go).
	direct bool
}

// unroll is how many depth steps one trip of the main loop does.
const unroll = 4

// The flags of a tile call, as accel's sgemm_amd64.go passes them.
const (
	flagLoadC   = 1 << iota // add beta·C (else C is not read)
	flagAffine              // y = y·ep[i] + ep[mr+i] for row i
	flagClampLo             // y = max(y, ep[2mr])
	flagClampHi             // y = min(y, ep[2mr+1])
	flagLeaky               // y = max(y, ep[2mr+2]·y): leaky ReLU for a slope in [0, 1]
)

// sgemmTile emits
//
//	func name(k int, a, b, c *float32, ldc int, alpha, beta float32, flags int, ep *float32)
//
// computing, for a packed mr×k panel a (a[p*mr+i]) and a packed k×nr panel
// b (b[p*nr+j]), with nr = vecs·lanes,
//
//	y := alpha·Σ_p a[p*mr+i]·b[p*nr+j]
//	if flags&flagLoadC != 0 { y += beta·c[i*ldc+j] }
//	if flags&flagAffine != 0 { y = y·ep[i] + ep[mr+i] }
//	if flags&flagClampLo != 0 { y = max(y, ep[2*mr]) }
//	if flags&flagClampHi != 0 { y = min(y, ep[2*mr+1]) }
//	if flags&flagLeaky != 0 { y = max(y, ep[2*mr+2]*y) }
//	c[i*ldc+j] = y
//
// The depth loop keeps the tile in registers: per step, vecs loads of B,
// mr broadcasts of A, mr·vecs fused multiply-adds.
//
// With s.direct, it is
//
//	func name(k int, a, b, c *float32, ldc int, alpha, beta float32, flags int, ep *float32, offs *int)
//
// and B's row p is read where it lies, b[offs[p]+j], instead of from a
// packed panel: one more load (the offset) per depth step.
func sgemmTile(s sgemmShape) {
	nr := s.vecs * s.lanes
	sig := "func(k int, a, b, c *float32, ldc int, alpha, beta float32, flags int, ep *float32)"
	if s.direct {
		sig = "func(k int, a, b, c *float32, ldc int, alpha, beta float32, flags int, ep *float32, offs *int)"
	}
	TEXT(s.name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes one %d×%d tile of C with %s: see sgemmTile in accel/internal/asmgen.", s.name, s.mr, nr, s.isa))

	k := Load(Param("k"), GP64())
	a := Load(Param("a"), GP64())
	b := Load(Param("b"), GP64())
	var offs reg.Register
	if s.direct {
		offs = Load(Param("offs"), GP64())
	}

	// Prefetch the C tile (each row's first and last byte, so a row that
	// straddles cache lines is covered) so its cache misses overlap the
	// depth loop instead of stalling the final update.
	{
		c := Load(Param("c"), GP64())
		ldc := Load(Param("ldc"), GP64())
		SHLQ(U8(2), ldc)
		for i := 0; i < s.mr; i++ {
			PREFETCHT0(Mem{Base: c})
			PREFETCHT0(Mem{Base: c, Disp: 4*nr - 1})
			if i+1 < s.mr {
				ADDQ(ldc, c)
			}
		}
	}

	acc := make([][]reg.VecVirtual, s.mr)
	for i := range acc {
		acc[i] = make([]reg.VecVirtual, s.vecs)
		for j := range acc[i] {
			acc[i][j] = s.vec()
			s.zero(acc[i][j])
		}
	}
	bv := make([]reg.VecVirtual, s.vecs)
	for j := range bv {
		bv[j] = s.vec()
	}
	// Two broadcast registers alternate, so a broadcast need not wait for
	// the multiply-adds reading the previous one. (Broadcasting from memory
	// inside each multiply-add, and taller tiles of 12 or 14 rows, measured
	// no faster in place: BenchmarkSgemm, -cpu 1.)
	av := []reg.VecVirtual{s.vec(), s.vec()}

	step := func(p int) {
		if s.direct {
			off := GP64()
			MOVQ(Mem{Base: offs, Disp: 8 * p}, off)
			for j := range bv {
				VMOVUPS(Mem{Base: b, Index: off, Scale: 4, Disp: 4 * j * s.lanes}, bv[j])
			}
			// The next tile's stretch of this row: hundreds of rows
			// advance together, more streams than the hardware
			// prefetchers follow.
			PREFETCHT0(Mem{Base: b, Index: off, Scale: 4, Disp: 4 * nr})
			PREFETCHT0(Mem{Base: b, Index: off, Scale: 4, Disp: 4*nr + 64})
		} else {
			for j := range bv {
				VMOVUPS(Mem{Base: b, Disp: 4 * (p*nr + j*s.lanes)}, bv[j])
			}
		}
		for i := 0; i < s.mr; i++ {
			x := av[i%2]
			VBROADCASTSS(Mem{Base: a, Disp: 4 * (p*s.mr + i)}, x)
			for j := range bv {
				VFMADD231PS(x, bv[j], acc[i][j])
			}
		}
	}

	Comment("Main loop: unrolled depth steps.")
	Label("unrolled")
	CMPQ(k, U32(unroll))
	JL(LabelRef("tail"))
	for p := 0; p < unroll; p++ {
		step(p)
	}
	ADDQ(U32(4*unroll*s.mr), a)
	if s.direct {
		ADDQ(U32(8*unroll), offs)
	} else {
		ADDQ(U32(4*unroll*nr), b)
	}
	SUBQ(U32(unroll), k)
	JMP(LabelRef("unrolled"))

	Comment("Remaining depth steps, one at a time.")
	Label("tail")
	TESTQ(k, k)
	JZ(LabelRef("store"))
	step(0)
	ADDQ(U32(4*s.mr), a)
	if s.direct {
		ADDQ(U32(8), offs)
	} else {
		ADDQ(U32(4*nr), b)
	}
	DECQ(k)
	JMP(LabelRef("tail"))

	Comment("C = alpha·acc (+ beta·C), then the epilogue; flags say which steps run.")
	Label("store")
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	flags := Load(Param("flags"), GP64())
	alpha := s.vec()
	VBROADCASTSS(NewParamAddr("alpha", 40), alpha)
	for i := range acc {
		for j := range acc[i] {
			VMULPS(alpha, acc[i][j], acc[i][j])
		}
	}

	TESTQ(U32(flagLoadC), flags)
	JZ(LabelRef("affine"))
	beta := s.vec()
	VBROADCASTSS(NewParamAddr("beta", 44), beta)
	row := GP64()
	MOVQ(c, row)
	for i := range acc {
		for j := range acc[i] {
			VFMADD231PS(Mem{Base: row, Disp: 4 * j * s.lanes}, beta, acc[i][j])
		}
		if i+1 < s.mr {
			ADDQ(ldc, row)
		}
	}

	// ep holds scale[0:mr], shift[mr:2mr], lo at 2mr, hi at 2mr+1.
	Label("affine")
	TESTQ(U32(flagAffine), flags)
	JZ(LabelRef("clamplo"))
	ep := Load(Param("ep"), GP64())
	for i := range acc {
		sv, tv := s.vec(), s.vec()
		VBROADCASTSS(Mem{Base: ep, Disp: 4 * i}, sv)
		VBROADCASTSS(Mem{Base: ep, Disp: 4 * (s.mr + i)}, tv)
		for j := range acc[i] {
			VFMADD213PS(tv, sv, acc[i][j]) // acc = acc·scale + shift
		}
	}

	// max(lo, acc) and min(hi, acc) with acc as the second source, so a NaN
	// in acc is what comes out (Intel's rule for VMAXPS/VMINPS).
	for _, cl := range []struct {
		flag  int
		label string
		next  string
		slot  int
		instr func(ops ...Op)
	}{
		{flagClampLo, "clamplo", "clamphi", 2 * s.mr, VMAXPS},
		{flagClampHi, "clamphi", "leaky", 2*s.mr + 1, VMINPS},
	} {
		Label(cl.label)
		TESTQ(U32(cl.flag), flags)
		JZ(LabelRef(cl.next))
		ep := Load(Param("ep"), GP64())
		bound := s.vec()
		VBROADCASTSS(Mem{Base: ep, Disp: 4 * cl.slot}, bound)
		for i := range acc {
			for j := range acc[i] {
				cl.instr(acc[i][j], bound, acc[i][j])
			}
		}
	}

	// Leaky ReLU as max(y, slope·y), y the second source again for NaN.
	Label("leaky")
	TESTQ(U32(flagLeaky), flags)
	JZ(LabelRef("write"))
	{
		ep := Load(Param("ep"), GP64())
		slope, t := s.vec(), s.vec()
		VBROADCASTSS(Mem{Base: ep, Disp: 4 * (2*s.mr + 2)}, slope)
		for i := range acc {
			for j := range acc[i] {
				VMULPS(slope, acc[i][j], t)
				VMAXPS(acc[i][j], t, acc[i][j])
			}
		}
	}

	Label("write")
	for i := range acc {
		for j := range acc[i] {
			VMOVUPS(acc[i][j], Mem{Base: c, Disp: 4 * j * s.lanes})
		}
		if i+1 < s.mr {
			ADDQ(ldc, c)
		}
	}
	VZEROUPPER()
	RET()
}

// The block of C one dotTile call computes: dotRows rows of A by dotCols
// rows of B. 24 accumulators, plus 4 B vectors and an A vector, fill 29 of
// the 32 zmm registers; each 16-deep step is 10 loads for 24 multiply-adds.
const dotRows, dotCols = 6, 4

// dotTile emits
//
//	func dotTile6x4AVX512(k int, a *[6]*float32, b *[4]*float32, out *[24]float32, tail int)
//
// the dot products of six rows of A with four rows of B, each row k
// contiguous floats (A·Bᵀ with the depth contiguous in both, no packing):
//
//	for i := 0; i < 6; i++ {
//		for j := 0; j < 4; j++ {
//			var lane [16]float32
//			for p := 0; p < k; p++ {
//				lane[p%16] += a[i][p] * b[j][p] // fused, in order of p
//			}
//			// lanes summed as a tree: l+8, then +4, +2, +1
//			out[i*4+j] = sum(lane)
//		}
//	}
//
// tail is the mask of the last k%16 lanes, (1<<(k%16))-1: the last partial
// vector is loaded with it, zeros in the other lanes, so nothing past a
// row is read.
func dotTile() {
	TEXT("dotTile6x4AVX512", NOSPLIT, "func(k int, a *[6]*float32, b *[4]*float32, out *[24]float32, tail int)")
	Pragma("noescape")
	Doc("dotTile6x4AVX512 computes the 6×4 dot products of six rows of A with four rows of B: see dotTile in accel/internal/asmgen.")
	ap := Load(Param("a"), GP64())
	bp := Load(Param("b"), GP64())
	var ar [dotRows]reg.GPVirtual
	for i := range ar {
		ar[i] = GP64()
		MOVQ(Mem{Base: ap, Disp: 8 * i}, ar[i])
	}
	var br [dotCols]reg.GPVirtual
	for j := range br {
		br[j] = GP64()
		MOVQ(Mem{Base: bp, Disp: 8 * j}, br[j])
	}
	end := Load(Param("k"), GP64())
	ANDQ(I32(-16), end)
	SHLQ(U8(2), end) // bytes in whole vectors
	off := GP64()
	XORQ(off, off)

	var acc [dotRows][dotCols]reg.VecVirtual
	for i := range acc {
		for j := range acc[i] {
			acc[i][j] = ZMM()
			VPXORD(acc[i][j], acc[i][j], acc[i][j])
		}
	}
	var bv [dotCols]reg.VecVirtual
	for j := range bv {
		bv[j] = ZMM()
	}
	av := ZMM()
	// step emits one 16-deep step at byte offset off, loading through load.
	step := func(load func(m Mem, v reg.VecVirtual)) {
		for j := range bv {
			load(Mem{Base: br[j], Index: off, Scale: 1}, bv[j])
		}
		for i := range acc {
			load(Mem{Base: ar[i], Index: off, Scale: 1}, av)
			for j := range bv {
				VFMADD231PS(av, bv[j], acc[i][j])
			}
		}
	}

	Comment("Whole 16-float vectors.")
	Label("loop")
	CMPQ(off, end)
	JGE(LabelRef("tail"))
	step(func(m Mem, v reg.VecVirtual) { VMOVUPS(m, v) })
	ADDQ(U32(64), off)
	JMP(LabelRef("loop"))

	Comment("The last k%16 floats, masked: zeros in the other lanes.")
	Label("tail")
	tail := GP64()
	Load(Param("tail"), tail)
	TESTQ(tail, tail)
	JZ(LabelRef("reduce"))
	mask := K()
	KMOVW(tail.As32(), mask)
	step(func(m Mem, v reg.VecVirtual) { VMOVUPS_Z(m, mask, v) })

	Comment("Sum each accumulator's lanes: halves, quarters, pairs, neighbours.")
	Label("reduce")
	out := Load(Param("out"), GP64())
	y, x, t := YMM(), XMM(), XMM()
	for i := range acc {
		for j := range acc[i] {
			z := acc[i][j]
			VEXTRACTF64X4(U8(1), z, y)
			VADDPS(y, z.AsY(), y)
			VEXTRACTF32X4(U8(1), y, x)
			VADDPS(x, y.AsX(), x)
			VPERMILPS(U8(0x4e), x, t)
			VADDPS(t, x, x)
			VPERMILPS(U8(0xb1), x, t)
			VADDPS(t, x, x)
			VMOVSS(x, Mem{Base: out, Disp: 4 * (i*dotCols + j)})
		}
	}
	VZEROUPPER()
	RET()
}

// copyBlock emits
//
//	func copyBlockAVX512(dst *float32, ldd int, src *float32, lds int, rows, width, tail, count, dstStride, srcStride int)
//
// the copy of count rows×width blocks between two row-major matrices of
// leading dimensions ldd and lds, block b at dst[b*dstStride:] and
// src[b*srcStride:]:
//
//	for b := 0; b < count; b++ {
//		for r := 0; r < rows; r++ {
//			copy(dst[b*dstStride+r*ldd:][:width], src[b*srcStride+r*lds:][:width])
//		}
//	}
//
// Whole 16-float vectors, then the last width%16 floats through the mask
// tail = (1<<(width%16))-1, so nothing outside the blocks is read or
// written. A convolution's lowering copies each kernel tap's window of an
// input plane this way, for every image of a batch in one call.
func copyBlock() {
	TEXT("copyBlockAVX512", NOSPLIT, "func(dst *float32, ldd int, src *float32, lds int, rows, width, tail, count, dstStride, srcStride int)")
	Pragma("noescape")
	Doc("copyBlockAVX512 copies count rows×width blocks of src into dst, leading dimensions lds and ldd: see copyBlock in accel/internal/asmgen.")
	dst0 := Load(Param("dst"), GP64())
	ldd := Load(Param("ldd"), GP64())
	SHLQ(U8(2), ldd)
	src0 := Load(Param("src"), GP64())
	lds := Load(Param("lds"), GP64())
	SHLQ(U8(2), lds)
	end := Load(Param("width"), GP64())
	ANDQ(I32(-16), end)
	SHLQ(U8(2), end) // bytes in whole vectors
	tail := GP64()
	Load(Param("tail"), tail)
	mask := K()
	KMOVW(tail.As32(), mask)
	count := Load(Param("count"), GP64())
	v := ZMM()
	off, rows, dst, src := GP64(), GP64(), GP64(), GP64()

	Label("block")
	TESTQ(count, count)
	JZ(LabelRef("done"))
	Load(Param("rows"), rows)
	MOVQ(dst0, dst)
	MOVQ(src0, src)
	Label("row")
	TESTQ(rows, rows)
	JZ(LabelRef("next"))
	XORQ(off, off)
	Label("vec")
	CMPQ(off, end)
	JGE(LabelRef("tail"))
	VMOVUPS(Mem{Base: src, Index: off, Scale: 1}, v)
	VMOVUPS(v, Mem{Base: dst, Index: off, Scale: 1})
	ADDQ(U32(64), off)
	JMP(LabelRef("vec"))
	Label("tail")
	TESTQ(tail, tail)
	JZ(LabelRef("rowdone"))
	VMOVUPS_Z(Mem{Base: src, Index: off, Scale: 1}, mask, v)
	VMOVUPS(v, mask, Mem{Base: dst, Index: off, Scale: 1})
	Label("rowdone")
	ADDQ(ldd, dst)
	ADDQ(lds, src)
	DECQ(rows)
	JMP(LabelRef("row"))
	Label("next")
	step := GP64()
	Load(Param("dstStride"), step)
	SHLQ(U8(2), step)
	ADDQ(step, dst0)
	Load(Param("srcStride"), step)
	SHLQ(U8(2), step)
	ADDQ(step, src0)
	DECQ(count)
	JMP(LabelRef("block"))
	Label("done")
	VZEROUPPER()
	RET()
}

// tapSum emits
//
//	func tapSumAVX512(dst *float32, dmask int, src *float32, taps *int, n int)
//
// adding n masked, shifted stretches of src into one 16-float stretch of
// dst, in order, each value one float32 addition per tap that covers it:
//
//	for t := 0; t < n; t++ {
//		off, mask := taps[2*t], taps[2*t+1]
//		for x := 0; x < 16; x++ {
//			if mask&(1<<x) != 0 {
//				dst[x] += src[off+x]
//			}
//		}
//	}
//
// dst is loaded once under dmask (the lanes inside its row), summed in a
// register and stored once. A convolution's adjoint lowering (col2im)
// with stride 1 is this per row of the input gradient: the taps are the
// rows of the lowered matrix that land on it, each shifted by its kernel
// column. Adding tap after tap into memory instead makes every tap load
// what the previous one just stored, a masked store the load cannot take
// its value from.
func tapSum() {
	TEXT("tapSumAVX512", NOSPLIT, "func(dst *float32, dmask int, src *float32, taps *int, n int)")
	Pragma("noescape")
	Doc("tapSumAVX512 adds n masked, shifted 16-float stretches of src into one of dst: see tapSum in accel/internal/asmgen.")
	dst := Load(Param("dst"), GP64())
	dm := GP64()
	Load(Param("dmask"), dm)
	dmask := K()
	KMOVW(dm.As32(), dmask)
	src := Load(Param("src"), GP64())
	taps := Load(Param("taps"), GP64())
	n := Load(Param("n"), GP64())
	acc, v := ZMM(), ZMM()
	VMOVUPS_Z(Mem{Base: dst}, dmask, acc)
	off, m := GP64(), GP64()
	mask := K()
	Label("tap")
	TESTQ(n, n)
	JZ(LabelRef("store"))
	MOVQ(Mem{Base: taps}, off)
	MOVQ(Mem{Base: taps, Disp: 8}, m)
	KMOVW(m.As32(), mask)
	VMOVUPS_Z(Mem{Base: src, Index: off, Scale: 4}, mask, v)
	VADDPS(v, acc, mask, acc)
	ADDQ(U8(16), taps)
	DECQ(n)
	JMP(LabelRef("tap"))
	Label("store")
	VMOVUPS(acc, dmask, Mem{Base: dst})
	VZEROUPPER()
	RET()
}
