package detect

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"govision.dev/vision/imageio"
	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// faceAPIGolden is testdata/golden/faceapi/faceapi.json, written by
// tools/golden/faceapi.sh: face-api 1.7.15 under Node (tfjs cpu backend).
type faceAPIGolden struct {
	FaceAPI string `json:"faceapi"`
	Images  []struct {
		Image         string `json:"image"`
		Width, Height int
		Models        map[string][]struct {
			Score float64    `json:"score"`
			Box   [4]float64 `json:"box"`
		} `json:"models"`
		TinyRaw []float32 `json:"tinyRaw"`
	} `json:"images"`
}

// faceAPIPhotos are where Debian installs the golden's photos (darknet,
// opencv-doc, python3-skimage), by the PNG name the golden gives them.
var faceAPIPhotos = map[string]string{
	"person.png":    "/usr/share/darknet/data/person.jpg",
	"messi5.png":    "/usr/share/doc/opencv-doc/examples/data/messi5.jpg",
	"astronaut.png": "/usr/lib/python3/dist-packages/skimage/data/astronaut.png",
}

// Tolerances of the comparison with face-api: the networks compute in
// float32 in different orders (NCHW here, NHWC there), which moves the raw
// outputs by ~3e-5; boxes and scores derive from them.
const (
	faceBoxTol   = 1    // pixels
	faceScoreTol = 1e-3 // absolute
	faceRawTol   = 1e-3 // absolute, on conv8's outputs (values up to ~15)
)

func readFaceAPIGolden(t *testing.T) faceAPIGolden {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "golden", "faceapi", "faceapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g faceAPIGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestFaceAPIParity runs the embedded face detectors on the golden's
// photos and compares with face-api: the same faces, boxes within a
// pixel, scores within 1e-3. A photo whose Debian package is not
// installed is skipped.
func TestFaceAPIParity(t *testing.T) {
	g := readFaceAPIGolden(t)
	// The golden's runs: a model with face-api's defaults, or
	// "model@size,conf" for other options.
	runs := map[string]bool{}
	for _, im := range g.Images {
		for k := range im.Models {
			runs[k] = true
		}
	}
	for _, run := range slices.Sorted(maps.Keys(runs)) {
		name, custom, _ := strings.Cut(run, "@")
		if !IsFace(name) {
			t.Logf("the golden has %s, which is not built yet: skipped", run)
			continue
		}
		d, err := PretrainedFace(name)
		if err != nil {
			t.Fatal(err)
		}
		opts, err := DefaultFaceOptions(name)
		if err != nil {
			t.Fatal(err)
		}
		if custom != "" {
			if _, err := fmt.Sscanf(custom, "%d,%g", &opts.ImgSize, &opts.Conf); err != nil {
				t.Fatalf("%s: %v", run, err)
			}
		}
		for _, im := range g.Images {
			want, ok := im.Models[run]
			if !ok {
				continue
			}
			t.Run(run+"/"+im.Image, func(t *testing.T) {
				src := faceAPIPhotos[im.Image]
				if _, err := os.Stat(src); err != nil {
					t.Skipf("%s not installed: %v", src, err)
				}
				img, err := imageio.DecodeFile(src)
				if err != nil {
					t.Fatal(err)
				}
				if b := img.Bounds(); b.Dx() != im.Width || b.Dy() != im.Height {
					t.Fatalf("%s is %v, face-api's was %dx%d", src, b.Size(), im.Width, im.Height)
				}
				got, err := d.Detect(img, opts)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(want) {
					t.Fatalf("%d faces %v, face-api found %d: %v", len(got), got, len(want), want)
				}
				for i, w := range want {
					if math.Abs(float64(got[i].Score)-w.Score) > faceScoreTol {
						t.Errorf("face %d: score %g, face-api %g", i, got[i].Score, w.Score)
					}
					for k := range 4 {
						if math.Abs(float64(got[i].Box[k])-w.Box[k]) > faceBoxTol {
							t.Errorf("face %d: box %v, face-api %v", i, got[i].Box, w.Box)
							break
						}
					}
				}
			})
		}
	}
}

// TestTinyFaceRaw compares the tiny detector's raw output (conv8, before
// the decode) with face-api's on the golden's first photo.
func TestTinyFaceRaw(t *testing.T) {
	g := readFaceAPIGolden(t)
	im := g.Images[0]
	src := faceAPIPhotos[im.Image]
	if _, err := os.Stat(src); err != nil {
		t.Skipf("%s not installed: %v", src, err)
	}
	img, err := imageio.DecodeFile(src)
	if err != nil {
		t.Fatal(err)
	}
	d, err := PretrainedFace("face")
	if err != nil {
		t.Fatal(err)
	}
	x := faceInput(img, 416)
	normalizeTinyFace(x)
	out, err := d.net.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	cells := out.Dim(2)
	if len(im.TinyRaw) != 25*cells*cells {
		t.Fatalf("face-api's output has %d values, ours %v", len(im.TinyRaw), out.Shape())
	}
	var worst float64
	for cell := range cells * cells {
		for k := range 25 {
			// face-api's layout is NHWC, ours NCHW.
			diff := math.Abs(float64(out.Data()[k*cells*cells+cell] - im.TinyRaw[cell*25+k]))
			worst = max(worst, diff)
		}
	}
	if worst > faceRawTol {
		t.Errorf("largest difference from face-api's conv8 output: %g, want ≤ %g", worst, faceRawTol)
	}
}

// TestFaceLoadTFJS loads face-api's own files by path (FACEAPI_MODELS: the
// npm package's model/ folder) and checks that they give exactly the
// embedded weights.
func TestFaceLoadTFJS(t *testing.T) {
	dir := os.Getenv("FACEAPI_MODELS")
	if dir == "" {
		t.Skip("set FACEAPI_MODELS to face-api's model/ folder")
	}
	for _, name := range FaceNames() {
		t.Run(name, func(t *testing.T) {
			d, err := NewFace(name)
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Load(filepath.Join(dir, d.spec.tfjs)); err != nil {
				t.Fatal(err)
			}
			// The embedded file, through the same renaming (face-ssd's is
			// face-api's own manifest).
			e, err := PretrainedFace(name)
			if err != nil {
				t.Fatal(err)
			}
			emb := nn.StateDict(e.Module())
			for k, v := range nn.StateDict(d.Module()) {
				if e := emb[k]; e == nil || !slices.Equal(e.Data(), v.Data()) {
					t.Errorf("%s differs from the embedded file", k)
				}
			}
		})
	}
}

func TestFaceOptions(t *testing.T) {
	d, err := PretrainedFace("face")
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for _, tc := range []struct {
		name string
		o    Options
		ok   bool
	}{
		{"defaults", Options{}, true},
		{"smallest size", Options{ImgSize: 128}, true},
		{"largest size", Options{ImgSize: 608}, true},
		{"too small", Options{ImgSize: 96}, false},
		{"too large", Options{ImgSize: 640}, false},
		{"not a step", Options{ImgSize: 400}, false},
		{"conf above 1", Options{Conf: 2}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.Detect(img, tc.o)
			if tc.ok && err != nil {
				t.Fatal(err)
			}
			if !tc.ok && !errors.Is(err, ErrOptions) {
				t.Fatalf("error %v, want one wrapping ErrOptions", err)
			}
		})
	}
	if _, err := NewFace("fase"); !errors.Is(err, ErrUnknownModel) {
		t.Errorf("NewFace(\"fase\"): %v, want ErrUnknownModel", err)
	}
	for _, n := range FaceNames() {
		if _, err := New(n); err == nil {
			t.Errorf("New(%q) builds a darknet model of a face detector's name", n)
		}
		if slices.Contains(Names(), n) {
			t.Errorf("Names lists face detector %q", n)
		}
	}
}

// TestTFJSTranspose checks the layout conversions on a filter whose values
// are their own TensorFlow indices.
func TestTFJSTranspose(t *testing.T) {
	kh, kw, in, out := 2, 3, 4, 5
	src := make([]float32, kh*kw*in*out)
	for i := range src {
		src[i] = float32(i)
	}
	tf, err := tensor.FromData([]int{kh, kw, in, out}, src)
	if err != nil {
		t.Fatal(err)
	}
	got, err := hwioToOIHW("f", tf)
	if err != nil {
		t.Fatal(err)
	}
	// torch [o, i, y, x] is TensorFlow [y, x, i, o].
	o, i, y, x := 3, 2, 1, 2
	if v, w := got.Data()[((o*in+i)*kh+y)*kw+x], src[((y*kw+x)*in+i)*out+o]; v != w {
		t.Errorf("hwioToOIHW: [%d %d %d %d] = %g, want %g", o, i, y, x, v, w)
	}
	dw, err := tensor.FromData([]int{kh, kw, in, 1}, src[:kh*kw*in])
	if err != nil {
		t.Fatal(err)
	}
	got, err = depthwiseToOIHW("d", dw)
	if err != nil {
		t.Fatal(err)
	}
	if v, w := got.Data()[(i*kh+y)*kw+x], src[(y*kw+x)*in+i]; v != w {
		t.Errorf("depthwiseToOIHW: [%d 0 %d %d] = %g, want %g", i, y, x, v, w)
	}
}
