package detect

import (
	"encoding/json"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"govision.dev/vision/imageio"
)

// goldenDir holds what tools/golden/detect_golden.sh writes: small cfgs,
// random weights, darknet's sample dog (as a PNG, so that darknet and Go
// read the same pixels), and darknet's boxes and detections for them.
const goldenDir = "testdata/golden"

// goldenBox is a box as detect_golden.c prints it: centre and size in
// fractions of the image.
type goldenBox struct {
	X, Y, W, H float64
}

// px returns the box's corners in pixels of a w×h image, in float64 as
// darknet's draw_detections computes them.
func (b goldenBox) px(w, h int) [4]float64 {
	return [4]float64{(b.X - b.W/2) * float64(w), (b.Y - b.H/2) * float64(h),
		(b.X + b.W/2) * float64(w), (b.Y + b.H/2) * float64(h)}
}

type goldenManifest struct {
	Name, Cfg, Weights, Image, Names, Mode string
	Thresh, Hier, NMS                      float32
	ImageSize                              [2]int `json:"image_size"`
	Candidates                             []struct {
		goldenBox
		Objectness float64
		Prob       [][2]float64 // class, probability
	}
	Detections []struct {
		goldenBox
		Class int
		Prob  float64
	}
	DarknetPrinted []string `json:"darknet_printed"`
	Override       string
}

func readManifests(t *testing.T) []goldenManifest {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden manifests in %s (run tools/golden/detect_golden.sh): %v", goldenDir, err)
	}
	var ms []goldenManifest
	for _, f := range files {
		if filepath.Base(f) == "nms.json" {
			continue // detect_nms.py's
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var m goldenManifest
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		ms = append(ms, m)
	}
	return ms
}

// goldenDetector loads a manifest's network and image.
func goldenDetector(t *testing.T, m goldenManifest) (*Detector, image.Image) {
	t.Helper()
	d, err := FromCfg(filepath.Join(goldenDir, m.Cfg), LabelSet(m.Names).Names())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Load(filepath.Join(goldenDir, m.Weights)); err != nil {
		t.Fatal(err)
	}
	if got := map[bool]string{true: "resize", false: "letterbox"}[d.stretch]; got != m.Mode {
		t.Fatalf("detector preprocesses by %s, darknet's path by %s", got, m.Mode)
	}
	img, err := imageio.DecodeFile(filepath.Join(goldenDir, m.Image))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	if b.Dx() != m.ImageSize[0] || b.Dy() != m.ImageSize[1] {
		t.Fatalf("image %dx%d, darknet read %v", b.Dx(), b.Dy(), m.ImageSize)
	}
	return d, img
}

// Tolerances against darknet. The network outputs agree to about 1e-5
// relative (vision/darknet's golden tests), which moves a box edge by a
// few thousandths of a pixel; the fixtures keep every decision at least
// 1e-4 from its threshold (detect_golden.py), so the same boxes survive.
const (
	candidatePx   = 0.01 // box edges before NMS, pixels
	detectionPx   = 0.5  // box edges of the final detections, pixels (the bound)
	scoreTol      = 1e-4 // objectness and probabilities, absolute
	printedPctTol = 0.5 + 1e-3
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func boxNear(a [4]float32, b [4]float64, tol float64) bool {
	for i := range a {
		if !near(float64(a[i]), b[i], tol) {
			return false
		}
	}
	return true
}

// TestGoldenCandidates compares the boxes the decoders propose, before
// NMS, with darknet's get_network_boxes: same boxes, objectness and
// per-class probabilities, as sets.
func TestGoldenCandidates(t *testing.T) {
	for _, m := range readManifests(t) {
		t.Run(m.Name, func(t *testing.T) {
			d, img := goldenDetector(t, m)
			o, err := Options{Conf: m.Thresh, HierThresh: m.Hier, IoU: m.NMS}.resolve(d.Classes())
			if err != nil {
				t.Fatal(err)
			}
			cs, err := d.candidates(d.base, img, o)
			if err != nil {
				t.Fatal(err)
			}
			cs = slices.DeleteFunc(cs, func(c Candidate) bool { return c.Objectness == 0 })
			if len(cs) != len(m.Candidates) {
				t.Errorf("%d candidates, darknet %d", len(cs), len(m.Candidates))
			}
			used := make([]bool, len(cs))
			for gi, g := range m.Candidates {
				want := g.px(m.ImageSize[0], m.ImageSize[1])
				found := -1
				for i, c := range cs {
					if !used[i] && boxNear(corners(c.Box), want, candidatePx) {
						found = i
						break
					}
				}
				if found < 0 {
					t.Errorf("darknet's candidate %d, box %.3f, objectness %.6f: none of ours", gi, want, g.Objectness)
					continue
				}
				used[found] = true
				c := cs[found]
				if !near(float64(c.Objectness), g.Objectness, scoreTol) {
					t.Errorf("candidate %d: objectness %.6f, darknet %.6f", gi, c.Objectness, g.Objectness)
				}
				nonzero := 0
				for _, p := range c.Prob {
					if p != 0 {
						nonzero++
					}
				}
				if nonzero != len(g.Prob) {
					t.Errorf("candidate %d: %d classes score, darknet %d (%v)", gi, nonzero, len(g.Prob), g.Prob)
				}
				for _, cp := range g.Prob {
					k := int(cp[0])
					if !near(float64(c.Prob[k]), cp[1], scoreTol) {
						t.Errorf("candidate %d: class %d %.6f, darknet %.6f", gi, k, c.Prob[k], cp[1])
					}
				}
			}
		})
	}
}

// TestGoldenDetections is the parity check: Detect's final
// detections (letterbox inverse and NMS, threshold 0.25) match darknet's
// as a set: same labels, boxes within half a pixel. Where the darknet
// binary was run, its printed "label: NN%" lines match too.
func TestGoldenDetections(t *testing.T) {
	for _, m := range readManifests(t) {
		t.Run(m.Name, func(t *testing.T) {
			d, img := goldenDetector(t, m)
			dets, err := d.Detect(img, Options{Conf: m.Thresh, HierThresh: m.Hier, IoU: m.NMS})
			if err != nil {
				t.Fatal(err)
			}
			if len(dets) != len(m.Detections) {
				t.Errorf("%d detections, darknet %d", len(dets), len(m.Detections))
			}
			used := make([]bool, len(dets))
			for gi, g := range m.Detections {
				want := g.px(m.ImageSize[0], m.ImageSize[1])
				found := -1
				for i, x := range dets {
					if !used[i] && x.Class == g.Class && boxNear(x.Box, want, detectionPx) {
						found = i
						break
					}
				}
				if found < 0 {
					t.Errorf("darknet's detection %d, %s %.4f at %.2f: none of ours", gi, labelOf(d.Labels(), g.Class), g.Prob, want)
					continue
				}
				used[found] = true
				if x := dets[found]; !near(float64(x.Score), g.Prob, scoreTol) || x.Label != labelOf(d.Labels(), g.Class) {
					t.Errorf("detection %d: %s %.6f, darknet %s %.6f", gi, x.Label, x.Score, labelOf(d.Labels(), g.Class), g.Prob)
				}
			}
			for i, x := range dets {
				if !used[i] {
					t.Errorf("our detection %+v: not darknet's", x)
				}
			}
			if m.Override != "" {
				return // the darknet binary gets YOLO9000's softmax wrong
			}
			if len(m.DarknetPrinted) == 0 {
				t.Fatalf("the manifest has no darknet_printed lines")
			}
			// The darknet binary's own output: "label: NN%" per detection.
			printed := slices.Clone(m.DarknetPrinted)
			for _, x := range dets {
				i := slices.IndexFunc(printed, func(line string) bool {
					var pct float64
					label, num, ok := strings.Cut(line, ": ")
					_, err := fmt.Sscanf(num, "%g%%", &pct)
					return ok && err == nil && label == x.Label && near(100*float64(x.Score), pct, printedPctTol)
				})
				if i < 0 {
					t.Errorf("our %s %.4f: the darknet binary printed no such line in %q", x.Label, x.Score, m.DarknetPrinted)
					continue
				}
				printed = slices.Delete(printed, i, i+1)
			}
			if len(printed) > 0 {
				t.Errorf("the darknet binary also printed %q", printed)
			}
		})
	}
}
