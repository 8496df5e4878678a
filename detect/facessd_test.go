package detect

import (
	"math"
	"testing"

	"govision.dev/vision/weights"
)

// ssdAnchorTol bounds the difference between our default boxes and
// face-api's: both are the same float64 formula rounded to float32, but
// TensorFlow computes in float32 (centre ± half size), which moves the
// corners by a few float32 ulps of 1.
const ssdAnchorTol = 1e-6

// TestSSDAnchors compares the default boxes of §2.2's formula (ssdAnchors)
// with the 5118 that face-api's weights carry as a constant
// (Output/extra_dim, [1, 5118, 4], read from the embedded manifest).
func TestSSDAnchors(t *testing.T) {
	ts, err := weights.LoadFS(faceModelFiles, "models/"+ssdFaceModels[0].file)
	if err != nil {
		t.Fatal(err)
	}
	ship := ts["Output/extra_dim"]
	if ship == nil || ship.Len() != 5118*4 {
		t.Fatalf("Output/extra_dim: %v, want [1, 5118, 4]", ship)
	}
	got := ssdAnchors(512)
	if len(got) != 5118 {
		t.Fatalf("%d default boxes, face-api has 5118", len(got))
	}
	worst := 0.0
	for i, a := range got {
		for k := range 4 {
			d := math.Abs(float64(a[k]) - float64(ship.Data()[4*i+k]))
			worst = max(worst, d)
			if d > ssdAnchorTol {
				t.Fatalf("box %d: %v, face-api %v", i, a, ship.Data()[4*i:4*i+4])
			}
		}
	}
	t.Logf("largest difference %.2g", worst)
}
