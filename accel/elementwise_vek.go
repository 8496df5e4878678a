//go:build !purego

package accel

import "github.com/viterin/vek/vek32"

// ew is the element-wise implementation this process uses: vek32's vector
// code (AVX2 on amd64; vek32 falls back to plain Go loops elsewhere).
var ew = ewVek

// ewImpls lists every element-wise implementation this build can run, for
// the tests.
var ewImpls = []elementwise{ewGo, ewVek}

// ewVek runs the element-wise kernels on github.com/viterin/vek/vek32,
// whose in-place functions (Add_Inplace and friends) reject overlapping
// arguments: when dst is one input it updates that input in place,
// otherwise it copies the first input into dst and updates dst. Shorter
// slices than vekMin, and the cases vek32 cannot take (dst = x = y), use the
// Go loops.
var ewVek = elementwise{
	name:     "vek32",
	add:      addVek,
	mul:      mulVek,
	scale:    scaleVek,
	addConst: addConstVek,
	axpy:     axpyVek,
	relu:     reluVek,
	exp:      expVek,
	sigmoid:  sigmoidVek,
}

// vekMin is the length below which ewVek uses the Go loops: vek32's call
// and argument checks cost more than its vector body saves (BenchmarkAdd:
// at 16 elements Go takes about 10 ns and vek32 20 ns; at 64, 25 ns and
// 17 ns).
const vekMin = 32

// vekChunk is the block size of the kernels that make several vek32 passes
// (Axpy, Exp, Sigmoid), so that each block stays in L1 between passes.
const vekChunk = 256

// binaryVek applies a commutative vek32 in-place operation (Add_Inplace,
// Mul_Inplace) as dst = x op y.
func binaryVek(dst, x, y []float32, inplace func(a, b []float32), fallback func(dst, x, y []float32)) {
	switch {
	case len(x) < vekMin:
		fallback(dst, x, y)
	case sameStart(dst, x) && !overlaps(dst, y):
		inplace(dst, y)
	case sameStart(dst, y) && !overlaps(dst, x):
		inplace(dst, x)
	case !overlaps(dst, x) && !overlaps(dst, y):
		copy(dst, x)
		inplace(dst, y)
	default: // dst = x = y
		fallback(dst, x, y)
	}
}

func addVek(dst, x, y []float32) { binaryVek(dst, x, y, vek32.Add_Inplace, addGo) }
func mulVek(dst, x, y []float32) { binaryVek(dst, x, y, vek32.Mul_Inplace, mulGo) }

func scaleVek(dst []float32, alpha float32, x []float32) {
	if len(x) < vekMin {
		scaleGo(dst, alpha, x)
		return
	}
	if !sameStart(dst, x) {
		copy(dst, x)
	}
	vek32.MulNumber_Inplace(dst, alpha)
}

func addConstVek(dst []float32, c float32, x []float32) {
	if len(x) < vekMin {
		addConstGo(dst, c, x)
		return
	}
	if !sameStart(dst, x) {
		copy(dst, x)
	}
	vek32.AddNumber_Inplace(dst, c)
}

func axpyVek(alpha float32, x, y []float32) {
	if len(x) < vekMin || sameStart(x, y) {
		axpyGo(alpha, x, y)
		return
	}
	var buf [vekChunk]float32
	for i := 0; i < len(x); i += vekChunk {
		xc := x[i:min(i+vekChunk, len(x))]
		t := buf[:len(xc)]
		copy(t, xc)
		vek32.MulNumber_Inplace(t, alpha)
		vek32.Add_Inplace(y[i:i+len(xc)], t)
	}
}

func reluVek(dst, x []float32) {
	if len(x) < vekMin {
		reluGo(dst, x)
		return
	}
	if !sameStart(dst, x) {
		copy(dst, x)
	}
	// MaximumNumber keeps a NaN in its first argument (tested).
	vek32.MaximumNumber_Inplace(dst, 0)
}

// vek32's exp is accurate only on its 8-wide vector body and only for
// some inputs. On the body it is within 2 units in the last place wherever
// e^x is between 2^-126 and 2.3e38, but gives NaN from about x = 88.38 on,
// the largest float32 or +Inf above, flushes subnormal results to 0, and
// turns NaN into 0. Its scalar tail (the last len%8 elements) is off by up
// to 80 units. So ewVek hands vek32 only whole groups of 8, and does the
// tail, and inputs outside [vekExpMin, vekExpMax] (NaN included), in Go.
const (
	vekExpMin = -87 // e^-87 = 1.6e-38 > 2^-126
	vekExpMax = 88  // e^88 = 1.7e38 < 2.3e38
)

// fixups records, for one chunk, the inputs that vek32's exp cannot take.
type fixups struct {
	n  int
	at [vekChunk]uint16
	x  [vekChunk]float32
}

// scan records the positions and values of xc outside [lo, hi] (NaN
// included).
func (f *fixups) scan(xc []float32, lo, hi float32) {
	f.n = 0
	if inRange(xc, lo, hi) {
		return
	}
	for j, v := range xc {
		if !(v >= lo && v <= hi) {
			f.at[f.n], f.x[f.n] = uint16(j), v
			f.n++
		}
	}
}

// inRange reports whether every element of x is in [lo, hi] (none NaN):
// scan's fast path, since inputs rarely leave the range. It makes three
// vek32 passes, which take less time than the loop's compares and
// branches (with it, BenchmarkExp and BenchmarkSigmoid at N=4096 take
// about half the time): the sum is NaN if an element is NaN, and
// otherwise the minimum and maximum are exact (vek32's, like AVX2's min
// and max, may drop a NaN). A sum that overflows (to ±Inf, or to NaN
// from partial sums of both signs) comes from values out of range.
func inRange(x []float32, lo, hi float32) bool {
	if len(x) == 0 {
		return true
	}
	s := vek32.Sum(x)
	return s == s && vek32.Min(x) >= lo && vek32.Max(x) <= hi
}

func expVek(dst, x []float32) {
	body := len(x) &^ 7
	if body < vekMin {
		expGo(dst, x)
		return
	}
	var fix fixups
	same := sameStart(dst, x)
	for i := 0; i < body; i += vekChunk {
		xc := x[i:min(i+vekChunk, body)]
		dc := dst[i : i+len(xc)]
		fix.scan(xc, vekExpMin, vekExpMax)
		if !same {
			copy(dc, xc)
		}
		vek32.Exp_Inplace(dc)
		for k := range fix.n {
			dc[fix.at[k]] = exp32(fix.x[k])
		}
	}
	expGo(dst[body:len(x)], x[body:])
}

// sigmoidVek computes 1/(1+e^-x) as four vek32 passes over each chunk:
// negate, exp, add 1, invert (a true division). The two roundings after
// exp's 2 units give at most 3. Inputs below -87 would give subnormal
// results, which vek32 flushes to 0, so the Go code takes inputs outside
// [-87, 87] and the tail.
func sigmoidVek(dst, x []float32) {
	body := len(x) &^ 7
	if body < vekMin {
		sigmoidGo(dst, x)
		return
	}
	var fix fixups
	same := sameStart(dst, x)
	for i := 0; i < body; i += vekChunk {
		xc := x[i:min(i+vekChunk, body)]
		dc := dst[i : i+len(xc)]
		fix.scan(xc, vekExpMin, -vekExpMin)
		if same {
			vek32.Neg_Inplace(dc)
		} else {
			vek32.Neg_Into(dc, xc)
		}
		vek32.Exp_Inplace(dc)
		vek32.AddNumber_Inplace(dc, 1)
		vek32.Inv_Inplace(dc)
		for k := range fix.n {
			dc[fix.at[k]] = sigmoid32(fix.x[k])
		}
	}
	sigmoidGo(dst[body:len(x)], x[body:])
}
