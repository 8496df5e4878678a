package datasets

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestRoundTripVOCCOCOYOLOVOC converts a generated VOC data set to COCO,
// then YOLO, then VOC again, and checks that every image (byte for byte),
// box (within 1 px), label and split survives, and that each attribute a
// format cannot hold is reported dropped with its exact count: COCO keeps
// VOC's flags (as attributes) but not the class maps; YOLO txt drops
// difficult, truncated and pose.
func TestRoundTripVOCCOCOYOLOVOC(t *testing.T) {
	set := synthSet(24, 1)
	var difficult, truncated, pose int
	for _, im := range set {
		for _, o := range im.objects {
			difficult += btoi(o.difficult)
			truncated += btoi(o.truncated)
			pose += btoi(o.pose != "")
		}
	}
	if difficult == 0 || truncated == 0 || pose == 0 {
		t.Fatalf("the synthetic set should have every flag: difficult %d, truncated %d, pose %d", difficult, truncated, pose)
	}
	tmp := t.TempDir()
	voc, coco, yolo, back := filepath.Join(tmp, "voc"), filepath.Join(tmp, "coco"), filepath.Join(tmp, "yolo"), filepath.Join(tmp, "voc2")
	writeVOC(t, voc, set)

	rep := convertDir(t, voc, VOCFormat, coco, COCOFormat)
	if want := (Drops{"segmentation maps": 1}); !maps(rep.Dropped, want) {
		t.Errorf("VOC → COCO dropped %v, want %v", rep.Dropped, want)
	}
	rep = convertDir(t, coco, COCOFormat, yolo, YOLOFormat)
	if want := (Drops{"difficult": difficult, "truncated": truncated, "pose": pose, "annotation ids": rep.Objects}); !maps(rep.Dropped, want) {
		t.Errorf("COCO → YOLO dropped %v, want %v", rep.Dropped, want)
	}
	rep = convertDir(t, yolo, YOLOFormat, back, VOCFormat)
	if len(rep.Dropped) != 0 {
		t.Errorf("YOLO → VOC dropped %v, want nothing", rep.Dropped)
	}
	if rep.Records != len(set) {
		t.Errorf("YOLO → VOC wrote %d records, want %d", rep.Records, len(set))
	}

	got, classes := readRecords(t, back, VOCFormat)
	if !slices.Equal(ClassNames(classes), synthClasses) {
		t.Errorf("classes %v, want %v", ClassNames(classes), synthClasses)
	}
	if len(got) != len(set) {
		t.Fatalf("%d images after the round trip, want %d", len(got), len(set))
	}
	for i, im := range set {
		rec := got[i]
		if rec.ID != im.id || rec.Name != im.id+im.ext || rec.Split != im.split || rec.Width != im.w || rec.Height != im.h {
			t.Errorf("image %d: %s %s split %q %dx%d, want %s%s split %q %dx%d", i, rec.ID, rec.Name, rec.Split, rec.Width, rec.Height, im.id, im.ext, im.split, im.w, im.h)
		}
		orig, _ := os.ReadFile(filepath.Join(voc, "JPEGImages", im.id+im.ext))
		now, err := os.ReadFile(rec.Image.Path)
		if err != nil || !bytes.Equal(orig, now) {
			t.Errorf("image %s: bytes differ after the round trip (%v)", im.id, err)
		}
		if len(rec.Objects) != len(im.objects) {
			t.Errorf("image %s: %d objects, want %d", im.id, len(rec.Objects), len(im.objects))
			continue
		}
		for k, o := range im.objects {
			g := rec.Objects[k]
			want := Box{float64(o.x1), float64(o.y1), float64(o.x2), float64(o.y2)}
			if g.Class != o.class || !near(g.Box, want, 1) {
				t.Errorf("image %s object %d: class %d box %v, want class %d box %v", im.id, k, g.Class, g.Box, o.class, want)
			}
			if g.Difficult || g.Truncated || g.Pose != "" {
				t.Errorf("image %s object %d: flags survived YOLO: %+v", im.id, k, g)
			}
		}
	}
}

// TestRoundTripVOCCOCOVOC checks that COCO holds VOC's flags and boxes
// exactly.
func TestRoundTripVOCCOCOVOC(t *testing.T) {
	set := synthSet(10, 2)
	tmp := t.TempDir()
	voc, coco, back := filepath.Join(tmp, "voc"), filepath.Join(tmp, "coco"), filepath.Join(tmp, "voc2")
	writeVOC(t, voc, set)
	convertDir(t, voc, VOCFormat, coco, COCOFormat)
	convertDir(t, coco, COCOFormat, back, VOCFormat)
	got, _ := readRecords(t, back, VOCFormat)
	want, _ := readRecords(t, voc, VOCFormat)
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range want {
		for k := range want[i].Objects {
			g, w := got[i].Objects[k], want[i].Objects[k]
			g.Where, w.Where = "", ""
			if g != w {
				t.Errorf("record %s object %d: %+v, want %+v", want[i].ID, k, g, w)
			}
		}
	}
}

func near(a, b Box, tol float64) bool {
	return math.Abs(a.X1-b.X1) <= tol && math.Abs(a.Y1-b.Y1) <= tol && math.Abs(a.X2-b.X2) <= tol && math.Abs(a.Y2-b.Y2) <= tol
}

func maps(a, b Drops) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
