//go:build amd64 && !purego

package accel

import "golang.org/x/sys/cpu"

func init() {
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL {
		dotKernel = dotTileAVX512
	}
}

// dotKernels lists every dot kernel this machine can run, for tests and
// benchmarks.
func dotKernels() map[string]dotFunc {
	ks := map[string]dotFunc{"go": dotTileGo}
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL {
		ks["avx512 6x4"] = dotTileAVX512
	}
	return ks
}

// dotTileAVX512 checks that every row holds k floats, then calls the
// assembly with the rows' addresses.
func dotTileAVX512(k int, a *[dotRows][]float32, b *[dotCols][]float32, out *[dotRows * dotCols]float32) {
	var ap [dotRows]*float32
	for i, r := range a {
		ap[i] = &r[:k][0]
	}
	var bp [dotCols]*float32
	for j, r := range b {
		bp[j] = &r[:k][0]
	}
	dotTile6x4AVX512(k, &ap, &bp, out, 1<<(k%16)-1)
}
