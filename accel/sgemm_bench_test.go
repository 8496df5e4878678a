package accel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkSgemm times square products C = A·B, no transposes, at the
// thread count in force (go test -cpu sets GOMAXPROCS).
func BenchmarkSgemm(b *testing.B) {
	for _, n := range []int{256, 512, 1024, 2048} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			benchGemm(b, n, n, n, Sgemm)
		})
	}
}

// BenchmarkSgemmSmall times products at and around gemmSmall, where Sgemm
// switches from the unpacked loop to the packed path.
func BenchmarkSgemmSmall(b *testing.B) {
	for _, n := range []int{8, 12, 16, 20, 24, 32} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			benchGemm(b, n, n, n, Sgemm)
		})
	}
}

// BenchmarkSgemmTile times each micro-kernel alone on a panel that stays in
// L1: its ceiling, against the machine's peak of 2 FMA pipes × lanes × 2.
func BenchmarkSgemmTile(b *testing.B) {
	const k = gemmKC
	for _, kern := range gemmKernels() {
		b.Run(kern.name, func(b *testing.B) {
			a := make([]float32, kern.mr*k)
			p := make([]float32, kern.nr*k)
			c := make([]float32, kern.mr*kern.nr)
			for i := 0; i < b.N; i++ {
				kern.tile(k, a, p, c, kern.nr, 1, 0, nil)
			}
			b.ReportMetric(2*float64(kern.mr*kern.nr*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

type gemmFunc func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

func benchGemm(b *testing.B, m, n, k int, f gemmFunc) {
	rng := rand.New(rand.NewPCG(1, 1))
	rnd := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = rng.Float32()
		}
		return s
	}
	x, y, z := rnd(m*k), rnd(k*n), make([]float32, m*n)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f(false, false, m, n, k, 1, x, k, y, n, 0, z, n)
	}
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
