package imageio

import (
	"errors"
	"image"
	"image/color"
	"testing"

	"govision.dev/vision/tensor"
)

func TestVOCPalette(t *testing.T) {
	p := VOCPalette()
	if len(p) != 256 {
		t.Fatalf("%d colours", len(p))
	}
	// Entries as the VOC devkit documents them (VOClabelcolormap.m).
	for _, c := range []struct {
		i    int
		name string
		want color.RGBA
	}{
		{0, "background", color.RGBA{0, 0, 0, 255}},
		{1, "aeroplane", color.RGBA{128, 0, 0, 255}},
		{2, "bicycle", color.RGBA{0, 128, 0, 255}},
		{3, "bird", color.RGBA{128, 128, 0, 255}},
		{4, "boat", color.RGBA{0, 0, 128, 255}},
		{8, "cat", color.RGBA{64, 0, 0, 255}},
		{12, "dog", color.RGBA{64, 0, 128, 255}},
		{15, "person", color.RGBA{192, 128, 128, 255}},
		{20, "tvmonitor", color.RGBA{0, 64, 128, 255}},
		{255, "void", color.RGBA{224, 224, 192, 255}},
	} {
		if got := p[c.i]; got != c.want {
			t.Errorf("%d %s: %v, want %v", c.i, c.name, got, c.want)
		}
	}
	p[1] = color.White
	if VOCPalette()[1] == color.White {
		t.Error("VOCPalette returned a shared slice")
	}
}

func TestMaskImage(t *testing.T) {
	m, err := MaskImage([]uint8{0, 1, 15, 255, 2, 3}, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if m.Bounds() != image.Rect(0, 0, 3, 2) || m.ColorIndexAt(2, 0) != 15 || m.At(2, 0) != VOCPalette()[15] {
		t.Errorf("bounds %v, index %d", m.Bounds(), m.ColorIndexAt(2, 0))
	}
	if _, err := MaskImage([]uint8{1, 2, 3}, 2, 2); !errors.Is(err, tensor.ErrShape) {
		t.Errorf("wrong length: error %v", err)
	}
}

func TestBlendMask(t *testing.T) {
	img := whiteRGBA(4, 4)
	// A 2x2 mask over a 4x4 image: each class covers one quadrant.
	out, err := BlendMask(img, []uint8{0, 1, 15, 2}, 2, 2, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		x, y int
		want color.RGBA
	}{
		{0, 0, color.RGBA{255, 255, 255, 255}}, // background: untouched
		{1, 1, color.RGBA{255, 255, 255, 255}},
		{3, 0, color.RGBA{192, 128, 128, 255}}, // half white, half (128, 0, 0)
		{0, 3, color.RGBA{224, 192, 192, 255}}, // half white, half (192, 128, 128)
		{2, 2, color.RGBA{128, 192, 128, 255}}, // half white, half (0, 128, 0)
	} {
		if got := out.RGBAAt(c.x, c.y); got != c.want {
			t.Errorf("(%d,%d): %v, want %v", c.x, c.y, got, c.want)
		}
	}
	if img.RGBAAt(3, 0) != (color.RGBA{255, 255, 255, 255}) {
		t.Error("BlendMask changed its input")
	}
	full, _ := BlendMask(img, []uint8{1}, 1, 1, 7) // alpha clamped to 1
	if got := full.RGBAAt(2, 2); got != (color.RGBA{128, 0, 0, 255}) {
		t.Errorf("alpha 1: %v", got)
	}
	if _, err := BlendMask(img, []uint8{1, 2}, 0, 2, 0.5); !errors.Is(err, tensor.ErrShape) {
		t.Errorf("zero width: error %v", err)
	}
}
