package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"govision.dev/accel"
)

// execute runs the command line in-process, as main would, and returns what
// it wrote to stdout and stderr and its error.
func execute(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	t.Cleanup(func() { accel.SetThreads(0) }) // --threads sets a process-wide count
	var out, errb bytes.Buffer
	err = run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), err
}

func TestVersion(t *testing.T) {
	out, _, err := execute(t, "version")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{runtime.Version(), runtime.GOOS + "/" + runtime.GOARCH, "version"} {
		if !strings.Contains(out, want) {
			t.Errorf("vision version: output lacks %q:\n%s", want, out)
		}
	}
}

func TestVersionJSON(t *testing.T) {
	out, _, err := execute(t, "version", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var v versionInfo
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("vision version --json: %v:\n%s", err, out)
	}
	if v.Go != runtime.Version() || v.OS != runtime.GOOS || v.Arch != runtime.GOARCH || v.Version == "" || v.Module == "" {
		t.Errorf("vision version --json = %+v", v)
	}
}

func TestEnv(t *testing.T) {
	out, _, err := execute(t, "env")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{runtime.Version(), "gomaxprocs", "threads", "features"}
	for _, k := range accel.Kernels() {
		want = append(want, k.Name, k.Impl)
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("vision env: output lacks %q:\n%s", w, out)
		}
	}
}

func TestEnvJSON(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		threads int
	}{
		{"default threads", []string{"env", "--json"}, runtime.GOMAXPROCS(0)},
		{"threads 3", []string{"--threads", "3", "env", "--json"}, 3},
		{"threads after the command", []string{"env", "--json", "--threads=5"}, 5},
		{"threads 0 is GOMAXPROCS", []string{"--threads", "0", "env", "--json"}, runtime.GOMAXPROCS(0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := execute(t, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			var e envInfo
			if err := json.Unmarshal([]byte(out), &e); err != nil {
				t.Fatalf("%v:\n%s", err, out)
			}
			if e.Threads != tc.threads {
				t.Errorf("threads = %d, want %d", e.Threads, tc.threads)
			}
			if e.GOMAXPROCS != runtime.GOMAXPROCS(0) || e.Go != runtime.Version() {
				t.Errorf("gomaxprocs, go = %d, %q; want %d, %q", e.GOMAXPROCS, e.Go, runtime.GOMAXPROCS(0), runtime.Version())
			}
			if e.Features == nil {
				t.Errorf("features is null, want a list")
			}
			ks := accel.Kernels()
			if len(e.Kernels) != len(ks) {
				t.Fatalf("kernels = %v, want %v", e.Kernels, ks)
			}
			for i, k := range ks {
				if e.Kernels[i].Name != k.Name || e.Kernels[i].Impl != k.Impl {
					t.Errorf("kernels[%d] = %+v, want %+v", i, e.Kernels[i], k)
				}
			}
		})
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string // substrings of the error
	}{
		{"negative threads", []string{"--threads", "-1", "env"}, []string{"--threads -1"}},
		{"threads not a number", []string{"--threads", "many", "env"}, []string{"many"}},
		{"unknown profile kind", []string{"--profile", "gpu", "env"}, []string{`"gpu"`, "cpu, mem, alloc, block, mutex, trace"}},
		{"quiet and verbose", []string{"-q", "-v", "env"}, []string{"--quiet", "--verbose"}},
		{"unknown command", []string{"frobnicate"}, []string{"frobnicate"}},
		{"extra argument", []string{"env", "extra"}, []string{"extra"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := execute(t, tc.args...)
			if err == nil {
				t.Fatalf("vision %s: no error; stdout:\n%s", strings.Join(tc.args, " "), out)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			// main prints the error; cobra must not print it or the usage too.
			if errOut != "" {
				t.Errorf("stderr = %q, want nothing", errOut)
			}
		})
	}
}

func TestProfile(t *testing.T) {
	for _, tc := range []struct{ kind, file string }{
		{"cpu", "cpu.pprof"},
		{"mem", "mem.pprof"},
		{"alloc", "mem.pprof"},
		{"block", "block.pprof"},
		{"mutex", "mutex.pprof"},
		{"trace", "trace.out"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			dir := t.TempDir()
			_, errOut, err := execute(t, "--profile", tc.kind, "--profile-dir", dir, "env")
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, tc.file)
			if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
				t.Fatalf("profile file: %v (stat error %v)", fi, err)
			}
			if !strings.Contains(errOut, path) {
				t.Errorf("stderr does not name %s:\n%s", path, errOut)
			}
		})
	}
}

func TestProfileQuiet(t *testing.T) {
	dir := t.TempDir()
	_, errOut, err := execute(t, "-q", "--profile", "cpu", "--profile-dir", dir, "env")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "cpu.pprof")); err != nil {
		t.Error(err)
	}
	if errOut != "" {
		t.Errorf("stderr with --quiet = %q, want nothing", errOut)
	}
}

func TestProfileNewDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	if _, _, err := execute(t, "--profile", "cpu", "--profile-dir", dir, "env"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "cpu.pprof")); err != nil {
		t.Error(err)
	}
}

func TestProfileDirIsAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	_, _, err := execute(t, "--profile", "cpu", "--profile-dir", file, "env")
	if err == nil || !strings.Contains(err.Error(), "--profile-dir") {
		t.Errorf("error = %v, want one naming --profile-dir", err)
	}
}

// failWriter fails every write, making the command itself fail after the
// profile has started.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestProfileWrittenWhenCommandFails(t *testing.T) {
	dir := t.TempDir()
	var errb bytes.Buffer
	err := run(context.Background(), []string{"--profile", "cpu", "--profile-dir", dir, "env"}, failWriter{}, &errb)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("error = %v, want disk full", err)
	}
	path := filepath.Join(dir, "cpu.pprof")
	if _, err := os.Stat(path); err != nil {
		t.Error(err)
	}
	if !strings.Contains(errb.String(), path) {
		t.Errorf("stderr does not name %s:\n%s", path, errb.String())
	}
}

// TestMain lets TestExitStatus run main in a child process: with
// VISION_TEST_MAIN set, the test binary is the vision command.
func TestMain(m *testing.M) {
	if os.Getenv("VISION_TEST_MAIN") == "1" {
		os.Args = append([]string{"vision"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestExitStatus(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		stderr     string // exact
		stdoutPart string
	}{
		{"ok", []string{"version"}, 0, "", runtime.Version()},
		{"error", []string{"--threads", "-2", "version"}, 1, "vision: --threads -2: want 0 (GOMAXPROCS) or more\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], tc.args...)
			cmd.Env = append(os.Environ(), "VISION_TEST_MAIN=1")
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code {
				t.Errorf("exit status = %d, want %d", code, tc.code)
			}
			if errb.String() != tc.stderr {
				t.Errorf("stderr = %q, want %q", errb.String(), tc.stderr)
			}
			if !strings.Contains(out.String(), tc.stdoutPart) {
				t.Errorf("stdout = %q, want it to contain %q", out.String(), tc.stdoutPart)
			}
		})
	}
}
