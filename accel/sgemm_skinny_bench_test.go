package accel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// lenetGemms are the products of a LeNet-5 training step at batch 64 with
// nn's batch-wide lowering (chunks of 6 images for C1, 8 for C3, the whole
// batch for C5): forward Y = W·cols, weight gradient gW = gY·colsᵀ, input
// gradient gcols = Wᵀ·gY.
var lenetGemms = []struct {
	name           string
	transA, transB bool
	m, n, k        int
}{
	{"C1/forward", false, false, 6, 4704, 25},
	{"C1/weight", false, true, 6, 25, 4704},
	{"C3/forward", false, false, 16, 800, 150},
	{"C3/weight", false, true, 16, 150, 800},
	{"C3/input", true, false, 150, 800, 16},
	{"C5/forward", false, false, 120, 64, 400},
	{"C5/weight", false, true, 120, 400, 64},
	{"C5/input", true, false, 400, 64, 120},
}

// BenchmarkSgemmSkinny times LeNet-5's products through Sgemm and through
// each path that can take them (the blocked path, the skinny path for
// m ≤ skinnyMaxM, the dot path for A·Bᵀ), at the thread count in force.
func BenchmarkSgemmSkinny(b *testing.B) {
	for _, s := range lenetGemms {
		paths := map[string]gemmFunc{
			"Sgemm": Sgemm,
			"blocked": func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, x []float32, ldb int, beta float32, c []float32, ldc int) {
				sgemmPacked(gemm, tA, m, n, k, alpha, a, lda, matrixPacker(tB, x, ldb), beta, c, ldc, nil, nil)
			},
		}
		if s.m <= skinnyMaxM {
			paths["skinny"] = func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, x []float32, ldb int, beta float32, c []float32, ldc int) {
				sgemmSkinny(gemm, tA, tB, m, n, k, alpha, a, lda, x, ldb, beta, c, ldc)
			}
		}
		if dotKernel != nil && s.transB && !s.transA {
			paths["dot"] = func(_, _ bool, m, n, k int, alpha float32, a []float32, lda int, x []float32, ldb int, beta float32, c []float32, ldc int) {
				sgemmDot(dotKernel, m, n, k, alpha, a, lda, x, ldb, beta, c, ldc)
			}
		}
		for _, p := range []string{"Sgemm", "blocked", "skinny", "dot"} {
			f, ok := paths[p]
			if !ok {
				continue
			}
			b.Run(fmt.Sprintf("%s/%s", s.name, p), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 1))
				rnd := func(n int) []float32 {
					x := make([]float32, n)
					for i := range x {
						x[i] = rng.Float32()
					}
					return x
				}
				x, y, z := rnd(s.m*s.k), rnd(s.k*s.n), make([]float32, s.m*s.n)
				lda, ldb := s.k, s.n
				if s.transA {
					lda = s.m
				}
				if s.transB {
					ldb = s.k
				}
				for b.Loop() {
					f(s.transA, s.transB, s.m, s.n, s.k, 1, x, lda, y, ldb, 0, z, s.n)
				}
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkDotTile times each dot kernel alone on rows that stay in L1.
func BenchmarkDotTile(b *testing.B) {
	const k = 800
	for name, kern := range dotKernels() {
		b.Run(name, func(b *testing.B) {
			var a [dotRows][]float32
			var x [dotCols][]float32
			for i := range a {
				a[i] = make([]float32, k)
			}
			for j := range x {
				x[j] = make([]float32, k)
			}
			var out [dotRows * dotCols]float32
			for b.Loop() {
				kern(k, &a, &x, &out)
			}
			b.ReportMetric(2*dotRows*dotCols*k*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
