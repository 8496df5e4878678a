package checkpoint

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"govision.dev/vision/autograd"
	"govision.dev/vision/nn"
	"govision.dev/vision/optim"
	"govision.dev/vision/tensor"
)

func smallNet() nn.Module {
	rng := rand.New(rand.NewPCG(3, 4))
	return nn.NewSequential(
		nn.NewConv2d(1, 4, nn.Kernel(3), nn.ConvOptions{}, rng), nn.NewBatchNorm2d(4), nn.ReLU{},
		nn.NewFlatten(), nn.NewDropout(0.2), nn.NewLinear(4*4*4, 3, true, rng))
}

// run is a training run that checkpoints after step stop (if > 0) and
// resumes from resume (if not "").
type run struct {
	m   nn.Module
	net *autograd.Net
	opt optim.Optimizer
	pcg *rand.PCG
}

func newRun(t *testing.T) *run {
	m := smallNet()
	net := autograd.NewNet(m)
	pcg := rand.NewPCG(9, 9)
	net.SetRNG(rand.New(pcg))
	opt, err := optim.NewAdam(optim.Split(net.Params(), 1e-2, 1e-3), optim.AdamOptions{Decoupled: true})
	if err != nil {
		t.Fatal(err)
	}
	return &run{m: m, net: net, opt: opt, pcg: pcg}
}

func (r *run) step(t *testing.T, i int) {
	x := tensor.New(4, 1, 6, 6)
	for j := range x.Data() {
		x.Data()[j] = float32((j*7+i*13)%11) / 11
	}
	r.net.ZeroGrad()
	y, err := r.net.Forward(autograd.Constant(x))
	if err != nil {
		t.Fatal(err)
	}
	loss, err := autograd.CrossEntropy(y, []int{i % 3, 1, 2, 0}, autograd.ClassLoss{})
	if err != nil {
		t.Fatal(err)
	}
	if err := loss.Backward(); err != nil {
		t.Fatal(err)
	}
	r.opt.Step()
}

func (r *run) save(t *testing.T, path string, step int) {
	state, err := r.pcg.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	meta := &Meta{Model: "small", Step: step, Seed: 9, RNG: state, Optimizer: r.opt.State(),
		Metrics: []map[string]float64{{"loss": 1.5}}}
	if err := Save(path, r.m, meta); err != nil {
		t.Fatal(err)
	}
}

func TestResumeIsExact(t *testing.T) {
	dir := t.TempDir()
	straight := newRun(t)
	for i := range 6 {
		straight.step(t, i)
	}
	first := newRun(t)
	for i := range 3 {
		first.step(t, i)
	}
	path := filepath.Join(dir, "step3.safetensors")
	first.save(t, path, 3)

	resumed := newRun(t)
	meta, err := Load(path, "small", resumed.m)
	if err != nil {
		t.Fatal(err)
	}
	if err := resumed.opt.LoadState(meta.Optimizer); err != nil {
		t.Fatal(err)
	}
	if err := resumed.pcg.UnmarshalBinary(meta.RNG); err != nil {
		t.Fatal(err)
	}
	for i := meta.Step; i < 6; i++ {
		resumed.step(t, i)
	}
	a, b := nn.StateDict(straight.m), nn.StateDict(resumed.m)
	for k, v := range a {
		if !slices.Equal(v.Data(), b[k].Data()) {
			t.Errorf("%s differs after resuming", k)
		}
	}
}

func TestBadCheckpoints(t *testing.T) {
	dir := t.TempDir()
	r := newRun(t)
	r.step(t, 0)
	path := filepath.Join(dir, "c.safetensors")
	r.save(t, path, 1)

	if _, err := Load(path, "resnet18", smallNet()); !errors.Is(err, ErrMismatch) {
		t.Errorf("another model's name: %v, want ErrMismatch", err)
	}
	other := nn.NewSequential(nn.NewLinear(3, 3, true, rand.New(rand.NewPCG(1, 1))))
	if _, err := Load(path, "small", other); !errors.Is(err, ErrMismatch) {
		t.Errorf("another architecture: %v, want ErrMismatch", err)
	}
	// A weight file changed after the sidecar was written.
	data, _ := os.ReadFile(path)
	data[len(data)-1] ^= 1
	os.WriteFile(path, data, 0o644)
	if _, err := Load(path, "small", smallNet()); !errors.Is(err, ErrCorrupt) {
		t.Errorf("altered weights: %v, want ErrCorrupt", err)
	}
	os.WriteFile(SidecarPath(path), []byte("{not json"), 0o644)
	if _, err := Load(path, "small", smallNet()); !errors.Is(err, ErrCorrupt) {
		t.Errorf("broken sidecar: %v, want ErrCorrupt", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.safetensors"), "small", smallNet()); err == nil {
		t.Error("a missing checkpoint loaded")
	}
	// No temporary files are left behind.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name()[0] == '.' {
			t.Errorf("left over: %s", e.Name())
		}
	}
}
