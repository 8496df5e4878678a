package autograd

import (
	"errors"
	"fmt"
	"slices"

	"govision.dev/vision/tensor"
)

// ErrShape is the category of a wrongly shaped operand.
var ErrShape = tensor.ErrShape

// ErrGraph is the category of a misuse of the graph: Backward from a
// value that needs no gradient, or through a graph already consumed.
var ErrGraph = errors.New("autograd: bad graph")

// Var is a tensor in a computation: its value and, when it requires a
// gradient, how it was computed and (after Backward) its gradient.
//
// A leaf is a Var made by New, Param or Constant: a parameter or an input.
// Every operation of the package returns a new Var that requires a
// gradient if any operand does, and only then records the operation (its
// operands and its backward function); otherwise nothing is recorded and
// the operation costs what its forward pass costs.
//
// A Var is not safe for concurrent use: one goroutine builds and
// differentiates a graph.
type Var struct {
	value        *tensor.Tensor
	grad         *tensor.Tensor
	requiresGrad bool
	node         *node // the operation that made it; nil for a leaf or a constant
}

// node is a recorded operation.
type node struct {
	op       string
	inputs   []*Var
	backward BackwardFunc
}

// BackwardFunc returns the gradients of an operation's inputs, one per
// input in order (nil for an input that needs none), given gy, the
// gradient of its output. It may return gy itself, or one tensor for
// several inputs: gradients are read, never changed, by the engine.
type BackwardFunc func(gy *tensor.Tensor) ([]*tensor.Tensor, error)

// New returns a leaf holding t (not a copy), requiring a gradient or not.
func New(t *tensor.Tensor, requiresGrad bool) *Var {
	return &Var{value: t, requiresGrad: requiresGrad}
}

// Param returns a leaf holding t that requires a gradient.
func Param(t *tensor.Tensor) *Var { return New(t, true) }

// Constant returns a leaf holding t that requires no gradient.
func Constant(t *tensor.Tensor) *Var { return New(t, false) }

// Value returns the tensor the Var holds (not a copy).
func (v *Var) Value() *tensor.Tensor { return v.value }

// Shape returns the value's shape.
func (v *Var) Shape() []int { return v.value.Shape() }

// Grad returns the accumulated gradient of a leaf that requires one, or
// nil before any Backward reached it (or after ZeroGrad).
func (v *Var) Grad() *tensor.Tensor { return v.grad }

// SetGrad replaces the gradient (an optimizer test, a gradient from
// elsewhere); t must have the value's shape.
func (v *Var) SetGrad(t *tensor.Tensor) { v.grad = t }

// ZeroGrad drops the accumulated gradient (torch's zero_grad with
// set_to_none): the next Backward starts from nothing.
func (v *Var) ZeroGrad() { v.grad = nil }

// RequiresGrad reports whether gradients flow to or through the Var.
func (v *Var) RequiresGrad() bool { return v != nil && v.requiresGrad }

// SetRequiresGrad switches a leaf's gradient on or off (freezing a
// parameter). It returns an error for a Var computed by an operation.
func (v *Var) SetRequiresGrad(on bool) error {
	if v.node != nil {
		return fmt.Errorf("%w: SetRequiresGrad on the result of %s, not a leaf", ErrGraph, v.node.op)
	}
	v.requiresGrad = on
	return nil
}

// IsLeaf reports whether v was made by New, Param or Constant rather than
// computed by a recorded operation.
func (v *Var) IsLeaf() bool { return v.node == nil }

// Detach returns a leaf holding v's value (shared) that requires no
// gradient: what is computed from it is not differentiated back to v.
func (v *Var) Detach() *Var { return Constant(v.value) }

// Op names the operation that computed v, or "" for a leaf.
func (v *Var) Op() string {
	if v.node == nil {
		return ""
	}
	return v.node.op
}

// anyRequires reports whether any of vs (nil entries ignored) requires a
// gradient.
func anyRequires(vs ...*Var) bool {
	for _, v := range vs {
		if v != nil && v.requiresGrad {
			return true
		}
	}
	return false
}

// Record returns a Var holding y computed by the operation op from inputs:
// if any input requires a gradient, the result does too and backward is
// recorded for Backward to call; otherwise it returns a constant and
// backward is never called. Custom operations use it (or Func, which calls
// it); see the package doc.
func Record(op string, y *tensor.Tensor, inputs []*Var, backward BackwardFunc) *Var {
	if !anyRequires(inputs...) {
		return Constant(y)
	}
	return &Var{value: y, requiresGrad: true, node: &node{op: op, inputs: inputs, backward: backward}}
}

// Backward computes the gradient of v, which must hold a single value (a
// loss), with respect to every leaf it was computed from that requires a
// gradient, and adds it to the leaf's Grad (as torch's backward
// accumulates). The graph is consumed: the operations' saved tensors are
// let go, and a second Backward through the same operations is an error.
func (v *Var) Backward() error {
	if !v.requiresGrad {
		return fmt.Errorf("%w: Backward from a value that requires no gradient (no parameter or input it depends on requires one)", ErrGraph)
	}
	if v.value.Len() != 1 {
		return fmt.Errorf("%w: Backward of a value of shape %v; give the output gradient with BackwardWith", ErrShape, v.value.Shape())
	}
	seed := tensor.New(v.value.Shape()...)
	seed.Data()[0] = 1
	return v.BackwardWith(seed)
}

// BackwardWith is Backward seeded with gy, the gradient of some scalar
// with respect to v (of v's shape): gradients are then those of that
// scalar.
func (v *Var) BackwardWith(gy *tensor.Tensor) error {
	if !v.requiresGrad {
		return fmt.Errorf("%w: Backward from a value that requires no gradient (no parameter or input it depends on requires one)", ErrGraph)
	}
	if gy == nil || !slices.Equal(gy.Shape(), v.value.Shape()) {
		var s []int
		if gy != nil {
			s = gy.Shape()
		}
		return fmt.Errorf("%w: Backward: gradient %v for a value of shape %v", ErrShape, s, v.value.Shape())
	}
	order := topo(v)
	grads := map[*Var]*tensor.Tensor{v: gy}
	// owned marks the gradients the engine made itself (sums), which it may
	// add into; the others may be shared with an operation's output.
	owned := map[*Var]bool{}
	var firstErr error
	for i := len(order) - 1; i >= 0; i-- {
		u := order[i]
		g := grads[u]
		delete(grads, u)
		n := u.node
		if g == nil || firstErr != nil {
			n.inputs, n.backward = nil, nil
			continue
		}
		if n.backward == nil {
			firstErr = fmt.Errorf("%w: Backward through %s a second time: the graph was consumed by an earlier Backward", ErrGraph, n.op)
			continue
		}
		gs, err := n.backward(g)
		if err == nil && len(gs) != len(n.inputs) {
			err = fmt.Errorf("%w: %d gradients for %d inputs", ErrShape, len(gs), len(n.inputs))
		}
		if err != nil {
			firstErr = fmt.Errorf("autograd: backward of %s: %w", n.op, err)
			n.inputs, n.backward = nil, nil
			continue
		}
		for j, in := range n.inputs {
			gi := gs[j]
			if in == nil || !in.requiresGrad || gi == nil {
				continue
			}
			if gi.Len() != in.value.Len() {
				firstErr = fmt.Errorf("autograd: backward of %s: %w: gradient %v for input %d of shape %v",
					n.op, ErrShape, gi.Shape(), j, in.value.Shape())
				break
			}
			if in.node == nil {
				accumulate(in, gi)
				continue
			}
			prev, ok := grads[in]
			switch {
			case !ok:
				grads[in] = gi
			case owned[in]:
				addTo(prev.Data(), gi.Data())
			default:
				sum := prev.Clone()
				addTo(sum.Data(), gi.Data())
				grads[in] = sum
				owned[in] = true
			}
		}
		n.inputs, n.backward = nil, nil
	}
	if v.node == nil {
		accumulate(v, gy)
	}
	return firstErr
}

// accumulate adds g into leaf's gradient, copying it the first time (g may
// be shared).
func accumulate(leaf *Var, g *tensor.Tensor) {
	if leaf.grad == nil {
		t := g.Clone()
		if r, err := t.Reshape(leaf.value.Shape()...); err == nil {
			t = r
		}
		leaf.grad = t
		return
	}
	addTo(leaf.grad.Data(), g.Data())
}

func addTo(dst, src []float32) {
	for i, v := range src {
		dst[i] += v
	}
}

// topo returns the recorded Vars v depends on (v included, leaves
// excluded), each after all its inputs.
func topo(v *Var) []*Var {
	var order []*Var
	seen := map[*Var]bool{}
	type frame struct {
		v *Var
		i int
	}
	if v.node == nil {
		return nil
	}
	stack := []frame{{v, 0}}
	seen[v] = true
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if f.i < len(f.v.node.inputs) {
			in := f.v.node.inputs[f.i]
			f.i++
			if in != nil && in.node != nil && in.requiresGrad && !seen[in] {
				seen[in] = true
				stack = append(stack, frame{in, 0})
			}
			continue
		}
		order = append(order, f.v)
		stack = stack[:len(stack)-1]
	}
	return order
}
