package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// Winograd's F(2×2, 3×3) transforms (accel/conv2d_winograd.go), 16 tiles
// of a tile row to a vector: tile t's 4×4 input patch starts at column 2t,
// so the four columns of a patch row are, over 16 tiles, the even and odd
// columns of 32 floats from 2t₀ and of 32 floats from 2t₀+2, taken apart
// with VPERMT2PS as maxPool2x2 does.

// stridedMem addresses base + k·step for k in 0..3, with step and 3·step in
// registers (SIB scales 1 and 2 reach k = 1, 2).
type stridedMem struct {
	base, step, step3 reg.Register
}

func (s stridedMem) at(k, disp int) Mem {
	switch k {
	case 0:
		return Mem{Base: s.base, Disp: disp}
	case 1:
		return Mem{Base: s.base, Index: s.step, Scale: 1, Disp: disp}
	case 2:
		return Mem{Base: s.base, Index: s.step, Scale: 2, Disp: disp}
	}
	return Mem{Base: s.base, Index: s.step3, Scale: 1, Disp: disp}
}

// winogradIn emits
//
//	func winoInAVX512(v *float32, ldv int, r *float32, wp, n int)
//
// the input transform V = Bᵀ d B of n tiles along a row, with winoInGo's
// meaning and order of operations: tile t's patch is d[i][j] =
// r[i·wp + 2t + j]; V at ξ = 4i+j goes to v[ξ·ldv + t].
func winogradIn() {
	TEXT("winoInAVX512", NOSPLIT, "func(v *float32, ldv int, r *float32, wp, n int)")
	Pragma("noescape")
	Doc("winoInAVX512 is Winograd F(2×2, 3×3)'s input transform of n tiles: see winogradIn in accel/internal/asmgen.")
	v := Load(Param("v"), GP64())
	ldv := Load(Param("ldv"), GP64())
	SHLQ(U8(2), ldv)
	r := Load(Param("r"), GP64())
	wp := Load(Param("wp"), GP64())
	SHLQ(U8(2), wp)
	n := GP64()
	Load(Param("n"), n)

	ldv3, wp3 := GP64(), GP64()
	LEAQ(Mem{Base: ldv, Index: ldv, Scale: 2}, ldv3)
	LEAQ(Mem{Base: wp, Index: wp, Scale: 2}, wp3)
	// v4 = v + 4·ldv, v8, v12: the four rows of V, each reached with
	// stridedMem.
	var vrows [4]reg.Register
	vrows[0] = v
	for i := 1; i < 4; i++ {
		vrows[i] = GP64()
		LEAQ(Mem{Base: vrows[i-1], Index: ldv, Scale: 4}, vrows[i])
	}
	in := stridedMem{r, wp, wp3}
	even, odd := ZMM(), ZMM()
	VMOVUPS(winoEven, even)
	VMOVUPS(winoOdd, odd)

	// trip transforms 16 tiles, or under masks (lo, hi for the loads, one
	// for the stores) fewer.
	trip := func(lo, hi, one reg.OpmaskVirtual) {
		var e [4][4]reg.VecVirtual
		for i := range 4 {
			var d [4]reg.VecVirtual
			for half, disp := range []int{0, 8} { // columns 2t, 2t+1; then 2t+2, 2t+3
				a, b, ev := ZMM(), ZMM(), ZMM()
				if lo == nil {
					VMOVUPS(in.at(i, disp), a)
					VMOVUPS(in.at(i, disp+64), b)
				} else {
					VMOVUPS_Z(in.at(i, disp), lo, a)
					VMOVUPS_Z(in.at(i, disp+64), hi, b)
				}
				VMOVAPS(a, ev)
				VPERMT2PS(b, even, ev)
				VPERMT2PS(b, odd, a)
				d[2*half], d[2*half+1] = ev, a
			}
			for j := range 4 {
				e[i][j] = ZMM()
			}
			VSUBPS(d[2], d[0], e[i][0]) // d0 − d2
			VADDPS(d[2], d[1], e[i][1]) // d1 + d2
			VSUBPS(d[1], d[2], e[i][2]) // d2 − d1
			VSUBPS(d[3], d[1], e[i][3]) // d1 − d3
		}
		for j := range 4 {
			var row [4]reg.VecVirtual
			for i := range row {
				row[i] = ZMM()
			}
			VSUBPS(e[2][j], e[0][j], row[0]) // e0 − e2
			VADDPS(e[2][j], e[1][j], row[1]) // e1 + e2
			VSUBPS(e[1][j], e[2][j], row[2]) // e2 − e1
			VSUBPS(e[3][j], e[1][j], row[3]) // e1 − e3
			for i, x := range row {
				dst := stridedMem{vrows[i], ldv, ldv3}.at(j, 0)
				if one == nil {
					VMOVUPS(x, dst)
				} else {
					VMOVUPS(x, one, dst)
				}
			}
		}
	}

	Label("loop")
	CMPQ(n, U8(16))
	JL(LabelRef("tail"))
	trip(nil, nil, nil)
	for _, p := range vrows {
		ADDQ(U8(64), p)
	}
	ADDQ(U32(128), r)
	SUBQ(U8(16), n)
	JMP(LabelRef("loop"))

	// The last n < 16 tiles: masked loads read no float past the tiles'
	// patches, masked stores write n.
	Label("tail")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	trip(pairMasks(n))
	Label("done")
	VZEROUPPER()
	RET()
}

// winoEven, winoOdd, winoLo and winoHi are VPERMT2PS's index vectors: the
// even and odd floats of 32, and the interleaving of two vectors' first
// and last eight.
var winoEven, winoOdd, winoLo, winoHi Mem

func winogradTables() {
	table := func(name string, f func(i int) int) Mem {
		m := GLOBL(name, RODATA|NOPTR)
		for i := range 16 {
			DATA(4*i, U32(f(i)))
		}
		return m
	}
	winoEven = table("winoEven", func(i int) int { return 2 * i })
	winoOdd = table("winoOdd", func(i int) int { return 2*i + 1 })
	winoLo = table("winoLo", func(i int) int { return i/2 + 16*(i%2) })
	winoHi = table("winoHi", func(i int) int { return 8 + i/2 + 16*(i%2) })
}

// winogradOut emits
//
//	func winoOutAVX512(y *float32, ow int, m *float32, ldm, n, cols, rows int, ep *[5]float32, flags int)
//
// the output transform Y = Aᵀ M A of n tiles along a row with the
// epilogue fused, with winoOutGo's meaning and order of operations: M at
// ξ = 4i+j is m[ξ·ldm + t]; tile t's outputs go to y[a·ow + 2t + b] for
// the first rows rows (1 or 2) and the first cols columns (2n or 2n−1).
func winogradOut() {
	TEXT("winoOutAVX512", NOSPLIT, "func(y *float32, ow int, m *float32, ldm, n, cols, rows int, ep *[5]float32, flags int)")
	Pragma("noescape")
	Doc("winoOutAVX512 is Winograd F(2×2, 3×3)'s output transform of n tiles, epilogue fused: see winogradOut in accel/internal/asmgen.")
	y := Load(Param("y"), GP64())
	ow := Load(Param("ow"), GP64())
	SHLQ(U8(2), ow)
	m := Load(Param("m"), GP64())
	ldm := Load(Param("ldm"), GP64())
	SHLQ(U8(2), ldm)
	n, cols := GP64(), GP64()
	Load(Param("n"), n)
	Load(Param("cols"), cols)
	rows := Load(Param("rows"), GP64())
	ep := Load(Param("ep"), GP64())
	flags := Load(Param("flags"), GP64())

	ldm3 := GP64()
	LEAQ(Mem{Base: ldm, Index: ldm, Scale: 2}, ldm3)
	var mrows [4]reg.Register
	mrows[0] = m
	for i := 1; i < 4; i++ {
		mrows[i] = GP64()
		LEAQ(Mem{Base: mrows[i-1], Index: ldm, Scale: 4}, mrows[i])
	}
	e := loadChannelEpilogue(ep)
	ilo, ihi := ZMM(), ZMM()
	VMOVUPS(winoLo, ilo)
	VMOVUPS(winoHi, ihi)

	// trip transforms 16 tiles, or under masks (one for M's loads, lo and
	// hi for the output columns) fewer.
	trip := func(label string, one, lo, hi reg.OpmaskVirtual) {
		var f [4][2]reg.VecVirtual
		for i := range 4 {
			var q [4]reg.VecVirtual
			for j := range q {
				q[j] = ZMM()
				src := stridedMem{mrows[i], ldm, ldm3}.at(j, 0)
				if one == nil {
					VMOVUPS(src, q[j])
				} else {
					VMOVUPS_Z(src, one, q[j])
				}
			}
			f[i][0], f[i][1] = ZMM(), ZMM()
			VADDPS(q[1], q[0], f[i][0]) // (q0 + q1) + q2
			VADDPS(q[2], f[i][0], f[i][0])
			VSUBPS(q[2], q[1], f[i][1]) // (q1 − q2) − q3
			VSUBPS(q[3], f[i][1], f[i][1])
		}
		var out [2][2]reg.VecVirtual
		for b := range 2 {
			out[0][b], out[1][b] = ZMM(), ZMM()
			VADDPS(f[1][b], f[0][b], out[0][b]) // (f0 + f1) + f2
			VADDPS(f[2][b], out[0][b], out[0][b])
			VSUBPS(f[2][b], f[1][b], out[1][b]) // (f1 − f2) − f3
			VSUBPS(f[3][b], out[1][b], out[1][b])
		}
		channelEpilogue(label, flags, e, out[0][0], out[0][1], out[1][0], out[1][1])
		// Row a of the tiles: columns 2t and 2t+1 interleaved.
		for a := range 2 {
			if a == 1 {
				CMPQ(rows, U8(2))
				JL(LabelRef(label + "_row1"))
			}
			l, h := ZMM(), ZMM()
			VMOVAPS(out[a][0], l)
			VPERMT2PS(out[a][1], ilo, l)
			VMOVAPS(out[a][0], h)
			VPERMT2PS(out[a][1], ihi, h)
			dst := stridedMem{y, ow, ow}
			if lo == nil {
				VMOVUPS(l, dst.at(a, 0))
				VMOVUPS(h, dst.at(a, 64))
			} else {
				VMOVUPS(l, lo, dst.at(a, 0))
				VMOVUPS(h, hi, dst.at(a, 64))
			}
		}
		Label(label + "_row1")
	}

	// Whole trips while 32 columns remain; then one under masks.
	Label("loop")
	CMPQ(cols, U8(32))
	JL(LabelRef("tail"))
	trip("loop", nil, nil, nil)
	for _, p := range mrows {
		ADDQ(U8(64), p)
	}
	ADDQ(U32(128), y)
	SUBQ(U8(16), n)
	SUBQ(U8(32), cols)
	JMP(LabelRef("loop"))

	Label("tail")
	TESTQ(cols, cols)
	JZ(LabelRef("done"))
	// The masks: n tiles' M, cols output columns.
	lo, hi, one := K(), K(), K()
	lowMasks(n, one)
	lowMasks(cols, lo, hi)
	trip("tail", one, lo, hi)
	Label("done")
	VZEROUPPER()
	RET()
}

// winograd emits the F(2×2, 3×3) transforms and their tables.
func winograd() {
	winogradTables()
	winogradIn()
	winogradOut()
}
