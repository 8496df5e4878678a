package darknet

import (
	"math"
	"testing"
)

// TestActivations checks the piecewise activations at points on each
// piece, worked out by hand from src/activations.h. (The golden networks
// check the others, and these in passing, against libdarknet; stair only
// here, as its steps turn rounding differences into jumps.)
func TestActivations(t *testing.T) {
	cases := []struct {
		a    Activation
		x    float32
		want float64
	}{
		{Stair, 2.5, 1},     // n = 2 even: floor(1.25)
		{Stair, 3.5, 1.5},   // n = 3 odd: (3.5 − 3) + floor(1.75)
		{Stair, -1.5, -1},   // n = −2 even: floor(−0.75)
		{Stair, -2.5, -1.5}, // n = −3 odd (−3 % 2 = −1): 0.5 + floor(−1.25)
		{HardTan, -3, -1}, {HardTan, 0.5, 0.5}, {HardTan, 2, 1},
		{LHTan, -2, -0.002}, {LHTan, 0.5, 0.5}, {LHTan, 3, 1.002},
		{PLSE, -6, -0.02}, {PLSE, 2, 0.75}, {PLSE, 6, 1.02},
		{Ramp, -1, -0.1}, {Ramp, 2, 2.2},
		{RELIE, -1, -0.01}, {RELIE, 3, 3},
		{Leaky, -2, -0.2}, {Leaky, 2, 2},
		{ReLU, -2, 0}, {ReLU, 2, 2},
		{ELU, -1, math.Exp(-1) - 1}, {ELU, 2, 2},
		{SELU, -1, 1.0507 * 1.6732 * (math.Exp(-1) - 1)}, {SELU, 2, 2.1014},
		{Logistic, 0, 0.5}, {Loggy, 0, 0}, {Tanh, 1, math.Tanh(1)}, {Linear, -7, -7},
	}
	for _, c := range cases {
		x := []float32{c.x}
		activate(x, c.a)
		if math.Abs(float64(x[0])-c.want) > 1e-6*max(1, math.Abs(c.want)) {
			t.Errorf("%v(%v) = %v, want %v", c.a, c.x, x[0], c.want)
		}
		if got := activationFuncs[c.a](c.x); got != x[0] {
			t.Errorf("%v(%v): activate gives %v, the function %v", c.a, c.x, x[0], got)
		}
	}
	for a := Logistic; a <= LHTan; a++ {
		if activationByName[a.String()] != a {
			t.Errorf("%v does not round-trip its name", a)
		}
	}
}
