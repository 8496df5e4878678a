package datasets

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Every parser of outside data has a fuzz target: whatever the bytes, it
// must not panic, must fail with its error category (ErrFormat), and must
// not allocate much more than the input warrants, however large the sizes
// the input claims. Run one with, e.g.,
//
//	go test -run XXX -fuzz FuzzIDX -fuzztime 20s ./datasets

// allocBudget fails the test when fn allocates more than limit bytes.
func allocBudget(t *testing.T, limit uint64, fn func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > limit {
		t.Fatalf("allocated %d bytes, more than %d", got, limit)
	}
}

// budget is what a parser may allocate for an input of n bytes: a fixed
// allowance (buffers, a 64 KiB bufio) plus a multiple of the input.
func budget(n int) uint64 { return 8<<20 + 64*uint64(n) }

func checkCategory(t *testing.T, err error) {
	t.Helper()
	if err != nil && err != io.EOF && !errors.Is(err, ErrFormat) {
		t.Fatalf("error outside ErrFormat: %v", err)
	}
}

func FuzzVOCXML(f *testing.F) {
	f.Add([]byte("<annotation><filename>a.jpg</filename><size><width>10</width><height>8</height></size><object><name>cat</name><difficult>1</difficult><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>5</xmax><ymax>6</ymax></bndbox></object></annotation>"))
	f.Add([]byte("<annotation><object><name>dog</name></object></annotation>"))
	f.Add([]byte("<?xml version=\"1.0\"?><annotation><object><part><bndbox><xmin>1</xmin></bndbox></part></object></annotation>"))
	f.Add([]byte("<a><b>&amp;</b></a>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		allocBudget(t, budget(len(data)), func() {
			a, err := parseVOCXML(data, "x.xml", func(n string) (int, bool) { return len(n) % 3, n != "" })
			checkCategory(t, err)
			if err == nil {
				for _, o := range a.objects {
					if o.Class < 0 || o.Where == "" {
						t.Fatalf("object %+v", o)
					}
				}
			}
		})
	})
}

func FuzzCOCOJSON(f *testing.F) {
	f.Add([]byte(cocoJSON))
	f.Add([]byte(`{"images": [{"id": 1, "file_name": "a", "width": 1000000, "height": 1000000}], "annotations": [{"image_id": 1, "category_id": 1, "bbox": [0,0,1,1], "segmentation": {"size": [1000000, 1000000], "counts": "0"}}], "categories": [{"id": 1, "name": "x"}]}`))
	f.Add([]byte(`{"annotations": [{"segmentation": [[0, 0, 1e300, 0, 5, 5]]}]}`))
	f.Add([]byte(`[1, 2]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		allocBudget(t, budget(len(data)), func() {
			cf := &cocoFile{path: "x.json", anns: map[int64][]cocoAnn{}, lines: []int64{-1}}
			err := cf.parse(bytes.NewReader(data))
			checkCategory(t, err)
			if err != nil {
				return
			}
			for _, anns := range cf.anns {
				for _, a := range anns {
					m, err := parseSegmentation(a.Segmentation)
					checkCategory(t, err)
					var o Object
					checkCategory(t, parseAttributes(a.Attributes, &o))
					if m == nil {
						continue
					}
					w, h := 64, 48
					if m.RLE != nil {
						w, h = m.RLE.W, m.RLE.H
					}
					if w*h <= 1<<16 {
						_, err := m.Bitmap(w, h)
						checkCategory(t, err)
					}
				}
			}
		})
	})
}

func FuzzRLEString(f *testing.F) {
	f.Add("013", 5, 1)
	f.Add("T3", 100, 1)
	f.Add("0<", 3, 4)
	f.Add("ooooooooooooooooo1", 1<<20, 1<<20)
	f.Fuzz(func(t *testing.T, s string, h, w int) {
		allocBudget(t, budget(len(s))+uint64(max(0, min(w*h, 1<<16))), func() {
			r, err := ParseRLE(s, h, w)
			checkCategory(t, err)
			if err == nil && w*h <= 1<<16 {
				if _, err := r.Decode(); err != nil {
					t.Fatalf("a parsed RLE does not decode: %v", err)
				}
				if back, err := ParseRLE(r.String(), h, w); err != nil || len(back.Counts) != len(r.Counts) {
					t.Fatalf("re-encoding %q: %v", s, err)
				}
			}
		})
	})
}

func FuzzIDX(f *testing.F) {
	f.Add([]byte{0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{0, 0, 8, 1, 0xff, 0xff, 0xff, 0xff, 1})
	f.Add([]byte{0, 0, 0x0d, 3, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff})
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		allocBudget(t, budget(len(data)), func() {
			x, err := NewIDXReader(bytes.NewReader(data))
			checkCategory(t, err)
			if err != nil {
				return
			}
			for range 1000 {
				if _, err := x.Next(); err != nil {
					checkCategory(t, err)
					return
				}
			}
		})
	})
}

func FuzzCIFAR(f *testing.F) {
	rec := make([]byte, 2+cifarPixel)
	f.Add(rec, true)
	f.Add(rec[:1+cifarPixel], false)
	f.Add(append(rec, 7, 8), false)
	f.Fuzz(func(t *testing.T, data []byte, hundred bool) {
		allocBudget(t, budget(len(data)), func() {
			s := NewCIFARStream(bytes.NewReader(data), hundred, 10, "x.bin")
			for range 1000 {
				img, label, err := s.Next()
				if err == io.EOF {
					return
				}
				checkCategory(t, err)
				if err == nil && (label < 0 || label >= 10 || img.Rect.Dx() != 32) {
					t.Fatalf("label %d, image %v", label, img.Rect)
				}
			}
		})
	})
}

func FuzzYOLOLabels(f *testing.F) {
	f.Add([]byte("0 0.5 0.5 0.2 0.4\n1 0.1 0.2 0.3 0.2 0.3 0.4\n"), []byte("names:\n  0: a\n  1: b\n"))
	f.Add([]byte("3 nan 1 1 1\n-1 0 0 0 0\n"), []byte("names: [a, 'b', \"c\"]\n"))
	f.Add([]byte("0 1e308 1e308 1e308 1e308 0.5\n"), []byte("names:\n - x\n - y # c\n"))
	f.Fuzz(func(t *testing.T, labels, yaml []byte) {
		allocBudget(t, budget(len(labels)+len(yaml)), func() {
			objs, err := ParseYOLOLabels(labels, "x.txt", 3, 640, 480)
			checkCategory(t, err)
			for _, o := range objs {
				if o.Class < 0 || o.Class >= 3 {
					t.Fatalf("class %d", o.Class)
				}
			}
			_, err = ParseYOLOYAMLNames(yaml)
			checkCategory(t, err)
		})
	})
}

func FuzzShard(f *testing.F) {
	var buf bytes.Buffer
	dir := f.TempDir()
	w, _ := NewShardWriter(dir, []Class{{Name: "a"}}, ShardOptions{})
	w.Write(&Record{ID: "x", Class: 0, Objects: []Object{{Box: Box{1, 2, 3, 4}, Mask: &Mask{RLE: &RLE{H: 1, W: 2, Counts: []uint32{1, 1}}}}},
		Segmentation: &ClassMap{W: 1, H: 2, Pix: []uint8{1, 2}}, Image: Image{Data: []byte("\x89PNG\r\n\x1a\nxx")}})
	w.Close()
	if data, err := readShardFile(dir); err == nil {
		buf.Write(data)
	}
	f.Add(buf.Bytes())
	huge := bytes.Clone(buf.Bytes())
	if len(huge) > 40 {
		binary.LittleEndian.PutUint32(huge[8:], 0xfffffff0)
	}
	f.Add(huge)
	f.Add([]byte("GVSHARD1\x02\x00\x00\x00{}\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		allocBudget(t, budget(len(data)), func() {
			s, err := NewShardStream(bytes.NewReader(data), "x")
			checkCategory(t, err)
			if err != nil {
				return
			}
			for range 1000 {
				rec, err := s.Next()
				if err == io.EOF {
					return
				}
				checkCategory(t, err)
				var re *RecordError
				if err != nil && !errors.As(err, &re) {
					return
				}
				if rec != nil && rec.Segmentation != nil && len(rec.Segmentation.Pix) != rec.Segmentation.W*rec.Segmentation.H {
					t.Fatalf("class map %dx%d with %d bytes", rec.Segmentation.W, rec.Segmentation.H, len(rec.Segmentation.Pix))
				}
			}
		})
	})
}

func readShardFile(dir string) ([]byte, error) {
	return os.ReadFile(filepath.Join(dir, "shard-00000"+shardExt))
}
