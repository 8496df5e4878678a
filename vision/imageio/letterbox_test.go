package imageio

import (
	"encoding/json"
	"image"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// letterboxGolden is one case of testdata/golden/letterbox.json, written by
// tools/golden/letterbox.sh from Debian's libdarknet.
type letterboxGolden struct {
	Name   string `json:"name"`
	ImageW int    `json:"image_w"`
	ImageH int    `json:"image_h"`
	NetW   int    `json:"net_w"`
	NetH   int    `json:"net_h"`
	Boxes  []struct {
		In  [4]float32 `json:"in"`
		Out [4]float32 `json:"out"`
	} `json:"boxes"`
	Data []float32 `json:"data"`
}

func readLetterboxGolden(t *testing.T) []letterboxGolden {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "golden", "letterbox.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []letterboxGolden
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no cases in letterbox.json")
	}
	return cases
}

// letterboxTol is the largest difference allowed from darknet's values:
// both compute the same float32 operations in the same order, so they
// should agree exactly; the tolerance only absorbs a compiler reassociating
// darknet's arithmetic (it is built with -Ofast).
const letterboxTol = 1e-6

func TestLetterboxMatchesDarknet(t *testing.T) {
	for _, g := range readLetterboxGolden(t) {
		t.Run(g.Name, func(t *testing.T) {
			img, err := DecodeFile(filepath.Join("testdata", "golden", "letterbox_"+g.Name+".png"))
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != g.ImageW || b.Dy() != g.ImageH {
				t.Fatalf("decoded %v, darknet loaded %dx%d", b, g.ImageW, g.ImageH)
			}
			x, info := Letterbox(img, g.NetW, g.NetH)
			if s := x.Shape(); len(s) != 4 || s[0] != 1 || s[1] != 3 || s[2] != g.NetH || s[3] != g.NetW {
				t.Fatalf("shape %v, want [1 3 %d %d]", s, g.NetH, g.NetW)
			}
			got := x.Data()
			if len(got) != len(g.Data) {
				t.Fatalf("%d values, darknet has %d", len(got), len(g.Data))
			}
			var worst float64
			exact := 0
			for i, want := range g.Data {
				d := math.Abs(float64(got[i] - want))
				if got[i] == want {
					exact++
				}
				if d > worst {
					worst = d
				}
				if d > letterboxTol {
					c, r, col := i/(g.NetW*g.NetH), i/g.NetW%g.NetH, i%g.NetW
					t.Errorf("channel %d row %d col %d: got %.9g, darknet %.9g", c, r, col, got[i], want)
				}
			}
			t.Logf("%v: %d of %d values identical, largest difference %.3g", info, exact, len(got), worst)

			for _, b := range g.Boxes {
				in := Box{b.In[0], b.In[1], b.In[2], b.In[3]}
				out := info.Unmap(in)
				want := Box{b.Out[0], b.Out[1], b.Out[2], b.Out[3]}
				if !boxNear(out, want, unmapTol) {
					t.Errorf("Unmap(%v) = %v, darknet's correct_yolo_boxes gives %v", in, out, want)
				}
			}
		})
	}
}

// unmapTol is the relative tolerance of Unmap against darknet's
// correct_yolo_boxes. Our Unmap performs darknet's source arithmetic
// exactly, but Debian's libdarknet is built with -Ofast, and its machine
// code computes (float)netw/new_w as netw times a reciprocal estimate
// (rcpps plus one Newton step) and the x, y division as a multiplication
// by a double reciprocal: results a few float32 ulps (~1e-7 relative) off
// the correctly rounded ones, by amounts that differ between CPU vendors.
const unmapTol = 1e-6

// boxNear reports whether a and b agree to a relative tolerance tol.
func boxNear(a, b Box, tol float64) bool {
	for _, p := range [][2]float32{{a.X, b.X}, {a.Y, b.Y}, {a.W, b.W}, {a.H, b.H}} {
		if math.Abs(float64(p[0]-p[1])) > tol*math.Max(1, math.Abs(float64(p[1]))) {
			return false
		}
	}
	return true
}

func TestLetterboxSize(t *testing.T) {
	for _, c := range []struct {
		name           string
		sw, sh, w, h   int
		wantW, wantH   int
		wantDX, wantDY int
	}{
		// REFERENCES.md: 768x576 into 416x416 is 416x312.
		{"dog", 768, 576, 416, 416, 416, 312, 0, 52},
		{"portrait", 576, 768, 416, 416, 312, 416, 52, 0},
		{"square", 500, 500, 416, 416, 416, 416, 0, 0},
		{"truncates", 1000, 333, 416, 416, 416, 138, 0, 139},
		{"enlarges", 10, 5, 64, 48, 64, 32, 0, 8},
		{"odd padding", 30, 64, 16, 16, 7, 16, 4, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			img := image.NewGray(image.Rect(0, 0, c.sw, c.sh))
			_, info := Letterbox(img, c.w, c.h)
			if info.NewW != c.wantW || info.NewH != c.wantH || info.DX != c.wantDX || info.DY != c.wantDY {
				t.Errorf("got %+v, want %dx%d at (%d, %d)", info, c.wantW, c.wantH, c.wantDX, c.wantDY)
			}
		})
	}
}

func TestLetterboxDegenerate(t *testing.T) {
	for _, c := range []struct {
		name string
		img  image.Image
		w, h int
	}{
		{"empty image", image.NewRGBA(image.Rect(0, 0, 0, 0)), 8, 8},
		{"zero rows after scaling", image.NewRGBA(image.Rect(0, 0, 100, 1)), 8, 8},
		{"one column", image.NewRGBA(image.Rect(0, 0, 1, 50)), 8, 8},
		{"one row target", image.NewRGBA(image.Rect(0, 0, 40, 4)), 10, 10},
		{"zero canvas", image.NewRGBA(image.Rect(0, 0, 5, 5)), 0, 4},
		{"negative canvas", image.NewRGBA(image.Rect(0, 0, 5, 5)), -3, 4},
		{"offset bounds", image.NewRGBA(image.Rect(7, 3, 17, 9)), 8, 8},
	} {
		t.Run(c.name, func(t *testing.T) {
			x, info := Letterbox(c.img, c.w, c.h)
			w, h := max(c.w, 0), max(c.h, 0)
			if s := x.Shape(); s[2] != h || s[3] != w {
				t.Fatalf("shape %v for %dx%d", s, c.w, c.h)
			}
			for i, v := range x.Data() {
				if math.IsNaN(float64(v)) || v < 0 || v > 1 {
					t.Fatalf("value %d is %v", i, v)
				}
			}
			_ = info.Unmap(Box{0.5, 0.5, 0.1, 0.1}) // must not panic
		})
	}
}

func TestUnmapInvertsMap(t *testing.T) {
	for _, c := range []struct{ sw, sh, w, h int }{
		{768, 576, 416, 416}, {576, 768, 416, 416}, {30, 64, 16, 16}, {1000, 333, 608, 608}, {13, 9, 29, 23},
	} {
		img := image.NewGray(image.Rect(0, 0, c.sw, c.sh))
		_, info := Letterbox(img, c.w, c.h)
		for _, b := range []Box{
			{float32(c.sw) / 2, float32(c.sh) / 2, float32(c.sw) / 4, float32(c.sh) / 3},
			{1, 2, 2, 4},
			{float32(c.sw) - 3, float32(c.sh) - 1, 6, 2},
		} {
			m := info.Map(b)
			if m.X < 0 || m.X > 1 || m.Y < 0 || m.Y > 1 {
				t.Errorf("%+v: Map(%v) = %v leaves the network input", info, b, m)
			}
			if back := info.Unmap(m); !boxNear(back, b, 1e-5) {
				t.Errorf("%+v: Unmap(Map(%v)) = %v", info, b, back)
			}
		}
	}
}

func TestBoxRect(t *testing.T) {
	b := Box{X: 10, Y: 20, W: 4, H: 6}
	r := b.Rect()
	if r != (Rect{8, 17, 12, 23}) {
		t.Fatalf("Rect = %v", r)
	}
	if r.Box() != b {
		t.Fatalf("Box = %v", r.Box())
	}
}
