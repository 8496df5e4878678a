package detect

import (
	"math"
	"testing"

	"govision.dev/vision/darknet"
)

// netParams counts a built network's learned values: its tensors but the
// batch norms' rolling means and variances.
func netParams(n *darknet.Net) int {
	total := 0
	for i := range n.Config.Layers {
		for _, p := range n.Params(i) {
			if p.Name != "rolling_mean" && p.Name != "rolling_variance" {
				total += p.Tensor.Len()
			}
		}
	}
	return total
}

// netMACs counts a built network's multiply-accumulates from its tensors
// and shapes: a convolution's filters [F, C/groups, size, size] once per
// output position, local and connected weights once.
func netMACs(n *darknet.Net) int64 {
	var macs int64
	for i, l := range n.Config.Layers {
		for _, p := range n.Params(i) {
			if p.Name != "weights" {
				continue
			}
			m := int64(p.Tensor.Len())
			if _, ok := l.(*darknet.Convolutional); ok {
				s := n.Shape(i)
				m *= int64(s[1] * s[2])
			}
			macs += m
		}
	}
	return macs
}

// TestZooCost compares Describe's operation counts with the "Bn FLOPS"
// darknet's author publishes (pjreddie.com/darknet/yolo/, the YOLOv3 and
// YOLOv2 tables), which count a multiply-accumulate as two operations.
func TestZooCost(t *testing.T) {
	for _, tc := range []struct {
		name    string
		bflops  float64
		caption string
	}{
		{"yolov3", 65.86, "YOLOv3-416"},
		{"yolov3-tiny", 5.56, "YOLOv3-tiny"},
		{"yolov3-spp", 141.45, "YOLOv3-spp"},
		{"yolov2", 62.94, "YOLOv2 608x608"},
		{"yolov2-tiny", 5.41, "Tiny YOLO (COCO)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err := Describe(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if got := 2 * float64(info.MACs) / 1e9; math.Abs(got-tc.bflops) > 0.005 {
				t.Errorf("%.2f Bn FLOPs, darknet's table (%s) %.2f", got, tc.caption, tc.bflops)
			}
		})
	}
}
