package accel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkSoftmaxRows covers a detector's class scores (80 classes per
// box) and a classifier's head (1000 classes), reporting rows per second.
func BenchmarkSoftmaxRows(b *testing.B) {
	for _, sh := range []struct{ rows, cols int }{{8400, 80}, {1, 1000}, {32, 1000}} {
		src := ewInput(rand.New(rand.NewPCG(1, 1)), sh.rows*sh.cols, 10, false)
		dst := make([]float32, len(src))
		old := ew
		for _, impl := range ewImpls {
			ew = impl
			for _, k := range []struct {
				name string
				f    func(dst, src []float32, rows, cols int)
			}{{"softmax", SoftmaxRows}, {"logsoftmax", LogSoftmaxRows}} {
				b.Run(fmt.Sprintf("%s/%s/%dx%d", k.name, impl.name, sh.rows, sh.cols), func(b *testing.B) {
					ew = impl
					b.SetBytes(int64(8 * len(src)))
					for b.Loop() {
						k.f(dst, src, sh.rows, sh.cols)
					}
					b.ReportMetric(float64(sh.rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
				})
			}
		}
		ew = old
	}
}

func BenchmarkArgmaxRows(b *testing.B) {
	const rows, cols = 8400, 80
	src := ewInput(rand.New(rand.NewPCG(1, 1)), rows*cols, 10, false)
	dst := make([]int, rows)
	b.Run(fmt.Sprintf("%dx%d", rows, cols), func(b *testing.B) {
		b.SetBytes(int64(4 * len(src)))
		for b.Loop() {
			ArgmaxRows(dst, src, rows, cols)
		}
		b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}
