package classify

import (
	"math"
	"slices"
	"testing"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// TestMobileNetV1Paper checks the rows against Howard et al. 2017: Table 8
// (1.0 MobileNet-224: 4.2 M parameters, 569 M mult-adds) and Table 6 (the
// width multipliers' parameters and mult-adds), rounded as printed.
func TestMobileNetV1Paper(t *testing.T) {
	for _, tc := range []struct {
		name          string
		params, macsM float64 // millions, as Table 6 prints them
		where         string
	}{
		{"mobilenet_v1", 4.2, 569, "Table 8: 1.0 MobileNet-224"},
		{"mobilenet_v1_075", 2.6, 325, "Table 6: 0.75 MobileNet-224"},
		{"mobilenet_v1_050", 1.3, 149, "Table 6: 0.5 MobileNet-224"},
		{"mobilenet_v1_025", 0.5, 41, "Table 6: 0.25 MobileNet-224"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err := Describe(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if got := math.Round(float64(info.Params)/1e5) / 10; got != tc.params {
				t.Errorf("%d parameters = %.1f M, %s: %v M", info.Params, got, tc.where, tc.params)
			}
			if got := math.Round(float64(info.MACs) / 1e6); math.Abs(got-tc.macsM) > 1 {
				t.Errorf("%d mult-adds = %.0f M, %s: %v M", info.MACs, got, tc.where, tc.macsM)
			}
		})
	}
}

// TestMobileNetV1Shapes follows Table 1's output sizes through the body
// at 224×224 (SAME padding: 112, 56, 28, 14, 7) and the classifier.
func TestMobileNetV1Shapes(t *testing.T) {
	m, err := New("mobilenet_v1_025")
	if err != nil {
		t.Fatal(err)
	}
	net := m.Net().(*MobileNetV1)
	want := map[string][]int{
		"conv0": {1, 8, 112, 112}, "conv1": {1, 16, 112, 112}, "conv2": {1, 32, 56, 56},
		"conv4": {1, 64, 28, 28}, "conv6": {1, 128, 14, 14}, "conv11": {1, 128, 14, 14},
		"conv12": {1, 256, 7, 7}, "conv13": {1, 256, 7, 7},
	}
	x := tensor.New(1, 3, 224, 224)
	for i := range x.Data() {
		x.Data()[i] = float32(i%17)/8 - 1
	}
	y, err := net.forward(x, func(stage string, y *tensor.Tensor) {
		if w, ok := want[stage]; ok && !slices.Equal(y.Shape(), w) {
			t.Errorf("%s: %v, Table 1: %v", stage, y.Shape(), w)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(y.Shape(), []int{1, 1000}) {
		t.Errorf("logits %v", y.Shape())
	}
	// A backbone returns the maps asked for, and folds its batch norms.
	bb := NewMobileNetV1(MobileNetV1Config{Folded: true})
	maps, err := bb.FeatureMaps(tensor.New(1, 3, 512, 512), 11, 13)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(maps[0].Shape(), []int{1, 512, 32, 32}) || !slices.Equal(maps[1].Shape(), []int{1, 1024, 16, 16}) {
		t.Errorf("feature maps %v, %v; want 32² and 16² (face-api's SSD at 512)", maps[0].Shape(), maps[1].Shape())
	}
	sd := nn.StateDict(bb)
	for _, k := range []string{"conv0.bias", "conv1.depthwise_bn.running_var", "conv13.pointwise.bias"} {
		if sd[k] == nil {
			t.Errorf("folded backbone lacks %s", k)
		}
	}
	if sd["bn0.weight"] != nil || sd["conv1.pointwise_bn.weight"] != nil || sd["fc.weight"] != nil {
		t.Error("folded backbone has batch norms after its pointwise convolutions, or a classifier")
	}
}
