package optim

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"govision.dev/vision/autograd"
	"govision.dev/vision/tensor"
)

// Against torch.optim on the fixtures of tools/golden/autograd.py: the
// same parameters and gradients, step by step. Updates are float32 as
// torch's, so the parameters agree to a few units in the last place;
// tol is relative to the largest magnitude of the reference.
const tol = 1e-5

type goldenTensor struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

func (g goldenTensor) tensor(t *testing.T) *tensor.Tensor {
	t.Helper()
	data := make([]float32, len(g.Data))
	for i, v := range g.Data {
		data[i] = float32(v)
	}
	x, err := tensor.FromData(g.Shape, data)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func relErr(got []float32, want []float64) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	var d, m float64
	for i, w := range want {
		d = math.Max(d, math.Abs(float64(got[i])-w))
		m = math.Max(m, math.Abs(w))
	}
	if m == 0 {
		return d
	}
	return d / m
}

type golden struct {
	Cases []struct {
		Name      string                    `json:"name"`
		Optimizer string                    `json:"optimizer"`
		Config    map[string]any            `json:"config"`
		Groups    []goldenGroup             `json:"groups"`
		Params    map[string]goldenTensor   `json:"params"`
		Grads     []map[string]goldenTensor `json:"grads"`
		After     []map[string]goldenTensor `json:"after"`
	} `json:"cases"`
	Schedules []struct {
		Name      string         `json:"name"`
		Scheduler string         `json:"scheduler"`
		Config    map[string]any `json:"config"`
		BaseLR    float64        `json:"base_lr"`
		LRs       []float64      `json:"lrs"`
	} `json:"schedules"`
	Clip []struct {
		Name      string         `json:"name"`
		MaxNorm   float64        `json:"max_norm"`
		Grads     []goldenTensor `json:"grads"`
		TotalNorm float64        `json:"total_norm"`
		After     []goldenTensor `json:"after"`
	} `json:"clip"`
}

type goldenGroup struct {
	Name        string   `json:"name"`
	Params      []string `json:"params"`
	LR          float64  `json:"lr"`
	WeightDecay float64  `json:"weight_decay"`
}

func readGolden(t *testing.T) golden {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "golden", "optim.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

func num(c map[string]any, k string, def float64) float64 {
	if v, ok := c[k].(float64); ok {
		return v
	}
	return def
}

func newOptimizer(t *testing.T, kind string, c map[string]any, groups []*Group) Optimizer {
	t.Helper()
	var (
		o   Optimizer
		err error
	)
	switch kind {
	case "sgd":
		nest, _ := c["nesterov"].(bool)
		o, err = NewSGD(groups, SGDOptions{Momentum: num(c, "momentum", 0), Dampening: num(c, "dampening", 0), Nesterov: nest})
	case "adam", "adamw":
		ao := AdamOptions{Eps: num(c, "eps", 0), Decoupled: kind == "adamw"}
		if b, ok := c["betas"].([]any); ok {
			ao.Beta1, ao.Beta2 = b[0].(float64), b[1].(float64)
		}
		o, err = NewAdam(groups, ao)
	default:
		t.Fatalf("unknown optimizer %q", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestGoldenOptimizers(t *testing.T) {
	g := readGolden(t)
	if len(g.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			vars := map[string]*autograd.Var{}
			for name, p := range c.Params {
				vars[name] = autograd.Param(p.tensor(t))
			}
			var groups []*Group
			for _, gg := range c.Groups {
				grp := &Group{Name: gg.Name, BaseLR: gg.LR, LR: gg.LR, WeightDecay: gg.WeightDecay}
				for _, name := range gg.Params {
					grp.Params = append(grp.Params, autograd.NamedVar{Name: name, Var: vars[name]})
				}
				groups = append(groups, grp)
			}
			opt := newOptimizer(t, c.Optimizer, c.Config, groups)
			for step, grads := range c.Grads {
				for name, gr := range grads {
					vars[name].SetGrad(gr.tensor(t))
				}
				opt.Step()
				for name, want := range c.After[step] {
					if e := relErr(vars[name].Value().Data(), want.Data); !(e <= tol) {
						t.Errorf("step %d: %s: relative error %.3g", step+1, name, e)
					}
				}
				if step == 1 {
					// A state saved and restored into a fresh optimizer
					// continues identically.
					data, err := json.Marshal(opt.State())
					if err != nil {
						t.Fatal(err)
					}
					var st State
					if err := json.Unmarshal(data, &st); err != nil {
						t.Fatal(err)
					}
					fresh := newOptimizer(t, c.Optimizer, c.Config, groups)
					if err := fresh.LoadState(&st); err != nil {
						t.Fatal(err)
					}
					opt = fresh
				}
			}
		})
	}
}

func TestGoldenSchedules(t *testing.T) {
	g := readGolden(t)
	for _, s := range g.Schedules {
		t.Run(s.Name, func(t *testing.T) {
			c := s.Config
			var sch Schedule
			switch s.Scheduler {
			case "step":
				sch = StepDecay{Size: int(num(c, "step_size", 1)), Gamma: num(c, "gamma", 0.1)}
			case "multistep":
				var ms []int
				for _, m := range c["milestones"].([]any) {
					ms = append(ms, int(m.(float64)))
				}
				sch = MultiStep{Milestones: ms, Gamma: num(c, "gamma", 0.1)}
			case "cosine":
				sch = Cosine{T: int(num(c, "T_max", 1)), MinLR: num(c, "eta_min", 0)}
			case "poly":
				sch = Poly{Total: int(num(c, "total_iters", 1)), Power: num(c, "power", 1)}
			case "warmup_cosine":
				sch = Warmup{Steps: int(num(c, "warmup", 0)), StartFactor: num(c, "start_factor", 1),
					Then: Cosine{T: int(num(c, "T_max", 1))}}
			default:
				t.Fatalf("unknown schedule %q", s.Scheduler)
			}
			for step, want := range s.LRs {
				got := sch.LR(s.BaseLR, step)
				if math.Abs(got-want) > 1e-12+1e-9*math.Abs(want) {
					t.Errorf("step %d: lr %.12g, torch %.12g", step, got, want)
				}
			}
		})
	}
}

func TestGoldenClipGradNorm(t *testing.T) {
	g := readGolden(t)
	for _, c := range g.Clip {
		t.Run(c.Name, func(t *testing.T) {
			var ps []autograd.NamedVar
			for i, gr := range c.Grads {
				v := autograd.Param(tensor.New(gr.Shape...))
				v.SetGrad(gr.tensor(t))
				ps = append(ps, autograd.NamedVar{Name: string(rune('a' + i)), Var: v})
			}
			total := ClipGradNorm(ps, c.MaxNorm)
			if math.Abs(total-c.TotalNorm) > 1e-6*c.TotalNorm {
				t.Errorf("total norm %v, torch %v", total, c.TotalNorm)
			}
			for i, p := range ps {
				if e := relErr(p.Var.Grad().Data(), c.After[i].Data); !(e <= tol) {
					t.Errorf("gradient %d: relative error %.3g", i, e)
				}
			}
		})
	}
}

func TestSplit(t *testing.T) {
	mk := func(name string, shape ...int) autograd.NamedVar {
		return autograd.NamedVar{Name: name, Var: autograd.Param(tensor.New(shape...))}
	}
	gs := Split([]autograd.NamedVar{mk("conv1.weight", 4, 3, 3, 3), mk("bn1.weight", 4), mk("bn1.bias", 4),
		mk("fc.weight", 2, 4), mk("fc.bias", 2)}, 0.1, 1e-4)
	var names [][]string
	for _, g := range gs {
		var ns []string
		for _, p := range g.Params {
			ns = append(ns, p.Name)
		}
		names = append(names, ns)
	}
	want := [][]string{{"conv1.weight", "fc.weight"}, {"bn1.weight", "bn1.bias", "fc.bias"}}
	if len(names) != 2 || !slices.Equal(names[0], want[0]) || !slices.Equal(names[1], want[1]) {
		t.Errorf("groups %v, want %v", names, want)
	}
	if gs[0].WeightDecay != 1e-4 || gs[1].WeightDecay != 0 {
		t.Errorf("weight decays %v, %v", gs[0].WeightDecay, gs[1].WeightDecay)
	}
}

func TestLoadStateErrors(t *testing.T) {
	p := autograd.NamedVar{Name: "w", Var: autograd.Param(tensor.New(3))}
	p.Var.SetGrad(tensor.New(3))
	sgd, _ := NewSGD(One([]autograd.NamedVar{p}, 0.1, 0), SGDOptions{Momentum: 0.9})
	sgd.Step()
	adam, _ := NewAdam(One([]autograd.NamedVar{p}, 0.1, 0), AdamOptions{})
	if err := adam.LoadState(sgd.State()); err == nil {
		t.Error("an SGD state loaded into Adam")
	}
	st := sgd.State()
	st.Params["w"].Buffers["momentum_buffer"] = Floats{1, 2}
	if err := sgd.LoadState(st); err == nil {
		t.Error("a short momentum buffer loaded")
	}
	q := autograd.NamedVar{Name: "v", Var: autograd.Param(tensor.New(3))}
	other, _ := NewSGD(One([]autograd.NamedVar{q}, 0.1, 0), SGDOptions{Momentum: 0.9})
	if err := other.LoadState(sgd.State()); err == nil {
		t.Error("a state of other parameters loaded")
	}
}
