package suggest

import (
	"slices"
	"testing"
)

func TestClose(t *testing.T) {
	known := []string{"densenet121", "resnet18", "resnet50", "vgg16", "yolov3", "yolov3-tiny"}
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"resnt50", []string{"resnet50"}},            // one edit; resnet18 is three
		{"ResNt50", []string{"resnet50"}},            // case does not count
		{"vgg61", []string{"vgg16"}},                 // two edits
		{"yolo3", []string{"yolov3"}},                // yolov3-tiny is six edits away, over max(2, 11/3)
		{"tiny", []string{"yolov3-tiny"}},            // contained
		{"resnet", []string{"resnet18", "resnet50"}}, // contained by both, in known's order
		{"xception", []string{}},                     // nothing close
	} {
		if got := Close(tc.name, known); !slices.Equal(got, tc.want) {
			t.Errorf("Close(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"abc", "", 3}, {"kitten", "sitting", 3}, {"flaw", "lawn", 2}, {"same", "same", 0}} {
		if got := editDistance(tc.a, tc.b); got != tc.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.d)
		}
	}
}
