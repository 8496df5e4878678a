package accel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// edgeSizes straddle every unroll (4) and register tile (6, 8, 16, 32)
// edge of the micro-kernels.
var edgeSizes = []int{0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 33}

// bigShapes cross the cache blocks (KC=256, MC=512, NC=4096): k past KC,
// m past MC, n past NC.
var bigShapes = [][3]int{
	{255, 256, 257}, {256, 256, 256}, {257, 255, 511}, {511, 33, 257},
	{17, 511, 256}, {33, 257, 385}, {385, 17, 193}, {1, 511, 511}, {511, 1, 255},
	{601, 40, 300}, {2, 4100, 3}, {9, 4133, 260},
}

// gemmCase is one Sgemm call with its operands laid out in guarded buffers.
type gemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	lda, ldb, ldc  int
	off            int // start offset of each operand inside its buffer
}

func (tc gemmCase) String() string {
	return fmt.Sprintf("tA=%v,tB=%v,m=%d,n=%d,k=%d,alpha=%g,beta=%g,ld=%d/%d/%d,off=%d",
		tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, tc.beta, tc.lda, tc.ldb, tc.ldc, tc.off)
}

// operands returns a, b and c filled for tc. Every element of c's buffer
// outside the m×n matrix is NaN (a guard band), and so is the inside when
// beta is 0, to prove C is then not read.
func (tc gemmCase) operands(rng *rand.Rand) (a, b, cbuf []float32) {
	fill := func(rows, ld int) []float32 {
		s := make([]float32, tc.off+rows*ld+8)
		for i := range s {
			s[i] = rng.Float32()*2 - 1
		}
		return s
	}
	ar, br := tc.m, tc.k
	if tc.transA {
		ar = tc.k
	}
	if tc.transB {
		br = tc.n
	}
	a, b = fill(ar, tc.lda), fill(br, tc.ldb)
	cbuf = make([]float32, tc.off+tc.m*tc.ldc+8)
	nan := float32(math.NaN())
	for i := range cbuf {
		cbuf[i] = nan
	}
	if tc.beta != 0 {
		for i := 0; i < tc.m; i++ {
			for j := 0; j < tc.n; j++ {
				cbuf[tc.off+i*tc.ldc+j] = rng.Float32()*2 - 1
			}
		}
	}
	return a, b, cbuf
}

// gemmTolerance is the relative error allowed per element: a float32 sum
// of k products, reordered (blocked, fused multiply-add), may differ from
// the in-order sum by up to about k·ε times the sum of the magnitudes of its
// terms (Higham, Accuracy and Stability of Numerical Algorithms, §3.1).
// The factor 2 covers the alpha/beta update.
func gemmTolerance(k int) float64 { return 2 * float64(k+2) * 0x1p-24 }

// checkGemm compares got (a C buffer after the call) with want (after
// sgemmRef on the same input), element by element, and the guard band.
func checkGemmResult(t *testing.T, tc gemmCase, a, b, got, want []float32) {
	t.Helper()
	tol := gemmTolerance(tc.k)
	bad := 0
	for idx := range got {
		i, j := (idx-tc.off)/tc.ldc, (idx-tc.off)%tc.ldc
		inside := idx >= tc.off && i < tc.m && j < tc.n
		g, w := got[idx], want[idx]
		if !inside {
			if !math.IsNaN(float64(g)) {
				t.Errorf("%v: guard element %d overwritten with %g", tc, idx, g)
				bad++
			}
		} else {
			// Bound: sum of |terms| of the exact result.
			var mag float64
			for p := 0; p < tc.k; p++ {
				av, bv := tc.at(a, true, i, p), tc.at(b, false, p, j)
				mag += math.Abs(float64(av) * float64(bv))
			}
			mag = mag*math.Abs(float64(tc.alpha)) + 1
			if d := math.Abs(float64(g) - float64(w)); !(d <= tol*mag) {
				t.Errorf("%v: c[%d,%d] = %g, reference %g (|diff| %.3g > %.3g)", tc, i, j, g, w, d, tol*mag)
				bad++
			}
		}
		if bad > 5 {
			t.FailNow()
		}
	}
}

// at reads op(A)(i, p) (isA) or op(B)(i, p) from an operand buffer.
func (tc gemmCase) at(s []float32, isA bool, i, p int) float32 {
	s = s[tc.off:]
	if isA {
		if tc.transA {
			return s[p*tc.lda+i]
		}
		return s[i*tc.lda+p]
	}
	if tc.transB {
		return s[p*tc.ldb+i]
	}
	return s[i*tc.ldb+p]
}

// gemmCases enumerates the test cases: every edge size for m, n and k,
// cycling through transposes, alpha/beta and offsets, then the big shapes
// with every transpose.
func gemmCases() []gemmCase {
	scalars := []float32{0, 1, -0.5}
	var cs []gemmCase
	add := func(i int, m, n, k int, tA, tB bool) {
		alpha, beta := scalars[i%3], scalars[(i/3)%3]
		extra := i % 5 // leading dimensions wider than the matrix
		tc := gemmCase{transA: tA, transB: tB, m: m, n: n, k: k, alpha: alpha, beta: beta, off: i % 8}
		tc.lda, tc.ldb, tc.ldc = k+extra, n+extra, n+extra+1
		if tA {
			tc.lda = m + extra
		}
		if tB {
			tc.ldb = k + extra
		}
		tc.lda, tc.ldb = max(tc.lda, 1), max(tc.ldb, 1)
		cs = append(cs, tc)
	}
	i := 0
	for _, m := range edgeSizes {
		for _, n := range edgeSizes {
			for _, k := range edgeSizes {
				add(i, m, n, k, i%2 == 1, (i/2)%2 == 1)
				i++
			}
		}
	}
	for _, s := range bigShapes {
		for tr := 0; tr < 4; tr++ {
			add(i, s[0], s[1], s[2], tr%2 == 1, tr/2 == 1)
			i++
		}
	}
	return cs
}

func runGemm(kern *gemmKernel, tc gemmCase, a, b, c []float32) {
	o := tc.off
	if kern == nil {
		Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a[o:], tc.lda, b[o:], tc.ldb, tc.beta, c[o:], tc.ldc)
		return
	}
	checkGemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, a[o:], tc.lda, b[o:], tc.ldb, c[o:], tc.ldc)
	if tc.m == 0 || tc.n == 0 {
		return
	}
	if tc.k == 0 || tc.alpha == 0 {
		scaleC(tc.m, tc.n, tc.beta, c[o:], tc.ldc)
		return
	}
	sgemmPacked(*kern, tc.transA, tc.m, tc.n, tc.k, tc.alpha, a[o:], tc.lda, matrixPacker(tc.transB, b[o:], tc.ldb), tc.beta, c[o:], tc.ldc, nil, nil)
}

// TestSgemm runs every micro-kernel the machine has, through the packed
// path, plus the public Sgemm (small and packed paths), against sgemmRef.
func TestSgemm(t *testing.T) {
	impls := map[string]*gemmKernel{"Sgemm": nil}
	for _, k := range gemmKernels() {
		impls[k.name] = &k
	}
	cases := gemmCases()
	if testing.Short() {
		cases = cases[:len(cases)/4]
	}
	for name, kern := range impls {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			for _, tc := range cases {
				a, b, c := tc.operands(rng)
				want := append([]float32(nil), c...)
				o := tc.off
				sgemmRef(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a[o:], tc.lda, b[o:], tc.ldb, tc.beta, want[o:], tc.ldc)
				runGemm(kern, tc, a, b, c)
				checkGemmResult(t, tc, a, b, c, want)
			}
		})
	}
}

// TestSgemmThreads checks that the result is bit for bit the same at every
// thread count: each element's reduction stays in one goroutine.
func TestSgemmThreads(t *testing.T) {
	defer SetThreads(0)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, s := range bigShapes {
		tc := gemmCase{m: s[0], n: s[1], k: s[2], alpha: 1, beta: 0, lda: s[2], ldb: s[1], ldc: s[1]}
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

// TestSgemmEpilogue checks the fused row epilogue of every micro-kernel
// (affine step, clamps, leaky ReLU) and the tile callback against Sgemm followed by the
// same steps in Go, and that the callback sees each element exactly once.
func TestSgemmEpilogue(t *testing.T) {
	for _, kern := range gemmKernels() {
		t.Run(kern.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(5, 6))
			for ci, s := range append([][3]int{{3, 5, 7}, {8, 32, 1}, {16, 64, 300}}, bigShapes...) {
				m, n, k := s[0], s[1], s[2]
				tc := gemmCase{m: m, n: n, k: k, alpha: 1, lda: k, ldb: n, ldc: n + 1}
				a, b, c := tc.operands(rng)
				rep := &rowEpilogue{clampLo: ci%2 == 0, lo: -0.1, clampHi: ci%3 == 0, hi: 0.2, leaky: ci%2 == 1, slope: 0.1}
				if ci%4 != 3 {
					rep.scale, rep.shift = make([]float32, m), make([]float32, m)
					for i := range rep.scale {
						rep.scale[i], rep.shift[i] = rng.Float32()*2-1, rng.Float32()-0.5
					}
				}
				want := append([]float32(nil), c...)
				Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, want, tc.ldc)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						y := want[i*tc.ldc+j]
						if rep.scale != nil {
							y = y*rep.scale[i] + rep.shift[i]
						}
						if rep.clampLo {
							y = max(y, rep.lo)
						}
						if rep.clampHi {
							y = min(y, rep.hi)
						}
						if rep.leaky && y < 0 {
							y *= rep.slope
						}
						want[i*tc.ldc+j] = 2*y + float32(i)
					}
				}
				seen := make([]int, len(c))
				sgemmPacked(kern, false, m, n, k, 1, a, k, matrixPacker(false, b, n), 0, c, tc.ldc, rep, func(i, h, j, w int) {
					for r := i; r < i+h; r++ {
						for q := j; q < j+w; q++ {
							c[r*tc.ldc+q] = 2*c[r*tc.ldc+q] + float32(r)
							seen[r*tc.ldc+q]++
						}
					}
				})
				tol := gemmTolerance(k)
				for idx := range c {
					i, j := idx/tc.ldc, idx%tc.ldc
					if i >= m || j >= n {
						if !math.IsNaN(float64(c[idx])) {
							t.Fatalf("%v: guard element %d overwritten", tc, idx)
						}
						continue
					}
					if seen[idx] != 1 {
						t.Fatalf("%v: tile callback saw c[%d,%d] %d times", tc, i, j, seen[idx])
					}
					var mag float64
					for p := 0; p < k; p++ {
						mag += math.Abs(float64(a[i*k+p]) * float64(b[p*n+j]))
					}
					if d := math.Abs(float64(c[idx] - want[idx])); d > 4*tol*(mag+1)+1e-6*float64(i+1) {
						t.Fatalf("%v: c[%d,%d] = %g, want %g", tc, i, j, c[idx], want[idx])
					}
				}
			}
		})
	}
}

func TestSgemmPanics(t *testing.T) {
	checkPanics(t, []panicCase{
		{"negative", func() { Sgemm(false, false, -1, 1, 1, 1, nil, 1, nil, 1, 0, nil, 1) }, "accel: Sgemm: negative dimension m=-1 n=1 k=1"},
		{"short c", func() {
			Sgemm(false, false, 3, 4, 1, 1, make([]float32, 3), 1, make([]float32, 4), 4, 0, make([]float32, 10), 4)
		}, "accel: Sgemm: len(c) = 10, need at least 12 for 3×4 ldc=4"},
		{"small lda", func() {
			Sgemm(false, false, 2, 2, 3, 1, make([]float32, 6), 2, make([]float32, 6), 2, 0, make([]float32, 4), 2)
		}, "accel: Sgemm: lda = 2, less than its 3 columns"},
	}, exactly)
}

// TestSgemmEpilogueNaN checks that a NaN product stays NaN through every
// fused step (clamps and leaky ReLU), as Go's min and max keep it.
func TestSgemmEpilogueNaN(t *testing.T) {
	const m, n, k = 8, 32, 3
	for _, kern := range gemmKernels() {
		for _, rep := range []*rowEpilogue{
			{clampLo: true},
			{clampLo: true, clampHi: true, hi: 6},
			{leaky: true, slope: 0.1},
		} {
			a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
			a[0] = float32(math.NaN()) // row 0 of C is all NaN
			sgemmPacked(kern, false, m, n, k, 1, a, k, matrixPacker(false, b, n), 0, c, n, rep, nil)
			for j := 0; j < n; j++ {
				if !math.IsNaN(float64(c[j])) {
					t.Fatalf("%s %+v: c[0,%d] = %g, want NaN", kern.name, *rep, j, c[j])
				}
			}
		}
	}
}

// TestCopyChunks compares the assembly copy (where the machine has it)
// with the Go loop, with NaN guards around every chunk.
func TestCopyChunks(t *testing.T) {
	for _, width := range []int{8, 16, 24, 32, 5} {
		for _, n := range []int{0, 1, 2, 7} {
			stride := width + 3
			src := make([]float32, n*width)
			for i := range src {
				src[i] = float32(i + 1)
			}
			got := make([]float32, n*stride+width)
			want := make([]float32, len(got))
			for i := range got {
				got[i] = float32(math.NaN())
				want[i] = got[i]
			}
			copyChunks(got, stride, src, n, width)
			copyChunksGo(want, stride, src, n, width)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("width %d n %d: dst[%d] = %g, want %g", width, n, i, got[i], want[i])
				}
			}
		}
	}
}
