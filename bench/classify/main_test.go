package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"govision.dev/accel"
	"govision.dev/bench/internal/pypeer"
	"govision.dev/classify"
	"govision.dev/vision/tensor"
	"govision.dev/vision/weights"
)

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

// TestRunQuick runs the whole command as CI does (-quick: resnet18 at one
// thread, with torch's weights loaded and checked) and checks the report's
// shape.
func TestRunQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs resnet18 in Go and in PyTorch")
	}
	python := requireTorch(t)
	var out, log bytes.Buffer
	args := []string{"classify", "-quick", "-reps", "1", "-mintime", "0", "-install=false", "-python", python}
	if err := run(args, &out, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	for _, want := range []string{
		"# Classifiers, batch 1: govision against PyTorch",
		"- PyTorch: torch ", "torch.backends.mkldnn.is_available() = ",
		"- models: resnet18 224×224 (3.63 GFLOP, logits within ",
		"| model | threads | govision ms | PyTorch ms | ratio (govision/PyTorch) |",
		"\n| resnet18 | 1 | ",
		"- command: classify -quick -reps 1",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// TestRunRSSQuick runs -rss -quick: builds cmd/vision, classifies with
// resnet18 and reads the peak RSS of each process.
func TestRunRSSQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds cmd/vision and runs resnet18")
	}
	python := requireTorch(t)
	var out, log bytes.Buffer
	args := []string{"classify", "-rss", "-quick", "-install=false", "-python", python}
	if err := run(args, &out, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	for _, want := range []string{
		"# Peak memory of a resnet18 inference process",
		"| process | images | peak RSS MiB | weights MiB | peak RSS / weights | wall s |",
		"\n| vision classify IMAGE --model resnet18 --weights resnet18.pth | 1 | ",
		"\n| vision classify FOLDER --model resnet18 --weights resnet18.pth | 2 | ",
		"\n| PyTorch: torch.load, torchvision resnet18 load_state_dict, one forward | 1 | ",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// goFixture writes a fixture as the peer would, from govision itself: the
// fresh weights of a small model of the zoo (resnet20, CIFAR-10) and its
// logits for a random input, both as safetensors (Model.Load and
// weights.Load take either format). change, if not nil, alters the state
// dict after the logits are computed.
func goFixture(t *testing.T, change func(sd map[string]*tensor.Tensor)) (classify.Info, pytorchFixture) {
	t.Helper()
	const name = "resnet20"
	info, err := classify.Describe(name)
	if err != nil {
		t.Fatal(err)
	}
	m, err := classify.New(name)
	if err != nil {
		t.Fatal(err)
	}
	s := info.Weights.Preprocess.Size()
	x := tensor.New(1, 3, s, s)
	for i := range x.Data() {
		x.Data()[i] = float32(math.Sin(float64(i)))
	}
	y, err := m.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	sd := make(map[string]*tensor.Tensor)
	for k, v := range m.StateDict() {
		sd[k] = v.Clone()
	}
	if change != nil {
		change(sd)
	}
	dir := t.TempDir()
	fx := pytorchFixture{Model: name, Weights: filepath.Join(dir, name+".safetensors"),
		IO: filepath.Join(dir, name+"-io.safetensors"), Params: m.Params()}
	if err := weights.Save(fx.Weights, sd); err != nil {
		t.Fatal(err)
	}
	if err := weights.Save(fx.IO, map[string]*tensor.Tensor{"input": x, "output": y.Clone()}); err != nil {
		t.Fatal(err)
	}
	return info, fx
}

// TestCheckModel: the check accepts the model's own weights and refuses
// wrong ones, which the harness's numbers rest on.
func TestCheckModel(t *testing.T) {
	for _, tc := range []struct {
		name    string
		change  func(sd map[string]*tensor.Tensor)
		params  int // added to the fixture's parameter count
		wantErr string
	}{
		{name: "same weights"},
		{name: "one conv weight off by 1", change: func(sd map[string]*tensor.Tensor) { sd["layer2.0.conv1.weight"].Data()[5] += 1 },
			wantErr: "logits differ from torch's"},
		{name: "bn mean and variance swapped", change: func(sd map[string]*tensor.Tensor) {
			sd["bn1.running_mean"], sd["bn1.running_var"] = sd["bn1.running_var"], sd["bn1.running_mean"]
		}, wantErr: "logits differ from torch's"},
		{name: "missing linear bias", change: func(sd map[string]*tensor.Tensor) { delete(sd, "linear.bias") },
			wantErr: "missing 1: linear.bias"},
		{name: "another parameter count", params: 1, wantErr: "parameters, torch "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, fx := goFixture(t, tc.change)
			fx.Params += tc.params
			_, x, c, err := checkModel(info, fx)
			if tc.wantErr == "" {
				if err != nil || c.relDiff != 0 || x == nil || c.size != 32 {
					t.Errorf("checkModel = %+v, %v; want a zero difference at 32×32 and no error", c, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("checkModel = %+v, %v; want an error containing %q", c, err, tc.wantErr)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	want, _ := tensor.FromData([]int{1, 4}, []float32{4, -8, 2, 0})
	for _, tc := range []struct {
		name string
		got  []float32
		diff float64 // NaN: want NaN
	}{
		{"equal", []float32{4, -8, 2, 0}, 0},
		{"one off", []float32{4, -8, 2, 0.08}, 0.01},
		{"NaN", []float32{4, float32(math.NaN()), 2, 0}, math.NaN()},
	} {
		got, _ := tensor.FromData([]int{1, 4}, tc.got)
		d, err := compare(got, want)
		if err != nil || !(math.Abs(d-tc.diff) < 1e-7 || math.IsNaN(d) && math.IsNaN(tc.diff)) {
			t.Errorf("%s: compare = %v, %v; want %v", tc.name, d, err, tc.diff)
		}
	}
	if _, err := compare(tensor.New(1, 3), want); err == nil || !strings.Contains(err.Error(), "torch's [1 4]") {
		t.Errorf("compare of [1 3] with [1 4]: %v, want a shape error", err)
	}
}

var testHeader = header{
	date:     time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
	cpu:      "AMD EPYC 9R45 (AuthenticAMD family 26 model 2) (2 logical CPUs)",
	goInfo:   "go1.26.0 linux/amd64",
	kernels:  []accel.Kernel{{Name: "sgemm", Impl: "avx512 16x32"}},
	features: []string{"avx2", "fma", "avx512f"},
	pytorch:  "torch 1.13.0, torchvision 0.14.1, torch.backends.mkldnn.is_available() = True (oneDNN v2.6.3)",
	load:     [2]string{"0.10 0.20 0.30", "1.00 0.50 0.40"},
	command:  "go run ./bench/classify -threads 1,2",
}

func TestWriteReport(t *testing.T) {
	r := report{
		header: testHeader,
		models: []checked{{name: "resnet50", size: 224, gflop: 8.18, relDiff: 9.3e-6}},
		warmup: 2, minReps: 5, minTime: 2 * time.Second,
		rows: []row{
			{model: "resnet50", threads: 1, govision: 40 * time.Millisecond, pytorch: 50 * time.Millisecond, govReps: 50, torchReps: 40,
				torchConvs: map[string]int{"aten::thnn_conv2d": 36, "aten::mkldnn_convolution": 17}},
			{model: "resnet50", threads: 2, govision: 30 * time.Millisecond, pytorch: 25 * time.Millisecond, govReps: 67, torchReps: 80},
		},
	}
	var out bytes.Buffer
	writeReport(&out, r)
	got := out.String()
	for _, want := range []string{
		"# Classifiers, batch 1: govision against PyTorch\n\n",
		"- date: 2025-06-01T12:00:00Z\n",
		"- cpu: AMD EPYC 9R45 (AuthenticAMD family 26 model 2) (2 logical CPUs)\n",
		"- go: go1.26.0 linux/amd64\n",
		"- govision: accel kernels sgemm: avx512 16x32; features avx2 fma avx512f\n",
		"- PyTorch: torch 1.13.0, torchvision 0.14.1, torch.backends.mkldnn.is_available() = True (oneDNN v2.6.3)\n",
		"- load average (1, 5, 15 min): 0.10 0.20 0.30 at the start, 1.00 0.50 0.40 at the end\n",
		"- models: resnet50 224×224 (8.18 GFLOP, logits within 9.3e-06)\n",
		"(tolerance 0.001)\n",
		"each 2 warm-up calls, then at least 5 calls and 2s; median.",
		"- command: go run ./bench/classify -threads 1,2\n\n" +
			"| model | threads | govision ms | PyTorch ms | ratio (govision/PyTorch) |\n" +
			"|---|---:|---:|---:|---:|\n" +
			"| resnet50 | 1 | 40.0 | 50.0 | 0.80 |\n" +
			"| resnet50 | 2 | 30.0 | 25.0 | 1.20 |\n\n",
		"- resnet50 T=1: govision 50 calls, 204 GFLOP/s; PyTorch 40 calls, 164 GFLOP/s; torch's convolutions: aten::mkldnn_convolution ×17, aten::thnn_conv2d ×36\n",
		"- resnet50 T=2: govision 67 calls, 273 GFLOP/s; PyTorch 80 calls, 327 GFLOP/s\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}

func TestWriteRSSReport(t *testing.T) {
	h := testHeader
	h.command = "go run ./bench/classify -rss"
	r := rssReport{
		header: h, image: "/usr/share/darknet/data/dog.jpg", vision: "-vision tmp/vision",
		env: "GOGC and GOMEMLIMIT unset (vision then collects at GOGC=50, its own default; no limit)", runs: 3,
		rows: []rssRow{{model: "resnet50", process: "vision classify IMAGE --model resnet50 --weights resnet50.pth", images: 1,
			weights: 100 << 20, peaks: []int64{180 << 20, 170 << 20, 175 << 20},
			walls: []time.Duration{time.Second, 500 * time.Millisecond, 2 * time.Second}}},
	}
	var out bytes.Buffer
	writeRSSReport(&out, r)
	got := out.String()
	for _, want := range []string{
		"# Peak memory of a resnet50 inference process\n\n- date: 2025-06-01T12:00:00Z\n",
		"- image: /usr/share/darknet/data/dog.jpg; FOLDER holds copies of it\n",
		"- vision: -vision tmp/vision; GOGC and GOMEMLIMIT unset (vision then collects at GOGC=50, its own default; no limit)\n",
		"each process run 3 times to its end; peak RSS from wait4's rusage (ru_maxrss), median; target: peak RSS ≤ 2.5 × the weight file's bytes\n",
		"- command: go run ./bench/classify -rss\n\n" +
			"| process | images | peak RSS MiB | weights MiB | peak RSS / weights | wall s |\n" +
			"|---|---:|---:|---:|---:|---:|\n" +
			"| vision classify IMAGE --model resnet50 --weights resnet50.pth | 1 | 175.0 | 100.0 | 1.75 | 1.00 |\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}

// allocateEnv makes the test binary, run again by TestRunPeak, touch that
// many MiB and exit.
const allocateEnv = "BENCH_CLASSIFY_ALLOCATE_MIB"

func TestMain(m *testing.M) {
	if s := os.Getenv(allocateEnv); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		b := make([]byte, n<<20)
		for i := range b {
			b[i] = byte(i)
		}
		fmt.Println(b[len(b)-1])
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestRunPeak runs this test binary as a child that touches 64 MiB: its
// peak RSS must be at least that, and a failing child an error.
func TestRunPeak(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), allocateEnv+"=64")
	if runtime.GOOS != "linux" {
		t.Skip("-rss reads Linux's wait4 rusage")
	}
	peak, wall, err := runPeak(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if peak < 64<<20 || peak > 1<<30 || wall <= 0 {
		t.Errorf("child touching 64 MiB: peak RSS %d bytes, wall %v; want 64 MiB to 1 GiB and a time", peak, wall)
	}
	cmd = exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), allocateEnv+"=x")
	if _, _, err := runPeak(cmd); err == nil || !strings.Contains(err.Error(), `parsing "x"`) {
		t.Errorf("failing child: %v, want an error quoting its stderr", err)
	}
}

func TestParseConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		want    string // models, threads, warmup, reps, mintime, rss, rss-images, rss-runs
		wantErr string
	}{
		{name: "defaults", want: "[resnet50 vgg16 densenet121 inception_v3 resnext50_32x4d] [1 2] 2 5 2s false 16 3"},
		{name: "quick", args: []string{"-quick"}, want: "[resnet18] [1] 1 3 20ms false 2 1"},
		{name: "quick with explicit threads and reps", args: []string{"-quick", "-threads", "2", "-reps", "9"}, want: "[resnet18] [2] 1 9 20ms false 2 1"},
		{name: "rss", args: []string{"-rss"}, want: "[resnet50] [1 2] 2 5 2s true 16 3"},
		{name: "rss with models", args: []string{"-rss", "-models", "vgg16, resnet18"}, want: "[vgg16 resnet18] [1 2] 2 5 2s true 16 3"},
		{name: "quick rss", args: []string{"-quick", "-rss"}, want: "[resnet18] [1] 1 3 20ms true 2 1"},
		{name: "bad threads", args: []string{"-threads", "1,x"}, wantErr: `-threads: "x" is not a positive integer`},
		{name: "unknown model", args: []string{"-models", "resnet5O"}, wantErr: `unknown model "resnet5O" in -models`},
		{name: "model twice", args: []string{"-models", "vgg16,vgg16"}, wantErr: "vgg16 named twice"},
		{name: "no reps", args: []string{"-reps", "0"}, wantErr: "-reps 0"},
		{name: "no rss images", args: []string{"-rss-images", "0"}, wantErr: "-rss-images 0"},
		{name: "stray argument", args: []string{"extra"}, wantErr: `unexpected argument "extra"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseConfig(append([]string{"classify"}, tc.args...), io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprintf("%v %v %d %d %v %v %d %d", cfg.models, cfg.threads, cfg.warmup, cfg.minReps, cfg.minTime,
				cfg.rss, cfg.rssImages, cfg.rssRuns)
			if got != tc.want {
				t.Errorf("config %s, want %s", got, tc.want)
			}
		})
	}
}

func TestGoEnv(t *testing.T) {
	if got := goEnv([]string{"PATH=/bin", "HOME=/root"}); got != "GOGC and GOMEMLIMIT unset (vision then collects at GOGC=50, its own default; no limit)" {
		t.Errorf("goEnv without settings = %q", got)
	}
	if got := goEnv([]string{"GOGC=50", "PATH=/bin", "GOMEMLIMIT=1GiB"}); got != "GOGC=50 GOMEMLIMIT=1GiB" {
		t.Errorf("goEnv = %q", got)
	}
}
