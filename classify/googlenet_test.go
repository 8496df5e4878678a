package classify

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// TestGoogLeNetStages checks each Inception module's output against the
// "output size" column of Szegedy et al. 2015, Table 1.
func TestGoogLeNetStages(t *testing.T) {
	if testing.Short() {
		t.Skip("a full-size forward pass")
	}
	shapes, y := stageShapes(t, newGoogLeNet(googlenetTable), tensor.New(1, 3, 224, 224))
	checkStages(t, shapes, map[string][3]int{
		"inception3a": {256, 28, 28},
		"inception3b": {480, 28, 28},
		"inception4a": {512, 14, 14},
		"inception4b": {512, 14, 14},
		"inception4c": {512, 14, 14},
		"inception4d": {528, 14, 14},
		"inception4e": {832, 14, 14},
		"inception5a": {832, 7, 7},
		"inception5b": {1024, 7, 7},
	})
	if !slices.Equal(y.Shape(), []int{1, 1000}) {
		t.Errorf("logits %v", y.Shape())
	}
}

// TestGoogLeNetAux checks the optional auxiliary classifiers: their keys
// (torchvision's aux_logits=True list is in the golden keys test), their
// forward pass on the 14×14 features (§5: 4×4 pooling, 1x1 128, fc 1024,
// fc), and that a checkpoint carrying them, as torchvision's googlenet
// file does, loads into the network without them.
func TestGoogLeNetAux(t *testing.T) {
	s := googlenetTable
	s.aux = true
	withAux := newGoogLeNet(s)
	y, err := withAux.Aux1.Forward(tensor.New(2, 512, 14, 14))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(y.Shape(), []int{2, 1000}) {
		t.Errorf("aux1 logits %v", y.Shape())
	}
	sd := nn.StateDict(withAux)
	plain := newGoogLeNet(googlenetTable)
	if err := nn.LoadStateDict(plain, sd); err == nil {
		t.Fatal("loading aux1/aux2 into a network without them should fail without the upgrade")
	}
	if err := nn.LoadStateDict(plain, plain.upgradeStateDict(sd)); err != nil {
		t.Fatal(err)
	}
	// With the heads, nothing is dropped.
	if got := withAux.upgradeStateDict(sd); len(got) != len(sd) {
		t.Errorf("the upgrade dropped %d tensors from a network with auxiliary heads", len(sd)-len(got))
	}
	for k := range plain.upgradeStateDict(sd) {
		if strings.HasPrefix(k, "aux") {
			t.Errorf("%s kept", k)
		}
	}
}

// TestTransformInput checks torchvision's transform_input: an input
// normalised with the ImageNet mean and standard deviation becomes
// (v − 0.5)/0.5 of the pixel value v.
func TestTransformInput(t *testing.T) {
	mean := []float64{0.485, 0.456, 0.406}
	std := []float64{0.229, 0.224, 0.225}
	rng := rand.New(rand.NewPCG(7, 8))
	const side = 32
	v := make([]float64, 2*3*side*side)
	x := tensor.New(2, 3, side, side)
	for i := range v {
		v[i] = rng.Float64()
		c := i / (side * side) % 3
		x.Data()[i] = float32((v[i] - mean[c]) / std[c])
	}
	y, err := inputTransform{}.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	for i, got := range y.Data() {
		if want := (v[i] - 0.5) / 0.5; math.Abs(float64(got)-want) > 1e-6 {
			t.Errorf("value %d: %v, want %v", i, got, want)
		}
	}
	if _, err := (inputTransform{}).Forward(tensor.New(1, 1, 2, 2)); err == nil {
		t.Error("a one-channel input should be refused")
	}
	// The flag runs it first in GoogLeNet's forward pass.
	g := newGoogLeNet(googlenetTable)
	initGoogLeNet(g, rng)
	nn.Refresh(g)
	a, err := g.Forward(y)
	if err != nil {
		t.Fatal(err)
	}
	g.TransformInput = true
	b, err := g.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Data() {
		if math.Abs(float64(a.Data()[i]-b.Data()[i])) > 1e-5*max(1, math.Abs(float64(a.Data()[i]))) {
			t.Fatalf("logit %d: %v with TransformInput, %v on the transformed input", i, b.Data()[i], a.Data()[i])
		}
	}
}
