package autograd

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// Gradients against PyTorch's autograd, on the fixtures
// tools/golden/autograd.py writes (same inputs, weights and output
// gradients). goldenTol is relative to the largest magnitude of the
// reference tensor: float32 kernels that sum in another order differ from
// torch's by a few units in the last place of the largest terms, far
// below it.
const goldenTol = 1e-4

type goldenTensor struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

func (g goldenTensor) tensor(t *testing.T) *tensor.Tensor {
	t.Helper()
	data := make([]float32, len(g.Data))
	for i, v := range g.Data {
		data[i] = float32(v)
	}
	x, err := tensor.FromData(g.Shape, data)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func (g goldenTensor) ints() []int {
	out := make([]int, len(g.Data))
	for i, v := range g.Data {
		out[i] = int(v)
	}
	return out
}

func readGolden(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// relErr returns max|got − want| / max|want| (the absolute error when
// want is all zero), or +Inf if the sizes differ.
func relErr(got *tensor.Tensor, want goldenTensor) float64 {
	if got == nil || got.Len() != len(want.Data) {
		return math.Inf(1)
	}
	var d, m float64
	for i, w := range want.Data {
		d = math.Max(d, math.Abs(float64(got.Data()[i])-w))
		m = math.Max(m, math.Abs(w))
	}
	if m == 0 {
		return d
	}
	return d / m
}

func checkClose(t *testing.T, what string, got *tensor.Tensor, want goldenTensor, tol float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: missing", what)
		return
	}
	if e := relErr(got, want); !(e <= tol) {
		t.Errorf("%s: relative error %.3g (tolerance %g), shape %v want %v", what, e, tol, got.Shape(), want.Shape)
	}
}

// config reads torch's keyword arguments.
type config map[string]any

func (c config) int(k string, def int) int {
	if v, ok := c[k].(float64); ok {
		return int(v)
	}
	return def
}

func (c config) float(k string, def float64) float64 {
	if v, ok := c[k].(float64); ok {
		return v
	}
	return def
}

func (c config) bool(k string, def bool) bool {
	if v, ok := c[k].(bool); ok {
		return v
	}
	return def
}

// pair reads an int or a two-element list as [H, W].
func (c config) pair(k string, def int) [2]int {
	switch v := c[k].(type) {
	case float64:
		return [2]int{int(v), int(v)}
	case []any:
		return [2]int{int(v[0].(float64)), int(v[1].(float64))}
	}
	return [2]int{def, def}
}

func buildLayer(t *testing.T, layer string, c config) nn.Module {
	t.Helper()
	switch layer {
	case "Conv2d":
		return nn.NewConv2d(c.int("in_channels", 0), c.int("out_channels", 0), c.pair("kernel_size", 0),
			nn.ConvOptions{Stride: c.pair("stride", 1), Padding: c.pair("padding", 0), Dilation: c.pair("dilation", 1),
				Groups: c.int("groups", 1), NoBias: !c.bool("bias", true)}, nil0())
	case "ConvTranspose2d":
		return nn.NewConvTranspose2d(c.int("in_channels", 0), c.int("out_channels", 0), c.pair("kernel_size", 0),
			nn.ConvTransposeOptions{Stride: c.pair("stride", 1), Padding: c.pair("padding", 0), Dilation: c.pair("dilation", 1),
				OutputPadding: c.pair("output_padding", 0), Groups: c.int("groups", 1), NoBias: !c.bool("bias", true)}, nil0())
	case "Linear":
		return nn.NewLinear(c.int("in_features", 0), c.int("out_features", 0), c.bool("bias", true), nil0())
	case "BatchNorm2d":
		b := nn.NewBatchNorm2d(c.int("num_features", 0))
		b.Momentum = float32(c.float("momentum", 0.1))
		b.Eps = float32(c.float("eps", 1e-5))
		return b
	case "MaxPool2d":
		return nn.NewMaxPool2d(c.pair("kernel_size", 0), nn.PoolOptions{Stride: c.pair("stride", 0),
			Padding: c.pair("padding", 0), CeilMode: c.bool("ceil_mode", false)})
	case "AvgPool2d":
		return nn.NewAvgPool2d(c.pair("kernel_size", 0), nn.PoolOptions{Stride: c.pair("stride", 0),
			Padding: c.pair("padding", 0), CeilMode: c.bool("ceil_mode", false), ExcludePad: !c.bool("count_include_pad", true)})
	case "AdaptiveAvgPool2d":
		s := c.pair("output_size", 0)
		return nn.NewAdaptiveAvgPool2d(s[0], s[1])
	case "AdaptiveMaxPool2d":
		s := c.pair("output_size", 0)
		return nn.NewAdaptiveMaxPool2d(s[0], s[1])
	case "ReLU":
		return nn.ReLU{}
	case "ReLU6":
		return nn.ReLU6{}
	case "LeakyReLU":
		return nn.LeakyReLU{Slope: float32(c.float("negative_slope", 0.01))}
	case "Sigmoid":
		return nn.Sigmoid{}
	case "Tanh":
		return nn.Tanh{}
	case "Softmax":
		return nn.NewSoftmax(c.int("dim", 0))
	case "LogSoftmax":
		return nn.NewLogSoftmax(c.int("dim", 0))
	case "Flatten":
		return nn.NewFlatten()
	case "ZeroPad2d":
		p := c["padding"].([]any)
		return nn.NewZeroPad2d(int(p[0].(float64)), int(p[1].(float64)), int(p[2].(float64)), int(p[3].(float64)))
	case "Upsample":
		o := nn.InterpolateOptions{Mode: c["mode"].(string), AlignCorners: c.bool("align_corners", false)}
		if _, ok := c["size"]; ok {
			o.Size = c.pair("size", 0)
		} else {
			s := c.float("scale_factor", 0)
			o.ScaleFactor = [2]float64{s, s}
		}
		return nn.NewUpsample(o)
	}
	t.Fatalf("unknown layer %q", layer)
	return nil
}

func TestGoldenLayers(t *testing.T) {
	var file struct {
		Cases []struct {
			Name         string                  `json:"name"`
			Layer        string                  `json:"layer"`
			Config       config                  `json:"config"`
			Train        bool                    `json:"train"`
			StateDict    map[string]goldenTensor `json:"state_dict"`
			Inputs       []goldenTensor          `json:"inputs"`
			GradOutput   goldenTensor            `json:"grad_output"`
			Output       goldenTensor            `json:"output"`
			GradInputs   []goldenTensor          `json:"grad_inputs"`
			Grads        map[string]goldenTensor `json:"grads"`
			BuffersAfter map[string]goldenTensor `json:"buffers_after"`
		} `json:"cases"`
	}
	readGolden(t, "layers.json", &file)
	if len(file.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range file.Cases {
		t.Run(c.Name, func(t *testing.T) {
			xs := make([]*Var, len(c.Inputs))
			for i, in := range c.Inputs {
				xs[i] = Param(in.tensor(t))
			}
			var (
				y   *Var
				err error
				net *Net
			)
			switch c.Layer {
			case "cat":
				y, err = Concat(xs...)
			case "add":
				y, err = Add(xs[0], xs[1])
			case "channel_scale":
				y, err = ChannelScale(xs[0], xs[1])
			default:
				m := buildLayer(t, c.Layer, c.Config)
				sd := map[string]*tensor.Tensor{}
				for k, v := range c.StateDict {
					sd[k] = v.tensor(t)
				}
				if err := nn.LoadStateDict(m, sd); err != nil {
					t.Fatal(err)
				}
				net = NewNet(m)
				net.Train(c.Train)
				y, err = net.Forward(xs[0])
			}
			if err != nil {
				t.Fatal(err)
			}
			checkClose(t, "output", y.Value(), c.Output, goldenTol)
			if err := y.BackwardWith(c.GradOutput.tensor(t)); err != nil {
				t.Fatal(err)
			}
			for i, g := range c.GradInputs {
				checkClose(t, fmt.Sprintf("input %d gradient", i), xs[i].Grad(), g, goldenTol)
			}
			if net == nil {
				return
			}
			params := map[string]*Var{}
			for _, p := range net.Params() {
				params[p.Name] = p.Var
			}
			for name, g := range c.Grads {
				p, ok := params[name]
				if !ok {
					t.Errorf("no parameter %s", name)
					continue
				}
				checkClose(t, name+" gradient", p.Grad(), g, goldenTol)
			}
			if len(params) != len(c.Grads) {
				t.Errorf("%d parameters, torch has %d", len(params), len(c.Grads))
			}
			sd := nn.StateDict(net.Module())
			for name, b := range c.BuffersAfter {
				checkClose(t, name+" after the forward pass", sd[name], b, goldenTol)
			}
		})
	}
}

func TestGoldenLosses(t *testing.T) {
	var file struct {
		Cases []struct {
			Name       string       `json:"name"`
			Loss       string       `json:"loss"`
			Config     config       `json:"config"`
			Input      goldenTensor `json:"input"`
			Target     goldenTensor `json:"target"`
			GradOutput goldenTensor `json:"grad_output"`
			Output     goldenTensor `json:"output"`
			GradInput  goldenTensor `json:"grad_input"`
		} `json:"cases"`
	}
	readGolden(t, "losses.json", &file)
	for _, c := range file.Cases {
		t.Run(c.Name, func(t *testing.T) {
			x := Param(c.Input.tensor(t))
			red := ReduceMean
			switch c.Config["reduction"] {
			case "sum":
				red = ReduceSum
			case "none":
				red = ReduceNone
			case "batchmean":
				red = ReduceBatchMean
			}
			floats := func(k string) []float32 {
				vs, _ := c.Config[k].([]any)
				if vs == nil {
					return nil
				}
				out := make([]float32, len(vs))
				for i, v := range vs {
					out[i] = float32(v.(float64))
				}
				return out
			}
			cl := ClassLoss{Weight: floats("weight"), IgnoreIndex: c.Config.int("ignore_index", 0),
				LabelSmoothing: c.Config.float("label_smoothing", 0), Reduction: red}
			var (
				y   *Var
				err error
			)
			switch c.Loss {
			case "cross_entropy":
				y, err = CrossEntropy(x, c.Target.ints(), cl)
			case "nll_loss":
				y, err = NLL(x, c.Target.ints(), cl)
			case "binary_cross_entropy_with_logits":
				y, err = BCEWithLogits(x, c.Target.tensor(t), floats("pos_weight"), red)
			case "mse_loss":
				y, err = MSE(x, c.Target.tensor(t), red)
			case "smooth_l1_loss":
				y, err = SmoothL1(x, c.Target.tensor(t), c.Config.float("beta", 1), red)
			case "sigmoid_focal_loss":
				y, err = SigmoidFocal(x, c.Target.tensor(t), c.Config.float("alpha", 0.25), c.Config.float("gamma", 2), red)
			case "kl_div":
				y, err = KLDiv(x, c.Target.tensor(t), red)
			case "distillation":
				y, err = Distillation(x, c.Target.tensor(t), c.Config.float("temperature", 1))
			default:
				t.Fatalf("unknown loss %q", c.Loss)
			}
			if err != nil {
				t.Fatal(err)
			}
			checkClose(t, "loss", y.Value(), c.Output, goldenTol)
			if err := y.BackwardWith(c.GradOutput.tensor(t)); err != nil {
				t.Fatal(err)
			}
			checkClose(t, "gradient", x.Grad(), c.GradInput, goldenTol)
		})
	}
}

// nil0 is a generator for constructors whose draws LoadStateDict
// overwrites.
func nil0() *rand.Rand { return rand.New(rand.NewPCG(0, 0)) }
