package classify

import (
	"strconv"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// Network in Network: Lin, Chen and Yan, "Network In Network", ICLR 2014
// (arXiv:1312.4400). Each mlpconv layer (§3.1, Figure 2) is a k×k
// convolution followed by a two-layer perceptron shared across positions,
// that is two 1x1 convolutions, each with ReLU; mlpconv layers are
// separated by poolings, and the classifier is global average pooling
// (§3.2) of the last mlpconv layer's output, one map per class: the
// network has no fully connected layer.
//
// The paper describes the networks in prose (§4: three mlpconv layers for
// CIFAR-10, dropout after the first two); the layers' sizes are those of
// the authors' released Caffe models, whose layer names the tensors carry
// (conv1.weight, cccp1.weight, cccp2.bias, conv2.weight, …; the 1x1 layers
// are Caffe's "cascaded cross channel parametric pooling", cccp). torchvision
// has no NiN. The poolings use ceil_mode, Caffe's output sizes; dropout is
// the identity in inference.

// mlpconvSpec is one mlpconv layer and the pooling after it.
type mlpconvSpec struct {
	k, stride, pad int    // the first convolution
	widths         [3]int // the convolution's and the two 1x1 layers' outputs
	pool           string // "max" or "avg" 3x3/2, or "global" (the classifier)
}

type ninSpec struct {
	layers []mlpconvSpec
}

// ninSpecs are the two networks: the ImageNet model of the authors'
// release (four mlpconv layers, 224×224 input, 1000 maps averaged) and the
// CIFAR-10 model of §4.2 (three mlpconv layers, 32×32 input, 10 maps
// averaged).
var ninSpecs = map[string]ninSpec{
	"nin": {layers: []mlpconvSpec{
		{11, 4, 0, [3]int{96, 96, 96}, "max"},
		{5, 1, 2, [3]int{256, 256, 256}, "max"},
		{3, 1, 1, [3]int{384, 384, 384}, "max"}, // then dropout 0.5
		{3, 1, 1, [3]int{1024, 1024, 1000}, "global"},
	}},
	"nin_cifar10": {layers: []mlpconvSpec{
		{5, 1, 2, [3]int{192, 160, 96}, "max"},  // then dropout 0.5
		{5, 1, 2, [3]int{192, 192, 192}, "avg"}, // then dropout 0.5
		{3, 1, 1, [3]int{192, 192, 10}, "global"},
	}},
}

// ninModels are the zoo's rows for this file.
var ninModels = []entry{
	{
		name:  "nin",
		paper: "Lin et al. 2014, §3 (the authors' ImageNet model: four mlpconv layers, global average pooling)",
		build: func() nn.Module { return newNiN(ninSpecs["nin"]) },
		init:  initTorchDefault,
		weights: Weights{
			// The authors released Caffe weights only.
			Params:     7595176,
			Source:     "Lin et al. 2014 (the ImageNet model of the authors' Caffe release; no PyTorch weights; the count is this network's)",
			Preprocess: imagenetPreprocess(256, 224), Labels: ImageNet,
		},
	},
	{
		name:  "nin_cifar10",
		paper: "Lin et al. 2014, §4.2 (CIFAR-10: three mlpconv layers, global average pooling)",
		build: func() nn.Module { return newNiN(ninSpecs["nin_cifar10"]) },
		init:  initTorchDefault,
		weights: Weights{
			Params: 966986, Top1: 89.59,
			Source:     "Lin et al. 2014, Table 2: NIN + Dropout, 10.41% test error on CIFAR-10 without augmentation (no released PyTorch weights; the count is this network's)",
			Preprocess: cifarPreprocess, Labels: CIFAR10,
		},
	},
}

// NiN is a Network in Network.
//
// Forward is safe for concurrent use.
type NiN struct {
	Layers []*Mlpconv
}

// Mlpconv is one mlpconv layer: Conv (k×k), CCCP1 and CCCP2 (1x1), each
// followed by ReLU, then its pooling.
type Mlpconv struct {
	Conv, CCCP1, CCCP2 *nn.Conv2d
	Pool               string // "max", "avg" or "global"
}

// newNiN lays out s with zero weights.
func newNiN(s ninSpec) *NiN {
	n := &NiN{}
	in := 3
	for _, l := range s.layers {
		n.Layers = append(n.Layers, &Mlpconv{
			Conv:  convHW(in, l.widths[0], sq(l.k), sq(l.stride), sq(l.pad), true),
			CCCP1: convHW(l.widths[0], l.widths[1], sq(1), sq(1), sq(0), true),
			CCCP2: convHW(l.widths[1], l.widths[2], sq(1), sq(1), sq(0), true),
			Pool:  l.pool,
		})
		in = l.widths[2]
	}
	return n
}

// Children names the layers as the Caffe models: conv1, cccp1, cccp2,
// conv2, cccp3, cccp4, ….
func (n *NiN) Children() []nn.Child {
	var cs []nn.Child
	for i, l := range n.Layers {
		cs = append(cs,
			nn.Child{Name: "conv" + strconv.Itoa(i+1), Module: l.Conv},
			nn.Child{Name: "cccp" + strconv.Itoa(2*i+1), Module: l.CCCP1},
			nn.Child{Name: "cccp" + strconv.Itoa(2*i+2), Module: l.CCCP2})
	}
	return cs
}

// The poolings between mlpconv layers (Caffe's ceil_mode sizes); they keep
// no state.
var (
	ninMaxPool = nn.NewMaxPool2d(nn.Kernel(3), nn.PoolOptions{Stride: nn.Stride(2), CeilMode: true})
	ninAvgPool = nn.NewAvgPool2d(nn.Kernel(3), nn.PoolOptions{Stride: nn.Stride(2), CeilMode: true})
)

// Forward maps images x [N, 3, H, W] to logits [N, classes]: the spatial
// means of the last layer's maps.
func (n *NiN) Forward(x *tensor.Tensor) (*tensor.Tensor, error) { return n.forward(x, nil) }

func (n *NiN) forward(x *tensor.Tensor, tap tapFunc) (*tensor.Tensor, error) {
	p := &pipe{tap: tap}
	for i, l := range n.Layers {
		x = runStage(p, "mlpconv"+strconv.Itoa(i+1), l, x)
	}
	if p.err != nil {
		return nil, p.err
	}
	return x.Reshape(x.Dim(0), x.Dim(1)) // [N, classes, 1, 1] → [N, classes]
}

// Forward runs the mlpconv layer and its pooling.
func (l *Mlpconv) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	p := &pipe{}
	x = p.conv(x, l.Conv, nil, relu)
	x = p.conv(x, l.CCCP1, nil, relu)
	x = p.conv(x, l.CCCP2, nil, relu)
	switch l.Pool {
	case "max":
		x = p.run(ninMaxPool, x)
	case "avg":
		x = p.run(ninAvgPool, x)
	default:
		x = p.run(globalAvgPool, x)
	}
	return p.result(x)
}

func (l *Mlpconv) blockMACs(h, w int) (int64, int, int) {
	var t macTally
	for _, c := range []*nn.Conv2d{l.Conv, l.CCCP1, l.CCCP2} {
		m, oh, ow := convMACs(c, h, w)
		t.n += m
		h, w = oh, ow
	}
	if l.Pool == "global" {
		return t.n, 1, 1
	}
	return t.n, poolSize(h, 3, 2, 0, true), poolSize(w, 3, 2, 0, true)
}

// macs counts the multiply-accumulates of the convolutions on an h×w
// image.
func (n *NiN) macs(h, w int) int64 {
	var t macTally
	for _, l := range n.Layers {
		h, w = t.add(l, h, w)
	}
	return t.n
}
