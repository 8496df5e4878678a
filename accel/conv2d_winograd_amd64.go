//go:build amd64 && !purego

package accel

import "golang.org/x/sys/cpu"

func init() {
	if cpu.X86.HasAVX512F {
		winoIn, winoOut, winoAsm = winoInAVX512Checked, winoOutAVX512Checked, true
	}
}

// winoInAVX512Checked checks the bounds the assembly relies on (the last
// tile's patch inside r, its V inside v), then calls it.
func winoInAVX512Checked(v []float32, ldv int, r []float32, wp, n int) {
	if n <= 0 {
		return
	}
	_, _ = r[3*wp+2*n+1], v[15*ldv+n-1]
	winoInAVX512(&v[0], ldv, &r[0], wp, n)
}

// winoOutAVX512Checked checks the bounds the assembly relies on (the last
// tile's M inside m, the last output inside y), then calls it.
func winoOutAVX512Checked(y []float32, ow int, m []float32, ldm, n, cols, rows int, ep *[5]float32, flags int) {
	if n <= 0 || cols <= 0 {
		return
	}
	if cols > 2*n || cols < 2*n-1 || rows < 1 || rows > 2 {
		panic("accel: winoOutAVX512: cols or rows out of range")
	}
	_, _ = m[15*ldm+n-1], y[(rows-1)*ow+cols-1]
	winoOutAVX512(&y[0], ow, &m[0], ldm, n, cols, rows, ep, flags)
}
