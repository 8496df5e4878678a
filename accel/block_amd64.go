//go:build amd64 && !purego

package accel

import "golang.org/x/sys/cpu"

// blockAVX512 moves whole 16-float vectors and each row's tail under a
// mask (copyBlockAVX512 in sgemm_amd64.s).
var blockAVX512 = blockImpl{name: "avx512", copy: copyBlocksAVX512}

func init() {
	if cpu.X86.HasAVX512F {
		blockKernels = blockAVX512
	}
}

// blockImpls lists every block implementation this machine can run.
func blockImpls() []blockImpl {
	if cpu.X86.HasAVX512F {
		return []blockImpl{blockGo, blockAVX512}
	}
	return []blockImpl{blockGo}
}

// copyBlocksAVX512 checks the bounds the assembly relies on (the last
// block's last row inside both slices), then calls it.
func copyBlocksAVX512(dst []float32, dstStride, ldd int, src []float32, srcStride, lds int, count, rows, width int) {
	_ = dst[(count-1)*dstStride+(rows-1)*ldd+width-1]
	_ = src[(count-1)*srcStride+(rows-1)*lds+width-1]
	copyBlockAVX512(&dst[0], ldd, &src[0], lds, rows, width, 1<<(width%16)-1, count, dstStride, srcStride)
}
