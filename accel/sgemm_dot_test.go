package accel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// dotDepths straddle the kernel's 16-float vectors and its masked tail.
var dotDepths = []int{1, 2, 15, 16, 17, 31, 33, 255, 256, 257, 1000}

// TestSgemmDot runs the dot path with every dot kernel the machine has
// against sgemmRef: row and column counts around the 6×4 block, depths
// around the 16-float vector, NaN guards around C.
func TestSgemmDot(t *testing.T) {
	scalars := []float32{1, -0.5, 2}
	for name, kern := range dotKernels() {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(15, 16))
			i := 0
			for _, m := range []int{1, 2, 5, 6, 7, 12, 13, 31} {
				for _, n := range []int{1, 3, 4, 5, 8, 9, 33} {
					for _, k := range dotDepths {
						tc := gemmCase{transB: true, m: m, n: n, k: k, alpha: scalars[i%3], beta: []float32{0, 1, -0.5}[(i/3)%3],
							lda: k + i%3, ldb: k + i%5, ldc: n + 1, off: i % 8}
						i++
						a, b, c := tc.operands(rng)
						want := append([]float32(nil), c...)
						o := tc.off
						sgemmRef(false, true, m, n, k, tc.alpha, a[o:], tc.lda, b[o:], tc.ldb, tc.beta, want[o:], tc.ldc)
						sgemmDot(kern, m, n, k, tc.alpha, a[o:], tc.lda, b[o:], tc.ldb, tc.beta, c[o:], tc.ldc)
						checkGemmResult(t, tc, a, b, c, want)
					}
				}
			}
		})
	}
}

// TestDotTile compares each dot kernel with dotTileGo on rows that end
// exactly at the end of their slices, so that a read past the masked tail
// would fault or show. Go multiplies and adds separately where the
// assembly fuses them, so the check is gemmTolerance's, not bit equality.
func TestDotTile(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for name, kern := range dotKernels() {
		for _, k := range dotDepths {
			var a [dotRows][]float32
			var b [dotCols][]float32
			var mag [dotRows][dotCols]float64
			for i := range a {
				a[i] = make([]float32, k)
				for p := range a[i] {
					a[i][p] = rng.Float32()*2 - 1
				}
			}
			for j := range b {
				b[j] = make([]float32, k)
				for p := range b[j] {
					b[j][p] = rng.Float32()*2 - 1
				}
			}
			for i := range a {
				for j := range b {
					for p := 0; p < k; p++ {
						mag[i][j] += math.Abs(float64(a[i][p]) * float64(b[j][p]))
					}
				}
			}
			var got, want [dotRows * dotCols]float32
			kern(k, &a, &b, &got)
			dotTileGo(k, &a, &b, &want)
			for i := range a {
				for j := range b {
					g, w := got[i*dotCols+j], want[i*dotCols+j]
					if d := math.Abs(float64(g - w)); d > gemmTolerance(k)*(mag[i][j]+1) {
						t.Fatalf("%s k=%d: out[%d,%d] = %g, Go kernel %g", name, k, i, j, g, w)
					}
				}
			}
		}
	}
}
