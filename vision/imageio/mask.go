package imageio

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"sync"

	"govision.dev/vision/tensor"
)

var (
	vocOnce    sync.Once
	vocPalette color.Palette
)

// VOCPalette returns the 256-colour PASCAL VOC palette (a new slice each
// call), in which VOC's SegmentationClass PNGs store their class maps:
// 0 background is black, 1 aeroplane (128, 0, 0), …, 15 person
// (192, 128, 128), …, 255 "void" (224, 224, 192). It is generated as the
// VOC devkit's VOClabelcolormap does: bit j of the class index (j = 0, 1,
// 2 for red, green, blue, then again for the next bits) sets bit 7−j/3 of
// the colour channel.
func VOCPalette() color.Palette {
	vocOnce.Do(func() {
		vocPalette = make(color.Palette, 256)
		for i := range 256 {
			var r, g, b uint8
			c := i
			for j := range 8 {
				r |= uint8(bitget(c, 0)) << (7 - j)
				g |= uint8(bitget(c, 1)) << (7 - j)
				b |= uint8(bitget(c, 2)) << (7 - j)
				c >>= 3
			}
			vocPalette[i] = color.RGBA{r, g, b, 255}
		}
	})
	return append(color.Palette(nil), vocPalette...)
}

func bitget(v, bit int) int { return (v >> bit) & 1 }

// MaskImage wraps a class map as a paletted image in the VOC palette, the
// way VOC stores its segmentation masks: classes holds w·h class indices,
// row-major. The pixels are copied.
func MaskImage(classes []uint8, w, h int) (*image.Paletted, error) {
	if err := checkMask(classes, w, h); err != nil {
		return nil, err
	}
	m := image.NewPaletted(image.Rect(0, 0, w, h), VOCPalette())
	copy(m.Pix, classes)
	return m, nil
}

// BlendMask returns a copy of img (as RGBA, with img's bounds) with a
// segmentation mask blended over it: each pixel of class k ≠ 0 becomes
// (1−alpha)·pixel + alpha·VOCPalette()[k], rounded; background (class 0)
// is left as it is. classes holds w·h class indices, row-major; when w×h
// differs from img's size the mask is scaled to it by nearest neighbour
// (pixel centres). alpha is clamped to [0, 1]; 0.5 is a good value.
func BlendMask(img image.Image, classes []uint8, w, h int, alpha float32) (*image.RGBA, error) {
	if err := checkMask(classes, w, h); err != nil {
		return nil, err
	}
	alpha = min(max(alpha, 0), 1)
	pal := VOCPalette()
	b := img.Bounds()
	dst := image.NewRGBA(b)
	draw.Draw(dst, b, img, b.Min, draw.Src)
	iw, ih := b.Dx(), b.Dy()
	for y := range ih {
		my := (2*y + 1) * h / (2 * ih)
		row := dst.Pix[y*dst.Stride:]
		for x := range iw {
			k := classes[my*w+(2*x+1)*w/(2*iw)]
			if k == 0 {
				continue
			}
			c := pal[k].(color.RGBA)
			p := row[4*x : 4*x+4 : 4*x+4]
			p[0] = blend(p[0], c.R, alpha)
			p[1] = blend(p[1], c.G, alpha)
			p[2] = blend(p[2], c.B, alpha)
			p[3] = blend(p[3], 255, alpha)
		}
	}
	return dst, nil
}

func blend(under, over uint8, alpha float32) uint8 {
	return uint8((1-alpha)*float32(under) + alpha*float32(over) + 0.5)
}

func checkMask(classes []uint8, w, h int) error {
	if w <= 0 || h <= 0 || len(classes) != w*h {
		return fmt.Errorf("%w: imageio: mask of %d classes is not %dx%d", tensor.ErrShape, len(classes), w, h)
	}
	return nil
}
