package classify

import (
	"slices"
	"testing"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// TestInceptionV3Stages checks the grids of Szegedy et al. 2016, Table 1
// (35×35×288 after the Figure 5 modules, 17×17×768 after the Figure 6
// ones, 8×8×2048 after the Figure 7 ones) and the widths of each module of
// the released model.
func TestInceptionV3Stages(t *testing.T) {
	if testing.Short() {
		t.Skip("a full-size forward pass")
	}
	shapes, y := stageShapes(t, newInceptionV3(inceptionV3Table), tensor.New(1, 3, 299, 299))
	checkStages(t, shapes, map[string][3]int{
		"Mixed_5b": {256, 35, 35},
		"Mixed_5c": {288, 35, 35},
		"Mixed_5d": {288, 35, 35},
		"Mixed_6a": {768, 17, 17},
		"Mixed_6b": {768, 17, 17},
		"Mixed_6c": {768, 17, 17},
		"Mixed_6d": {768, 17, 17},
		"Mixed_6e": {768, 17, 17},
		"Mixed_7a": {1280, 8, 8},
		"Mixed_7b": {2048, 8, 8},
		"Mixed_7c": {2048, 8, 8},
	})
	if !slices.Equal(y.Shape(), []int{1, 1000}) {
		t.Errorf("logits %v", y.Shape())
	}
}

// TestInceptionV3Aux checks the optional auxiliary classifier (§7, on the
// 17×17×768 grid) and that torchvision's checkpoint, which carries it,
// loads into the network without it.
func TestInceptionV3Aux(t *testing.T) {
	s := inceptionV3Table
	s.aux = true
	withAux := newInceptionV3(s)
	y, err := withAux.AuxLogits.Forward(tensor.New(1, 768, 17, 17))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(y.Shape(), []int{1, 1000}) {
		t.Errorf("aux logits %v", y.Shape())
	}
	if got, want := nn.NumParams(withAux), 27161264; got != want {
		t.Errorf("%d parameters with the auxiliary classifier, torchvision's record %d", got, want)
	}
	sd := nn.StateDict(withAux)
	plain := newInceptionV3(inceptionV3Table)
	if err := nn.LoadStateDict(plain, plain.upgradeStateDict(sd)); err != nil {
		t.Fatal(err)
	}
	if got := withAux.upgradeStateDict(sd); len(got) != len(sd) {
		t.Errorf("the upgrade dropped tensors from a network with the auxiliary classifier")
	}
}

// TestInceptionV3TooSmall checks that an input below torchvision's
// minimum (75×75) is an error from the layer that runs out of plane.
func TestInceptionV3TooSmall(t *testing.T) {
	s := inceptionV3Table
	s.div = 16
	net := newInceptionV3(s)
	if _, err := net.Forward(tensor.New(1, 3, 75, 75)); err != nil {
		t.Errorf("75×75: %v", err)
	}
	if _, err := net.Forward(tensor.New(1, 3, 60, 60)); err == nil {
		t.Error("60×60: no error")
	}
}
