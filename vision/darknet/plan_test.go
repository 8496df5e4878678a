package darknet

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"govision.dev/vision/tensor"
)

// TestPlanInPlace checks which layers the plan lets change their input in
// place, on a network made to hit each rule.
func TestPlanInPlace(t *testing.T) {
	const cfg = `[net]
width=8
height=8
channels=3

# 0, 1: two convolutions; 2 adds 0 to 1, which nothing reads after it: in place.
[convolutional]
filters=4
size=1
activation=leaky

[convolutional]
filters=4
size=1
activation=leaky

[shortcut]
from=-2
activation=linear

# 3 adds 0 to 2, but 4 and 5 read 2 after it: a copy.
[shortcut]
from=-3
activation=linear

[route]
layers=-2

# 5 adds 2 to 4, a route of one layer (so 2's tensor): a copy.
[shortcut]
from=-3
activation=linear

# 6, 7: a yolo layer on a convolution nothing else reads: in place.
[convolutional]
filters=18
size=1
activation=linear

[yolo]
mask=0,1,2
anchors=1,1, 2,2, 3,3
classes=1
num=3

# 8 adds 5 to the yolo layer's output, which Forward returns: a copy.
[shortcut]
from=-3
activation=linear
`
	c, err := Parse("plan.cfg", strings.NewReader(cfg))
	if err != nil {
		t.Fatal(err)
	}
	n, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{false, false, true, false, false, false, false, true, false}
	if !slices.Equal(n.plan.inPlace, want) {
		t.Errorf("in place %v, want %v", n.plan.inPlace, want)
	}
	if got := fmt.Sprint(n.plan.owner); got != "[0 1 1 3 1 5 6 6 8]" {
		t.Errorf("owners %s", got)
	}
	x := letterboxed(t, filepath.Join(goldenDir, "dog.png"), n.Width, n.Height)
	checkInPlace(t, n, x)
}

// checkInPlace runs n with its plan and with one that copies every
// updater's input: the outputs must be the same, bit for bit.
func checkInPlace(t *testing.T, n *Net, x *tensor.Tensor) {
	t.Helper()
	got := forwardAll(t, n, x)
	copied := *n
	copied.plan = makePlan(n.nodes, n.outputs, false)
	if slices.Contains(copied.plan.inPlace, true) {
		t.Fatal("makePlan(…, false) changes in place")
	}
	want := forwardAll(t, &copied, x)
	for k := range want {
		if !slices.Equal(got[k], want[k]) {
			t.Errorf("output %d differs when layers change their inputs in place", k)
		}
	}
}

// TestForwardInPlace compares in-place and copying forward passes on the
// golden networks.
func TestForwardInPlace(t *testing.T) {
	for _, name := range []string{"yolov3-tiny", "yolov2", "resnet18-mini", "region-mini", "misc-mini", "yolov1-tiny", "yolov2-tiny-voc"} {
		t.Run(name, func(t *testing.T) {
			n := loadGolden(t, name)
			if !slices.Contains(n.plan.inPlace, true) && name == "yolov3-tiny" {
				t.Error("no layer of yolov3-tiny changes its input in place")
			}
			checkInPlace(t, n, letterboxed(t, filepath.Join(goldenDir, "dog.png"), n.Width, n.Height))
		})
	}
}
