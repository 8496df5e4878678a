//go:build amd64 && !purego

package accel

import "golang.org/x/sys/cpu"

func init() {
	if cpu.X86.HasAVX512F {
		dw3x3Kernel = dw3x3AVX512Checked
	}
}

// dw3x3AVX512Checked checks the bounds the assembly relies on (len(o) a
// multiple of dw3x3Block, the window's last read inside r), then calls it.
func dw3x3AVX512Checked(o, r []float32, wp int, w *[9]float32, ep *[5]float32, flags int) {
	n := len(o)
	if n == 0 {
		return
	}
	if n%dw3x3Block != 0 {
		panic("accel: dw3x3AVX512: len(o) not a multiple of dw3x3Block")
	}
	_ = r[n-1+2*wp+2]
	dw3x3AVX512(&o[0], &r[0], wp, w, n, ep, flags)
}
