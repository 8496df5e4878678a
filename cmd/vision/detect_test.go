package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"govision.dev/vision/imageio"
)

// The detect tests run the small yolov3-tiny of detect's parity fixtures
// (tools/golden/detect_golden.sh): a cfg of reduced width, its random
// weights, and darknet's sample dog, on which darknet finds 9 boxes.
var (
	goldenDir   = filepath.Join("..", "..", "detect", "testdata", "golden")
	tinyCfg     = filepath.Join(goldenDir, "yolov3-tiny.cfg")
	tinyWeights = filepath.Join(goldenDir, "yolov3-tiny.weights")
	dogPNG      = filepath.Join(goldenDir, "dog-384x288.png")
)

// tinyArgs are the flags that run the fixture network.
func tinyArgs(out string) []string {
	return []string{"--cfg", tinyCfg, "--weights", tinyWeights, "--out", out}
}

// hugePNG writes a PNG whose header claims 60000×60000 pixels.
func hugePNG(t *testing.T, path string) {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], 60000)
	binary.BigEndian.PutUint32(ihdr[4:], 60000)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk("IHDR", ihdr)
	chunk("IEND", nil)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// detectDir makes a folder with the dog, a small picture, a broken PNG
// and a PNG bomb.
func detectDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(dogPNG)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "dog.png"), b, 0o644)
	writePNG(t, filepath.Join(dir, "small.png"), 40)
	os.WriteFile(filepath.Join(dir, "broken.png"), []byte("\x89PNG truncated"), 0o644)
	hugePNG(t, filepath.Join(dir, "huge.png"))
	return dir
}

// runFolders lists the run folders under out.
func runFolders(t *testing.T, out string) []string {
	t.Helper()
	es, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestDetectTable(t *testing.T) {
	dir := detectDir(t)
	out := filepath.Join(t.TempDir(), "runs")
	args := append([]string{"detect", filepath.Join(dir, "dog.png"), filepath.Join(dir, "small.png"),
		filepath.Join(dir, "broken.png"), filepath.Join(dir, "huge.png"), filepath.Join(dir, "missing.jpg")}, tinyArgs(out)...)
	stdout, stderr, err := execute(t, args...)
	if err == nil || !strings.Contains(err.Error(), "3 of 5 images failed") {
		t.Fatalf("error %v, want 3 of 5 failed", err)
	}
	if !strings.Contains(stdout, "dog.png: 384x288, 9 objects") || !strings.Contains(stdout, "small.png: 36x30") {
		t.Errorf("stdout lacks the tables:\n%s", stdout)
	}
	if n := strings.Count(stdout, "\n  bicycle ") + strings.Count(stdout, "\n  dog "); n < 9 {
		t.Errorf("%d rows of detections, want the 9 darknet finds:\n%s", n, stdout)
	}
	for _, want := range []string{
		"broken.png: unsupported or malformed image",
		"huge.png: image too large",
		"missing.jpg: no such file or directory",
		"3 of 5 images failed:",
		"results saved to " + filepath.Join(out, "1"),
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	// The run's folder has the annotated images of the good ones, nothing
	// of the others, and no temporary folder is left.
	if got := runFolders(t, out); len(got) != 1 || got[0] != "1" {
		t.Fatalf("%s holds %v, want one run folder, 1", out, got)
	}
	if got := runFolders(t, filepath.Join(out, "1")); strings.Join(got, " ") != "dog.png small.png" {
		t.Errorf("run folder holds %v", got)
	}
	img, err := imageio.DecodeFile(filepath.Join(out, "1", "dog.png"))
	if err != nil || img.Bounds().Dx() != 384 || img.Bounds().Dy() != 288 {
		t.Errorf("annotated dog: %v, %v", img, err)
	}

	// A second run gets the next folder.
	if _, _, err := execute(t, append([]string{"detect", filepath.Join(dir, "small.png")}, tinyArgs(out)...)...); err != nil {
		t.Fatal(err)
	}
	if got := runFolders(t, out); strings.Join(got, " ") != "1 2" {
		t.Errorf("%s holds %v after two runs", out, got)
	}
}

func TestDetectJSONAndLabels(t *testing.T) {
	dir := detectDir(t)
	out := filepath.Join(t.TempDir(), "runs")
	list := filepath.Join(dir, "list.txt")
	os.WriteFile(list, []byte("# images\ndog.png\n\nbroken.png\n"), 0o644)
	args := append([]string{"detect", list, "--json", "--save-txt", "--no-save", "--classes", "16"}, tinyArgs(out)...)
	stdout, _, err := execute(t, args...)
	if err == nil || !strings.Contains(err.Error(), "1 of 2 images failed") {
		t.Fatalf("error %v, want 1 of 2 failed", err)
	}
	var dogs, errs int
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var l detectLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		switch {
		case l.Error != "":
			errs++
			if !strings.HasSuffix(l.Image, "broken.png") {
				t.Errorf("error line for %s", l.Image)
			}
		case l.Class == nil || *l.Class != 16 || l.Label != "dog" || l.Score <= 0.25 || l.Box == nil:
			t.Errorf("line %s: want a dog (class 16) above 0.25", line)
		default:
			dogs++
			if l.Box[2] <= l.Box[0] || l.Box[3] <= l.Box[1] {
				t.Errorf("box %v", *l.Box)
			}
		}
	}
	if dogs != 3 || errs != 1 {
		t.Errorf("%d dogs and %d errors, want 3 (the fixture's) and 1:\n%s", dogs, errs, stdout)
	}
	// --save-txt without images: labels/dog.txt only.
	runs := runFolders(t, out)
	if len(runs) != 1 {
		t.Fatalf("runs %v", runs)
	}
	if got := runFolders(t, filepath.Join(out, runs[0])); strings.Join(got, " ") != "labels" {
		t.Errorf("run folder holds %v, want labels only (--no-save)", got)
	}
	b, err := os.ReadFile(filepath.Join(out, runs[0], "labels", "dog.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 {
		t.Fatalf("labels:\n%s", b)
	}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 6 || f[0] != "16" {
			t.Fatalf("label line %q: want class cx cy w h score", l)
		}
		for _, s := range f[1:] {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || v < -0.5 || v > 1.5 {
				t.Errorf("label line %q: %s", l, s)
			}
		}
	}
}

func TestDetectNoSave(t *testing.T) {
	out := filepath.Join(t.TempDir(), "runs")
	if _, _, err := execute(t, append([]string{"detect", dogPNG, "--no-save"}, tinyArgs(out)...)...); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("--no-save created %s (%v)", out, err)
	}
}

// TestDetectAllFail: nothing to save, no run folder, and no temporary
// folder left behind.
func TestDetectAllFail(t *testing.T) {
	dir := detectDir(t)
	out := filepath.Join(t.TempDir(), "runs")
	_, _, err := execute(t, append([]string{"detect", filepath.Join(dir, "broken.png")}, tinyArgs(out)...)...)
	if err == nil {
		t.Fatal("no error")
	}
	if got := runFolders(t, out); len(got) != 0 {
		t.Errorf("%s holds %v", out, got)
	}
}

func TestDetectErrors(t *testing.T) {
	weightsHome(t)
	out := filepath.Join(t.TempDir(), "runs")
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"conf 2", []string{"detect", dogPNG, "--conf", "2"}, []string{"--conf 2", "(0, 1]"}},
		{"conf 0", []string{"detect", dogPNG, "--conf", "0"}, []string{"--conf 0"}},
		{"iou", []string{"detect", dogPNG, "--iou", "1.5"}, []string{"--iou 1.5"}},
		{"max det", []string{"detect", dogPNG, "--max-det", "0"}, []string{"--max-det 0"}},
		{"imgsz", []string{"detect", dogPNG, "--imgsz", "100"}, []string{"--imgsz 100", "multiple of 32"}},
		{"classes", []string{"detect", dogPNG, "--classes", "0,x"}, []string{`--classes "0,x"`}},
		{"class out of range", append([]string{"detect", dogPNG, "--classes", "80"}, tinyArgs(out)...), []string{"--classes", "0 to 79"}},
		{"nms", []string{"detect", dogPNG, "--nms", "fast"}, []string{`--nms "fast"`}},
		{"unknown model", []string{"detect", dogPNG, "--model", "yolov3-tin"}, []string{`"yolov3-tin"`, "yolov3-tiny"}},
		{"no weights", []string{"detect", dogPNG, "--model", "yolov3"}, []string{
			"yolov3.weights", "vision weights fetch yolov3", "https://pjreddie.com/media/files/yolov3.weights",
			"248,007,048 bytes", "--weights FILE"}},
		{"no weights for a cfg", []string{"detect", dogPNG, "--cfg", tinyCfg}, []string{"yolov3-tiny.weights", "--weights FILE"}},
		{"weights of another network", []string{"detect", dogPNG, "--cfg", tinyCfg, "--weights", filepath.Join(goldenDir, "yolov2.weights")},
			[]string{"yolov2.weights"}},
		{"no image", []string{"detect", filepath.Join(t.TempDir(), "*.jpg")}, []string{"no file matches"}},
		{"empty list", []string{"detect", filepath.Join(goldenDir, "nope.txt")}, []string{"nope.txt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := execute(t, tc.args...)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a run that failed at the start created %s", out)
	}
}

// The weights folder: $VISION_HOME/weights first.
func TestDetectWeightsFolder(t *testing.T) {
	dir := weightsHome(t)
	os.MkdirAll(dir, 0o777)
	b, err := os.ReadFile(tinyWeights)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "yolov3-tiny.weights"), b, 0o644)
	out := filepath.Join(t.TempDir(), "runs")
	stdout, _, err := execute(t, "detect", dogPNG, "--cfg", tinyCfg, "--out", out, "--no-save")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "9 objects") {
		t.Errorf("stdout:\n%s", stdout)
	}
	// Then the user cache dir.
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	os.Remove(filepath.Join(dir, "yolov3-tiny.weights"))
	if _, _, err := execute(t, "detect", dogPNG, "--cfg", tinyCfg, "--out", out, "--no-save"); err == nil {
		t.Fatal("found weights that are not there")
	}
	os.MkdirAll(filepath.Join(cache, "govision", "weights"), 0o777)
	os.WriteFile(filepath.Join(cache, "govision", "weights", "yolov3-tiny.weights"), b, 0o644)
	if _, _, err := execute(t, "detect", dogPNG, "--cfg", tinyCfg, "--out", out, "--no-save"); err != nil {
		t.Errorf("weights in the cache dir: %v", err)
	}
}

func TestDetectProfile(t *testing.T) {
	prof := t.TempDir()
	out := filepath.Join(t.TempDir(), "runs")
	_, stderr, err := execute(t, append([]string{"--profile", "cpu", "--profile-dir", prof, "detect", dogPNG, "--no-save"}, tinyArgs(out)...)...)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(prof, "cpu.pprof"))
	if err != nil || st.Size() == 0 {
		t.Fatalf("cpu.pprof: %v (stderr %s)", err, stderr)
	}
}
