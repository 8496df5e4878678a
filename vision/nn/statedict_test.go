package nn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"govision.dev/vision/tensor"
)

// testBlock is a residual block shaped like torchvision's BasicBlock, with
// an optional downsample Sequential and an activation held as a value.
type testBlock struct {
	Conv1      *Conv2d      `nn:"conv1"`
	BN1        *BatchNorm2d `nn:"bn1"`
	Act        ReLU         `nn:"relu"` // a module without tensors
	Downsample *Sequential  `nn:"downsample"`
}

func (b *testBlock) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	y, err := ConvBNAct(x, b.Conv1, b.BN1, b.Act)
	if err != nil {
		return nil, err
	}
	identity := x
	if b.Downsample != nil {
		if identity, err = b.Downsample.Forward(x); err != nil {
			return nil, err
		}
	}
	return y, AddInto(y, y, identity)
}

// testNet nests struct fields, a slice of blocks, a Sequential with named
// and nested children, an array of heads, and fields the walker skips.
type testNet struct {
	Conv1    *Conv2d      `nn:"conv1"`
	BN1      *BatchNorm2d `nn:"bn1"`
	Layer1   []*testBlock `nn:"layer1"`
	Features *Sequential  `nn:"features"`
	Pool     *AdaptiveAvgPool2d
	Heads    [2]*Linear `nn:"heads"`
	FC       *Linear    `nn:"fc"`
	Skipped  *Conv2d    `nn:"-"`
	hidden   *Conv2d
}

func newTestNet(rng *rand.Rand) *testNet {
	bn := func(c int) *BatchNorm2d {
		b := NewBatchNorm2d(c)
		for i := 0; i < c; i++ {
			b.Weight.Data()[i] = 0.5 + rng.Float32()
			b.Bias.Data()[i] = rng.Float32() - 0.5
			b.RunningMean.Data()[i] = rng.Float32() - 0.5
			b.RunningVar.Data()[i] = 0.5 + rng.Float32()
		}
		Refresh(b)
		return b
	}
	pad1 := ConvOptions{Padding: Padding(1)}
	features := NewSequential(NewConv2d(4, 3, Kernel(1), ConvOptions{}, rng), ReLU{})
	features.Add("norm", bn(3))
	features.Append(NewSequential(NewConv2d(3, 3, Kernel(1), ConvOptions{NoBias: true}, rng), NewMaxPool2d(Kernel(2), PoolOptions{})))
	return &testNet{
		Conv1: NewConv2d(2, 4, Kernel(3), ConvOptions{Padding: Padding(1), NoBias: true}, rng),
		BN1:   bn(4),
		Layer1: []*testBlock{
			{Conv1: NewConv2d(4, 4, Kernel(3), pad1, rng), BN1: bn(4),
				Downsample: NewSequential(NewConv2d(4, 4, Kernel(1), ConvOptions{NoBias: true}, rng), bn(4))},
			{Conv1: NewConv2d(4, 4, Kernel(3), pad1, rng), BN1: bn(4)},
		},
		Features: features,
		Pool:     NewAdaptiveAvgPool2d(1, 1),
		Heads:    [2]*Linear{NewLinear(3, 2, true, rng), NewLinear(3, 2, false, rng)},
		FC:       NewLinear(3, 2, true, rng),
		Skipped:  NewConv2d(1, 1, Kernel(1), ConvOptions{}, rng),
		hidden:   NewConv2d(1, 1, Kernel(1), ConvOptions{}, rng),
	}
}

func (m *testNet) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	x, err := ConvBNAct(x, m.Conv1, m.BN1, ReLU{})
	if err != nil {
		return nil, err
	}
	for _, b := range m.Layer1 {
		if x, err = b.Forward(x); err != nil {
			return nil, err
		}
	}
	if x, err = m.Features.Forward(x); err != nil {
		return nil, err
	}
	if x, err = m.Pool.Forward(x); err != nil {
		return nil, err
	}
	y, err := m.FC.Forward(x)
	if err != nil {
		return nil, err
	}
	for _, h := range m.Heads {
		z, err := h.Forward(x)
		if err != nil {
			return nil, err
		}
		if y, err = Add(y, z); err != nil {
			return nil, err
		}
	}
	return y, nil
}

func TestWalkNames(t *testing.T) {
	m := newTestNet(rand.New(rand.NewPCG(1, 2)))
	bn := func(prefix string, c int) []string {
		return []string{
			fmt.Sprintf("%s.weight [%d]", prefix, c),
			fmt.Sprintf("%s.bias [%d]", prefix, c),
			fmt.Sprintf("%s.running_mean [%d] buffer", prefix, c),
			fmt.Sprintf("%s.running_var [%d] buffer", prefix, c),
			fmt.Sprintf("%s.num_batches_tracked [] buffer optional", prefix),
		}
	}
	var want []string
	add := func(s ...string) { want = append(want, s...) }
	add("conv1.weight [4 2 3 3]")
	add(bn("bn1", 4)...)
	add("layer1.0.conv1.weight [4 4 3 3]", "layer1.0.conv1.bias [4]")
	add(bn("layer1.0.bn1", 4)...)
	add("layer1.0.downsample.0.weight [4 4 1 1]")
	add(bn("layer1.0.downsample.1", 4)...)
	add("layer1.1.conv1.weight [4 4 3 3]", "layer1.1.conv1.bias [4]")
	add(bn("layer1.1.bn1", 4)...)
	add("features.0.weight [3 4 1 1]", "features.0.bias [3]")
	add(bn("features.norm", 3)...)
	add("features.3.0.weight [3 3 1 1]")
	add("heads.0.weight [2 3]", "heads.0.bias [2]", "heads.1.weight [2 3]")
	add("fc.weight [2 3]", "fc.bias [2]")

	var got []string
	for _, e := range Walk(m) {
		s := fmt.Sprintf("%s %v", e.Name, e.Tensor.Shape())
		if e.Buffer {
			s += " buffer"
		}
		if e.Optional {
			s += " optional"
		}
		got = append(got, s)
	}
	if !slices.Equal(got, want) {
		t.Errorf("Walk names:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The entries are the model's own tensors, not copies.
	if e := Walk(m)[0]; e.Tensor != m.Conv1.Weight {
		t.Errorf("Walk(m)[0].Tensor is not m.Conv1.Weight")
	}
	// Modules lists the tree depth first, value modules included.
	if n := len(Modules(m)); n != 24 {
		t.Errorf("len(Modules(m)) = %d, want 29", n)
	}
	params := 0
	for _, s := range want {
		if !strings.Contains(s, "buffer") {
			var shape []int
			_, dims, _ := strings.Cut(s, " [")
			for _, f := range strings.Fields(strings.TrimSuffix(dims, "]")) {
				var d int
				fmt.Sscan(f, &d)
				shape = append(shape, d)
			}
			n := 1
			for _, d := range shape {
				n *= d
			}
			params += n
		}
	}
	if got := NumParams(m); got != params {
		t.Errorf("NumParams = %d, want %d", got, params)
	}
}

// cloneDict deep-copies a state dict.
func cloneDict(sd map[string]*tensor.Tensor) map[string]*tensor.Tensor {
	out := make(map[string]*tensor.Tensor, len(sd))
	for k, v := range sd {
		out[k] = v.Clone()
	}
	return out
}

// snapshot copies every value of m, by name.
func snapshot(m Module) map[string][]float32 {
	out := make(map[string][]float32)
	for _, e := range Walk(m) {
		out[e.Name] = slices.Clone(e.Tensor.Data())
	}
	return out
}

// brokenDict returns a state dict from another testNet with two tensors
// missing, two unexpected and two of the wrong shape (and the optional
// num_batches_tracked of bn1 missing, which is no error).
func brokenDict() map[string]*tensor.Tensor {
	sd := cloneDict(StateDict(newTestNet(rand.New(rand.NewPCG(3, 4)))))
	delete(sd, "bn1.running_var")
	delete(sd, "layer1.1.conv1.weight")
	delete(sd, "bn1.num_batches_tracked")
	sd["layer9.weight"] = tensor.New(2)
	sd["fc.extra"] = tensor.New(1)
	sd["fc.weight"] = tensor.New(3, 3)
	sd["features.0.bias"] = tensor.New(4)
	return sd
}

var brokenReport = LoadReport{
	Missing:    []string{"bn1.running_var", "layer1.1.conv1.weight"},
	Unexpected: []string{"fc.extra", "layer9.weight"},
	Mismatched: []ShapeMismatch{
		{Name: "features.0.bias", Want: []int{3}, Got: []int{4}},
		{Name: "fc.weight", Want: []int{2, 3}, Got: []int{3, 3}},
	},
}

func sameReport(a, b LoadReport) bool {
	return slices.Equal(a.Missing, b.Missing) && slices.Equal(a.Unexpected, b.Unexpected) &&
		slices.EqualFunc(a.Mismatched, b.Mismatched, func(x, y ShapeMismatch) bool {
			return x.Name == y.Name && slices.Equal(x.Want, y.Want) && slices.Equal(x.Got, y.Got)
		})
}

func TestLoadStateDictStrict(t *testing.T) {
	m := newTestNet(rand.New(rand.NewPCG(1, 2)))
	before := snapshot(m)
	err := LoadStateDict(m, brokenDict())
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("LoadStateDict error %v (%T), want a *LoadError", err, err)
	}
	if !errors.Is(err, ErrStateDict) {
		t.Errorf("error %v does not wrap ErrStateDict", err)
	}
	if !sameReport(le.Report, brokenReport) {
		t.Errorf("report %+v, want %+v", le.Report, brokenReport)
	}
	msg := err.Error()
	for _, name := range []string{"bn1.running_var", "layer1.1.conv1.weight", "fc.extra", "layer9.weight",
		"features.0.bias (model [3], state dict [4])", "fc.weight (model [2 3], state dict [3 3])",
		"missing 2", "unexpected 2", "wrong shape 2"} {
		if !strings.Contains(msg, name) {
			t.Errorf("error %q does not mention %q", msg, name)
		}
	}
	if strings.Contains(msg, "num_batches_tracked") {
		t.Errorf("error %q reports the optional num_batches_tracked", msg)
	}
	// A strict load that fails changes nothing.
	for name, v := range snapshot(m) {
		if !slices.Equal(v, before[name]) {
			t.Errorf("%s changed by a failed strict load", name)
		}
	}
}

func TestLoadStateDictLenient(t *testing.T) {
	m := newTestNet(rand.New(rand.NewPCG(1, 2)))
	before := snapshot(m)
	sd := brokenDict()
	r := LoadStateDictLenient(m, sd)
	if !sameReport(r, brokenReport) {
		t.Errorf("report %+v, want %+v", r, brokenReport)
	}
	if r.Empty() {
		t.Errorf("report.Empty() for %v", r)
	}
	after := snapshot(m)
	for name, v := range after {
		src, ok := sd[name]
		switch {
		case name == "bn1.running_var" || name == "layer1.1.conv1.weight" || name == "bn1.num_batches_tracked" ||
			name == "fc.weight" || name == "features.0.bias":
			if !slices.Equal(v, before[name]) {
				t.Errorf("%s changed, but it did not fit", name)
			}
		case !ok:
			t.Errorf("%s: not in the state dict", name)
		case !slices.Equal(v, src.Data()):
			t.Errorf("%s not loaded", name)
		}
	}
	// The fold was recomputed from the loaded statistics.
	b := m.Layer1[0].BN1
	want := float32(float64(b.Weight.Data()[0]) / math.Sqrt(float64(b.RunningVar.Data()[0])+float64(b.Eps)))
	if b.scale[0] != want {
		t.Errorf("folded scale %v after a lenient load, want %v", b.scale[0], want)
	}
	if s := (LoadReport{}).String(); s != "all tensors loaded" {
		t.Errorf("empty report says %q", s)
	}
}

func TestNumBatchesTracked(t *testing.T) {
	src := NewBatchNorm2d(3)
	for i := range 3 {
		src.RunningMean.Data()[i] = float32(i)
		src.RunningVar.Data()[i] = float32(i + 2)
	}
	base := func() map[string]*tensor.Tensor {
		sd := cloneDict(StateDict(src))
		delete(sd, "num_batches_tracked")
		return sd
	}
	scalar := func(shape ...int) *tensor.Tensor {
		x := tensor.New(shape...)
		x.Data()[0] = 7
		return x
	}
	for _, tc := range []struct {
		name  string
		nbt   *tensor.Tensor // nil: absent
		want  float32
		wrong bool
	}{
		{"shape_scalar", scalar(), 7, false},
		{"shape_1", scalar(1), 7, false},
		{"missing", nil, 0, false},
		{"shape_2", tensor.New(2), 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sd := base()
			if tc.nbt != nil {
				sd["num_batches_tracked"] = tc.nbt
			}
			b := NewBatchNorm2d(3)
			err := LoadStateDict(b, sd)
			if tc.wrong {
				var le *LoadError
				if !errors.As(err, &le) || len(le.Report.Mismatched) != 1 || le.Report.Mismatched[0].Name != "num_batches_tracked" {
					t.Fatalf("error %v, want a mismatched num_batches_tracked", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadStateDict: %v", err)
			}
			if got := b.NumBatchesTracked.Data()[0]; got != tc.want {
				t.Errorf("num_batches_tracked = %v, want %v", got, tc.want)
			}
			if !slices.Equal(b.RunningVar.Data(), src.RunningVar.Data()) {
				t.Errorf("running_var %v, want %v", b.RunningVar.Data(), src.RunningVar.Data())
			}
		})
	}
}

// TestStateDictRoundTrip saves one model's tensors and loads them into
// another built from other random numbers: the tensors and the outputs
// must then be the same, bit for bit.
func TestStateDictRoundTrip(t *testing.T) {
	a := newTestNet(rand.New(rand.NewPCG(1, 2)))
	b := newTestNet(rand.New(rand.NewPCG(5, 6)))
	x := tensor.New(2, 2, 6, 6)
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range x.Data() {
		x.Data()[i] = 2*rng.Float32() - 1
	}
	ya, err := a.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	yb, err := b.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(ya.Data(), yb.Data()) {
		t.Fatal("two random models agree before loading: the test shows nothing")
	}
	sd := cloneDict(StateDict(a))
	if err := LoadStateDict(b, sd); err != nil {
		t.Fatal(err)
	}
	for name, v := range StateDict(b) {
		if !slices.Equal(v.Data(), sd[name].Data()) || !slices.Equal(v.Shape(), sd[name].Shape()) {
			t.Errorf("%s differs after the round trip", name)
		}
	}
	if yb, err = b.Forward(x); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ya.Data(), yb.Data()) {
		t.Errorf("outputs differ after loading a's state dict into b")
	}
	// Loading a model's own tensors into itself is harmless.
	if err := LoadStateDict(b, StateDict(b)); err != nil {
		t.Fatal(err)
	}
	if yb, err = b.Forward(x); err != nil || !slices.Equal(ya.Data(), yb.Data()) {
		t.Errorf("outputs changed after loading b into itself (err %v)", err)
	}
}

// TestAdoptStateDict loads a's state dict into b without copying: b's
// tensors, the same *tensor.Tensor values as before, must then hold the
// state dict's own data, b must compute a's outputs, and a failed strict
// load must change nothing.
func TestAdoptStateDict(t *testing.T) {
	a := newTestNet(rand.New(rand.NewPCG(1, 2)))
	x := tensor.New(2, 2, 6, 6)
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range x.Data() {
		x.Data()[i] = 2*rng.Float32() - 1
	}
	ya, err := a.Forward(x)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("broken", func(t *testing.T) {
		b := newTestNet(rand.New(rand.NewPCG(5, 6)))
		before := snapshot(b)
		err := AdoptStateDict(b, brokenDict())
		var le *LoadError
		if !errors.As(err, &le) || !sameReport(le.Report, brokenReport) {
			t.Fatalf("AdoptStateDict error %v, want a *LoadError with %+v", err, brokenReport)
		}
		for name, v := range snapshot(b) {
			if !slices.Equal(v, before[name]) {
				t.Errorf("%s changed by a failed adoption", name)
			}
		}
	})

	t.Run("adopted", func(t *testing.T) {
		b := newTestNet(rand.New(rand.NewPCG(5, 6)))
		own := StateDict(b) // b's tensors before: the same pointers after
		sd := cloneDict(StateDict(a))
		// A scalar buffer saved as [1] for the model's [] is adopted in
		// the model's shape.
		nbt := tensor.New(1)
		nbt.Data()[0] = 7
		sd["bn1.num_batches_tracked"] = nbt
		if err := AdoptStateDict(b, sd); err != nil {
			t.Fatal(err)
		}
		for name, v := range StateDict(b) {
			src := sd[name]
			switch {
			case v != own[name]:
				t.Errorf("%s: the model's tensor was replaced, want the same *tensor.Tensor", name)
			case !slices.Equal(v.Shape(), own[name].Shape()):
				t.Errorf("%s: shape %v after adoption, want the model's %v", name, v.Shape(), own[name].Shape())
			case v.Len() > 0 && &v.Data()[0] != &src.Data()[0]:
				t.Errorf("%s: copied, want the state dict's data adopted", name)
			}
		}
		if got := b.BN1.NumBatchesTracked.Shape(); len(got) != 0 || b.BN1.NumBatchesTracked.Data()[0] != 7 {
			t.Errorf("bn1.num_batches_tracked %v of shape %v, want 7 of shape []", b.BN1.NumBatchesTracked.Data(), got)
		}
		yb, err := b.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ya.Data(), yb.Data()) {
			t.Errorf("outputs differ after adopting a's state dict (batch norms not refolded?)")
		}
		// Adopting a model's own tensors is harmless.
		if err := AdoptStateDict(b, StateDict(b)); err != nil {
			t.Fatal(err)
		}
		if yb, err = b.Forward(x); err != nil || !slices.Equal(ya.Data(), yb.Data()) {
			t.Errorf("outputs changed after adopting b's own tensors (err %v)", err)
		}
	})

	// A pooled tensor's data is adopted without its tie to the pool: the
	// model's Release of it does nothing.
	t.Run("pooled", func(t *testing.T) {
		l := NewLinear(64, 32, false, rand.New(rand.NewPCG(9, 10))) // 2048 values: pooled
		w := tensor.Get(32, 64)
		for i := range w.Data() {
			w.Data()[i] = float32(i)
		}
		if err := AdoptStateDict(l, map[string]*tensor.Tensor{"weight": w}); err != nil {
			t.Fatal(err)
		}
		l.Weight.Release()
		if l.Weight.Len() != 2048 || l.Weight.Data()[2047] != 2047 {
			t.Errorf("weight has %d values after Release, want 2048: it kept the pool's buffer", l.Weight.Len())
		}
	})
}
