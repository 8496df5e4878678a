package accel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// darknetPoolRef is forward_maxpool_layer's loop for size 2, stride 2 and
// padding 0 or 1 (offset 0): windows past the plane skip those values.
func darknetPoolRef(src []float32, planes, h, w, oh, ow int) []float32 {
	dst := make([]float32, planes*oh*ow)
	for p := 0; p < planes; p++ {
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				m := float32(-math.MaxFloat32)
				for i := 0; i < 2; i++ {
					for j := 0; j < 2; j++ {
						r, c := 2*y+i, 2*x+j
						if r < h && c < w {
							if v := src[(p*h+r)*w+c]; v > m {
								m = v
							}
						}
					}
				}
				dst[(p*oh+y)*ow+x] = m
			}
		}
	}
	return dst
}

// specialSlice is random values with NaNs, infinities, signed zeros and
// ties sprinkled in.
func specialSlice(rng *rand.Rand, n int) []float32 {
	s := randSlice(rng, n)
	specials := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)), -math.MaxFloat32, 0.5}
	for i := range s {
		if rng.IntN(6) == 0 {
			s[i] = specials[rng.IntN(len(specials))]
		}
	}
	return s
}

// TestMaxPool2x2 checks MaxPool2x2 against darknet's loop, bit for bit, on
// odd and even sizes with both output rules, NaNs and signed zeros
// included, and the assembly rows against the Go ones.
func TestMaxPool2x2(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, sz := range [][2]int{{1, 1}, {2, 2}, {3, 5}, {7, 33}, {16, 64}, {13, 13}, {9, 70}, {52, 52}} {
		h, w := sz[0], sz[1]
		for _, ceil := range []bool{false, true} {
			oh, ow := h/2, w/2
			if ceil {
				oh, ow = (h+1)/2, (w+1)/2
			}
			if oh < 1 || ow < 1 {
				continue
			}
			const n, c = 2, 3
			src := specialSlice(rng, n*c*h*w)
			want := darknetPoolRef(src, n*c, h, w, oh, ow)
			got := make([]float32, len(want)+guard)
			for i := range got {
				got[i] = 12345
			}
			MaxPool2x2(got, src, n, c, h, w, oh, ow)
			for i, v := range want {
				if math.Float32bits(got[i]) != math.Float32bits(v) {
					t.Fatalf("%dx%d→%dx%d: dst[%d] = %v, want %v", h, w, oh, ow, i, got[i], v)
				}
			}
			for i, v := range got[len(want):] {
				if v != 12345 {
					t.Fatalf("%dx%d: written past the end at %d", h, w, len(want)+i)
				}
			}
		}
	}
	for _, n := range []int{1, 7, 8, 9, 15, 16, 17, 31, 48, 100} {
		r0, r1 := specialSlice(rng, 2*n), specialSlice(rng, 2*n)
		want, got := make([]float32, n), make([]float32, n)
		maxPool2x2RowGo(want, r0, r1)
		maxPool2x2Row(got, r0, r1)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("row of %d: dst[%d] = %v, Go gives %v", n, i, got[i], want[i])
			}
		}
	}
}

func TestMaxPool2x2Panics(t *testing.T) {
	src, dst := make([]float32, 2*5*6), make([]float32, 2*3*3)
	checkPanics(t, []panicCase{
		{"bad_out", func() { MaxPool2x2(dst, src, 1, 2, 5, 6, 4, 3) },
			"accel: MaxPool2x2: output 4×3 from a 5×6 input: want 2 or 3 rows and 3 or 3 columns"},
		{"short_dst", func() { MaxPool2x2(dst[:17], src, 1, 2, 5, 6, 3, 3) },
			"accel: MaxPool2x2: len(dst) = 17, need 18 for n=1 c=2 outH=3 outW=3"},
		{"bad_shape", func() { MaxPool2x2(dst, src, 1, 2, 0, 6, 1, 3) },
			"accel: MaxPool2x2: bad shape n=1 c=2 h=0 w=6 (need n, c ≥ 0 and h, w ≥ 1)"},
	}, exactly)
}
