package classify

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// stageShapes runs net on x and returns the shape of each stage the
// forward pass reports.
func stageShapes(t *testing.T, net tapper, x *tensor.Tensor) (map[string][]int, *tensor.Tensor) {
	t.Helper()
	shapes := map[string][]int{}
	y, err := net.forward(x, func(stage string, y *tensor.Tensor) { shapes[stage] = y.Shape() })
	if err != nil {
		t.Fatal(err)
	}
	return shapes, y
}

// checkStages compares stage shapes with the paper's [C, H, W] per stage.
func checkStages(t *testing.T, got map[string][]int, want map[string][3]int) {
	t.Helper()
	for stage, w := range want {
		g, ok := got[stage]
		if !ok {
			t.Errorf("stage %s not reported", stage)
			continue
		}
		if len(g) != 4 || g[1] != w[0] || g[2] != w[1] || g[3] != w[2] {
			t.Errorf("stage %s: %v, want [N %d %d %d]", stage, g, w[0], w[1], w[2])
		}
	}
}

// randomInput is an image batch of values in [−1, 1).
func randomInput(rng *rand.Rand, shape ...int) *tensor.Tensor {
	x := tensor.New(shape...)
	for i := range x.Data() {
		x.Data()[i] = 2*rng.Float32() - 1
	}
	return x
}

// perturbBN sets every batch norm's statistics and affine parameters away
// from their defaults, so that a test sees them.
func perturbBN(net nn.Module, rng *rand.Rand) {
	for _, m := range nn.Modules(net) {
		if bn, ok := m.(*nn.BatchNorm2d); ok {
			for i := 0; i < bn.C; i++ {
				bn.Weight.Data()[i] = 0.5 + rng.Float32()
				bn.Bias.Data()[i] = rng.Float32() - 0.5
				bn.RunningMean.Data()[i] = 0.2 * (rng.Float32() - 0.5)
				bn.RunningVar.Data()[i] = 0.5 + rng.Float32()
			}
		}
	}
	nn.Refresh(net)
}

// newZoo builds a registry model and fails the test on error.
func newZoo(t *testing.T, name string) *Model {
	t.Helper()
	m, err := New(name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestDenseNetBC100 checks the CIFAR DenseNet-BC (L = 100, k = 12)
// against Huang et al. 2017: Table 2's 0.8M parameters, and §3's layout:
// a 3x3 convolution to 2k = 24 channels at 32×32, three dense blocks of 16
// bottleneck layers (each adding k = 12 channels) on 32×32, 16×16 and 8×8
// grids, transitions halving the channels (θ = 0.5).
func TestDenseNetBC100(t *testing.T) {
	m := newZoo(t, "densenet_bc_100_12")
	if p := m.Params(); math.Round(float64(p)/1e5)/10 != 0.8 {
		t.Errorf("%d parameters, the paper's Table 2 says 0.8M", p)
	}
	shapes, y := stageShapes(t, m.Net().(tapper), randomInput(rand.New(rand.NewPCG(1, 1)), 2, 3, 32, 32))
	checkStages(t, shapes, map[string][3]int{
		"features.pool0":       {24, 32, 32}, // the stem: conv0 alone
		"features.denseblock1": {24 + 16*12, 32, 32},
		"features.transition1": {108, 16, 16},
		"features.denseblock2": {108 + 16*12, 16, 16},
		"features.transition2": {150, 8, 8},
		"features.denseblock3": {150 + 16*12, 8, 8},
	})
	if !slices.Equal(y.Shape(), []int{2, 10}) {
		t.Errorf("logits %v, want [2 10]", y.Shape())
	}
}

// TestDenseNetImageNetStages checks densenet121's grids against Table 1
// (56×56 after the stem, 28, 14, 7 after the transitions; 1024 channels
// before the classifier).
func TestDenseNetImageNetStages(t *testing.T) {
	if testing.Short() {
		t.Skip("a full-size forward pass")
	}
	net := newDenseNet(denseNetSpecs["densenet121"])
	shapes, _ := stageShapes(t, net, tensor.New(1, 3, 224, 224))
	checkStages(t, shapes, map[string][3]int{
		"features.pool0":       {64, 56, 56},
		"features.denseblock1": {64 + 6*32, 56, 56},
		"features.transition1": {128, 28, 28},
		"features.denseblock2": {128 + 12*32, 28, 28},
		"features.transition2": {256, 14, 14},
		"features.denseblock3": {256 + 24*32, 14, 14},
		"features.transition3": {512, 7, 7},
		"features.denseblock4": {512 + 16*32, 7, 7},
	})
}

// TestDenseBlockInPlace checks that a dense block, which writes each
// layer's maps into one preallocated output, equals the plain form:
// torch.cat of the input and every layer's DenseLayer.Forward.
func TestDenseBlockInPlace(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	net := newDenseNet(denseNetSpec{growth: 4, blocks: []int{3}, initFeatures: 5, bnSize: 2, classes: 3, cifar: true})
	initDenseNet(net, rng)
	perturbBN(net, rng)
	b := net.Features.Blocks[0]
	for _, n := range []int{1, 3} {
		t.Run(fmt.Sprintf("N=%d", n), func(t *testing.T) {
			x := randomInput(rng, n, 5, 6, 7)
			got, err := b.Forward(x)
			if err != nil {
				t.Fatal(err)
			}
			want := x
			for _, l := range b.Layers {
				y, err := l.Forward(want)
				if err != nil {
					t.Fatal(err)
				}
				if want, err = nn.Concat(want, y); err != nil {
					t.Fatal(err)
				}
			}
			if !slices.Equal(got.Shape(), want.Shape()) {
				t.Fatalf("shape %v, want %v", got.Shape(), want.Shape())
			}
			for i, w := range want.Data() {
				if d := math.Abs(float64(got.Data()[i] - w)); d > 1e-5*max(1, math.Abs(float64(w))) {
					t.Fatalf("value %d: %v, want %v", i, got.Data()[i], w)
				}
			}
		})
	}
}

// TestDenseNetOldKeys loads a state dict under the key names of
// torchvision's released DenseNet checkpoints ("norm.1" for "norm1"),
// which Model.LoadStateDict renames as torchvision's loader does.
func TestDenseNetOldKeys(t *testing.T) {
	m := newZoo(t, "densenet_bc_100_12")
	old := map[string]*tensor.Tensor{}
	renamed := 0
	for k, v := range m.StateDict() {
		o := oldDenseLayerName(k)
		if o != k {
			renamed++
		}
		c := v.Clone()
		if c.Len() > 0 {
			c.Data()[0] += 1 // so that loading shows
		}
		old[o] = c
	}
	if renamed == 0 {
		t.Fatal("no key to rename")
	}
	if err := m.LoadStateDict(old); err != nil {
		t.Fatal(err)
	}
	got := m.StateDict()["features.denseblock1.denselayer1.norm1.weight"].Data()[0]
	if want := old["features.denseblock1.denselayer1.norm.1.weight"].Data()[0]; got != want {
		t.Errorf("norm.1.weight not loaded into norm1.weight: %v, want %v", got, want)
	}
}

// oldDenseLayerName spells a dense layer's key as torchvision before 0.3
// did: "norm1" as "norm.1", "conv2" as "conv.2".
func oldDenseLayerName(k string) string {
	for _, p := range []string{"norm1", "norm2", "conv1", "conv2"} {
		for _, s := range []string{"weight", "bias", "running_mean", "running_var"} {
			from := "." + p + "." + s
			if len(k) > len(from) && k[len(k)-len(from):] == from && containsDenseLayer(k) {
				return k[:len(k)-len(from)] + "." + p[:4] + "." + p[4:] + "." + s
			}
		}
	}
	return k
}

func containsDenseLayer(k string) bool {
	for i := 0; i+10 <= len(k); i++ {
		if k[i:i+10] == "denselayer" {
			return true
		}
	}
	return false
}

// TestInceptionFamiliesMACs compares the analytic multiply-accumulate
// counts at the default input size with torchvision's published figures
// (the GFLOPS column of torchvision's model documentation, which counts
// multiply-accumulates) and timm's (GMACs, Inception-v4 and
// Inception-ResNet-v2), to their published precision. timm also counts the
// average pooling's additions, hence its 12.28 for our 12.25.
func TestInceptionFamiliesMACs(t *testing.T) {
	for _, c := range []struct {
		name  string
		gmacs float64
		tol   float64
	}{
		{"densenet121", 2.83, 0.005},
		{"densenet161", 7.73, 0.005},
		{"densenet169", 3.36, 0.005},
		{"densenet201", 4.29, 0.005},
		{"googlenet", 1.50, 0.005},
		{"inception_v3", 5.71, 0.005},
		{"inception_v4", 12.28, 0.05},
		{"inception_resnet_v2", 13.2, 0.05},
	} {
		t.Run(c.name, func(t *testing.T) {
			info, err := Describe(c.name)
			if err != nil {
				t.Fatal(err)
			}
			if got := float64(info.MACs) / 1e9; math.Abs(got-c.gmacs) > c.tol {
				t.Errorf("%.3f GMACs, published %.2f", got, c.gmacs)
			}
		})
	}
}

// TestInceptionFamiliesZoo builds each model of the Inception, DenseNet and
// NiN files through the registry: the record's parameter count is the
// network's, and a forward pass on a batch of two gives finite logits of
// the label set's width, the same from concurrent calls.
func TestInceptionFamiliesZoo(t *testing.T) {
	var names []string
	for _, tab := range [][]entry{densenetModels, googlenetModels, bnInceptionModels, inceptionV3Models, inceptionV4Models, ninModels} {
		for _, e := range tab {
			names = append(names, e.name)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			info, err := Describe(name)
			if err != nil {
				t.Fatal(err)
			}
			want := info.Weights.Params
			if name == "inception_v3" {
				// torchvision's record counts the auxiliary classifier,
				// which its checkpoint carries (27,161,264); the network
				// without it has torchvision's weights=None count.
				want = 23834568
			}
			if info.Params != want {
				t.Errorf("%d parameters, record %d", info.Params, want)
			}
			if testing.Short() && info.Params > 10e6 {
				t.Skip("drawing the weights of a large network")
			}
			// A small input (the networks end in global pooling) keeps
			// the test cheap; the stage tests run the full sizes. The
			// largest networks are built with zero weights: drawing 40M
			// and more values takes most of a second (their init,
			// initTorchDefault, is the lead's and tested there).
			var m *Model
			if info.Params > 30e6 {
				e, _ := lookup(name)
				m = newModel(e, e.build())
			} else {
				m = newZoo(t, name)
			}
			s := min(m.Weights().Preprocess.Size(), 96)
			x := randomInput(rand.New(rand.NewPCG(5, 6)), 2, 3, s, s)
			y, err := m.Forward(x)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(y.Shape(), []int{2, m.Classes()}) {
				t.Fatalf("logits %v, want [2 %d]", y.Shape(), m.Classes())
			}
			for _, v := range y.Data() {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("logit %v", v)
				}
			}
			var wg sync.WaitGroup
			errs := make(chan error, 3)
			for g := 0; g < 3; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					y2, err := m.Forward(x)
					if err == nil && !slices.Equal(y2.Data(), y.Data()) {
						err = fmt.Errorf("concurrent Forward gave other logits")
					}
					if err != nil {
						errs <- err
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

// TestInceptionFamiliesBadInput checks that a wrongly shaped input is an
// error, not a panic.
func TestInceptionFamiliesBadInput(t *testing.T) {
	nets := map[string]tapper{
		"densenet":     newDenseNet(denseNetSpec{growth: 4, blocks: []int{1, 1}, initFeatures: 4, bnSize: 1, classes: 2}),
		"googlenet":    newGoogLeNet(googlenetTable),
		"inception_v3": newInceptionV3(inceptionV3Table),
		"bn_inception": newBNInception(bnInceptionTable),
		"inception_v4": newInceptionV4(inceptionV4Table),
		"ir_v2":        newInceptionResNet(inceptionResNetSpecs["inception_resnet_v2"]),
		"nin":          newNiN(ninSpecs["nin_cifar10"]),
	}
	for name, net := range nets {
		for _, x := range []*tensor.Tensor{nil, tensor.New(3, 32, 32), tensor.New(1, 4, 32, 32), tensor.New(1, 3, 1, 1)} {
			if _, err := net.forward(x, nil); err == nil {
				t.Errorf("%s: input %v: no error", name, shapeOf(x))
			}
		}
	}
}
