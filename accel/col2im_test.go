package accel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// col2imNaive is Col2im's doc-comment loop. It adds in the same order for
// each image value as Col2im, so the two agree bit for bit.
func col2imNaive(img, cols []float32, p ConvParams) {
	p = p.withDefaults()
	cg := p.C / p.Groups
	oh, ow := p.OutSize()
	for ci := 0; ci < cg; ci++ {
		for ki := 0; ki < p.KH; ki++ {
			for kj := 0; kj < p.KW; kj++ {
				r := (ci*p.KH+ki)*p.KW + kj
				for oy := 0; oy < oh; oy++ {
					for ox := 0; ox < ow; ox++ {
						iy := oy*p.StrideH - p.PadH + ki*p.DilationH
						ix := ox*p.StrideW - p.PadW + kj*p.DilationW
						if 0 <= iy && iy < p.H && 0 <= ix && ix < p.W {
							img[(ci*p.H+iy)*p.W+ix] += cols[r*oh*ow+oy*ow+ox]
						}
					}
				}
			}
		}
	}
}

// TestCol2im runs Col2im on every convolution shape of TestConv2D, on one
// thread and on two, into an image that already holds values (Col2im
// accumulates) followed by a NaN guard band, and compares it bit for bit
// with the naive loop.
func TestCol2im(t *testing.T) {
	defer SetThreads(int(threads.Load()))
	rng := rand.New(rand.NewPCG(7, 8))
	for _, tc := range convCases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p.withDefaults()
			cg := p.C / p.Groups
			oh, ow := p.OutSize()
			cols := randSlice(rng, cg*p.KH*p.KW*oh*ow)
			size := cg * p.H * p.W
			start := randSlice(rng, size)
			want := append([]float32(nil), start...)
			col2imNaive(want, cols, tc.p)
			for _, threads := range []int{1, 2} {
				SetThreads(threads)
				buf := make([]float32, size+guard)
				copy(buf, start)
				for i := size; i < len(buf); i++ {
					buf[i] = float32(math.NaN())
				}
				Col2im(buf[:size], cols, tc.p)
				for i, v := range buf[size:] {
					if !math.IsNaN(float64(v)) {
						t.Fatalf("threads=%d: guard band img[%d] = %v: written past the end", threads, size+i, v)
					}
				}
				for i := range want {
					if math.Float32bits(buf[i]) != math.Float32bits(want[i]) {
						t.Fatalf("threads=%d: img[%d] = %v, want %v", threads, i, buf[i], want[i])
					}
				}
			}
		})
	}
}

// TestCol2imRows checks that Col2imRows over blocks of output rows adds up
// to one Col2im call, for block heights that do and do not divide the
// output height. The blocks change the order of each value's additions: a
// value gathers at most KH·KW terms, so the two results differ by at most
// 2·(KH·KW)·u·Σ|terms| (u = 2⁻²⁴; Higham §3.1, once for each order).
func TestCol2imRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, tc := range convCases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p.withDefaults()
			cg := p.C / p.Groups
			k := cg * p.KH * p.KW
			oh, ow := p.OutSize()
			cols := randSlice(rng, k*oh*ow)
			want := make([]float32, cg*p.H*p.W)
			Col2im(want, cols, p)
			abs := make([]float32, len(cols))
			for i, v := range cols {
				abs[i] = float32(math.Abs(float64(v)))
			}
			mag := make([]float32, len(want))
			col2imNaive(mag, abs, p)
			for _, block := range []int{1, 2, 3, oh} {
				got := make([]float32, len(want))
				for oy0 := 0; oy0 < oh; oy0 += block {
					oy1 := min(oh, oy0+block)
					n := (oy1 - oy0) * ow
					part := make([]float32, k*n)
					for r := 0; r < k; r++ {
						copy(part[r*n:(r+1)*n], cols[r*oh*ow+oy0*ow:r*oh*ow+oy1*ow])
					}
					Col2imRows(got, part, p, oy0, oy1)
				}
				for i := range want {
					tol := 2 * float64(p.KH*p.KW) * 0x1p-24 * float64(mag[i])
					if math.Abs(float64(got[i])-float64(want[i])) > tol {
						t.Fatalf("block=%d: img[%d] = %v, want %v within %v", block, i, got[i], want[i], tol)
					}
				}
			}
		})
	}
}

// TestCol2imAdjoint checks the defining identity ⟨Im2col(x), c⟩ = ⟨x,
// Col2im(c)⟩ in float64. Both sides sum the same products (each column
// entry times the image value it came from), so they differ only by
// float64 rounding: 1e-12 of the sum of |products|.
func TestCol2imAdjoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, tc := range convCases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p.withDefaults()
			cg := p.C / p.Groups
			oh, ow := p.OutSize()
			x := randSlice(rng, cg*p.H*p.W)
			c := randSlice(rng, cg*p.KH*p.KW*oh*ow)
			lowered := make([]float32, len(c))
			Im2col(lowered, x, p)
			back := make([]float32, len(x))
			Col2im(back, c, p)
			var lhs, rhs, mag float64
			for i := range c {
				lhs += float64(lowered[i]) * float64(c[i])
				mag += math.Abs(float64(lowered[i]) * float64(c[i]))
			}
			for i := range x {
				rhs += float64(x[i]) * float64(back[i])
			}
			// back[i] is a float32 sum: allow its rounding too.
			tol := 1e-12*mag + 1e-6*mag
			if math.Abs(lhs-rhs) > tol {
				t.Fatalf("⟨Im2col(x), c⟩ = %v, ⟨x, Col2im(c)⟩ = %v, differ by more than %v", lhs, rhs, tol)
			}
		})
	}
}

func TestCol2imPanics(t *testing.T) {
	p := ConvParams{C: 4, H: 5, W: 5, KH: 3, KW: 3, PadH: 1, PadW: 1}
	img := make([]float32, 100)
	cols := make([]float32, 36*25)
	checkPanics(t, []panicCase{
		{"short_img", func() { Col2im(img[:99], cols, p) },
			"accel: Col2imRows: len(img) = 99, need at least 100 for C/Groups=4 H=5 W=5"},
		{"short_cols", func() { Col2im(img, cols[:10], p) },
			"accel: Col2imRows: len(cols) = 10, need at least 900 for C/Groups·KH·KW=36 rows × 5 output rows·OW=5 columns"},
		{"rows_outside", func() { Col2imRows(img, cols, p, 2, 6) },
			"accel: Col2imRows: rows [2, 6) outside the 5 output rows"},
		{"rows_reversed", func() { Col2imRows(img, cols, p, 3, 2) },
			"accel: Col2imRows: rows [3, 2) outside the 5 output rows"},
		{"zero_kernel", func() { q := p; q.KW = 0; Col2im(img, cols, q) },
			"accel: Col2im: KW=0, must be at least 1"},
	}, exactly)
}

func ExampleCol2im() {
	// The columns of a 1x2 kernel over a 2x3 image (see ExampleIm2col),
	// all ones: each image value gets one 1 per window that covers it.
	p := ConvParams{C: 1, H: 2, W: 3, KH: 1, KW: 2}
	oh, ow := p.OutSize()
	cols := make([]float32, 2*oh*ow)
	for i := range cols {
		cols[i] = 1
	}
	img := make([]float32, 6)
	Col2im(img, cols, p)
	fmt.Println(img[:3])
	fmt.Println(img[3:])
	// Output:
	// [1 2 1]
	// [1 2 1]
}
