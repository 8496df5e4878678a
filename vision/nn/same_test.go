package nn

import (
	"math/rand/v2"
	"testing"

	"govision.dev/vision/tensor"
)

func TestSamePadding(t *testing.T) {
	for _, tc := range []struct{ n, k, s, before, after int }{
		{512, 3, 2, 0, 1}, // even side, stride 2: the odd pixel after
		{7, 3, 2, 1, 1},
		{16, 3, 1, 1, 1},
		{16, 1, 1, 0, 0},
		{2, 3, 2, 0, 1},
		{1, 3, 2, 1, 1},
	} {
		if b, a := SamePadding(tc.n, tc.k, tc.s); b != tc.before || a != tc.after {
			t.Errorf("SamePadding(%d, %d, %d) = %d, %d, want %d, %d", tc.n, tc.k, tc.s, b, a, tc.before, tc.after)
		}
	}
}

// TestConvBNActSame checks the convolution with SAME padding (PadH, PadW
// before, accel's PadAfterH, PadAfterW for the odd pixel after) against
// the plain loop: output pixel (i, j) reads input (i·s − before + ky, …).
// The depthwise cases reach accel's stride-2 and stride-1 depthwise paths,
// with rows wide enough for whole vectors.
func TestConvBNActSame(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name               string
		h, w, k, s, groups int
	}{
		{"even-stride2", 8, 6, 3, 2, 1},
		{"odd-stride2", 7, 5, 3, 2, 1},
		{"depthwise-even-stride2", 6, 6, 3, 2, 4},
		{"depthwise-even-stride2-wide", 10, 70, 3, 2, 4},
		{"depthwise-odd-stride2", 9, 35, 3, 2, 4},
		{"depthwise-stride1", 6, 40, 3, 1, 4},
		{"even-kernel-stride1", 5, 6, 2, 1, 1},
		{"even-kernel-stride2", 8, 7, 4, 2, 1},
		{"stride1", 5, 4, 3, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cin, cout := 4, 4
			conv := NewConv2d(cin, cout, Kernel(tc.k), ConvOptions{Stride: Stride(tc.s), Groups: tc.groups}, rng)
			x := tensor.New(1, cin, tc.h, tc.w)
			for i := range x.Data() {
				x.Data()[i] = rng.Float32()*2 - 1
			}
			y, err := ConvBNActSame(x, conv, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			oh, ow := (tc.h+tc.s-1)/tc.s, (tc.w+tc.s-1)/tc.s
			if y.Dim(2) != oh || y.Dim(3) != ow {
				t.Fatalf("output %v, want %d×%d", y.Shape(), oh, ow)
			}
			top, _ := SamePadding(tc.h, tc.k, tc.s)
			left, _ := SamePadding(tc.w, tc.k, tc.s)
			per := cin / tc.groups
			for o := range cout {
				g := o / (cout / tc.groups)
				for i := range oh {
					for j := range ow {
						want := float64(conv.Bias.Data()[o])
						for ci := range per {
							for ky := range tc.k {
								for kx := range tc.k {
									yy, xx := i*tc.s-top+ky, j*tc.s-left+kx
									if yy < 0 || yy >= tc.h || xx < 0 || xx >= tc.w {
										continue
									}
									want += float64(conv.Weight.Data()[((o*per+ci)*tc.k+ky)*tc.k+kx]) *
										float64(x.Data()[((g*per+ci)*tc.h+yy)*tc.w+xx])
								}
							}
						}
						got := y.Data()[(o*oh+i)*ow+j]
						if d := float64(got) - want; d > 1e-5 || d < -1e-5 {
							t.Fatalf("y[%d,%d,%d] = %v, want %v", o, i, j, got, want)
						}
					}
				}
			}
		})
	}
}
