//go:build !amd64 || purego

package accel

// The kernels of the training paths (sgemm_dot.go, block.go,
// col2im_taps.go) on other platforms and under -tags purego: only Go.

// dotKernels lists every dot kernel this machine can run: only the Go one.
func dotKernels() map[string]dotFunc { return map[string]dotFunc{"go": dotTileGo} }

// blockImpls lists every CopyBlocks implementation this machine can run:
// only the Go one.
func blockImpls() []blockImpl { return []blockImpl{blockGo} }

// tapSumImpls lists every tapSum this machine can run: only the Go one.
func tapSumImpls() map[string]tapSumFunc { return map[string]tapSumFunc{"go": tapSumGo} }
