package classify

import (
	"errors"
	"image"
	"image/color"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
	"govision.dev/vision/weights"
)

func TestRegistryNamesUnique(t *testing.T) {
	if len(duplicateNames) > 0 {
		t.Errorf("names in more than one table: %v", duplicateNames)
	}
	names := Names()
	if !slices.IsSorted(names) {
		t.Errorf("Names() not sorted: %v", names)
	}
	for _, want := range []string{"lenet5", "alexnet", "alexnet_lrn", "vgg16_bn", "resnet50", "resnet110",
		"preact_resnet164", "preact_resnet1001", "wide_resnet50_2", "wrn_28_10", "resnext101_64x4d",
		"se_resnext101_32x4d", "senet154"} {
		if _, ok := slices.BinarySearch(names, want); !ok {
			t.Errorf("Names() lacks %s", want)
		}
	}
}

// TestWeightRecords checks every record: a source, labels that exist, a
// preprocessing that makes an input, for published files a name, and for
// torch.hub files a SHA-256 prefix that is the file name's (embedded files:
// TestEmbeddedRecords).
func TestWeightRecords(t *testing.T) {
	for _, name := range Names() {
		e := registry[name]
		w := e.weights
		if w.Source == "" || e.paper == "" || (w.URL != "" && w.File == "") {
			t.Errorf("%s: record %+v lacks a source, a paper or a published file's name", name, w)
		}
		if n := len(w.Labels.Names()); n != 10 && n != 1000 {
			t.Errorf("%s: label set %q has %d names", name, w.Labels, n)
		}
		if w.Preprocess.Size() < 28 || w.Preprocess.Std[0] == 0 {
			t.Errorf("%s: preprocessing %+v", name, w.Preprocess)
		}
		if w.URL != "" && w.SHA256 != "" && !strings.HasSuffix(strings.TrimSuffix(w.File, ".pth"), "-"+w.SHA256) {
			t.Errorf("%s: file %s does not end in its SHA-256 prefix %s", name, w.File, w.SHA256)
		}
		if w.URL != "" && !strings.HasSuffix(w.URL, "/"+w.File) {
			t.Errorf("%s: URL %s is not of file %s", name, w.URL, w.File)
		}
	}
	if got := registry["inception_v3"].weights.Preprocess; got.Crop != 0 && (got.Crop != 299 || got.Resize != 342) {
		t.Errorf("inception_v3 preprocessing %+v, torchvision's 342/299", got)
	}
	if got := registry["resnet50"].weights; got.Top1 != 76.13 || got.Preprocess.Resize != 256 || got.Preprocess.Crop != 224 {
		t.Errorf("resnet50 record %+v", got)
	}
}

func TestLabels(t *testing.T) {
	in := ImageNet.Names()
	if len(in) != 1000 || in[0] != "tench" || in[1] != "goldfish" || in[999] != "toilet tissue" {
		t.Errorf("ImageNet labels: %d, %q … %q", len(in), in[0], in[len(in)-1])
	}
	if c := CIFAR10.Names(); len(c) != 10 || c[0] != "airplane" || c[9] != "truck" {
		t.Errorf("CIFAR-10 labels %v", c)
	}
	if m := MNIST.Names(); len(m) != 10 || m[7] != "7" {
		t.Errorf("MNIST labels %v", m)
	}
	if LabelSet("nope").Names() != nil || MNIST.Label(12) != "class 12" {
		t.Error("unknown label set or index")
	}
}

func TestUnknownModel(t *testing.T) {
	for _, tc := range []struct {
		name string
		want []string // among the suggestions
	}{
		{"resnet5O", []string{"resnet50"}},
		{"ResNet50", []string{"resnet50"}},
		{"vgg16bn", []string{"vgg16_bn"}},
		{"senet", []string{"senet154"}},
		{"wrn28_10", []string{"wrn_28_10"}},
		{"xyzzy-transformer", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.name)
			if !errors.Is(err, ErrUnknownModel) {
				t.Fatalf("New(%q) = %v, want ErrUnknownModel", tc.name, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not suggest %s", err, w)
				}
			}
			if _, err := Describe(tc.name); !errors.Is(err, ErrUnknownModel) {
				t.Errorf("Describe: %v", err)
			}
		})
	}
}

// TestNewForward builds the small models with fresh weights and runs them
// on their default input.
func TestNewForward(t *testing.T) {
	for _, name := range []string{"lenet5", "resnet20", "preact_resnet164", "wrn_16_8"} {
		t.Run(name, func(t *testing.T) {
			m, err := New(name)
			if err != nil {
				t.Fatal(err)
			}
			p := m.Weights().Preprocess
			x := tensor.New(2, p.Channels(), p.Size(), p.Size())
			for i := range x.Data() {
				x.Data()[i] = float32(math.Sin(float64(i)))
			}
			y, err := m.Forward(x)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(y.Shape(), []int{2, m.Classes()}) {
				t.Fatalf("logits %v", y.Shape())
			}
			for _, v := range y.Data() {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("logits %v", y.Data())
				}
			}
			if m.Params() == 0 || m.Name() != name || m.Paper() == "" {
				t.Errorf("model %s: %d parameters, paper %q", m.Name(), m.Params(), m.Paper())
			}
		})
	}
}

// TestNewDeterministic: New draws the same weights every time.
func TestNewDeterministic(t *testing.T) {
	a, _ := New("resnet20")
	b, _ := New("resnet20")
	sa, sb := a.StateDict(), b.StateDict()
	for k, v := range sa {
		if !slices.Equal(v.Data(), sb[k].Data()) {
			t.Fatalf("%s differs between two New calls", k)
		}
	}
	// torchvision's ResNet init: convolutions N(0, 2/fan_out), batch norm
	// γ = 1.
	w := sa["layer3.0.conv1.weight"].Data()
	var ss float64
	for _, v := range w {
		ss += float64(v) * float64(v)
	}
	if std := math.Sqrt(ss / float64(len(w))); math.Abs(std-math.Sqrt(2.0/(64*9))) > 0.005 {
		t.Errorf("layer3.0.conv1 weight std %.4f, kaiming fan_out %.4f", std, math.Sqrt(2.0/(64*9)))
	}
	if sa["bn1.weight"].Data()[0] != 1 {
		t.Error("batch norm γ not 1")
	}
}

func TestForwardShapeErrors(t *testing.T) {
	m, err := New("resnet20")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		x    *tensor.Tensor
	}{
		{"nil", nil},
		{"3-d", tensor.New(3, 32, 32)},
		{"gray", tensor.New(1, 1, 32, 32)},
		{"empty batch", tensor.New(0, 3, 32, 32)},
		{"zero width", tensor.New(1, 3, 32, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := m.Forward(tc.x); !errors.Is(err, nn.ErrShape) {
				t.Errorf("Forward: %v, want ErrShape", err)
			}
		})
	}
	l, _ := New("lenet5")
	if _, err := l.Forward(tensor.New(1, 1, 28, 28)); err == nil {
		t.Error("lenet5 on 28x28: no error (C5 needs 32x32)")
	}
	if _, err := l.Forward(tensor.New(1, 3, 32, 32)); !errors.Is(err, nn.ErrShape) {
		t.Errorf("lenet5 on RGB: %v", err)
	}
}

// TestConcurrentForward runs one model from several goroutines: each must
// get the serial result.
func TestConcurrentForward(t *testing.T) {
	m, err := New("resnet20")
	if err != nil {
		t.Fatal(err)
	}
	inputs := make([]*tensor.Tensor, 6)
	want := make([][]float32, len(inputs))
	for i := range inputs {
		inputs[i] = tensor.New(1, 3, 32, 32)
		for j := range inputs[i].Data() {
			inputs[i].Data()[j] = float32(math.Cos(float64(i*7919 + j)))
		}
		y, err := m.Forward(inputs[i])
		if err != nil {
			t.Fatal(err)
		}
		want[i] = y.Data()
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4*len(inputs))
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range inputs {
				y, err := m.Forward(inputs[(i+g)%len(inputs)])
				if err != nil {
					errs <- err.Error()
					return
				}
				if !slices.Equal(y.Data(), want[(i+g)%len(inputs)]) {
					errs <- "concurrent result differs from the serial one"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestLoadStateDict(t *testing.T) {
	m, _ := New("resnet20")
	src, _ := New("resnet20")
	sd := src.StateDict()
	sd["conv1.weight"].Data()[0] = 42
	// A DataParallel checkpoint: every key under "module.".
	wrapped := map[string]*tensor.Tensor{}
	for k, v := range sd {
		wrapped["module."+k] = v
	}
	if err := m.LoadStateDict(wrapped); err != nil {
		t.Fatal(err)
	}
	if m.StateDict()["conv1.weight"].Data()[0] != 42 {
		t.Error("weights not loaded")
	}
	delete(sd, "linear.bias")
	sd["extra"] = tensor.New(1)
	sd["layer1.0.bn1.weight"] = tensor.New(3)
	err := m.LoadStateDict(sd)
	if !errors.Is(err, nn.ErrStateDict) {
		t.Fatalf("LoadStateDict: %v, want ErrStateDict", err)
	}
	for _, want := range []string{"linear.bias", "extra", "layer1.0.bn1.weight", "resnet20"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if err := m.Load("testdata/no-such-file.pth"); err == nil {
		t.Error("Load of a missing file: no error")
	}
}

func TestPredict(t *testing.T) {
	for _, name := range []string{"lenet5", "resnet20"} {
		t.Run(name, func(t *testing.T) {
			m, err := New(name)
			if err != nil {
				t.Fatal(err)
			}
			img := image.NewRGBA(image.Rect(0, 0, 40, 30))
			for y := 0; y < 30; y++ {
				for x := 0; x < 40; x++ {
					img.Set(x, y, color.RGBA{uint8(6 * x), uint8(8 * y), uint8(x * y), 255})
				}
			}
			ps, err := m.Predict(img, 3)
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) != 3 {
				t.Fatalf("%d predictions", len(ps))
			}
			sum := 0.0
			for i, p := range ps {
				if p.Label != m.Weights().Labels.Label(p.Class) || p.Prob <= 0 || p.Prob > 1 {
					t.Errorf("prediction %d: %+v", i, p)
				}
				if i > 0 && p.Prob > ps[i-1].Prob {
					t.Errorf("predictions not sorted: %+v", ps)
				}
				sum += p.Prob
			}
			if sum > 1+1e-9 {
				t.Errorf("probabilities sum to %v", sum)
			}
			all, _ := m.Predict(img, 50)
			if len(all) != 10 {
				t.Errorf("k=50 gave %d predictions, want the 10 classes", len(all))
			}
			if _, err := m.Predict(img, 0); err == nil {
				t.Error("k=0: no error")
			}
		})
	}
}

// TestPreprocessLeNet: a 28x28 white square on black becomes ink 1.175
// inside a −0.1 border of 2 pixels.
func TestPreprocessLeNet(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 28, 28))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	x, err := registry["lenet5"].weights.Preprocess.Apply(img)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(x.Shape(), []int{1, 1, 32, 32}) {
		t.Fatalf("shape %v", x.Shape())
	}
	d := x.Data()
	if math.Abs(float64(d[0])+0.1) > 1e-6 || math.Abs(float64(d[16*32+16])-1.175) > 1e-5 {
		t.Errorf("border %v, centre %v; want −0.1 and 1.175", d[0], d[16*32+16])
	}
}

func TestTopK(t *testing.T) {
	ps := TopK([]float32{1, 3, 3, 0}, 3, CIFAR10)
	if ps[0].Class != 1 || ps[1].Class != 2 || ps[2].Class != 0 || ps[0].Label != "automobile" {
		t.Errorf("TopK = %+v", ps)
	}
	want := math.Exp(3) / (math.Exp(1) + 2*math.Exp(3) + 1)
	if math.Abs(ps[0].Prob-want) > 1e-12 {
		t.Errorf("prob %v, want %v", ps[0].Prob, want)
	}
}

func TestDescribe(t *testing.T) {
	info, err := Describe("resnet50")
	if err != nil {
		t.Fatal(err)
	}
	// torchvision's figures (its forward hooks count 4.09 G at 224).
	if info.Params != 25557032 || info.MACs != 4089184256 || info.Classes != 1000 {
		t.Errorf("resnet50: %+v", info)
	}
	l, _ := Describe("lenet5")
	// C1 117,600 + C3 151,600 … the multiply-adds of LeCun et al.'s
	// connections less the subsampling and biases.
	if l.Params != 60000 || l.MACs == 0 || l.Classes != 10 {
		t.Errorf("lenet5: %+v", l)
	}
}

// TestFreshWeights checks when New's fresh weights are drawn: once, the
// first time they are read (also from concurrent Forwards), and never for
// a model whose weights Load or LoadStateDict set first; a failed load
// leaves them to be drawn. Load takes over the file's tensors, and
// LoadStateDict copies the caller's.
func TestFreshWeights(t *testing.T) {
	// counted returns a fresh resnet20 whose draws are counted.
	counted := func(t *testing.T) (*Model, *atomic.Int32) {
		t.Helper()
		m, err := New("resnet20")
		if err != nil {
			t.Fatal(err)
		}
		n := new(atomic.Int32)
		draw := m.draw
		m.draw = func() { n.Add(1); draw() }
		return m, n
	}
	x := tensor.New(1, 3, 32, 32)
	for i := range x.Data() {
		x.Data()[i] = float32(math.Sin(float64(i)))
	}
	forward := func(t *testing.T, m *Model) []float32 {
		t.Helper()
		y, err := m.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		return y.Data()
	}
	// src has New's weights but one: its logits differ from a fresh
	// model's.
	src, _ := New("resnet20")
	fresh := slices.Clone(forward(t, src))
	src.StateDict()["linear.bias"].Data()[3] += 1
	loaded := forward(t, src)
	path := filepath.Join(t.TempDir(), "resnet20.safetensors")
	if err := weights.Save(path, src.StateDict()); err != nil {
		t.Fatal(err)
	}

	t.Run("load", func(t *testing.T) {
		m, n := counted(t)
		if err := m.Load(path); err != nil {
			t.Fatal(err)
		}
		if got := forward(t, m); !slices.Equal(got, loaded) {
			t.Errorf("logits %v after Load, want the file's %v", got, loaded)
		}
		if n.Load() != 0 {
			t.Errorf("fresh weights drawn %d times for a model loaded from a file, want 0", n.Load())
		}
	})
	t.Run("load state dict", func(t *testing.T) {
		m, n := counted(t)
		sd := src.StateDict()
		if err := m.LoadStateDict(sd); err != nil {
			t.Fatal(err)
		}
		if got := forward(t, m); !slices.Equal(got, loaded) || n.Load() != 0 {
			t.Errorf("logits %v after LoadStateDict (fresh weights drawn %d times), want %v and 0", got, n.Load(), loaded)
		}
		if &m.StateDict()["linear.weight"].Data()[0] == &sd["linear.weight"].Data()[0] {
			t.Error("LoadStateDict took over the caller's tensor, want a copy")
		}
	})
	t.Run("failed load", func(t *testing.T) {
		m, n := counted(t)
		if err := m.Load(filepath.Join(t.TempDir(), "no-such-file.pth")); err == nil {
			t.Fatal("Load of a missing file: no error")
		}
		if err := m.LoadStateDict(map[string]*tensor.Tensor{"conv1.weight": tensor.New(16, 3, 3, 3)}); err == nil {
			t.Fatal("LoadStateDict of one tensor: no error")
		}
		if got := forward(t, m); !slices.Equal(got, fresh) || n.Load() != 1 {
			t.Errorf("logits %v after failed loads (fresh weights drawn %d times), want New's %v and 1", got, n.Load(), fresh)
		}
	})
	t.Run("concurrent first use", func(t *testing.T) {
		m, n := counted(t)
		var wg sync.WaitGroup
		got := make([][]float32, 4)
		for g := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if y, err := m.Forward(x); err == nil {
					got[g] = y.Data()
				}
			}()
		}
		wg.Wait()
		for g, y := range got {
			if !slices.Equal(y, fresh) {
				t.Errorf("goroutine %d: logits %v, want New's %v", g, y, fresh)
			}
		}
		if n.Load() != 1 {
			t.Errorf("fresh weights drawn %d times, want 1", n.Load())
		}
	})
}
