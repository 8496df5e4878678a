package datasets

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"govision.dev/vision/imageio"
)

// synthObject is an object the synthetic data sets draw: a filled
// rectangle of its class's colour over pixels [x1, x2)×[y1, y2).
type synthObject struct {
	class                int
	x1, y1, x2, y2       int
	difficult, truncated bool
	pose                 string
}

type synthImage struct {
	id, ext string
	w, h    int
	split   string
	objects []synthObject
	seg     bool
}

var synthClasses = []string{"cat", "dog", "person"}

// classColour is the fill of class c's rectangles.
func classColour(c int) color.NRGBA {
	return []color.NRGBA{{220, 30, 30, 255}, {30, 200, 40, 255}, {40, 50, 230, 255}}[c]
}

// synthSet returns n images with known boxes: sizes, positions and flags
// drawn from seed; every third image is a PNG, the rest JPEGs.
func synthSet(n int, seed uint64) []synthImage {
	rng := rand.New(rand.NewPCG(seed, 7))
	var set []synthImage
	for i := range n {
		im := synthImage{id: fmt.Sprintf("img_%03d", i), ext: ".jpg", w: 48 + rng.IntN(64), h: 40 + rng.IntN(48), split: "train"}
		if i%3 == 2 {
			im.ext = ".png"
		}
		if i%4 == 3 {
			im.split = "val"
		}
		im.seg = i == 1
		for k := range 1 + rng.IntN(3) {
			x1, y1 := rng.IntN(im.w-8), rng.IntN(im.h-8)
			o := synthObject{class: rng.IntN(len(synthClasses)), x1: x1, y1: y1,
				x2: x1 + 4 + rng.IntN(im.w-x1-4), y2: y1 + 4 + rng.IntN(im.h-y1-4)}
			o.difficult = (i+k)%5 == 0
			o.truncated = (i+k)%7 == 0
			if (i+k)%6 == 0 {
				o.pose = "Left"
			}
			im.objects = append(im.objects, o)
		}
		set = append(set, im)
	}
	return set
}

// draw renders im: grey noise with its rectangles.
func (im synthImage) draw(seed uint64) *image.NRGBA {
	rng := rand.New(rand.NewPCG(seed, uint64(len(im.id))))
	m := image.NewNRGBA(image.Rect(0, 0, im.w, im.h))
	for i := 0; i < len(m.Pix); i += 4 {
		v := uint8(100 + rng.IntN(40))
		m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = v, v, v, 255
	}
	for _, o := range im.objects {
		c := classColour(o.class)
		for y := o.y1; y < o.y2; y++ {
			for x := o.x1; x < o.x2; x++ {
				m.SetNRGBA(x, y, c)
			}
		}
	}
	return m
}

// writeVOC writes set as a VOC data set by hand (not through the writer
// under test): 1-based inclusive bndbox, ImageSets/Main/{train,val}.txt,
// one segmentation PNG.
func writeVOC(t *testing.T, dir string, set []synthImage) {
	t.Helper()
	for _, d := range []string{"Annotations", "JPEGImages", "ImageSets/Main", "SegmentationClass", "ImageSets/Segmentation"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o777); err != nil {
			t.Fatal(err)
		}
	}
	splits := map[string][]string{}
	for _, im := range set {
		if err := imageio.SaveFile(filepath.Join(dir, "JPEGImages", im.id+im.ext), im.draw(1)); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		fmt.Fprintf(&b, "<annotation>\n  <folder>VOC2012</folder>\n  <filename>%s%s</filename>\n", im.id, im.ext)
		fmt.Fprintf(&b, "  <source><database>synthetic</database></source>\n")
		fmt.Fprintf(&b, "  <size><width>%d</width><height>%d</height><depth>3</depth></size>\n  <segmented>%d</segmented>\n", im.w, im.h, btoi(im.seg))
		for _, o := range im.objects {
			pose := o.pose
			if pose == "" {
				pose = "Unspecified"
			}
			fmt.Fprintf(&b, "  <object>\n    <name>%s</name>\n    <pose>%s</pose>\n    <truncated>%d</truncated>\n    <difficult>%d</difficult>\n", synthClasses[o.class], pose, btoi(o.truncated), btoi(o.difficult))
			fmt.Fprintf(&b, "    <bndbox><xmin>%d</xmin><ymin>%d</ymin><xmax>%d</xmax><ymax>%d</ymax></bndbox>\n  </object>\n", o.x1+1, o.y1+1, o.x2, o.y2)
		}
		b.WriteString("</annotation>\n")
		if err := os.WriteFile(filepath.Join(dir, "Annotations", im.id+".xml"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		splits[im.split] = append(splits[im.split], im.id)
		if im.seg {
			pix := make([]uint8, im.w*im.h)
			for _, o := range im.objects {
				for y := o.y1; y < o.y2; y++ {
					for x := o.x1; x < o.x2; x++ {
						pix[y*im.w+x] = uint8(o.class + 1)
					}
				}
			}
			pix[0] = Void
			m, err := imageio.MaskImage(pix, im.w, im.h)
			if err != nil {
				t.Fatal(err)
			}
			if err := imageio.SaveFile(filepath.Join(dir, "SegmentationClass", im.id+".png"), m); err != nil {
				t.Fatal(err)
			}
		}
	}
	for s, ids := range splits {
		if err := os.WriteFile(filepath.Join(dir, "ImageSets/Main", s+".txt"), []byte(strings.Join(ids, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// convertDir converts the data set src (format from) into a new folder
// dst in format to and returns the report.
func convertDir(t *testing.T, src string, from Format, dst string, to Format) *Report {
	t.Helper()
	r, err := Open(src, from, Options{})
	if err != nil {
		t.Fatalf("open %s %s: %v", from, src, err)
	}
	defer r.Close()
	if err := os.MkdirAll(dst, 0o777); err != nil {
		t.Fatal(err)
	}
	w, err := Create(dst, to, r.Classes())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Convert(context.Background(), r, w, ConvertOptions{})
	if err != nil {
		t.Fatalf("convert %s → %s: %v", from, to, err)
	}
	for _, b := range rep.Bad {
		t.Errorf("convert %s → %s: bad record: %v", from, to, b)
	}
	return rep
}

// readRecords reads a whole data set, failing on any bad record.
func readRecords(t *testing.T, src string, f Format) (Records, []Class) {
	t.Helper()
	r, err := Open(src, f, Options{})
	if err != nil {
		t.Fatalf("open %s %s: %v", f, src, err)
	}
	defer r.Close()
	rs, bad, err := ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bad {
		t.Errorf("read %s: bad record: %v", f, b)
	}
	return rs, r.Classes()
}
