package darknet

import (
	"fmt"
	"path/filepath"
	"testing"

	"govision.dev/vision/tensor"
)

// BenchmarkForward runs Debian's detectors with fresh weights at 416×416,
// batch 1, and reports images per second. go test -bench Forward -cpu 1,2
// gives the one- and two-thread figures (the kernels use GOMAXPROCS).
func BenchmarkForward(b *testing.B) {
	needDebianCfgs(b)
	for _, name := range []string{"yolov3-tiny", "yolov3"} {
		b.Run(fmt.Sprintf("%s=416", name), func(b *testing.B) {
			n, err := New(filepath.Join(debianCfgs, name+".cfg"), WithSize(416, 416))
			if err != nil {
				b.Fatal(err)
			}
			x := tensor.New(1, 3, 416, 416)
			for i := range x.Data() {
				x.Data()[i] = float32(i%255) / 255
			}
			b.ResetTimer()
			for b.Loop() {
				outs, err := n.Forward(x)
				if err != nil {
					b.Fatal(err)
				}
				for _, o := range outs {
					o.Release()
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "img/s")
		})
	}
}

// BenchmarkLoad reads the committed yolov3-tiny fixture (cfg and weights).
func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := Load(filepath.Join(goldenDir, "yolov3-tiny.cfg"), filepath.Join(goldenDir, "yolov3-tiny.weights")); err != nil {
			b.Fatal(err)
		}
	}
}
