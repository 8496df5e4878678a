//go:build amd64 && !purego

package accel

import "golang.org/x/sys/cpu"

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA && gemm.mr != 6 {
		gemmSix = &gemmAVX2
	}
}
