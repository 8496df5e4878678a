package accel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Tolerances of the transcendental kernels, relative to the exact value
// computed in float64. One unit in the last place of a float32 is at most
// 2^-23 ≈ 1.19e-7 of the value.
const (
	// goFuncTol bounds the Go implementation, which evaluates in float64 and
	// rounds once: half a unit, plus expCore's 1.3e-12, and the half unit of
	// a reference itself rounded to float32 (measured worst 6.0e-8 for exp,
	// sigmoid and tanh over every 37th float32 in [-110, 110]).
	goFuncTol = 1.2e-7
	// vekExpTol bounds vek32's AVX2 exp on its vector body: 2 units
	// (measured worst 8.3e-8 over the same sweep).
	vekExpTol = 2.5e-7
	// vekSigmoidTol bounds sigmoid as vek32's exp, +1 and 1/x: exp's 2
	// units and a half unit for each of the two further roundings
	// (measured worst 2.0e-7).
	vekSigmoidTol = 4e-7
)

// ewSizes straddle vek32's 8-wide body and its unrolled loops, vekMin and
// vekChunk.
var ewSizes = []int{0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 255, 256, 257, 600}

// ewInput makes n inputs for kernel tests: mostly values in [-scale,
// scale], with specials (NaN, ±Inf, ±0, subnormals, ±MaxFloat32) mixed in
// when specials is set.
func ewInput(rng *rand.Rand, n int, scale float64, specials bool) []float32 {
	sp := []float32{
		float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)),
		0, float32(math.Copysign(0, -1)), 1e-40, -1e-40,
		math.MaxFloat32, -math.MaxFloat32, 88.5, -88.5, 89, -104, 104,
	}
	x := make([]float32, n)
	for i := range x {
		if specials && rng.IntN(10) == 0 {
			x[i] = sp[rng.IntN(len(sp))]
			continue
		}
		x[i] = float32((2*rng.Float64() - 1) * scale)
	}
	return x
}

// nanBuf returns a slice of n elements starting off elements into a
// buffer whose other elements are NaN guards, and the buffer.
func nanBuf(off, n int) (buf, s []float32) {
	buf = make([]float32, off+n+guardLen)
	for i := range buf {
		buf[i] = float32(math.NaN())
	}
	return buf, buf[off : off+n]
}

// checkNaNGuards fails unless every element of buf outside [off, off+n) is
// still NaN.
func checkNaNGuards(t *testing.T, buf []float32, off, n int) {
	t.Helper()
	for i, v := range buf {
		if (i < off || i >= off+n) && v == v {
			t.Fatalf("guard at %d (outputs are %d..%d) overwritten with %v", i, off, off+n-1, v)
		}
	}
}

// within reports whether got is within tol relative error of want,
// counting a subnormal step (2^-149) as no error, with NaN matching NaN
// and infinities only themselves.
func within(got float32, want float64, tol float64) bool {
	switch {
	case math.IsNaN(want):
		return got != got
	case math.IsInf(want, 0):
		return float64(got) == want
	}
	return math.Abs(float64(got)-want) <= tol*math.Abs(want)+0x1p-149
}

// unaryCase is one unary kernel with its float64 reference.
type unaryCase struct {
	name  string
	scale float64 // inputs in [-scale, scale]
	tol   func(impl string) float64
	run   func(impl elementwise, dst, x []float32)
	ref   func(x float32) float64
}

func exact(string) float64 { return 0 }

var unaryCases = []unaryCase{
	{"Scale", 1e3, exact,
		func(e elementwise, dst, x []float32) { e.scale(dst, -1.5, x) },
		func(x float32) float64 { return float64(-1.5 * x) }},
	{"AddConst", 1e3, exact,
		func(e elementwise, dst, x []float32) { e.addConst(dst, -1.5, x) },
		func(x float32) float64 { return float64(x - 1.5) }},
	{"ReLU", 10, exact,
		func(e elementwise, dst, x []float32) { e.relu(dst, x) },
		func(x float32) float64 { return float64(max(x, 0)) }},
	{"ReLU6", 10, exact,
		func(_ elementwise, dst, x []float32) { ReLU6(dst, x) },
		func(x float32) float64 {
			if x != x {
				return math.NaN()
			}
			return math.Min(math.Max(float64(x), 0), 6)
		}},
	{"LeakyReLU", 10, exact,
		func(_ elementwise, dst, x []float32) { LeakyReLU(dst, x, 0.1) },
		func(x float32) float64 {
			if x > 0 || x != x {
				return float64(x)
			}
			return float64(0.1 * x)
		}},
	{"Exp", 110, func(impl string) float64 {
		if impl == "vek32" {
			return vekExpTol
		}
		return goFuncTol
	},
		func(e elementwise, dst, x []float32) { e.exp(dst, x) },
		func(x float32) float64 { return float64(float32(math.Exp(float64(x)))) }},
	{"Sigmoid", 110, func(impl string) float64 {
		if impl == "vek32" {
			return vekSigmoidTol
		}
		return goFuncTol
	},
		func(e elementwise, dst, x []float32) { e.sigmoid(dst, x) },
		func(x float32) float64 { return 1 / (1 + math.Exp(-float64(x))) }},
	{"Tanh", 12, func(string) float64 { return goFuncTol },
		func(_ elementwise, dst, x []float32) { Tanh(dst, x) },
		func(x float32) float64 { return math.Tanh(float64(x)) }},
}

// TestUnary runs every unary kernel on every implementation, size and
// start offset, out of place and in place, against its float64 reference.
func TestUnary(t *testing.T) {
	for _, impl := range ewImpls {
		for _, uc := range unaryCases {
			t.Run(impl.name+"/"+uc.name, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(5, 6))
				tol := uc.tol(impl.name)
				for _, n := range ewSizes {
					for off := 0; off < 8; off++ {
						x := ewInput(rng, n, uc.scale, true)
						check := func(how string, got []float32) {
							t.Helper()
							for i, v := range x {
								want := uc.ref(v)
								if (tol == 0 && !sameFloat(got[i], float32(want))) || !within(got[i], want, tol) {
									t.Fatalf("%s n=%d off=%d: f(%v) = %v, want %v", how, n, off, v, got[i], want)
								}
							}
						}
						buf, dst := nanBuf(off, n)
						uc.run(impl, dst, x)
						checkNaNGuards(t, buf, off, n)
						check("out of place", dst)

						buf, in := nanBuf(off, n)
						copy(in, x)
						uc.run(impl, in, in)
						checkNaNGuards(t, buf, off, n)
						check("in place", in)
					}
				}
			})
		}
	}
}

// binaryCase is one kernel of two slices with its float32 reference.
type binaryCase struct {
	name string
	run  func(impl elementwise, dst, x, y []float32)
	ref  func(x, y float32) float32
}

var binaryCases = []binaryCase{
	{"Add", func(e elementwise, dst, x, y []float32) { e.add(dst, x, y) },
		func(x, y float32) float32 { return x + y }},
	{"Mul", func(e elementwise, dst, x, y []float32) { e.mul(dst, x, y) },
		func(x, y float32) float32 { return x * y }},
}

// TestBinary checks Add and Mul exactly (one IEEE rounding each) on every
// implementation, size and offset, with dst separate, dst = x, dst = y and
// dst = x = y.
func TestBinary(t *testing.T) {
	for _, impl := range ewImpls {
		for _, bc := range binaryCases {
			t.Run(impl.name+"/"+bc.name, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(7, 8))
				for _, n := range ewSizes {
					for off := 0; off < 8; off++ {
						x, y := ewInput(rng, n, 100, true), ewInput(rng, n, 100, true)
						check := func(how string, got, x, y []float32) {
							t.Helper()
							for i := range got {
								if want := bc.ref(x[i], y[i]); !sameFloat(got[i], want) {
									t.Fatalf("%s n=%d off=%d: f(%v, %v) = %v, want %v", how, n, off, x[i], y[i], got[i], want)
								}
							}
						}
						buf, dst := nanBuf(off, n)
						bc.run(impl, dst, x, y)
						checkNaNGuards(t, buf, off, n)
						check("dst separate", dst, x, y)

						buf, in := nanBuf(off, n)
						copy(in, x)
						bc.run(impl, in, in, y)
						checkNaNGuards(t, buf, off, n)
						check("dst = x", in, x, y)

						buf, in = nanBuf(off, n)
						copy(in, y)
						bc.run(impl, in, x, in)
						checkNaNGuards(t, buf, off, n)
						check("dst = y", in, x, y)

						buf, in = nanBuf(off, n)
						copy(in, x)
						bc.run(impl, in, in, in)
						checkNaNGuards(t, buf, off, n)
						check("dst = x = y", in, x, x)
					}
				}
			})
		}
	}
}

func TestAxpy(t *testing.T) {
	for _, impl := range ewImpls {
		t.Run(impl.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(9, 10))
			const alpha = float32(-0.75)
			for _, n := range ewSizes {
				for off := 0; off < 8; off++ {
					x, y0 := ewInput(rng, n, 100, true), ewInput(rng, n, 100, true)
					buf, y := nanBuf(off, n)
					copy(y, y0)
					impl.axpy(alpha, x, y)
					checkNaNGuards(t, buf, off, n)
					for i := range y {
						// The product is rounded, then the sum: exactly.
						if want := y0[i] + float32(alpha*x[i]); !sameFloat(y[i], want) {
							t.Fatalf("n=%d off=%d: %v + %v·%v = %v, want %v", n, off, y0[i], alpha, x[i], y[i], want)
						}
					}
					// y = x: y += alpha·y.
					buf, y = nanBuf(off, n)
					copy(y, x)
					impl.axpy(alpha, y, y)
					checkNaNGuards(t, buf, off, n)
					for i := range y {
						if want := x[i] + float32(alpha*x[i]); !sameFloat(y[i], want) {
							t.Fatalf("in place n=%d off=%d: got %v, want %v", n, off, y[i], want)
						}
					}
				}
			}
		})
	}
}

// TestElementwisePublic runs the exported kernels once each (they dispatch
// to ew), on slices longer than x, to check that only len(x) elements are
// written.
func TestElementwisePublic(t *testing.T) {
	x := []float32{-2, -0.5, 0, 0.5, 2, 7, float32(math.NaN())}
	n := len(x)
	y := []float32{1, 2, 3, 4, 5, 6, 7, 99}
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	for _, tc := range []struct {
		name string
		run  func(dst []float32)
		want func(x, y float64) float64
	}{
		{"Add", func(d []float32) { Add(d, x, y) }, func(x, y float64) float64 { return x + y }},
		{"Mul", func(d []float32) { Mul(d, x, y) }, func(x, y float64) float64 { return x * y }},
		{"Scale", func(d []float32) { Scale(d, 2, x) }, func(x, _ float64) float64 { return 2 * x }},
		{"AddConst", func(d []float32) { AddConst(d, 2, x) }, func(x, _ float64) float64 { return x + 2 }},
		{"ReLU", func(d []float32) { ReLU(d, x) }, func(x, _ float64) float64 { return math.Max(x, 0) }},
		{"ReLU6", func(d []float32) { ReLU6(d, x) }, func(x, _ float64) float64 { return math.Min(math.Max(x, 0), 6) }},
		{"LeakyReLU", func(d []float32) { LeakyReLU(d, x, 0.5) }, func(x, _ float64) float64 { return math.Max(x, x/2) }},
		{"Exp", func(d []float32) { Exp(d, x) }, func(x, _ float64) float64 { return math.Exp(x) }},
		{"Sigmoid", func(d []float32) { Sigmoid(d, x) }, func(x, _ float64) float64 { return sig(x) }},
		{"Tanh", func(d []float32) { Tanh(d, x) }, func(x, _ float64) float64 { return math.Tanh(x) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf, dst := nanBuf(0, n)
			tc.run(buf)
			checkNaNGuards(t, buf, 0, n)
			for i, v := range x {
				if want := tc.want(float64(v), float64(y[i])); !within(dst[i], want, vekSigmoidTol) {
					t.Errorf("%s(%v) = %v, want %v", tc.name, v, dst[i], want)
				}
			}
		})
	}
	yy := append([]float32(nil), y...)
	Axpy(2, x[:6], yy)
	if want := []float32{-3, 1, 3, 5, 9, 20, 7, 99}; fmt.Sprint(yy) != fmt.Sprint(want) {
		t.Errorf("Axpy = %v, want %v", yy, want)
	}
}

func TestElementwisePanics(t *testing.T) {
	s := make([]float32, 16)
	checkPanics(t, []panicCase{
		{"short dst", func() { Add(s[:3], s[4:8], s[8:12]) }, "accel: Add: len(dst) = 3, need 4 (len(x))"},
		{"short y", func() { Mul(s[:4], s[4:8], s[8:10]) }, "accel: Mul: len(y) = 2, need 4 (len(x))"},
		{"short axpy y", func() { Axpy(1, s[:4], s[8:10]) }, "accel: Axpy: len(y) = 2, need 4 (len(x))"},
		{"dst shifted over x", func() { Exp(s[1:5], s[0:4]) }, "accel: Exp: dst overlaps x without being the same slice"},
		{"dst shifted over y", func() { Add(s[1:5], s[8:12], s[0:4]) }, "accel: Add: dst overlaps y without being the same slice"},
		{"axpy y shifted over x", func() { Axpy(1, s[0:4], s[2:6]) }, "accel: Axpy: y overlaps x without being the same slice"},
		{"short sigmoid dst", func() { Sigmoid(nil, s[:1]) }, "accel: Sigmoid: len(dst) = 0, need 1 (len(x))"},
	}, startsWith)
}

// TestExpCore checks the float64 core against math.Exp over the range the
// float32 kernels use.
func TestExpCore(t *testing.T) {
	worst := 0.0
	for i := 0; i <= 200000; i++ {
		x := -110 + 220*float64(i)/200000
		want := math.Exp(x)
		worst = max(worst, math.Abs(expCore(x)-want)/want)
	}
	if worst > 1.3e-12 {
		t.Errorf("expCore: worst relative error %.3g, want at most 1.3e-12", worst)
	}
}

// TestExpDense sweeps every 4001st float32 in [-104, 89] through Exp and
// Sigmoid on every implementation.
func TestExpDense(t *testing.T) {
	var xs []float32
	lo, hi := math.Float32bits(-104), math.Float32bits(89)
	for b := uint32(0); b < lo; b += 4001 { // negative numbers down to -104
		xs = append(xs, -math.Float32frombits(b))
	}
	for b := uint32(0); b < hi; b += 4001 {
		xs = append(xs, math.Float32frombits(b))
	}
	got := make([]float32, len(xs))
	for _, impl := range ewImpls {
		tol := goFuncTol
		sigTol := goFuncTol
		if impl.name == "vek32" {
			tol, sigTol = vekExpTol, vekSigmoidTol
		}
		impl.exp(got, xs)
		for i, x := range xs {
			if want := float64(float32(math.Exp(float64(x)))); !within(got[i], want, tol) {
				t.Fatalf("%s: exp(%v) = %v, want %v", impl.name, x, got[i], want)
			}
		}
		impl.sigmoid(got, xs)
		for i, x := range xs {
			if want := 1 / (1 + math.Exp(-float64(x))); !within(got[i], want, sigTol) {
				t.Fatalf("%s: sigmoid(%v) = %v, want %v", impl.name, x, got[i], want)
			}
		}
	}
}
