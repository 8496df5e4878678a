package imageio

import (
	"errors"
	"image"
	"image/color"
	"math"
	"path/filepath"
	"testing"

	"govision.dev/vision/tensor"
)

func TestToTensorMatchesTorchvision(t *testing.T) {
	g := readClassifyGolden(t)
	for _, c := range g.Cases {
		if c.Resize != 0 {
			continue // resize_test.go
		}
		t.Run(c.Name, func(t *testing.T) {
			img, err := DecodeFile(filepath.Join("testdata", "golden", c.Input))
			if err != nil {
				t.Fatal(err)
			}
			x := ToTensor(img, c.Mean, c.Std)
			if s := x.Shape(); !equalInts(s, append([]int{1}, c.Shape...)) {
				t.Fatalf("shape %v, torchvision (without the batch) %v", s, c.Shape)
			}
			// Same float32 operations as torchvision's div(255), sub, div:
			// the values must be identical.
			for i, want := range c.Data {
				if got := x.Data()[i]; got != want {
					t.Errorf("value %d: got %.9g, torchvision %.9g", i, got, want)
				}
			}
		})
	}
}

func TestToTensorLayoutAndValues(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	img.SetNRGBA(0, 0, color.NRGBA{255, 0, 0, 255})
	img.SetNRGBA(2, 0, color.NRGBA{0, 255, 0, 255})
	img.SetNRGBA(1, 1, color.NRGBA{0, 0, 51, 255})
	mean := [3]float32{0.5, 0.25, 0.1}
	std := [3]float32{0.5, 0.25, 0.2}
	x := ToTensor(img, mean, std)
	if s := x.Shape(); !equalInts(s, []int{1, 3, 2, 3}) {
		t.Fatalf("shape %v", s)
	}
	at := func(c, y, xx int) float32 { return x.Data()[(c*2+y)*3+xx] }
	for _, c := range []struct {
		name    string
		c, y, x int
		want    float32
	}{
		{"red at (0,0): (1-0.5)/0.5", 0, 0, 0, 1},
		{"green at (2,0): (1-0.25)/0.25", 1, 0, 2, 3},
		{"blue at (1,1): (0.2-0.1)/0.2", 2, 1, 1, 0.5},
		{"black at (2,1): (0-0.5)/0.5", 0, 1, 2, -1},
	} {
		if got := at(c.c, c.y, c.x); math.Abs(float64(got-c.want)) > 1e-6 {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// TestToTensorImageTypes checks each fast path of RGBRows against the
// generic one (color.NRGBAModel through At).
func TestToTensorImageTypes(t *testing.T) {
	r := image.Rect(3, 5, 10, 9)
	rgba := image.NewRGBA(r)
	nrgba := image.NewNRGBA(r)
	gray := image.NewGray(r)
	ycc := image.NewYCbCr(r, image.YCbCrSubsampleRatio420)
	pal := image.NewPaletted(r, color.Palette{color.Black, color.NRGBA{10, 200, 30, 128}, color.White})
	rgba64 := image.NewRGBA64(r)
	cmyk := image.NewCMYK(r)
	i := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			v := uint8(37*i + 11)
			a := uint8(255 - 20*(i%5))
			rgba.Set(x, y, color.NRGBA{v, v / 2, 255 - v, a}) // stored premultiplied
			nrgba.SetNRGBA(x, y, color.NRGBA{v, v / 3, 255 - v, a})
			gray.SetGray(x, y, color.Gray{v})
			pal.SetColorIndex(x, y, uint8(i%3))
			rgba64.SetRGBA64(x, y, color.RGBA64{uint16(v) * 257, 1000, 40000, 0xffff})
			cmyk.SetCMYK(x, y, color.CMYK{v, 20, 200, 10})
			i++
		}
	}
	for i := range ycc.Y {
		ycc.Y[i] = uint8(13 * i)
	}
	for i := range ycc.Cb {
		ycc.Cb[i], ycc.Cr[i] = uint8(90+7*i), uint8(160-5*i)
	}
	for _, img := range []image.Image{rgba, nrgba, gray, ycc, pal, rgba64, cmyk, nrgba.SubImage(image.Rect(4, 6, 8, 9))} {
		got := ToTensor(img, ImageNetMean, ImageNetStd)
		want := ToTensor(atOnly{img}, ImageNetMean, ImageNetStd)
		for i, w := range want.Data() {
			if got.Data()[i] != w {
				t.Errorf("%T: value %d is %v, the generic path gives %v", img, i, got.Data()[i], w)
				break
			}
		}
	}
}

// atOnly hides an image's concrete type, forcing the generic path.
type atOnly struct{ image.Image }

func TestToBatch(t *testing.T) {
	a := image.NewGray(image.Rect(0, 0, 4, 3))
	b := image.NewGray(image.Rect(10, 10, 14, 13))
	for i := range b.Pix {
		b.Pix[i] = 255
	}
	x, err := ToBatch([]image.Image{a, b}, NoMean, NoStd)
	if err != nil {
		t.Fatal(err)
	}
	if s := x.Shape(); !equalInts(s, []int{2, 3, 3, 4}) {
		t.Fatalf("shape %v", s)
	}
	if d := x.Data(); d[0] != 0 || d[36] != 1 || d[71] != 1 {
		t.Errorf("image 0 starts %v, image 1 starts %v and ends %v", d[0], d[36], d[71])
	}
	for _, c := range []struct {
		name string
		imgs []image.Image
	}{
		{"none", nil},
		{"mixed sizes", []image.Image{a, image.NewGray(image.Rect(0, 0, 3, 4))}},
	} {
		if _, err := ToBatch(c.imgs, NoMean, NoStd); !errors.Is(err, tensor.ErrShape) {
			t.Errorf("%s: error %v, want tensor.ErrShape", c.name, err)
		}
	}
}
