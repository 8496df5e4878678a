package classify

import (
	"fmt"
	"math"
	"runtime"
	"testing"

	"govision.dev/accel"
	"govision.dev/vision/tensor"
)

// benchModels are the models bench/classify times against PyTorch (issue
// 4's list).
var benchModels = []string{"resnet50", "vgg16", "densenet121", "inception_v3", "resnext50_32x4d"}

// BenchmarkForward times Model.Forward on one image of the model's default
// size (299×299 for inception_v3, else 224×224) on 1 and 2 threads, with
// New's fresh weights (the work does not depend on the values), its
// logits released after each call. It reports ms per image, img/s and
// GFLOP/s (2 × Describe's multiply-accumulates); `go run ./bench/classify`
// puts the same numbers beside PyTorch's. Skipped under -short: each model
// takes seconds to draw and hundreds of MB.
func BenchmarkForward(b *testing.B) {
	if testing.Short() {
		b.Skip("-short: full-size models")
	}
	for _, name := range benchModels {
		b.Run("model="+name, func(b *testing.B) {
			m, err := New(name)
			if err != nil {
				b.Fatal(err)
			}
			info, err := Describe(name)
			if err != nil {
				b.Fatal(err)
			}
			s := m.Weights().Preprocess.Size()
			x := tensor.New(1, 3, s, s)
			for i := range x.Data() {
				x.Data()[i] = float32(math.Sin(float64(i)))
			}
			for _, t := range []int{1, 2} {
				b.Run(fmt.Sprintf("threads=%d", t), func(b *testing.B) {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(t))
					defer accel.SetThreads(0)
					accel.SetThreads(t)
					y, err := m.Forward(x) // untimed: draws the weights, fills the pools
					if err != nil {
						b.Fatal(err)
					}
					y.Release()
					for b.Loop() {
						y, err := m.Forward(x)
						if err != nil {
							b.Fatal(err)
						}
						y.Release()
					}
					perOp := b.Elapsed().Seconds() / float64(b.N)
					b.ReportMetric(perOp*1e3, "ms")
					b.ReportMetric(1/perOp, "img/s")
					b.ReportMetric(2*float64(info.MACs)/perOp/1e9, "GFLOP/s")
				})
			}
		})
	}
}
