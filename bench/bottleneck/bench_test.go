package main

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"govision.dev/accel"
	"govision.dev/vision/tensor"
)

// BenchmarkBottleneck times govision's ResNet-50 bottleneck block (the
// harness's default, 256→64→64→256 at 56×56, batch 1) on 1 and 2 threads,
// without PyTorch: the weights are Go's random ones, with perturbed batch
// norms (the work does not depend on the values). It reports ms per block
// and img/s; `go run ./bench/bottleneck` puts the same number beside
// PyTorch's.
func BenchmarkBottleneck(b *testing.B) {
	for _, s := range []shape{resnet50Layer1} {
		rng := rand.New(rand.NewPCG(5, 6))
		block := newBottleneck(s, rng)
		block.perturbBN(rng)
		x := tensor.New(1, s.in, s.size, s.size)
		for i := range x.Data() {
			x.Data()[i] = float32(rng.NormFloat64())
		}
		for _, t := range []int{1, 2} {
			name := fmt.Sprintf("in=%d,width=%d,size=%d/threads=%d", s.in, s.width, s.size, t)
			b.Run(name, func(b *testing.B) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(t))
				defer accel.SetThreads(0)
				accel.SetThreads(t)
				for b.Loop() {
					y, err := block.Forward(x)
					if err != nil {
						b.Fatal(err)
					}
					y.Release()
				}
				perOp := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(perOp*1e3, "ms")
				b.ReportMetric(1/perOp, "img/s")
				b.ReportMetric(s.flops()/perOp/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkAddReLU times the block's residual sum and ReLU at ResNet-50's
// 256×56×56 in L1-sized pieces (addReLUChunk) and as two whole passes
// ("chunk=all"); it chose addReLUChunk.
func BenchmarkAddReLU(b *testing.B) {
	n := resnet50Layer1.in * resnet50Layer1.size * resnet50Layer1.size
	rng := rand.New(rand.NewPCG(7, 8))
	x, y := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i], y[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	for _, chunk := range []int{512, addReLUChunk, 8192, n} {
		name := fmt.Sprintf("chunk=%d", chunk)
		if chunk == n {
			name = "chunk=all"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(8 * n))
			for b.Loop() {
				addReLUChunked(y, x, chunk)
			}
		})
	}
}
