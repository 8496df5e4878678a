package classify

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// TestInceptionV4Params compares the parameter counts with the figures
// timm publishes for the same ports (42.68M and 55.84M with 1000 classes;
// the paper gives none).
func TestInceptionV4Params(t *testing.T) {
	for name, want := range map[string]float64{"inception_v4": 42.68, "inception_resnet_v2": 55.84} {
		info, err := Describe(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := math.Round(float64(info.Params)/1e4) / 100; got != want {
			t.Errorf("%s: %d parameters (%.2fM), published %.2fM", name, info.Params, got, want)
		}
	}
}

// TestInceptionV4Stages checks the grids of Szegedy et al. 2017: Figure 3
// (the stem: 73×73×160, 71×71×192, 35×35×384) and Figure 9 (35×35×384,
// 17×17×1024, 8×8×1536).
func TestInceptionV4Stages(t *testing.T) {
	if testing.Short() {
		t.Skip("a full-size forward pass")
	}
	shapes, y := stageShapes(t, newInceptionV4(inceptionV4Table), tensor.New(1, 3, 299, 299))
	checkStages(t, shapes, map[string][3]int{
		"mixed_3a":    {160, 73, 73},
		"mixed_4a":    {192, 71, 71},
		"stem":        {384, 35, 35},
		"inception_a": {384, 35, 35},
		"reduction_a": {1024, 17, 17},
		"inception_b": {1024, 17, 17},
		"reduction_b": {1536, 8, 8},
		"inception_c": {1536, 8, 8},
	})
	if !slices.Equal(y.Shape(), []int{1, 1000}) {
		t.Errorf("logits %v", y.Shape())
	}
}

// TestInceptionResNetStages checks the grids: Inception-ResNet-v1 as
// Figures 14 and 15 (35×35×256, 17×17×896, 8×8×1792); v2 as the released
// model (35×35×320, 17×17×1088, 8×8×2080, then 1536; see the file's doc).
func TestInceptionResNetStages(t *testing.T) {
	if testing.Short() {
		t.Skip("full-size forward passes")
	}
	for name, want := range map[string]map[string][3]int{
		"inception_resnet_v1": {
			"stem": {256, 35, 35}, "repeat_a": {256, 35, 35}, "mixed_6a": {896, 17, 17},
			"repeat_b": {896, 17, 17}, "mixed_7a": {1792, 8, 8}, "repeat_c": {1792, 8, 8},
		},
		"inception_resnet_v2": {
			"stem": {320, 35, 35}, "repeat_a": {320, 35, 35}, "mixed_6a": {1088, 17, 17},
			"repeat_b": {1088, 17, 17}, "mixed_7a": {2080, 8, 8}, "repeat_c": {2080, 8, 8},
			"conv2d_7b": {1536, 8, 8},
		},
	} {
		t.Run(name, func(t *testing.T) {
			shapes, y := stageShapes(t, newInceptionResNet(inceptionResNetSpecs[name]), tensor.New(1, 3, 299, 299))
			checkStages(t, shapes, want)
			if !slices.Equal(y.Shape(), []int{1, 1000}) {
				t.Errorf("logits %v", y.Shape())
			}
		})
	}
}

// TestInceptionV4Keys spot-checks the ports' names.
func TestInceptionV4Keys(t *testing.T) {
	for name, want := range map[string][]string{
		"inception_v4": {"features.0.conv.weight", "features.3.conv.conv.weight", "features.4.branch1.3.bn.running_var",
			"features.5.conv.bn.bias", "features.6.branch3.1.conv.weight", "features.10.branch1.2.conv.weight",
			"features.17.branch2.4.conv.weight", "features.18.branch1.3.conv.weight", "features.21.branch2_3b.bn.weight",
			"last_linear.bias"},
		"inception_resnet_v1": {"conv2d_1a.conv.weight", "conv2d_4b.bn.running_mean", "repeat_1.4.branch2.2.conv.weight",
			"repeat_1.0.conv2d.bias", "mixed_6a.branch1.2.conv.weight", "repeat_2.9.branch1.2.conv.weight",
			"mixed_7a.branch2.2.bn.weight", "repeat_3.4.conv2d.weight", "block8.conv2d.bias", "last_linear.weight"},
		"inception_resnet_v2": {"conv2d_1a.conv.weight", "mixed_5b.branch3.1.conv.weight", "repeat.9.branch2.2.conv.weight",
			"repeat_1.19.branch1.2.bn.running_var", "repeat_2.8.conv2d.weight", "block8.conv2d.bias",
			"conv2d_7b.bn.weight", "last_linear.bias"},
	} {
		keys := map[string][]int{}
		e, _ := lookup(name)
		for _, en := range nn.Walk(e.build()) {
			keys[en.Name] = en.Tensor.Shape()
		}
		for _, k := range want {
			if _, ok := keys[k]; !ok {
				t.Errorf("%s: no %s", name, k)
			}
		}
	}
	// The transposed factorisations of the released model (the file's
	// doc): Inception-B's double branch starts 7x1, Inception-C's 3x1.
	v4 := nn.StateDict(newInceptionV4(inceptionV4Table))
	for k, want := range map[string][]int{
		"features.11.branch2.1.conv.weight": {192, 192, 7, 1},
		"features.19.branch2_1.conv.weight": {448, 384, 3, 1},
		"features.4.branch1.1.conv.weight":  {64, 64, 1, 7},
	} {
		if got := v4[k].Shape(); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", k, got, want)
		}
	}
	if _, ok := nn.StateDict(newInceptionResNet(inceptionResNetSpecs["inception_resnet_v1"]))["mixed_5b.branch0.conv.weight"]; ok {
		t.Error("inception_resnet_v1 has v2's mixed_5b")
	}
}

// TestResidualInception checks an Inception-ResNet block against its
// definition (§3.2, §3.3): x + scale·conv2d(concat(branches)) then ReLU,
// without the ReLU for the final block8.
func TestResidualInception(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, reluOn := range []bool{true, false} {
		b := newResidualC(12, false, 0.2, reluOn)
		initTorchDefault(b, rng)
		perturbBN(b, rng)
		x := randomInput(rng, 2, 12, 5, 5)
		got, err := b.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		y0, _ := b.Branch0.Forward(x)
		y1, _ := b.Branch1.Forward(x)
		cat, _ := nn.Concat(y0, y1)
		up, err := b.Conv2d.Forward(cat)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range up.Data() {
			want := v*0.2 + x.Data()[i]
			if reluOn {
				want = max(want, 0)
			}
			if math.Abs(float64(got.Data()[i]-want)) > 1e-6*max(1, math.Abs(float64(want))) {
				t.Fatalf("relu %v: value %d: %v, want %v", reluOn, i, got.Data()[i], want)
			}
		}
	}
}

// TestDropBackgroundClass loads a 1001-class checkpoint, as the TensorFlow
// ports publish them, into a 1000-class network: row 0 ("background") is
// dropped, as Cadene's loader does.
func TestDropBackgroundClass(t *testing.T) {
	s := inceptionResNetSpecs["inception_resnet_v1"]
	s.a, s.b, s.c, s.classes = 1, 1, 1, 4
	net := newInceptionResNet(s)
	sd := map[string]*tensor.Tensor{}
	for k, v := range nn.StateDict(net) {
		sd[k] = v.Clone()
	}
	w := tensor.New(5, net.LastLinear.In)
	b := tensor.New(5)
	for i := range b.Data() {
		b.Data()[i] = float32(i)
		w.Data()[i*net.LastLinear.In] = float32(10 * i)
	}
	sd["last_linear.weight"], sd["last_linear.bias"] = w, b
	if err := nn.LoadStateDict(net, net.upgradeStateDict(sd)); err != nil {
		t.Fatal(err)
	}
	if got := net.LastLinear.Bias.Data(); !slices.Equal(got, []float32{1, 2, 3, 4}) {
		t.Errorf("bias %v, want classes 1–4 of the file", got)
	}
	if got := net.LastLinear.Weight.Data()[0]; got != 10 {
		t.Errorf("weight row 0 starts %v, want the file's row 1 (10)", got)
	}
	// A checkpoint of the network's own width passes unchanged.
	own := nn.StateDict(net)
	if got := net.upgradeStateDict(own); got["last_linear.weight"] != own["last_linear.weight"] {
		t.Error("a 1000-class checkpoint was changed")
	}
}
