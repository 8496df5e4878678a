// Package accel holds govision's numeric kernels: packed single-precision
// matrix multiplication (Sgemm), convolution lowering (im2col, direct
// depthwise), pooling, and element-wise and row kernels, all on plain
// []float32 slices with explicit shapes and strides. It knows nothing of
// models, images or files.
//
// # Implementations
//
// Each kernel has a pure-Go reference that always compiles and, on amd64,
// Go-assembly micro-kernels for AVX-512F and for AVX2+FMA, chosen once at
// start-up from golang.org/x/sys/cpu. Build with -tags purego to use only the
// Go code. Kernels reports which implementation each kernel uses.
//
// # Threads
//
// Parallel kernels split their output into tiles and run the tiles on one
// worker pool shared by every kernel, sized to GOMAXPROCS (SetThreads lowers
// it). The reduction over a tile's inner dimension always stays in one
// goroutine, in a fixed order, so results do not depend on the number of
// threads.
//
// # Panics
//
// accel is the bottom layer, called by govision's own code with shapes it has
// already checked. A call whose slices are too short, or whose dimensions are
// negative or inconsistent, panics with a message of the form
//
//	accel: Sgemm: len(c) = 10, need at least 12 for m=3 n=4 ldc=4
//
// naming the kernel and the argument. Packages above accel turn bad shapes
// into errors before calling it.
package accel
