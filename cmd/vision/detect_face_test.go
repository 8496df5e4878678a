package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// astronautPNG is scikit-image's sample photo (Debian python3-skimage), on
// which face-api's tiny detector finds one face
// (detect/testdata/golden/faceapi/faceapi.json).
const astronautPNG = "/usr/lib/python3/dist-packages/skimage/data/astronaut.png"

// TestDetectFace runs the built-in face detector: no weights file, no
// download, face-api's thresholds.
func TestDetectFace(t *testing.T) {
	out := t.TempDir()
	// Always available: runs with the embedded weights.
	if _, _, err := execute(t, "detect", dogPNG, "--model", "face", "--out", out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(astronautPNG); err != nil {
		t.Skipf("%s not installed (python3-skimage): %v", astronautPNG, err)
	}
	stdout, _, err := execute(t, "detect", astronautPNG, "--model", "face", "--json", "--no-save")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d detections, face-api finds 1:\n%s", len(lines), stdout)
	}
	var d detectLine
	if err := json.Unmarshal([]byte(lines[0]), &d); err != nil {
		t.Fatal(err)
	}
	// face-api: score 0.9755, box 163.3 75.7 279.3 186.6 (faceapi.json).
	if d.Label != "face" || d.Score < 0.97 || d.Score > 0.98 || d.Box == nil || d.Box[0] < 162 || d.Box[0] > 165 {
		t.Errorf("detection %s, want face-api's face 0.975 at x1 163.3", lines[0])
	}
}

func TestDetectFaceErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		model string
		args  []string
		want  string
	}{
		{"imgsz out of range", "face", []string{"--imgsz", "96"}, "ImgSize 96: face takes 128 to 608"},
		{"cfg", "face", []string{"--cfg", tinyCfg}, "--cfg"},
		{"bad weights", "face", []string{"--weights", dogPNG}, "weights"},
		// face-api's SSD resizes every image to 512: another size is
		// refused before any image is read.
		{"ssd imgsz", "face-ssd", []string{"--imgsz", "416"}, "ImgSize 416: face-ssd runs at 512 only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"detect", dogPNG, dogPNG, "--model", tc.model, "--no-save"}, tc.args...)
			_, stderr, err := execute(t, args...)
			if err == nil {
				t.Fatal("no error")
			}
			if msg := err.Error() + stderr; !strings.Contains(msg, tc.want) {
				t.Errorf("error %q, stderr %q: want it to say %q", err, stderr, tc.want)
			}
			if strings.Contains(err.Error(), "images failed") {
				t.Errorf("error %q: want it said once, before the images", err)
			}
		})
	}
}
