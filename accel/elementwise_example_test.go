package accel_test

import (
	"fmt"

	"govision.dev/accel"
)

// Element-wise kernels write into dst, which may be an input.
func ExampleAdd() {
	x := []float32{1, 2, 3}
	y := []float32{10, 20, 30}
	accel.Add(x, x, y) // in place: x += y
	fmt.Println(x)
	// Output: [11 22 33]
}

func ExampleAxpy() {
	x := []float32{1, 2, 3}
	y := []float32{1, 1, 1}
	accel.Axpy(0.5, x, y)
	fmt.Println(y)
	// Output: [1.5 2 2.5]
}

func ExampleReLU6() {
	x := []float32{-1, 0.5, 7}
	dst := make([]float32, 3)
	accel.ReLU6(dst, x)
	fmt.Println(dst)
	// Output: [0 0.5 6]
}

func ExampleLeakyReLU() {
	x := []float32{-2, 3}
	accel.LeakyReLU(x, x, 0.1)
	fmt.Println(x)
	// Output: [-0.2 3]
}

func ExampleSigmoid() {
	x := []float32{0, -200, 200}
	accel.Sigmoid(x, x)
	fmt.Println(x)
	// Output: [0.5 0 1]
}

// Each row of a 2×3 matrix becomes a probability distribution; the
// maximum is subtracted first, so large logits do not overflow.
func ExampleSoftmaxRows() {
	logits := []float32{
		0, 0, 0,
		1000, 1000, -1000,
	}
	probs := make([]float32, 6)
	accel.SoftmaxRows(probs, logits, 2, 3)
	fmt.Printf("%.4f\n", probs)
	// Output: [0.3333 0.3333 0.3333 0.5000 0.5000 0.0000]
}

func ExampleArgmaxRows() {
	scores := []float32{
		0.1, 0.7, 0.7, // ties: the first wins
		0.9, 0.0, 0.1,
	}
	best := make([]int, 2)
	accel.ArgmaxRows(best, scores, 2, 3)
	fmt.Println(best)
	// Output: [1 0]
}

func ExampleMul() {
	x := []float32{1, 2, 3}
	dst := make([]float32, 3)
	accel.Mul(dst, x, []float32{2, 0.5, -1})
	fmt.Println(dst)
	// Output: [2 1 -3]
}

func ExampleScale() {
	x := []float32{1, -2, 4}
	accel.Scale(x, 0.25, x)
	fmt.Println(x)
	// Output: [0.25 -0.5 1]
}

func ExampleAddConst() {
	x := []float32{1, -2, 4}
	accel.AddConst(x, -0.5, x)
	fmt.Println(x)
	// Output: [0.5 -2.5 3.5]
}

func ExampleReLU() {
	x := []float32{-3, 0, 2}
	accel.ReLU(x, x)
	fmt.Println(x)
	// Output: [0 0 2]
}

func ExampleExp() {
	x := []float32{0, 1, -200}
	accel.Exp(x, x)
	fmt.Println(x)
	// Output: [1 2.7182817 0]
}

func ExampleTanh() {
	x := []float32{0, 20, -20}
	accel.Tanh(x, x)
	fmt.Println(x)
	// Output: [0 1 -1]
}

// Log-probabilities: a uniform row of 4 gives -log 4 everywhere.
func ExampleLogSoftmaxRows() {
	x := []float32{3, 3, 3, 3}
	accel.LogSoftmaxRows(x, x, 1, 4)
	fmt.Printf("%.5f\n", x)
	// Output: [-1.38629 -1.38629 -1.38629 -1.38629]
}
