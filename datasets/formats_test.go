package datasets

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"govision.dev/vision/imageio"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeImage(t *testing.T, path string, w, h int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := imageio.SaveFile(path, image.NewNRGBA(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
}

// nextAll reads r to the end, returning the records and the bad records'
// messages.
func nextAll(t *testing.T, r Reader) ([]*Record, []string) {
	t.Helper()
	var recs []*Record
	var bad []string
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return recs, bad
		}
		var re *RecordError
		if errors.As(err, &re) {
			bad = append(bad, err.Error())
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
}

func TestVOCErrorsHaveLines(t *testing.T) {
	dir := t.TempDir()
	writeImage(t, filepath.Join(dir, "JPEGImages", "a.jpg"), 10, 10)
	writeImage(t, filepath.Join(dir, "JPEGImages", "b.jpg"), 10, 10)
	writeImage(t, filepath.Join(dir, "JPEGImages", "c.jpg"), 10, 10)
	writeFile(t, filepath.Join(dir, "labels.txt"), "cat\ndog\n")
	writeFile(t, filepath.Join(dir, "Annotations", "a.xml"), "<annotation>\n<filename>a.jpg</filename>\n<object>\n<name>cat</name>\n<bndbox><xmin>1</xmin><ymin>2</ymin><xmax>5</xmax><ymax>6</ymax></bndbox>\n</object>\n</annotation>\n")
	writeFile(t, filepath.Join(dir, "Annotations", "b.xml"), "<annotation>\n<filename>b.jpg</filename>\n<object>\n<name>cow</name>\n</object>\n</annotation>\n")
	writeFile(t, filepath.Join(dir, "Annotations", "c.xml"), "<annotation>\n<object>\n<name>dog</name>\n<bndbox><xmin>x</xmin></bndbox>\n</object>\n</annotation>\n")
	writeFile(t, filepath.Join(dir, "Annotations", "d.xml"), "<annotation>\n<object>\n<name>dog</name>\n</annotatio>\n")
	r, err := OpenVOC(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	recs, bad := nextAll(t, r)
	if len(recs) != 1 || recs[0].Objects[0].Box != (Box{0, 1, 5, 6}) || recs[0].Objects[0].Class != 0 {
		t.Fatalf("records %+v", recs)
	}
	want := []string{
		filepath.Join(dir, "Annotations", "b.xml") + ":4: voc: unknown class \"cow\"",
		filepath.Join(dir, "Annotations", "c.xml") + ":4: voc: <xmin> \"x\" is not a number",
		filepath.Join(dir, "Annotations", "d.xml") + ":4: voc: XML syntax error on line 4: element <object> closed by </annotatio>",
	}
	if !slices.Equal(bad, want) {
		t.Errorf("bad records:\n%s\nwant:\n%s", strings.Join(bad, "\n"), strings.Join(want, "\n"))
	}
}

func TestVOCClassesScannedAndSplit(t *testing.T) {
	dir := t.TempDir()
	for i, n := range []string{"zebra", "ant", "zebra"} {
		id := fmt.Sprint(i)
		writeImage(t, filepath.Join(dir, "JPEGImages", id+".jpg"), 8, 8)
		writeFile(t, filepath.Join(dir, "Annotations", id+".xml"), "<annotation><object><name>"+n+"</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object></annotation>")
	}
	writeFile(t, filepath.Join(dir, "ImageSets", "Main", "val.txt"), "1\n")
	r, err := OpenVOC(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ClassNames(r.Classes()); !slices.Equal(got, []string{"ant", "zebra"}) {
		t.Errorf("classes %v, want the names found, sorted", got)
	}
	recs, _ := nextAll(t, r)
	if len(recs) != 3 || recs[1].Split != "val" || recs[0].Split != "" || recs[1].Objects[0].Class != 0 {
		t.Errorf("records: %+v", recs)
	}
	r, err = OpenVOC(dir, Options{Split: "val"})
	if err != nil {
		t.Fatal(err)
	}
	if recs, _ := nextAll(t, r); len(recs) != 1 || recs[0].ID != "1" {
		t.Errorf("split val: %+v", recs)
	}
}

// cocoJSON is an instances file with non-contiguous category ids, a
// polygon, an uncompressed crowd RLE, a compressed RLE and attributes.
const cocoJSON = `{
 "info": {"year": 2017},
 "images": [
  {"id": 42, "file_name": "a.jpg", "width": 4, "height": 3},
  {"id": 7, "file_name": "b.jpg", "width": 4, "height": 3}
 ],
 "annotations": [
  {"id": 1, "image_id": 42, "category_id": 90, "bbox": [0.5, 1, 2, 1.5], "area": 3, "iscrowd": 0,
   "segmentation": [[0.5, 1, 2.5, 1, 2.5, 2.5]], "attributes": {"difficult": true, "pose": "Left"}},
  {"id": 2, "image_id": 42, "category_id": 3, "bbox": [1, 0, 1, 3], "area": 3, "iscrowd": 1,
   "segmentation": {"size": [3, 4], "counts": [3, 3, 6]}},
  {"id": 3, "image_id": 7, "category_id": 1, "bbox": [0, 0, 4, 3], "area": 12, "iscrowd": 0,
   "segmentation": {"size": [3, 4], "counts": "0<"}}
 ],
 "categories": [{"id": 90, "name": "toothbrush", "supercategory": "indoor"}, {"id": 1, "name": "person"}, {"id": 3, "name": "car"}]
}`

func TestCOCORead(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "annotations", "instances_val.json"), cocoJSON)
	writeImage(t, filepath.Join(dir, "val", "a.jpg"), 4, 3)
	writeImage(t, filepath.Join(dir, "val", "b.jpg"), 4, 3)
	r, err := OpenCOCO(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Class{{Name: "person", ID: 1}, {Name: "car", ID: 3}, {Name: "toothbrush", ID: 90, Supercategory: "indoor"}}
	if !slices.Equal(r.Classes(), want) {
		t.Errorf("classes %+v, want %+v (sorted by id)", r.Classes(), want)
	}
	recs, bad := nextAll(t, r)
	if len(bad) > 0 || len(recs) != 2 {
		t.Fatalf("records %d, bad %v", len(recs), bad)
	}
	a := recs[0]
	if a.ID != "42" || a.Split != "val" || len(a.Objects) != 2 {
		t.Fatalf("record %+v", a)
	}
	o := a.Objects[0]
	if o.Class != 2 || o.Box != (Box{0.5, 1, 2.5, 2.5}) || !o.Difficult || o.Pose != "Left" || o.ID != 1 || o.Mask == nil || len(o.Mask.Polygons) != 1 {
		t.Errorf("object 0: %+v", o)
	}
	c := a.Objects[1]
	if c.Class != 1 || !c.Crowd || c.Mask == nil || c.Mask.RLE == nil {
		t.Fatalf("object 1: %+v", c)
	}
	bm, err := c.Mask.Bitmap(4, 3)
	if err != nil {
		t.Fatal(err)
	}
	// counts [3 3 6] in a 3-row image: column 0 empty, column 1 full.
	if want := []uint8{0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0}; !slices.Equal(bm, want) {
		t.Errorf("crowd mask %v, want %v", bm, want)
	}
	full := recs[1].Objects[0].Mask.RLE
	// "0<": counts [0, 12] ('<' is 60−48 = 12): the whole 4×3 image.
	if full == nil || full.Area() != 12 {
		t.Errorf("compressed RLE: %+v", full)
	}
}

func TestCOCOErrors(t *testing.T) {
	dir := t.TempDir()
	writeImage(t, filepath.Join(dir, "a.jpg"), 4, 3)
	path := filepath.Join(dir, "instances_x.json")
	writeFile(t, path, `{"images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 3},
{"id": "two", "file_name": "b.jpg"}],
"annotations": [{"id": 5, "image_id": 1, "category_id": 2, "bbox": [0, 0, 1, 1]}],
"categories": [{"id": 1, "name": "x"}]}`)
	r, err := OpenCOCO(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	recs, bad := nextAll(t, r)
	if len(recs) != 0 || len(bad) != 2 {
		t.Fatalf("records %v, bad %v", recs, bad)
	}
	if !strings.HasPrefix(bad[0], path+":2:") || !strings.Contains(bad[0], "images element") {
		t.Errorf("bad[0] = %q", bad[0])
	}
	if !strings.HasPrefix(bad[1], path+":3:") || !strings.Contains(bad[1], "(annotation 5): coco: unknown category_id 2") {
		t.Errorf("bad[1] = %q", bad[1])
	}
	writeFile(t, path, "{\"images\": [\n{\"id\": 1,]}")
	if _, err := OpenCOCO(path, Options{}); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), path+":2:") {
		t.Errorf("syntax error: %v", err)
	}
}

func TestYOLORead(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "data.yaml"), "path: .  # root\ntrain: images/train\nnames:\n  0: person\n  1: 'traffic light'\n")
	writeImage(t, filepath.Join(dir, "images", "train", "a.png"), 100, 50)
	writeImage(t, filepath.Join(dir, "images", "train", "b.png"), 100, 50)
	writeImage(t, filepath.Join(dir, "images", "train", "c.png"), 100, 50)
	writeFile(t, filepath.Join(dir, "labels", "train", "a.txt"), "0 0.5 0.5 0.2 0.4\n\n1 0.1 0.2 0.3 0.2 0.3 0.4\n")
	writeFile(t, filepath.Join(dir, "labels", "train", "b.txt"), "0 0.5 0.5 0.2\n")
	writeFile(t, filepath.Join(dir, "labels", "train", "c.txt"), "0 0.5 0.5 0.2 0.2\n2 0.5 0.5 0.2 0.2\n")
	r, err := OpenYOLO(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ClassNames(r.Classes()); !slices.Equal(got, []string{"person", "traffic light"}) {
		t.Errorf("classes %q", got)
	}
	recs, bad := nextAll(t, r)
	if len(recs) != 1 {
		t.Fatalf("records %+v", recs)
	}
	a := recs[0]
	if a.Split != "train" || a.Name != "a.png" || a.Width != 100 || len(a.Objects) != 2 {
		t.Fatalf("record %+v", a)
	}
	if !near(a.Objects[0].Box, Box{40, 15, 60, 35}, 1e-9) {
		t.Errorf("box %v", a.Objects[0].Box)
	}
	if o := a.Objects[1]; o.Class != 1 || o.Mask == nil || !near(o.Box, Box{10, 10, 30, 20}, 1e-9) {
		t.Errorf("polygon object %+v", o)
	}
	la, lb := filepath.Join(dir, "labels", "train", "b.txt"), filepath.Join(dir, "labels", "train", "c.txt")
	want := []string{la + ":1: yolo: 4 values, want class cx cy w h or class x1 y1 x2 y2 …", lb + ":2: yolo: class 2, the names file lists 2"}
	if !slices.Equal(bad, want) {
		t.Errorf("bad %q, want %q", bad, want)
	}
}

func TestParseYOLOYAMLNames(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want []string
	}{
		{"names: [a, 'b c', \"d\"]\n", []string{"a", "b c", "d"}},
		{"nc: 2\nnames:\n  - x # one\n  - y\ntrain: t\n", []string{"x", "y"}},
		{"names:\n  1: b\n  0: a\n", []string{"a", "b"}},
		{"train: x\n", nil},
	} {
		got, err := ParseYOLOYAMLNames([]byte(tc.yaml))
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%q: %q, %v; want %q", tc.yaml, got, err, tc.want)
		}
	}
	for _, bad := range []string{"names: a\n", "names:\n  0: a\n  2: c\n", "names:\n  x: a\n", "names:\n"} {
		if _, err := ParseYOLOYAMLNames([]byte(bad)); !errors.Is(err, ErrFormat) {
			t.Errorf("%q: %v, want ErrFormat", bad, err)
		}
	}
}

func TestImageFolder(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"train/dog/1.png", "train/cat/2.png", "val/cat/3.png", "train/cat/sub/4.png"} {
		writeImage(t, filepath.Join(dir, p), 3, 3)
	}
	writeFile(t, filepath.Join(dir, "train/cat/notes.txt"), "not an image")
	r, err := OpenImageFolder(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := ClassNames(r.Classes()); !slices.Equal(got, []string{"cat", "dog"}) {
		t.Errorf("classes %v", got)
	}
	recs, _ := nextAll(t, r)
	var got []string
	for _, rec := range recs {
		got = append(got, fmt.Sprintf("%s %s %d", rec.Split, rec.Name, rec.Class))
	}
	want := []string{"train cat/2.png 0", "train cat/sub/4.png 0", "train dog/1.png 1", "val cat/3.png 0"}
	if !slices.Equal(got, want) {
		t.Errorf("records %q, want %q", got, want)
	}
}

func TestCIFARRoundTrip(t *testing.T) {
	for _, hundred := range []bool{false, true} {
		t.Run(fmt.Sprint("hundred=", hundred), func(t *testing.T) {
			classes := []Class{{Name: "apple", Supercategory: "fruit"}, {Name: "bee", Supercategory: "insects"}, {Name: "pear", Supercategory: "fruit"}}
			dir := t.TempDir()
			w, err := newCIFARWriter(dir, classes, hundred)
			if err != nil {
				t.Fatal(err)
			}
			var want []*image.NRGBA
			for i := range 5 {
				img := image.NewNRGBA(image.Rect(0, 0, 32, 32))
				for k := range img.Pix {
					img.Pix[k] = uint8(k*7 + i)
					if k%4 == 3 {
						img.Pix[k] = 255
					}
				}
				want = append(want, img)
				split := "train"
				if i == 4 {
					split = "test"
				}
				if err := w.Write(&Record{ID: fmt.Sprint(i), Split: split, Class: i % 3, Image: Image{Pixels: img}}); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			r, err := OpenCIFAR(dir, hundred, "")
			if err != nil {
				t.Fatal(err)
			}
			if hundred && !slices.Equal(r.Classes(), classes) || !hundred && !slices.Equal(ClassNames(r.Classes()), ClassNames(classes)) {
				t.Errorf("classes %+v", r.Classes())
			}
			recs, bad := nextAll(t, r)
			if len(recs) != 5 || len(bad) > 0 || r.Len() != 5 {
				t.Fatalf("%d records, bad %v, Len %d", len(recs), bad, r.Len())
			}
			for i, rec := range recs {
				if rec.Class != i%3 || !bytes.Equal(rec.Image.Pixels.(*image.NRGBA).Pix, want[i].Pix) {
					t.Errorf("record %d: class %d, pixels differ", i, rec.Class)
				}
			}
			if recs[4].Split != "test" || recs[4].ID != "test-00000" {
				t.Errorf("record 4: %s %s", recs[4].Split, recs[4].ID)
			}
		})
	}
}

func TestCIFARStreamErrors(t *testing.T) {
	rec := make([]byte, 1+cifarPixel)
	rec[0] = 12 // out of range
	data := append(slices.Clone(rec), rec[:100]...)
	data[1+cifarPixel] = 1
	s := NewCIFARStream(bytes.NewReader(data), false, 10, "x.bin")
	if _, _, err := s.Next(); !strings.Contains(fmt.Sprint(err), "x.bin: record 0: label 12") {
		t.Errorf("first record: %v", err)
	}
	if _, _, err := s.Next(); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "record 1 truncated") {
		t.Errorf("second record: %v", err)
	}
	if _, _, err := s.Next(); err != io.EOF {
		t.Errorf("after the truncation: %v", err)
	}
}

func TestIDXGzipAndRaw(t *testing.T) {
	dir := t.TempDir()
	w, err := CreateIDX(filepath.Join(dir, "x-idx3-ubyte"), 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if err := w.Write([]byte{byte(i), 1, 2, 3, 4, 5}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Write([]byte{1}); !errors.Is(err, ErrFormat) {
		t.Errorf("short item: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "x-idx3-ubyte"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0, 0, 8, 3, 0, 0, 0, 4, 0, 0, 0, 2, 0, 0, 0, 3}; !bytes.Equal(raw[:16], want) {
		t.Fatalf("header % x, want % x", raw[:16], want)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	for name, data := range map[string][]byte{"raw": raw, "gzip": gz.Bytes()} {
		x, err := NewIDXReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.Equal(x.Dims, []int{4, 2, 3}) || x.ItemSize != 6 {
			t.Errorf("%s: dims %v item %d", name, x.Dims, x.ItemSize)
		}
		for i := range 4 {
			item, err := x.Next()
			if err != nil || item[0] != byte(i) {
				t.Errorf("%s: item %d = %v, %v", name, i, item, err)
			}
		}
		if _, err := x.Next(); err != io.EOF {
			t.Errorf("%s: after the last item: %v", name, err)
		}
	}
	// A header claiming more items than the file holds.
	x, err := NewIDXReader(bytes.NewReader(append([]byte{0, 0, 8, 1, 0xff, 0xff, 0xff, 0xff}, 1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	x.Next()
	x.Next()
	if _, err := x.Next(); !errors.Is(err, ErrFormat) {
		t.Errorf("truncated: %v", err)
	}
	if _, err := NewIDXReader(bytes.NewReader([]byte{0, 0, 8, 3, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})); !errors.Is(err, ErrFormat) {
		t.Errorf("huge items: %v", err)
	}
}
