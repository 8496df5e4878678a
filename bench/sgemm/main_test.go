package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// TestQuickGoPeers runs the harness in -quick mode with the Go peers only (no
// Python) and checks that every peer was measured and that gonum's and vek's
// products equal govision's within relTol.
func TestQuickGoPeers(t *testing.T) {
	cfg, err := parseConfig([]string{"sgemm", "-quick", "-peers", "gonum,vek"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	peers := []peer{{name: "govision", mul: govisionMul}, {name: "gonum", mul: gonumMul}, {name: "vek", mul: vekMul}}
	results := measurePeers(cfg, peers, nil)
	if got, want := len(results), len(cfg.sizes)*len(cfg.threads); got != want {
		t.Fatalf("got %d results, want %d (sizes %v × threads %v)", got, want, cfg.sizes, cfg.threads)
	}
	for _, r := range results {
		for _, p := range peers {
			if g, ok := r.gflops(p.name); !ok || !(g > 0) {
				t.Errorf("N=%d T=%d: %s not measured (failed: %q)", r.n, r.threads, p.name, r.failed[p.name])
			}
			if p.name != "govision" && r.reps[p.name] < cfg.minReps {
				t.Errorf("N=%d T=%d: %s ran %d reps, want at least %d", r.n, r.threads, p.name, r.reps[p.name], cfg.minReps)
			}
		}
		for _, name := range []string{"gonum", "vek"} {
			d, ok := r.relDiff[name]
			if !ok || !(d <= relTol(r.n)) {
				t.Errorf("N=%d T=%d: %s differs from govision by %g relative (present %v), tolerance %g", r.n, r.threads, name, d, ok, relTol(r.n))
			}
		}
	}
	if err := check(results); err != nil {
		t.Error(err)
	}

	var out bytes.Buffer
	writeReport(&out, cfg, nil, time.Now(), results)
	for _, want := range []string{
		"| N | threads | govision GFLOP/s | OpenBLAS | ratio to OpenBLAS | gonum | vek32 MatMul |",
		"| 64 | 1 | ", "| 128 | 2 | ",
		"- OpenBLAS: not selected",
		"- command: sgemm -quick -peers gonum,vek",
		"gonum agrees with govision",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// TestCheckCatchesWrongPeer checks that the harness notices a peer whose
// product is wrong: one element off by 1%, far above relTol.
func TestCheckCatchesWrongPeer(t *testing.T) {
	cfg, err := parseConfig([]string{"sgemm", "-n", "33", "-threads", "1", "-reps", "1", "-mintime", "0"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	wrong := func(n int, a, b, c []float32) {
		gonumMul(n, a, b, c)
		c[n*n-1] *= 1.01
	}
	results := measurePeers(cfg, []peer{{name: "govision", mul: govisionMul}, {name: "gonum", mul: wrong}}, nil)
	if err := check(results); err == nil || !strings.Contains(err.Error(), "gonum differs from govision") {
		t.Errorf("check = %v, want an error naming gonum", err)
	}
}

func TestParseConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		sizes   string
		peers   string
		wantErr string
	}{
		{name: "defaults", sizes: "[256 512 1024 2048]", peers: "[openblas gonum vek]"},
		{name: "quick", args: []string{"-quick"}, sizes: "[64 128]", peers: "[openblas gonum vek]"},
		{name: "quick with explicit n", args: []string{"-quick", "-n", "32"}, sizes: "[32]", peers: "[openblas gonum vek]"},
		{name: "peers reordered and deduplicated", args: []string{"-peers", "vek,govision,gonum,vek"}, sizes: "[256 512 1024 2048]", peers: "[gonum vek]"},
		{name: "unknown peer", args: []string{"-peers", "mkl"}, wantErr: `unknown peer "mkl"`},
		{name: "bad size", args: []string{"-n", "256,0"}, wantErr: `-n: "0" is not a positive integer`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseConfig(append([]string{"sgemm"}, tc.args...), io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(cfg.sizes); got != tc.sizes {
				t.Errorf("sizes = %s, want %s", got, tc.sizes)
			}
			if got := fmt.Sprint(cfg.peers); got != tc.peers {
				t.Errorf("peers = %s, want %s", got, tc.peers)
			}
		})
	}
}

func TestHelperEnv(t *testing.T) {
	env := helperEnv([]string{"PATH=/bin", "OPENBLAS_CORETYPE=Haswell", "OPENBLAS_L2_SIZE=1048576", "OMP_NUM_THREADS=8"}, 2, "")
	got := strings.Join(env, " ")
	if want := "PATH=/bin OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2"; got != want {
		t.Errorf("helperEnv = %q, want %q", got, want)
	}
	env = helperEnv([]string{"OPENBLAS_CORETYPE=Haswell"}, 1, "SkylakeX")
	if got, want := strings.Join(env, " "), "OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_CORETYPE=SkylakeX"; got != want {
		t.Errorf("helperEnv with core = %q, want %q", got, want)
	}
}
