package datasets

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"math"
	"reflect"
	"testing"

	"govision.dev/vision/imageio"
)

// boxRecord is a 120×90 grey image with three rectangles of the classes'
// colours in separate places, each object with a polygon mask (class 0),
// an RLE mask (class 1) or none, and a class map.
func boxRecord(t *testing.T) *Record {
	t.Helper()
	im := synthImage{id: "boxes", w: 120, h: 90, objects: []synthObject{
		{class: 0, x1: 5, y1: 8, x2: 40, y2: 30},
		{class: 1, x1: 70, y1: 10, x2: 110, y2: 50},
		{class: 2, x1: 30, y1: 55, x2: 60, y2: 85},
	}}
	img := im.draw(3)
	rec := &Record{ID: im.id, Name: "boxes.png", Width: im.w, Height: im.h, Class: -1, Image: Image{Pixels: img}}
	seg := &ClassMap{W: im.w, H: im.h, Pix: make([]uint8, im.w*im.h)}
	for _, o := range im.objects {
		b := Box{float64(o.x1), float64(o.y1), float64(o.x2), float64(o.y2)}
		obj := Object{Class: o.class, Box: b}
		switch o.class {
		case 0:
			obj.Mask = &Mask{Polygons: [][]float64{{b.X1, b.Y1, b.X2, b.Y1, b.X2, b.Y2, b.X1, b.Y2}}}
		case 1:
			bm := make([]uint8, im.w*im.h)
			for y := o.y1; y < o.y2; y++ {
				for x := o.x1; x < o.x2; x++ {
					bm[y*im.w+x] = 1
				}
			}
			r, err := EncodeRLE(bm, im.w, im.h)
			if err != nil {
				t.Fatal(err)
			}
			obj.Mask = &Mask{RLE: r}
		}
		for y := o.y1; y < o.y2; y++ {
			for x := o.x1; x < o.x2; x++ {
				seg.Pix[y*im.w+x] = uint8(o.class + 1)
			}
		}
		rec.Objects = append(rec.Objects, obj)
	}
	rec.Segmentation = seg
	return rec
}

// colourBox returns the bounds of the pixels of img closer to c than to the
// grey background, in the Box convention, and whether there are any.
func colourBox(img image.Image, c color.NRGBA) (Box, bool) {
	b := img.Bounds()
	found := false
	box := Box{X1: math.Inf(1), Y1: math.Inf(1), X2: math.Inf(-1), Y2: math.Inf(-1)}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			p := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			dc := sq(int(p.R)-int(c.R)) + sq(int(p.G)-int(c.G)) + sq(int(p.B)-int(c.B))
			dg := sq(int(p.R)-120) + sq(int(p.G)-120) + sq(int(p.B)-120)
			if dc < dg {
				found = true
				fx, fy := float64(x-b.Min.X), float64(y-b.Min.Y)
				box = Box{min(box.X1, fx), min(box.Y1, fy), max(box.X2, fx+1), max(box.Y2, fy+1)}
			}
		}
	}
	return box, found
}

func sq(v int) int { return v * v }

// TestTransformsMoveBoxesWithPixels applies each geometric transform and
// checks that every object's box still bounds its rectangle of colour
// (within 1.5 px: resampling blurs the edges), that its mask covers it, and
// that the class map follows.
func TestTransformsMoveBoxesWithPixels(t *testing.T) {
	for _, tc := range []struct {
		name string
		tr   Transform
		w, h int // the output size, 0 if it depends on the draw
	}{
		{"resize 60x45", Resize{Width: 60, Height: 45}, 60, 45},
		{"resize stretched 200x50", Resize{Width: 200, Height: 50}, 200, 50},
		{"resize fit 64", Resize{Width: 64, Height: 64, Fit: true}, 64, 48},
		{"letterbox 64", Letterbox{Width: 64, Height: 64}, 64, 64},
		{"letterbox 50x100", Letterbox{Width: 50, Height: 100}, 50, 100},
		{"hflip", HFlip{P: 1}, 120, 90},
		{"random resized crop", RandomResizedCrop{Width: 80, Height: 80, Scale: [2]float64{0.4, 1}}, 80, 80},
		{"random scale translate", RandomScaleTranslate{Scale: 0.5, Translate: 0.2}, 120, 90},
		{"everything", Compose{HFlip{P: 0.5}, RandomScaleTranslate{Scale: 0.3, Translate: 0.1}, ColorJitter{Brightness: 0.2, Hue: 0.02}, Letterbox{Width: 96, Height: 96}}, 96, 96},
	} {
		for seed := range uint64(6) {
			t.Run(fmt.Sprintf("%s/seed=%d", tc.name, seed), func(t *testing.T) {
				rec := boxRecord(t)
				if err := tc.tr.Apply(rec, SampleRNG(seed, 0, 0)); err != nil {
					t.Fatal(err)
				}
				img := rec.Image.Pixels
				if b := img.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h || rec.Width != tc.w || rec.Height != tc.h {
					t.Fatalf("size %v (record %dx%d), want %dx%d", b.Size(), rec.Width, rec.Height, tc.w, tc.h)
				}
				for _, o := range rec.Objects {
					want, ok := colourBox(img, classColour(o.Class))
					if !ok {
						t.Errorf("class %d: box %v kept, but its colour is gone", o.Class, o.Box)
						continue
					}
					if !near(o.Box, want, 1.5) {
						t.Errorf("class %d: box %v, the colour covers %v", o.Class, o.Box, want)
					}
					if o.Mask != nil {
						bm, err := o.Mask.Bitmap(rec.Width, rec.Height)
						if err != nil {
							t.Fatal(err)
						}
						r, _ := EncodeRLE(bm, rec.Width, rec.Height)
						if mb := r.Box(); !near(mb, want, 1.5) {
							t.Errorf("class %d: mask bounds %v, the colour covers %v", o.Class, mb, want)
						}
					}
					s := rec.Segmentation
					cx, cy := int((o.Box.X1+o.Box.X2)/2), int((o.Box.Y1+o.Box.Y2)/2)
					if got := s.Pix[cy*s.W+cx]; got != uint8(o.Class+1) {
						t.Errorf("class %d: class map at the box centre (%d, %d) is %d", o.Class, cx, cy, got)
					}
				}
				// An object whose colour is still there in strength must
				// have been kept.
				for c := range 3 {
					want, ok := colourBox(img, classColour(c))
					kept := false
					for _, o := range rec.Objects {
						kept = kept || o.Class == c
					}
					if ok && want.W() >= 3 && want.H() >= 3 && !kept {
						t.Errorf("class %d: dropped, but its colour covers %v", c, want)
					}
				}
			})
		}
	}
}

func TestTransformsDeterministic(t *testing.T) {
	tr := Compose{HFlip{P: 0.5}, RandomResizedCrop{Width: 50, Height: 40}, ColorJitter{0.4, 0.4, 0.4, 0.1}}
	run := func(seed uint64) *Record {
		rec := boxRecord(t)
		if err := tr.Apply(rec, SampleRNG(seed, 1, 7)); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	a, b, c := run(1), run(1), run(2)
	if !reflect.DeepEqual(a, b) {
		t.Error("the same seed gave different records")
	}
	if reflect.DeepEqual(a, c) {
		t.Error("different seeds gave the same record")
	}
}

func TestFlipTwiceIsIdentity(t *testing.T) {
	rec := boxRecord(t)
	orig := boxRecord(t)
	for range 2 {
		if err := (HFlip{P: 1}).Apply(rec, SampleRNG(0, 0, 0)); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(rec.Image.Pixels.(*image.NRGBA).Pix, orig.Image.Pixels.(*image.NRGBA).Pix) {
		t.Error("pixels differ")
	}
	for i := range orig.Objects {
		if !near(rec.Objects[i].Box, orig.Objects[i].Box, 1e-12) {
			t.Errorf("object %d: %v, want %v", i, rec.Objects[i].Box, orig.Objects[i].Box)
		}
	}
	if !reflect.DeepEqual(rec.Segmentation, orig.Segmentation) || !reflect.DeepEqual(rec.Objects[1].Mask, orig.Objects[1].Mask) {
		t.Error("masks differ")
	}
}

// TestLetterboxMatchesDarknet compares the boxes Letterbox writes with
// imageio's darknet mapping (LetterboxInfo.Map, in fractions of the
// canvas): the same place, within half a pixel (darknet's mapping pads by
// (NetW−NewW)/2 unrounded, the image sits at its integer part).
func TestLetterboxMatchesDarknet(t *testing.T) {
	for _, size := range [][2]int{{64, 64}, {97, 61}, {50, 100}} {
		rec := boxRecord(t)
		orig := boxRecord(t)
		if err := (Letterbox{Width: size[0], Height: size[1]}).Apply(rec, nil); err != nil {
			t.Fatal(err)
		}
		nw, nh := imageio.LetterboxSize(120, 90, size[0], size[1])
		info := imageio.LetterboxInfo{SrcW: 120, SrcH: 90, NetW: size[0], NetH: size[1], NewW: nw, NewH: nh}
		for i, o := range orig.Objects {
			c := o.Box
			m := info.Map(imageio.Box{X: float32((c.X1 + c.X2) / 2), Y: float32((c.Y1 + c.Y2) / 2), W: float32(c.W()), H: float32(c.H())}).Rect()
			want := Box{float64(m.X1) * float64(size[0]), float64(m.Y1) * float64(size[1]), float64(m.X2) * float64(size[0]), float64(m.Y2) * float64(size[1])}
			if !near(rec.Objects[i].Box, want, 0.5+1e-4) {
				t.Errorf("%v object %d: %v, darknet's mapping %v", size, i, rec.Objects[i].Box, want)
			}
		}
	}
}

func TestCropDropsAndClips(t *testing.T) {
	rec := boxRecord(t)
	// The window [50, 100)×[0, 60): object 0 (x 5–40) is outside, object 1
	// (x 70–110) is cut at 100, object 2 (y 55–85) keeps a 5-pixel strip.
	if err := cropRecord(rec, 50, 0, 50, 60, color.NRGBA{}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range rec.Objects {
		got = append(got, fmt.Sprintf("%d %v", o.Class, o.Box))
	}
	want := []string{"1 {20 10 50 50}", "2 {0 55 10 60}"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("objects %q, want %q", got, want)
	}
	if err := cropRecord(rec, 0, 0, 50, 55, color.NRGBA{}); err != nil {
		t.Fatal(err)
	}
	if len(rec.Objects) != 1 {
		t.Errorf("a box cut to zero height survived: %+v", rec.Objects)
	}
}

func TestAnnotationsOnlyMatchFullTransform(t *testing.T) {
	for _, tr := range []Transform{Resize{Width: 64, Height: 64, Fit: true}, Letterbox{Width: 80, Height: 80}} {
		full, ann := boxRecord(t), boxRecord(t)
		ann.Image = Image{}
		if err := tr.Apply(full, nil); err != nil {
			t.Fatal(err)
		}
		if err := tr.Apply(ann, nil); err != nil {
			t.Fatal(err)
		}
		full.Image = Image{}
		if !reflect.DeepEqual(full, ann) {
			t.Errorf("%T: annotations-only differs from the full transform", tr)
		}
	}
}

func TestColorJitter(t *testing.T) {
	rec := boxRecord(t)
	before := bytes.Clone(rec.Image.Pixels.(*image.NRGBA).Pix)
	if err := (ColorJitter{}).Apply(rec, SampleRNG(0, 0, 0)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rec.Image.Pixels.(*image.NRGBA).Pix, before) {
		t.Error("a zero ColorJitter changed the pixels")
	}
	src := rec.Image.Pixels.(*image.NRGBA)
	if err := (ColorJitter{Brightness: 0.5, Saturation: 0.5, Hue: 0.2}).Apply(rec, SampleRNG(1, 0, 0)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(src.Pix, before) {
		t.Error("ColorJitter wrote into the source image")
	}
	if bytes.Equal(rec.Image.Pixels.(*image.NRGBA).Pix, before) {
		t.Error("ColorJitter changed nothing")
	}
	// Hue leaves greys alone.
	p := []float32{0.3, 0.3, 0.3}
	shiftHue(p, 0.25)
	if p[0] != 0.3 || p[1] != 0.3 || p[2] != 0.3 {
		t.Errorf("grey after a hue shift: %v", p)
	}
	// Pure red shifted by a third of a turn is pure green.
	p = []float32{1, 0, 0}
	shiftHue(p, 1.0/3)
	if math.Abs(float64(p[0])) > 1e-5 || math.Abs(float64(p[1])-1) > 1e-5 || math.Abs(float64(p[2])) > 1e-5 {
		t.Errorf("red + 1/3 turn = %v, want green", p)
	}
}

func TestRandomResizedCropWindow(t *testing.T) {
	tr := RandomResizedCrop{Width: 10, Height: 10}
	for seed := range uint64(200) {
		x, y, w, h := tr.window(100, 50, SampleRNG(seed, 0, 0))
		if w <= 0 || h <= 0 || x < 0 || y < 0 || x+w > 100 || y+h > 50 {
			t.Fatalf("seed %d: window %d,%d %dx%d outside 100x50", seed, x, y, w, h)
		}
		if a := float64(w*h) / 5000; a > 1.02 || (a < 0.075 && w != 100) {
			t.Fatalf("seed %d: area fraction %.3f", seed, a)
		}
	}
	// A 1000×10 image admits no window of ratio within [3/4, 4/3] and
	// enough area: torchvision's fallback is the centred crop of the
	// largest allowed ratio, 4/3·10 ≈ 13 wide.
	x, y, w, h := tr.window(1000, 10, SampleRNG(0, 0, 0))
	if w != 13 || h != 10 || x != 493 || y != 0 {
		t.Errorf("fallback window %d,%d %dx%d, want 493,0 13x10", x, y, w, h)
	}
}
