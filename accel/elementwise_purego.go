//go:build purego

package accel

// ew is the element-wise implementation this process uses: under -tags
// purego, the Go loops.
var ew = ewGo

// ewImpls lists every element-wise implementation this build can run, for
// the tests.
var ewImpls = []elementwise{ewGo}
