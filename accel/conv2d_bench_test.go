package accel

import (
	"math/rand/v2"
	"testing"
)

// convBenchCases are ResNet-50's convolutions at batch 1 (He et al. 2015,
// Table 1: conv1, a conv2_x 3x3 and 1x1, a conv5_x 3x3) and MobileNet's
// depthwise 3x3 at the same scale.
var convBenchCases = []convCase{
	{"7x7s2_3to64_224", ConvParams{N: 1, C: 3, H: 224, W: 224, OutC: 64, KH: 7, KW: 7, StrideH: 2, StrideW: 2, PadH: 3, PadW: 3}},
	{"3x3_64to64_56", ConvParams{N: 1, C: 64, H: 56, W: 56, OutC: 64, KH: 3, KW: 3, PadH: 1, PadW: 1}},
	{"1x1_256to64_56", ConvParams{N: 1, C: 256, H: 56, W: 56, OutC: 64, KH: 1, KW: 1}},
	{"3x3_512to512_7", ConvParams{N: 1, C: 512, H: 7, W: 7, OutC: 512, KH: 3, KW: 3, PadH: 1, PadW: 1}},
	{"dw3x3_256_56", ConvParams{N: 1, C: 256, H: 56, W: 56, OutC: 256, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: 256}},
}

// BenchmarkConv2D runs each shape with a folded batch norm and ReLU, the
// usual inference epilogue. FLOPs count 2 per multiply-add:
// 2·N·OutC·OH·OW·(C/Groups)·KH·KW.
func BenchmarkConv2D(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, bc := range convBenchCases {
		b.Run(bc.name, func(b *testing.B) {
			p := bc.p.withDefaults()
			oh, ow := p.OutSize()
			src := randSlice(rng, p.N*p.C*p.H*p.W)
			weight := randSlice(rng, p.OutC*p.C/p.Groups*p.KH*p.KW)
			dst := make([]float32, p.N*p.OutC*oh*ow)
			ep := &Epilogue{Scale: randSlice(rng, p.OutC), Shift: randSlice(rng, p.OutC), Act: ActReLU}
			flops := 2 * float64(p.N*p.OutC*oh*ow) * float64(p.C/p.Groups*p.KH*p.KW)
			Conv2D(dst, src, weight, p, ep) // warm the scratch pools
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				Conv2D(dst, src, weight, p, ep)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkIm2col lowers the im2col shapes above whole, reporting the
// bytes of columns written per second.
func BenchmarkIm2col(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, bc := range convBenchCases[:2] {
		b.Run(bc.name, func(b *testing.B) {
			p := bc.p.withDefaults()
			oh, ow := p.OutSize()
			img := randSlice(rng, p.C*p.H*p.W)
			cols := make([]float32, p.C*p.KH*p.KW*oh*ow)
			b.SetBytes(int64(4 * len(cols)))
			for i := 0; i < b.N; i++ {
				Im2col(cols, img, p)
			}
		})
	}
}

// BenchmarkConv2DGemm times, for each non-depthwise convolution of
// BenchmarkConv2D, the plain Sgemm of the same size (M = OutC, N = OH·OW,
// K = C·KH·KW) on a materialised lowered matrix: the ceiling the
// convolution's GFLOP/s is measured against (the 3x3 64→64 case should
// reach at least 80% of it).
func BenchmarkConv2DGemm(b *testing.B) {
	for _, bc := range convBenchCases {
		p := bc.p.withDefaults()
		if p.Groups != 1 {
			continue
		}
		oh, ow := p.OutSize()
		b.Run(bc.name, func(b *testing.B) {
			benchGemm(b, p.OutC, oh*ow, p.C*p.KH*p.KW, Sgemm)
		})
	}
}

// BenchmarkPackedConv2DWide times PackedConv.Conv2D on YOLOv3-tiny's first
// layer (3→16, 3x3, at 416×416): a wide, shallow product (16 rows, 173056
// columns, 27 deep) whose cost is in handing work to the threads; run
// with -cpu 1,2.
func BenchmarkPackedConv2DWide(b *testing.B) {
	p := ConvParams{N: 1, C: 3, H: 416, W: 416, OutC: 16, KH: 3, KW: 3, PadH: 1, PadW: 1}.withDefaults()
	oh, ow := p.OutSize()
	rng := rand.New(rand.NewPCG(1, 1))
	src := randSlice(rng, p.C*p.H*p.W)
	weight := randSlice(rng, p.OutC*p.C*9)
	dst := make([]float32, p.OutC*oh*ow)
	pc := PackConv(weight, p)
	ep := &Epilogue{Bias: randSlice(rng, p.OutC), Act: ActLeakyReLU, Slope: 0.1}
	for b.Loop() {
		pc.Conv2D(dst, src, p, ep)
	}
}
