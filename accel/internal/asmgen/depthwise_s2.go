package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// depthwiseRows emits the row kernels of 3x3 depthwise convolutions:
// dw3x3s2AVX512 (stride 2) and dw3x3s1AVX512 (stride 1, one column of
// padding each side), both
//
//	func(o *float32, ldo int, r0, r1, r2 *float32, step, rows, n, avail int, w *[9]float32, ep *[5]float32, flags int)
//
// computing rows rows of n outputs, row j's outputs at o[j*ldo:] and its
// three input rows at r0[j*step:], r1[j*step:] and r2[j*step:], of which
// only columns 0 … avail−1 are read (the padding: other columns are
// zeros). With stride s and first column c0 (0 at stride 2, −1 at stride
// 1):
//
//	for j := 0; j < rows; j++ {
//		for i := 0; i < n; i++ {
//			// x(r, c) is r[j*step+c] for 0 ≤ c < avail, else 0
//			y := w[0]*x(r0, s*i+c0) + w[1]*x(r0, s*i+c0+1) + w[2]*x(r0, s*i+c0+2) +
//				w[3]*x(r1, s*i+c0) + … + w[8]*x(r2, s*i+c0+2) // a multiply, then fused multiply-adds, in this order
//			if flags&flagAffine != 0 { y = y*ep[0] + ep[1] } // fused
//			if flags&flagClampLo != 0 { y = max(ep[2], y) }   // VMAXPS: y on a tie or NaN
//			if flags&flagClampHi != 0 { y = min(ep[3], y) }
//			if flags&flagLeaky != 0 { y = max(ep[4]*y, y) }
//			o[j*ldo+i] = y
//		}
//	}
//
// Each trip computes 16 outputs of a row; at stride 2, VPERMT2PS splits
// the columns it reads into the even and the odd ones. While a trip's
// reads lie inside the row's columns 0 … avail−1 and its outputs inside n,
// its loads and store are plain; the others (a row's last trips, and at
// stride 1 its first, whose window starts at column −1) load under masks,
// zeros outside the columns (and nothing read there), and store under a
// mask.
func depthwiseRows() {
	dwRows(1)
	dwRows(2)
}

// dwRows emits the row kernel of one stride (see depthwiseRows).
func dwRows(stride int) {
	var even, odd Mem
	if stride == 2 {
		even = GLOBL("dwS2Even", RODATA|NOPTR)
		for i := 0; i < 16; i++ {
			DATA(4*i, U32(2*i))
		}
		odd = GLOBL("dwS2Odd", RODATA|NOPTR)
		for i := 0; i < 16; i++ {
			DATA(4*i, U32(2*i+1))
		}
	}
	name := fmt.Sprintf("dw3x3s%dAVX512", stride)
	TEXT(name, NOSPLIT, "func(o *float32, ldo int, r0, r1, r2 *float32, step, rows, n, avail int, w *[9]float32, ep *[5]float32, flags int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is a 3x3 stride-%d depthwise filter over rows of a plane, epilogue fused: see depthwiseRows in accel/internal/asmgen.", name, stride))
	o := Load(Param("o"), GP64())
	r := [3]reg.GPVirtual{}
	for k, p := range []string{"r0", "r1", "r2"} {
		r[k] = GP64()
		Load(Param(p), r[k])
	}
	rows := Load(Param("rows"), GP64())
	flags := Load(Param("flags"), GP64())
	wptr := Load(Param("w"), GP64())
	var w [9]reg.VecVirtual
	for i := range w {
		w[i] = ZMM()
		VBROADCASTSS(Mem{Base: wptr, Disp: 4 * i}, w[i])
	}
	ep := Load(Param("ep"), GP64())
	e := loadChannelEpilogue(ep)
	var ie, io reg.VecVirtual
	if stride == 2 {
		ie, io = ZMM(), ZMM()
		VMOVUPS(even, ie)
		VMOVUPS(odd, io)
	}
	// A trip's first output is x/s; its loads reach from column x+c0 to
	// x+reach (at stride 2 the last lane, x+33, loaded but not used).
	cols := 16 * stride // input columns per trip
	reach := 33
	if stride == 1 {
		reach = 16
	}

	// lim is the last x at which a whole trip fits: 16 outputs left
	// (x ≤ s·n − 16s) and its loads inside avail (x ≤ avail−1−reach).
	lim, t := GP64(), GP64()
	Load(Param("n"), lim)
	if stride == 2 {
		SHLQ(U8(1), lim)
	}
	SUBQ(U8(cols), lim)
	Load(Param("avail"), t)
	SUBQ(U8(reach+1), t)
	CMPQ(t, lim)
	CMOVQLT(t, lim)

	x := GP64() // the trip's first input column (its first output is x/s)

	// trip emits one trip at x: loads (plain, or under the masks m), the
	// taps, the epilogue steps flags select, the store.
	type masks struct{ a, b, c, d, out reg.OpmaskVirtual }
	trip := func(label string, m *masks) {
		at := func(k, col int) Mem { return Mem{Base: r[k], Index: x, Scale: 4, Disp: 4 * col} }
		var ka, kb, kc reg.OpmaskVirtual
		if m != nil {
			ka, kb, kc = m.a, m.b, m.c
		}
		load := func(src Mem, k reg.OpmaskVirtual, dst reg.VecVirtual) {
			if m == nil {
				VMOVUPS(src, dst)
			} else {
				VMOVUPS_Z(src, k, dst)
			}
		}
		acc := ZMM()
		for k := range r {
			var taps [3]Op // the inputs of taps (k, 0), (k, 1), (k, 2)
			switch {
			case stride == 2:
				lo, hi, sh := ZMM(), ZMM(), ZMM()
				load(at(k, 0), ka, lo)
				load(at(k, 16), kb, hi)
				load(at(k, 2), kc, sh)
				if m == nil {
					VPERMT2PS(at(k, 18), ie, sh) // columns x+2, x+4, …, x+32
				} else {
					sh2 := ZMM()
					load(at(k, 18), m.d, sh2)
					VPERMT2PS(sh2, ie, sh)
				}
				ev := ZMM()
				VMOVAPS(lo, ev)
				VPERMT2PS(hi, ie, ev) // columns x, x+2, …, x+30
				VPERMT2PS(hi, io, lo) // columns x+1, x+3, …, x+31
				taps = [3]Op{ev, lo, sh}
			case m == nil:
				taps = [3]Op{at(k, -1), at(k, 0), at(k, 1)}
			default:
				for kj, km := range []reg.OpmaskVirtual{ka, kb, kc} {
					z := ZMM()
					load(at(k, kj-1), km, z)
					taps[kj] = z
				}
			}
			for kj, v := range taps {
				if k == 0 && kj == 0 {
					VMULPS(v, w[0], acc)
				} else {
					VFMADD231PS(v, w[3*k+kj], acc)
				}
			}
		}
		channelEpilogue(label, flags, e, acc)
		out := Mem{Base: o, Index: x, Scale: uint8(4 / stride)} // o + x/s floats
		if m == nil {
			VMOVUPS(acc, out)
		} else {
			VMOVUPS(acc, m.out, out)
		}
	}

	Label("row")
	XORQ(x, x)
	if stride == 1 {
		JMP(LabelRef("masked")) // the first trip reads column −1
	}
	// (Two trips a pass, their instructions interleaved, measured no
	// faster on rows in L1.)
	Comment("Whole trips.")
	Label("whole")
	CMPQ(x, lim)
	JG(LabelRef("tail"))
	trip("whole", nil)
	ADDQ(U8(cols), x)
	JMP(LabelRef("whole"))

	Comment("Trips under masks: loads of columns in [0, avail), stores of outputs < n.")
	Label("tail")
	end := GP64()
	Load(Param("n"), end)
	if stride == 2 {
		SHLQ(U8(1), end)
	}
	CMPQ(x, end)
	JGE(LabelRef("next"))
	Label("masked")
	m := &masks{a: K(), b: K(), c: K(), d: K(), out: K()}
	ones, bits := GP32(), GP32()
	MOVL(U32(0xffffffff), ones)
	// count sets bits to a 32-bit mask of the lanes l < c, c clamped to
	// [0, 32] first (BZHI reads only its count's low byte).
	clamps := 0
	count := func(c reg.GPVirtual) {
		pos, small := fmt.Sprintf("pos%d", clamps), fmt.Sprintf("small%d", clamps)
		clamps++
		CMPQ(c, U8(0))
		JGE(LabelRef(pos))
		XORQ(c, c)
		Label(pos)
		CMPQ(c, U8(32))
		JLE(LabelRef(small))
		MOVQ(U32(32), c)
		Label(small)
		BZHIL(c.As32(), ones, bits)
	}
	left := GP64() // avail − x, the columns from x on that may be read
	Load(Param("avail"), left)
	SUBQ(x, left)
	c := GP64()
	if stride == 2 {
		// Columns x … x+31 under a (low half) and b, x+2 … x+33 under c and d.
		MOVQ(left, c)
		count(c)
		KMOVW(bits, m.a)
		SHRL(U8(16), bits)
		KMOVW(bits, m.b)
		MOVQ(left, c)
		SUBQ(U8(2), c)
		count(c)
		KMOVW(bits, m.c)
		SHRL(U8(16), bits)
		KMOVW(bits, m.d)
	} else {
		// Columns x−1 …, x …, x+1 … under a, b, c; column −1 never.
		MOVQ(left, c)
		INCQ(c)
		count(c)
		TESTQ(x, x)
		JNZ(LabelRef("notfirst"))
		ANDL(I32(-2), bits)
		Label("notfirst")
		KMOVW(bits, m.a)
		MOVQ(left, c)
		count(c)
		KMOVW(bits, m.b)
		MOVQ(left, c)
		DECQ(c)
		count(c)
		KMOVW(bits, m.c)
	}
	// Outputs left: n − x/s, at most 16 stored.
	Load(Param("n"), c)
	MOVQ(x, t)
	if stride == 2 {
		SHRQ(U8(1), t)
	}
	SUBQ(t, c)
	count(c)
	KMOVW(bits, m.out)
	trip("masked", m)
	ADDQ(U8(cols), x)
	JMP(LabelRef("whole"))

	Label("next")
	DECQ(rows)
	JZ(LabelRef("done"))
	adv := GP64()
	Load(Param("ldo"), adv)
	SHLQ(U8(2), adv)
	ADDQ(adv, o)
	Load(Param("step"), adv)
	SHLQ(U8(2), adv)
	for _, rk := range r {
		ADDQ(adv, rk)
	}
	JMP(LabelRef("row"))
	Label("done")
	VZEROUPPER()
	RET()
}
