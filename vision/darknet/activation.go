package darknet

import (
	"math"
	"sort"
	"strings"
)

// Activation is one of darknet's activation functions (src/activations.h),
// named in cfgs by its lower-case name.
type Activation int

// darknet's activations; the formulas are those of src/activations.h,
// evaluated as there (the constants are C doubles, so most are computed in
// float64 and rounded to float32).
const (
	Logistic Activation = iota // 1/(1+e^−x)
	Loggy                      // 2/(1+e^−x) − 1
	ReLU                       // max(x, 0)
	ELU                        // x ≥ 0 ? x : e^x − 1
	SELU                       // 1.0507·(x ≥ 0 ? x : 1.6732·(e^x − 1))
	RELIE                      // x > 0 ? x : 0.01·x
	Ramp                       // max(x, 0) + 0.1·x
	Linear                     // x
	Tanh                       // (e^2x − 1)/(e^2x + 1)
	PLSE                       // piecewise linear sigmoid
	Leaky                      // x > 0 ? x : 0.1·x
	Stair                      // darknet's staircase
	HardTan                    // clamp(x, −1, 1)
	LHTan                      // leaky hard tanh
)

var activationNames = [...]string{
	Logistic: "logistic", Loggy: "loggy", ReLU: "relu", ELU: "elu", SELU: "selu",
	RELIE: "relie", Ramp: "ramp", Linear: "linear", Tanh: "tanh", PLSE: "plse",
	Leaky: "leaky", Stair: "stair", HardTan: "hardtan", LHTan: "lhtan",
}

var activationByName = func() map[string]Activation {
	m := make(map[string]Activation, len(activationNames))
	for a, n := range activationNames {
		m[n] = Activation(a)
	}
	return m
}()

func activationList() string {
	names := append([]string(nil), activationNames[:]...)
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// String returns the cfg name.
func (a Activation) String() string {
	if a >= 0 && int(a) < len(activationNames) {
		return activationNames[a]
	}
	return "Activation(?)"
}

// activate applies a to each value of x in place.
func activate(x []float32, a Activation) {
	switch a {
	case Linear:
	case Logistic:
		for i, v := range x {
			x[i] = logistic(v)
		}
	case Leaky:
		for i, v := range x {
			if !(v > 0) {
				x[i] = float32(.1 * float64(v))
			}
		}
	case ReLU:
		for i, v := range x {
			if !(v > 0) {
				x[i] = 0 * v // darknet's x*(x>0): −0 stays −0, NaN stays NaN
			}
		}
	default:
		f := activationFuncs[a]
		for i, v := range x {
			x[i] = f(v)
		}
	}
}

// logistic is darknet's logistic_activate: 1./(1. + exp(-x)) in double.
func logistic(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }

var activationFuncs = [...]func(float32) float32{
	Logistic: logistic,
	Loggy:    func(x float32) float32 { return float32(2/(1+math.Exp(-float64(x))) - 1) },
	ReLU: func(x float32) float32 {
		if x > 0 {
			return x
		}
		return 0 * x
	},
	ELU: func(x float32) float32 {
		if x >= 0 {
			return x
		}
		return float32(math.Exp(float64(x)) - 1)
	},
	SELU: func(x float32) float32 {
		if x >= 0 {
			return float32(1.0507 * float64(x))
		}
		return float32(1.0507 * 1.6732 * (math.Exp(float64(x)) - 1))
	},
	RELIE: func(x float32) float32 {
		if x > 0 {
			return x
		}
		return float32(.01 * float64(x))
	},
	Ramp: func(x float32) float32 {
		r := 0.0
		if x > 0 {
			r = float64(x)
		}
		return float32(r + .1*float64(x))
	},
	Linear: func(x float32) float32 { return x },
	Tanh: func(x float32) float32 {
		e := math.Exp(2 * float64(x))
		return float32((e - 1) / (e + 1))
	},
	PLSE: func(x float32) float32 {
		switch {
		case x < -4:
			return float32(.01 * (float64(x) + 4))
		case x > 4:
			return float32(.01*(float64(x)-4) + 1)
		}
		return float32(.125*float64(x) + .5)
	},
	Leaky: func(x float32) float32 {
		if x > 0 {
			return x
		}
		return float32(.1 * float64(x))
	},
	Stair: func(x float32) float32 {
		n := int(math.Floor(float64(x)))
		if n%2 == 0 {
			return float32(math.Floor(float64(x) / 2))
		}
		return float32(float64(x-float32(n)) + math.Floor(float64(x)/2))
	},
	HardTan: func(x float32) float32 {
		switch {
		case x < -1:
			return -1
		case x > 1:
			return 1
		}
		return x
	},
	LHTan: func(x float32) float32 {
		switch {
		case x < 0:
			return float32(.001 * float64(x))
		case x > 1:
			return float32(.001*(float64(x)-1) + 1)
		}
		return x
	},
}
