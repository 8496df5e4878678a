package measure

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		name                string
		warmup, minReps     int
		minTime             time.Duration
		wantCalls, wantReps int
		wantMedian          time.Duration
	}{
		// fn sleeps 1, 2, 3, … ms on successive calls; the warm-up calls
		// take the first ones.
		{name: "odd count", warmup: 1, minReps: 3, wantCalls: 4, wantReps: 3, wantMedian: 3 * time.Millisecond},
		{name: "even count", warmup: 0, minReps: 4, wantCalls: 4, wantReps: 4, wantMedian: 2500 * time.Microsecond},
		{name: "min time wins", warmup: 2, minReps: 1, minTime: 9 * time.Millisecond, wantCalls: 5, wantReps: 3, wantMedian: 4 * time.Millisecond},
		{name: "at least one rep", warmup: 0, minReps: 0, wantCalls: 1, wantReps: 1, wantMedian: time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			fn := func() {
				calls++
				time.Sleep(time.Duration(calls) * time.Millisecond)
			}
			med, reps := Median(fn, tc.warmup, tc.minReps, tc.minTime)
			// With a minimum time, a loaded machine's oversleeping can end
			// the loop early: wantReps is then the most reps (enough even
			// with no delay at all), and every call but the warm-ups is one.
			if tc.minTime > 0 {
				if reps < max(tc.minReps, 1) || reps > tc.wantReps || calls != tc.warmup+reps {
					t.Errorf("%d calls, %d reps; want %d warm-up calls plus 1 to %d reps", calls, reps, tc.warmup, tc.wantReps)
				}
				if want := time.Duration(tc.warmup+1) * time.Millisecond; med < want {
					t.Errorf("median %v, below the first timed call's %v", med, want)
				}
				return
			}
			if calls != tc.wantCalls || reps != tc.wantReps {
				t.Errorf("%d calls, %d reps; want %d, %d", calls, reps, tc.wantCalls, tc.wantReps)
			}
			// Sleep oversleeps, never undersleeps; a loaded machine can add
			// milliseconds, and the ordering of the samples is what
			// matters.
			if med < tc.wantMedian || med > tc.wantMedian+20*time.Millisecond {
				t.Errorf("median %v, want %v (plus scheduling delay)", med, tc.wantMedian)
			}
		})
	}
}

func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, ""},
		{[]string{"/tmp/go-build123/b001/exe/sgemm", "-n", "64"}, "go run ./bench/x -n 64"},
		{[]string{"bottleneck", "-python", "/opt/my python", "-x", "it's", ""}, `bottleneck -python '/opt/my python' -x 'it'\''s' ''`},
	} {
		if got := CommandLine(tc.args, "./bench/x"); got != tc.want {
			t.Errorf("CommandLine(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

func TestInts(t *testing.T) {
	got, err := Ints(" 1, 2,16")
	if err != nil || len(got) != 3 || got[0] != 1 || got[1] != 2 || got[2] != 16 {
		t.Errorf(`Ints(" 1, 2,16") = %v, %v; want [1 2 16]`, got, err)
	}
	for _, bad := range []string{"", "0", "1,-2", "1,,2", "x"} {
		if _, err := Ints(bad); err == nil || !strings.Contains(err.Error(), "is not a positive integer") {
			t.Errorf("Ints(%q) = %v, want a 'not a positive integer' error", bad, err)
		}
	}
}

func TestCPUModel(t *testing.T) {
	info := "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\nmodel\t\t: 2\nmodel name\t: AMD EPYC 9R45\n"
	if got, want := cpuModel(info), "AMD EPYC 9R45 (AuthenticAMD family 26 model 2)"; got != want {
		t.Errorf("cpuModel = %q, want %q", got, want)
	}
	if CPUModel() == "" {
		t.Error("CPUModel() is empty")
	}
}

func TestLastLine(t *testing.T) {
	if got := LastLine("Traceback:\n  File x\nValueError: no\n\n"); got != "ValueError: no" {
		t.Errorf("LastLine = %q", got)
	}
}

func TestOpenBLASAVX512(t *testing.T) {
	for core, want := range map[string]bool{"SkylakeX": true, "Cooperlake": true, "SAPPHIRERAPIDS": true, "Haswell": false, "Prescott": false, "Zen": false, "": false} {
		if got := OpenBLASAVX512(core); got != want {
			t.Errorf("OpenBLASAVX512(%q) = %v, want %v", core, got, want)
		}
	}
}

func TestPeerEnv(t *testing.T) {
	environ := []string{"PATH=/bin", "OPENBLAS_CORETYPE=Haswell", "OPENBLAS_L2_SIZE=1048576", "OMP_NUM_THREADS=8"}
	for _, tc := range []struct{ mode, core, want string }{
		{"keep", "", "PATH=/bin OPENBLAS_CORETYPE=Haswell OPENBLAS_L2_SIZE=1048576 OMP_NUM_THREADS=8"},
		{"detect", "", "PATH=/bin OMP_NUM_THREADS=8"},
		{"auto", "SkylakeX", "PATH=/bin OMP_NUM_THREADS=8 OPENBLAS_CORETYPE=SkylakeX"},
		{"Zen", "Zen", "PATH=/bin OMP_NUM_THREADS=8 OPENBLAS_CORETYPE=Zen"},
	} {
		if got := strings.Join(PeerEnv(environ, tc.mode, tc.core), " "); got != tc.want {
			t.Errorf("PeerEnv(%s, %q) = %q, want %q", tc.mode, tc.core, got, tc.want)
		}
	}
}

func TestLoadAverage(t *testing.T) {
	got := LoadAverage()
	if _, err := os.Stat("/proc/loadavg"); err != nil {
		if got != "unknown" {
			t.Errorf("LoadAverage() = %q without /proc/loadavg, want unknown", got)
		}
		return
	}
	if f := strings.Fields(got); len(f) != 3 {
		t.Errorf("LoadAverage() = %q, want three numbers", got)
	}
}
