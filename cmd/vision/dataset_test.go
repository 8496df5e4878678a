package main

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"govision.dev/datasets"
	"govision.dev/vision/imageio"
)

// vocObject is a box of a generated VOC set, in VOC's 1-based inclusive
// pixel indices.
type vocObject struct {
	name                   string
	xmin, ymin, xmax, ymax int
	difficult              bool
}

// makeVOC writes a small VOC data set by hand: n images of 40×30 pixels,
// PNG, image i with a box of class i%2 and, on even i, a second box marked
// difficult. It returns the objects by image ID.
func makeVOC(t *testing.T, dir string, n int) map[string][]vocObject {
	t.Helper()
	for _, d := range []string{"Annotations", "JPEGImages", "ImageSets/Main"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o777); err != nil {
			t.Fatal(err)
		}
	}
	names := []string{"bird", "boat"}
	all := map[string][]vocObject{}
	var ids []string
	for i := range n {
		id := fmt.Sprintf("%04d", i)
		ids = append(ids, id)
		objs := []vocObject{{names[i%2], 2 + i%5, 3, 20 + i%7, 25, false}}
		if i%2 == 0 {
			objs = append(objs, vocObject{names[1], 25, 5, 40, 12, true})
		}
		all[id] = objs
		img := image.NewNRGBA(image.Rect(0, 0, 40, 30))
		draw.Draw(img, img.Rect, image.NewUniform(color.NRGBA{uint8(10 * i), 100, 200, 255}), image.Point{}, draw.Src)
		if err := imageio.SaveFile(filepath.Join(dir, "JPEGImages", id+".png"), img); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		fmt.Fprintf(&b, "<annotation>\n<filename>%s.png</filename>\n<size><width>40</width><height>30</height><depth>3</depth></size>\n", id)
		for _, o := range objs {
			fmt.Fprintf(&b, "<object>\n<name>%s</name>\n<difficult>%d</difficult>\n<bndbox><xmin>%d</xmin><ymin>%d</ymin><xmax>%d</xmax><ymax>%d</ymax></bndbox>\n</object>\n",
				o.name, map[bool]int{false: 0, true: 1}[o.difficult], o.xmin, o.ymin, o.xmax, o.ymax)
		}
		b.WriteString("</annotation>\n")
		if err := os.WriteFile(filepath.Join(dir, "Annotations", id+".xml"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "ImageSets/Main/train.txt"), []byte(strings.Join(ids, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return all
}

func mustRun(t *testing.T, args ...string) (string, string) {
	t.Helper()
	out, errOut, err := execute(t, args...)
	if err != nil {
		t.Fatalf("vision %s: %v\nstderr:\n%s", strings.Join(args, " "), err, errOut)
	}
	return out, errOut
}

// TestDatasetConvertRoundTrip runs VOC → COCO → YOLO → VOC through the
// command line and checks boxes, labels, images and the dropped counts.
func TestDatasetConvertRoundTrip(t *testing.T) {
	tmp := t.TempDir()
	voc := filepath.Join(tmp, "voc")
	want := makeVOC(t, voc, 9)
	mustRun(t, "dataset", "convert", "--to", "coco", voc, filepath.Join(tmp, "coco"))
	_, stderr := mustRun(t, "dataset", "convert", "--to", "yolo", filepath.Join(tmp, "coco"), filepath.Join(tmp, "yolo"))
	// 5 difficult boxes (images 0, 2, 4, 6, 8), 14 annotation ids.
	if !strings.Contains(stderr, "dropped, as yolo cannot hold them: annotation ids ×14, difficult ×5") {
		t.Errorf("COCO → YOLO: stderr lacks the drops:\n%s", stderr)
	}
	out, _ := mustRun(t, "dataset", "convert", "--from", "yolo", "--to", "voc", "--json", filepath.Join(tmp, "yolo"), filepath.Join(tmp, "voc2"))
	var rep datasetReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if rep.Records != 9 || rep.Objects != 14 || len(rep.Bad) != 0 || len(rep.Dropped) != 0 {
		t.Errorf("report %+v", rep)
	}
	r, err := datasets.OpenVOC(filepath.Join(tmp, "voc2"), datasets.Options{})
	if err != nil {
		t.Fatal(err)
	}
	recs, bad, err := datasets.ReadAll(r)
	if err != nil || len(bad) > 0 || len(recs) != 9 {
		t.Fatalf("reading the result: %d records, %v, %v", len(recs), bad, err)
	}
	for _, rec := range recs {
		objs := want[rec.ID]
		if len(rec.Objects) != len(objs) {
			t.Errorf("%s: %d objects, want %d", rec.ID, len(rec.Objects), len(objs))
			continue
		}
		for k, o := range objs {
			g := rec.Objects[k]
			wb := datasets.Box{X1: float64(o.xmin - 1), Y1: float64(o.ymin - 1), X2: float64(o.xmax), Y2: float64(o.ymax)}
			if r.Classes()[g.Class].Name != o.name || abs(g.Box.X1-wb.X1) > 1 || abs(g.Box.Y1-wb.Y1) > 1 || abs(g.Box.X2-wb.X2) > 1 || abs(g.Box.Y2-wb.Y2) > 1 {
				t.Errorf("%s object %d: %s %v, want %s %v", rec.ID, k, r.Classes()[g.Class].Name, g.Box, o.name, wb)
			}
		}
		a, _ := os.ReadFile(filepath.Join(voc, "JPEGImages", rec.Name))
		b, _ := os.ReadFile(rec.Image.Path)
		if len(a) == 0 || string(a) != string(b) {
			t.Errorf("%s: image bytes changed", rec.ID)
		}
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

func TestDatasetBadRecordsReported(t *testing.T) {
	tmp := t.TempDir()
	voc := filepath.Join(tmp, "voc")
	makeVOC(t, voc, 3)
	bad := filepath.Join(voc, "Annotations", "0001.xml")
	os.WriteFile(bad, []byte("<annotation>\n<filename>0001.png</filename>\n<object>\n<name>bird</name>\n<bndbox><xmin>1</xmin></bndbox>\n</object>\n</annotation>\n"), 0o644)
	_, stderr, err := execute(t, "dataset", "convert", "--to", "yolo", voc, filepath.Join(tmp, "yolo"))
	if err == nil || !strings.Contains(err.Error(), "1 bad record skipped") {
		t.Errorf("err = %v, want the bad record counted", err)
	}
	if !strings.Contains(stderr, bad+":3: voc: object without bndbox/ymin") {
		t.Errorf("stderr lacks the bad record's file and line:\n%s", stderr)
	}
	labels, _ := filepath.Glob(filepath.Join(tmp, "yolo", "labels", "train", "*.txt"))
	if len(labels) != 2 {
		t.Errorf("%d label files written, want the 2 good records", len(labels))
	}
	// verify lists it too, with the others' problems.
	os.WriteFile(filepath.Join(voc, "Annotations", "0002.xml"), []byte("<annotation>\n<filename>0002.png</filename>\n<object>\n<name>bird</name>\n<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>41</xmax><ymax>5</ymax></bndbox>\n</object>\n</annotation>\n"), 0o644)
	out, _, err := execute(t, "dataset", "verify", voc)
	if err == nil || !strings.Contains(err.Error(), "2 problems in 2 records") {
		t.Errorf("verify: %v", err)
	}
	for _, w := range []string{bad + ":3: voc: object without bndbox/ymin", filepath.Join(voc, "Annotations", "0002.xml") + ":3: box [0 0 41 5] leaves the 40x30 image"} {
		if !strings.Contains(out, w) {
			t.Errorf("verify output lacks %q:\n%s", w, out)
		}
	}
}

func TestDatasetRefusesToOverwrite(t *testing.T) {
	tmp := t.TempDir()
	voc := filepath.Join(tmp, "voc")
	makeVOC(t, voc, 2)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"into the input", []string{"dataset", "convert", "--to", "coco", voc, filepath.Join(voc, "coco")}, "overlaps the input"},
		{"over the input", []string{"dataset", "resize", "--size", "16", voc, voc}, "overlaps the input"},
		{"over an existing folder", []string{"dataset", "convert", "--to", "coco", voc, tmp + "/"}, "overlaps the input"},
		{"a detection set as classes", []string{"dataset", "convert", "--to", "imagefolder", voc, filepath.Join(tmp, "if")}, "has no image classes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := execute(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	out := filepath.Join(tmp, "out")
	os.Mkdir(out, 0o777)
	if _, _, err := execute(t, "dataset", "convert", "--to", "coco", voc, out); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("existing output: %v", err)
	}
	if _, err := os.Stat(filepath.Join(voc, "coco")); !os.IsNotExist(err) {
		t.Errorf("something was written into the input: %v", err)
	}
}

// TestDatasetResizeResumes interrupts a resize (its temporary folder with
// some images missing) and checks that running it again refuses for a
// convert but resumes the resize, giving what an uninterrupted run gives.
func TestDatasetResizeResumes(t *testing.T) {
	tmp := t.TempDir()
	voc := filepath.Join(tmp, "voc")
	makeVOC(t, voc, 6)
	full := filepath.Join(tmp, "full")
	mustRun(t, "dataset", "resize", "--size", "20", voc, full)

	dst := filepath.Join(tmp, "half")
	task := datasetTask("resize", voc, "voc", "20", "false", "95", "")
	out, err := datasets.CreateOutput(dst, datasets.OutputOptions{Task: task, Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	// The interrupted run wrote two of the images.
	for _, id := range []string{"0000", "0003"} {
		data, _ := os.ReadFile(filepath.Join(full, "JPEGImages", id+".png"))
		os.MkdirAll(filepath.Join(out.Dir, "JPEGImages"), 0o777)
		os.WriteFile(filepath.Join(out.Dir, "JPEGImages", id+".png"), data, 0o644)
	}
	if _, _, err := execute(t, "dataset", "convert", "--to", "coco", voc, dst); err == nil || !strings.Contains(err.Error(), "interrupted run") {
		t.Errorf("convert over a half-written output: %v", err)
	}
	_, stderr := mustRun(t, "dataset", "resize", "--size", "20", voc, dst)
	if !strings.Contains(stderr, "resuming the interrupted run") {
		t.Errorf("stderr does not say it resumed:\n%s", stderr)
	}
	for _, f := range []string{"Annotations/0000.xml", "Annotations/0005.xml", "JPEGImages/0001.png", "labels.txt", "ImageSets/Main/train.txt"} {
		a, _ := os.ReadFile(filepath.Join(full, f))
		b, err := os.ReadFile(filepath.Join(dst, f))
		if err != nil || string(a) != string(b) {
			t.Errorf("%s differs from the uninterrupted run's (%v)", f, err)
		}
	}
}

func TestDatasetInfoStatsSplitPack(t *testing.T) {
	tmp := t.TempDir()
	voc := filepath.Join(tmp, "voc")
	makeVOC(t, voc, 10)
	out, _ := mustRun(t, "dataset", "info", "--json", voc)
	var info struct {
		Format  string `json:"format"`
		Images  int    `json:"images"`
		Objects int    `json:"objects"`
		Classes []struct {
			Name    string `json:"name"`
			Objects int    `json:"objects"`
		} `json:"classes"`
		Difficult int `json:"difficult"`
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatal(err)
	}
	if info.Format != "voc" || info.Images != 10 || info.Objects != 15 || info.Difficult != 5 || len(info.Classes) != 2 || info.Classes[1].Objects != 10 {
		t.Errorf("info %+v", info)
	}
	out, _ = mustRun(t, "dataset", "info", voc)
	for _, w := range []string{"images        10 (train 10)", "objects       15 (per image: min 1, mean 1.50, max 2)", "boat"} {
		if !strings.Contains(out, w) {
			t.Errorf("info lacks %q:\n%s", w, out)
		}
	}

	out, _ = mustRun(t, "dataset", "stats", "--json", voc)
	var st datasetStats
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	// Image i is one colour, (10i, 100, 200): red's mean is 45/255 over
	// the ten images, green's 100/255 with no spread.
	if abs(st.Mean[0]-45.0/255) > 1e-9 || abs(st.Mean[1]-100.0/255) > 1e-9 || st.Std[1] > 1e-6 || st.Images != 10 {
		t.Errorf("stats %+v", st)
	}

	split := filepath.Join(tmp, "split")
	out, _ = mustRun(t, "dataset", "split", voc, "--ratios", "0.6,0.2,0.2", "--seed", "4", "--out", split)
	for _, w := range []string{"train       6", "val       2", "test       2"} {
		if !strings.Contains(strings.Join(strings.Fields(out), " "), strings.Join(strings.Fields(w), " ")) {
			t.Errorf("split table lacks %q:\n%s", w, out)
		}
	}
	for s, n := range map[string]int{"train": 6, "val": 2, "test": 2} {
		data, err := os.ReadFile(filepath.Join(split, "ImageSets", "Main", s+".txt"))
		if err != nil || len(strings.Fields(string(data))) != n {
			t.Errorf("%s.txt: %q, %v; want %d ids", s, data, err, n)
		}
	}

	packed, unpacked := filepath.Join(tmp, "packed"), filepath.Join(tmp, "unpacked")
	mustRun(t, "dataset", "pack", "--shard-size", "2kB", voc, packed)
	shards, _ := filepath.Glob(filepath.Join(packed, "*.gvrec"))
	if len(shards) < 2 {
		t.Errorf("%d shards of 2 kB, want several", len(shards))
	}
	mustRun(t, "dataset", "unpack", packed, unpacked)
	a, _ := mustRun(t, "dataset", "info", voc)
	b, _ := mustRun(t, "dataset", "info", unpacked)
	if strings.Replace(a, voc, "X", 1) != strings.Replace(b, unpacked, "X", 1) {
		t.Errorf("info after pack and unpack:\n%s\nbefore:\n%s", b, a)
	}
}

func TestDatasetResizeLetterbox(t *testing.T) {
	tmp := t.TempDir()
	voc := filepath.Join(tmp, "voc")
	makeVOC(t, voc, 2)
	dst := filepath.Join(tmp, "lb")
	mustRun(t, "--threads", "2", "dataset", "resize", "--size", "80x80", "--letterbox", voc, dst)
	r, err := datasets.OpenVOC(dst, datasets.Options{})
	if err != nil {
		t.Fatal(err)
	}
	recs, _, _ := datasets.ReadAll(r)
	if len(recs) != 2 || recs[0].Width != 80 || recs[0].Height != 80 {
		t.Fatalf("records %+v", recs)
	}
	// 40×30 into 80×80: scale 2 (80×60), 10 pixels of padding above and
	// below. Image 0's first box, VOC (2, 3)–(20, 25), is (1, 2)–(20, 25)
	// in pixel edges: (2, 14)–(40, 60) on the canvas.
	if b := recs[0].Objects[0].Box; b != (datasets.Box{X1: 2, Y1: 14, X2: 40, Y2: 60}) {
		t.Errorf("box %v", b)
	}
	img, err := imageio.DecodeFile(recs[0].Image.Path)
	if err != nil || img.Bounds().Dx() != 80 {
		t.Fatalf("image: %v", err)
	}
	if c := color.NRGBAModel.Convert(img.At(40, 5)).(color.NRGBA); c != datasets.DarknetGrey {
		t.Errorf("padding %v, want darknet's grey", c)
	}
}

func TestParseSizes(t *testing.T) {
	for s, want := range map[string]int64{"256MB": 256e6, "1GiB": 1 << 30, "100k": 1e5, "4096": 4096, "1.5 kB": 1500} {
		if got, err := parseByteSize(s); err != nil || got != want {
			t.Errorf("parseByteSize(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "-1MB", "MB", "12XB"} {
		if _, err := parseByteSize(s); err == nil {
			t.Errorf("parseByteSize(%q): no error", s)
		}
	}
	if w, h, err := parseImageSize("640x480"); err != nil || w != 640 || h != 480 {
		t.Errorf("640x480: %d %d %v", w, h, err)
	}
	if w, h, err := parseImageSize("416"); err != nil || w != 416 || h != 416 {
		t.Errorf("416: %d %d %v", w, h, err)
	}
	for _, s := range []string{"0", "x3", "3x", "-2"} {
		if _, _, err := parseImageSize(s); err == nil {
			t.Errorf("parseImageSize(%q): no error", s)
		}
	}
}
