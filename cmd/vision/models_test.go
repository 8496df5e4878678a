package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"govision.dev/classify"
	"govision.dev/detect"
)

// TestModelsDetect lists detect's zoo: the YOLO models, with their
// darknet weights found in the weights folder or not, and the face
// detectors, built in.
func TestModelsDetect(t *testing.T) {
	home := t.TempDir()
	t.Setenv("VISION_HOME", home)
	if err := os.MkdirAll(filepath.Join(home, "weights"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "weights", "yolov3-tiny.weights"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := execute(t, "models", "--task", "detect")
	if err != nil {
		t.Fatal(err)
	}
	// yolov3 at 416: 61.95 M parameters, 32.93 GMACs (darknet's 65.86 Bn
	// FLOPs); face-ssd 5.53 M; the face detectors built in.
	for _, want := range []string{"MODEL", "yolov3 ", "61.95M", "32.93", "yolov3-tiny", "on disk", "missing",
		"face ", "face-ssd", "5.53M", "512", "built in"} {
		if !strings.Contains(out, want) {
			t.Errorf("vision models --task detect lacks %q:\n%s", want, out)
		}
	}
	if n, want := strings.Count(out, " detect "), len(detect.Names())+len(detect.FaceNames()); n != want {
		t.Errorf("%d detect rows, want %d:\n%s", n, want, out)
	}
	if strings.Contains(out, "classify") {
		t.Errorf("--task detect lists classifiers:\n%s", out)
	}

	out, _, err = execute(t, "models", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []modelInfo
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	if want := len(classify.Names()) + len(detect.Names()) + len(detect.FaceNames()); len(rows) != want {
		t.Errorf("%d rows, want every classifier and detector: %d", len(rows), want)
	}
	byName := map[string]modelInfo{}
	for _, r := range rows {
		byName[r.Name] = r
	}
	for _, tc := range []struct {
		name             string
		embedded, onDisk bool
		weights          string
	}{
		{"yolov3-tiny", false, true, "yolov3-tiny.weights"},
		{"yolov3", false, false, "yolov3.weights"},
		{"face", true, false, "tiny_face_detector.safetensors"},
		{"face-ssd", true, false, "ssd_mobilenetv1.safetensors"},
	} {
		r := byName[tc.name]
		if r.Task != "detect" || r.Embedded != tc.embedded || r.OnDisk != tc.onDisk || r.Weights != tc.weights || r.Params == 0 || r.GFLOPs == 0 {
			t.Errorf("%s: %+v, want task detect, embedded %v, on disk %v, weights %s, parameters and GFLOPs",
				tc.name, r, tc.embedded, tc.onDisk, tc.weights)
		}
	}
}
