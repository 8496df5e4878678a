package autograd

import (
	"errors"
	"testing"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

func TestFrozenRecordsNothing(t *testing.T) {
	n := NewNet(benchNet())
	n.Train(false)
	n.RequiresGrad(false)
	y, err := n.Forward(Constant(tensor.New(2, 3, 8, 8)))
	if err != nil {
		t.Fatal(err)
	}
	if y.RequiresGrad() || !y.IsLeaf() {
		t.Errorf("a frozen forward returned a recorded value (op %q)", y.Op())
	}
	if err := y.Backward(); !errors.Is(err, ErrGraph) {
		t.Errorf("Backward of a constant: %v, want ErrGraph", err)
	}
	// An input requiring a gradient makes even a frozen model record.
	x := Param(tensor.New(2, 3, 8, 8))
	y, err = n.Forward(x)
	if err != nil || !y.RequiresGrad() {
		t.Fatalf("input gradient through a frozen model: %v, %v", y, err)
	}
	s, _ := Sum(y)
	if err := s.Backward(); err != nil || x.Grad() == nil {
		t.Fatalf("backward: %v", err)
	}
	for _, p := range n.Params() {
		if p.Var.Grad() != nil {
			t.Errorf("frozen parameter %s has a gradient", p.Name)
		}
	}
}

func TestBackwardConsumesGraph(t *testing.T) {
	x := Param(tensor.New(3))
	y, _ := Scale(x, 2)
	s, _ := Sum(y)
	if err := s.Backward(); err != nil {
		t.Fatal(err)
	}
	if err := s.Backward(); !errors.Is(err, ErrGraph) {
		t.Errorf("second Backward: %v, want ErrGraph", err)
	}
	// Gradients accumulate across graphs until ZeroGrad.
	y, _ = Scale(x, 2)
	s, _ = Sum(y)
	s.Backward()
	if g := x.Grad().Data()[0]; g != 4 {
		t.Errorf("accumulated gradient %v, want 4", g)
	}
	x.ZeroGrad()
	if x.Grad() != nil {
		t.Error("ZeroGrad kept the gradient")
	}
}

func TestUnknownModule(t *testing.T) {
	n := NewNet(nn.NewSequential(nn.NewLocalResponseNorm(3)))
	_, err := n.Forward(Param(tensor.New(1, 3, 2, 2)))
	if !errors.Is(err, ErrGraph) {
		t.Errorf("LocalResponseNorm: %v, want ErrGraph", err)
	}
}

func TestDropoutTrainEval(t *testing.T) {
	d := nn.NewDropout(0.5)
	n := NewNet(nn.NewSequential(d))
	x := tensor.New(1000)
	for i := range x.Data() {
		x.Data()[i] = 1
	}
	y, err := n.Forward(Param(x))
	if err != nil {
		t.Fatal(err)
	}
	zeros := 0
	for _, v := range y.Value().Data() {
		switch v {
		case 0:
			zeros++
		case 2:
		default:
			t.Fatalf("value %v, want 0 or 2", v)
		}
	}
	if zeros < 400 || zeros > 600 {
		t.Errorf("%d of 1000 dropped at p = 0.5", zeros)
	}
	n.Train(false)
	y, _ = n.Forward(Param(x))
	if y.Value() != x {
		t.Error("evaluation-mode dropout is not the identity")
	}
}
