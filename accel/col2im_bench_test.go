package accel

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkCol2im scatters the columns of the im2col benchmark shapes and
// of FCN-32s's upsampling (a 64x64 stride-32 transposed convolution of 21
// channels from a 7x7 map, as Col2im sees it: the forward convolution from
// the 256x256 output back to the input), reporting bytes of columns read
// per second.
func BenchmarkCol2im(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := append(convBenchCases[:2:2], convCase{"fcn32_k64s32_21_256",
		ConvParams{N: 1, C: 21, H: 256, W: 256, KH: 64, KW: 64, StrideH: 32, StrideW: 32, PadH: 16, PadW: 16}})
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			p := bc.p.withDefaults()
			oh, ow := p.OutSize()
			img := make([]float32, p.C*p.H*p.W)
			cols := randSlice(rng, p.C*p.KH*p.KW*oh*ow)
			b.SetBytes(int64(4 * len(cols)))
			for i := 0; i < b.N; i++ {
				Col2im(img, cols, p)
			}
		})
	}
}
