package classify

import (
	"slices"
	"testing"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// TestBNInceptionStages checks the modules' outputs against Ioffe &
// Szegedy 2015, Figure 5: 28×28 for 3a and 3b, 14×14 from the stride-2
// module 3c, 7×7 from 4e; the widths are the sums of the figure's columns
// (a stride-2 module passes its input's channels through the pooling).
func TestBNInceptionStages(t *testing.T) {
	if testing.Short() {
		t.Skip("a full-size forward pass")
	}
	shapes, y := stageShapes(t, newBNInception(bnInceptionTable), tensor.New(1, 3, 224, 224))
	checkStages(t, shapes, map[string][3]int{
		"inception_3a": {64 + 64 + 96 + 32, 28, 28},
		"inception_3b": {64 + 96 + 96 + 64, 28, 28},
		"inception_3c": {160 + 96 + 320, 14, 14},
		"inception_4a": {224 + 96 + 128 + 128, 14, 14},
		"inception_4b": {192 + 128 + 128 + 128, 14, 14},
		"inception_4c": {160 + 160 + 160 + 128, 14, 14},
		"inception_4d": {96 + 192 + 192 + 128, 14, 14},
		"inception_4e": {192 + 256 + 608, 7, 7},
		"inception_5a": {352 + 320 + 224 + 128, 7, 7},
		"inception_5b": {352 + 320 + 224 + 128, 7, 7},
	})
	if !slices.Equal(y.Shape(), []int{1, 1000}) {
		t.Errorf("logits %v", y.Shape())
	}
}

// TestBNInceptionKeys checks the flat Caffe-port names: a convolution with
// a bias and its batch norm as "<name>_bn", stride-2 modules without the
// 1x1 and pool projection layers, last_linear at the end.
func TestBNInceptionKeys(t *testing.T) {
	var keys []string
	for _, e := range nn.Walk(newBNInception(bnInceptionTable)) {
		keys = append(keys, e.Name)
	}
	if want := []string{"conv1_7x7_s2.weight", "conv1_7x7_s2.bias", "conv1_7x7_s2_bn.weight", "conv1_7x7_s2_bn.bias",
		"conv1_7x7_s2_bn.running_mean", "conv1_7x7_s2_bn.running_var", "conv1_7x7_s2_bn.num_batches_tracked",
		"conv2_3x3_reduce.weight"}; !slices.Equal(keys[:len(want)], want) {
		t.Errorf("first keys %q, want %q", keys[:len(want)], want)
	}
	if got := keys[len(keys)-2:]; !slices.Equal(got, []string{"last_linear.weight", "last_linear.bias"}) {
		t.Errorf("last keys %q", got)
	}
	for _, k := range []string{"inception_3a_1x1.weight", "inception_3a_double_3x3_2_bn.running_var",
		"inception_3c_3x3.weight", "inception_4e_double_3x3_2.bias", "inception_5b_pool_proj_bn.weight"} {
		if !slices.Contains(keys, k) {
			t.Errorf("no %s", k)
		}
	}
	for _, k := range []string{"inception_3c_1x1.weight", "inception_3c_pool_proj.weight", "inception_4e_1x1.weight"} {
		if slices.Contains(keys, k) {
			t.Errorf("a stride-2 module has %s", k)
		}
	}
	// 3 stem layers, 8 modules of 7 and 2 of 5 conv-bn pairs, each 2 + 5
	// tensors, and last_linear's 2.
	if want := (3+8*7+2*5)*7 + 2; len(keys) != want {
		t.Errorf("%d keys, want %d", len(keys), want)
	}
}

// TestBNInceptionBGR checks that Forward takes RGB and feeds the first
// convolution the channels in BGR order, as the Caffe weights expect.
func TestBNInceptionBGR(t *testing.T) {
	x := tensor.New(1, 3, 1, 2)
	copy(x.Data(), []float32{1, 2, 3, 4, 5, 6})
	y, err := channelReverse{}.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{5, 6, 3, 4, 1, 2}; !slices.Equal(y.Data(), want) {
		t.Errorf("%v, want %v", y.Data(), want)
	}
}
