package accel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// ewBenchSizes run from a short row to a feature map (64×56×56 = 200704
// floats, 784 KiB, past L2 per slice).
var ewBenchSizes = []int{16, 64, 256, 4096, 65536, 200704}

// benchEW runs f on n-element slices for each of impls, reporting bytes
// moved (slices read and written) per second.
func benchEW(b *testing.B, impls []elementwise, slices int, f func(impl elementwise, dst, x, y []float32)) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range ewBenchSizes {
		x, y := ewInput(rng, n, 4, false), ewInput(rng, n, 4, false)
		dst := make([]float32, n)
		for _, impl := range impls {
			b.Run(fmt.Sprintf("%s/N=%d", impl.name, n), func(b *testing.B) {
				b.SetBytes(int64(4 * slices * n))
				for b.Loop() {
					f(impl, dst, x, y)
				}
			})
		}
	}
}

func BenchmarkAdd(b *testing.B) {
	benchEW(b, ewImpls, 3, func(e elementwise, dst, x, y []float32) { e.add(dst, x, y) })
}

func BenchmarkMul(b *testing.B) {
	benchEW(b, ewImpls, 3, func(e elementwise, dst, x, y []float32) { e.mul(dst, x, y) })
}

func BenchmarkScale(b *testing.B) {
	benchEW(b, ewImpls, 2, func(e elementwise, dst, x, _ []float32) { e.scale(dst, 0.5, x) })
}

func BenchmarkAddConst(b *testing.B) {
	benchEW(b, ewImpls, 2, func(e elementwise, dst, x, _ []float32) { e.addConst(dst, 0.5, x) })
}

func BenchmarkAxpy(b *testing.B) {
	benchEW(b, ewImpls, 3, func(e elementwise, dst, x, _ []float32) { e.axpy(1e-3, x, dst) })
}

func BenchmarkReLU(b *testing.B) {
	benchEW(b, ewImpls, 2, func(e elementwise, dst, x, _ []float32) { e.relu(dst, x) })
}

func BenchmarkReLU6(b *testing.B) {
	benchEW(b, []elementwise{ewGo}, 2, func(_ elementwise, dst, x, _ []float32) { ReLU6(dst, x) })
}

func BenchmarkLeakyReLU(b *testing.B) {
	benchEW(b, []elementwise{ewGo}, 2, func(_ elementwise, dst, x, _ []float32) { LeakyReLU(dst, x, 0.1) })
}

func BenchmarkExp(b *testing.B) {
	benchEW(b, ewImpls, 2, func(e elementwise, dst, x, _ []float32) { e.exp(dst, x) })
}

func BenchmarkSigmoid(b *testing.B) {
	benchEW(b, ewImpls, 2, func(e elementwise, dst, x, _ []float32) { e.sigmoid(dst, x) })
}

func BenchmarkTanh(b *testing.B) {
	benchEW(b, []elementwise{ewGo}, 2, func(_ elementwise, dst, x, _ []float32) { Tanh(dst, x) })
}
