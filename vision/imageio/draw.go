package imageio

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Label is one detection to draw: a box, its class's colour, and a caption
// "name 0.87".
type Label struct {
	Rect  Rect    // corners, in pixels of the image drawn on
	Class int     // chooses the colour, ClassColor(Class)
	Name  string  // the class name; empty draws the box without a caption
	Score float32 // shown after the name with two decimals; negative hides it
}

// Caption returns the text drawn above l's box: "name 0.87", or the name
// alone when the score is negative.
func (l Label) Caption() string {
	if l.Score < 0 {
		return l.Name
	}
	return fmt.Sprintf("%s %.2f", l.Name, l.Score)
}

// classColors is the fixed palette of box colours (Ultralytics' 20-colour
// palette), indexed by class modulo its length.
var classColors = [...]color.RGBA{
	{0xff, 0x38, 0x38, 0xff}, {0xff, 0x9d, 0x97, 0xff}, {0xff, 0x70, 0x1f, 0xff}, {0xff, 0xb2, 0x1d, 0xff},
	{0xcf, 0xd2, 0x31, 0xff}, {0x48, 0xf9, 0x0a, 0xff}, {0x92, 0xcc, 0x17, 0xff}, {0x3d, 0xdb, 0x86, 0xff},
	{0x1a, 0x93, 0x34, 0xff}, {0x00, 0xd4, 0xbb, 0xff}, {0x2c, 0x99, 0xa8, 0xff}, {0x00, 0xc2, 0xff, 0xff},
	{0x34, 0x45, 0x93, 0xff}, {0x64, 0x73, 0xff, 0xff}, {0x00, 0x18, 0xec, 0xff}, {0x84, 0x38, 0xff, 0xff},
	{0x52, 0x00, 0x85, 0xff}, {0xcb, 0x38, 0xff, 0xff}, {0xff, 0x95, 0xc8, 0xff}, {0xff, 0x37, 0xc7, 0xff},
}

// ClassColor returns the opaque colour of class c's boxes, from a fixed
// palette of 20 colours repeating (Ultralytics' palette).
func ClassColor(c int) color.RGBA {
	n := len(classColors)
	return classColors[((c%n)+n)%n]
}

// LineWidth returns the box outline width, in pixels, for a w×h image:
// max(2, round((w+h)/2 · 0.003)), as Ultralytics chooses it, rounding
// half to even like Python (2 px up to about 830×830, 10 px for
// 4000×3000).
func LineWidth(w, h int) int {
	return max(2, int(math.RoundToEven(float64(w+h)/2*0.003)))
}

// FontSize returns the caption height, in pixels, for a w×h image:
// max(12, round((w+h)/2 · 0.035)), as Ultralytics chooses it (rounding
// half to even like Python).
func FontSize(w, h int) int {
	return max(12, int(math.RoundToEven(float64(w+h)/2*0.035)))
}

var (
	fontOnce   sync.Once
	labelFont  *opentype.Font
	labelFontE error
)

// newFace returns the Go Regular font at size pixels. Faces are not safe
// for concurrent use, so each drawing call makes its own.
func newFace(size int) (font.Face, error) {
	fontOnce.Do(func() { labelFont, labelFontE = opentype.Parse(goregular.TTF) })
	if labelFontE != nil {
		return nil, labelFontE
	}
	return opentype.NewFace(labelFont, &opentype.FaceOptions{Size: float64(size), DPI: 72, Hinting: font.HintingFull})
}

// Annotate returns a copy of img as RGBA, with img's bounds, with labels
// drawn on it; img is not changed.
func Annotate(img image.Image, labels []Label) *image.RGBA {
	dst := image.NewRGBA(img.Bounds())
	draw.Draw(dst, dst.Rect, img, img.Bounds().Min, draw.Src)
	DrawLabels(dst, labels)
	return dst
}

// DrawLabels draws each label on dst, in order: the box outline, LineWidth
// thick, inside the box's corners and clipped to dst; then, if the label
// has a name, its caption in Go Regular at FontSize on a filled tab of the
// class colour, above the box's top-left corner, or just inside it when
// there is no room above. The caption is white, or black on light colours.
// Rect coordinates are rounded to the nearest pixel; a box with X2 < X1 or
// Y2 < Y1 is drawn with its corners swapped.
func DrawLabels(dst draw.Image, labels []Label) {
	b := dst.Bounds()
	lw := LineWidth(b.Dx(), b.Dy())
	var face font.Face
	for _, l := range labels {
		c := ClassColor(l.Class)
		x1, y1 := roundPx(l.Rect.X1), roundPx(l.Rect.Y1)
		x2, y2 := roundPx(l.Rect.X2), roundPx(l.Rect.Y2)
		if x2 < x1 {
			x1, x2 = x2, x1
		}
		if y2 < y1 {
			y1, y2 = y2, y1
		}
		box := image.Rect(x1, y1, x2, y2)
		fill(dst, image.Rect(x1, y1, x2, min(y1+lw, y2)), c) // top
		fill(dst, image.Rect(x1, max(y2-lw, y1), x2, y2), c) // bottom
		fill(dst, image.Rect(x1, y1, min(x1+lw, x2), y2), c) // left
		fill(dst, image.Rect(max(x2-lw, x1), y1, x2, y2), c) // right
		if l.Name == "" {
			continue
		}
		if face == nil {
			var err error
			if face, err = newFace(FontSize(b.Dx(), b.Dy())); err != nil {
				continue // goregular.TTF is embedded: cannot happen
			}
		}
		drawCaption(dst, face, l.Caption(), box, c, lw)
	}
}

// drawCaption draws text on a tab of colour c at the top-left of box.
func drawCaption(dst draw.Image, face font.Face, text string, box image.Rectangle, c color.RGBA, lw int) {
	m := face.Metrics()
	ascent, descent := m.Ascent.Ceil(), m.Descent.Ceil()
	pad := max(1, lw/2)
	tw := font.MeasureString(face, text).Ceil() + 2*pad
	th := ascent + descent + 2*pad
	top := box.Min.Y - th
	if top < dst.Bounds().Min.Y {
		top = box.Min.Y // no room above: inside the box
	}
	tab := image.Rect(box.Min.X, top, box.Min.X+tw, top+th)
	fill(dst, tab, c)
	ink := color.RGBA{255, 255, 255, 255}
	if 299*int(c.R)+587*int(c.G)+114*int(c.B) > 150_000 { // light: luma over 150
		ink = color.RGBA{0, 0, 0, 255}
	}
	d := font.Drawer{
		Dst:  dst,
		Src:  image.NewUniform(ink),
		Face: face,
		Dot:  fixed.P(tab.Min.X+pad, tab.Min.Y+pad+ascent),
	}
	d.DrawString(text)
}

func fill(dst draw.Image, r image.Rectangle, c color.Color) {
	draw.Draw(dst, r.Intersect(dst.Bounds()), image.NewUniform(c), image.Point{}, draw.Src)
}

// roundPx rounds a coordinate to the nearest pixel, saturating far outside
// any image.
func roundPx(v float32) int {
	f := math.Round(float64(v))
	switch {
	case math.IsNaN(f):
		return 0
	case f > 1<<30:
		return 1 << 30
	case f < -(1 << 30):
		return -(1 << 30)
	}
	return int(f)
}
