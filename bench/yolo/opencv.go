package main

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"govision.dev/bench/internal/measure"
)

// peerScript is opencv_peer.py, passed to the interpreter with -c so that
// the harness runs from any directory.
//
//go:embed opencv_peer.py
var peerScript string

// opencvInfo is the description line opencv_peer.py prints first.
type opencvInfo struct {
	Error      string             `json:"error"`
	OpenCV     string             `json:"opencv"`
	Parallel   *string            `json:"parallel"`
	Baseline   *string            `json:"baseline"`
	Dispatched *string            `json:"dispatched"`
	Threads    int                `json:"threads"`
	Python     string             `json:"python"`
	Env        map[string]*string `json:"env"`
}

// opencvLoad is the peer's answer to a load command.
type opencvLoad struct {
	Error   string `json:"error"`
	Model   string `json:"model"`
	Outputs []struct {
		Layer  int    `json:"layer"`
		OpenCV string `json:"opencv"`
		Shape  []int  `json:"shape"`
		File   string `json:"file"`
	} `json:"outputs"`
	OutNames []string `json:"out_names"`
}

// opencvTiming is the peer's answer to a time command.
type opencvTiming struct {
	Error   string  `json:"error"`
	Threads int     `json:"threads"`
	MedianS float64 `json:"median_s"`
	BestS   float64 `json:"best_s"`
	Reps    int     `json:"reps"`
}

func (i *opencvInfo) Failure() string   { return i.Error }
func (l *opencvLoad) Failure() string   { return l.Error }
func (t *opencvTiming) Failure() string { return t.Error }

// opencv is opencv_peer.py running in a subprocess that waits for
// commands, so that neither Python's start-up nor the loading of a network
// is timed, and govision and OpenCV are measured in the same period.
type opencv struct {
	info opencvInfo
	*measure.Peer
}

// missingCV2Error says the interpreter lacks cv2.
type missingCV2Error struct{ python, why string }

func (e *missingCV2Error) Error() string {
	return fmt.Sprintf("yolo: %s has no usable cv2: %s", e.python, e.why)
}

// startOpenCV starts opencv_peer.py with cfg's interpreter in dir and
// reads its description, installing python3-opencv first if cv2 is
// missing and cfg.install is set.
func startOpenCV(cfg config, dir string, log io.Writer) (*opencv, error) {
	p, err := spawnOpenCV(cfg, dir)
	var missing *missingCV2Error
	if errors.As(err, &missing) && cfg.install {
		fmt.Fprintf(log, "yolo: %v; apt-get install -y python3-opencv\n", err)
		if ierr := measure.AptInstall(log, "python3-opencv"); ierr != nil {
			fmt.Fprintf(log, "yolo: %v\n", ierr)
		}
		p, err = spawnOpenCV(cfg, dir)
	}
	return p, err
}

// spawnOpenCV starts the peer and reads its description line. -E and -s
// keep PYTHONPATH and the user's site-packages (another OpenCV, another
// numpy) out of Debian's interpreter; running in dir keeps a file named
// like a module in the current directory from shadowing it. OpenBLAS's
// core and cache settings are removed from the environment (as the other
// harnesses do): OpenCV's DNN convolutions do not use a BLAS, but its
// core links one.
func spawnOpenCV(cfg config, dir string) (*opencv, error) {
	if _, err := os.Stat(cfg.python); err != nil {
		return nil, &missingCV2Error{cfg.python, err.Error()}
	}
	cmd := exec.Command(cfg.python, "-E", "-s", "-c", peerScript, "--dir", dir)
	cmd.Dir = dir
	cmd.Env = measure.PeerEnv(os.Environ(), "detect", "")
	p := &opencv{}
	peer, err := measure.StartPeer(cmd, "yolo: opencv_peer.py", &p.info)
	if err != nil {
		if strings.Contains(err.Error(), "cannot import cv2") {
			return nil, &missingCV2Error{cfg.python, err.Error()}
		}
		return nil, err
	}
	p.Peer = peer
	return p, nil
}

// load has the peer read the model's cfg and weights and write the
// outputs of the darknet layers feeding (one per yolo layer) for the
// input blob, size×size. No argument may contain white space.
func (p *opencv) load(name, cfg, weights, input string, size int, feeding []int) (opencvLoad, error) {
	var out opencvLoad
	var ls []string
	for _, i := range feeding {
		ls = append(ls, strconv.Itoa(i))
	}
	for _, a := range []string{name, cfg, weights, input} {
		if a == "" || strings.ContainsAny(a, " \t\n") {
			return out, fmt.Errorf("yolo: opencv_peer.py cannot take %q: empty or white space", a)
		}
	}
	if err := p.Send("load %s %s %s %s %d %d %s", name, cfg, weights, input, size, size, strings.Join(ls, ",")); err != nil {
		return out, err
	}
	if err := p.Read(&out); err != nil {
		return out, err
	}
	if out.Model != name || len(out.Outputs) != len(feeding) {
		return out, fmt.Errorf("yolo: opencv_peer.py loaded %q with %d outputs, asked for %q with %d", out.Model, len(out.Outputs), name, len(feeding))
	}
	return out, nil
}

// time measures the loaded model on t threads, as measure.Median does.
func (p *opencv) time(name string, t, warmup, minReps int, minTime time.Duration) (sample, error) {
	var out opencvTiming
	if err := p.Send("time %s %d %d %d %g", name, t, warmup, minReps, minTime.Seconds()); err != nil {
		return sample{}, err
	}
	if err := p.Read(&out); err != nil {
		return sample{}, err
	}
	switch {
	case out.Threads != t:
		return sample{}, fmt.Errorf("yolo: OpenCV ran on %d threads, asked for %d", out.Threads, t)
	case !(out.MedianS > 0):
		return sample{}, errors.New("yolo: opencv_peer.py reported no time")
	}
	sec := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	return sample{median: sec(out.MedianS), best: sec(out.BestS), reps: out.Reps}, nil
}

// describe is the report's OpenCV line.
func (p *opencv) describe() string {
	i := p.info
	str := func(s *string) string {
		if s == nil {
			return "unknown"
		}
		return *s
	}
	s := fmt.Sprintf("cv2 %s (Debian python3-opencv), parallel framework %s, baseline %s, dispatched %s; %s",
		i.OpenCV, str(i.Parallel), str(i.Baseline), str(i.Dispatched), i.Python)
	var env []string
	for _, k := range slices.Sorted(maps.Keys(i.Env)) {
		if v := i.Env[k]; v != nil {
			env = append(env, k+"="+*v)
		}
	}
	if len(env) == 0 {
		env = []string{"none of " + strings.Join(slices.Sorted(maps.Keys(i.Env)), ", ")}
	}
	return s + "; environment: " + strings.Join(env, " ")
}
