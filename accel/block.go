package accel

import "fmt"

// CopyBlocks copies count rows×width blocks between row-major matrices,
// block b from src[b*srcStride:] (leading dimension lds) to
// dst[b*dstStride:] (leading dimension ldd):
//
//	for b := 0; b < count; b++ {
//		for r := 0; r < rows; r++ {
//			copy(dst[b*dstStride+r*ldd:][:width], src[b*srcStride+r*lds:][:width])
//		}
//	}
//
// A convolution's lowering is made of such blocks: with stride 1, kernel
// tap (ki, kj)'s row of the lowered matrix is an OH×OW window of each
// image's input plane (lds = W), written as OH rows of OW (ldd = OW), the
// images' windows side by side for a batch (srcStride = C·H·W, dstStride
// = OH·OW). One call per tap replaces OH calls of copy per image on rows
// of a few dozen floats, where the call costs more than the copy. (The
// adjoint, adding the windows back, is Col2imBatch.) dst must not overlap
// src.
//
// It panics if a dimension or stride is negative, a leading dimension is
// smaller than width, or a slice is too short.
func CopyBlocks(dst []float32, dstStride, ldd int, src []float32, srcStride, lds int, count, rows, width int) {
	if count < 0 || rows < 0 || width < 0 || dstStride < 0 || srcStride < 0 {
		panic(fmt.Sprintf("accel: CopyBlocks: negative dimension or stride: count=%d rows=%d width=%d dstStride=%d srcStride=%d",
			count, rows, width, dstStride, srcStride))
	}
	if ldd < width || lds < width {
		panic(fmt.Sprintf("accel: CopyBlocks: ldd = %d, lds = %d, less than width %d", ldd, lds, width))
	}
	if count == 0 || rows == 0 || width == 0 {
		return
	}
	if need := (count-1)*dstStride + (rows-1)*ldd + width; len(dst) < need {
		panic(fmt.Sprintf("accel: CopyBlocks: len(dst) = %d, need at least %d for %d blocks %d apart of %d×%d ldd=%d",
			len(dst), need, count, dstStride, rows, width, ldd))
	}
	if need := (count-1)*srcStride + (rows-1)*lds + width; len(src) < need {
		panic(fmt.Sprintf("accel: CopyBlocks: len(src) = %d, need at least %d for %d blocks %d apart of %d×%d lds=%d",
			len(src), need, count, srcStride, rows, width, lds))
	}
	blockKernels.copy(dst, dstStride, ldd, src, srcStride, lds, count, rows, width)
}

// blockImpl is one implementation of CopyBlocks; the arguments are
// checked and count, rows, width ≥ 1.
type blockImpl struct {
	name string
	copy func(dst []float32, dstStride, ldd int, src []float32, srcStride, lds int, count, rows, width int)
}

// blockKernels is the implementation in use (block_amd64.go may replace
// it at start-up).
var blockKernels = blockGo

// blockGo is the pure-Go implementation: the loop of the doc comment.
var blockGo = blockImpl{name: "go", copy: copyBlocksGo}

func copyBlocksGo(dst []float32, dstStride, ldd int, src []float32, srcStride, lds int, count, rows, width int) {
	for b := 0; b < count; b++ {
		for r := 0; r < rows; r++ {
			copy(dst[b*dstStride+r*ldd:][:width], src[b*srcStride+r*lds:][:width])
		}
	}
}
