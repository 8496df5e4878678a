package datasets

import (
	"image"
	"math"
	"math/rand/v2"

	"govision.dev/vision/imageio"
	"govision.dev/vision/tensor"
)

// ColorJitter is torchvision's ColorJitter on a float image: brightness,
// contrast, saturation and hue are changed in a random order by factors
// drawn from [max(0, 1−Brightness), 1+Brightness] (likewise contrast and
// saturation) and a hue shift from [−Hue, Hue] (at most 0.5, in turns);
// a zero parameter leaves its property alone. Brightness multiplies;
// contrast blends with the mean grey level (0.2989 R + 0.587 G + 0.114 B);
// saturation blends with each pixel's grey; hue rotates in HSV. Values are
// clamped to [0, 1] after each step and rounded back to 8 bits at the end.
// Annotations do not change.
type ColorJitter struct {
	Brightness, Contrast, Saturation, Hue float64
}

// Apply jitters rec's colours (into a new image: the source's pixels are
// not written to).
func (t ColorJitter) Apply(rec *Record, rng *rand.Rand) error {
	img, err := pixels(rec)
	if err != nil {
		return err
	}
	order := rng.Perm(4)
	factor := func(v float64) float64 {
		if v <= 0 {
			return -1
		}
		lo := math.Max(0, 1-v)
		return lo + rng.Float64()*(1+v-lo)
	}
	b, c, s := factor(t.Brightness), factor(t.Contrast), factor(t.Saturation)
	h := math.NaN()
	if hue := math.Min(t.Hue, 0.5); hue > 0 {
		h = -hue + rng.Float64()*2*hue
	}
	if img == nil {
		return nil // annotations only: nothing to change, the draws are made
	}
	w, ht := img.Rect.Dx(), img.Rect.Dy()
	n := w * ht
	px := make([]float32, 3*n) // r, g, b interleaved
	for y := range ht {
		row := img.Pix[y*img.Stride:]
		for x := range w {
			i := y*w + x
			px[3*i], px[3*i+1], px[3*i+2] = float32(row[4*x])/255, float32(row[4*x+1])/255, float32(row[4*x+2])/255
		}
	}
	for _, op := range order {
		switch {
		case op == 0 && b >= 0:
			adjustBrightness(px, float32(b))
		case op == 1 && c >= 0:
			adjustContrast(px, float32(c))
		case op == 2 && s >= 0:
			adjustSaturation(px, float32(s))
		case op == 3 && !math.IsNaN(h):
			adjustHue(px, float32(h))
		}
	}
	out := image.NewNRGBA(img.Rect)
	for y := range ht {
		row := out.Pix[y*out.Stride:]
		for x := range w {
			i := y*w + x
			row[4*x] = uint8(px[3*i]*255 + 0.5)
			row[4*x+1] = uint8(px[3*i+1]*255 + 0.5)
			row[4*x+2] = uint8(px[3*i+2]*255 + 0.5)
			row[4*x+3] = img.Pix[y*img.Stride+4*x+3]
		}
	}
	rec.Image = Image{Pixels: out}
	return nil
}

// The four adjustments, on interleaved RGB values in [0, 1], as
// torchvision's functional_tensor computes them on a float image (checked
// against it by tools/golden/datasets.py).

// adjustBrightness is adjust_brightness: blend with black.
func adjustBrightness(px []float32, f float32) {
	for i := range px {
		px[i] = clamp01(f * px[i])
	}
}

// adjustContrast is adjust_contrast: blend with the mean grey level.
func adjustContrast(px []float32, f float32) {
	n := len(px) / 3
	var sum float64
	for i := range n {
		sum += float64(grey(px[3*i:]))
	}
	mean := float32(sum / float64(max(n, 1)))
	for i := range px {
		px[i] = clamp01(float32(f*px[i]) + float32((1-f)*mean))
	}
}

// adjustSaturation is adjust_saturation: blend with each pixel's grey.
func adjustSaturation(px []float32, f float32) {
	for i := range len(px) / 3 {
		g := grey(px[3*i:])
		for k := range 3 {
			px[3*i+k] = clamp01(float32(f*px[3*i+k]) + float32((1-f)*g))
		}
	}
}

// adjustHue is adjust_hue: a rotation of the hue by h turns.
func adjustHue(px []float32, h float32) {
	for i := range len(px) / 3 {
		shiftHue(px[3*i:3*i+3], h)
	}
}

// grey is rgb_to_grayscale's weighted sum; the conversions keep the
// compiler from fusing multiply-adds, which torch does not.
func grey(p []float32) float32 {
	return float32(0.2989*p[0]) + float32(0.587*p[1]) + float32(0.114*p[2])
}

func clamp01(v float32) float32 { return min(max(v, 0), 1) }

// shiftHue rotates an RGB pixel's hue by h turns, through HSV as
// torchvision's _rgb2hsv and _hsv2rgb do.
func shiftHue(p []float32, h float32) {
	r, g, b := p[0], p[1], p[2]
	maxc := max(r, g, b)
	minc := min(r, g, b)
	v := maxc
	cr := maxc - minc
	if cr == 0 {
		return // grey: no hue
	}
	s := cr / maxc
	var hue float32
	rc, gc, bc := (maxc-r)/cr, (maxc-g)/cr, (maxc-b)/cr
	switch {
	case maxc == r:
		hue = bc - gc
	case maxc == g:
		hue = 2 + rc - bc
	default:
		hue = 4 + gc - rc
	}
	hue = float32(math.Mod(float64(hue/6+1), 1))
	hue = float32(math.Mod(float64(hue+h)+1, 1)) // Python's %: in [0, 1)
	i := int(hue * 6)
	f := hue*6 - float32(i)
	pp := clamp01(v * (1 - s))
	q := clamp01(v * (1 - s*f))
	t := clamp01(v * (1 - s*(1-f)))
	switch i % 6 {
	case 0:
		p[0], p[1], p[2] = v, t, pp
	case 1:
		p[0], p[1], p[2] = q, v, pp
	case 2:
		p[0], p[1], p[2] = pp, v, t
	case 3:
		p[0], p[1], p[2] = pp, q, v
	case 4:
		p[0], p[1], p[2] = t, pp, v
	default:
		p[0], p[1], p[2] = v, pp, q
	}
}

// ToTensor returns rec's image as a [1, 3, H, W] tensor, each channel
// normalised as (v/255 − mean)/std (torchvision's ToTensor and Normalize);
// imageio.NoMean and imageio.NoStd keep [0, 1].
func ToTensor(rec *Record, mean, std [3]float32) (*tensor.Tensor, error) {
	img, err := rec.Image.Decode(defaultDecoder)
	if err != nil {
		return nil, &RecordError{Where: rec.Source, Err: err}
	}
	return imageio.ToTensor(img, mean, std), nil
}
