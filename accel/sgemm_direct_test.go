package accel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestDirectKernels checks every direct micro-kernel against its packed
// twin: B gathered from the rows into a packed panel and multiplied by
// tile must give the same tile bit for bit, for odd row offsets, depths
// around the unrolling, beta and the epilogue's flags.
func TestDirectKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, kern := range gemmKernels() {
		if kern.direct == nil {
			continue
		}
		mr, nr := kern.mr, kern.nr
		t.Run(kern.name, func(t *testing.T) {
			for _, k := range []int{1, 3, 4, 5, 27, 256} {
				for _, beta := range []float32{0, 1, 0.5} {
					base := randSlice(rng, 4000)
					offs := make([]int, k)
					for p := range offs {
						offs[p] = rng.IntN(3000)
					}
					d := newDirectB(base, offs, 200, nr)
					j := 1 + rng.IntN(100)
					a := randSlice(rng, mr*k)
					panel := make([]float32, k*nr)
					for p := 0; p < k; p++ {
						copy(panel[p*nr:(p+1)*nr], base[offs[p]+j:])
					}
					ep := &tileEpilogue{flags: tileAffine | tileClampLo | tileClampHi}
					for i := 0; i < mr; i++ {
						ep.v[i], ep.v[mr+i] = 0.5+rng.Float32(), rng.Float32()-0.5
					}
					ep.v[2*mr], ep.v[2*mr+1] = -0.5, 4
					for _, e := range []*tileEpilogue{nil, ep} {
						c0 := randSlice(rng, mr*40)
						want, got := append([]float32(nil), c0...), append([]float32(nil), c0...)
						kern.tile(k, a, panel, want, 40, 1.5, beta, e)
						kern.direct(k, a, d, j, 0, got, 40, 1.5, beta, e)
						for q := range want {
							if math.Float32bits(want[q]) != math.Float32bits(got[q]) {
								t.Fatalf("k=%d beta=%v ep=%v: c[%d] = %v direct, %v packed", k, beta, e != nil, q, got[q], want[q])
							}
						}
					}
				}
			}
		})
	}
}

// TestConvDirectPath checks that convolutions on the padded grid give the
// same values, bit for bit, whether B is read in place by the direct
// kernel or packed first.
func TestConvDirectPath(t *testing.T) {
	if gemm.direct == nil {
		t.Skip("no direct micro-kernel on this machine")
	}
	defer func(k gemmKernel) { gemm = k }(gemm)
	packedOnly := gemm
	packedOnly.direct = nil
	rng := rand.New(rand.NewPCG(13, 14))
	for _, tc := range convCases {
		p := tc.p.withDefaults()
		if p.StrideH != p.StrideW || p.StrideH > 2 || p.StrideH == 2 && (p.DilationH != 1 || p.DilationW != 1) || p.Groups == p.C ||
			p.PadAfterH != 0 || p.PadAfterW != 0 { // Conv2D does not take these to the grid
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			src := randSlice(rng, p.N*p.C*p.H*p.W)
			weight := randSlice(rng, p.OutC*p.C/p.Groups*p.KH*p.KW)
			oh, ow := p.OutSize()
			ep := &Epilogue{Bias: randSlice(rng, p.OutC), Act: ActReLU}
			saved := gemm
			want := make([]float32, p.N*p.OutC*oh*ow)
			got := make([]float32, len(want))
			q, _, _ := p.check("test", true)
			gemm = packedOnly
			convPadded(want, src, weight, nil, q, oh, ow, ep)
			gemm = saved
			convPadded(got, src, weight, nil, q, oh, ow, ep)
			for i := range want {
				if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
					t.Fatalf("dst[%d] = %v direct, %v packed", i, got[i], want[i])
				}
			}
		})
	}
}
