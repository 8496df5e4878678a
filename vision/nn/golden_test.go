package nn

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"govision.dev/vision/tensor"
)

// The golden fixtures in testdata/golden/*.json are written by
// tools/golden/nn_layers.py with PyTorch (see its doc for the format).
// Each case builds our layer from torch's keyword arguments, loads torch's
// state dict into it by name with LoadStateDict (strict, so every key and
// shape is checked), runs it on torch's input and compares with torch's
// output.

// goldenTol bounds the difference between our outputs and torch's:
//
//	|got − want| ≤ goldenTol · max(1, |want|)
//
// that is, relative for values above 1 and absolute below. The layers
// compute the same formulas as torch in float32, but sum in other orders
// (packed GEMM blocks, separable pooling, float64 accumulators) and round
// exp, pow and the bilinear weights differently, each worth a few units of
// float32's 6e-8. A sum of k terms of size ≲ 1 then differs by ≲ k·6e-8
// of the terms' size: 2e-6 for the 300-term sums of the largest fixture
// (a 7x7 kernel over 3 channels), 1e-5 leaves room for the chained layers
// of the Sequential cases. A value near 0 obtained by cancellation carries
// the absolute error of its terms, not a relative one, hence max(1, ·).
const goldenTol = 1e-5

// within reports whether got is within goldenTol of want.
func within(got, want float32) bool {
	return math.Abs(float64(got)-float64(want)) <= goldenTol*max(1, math.Abs(float64(want)))
}

type goldenTensor struct {
	Shape []int     `json:"shape"`
	Data  []float32 `json:"data"`
}

func (g goldenTensor) tensor(t *testing.T) *tensor.Tensor {
	t.Helper()
	x, err := tensor.FromData(g.Shape, slices.Clone(g.Data))
	if err != nil {
		t.Fatalf("fixture tensor: %v", err)
	}
	return x
}

type goldenCase struct {
	Name      string                  `json:"name"`
	Layer     string                  `json:"layer"`
	Config    json.RawMessage         `json:"config"`
	StateDict map[string]goldenTensor `json:"state_dict"`
	Inputs    []goldenTensor          `json:"inputs"`
	Outputs   []goldenTensor          `json:"outputs"`
	Indices   *goldenTensor           `json:"indices"`
}

type goldenFile struct {
	Generator string       `json:"generator"`
	Torch     string       `json:"torch"`
	Cases     []goldenCase `json:"cases"`
}

// pair decodes torch's int-or-pair arguments (kernel_size=3 or (3, 2)).
type pair [2]int

func (p *pair) UnmarshalJSON(b []byte) error {
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		*p = pair{n, n}
		return nil
	}
	var a [2]int
	err := json.Unmarshal(b, &a)
	*p = a
	return err
}

// fpair decodes a float-or-pair scale_factor.
type fpair [2]float64

func (p *fpair) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err == nil {
		*p = fpair{f, f}
		return nil
	}
	var a [2]float64
	err := json.Unmarshal(b, &a)
	*p = a
	return err
}

func orPair(p *pair) [2]int {
	if p == nil {
		return [2]int{}
	}
	return *p
}

// built is a layer made from a fixture: the module that receives the state
// dict (nil for the functional operations) and how to run it.
type built struct {
	module Module
	run    func(in []*tensor.Tensor) (*tensor.Tensor, *Indices, error)
}

func forward(m Module) built {
	return built{module: m, run: func(in []*tensor.Tensor) (*tensor.Tensor, *Indices, error) {
		y, err := m.Forward(in[0])
		return y, nil, err
	}}
}

// indicesOf converts a fixture's index tensor (as numbers) to Indices.
func indicesOf(x *tensor.Tensor) (*Indices, error) {
	s := x.Shape()
	if len(s) != 4 {
		return nil, fmt.Errorf("indices %v, want 4 dimensions", s)
	}
	ind := &Indices{Shape: [4]int(s), Data: make([]int32, x.Len())}
	for i, v := range x.Data() {
		ind.Data[i] = int32(v)
	}
	return ind, nil
}

// builders make each fixture layer from torch's keyword arguments.
var builders = map[string]func(cfg json.RawMessage, rng *rand.Rand) (built, error){
	"Conv2d": func(cfg json.RawMessage, rng *rand.Rand) (built, error) {
		var c struct {
			In       int   `json:"in_channels"`
			Out      int   `json:"out_channels"`
			Kernel   pair  `json:"kernel_size"`
			Stride   *pair `json:"stride"`
			Padding  *pair `json:"padding"`
			Dilation *pair `json:"dilation"`
			Groups   int   `json:"groups"`
			Bias     *bool `json:"bias"`
		}
		if err := json.Unmarshal(cfg, &c); err != nil {
			return built{}, err
		}
		return forward(NewConv2d(c.In, c.Out, c.Kernel, ConvOptions{
			Stride: orPair(c.Stride), Padding: orPair(c.Padding), Dilation: orPair(c.Dilation),
			Groups: c.Groups, NoBias: c.Bias != nil && !*c.Bias}, rng)), nil
	},
	"BatchNorm2d": func(cfg json.RawMessage, _ *rand.Rand) (built, error) {
		var c struct {
			C   int      `json:"num_features"`
			Eps *float32 `json:"eps"`
		}
		if err := json.Unmarshal(cfg, &c); err != nil {
			return built{}, err
		}
		b := NewBatchNorm2d(c.C)
		if c.Eps != nil {
			b.Eps = *c.Eps // folded again by LoadStateDict's Refresh
		}
		return forward(b), nil
	},
	"Linear": func(cfg json.RawMessage, rng *rand.Rand) (built, error) {
		var c struct {
			In   int   `json:"in_features"`
			Out  int   `json:"out_features"`
			Bias *bool `json:"bias"`
		}
		if err := json.Unmarshal(cfg, &c); err != nil {
			return built{}, err
		}
		return forward(NewLinear(c.In, c.Out, c.Bias == nil || *c.Bias, rng)), nil
	},
	// Activations as plain values, as models hold them.
	"ReLU":    func(json.RawMessage, *rand.Rand) (built, error) { return forward(ReLU{}), nil },
	"ReLU6":   func(json.RawMessage, *rand.Rand) (built, error) { return forward(ReLU6{}), nil },
	"Sigmoid": func(json.RawMessage, *rand.Rand) (built, error) { return forward(Sigmoid{}), nil },
	"Tanh":    func(json.RawMessage, *rand.Rand) (built, error) { return forward(Tanh{}), nil },
	"LeakyReLU": func(cfg json.RawMessage, _ *rand.Rand) (built, error) {
		c := struct {
			Slope float32 `json:"negative_slope"`
		}{Slope: 0.01} // torch's default
		if err := json.Unmarshal(cfg, &c); err != nil {
			return built{}, err
		}
		return forward(LeakyReLU{Slope: c.Slope}), nil
	},
	"MaxPool2d": func(cfg json.RawMessage, _ *rand.Rand) (built, error) {
		var c struct {
			poolConfig
			ReturnIndices bool `json:"return_indices"`
		}
		if err := json.Unmarshal(cfg, &c); err != nil {
			return built{}, err
		}
		m := NewMaxPool2d(c.Kernel, c.options())
		if !c.ReturnIndices {
			return forward(m), nil
		}
		return built{module: m, run: func(in []*tensor.Tensor) (*tensor.Tensor, *Indices, error) {
			return m.ForwardIndices(in[0])
		}}, nil
	},
	"AvgPool2d": func(cfg json.RawMessage, _ *rand.Rand) (built, error) {
		var c poolConfig
		if err := json.Unmarshal(cfg, &c); err != nil {
			return built{}, err
		}
		return forward(NewAvgPool2d(c.Kernel, c.options())), nil
	},
	"AdaptiveAvgPool2d": func(cfg json.RawMessage, _ *rand.Rand) (built, error) {
		oh, ow, err := adaptiveSize(cfg)
		if err != nil {
			return built{}, err
		}
		return forward(NewAdaptiveAvgPool2d(oh, ow)), nil
	},
	"AdaptiveMaxPool2d": func(cfg json.RawMessage, _ *rand.Rand) (built, error) {
		oh, ow, err := adaptiveSize(cfg)
		if err != nil {
			return built{}, err
		}
		m := NewAdaptiveMaxPool2d(oh, ow)
		var c struct {
			ReturnIndices bool `json:"return_indices"`
		}
		if err := json.Unmarshal(cfg, &c); err != nil || !c.ReturnIndices {
			return forward(m), err
		}
		return built{module: m, run: func(in []*tensor.Tensor) (*tensor.Tensor, *Indices, error) {
			return m.ForwardIndices(in[0])
		}}, nil
	},
	"MaxUnpool2d": func(cfg json.RawMessage, _ *rand.Rand) (built, error) {
		var c struct {
			Kernel     pair  `json:"kernel_size"`
			Stride     *pair `json:"stride"`
			Padding    *pair `json:"padding"`
			OutputSize []int `json:"output_size"`
		}
		if err := json.Unmarshal(cfg, &c); err != nil {
			return built{}, err
		}
		u := NewMaxUnpool2d(c.Kernel, orPair(c.Stride), orPair(c.Padding))
		return built{run: func(in []*tensor.Tensor) (*tensor.Tensor, *Indices, error) {
			ind, err := indicesOf(in[1])
			if err != nil {
				return nil, nil, err
			}
			y, err := u.Forward(in[0], ind, c.OutputSize)
			return y, nil, err
		}}, nil
	},
	"LocalResponseNorm": func(cfg json.RawMessage, _ *rand.Rand) (built, error) {
		var c struct {
			Size  int      `json:"size"`
			Alpha *float32 `json:"alpha"`
			Beta  *float32 `json:"beta"`
			K     *float32 `json:"k"`
		}
		if err := json.Unmarshal(cfg, &c); err != nil {
			return built{}, err
		}
		l := NewLocalResponseNorm(c.Size)
		for _, f := range []struct {
			dst *float32
			v   *float32
		}{{&l.Alpha, c.Alpha}, {&l.Beta, c.Beta}, {&l.K, c.K}} {
			if f.v != nil {
				*f.dst = *f.v
			}
		}
		return forward(l), nil
	},
	"Upsample": func(cfg json.RawMessage, _ *rand.Rand) (built, error) {
		o, err := interpolateOptions(cfg)
		if err != nil {
			return built{}, err
		}
		return forward(NewUpsample(o)), nil
	},
	"interpolate": func(cfg json.RawMessage, _ *rand.Rand) (built, error) {
		o, err := interpolateOptions(cfg)
		if err != nil {
			return built{}, err
		}
		return built{run: func(in []*tensor.Tensor) (*tensor.Tensor, *Indices, error) {
			y, err := Interpolate(in[0], o)
			return y, nil, err
		}}, nil
	},
	"ConvTranspose2d": func(cfg json.RawMessage, rng *rand.Rand) (built, error) {
		var c struct {
			In        int   `json:"in_channels"`
			Out       int   `json:"out_channels"`
			Kernel    pair  `json:"kernel_size"`
			Stride    *pair `json:"stride"`
			Padding   *pair `json:"padding"`
			OutputPad *pair `json:"output_padding"`
			Dilation  *pair `json:"dilation"`
			Groups    int   `json:"groups"`
			Bias      *bool `json:"bias"`
		}
		if err := json.Unmarshal(cfg, &c); err != nil {
			return built{}, err
		}
		return forward(NewConvTranspose2d(c.In, c.Out, c.Kernel, ConvTransposeOptions{
			Stride: orPair(c.Stride), Padding: orPair(c.Padding), OutputPadding: orPair(c.OutputPad),
			Dilation: orPair(c.Dilation), Groups: c.Groups, NoBias: c.Bias != nil && !*c.Bias}, rng)), nil
	},
	"Softmax": func(cfg json.RawMessage, _ *rand.Rand) (built, error) {
		var c struct {
			Dim int `json:"dim"`
		}
		err := json.Unmarshal(cfg, &c)
		return forward(NewSoftmax(c.Dim)), err
	},
	"LogSoftmax": func(cfg json.RawMessage, _ *rand.Rand) (built, error) {
		var c struct {
			Dim int `json:"dim"`
		}
		err := json.Unmarshal(cfg, &c)
		return forward(NewLogSoftmax(c.Dim)), err
	},
	"Dropout": func(cfg json.RawMessage, _ *rand.Rand) (built, error) {
		c := struct {
			P float32 `json:"p"`
		}{P: 0.5}
		err := json.Unmarshal(cfg, &c)
		return forward(NewDropout(c.P)), err
	},
	"Identity": func(json.RawMessage, *rand.Rand) (built, error) { return forward(Identity{}), nil },
	"Flatten": func(cfg json.RawMessage, _ *rand.Rand) (built, error) {
		f := NewFlatten()
		err := json.Unmarshal(cfg, &struct {
			Start *int `json:"start_dim"`
			End   *int `json:"end_dim"`
		}{&f.StartDim, &f.EndDim})
		return forward(f), err
	},
	"ZeroPad2d": func(cfg json.RawMessage, _ *rand.Rand) (built, error) {
		var c struct {
			Padding json.RawMessage `json:"padding"`
		}
		if err := json.Unmarshal(cfg, &c); err != nil {
			return built{}, err
		}
		var p [4]int
		var n int
		if err := json.Unmarshal(c.Padding, &n); err == nil {
			p = [4]int{n, n, n, n}
		} else if err := json.Unmarshal(c.Padding, &p); err != nil {
			return built{}, err
		}
		return forward(NewZeroPad2d(p[0], p[1], p[2], p[3])), nil
	},
	"cat": func(json.RawMessage, *rand.Rand) (built, error) {
		return built{run: func(in []*tensor.Tensor) (*tensor.Tensor, *Indices, error) {
			y, err := Concat(in...)
			return y, nil, err
		}}, nil
	},
	"add": func(json.RawMessage, *rand.Rand) (built, error) {
		return built{run: func(in []*tensor.Tensor) (*tensor.Tensor, *Indices, error) {
			y, err := Add(in[0], in[1])
			if err != nil {
				return nil, nil, err
			}
			// The in-place form must give the same values.
			a := in[0].Clone()
			if err := AddInto(a, a, in[1]); err != nil {
				return nil, nil, err
			}
			if !slices.Equal(a.Data(), y.Data()) {
				return nil, nil, fmt.Errorf("AddInto(a, a, b) differs from Add(a, b)")
			}
			return y, nil, nil
		}}, nil
	},
	"channel_scale": func(json.RawMessage, *rand.Rand) (built, error) {
		return built{run: func(in []*tensor.Tensor) (*tensor.Tensor, *Indices, error) {
			y, err := ChannelScale(in[0], in[1])
			return y, nil, err
		}}, nil
	},
}

// poolConfig is MaxPool2d's and AvgPool2d's keyword arguments.
type poolConfig struct {
	Kernel          pair  `json:"kernel_size"`
	Stride          *pair `json:"stride"`
	Padding         *pair `json:"padding"`
	Dilation        *pair `json:"dilation"`
	CeilMode        bool  `json:"ceil_mode"`
	CountIncludePad *bool `json:"count_include_pad"`
}

func (c poolConfig) options() PoolOptions {
	return PoolOptions{Stride: orPair(c.Stride), Padding: orPair(c.Padding), Dilation: orPair(c.Dilation),
		CeilMode: c.CeilMode, ExcludePad: c.CountIncludePad != nil && !*c.CountIncludePad}
}

// adaptiveSize decodes output_size, [h, w] with null for "keep".
func adaptiveSize(cfg json.RawMessage) (oh, ow int, err error) {
	var c struct {
		Size [2]*int `json:"output_size"`
	}
	if err := json.Unmarshal(cfg, &c); err != nil {
		return 0, 0, err
	}
	if c.Size[0] != nil {
		oh = *c.Size[0]
	}
	if c.Size[1] != nil {
		ow = *c.Size[1]
	}
	return oh, ow, nil
}

func interpolateOptions(cfg json.RawMessage) (InterpolateOptions, error) {
	var c struct {
		Size         *pair  `json:"size"`
		Scale        *fpair `json:"scale_factor"`
		Mode         string `json:"mode"`
		AlignCorners *bool  `json:"align_corners"`
		Recompute    *bool  `json:"recompute_scale_factor"`
	}
	if err := json.Unmarshal(cfg, &c); err != nil {
		return InterpolateOptions{}, err
	}
	o := InterpolateOptions{Mode: c.Mode, AlignCorners: c.AlignCorners != nil && *c.AlignCorners,
		RecomputeScaleFactor: c.Recompute != nil && *c.Recompute}
	if c.Size != nil {
		o.Size = *c.Size
	}
	if c.Scale != nil {
		o.ScaleFactor = *c.Scale
	}
	return o, nil
}

// buildSequential builds a Sequential's children with build (outside the
// builders table, which build reads).
func buildSequential(cfg json.RawMessage, rng *rand.Rand) (built, error) {
	var c struct {
		Children []struct {
			Layer  string          `json:"layer"`
			Config json.RawMessage `json:"config"`
		} `json:"children"`
	}
	if err := json.Unmarshal(cfg, &c); err != nil {
		return built{}, err
	}
	s := NewSequential()
	for i, ch := range c.Children {
		b, err := build(ch.Layer, ch.Config, rng)
		if err != nil {
			return built{}, fmt.Errorf("child %d: %w", i, err)
		}
		s.Append(b.module)
	}
	return forward(s), nil
}

func build(layer string, cfg json.RawMessage, rng *rand.Rand) (built, error) {
	if len(cfg) == 0 {
		cfg = json.RawMessage("{}")
	}
	if layer == "Sequential" {
		return buildSequential(cfg, rng)
	}
	b, ok := builders[layer]
	if !ok {
		return built{}, fmt.Errorf("no builder for layer %q", layer)
	}
	return b(cfg, rng)
}

func loadGolden(t *testing.T) map[string]goldenFile {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures in testdata/golden (run tools/golden/nn_layers.py): %v", err)
	}
	files := make(map[string]goldenFile)
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var f goldenFile
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if len(f.Cases) == 0 {
			t.Fatalf("%s: no cases", p)
		}
		files[strings.TrimSuffix(filepath.Base(p), ".json")] = f
	}
	return files
}

// TestGolden runs every fixture case. The state dict goes through
// LoadStateDict (strict) into a layer built with other random weights, so
// a wrong name, a wrong shape or a tensor not copied fails the case.
func TestGolden(t *testing.T) {
	files := loadGolden(t)
	for _, group := range slices.Sorted(func(yield func(string) bool) {
		for g := range files {
			if !yield(g) {
				return
			}
		}
	}) {
		for _, tc := range files[group].Cases {
			t.Run(group+"/"+tc.Name, func(t *testing.T) {
				runGolden(t, tc)
			})
		}
	}
}

func runGolden(t *testing.T, tc goldenCase) {
	b, err := build(tc.Layer, tc.Config, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatalf("build %s %s: %v", tc.Layer, tc.Config, err)
	}
	if b.module != nil {
		sd := make(map[string]*tensor.Tensor)
		for name, g := range tc.StateDict {
			sd[name] = g.tensor(t)
		}
		if err := LoadStateDict(b.module, sd); err != nil {
			t.Fatalf("LoadStateDict: %v", err)
		}
	} else if len(tc.StateDict) > 0 {
		t.Fatalf("%s has a state dict but no module to load it", tc.Layer)
	}
	var in []*tensor.Tensor
	for _, g := range tc.Inputs {
		in = append(in, g.tensor(t))
	}
	inCopy := make([][]float32, len(in))
	for i, x := range in {
		inCopy[i] = slices.Clone(x.Data())
	}
	got, ind, err := b.run(in)
	if err != nil {
		t.Fatalf("forward: %v", err)
	}
	for i, x := range in {
		if !slices.Equal(x.Data(), inCopy[i]) {
			t.Fatalf("input %d was changed by the forward pass", i)
		}
	}
	if len(tc.Outputs) != 1 {
		t.Fatalf("fixture has %d outputs, want 1", len(tc.Outputs))
	}
	compare(t, "output", got, tc.Outputs[0])
	switch {
	case tc.Indices != nil && ind == nil:
		t.Fatalf("no indices returned")
	case tc.Indices != nil:
		if !slices.Equal(ind.Shape[:], tc.Indices.Shape) {
			t.Fatalf("indices shape %v, want %v", ind.Shape, tc.Indices.Shape)
		}
		for i, v := range ind.Data {
			if float32(v) != tc.Indices.Data[i] {
				t.Fatalf("indices[%d] = %d, want %v", i, v, tc.Indices.Data[i])
			}
		}
	}
}

// compare checks got against a fixture tensor with within, reporting the
// worst value.
func compare(t *testing.T, what string, got *tensor.Tensor, want goldenTensor) {
	t.Helper()
	if !slices.Equal(got.Shape(), want.Shape) {
		t.Fatalf("%s shape %v, want %v", what, got.Shape(), want.Shape)
	}
	bad, worst := 0, -1
	var worstErr float64
	for i, w := range want.Data {
		g := got.Data()[i]
		if !within(g, w) {
			bad++
			if e := math.Abs(float64(g)-float64(w)) / max(1, math.Abs(float64(w))); e > worstErr || math.IsNaN(e) {
				worst, worstErr = i, e
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%s: %d of %d values differ by more than %g; worst [%d] = %v, want %v",
			what, bad, len(want.Data), goldenTol, worst, got.Data()[worst], want.Data[worst])
	}
}

// TestGoldenCoverage checks that the fixtures exercise every layer the
// builders know, so a layer cannot lose its torch comparison unnoticed.
func TestGoldenCoverage(t *testing.T) {
	seen := make(map[string]bool)
	var mark func(layer string, cfg json.RawMessage)
	mark = func(layer string, cfg json.RawMessage) {
		seen[layer] = true
		if layer == "Sequential" {
			var c struct {
				Children []struct {
					Layer  string          `json:"layer"`
					Config json.RawMessage `json:"config"`
				} `json:"children"`
			}
			if err := json.Unmarshal(cfg, &c); err != nil {
				t.Fatal(err)
			}
			for _, ch := range c.Children {
				mark(ch.Layer, ch.Config)
			}
		}
	}
	for _, f := range loadGolden(t) {
		for _, tc := range f.Cases {
			mark(tc.Layer, tc.Config)
		}
	}
	for layer := range builders {
		if !seen[layer] {
			t.Errorf("no fixture for %s", layer)
		}
	}
	if !seen["Sequential"] {
		t.Errorf("no fixture for Sequential")
	}
}
