package classify

// AlexNet: A. Krizhevsky, I. Sutskever and G. E. Hinton, "ImageNet
// Classification with Deep Convolutional Neural Networks", NIPS 2012.
//
// alexnet is torchvision's: the single-GPU variant of "One weird trick"
// (Krizhevsky 2014) — 64, 192, 384, 256, 256 filters, no local response
// normalisation, an adaptive average pool to 6x6 — with torchvision's
// names and weights.
//
// alexnet_lrn is the paper's network (§3, Fig. 2): 96 11x11 filters of
// stride 4, 256 5x5, 384, 384 and 256 3x3; the second, fourth and fifth
// convolutions in two groups, one per GPU, while the third sees both
// (§3.5); local response normalisation after the first two convolutions'
// ReLUs (§3.3: k = 2, n = 5, α = 1e-4, β = 0.75) and overlapping 3x3 max
// pools of stride 2 after them and after the fifth (§3.4); then FC-4096,
// FC-4096, FC-1000 with dropout 0.5 (§4.2). Its input is 227x227 (the
// 224 of the paper leaves the first convolution's stride a fraction; every
// reimplementation takes 227). It is laid out as torchvision's
// (features.<i>, classifier.<i>) with an adaptive average pool to 6x6,
// the identity at 227. No published weights use this layout.

import (
	"math/rand/v2"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

var alexnetModels = []entry{
	{
		name:    "alexnet",
		paper:   "Krizhevsky 2014 (\"One weird trick\"), torchvision's AlexNet",
		build:   func() nn.Module { return newAlexNet(1000) },
		init:    initTorchDefault,
		weights: torchvisionWeights["alexnet"],
	},
	{
		name:  "alexnet_lrn",
		paper: "Krizhevsky et al. 2012, §3 and Fig. 2",
		build: func() nn.Module { return newAlexNetLRN(1000) },
		init:  initAlexNetLRN,
		weights: Weights{File: "alexnet_lrn.safetensors", Top1: 59.3, Top5: 81.8,
			Source:     "Krizhevsky et al. 2012, Table 2 (1 CNN: 40.7% top-1, 18.2% top-5 error on ILSVRC-2012 val); no published weights",
			Preprocess: imagenetPreprocess(256, 227), Labels: ImageNet},
	},
}

// AlexNet is torchvision's AlexNet class; alexnet_lrn uses it too, with
// the paper's features.
type AlexNet struct {
	Features   *nn.Sequential `nn:"features"`
	Classifier *nn.Sequential `nn:"classifier"`
}

var (
	alexnetPool    = nn.NewMaxPool2d(nn.Kernel(3), nn.PoolOptions{Stride: nn.Stride(2)})
	alexnetAvgPool = nn.NewAdaptiveAvgPool2d(6, 6)
)

func alexnetClassifier(classes int) *nn.Sequential {
	return nn.NewSequential(
		nn.NewDropout(0.5), newLinear(256*6*6, 4096), relu,
		nn.NewDropout(0.5), newLinear(4096, 4096), relu,
		newLinear(4096, classes),
	)
}

func newAlexNet(classes int) *AlexNet {
	pad := func(p int) nn.ConvOptions { return nn.ConvOptions{Padding: nn.Padding(p)} }
	return &AlexNet{
		Features: nn.NewSequential(
			newConv(3, 64, 11, nn.ConvOptions{Stride: nn.Stride(4), Padding: nn.Padding(2)}), relu, alexnetPool,
			newConv(64, 192, 5, pad(2)), relu, alexnetPool,
			newConv(192, 384, 3, pad(1)), relu,
			newConv(384, 256, 3, pad(1)), relu,
			newConv(256, 256, 3, pad(1)), relu, alexnetPool,
		),
		Classifier: alexnetClassifier(classes),
	}
}

// alexnetLRN is §3.3's normalisation: b = a/(k + α Σ a²)^β over n = 5
// adjacent maps, k = 2, α = 1e-4, β = 0.75. torch's alpha is divided by the
// window size, so it is the paper's α·n.
var alexnetLRN = &nn.LocalResponseNorm{Size: 5, Alpha: 1e-4 * 5, Beta: 0.75, K: 2}

func newAlexNetLRN(classes int) *AlexNet {
	o := func(p, groups int) nn.ConvOptions { return nn.ConvOptions{Padding: nn.Padding(p), Groups: groups} }
	return &AlexNet{
		Features: nn.NewSequential(
			newConv(3, 96, 11, nn.ConvOptions{Stride: nn.Stride(4)}), relu, alexnetLRN, alexnetPool, // conv1, 55x55
			newConv(96, 256, 5, o(2, 2)), relu, alexnetLRN, alexnetPool, // conv2, two groups, 27x27
			newConv(256, 384, 3, o(1, 1)), relu, // conv3 sees both groups, 13x13
			newConv(384, 384, 3, o(1, 2)), relu, // conv4, two groups
			newConv(384, 256, 3, o(1, 2)), relu, alexnetPool, // conv5, two groups, pooled to 6x6
		),
		Classifier: alexnetClassifier(classes),
	}
}

// initAlexNetLRN is §5's initialisation: weights N(0, 0.01²); biases 1 in
// the second, fourth and fifth convolutions and the fully connected layers
// ("to accelerate the early stages of learning"), 0 in the others.
func initAlexNetLRN(net nn.Module, rng *rand.Rand) {
	convs := 0
	for _, m := range nn.Modules(net) {
		switch l := m.(type) {
		case *nn.Conv2d:
			convs++
			normalFill(rng, l.Weight, 0.01)
			if convs == 2 || convs == 4 || convs == 5 {
				constFill(l.Bias, 1)
			} else {
				zeroFill(l.Bias)
			}
		case *nn.Linear:
			normalFill(rng, l.Weight, 0.01)
			constFill(l.Bias, 1)
		}
	}
}

// Forward maps images [N, 3, H, W] to logits [N, classes].
func (a *AlexNet) Forward(x *tensor.Tensor) (*tensor.Tensor, error) { return a.forward(x, nil) }

func (a *AlexNet) forward(x *tensor.Tensor, tap tapFunc) (*tensor.Tensor, error) {
	p := pipe{tap: tap}
	x = p.run(a.Features, x) // five convolutional layers
	p.mark("features", x)
	x = p.run(alexnetAvgPool, x)
	return p.result(p.run(a.Classifier, x)) // three fully connected layers
}

func (a *AlexNet) macs(h, w int) int64 {
	n, _, _ := seqMACs(a.Features, h, w)
	m, _, _ := seqMACs(a.Classifier, 0, 0)
	return n + m
}
