package pypeer

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// echoScript is a peer built on pypeer.py: it describes itself, then
// answers "time T WARMUP MIN_REPS MIN_TIME" with pypeer.time_calls's count.
const echoScript = `
import sys
import pypeer
pypeer.reply({"name": "echo"})

def handle(f, line):
    if f[0] != "time" or len(f) != 5:
        raise ValueError("unknown command %r" % line.strip())
    times = pypeer.time_calls(lambda: None, int(f[2]), int(f[3]), float(f[4]))
    return {"threads": int(f[1]), "median_s": 1.0, "reps": len(times)}

pypeer.serve(handle)
`

type echoInfo struct {
	Error string `json:"error"`
	Name  string `json:"name"`
}

func (i *echoInfo) Failure() string { return i.Error }

// TestStart starts echoScript in a fresh directory from another working
// directory, as the harnesses do, and checks the command loop's answers
// and errors.
func TestStart(t *testing.T) {
	const python = "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		t.Skipf("no %s: %v", python, err)
	}
	dir := t.TempDir()
	s := Spec{Harness: "test", Name: "echo.py", Script: echoScript, Python: python, Dir: dir, Lacks: "nothing"}
	peer, info, err := Start[echoInfo](s, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "echo" {
		t.Errorf("description %+v, want name echo", info)
	}
	if _, err := os.Stat(filepath.Join(dir, ModuleFile)); err != nil {
		t.Errorf("Start did not write %s into the peer's directory: %v", ModuleFile, err)
	}
	var tm Timing
	if err := peer.Do(&tm, "time 2 1 3 0"); err != nil {
		t.Fatal(err)
	}
	if tm.Threads != 2 || tm.Reps != 3 {
		t.Errorf("time 2 1 3 0 = %+v, want 2 threads and 3 reps", tm)
	}
	if err := peer.Do(&tm, "frobnicate"); err == nil || !strings.Contains(err.Error(), "test: echo.py: ValueError: unknown command 'frobnicate'") {
		t.Errorf("unknown command: err = %v, want the peer's ValueError", err)
	}
	if err := peer.Close(); err != nil {
		t.Error(err)
	}
}

func TestStartMissingPython(t *testing.T) {
	s := Spec{Harness: "test", Name: "echo.py", Python: filepath.Join(t.TempDir(), "python3"), Dir: t.TempDir(), Lacks: "torch and torchvision"}
	_, _, err := Start[echoInfo](s, io.Discard)
	var missing *MissingError
	if !errors.As(err, &missing) || !strings.HasPrefix(err.Error(), "test: ") || !strings.Contains(err.Error(), "has no usable torch and torchvision") {
		t.Errorf("err = %v, want a *MissingError naming torch and torchvision", err)
	}
}

func TestEnvLine(t *testing.T) {
	v := "SkylakeX"
	for _, tc := range []struct {
		name string
		env  map[string]*string
		want string
	}{
		{"none set", map[string]*string{"OMP_NUM_THREADS": nil, "OPENBLAS_CORETYPE": nil}, "none of OMP_NUM_THREADS, OPENBLAS_CORETYPE"},
		{"one set", map[string]*string{"OPENBLAS_CORETYPE": &v, "OMP_NUM_THREADS": nil}, "OPENBLAS_CORETYPE=SkylakeX"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := EnvLine(tc.env); got != tc.want {
				t.Errorf("EnvLine = %q, want %q", got, tc.want)
			}
		})
	}
}
