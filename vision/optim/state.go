package optim

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
)

// State is an optimizer's state, for a checkpoint: what it is, each
// group's rates, and each parameter's buffers by the parameter's name.
// It marshals to JSON; buffers are exact (see Floats).
type State struct {
	Optimizer string                 `json:"optimizer"` // "sgd", "adam", "adamw"
	Groups    []GroupState           `json:"groups"`
	Params    map[string]*ParamState `json:"params"`
}

// GroupState is a group's options and its parameters' names.
type GroupState struct {
	Name        string   `json:"name"`
	BaseLR      float64  `json:"base_lr"`
	LR          float64  `json:"lr"`
	WeightDecay float64  `json:"weight_decay"`
	Params      []string `json:"params"`
}

// ParamState is one parameter's buffers (torch's names: momentum_buffer,
// exp_avg, exp_avg_sq) and step count.
type ParamState struct {
	Step    int               `json:"step,omitempty"`
	Buffers map[string]Floats `json:"buffers"`
}

// Floats is a float32 buffer that marshals to JSON as the base64 of its
// little-endian IEEE 754 bytes, so that a reload gives back every bit.
type Floats []float32

// MarshalJSON encodes the values as a base64 string.
func (f Floats) MarshalJSON() ([]byte, error) {
	b := make([]byte, 4*len(f))
	for i, v := range f {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return json.Marshal(base64.StdEncoding.EncodeToString(b))
}

// UnmarshalJSON decodes MarshalJSON's string.
func (f *Floats) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("%w: buffer: %v", ErrState, err)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b)%4 != 0 {
		return fmt.Errorf("%w: buffer: not base64 of float32 values", ErrState)
	}
	out := make(Floats, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	*f = out
	return nil
}

func newState(kind string, groups []*Group) *State {
	st := &State{Optimizer: kind, Params: map[string]*ParamState{}}
	for _, g := range groups {
		gs := GroupState{Name: g.Name, BaseLR: g.BaseLR, LR: g.LR, WeightDecay: g.WeightDecay}
		for _, p := range g.Params {
			gs.Params = append(gs.Params, p.Name)
		}
		st.Groups = append(st.Groups, gs)
	}
	return st
}

// check returns an error unless st is a state of kind for groups of the
// same names and parameters; each parameter's own state (if any) goes to
// param with the parameter's number of values.
func (st *State) check(kind string, groups []*Group, param func(name string, n int, ps *ParamState) error) error {
	if st == nil {
		return fmt.Errorf("%w: no state", ErrState)
	}
	if st.Optimizer != kind {
		return fmt.Errorf("%w: a state of %q for a %q optimizer", ErrState, st.Optimizer, kind)
	}
	if len(st.Groups) != len(groups) {
		return fmt.Errorf("%w: %d parameter groups, the optimizer has %d", ErrState, len(st.Groups), len(groups))
	}
	sizes := map[string]int{}
	for i, g := range groups {
		gs := st.Groups[i]
		var names []string
		for _, p := range g.Params {
			names = append(names, p.Name)
			sizes[p.Name] = p.Var.Value().Len()
		}
		if gs.Name != g.Name || !slices.Equal(gs.Params, names) {
			return fmt.Errorf("%w: group %d is %q of %d parameters, the optimizer's %q of %d (or their names differ)",
				ErrState, i, gs.Name, len(gs.Params), g.Name, len(names))
		}
	}
	for name, ps := range st.Params {
		n, ok := sizes[name]
		if !ok {
			return fmt.Errorf("%w: state for parameter %s, which no group holds", ErrState, name)
		}
		if ps == nil {
			return fmt.Errorf("%w: parameter %s: empty state", ErrState, name)
		}
		if err := param(name, n, ps); err != nil {
			return err
		}
	}
	return nil
}

// apply copies the groups' rates into groups (check has matched them).
func (st *State) apply(groups []*Group) {
	for i, g := range groups {
		g.BaseLR, g.LR, g.WeightDecay = st.Groups[i].BaseLR, st.Groups[i].LR, st.Groups[i].WeightDecay
	}
}
