package autograd_test

import (
	"fmt"
	"math/rand/v2"

	"govision.dev/vision/autograd"
	"govision.dev/vision/nn"
	"govision.dev/vision/optim"
	"govision.dev/vision/tensor"
)

// A training loop: a Net over an nn model, a loss, Backward, an optimizer
// step.
func ExampleNet() {
	rng := rand.New(rand.NewPCG(1, 2))
	model := nn.NewSequential(
		nn.NewConv2d(1, 4, nn.Kernel(3), nn.ConvOptions{Padding: nn.Padding(1)}, rng),
		nn.NewBatchNorm2d(4), nn.ReLU{},
		nn.NewAdaptiveAvgPool2d(1, 1), nn.NewFlatten(),
		nn.NewLinear(4, 2, true, rng),
	)
	net := autograd.NewNet(model)
	opt, _ := optim.NewSGD(optim.Split(net.Params(), 0.1, 1e-4), optim.SGDOptions{Momentum: 0.9})

	// Two classes: bright images and dark ones.
	x := tensor.New(8, 1, 4, 4)
	labels := make([]int, 8)
	for i := range 8 {
		labels[i] = i % 2
		for j := range 16 {
			x.Data()[i*16+j] = float32(labels[i]) + 0.1*float32(rng.NormFloat64())
		}
	}
	var first, last float32
	for step := range 30 {
		net.ZeroGrad()
		logits, _ := net.Forward(autograd.Constant(x))
		loss, _ := autograd.CrossEntropy(logits, labels, autograd.ClassLoss{})
		loss.Backward()
		opt.Step()
		if step == 0 {
			first = loss.Value().Data()[0]
		}
		last = loss.Value().Data()[0]
	}
	net.Train(false) // evaluation mode; refreshes the folded batch norms
	fmt.Println(last < first/4)
	// Output: true
}
