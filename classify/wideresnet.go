package classify

// Wide ResNet: S. Zagoruyko and N. Komodakis, "Wide Residual Networks",
// BMVC 2016 (arXiv:1605.07146).
//
// WRN-d-k on CIFAR (Table 1): a 3x3 convolution of 16 filters, then three
// groups of N = (d−4)/6 pre-activation basic blocks B(3,3) of 16k, 32k and
// 64k filters on 32x32, 16x16 and 8x8 maps, BN → ReLU, global average
// pooling and a linear layer. Blocks are He et al. 2016b's full
// pre-activation units (preact.go): the shortcut of a block that widens or
// strides is a 1x1 convolution on the pre-activated input, as in the
// authors' code. Dropout between a block's convolutions, an option of the
// paper (§2.4), is the identity at inference and is left out.
//
// wide_resnet50_2 and wide_resnet101_2 are torchvision's ImageNet
// counterparts: ResNet-50 and ResNet-101 bottlenecks twice as wide inside
// (the paper's §4 ImageNet experiments widen the bottleneck's 3x3), with
// torchvision's names and weights.

import "govision.dev/vision/nn"

// torchvision's rows of the ResNet class, widthPerGroup 64·k.
var wideResNetSpecs = map[string]resnetSpec{
	"wide_resnet50_2":  {block: bottleneck, layers: [4]int{3, 4, 6, 3}, widthPerGroup: 128},
	"wide_resnet101_2": {block: bottleneck, layers: [4]int{3, 4, 23, 3}, widthPerGroup: 128},
}

// wrnSpec is WRN-depth-k.
type wrnSpec struct{ depth, k int }

// Zagoruyko & Komodakis 2016, Table 4 (CIFAR-10).
var wrnSpecs = map[string]wrnSpec{
	"wrn_16_8":  {depth: 16, k: 8},
	"wrn_28_10": {depth: 28, k: 10},
	"wrn_40_4":  {depth: 40, k: 4},
}

// wrnTop1 is 100 − the CIFAR-10 test error of Table 4 (the networks
// without dropout).
var wrnTop1 = map[string]float64{"wrn_16_8": 95.73, "wrn_28_10": 96.00, "wrn_40_4": 95.47}

var wideResNetModels = func() []entry {
	var t []entry
	for name, s := range wideResNetSpecs {
		t = append(t, resnetEntry(name, "Zagoruyko & Komodakis 2016, §4 (torchvision's ImageNet Wide ResNet)", s))
	}
	for name, s := range wrnSpecs {
		t = append(t, entry{
			name:  name,
			paper: "Zagoruyko & Komodakis 2016, Table 1 (CIFAR-10)",
			build: func() nn.Module { return newWideResNet(s, 10) },
			init:  initResNet,
			weights: Weights{File: name + ".safetensors", Top1: wrnTop1[name],
				Source:     "Zagoruyko & Komodakis 2016, Table 4 (CIFAR-10 test error); no published weights",
				Preprocess: cifarPreprocess, Labels: CIFAR10},
		})
	}
	return t
}()

// newWideResNet returns WRN-d-k on CIFAR: a pre-activation ResNet of basic
// blocks (d−4)/6 per group, widths 16k, 32k, 64k.
func newWideResNet(s wrnSpec, classes int) *PreActResNet {
	n := (s.depth - 4) / 6
	return newPreActResNet(preactSpec{block: basic, layers: []int{n, n, n},
		widths: []int{16 * s.k, 32 * s.k, 64 * s.k}, cifar: true}, classes)
}
