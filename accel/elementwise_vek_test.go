//go:build !purego

package accel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestInRange checks scan's vectorised fast path against the loop's
// condition, on chunks in range but for one special value (NaN, ±Inf,
// just outside either bound) at each position, and on ewInput's mixes.
func TestInRange(t *testing.T) {
	const lo, hi = vekExpMin, vekExpMax
	want := func(x []float32) bool {
		for _, v := range x {
			if !(v >= lo && v <= hi) {
				return false
			}
		}
		return true
	}
	specials := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)),
		math.Nextafter32(lo, -100), math.Nextafter32(hi, 100), lo, hi, math.MaxFloat32, -math.MaxFloat32}
	rng := rand.New(rand.NewPCG(11, 12))
	for _, n := range ewSizes {
		x := ewInput(rng, n, 80, false)
		if got := inRange(x, lo, hi); got != want(x) {
			t.Fatalf("n=%d in range: inRange = %v, want %v", n, got, want(x))
		}
		for i := range x {
			for _, s := range specials {
				old := x[i]
				x[i] = s
				if got := inRange(x, lo, hi); got != want(x) {
					t.Fatalf("n=%d, x[%d] = %v: inRange = %v, want %v", n, i, s, got, want(x))
				}
				x[i] = old
			}
		}
		for range 20 {
			x := ewInput(rng, n, 100, true)
			if got := inRange(x, lo, hi); got != want(x) {
				t.Fatalf("n=%d mixed %v: inRange = %v, want %v", n, x, got, want(x))
			}
		}
	}
	// Finite values whose sum overflows: in range or not, never a wrong yes.
	big := []float32{math.MaxFloat32, math.MaxFloat32, -math.MaxFloat32, -math.MaxFloat32}
	if inRange(big, lo, hi) {
		t.Errorf("inRange(%v) = true", big)
	}
}
