package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"govision.dev/accel"
	"govision.dev/bench/internal/pypeer"
)

// requireOpenCV skips the test unless Debian's interpreter has cv2 and
// Debian's darknet cfgs are installed.
func requireOpenCV(t *testing.T) string {
	t.Helper()
	const python = "/usr/bin/python3"
	if err := pypeer.Importable(python, "cv2", "numpy"); err != nil {
		t.Skipf("%v (apt-get install python3-opencv)", err)
	}
	if _, err := os.Stat("/usr/share/darknet/cfg/yolov3-tiny.cfg"); err != nil {
		t.Skipf("no Debian darknet cfgs (apt-get install darknet): %v", err)
	}
	return python
}

// TestRunSmall runs the whole command on YOLOv3-tiny at 160×160: the
// numerical check against OpenCV, the timing of both and, where Debian's
// darknet is installed, of the darknet binary.
func TestRunSmall(t *testing.T) {
	python := requireOpenCV(t)
	dn := ""
	if p, err := exec.LookPath("darknet"); err == nil {
		dn = p
	}
	var out, log bytes.Buffer
	args := []string{"yolo", "-quick", "-size", "160", "-install=false", "-python", python, "-darknet", dn}
	if err := run(args, &out, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	wants := []string{
		"# YOLO at 160×160, batch 1: govision against OpenCV DNN and darknet",
		"- OpenCV: cv2 ",
		"- check yolov3-tiny: govision's yolo outputs against OpenCV's yolo inputs",
		"layer 16 [1 255 5 5] vs conv_15: ",
		"layer 23 [1 255 10 10] vs conv_22: ",
		"| model | threads | govision ms | OpenCV ms | darknet ms | govision/OpenCV |",
		"\n| yolov3-tiny | 1 | ",
		"- command: yolo -quick -size 160",
	}
	if dn != "" {
		wants = append(wants, "- darknet: "+dn+" (Debian darknet ", "darknet 1 run, ")
	}
	for _, want := range wants {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestParseConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		want    string // models, threads, size, rounds, warmup, reps, mintime, darknet
		wantErr string
	}{
		{name: "defaults", want: "[yolov3-tiny yolov3] [1 2] 416 3 2 5 1s /usr/bin/darknet"},
		{name: "quick", args: []string{"-quick"}, want: "[yolov3-tiny] [1] 416 1 1 2 0s "},
		{name: "quick with explicit flags", args: []string{"-quick", "-threads", "2", "-models", "yolov3", "-darknet", "/opt/darknet"},
			want: "[yolov3] [2] 416 1 1 2 0s /opt/darknet"},
		{name: "repeated model", args: []string{"-models", "yolov3, yolov3-tiny,yolov3"}, want: "[yolov3 yolov3-tiny] [1 2] 416 3 2 5 1s /usr/bin/darknet"},
		{name: "unknown model", args: []string{"-models", "yolov4"}, wantErr: `unknown model "yolov4"`},
		{name: "bad threads", args: []string{"-threads", "1,0"}, wantErr: `-threads: "0" is not a positive integer`},
		{name: "size off the stride", args: []string{"-size", "420"}, wantErr: "-size 420"},
		{name: "no rounds", args: []string{"-rounds", "0"}, wantErr: "-rounds 0"},
		{name: "stray argument", args: []string{"extra"}, wantErr: `unexpected argument "extra"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseConfig(append([]string{"yolo"}, tc.args...), io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprintf("%v %v %d %d %d %d %v %s", cfg.models, cfg.threads, cfg.size, cfg.rounds, cfg.warmup, cfg.minReps, cfg.minTime, cfg.darknet)
			if got != tc.want {
				t.Errorf("config %s, want %s", got, tc.want)
			}
		})
	}
}

func TestResizedCfg(t *testing.T) {
	const cfg = "[net]\n# Testing\nbatch=1\nwidth=608\nheight = 608\nchannels=3\n\n[convolutional]\nwidth=7\n"
	got, err := resizedCfg(cfg, 416)
	if err != nil {
		t.Fatal(err)
	}
	if want := "[net]\n# Testing\nbatch=1\nwidth=416\nheight = 416\nchannels=3\n\n[convolutional]\nwidth=7\n"; got != want {
		t.Errorf("resizedCfg = %q, want %q", got, want)
	}
	if _, err := resizedCfg("[net]\nwidth=608\n[convolutional]\nheight=3\n", 416); err == nil {
		t.Error("a [net] section without height: no error")
	}
}

func TestParsePredicted(t *testing.T) {
	out := []byte("Loading weights from x.weights...Done!\n/usr/share/darknet/data/dog.jpg: Predicted in 2.912345 seconds.\n")
	if d, err := parsePredicted(out); err != nil || d != 2912345*time.Microsecond {
		t.Errorf("parsePredicted = %v, %v; want 2.912345s", d, err)
	}
	for _, bad := range []string{"", "Predicted in x seconds", "Predicted in 0 seconds", "Predicted in 1 seconds\nPredicted in 2 seconds"} {
		if _, err := parsePredicted([]byte(bad)); err == nil {
			t.Errorf("parsePredicted(%q): no error", bad)
		}
	}
}

// TestYoloLogistic checks the reference transform on two anchors of one
// class at two cells: entries x, y, w, h, objectness, class.
func TestYoloLogistic(t *testing.T) {
	x := make([]float32, 2*6*2)
	for i := range x {
		x[i] = float32(i%5) - 2
	}
	got := slices.Clone(x)
	yoloLogistic(got, 2, 1, 2)
	for i, v := range x {
		want := v
		if e := (i / 2) % 6; e != 2 && e != 3 {
			want = float32(1 / (1 + math.Exp(-float64(v))))
		}
		if got[i] != want {
			t.Errorf("value %d (entry %d): %v, want %v", i, (i/2)%6, got[i], want)
		}
	}
}

func TestRelDiff(t *testing.T) {
	nan := float32(math.NaN())
	for _, tc := range []struct {
		a, b []float32
		want float64
	}{
		{[]float32{1, 2}, []float32{1, 2}, 0},
		{[]float32{1, 2.5}, []float32{1, -2}, 4.5 / 2},
		{[]float32{0}, []float32{0}, 0},
		{[]float32{1}, []float32{0}, math.Inf(1)},
		{[]float32{nan}, []float32{1}, math.Inf(1)},
	} {
		if got := relDiff(tc.a, tc.b); got != tc.want {
			t.Errorf("relDiff(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestWriteReport renders a fixed report: the tables and the header.
func TestWriteReport(t *testing.T) {
	ms := func(v ...float64) []sample {
		var s []sample
		for _, x := range v {
			d := time.Duration(x * float64(time.Millisecond))
			s = append(s, sample{median: d, best: d - 10*time.Millisecond, reps: 5})
		}
		return s
	}
	r := report{
		date:     time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
		cpu:      "AMD EPYC 9R45 (AuthenticAMD family 26 model 2) (2 logical CPUs)",
		goInfo:   "go1.26.0 linux/amd64",
		kernels:  []accel.Kernel{{Name: "sgemm", Impl: "avx512 16x32"}},
		features: []string{"avx512f"},
		opencv:   "cv2 4.6.0 (Debian python3-opencv), parallel framework TBB",
		darknet:  "/usr/bin/darknet (Debian darknet 0.0.0+git20180914.61c9d02e-2+b4, pjreddie/darknet)",
		size:     416, seed: 1, image: "/usr/share/darknet/data/dog.jpg",
		weights: map[string]int64{"yolov3": 62001757},
		checks: []check{{model: "yolov3", outputs: []outputCheck{
			{layer: 82, opencv: "conv_81", shape: []int{1, 255, 13, 13}, relDiff: 2e-6}}}},
		rounds: 3, warmup: 2, minReps: 5, minTime: time.Second, dnRuns: 1,
		command: "go run ./bench/yolo",
		rows: []row{
			{model: "yolov3", threads: 1, gflop: 65.9, govision: ms(600, 620, 700), opencv: ms(1500, 1400, 1480), darknet: ms(2900, 2950, 3000)},
			{model: "yolov3", threads: 2, gflop: 65.9, govision: ms(400, 380), opencv: ms(800, 700)},
		},
	}
	var out bytes.Buffer
	writeReport(&out, r)
	got := out.String()
	for _, want := range []string{
		"# YOLO at 416×416, batch 1: govision against OpenCV DNN and darknet\n\n",
		"- date: 2025-06-01T12:00:00Z\n",
		"- govision: accel kernels sgemm: avx512 16x32; features avx512f\n",
		"- OpenCV: cv2 4.6.0 (Debian python3-opencv), parallel framework TBB\n",
		"- darknet: /usr/bin/darknet (Debian darknet 0.0.0+git20180914.61c9d02e-2+b4, pjreddie/darknet)\n",
		"float32 values yolov3: 62001757\n",
		"(tolerance 0.001): layer 82 [1 255 13 13] vs conv_81: 2e-06\n",
		"- method: 3 rounds, interleaved;",
		"then darknet at one thread (1 run per round,",
		"; below, the fastest single call of all rounds (on a shared machine, the least disturbed)\n",
		"- command: go run ./bench/yolo\n\n" +
			"| model | threads | govision ms | OpenCV ms | darknet ms | govision/OpenCV |\n" +
			"|---|---:|---:|---:|---:|---:|\n" +
			"| yolov3 | 1 | 620.0 | 1480.0 | 2950.0 | 0.42 |\n" +
			"| yolov3 | 2 | 390.0 | 750.0 | – | 0.52 |\n\n" +
			"Fastest call:\n\n" +
			"| model | threads | govision ms | OpenCV ms | darknet ms | govision/OpenCV |\n" +
			"|---|---:|---:|---:|---:|---:|\n" +
			"| yolov3 | 1 | 590.0 | 1390.0 | 2890.0 | 0.42 |\n" +
			"| yolov3 | 2 | 370.0 | 690.0 | – | 0.54 |\n\n",
		"- yolov3 T=1 (65.9 GFLOP per image): govision 15 calls, 106 GFLOP/s; OpenCV 15 calls, 45 GFLOP/s; darknet 15 runs, 22 GFLOP/s\n",
		"- yolov3 T=2 (65.9 GFLOP per image): govision 10 calls, 169 GFLOP/s; OpenCV 10 calls, 88 GFLOP/s\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}
