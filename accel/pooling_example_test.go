package accel_test

import (
	"fmt"

	"govision.dev/accel"
)

// A 2×2 max pooling with stride 2 on one 4×4 plane, keeping the indices,
// then unpooling back to 4×4 as SegNet's decoder does.
func ExampleMaxPool2D() {
	src := []float32{
		1, 2, 0, 0,
		3, 4, 0, 9,
		0, 0, 5, 5,
		7, 0, 5, 6,
	}
	p := accel.Pool2DParams{KernelH: 2, KernelW: 2}
	oh, ow := p.OutputSize(4, 4)
	dst := make([]float32, oh*ow)
	idx := make([]int32, oh*ow)
	accel.MaxPool2D(dst, idx, src, 1, 1, 4, 4, p)
	fmt.Println(oh, ow, dst, idx)

	up := make([]float32, 16)
	accel.MaxUnpool2D(up, dst, idx, 1, 1, oh, ow, 4, 4)
	fmt.Println(up)
	// Output:
	// 2 2 [4 9 7 6] [5 7 12 15]
	// [0 0 0 0 0 4 0 9 0 0 0 0 7 0 0 6]
}

// A 3×3 average with padding 1: at the corners count_include_pad divides
// by 9, otherwise by the 4 input values in the window.
func ExampleAvgPool2D() {
	src := []float32{
		1, 2, 3,
		4, 5, 6,
		7, 8, 9,
	}
	for _, include := range []bool{true, false} {
		p := accel.Pool2DParams{KernelH: 3, KernelW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, CountIncludePad: include}
		dst := make([]float32, 4)
		accel.AvgPool2D(dst, src, 1, 1, 3, 3, p)
		fmt.Println(include, dst)
	}
	// Output:
	// true [1.3333334 1.7777778 2.6666667 3.1111112]
	// false [3 4 6 7]
}

// ceil_mode adds a last window where floor would drop input rows, but never
// one that starts in the right padding.
func ExamplePoolOutputSize() {
	fmt.Println(accel.PoolOutputSize(112, 3, 2, 0, 1, false), accel.PoolOutputSize(112, 3, 2, 0, 1, true))
	fmt.Println(accel.PoolOutputSize(5, 3, 3, 1, 1, true))
	// Output:
	// 55 56
	// 2
}

// Adaptive pooling of 5 rows to 3: the windows [0,2), [1,4), [3,5) overlap.
func ExampleAdaptiveAvgPool2D() {
	src := []float32{1, 2, 3, 4, 5} // one 5×1 plane
	dst := make([]float32, 3)
	accel.AdaptiveAvgPool2D(dst, src, 1, 1, 5, 1, 3, 1)
	fmt.Println(dst)
	// Output: [1.5 3 4.5]
}

func ExampleAdaptiveMaxPool2D() {
	src := []float32{1, 5, 3, 4, 2} // one 1×5 plane
	dst := make([]float32, 2)
	idx := make([]int32, 2)
	accel.AdaptiveMaxPool2D(dst, idx, src, 1, 1, 1, 5, 1, 2)
	fmt.Println(dst, idx)
	// Output: [5 4] [1 3]
}

// Global pooling reduces each of the n·c planes to one value.
func ExampleGlobalAvgPool2D() {
	src := []float32{
		1, 2, 3, 4, // channel 0, 2×2
		-1, -1, 5, 9, // channel 1
	}
	avg, mx := make([]float32, 2), make([]float32, 2)
	accel.GlobalAvgPool2D(avg, src, 1, 2, 2, 2)
	accel.GlobalMaxPool2D(mx, src, 1, 2, 2, 2)
	fmt.Println(avg, mx)
	// Output: [2.5 3] [4 9]
}

// Unpooling scatters each value to its index in a zeroed output plane.
func ExampleMaxUnpool2D() {
	pooled := []float32{8, 9}
	idx := []int32{0, 5} // flat indices in the 2×3 output plane
	dst := make([]float32, 6)
	accel.MaxUnpool2D(dst, pooled, idx, 1, 1, 1, 2, 2, 3)
	fmt.Println(dst)
	// Output: [8 0 0 0 0 9]
}

func ExampleGlobalMaxPool2D() {
	src := []float32{-5, -2, -9, -4} // one 2×2 plane
	dst := make([]float32, 1)
	accel.GlobalMaxPool2D(dst, src, 1, 1, 2, 2)
	fmt.Println(dst)
	// Output: [-2]
}

// A zero stride means the kernel size, as in PyTorch.
func ExamplePool2DParams_OutputSize() {
	p := accel.Pool2DParams{KernelH: 3, KernelW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}
	fmt.Println(p.OutputSize(224, 224)) // ResNet's stem pooling
	fmt.Println(accel.Pool2DParams{KernelH: 2, KernelW: 2}.OutputSize(7, 9))
	// Output:
	// 112 112
	// 3 4
}
