package optim

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"govision.dev/vision/autograd"
)

// ErrState is the category of an optimizer state that does not fit the
// optimizer it is loaded into.
var ErrState = errors.New("optim: state does not fit")

// Group is a set of parameters sharing a learning rate and a weight decay
// (torch's param_groups).
type Group struct {
	// Name identifies the group in a saved state ("decay", "no_decay").
	Name   string
	Params []autograd.NamedVar
	// BaseLR is the learning rate schedules scale; LR the one in use.
	BaseLR, LR float64
	// WeightDecay is the L2 penalty's coefficient (for AdamW, the
	// decoupled decay's).
	WeightDecay float64
}

// Optimizer updates parameters from their gradients.
type Optimizer interface {
	// Step updates every parameter that has a gradient (nil gradients are
	// skipped, as torch skips params whose grad is None).
	Step()
	// Groups returns the parameter groups, whose LR a schedule sets.
	Groups() []*Group
	// State returns the optimizer's state for a checkpoint.
	State() *State
	// LoadState restores a state State returned, strictly: a parameter or
	// buffer that does not fit is an error wrapping ErrState and then
	// nothing changes.
	LoadState(s *State) error
}

// Split returns the parameters in two groups, as the common recipe for
// training with weight decay does: "decay", the weights of convolutions
// and linear layers (two or more dimensions), with weightDecay, and
// "no_decay", biases and batch-norm γ and β (one dimension, or a name
// ending in ".bias"), without.
func Split(params []autograd.NamedVar, lr, weightDecay float64) []*Group {
	decay := &Group{Name: "decay", BaseLR: lr, LR: lr, WeightDecay: weightDecay}
	plain := &Group{Name: "no_decay", BaseLR: lr, LR: lr}
	for _, p := range params {
		if p.Var.Value().Dims() <= 1 || strings.HasSuffix(p.Name, ".bias") {
			plain.Params = append(plain.Params, p)
		} else {
			decay.Params = append(decay.Params, p)
		}
	}
	var gs []*Group
	for _, g := range []*Group{decay, plain} {
		if len(g.Params) > 0 {
			gs = append(gs, g)
		}
	}
	return gs
}

// One returns all params in one group named "all".
func One(params []autograd.NamedVar, lr, weightDecay float64) []*Group {
	return []*Group{{Name: "all", Params: params, BaseLR: lr, LR: lr, WeightDecay: weightDecay}}
}

// ClipGradNorm scales the gradients of params down so that their joint L2
// norm is at most maxNorm, as torch.nn.utils.clip_grad_norm_: the norm
// is that of the per-parameter norms, and every gradient is multiplied
// by min(1, maxNorm/(norm + 1e-6)). It returns the norm before clipping
// (+Inf or NaN if a gradient holds one; the gradients are then scaled by
// a NaN or 0, as torch does).
func ClipGradNorm(params []autograd.NamedVar, maxNorm float64) float64 {
	var sq float64
	for _, p := range params {
		g := p.Var.Grad()
		if g == nil {
			continue
		}
		var s float64
		for _, v := range g.Data() {
			s += float64(v) * float64(v)
		}
		n := math.Sqrt(s)
		sq += n * n
	}
	total := math.Sqrt(sq)
	coef := float32(min(maxNorm/(total+1e-6), 1))
	if coef == 1 {
		return total
	}
	for _, p := range params {
		if g := p.Var.Grad(); g != nil {
			for i := range g.Data() {
				g.Data()[i] *= coef
			}
		}
	}
	return total
}

// checkGroups returns an error unless every parameter has a name and
// appears once.
func checkGroups(groups []*Group) error {
	seen := map[string]bool{}
	for _, g := range groups {
		for _, p := range g.Params {
			if p.Var == nil {
				return fmt.Errorf("optim: group %q: parameter %q has no Var", g.Name, p.Name)
			}
			if p.Name == "" || seen[p.Name] {
				return fmt.Errorf("optim: group %q: parameter name %q empty or repeated", g.Name, p.Name)
			}
			seen[p.Name] = true
		}
	}
	return nil
}
