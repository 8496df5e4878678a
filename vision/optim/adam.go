package optim

import (
	"fmt"
	"math"
)

// AdamOptions are torch.optim.Adam's and AdamW's keyword arguments beyond
// the learning rate and the weight decay; zero values mean torch's
// defaults (betas 0.9 and 0.999, eps 1e-8).
type AdamOptions struct {
	Beta1, Beta2 float64
	Eps          float64
	// Decoupled makes it AdamW (Loshchilov & Hutter 2019): the weight
	// decay shrinks the parameter (p·(1 − lr·wd)) instead of adding wd·p
	// to the gradient.
	Decoupled bool
}

// Adam is torch.optim.Adam, or AdamW with Decoupled (torch 1.13,
// amsgrad off), per parameter, in float32 as torch (Kingma & Ba 2015,
// Algorithm 1):
//
//	g = g + wd·p             (Adam)       p = p·(1 − lr·wd)   (AdamW)
//	m = β1·m + (1−β1)·g
//	v = β2·v + (1−β2)·g²
//	p = p − lr/(1−β1^t) · m/(√v/√(1−β2^t) + ε)
type Adam struct {
	groups []*Group
	opt    AdamOptions
	state  map[string]*adamState
}

type adamState struct {
	step int
	m, v []float32
}

// NewAdam returns an Adam (or AdamW) over the groups.
func NewAdam(groups []*Group, o AdamOptions) (*Adam, error) {
	if err := checkGroups(groups); err != nil {
		return nil, err
	}
	if o.Beta1 == 0 && o.Beta2 == 0 {
		o.Beta1, o.Beta2 = 0.9, 0.999
	}
	if o.Eps == 0 {
		o.Eps = 1e-8
	}
	if o.Beta1 < 0 || o.Beta1 >= 1 || o.Beta2 < 0 || o.Beta2 >= 1 || o.Eps < 0 {
		return nil, fmt.Errorf("optim: Adam: betas (%v, %v) and eps %v: want betas in [0, 1) and eps ≥ 0", o.Beta1, o.Beta2, o.Eps)
	}
	return &Adam{groups: groups, opt: o, state: map[string]*adamState{}}, nil
}

func (a *Adam) kind() string {
	if a.opt.Decoupled {
		return "adamw"
	}
	return "adam"
}

// Groups returns the parameter groups.
func (a *Adam) Groups() []*Group { return a.groups }

// Step updates the parameters that have gradients.
func (a *Adam) Step() {
	b1, b2 := float32(a.opt.Beta1), float32(a.opt.Beta2)
	eps := float32(a.opt.Eps)
	for _, g := range a.groups {
		for _, p := range g.Params {
			grad := p.Var.Grad()
			if grad == nil {
				continue
			}
			w, gd := p.Var.Value().Data(), grad.Data()
			st := a.state[p.Name]
			if st == nil {
				st = &adamState{m: make([]float32, len(w)), v: make([]float32, len(w))}
				a.state[p.Name] = st
			}
			st.step++
			bc1 := 1 - math.Pow(a.opt.Beta1, float64(st.step))
			bc2 := 1 - math.Pow(a.opt.Beta2, float64(st.step))
			stepSize := float32(g.LR / bc1)
			bc2Sqrt := float32(math.Sqrt(bc2))
			wd := float32(g.WeightDecay)
			decay := float32(1 - g.LR*g.WeightDecay)
			for i, v := range gd {
				if wd != 0 {
					if a.opt.Decoupled {
						w[i] *= decay
					} else {
						v += wd * w[i]
					}
				}
				st.m[i] = st.m[i]*b1 + (1-b1)*v
				st.v[i] = st.v[i]*b2 + (1-b2)*v*v
				denom := float32(math.Sqrt(float64(st.v[i])))/bc2Sqrt + eps
				w[i] -= stepSize * (st.m[i] / denom)
			}
		}
	}
}

// State returns the moments, step counts and the groups' rates.
func (a *Adam) State() *State {
	st := newState(a.kind(), a.groups)
	for name, s := range a.state {
		st.Params[name] = &ParamState{Step: s.step, Buffers: map[string]Floats{
			"exp_avg": append(Floats(nil), s.m...), "exp_avg_sq": append(Floats(nil), s.v...)}}
	}
	return st
}

// LoadState restores a state from State.
func (a *Adam) LoadState(st *State) error {
	states := map[string]*adamState{}
	err := st.check(a.kind(), a.groups, func(name string, n int, ps *ParamState) error {
		m, ok1 := ps.Buffers["exp_avg"]
		v, ok2 := ps.Buffers["exp_avg_sq"]
		if !ok1 || !ok2 || len(m) != n || len(v) != n || ps.Step < 1 {
			return fmt.Errorf("%w: %s: parameter %s: moments of %d and %d values at step %d, want %d values",
				ErrState, a.kind(), name, len(m), len(v), ps.Step, n)
		}
		states[name] = &adamState{step: ps.Step, m: append([]float32(nil), m...), v: append([]float32(nil), v...)}
		return nil
	})
	if err != nil {
		return err
	}
	st.apply(a.groups)
	a.state = states
	return nil
}
