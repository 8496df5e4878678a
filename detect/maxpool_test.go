package detect

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"govision.dev/vision/tensor"
)

// TestMaxPoolSame checks maxPoolSame against tf.maxPool's definition with
// padding 'same' (2×2 windows, the odd pixel of padding after), on even
// and odd sides, at both strides the Tiny Face Detector uses.
func TestMaxPoolSame(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, stride := range []int{1, 2} {
		for _, hw := range [][2]int{{8, 8}, {13, 13}, {7, 40}, {1, 33}, {2, 1}} {
			h, w := hw[0], hw[1]
			t.Run(fmt.Sprintf("stride=%d/%dx%d", stride, h, w), func(t *testing.T) {
				x := tensor.New(2, 3, h, w)
				for i := range x.Data() {
					x.Data()[i] = rng.Float32()*2 - 1
				}
				y := maxPoolSame(x, stride)
				oh, ow := (h+stride-1)/stride, (w+stride-1)/stride
				if s := y.Shape(); s[2] != oh || s[3] != ow {
					t.Fatalf("shape %v, want [2 3 %d %d]", s, oh, ow)
				}
				for p := range 6 {
					for i := range oh {
						for j := range ow {
							want := float32(-1e30)
							for di := range 2 {
								for dj := range 2 {
									if r, c := i*stride+di, j*stride+dj; r < h && c < w {
										want = max(want, x.Data()[(p*h+r)*w+c])
									}
								}
							}
							if got := y.Data()[(p*oh+i)*ow+j]; got != want {
								t.Fatalf("plane %d (%d, %d) = %v, want %v", p, i, j, got, want)
							}
						}
					}
				}
			})
		}
	}
}
