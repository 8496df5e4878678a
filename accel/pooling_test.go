package accel

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// poolTol is the relative tolerance for average pooling against PyTorch.
// Max pooling only moves values, so it must match exactly (and its indices
// too). An average sums at most a few dozen float32 values of magnitude
// about 1 and divides once; summing in another order (GlobalAvgPool2D sums
// in float64) or dividing once where PyTorch divides twice
// (AdaptiveAvgPool2D) moves the result by about a unit in the last place of
// the largest partial sum, ~1e-7 (measured: AvgPool2D bit for bit, the
// others at most 6e-8). The error is relative to the inputs' scale rather
// than to the result, which can be near 0 after cancellation, so the bound
// is poolTol·max(|want|, 1).
const poolTol = 1e-6

// goldenFloats is a JSON list of numbers in which null stands for NaN and
// the strings "inf" and "-inf" for the infinities.
type goldenFloats []float32

func (f *goldenFloats) UnmarshalJSON(b []byte) error {
	var vs []any
	if err := json.Unmarshal(b, &vs); err != nil {
		return err
	}
	*f = make([]float32, len(vs))
	for i, v := range vs {
		switch v := v.(type) {
		case nil:
			(*f)[i] = float32(math.NaN())
		case float64:
			(*f)[i] = float32(v)
		case string:
			switch v {
			case "inf":
				(*f)[i] = float32(math.Inf(1))
			case "-inf":
				(*f)[i] = float32(math.Inf(-1))
			default:
				return fmt.Errorf("element %d: %q is not a number", i, v)
			}
		default:
			return fmt.Errorf("element %d: %v is not a number", i, v)
		}
	}
	return nil
}

// poolCase is one case of testdata/golden/pooling.json, written by
// tools/golden/pooling.py.
type poolCase struct {
	Name            string
	Op              string // max, avg, adaptive_avg, adaptive_max, global_avg, global_max, unpool
	Shape           []int  // input n, c, h, w
	OutShape        []int  `json:"out_shape"`
	Input           goldenFloats
	Indices         []int32 // unpool: the indices to scatter by
	Want            goldenFloats
	WantIndices     []int32 `json:"want_indices"`
	Kernel          [2]int
	Stride          [2]int
	Padding         [2]int
	Dilation        [2]int
	CeilMode        bool `json:"ceil_mode"`
	CountIncludePad bool `json:"count_include_pad"`
}

func loadPoolGolden(t *testing.T) []poolCase {
	t.Helper()
	b, err := os.ReadFile("testdata/golden/pooling.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Generator string
		Cases     []poolCase
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("testdata/golden/pooling.json: %v", err)
	}
	if len(doc.Cases) == 0 {
		t.Fatal("testdata/golden/pooling.json: no cases")
	}
	return doc.Cases
}

func (tc poolCase) params() Pool2DParams {
	return Pool2DParams{
		KernelH: tc.Kernel[0], KernelW: tc.Kernel[1],
		StrideH: tc.Stride[0], StrideW: tc.Stride[1],
		PadH: tc.Padding[0], PadW: tc.Padding[1],
		DilationH: tc.Dilation[0], DilationW: tc.Dilation[1],
		CeilMode: tc.CeilMode, CountIncludePad: tc.CountIncludePad,
	}
}

// guardLen is the number of NaN (or, for indices, -7) values placed after
// every output to catch writes past its end.
const guardLen = 8

func guarded(n int) (buf, dst []float32) {
	buf = make([]float32, n+guardLen)
	for i := range buf {
		buf[i] = float32(math.NaN())
	}
	return buf, buf[:n]
}

func guardedIndices(n int) (buf, dst []int32) {
	buf = make([]int32, n+guardLen)
	for i := range buf {
		buf[i] = -7
	}
	return buf, buf[:n]
}

func checkGuards(t *testing.T, buf []float32, n int) {
	t.Helper()
	for i, v := range buf[n:] {
		if v == v {
			t.Fatalf("guard %d after the %d outputs overwritten with %v", i, n, v)
		}
	}
}

func checkIndexGuards(t *testing.T, buf []int32, n int) {
	t.Helper()
	for i, v := range buf[n:] {
		if v != -7 {
			t.Fatalf("index guard %d after the %d outputs overwritten with %d", i, n, v)
		}
	}
}

// sameFloat reports whether a and b are equal, or both NaN.
func sameFloat(a, b float32) bool { return a == b || (a != a && b != b) }

func TestPoolGolden(t *testing.T) {
	for _, tc := range loadPoolGolden(t) {
		t.Run(tc.Op+"/"+tc.Name, func(t *testing.T) {
			n, c, h, w := tc.Shape[0], tc.Shape[1], tc.Shape[2], tc.Shape[3]
			oh, ow := 1, 1
			if len(tc.OutShape) == 4 {
				oh, ow = tc.OutShape[2], tc.OutShape[3]
			}
			size := n * c * oh * ow
			if len(tc.Want) != size {
				t.Fatalf("golden has %d outputs for shape %v", len(tc.Want), tc.OutShape)
			}
			buf, dst := guarded(size)
			ibuf, ind := guardedIndices(size)
			exact := true
			switch tc.Op {
			case "max":
				p := tc.params()
				if gh, gw := p.OutputSize(h, w); gh != oh || gw != ow {
					t.Fatalf("OutputSize(%d, %d) = %d×%d, PyTorch gives %d×%d", h, w, gh, gw, oh, ow)
				}
				MaxPool2D(dst, ind, tc.Input, n, c, h, w, p)
				// Without indices (another code path), the same values.
				vbuf, vals := guarded(size)
				MaxPool2D(vals, nil, tc.Input, n, c, h, w, p)
				checkGuards(t, vbuf, size)
				for i, want := range tc.Want {
					if !sameFloat(vals[i], want) {
						t.Fatalf("without indices: dst[%d] = %v, PyTorch gives %v", i, vals[i], want)
					}
				}
			case "avg":
				p := tc.params()
				if gh, gw := p.OutputSize(h, w); gh != oh || gw != ow {
					t.Fatalf("OutputSize(%d, %d) = %d×%d, PyTorch gives %d×%d", h, w, gh, gw, oh, ow)
				}
				AvgPool2D(dst, tc.Input, n, c, h, w, p)
				exact = false
			case "adaptive_avg":
				AdaptiveAvgPool2D(dst, tc.Input, n, c, h, w, oh, ow)
				exact = false
			case "adaptive_max":
				AdaptiveMaxPool2D(dst, ind, tc.Input, n, c, h, w, oh, ow)
			case "global_avg":
				GlobalAvgPool2D(dst, tc.Input, n, c, h, w)
				exact = false
			case "global_max":
				GlobalMaxPool2D(dst, tc.Input, n, c, h, w)
			case "unpool":
				MaxUnpool2D(dst, tc.Input, tc.Indices, n, c, h, w, oh, ow)
			default:
				t.Fatalf("unknown op %q", tc.Op)
			}
			checkGuards(t, buf, size)
			for i, want := range tc.Want {
				got := dst[i]
				if exact || want != want {
					if !sameFloat(got, want) {
						t.Fatalf("dst[%d] = %v, PyTorch gives %v", i, got, want)
					}
					continue
				}
				if d := math.Abs(float64(got - want)); d > poolTol*max(math.Abs(float64(want)), 1) {
					t.Fatalf("dst[%d] = %v, PyTorch gives %v (difference %.3g)", i, got, want, d)
				}
			}
			if tc.WantIndices != nil {
				checkIndexGuards(t, ibuf, size)
				for i, want := range tc.WantIndices {
					if ind[i] != want {
						t.Fatalf("indices[%d] = %d, PyTorch gives %d", i, ind[i], want)
					}
				}
			}
		})
	}
}

// maxPoolNaive is MaxPool2D as the loop of its doc comment, tap by tap,
// with the index of the first tap inside the input as the starting index.
// A window with no tap inside the input gets index -1 (MaxPool2D gives
// PyTorch's index there, which the golden test checks).
func maxPoolNaive(dst []float32, ind []int32, src []float32, n, c, h, w int, p Pool2DParams) {
	p = p.withDefaults()
	oh, ow := p.OutputSize(h, w)
	for q := 0; q < n*c; q++ {
		plane := src[q*h*w : (q+1)*h*w]
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				best, at := float32(math.Inf(-1)), -1
				for i := 0; i < p.KernelH; i++ {
					for j := 0; j < p.KernelW; j++ {
						r := y*p.StrideH - p.PadH + i*p.DilationH
						s := x*p.StrideW - p.PadW + j*p.DilationW
						if r < 0 || r >= h || s < 0 || s >= w {
							continue
						}
						if v := plane[r*w+s]; at < 0 || v > best || math.IsNaN(float64(v)) {
							best, at = v, r*w+s
						}
					}
				}
				dst[q*oh*ow+y*ow+x] = best
				ind[q*oh*ow+y*ow+x] = int32(at)
			}
		}
	}
}

// randomPlanes fills n values with a mix of Gaussian numbers, a few repeated
// values (ties), -Inf and, when withNaN, NaN.
func randomPlanes(rng *rand.Rand, size int, withNaN bool) []float32 {
	s := make([]float32, size)
	for i := range s {
		switch r := rng.IntN(40); {
		case r == 0 && withNaN:
			s[i] = float32(math.NaN())
		case r == 1:
			s[i] = float32(math.Inf(-1))
		case r < 12:
			s[i] = float32(rng.IntN(5)) - 2
		default:
			s[i] = float32(rng.NormFloat64())
		}
	}
	return s
}

func TestMaxPool2DNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tried := 0
	for tried < 400 {
		p := Pool2DParams{
			KernelH: 1 + rng.IntN(4), KernelW: 1 + rng.IntN(4),
			StrideH: rng.IntN(4), StrideW: rng.IntN(4),
			DilationH: rng.IntN(4), DilationW: rng.IntN(4),
			CeilMode: rng.IntN(2) == 0,
		}
		p.PadH, p.PadW = rng.IntN(p.KernelH/2+1), rng.IntN(p.KernelW/2+1)
		n, c, h, w := 1+rng.IntN(2), 1+rng.IntN(3), 1+rng.IntN(12), 1+rng.IntN(12)
		if tried%50 == 0 { // now and then, large enough to run in parallel
			c, h, w = 8, 30+rng.IntN(20), 30+rng.IntN(20)
		}
		oh, ow := p.OutputSize(h, w)
		if oh < 1 || ow < 1 {
			continue
		}
		tried++
		src := randomPlanes(rng, n*c*h*w, tried%3 == 0)
		size := n * c * oh * ow
		want, wantInd := make([]float32, size), make([]int32, size)
		maxPoolNaive(want, wantInd, src, n, c, h, w, p)
		buf, got := guarded(size)
		ibuf, gotInd := guardedIndices(size)
		MaxPool2D(got, gotInd, src, n, c, h, w, p)
		checkGuards(t, buf, size)
		checkIndexGuards(t, ibuf, size)
		for i := range want {
			if !sameFloat(got[i], want[i]) || (gotInd[i] != wantInd[i] && wantInd[i] >= 0) {
				t.Fatalf("%+v on %dx%dx%dx%d: output %d = %v at %d, naive loop gives %v at %d",
					p, n, c, h, w, i, got[i], gotInd[i], want[i], wantInd[i])
			}
		}
		// Without indices, the same values.
		buf2, got2 := guarded(size)
		MaxPool2D(got2, nil, src, n, c, h, w, p)
		checkGuards(t, buf2, size)
		for i := range want {
			if !sameFloat(got2[i], want[i]) {
				t.Fatalf("%+v: without indices output %d = %v, want %v", p, i, got2[i], want[i])
			}
		}
	}
}

// TestPoolThreads checks that every pooling kernel gives bit-identical
// results on one thread and on several, on a shape above poolParallelWork.
func TestPoolThreads(t *testing.T) {
	defer SetThreads(0)
	rng := rand.New(rand.NewPCG(3, 4))
	const n, c, h, w = 2, 16, 33, 31
	src := randomPlanes(rng, n*c*h*w, true)
	p := Pool2DParams{KernelH: 3, KernelW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}
	oh, ow := p.OutputSize(h, w)
	run := func() [][]float32 {
		mx, mi := make([]float32, n*c*oh*ow), make([]int32, n*c*oh*ow)
		MaxPool2D(mx, mi, src, n, c, h, w, p)
		avg := make([]float32, n*c*oh*ow)
		AvgPool2D(avg, src, n, c, h, w, p)
		aa, am, ai := make([]float32, n*c*5*6), make([]float32, n*c*5*6), make([]int32, n*c*5*6)
		AdaptiveAvgPool2D(aa, src, n, c, h, w, 5, 6)
		AdaptiveMaxPool2D(am, ai, src, n, c, h, w, 5, 6)
		ga, gm := make([]float32, n*c), make([]float32, n*c)
		GlobalAvgPool2D(ga, src, n, c, h, w)
		GlobalMaxPool2D(gm, src, n, c, h, w)
		un := make([]float32, n*c*h*w)
		MaxUnpool2D(un, mx, mi, n, c, oh, ow, h, w)
		fi := func(s []int32) []float32 {
			f := make([]float32, len(s))
			for i, v := range s {
				f[i] = float32(v)
			}
			return f
		}
		return [][]float32{mx, fi(mi), avg, aa, am, fi(ai), ga, gm, un}
	}
	SetThreads(1)
	one := run()
	SetThreads(4)
	many := run()
	for k := range one {
		for i := range one[k] {
			if math.Float32bits(one[k][i]) != math.Float32bits(many[k][i]) {
				t.Fatalf("result %d, element %d: %v on one thread, %v on four", k, i, one[k][i], many[k][i])
			}
		}
	}
}

func TestPoolOutputSize(t *testing.T) {
	for _, tc := range []struct {
		in, k, s, p, d int
		ceil           bool
		want           int
	}{
		{224, 3, 2, 1, 1, false, 112}, // ResNet stem
		{112, 3, 2, 1, 1, false, 56},
		{112, 3, 2, 0, 1, true, 56},  // GoogLeNet: ceil
		{112, 3, 2, 0, 1, false, 55}, // ... where floor loses a row
		{5, 3, 3, 1, 1, true, 2},     // ceil's last window would start in the right padding
		{5, 2, 2, 1, 1, true, 3},     // ditto
		{6, 2, 2, 0, 1, true, 3},     // ceil changes nothing when it divides
		{7, 3, 1, 1, 2, false, 5},    // dilation
		{2, 3, 1, 0, 1, false, 0},    // window larger than the input
		{1, 3, 1, 0, 2, true, -3},    // ... by more than a stride
		{1, 1, 1, 0, 1, false, 1},    // 1×1
		{10, 3, 4, 1, 1, true, 3},    // ceil with stride > kernel
		{13, 3, 2, 0, 1, true, 6},    // AlexNet-like
		{17, 5, 3, 2, 1, true, 7},    // ceil adds a window starting inside the input
		{16, 5, 3, 2, 1, true, 6},    // ceil and floor agree
		{4, 2, 3, 1, 1, true, 2},     // ceil, stride > kernel
		{3, 1, 2, 0, 1, true, 2},     // ceil, kernel 1
		{3, 1, 2, 0, 1, false, 2},    // floor, kernel 1
	} {
		if got := PoolOutputSize(tc.in, tc.k, tc.s, tc.p, tc.d, tc.ceil); got != tc.want {
			t.Errorf("PoolOutputSize(in=%d, k=%d, s=%d, p=%d, d=%d, ceil=%v) = %d, want %d",
				tc.in, tc.k, tc.s, tc.p, tc.d, tc.ceil, got, tc.want)
		}
	}
}

func TestPoolDefaults(t *testing.T) {
	// Zero stride means the kernel size; zero dilation means 1.
	p := Pool2DParams{KernelH: 2, KernelW: 3}
	if oh, ow := p.OutputSize(6, 9); oh != 3 || ow != 3 {
		t.Errorf("OutputSize with default stride = %d×%d, want 3×3", oh, ow)
	}
}

func TestPoolPanics(t *testing.T) {
	src := make([]float32, 2*3*6*6)
	dst := make([]float32, 2*3*3*3)
	ind := make([]int32, 2*3*3*3)
	k2 := Pool2DParams{KernelH: 2, KernelW: 2}
	checkPanics(t, []panicCase{
		{"short dst", func() { MaxPool2D(dst[:5], nil, src, 2, 3, 6, 6, k2) },
			"accel: MaxPool2D: len(dst) = 5, need 54 for n=2 c=3 outH=3 outW=3"},
		{"short indices", func() { MaxPool2D(dst, ind[:53], src, 2, 3, 6, 6, k2) },
			"accel: MaxPool2D: len(indices) = 53, need 54"},
		{"short src", func() { AvgPool2D(dst, src[:10], 2, 3, 6, 6, k2) },
			"accel: AvgPool2D: len(src) = 10, need 216 for n=2 c=3 h=6 w=6"},
		{"zero kernel", func() { MaxPool2D(dst, nil, src, 2, 3, 6, 6, Pool2DParams{KernelH: 0, KernelW: 2}) },
			"accel: MaxPool2D: KernelH = 0, less than 1"},
		{"negative stride", func() { MaxPool2D(dst, nil, src, 2, 3, 6, 6, Pool2DParams{KernelH: 2, KernelW: 2, StrideW: -1}) },
			"accel: MaxPool2D: StrideW = -1, less than 1"},
		{"padding over half", func() { MaxPool2D(dst, nil, src, 2, 3, 6, 6, Pool2DParams{KernelH: 3, KernelW: 3, PadH: 2}) },
			"accel: MaxPool2D: padding 2×0, more than half the 3×3 kernel"},
		{"avg dilation", func() { AvgPool2D(dst, src, 2, 3, 6, 6, Pool2DParams{KernelH: 2, KernelW: 2, DilationH: 2}) },
			"accel: AvgPool2D: dilation 2×1, only 1 is supported"},
		{"window too large", func() { MaxPool2D(dst, nil, src, 1, 1, 2, 2, Pool2DParams{KernelH: 3, KernelW: 3}) },
			"accel: MaxPool2D: output 0×0 from a 2×2 input"},
		{"empty plane", func() { GlobalAvgPool2D(dst, src, 1, 1, 0, 4) },
			"accel: GlobalAvgPool2D: bad shape n=1 c=1 h=0 w=4"},
		{"negative n", func() { GlobalMaxPool2D(dst, src, -1, 1, 2, 2) },
			"accel: GlobalMaxPool2D: bad shape n=-1"},
		{"global short dst", func() { GlobalMaxPool2D(dst[:5], src, 2, 3, 6, 6) },
			"accel: GlobalMaxPool2D: len(dst) = 5, need 6 for n=2 c=3"},
		{"adaptive zero output", func() { AdaptiveAvgPool2D(dst, src, 2, 3, 6, 6, 0, 2) },
			"accel: AdaptiveAvgPool2D: output 0×2, need at least 1×1"},
		{"adaptive short indices", func() { AdaptiveMaxPool2D(dst, ind[:3], src, 2, 3, 6, 6, 3, 3) },
			"accel: AdaptiveMaxPool2D: len(indices) = 3, need 54"},
		{"unpool index past the plane", func() {
			bad := make([]int32, 2*3*3*3)
			bad[40] = 36
			MaxUnpool2D(src, dst, bad, 2, 3, 3, 3, 6, 6)
		}, "accel: MaxUnpool2D: indices[40] = 36, outside the 6×6 output plane"},
		{"unpool negative index", func() {
			bad := make([]int32, 2*3*3*3)
			bad[3] = -1
			MaxUnpool2D(src, dst, bad, 2, 3, 3, 3, 6, 6)
		}, "accel: MaxUnpool2D: indices[3] = -1, outside the 6×6 output plane"},
		{"unpool short dst", func() { MaxUnpool2D(dst, dst, ind, 2, 3, 3, 3, 6, 6) },
			"accel: MaxUnpool2D: len(dst) = 54, need 216 for n=2 c=3 outH=6 outW=6"},
	}, startsWith)
}

func TestMaxUnpool2DDuplicates(t *testing.T) {
	// Overlapping windows repeat an index; the last write wins and the
	// untouched outputs are zero, even over old contents.
	src := []float32{1, 2, 3}
	idx := []int32{4, 0, 4}
	dst := []float32{9, 9, 9, 9, 9, 9}
	MaxUnpool2D(dst, src, idx, 1, 1, 1, 3, 2, 3)
	want := []float32{2, 0, 0, 0, 3, 0}
	if fmt.Sprint(dst) != fmt.Sprint(want) {
		t.Fatalf("MaxUnpool2D = %v, want %v", dst, want)
	}
}

func TestPoolEmptyBatch(t *testing.T) {
	// n or c of 0 is a no-op on empty slices.
	p := Pool2DParams{KernelH: 2, KernelW: 2}
	MaxPool2D(nil, nil, nil, 0, 3, 4, 4, p)
	AvgPool2D(nil, nil, 2, 0, 4, 4, p)
	AdaptiveMaxPool2D(nil, nil, nil, 0, 1, 4, 4, 2, 2)
	AdaptiveAvgPool2D(nil, nil, 0, 1, 4, 4, 2, 2)
	GlobalAvgPool2D(nil, nil, 0, 1, 4, 4)
	GlobalMaxPool2D(nil, nil, 0, 1, 4, 4)
	MaxUnpool2D(nil, nil, nil, 0, 1, 2, 2, 4, 4)
}
