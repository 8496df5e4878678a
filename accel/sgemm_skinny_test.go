package accel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// skinnyRows straddle the row panels of every micro-kernel (MR = 4, 6, 8)
// up to skinnyMaxM; skinnyDepths straddle the depth block (KC = 256).
var (
	skinnyRows   = []int{1, 2, 3, 5, 6, 7, 8, 9, 13, 16, 17, 31, 32}
	skinnyCols   = []int{1, 7, 8, 16, 17, 31, 33, 255, 257}
	skinnyDepths = []int{1, 7, 16, 255, 256, 257, 600}
)

// skinnyCases are products for the skinny and dot paths: every row count
// up to skinnyMaxM against column counts and depths that cross the panel
// and block edges, cycling through transposes, alpha/beta, leading
// dimensions wider than the matrix and start offsets.
func skinnyCases(transposes [][2]bool) []gemmCase {
	scalars := []float32{0, 1, -0.5}
	var cs []gemmCase
	i := 0
	for _, m := range skinnyRows {
		for _, n := range skinnyCols {
			for _, k := range skinnyDepths {
				tr := transposes[i%len(transposes)]
				extra := i % 5
				tc := gemmCase{transA: tr[0], transB: tr[1], m: m, n: n, k: k,
					alpha: scalars[i%3], beta: scalars[(i/3)%3], off: i % 8}
				if tc.alpha == 0 {
					tc.alpha = 2 // the paths assume alpha ≠ 0 (Sgemm's check)
				}
				tc.lda, tc.ldb, tc.ldc = k+extra, n+extra, n+extra+1
				if tc.transA {
					tc.lda = m + extra
				}
				if tc.transB {
					tc.ldb = k + extra
				}
				cs = append(cs, tc)
				i++
			}
		}
	}
	return cs
}

var allTransposes = [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}}

// TestSgemmSkinny runs the skinny path with every micro-kernel the machine
// has against sgemmRef, with NaN guards around C.
func TestSgemmSkinny(t *testing.T) {
	cases := skinnyCases(allTransposes)
	if testing.Short() {
		cases = cases[:len(cases)/4]
	}
	for _, kern := range gemmKernels() {
		t.Run(kern.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 8))
			for _, tc := range cases {
				a, b, c := tc.operands(rng)
				want := append([]float32(nil), c...)
				o := tc.off
				sgemmRef(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a[o:], tc.lda, b[o:], tc.ldb, tc.beta, want[o:], tc.ldc)
				sgemmSkinny(kern, tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a[o:], tc.lda, b[o:], tc.ldb, tc.beta, c[o:], tc.ldc)
				checkGemmResult(t, tc, a, b, c, want)
			}
		})
	}
}

// TestSgemmTransPacker runs the blocked path with every micro-kernel,
// B transposed and packed by transPacker, against sgemmRef.
func TestSgemmTransPacker(t *testing.T) {
	for _, kern := range gemmKernels() {
		t.Run(kern.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(9, 10))
			for _, s := range append([][3]int{{33, 7, 300}, {40, 33, 1}, {64, 65, 256}}, bigShapes...) {
				tc := gemmCase{transB: true, m: s[0], n: s[1], k: s[2], alpha: 1, beta: -0.5, lda: s[2] + 1, ldb: s[2] + 3, ldc: s[1] + 2, off: 3}
				a, b, c := tc.operands(rng)
				want := append([]float32(nil), c...)
				o := tc.off
				sgemmRef(false, true, tc.m, tc.n, tc.k, tc.alpha, a[o:], tc.lda, b[o:], tc.ldb, tc.beta, want[o:], tc.ldc)
				sgemmPacked(kern, false, tc.m, tc.n, tc.k, tc.alpha, a[o:], tc.lda, transPacker(b[o:], tc.ldb), tc.beta, c[o:], tc.ldc, nil, nil)
				checkGemmResult(t, tc, a, b, c, want)
			}
		})
	}
}

// TestPackRows compares packRows with the loop of its doc comment, for
// the widths of every kernel's panels and row counts from none to all,
// with a NaN guard after the panel.
func TestPackRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, width := range []int{4, 6, 8, 16, 32} {
		for rows := 0; rows <= width; rows++ {
			for _, kc := range []int{1, 7, 8, 9, 255, 256} {
				ld := kc + rows%3
				src := make([]float32, rows*ld+kc)
				for i := range src {
					src[i] = rng.Float32()
				}
				got := make([]float32, kc*width+8)
				for i := range got {
					got[i] = float32(math.NaN())
				}
				packRows(got, width, src, ld, rows, kc)
				for p := 0; p < kc; p++ {
					for q := 0; q < width; q++ {
						var want float32
						if q < rows {
							want = src[q*ld+p]
						}
						if g := got[p*width+q]; g != want {
							t.Fatalf("width %d rows %d kc %d: dst[%d*%d+%d] = %g, want %g", width, rows, kc, p, width, q, g, want)
						}
					}
				}
				for i := kc * width; i < len(got); i++ {
					if !math.IsNaN(float64(got[i])) {
						t.Fatalf("width %d rows %d kc %d: guard %d overwritten", width, rows, kc, i)
					}
				}
			}
		}
	}
}

// TestSgemmSkinnyThreads checks that the skinny and dot paths give the
// same bits at every thread count, on products big enough to be split
// into tasks.
func TestSgemmSkinnyThreads(t *testing.T) {
	defer SetThreads(0)
	rng := rand.New(rand.NewPCG(13, 14))
	for _, s := range []struct {
		transB  bool
		m, n, k int
	}{
		{false, 6, 20000, 25},  // skinny, several tasks
		{true, 16, 150, 6400},  // dot, several row blocks
		{true, 30, 3000, 300},  // skinny, B transposed, several depth blocks
		{false, 32, 4100, 300}, // skinny, several depth blocks
	} {
		tc := gemmCase{transB: s.transB, m: s.m, n: s.n, k: s.k, alpha: 1, lda: s.k, ldb: s.n, ldc: s.n}
		if s.transB {
			tc.ldb = s.k
		}
		a, b, c1 := tc.operands(rng)
		c4 := append([]float32(nil), c1...)
		SetThreads(1)
		runGemm(nil, tc, a, b, c1)
		SetThreads(4)
		runGemm(nil, tc, a, b, c4)
		for i := range c1 {
			if math.Float32bits(c1[i]) != math.Float32bits(c4[i]) {
				t.Fatalf("%v: c[%d] = %g with 1 thread, %g with 4", tc, i, c1[i], c4[i])
			}
		}
	}
}
