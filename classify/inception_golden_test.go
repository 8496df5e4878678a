package classify

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
	"govision.dev/vision/weights"
)

// The fixtures in testdata/golden/inception are written by
// tools/golden/classify_inception.py with torchvision 0.14 (see its doc):
// the state-dict keys, shapes and parameter counts of the full-size
// DenseNets, GoogLeNet and Inception-v3, and small configurations of
// torchvision's own classes with their state dicts, an input, the logits
// and an early feature map.

const inceptionGolden = "testdata/golden/inception"

// goldenRelTol bounds our outputs' difference from torchvision's:
//
//	|got − want| ≤ goldenRelTol · max(|want|, rms(want))
//
// Both compute the same float32 formulas but sum in other orders (packed
// GEMM panels, DenseNet's transition pooling before its convolution,
// float64 means), each sum of k terms off by a few k·6e-8 of its terms'
// size; through a dozen layers of order-1 activations that stays well
// below 1e-5. 1e-4 leaves a margin; values near 0 (cancellations, ReLU
// edges) are judged on the tensor's scale rather than their own.
const goldenRelTol = 1e-4

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
	Config   map[string]any          `json:"config"`
	Input    goldenTensor            `json:"input"`
	Logits   goldenTensor            `json:"logits"`
	Features map[string]goldenTensor `json:"features"`
}

func readGoldenCase(t *testing.T, name string) (goldenCase, map[string]*tensor.Tensor) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(inceptionGolden, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var c goldenCase
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s.json: %v", name, err)
	}
	sd, err := weights.Load(filepath.Join(inceptionGolden, name+".pt"))
	if err != nil {
		t.Fatal(err)
	}
	return c, sd
}

// compareGolden checks got against want within goldenRelTol.
func compareGolden(t *testing.T, what string, got *tensor.Tensor, want goldenTensor) {
	t.Helper()
	if !slices.Equal(got.Shape(), want.Shape) {
		t.Fatalf("%s: shape %v, torchvision %v", what, got.Shape(), want.Shape)
	}
	var ss float64
	for _, v := range want.Data {
		ss += float64(v) * float64(v)
	}
	rms := math.Sqrt(ss / float64(max(1, len(want.Data))))
	worst, at := 0.0, -1
	for i, w := range want.Data {
		d := math.Abs(float64(got.Data()[i]) - float64(w))
		if r := d / max(math.Abs(float64(w)), rms); r > worst {
			worst, at = r, i
		}
	}
	t.Logf("%s: worst relative error %.2g", what, worst)
	if worst > goldenRelTol {
		t.Errorf("%s: value %d is %v, torchvision %v (relative error %.3g > %g)",
			what, at, got.Data()[at], want.Data[at], worst, goldenRelTol)
	}
}

// runGolden loads a fixture's state dict into m strictly, runs it on the
// fixture's input with a tap recording the fixture's feature maps, and
// compares logits and feature maps.
func runGolden(t *testing.T, name string, m interface {
	nn.Module
	forward(*tensor.Tensor, tapFunc) (*tensor.Tensor, error)
}) {
	t.Helper()
	c, sd := readGoldenCase(t, name)
	if err := nn.LoadStateDict(m, sd); err != nil {
		t.Fatal(err)
	}
	got := map[string]*tensor.Tensor{}
	y, err := m.forward(c.Input.tensor(t), func(stage string, x *tensor.Tensor) {
		if _, ok := c.Features[stage]; ok {
			got[stage] = x.Clone()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for stage, want := range c.Features {
		if got[stage] == nil {
			t.Errorf("the forward pass never reported stage %s", stage)
			continue
		}
		compareGolden(t, stage, got[stage], want)
	}
	compareGolden(t, "logits", y, c.Logits)
	// Forward is forward without a tap.
	y2, err := m.Forward(c.Input.tensor(t))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(y.Data(), y2.Data()) {
		t.Errorf("Forward and forward with a tap differ")
	}
}

func TestGoldenInceptionFamilies(t *testing.T) {
	t.Run("densenet_small", func(t *testing.T) {
		// torchvision.models.DenseNet(growth_rate=8, block_config=(2, 2),
		// num_init_features=16, num_classes=10).
		m := newDenseNet(denseNetSpec{growth: 8, blocks: []int{2, 2}, initFeatures: 16, bnSize: 4, classes: 10})
		runGolden(t, "densenet_small", m)
	})
	t.Run("googlenet_small", func(t *testing.T) {
		// torchvision's GoogLeNet with every width divided by 8, no
		// auxiliary heads, 10 classes.
		s := googlenetTable
		s.classes = 10
		for i := range s.stem {
			s.stem[i] /= 8
		}
		for i, r := range s.modules {
			s.modules[i] = inceptionRow{r.name, r.ch1x1 / 8, r.ch3x3red / 8, r.ch3x3 / 8, r.ch5x5red / 8, r.ch5x5 / 8, r.poolProj / 8}
		}
		runGolden(t, "googlenet_small", newGoogLeNet(s))
	})
	t.Run("inception_v3_small", func(t *testing.T) {
		// torchvision's Inception3 with every width divided by 16, no
		// auxiliary head, 10 classes, on a 75×75 input.
		s := inceptionV3Table
		s.classes, s.div = 10, 16
		runGolden(t, "inception_v3_small", newInceptionV3(s))
	})
}

type goldenKeys struct {
	Torch       string `json:"torch"`
	Torchvision string `json:"torchvision"`
	Models      map[string]struct {
		Params int     `json:"params"`
		Keys   [][]any `json:"keys"`
	} `json:"models"`
}

// TestTorchvisionKeys compares every full-size model's state-dict keys (in
// order), shapes and parameter count with torchvision's.
func TestTorchvisionKeys(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(inceptionGolden, "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g goldenKeys
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	builders := map[string]func() nn.Module{
		"densenet121": func() nn.Module { return newDenseNet(denseNetSpecs["densenet121"]) },
		"densenet161": func() nn.Module { return newDenseNet(denseNetSpecs["densenet161"]) },
		"densenet169": func() nn.Module { return newDenseNet(denseNetSpecs["densenet169"]) },
		"densenet201": func() nn.Module { return newDenseNet(denseNetSpecs["densenet201"]) },
		"googlenet":   func() nn.Module { return newGoogLeNet(googlenetTable) },
		"googlenet_aux": func() nn.Module {
			s := googlenetTable
			s.aux = true
			return newGoogLeNet(s)
		},
		"inception_v3": func() nn.Module { return newInceptionV3(inceptionV3Table) },
		"inception_v3_aux": func() nn.Module {
			s := inceptionV3Table
			s.aux = true
			return newInceptionV3(s)
		},
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range g.Models {
			if !yield(k) {
				return
			}
		}
	}) {
		want := g.Models[name]
		t.Run(name, func(t *testing.T) {
			build, ok := builders[name]
			if !ok {
				t.Skipf("no builder for %s yet", name)
			}
			m := build()
			var wantKeys, gotKeys []string
			for _, k := range want.Keys {
				wantKeys = append(wantKeys, fmt.Sprint(k[0], " ", jsonShape(k[1])))
			}
			for _, e := range nn.Walk(m) {
				gotKeys = append(gotKeys, fmt.Sprint(e.Name, " ", e.Tensor.Shape()))
			}
			if !slices.Equal(gotKeys, wantKeys) {
				for i := 0; i < max(len(gotKeys), len(wantKeys)); i++ {
					var g, w string
					if i < len(gotKeys) {
						g = gotKeys[i]
					}
					if i < len(wantKeys) {
						w = wantKeys[i]
					}
					if g != w {
						t.Fatalf("key %d: ours %q, torchvision %q (%d keys, torchvision %d)", i, g, w, len(gotKeys), len(wantKeys))
					}
				}
			}
			if got := nn.NumParams(m); got != want.Params {
				t.Errorf("%d parameters, torchvision %d", got, want.Params)
			}
		})
	}
}

// jsonShape converts a shape decoded from JSON ([]any of float64).
func jsonShape(v any) []int {
	var s []int
	for _, d := range v.([]any) {
		s = append(s, int(d.(float64)))
	}
	return s
}
