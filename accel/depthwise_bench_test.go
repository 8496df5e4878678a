package accel

import (
	"math/rand/v2"
	"testing"
)

// depthwiseBenchCases are the 3x3 depthwise layers of MobileNetV1 (Howard
// et al. 2017, Table 1) at face-api's SSD input, 512: the stride-2 ones
// with TensorFlow's SAME padding (0 before, 1 after), and the stride-1 ones;
// then its stride-1 layers at ImageNet's 224, down to 7×7 planes.
var depthwiseBenchCases = []convCase{
	{"s2_64_256", ConvParams{N: 1, C: 64, H: 256, W: 256, OutC: 64, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadAfterH: 1, PadAfterW: 1, Groups: 64}},
	{"s2_128_128", ConvParams{N: 1, C: 128, H: 128, W: 128, OutC: 128, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadAfterH: 1, PadAfterW: 1, Groups: 128}},
	{"s2_256_64", ConvParams{N: 1, C: 256, H: 64, W: 64, OutC: 256, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadAfterH: 1, PadAfterW: 1, Groups: 256}},
	{"s2_512_32", ConvParams{N: 1, C: 512, H: 32, W: 32, OutC: 512, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadAfterH: 1, PadAfterW: 1, Groups: 512}},
	{"s1_32_256", ConvParams{N: 1, C: 32, H: 256, W: 256, OutC: 32, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: 32}},
	{"s1_128_128", ConvParams{N: 1, C: 128, H: 128, W: 128, OutC: 128, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: 128}},
	{"s1_512_32", ConvParams{N: 1, C: 512, H: 32, W: 32, OutC: 512, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: 512}},
	{"s1_1024_16", ConvParams{N: 1, C: 1024, H: 16, W: 16, OutC: 1024, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: 1024}},
	{"s1_256_28", ConvParams{N: 1, C: 256, H: 28, W: 28, OutC: 256, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: 256}},
	{"s1_512_14", ConvParams{N: 1, C: 512, H: 14, W: 14, OutC: 512, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: 512}},
	{"s1_1024_7", ConvParams{N: 1, C: 1024, H: 7, W: 7, OutC: 1024, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: 1024}},
}

// BenchmarkDepthwise runs each layer with a folded batch norm and ReLU6,
// MobileNet's epilogue, on the thread count in force (go test -cpu sets
// GOMAXPROCS), reporting output values per second.
func BenchmarkDepthwise(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, bc := range depthwiseBenchCases {
		b.Run(bc.name, func(b *testing.B) {
			p := bc.p.withDefaults()
			oh, ow := p.OutSize()
			src := randSlice(rng, p.N*p.C*p.H*p.W)
			weight := randSlice(rng, p.OutC*p.KH*p.KW)
			dst := make([]float32, p.N*p.OutC*oh*ow)
			ep := &Epilogue{Scale: randSlice(rng, p.OutC), Shift: randSlice(rng, p.OutC), Act: ActReLU6}
			Conv2D(dst, src, weight, p, ep) // warm the scratch pools
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				Conv2D(dst, src, weight, p, ep)
			}
			b.ReportMetric(float64(len(dst))*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gout/s")
		})
	}
}
