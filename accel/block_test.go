package accel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestCopyBlocks runs every CopyBlocks implementation against the loop of
// its doc comment, for widths around the 16-float vector, leading
// dimensions wider than the blocks, blocks spaced apart and start offsets
// 0–7, with NaN in every element of dst outside the blocks.
func TestCopyBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	for _, impl := range blockImpls() {
		for _, width := range []int{1, 7, 15, 16, 17, 28, 31, 32, 33, 100} {
			for _, rows := range []int{1, 2, 5} {
				for _, count := range []int{1, 3} {
					off := (width + rows + count) % 8
					ldd, lds := width+off%3, width+off%5
					dstStride, srcStride := (rows-1)*ldd+width+off%2, rows*lds+1
					name := fmt.Sprintf("%s %d×%dx%d off=%d", impl.name, count, rows, width, off)
					src := make([]float32, off+(count-1)*srcStride+(rows-1)*lds+width)
					for i := range src {
						src[i] = rng.Float32()
					}
					dst := make([]float32, off+(count-1)*dstStride+(rows-1)*ldd+width+8)
					for i := range dst {
						dst[i] = float32(math.NaN())
					}
					want := append([]float32(nil), dst...)
					copyBlocksGo(want[off:], dstStride, ldd, src[off:], srcStride, lds, count, rows, width)
					impl.copy(dst[off:], dstStride, ldd, src[off:], srcStride, lds, count, rows, width)
					for i := range dst {
						if math.Float32bits(dst[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s: dst[%d] = %g, want %g", name, i, dst[i], want[i])
						}
					}
				}
			}
		}
	}
}

func TestCopyBlocksPanics(t *testing.T) {
	checkPanics(t, []panicCase{
		{"negative", func() { CopyBlocks(nil, 0, 1, nil, 0, 1, 1, -1, 1) },
			"accel: CopyBlocks: negative dimension or stride: count=1 rows=-1 width=1 dstStride=0 srcStride=0"},
		{"narrow ld", func() { CopyBlocks(make([]float32, 8), 0, 2, make([]float32, 8), 0, 4, 1, 2, 3) },
			"accel: CopyBlocks: ldd = 2, lds = 4, less than width 3"},
		{"short dst", func() { CopyBlocks(make([]float32, 6), 0, 4, make([]float32, 8), 0, 4, 1, 2, 3) },
			"accel: CopyBlocks: len(dst) = 6, need at least 7 for 1 blocks 0 apart of 2×3 ldd=4"},
		{"short src", func() { CopyBlocks(make([]float32, 20), 10, 4, make([]float32, 10), 5, 4, 2, 2, 3) },
			"accel: CopyBlocks: len(src) = 10, need at least 12 for 2 blocks 5 apart of 2×3 lds=4"},
	}, exactly)
}

func ExampleCopyBlocks() {
	// The 2x2 window at row 1, column 1 of two 3x4 matrices, side by side.
	src := []float32{
		0, 1, 2, 3,
		4, 5, 6, 7,
		8, 9, 10, 11,

		12, 13, 14, 15,
		16, 17, 18, 19,
		20, 21, 22, 23,
	}
	dst := make([]float32, 8)
	CopyBlocks(dst, 4, 2, src[1*4+1:], 12, 4, 2, 2, 2)
	fmt.Println(dst)
	// Output: [5 6 9 10 17 18 21 22]
}
