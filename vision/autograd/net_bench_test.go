package autograd

import (
	"math/rand/v2"
	"testing"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// benchNet is a small convolutional network: conv-bn-relu twice, pooling,
// a classifier.
func benchNet() nn.Module {
	rng := rand.New(rand.NewPCG(1, 1))
	return nn.NewSequential(
		nn.NewConv2d(3, 16, nn.Kernel(3), nn.ConvOptions{Padding: nn.Padding(1)}, rng), nn.NewBatchNorm2d(16), nn.ReLU{},
		nn.NewConv2d(16, 32, nn.Kernel(3), nn.ConvOptions{Padding: nn.Padding(1), Stride: nn.Stride(2)}, rng), nn.NewBatchNorm2d(32), nn.ReLU{},
		nn.NewAdaptiveAvgPool2d(1, 1), nn.NewFlatten(), nn.NewLinear(32, 10, true, rng),
	)
}

// BenchmarkFrozenForward compares the module's own Forward with a frozen
// Net's (evaluation mode, nothing requiring a gradient), which should cost
// the same, and with a Net that records (training mode, parameters
// requiring gradients), forward only.
func BenchmarkFrozenForward(b *testing.B) {
	m := benchNet()
	x := tensor.New(8, 3, 32, 32)
	for i := range x.Data() {
		x.Data()[i] = float32(i%17) / 17
	}
	b.Run("module", func(b *testing.B) {
		for b.Loop() {
			y, _ := m.Forward(x)
			y.Release()
		}
		b.ReportMetric(float64(b.N*8)/b.Elapsed().Seconds(), "img/s")
	})
	b.Run("frozen-net", func(b *testing.B) {
		n := NewNet(m)
		n.Train(false)
		n.RequiresGrad(false)
		in := Constant(x)
		for b.Loop() {
			y, _ := n.Forward(in)
			y.Value().Release()
		}
		b.ReportMetric(float64(b.N*8)/b.Elapsed().Seconds(), "img/s")
	})
	b.Run("recording-net", func(b *testing.B) {
		n := NewNet(m)
		in := Constant(x)
		for b.Loop() {
			n.Forward(in)
		}
		b.ReportMetric(float64(b.N*8)/b.Elapsed().Seconds(), "img/s")
	})
}
