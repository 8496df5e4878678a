package accel

import "math"

// ewGo is the pure-Go implementation of the element-wise kernels, used
// under -tags purego and on machines without AVX2+FMA, and for short slices
// everywhere. Transcendentals are evaluated in float64 and rounded once to
// float32, so they are within 1 unit in the last place.
var ewGo = elementwise{
	name:     "go",
	add:      addGo,
	mul:      mulGo,
	scale:    scaleGo,
	addConst: addConstGo,
	axpy:     axpyGo,
	relu:     reluGo,
	exp:      expGo,
	sigmoid:  sigmoidGo,
}

func addGo(dst, x, y []float32) {
	y, dst = y[:len(x)], dst[:len(x)]
	for i, v := range x {
		dst[i] = v + y[i]
	}
}

func mulGo(dst, x, y []float32) {
	y, dst = y[:len(x)], dst[:len(x)]
	for i, v := range x {
		dst[i] = v * y[i]
	}
}

func scaleGo(dst []float32, alpha float32, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = alpha * v
	}
}

func addConstGo(dst []float32, c float32, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = v + c
	}
}

func axpyGo(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		p := alpha * v // rounded on its own: float32() forbids fusing
		y[i] += float32(p)
	}
}

func reluGo(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = max(v, 0)
	}
}

func expGo(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = exp32(v)
	}
}

func sigmoidGo(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = sigmoid32(v)
	}
}

func tanhGo(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = tanh32(v)
	}
}

// Limits of float32 exponentials.
const (
	// expOverflow: e^x rounds to +Inf in float32 above it
	// (ln(MaxFloat32) = 88.7228391).
	expOverflow = 88.72284
	// expUnderflow: e^x rounds to 0 in float32 below it
	// (ln(2^-150) = -103.972077).
	expUnderflow = -103.97208
)

// exp32 is e^x rounded to float32, via expCore in float64.
func exp32(x float32) float32 {
	switch {
	case x != x:
		return x
	case x > expOverflow:
		return float32(math.Inf(1))
	case x < expUnderflow:
		return 0
	}
	return float32(expCore(float64(x)))
}

// expCore is e^t for |t| ≤ 110, with relative error below 1.3e-12
// (Tang's table method, ACM TOMS 15(2), 1989): t = (32m + j)·ln2/32 + r
// with |r| ≤ ln2/64, so e^t = 2^m · 2^(j/32) · e^r, with 2^(j/32) from a
// table and e^r from its Taylor series to degree 4 (remainder r^5/5! <
// 1.3e-12). The magic-number rounding of t·32/ln2 needs no branch or call.
func expCore(t float64) float64 {
	const (
		invLn2x32 = 32 / math.Ln2
		ln2Hi32   = 6.93147180369123816490e-01 / 32 // ln2 split as in math.Exp; k·ln2Hi is exact
		ln2Lo32   = 1.90821492927058770002e-10 / 32
		round     = 0x1.8p52 // adding and subtracting it rounds to an integer
	)
	k := (t*invLn2x32 + round) - round
	r := (t - k*ln2Hi32) - k*ln2Lo32
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24))))
	ki := int64(k)
	scale := math.Float64frombits(uint64(ki>>5+1023) << 52)
	return exp2Frac[ki&31] * p * scale
}

// exp2Frac[j] = 2^(j/32).
var exp2Frac = func() (t [32]float64) {
	for j := range t {
		t[j] = math.Exp2(float64(j) / 32)
	}
	return t
}()

// sigmoid32 is 1/(1+e^-x) in float64, rounded to float32.
func sigmoid32(x float32) float32 {
	switch {
	case x != x:
		return x
	case x < expUnderflow: // e^x < 2^-150: rounds to 0
		return 0
	case x > 20: // 1 - e^-x rounds to 1 above ~17.33
		return 1
	}
	return float32(1 / (1 + expCore(-float64(x))))
}

// tanh32 is tanh(x) in float64, rounded to float32: Go's math.Tanh, which
// uses a rational function below 0.625 (no cancellation near 0), and
// 1 - 2/(e^2|x| + 1) above.
func tanh32(x float32) float32 {
	a := x
	if a < 0 {
		a = -a
	}
	switch {
	case x != x:
		return x
	case a < 0.625:
		return float32(math.Tanh(float64(x)))
	case a > 10: // 1 - tanh(a) < 2^-25: rounds to 1 above ~9.01
		return float32(math.Copysign(1, float64(x)))
	}
	t := 1 - 2/(expCore(2*float64(a))+1)
	return float32(math.Copysign(t, float64(x)))
}
