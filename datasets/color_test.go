package datasets

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// TestColorAdjustmentsMatchTorchvision compares the four adjustments of
// ColorJitter with torchvision's, on the image and factors that
// tools/golden/datasets.py saved.
func TestColorAdjustmentsMatchTorchvision(t *testing.T) {
	data, err := os.ReadFile("testdata/golden/colorjitter.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Torchvision string    `json:"torchvision"`
		Shape       [3]int    `json:"shape"`
		Input       []float32 `json:"input"`
		Cases       []struct {
			Op     string    `json:"op"`
			Factor float64   `json:"factor"`
			Output []float32 `json:"output"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	n := g.Shape[1] * g.Shape[2]
	interleave := func(planar []float32) []float32 {
		px := make([]float32, 3*n)
		for c := range 3 {
			for i := range n {
				px[3*i+c] = planar[c*n+i]
			}
		}
		return px
	}
	ops := map[string]func([]float32, float32){"brightness": adjustBrightness, "contrast": adjustContrast, "saturation": adjustSaturation, "hue": adjustHue}
	for _, c := range g.Cases {
		px := interleave(g.Input)
		ops[c.Op](px, float32(c.Factor))
		want := interleave(c.Output)
		worst := 0.0
		for i := range px {
			worst = math.Max(worst, math.Abs(float64(px[i]-want[i])))
		}
		// float32 arithmetic in a slightly different order (the mean is
		// summed in float64 here): a few units in the last place.
		if worst > 2e-6 {
			t.Errorf("%s %g: max |Δ| = %.3g against torchvision %s", c.Op, c.Factor, worst, g.Torchvision)
		}
	}
}
