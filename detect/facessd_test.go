package detect

import (
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"govision.dev/vision/imageio"
	"govision.dev/vision/weights"
)

// ssdAnchorTol bounds the difference between our default boxes and
// face-api's: both are the same float64 formula rounded to float32, but
// TensorFlow computes in float32 (centre ± half size), which moves the
// corners by a few float32 ulps of 1.
const ssdAnchorTol = 1e-6

// Tolerances of TestSSDRaw, on outputs before NMS. Both sides compute the
// network in float32, in different orders (NCHW and our GEMM blocking
// here, NHWC in tfjs), which moves the class logits and box offsets by
// about 1e-5; the decoded boxes are fractions of the 512 square (a tenth
// of an offset times the anchor's size) and the scores σ of a logit, whose
// slope is at most 1/4 and σ(1−σ) relative to σ. Measured on the golden's
// astronaut: 5e-7 (boxes), 3e-7 and 1e-5 relative (scores); the
// tolerances leave ten times that for other kernels (-tags purego,
// AVX2).
const (
	ssdRawBoxTol   = 5e-6 // absolute, on ymin, xmin, ymax, xmax
	ssdRawScoreTol = 5e-6 // absolute; and ssdRawScoreRel of the score
	ssdRawScoreRel = 1e-4
)

// TestSSDAnchors compares the default boxes of §2.2's formula (ssdAnchors)
// with face-api's (Output/extra_dim, [1, 5118, 4], a constant of its
// weights): those the golden samples, and with FACEAPI_MODELS set (the npm
// package's model/ folder), all 5118.
func TestSSDAnchors(t *testing.T) {
	got := ssdAnchors(512)
	if len(got) != 5118 {
		t.Fatalf("%d default boxes, face-api has 5118", len(got))
	}
	raw := ssdGolden(t)
	if !slices.Equal(raw.Shapes.Anchors, []int{1, 5118, 4}) {
		t.Fatalf("face-api's anchors are %v, want [1 5118 4]", raw.Shapes.Anchors)
	}
	want := map[int][4]float32{}
	for j, i := range raw.Index {
		want[i] = raw.Anchors[j]
	}
	if dir := os.Getenv("FACEAPI_MODELS"); dir != "" {
		ts, err := weights.LoadTFJS(filepath.Join(dir, ssdFaceModels[0].tfjs))
		if err != nil {
			t.Fatal(err)
		}
		ship := ts["Output/extra_dim"]
		if ship == nil || ship.Len() != 5118*4 {
			t.Fatalf("Output/extra_dim: %v, want [1, 5118, 4]", ship)
		}
		for i := range 5118 {
			want[i] = [4]float32(ship.Data()[4*i : 4*i+4])
		}
	}
	worst := 0.0
	for _, i := range slices.Sorted(maps.Keys(want)) {
		for k := range 4 {
			d := math.Abs(float64(got[i][k]) - float64(want[i][k]))
			worst = max(worst, d)
			if d > ssdAnchorTol {
				t.Fatalf("box %d: %v, face-api %v", i, got[i], want[i])
			}
		}
	}
	t.Logf("%d of face-api's anchors: largest difference %.2g", len(want), worst)
}

// ssdGolden returns the golden's SSD outputs before NMS.
func ssdGolden(t *testing.T) *ssdRawGolden {
	t.Helper()
	g := readFaceAPIGolden(t)
	raw := g.Images[0].SSDRaw
	if raw == nil {
		t.Fatal("the golden has no ssdRaw: run tools/golden/faceapi.sh")
	}
	n := len(raw.Index)
	if len(raw.Anchors) != n || len(raw.Boxes) != n || len(raw.Scores) != n || n < raw.Top {
		t.Fatalf("ssdRaw holds %d indices, %d anchors, %d boxes, %d scores", n, len(raw.Anchors), len(raw.Boxes), len(raw.Scores))
	}
	return raw
}

// TestSSDRaw compares the SSD's outputs before NMS with face-api's
// (nets.ssdMobilenetv1.forward on the golden's first photo: outputLayer's
// decoded boxes and scores) at the anchors the golden samples: its
// highest scores and a stride through all 5118.
func TestSSDRaw(t *testing.T) {
	raw := ssdGolden(t)
	g := readFaceAPIGolden(t)
	src := faceAPIPhotos[g.Images[0].Image]
	if _, err := os.Stat(src); err != nil {
		t.Skipf("%s not installed: %v", src, err)
	}
	img, err := imageio.DecodeFile(src)
	if err != nil {
		t.Fatal(err)
	}
	d, err := PretrainedFace("face-ssd")
	if err != nil {
		t.Fatal(err)
	}
	x := faceInput(img, 512)
	defer x.Release()
	boxes, scores, err := d.net.(*ssdFaceNet).outputs(x)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(raw.Shapes.Boxes, []int{len(boxes), 4}) || !slices.Equal(raw.Shapes.Scores, []int{len(scores)}) {
		t.Fatalf("face-api's outputs are %v and %v, ours [%d 4] and [%d]", raw.Shapes.Boxes, raw.Shapes.Scores, len(boxes), len(scores))
	}
	var worstBox, worstScore, worstRel float64
	for j, i := range raw.Index {
		for k := range 4 {
			diff := math.Abs(boxes[i][k] - float64(raw.Boxes[j][k]))
			worstBox = max(worstBox, diff)
			if diff > ssdRawBoxTol {
				t.Errorf("anchor %d: box %v, face-api %v", i, boxes[i], raw.Boxes[j])
				break
			}
		}
		want := float64(raw.Scores[j])
		diff := math.Abs(scores[i] - want)
		worstScore, worstRel = max(worstScore, diff), max(worstRel, diff/want)
		if diff > ssdRawScoreTol || diff > ssdRawScoreRel*want {
			t.Errorf("anchor %d: score %.9g, face-api %.9g", i, scores[i], want)
		}
	}
	t.Logf("%d anchors: largest differences %.2g (boxes), %.2g (scores), %.2g (scores, relative)",
		len(raw.Index), worstBox, worstScore, worstRel)
}
