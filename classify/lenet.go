package classify

// LeNet-5: Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-Based
// Learning Applied to Document Recognition", Proc. IEEE 86(11), 1998,
// §II.B and Fig. 2.
//
// The paper's network, layer by layer, on a 32x32 input (an MNIST digit,
// 28x28, centred in a 32x32 field; background −0.1, ink 1.175):
//
//	C1  6 feature maps 28x28, 5x5 convolution          156 parameters
//	S2  6 maps 14x14: the sum of each 2x2 window times a trainable
//	    coefficient plus a trainable bias                12
//	C3  16 maps 10x10, 5x5 convolution over the subsets
//	    of S2's maps given by Table I                   1,516
//	S4  16 maps 5x5, as S2                               32
//	C5  120 maps 1x1, 5x5 convolution over all of S4    48,120
//	F6  84 units, fully connected                       10,164
//	    ------------------------------------------------------
//	                                                    60,000
//
// Every layer up to F6 passes its weighted sums through the squashing
// function f(a) = A·tanh(S·a), A = 1.7159, S = 2/3 (§II.B, Appendix A).
// The output layer has one Euclidean RBF unit per class, y_i = Σ_j (x_j −
// w_ij)², whose parameters are fixed: w_i is a stylised 7x12 bitmap of
// digit i, +1 for ink and −1 for background (Fig. 3). The class is the unit
// of the smallest y_i, so the logits are −y_i. The 60,000 trainable
// parameters are the paper's figure ("340,908 connections, but only
// 60,000 trainable free parameters", §II.B); the RBF centres (840 values)
// are a buffer, not parameters. The bitmaps here are our rendering of
// Fig. 3's style: the paper does not list its 7x12 bitmaps.
//
// lenet_train.go holds the network's differentiable form (RegisterLeNet5),
// with which cmd/train trained the weights the package embeds
// (weights/lenet5.safetensors; Model.LoadEmbedded).

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

var lenetModels = []entry{{
	name:  "lenet5",
	paper: "LeCun et al. 1998, §II.B, Fig. 2 and Table I",
	build: func() nn.Module { return newLeNet5() },
	init:  initLeNet5,
	// govision's own weights, embedded: the last checkpoint of
	//
	//	go run ./cmd/vision train --model lenet5 --data mnist --seed 1
	//
	// (cmd/train's DefaultConfig: 10 epochs of batch 64, Adam at 2e-3 on a
	// cosine schedule, the loss at temperature 30, digits shifted by up to
	// 2 pixels), runs/train/<n>/weights/last.safetensors copied as it is
	// to weights/lenet5.safetensors. The run writes these bytes at
	// --threads 1 and 2 alike (the sums run in a fixed order whatever the
	// thread count) and measures 99.18% on MNIST's 10,000 test digits
	// (0.84% error; the paper: 0.95% without distortions, §III.C).
	weights: Weights{File: "lenet5.safetensors", Embedded: true, Params: 60_000,
		SHA256: "c4d720df6262dda7f4e357f102a66137f7821418895948070b5ade2a8675d936",
		Top1:   99.18,
		Source: "govision: the last checkpoint of `vision train --model lenet5 --data mnist --seed 1`, " +
			"on MNIST's test set (the paper, LeCun et al. 1998, §III.C: 0.95% error without distortions)",
		// An MNIST digit: light ink on black, 28x28, centred in 32x32; the
		// normalisation maps black to −0.1 and white to 1.175 (§II.B).
		Preprocess: Preprocess{Resize: 28, Crop: 28, Pad: 2, Gray: true,
			Mean: [3]float32{0.1 / 1.275}, Std: [3]float32{1 / 1.275}},
		Labels:      MNIST,
		Temperature: 30},
}}

// lenetTable is Table I of the paper: the S2 feature maps each C3 feature
// map combines. The first six take three contiguous maps, the next six
// four contiguous maps, the next three four discontinuous ones, the last
// all six.
var lenetTable = [16][]int{
	{0, 1, 2}, {1, 2, 3}, {2, 3, 4}, {3, 4, 5}, {0, 4, 5}, {0, 1, 5},
	{0, 1, 2, 3}, {1, 2, 3, 4}, {2, 3, 4, 5}, {0, 3, 4, 5}, {0, 1, 4, 5}, {0, 1, 2, 5},
	{0, 1, 3, 4}, {1, 2, 4, 5}, {0, 2, 3, 5},
	{0, 1, 2, 3, 4, 5},
}

// lenetBitmaps are the RBF centres: 7x12 bitmaps of the digits, '#' +1,
// '.' −1.
var lenetBitmaps = [10]string{
	"..###.. .#...#. #.....# #.....# #.....# #.....# #.....# #.....# #.....# .#...#. ..###.. .......",
	"...#... ..##... .#.#... ...#... ...#... ...#... ...#... ...#... ...#... ...#... .#####. .......",
	".#####. #.....# ......# ......# .....#. ....#.. ...#... ..#.... .#..... #...... ####### .......",
	".#####. #.....# ......# ......# ..####. ......# ......# ......# ......# #.....# .#####. .......",
	"....##. ...#.#. ..#..#. .#...#. #....#. #....#. ####### .....#. .....#. .....#. .....#. .......",
	"####### #...... #...... #...... ######. ......# ......# ......# ......# #.....# .#####. .......",
	"..####. .#..... #...... #...... ######. #.....# #.....# #.....# #.....# #.....# .#####. .......",
	"####### ......# .....#. .....#. ....#.. ....#.. ...#... ...#... ..#.... ..#.... ..#.... .......",
	".#####. #.....# #.....# #.....# .#####. #.....# #.....# #.....# #.....# #.....# .#####. .......",
	".#####. #.....# #.....# #.....# #.....# .###### ......# ......# ......# .....#. .####.. .......",
}

// LeNet5 is the paper's LeNet-5.
type LeNet5 struct {
	C1     *nn.Conv2d   `nn:"c1"`
	S2     *Subsampling `nn:"s2"`
	C3     *PartialConv `nn:"c3"`
	S4     *Subsampling `nn:"s4"`
	C5     *nn.Conv2d   `nn:"c5"`
	F6     *nn.Linear   `nn:"f6"`
	Output *RBF         `nn:"output"`
}

func newLeNet5() *LeNet5 {
	c3 := &PartialConv{Table: lenetTable[:]}
	for _, in := range lenetTable {
		c3.Maps = append(c3.Maps, newConv(len(in), 1, 5, nn.ConvOptions{}))
	}
	rbf := &RBF{Weight: tensor.New(10, 84)}
	for i, bm := range lenetBitmaps {
		for j, ch := range strings.ReplaceAll(bm, " ", "") {
			rbf.Weight.Data()[i*84+j] = map[rune]float32{'#': 1, '.': -1}[ch]
		}
	}
	return &LeNet5{
		C1: newConv(1, 6, 5, nn.ConvOptions{}), S2: newSubsampling(6),
		C3: c3, S4: newSubsampling(16),
		C5: newConv(16, 120, 5, nn.ConvOptions{}), F6: newLinear(120, 84),
		Output: rbf,
	}
}

// initLeNet5 draws every trainable weight and bias uniformly in
// ±2.4/F_i, F_i the fan-in of the unit it belongs to (Appendix A).
func initLeNet5(net nn.Module, rng *rand.Rand) {
	l := net.(*LeNet5)
	fill := func(f int, ts ...*tensor.Tensor) {
		for _, t := range ts {
			uniformFill(rng, t, 2.4/float64(f))
		}
	}
	fill(25, l.C1.Weight, l.C1.Bias)
	fill(4, l.S2.Weight, l.S2.Bias)
	for _, m := range l.C3.Maps {
		fill(fanIn(m.Weight), m.Weight, m.Bias)
	}
	fill(4, l.S4.Weight, l.S4.Bias)
	fill(400, l.C5.Weight, l.C5.Bias)
	fill(120, l.F6.Weight, l.F6.Bias)
}

// Forward maps digits [N, 1, 32, 32] to logits [N, 10], the negated RBF
// outputs.
func (l *LeNet5) Forward(x *tensor.Tensor) (*tensor.Tensor, error) { return l.forward(x, nil) }

func (l *LeNet5) forward(x *tensor.Tensor, tap tapFunc) (*tensor.Tensor, error) {
	p := pipe{tap: tap}
	x = p.squash(p.run(l.C1, x)) // C1: 6@28x28
	p.mark("c1", x)
	x = p.squash(p.run(l.S2, x)) // S2: 6@14x14
	p.mark("s2", x)
	x = p.squash(p.run(l.C3, x)) // C3: 16@10x10
	p.mark("c3", x)
	x = p.squash(p.run(l.S4, x)) // S4: 16@5x5
	p.mark("s4", x)
	x = p.squash(p.run(l.C5, x)) // C5: 120@1x1
	p.mark("c5", x)
	x = p.squash(p.run(l.F6, x)) // F6: 84
	p.mark("f6", x)
	return p.result(p.run(l.Output, x)) // output: 10 RBF units
}

func (l *LeNet5) macs(h, w int) int64 {
	n, h, w := convMACs(l.C1, h, w)
	h, w = h/2, w/2
	for _, m := range l.C3.Maps {
		c, _, _ := convMACs(m, h, w)
		n += c
	}
	h, w = (h-4)/2, (w-4)/2
	c, _, _ := convMACs(l.C5, h, w)
	return n + c + int64(l.F6.In*l.F6.Out) + int64(l.Output.Weight.Len())
}

// squash applies f(a) = 1.7159·tanh(2a/3) in place (Appendix A).
func (p *pipe) squash(x *tensor.Tensor) *tensor.Tensor {
	if p.err != nil {
		return nil
	}
	d := x.Data()
	for i, v := range d {
		d[i] = float32(1.7159 * math.Tanh(2.0/3.0*float64(v)))
	}
	return x
}

// Subsampling is LeNet's subsampling layer before its squashing: each
// output is the sum of a 2x2 window of its map times the map's trainable
// coefficient, plus the map's trainable bias (§II.B, S2).
type Subsampling struct {
	Weight *tensor.Tensor `nn:"weight"` // [C] coefficients
	Bias   *tensor.Tensor `nn:"bias"`   // [C]
}

func newSubsampling(c int) *Subsampling {
	return &Subsampling{Weight: tensor.New(c), Bias: tensor.New(c)}
}

// Forward maps x [N, C, H, W] to [N, C, H/2, W/2] (a last odd row or
// column is dropped).
func (s *Subsampling) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	c := s.Weight.Len()
	if x == nil || x.Dims() != 4 || x.Dim(1) != c || x.Dim(2) < 2 || x.Dim(3) < 2 {
		var sh []int
		if x != nil {
			sh = x.Shape()
		}
		return nil, fmt.Errorf("%w: Subsampling: input %v, want [N, %d, H ≥ 2, W ≥ 2]", nn.ErrShape, sh, c)
	}
	n, h, w := x.Dim(0), x.Dim(2), x.Dim(3)
	oh, ow := h/2, w/2
	y := tensor.New(n, c, oh, ow)
	src, dst := x.Data(), y.Data()
	for i := 0; i < n*c; i++ {
		k, b := s.Weight.Data()[i%c], s.Bias.Data()[i%c]
		in, out := src[i*h*w:], dst[i*oh*ow:]
		for r := 0; r < oh; r++ {
			for q := 0; q < ow; q++ {
				a := in[2*r*w+2*q:]
				sum := a[0] + a[1] + a[w] + a[w+1]
				out[r*ow+q] = k*sum + b
			}
		}
	}
	return y, nil
}

// PartialConv is a convolution whose output maps each see a subset of the
// input maps (LeNet-5's C3, Table I): map j convolves the input maps
// Table[j] with its own kernel Maps[j] (in channels len(Table[j]), one
// output).
type PartialConv struct {
	Maps  []*nn.Conv2d // named by index: c3.0.weight, …
	Table [][]int
}

// Children names the maps' convolutions "0", "1", … (nn.Parent).
func (pc *PartialConv) Children() []nn.Child {
	cs := make([]nn.Child, len(pc.Maps))
	for i, m := range pc.Maps {
		cs[i] = nn.Child{Name: strconv.Itoa(i), Module: m}
	}
	return cs
}

// Forward computes each map from its inputs and joins them [N, len(Maps),
// OH, OW].
func (pc *PartialConv) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	if x == nil || x.Dims() != 4 {
		return nil, fmt.Errorf("%w: PartialConv: input must be [N, C, H, W]", nn.ErrShape)
	}
	n, c, h, w := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	outs := make([]*tensor.Tensor, len(pc.Maps))
	for j, m := range pc.Maps {
		in := tensor.New(n, len(pc.Table[j]), h, w)
		for i := 0; i < n; i++ {
			for k, ch := range pc.Table[j] {
				if ch >= c {
					return nil, fmt.Errorf("%w: PartialConv: input %v lacks map %d", nn.ErrShape, x.Shape(), ch)
				}
				copy(in.Data()[(i*len(pc.Table[j])+k)*h*w:][:h*w], x.Data()[(i*c+ch)*h*w:][:h*w])
			}
		}
		y, err := m.Forward(in)
		if err != nil {
			return nil, fmt.Errorf("map %d: %w", j, err)
		}
		outs[j] = y
	}
	return nn.Concat(outs...)
}

// RBF is LeNet-5's output layer: one Euclidean radial basis function unit
// per class, y_i = Σ_j (x_j − w_ij)² (Eq. 7), returned negated as logits
// (the nearest centre scores highest). Its centres are fixed, a buffer.
type RBF struct {
	Weight *tensor.Tensor `nn:"weight,buffer"` // [classes, inputs]
}

// Forward maps x [N, inputs] (or [N, inputs, 1, 1]) to [N, classes].
func (r *RBF) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	k, in := r.Weight.Dim(0), r.Weight.Dim(1)
	if x == nil || x.Dims() < 1 || x.Dim(0) < 1 || x.Len() != x.Dim(0)*in {
		return nil, fmt.Errorf("%w: RBF: input must be [N, %d]", nn.ErrShape, in)
	}
	n := x.Dim(0)
	y := tensor.New(n, k)
	w := r.Weight.Data()
	for i := 0; i < n; i++ {
		xi := x.Data()[i*in : (i+1)*in]
		for c := 0; c < k; c++ {
			var d float32
			for j, v := range xi {
				e := v - w[c*in+j]
				d += e * e
			}
			y.Data()[i*k+c] = -d
		}
	}
	return y, nil
}
