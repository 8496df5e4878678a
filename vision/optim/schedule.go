package optim

import (
	"math"
	"sort"
)

// Schedule gives the learning rate at step t (counting from 0, in whatever
// unit the caller steps it: epochs or iterations) from the base rate, in
// closed form as torch's schedulers' _get_closed_form_lr.
type Schedule interface {
	LR(base float64, t int) float64
}

// SetLR sets every group's LR to s at step t from the group's BaseLR.
func SetLR(opt Optimizer, s Schedule, t int) {
	for _, g := range opt.Groups() {
		g.LR = s.LR(g.BaseLR, t)
	}
}

// Constant keeps the base rate.
type Constant struct{}

// LR returns base.
func (Constant) LR(base float64, _ int) float64 { return base }

// StepDecay is torch's StepLR: the rate times Gamma every Size steps,
// base·Gamma^⌊t/Size⌋.
type StepDecay struct {
	Size  int
	Gamma float64
}

// LR returns the rate at step t.
func (s StepDecay) LR(base float64, t int) float64 {
	return base * math.Pow(s.Gamma, float64(t/max(s.Size, 1)))
}

// MultiStep is torch's MultiStepLR: the rate times Gamma at each
// milestone, base·Gamma^(milestones ≤ t).
type MultiStep struct {
	Milestones []int // sorted
	Gamma      float64
}

// LR returns the rate at step t.
func (s MultiStep) LR(base float64, t int) float64 {
	k := sort.Search(len(s.Milestones), func(i int) bool { return s.Milestones[i] > t })
	return base * math.Pow(s.Gamma, float64(k))
}

// Cosine is torch's CosineAnnealingLR (Loshchilov & Hutter 2017, without
// restarts): MinLR + (base − MinLR)·(1 + cos(π·t/T))/2.
type Cosine struct {
	T     int
	MinLR float64
}

// LR returns the rate at step t.
func (s Cosine) LR(base float64, t int) float64 {
	return s.MinLR + (base-s.MinLR)*(1+math.Cos(math.Pi*float64(t)/float64(max(s.T, 1))))/2
}

// Poly is torch's PolynomialLR, DeepLab's "poly" policy (Chen et al.
// 2016, §4.1: power 0.9): base·(1 − min(t, Total)/Total)^Power.
type Poly struct {
	Total int
	Power float64
}

// LR returns the rate at step t.
func (s Poly) LR(base float64, t int) float64 {
	T := max(s.Total, 1)
	return base * math.Pow(1-float64(min(t, T))/float64(T), s.Power)
}

// Warmup is a linear warm-up followed by another schedule, as torch's
// SequentialLR([LinearLR(start_factor, 1, Steps), Then], [Steps]): for
// t < Steps the rate is base·(StartFactor + (1 − StartFactor)·t/Steps),
// then Then's rate at t − Steps (nil Then: Constant).
type Warmup struct {
	Steps       int
	StartFactor float64
	Then        Schedule
}

// LR returns the rate at step t.
func (s Warmup) LR(base float64, t int) float64 {
	if t < s.Steps {
		return base * (s.StartFactor + (1-s.StartFactor)*float64(t)/float64(s.Steps))
	}
	if s.Then == nil {
		return base
	}
	return s.Then.LR(base, t-s.Steps)
}
