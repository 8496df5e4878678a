package detect

import (
	"bytes"
	"encoding/binary"
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

	"govision.dev/classify"
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
		TinyRaw []float32     `json:"tinyRaw"`
		SSDRaw  *ssdRawGolden `json:"ssdRaw"`
	} `json:"images"`
}

// ssdRawGolden is what nets.ssdMobilenetv1.forward returns for a golden
// photo (outputLayer.ts: every anchor's decoded box and score, before NMS),
// at the anchors Index lists: the Top highest scores and every Stride-th.
type ssdRawGolden struct {
	Shapes struct {
		Boxes, Scores, Anchors []int
	} `json:"shapes"`
	Top, Stride int
	Index       []int
	Anchors     [][4]float32 // face-api's default boxes (Output/extra_dim)
	Boxes       [][4]float32 // ymin, xmin, ymax, xmax, fractions of the 512 square
	Scores      []float32
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
// embedded weights, and that ConvertFaceAPI turns them into the embedded
// files byte for byte (tools/faceapi/convert.sh regenerates them).
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
			manifest := filepath.Join(dir, d.spec.tfjs)
			if err := d.Load(manifest); err != nil {
				t.Fatal(err)
			}
			e, err := PretrainedFace(name)
			if err != nil {
				t.Fatal(err)
			}
			emb := nn.StateDict(e.Module())
			for k, v := range nn.StateDict(d.Module()) {
				if e := emb[k]; e == nil || !slices.Equal(bitsOf(e.Data()), bitsOf(v.Data())) {
					t.Errorf("%s differs from the embedded file", k)
				}
			}
			out := filepath.Join(t.TempDir(), d.spec.file)
			if err := ConvertFaceAPI(name, manifest, out); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			want, err := faceModelFiles.ReadFile("models/" + d.spec.file)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("ConvertFaceAPI writes %d bytes that differ from the embedded %s (%d bytes): run tools/faceapi/convert.sh", len(got), d.spec.file, len(want))
			}
		})
	}
}

func bitsOf(v []float32) []uint32 {
	b := make([]uint32, len(v))
	for i, x := range v {
		b[i] = math.Float32bits(x)
	}
	return b
}

// TestFaceEmbedded checks the embedded files: our parameter names (every
// tensor of the network, nothing else) and face-api's uint8 codes, each
// tensor stored as U8 with its min and scale, so that the binary carries
// a byte a parameter.
func TestFaceEmbedded(t *testing.T) {
	for _, name := range FaceNames() {
		t.Run(name, func(t *testing.T) {
			info, err := DescribeFace(name)
			if err != nil {
				t.Fatal(err)
			}
			b, err := faceModelFiles.ReadFile("models/" + info.File)
			if err != nil {
				t.Fatal(err)
			}
			n := binary.LittleEndian.Uint64(b)
			var header map[string]json.RawMessage
			if err := json.Unmarshal(b[8:8+n], &header); err != nil {
				t.Fatal(err)
			}
			var meta map[string]string
			if err := json.Unmarshal(header["__metadata__"], &meta); err != nil {
				t.Fatalf("__metadata__: %v", err)
			}
			d, err := NewFace(name)
			if err != nil {
				t.Fatal(err)
			}
			sd := nn.StateDict(d.Module())
			for k := range sd {
				if strings.HasSuffix(k, ".num_batches_tracked") { // not face-api's
					delete(sd, k)
				}
			}
			if len(header) != len(sd)+1 {
				t.Errorf("%d tensors, the network has %d", len(header)-1, len(sd))
			}
			values := 0
			for k, v := range sd {
				values += v.Len()
				var e struct{ Dtype string }
				if err := json.Unmarshal(header[k], &e); err != nil || e.Dtype != "U8" || meta["quantization/"+k] == "" {
					t.Errorf("%s: %s, quantization %q; want U8 codes with a min and scale", k, header[k], meta["quantization/"+k])
				}
			}
			if len(b) != 8+int(n)+values {
				t.Errorf("%d bytes: %d of header and %d of data, for %d values", len(b), n, len(b)-8-int(n), values)
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
	ssd, err := NewFace("face-ssd")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		size int
		want string // "" means it is taken
	}{
		{0, ""}, {512, ""},
		{416, "ImgSize 416: face-ssd runs at 512 only (face-api's SsdMobilenetv1 resizes every image to 512"},
		{544, "ImgSize 544: face-ssd runs at 512 only"},
	} {
		o, err := ssd.Resolve(Options{ImgSize: tc.size})
		switch {
		case tc.want == "" && (err != nil || o.ImgSize != 512):
			t.Errorf("face-ssd, ImgSize %d: %v, ImgSize %d; want 512", tc.size, err, o.ImgSize)
		case tc.want != "" && (!errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("face-ssd, ImgSize %d: error %v, want an ErrOptions saying %q", tc.size, err, tc.want)
		}
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

func TestDescribeFace(t *testing.T) {
	for _, name := range FaceNames() {
		t.Run(name, func(t *testing.T) {
			info, err := DescribeFace(name)
			if err != nil {
				t.Fatal(err)
			}
			d, err := PretrainedFace(name)
			if err != nil {
				t.Fatal(err)
			}
			if w, _ := d.Size(); info.Size != w || info.Params != nn.NumParams(d.Module()) || info.MACs <= 0 {
				t.Errorf("%+v: want size %d, %d parameters, some MACs", info, w, nn.NumParams(d.Module()))
			}
			if _, err := faceModelFiles.Open("models/" + info.File); err != nil {
				t.Error(err)
			}
		})
	}
	if _, err := DescribeFace("yolov3"); !errors.Is(err, ErrUnknownModel) {
		t.Errorf("DescribeFace(\"yolov3\"): %v, want ErrUnknownModel", err)
	}
	// The SSD's backbone counts as classify's MobileNetV1 does (Howard et
	// al. 2017, Table 8: 569 M mult-adds at 224, the classifier included).
	mn, err := classify.Describe("mobilenet_v1")
	if err != nil {
		t.Fatal(err)
	}
	ssd := newSSDFaceNet().(*ssdFaceNet)
	if got, _ := backboneMACs(ssd.Backbone, 224); got+1024*1000 != mn.MACs {
		t.Errorf("the backbone's MACs at 224: %d, plus the classifier's 1024·1000, is not classify's %d", got, mn.MACs)
	}
}
