package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"govision.dev/bench/internal/measure"
)

// findDarknet checks that cfg.darknet runs, installing Debian's darknet if
// it is missing and cfg.install is set, and writes the .data file darknet
// needs into dir (cfg.dataFile).
func findDarknet(cfg *config, dir string, log io.Writer) error {
	if _, err := exec.LookPath(cfg.darknet); err != nil {
		if !cfg.install {
			return fmt.Errorf("yolo: darknet binary: %v (apt-get install darknet, or -darknet '' to skip it)", err)
		}
		fmt.Fprintf(log, "yolo: %v; apt-get install -y darknet\n", err)
		if ierr := measure.AptInstall(log, "darknet"); ierr != nil {
			return fmt.Errorf("yolo: darknet binary: %v; %v", err, ierr)
		}
	}
	if _, err := os.Stat(cfg.names); err != nil {
		return fmt.Errorf("yolo: darknet's class names: %v", err)
	}
	cfg.dataFile = filepath.Join(dir, "coco.data")
	return os.WriteFile(cfg.dataFile, []byte(dataFile(cfg.names)), 0o644)
}

// dataFile is a darknet .data file for `detector test`: it reads the
// class count and the names file (the other keys are for training).
func dataFile(names string) string {
	return fmt.Sprintf("classes=80\nnames=%s\n", names)
}

// predicted matches darknet's test_detector line
// "<image>: Predicted in <seconds> seconds.".
var predicted = regexp.MustCompile(`Predicted in ([0-9.eE+-]+) seconds`)

// parsePredicted returns the time darknet printed for network_predict.
func parsePredicted(out []byte) (time.Duration, error) {
	ms := predicted.FindAllSubmatch(out, -1)
	if len(ms) != 1 {
		return 0, fmt.Errorf("yolo: darknet printed %d \"Predicted in\" lines, want 1", len(ms))
	}
	s, err := strconv.ParseFloat(string(ms[0][1]), 64)
	if err != nil || !(s > 0) {
		return 0, fmt.Errorf("yolo: darknet printed a time of %q seconds", ms[0][1])
	}
	return time.Duration(s * float64(time.Second)), nil
}

// timeDarknet runs `darknet detector test` cfg.darknetRuns times on m and
// returns the median of the times darknet printed.
func timeDarknet(cfg config, m *model) (sample, error) {
	var ts []time.Duration
	for range cfg.darknetRuns {
		// Flags after the positional arguments: run_detector deletes them
		// from argv before it reads the image as argv[6]. With -out,
		// darknet (Debian's is built with OpenCV) saves the picture
		// instead of opening a window; QT_QPA_PLATFORM=offscreen keeps
		// Qt from looking for a display all the same.
		cmd := exec.Command(cfg.darknet, "detector", "test", cfg.dataFile, m.cfg, m.weights, cfg.image, "-thresh", "1", "-out", "predictions")
		cmd.Dir = filepath.Dir(m.cfg) // where it writes predictions.jpg
		cmd.Env = append(os.Environ(), "QT_QPA_PLATFORM=offscreen")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return sample{}, fmt.Errorf("yolo: %s: %v: %s", strings.Join(cmd.Args, " "), err, measure.LastLine(out.String()))
		}
		d, err := parsePredicted(out.Bytes())
		if err != nil {
			return sample{}, fmt.Errorf("%w: %s", err, measure.LastLine(out.String()))
		}
		ts = append(ts, d)
	}
	s := make([]sample, len(ts))
	for i, d := range ts {
		s[i] = sample{median: d, best: d}
	}
	return sample{median: medianOf(s), best: bestOf(s), reps: len(ts)}, nil
}

// describeDarknet is the report's darknet line.
func describeDarknet(path string) string {
	v := "unknown version"
	if out, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", "darknet").Output(); err == nil && len(out) > 0 {
		v = string(out)
	} else if err != nil && !errors.Is(err, exec.ErrNotFound) {
		v = "version unknown: " + err.Error()
	}
	return fmt.Sprintf("%s (Debian darknet %s, pjreddie/darknet), single-threaded, `detector test DATA CFG WEIGHTS IMAGE -thresh 1 -out predictions`", path, v)
}
