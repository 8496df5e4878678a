package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// maxPool2x2 emits
//
//	func maxPool2x2AVX512(dst, r0, r1 *float32, n int)
//
// computing, for x in [0, n), darknet's 2×2 window
// maximum over two input rows,
//
//	m := -MaxFloat32
//	for _, v := range [4]float32{r0[2x], r0[2x+1], r1[2x], r1[2x+1]} {
//		if v > m {
//			m = v
//		}
//	}
//	dst[x] = m
//
// VMAXPS is that comparison exactly: its result is the first source when
// it is greater, else the second (a NaN v leaves m as it is, as darknet's
// loop does). Each trip de-interleaves 32 floats of each row into even and
// odd columns with VPERMT2PS; the last, under masks, fewer.
func maxPool2x2() {
	even := GLOBL("maxPoolEven", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(4*i, U32(2*i))
	}
	odd := GLOBL("maxPoolOdd", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(4*i, U32(2*i+1))
	}

	TEXT("maxPool2x2AVX512", NOSPLIT, "func(dst, r0, r1 *float32, n int)")
	Pragma("noescape")
	Doc("maxPool2x2AVX512 is darknet's 2×2 stride-2 max pooling of two rows: see maxPool2x2 in accel/internal/asmgen.")
	dst := Load(Param("dst"), GP64())
	r0 := Load(Param("r0"), GP64())
	r1 := Load(Param("r1"), GP64())
	n := GP64()
	Load(Param("n"), n)

	ie, io, lowest := ZMM(), ZMM(), ZMM()
	VMOVUPS(even, ie)
	VMOVUPS(odd, io)
	bits := GP32()
	MOVL(U32(math.Float32bits(-math.MaxFloat32)), bits)
	VPBROADCASTD(bits, lowest)

	// trip computes 16 windows, or with masks fewer: the first rows·2
	// floats of each row loaded (lo, hi), the first outputs stored (out).
	trip := func(lo, hi, out reg.OpmaskVirtual) {
		var vs [4]Op // r0 even, r0 odd, r1 even, r1 odd: darknet's window order
		for k, row := range []reg.Register{r0, r1} {
			a, b, e := ZMM(), ZMM(), ZMM()
			if lo == nil {
				VMOVUPS(Mem{Base: row}, a)
				VMOVUPS(Mem{Base: row, Disp: 64}, b)
			} else {
				VMOVUPS_Z(Mem{Base: row}, lo, a)
				VMOVUPS_Z(Mem{Base: row, Disp: 64}, hi, b)
			}
			VMOVAPS(a, e)
			VPERMT2PS(b, ie, e) // e = even columns of a:b
			VPERMT2PS(b, io, a) // a = odd columns
			vs[2*k], vs[2*k+1] = e, a
		}
		m := ZMM()
		VMOVAPS(lowest, m)
		for _, v := range vs {
			VMAXPS(m, v, m) // m = v > m ? v : m
		}
		if out == nil {
			VMOVUPS(m, Mem{Base: dst})
		} else {
			VMOVUPS(m, out, Mem{Base: dst})
		}
	}

	Label("loop")
	CMPQ(n, U8(16))
	JL(LabelRef("tail"))
	trip(nil, nil, nil)
	ADDQ(U32(64), dst)
	ADDQ(U32(128), r0)
	ADDQ(U32(128), r1)
	SUBQ(U32(16), n)
	JMP(LabelRef("loop"))

	// The last n < 16 windows: masked loads read nothing past 2n floats
	// of a row (and cannot fault there); a masked store writes n.
	Label("tail")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	trip(pairMasks(n))
	Label("done")
	VZEROUPPER()
	RET()
}

// lowMasks sets the opmasks ks (16 lanes each, in order) to the lanes of
// the first count floats of len(ks) vectors: the low count bits of a
// 16·len(ks)-bit word, count a register between 0 and 32 (BZHI reads its
// low byte only).
func lowMasks(count reg.GPVirtual, ks ...reg.OpmaskVirtual) {
	ones, bits := GP32(), GP32()
	MOVL(U32(0xffffffff), ones)
	BZHIL(count.As32(), ones, bits)
	for i, k := range ks {
		if i > 0 {
			SHRL(U8(16), bits)
		}
		KMOVW(bits, k)
	}
}

// pairMasks returns the opmasks of a last, short trip over n < 16 outputs
// that each read two floats of a row (2×2 pooling, Winograd's input
// transform): lo and hi for the 2n floats loaded as two vectors, out for
// the n outputs stored.
func pairMasks(n reg.GPVirtual) (lo, hi, out reg.OpmaskVirtual) {
	lo, hi, out = K(), K(), K()
	two := GP32()
	MOVL(n.As32(), two)
	SHLL(U8(1), two)
	lowMasks(two, lo, hi)
	lowMasks(n, out)
	return lo, hi, out
}
