package accel

import (
	"fmt"
	"unsafe"
)

// Element-wise kernels on float32 slices. Each one handles n = len(x)
// elements and overwrites dst[:n] (Axpy: y[:n]); dst and the other inputs
// must hold at least n. dst may be the same slice as an input (same first
// element), for an in-place update, but must not otherwise overlap one:
// that panics. The kernels are safe for concurrent use on disjoint outputs
// and run on the calling goroutine.
//
// On amd64 with AVX2 and FMA (and without -tags purego) the arithmetic runs
// on github.com/viterin/vek/vek32's vector code, the rest in Go; Kernels
// reports the choice under "elementwise". The results of Add, Mul, Scale,
// AddConst, ReLU, ReLU6 and LeakyReLU are the same on every
// implementation; those of Exp, Sigmoid and Tanh are within the bounds
// their comments give.

// Add sets dst[i] = x[i] + y[i] for i < len(x).
func Add(dst, x, y []float32) {
	n := len(x)
	checkBinary("Add", dst, x, y, n)
	ew.add(dst[:n], x, y[:n])
}

// Mul sets dst[i] = x[i] * y[i] for i < len(x).
func Mul(dst, x, y []float32) {
	n := len(x)
	checkBinary("Mul", dst, x, y, n)
	ew.mul(dst[:n], x, y[:n])
}

// Scale sets dst[i] = alpha * x[i] for i < len(x).
func Scale(dst []float32, alpha float32, x []float32) {
	n := len(x)
	checkUnary("Scale", dst, x, n)
	ew.scale(dst[:n], alpha, x)
}

// AddConst sets dst[i] = x[i] + c for i < len(x).
func AddConst(dst []float32, c float32, x []float32) {
	n := len(x)
	checkUnary("AddConst", dst, x, n)
	ew.addConst(dst[:n], c, x)
}

// Axpy sets y[i] += alpha * x[i] for i < len(x), the product rounded to
// float32 before the sum (no fused multiply-add). y may be x.
func Axpy(alpha float32, x, y []float32) {
	n := len(x)
	checkLenF("Axpy", "y", y, n)
	checkAlias("Axpy", "y", y, "x", x)
	ew.axpy(alpha, x, y[:n])
}

// ReLU sets dst[i] = max(x[i], 0) for i < len(x); NaN stays NaN, as in
// torch.relu.
func ReLU(dst, x []float32) {
	n := len(x)
	checkUnary("ReLU", dst, x, n)
	ew.relu(dst[:n], x)
}

// ReLU6 sets dst[i] = min(max(x[i], 0), 6) for i < len(x) (MobileNet's
// activation, torch.nn.functional.relu6); NaN stays NaN.
func ReLU6(dst, x []float32) {
	n := len(x)
	checkUnary("ReLU6", dst, x, n)
	dst = dst[:n]
	for i, v := range x {
		dst[i] = min(max(v, 0), 6)
	}
}

// LeakyReLU sets dst[i] = x[i] if x[i] > 0, else slope*x[i], for i < len(x)
// (torch.nn.functional.leaky_relu; darknet's "leaky" uses slope 0.1), for
// a finite slope. NaN stays NaN; -0 gives +0.
func LeakyReLU(dst, x []float32, slope float32) {
	n := len(x)
	checkUnary("LeakyReLU", dst, x, n)
	dst = dst[:n]
	for i, v := range x {
		// Branch-free: one of the two terms is 0 (on random signs a branch
		// mispredicts half the time, 4× slower in BenchmarkLeakyReLU).
		dst[i] = max(v, 0) + slope*min(v, 0)
	}
}

// Exp sets dst[i] = e^x[i] for i < len(x). Results are within 2 units in the
// last place (relative error at most 2.5e-7) of the exact value; they are
// +Inf above about 88.72, subnormal below about -87.34 and 0 below about
// -103.97, and NaN for NaN.
func Exp(dst, x []float32) {
	n := len(x)
	checkUnary("Exp", dst, x, n)
	ew.exp(dst[:n], x)
}

// Sigmoid sets dst[i] = 1 / (1 + e^-x[i]) for i < len(x). Results are within
// 4 units in the last place (relative error at most 4e-7) of the exact
// value, 0 below about -103.97 and NaN for NaN.
func Sigmoid(dst, x []float32) {
	n := len(x)
	checkUnary("Sigmoid", dst, x, n)
	ew.sigmoid(dst[:n], x)
}

// Tanh sets dst[i] = tanh(x[i]) for i < len(x), computed in float64 and
// rounded once, so within 1 unit in the last place (relative error at most
// 1.2e-7) of the exact value. It is ±1 beyond about ±9.01 and NaN for NaN.
func Tanh(dst, x []float32) {
	n := len(x)
	checkUnary("Tanh", dst, x, n)
	tanhGo(dst[:n], x)
}

// elementwise is one implementation of the element-wise kernels that have
// more than one. Each function gets slices of one length; dst is either the
// same slice as an input or disjoint from it.
type elementwise struct {
	name     string
	add      func(dst, x, y []float32)
	mul      func(dst, x, y []float32)
	scale    func(dst []float32, alpha float32, x []float32)
	addConst func(dst []float32, c float32, x []float32)
	axpy     func(alpha float32, x, y []float32)
	relu     func(dst, x []float32)
	exp      func(dst, x []float32)
	sigmoid  func(dst, x []float32)
}

func checkUnary(kernel string, dst, x []float32, n int) {
	checkLenF(kernel, "dst", dst, n)
	checkAlias(kernel, "dst", dst, "x", x)
}

func checkBinary(kernel string, dst, x, y []float32, n int) {
	checkLenF(kernel, "y", y, n)
	checkLenF(kernel, "dst", dst, n)
	checkAlias(kernel, "dst", dst[:n], "x", x)
	checkAlias(kernel, "dst", dst[:n], "y", y[:n])
}

// checkLenF panics unless len(s) ≥ n = len(x).
func checkLenF(kernel, name string, s []float32, n int) {
	if len(s) < n {
		panic(fmt.Sprintf("accel: %s: len(%s) = %d, need %d (len(x))", kernel, name, len(s), n))
	}
}

// checkAlias panics if the first len(x) elements of dst overlap x without
// starting at the same element.
func checkAlias(kernel, dstName string, dst []float32, xName string, x []float32) {
	if partialOverlap(dst[:min(len(dst), len(x))], x) {
		panic(fmt.Sprintf("accel: %s: %s overlaps %s without being the same slice", kernel, dstName, xName))
	}
}

// sameStart reports whether a and b are non-empty and start at the same
// element.
func sameStart(a, b []float32) bool {
	return len(a) > 0 && len(b) > 0 && &a[0] == &b[0]
}

// overlaps reports whether a and b share an element.
func overlaps(a, b []float32) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	pa := uintptr(unsafe.Pointer(unsafe.SliceData(a)))
	pb := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	const size = unsafe.Sizeof(float32(0))
	return pa < pb+uintptr(len(b))*size && pb < pa+uintptr(len(a))*size
}

// partialOverlap reports whether a and b share an element without starting
// at the same one.
func partialOverlap(a, b []float32) bool {
	return overlaps(a, b) && !sameStart(a, b)
}
