package detect

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"govision.dev/vision/imageio"
)

// nmsGolden is what tools/golden/detect_nms.py writes: random clustered
// boxes, torchvision's box_iou and batched_nms on them, and Soft-NMS as
// Bodla et al.'s Algorithm 1 in numpy.
type nmsGolden struct {
	MinScore float32 `json:"min_score"`
	Cases    []struct {
		Name         string
		Boxes        [][4]float32
		Scores       []float32
		Classes      []int
		IoU          [][]float64
		Greedy       map[string][]int
		SoftLinear   map[string][][2]float64 `json:"soft_linear"`
		SoftGaussian map[string][][2]float64 `json:"soft_gaussian"`
	}
}

func readNMSGolden(t *testing.T) nmsGolden {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, "nms.json"))
	if err != nil {
		t.Fatalf("%v (run tools/golden/detect_nms.py)", err)
	}
	var g nmsGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// indexed turns a case's boxes into detections whose Label is the box's
// index, to recognise them in NMS's output.
func indexed(boxes [][4]float32, scores []float32, classes []int) []Detection {
	d := make([]Detection, len(boxes))
	for i := range boxes {
		d[i] = Detection{Class: classes[i], Label: strconv.Itoa(i), Score: scores[i], Box: boxes[i]}
	}
	return d
}

func indexOf(d Detection) int {
	i, _ := strconv.Atoi(d.Label)
	return i
}

func parse32(t *testing.T, s string) float32 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 32)
	if err != nil {
		t.Fatal(err)
	}
	return float32(v)
}

func TestIoUTorchvision(t *testing.T) {
	for _, c := range readNMSGolden(t).Cases {
		if c.IoU == nil {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			for i, a := range c.Boxes {
				for j, b := range c.Boxes {
					if got, want := float64(IoU(a, b)), c.IoU[i][j]; math.Abs(got-want) > 1e-6 {
						t.Errorf("IoU(%v, %v) = %g, torchvision %g", a, b, got, want)
					}
				}
			}
		})
	}
}

func TestIoU(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b [4]float32
		want float32
	}{
		{"same box", [4]float32{0, 0, 10, 10}, [4]float32{0, 0, 10, 10}, 1},
		{"half overlap", [4]float32{0, 0, 10, 10}, [4]float32{5, 0, 15, 10}, 50.0 / 150},
		{"inside", [4]float32{0, 0, 10, 10}, [4]float32{2, 2, 7, 7}, 25.0 / 100},
		{"touching", [4]float32{0, 0, 10, 10}, [4]float32{10, 0, 20, 10}, 0},
		{"apart", [4]float32{0, 0, 10, 10}, [4]float32{20, 20, 30, 30}, 0},
		{"empty box", [4]float32{0, 0, 0, 10}, [4]float32{0, 0, 10, 10}, 0},
		{"both empty", [4]float32{5, 5, 5, 5}, [4]float32{5, 5, 5, 5}, 0},
		{"swapped corners count as empty", [4]float32{10, 10, 0, 0}, [4]float32{0, 0, 10, 10}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IoU(tc.a, tc.b); math.Abs(float64(got-tc.want)) > 1e-7 {
				t.Errorf("IoU = %g, want %g", got, tc.want)
			}
			if got := IoU(tc.b, tc.a); math.Abs(float64(got-tc.want)) > 1e-7 {
				t.Errorf("IoU swapped = %g, want %g", got, tc.want)
			}
		})
	}
}

// darknetIoU on centre boxes agrees with IoU on corners where both are
// defined.
func TestDarknetIoU(t *testing.T) {
	for _, c := range readNMSGolden(t).Cases {
		for i, a := range c.Boxes {
			for _, b := range c.Boxes[i:] {
				ab := imageio.Rect{X1: a[0], Y1: a[1], X2: a[2], Y2: a[3]}.Box()
				bb := imageio.Rect{X1: b[0], Y1: b[1], X2: b[2], Y2: b[3]}.Box()
				if got, want := darknetIoU(ab, bb), IoU(a, b); math.Abs(float64(got-want)) > 1e-5 {
					t.Fatalf("%s: darknetIoU(%v, %v) = %g, IoU %g", c.Name, ab, bb, got, want)
				}
			}
		}
	}
}

func TestNMSTorchvision(t *testing.T) {
	for _, c := range readNMSGolden(t).Cases {
		for th, want := range c.Greedy {
			t.Run(c.Name+"/iou="+th, func(t *testing.T) {
				got := NMS(indexed(c.Boxes, c.Scores, c.Classes), parse32(t, th))
				if len(got) != len(want) {
					t.Fatalf("kept %d, torchvision %d", len(got), len(want))
				}
				for i, d := range got {
					if indexOf(d) != want[i] {
						t.Fatalf("kept[%d] = box %d, torchvision box %d (all: %v)", i, indexOf(d), want[i], want)
					}
				}
			})
		}
	}
}

func TestSoftNMS(t *testing.T) {
	g := readNMSGolden(t)
	for _, c := range g.Cases {
		check := func(t *testing.T, got []Detection, want [][2]float64) {
			t.Helper()
			if len(got) != len(want) {
				t.Fatalf("kept %d, reference %d", len(got), len(want))
			}
			// The reference lists the picks class by class; ours is sorted by
			// score: compare as sets.
			ref := map[int]float64{}
			for _, w := range want {
				ref[int(w[0])] = w[1]
			}
			for _, d := range got {
				s, ok := ref[indexOf(d)]
				if !ok {
					t.Fatalf("kept box %d, not the reference", indexOf(d))
				}
				if math.Abs(float64(d.Score)-s) > 1e-5 {
					t.Errorf("box %d: score %g, reference %g", indexOf(d), d.Score, s)
				}
			}
			for i := 1; i < len(got); i++ {
				if got[i].Score > got[i-1].Score {
					t.Fatalf("not sorted by score at %d", i)
				}
			}
		}
		for th, want := range c.SoftLinear {
			t.Run(c.Name+"/linear/iou="+th, func(t *testing.T) {
				check(t, SoftNMSLinear(indexed(c.Boxes, c.Scores, c.Classes), parse32(t, th), g.MinScore), want)
			})
		}
		for sg, want := range c.SoftGaussian {
			t.Run(c.Name+"/gaussian/sigma="+sg, func(t *testing.T) {
				check(t, SoftNMSGaussian(indexed(c.Boxes, c.Scores, c.Classes), parse32(t, sg), g.MinScore), want)
			})
		}
	}
}

// NMSSort is darknet's do_nms_sort: suppression class by class on the
// candidates' probabilities, a box keeping the classes it was not
// suppressed for.
func TestNMSSort(t *testing.T) {
	box := func(x float32) imageio.Box { return imageio.Box{X: x, Y: 5, W: 10, H: 10} }
	// IoU of boxes 2 apart: 80/120 = 0.67; 6 apart: 40/160 = 0.25;
	// 12 apart: 0.
	cs := []Candidate{
		{Box: box(0), Objectness: 0.9, Prob: []float32{0.8, 0}},
		{Box: box(2), Objectness: 0.9, Prob: []float32{0.7, 0.6}}, // suppressed for class 0 by the first
		{Box: box(6), Objectness: 0.9, Prob: []float32{0.5, 0.9}}, // IoU 0.25 with the first: kept; suppresses class 1 of the second (IoU 0.43)
		{Box: box(0), Objectness: 0, Prob: []float32{0.99, 0.99}}, // zero objectness: dropped
		{Box: box(12), Objectness: 0.5, Prob: []float32{0, 0}},
	}
	got := NMSSort(cs, 0.4)
	want := [][]float32{{0.8, 0}, {0, 0}, {0.5, 0.9}, {0, 0}}
	if len(got) != len(want) {
		t.Fatalf("%d candidates left, want %d (the zero-objectness one dropped)", len(got), len(want))
	}
	for i, c := range got {
		for k, p := range c.Prob {
			if p != want[i][k] {
				t.Errorf("candidate %d class %d: %g, want %g", i, k, p, want[i][k])
			}
		}
	}
}

func TestParseNMS(t *testing.T) {
	for k := NMSDarknet; k <= NMSSoftGaussian; k++ {
		got, err := ParseNMS(k.String())
		if err != nil || got != k {
			t.Errorf("ParseNMS(%q) = %v, %v", k.String(), got, err)
		}
	}
	if _, err := ParseNMS("fast"); err == nil {
		t.Error("ParseNMS(fast): no error")
	}
}
