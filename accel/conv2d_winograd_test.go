package accel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// winoMag returns, for each output of the 3x3 stride-1 convolution p of
// src by weight, a bound on the magnitudes F(2×2, 3×3) sums along the way:
// Σ_ξ |Aᵀ|·(Σ_c |U_ξ|·|V_ξ|)·|A| in exact arithmetic. The rounding error
// of each of its additions and products is at most u times such a sum.
func winoMag(src, weight []float32, p ConvParams) []float64 {
	p = p.withDefaults()
	oh, ow := p.OutSize()
	at := [2][4]float64{{1, 1, 1, 0}, {0, 1, 1, 1}} // |Aᵀ|
	bt := [4][4]float64{{1, 0, 1, 0}, {0, 1, 1, 0}, {0, 1, 1, 0}, {0, 1, 0, 1}}
	g := [4][3]float64{{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, 0.5, 0.5}, {0, 0, 1}}
	at2 := func(y, x int) float64 {
		iy, ix := y-p.PadH, x-p.PadW
		if iy < 0 || iy >= p.H || ix < 0 || ix >= p.W {
			return 0
		}
		return 1
	}
	mag := make([]float64, p.N*p.OutC*oh*ow)
	for n := 0; n < p.N; n++ {
		for oc := 0; oc < p.OutC; oc++ {
			for ty := 0; ty < (oh+1)/2; ty++ {
				for tx := 0; tx < (ow+1)/2; tx++ {
					var m [4][4]float64
					for c := 0; c < p.C; c++ {
						var d [4][4]float64
						for i := range 4 {
							for j := range 4 {
								y, x := 2*ty+i, 2*tx+j
								if at2(y, x) != 0 {
									d[i][j] = math.Abs(float64(src[((n*p.C+c)*p.H+y-p.PadH)*p.W+x-p.PadW]))
								}
							}
						}
						w := weight[(oc*p.C+c)*9:]
						for xi := range 16 {
							a, b := xi/4, xi%4
							var u, v float64
							for r := range 3 {
								for q := range 3 {
									u += g[a][r] * g[b][q] * math.Abs(float64(w[3*r+q]))
								}
							}
							for r := range 4 {
								for q := range 4 {
									v += bt[a][r] * bt[b][q] * d[r][q]
								}
							}
							m[a][b] += u * v
						}
					}
					for a := range 2 {
						for b := range 2 {
							y, x := 2*ty+a, 2*tx+b
							if y >= oh || x >= ow {
								continue
							}
							var s float64
							for i := range 4 {
								for j := range 4 {
									s += at[a][i] * at[b][j] * m[i][j]
								}
							}
							mag[((n*p.OutC+oc)*oh+y)*ow+x] = s
						}
					}
				}
			}
		}
	}
	return mag
}

// TestConvWinograd checks the Winograd path, with the Go transforms and
// (where the machine has it) the assembly, against the float64 sum: each
// output within the error bound of its Winograd sums (winoMag), both
// kernels bit for bit alike, one and two threads alike, and
// PackedConv.Conv2D alike with Conv2D.
func TestConvWinograd(t *testing.T) {
	defer SetThreads(int(threads.Load()))
	if gemm.direct == nil {
		t.Skip("no direct micro-kernel: Conv2D does not take the Winograd path")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	cases := []ConvParams{
		{N: 1, C: 64, H: 16, W: 16, OutC: 64, KH: 3, KW: 3, PadH: 1, PadW: 1},
		{N: 2, C: 72, H: 13, W: 19, OutC: 20, KH: 3, KW: 3, PadH: 1, PadW: 1},
		{N: 1, C: 64, H: 18, W: 37, OutC: 9, KH: 3, KW: 3},
		{N: 1, C: 300, H: 41, W: 31, OutC: 17, KH: 3, KW: 3, PadH: 2, PadW: 1}, // 11 blocks: whole blocks per thread
	}
	type kernels struct {
		name string
		in   func(v []float32, ldv int, r []float32, wp, n int)
		out  func(y []float32, ow int, m []float32, ldm, n, cols, rows int, ep *[5]float32, flags int)
	}
	ks := []kernels{{"go", winoInGo, winoOutGo}}
	if winoAsm {
		ks = append(ks, kernels{"asm", winoIn, winoOut})
	}
	in, out := winoIn, winoOut
	defer func() { winoIn, winoOut = in, out }()
	for _, p := range cases {
		p = p.withDefaults()
		oh, ow := p.OutSize()
		t.Run(fmt.Sprintf("C=%d,OutC=%d,%dx%d,pad=%d,%d,N=%d", p.C, p.OutC, p.H, p.W, p.PadH, p.PadW, p.N), func(t *testing.T) {
			src := randSlice(rng, p.N*p.C*p.H*p.W)
			weight := randSlice(rng, p.OutC*p.C*9)
			ref, _ := convRef(src, weight, p)
			mag := winoMag(src, weight, p)
			packed := PackConv(weight, p)
			for _, ep := range convEpilogues(p.OutC, rng) {
				var first []float32
				for _, k := range ks {
					winoIn, winoOut = k.in, k.out
					for _, threads := range []int{1, 2} {
						SetThreads(threads)
						got := make([]float32, p.N*p.OutC*oh*ow+guard)
						for i := range got {
							got[i] = float32(math.NaN())
						}
						convWinograd(got, src, weight, nil, p, oh, ow, ep)
						for i, v := range got[len(got)-guard:] {
							if !math.IsNaN(float64(v)) {
								t.Fatalf("%s: guard band [%d] = %v: written past the end", k.name, i, v)
							}
						}
						got = got[:len(got)-guard]
						if first == nil {
							first = got
							bad := 0
							for i, g := range got {
								oc := i / (oh * ow) % p.OutC
								want, m := epilogueRef(ep, ref[i], 0, oc)
								// The epilogue scales the Winograd sums' error by at most
								// max|Scale| (2 here); then its own roundings.
								tol := 2*0x1p-24*float64(p.C+16)*mag[i]*2 + 8*0x1p-24*(math.Abs(want)+m+1)
								if d := math.Abs(float64(g) - want); !(d <= tol) {
									t.Errorf("ep %s: dst[%d] = %v, want %v (error %.3g > %.3g)", epName(ep), i, g, want, d, tol)
									if bad++; bad > 5 {
										t.FailNow()
									}
								}
							}
							continue
						}
						for i, g := range got {
							if math.Float32bits(g) != math.Float32bits(first[i]) {
								t.Fatalf("ep %s: %s kernels at %d threads: dst[%d] = %v, want %v as the first run", epName(ep), k.name, threads, i, g, first[i])
							}
						}
					}
				}
				// PackedConv's cached transform gives the same bits.
				got := make([]float32, len(first))
				u := packed.wino.get(weight, p.OutC, p.C)
				convWinograd(got, src, weight, u, p, oh, ow, ep)
				for i, g := range got {
					if math.Float32bits(g) != math.Float32bits(first[i]) {
						t.Fatalf("ep %s: with PackedConv's U: dst[%d] = %v, want %v", epName(ep), i, g, first[i])
					}
				}
			}
		})
	}
}

// BenchmarkConvWinograd times the Winograd path against the direct
// padded-grid path on YOLOv3's and ResNet's 3x3 layers, with weights
// packed as a PackedConv holds them.
func BenchmarkConvWinograd(b *testing.B) {
	if gemm.direct == nil || !winoAsm {
		b.Skip("no Winograd path on this machine or build")
	}
	for _, p := range []ConvParams{
		{C: 16, OutC: 32, H: 208, W: 208},
		{C: 32, OutC: 64, H: 104, W: 104},
		{C: 64, OutC: 128, H: 104, W: 104},
		{C: 128, OutC: 256, H: 52, W: 52},
		{C: 256, OutC: 512, H: 26, W: 26},
		{C: 512, OutC: 1024, H: 13, W: 13},
		{C: 64, OutC: 64, H: 56, W: 56},
		{C: 256, OutC: 256, H: 14, W: 14},
		{C: 512, OutC: 512, H: 7, W: 7},
		{C: 1024, OutC: 512, H: 10, W: 10},
	} {
		p.N, p.KH, p.KW, p.PadH, p.PadW = 1, 3, 3, 1, 1
		p = p.withDefaults()
		oh, ow := p.OutSize()
		rng := rand.New(rand.NewPCG(1, 1))
		src := randSlice(rng, p.C*p.H*p.W)
		weight := randSlice(rng, p.OutC*p.C*9)
		dst := make([]float32, p.OutC*oh*ow)
		pc := PackConv(weight, p)
		u := pc.wino.get(weight, p.OutC, p.C)
		ep := &Epilogue{Bias: weight[:p.OutC], Act: ActLeakyReLU, Slope: 0.1}
		flops := 2 * float64(p.OutC*p.C*9*oh*ow)
		name := fmt.Sprintf("%d-%d@%d", p.C, p.OutC, p.H)
		b.Run(name+"/direct", func(b *testing.B) {
			for b.Loop() {
				convPadded(dst, src, weight, pc.groupsPacked, p, oh, ow, ep)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(name+"/winograd", func(b *testing.B) {
			for b.Loop() {
				convWinograd(dst, src, weight, u, p, oh, ow, ep)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
