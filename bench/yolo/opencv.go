package main

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"govision.dev/bench/internal/measure"
	"govision.dev/bench/internal/pypeer"
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

// startOpenCV starts opencv_peer.py with cfg's interpreter in dir and
// reads its description, installing python3-opencv first if cv2 is
// missing and cfg.install is set. OpenBLAS's core and cache settings are
// removed from the environment (as the other harnesses do): OpenCV's DNN
// convolutions do not use a BLAS, but its core links one.
func startOpenCV(cfg config, dir string, log io.Writer) (*opencv, error) {
	peer, info, err := pypeer.Start[opencvInfo](pypeer.Spec{
		Harness: "yolo", Name: "opencv_peer.py", Script: peerScript,
		Python: cfg.python, Dir: dir, Args: []string{"--dir", dir},
		Env:   measure.PeerEnv(os.Environ(), "detect", ""),
		Lacks: "cv2", Packages: []string{"python3-opencv"}, Install: cfg.install,
	}, log)
	if err != nil {
		return nil, err
	}
	return &opencv{info: *info, Peer: peer}, nil
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
	return fmt.Sprintf("cv2 %s (Debian python3-opencv), parallel framework %s, baseline %s, dispatched %s; %s; environment: %s",
		i.OpenCV, pypeer.Known(i.Parallel), pypeer.Known(i.Baseline), pypeer.Known(i.Dispatched), i.Python, pypeer.EnvLine(i.Env))
}
