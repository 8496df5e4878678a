package accel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestConv2DOneChannel runs Conv2D on convolutions of one input channel
// (the GEMM paths for several outputs, the direct kernel for one) with
// every epilogue, against convRef, and checks one thread against two bit
// for bit.
func TestConv2DOneChannel(t *testing.T) {
	defer SetThreads(int(threads.Load()))
	rng := rand.New(rand.NewPCG(25, 26))
	for _, tc := range oneChannelCases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p.withDefaults()
			src := randSlice(rng, p.N*p.C*p.H*p.W)
			weight := randSlice(rng, p.OutC*p.KH*p.KW)
			ref, mag := convRef(src, weight, p)
			oh, ow := p.OutSize()
			for _, ep := range convEpilogues(p.OutC, rng) {
				SetThreads(1)
				got1 := runConv(t, src, weight, p, ep)
				SetThreads(2)
				got2 := runConv(t, src, weight, p, ep)
				for i, g := range got1 {
					if math.Float32bits(g) != math.Float32bits(got2[i]) {
						t.Fatalf("ep %s: dst[%d] = %v with 1 thread, %v with 2", epName(ep), i, g, got2[i])
					}
					want, m := epilogueRef(ep, ref[i], mag[i], i/(oh*ow)%p.OutC)
					if d := math.Abs(float64(g) - want); !(d <= convTol(want, m, p.KH*p.KW)) {
						t.Fatalf("ep %s: dst[%d] = %v, want %v", epName(ep), i, g, want)
					}
				}
			}
		})
	}
}
