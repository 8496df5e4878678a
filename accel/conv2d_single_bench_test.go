package accel

import (
	"math/rand/v2"
	"testing"
)

// oneChannelCases are convolutions of a single input channel: LeNet-5's
// C1 (LeCun et al. 1998, 1→6, 5x5 on the 32x32 padded digit) one image
// and a batch, a 1→16 3x3 stem, and a 1→1 3x3 filter.
var oneChannelCases = []convCase{
	{"lenet_c1_n1", ConvParams{N: 1, C: 1, H: 32, W: 32, OutC: 6, KH: 5, KW: 5}},
	{"lenet_c1_n64", ConvParams{N: 64, C: 1, H: 32, W: 32, OutC: 6, KH: 5, KW: 5}},
	{"3x3_1to16_28", ConvParams{N: 1, C: 1, H: 28, W: 28, OutC: 16, KH: 3, KW: 3, PadH: 1, PadW: 1}},
	{"3x3_1to1_64", ConvParams{N: 1, C: 1, H: 64, W: 64, OutC: 1, KH: 3, KW: 3, PadH: 1, PadW: 1}},
	{"5x5_1to1_s2_64", ConvParams{N: 1, C: 1, H: 64, W: 64, OutC: 1, KH: 5, KW: 5, StrideH: 2, StrideW: 2, PadH: 2, PadW: 2}},
}

// BenchmarkConv2DOneChannel times Conv2D on convolutions of one input
// channel, and the two paths that could take them: the direct depthwise
// kernel (Groups == C == 1 is formally depthwise) and the implicit GEMM.
func BenchmarkConv2DOneChannel(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, bc := range oneChannelCases {
		p := bc.p.withDefaults()
		oh, ow := p.OutSize()
		src := randSlice(rng, p.N*p.C*p.H*p.W)
		weight := randSlice(rng, p.OutC*p.KH*p.KW)
		dst := make([]float32, p.N*p.OutC*oh*ow)
		ep := &Epilogue{Bias: randSlice(rng, p.OutC)}
		flops := 2 * float64(p.N*p.OutC*oh*ow) * float64(p.KH*p.KW)
		for _, path := range []struct {
			name string
			run  func()
		}{
			{"Conv2D", func() { Conv2D(dst, src, weight, p, ep) }},
			{"depthwise", func() { depthwise(dst, src, weight, p, oh, ow, ep) }},
			{"gemm", func() { convIm2col(dst, src, weight, nil, p, oh, ow, ep) }},
		} {
			b.Run(bc.name+"/"+path.name, func(b *testing.B) {
				for b.Loop() {
					path.run()
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
