package autograd

import (
	"fmt"
	"math/rand/v2"
	"reflect"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// Net runs an nn.Module differentiably: its parameters become Vars (found
// by nn.Walk, keyed by their tensors), and Forward runs the module's
// layers through this package's operations, in training or evaluation
// mode.
//
// nn's layers and Sequential are known; a model with its own Forward (a
// zoo network, a paper's layer) is run by a function registered with
// Register, written with this package's operations and Net.Apply for its
// sub-modules. A Net that is in evaluation mode and has no Var requiring a
// gradient — a frozen model — runs the module's own Forward, fused batch
// norms and all: it records and costs nothing more.
//
// The Vars hold the module's own tensors, so an optimizer stepping them
// changes the module. A Net is not safe for concurrent use.
type Net struct {
	module   nn.Module
	params   map[*tensor.Tensor]*Var
	list     []NamedVar
	training bool
	rng      *rand.Rand
	custom   map[reflect.Type]func(*Net, nn.Module, *Var) (*Var, error)
}

// NamedVar is a parameter and its state-dict name.
type NamedVar struct {
	Name string
	Var  *Var
}

// NewNet returns m's differentiable form, in training mode, with every
// parameter (every tensor nn.Walk lists that is not a buffer) requiring a
// gradient. Dropout draws from a generator seeded with 1 until SetRNG
// gives another.
func NewNet(m nn.Module) *Net {
	n := &Net{module: m, params: map[*tensor.Tensor]*Var{}, training: true,
		rng: rand.New(rand.NewPCG(1, 0))}
	for _, e := range nn.Walk(m) {
		if e.Buffer {
			continue
		}
		v, ok := n.params[e.Tensor]
		if !ok { // a tensor tied to several names is one parameter
			v = Param(e.Tensor)
			n.params[e.Tensor] = v
			n.list = append(n.list, NamedVar{Name: e.Name, Var: v})
		}
	}
	return n
}

// Module returns the module n runs.
func (n *Net) Module() nn.Module { return n.module }

// Params returns the parameters in nn.Walk order.
func (n *Net) Params() []NamedVar { return n.list }

// Param returns the Var of a parameter tensor of the module, or, for any
// other tensor (a buffer, a fixed table), a constant holding it; nil for
// nil.
func (n *Net) Param(t *tensor.Tensor) *Var {
	if t == nil {
		return nil
	}
	if v, ok := n.params[t]; ok {
		return v
	}
	return Constant(t)
}

// Train switches training mode on (batch norms use and update batch
// statistics, dropout drops) or off. Switching it off also refreshes what
// layers derive from their tensors (nn.Refresh: the folded batch norms),
// which an optimizer's steps have made stale.
func (n *Net) Train(on bool) {
	n.training = on
	if !on {
		nn.Refresh(n.module)
	}
}

// Training reports whether n is in training mode.
func (n *Net) Training() bool { return n.training }

// SetRNG sets the generator dropout draws from.
func (n *Net) SetRNG(rng *rand.Rand) { n.rng = rng }

// RNG returns the generator dropout draws from.
func (n *Net) RNG() *rand.Rand { return n.rng }

// RequiresGrad switches every parameter's gradient on or off (off: a
// frozen model).
func (n *Net) RequiresGrad(on bool) {
	for _, p := range n.list {
		p.Var.requiresGrad = on
	}
}

// ZeroGrad drops every parameter's gradient.
func (n *Net) ZeroGrad() {
	for _, p := range n.list {
		p.Var.grad = nil
	}
}

func (n *Net) frozen(x *Var) bool {
	if n.training || x.requiresGrad {
		return false
	}
	for _, p := range n.list {
		if p.Var.requiresGrad {
			return false
		}
	}
	return true
}

// Forward runs the module on x.
func (n *Net) Forward(x *Var) (*Var, error) {
	if err := need(x); err != nil {
		return nil, fmt.Errorf("autograd: Net.Forward: %w", err)
	}
	if n.frozen(x) {
		return constant(n.module.Forward(x.value))
	}
	return n.Apply(n.module, x)
}

// Register makes n run modules of type T with f, which computes the
// module's output from x with this package's operations (and n.Apply for
// sub-modules, n.Param for the module's tensors).
func Register[T nn.Module](n *Net, f func(n *Net, m T, x *Var) (*Var, error)) {
	if n.custom == nil {
		n.custom = map[reflect.Type]func(*Net, nn.Module, *Var) (*Var, error){}
	}
	n.custom[reflect.TypeFor[T]()] = func(n *Net, m nn.Module, x *Var) (*Var, error) {
		return f(n, m.(T), x)
	}
}

// Apply runs the module m, n's module or one of its sub-modules, on x.
func (n *Net) Apply(m nn.Module, x *Var) (*Var, error) {
	if err := need(x); err != nil {
		return nil, fmt.Errorf("autograd: %T: %w", m, err)
	}
	if f, ok := n.custom[reflect.TypeOf(m)]; ok {
		return f(n, m, x)
	}
	switch l := m.(type) {
	case *nn.Sequential:
		for _, c := range l.Children() {
			y, err := n.Apply(c.Module, x)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.Name, err)
			}
			x = y
		}
		return x, nil
	case *nn.Conv2d:
		return Conv2d(l, x, n.Param(l.Weight), n.Param(l.Bias))
	case *nn.ConvTranspose2d:
		return ConvTranspose2d(l, x, n.Param(l.Weight), n.Param(l.Bias))
	case *nn.Linear:
		return Linear(x, n.Param(l.Weight), n.Param(l.Bias))
	case *nn.BatchNorm2d:
		return BatchNorm2d(l, x, n.Param(l.Weight), n.Param(l.Bias), n.training)
	case nn.ReLU, *nn.ReLU:
		return ReLU(x)
	case nn.ReLU6, *nn.ReLU6:
		return ReLU6(x)
	case nn.LeakyReLU:
		return LeakyReLU(x, l.Slope)
	case *nn.LeakyReLU:
		return LeakyReLU(x, l.Slope)
	case nn.Sigmoid, *nn.Sigmoid:
		return Sigmoid(x)
	case nn.Tanh, *nn.Tanh:
		return Tanh(x)
	case nn.Identity, *nn.Identity:
		return x, nil
	case *nn.Dropout:
		if !n.training {
			return x, nil
		}
		return Dropout(x, l.P, n.rng)
	case *nn.MaxPool2d:
		return MaxPool2d(l, x)
	case *nn.AvgPool2d:
		return AvgPool2d(l, x)
	case *nn.AdaptiveAvgPool2d:
		return AdaptiveAvgPool2d(l, x)
	case *nn.AdaptiveMaxPool2d:
		return AdaptiveMaxPool2d(l, x)
	case *nn.Flatten:
		return Flatten(x, l.StartDim, l.EndDim)
	case *nn.Softmax:
		return Softmax(x, l.Dim)
	case *nn.LogSoftmax:
		return LogSoftmax(x, l.Dim)
	case *nn.Upsample:
		return Interpolate(x, l.InterpolateOptions)
	case *nn.ZeroPad2d:
		return ZeroPad2d(l, x)
	}
	return nil, fmt.Errorf("%w: autograd: no differentiable form for %T; register one with autograd.Register", ErrGraph, m)
}
