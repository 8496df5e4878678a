package classify

// VGG: K. Simonyan and A. Zisserman, "Very Deep Convolutional Networks for
// Large-Scale Image Recognition", ICLR 2015 (arXiv:1409.1556).
//
// Configurations A, B, D and E of Table 1 (VGG-11, 13, 16, 19): stacks of
// 3x3 convolutions (stride 1, padding 1) with ReLU, five 2x2 max pools of
// stride 2, then FC-4096, FC-4096, FC-1000 with dropout. The "_bn"
// variants put a batch norm after each convolution, as torchvision does
// (not in the paper). torchvision's layout: features.<i> indexes the
// convolution stack (convolution, [batch norm,] ReLU, …, max pool), an
// adaptive average pool to 7x7 lets other input sizes through (the
// identity at 224), and classifier.<i> the three linear layers.

import (
	"math"
	"math/rand/v2"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// pool marks a 2x2 max pool in a VGG configuration.
const pool = 0

// Simonyan & Zisserman 2015, Table 1: filters of each 3x3 convolution,
// pool for a max pool.
var (
	vggA = []int{64, pool, 128, pool, 256, 256, pool, 512, 512, pool, 512, 512, pool}
	vggB = []int{64, 64, pool, 128, 128, pool, 256, 256, pool, 512, 512, pool, 512, 512, pool}
	vggD = []int{64, 64, pool, 128, 128, pool, 256, 256, 256, pool, 512, 512, 512, pool, 512, 512, 512, pool}
	vggE = []int{64, 64, pool, 128, 128, pool, 256, 256, 256, 256, pool, 512, 512, 512, 512, pool, 512, 512, 512, 512, pool}
)

// vggSpec is a row: a configuration, with or without batch norm.
type vggSpec struct {
	cfg       []int
	batchNorm bool
}

var vggSpecs = map[string]vggSpec{
	"vgg11": {cfg: vggA}, "vgg11_bn": {cfg: vggA, batchNorm: true},
	"vgg13": {cfg: vggB}, "vgg13_bn": {cfg: vggB, batchNorm: true},
	"vgg16": {cfg: vggD}, "vgg16_bn": {cfg: vggD, batchNorm: true},
	"vgg19": {cfg: vggE}, "vgg19_bn": {cfg: vggE, batchNorm: true},
}

var vggModels = func() []entry {
	var t []entry
	for name, s := range vggSpecs {
		t = append(t, entry{
			name:    name,
			paper:   "Simonyan & Zisserman 2015, Table 1",
			build:   func() nn.Module { return newVGG(s, 4096, 1000) },
			init:    initVGG,
			weights: torchvisionWeights[name],
		})
	}
	return t
}()

// VGG is torchvision's VGG.
type VGG struct {
	Features   *nn.Sequential `nn:"features"`
	Classifier *nn.Sequential `nn:"classifier"`
}

var (
	vggPool    = nn.NewMaxPool2d(nn.Kernel(2), nn.PoolOptions{})
	vggAvgPool = nn.NewAdaptiveAvgPool2d(7, 7)
)

// newVGG builds the configuration with hidden units in each of the first
// two linear layers (4096 in the paper).
func newVGG(s vggSpec, hidden, classes int) *VGG {
	f := nn.NewSequential()
	in := 3
	for _, v := range s.cfg {
		if v == pool {
			f.Append(vggPool)
			continue
		}
		f.Append(newConv(in, v, 3, nn.ConvOptions{Padding: nn.Padding(1)}))
		if s.batchNorm {
			f.Append(nn.NewBatchNorm2d(v))
		}
		f.Append(relu)
		in = v
	}
	c := nn.NewSequential(
		newLinear(in*7*7, hidden), relu, nn.NewDropout(0.5),
		newLinear(hidden, hidden), relu, nn.NewDropout(0.5),
		newLinear(hidden, classes),
	)
	return &VGG{Features: f, Classifier: c}
}

// Forward maps images [N, 3, H, W] (H, W ≥ 32) to logits [N, classes].
func (v *VGG) Forward(x *tensor.Tensor) (*tensor.Tensor, error) { return v.forward(x, nil) }

func (v *VGG) forward(x *tensor.Tensor, tap tapFunc) (*tensor.Tensor, error) {
	p := pipe{tap: tap}
	x = p.run(v.Features, x) // the convolutions of Table 1 and five max pools
	p.mark("features", x)
	x = p.run(vggAvgPool, x)
	return p.result(p.run(v.Classifier, x)) // FC-4096, FC-4096, FC-1000
}

func (v *VGG) macs(h, w int) int64 {
	n, _, _ := seqMACs(v.Features, h, w)
	m, _, _ := seqMACs(v.Classifier, 0, 0)
	return n + m
}

// initVGG is torchvision's VGG initialisation: convolutions
// kaiming_normal_(mode="fan_out", nonlinearity="relu") with zero bias,
// batch norms γ = 1, β = 0, linear layers N(0, 0.01²) with zero bias.
func initVGG(net nn.Module, rng *rand.Rand) {
	for _, m := range nn.Modules(net) {
		switch l := m.(type) {
		case *nn.Conv2d:
			normalFill(rng, l.Weight, math.Sqrt(2/float64(fanOut(l.Weight))))
			zeroFill(l.Bias)
		case *nn.Linear:
			normalFill(rng, l.Weight, 0.01)
			zeroFill(l.Bias)
		}
	}
}

// seqMACs counts the convolutions and linear layers of a Sequential on an
// h×w input, following the size through its max pools, and returns the
// output size.
func seqMACs(s *nn.Sequential, h, w int) (int64, int, int) {
	var n int64
	for _, c := range s.Children() {
		switch l := c.Module.(type) {
		case *nn.Conv2d:
			var m int64
			m, h, w = convMACs(l, h, w)
			n += m
		case *nn.MaxPool2d:
			h = poolSize(h, l.KernelH, l.StrideH, l.PadH, l.CeilMode)
			w = poolSize(w, l.KernelW, l.StrideW, l.PadW, l.CeilMode)
		case *nn.Linear:
			n += int64(l.In * l.Out)
		}
	}
	return n, h, w
}
