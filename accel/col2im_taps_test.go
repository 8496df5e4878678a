package accel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestCol2imTaps runs the row-by-row col2im with every tapSum the machine
// has on each stride-1 (along W) case of TestConv2D, whole and in blocks
// of output rows, with columns at a leading dimension wider than their
// rows, into an image that already holds values, and compares it bit for
// bit with the tap-by-tap loops (tapSumKernel nil), which add in the same
// order.
func TestCol2imTaps(t *testing.T) {
	defer func(k tapSumFunc) { tapSumKernel = k }(tapSumKernel)
	rng := rand.New(rand.NewPCG(21, 22))
	for _, tc := range convCases {
		p := tc.p.withDefaults()
		if p.StrideW != 1 {
			continue
		}
		cg := p.C / p.Groups
		k := cg * p.KH * p.KW
		oh, ow := p.OutSize()
		for _, rows := range [][2]int{{0, oh}, {1, min(oh, 3)}} {
			oy0, oy1 := rows[0], rows[1]
			n := (oy1 - oy0) * ow
			ld := n + 3
			cols := randSlice(rng, k*ld)
			start := randSlice(rng, cg*p.H*p.W)
			want := append([]float32(nil), start...)
			tapSumKernel = nil
			col2imRows(want, cols, ld, p, cg, oh, ow, oy0, oy1)
			for name, sum := range tapSumImpls() {
				got := append([]float32(nil), start...)
				col2imTaps(sum, got, 0, cols, ld, 0, 1, p, cg, oh, ow, oy0, oy1)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s %s rows [%d,%d): img[%d] = %v, want %v", tc.name, name, oy0, oy1, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestCol2imBatch checks that Col2imBatch on three images' columns side by
// side is Col2im on each image's columns alone, bit for bit, with the
// images' planes spaced apart and NaN between and after them.
func TestCol2imBatch(t *testing.T) {
	const images = 3
	rng := rand.New(rand.NewPCG(23, 24))
	for _, tc := range convCases {
		p := tc.p.withDefaults()
		cg := p.C / p.Groups
		k := cg * p.KH * p.KW
		oh, ow := p.OutSize()
		plane := oh * ow
		ld := images*plane + 5
		cols := randSlice(rng, (k-1)*ld+images*plane)
		size := cg * p.H * p.W
		stride := size + 7
		got := make([]float32, (images-1)*stride+size+1)
		for i := range got {
			got[i] = float32(math.NaN())
		}
		want := make([][]float32, images)
		for j := range want {
			want[j] = randSlice(rng, size)
			copy(got[j*stride:], want[j])
			own := make([]float32, k*plane)
			for r := 0; r < k; r++ {
				copy(own[r*plane:(r+1)*plane], cols[r*ld+j*plane:])
			}
			Col2im(want[j], own, p)
		}
		Col2imBatch(got, stride, cols, ld, images, p)
		for i, v := range got {
			j, at := i/stride, i%stride
			if j >= images || at >= size {
				if !math.IsNaN(float64(v)) {
					t.Fatalf("%s: img[%d] between or after the images overwritten", tc.name, i)
				}
				continue
			}
			if math.Float32bits(v) != math.Float32bits(want[j][at]) {
				t.Fatalf("%s: image %d img[%d] = %v, want %v", tc.name, j, at, v, want[j][at])
			}
		}
	}
}

func TestCol2imBatchPanics(t *testing.T) {
	p := ConvParams{C: 2, H: 4, W: 4, KH: 3, KW: 3}             // 2x2 output, K = 18
	img, cols := make([]float32, 2*32), make([]float32, 17*8+8) // two images
	checkPanics(t, []panicCase{
		{"narrow ld", func() { Col2imBatch(img, 32, cols, 7, 2, p) },
			"accel: Col2imBatch: 2 images of 4 columns at ld = 7, planes at stride 32 (C/Groups·H·W = 32)"},
		{"overlapping images", func() { Col2imBatch(img, 16, cols, 8, 2, p) },
			"accel: Col2imBatch: 2 images of 4 columns at ld = 8, planes at stride 16 (C/Groups·H·W = 32)"},
		{"short img", func() { Col2imBatch(img[:63], 32, cols, 8, 2, p) },
			"accel: Col2imBatch: len(img) = 63, need at least 64 for 2 images 32 apart of C/Groups=2 H=4 W=4"},
		{"short cols", func() { Col2imBatch(img, 32, cols[:143], 8, 2, p) },
			"accel: Col2imBatch: len(cols) = 143, need at least 144 for C/Groups·KH·KW=18 rows of 2 images·OH·OW=4 columns, ld=8"},
	}, exactly)
}
