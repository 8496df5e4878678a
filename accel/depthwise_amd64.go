//go:build amd64 && !purego

package accel

import "golang.org/x/sys/cpu"

func init() {
	if cpu.X86.HasAVX512F {
		dw3x3Kernel = dw3x3AVX512Checked
	}
	if cpu.X86.HasAVX512F && cpu.X86.HasBMI2 { // BZHI makes their masks
		dw3x3s1Kernel = dwRowsChecked(1, dw3x3s1AVX512)
		dw3x3s2Kernel = dwRowsChecked(2, dw3x3s2AVX512)
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

// dwRowsChecked returns the row kernel asm of stride s (1 or 2) behind a
// check: it clamps avail to the columns the rows' windows reach (s·n+1)
// and checks the bounds the assembly relies on (the last row's n outputs
// in o, its avail columns in each r), then calls it.
func dwRowsChecked(s int, asm func(o *float32, ldo int, r0, r1, r2 *float32, step, rows, n, avail int, w *[9]float32, ep *[5]float32, flags int)) dwRowsFunc {
	return func(o []float32, ldo int, r0, r1, r2 []float32, step, rows, n, avail int, w *[9]float32, ep *[5]float32, flags int) {
		if rows <= 0 || n <= 0 {
			return
		}
		if avail < 1 || ldo < n || step < 0 {
			panic("accel: dw3x3 row kernel: avail < 1, ldo < n or step < 0")
		}
		avail = min(avail, s*n+1)
		_ = o[(rows-1)*ldo+n-1]
		last := (rows-1)*step + avail - 1
		_, _, _ = r0[last], r1[last], r2[last]
		asm(&o[0], ldo, &r0[0], &r1[0], &r2[0], step, rows, n, avail, w, ep, flags)
	}
}
