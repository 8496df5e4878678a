package imageio

import (
	"image"
	"image/color"
	"math"
	"testing"
)

func whiteRGBA(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	return img
}

func TestDrawLabels(t *testing.T) {
	img := whiteRGBA(400, 300)
	DrawLabels(img, []Label{{Rect: Rect{100, 120, 300, 280}, Class: 2, Name: "dog", Score: 0.87}})
	c := ClassColor(2)
	lw := LineWidth(400, 300)
	for _, p := range []struct {
		name string
		pt   image.Point
		want color.RGBA
	}{
		{"top edge", image.Pt(200, 120), c},
		{"top edge inner row", image.Pt(200, 120+lw-1), c},
		{"left edge", image.Pt(100, 200), c},
		{"right edge", image.Pt(299, 200), c},
		{"bottom edge", image.Pt(200, 279), c},
		{"inside", image.Pt(200, 200), color.RGBA{255, 255, 255, 255}},
		{"outside", image.Pt(50, 200), color.RGBA{255, 255, 255, 255}},
		{"just inside the outline", image.Pt(200, 120+lw), color.RGBA{255, 255, 255, 255}},
		{"caption tab's corner, above the box", image.Pt(100, 120-FontSize(400, 300)-1), c},
	} {
		if got := img.RGBAAt(p.pt.X, p.pt.Y); got != p.want {
			t.Errorf("%s %v: %v, want %v", p.name, p.pt, got, p.want)
		}
	}
	// The caption's text is drawn in the ink colour somewhere in the tab.
	ink := 0
	for y := 120 - FontSize(400, 300) - 4; y < 120; y++ {
		for x := 100; x < 160; x++ {
			if g := img.RGBAAt(x, y); g != c && g != (color.RGBA{255, 255, 255, 255}) {
				ink++
			}
		}
	}
	if ink == 0 {
		t.Error("no caption text drawn")
	}
}

func TestDrawLabelsEdgeCases(t *testing.T) {
	img := whiteRGBA(64, 48)
	labels := []Label{
		{Rect: Rect{0, 0, 30, 20}, Class: 0, Name: "at the top", Score: 0.5}, // caption goes inside
		{Rect: Rect{50, 40, 10, 5}, Class: 1},                                // corners swapped
		{Rect: Rect{-100, -100, 1000, 1000}, Class: -3, Name: "huge"},        // clipped
		{Rect: Rect{float32(math.NaN()), 1, float32(math.Inf(1)), 2}, Class: 7},
		{Rect: Rect{5, 5, 5, 5}, Class: 4, Name: "empty", Score: -1},
	}
	out := Annotate(img, labels)
	if out.Bounds() != img.Bounds() {
		t.Fatalf("bounds %v", out.Bounds())
	}
	if got := img.RGBAAt(0, 0); got != (color.RGBA{255, 255, 255, 255}) {
		t.Errorf("Annotate changed its input: %v", got)
	}
	if got := out.RGBAAt(0, 0); got != ClassColor(0) {
		t.Errorf("box at the corner: %v, want %v", got, ClassColor(0))
	}
	if got := out.RGBAAt(10, 35); got != ClassColor(1) {
		t.Errorf("swapped box's corner: %v, want %v", got, ClassColor(1))
	}
}

func TestLabelCaptionAndColors(t *testing.T) {
	if got := (Label{Name: "dog", Score: 0.8749}).Caption(); got != "dog 0.87" {
		t.Errorf("caption %q", got)
	}
	if got := (Label{Name: "dog", Score: -1}).Caption(); got != "dog" {
		t.Errorf("caption without score %q", got)
	}
	if ClassColor(3) != ClassColor(23) || ClassColor(-1) != ClassColor(19) || ClassColor(0) == ClassColor(1) {
		t.Error("palette does not repeat every 20 classes")
	}
	// Python's round(), as Ultralytics computes them: round(3500*0.003) is
	// 10 (half to even), round(3500*0.035) is 123 (122.50000000000001).
	for _, c := range []struct{ w, h, lw, fs int }{{640, 480, 2, 20}, {4000, 3000, 10, 123}, {100, 100, 2, 12}} {
		if lw, fs := LineWidth(c.w, c.h), FontSize(c.w, c.h); lw != c.lw || fs != c.fs {
			t.Errorf("%dx%d: line %d font %d, want %d and %d", c.w, c.h, lw, fs, c.lw, c.fs)
		}
	}
}
