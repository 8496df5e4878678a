package main

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"govision.dev/classify"
	"govision.dev/cmd/train"
	"govision.dev/vision/checkpoint"
)

// skipWithoutMNIST skips a test when no MNIST is found (the GoMNIST module
// is not in the module cache).
func skipWithoutMNIST(t *testing.T) {
	t.Helper()
	if _, err := train.FindMNIST("mnist"); err != nil {
		t.Skipf("no MNIST: %v", err)
	}
}

func TestTrainAndEval(t *testing.T) {
	skipWithoutMNIST(t)
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	out, _, err := execute(t, "train", "--model", "lenet5", "--data", "mnist", "--epochs", "1", "--limit", "640",
		"--out", run, "--quiet")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "lenet5: 1 epochs, test accuracy") {
		t.Errorf("train output:\n%s", out)
	}
	for _, f := range []string{"weights/last.safetensors", "weights/last.json", "weights/best.safetensors",
		"metrics.csv", "curves.png"} {
		if _, err := os.Stat(filepath.Join(run, f)); err != nil {
			t.Error(err)
		}
	}
	csv, _ := os.ReadFile(filepath.Join(run, "metrics.csv"))
	if lines := strings.Split(strings.TrimSpace(string(csv)), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "epoch,") {
		t.Errorf("metrics.csv:\n%s", csv)
	}

	// Resume for one more epoch, in the checkpoint's folder.
	last := filepath.Join(run, "weights", "last.safetensors")
	if _, _, err := execute(t, "train", "--resume", last, "--epochs", "2", "--quiet"); err != nil {
		t.Fatal(err)
	}
	meta, _, err := checkpoint.ReadMeta(last)
	if err != nil || meta.Epoch != 2 || len(meta.Metrics) != 2 {
		t.Errorf("after resuming: %+v, %v", meta, err)
	}

	evalDir := filepath.Join(dir, "eval")
	out, _, err = execute(t, "eval", "--model", "lenet5", "--weights", last, "--data", "mnist", "--out", evalDir, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var res evalResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if res.Images != 10000 || len(res.PerClass) != 10 || len(res.Confusion) != 10 || res.Accuracy < 20 { // above chance (10%) after 20 steps
		t.Errorf("eval: %+v", res)
	}
	if _, err := os.Stat(filepath.Join(evalDir, "confusion.png")); err != nil {
		t.Error(err)
	}
}

func TestTrainBadInput(t *testing.T) {
	dir := t.TempDir()
	_, _, err := execute(t, "train", "--data", filepath.Join(dir, "missing"), "--out", filepath.Join(dir, "r"))
	if !errors.Is(err, train.ErrNoData) {
		t.Errorf("missing data folder: %v", err)
	}
	_, _, err = execute(t, "train", "--resume", filepath.Join(dir, "none.safetensors"), "--out", filepath.Join(dir, "r"))
	if err == nil {
		t.Error("resume from a missing checkpoint: no error")
	}
	_, _, err = execute(t, "train", "--model", "resnet18", "--out", filepath.Join(dir, "r"))
	if err == nil || !strings.Contains(err.Error(), "lenet5") {
		t.Errorf("an untrainable model: %v", err)
	}
	_, _, err = execute(t, "eval", "--model", "lenet5", "--weights", filepath.Join(dir, "none.safetensors"))
	if err == nil {
		t.Error("eval of a missing weight file: no error")
	}
}

// TestEvalBuiltIn evaluates lenet5's built-in weights on MNIST's test set
// without --weights: the accuracy must be the one their record states,
// measured by the training run that made them.
func TestEvalBuiltIn(t *testing.T) {
	skipWithoutMNIST(t)
	out, _, err := execute(t, "eval", "--model", "lenet5", "--data", "mnist", "--out", t.TempDir(), "--json")
	if err != nil {
		t.Fatal(err)
	}
	var res evalResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	info, err := classify.Describe("lenet5")
	if err != nil {
		t.Fatal(err)
	}
	if res.Images != 10000 || math.Abs(res.Accuracy-info.Weights.Top1) > 0.005 {
		t.Errorf("built-in lenet5: %.2f%% of %d digits, record %.2f%%", res.Accuracy, res.Images, info.Weights.Top1)
	}
	if res.Weights != "built in: lenet5.safetensors" {
		t.Errorf("weights %q", res.Weights)
	}
}
