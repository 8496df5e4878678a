//go:build !amd64 || purego

package accel

// gemmKernels lists every micro-kernel this machine can run: only the Go one
// on this platform or under -tags purego.
func gemmKernels() []gemmKernel { return []gemmKernel{gemmGo} }
