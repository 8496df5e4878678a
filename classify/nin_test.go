package classify

import (
	"slices"
	"testing"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// TestNiNStages checks each mlpconv layer's output: the ImageNet model's
// 54 → 27 → 13 → 6 grids (ceil-mode poolings, as the Caffe model) ending
// in 1000 maps averaged, and the CIFAR-10 model's 32 → 16 → 8 ending in
// 10 (Lin et al. 2014, §4.2).
func TestNiNStages(t *testing.T) {
	for name, c := range map[string]struct {
		side   int
		stages map[string][3]int
	}{
		"nin": {224, map[string][3]int{
			"mlpconv1": {96, 27, 27}, "mlpconv2": {256, 13, 13}, "mlpconv3": {384, 6, 6}, "mlpconv4": {1000, 1, 1}}},
		"nin_cifar10": {32, map[string][3]int{
			"mlpconv1": {96, 16, 16}, "mlpconv2": {192, 8, 8}, "mlpconv3": {10, 1, 1}}},
	} {
		t.Run(name, func(t *testing.T) {
			if testing.Short() && c.side > 32 {
				t.Skip("a full-size forward pass")
			}
			net := newNiN(ninSpecs[name])
			shapes, y := stageShapes(t, net, tensor.New(2, 3, c.side, c.side))
			checkStages(t, shapes, c.stages)
			classes := c.stages["mlpconv"+string(rune('0'+len(c.stages)))][0]
			if !slices.Equal(y.Shape(), []int{2, classes}) {
				t.Errorf("logits %v, want [2 %d]", y.Shape(), classes)
			}
		})
	}
}

// TestNiNKeys checks the Caffe models' layer names and that the network
// has no fully connected layer.
func TestNiNKeys(t *testing.T) {
	var keys []string
	for _, e := range nn.Walk(newNiN(ninSpecs["nin"])) {
		keys = append(keys, e.Name)
	}
	want := []string{"conv1.weight", "conv1.bias", "cccp1.weight", "cccp1.bias", "cccp2.weight", "cccp2.bias",
		"conv2.weight", "conv2.bias", "cccp3.weight", "cccp3.bias", "cccp4.weight", "cccp4.bias",
		"conv3.weight", "conv3.bias", "cccp5.weight", "cccp5.bias", "cccp6.weight", "cccp6.bias",
		"conv4.weight", "conv4.bias", "cccp7.weight", "cccp7.bias", "cccp8.weight", "cccp8.bias"}
	if !slices.Equal(keys, want) {
		t.Errorf("keys %q, want %q", keys, want)
	}
}
