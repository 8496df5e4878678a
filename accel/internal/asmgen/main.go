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
		name: "sgemmTile6x16AVX2", mr: 6, vecs: 2, lanes: 8,
		vec: func() reg.VecVirtual { return YMM() }, isa: "AVX2 and FMA3",
		zero: func(r reg.VecVirtual) { VXORPS(r, r, r) },
	})
	Generate()
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
	// embedded: multiply-adds read A straight from memory with an
	// embedded broadcast (AVX-512's {1to16}) instead of a broadcast
	// register.
	embedded bool
}

// unroll is how many depth steps one trip of the main loop does.
const unroll = 4

// sgemmTile emits
//
//	func name(k int, a, b, c *float32, ldc int, alpha, beta float32, load bool)
//
// computing, for a packed mr×k panel a (a[p*mr+i]) and a packed k×nr panel
// b (b[p*nr+j]), with nr = vecs·lanes,
//
//	c[i*ldc+j] = alpha·Σ_p a[p*mr+i]·b[p*nr+j] (+ beta·c[i*ldc+j] if load)
//
// The depth loop keeps the tile in registers: per step, vecs loads of B,
// mr broadcasts of A, mr·vecs fused multiply-adds.
func sgemmTile(s sgemmShape) {
	nr := s.vecs * s.lanes
	TEXT(s.name, NOSPLIT, "func(k int, a, b, c *float32, ldc int, alpha, beta float32, load bool)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes one %d×%d tile of C with %s: see sgemmTile in accel/internal/asmgen.", s.name, s.mr, nr, s.isa))

	k := Load(Param("k"), GP64())
	a := Load(Param("a"), GP64())
	b := Load(Param("b"), GP64())

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
	// the multiply-adds reading the previous one.
	av := []reg.VecVirtual{s.vec(), s.vec()}

	step := func(p int) {
		for j := range bv {
			VMOVUPS(Mem{Base: b, Disp: 4 * (p*nr + j*s.lanes)}, bv[j])
		}
		for i := 0; i < s.mr; i++ {
			m := Mem{Base: a, Disp: 4 * (p*s.mr + i)}
			if s.embedded {
				for j := range bv {
					VFMADD231PS_BCST(m, bv[j], acc[i][j])
				}
				continue
			}
			x := av[i%2]
			VBROADCASTSS(m, x)
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
	ADDQ(U32(4*unroll*nr), b)
	SUBQ(U32(unroll), k)
	JMP(LabelRef("unrolled"))

	Comment("Remaining depth steps, one at a time.")
	Label("tail")
	TESTQ(k, k)
	JZ(LabelRef("store"))
	step(0)
	ADDQ(U32(4*s.mr), a)
	ADDQ(U32(4*nr), b)
	DECQ(k)
	JMP(LabelRef("tail"))

	Comment("C = alpha·acc (+ beta·C when load).")
	Label("store")
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	alpha, beta := s.vec(), s.vec()
	VBROADCASTSS(NewParamAddr("alpha", 40), alpha)
	VBROADCASTSS(NewParamAddr("beta", 44), beta)
	for i := range acc {
		for j := range acc[i] {
			VMULPS(alpha, acc[i][j], acc[i][j])
		}
	}
	load := Load(Param("load"), GP8())
	TESTB(load, load)
	JZ(LabelRef("overwrite"))
	row := GP64()
	MOVQ(c, row)
	for i := range acc {
		for j := range acc[i] {
			m := Mem{Base: row, Disp: 4 * j * s.lanes}
			VFMADD231PS(m, beta, acc[i][j])
			VMOVUPS(acc[i][j], m)
		}
		if i+1 < s.mr {
			ADDQ(ldc, row)
		}
	}
	VZEROUPPER()
	RET()

	Label("overwrite")
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
