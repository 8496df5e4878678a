package classify

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"govision.dev/vision/autograd"
	"govision.dev/vision/imageio"
	"govision.dev/vision/tensor"
)

// TestEmbeddedRecords checks each record marked Embedded against the file
// the package embeds: its SHA-256 in full and its parameter count; and
// that lenet5's is one of them.
func TestEmbeddedRecords(t *testing.T) {
	if !registry["lenet5"].weights.Embedded {
		t.Error("lenet5's record is not marked Embedded")
	}
	for _, name := range Names() {
		w := registry[name].weights
		if !w.Embedded {
			continue
		}
		t.Run(name, func(t *testing.T) {
			b, err := fs.ReadFile(weightFiles, "weights/"+w.FileName(name))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(b)
			if got := hex.EncodeToString(sum[:]); got != w.SHA256 {
				t.Errorf("embedded %s: SHA-256 %s, record %s", w.FileName(name), got, w.SHA256)
			}
			m, err := New(name)
			if err != nil {
				t.Fatal(err)
			}
			if m.Params() != w.Params {
				t.Errorf("%d parameters, record %d", m.Params(), w.Params)
			}
			if err := m.LoadEmbedded(); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestLeNet5EmbeddedDigits classifies the sample digits of
// testdata/digits (tools/mnistdigits: the first of each class in MNIST's
// test set) with the embedded weights: the top-1 label must be the digit
// the file is named after.
func TestLeNet5EmbeddedDigits(t *testing.T) {
	m, err := New("lenet5")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.LoadEmbedded(); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("testdata", "digits", "*.png"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 10 {
		t.Fatalf("%d sample digits, want 10 (run go run ./tools/mnistdigits)", len(files))
	}
	for _, f := range files {
		want, _, _ := strings.Cut(filepath.Base(f), "_")
		t.Run(want, func(t *testing.T) {
			img, err := imageio.DecodeFile(f)
			if err != nil {
				t.Fatal(err)
			}
			top, err := m.Predict(img, 2)
			if err != nil {
				t.Fatal(err)
			}
			if top[0].Label != want {
				t.Errorf("%s: %+v, want %s", f, top, want)
			}
		})
	}
}

func TestLoadEmbeddedWithout(t *testing.T) {
	m, err := New("resnet20")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.LoadEmbedded(); !errors.Is(err, ErrNotEmbedded) {
		t.Errorf("resnet20: %v, want ErrNotEmbedded", err)
	}
}

// TestLeNet5TrainMatchesForward runs the embedded weights' LeNet-5 on the
// sample digits through its differentiable form (RegisterLeNet5, with
// gradients recorded) and through Forward: the logits must agree to
// float32 rounding of the squashing, which the two compute differently.
func TestLeNet5TrainMatchesForward(t *testing.T) {
	m, err := New("lenet5")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.LoadEmbedded(); err != nil {
		t.Fatal(err)
	}
	x := tensor.New(3, 1, 32, 32)
	rng := rand.New(rand.NewPCG(4, 5))
	for i := range x.Data() {
		x.Data()[i] = float32(rng.Float64()*1.275 - 0.1) // MNIST's range after preprocessing
	}
	want, err := m.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	net := autograd.NewNet(m.Net())
	RegisterLeNet5(net)
	net.Train(false)
	got, err := net.Forward(autograd.Constant(x))
	if err != nil {
		t.Fatal(err)
	}
	// Logits are −Σ (x_j − w_ij)² over 84 units of |x_j| ≤ 1.72: each
	// term carries the few-ulp difference of the two squashings.
	const tol = 1e-4
	for i, w := range want.Data() {
		g := got.Value().Data()[i]
		if math.Abs(float64(g-w)) > tol*math.Max(1, math.Abs(float64(w))) {
			t.Errorf("logit %d: differentiable %v, Forward %v", i, g, w)
		}
	}
}
