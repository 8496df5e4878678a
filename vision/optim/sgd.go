package optim

import (
	"fmt"
)

// SGDOptions are torch.optim.SGD's keyword arguments beyond the
// learning rate and the weight decay (which are per group).
type SGDOptions struct {
	Momentum  float64
	Dampening float64
	Nesterov  bool
}

// SGD is torch.optim.SGD (torch 1.13), per parameter, in float32 as torch:
//
//	d = g + wd·p
//	if momentum ≠ 0:
//		buf = d                               (the first step)
//		buf = momentum·buf + (1−dampening)·d  (later steps)
//		d = d + momentum·buf if Nesterov, else buf
//	p = p − lr·d
//
// (Sutskever et al. 2013's formulation, as torch and not as the paper).
type SGD struct {
	groups []*Group
	opt    SGDOptions
	bufs   map[string][]float32
}

// NewSGD returns an SGD over the groups. Nesterov needs a momentum and no
// dampening, as torch requires.
func NewSGD(groups []*Group, o SGDOptions) (*SGD, error) {
	if err := checkGroups(groups); err != nil {
		return nil, err
	}
	if o.Momentum < 0 || o.Dampening < 0 {
		return nil, fmt.Errorf("optim: SGD: momentum %v, dampening %v: want at least 0", o.Momentum, o.Dampening)
	}
	if o.Nesterov && (o.Momentum <= 0 || o.Dampening != 0) {
		return nil, fmt.Errorf("optim: SGD: Nesterov momentum requires a momentum and zero dampening")
	}
	return &SGD{groups: groups, opt: o, bufs: map[string][]float32{}}, nil
}

// Groups returns the parameter groups.
func (s *SGD) Groups() []*Group { return s.groups }

// Step updates the parameters that have gradients.
func (s *SGD) Step() {
	mom := float32(s.opt.Momentum)
	damp := float32(1 - s.opt.Dampening)
	for _, g := range s.groups {
		lr, wd := float32(g.LR), float32(g.WeightDecay)
		for _, p := range g.Params {
			grad := p.Var.Grad()
			if grad == nil {
				continue
			}
			w, gd := p.Var.Value().Data(), grad.Data()
			if mom == 0 {
				for i, v := range gd {
					if wd != 0 {
						v += wd * w[i]
					}
					w[i] -= lr * v
				}
				continue
			}
			buf, ok := s.bufs[p.Name]
			if !ok {
				buf = make([]float32, len(w))
				s.bufs[p.Name] = buf
			}
			for i, v := range gd {
				if wd != 0 {
					v += wd * w[i]
				}
				if ok {
					buf[i] = buf[i]*mom + damp*v
				} else {
					buf[i] = v
				}
				if s.opt.Nesterov {
					v += mom * buf[i]
				} else {
					v = buf[i]
				}
				w[i] -= lr * v
			}
		}
	}
}

// State returns the momentum buffers and the groups' rates.
func (s *SGD) State() *State {
	st := newState("sgd", s.groups)
	for name, b := range s.bufs {
		st.Params[name] = &ParamState{Buffers: map[string]Floats{"momentum_buffer": append(Floats(nil), b...)}}
	}
	return st
}

// LoadState restores a state from State.
func (s *SGD) LoadState(st *State) error {
	bufs := map[string][]float32{}
	err := st.check("sgd", s.groups, func(name string, n int, ps *ParamState) error {
		b, ok := ps.Buffers["momentum_buffer"]
		if !ok || len(b) != n {
			return fmt.Errorf("%w: sgd: parameter %s: momentum buffer of %d values, want %d", ErrState, name, len(b), n)
		}
		bufs[name] = append([]float32(nil), b...)
		return nil
	})
	if err != nil {
		return err
	}
	st.apply(s.groups)
	s.bufs = bufs
	return nil
}
