package imageio

import (
	"encoding/json"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// classifyGolden is testdata/golden/classify.json, written by
// tools/golden/imageio.py with torchvision.
type classifyGolden struct {
	Torchvision string `json:"torchvision"`
	Pillow      string `json:"pillow"`
	Cases       []struct {
		Name   string     `json:"name"`
		Input  string     `json:"input"`
		Resize int        `json:"resize"`
		Crop   int        `json:"crop"`
		Mean   [3]float32 `json:"mean"`
		Std    [3]float32 `json:"std"`
		Shape  []int      `json:"shape"`
		Data   []float32  `json:"data"`
	} `json:"cases"`
}

func readClassifyGolden(t *testing.T) classifyGolden {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "golden", "classify.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g classifyGolden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// resizeLevels is how far, in 8-bit levels before normalisation, our
// ResizeCenterCrop may stray from torchvision's: imaging's Linear filter
// and PIL's BILINEAR are the same antialiased triangle filter, but PIL
// rounds its weights to 22-bit fixed point, so an output channel sitting
// near a half level can round the other way (and the horizontal pass's
// rounding feeds the vertical one). resizeShare bounds the share of
// values that may differ at all.
const (
	resizeLevels = 1
	resizeShare  = 0.05
)

func TestResizeCenterCropMatchesTorchvision(t *testing.T) {
	g := readClassifyGolden(t)
	for _, c := range g.Cases {
		if c.Resize == 0 {
			continue // ToTensor alone: tensor_test.go
		}
		t.Run(c.Name, func(t *testing.T) {
			img, err := DecodeFile(filepath.Join("testdata", "golden", c.Input))
			if err != nil {
				t.Fatal(err)
			}
			x, err := ResizeCenterCrop{Resize: c.Resize, Crop: c.Crop, Mean: c.Mean, Std: c.Std}.Apply(img)
			if err != nil {
				t.Fatal(err)
			}
			if s := x.Shape(); !equalInts(s, append([]int{1}, c.Shape...)) {
				t.Fatalf("shape %v, torchvision (without the batch) %v", s, c.Shape)
			}
			got := x.Data()
			plane := c.Crop * c.Crop
			differ := 0
			worst := 0.0
			for i, want := range c.Data {
				ch := i / plane
				// Back to 8-bit levels: v·255 = (x·std + mean)·255.
				d := math.Abs(float64(got[i]-want)) * float64(c.Std[ch]) * 255
				if d > 1e-3 {
					differ++
				}
				worst = math.Max(worst, d)
				if d > resizeLevels+1e-3 {
					t.Errorf("channel %d row %d col %d: got %v, torchvision %v (%.2f levels)",
						ch, i%plane/c.Crop, i%c.Crop, got[i], want, d)
				}
			}
			if share := float64(differ) / float64(len(got)); share > resizeShare {
				t.Errorf("%d of %d values differ from torchvision", differ, len(got))
			}
			t.Logf("torchvision %s, Pillow %s: %d of %d values differ, by at most %.2f levels",
				g.Torchvision, g.Pillow, differ, len(got), worst)
		})
	}
}

func TestShorterSideAndCenterOffset(t *testing.T) {
	for _, c := range []struct {
		name         string
		w, h, size   int
		wantW, wantH int
	}{
		{"landscape", 500, 375, 256, 341, 256}, // int(256*500/375) = int(341.33)
		{"portrait", 375, 500, 256, 256, 341},
		{"square", 300, 300, 256, 256, 256},
		{"enlarge", 100, 50, 256, 512, 256},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, h := ShorterSide(c.w, c.h, c.size)
			if w != c.wantW || h != c.wantH {
				t.Errorf("ShorterSide(%d, %d, %d) = %dx%d, want %dx%d", c.w, c.h, c.size, w, h, c.wantW, c.wantH)
			}
		})
	}
	// Python's round: half to even.
	for _, c := range []struct{ side, crop, want int }{
		{256, 224, 16}, {41, 16, 12}, {31, 16, 8}, {43, 26, 8}, {33, 26, 4}, {20, 24, -2}, {21, 24, -1},
	} {
		if got := centerOffset(c.side, c.crop); got != c.want {
			t.Errorf("centerOffset(%d, %d) = %d, want %d", c.side, c.crop, got, c.want)
		}
	}
}

func TestClassifyPreprocessShape(t *testing.T) {
	for _, r := range []image.Rectangle{
		image.Rect(0, 0, 500, 375), image.Rect(0, 0, 375, 500), image.Rect(10, 20, 310, 320), image.Rect(0, 0, 100, 60),
	} {
		img := image.NewNRGBA(r)
		for i := range img.Pix {
			img.Pix[i] = 255
		}
		x, err := ClassifyPreprocess(img)
		if err != nil {
			t.Fatal(err)
		}
		if s := x.Shape(); !equalInts(s, []int{1, 3, 224, 224}) {
			t.Fatalf("%v: shape %v", r, s)
		}
		// White stays white through the resize: (1-mean)/std.
		for c := range 3 {
			want := (1 - ImageNetMean[c]) / ImageNetStd[c]
			if v := x.Data()[c*224*224+112*224+112]; math.Abs(float64(v-want)) > 1e-6 {
				t.Errorf("%v: centre of channel %d is %v, want %v", r, c, v, want)
			}
		}
	}
}

func TestResizeCenterCropErrors(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 10, 10))
	for _, c := range []struct {
		name string
		t    ResizeCenterCrop
		img  image.Image
	}{
		{"zero resize", ResizeCenterCrop{Resize: 0, Crop: 4, Std: NoStd}, img},
		{"negative crop", ResizeCenterCrop{Resize: 8, Crop: -1, Std: NoStd}, img},
		{"empty image", ResizeCenterCrop{Resize: 8, Crop: 4, Std: NoStd}, image.NewGray(image.Rectangle{})},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := c.t.Apply(c.img); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestResize(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 40, 20))
	for i := range src.Pix {
		src.Pix[i] = 200
	}
	for _, f := range []Filter{Linear, Nearest, CatmullRom, Lanczos} {
		t.Run(f.String(), func(t *testing.T) {
			m := Resize(src, 10, 0, f)
			if m.Bounds() != image.Rect(0, 0, 10, 5) {
				t.Fatalf("bounds %v", m.Bounds())
			}
			if c := m.NRGBAAt(5, 2); c != (color.NRGBA{200, 200, 200, 200}) {
				t.Errorf("flat image resized to %v", c)
			}
		})
	}
	if m := Resize(src, -1, 5, Linear); !m.Bounds().Empty() {
		t.Errorf("negative width gave %v", m.Bounds())
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
