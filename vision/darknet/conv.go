package darknet

import (
	"math"
	"math/rand/v2"

	"govision.dev/accel"
	"govision.dev/vision/tensor"
)

// The layers with weights: convolutional, connected and local.
//
// Batch norm. darknet normalises with its own formula (src/batchnorm_layer.c,
// normalize_cpu, then scale_bias and add_bias):
//
//	y = scale·(x − mean)/(√variance + .000001) + bias
//
// — the 1e-6 added to the square root, not to the variance as in torch's
// √(var + ε). For inference it is folded into the convolution's epilogue
// (accel.Epilogue's Scale and Shift) as
//
//	y = x·s + (bias − mean·s),   s = scale/(√variance + .000001)
//
// with s and the shift computed in float64 and rounded once: the same
// function, up to float32 rounding. The unfolded values stay in the
// tensors Params returns, so saving writes back what was loaded.

// bnEps is darknet's .000001f, a float constant promoted to double.
var bnEps = float64(float32(.000001))

// foldBN returns darknet's batch norm as a per-channel scale and shift.
func foldBN(scales, mean, variance, biases []float32) (s, t []float32) {
	s = make([]float32, len(scales))
	t = make([]float32, len(scales))
	for i := range s {
		k := float64(scales[i]) / (math.Sqrt(float64(variance[i])) + bnEps)
		s[i] = float32(k)
		t[i] = float32(float64(biases[i]) - float64(mean[i])*k)
	}
	return s, t
}

// fusedAct returns the accel epilogue activation for a, and whether there
// is one (else a runs after the layer).
func fusedAct(a Activation) (accel.Activation, float32, bool) {
	switch a {
	case Linear:
		return accel.ActLinear, 0, true
	case ReLU:
		return accel.ActReLU, 0, true
	case Leaky:
		return accel.ActLeakyReLU, .1, true
	case Logistic:
		return accel.ActSigmoid, 0, true
	}
	return accel.ActLinear, 0, false
}

// batchNorm holds a layer's batch-norm tensors, each [n].
type batchNorm struct {
	scales, mean, variance *tensor.Tensor
}

func newBatchNorm(n int) *batchNorm {
	return &batchNorm{scales: tensor.New(n), mean: tensor.New(n), variance: tensor.New(n)}
}

// init sets darknet's fresh values, except the variances: 1, not 0.
func (b *batchNorm) init() {
	fill(b.scales.Data(), 1)
	clear(b.mean.Data())
	fill(b.variance.Data(), 1)
}

func fill(x []float32, v float32) {
	for i := range x {
		x[i] = v
	}
}

type convNode struct {
	cfg    *Convolutional
	prev   int
	inS, o shape
	*convWeights
}

// convWeights are a convolution's tensors and what is derived from them:
// shared by the networks Resize makes, whose layers differ only in shape.
type convWeights struct {
	biases  *tensor.Tensor // [F]
	bn      *batchNorm     // nil without batch_normalize
	weights *tensor.Tensor // [F, C/groups, size, size]

	ep     accel.Epilogue    // derived by loaded
	post   Activation        // run after the convolution when it cannot fuse
	packed *accel.PackedConv // weights packed for the GEMM, by loaded
}

func (c *convNode) alloc() {
	f := c.cfg.Filters
	c.convWeights = &convWeights{biases: tensor.New(f),
		weights: tensor.New(f, c.inS.c/c.cfg.Groups, c.cfg.Size, c.cfg.Size)}
	if c.cfg.BatchNormalize {
		c.bn = newBatchNorm(f)
	}
}

func (c *convNode) in() []int  { return []int{c.prev} }
func (c *convNode) out() shape { return c.o }

func (c *convNode) params() []Param {
	ps := []Param{{"biases", c.biases}}
	if c.bn != nil {
		ps = append(ps, Param{"scales", c.bn.scales}, Param{"rolling_mean", c.bn.mean}, Param{"rolling_variance", c.bn.variance})
	}
	return append(ps, Param{"weights", c.weights})
}

func (c *convNode) init(rng *rand.Rand) {
	scale := math.Sqrt(2 / float64(c.cfg.Size*c.cfg.Size*c.inS.c/c.cfg.Groups))
	for i := range c.weights.Data() {
		c.weights.Data()[i] = float32(scale * rng.NormFloat64())
	}
	clear(c.biases.Data())
	if c.bn != nil {
		c.bn.init()
	}
}

func (c *convNode) loaded() {
	c.ep = accel.Epilogue{}
	if c.bn != nil {
		c.ep.Scale, c.ep.Shift = foldBN(c.bn.scales.Data(), c.bn.mean.Data(), c.bn.variance.Data(), c.biases.Data())
	} else {
		c.ep.Bias = c.biases.Data()
	}
	act, slope, ok := fusedAct(c.cfg.Activation)
	c.ep.Act, c.ep.Slope, c.post = act, slope, Linear
	if !ok {
		c.post = c.cfg.Activation
	}
	c.packed = accel.PackConv(c.weights.Data(), c.convParams(1))
}

// convParams is the convolution's shape for a batch of nb.
func (c *convNode) convParams(nb int) accel.ConvParams {
	return accel.ConvParams{N: nb, C: c.inS.c, H: c.inS.h, W: c.inS.w, OutC: c.o.c,
		KH: c.cfg.Size, KW: c.cfg.Size, StrideH: c.cfg.Stride, StrideW: c.cfg.Stride,
		PadH: c.cfg.Padding, PadW: c.cfg.Padding, Groups: c.cfg.Groups}
}

func (c *convNode) forward(xs []*tensor.Tensor, nb int) (*tensor.Tensor, error) {
	y := tensor.Get(nb, c.o.c, c.o.h, c.o.w)
	ep := c.ep
	c.packed.Conv2D(y.Data(), xs[0].Data(), c.convParams(nb), &ep)
	activate(y.Data(), c.post)
	return y, nil
}

type connectedNode struct {
	cfg    *Connected
	prev   int
	inputs int
	*connectedWeights
}

// connectedWeights are a connected layer's tensors and what is derived
// from them, shared by the networks Resize makes.
type connectedWeights struct {
	biases  *tensor.Tensor // [O]
	weights *tensor.Tensor // [O, I]
	bn      *batchNorm

	scale, shift []float32 // the folded batch norm, or nil
}

func (c *connectedNode) alloc() {
	c.connectedWeights = &connectedWeights{biases: tensor.New(c.cfg.Output), weights: tensor.New(c.cfg.Output, c.inputs)}
	if c.cfg.BatchNormalize {
		c.bn = newBatchNorm(c.cfg.Output)
	}
}

func (c *connectedNode) in() []int  { return []int{c.prev} }
func (c *connectedNode) out() shape { return shape{c: c.cfg.Output, h: 1, w: 1} }

func (c *connectedNode) params() []Param {
	ps := []Param{{"biases", c.biases}, {"weights", c.weights}}
	if c.bn != nil {
		ps = append(ps, Param{"scales", c.bn.scales}, Param{"rolling_mean", c.bn.mean}, Param{"rolling_variance", c.bn.variance})
	}
	return ps
}

func (c *connectedNode) init(rng *rand.Rand) {
	scale := math.Sqrt(2 / float64(c.inputs))
	for i := range c.weights.Data() {
		c.weights.Data()[i] = float32(scale * (2*rng.Float64() - 1))
	}
	clear(c.biases.Data())
	if c.bn != nil {
		c.bn.init()
	}
}

func (c *connectedNode) loaded() {
	c.scale, c.shift = nil, nil
	if c.bn != nil {
		c.scale, c.shift = foldBN(c.bn.scales.Data(), c.bn.mean.Data(), c.bn.variance.Data(), c.biases.Data())
	}
}

// forward is darknet's forward_connected_layer: y = W·x, then the batch
// norm or the bias, then the activation.
func (c *connectedNode) forward(xs []*tensor.Tensor, nb int) (*tensor.Tensor, error) {
	o := c.cfg.Output
	y := tensor.Get(nb, o, 1, 1)
	d := y.Data()
	accel.Sgemm(false, true, nb, o, c.inputs, 1, xs[0].Data(), c.inputs, c.weights.Data(), c.inputs, 0, d, o)
	b := c.biases.Data()
	for i := range d {
		j := i % o
		if c.scale != nil {
			d[i] = d[i]*c.scale[j] + c.shift[j]
		} else {
			d[i] += b[j]
		}
	}
	activate(d, c.cfg.Activation)
	return y, nil
}

type localNode struct {
	cfg    *Local
	prev   int
	inS, o shape
	*localWeights
}

// localWeights are a local layer's tensors, shared by the networks Resize
// makes (at the same size: they depend on it).
type localWeights struct {
	biases  *tensor.Tensor // [F, OH, OW]
	weights *tensor.Tensor // [OH·OW, F, C·size·size]
}

func (c *localNode) alloc() {
	c.localWeights = &localWeights{biases: tensor.New(c.o.c, c.o.h, c.o.w),
		weights: tensor.New(c.o.h*c.o.w, c.o.c, c.inS.c*c.cfg.Size*c.cfg.Size)}
}

func (c *localNode) in() []int  { return []int{c.prev} }
func (c *localNode) out() shape { return c.o }

func (c *localNode) params() []Param {
	return []Param{{"biases", c.biases}, {"weights", c.weights}}
}

func (c *localNode) init(rng *rand.Rand) {
	scale := math.Sqrt(2 / float64(c.cfg.Size*c.cfg.Size*c.inS.c))
	for i := range c.weights.Data() {
		c.weights.Data()[i] = float32(scale * (2*rng.Float64() - 1))
	}
	clear(c.biases.Data())
}

func (c *localNode) loaded() {}

// forward is darknet's forward_local_layer: at each output position j, the
// image's im2col column j (padded by pad pixels) times that position's
// weight matrix [F, C·size·size], added to the biases, in darknet's order
// of summation; then the activation.
func (c *localNode) forward(xs []*tensor.Tensor, nb int) (*tensor.Tensor, error) {
	locs := c.o.h * c.o.w
	k := c.inS.c * c.cfg.Size * c.cfg.Size
	f := c.o.c
	p := accel.ConvParams{N: 1, C: c.inS.c, H: c.inS.h, W: c.inS.w, OutC: f, KH: c.cfg.Size, KW: c.cfg.Size,
		StrideH: c.cfg.Stride, StrideW: c.cfg.Stride, PadH: c.cfg.Pad, PadW: c.cfg.Pad}
	cols := tensor.Get(k, locs)
	defer cols.Release()
	y := tensor.Get(nb, f, c.o.h, c.o.w)
	w, b := c.weights.Data(), c.biases.Data()
	for n := 0; n < nb; n++ {
		accel.Im2col(cols.Data(), xs[0].Data()[n*c.inS.len():], p)
		col := cols.Data()
		out := y.Data()[n*f*locs : (n+1)*f*locs]
		parallel(locs, f*k, func(lo, hi int) {
			for j := lo; j < hi; j++ {
				wj := w[j*f*k : (j+1)*f*k]
				for oc := 0; oc < f; oc++ {
					row := wj[oc*k : (oc+1)*k]
					sum := b[oc*locs+j]
					for kk, v := range row {
						sum += v * col[kk*locs+j]
					}
					out[oc*locs+j] = sum
				}
			}
		})
	}
	activate(y.Data(), c.cfg.Activation)
	return y, nil
}
