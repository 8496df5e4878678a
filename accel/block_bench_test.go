package accel

import (
	"fmt"
	"testing"
)

// BenchmarkCopyBlocks times CopyBlocks' implementations on the windows of
// LeNet-5's lowerings, one tap for the 8 images of a chunk: C1's 28×28 of
// a 32×32 plane, C3's 10×10 of 14×14 (6 channels apart).
func BenchmarkCopyBlocks(b *testing.B) {
	const count = 8
	for _, s := range []struct{ rows, width, ld, srcStride int }{{28, 28, 32, 32 * 32}, {10, 10, 14, 6 * 14 * 14}} {
		src := make([]float32, count*s.srcStride)
		dst := make([]float32, count*s.rows*s.width)
		for _, impl := range blockImpls() {
			b.Run(fmt.Sprintf("%dx%d/%s", s.rows, s.width, impl.name), func(b *testing.B) {
				for b.Loop() {
					impl.copy(dst, s.rows*s.width, s.width, src, s.srcStride, s.ld, count, s.rows, s.width)
				}
				b.SetBytes(4 * count * int64(s.rows*s.width))
			})
		}
	}
}
