package accel

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// TestDw3x3RowKernels compares the vector row kernels of 3x3 depthwise
// convolutions (where the machine has them), at stride 1 and 2, with
// dw3x3RowsGo, bit for bit: both sum the taps in (ki, kj) order with one
// rounding per fused multiply-add. It covers output counts around the
// 16-wide trips, every reach of avail (the right padding: from one column
// to more than the windows need), one to three rows with output rows
// spaced apart and input rows in one plane or a shared zero row, start
// offsets 0–7, and the 16 combinations of epilogue flags in turn. The
// rows' columns outside [0, avail) hold NaN, which a read would carry into
// the result; NaN guards around and between the output rows catch stray
// writes. Some inputs and weights are ±0, so the clamps meet signed zeros.
func TestDw3x3RowKernels(t *testing.T) {
	for s, kern := range map[int]dwRowsFunc{1: dw3x3s1Kernel, 2: dw3x3s2Kernel} {
		t.Run(fmt.Sprintf("stride=%d", s), func(t *testing.T) {
			if kern == nil {
				t.Skip("no vector row kernel on this machine or build")
			}
			testDw3x3RowKernel(t, s, kern)
		})
	}
}

func testDw3x3RowKernel(t *testing.T, s int, kern dwRowsFunc) {
	rng := rand.New(rand.NewPCG(17, uint64(s)))
	nan := float32(math.NaN())
	value := func() float32 {
		switch rng.IntN(8) {
		case 0:
			return 0
		case 1:
			return float32(math.Copysign(0, -1))
		}
		return rng.Float32()*2 - 1
	}
	cases := 0
	for _, n := range []int{1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 47, 48, 49, 64, 65, 100} {
		avails := []int{1, 2, 3, 16, 17, 18, 33, 34, 35, n - 1, n, n + 1, 2*n - 1, 2 * n, 2*n + 1, 2*n + 5}
		for _, avail := range avails {
			if avail < 1 {
				continue
			}
			for _, rows := range []int{1, 2, 3} {
				flags := (cases % 16) << 1 // tileAffine, tileClampLo, tileClampHi, tileLeaky
				cases++
				off := rng.IntN(8)
				zeroRow := rng.IntN(3) // which input row is the shared zero row (3: none)
				if rows > 1 {
					zeroRow = 3
				}
				name := fmt.Sprintf("n=%d/avail=%d/rows=%d/flags=%b/off=%d/zero=%d", n, avail, rows, flags, off, zeroRow)
				ldo := n + rng.IntN(3)
				// A plane row: a NaN column before (read at stride 1 if
				// the left padding were not masked), then at least the
				// windows' reach; NaN from avail on.
				width := 1 + max(avail, s*n+2)
				step := s * width
				// The plane: the rows read, s·(rows−1)+3, then one of
				// NaN; NaN outside the avail columns.
				height := s*(rows-1) + 3
				plane := make([]float32, off+(height+1)*width)
				for i := range plane {
					plane[i] = nan
				}
				for y := 0; y < height; y++ {
					for c := 0; c < avail; c++ {
						plane[off+1+y*width+c] = value()
					}
				}
				zero := make([]float32, width)
				for c := range zero {
					zero[c] = nan
				}
				clear(zero[1 : 1+avail])
				zero = zero[1:]
				r := [3][]float32{plane[off+1:], plane[off+1+width:], plane[off+1+2*width:]}
				if zeroRow < 3 {
					r[zeroRow] = zero
				}
				var w [9]float32
				for i := range w {
					w[i] = value()
				}
				ep := [5]float32{rng.Float32() + 0.5, rng.Float32() - 0.5, 0, 6, 0.1}
				if rng.IntN(2) == 0 {
					ep[2], ep[3] = -0.3, 0.4
				}
				size := (rows-1)*ldo + n
				want := make([]float32, size)
				for i := range want {
					want[i] = nan
				}
				dw3x3RowsGo(s, want, ldo, r[0], r[1], r[2], step, rows, n, avail, &w, &ep, flags)
				buf := make([]float32, off+size+guard)
				for i := range buf {
					buf[i] = nan
				}
				got := buf[off : off+size]
				kern(got, ldo, r[0], r[1], r[2], step, rows, n, avail, &w, &ep, flags)
				for j := 0; j < rows; j++ {
					for i := 0; i < ldo && j*ldo+i < size; i++ {
						g, x := got[j*ldo+i], want[j*ldo+i]
						if i >= n {
							if !math.IsNaN(float64(g)) {
								t.Fatalf("%s: gap o[%d] written", name, j*ldo+i)
							}
							continue
						}
						if math.Float32bits(g) != math.Float32bits(x) {
							t.Fatalf("%s: row %d o[%d] = %v (%#x), Go %v (%#x)", name, j, i, g, math.Float32bits(g), x, math.Float32bits(x))
						}
					}
				}
				for i, v := range buf[off+size:] {
					if !math.IsNaN(float64(v)) {
						t.Fatalf("%s: guard o[%d] overwritten", name, size+i)
					}
				}
				for i, v := range buf[:off] {
					if !math.IsNaN(float64(v)) {
						t.Fatalf("%s: guard before o, [%d], overwritten", name, i)
					}
				}
			}
		}
	}
}

// TestFMA32 checks fma32 against x·y + z computed exactly (math/big) and
// rounded once to float32, on random operands of every scale and on sums
// that a float64 sum rounded twice gets wrong.
func TestFMA32(t *testing.T) {
	exact := func(x, y, z float32) float32 {
		p := new(big.Float).SetPrec(200).SetFloat64(float64(x))
		p.Mul(p, new(big.Float).SetFloat64(float64(y)))
		p.Add(p, new(big.Float).SetFloat64(float64(z)))
		f, _ := p.Float32()
		return f
	}
	check := func(x, y, z float32) {
		t.Helper()
		got := fma32(x, y, z)
		want := exact(x, y, z)
		if math.Float32bits(got) != math.Float32bits(want) && !(got == 0 && want == 0) {
			t.Fatalf("fma32(%g, %g, %g) = %g (%#x), want %g (%#x)", x, y, z, got, math.Float32bits(got), want, math.Float32bits(want))
		}
	}
	// The exact sum is just below the float32 midpoint 1 + 3·2⁻²⁴, the
	// float64 one on it: rounding twice ties to even, up; once, down.
	a := float32(1 + 0x1p-15)
	b := float32(0x1p-24 * (1 - 0x1p-15))
	if got, want := fma32(a, b, 1+0x1p-23), float32(1+0x1p-23); got != want {
		t.Errorf("double-rounding case: fma32 = %v, want %v", got, want)
	}
	check(a, b, 1+0x1p-23)
	check(-a, b, -1-0x1p-23)
	rng := rand.New(rand.NewPCG(19, 20))
	scaled := func() float32 {
		v := float32(math.Ldexp(rng.Float64()*2-1, rng.IntN(60)-30))
		if rng.IntN(4) == 0 {
			v = float32(int(v*64)) / 64 // short mantissas: exact sums and ties
		}
		return v
	}
	for range 200000 {
		check(scaled(), scaled(), scaled())
	}
	for _, v := range []float32{0, float32(math.Copysign(0, -1)), 0x1p-149, 0x1p-126, math.MaxFloat32} {
		check(v, 1, 0)
		check(1, v, float32(math.Copysign(0, -1)))
		check(2, v, -v)
	}
	inf := float32(math.Inf(1))
	if got := fma32(inf, 0, 1); !math.IsNaN(float64(got)) {
		t.Errorf("fma32(Inf, 0, 1) = %v, want NaN", got)
	}
	if got := fma32(inf, 2, 1); got != inf {
		t.Errorf("fma32(Inf, 2, 1) = %v, want +Inf", got)
	}
	if got := fma32(math.MaxFloat32, 2, 0); got != inf {
		t.Errorf("fma32(MaxFloat32, 2, 0) = %v, want +Inf", got)
	}
}
