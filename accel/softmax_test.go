package accel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Softmax tolerances, relative to the float64 reference.
const (
	// softmaxTol covers exp's error (vekExpTol at worst) plus the rounding
	// of 1/sum and of the product: about 4 units of 2^-23.
	softmaxTol = 5e-7
	// softmaxArgTol is the relative rounding of x-m in float32 (half a unit,
	// 2^-24 ≈ 6e-8), which exp turns into a relative error of
	// softmaxArgTol·|x-m| in its result: the reference computes x-m in
	// float64, as PyTorch's float32 kernels do not.
	softmaxArgTol = 6e-8
)

// withEach runs f once with each element-wise implementation installed as
// ew, the one the row kernels call.
func withEach(t *testing.T, f func(t *testing.T)) {
	old := ew
	defer func() { ew = old }()
	for _, impl := range ewImpls {
		ew = impl
		t.Run(impl.name, f)
	}
}

// softmaxRef is the float64 softmax and log-softmax of one row.
func softmaxRef(x []float32) (sm, lsm []float64) {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, float64(v))
	}
	var sum float64
	for _, v := range x {
		sum += math.Exp(float64(v) - m)
	}
	sm, lsm = make([]float64, len(x)), make([]float64, len(x))
	for j, v := range x {
		sm[j] = math.Exp(float64(v)-m) / sum
		lsm[j] = float64(v) - m - math.Log(sum)
	}
	return sm, lsm
}

func TestSoftmaxRows(t *testing.T) {
	withEach(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(11, 12))
		for _, cols := range ewSizes {
			for off := 0; off < 8; off++ {
				const rows = 3
				// Logits up to ±20 make outputs from ~1e-17 to 1.
				src := ewInput(rng, rows*cols, 20, false)
				for _, inPlace := range []bool{false, true} {
					for _, log := range []bool{false, true} {
						buf, dst := nanBuf(off, rows*cols)
						name := "SoftmaxRows"
						if inPlace {
							copy(dst, src)
						}
						in := src
						if inPlace {
							in = dst
						}
						if log {
							name = "LogSoftmaxRows"
							LogSoftmaxRows(dst, in, rows, cols)
						} else {
							SoftmaxRows(dst, in, rows, cols)
						}
						checkNaNGuards(t, buf, off, rows*cols)
						for r := 0; r < rows; r++ {
							x := src[r*cols : (r+1)*cols]
							sm, lsm := softmaxRef(x)
							m := float64(rowMax(x))
							for j := range x {
								got := float64(dst[r*cols+j])
								argErr := softmaxArgTol * math.Abs(float64(x[j])-m)
								var bad bool
								if log {
									bad = math.Abs(got-lsm[j]) > softmaxTol*math.Max(math.Abs(lsm[j]), 1)+argErr
								} else {
									bad = math.Abs(got-sm[j]) > (softmaxTol+argErr)*sm[j]
								}
								if bad {
									t.Fatalf("%s cols=%d off=%d in place=%v: row %d col %d = %v, want %v (softmax), %v (log)",
										name, cols, off, inPlace, r, j, got, sm[j], lsm[j])
								}
							}
						}
					}
				}
			}
		}
	})
}

// TestSoftmaxRowsSpecial checks that subtracting the maximum keeps logits far
// beyond exp's range finite, and that special values give NaN rows as
// documented.
func TestSoftmaxRowsSpecial(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	withEach(t, func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			x      []float32
			nanRow bool // every output NaN
		}{
			{"large logits", []float32{1000, 999, 1000}, false},
			{"very negative logits", []float32{-1000, -1001, -3000}, false},
			{"-inf is zero weight", []float32{0, float32(math.Inf(-1)), 0}, false},
			{"one column", []float32{-7}, false},
			{"NaN", []float32{1, nan, 2}, true},
			{"+Inf", []float32{1, inf, 2}, true},
			{"all -Inf", []float32{-inf, -inf}, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				for _, log := range []bool{false, true} {
					dst := make([]float32, len(tc.x))
					want, lsm := softmaxRef(tc.x)
					if log {
						LogSoftmaxRows(dst, tc.x, 1, len(tc.x))
						want = lsm
					} else {
						SoftmaxRows(dst, tc.x, 1, len(tc.x))
					}
					for j, got := range dst {
						if tc.nanRow {
							if got == got {
								t.Errorf("log=%v: column %d = %v, want NaN", log, j, got)
							}
							continue
						}
						if !within(got, want[j], 1e-6) {
							t.Errorf("log=%v: column %d = %v, want %v", log, j, got, want[j])
						}
					}
				}
			})
		}
	})
}

func TestArgmaxRows(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, tc := range []struct {
		name string
		x    []float32
		want int
	}{
		{"single", []float32{-3}, 0},
		{"first of ties", []float32{1, 5, 2, 5, 5}, 1},
		{"last", []float32{1, 2, 3}, 2},
		{"negative", []float32{-4, -2, -3}, 1},
		{"-inf only", []float32{-inf, -inf}, 0},
		{"+inf", []float32{1, inf, inf}, 1},
		{"NaN wins", []float32{1, 9, nan, 10, nan}, 2},
		{"NaN first", []float32{nan, 9}, 0},
		{"signed zeros tie", []float32{float32(math.Copysign(0, -1)), 0}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := []int{-1, -7}
			ArgmaxRows(dst, tc.x, 1, len(tc.x))
			if dst[0] != tc.want || dst[1] != -7 {
				t.Errorf("ArgmaxRows(%v) = %d (guard %d), want %d", tc.x, dst[0], dst[1], tc.want)
			}
		})
	}
	// Several rows, against a plain loop.
	rng := rand.New(rand.NewPCG(13, 14))
	const rows, cols = 37, 19
	src := make([]float32, rows*cols)
	for i := range src {
		src[i] = float32(rng.IntN(7)) // many ties
	}
	dst := make([]int, rows)
	ArgmaxRows(dst, src, rows, cols)
	for r := 0; r < rows; r++ {
		want := 0
		for j := 1; j < cols; j++ {
			if src[r*cols+j] > src[r*cols+want] {
				want = j
			}
		}
		if dst[r] != want {
			t.Fatalf("row %d: %d, want %d", r, dst[r], want)
		}
	}
}

func TestRowPanics(t *testing.T) {
	s := make([]float32, 12)
	checkPanics(t, []panicCase{
		{"short dst", func() { SoftmaxRows(s[:5], s, 2, 3) }, "accel: SoftmaxRows: len(dst) = 5, need 6 for rows=2 cols=3"},
		{"short src", func() { LogSoftmaxRows(s, s[:5], 2, 3) }, "accel: LogSoftmaxRows: len(src) = 5, need 6 for rows=2 cols=3"},
		{"negative", func() { SoftmaxRows(s, s, -1, 3) }, "accel: SoftmaxRows: bad shape rows=-1 cols=3"},
		{"shifted", func() { SoftmaxRows(s[1:], s, 2, 3) }, "accel: SoftmaxRows: dst overlaps src without being the same slice"},
		{"argmax empty row", func() { ArgmaxRows(make([]int, 2), s, 2, 0) }, "accel: ArgmaxRows: bad shape rows=2 cols=0"},
		{"argmax short dst", func() { ArgmaxRows(make([]int, 1), s, 2, 3) }, "accel: ArgmaxRows: len(dst) = 1, need 2 for rows=2"},
	}, startsWith)
}
