package accel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestPackedConv checks that PackedConv.Conv2D gives Conv2D's result bit
// for bit on every convolution case and epilogue, at one and two threads,
// and that one PackedConv serves inputs of several sizes.
func TestPackedConv(t *testing.T) {
	defer SetThreads(int(threads.Load()))
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range convCases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p.withDefaults()
			weight := randSlice(rng, p.OutC*p.C/p.Groups*p.KH*p.KW)
			pc := PackConv(weight, p)
			for _, grow := range []int{0, 3} {
				q := p
				q.H, q.W = p.H+grow, p.W+grow
				src := randSlice(rng, q.N*q.C*q.H*q.W)
				oh, ow := q.OutSize()
				for _, ep := range convEpilogues(q.OutC, rng) {
					for _, threads := range []int{1, 2} {
						SetThreads(threads)
						want := runConv(t, src, weight, q, ep)
						got := make([]float32, q.N*q.OutC*oh*ow)
						pc.Conv2D(got, src, q, ep)
						for i, g := range got {
							if math.Float32bits(g) != math.Float32bits(want[i]) {
								t.Fatalf("%dx%d, ep %s, %d threads: dst[%d] = %v packed, %v unpacked",
									q.H, q.W, epName(ep), threads, i, g, want[i])
							}
						}
					}
				}
			}
		})
	}
}

// TestPackedConvKernelSwitch checks that weights packed for one
// micro-kernel still give the right result after the kernel changes (the
// panels are then ignored and the weights packed per call again).
func TestPackedConvKernelSwitch(t *testing.T) {
	defer func(k gemmKernel) { gemm = k }(gemm)
	rng := rand.New(rand.NewPCG(7, 8))
	p := ConvParams{N: 1, C: 16, H: 9, W: 9, OutC: 20, KH: 3, KW: 3, PadH: 1, PadW: 1}
	weight := randSlice(rng, p.OutC*p.C*p.KH*p.KW)
	src := randSlice(rng, p.N*p.C*p.H*p.W)
	pc := PackConv(weight, p)
	gemm = gemmGo
	want := runConv(t, src, weight, p, nil)
	got := make([]float32, len(want))
	pc.Conv2D(got, src, p, nil)
	for i, g := range got {
		if math.Float32bits(g) != math.Float32bits(want[i]) {
			t.Fatalf("dst[%d] = %v packed for another kernel, %v unpacked", i, g, want[i])
		}
	}
}

func TestPackedConvPanics(t *testing.T) {
	p := ConvParams{N: 1, C: 4, H: 5, W: 5, OutC: 8, KH: 3, KW: 3, PadH: 1, PadW: 1}
	weight := make([]float32, 8*4*9)
	pc := PackConv(weight, p)
	src, dst := make([]float32, 100), make([]float32, 8*25)
	checkPanics(t, []panicCase{
		{"short_weight", func() { PackConv(weight[:10], p) },
			"accel: PackConv: len(weight) = 10, need at least 288 for OutC=8 C/Groups=4 KH=3 KW=3"},
		{"groups", func() { q := p; q.Groups = 3; PackConv(weight, q) },
			"accel: PackConv: C=4 not divisible by Groups=3"},
		{"other_shape", func() { q := p; q.OutC = 4; pc.Conv2D(dst, src, q, nil) },
			"accel: PackedConv.Conv2D: params C=4 OutC=4 3x3 Groups=1, packed for C=4 OutC=8 3x3 Groups=1"},
		{"short_src", func() { pc.Conv2D(dst, src[:99], p, nil) },
			"accel: PackedConv.Conv2D: len(src) = 99, need at least 100 for N=1 C=4 H=5 W=5"},
	}, exactly)
}
