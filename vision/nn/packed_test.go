package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"govision.dev/vision/tensor"
)

// TestPackedWeights checks that the weights Refresh packs give the same
// outputs, bit for bit, as the per-call path a layer takes before it is
// refreshed, and that changing the weights in place is seen after Refresh
// and ignored by a layer whose Weight was replaced.
func TestPackedWeights(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	fill := func(x *tensor.Tensor) *tensor.Tensor {
		for i := range x.Data() {
			x.Data()[i] = 2*rng.Float32() - 1
		}
		return x
	}
	cases := []struct {
		name string
		m    Module
		x    *tensor.Tensor
	}{
		{"conv3x3", NewConv2d(16, 24, Kernel(3), ConvOptions{Padding: Padding(1)}, rng), fill(tensor.New(2, 16, 9, 11))},
		{"conv1x1_groups", NewConv2d(16, 32, Kernel(1), ConvOptions{Groups: 4}, rng), fill(tensor.New(1, 16, 7, 7))},
		{"conv_stride2", NewConv2d(8, 16, Kernel(5), ConvOptions{Stride: Stride(2), Padding: Padding(2)}, rng), fill(tensor.New(1, 8, 13, 13))},
		{"depthwise", NewConv2d(8, 8, Kernel(3), ConvOptions{Groups: 8, Padding: Padding(1)}, rng), fill(tensor.New(1, 8, 6, 6))},
		{"linear_n1", NewLinear(300, 200, true, rng), fill(tensor.New(1, 300))},
		{"linear_n3", NewLinear(300, 200, true, rng), fill(tensor.New(3, 300))},
		{"linear_n4_nobias", NewLinear(512, 40, false, rng), fill(tensor.New(4, 512))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want, err := tc.m.Forward(tc.x)
			if err != nil {
				t.Fatal(err)
			}
			Refresh(tc.m)
			got, err := tc.m.Forward(tc.x)
			if err != nil {
				t.Fatal(err)
			}
			for i, g := range got.Data() {
				if math.Float32bits(g) != math.Float32bits(want.Data()[i]) {
					t.Fatalf("y[%d] = %v packed, %v per call", i, g, want.Data()[i])
				}
			}
			// Changed in place: seen after Refresh.
			w := Walk(tc.m)[0].Tensor
			for i := range w.Data() {
				w.Data()[i] *= 2
			}
			Refresh(tc.m)
			doubled, _ := tc.m.Forward(tc.x)
			// Replaced: the packed copy of the old weights is not used.
			*w = *fill(tensor.New(w.Shape()...))
			replaced, _ := tc.m.Forward(tc.x)
			Refresh(tc.m)
			again, _ := tc.m.Forward(tc.x)
			for i, g := range doubled.Data() {
				if g == want.Data()[i] && g != 0 {
					t.Fatalf("y[%d] = %v after doubling the weights and Refresh: the old packed weights were used", i, g)
				}
				if math.Float32bits(replaced.Data()[i]) != math.Float32bits(again.Data()[i]) {
					t.Fatalf("y[%d] = %v with replaced weights, %v after Refresh", i, replaced.Data()[i], again.Data()[i])
				}
			}
		})
	}
}
