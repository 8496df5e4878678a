package main

import (
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"govision.dev/classify"
	"govision.dev/vision/weights"
)

// writePNG writes a small test picture.
func writePNG(t *testing.T, path string, shade uint8) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 36, 30))
	for y := 0; y < 30; y++ {
		for x := 0; x < 36; x++ {
			img.Set(x, y, color.RGBA{uint8(7*x) + shade, uint8(8 * y), shade, 255})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// imageDir makes a folder of two PNGs, a non-image file and a broken
// "image".
func imageDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "a.png"), 10)
	writePNG(t, filepath.Join(dir, "b.png"), 200)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not an image"), 0o644)
	os.WriteFile(filepath.Join(dir, "broken.png"), []byte("\x89PNG truncated"), 0o644)
	return dir
}

// saveWeights saves a model's fresh weights as a safetensors file.
func saveWeights(t *testing.T, name string) string {
	t.Helper()
	m, err := classify.New(name)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name+".safetensors")
	if err := weights.Save(p, m.StateDict()); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestClassifyJSON(t *testing.T) {
	t.Setenv("VISION_HOME", t.TempDir())
	dir := imageDir(t)
	w := saveWeights(t, "resnet20")
	out, _, err := execute(t, "classify", dir, "--model", "resnet20", "--weights", w, "--json", "--topk", "3")
	if err == nil || !strings.Contains(err.Error(), "1 of 3 images failed") {
		t.Fatalf("error %v, want 1 of 3 failed", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d JSON lines, want one per image:\n%s", len(lines), out)
	}
	good := 0
	for _, l := range lines {
		var r classifyResult
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		if r.Model != "resnet20" {
			t.Errorf("model %q", r.Model)
		}
		switch filepath.Base(r.Image) {
		case "broken.png":
			if r.Error == "" || len(r.Predictions) != 0 {
				t.Errorf("broken.png: %+v", r)
			}
		default:
			good++
			if len(r.Predictions) != 3 || r.Error != "" || r.Predictions[0].Label == "" {
				t.Errorf("%s: %+v", r.Image, r)
			}
		}
	}
	if good != 2 {
		t.Errorf("%d images classified, want 2", good)
	}
}

func TestClassifyText(t *testing.T) {
	t.Setenv("VISION_HOME", t.TempDir())
	dir := imageDir(t)
	w := saveWeights(t, "resnet20")
	out, _, err := execute(t, "classify", filepath.Join(dir, "[ab].png"), "-m", "resnet20", "-w", w, "-k", "2")
	if err != nil {
		t.Fatal(err)
	}
	// Two images, each a name line and two class lines.
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 6 || !strings.HasSuffix(lines[0], "a.png") || !strings.HasSuffix(lines[3], "b.png") ||
		!strings.Contains(lines[1], "%") {
		t.Errorf("output:\n%s", out)
	}
}

func TestClassifyWeightsFolder(t *testing.T) {
	home := t.TempDir()
	t.Setenv("VISION_HOME", home)
	dir := imageDir(t)
	// Not there: the error names the file, the folder and the URL.
	_, _, err := execute(t, "classify", filepath.Join(dir, "a.png"), "--model", "resnet50")
	if !errors.Is(err, errNoWeights) {
		t.Fatalf("error %v, want errNoWeights", err)
	}
	for _, want := range []string{"resnet50-0676ba61.pth", filepath.Join(home, "weights"), "https://download.pytorch.org/models/resnet50-0676ba61.pth"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	// Put there: it is used.
	os.MkdirAll(filepath.Join(home, "weights"), 0o755)
	os.Rename(saveWeights(t, "resnet20"), filepath.Join(home, "weights", "resnet20.safetensors"))
	if _, _, err := execute(t, "classify", filepath.Join(dir, "a.png"), "--model", "resnet20"); err != nil {
		t.Fatal(err)
	}
	out, _, err := execute(t, "models", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []modelInfo
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.OnDisk != (r.Name == "resnet20") {
			t.Errorf("%s: on disk %v", r.Name, r.OnDisk)
		}
	}
}

// TestClassifyLeNetBuiltIn classifies classify's sample MNIST digits
// (classify/testdata/digits, written by tools/mnistdigits) with lenet5,
// no --weights and an empty weights folder: the built-in weights must name
// each file's digit first.
func TestClassifyLeNetBuiltIn(t *testing.T) {
	t.Setenv("VISION_HOME", t.TempDir())
	digits := filepath.Join("..", "..", "classify", "testdata", "digits")
	files, err := filepath.Glob(filepath.Join(digits, "*.png"))
	if err != nil || len(files) != 10 {
		t.Fatalf("%d sample digits in %s (%v), want 10", len(files), digits, err)
	}
	for _, f := range files {
		want, _, _ := strings.Cut(filepath.Base(f), "_")
		t.Run(want, func(t *testing.T) {
			out, stderr, err := execute(t, "classify", f, "--model", "lenet5", "--topk", "1", "--json")
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			var r classifyResult
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if len(r.Predictions) != 1 || r.Predictions[0].Label != want {
				t.Errorf("%s: %+v, want %s", f, r.Predictions, want)
			}
			if stderr != "" {
				t.Errorf("stderr %q", stderr)
			}
		})
	}
	out, _, err := execute(t, "classify", files[3], "--model", "lenet5", "--topk", "2")
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || !strings.HasSuffix(lines[1], "3 (3)") {
		t.Errorf("text output:\n%s", out)
	}
}

func TestClassifyErrors(t *testing.T) {
	t.Setenv("VISION_HOME", t.TempDir())
	dir := imageDir(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no model", []string{"classify", dir}, "--model is required"},
		{"unknown model", []string{"classify", dir, "--model", "resnet5O"}, "resnet50"},
		{"no images", []string{"classify", "--model", "lenet5"}, "arg"},
		{"empty glob", []string{"classify", filepath.Join(dir, "*.jpg"), "--model", "lenet5"}, "no file matches"},
		{"empty folder", []string{"classify", t.TempDir(), "--model", "lenet5"}, "no images"},
		{"bad topk", []string{"classify", dir, "--model", "lenet5", "--topk", "0"}, "--topk"},
		{"missing file", []string{"classify", filepath.Join(dir, "nope.png"), "--model", "lenet5"}, "1 of 1 images failed"},
		{"bad weights", []string{"classify", dir, "--model", "resnet20", "--weights", filepath.Join(dir, "notes.txt")}, "notes.txt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := execute(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestModels(t *testing.T) {
	t.Setenv("VISION_HOME", t.TempDir())
	out, _, err := execute(t, "models", "--task", "classify")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"MODEL", "resnet50", "25.56M", "4.09", "senet154", "lenet5", "0.06M", "missing", "none published", "built in"} {
		if !strings.Contains(out, want) {
			t.Errorf("vision models lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "classify"); n != len(classify.Names()) {
		t.Errorf("%d rows, %d models", n, len(classify.Names()))
	}
	if _, _, err := execute(t, "models", "--task", "nope"); err == nil {
		t.Error("--task nope: no error")
	}
}
