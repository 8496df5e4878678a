package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"govision.dev/accel"
	"govision.dev/bench/internal/pypeer"
	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// small is the block the tests run: 8 → 4 → 4 → 8 channels at 9×9, big
// enough for every convolution to have edges and more than one channel,
// small enough to start and check in well under a second.
var small = shape{in: 8, width: 4, size: 9}

// requireTorch skips the test unless Debian's interpreter has torch and
// torchvision.
func requireTorch(t *testing.T) string {
	t.Helper()
	const python = "/usr/bin/python3"
	if err := pypeer.Importable(python, "torch", "torchvision"); err != nil {
		t.Skipf("%v (apt-get install %s)", err, strings.Join(pypeer.TorchPackages, " "))
	}
	return python
}

func smallConfig(t *testing.T, python string, extra ...string) config {
	t.Helper()
	args := append([]string{"bottleneck", "-in", "8", "-width", "4", "-size", "9", "-threads", "1",
		"-warmup", "1", "-reps", "2", "-mintime", "0", "-install=false", "-python", python}, extra...)
	cfg, err := parseConfig(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestMatchesPyTorch loads the small block's weights from torch, by
// torchvision's state-dict names, and checks govision's output against
// torch's (loadBlock fails above relTol); then asks the peer to time it.
func TestMatchesPyTorch(t *testing.T) {
	python := requireTorch(t)
	cfg := smallConfig(t, python)
	dir := t.TempDir()
	pt, err := startPyTorch(cfg, dir, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := pt.Close(); err != nil {
			t.Error(err)
		}
	}()
	f, err := loadFixture(dir)
	if err != nil {
		t.Fatal(err)
	}
	if f.shape != small {
		t.Fatalf("fixture for block %v, want %v", f.shape, small)
	}
	if want := []string{"bn1.num_batches_tracked", "bn2.num_batches_tracked", "bn3.num_batches_tracked"}; strings.Join(f.skipped, " ") != strings.Join(want, " ") {
		t.Errorf("skipped %q, want %q", f.skipped, want)
	}
	_, diff, err := loadBlock(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("govision vs torch %s: max |Δ| = %.3g × max |y|", f.torch, diff)

	got, err := pt.time(1, 1, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.Reps < 2 || !(got.MedianS > 0) || len(got.Convs) != 3 {
		t.Errorf("time 1 1 2 0 = %+v, want at least 2 calls, a median and three convolutions", got)
	}
	if _, err := pt.time(0, 1, 1, 0); err == nil {
		t.Error("time on 0 threads succeeded, want torch's error")
	}
}

// TestRunSmall runs the whole command on the small block and checks the
// report's shape.
func TestRunSmall(t *testing.T) {
	python := requireTorch(t)
	var out, log bytes.Buffer
	args := smallConfig(t, python).args
	if err := run(args, &out, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	for _, want := range []string{
		"# Bottleneck block 8→4→4→8 at 9×9: govision against PyTorch",
		"- PyTorch: torch ", "torch.backends.mkldnn.is_available() = ",
		"torchvision.models.resnet.Bottleneck(8, 2, base_width=128)",
		"| threads | govision ms | PyTorch ms | ratio (govision/PyTorch) |",
		"\n| 1 | ",
		"- command: bottleneck -in 8 -width 4",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// goFixture makes a fixture in Go, without torch: a block with random
// weights and perturbed batch norms, its state dict (copies), a random
// input and the block's own output for it.
func goFixture(t *testing.T, s shape) (*fixture, *bottleneck) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	b := newBottleneck(s, rng)
	b.perturbBN(rng)
	x := tensor.New(1, s.in, s.size, s.size)
	for i := range x.Data() {
		x.Data()[i] = float32(rng.NormFloat64())
	}
	y, err := b.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	sd := map[string]*tensor.Tensor{}
	for name, v := range nn.StateDict(b) {
		if !strings.HasSuffix(name, "num_batches_tracked") {
			sd[name] = v.Clone()
		}
	}
	return &fixture{shape: s, stateDict: sd, input: x, output: y, torch: "go"}, b
}

// TestLoadBlock checks that loadBlock takes a matching state dict and
// refuses a wrong one: its check is what the harness's numbers rest on.
func TestLoadBlock(t *testing.T) {
	for _, tc := range []struct {
		name    string
		change  func(f *fixture)
		wantErr string
	}{
		{name: "same weights", change: func(*fixture) {}},
		{name: "one conv2 weight off by 0.5", change: func(f *fixture) { f.stateDict["conv2.weight"].Data()[7] += 0.5 },
			wantErr: "differs from torch"},
		{name: "bn3 mean and variance swapped", change: func(f *fixture) {
			sd := f.stateDict
			sd["bn3.running_mean"], sd["bn3.running_var"] = sd["bn3.running_var"], sd["bn3.running_mean"]
		}, wantErr: "differs from torch"},
		{name: "missing bn2.bias", change: func(f *fixture) { delete(f.stateDict, "bn2.bias") }, wantErr: "missing 1: bn2.bias"},
		{name: "unexpected downsample", change: func(f *fixture) { f.stateDict["downsample.0.weight"] = tensor.New(8, 8, 1, 1) },
			wantErr: "unexpected 1: downsample.0.weight"},
		{name: "output of another shape", change: func(f *fixture) { f.output = tensor.New(1, 8, 9, 8) }, wantErr: "torch's [1 8 9 8]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := goFixture(t, small)
			tc.change(f)
			_, d, err := loadBlock(f)
			if tc.wantErr == "" {
				if err != nil || d != 0 {
					t.Errorf("loadBlock = %.3g, %v; want 0, nil", d, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("loadBlock = %.3g, %v; want an error containing %q", d, err, tc.wantErr)
			}
		})
	}
}

func TestAddReLU(t *testing.T) {
	y := []float32{1, -2, 0.5, -0.5, float32(math.Inf(-1))}
	x := []float32{-2, 3, 0.25, 0.5, 1, 99}
	want := []float32{0, 1, 0.75, 0, 0}
	for _, chunk := range []int{1, 2, 4, 5, addReLUChunk} {
		got := slices.Clone(y)
		addReLUChunked(got, x, chunk)
		if !slices.Equal(got, want) {
			t.Errorf("addReLUChunked(chunk %d) = %v, want %v", chunk, got, want)
		}
	}
}

// writeFixture writes f as pytorch_peer.py does, for loadFixture's test.
func writeFixture(t *testing.T, dir string, f *fixture) {
	t.Helper()
	save := func(name string, x *tensor.Tensor) fixtureTensor {
		buf := make([]byte, 4*x.Len())
		for i, v := range x.Data() {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		if err := os.WriteFile(filepath.Join(dir, name+".f32"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
		return fixtureTensor{Name: name, Shape: x.Shape(), File: name + ".f32"}
	}
	var idx fixtureIndex
	idx.Torch = f.torch
	idx.Config.InChannels, idx.Config.Width, idx.Config.Size = f.shape.in, f.shape.width, f.shape.size
	for name, x := range f.stateDict {
		idx.Tensors = append(idx.Tensors, save(name, x))
	}
	idx.Skipped = []string{"bn1.num_batches_tracked"}
	idx.Input, idx.Output = save("input", f.input), save("output", f.output)
	data, err := json.Marshal(idx)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadFixture(t *testing.T) {
	want, _ := goFixture(t, small)
	for _, tc := range []struct {
		name    string
		breakIt func(dir string) error
		wantErr string
	}{
		{name: "round trip", breakIt: func(string) error { return nil }},
		{name: "truncated tensor", wantErr: "holds 648 values, data has 647",
			breakIt: func(dir string) error { return os.Truncate(filepath.Join(dir, "input.f32"), 4*647) }},
		{name: "odd length", wantErr: "not a whole number of float32s",
			breakIt: func(dir string) error { return os.Truncate(filepath.Join(dir, "output.f32"), 4*648-1) }},
		{name: "no index", wantErr: "index.json",
			breakIt: func(dir string) error { return os.Remove(filepath.Join(dir, "index.json")) }},
		{name: "file outside the directory", wantErr: "not a plain name", breakIt: func(dir string) error {
			data, err := os.ReadFile(filepath.Join(dir, "index.json"))
			if err != nil {
				return err
			}
			data = bytes.Replace(data, []byte(`"file":"input.f32"`), []byte(`"file":"../input.f32"`), 1)
			return os.WriteFile(filepath.Join(dir, "index.json"), data, 0o644)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFixture(t, dir, want)
			if err := tc.breakIt(dir); err != nil {
				t.Fatal(err)
			}
			got, err := loadFixture(dir)
			if tc.wantErr != "" {
				if !errors.Is(err, errFixture) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("loadFixture = %v, want an errFixture containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.shape != small || len(got.stateDict) != len(want.stateDict) || len(got.skipped) != 1 {
				t.Errorf("loaded block %v with %d tensors, %d skipped; want %v, %d, 1", got.shape, len(got.stateDict), len(got.skipped), small, len(want.stateDict))
			}
			if _, d, err := loadBlock(got); err != nil || d != 0 {
				t.Errorf("loadBlock after the round trip = %.3g, %v; want 0, nil", d, err)
			}
		})
	}
}

// TestWriteReport renders a fixed report: the table and the header lines.
func TestWriteReport(t *testing.T) {
	r := report{
		date:     time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
		cpu:      "AMD EPYC 9R45 (AuthenticAMD family 26 model 2) (2 logical CPUs)",
		goInfo:   "go1.26.0 linux/amd64",
		kernels:  []accel.Kernel{{Name: "sgemm", Impl: "avx512 16x32"}, {Name: "conv2d 1x1", Impl: "avx512 16x32"}},
		features: []string{"avx2", "fma", "avx512f"},
		pytorch:  "torch 1.13.0, torchvision 0.14.1, torch.backends.mkldnn.is_available() = True (oneDNN v2.6.3)",
		torch:    "1.13.0",
		shape:    resnet50Layer1,
		relDiff:  3.2e-7,
		warmup:   3, minReps: 5, minTime: 500 * time.Millisecond,
		command: "go run ./bench/bottleneck -threads 1,2",
		rows: []row{
			{threads: 1, govision: 2500 * time.Microsecond, pytorch: 5 * time.Millisecond, govReps: 200, torchReps: 100,
				torchConvs: map[string]string{"conv1": "aten::thnn_conv2d", "conv2": "aten::mkldnn_convolution (jit:avx512_core)", "conv3": "aten::thnn_conv2d"}},
			{threads: 2, govision: 1250 * time.Microsecond, pytorch: 1 * time.Millisecond, govReps: 400, torchReps: 500},
		},
	}
	var out bytes.Buffer
	writeReport(&out, r)
	got := out.String()
	for _, want := range []string{
		"# ResNet-50 bottleneck block (conv2_x, 256→64→64→256 at 56×56): govision against PyTorch\n\n",
		"- date: 2025-06-01T12:00:00Z\n",
		"- cpu: AMD EPYC 9R45 (AuthenticAMD family 26 model 2) (2 logical CPUs)\n",
		"- go: go1.26.0 linux/amd64\n",
		"- govision: accel kernels sgemm: avx512 16x32; conv2d 1x1: avx512 16x32; features avx2 fma avx512f\n",
		"- PyTorch: torch 1.13.0, torchvision 0.14.1, torch.backends.mkldnn.is_available() = True (oneDNN v2.6.3)\n",
		"torchvision.models.resnet.Bottleneck(256, 64), stride 1",
		"input [1, 256, 56, 56]; 0.437 GFLOP per call\n",
		"within 3.2e-07 × max |y| of torch 1.13.0's (tolerance 0.0001)\n",
		"each 3 warm-up calls, then at least 5 calls and 500ms; median.",
		"- command: go run ./bench/bottleneck -threads 1,2\n\n" +
			"| threads | govision ms | PyTorch ms | ratio (govision/PyTorch) |\n" +
			"|---:|---:|---:|---:|\n" +
			"| 1 | 2.500 | 5.000 | 0.50 |\n" +
			"| 2 | 1.250 | 1.000 | 1.25 |\n\n",
		"- T=1: govision 200 calls, 174.7 GFLOP/s; PyTorch 100 calls, 87.3 GFLOP/s, convolutions: conv1 aten::thnn_conv2d, conv2 aten::mkldnn_convolution (jit:avx512_core), conv3 aten::thnn_conv2d\n",
		"- T=2: govision 400 calls, 349.4 GFLOP/s; PyTorch 500 calls, 436.7 GFLOP/s\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}

func TestParseConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		want    string // threads, shape, warmup, reps, mintime
		wantErr string
	}{
		{name: "defaults", want: "[1 2] 256→64→64→256 at 56×56 3 5 500ms"},
		{name: "quick", args: []string{"-quick"}, want: "[1 2] 256→64→64→256 at 56×56 1 3 20ms"},
		{name: "quick with explicit reps", args: []string{"-quick", "-reps", "9"}, want: "[1 2] 256→64→64→256 at 56×56 1 9 20ms"},
		{name: "small block", args: []string{"-in", "8", "-width", "4", "-size", "9", "-threads", "2"}, want: "[2] 8→4→4→8 at 9×9 3 5 500ms"},
		{name: "bad threads", args: []string{"-threads", "1,x"}, wantErr: `-threads: "x" is not a positive integer`},
		{name: "in not divisible by 4", args: []string{"-in", "10"}, wantErr: "in divisible by 4"},
		{name: "width torchvision cannot build", args: []string{"-in", "12", "-width", "4"}, wantErr: "64·width by in/4"},
		{name: "no reps", args: []string{"-reps", "0"}, wantErr: "-reps 0"},
		{name: "stray argument", args: []string{"extra"}, wantErr: `unexpected argument "extra"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseConfig(append([]string{"bottleneck"}, tc.args...), io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprintf("%v %v %d %d %v", cfg.threads, cfg.shape, cfg.warmup, cfg.minReps, cfg.minTime)
			if got != tc.want {
				t.Errorf("config %s, want %s", got, tc.want)
			}
		})
	}
}
