package train

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"govision.dev/accel"
	"govision.dev/classify"
	"govision.dev/vision/checkpoint"
	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// quick is a run on the first 640 digits of each split: 10 batches of 64
// per epoch.
func quick(out string) Config {
	c := DefaultConfig()
	c.Epochs, c.Limit, c.Out = 2, 640, out
	return c
}

// TestTrainingIsDeterministic trains twice from one seed, at one and at
// two threads: the weights must be bit-identical (the sums run in a fixed
// order whatever the thread count).
func TestTrainingIsDeterministic(t *testing.T) {
	defer accel.SetThreads(0)
	var first map[string]*tensor.Tensor
	for _, threads := range []int{1, 1, 2} {
		accel.SetThreads(threads)
		cfg := quick(t.TempDir())
		cfg.Epochs = 1
		tr := newTestTrainer(t, cfg)
		if _, err := tr.Run(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		sd := nn.StateDict(tr.Net.Module())
		if first == nil {
			first = sd
			continue
		}
		for k, v := range first {
			if !slices.Equal(v.Data(), sd[k].Data()) {
				t.Errorf("%d threads: %s differs from the first run's", threads, k)
			}
		}
	}
}

// TestInterruptAndResume stops a run mid-epoch (as Ctrl-C does), resumes
// it from the checkpoint written, and compares with a run that was never
// stopped: same weights, bit for bit, and the same metrics.
func TestInterruptAndResume(t *testing.T) {
	straight := newTestTrainer(t, quick(t.TempDir()))
	want, err := straight.Run(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}

	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	stopped := newTestTrainer(t, quick(out))
	_, err = stopped.Run(ctx, func(p Progress) {
		if p.Epoch == 2 && p.Batch == 3 {
			cancel()
		}
	})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted run: %v, want ErrInterrupted", err)
	}
	cfg := quick(out)
	cfg.Resume = filepath.Join(out, "weights", "last.safetensors")
	resumed := newTestTrainer(t, cfg)
	if resumed.EpochsDone() != 1 {
		t.Errorf("resumed at epoch %d, want 1 done", resumed.EpochsDone())
	}
	got, err := resumed.Run(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := nn.StateDict(straight.Net.Module()), nn.StateDict(resumed.Net.Module())
	for k, v := range a {
		if !slices.Equal(v.Data(), b[k].Data()) {
			t.Errorf("%s differs after interrupting and resuming", k)
		}
	}
	if len(got.Epochs) != len(want.Epochs) {
		t.Fatalf("%d epochs, want %d", len(got.Epochs), len(want.Epochs))
	}
	for i := range want.Epochs {
		w, g := want.Epochs[i], got.Epochs[i]
		if w.TrainLoss != g.TrainLoss || w.TrainAcc != g.TrainAcc || w.TestLoss != g.TestLoss || w.TestAcc != g.TestAcc {
			t.Errorf("epoch %d: %+v, want %+v", i+1, g, w)
		}
	}
	for _, f := range []string{"metrics.csv", "weights/last.safetensors", "weights/last.json", "weights/best.safetensors"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}

// TestNaNStops poisons a weight after one epoch: the run must stop at the
// next step, naming it, and leave the first epoch's checkpoint as it was.
func TestNaNStops(t *testing.T) {
	cfg := quick(t.TempDir())
	tr := newTestTrainer(t, cfg)
	cfg.Epochs = 1
	tr.Config.Epochs = 1
	if _, err := tr.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	last := filepath.Join(cfg.Out, "weights", "last.safetensors")
	before, _ := os.ReadFile(last)
	tr.Config.Epochs = 2
	tr.Net.Module().(*classify.LeNet5).C1.Weight.Data()[0] = float32(math.NaN())
	_, err := tr.Run(context.Background(), nil)
	if !errors.Is(err, ErrNaN) {
		t.Fatalf("poisoned run: %v, want ErrNaN", err)
	}
	if want := "epoch 2, batch 1 (step 11)"; !contains(err.Error(), want) {
		t.Errorf("error %q does not name %q", err, want)
	}
	after, _ := os.ReadFile(last)
	if !slices.Equal(before, after) {
		t.Error("the last good checkpoint changed")
	}
	if _, err := checkpoint.Load(last, "lenet5", newLeNet(t)); err != nil {
		t.Errorf("last good checkpoint: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	cfg := quick(t.TempDir())
	cfg.Data = filepath.Join(t.TempDir(), "nothing")
	if _, err := New(cfg); !errors.Is(err, ErrNoData) {
		t.Errorf("missing data folder: %v, want ErrNoData", err)
	}

	// A checkpoint of another model.
	dir := t.TempDir()
	other := filepath.Join(dir, "other.safetensors")
	if err := checkpoint.Save(other, newLeNet(t), &checkpoint.Meta{Model: "alexnet"}); err != nil {
		t.Fatal(err)
	}
	cfg = quick(t.TempDir())
	cfg.Resume = other
	if _, err := New(cfg); !errors.Is(err, checkpoint.ErrMismatch) {
		t.Errorf("resume from another model: %v, want ErrMismatch", err)
	}

	// A corrupt checkpoint: the weight file cut short.
	tr := newTestTrainer(t, quick(dir))
	tr.Config.Epochs = 1
	if _, err := tr.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	last := filepath.Join(dir, "weights", "last.safetensors")
	data, _ := os.ReadFile(last)
	os.WriteFile(last, data[:len(data)/2], 0o644)
	cfg = quick(t.TempDir())
	cfg.Resume = last
	if _, err := New(cfg); !errors.Is(err, checkpoint.ErrCorrupt) {
		t.Errorf("truncated checkpoint: %v, want ErrCorrupt", err)
	}

	// Other settings than the checkpoint's.
	os.WriteFile(last, data, 0o644)
	cfg = quick(t.TempDir())
	cfg.Resume, cfg.Batch = last, 32
	if _, err := New(cfg); err == nil || !contains(err.Error(), "batch") {
		t.Errorf("resume with another batch size: %v", err)
	}
}

func newLeNet(t *testing.T) nn.Module {
	m, err := classify.New("lenet5")
	if err != nil {
		t.Fatal(err)
	}
	return m.Net()
}

func contains(s, sub string) bool {
	return len(sub) == 0 || len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub))
}
