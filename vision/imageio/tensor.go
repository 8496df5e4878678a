package imageio

import (
	"fmt"
	"image"
	"image/color"

	"govision.dev/vision/tensor"
)

// Normalisation constants of the torchvision ImageNet classifiers (the
// mean and standard deviation of ImageNet's training set, per RGB channel,
// on the [0, 1] scale).
var (
	ImageNetMean = [3]float32{0.485, 0.456, 0.406}
	ImageNetStd  = [3]float32{0.229, 0.224, 0.225}
)

// Identity normalisation: ToTensor(img, NoMean, NoStd) gives the [0, 1]
// values themselves.
var (
	NoMean = [3]float32{0, 0, 0}
	NoStd  = [3]float32{1, 1, 1}
)

// ToTensor converts img to a [1, 3, H, W] tensor (NCHW, channels R, G, B),
// H and W being img's height and width. Each 8-bit channel value v first
// becomes v/255 in [0, 1] (torchvision's ToTensor), then (x−mean[c])/std[c]
// (torchvision's Normalize), both in float32.
//
// Colours are taken without alpha premultiplication and with alpha dropped,
// as PIL's convert("RGB") and darknet's loader do; 16-bit images are reduced
// to 8 bits first, as PIL does. A std of zero gives ±Inf or NaN, as IEEE
// division does.
func ToTensor(img image.Image, mean, std [3]float32) *tensor.Tensor {
	b := img.Bounds()
	t := tensor.New(1, 3, b.Dy(), b.Dx())
	fillPlanar(t.Data(), img, mean, std)
	return t
}

// ToBatch converts images of equal size to one [N, 3, H, W] tensor, image i
// at batch index i, each as ToTensor does. It is an error, wrapping
// tensor.ErrShape, for the images to differ in size or for there to be none.
func ToBatch(imgs []image.Image, mean, std [3]float32) (*tensor.Tensor, error) {
	if len(imgs) == 0 {
		return nil, fmt.Errorf("%w: imageio: batch of no images", tensor.ErrShape)
	}
	w, h := imgs[0].Bounds().Dx(), imgs[0].Bounds().Dy()
	for i, img := range imgs {
		if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
			return nil, fmt.Errorf("%w: imageio: batch image %d is %dx%d, image 0 is %dx%d",
				tensor.ErrShape, i, b.Dx(), b.Dy(), w, h)
		}
	}
	t := tensor.New(len(imgs), 3, h, w)
	n := 3 * w * h
	data := t.Data()
	for i, img := range imgs {
		fillPlanar(data[i*n:(i+1)*n], img, mean, std)
	}
	return t, nil
}

// fillPlanar writes img's pixels into dst as three planes (R, G, B) of
// (v/255 − mean[c]) / std[c]. len(dst) must be 3·W·H.
func fillPlanar(dst []float32, img image.Image, mean, std [3]float32) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	plane := w * h
	var lut [3][256]float32
	for c := range 3 {
		for v := range 256 {
			lut[c][v] = (float32(v)/255 - mean[c]) / std[c]
		}
	}
	RGBRows(img, func(y int, rgb []uint8) {
		r := dst[y*w : (y+1)*w]
		g := dst[plane+y*w : plane+(y+1)*w]
		bl := dst[2*plane+y*w : 2*plane+(y+1)*w]
		for x := range w {
			p := rgb[3*x : 3*x+3 : 3*x+3]
			r[x], g[x], bl[x] = lut[0][p[0]], lut[1][p[1]], lut[2][p[2]]
		}
	})
}

// RGBRows calls f for each row of img, top to bottom, with y counted from
// the top of img's bounds and the row's 8-bit, non-premultiplied R, G, B
// interleaved (3·W bytes, reused between calls: copy what must outlive
// the call). Common image types take a fast path; all conversions match
// color.NRGBAModel's. Preprocessing that works on the bytes themselves
// (face-api's resize, which runs on 0–255 values) starts here rather than
// from ToTensor's scaled floats.
func RGBRows(img image.Image, f func(y int, rgb []uint8)) {
	b := img.Bounds()
	w := b.Dx()
	row := make([]uint8, 3*w)
	var pal []color.NRGBA
	if m, ok := img.(*image.Paletted); ok {
		pal = make([]color.NRGBA, 256) // an index past the palette is taken as black
		for i, c := range m.Palette {
			if i < len(pal) {
				pal[i] = color.NRGBAModel.Convert(c).(color.NRGBA)
			}
		}
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		switch m := img.(type) {
		case *image.NRGBA:
			p := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range w {
				row[3*x], row[3*x+1], row[3*x+2] = p[4*x], p[4*x+1], p[4*x+2]
			}
		case *image.RGBA:
			p := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range w {
				q := p[4*x : 4*x+4 : 4*x+4]
				if q[3] != 0xff {
					c := color.NRGBAModel.Convert(color.RGBA{q[0], q[1], q[2], q[3]}).(color.NRGBA)
					row[3*x], row[3*x+1], row[3*x+2] = c.R, c.G, c.B
					continue
				}
				row[3*x], row[3*x+1], row[3*x+2] = q[0], q[1], q[2]
			}
		case *image.Gray:
			p := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range w {
				row[3*x], row[3*x+1], row[3*x+2] = p[x], p[x], p[x]
			}
		case *image.YCbCr:
			for x := range w {
				yi, ci := m.YOffset(b.Min.X+x, y), m.COffset(b.Min.X+x, y)
				row[3*x], row[3*x+1], row[3*x+2] = color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
			}
		case *image.Paletted:
			p := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range w {
				c := pal[p[x]]
				row[3*x], row[3*x+1], row[3*x+2] = c.R, c.G, c.B
			}
		default:
			for x := range w {
				c := color.NRGBAModel.Convert(img.At(b.Min.X+x, y)).(color.NRGBA)
				row[3*x], row[3*x+1], row[3*x+2] = c.R, c.G, c.B
			}
		}
		f(y-b.Min.Y, row)
	}
}
