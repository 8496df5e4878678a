package classify

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
	"govision.dev/vision/weights"
)

// The fixtures in testdata/golden/families are written by
// tools/golden/classify_families.py with torchvision 0.14 (see its doc):
// keys.json.gz lists the state-dict keys and shapes, parameter counts and
// multiply-accumulates of every full-size model of the ResNet, VGG,
// AlexNet, Wide ResNet and ResNeXt families as torchvision builds them,
// and of the SENets as Cadene's SENet class builds them; cases.json.gz
// holds small configurations of the same classes with torch's logits and
// an early feature map. The small cases' weights and inputs are a formula
// of each tensor's key and shape (formulaTensor), bit-identical to the
// script's.

const familiesGolden = "testdata/golden/families"

// familyTol bounds our outputs' difference from torch's:
//
//	|got − want| ≤ familyTol · (|want| + rms(want))
//
// Both compute the same float32 formulas but sum in other orders (packed
// GEMM panels, im2col, folded batch norms, float64 pooling sums), each sum
// of k terms off by a few k·6e-8 of its terms' size; through the dozen to
// forty layers of these networks that stays near 1e-5 of the values' scale.
// Values near 0 (cancellations, ReLU edges) are judged on the tensor's
// scale (its root mean square) rather than their own.
const familyTol = 1e-4

type fixtureTensor struct {
	Shape []int     `json:"shape"`
	Data  []float32 `json:"data"`
}

// keyShape is a state-dict entry of a fixture, written [key, shape].
type keyShape struct {
	Name  string
	Shape []int
}

func (k *keyShape) UnmarshalJSON(b []byte) error {
	var raw [2]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if err := json.Unmarshal(raw[0], &k.Name); err != nil {
		return err
	}
	return json.Unmarshal(raw[1], &k.Shape)
}

func (k keyShape) String() string { return fmt.Sprintf("%s%v", k.Name, k.Shape) }

type familyCase struct {
	Name     string                   `json:"name"`
	Config   json.RawMessage          `json:"config"`
	Keys     []keyShape               `json:"keys"`
	Input    []int                    `json:"input"`
	Scale    float32                  `json:"input_scale"`
	Logits   fixtureTensor            `json:"logits"`
	Features map[string]fixtureTensor `json:"features"`
}

type fullSize struct {
	Params int        `json:"params"`
	MACs   int64      `json:"macs"`
	Size   int        `json:"size"`
	Keys   []keyShape `json:"keys"`
}

func readGzipJSON(t *testing.T, name string, v any) {
	t.Helper()
	f, err := os.Open(filepath.Join(familiesGolden, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(zr).Decode(v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// formulaValues are n values in [0, 1): murmur3's fmix32 of
// crc32(key) + i·0x9E3779B9, as the script's formula_values.
func formulaValues(key string, n int) []float64 {
	h := crc32.ChecksumIEEE([]byte(key))
	u := make([]float64, n)
	for i := range u {
		x := h + uint32(i)*0x9E3779B9
		x ^= x >> 16
		x *= 0x85EBCA6B
		x ^= x >> 13
		x *= 0xC2B2AE35
		x ^= x >> 16
		u[i] = float64(x) / 4294967296.0
	}
	return u
}

// formulaTensor is the script's formula_tensor: the value of a state-dict
// tensor (bn: of a batch norm), or of the input for key "input".
func formulaTensor(key string, shape []int, bn bool) *tensor.Tensor {
	t := tensor.New(shape...)
	u := formulaValues(key, t.Len())
	leaf := key[strings.LastIndex(key, ".")+1:]
	d := t.Data()
	for i, v := range u {
		var x float64
		switch {
		case key == "input":
			x = 2*v - 1
		case leaf == "running_mean":
			x = 0.2 * (2*v - 1)
		case leaf == "running_var":
			x = 0.5 + v
		case bn && leaf == "weight":
			x = 0.5 + v
		case bn && leaf == "bias":
			x = 0.2 * (2*v - 1)
		case leaf == "bias":
			x = 0.1 * (2*v - 1)
		default:
			fan := 1
			for _, s := range shape[1:] {
				fan *= s
			}
			x = math.Sqrt(3/float64(fan)) * (2*v - 1)
		}
		d[i] = float32(x)
	}
	return t
}

// formulaStateDict is the state dict the script loads into the torch model
// of the same keys and shapes.
func formulaStateDict(net nn.Module) map[string]*tensor.Tensor {
	entries := nn.Walk(net)
	names := make(map[string]bool, len(entries))
	for _, e := range entries {
		names[e.Name] = true
	}
	sd := make(map[string]*tensor.Tensor, len(entries))
	for _, e := range entries {
		if strings.HasSuffix(e.Name, "num_batches_tracked") {
			sd[e.Name] = tensor.New()
			continue
		}
		prefix := e.Name[:strings.LastIndex(e.Name, ".")]
		sd[e.Name] = formulaTensor(e.Name, e.Tensor.Shape(), names[prefix+".running_mean"])
	}
	return sd
}

// keyList is a network's state-dict keys and shapes in Walk's order.
func keyList(net nn.Module) []keyShape {
	var ks []keyShape
	for _, e := range nn.Walk(net) {
		ks = append(ks, keyShape{e.Name, e.Tensor.Shape()})
	}
	return ks
}

// compareKeys reports the differences between two key lists, order
// included.
func compareKeys(t *testing.T, got, want []keyShape) {
	t.Helper()
	if slices.EqualFunc(got, want, func(a, b keyShape) bool { return a.Name == b.Name && slices.Equal(a.Shape, b.Shape) }) {
		return
	}
	have := map[string][]int{}
	for _, k := range got {
		have[k.Name] = k.Shape
	}
	wantm := map[string][]int{}
	bad := 0
	for _, k := range want {
		wantm[k.Name] = k.Shape
		if s, ok := have[k.Name]; !ok {
			t.Errorf("missing %v", k)
			bad++
		} else if !slices.Equal(s, k.Shape) {
			t.Errorf("%s: shape %v, torch %v", k.Name, s, k.Shape)
			bad++
		}
		if bad > 10 {
			t.Fatal("too many differences")
		}
	}
	for _, k := range got {
		if _, ok := wantm[k.Name]; !ok {
			t.Errorf("unexpected %v", k)
		}
	}
	if !t.Failed() {
		for i := range got {
			if got[i].Name != want[i].Name {
				t.Errorf("key %d is %s, torch's %s: same keys, other order", i, got[i].Name, want[i].Name)
				break
			}
		}
	}
}

// closeTo compares got with want within familyTol.
func closeTo(t *testing.T, what string, got []float32, want fixtureTensor) {
	t.Helper()
	if len(got) != len(want.Data) {
		t.Fatalf("%s: %d values, torch %d", what, len(got), len(want.Data))
	}
	var ss float64
	for _, w := range want.Data {
		ss += float64(w) * float64(w)
	}
	rms := math.Sqrt(ss / float64(len(want.Data)))
	bad := 0
	for i, w := range want.Data {
		if d := math.Abs(float64(got[i]) - float64(w)); d > familyTol*(math.Abs(float64(w))+rms) || math.IsNaN(float64(got[i])) {
			if bad < 5 {
				t.Errorf("%s[%d] = %v, torch %v (rms %.3g)", what, i, got[i], w, rms)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values off", what, bad, len(got))
	}
}

// input is the case's input: the formula's, times its scale.
func (c familyCase) input() *tensor.Tensor {
	x := formulaTensor("input", c.Input, false)
	for i := range x.Data() {
		x.Data()[i] *= c.Scale
	}
	return x
}

// caseNet builds our network for a small case's config.
func caseNet(t *testing.T, c familyCase) nn.Module {
	t.Helper()
	var cfg struct {
		Cfg       []int  `json:"cfg"`
		BatchNorm bool   `json:"batch_norm"`
		Hidden    int    `json:"hidden"`
		Block     string `json:"block"`
		Layers    []int  `json:"layers"`
		Groups    int    `json:"groups"`
		WPG       int    `json:"width_per_group"`
		Kind      string `json:"kind"`
		Inplanes  int    `json:"inplanes"`
		Stem3x3   bool   `json:"stem3x3"`
		DownK     int    `json:"downsample_kernel"`
		Reduction int    `json:"reduction"`
	}
	if err := json.Unmarshal(c.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	switch {
	case strings.HasPrefix(c.Name, "vgg"):
		return newVGG(vggSpec{cfg: cfg.Cfg, batchNorm: cfg.BatchNorm}, cfg.Hidden, 10)
	case c.Name == "alexnet":
		return newAlexNet(10)
	case c.Name == "alexnet_lrn":
		return newAlexNetLRN(10)
	case strings.HasPrefix(c.Name, "resne"):
		s := resnetSpec{block: basic, groups: cfg.Groups, widthPerGroup: cfg.WPG}
		if cfg.Block == "bottleneck" {
			s.block = bottleneck
		}
		copy(s.layers[:], cfg.Layers)
		return newResNet(s, 10)
	case strings.HasPrefix(c.Name, "se"):
		s := senetSpec{kind: map[string]seKind{"se_resnet": seResNet, "se_resnext": seResNeXt, "senet154": seNet154}[cfg.Kind],
			groups: cfg.Groups, inplanes: cfg.Inplanes, stem3x3: cfg.Stem3x3, downK: cfg.DownK, reduction: cfg.Reduction}
		copy(s.layers[:], cfg.Layers)
		return newSENet(s, 10)
	}
	t.Fatalf("no network for case %s", c.Name)
	return nil
}

// TestTorchvisionSmall runs small configurations of torchvision's classes
// (and Cadene's SENet) on formula weights and compares the logits and an
// early feature map with torch's.
func TestTorchvisionSmall(t *testing.T) {
	var file struct {
		Cases []familyCase `json:"cases"`
	}
	readGzipJSON(t, "cases.json.gz", &file)
	if len(file.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range file.Cases {
		t.Run(c.Name, func(t *testing.T) {
			net := caseNet(t, c)
			compareKeys(t, keyList(net), c.Keys)
			if t.Failed() {
				return
			}
			if err := nn.LoadStateDict(net, formulaStateDict(net)); err != nil {
				t.Fatal(err)
			}
			x := c.input()
			feats := map[string]*tensor.Tensor{}
			y, err := net.(tapper).forward(x, func(stage string, y *tensor.Tensor) { feats[stage] = y.Clone() })
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(y.Shape(), c.Logits.Shape) {
				t.Fatalf("logits %v, torch %v", y.Shape(), c.Logits.Shape)
			}
			closeTo(t, "logits", y.Data(), c.Logits)
			for stage, want := range c.Features {
				got, ok := feats[stage]
				if !ok {
					t.Fatalf("no stage %q tapped", stage)
				}
				if !slices.Equal(got.Shape(), want.Shape) {
					t.Fatalf("%s: %v, torch %v", stage, got.Shape(), want.Shape)
				}
				closeTo(t, stage, got.Data()[:len(want.Data)], want)
			}
		})
	}
}

// TestLoadFile saves a small case's formula weights as safetensors and
// loads them through Model.Load: the logits must be torch's.
func TestLoadFile(t *testing.T) {
	var file struct {
		Cases []familyCase `json:"cases"`
	}
	readGzipJSON(t, "cases.json.gz", &file)
	i := slices.IndexFunc(file.Cases, func(c familyCase) bool { return c.Name == "resnet_basic_1111" })
	if i < 0 {
		t.Fatal("no case resnet_basic_1111")
	}
	c := file.Cases[i]
	net := caseNet(t, c)
	path := filepath.Join(t.TempDir(), "small.safetensors")
	if err := weights.Save(path, formulaStateDict(net)); err != nil {
		t.Fatal(err)
	}
	m := newModel(entry{name: "small", weights: Weights{Preprocess: cifarPreprocess, Labels: CIFAR10}}, net)
	if err := m.Load(path); err != nil {
		t.Fatal(err)
	}
	y, err := m.Forward(c.input())
	if err != nil {
		t.Fatal(err)
	}
	closeTo(t, "logits", y.Data(), c.Logits)
}

// myTables are the families of this file's fixtures.
var myTables = [][]entry{lenetModels, alexnetModels, vggModels, resnetModels, preactModels,
	wideResNetModels, resnextModels, senetModels}

// TestFullSizeKeys compares every full-size model that torchvision (or
// Cadene's SENet) has with it: state-dict keys and shapes in order,
// parameter count, multiply-accumulates, and the weight record's
// parameter count.
func TestFullSizeKeys(t *testing.T) {
	var file struct {
		Models map[string]fullSize `json:"models"`
	}
	readGzipJSON(t, "keys.json.gz", &file)
	seen := 0
	for _, table := range myTables {
		for _, e := range table {
			want, ok := file.Models[e.name]
			if !ok {
				continue
			}
			seen++
			t.Run(e.name, func(t *testing.T) {
				if testing.Short() && want.Params > 70_000_000 {
					t.Skip("-short: a large model")
				}
				net := e.build()
				defer debug.FreeOSMemory()
				compareKeys(t, keyList(net), want.Keys)
				if got := nn.NumParams(net); got != want.Params {
					t.Errorf("%d parameters, torch %d", got, want.Params)
				}
				if e.weights.Params != 0 && e.weights.Params != want.Params {
					t.Errorf("weight record says %d parameters, torch %d", e.weights.Params, want.Params)
				}
				mc, ok := net.(macCounter)
				if !ok {
					t.Fatal("no MAC count")
				}
				if got := mc.macs(want.Size, want.Size); got != want.MACs {
					t.Errorf("%d MACs at %d, torch's hooks %d", got, want.Size, want.MACs)
				}
				if s := e.weights.Preprocess.Size(); s != want.Size && e.weights.Preprocess.Crop != 0 {
					t.Errorf("default input %d, fixture %d", s, want.Size)
				}
			})
		}
	}
	if seen != 8+5+2+3+1+6 {
		t.Errorf("%d models compared, want 25", seen)
	}
}
