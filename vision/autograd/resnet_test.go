package autograd_test

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"govision.dev/vision/autograd"
	"govision.dev/vision/nn"
	"govision.dev/vision/optim"
	"govision.dev/vision/tensor"
)

// A small residual network with batch norm, trained for a few SGD steps
// (Nesterov momentum, weight decay off for biases and batch norms, label
// smoothing) from the same initial weights and on the same batches as
// torch in tools/golden/autograd.py: the loss of every step and the final
// weights and running statistics must match torch's.

// block is torchvision's BasicBlock (He et al. 2015, Fig. 2).
type block struct {
	Conv1      *nn.Conv2d      `nn:"conv1"`
	BN1        *nn.BatchNorm2d `nn:"bn1"`
	Conv2      *nn.Conv2d      `nn:"conv2"`
	BN2        *nn.BatchNorm2d `nn:"bn2"`
	Downsample *nn.Sequential  `nn:"downsample"`
}

// rng draws initial weights that the fixture's state dict replaces.
var rng = rand.New(rand.NewPCG(0, 0))

func newBlock(in, out, stride int) *block {
	b := &block{
		Conv1: nn.NewConv2d(in, out, nn.Kernel(3), nn.ConvOptions{Stride: nn.Stride(stride), Padding: nn.Padding(1), NoBias: true}, rng),
		BN1:   nn.NewBatchNorm2d(out),
		Conv2: nn.NewConv2d(out, out, nn.Kernel(3), nn.ConvOptions{Padding: nn.Padding(1), NoBias: true}, rng),
		BN2:   nn.NewBatchNorm2d(out),
	}
	if stride != 1 || in != out {
		b.Downsample = nn.NewSequential(nn.NewConv2d(in, out, nn.Kernel(1), nn.ConvOptions{Stride: nn.Stride(stride), NoBias: true}, rng),
			nn.NewBatchNorm2d(out))
	}
	return b
}

func (b *block) Forward(*tensor.Tensor) (*tensor.Tensor, error) {
	return nil, errors.New("block: training only")
}

func blockForward(n *autograd.Net, b *block, x *autograd.Var) (*autograd.Var, error) {
	y, err := n.Apply(b.Conv1, x)
	if err == nil {
		y, err = n.Apply(b.BN1, y)
	}
	if err == nil {
		y, err = autograd.ReLU(y)
	}
	if err == nil {
		y, err = n.Apply(b.Conv2, y)
	}
	if err == nil {
		y, err = n.Apply(b.BN2, y)
	}
	s := x
	if err == nil && b.Downsample != nil {
		s, err = n.Apply(b.Downsample, x)
	}
	if err == nil {
		y, err = autograd.Add(y, s)
	}
	if err != nil {
		return nil, err
	}
	return autograd.ReLU(y)
}

type tinyResNet struct {
	Conv1  *nn.Conv2d      `nn:"conv1"`
	BN1    *nn.BatchNorm2d `nn:"bn1"`
	Layer1 *nn.Sequential  `nn:"layer1"`
	Layer2 *nn.Sequential  `nn:"layer2"`
	FC     *nn.Linear      `nn:"fc"`
}

func (m *tinyResNet) Forward(*tensor.Tensor) (*tensor.Tensor, error) {
	return nil, errors.New("tinyResNet: training only")
}

func tinyForward(n *autograd.Net, m *tinyResNet, x *autograd.Var) (*autograd.Var, error) {
	y, err := n.Apply(m.Conv1, x)
	if err == nil {
		y, err = n.Apply(m.BN1, y)
	}
	if err == nil {
		y, err = autograd.ReLU(y)
	}
	if err == nil {
		y, err = n.Apply(m.Layer1, y)
	}
	if err == nil {
		y, err = n.Apply(m.Layer2, y)
	}
	if err == nil {
		y, err = autograd.AdaptiveAvgPool2d(nn.NewAdaptiveAvgPool2d(1, 1), y)
	}
	if err == nil {
		y, err = n.Apply(m.FC, y)
	}
	return y, err
}

type gtensor struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

func (g gtensor) tensor() *tensor.Tensor {
	d := make([]float32, len(g.Data))
	for i, v := range g.Data {
		d[i] = float32(v)
	}
	t, _ := tensor.FromData(g.Shape, d)
	return t
}

func TestGoldenResNetTraining(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "golden", "resnet.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		LR             float64            `json:"lr"`
		Momentum       float64            `json:"momentum"`
		WeightDecay    float64            `json:"weight_decay"`
		LabelSmoothing float64            `json:"label_smoothing"`
		Initial        map[string]gtensor `json:"initial"`
		Batches        []struct {
			X gtensor `json:"x"`
			Y []int   `json:"y"`
		} `json:"batches"`
		Losses []float64          `json:"losses"`
		Final  map[string]gtensor `json:"final"`
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	m := &tinyResNet{
		Conv1:  nn.NewConv2d(3, 8, nn.Kernel(3), nn.ConvOptions{Padding: nn.Padding(1), NoBias: true}, rng),
		BN1:    nn.NewBatchNorm2d(8),
		Layer1: nn.NewSequential(newBlock(8, 8, 1)),
		Layer2: nn.NewSequential(newBlock(8, 16, 2)),
		FC:     nn.NewLinear(16, 5, true, rng),
	}
	sd := map[string]*tensor.Tensor{}
	for k, v := range g.Initial {
		sd[k] = v.tensor()
	}
	if err := nn.LoadStateDict(m, sd); err != nil {
		t.Fatal(err)
	}
	net := autograd.NewNet(m)
	autograd.Register(net, blockForward)
	autograd.Register(net, tinyForward)
	opt, err := optim.NewSGD(optim.Split(net.Params(), g.LR, g.WeightDecay), optim.SGDOptions{Momentum: g.Momentum, Nesterov: true})
	if err != nil {
		t.Fatal(err)
	}
	// Each step's loss within lossTol of torch's, relative: the
	// differences are float32 rounding, compounded over the steps.
	const lossTol = 1e-4
	for step, b := range g.Batches {
		net.ZeroGrad()
		logits, err := net.Forward(autograd.Constant(b.X.tensor()))
		if err != nil {
			t.Fatal(err)
		}
		loss, err := autograd.CrossEntropy(logits, b.Y, autograd.ClassLoss{LabelSmoothing: g.LabelSmoothing})
		if err != nil {
			t.Fatal(err)
		}
		if err := loss.Backward(); err != nil {
			t.Fatal(err)
		}
		opt.Step()
		got, want := float64(loss.Value().Data()[0]), g.Losses[step]
		t.Logf("step %d: loss %.7f, torch %.7f", step+1, got, want)
		if math.Abs(got-want) > lossTol*math.Abs(want) {
			t.Errorf("step %d: loss %.7f, torch %.7f", step+1, got, want)
		}
	}
	final := nn.StateDict(m)
	for k, want := range g.Final {
		got, ok := final[k]
		if !ok {
			t.Errorf("no tensor %s", k)
			continue
		}
		var d, mx float64
		for i, w := range want.Data {
			d = math.Max(d, math.Abs(float64(got.Data()[i])-w))
			mx = math.Max(mx, math.Abs(w))
		}
		if d > 1e-4*mx+1e-7 {
			t.Errorf("%s after %d steps: max difference %.3g (largest value %.3g)", k, len(g.Batches), d, mx)
		}
	}
}
