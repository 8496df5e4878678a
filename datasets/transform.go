package datasets

import (
	"fmt"
	"image/color"
	"math"
	"math/rand/v2"

	"govision.dev/vision/imageio"
)

// Transform changes a record's image and its annotations together: boxes,
// instance masks and the class map follow the pixels, boxes are clipped to
// the new image and those left empty are dropped (see MinBoxSide). The
// record's image is decoded on first use and replaced by the result's
// pixels. Random transforms draw only from rng, so a pipeline is
// deterministic given the generator's seed; the Loader seeds one per
// sample. Transforms hold no state and are safe for concurrent use.
type Transform interface {
	Apply(rec *Record, rng *rand.Rand) error
}

// Compose applies transforms in order.
type Compose []Transform

// Apply applies each transform in turn.
func (c Compose) Apply(rec *Record, rng *rand.Rand) error {
	for _, t := range c {
		if err := t.Apply(rec, rng); err != nil {
			return err
		}
	}
	return nil
}

// Resize scales the image to Width×Height (torchvision's Resize((h, w))).
// With Fit it keeps the aspect ratio and fits inside Width×Height instead,
// as ImageMagick's -resize WxH does. A zero side follows the other's
// scale.
type Resize struct {
	Width, Height int
	Fit           bool
	Filter        imageio.Filter // zero: Linear, antialiased
}

// Apply resizes rec.
func (t Resize) Apply(rec *Record, _ *rand.Rand) error {
	if _, err := decoded(rec); err != nil {
		return err
	}
	w, h := t.size(rec.Width, rec.Height)
	return resizeRecord(rec, w, h, t.Filter)
}

// size returns the size an w0×h0 image is resized to.
func (t Resize) size(w0, h0 int) (int, int) {
	w, h := t.Width, t.Height
	switch {
	case w <= 0 && h <= 0:
		return w0, h0
	case w <= 0:
		return max(1, int(math.Round(float64(w0)*float64(h)/float64(h0)))), h
	case h <= 0:
		return w, max(1, int(math.Round(float64(h0)*float64(w)/float64(w0))))
	case t.Fit:
		return fitSize(w0, h0, w, h)
	}
	return w, h
}

// DarknetGrey is the canvas darknet's letterbox leaves around an image
// (0.5, which darknet's save_image writes as 127).
var DarknetGrey = color.NRGBA{127, 127, 127, 255}

// UltralyticsGrey is the fill of Ultralytics' letterbox and affine
// augmentation (114).
var UltralyticsGrey = color.NRGBA{114, 114, 114, 255}

// Letterbox fits the image inside Width×Height keeping its aspect ratio,
// with darknet's sizes (imageio.LetterboxSize) and centring (the padding's
// odd pixel on the right and bottom), on a canvas of Fill (zero value:
// DarknetGrey). The resize is Filter's (Linear by default), not darknet's
// own bilinear: for feeding darknet itself use imageio.Letterbox.
type Letterbox struct {
	Width, Height int
	Fill          color.NRGBA
	Filter        imageio.Filter
}

// Apply letterboxes rec.
func (t Letterbox) Apply(rec *Record, _ *rand.Rand) error {
	if _, err := decoded(rec); err != nil {
		return err
	}
	if t.Width <= 0 || t.Height <= 0 {
		return fmt.Errorf("datasets: letterbox to %dx%d", t.Width, t.Height)
	}
	nw, nh := imageio.LetterboxSize(rec.Width, rec.Height, t.Width, t.Height)
	if err := resizeRecord(rec, max(nw, 1), max(nh, 1), t.Filter); err != nil {
		return err
	}
	fill := t.Fill
	if fill == (color.NRGBA{}) {
		fill = DarknetGrey
	}
	return cropRecord(rec, -(t.Width-nw)/2, -(t.Height-nh)/2, t.Width, t.Height, fill)
}

// HFlip mirrors the image left to right with probability P.
type HFlip struct{ P float64 }

// Apply flips rec with probability P.
func (t HFlip) Apply(rec *Record, rng *rand.Rand) error {
	if rng.Float64() >= t.P {
		return nil
	}
	return flipRecord(rec)
}

// RandomResizedCrop is torchvision's RandomResizedCrop: a window of a
// random area (a fraction in Scale of the image's) and aspect ratio (in
// Ratio, drawn log-uniformly) is cut out and resized to Width×Height; after
// ten failed draws it falls back to a centred crop. Zero Scale and Ratio
// are torchvision's defaults, (0.08, 1) and (3/4, 4/3).
type RandomResizedCrop struct {
	Width, Height int
	Scale, Ratio  [2]float64
	Filter        imageio.Filter
}

// Apply crops and resizes rec.
func (t RandomResizedCrop) Apply(rec *Record, rng *rand.Rand) error {
	if _, err := pixels(rec); err != nil {
		return err
	}
	x, y, w, h := t.window(rec.Width, rec.Height, rng)
	if err := cropRecord(rec, x, y, w, h, color.NRGBA{}); err != nil {
		return err
	}
	return resizeRecord(rec, t.Width, t.Height, t.Filter)
}

// window is torchvision's RandomResizedCrop.get_params.
func (t RandomResizedCrop) window(width, height int, rng *rand.Rand) (x, y, w, h int) {
	scale, ratio := t.Scale, t.Ratio
	if scale == [2]float64{} {
		scale = [2]float64{0.08, 1}
	}
	if ratio == [2]float64{} {
		ratio = [2]float64{3.0 / 4, 4.0 / 3}
	}
	area := float64(width * height)
	logR := [2]float64{math.Log(ratio[0]), math.Log(ratio[1])}
	for range 10 {
		target := area * (scale[0] + rng.Float64()*(scale[1]-scale[0]))
		aspect := math.Exp(logR[0] + rng.Float64()*(logR[1]-logR[0]))
		w = int(math.RoundToEven(math.Sqrt(target * aspect)))
		h = int(math.RoundToEven(math.Sqrt(target / aspect)))
		if 0 < w && w <= width && 0 < h && h <= height {
			return rng.IntN(width - w + 1), rng.IntN(height - h + 1), w, h
		}
	}
	in := float64(width) / float64(height)
	switch {
	case in < min(ratio[0], ratio[1]):
		w = width
		h = int(math.RoundToEven(float64(w) / min(ratio[0], ratio[1])))
	case in > max(ratio[0], ratio[1]):
		h = height
		w = int(math.RoundToEven(float64(h) * max(ratio[0], ratio[1])))
	default:
		w, h = width, height
	}
	return (width - w) / 2, (height - h) / 2, w, h
}

// RandomScaleTranslate is the scale and translation of Ultralytics'
// random_perspective: the image is scaled by a factor drawn from
// [1−Scale, 1+Scale] about its centre, its centre moved to a point drawn
// from [0.5−Translate, 0.5+Translate] of the width and height, and the
// result cut to the original size on a canvas of Fill (zero value:
// UltralyticsGrey).
type RandomScaleTranslate struct {
	Scale, Translate float64
	Fill             color.NRGBA
	Filter           imageio.Filter
}

// Apply scales and moves rec.
func (t RandomScaleTranslate) Apply(rec *Record, rng *rand.Rand) error {
	if _, err := pixels(rec); err != nil {
		return err
	}
	w, h := rec.Width, rec.Height
	s := 1 + t.Scale*(2*rng.Float64()-1)
	tx := (0.5 + t.Translate*(2*rng.Float64()-1)) * float64(w)
	ty := (0.5 + t.Translate*(2*rng.Float64()-1)) * float64(h)
	nw, nh := max(1, int(math.Round(float64(w)*s))), max(1, int(math.Round(float64(h)*s)))
	if err := resizeRecord(rec, nw, nh, t.Filter); err != nil {
		return err
	}
	fill := t.Fill
	if fill == (color.NRGBA{}) {
		fill = UltralyticsGrey
	}
	x0 := int(math.Round(float64(nw)/2 - tx))
	y0 := int(math.Round(float64(nh)/2 - ty))
	return cropRecord(rec, x0, y0, w, h, fill)
}
