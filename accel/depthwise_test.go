package accel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestDw3x3Kernel compares the vector depthwise kernel (where the machine
// has one) with dw3x3Go on whole blocks, every epilogue flag, with NaN
// guards after the output. The kernel fuses its multiply-adds and the Go
// loop does not, so values may differ by float32 rounding of the nine
// products' sum: dwTol times the sum of their magnitudes.
func TestDw3x3Kernel(t *testing.T) {
	if dw3x3Kernel == nil {
		t.Skip("no vector depthwise kernel on this machine or build")
	}
	const dwTol = 4 * 0x1p-24 * 9
	rng := rand.New(rand.NewPCG(7, 8))
	for _, wp := range []int{3, 9, 58, 130} {
		for _, blocks := range []int{1, 2, 5} {
			for flags := 0; flags < 16; flags++ {
				fl := flags << 1 // tileAffine, tileClampLo, tileClampHi, tileLeaky
				n := blocks * dw3x3Block
				r := make([]float32, n+2*wp+2)
				for i := range r {
					r[i] = rng.Float32()*2 - 1
				}
				var w [9]float32
				for i := range w {
					w[i] = rng.Float32()*2 - 1
				}
				ep := [5]float32{1.5, -0.25, -0.3, 0.4, 0.1}
				got := make([]float32, n+8)
				for i := range got {
					got[i] = float32(math.NaN())
				}
				want := make([]float32, n)
				dw3x3Kernel(got[:n], r, wp, &w, &ep, fl)
				dw3x3Go(want, r, wp, &w, &ep, fl)
				for i := range want {
					var mag float64
					for k := 0; k < 9; k++ {
						mag += math.Abs(float64(w[k] * r[i+(k/3)*wp+k%3]))
					}
					if d := math.Abs(float64(got[i] - want[i])); d > dwTol*2*(mag+1) {
						t.Fatalf("wp %d n %d flags %b: o[%d] = %g, Go %g", wp, n, fl, i, got[i], want[i])
					}
				}
				for i := n; i < len(got); i++ {
					if !math.IsNaN(float64(got[i])) {
						t.Fatalf("wp %d n %d: guard o[%d] overwritten", wp, n, i)
					}
				}
			}
		}
	}
}
