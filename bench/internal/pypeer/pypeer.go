package pypeer

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"govision.dev/bench/internal/measure"
)

// Module is pypeer.py, the module the peer scripts import; Start writes it
// into the peer's working directory as ModuleFile.
//
//go:embed pypeer.py
var Module string

// ModuleFile is the name under which Start writes Module.
const ModuleFile = "pypeer.py"

// Spec says how to start one peer script.
type Spec struct {
	Harness string   // the command, prefixing errors and log lines: "yolo"
	Name    string   // the script's file name, for errors: "opencv_peer.py"
	Script  string   // the script's source, passed with -c
	Python  string   // the interpreter, Debian's /usr/bin/python3
	Dir     string   // the working directory; Start writes Module here
	Args    []string // the script's arguments
	Env     []string // the environment of the subprocess

	// Lacks names what the interpreter misses when the script answers
	// "cannot import …": "torch and torchvision".
	Lacks string
	// Packages are the Debian packages that provide it; with Install set,
	// Start installs them and tries once more.
	Packages []string
	Install  bool
}

// MissingError says the interpreter is missing, or cannot import what the
// peer needs.
type MissingError struct{ Harness, Python, Lacks, Why string }

func (e *MissingError) Error() string {
	return fmt.Sprintf("%s: %s has no usable %s: %s", e.Harness, e.Python, e.Lacks, e.Why)
}

// Command returns s.Python running s.Script with args in s.Dir under s.Env.
// -E and -s keep PYTHONPATH and the user's site-packages (a pip torch or
// OpenCV with its own libraries) out of Debian's interpreter; running in
// s.Dir, the harness's own directory, keeps a file named like a module in
// the current directory from shadowing it. A script that imports pypeer
// needs Module in s.Dir, which Start writes.
func (s Spec) Command(args ...string) *exec.Cmd {
	cmd := exec.Command(s.Python, append([]string{"-E", "-s", "-c", s.Script}, args...)...)
	cmd.Dir = s.Dir
	cmd.Env = s.Env
	return cmd
}

// Start writes Module into s.Dir, starts the script with s.Args and reads
// its description line into a new T. If the interpreter does not exist or
// the script cannot import what it needs (a *MissingError) and s.Install is
// set, it installs s.Packages and starts the script once more; log gets
// what it does and apt-get's output.
func Start[T any, PT interface {
	*T
	measure.Answer
}](s Spec, log io.Writer) (*measure.Peer, *T, error) {
	peer, info, err := spawn[T, PT](s)
	var missing *MissingError
	if errors.As(err, &missing) && s.Install {
		fmt.Fprintf(log, "%s: %v; apt-get install -y %s\n", s.Harness, err, strings.Join(s.Packages, " "))
		if ierr := measure.AptInstall(log, s.Packages...); ierr != nil {
			fmt.Fprintf(log, "%s: %v\n", s.Harness, ierr)
		}
		peer, info, err = spawn[T, PT](s)
	}
	return peer, info, err
}

func spawn[T any, PT interface {
	*T
	measure.Answer
}](s Spec) (*measure.Peer, *T, error) {
	if _, err := os.Stat(s.Python); err != nil {
		return nil, nil, &MissingError{s.Harness, s.Python, s.Lacks, err.Error()}
	}
	if err := os.WriteFile(filepath.Join(s.Dir, ModuleFile), []byte(Module), 0o644); err != nil {
		return nil, nil, fmt.Errorf("%s: %v", s.Harness, err)
	}
	info := new(T)
	peer, err := measure.StartPeer(s.Command(s.Args...), s.Harness+": "+s.Name, PT(info))
	if err != nil {
		if strings.Contains(err.Error(), "cannot import ") {
			return nil, nil, &MissingError{s.Harness, s.Python, s.Lacks, err.Error()}
		}
		return nil, nil, err
	}
	return peer, info, nil
}

// Importable returns nil if python exists and imports modules: for tests,
// which skip otherwise.
func Importable(python string, modules ...string) error {
	if _, err := os.Stat(python); err != nil {
		return fmt.Errorf("no %s: %v", python, err)
	}
	out, err := exec.Command(python, "-E", "-s", "-c", "import "+strings.Join(modules, ", ")).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s cannot import %s: %v: %s", python, strings.Join(modules, " and "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Known returns *s, or "unknown" for a field the peer could not tell.
func Known(s *string) string {
	if s == nil {
		return "unknown"
	}
	return *s
}

// EnvLine is a report's account of the environment variables a peer
// reported (nil: unset): "K=V …" for those set, sorted, or "none of K, …".
func EnvLine(env map[string]*string) string {
	var set []string
	for _, k := range slices.Sorted(maps.Keys(env)) {
		if v := env[k]; v != nil {
			set = append(set, k+"="+*v)
		}
	}
	if len(set) == 0 {
		return "none of " + strings.Join(slices.Sorted(maps.Keys(env)), ", ")
	}
	return strings.Join(set, " ")
}
