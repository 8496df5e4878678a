package darknet

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"govision.dev/accel"
	"govision.dev/vision/tensor"
)

// randTensor fills a tensor of shape with values in [-4, 4) from a fixed
// sequence.
func randTensor(seed int, shape ...int) *tensor.Tensor {
	x := tensor.New(shape...)
	for i := range x.Data() {
		x.Data()[i] = float32((i*7919+seed*104729)%8000)/1000 - 4
	}
	return x
}

// TestLayersParallel runs the layers that split their work over
// goroutines at several thread counts, on sizes above the parallel
// threshold and batches of odd sizes, against plain loops.
func TestLayersParallel(t *testing.T) {
	defer accel.SetThreads(0)
	const nb, h, w = 3, 64, 48
	a, b, c := randTensor(1, nb, 5, h, w), randTensor(2, nb, 7, h, w), randTensor(3, nb, 3, h, w)
	for _, threads := range []int{1, 2, 3, 7} {
		accel.SetThreads(threads)
		t.Run(fmt.Sprintf("threads=%d", threads), func(t *testing.T) {
			t.Run("route", func(t *testing.T) {
				r := &routeNode{layers: []int{0, 1, 2}, o: shape{c: 15, h: h, w: w}}
				y, _ := r.forward([]*tensor.Tensor{a, b, c}, nb)
				var want []float32
				for n := 0; n < nb; n++ {
					for _, x := range []*tensor.Tensor{a, b, c} {
						per := x.Len() / nb
						want = append(want, x.Data()[n*per:(n+1)*per]...)
					}
				}
				if !slices.Equal(y.Data(), want) {
					t.Error("concatenation differs")
				}
			})
			t.Run("shortcut", func(t *testing.T) {
				for _, ab := range [][2]float32{{1, 1}, {0.5, -2}} {
					s := &shortcutNode{cfg: &Shortcut{Alpha: ab[0], Beta: ab[1], Activation: Leaky}, s: shape{7, h, w}, fromS: shape{7, h, w}}
					y, _ := s.forward([]*tensor.Tensor{b, b.Clone()}, nb)
					for i, v := range b.Data() {
						want := ab[0]*v + ab[1]*v
						if !(want > 0) {
							want = float32(.1 * float64(want))
						}
						if y.Data()[i] != want {
							t.Fatalf("α, β = %v: value %d = %v, want %v", ab, i, y.Data()[i], want)
						}
					}
				}
			})
			t.Run("maxpool", func(t *testing.T) {
				// Odd sizes: darknet's default padding (size−1) adds a
				// window past the last row and column.
				const ih, iw = 65, 47
				x := randTensor(5, nb, 7, ih, iw)
				for _, p := range []MaxPool{{Size: 2, Stride: 2, Padding: 1}, {Size: 2, Stride: 1, Padding: 1}, {Size: 3, Stride: 2, Padding: 2}} {
					oh, ow := (ih+p.Padding-p.Size)/p.Stride+1, (iw+p.Padding-p.Size)/p.Stride+1
					l := &maxPoolNode{cfg: &p, inS: shape{7, ih, iw}, o: shape{7, oh, ow}}
					y, _ := l.forward([]*tensor.Tensor{x}, nb)
					for pl := 0; pl < nb*7; pl++ {
						for oy := 0; oy < oh; oy++ {
							for ox := 0; ox < ow; ox++ {
								m := float32(-math.MaxFloat32)
								for i := oy*p.Stride - p.Padding/2; i < oy*p.Stride-p.Padding/2+p.Size; i++ {
									for j := ox*p.Stride - p.Padding/2; j < ox*p.Stride-p.Padding/2+p.Size; j++ {
										if i >= 0 && i < ih && j >= 0 && j < iw {
											m = max(m, x.Data()[(pl*ih+i)*iw+j])
										}
									}
								}
								if got := y.Data()[(pl*oh+oy)*ow+ox]; got != m {
									t.Fatalf("%+v: plane %d (%d, %d) = %v, want %v", p, pl, oy, ox, got, m)
								}
							}
						}
					}
				}
			})
			t.Run("yolo", func(t *testing.T) {
				// 2 anchors of 2 classes: 14 channels.
				l := &yoloNode{cfg: &Yolo{Mask: []int{0, 1}, Classes: 2}, s: shape{14, h, w}}
				x := randTensor(4, nb, 14, h, w)
				y, _ := l.forward([]*tensor.Tensor{x}, nb)
				for i, v := range x.Data() {
					want := v
					if e := (i / (h * w)) % 7; e != 2 && e != 3 {
						want = float32(1 / (1 + math.Exp(-float64(v))))
					}
					if y.Data()[i] != want {
						t.Fatalf("value %d (entry %d) = %v, want %v", i, (i/(h*w))%7, y.Data()[i], want)
					}
				}
			})
		})
	}
}
