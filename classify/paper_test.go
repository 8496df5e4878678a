package classify

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// The models torchvision lacks are checked against their papers: the
// parameter counts the papers print (rounded as they print them) and the
// per-stage output shapes of their tables.

// TestPaperParams compares parameter counts with the papers' figures, in
// millions rounded to the paper's digits (LeNet-5 exactly).
func TestPaperParams(t *testing.T) {
	for _, tc := range []struct {
		name   string
		want   float64 // the paper's figure
		digits int     // decimals it is printed with, in millions
		where  string
		noBN   bool // the figure counts convolution and linear weights only
	}{
		{"lenet5", 0.06, -1, "LeCun et al. 1998, §II.B: 60,000 trainable parameters", false},
		{"alexnet_lrn", 61, 0, "Krizhevsky et al. 2012, abstract: 60 million parameters (61.0 M counted)", false},
		{"vgg11", 133, 0, "Simonyan & Zisserman 2015, Table 2", false},
		{"vgg13", 133, 0, "Simonyan & Zisserman 2015, Table 2", false},
		{"vgg16", 138, 0, "Simonyan & Zisserman 2015, Table 2", false},
		{"vgg19", 144, 0, "Simonyan & Zisserman 2015, Table 2", false},
		{"resnet20", 0.27, 2, "He et al. 2016, Table 6", false},
		{"resnet32", 0.46, 2, "He et al. 2016, Table 6", false},
		{"resnet44", 0.66, 2, "He et al. 2016, Table 6", false},
		{"resnet56", 0.85, 2, "He et al. 2016, Table 6", false},
		{"resnet110", 1.7, 1, "He et al. 2016, Table 6", false},
		{"preact_resnet164", 1.7, 1, "He et al. 2016b, Table 3", false},
		// 10.33 M with the batch norms' γ and β: the paper's 10.2 M counts
		// the convolutions and the classifier only (ResNet-164's 1.7 M is
		// the same either way).
		{"preact_resnet1001", 10.2, 1, "He et al. 2016b, Table 3", true},
		{"wrn_40_4", 8.9, 1, "Zagoruyko & Komodakis 2016, Table 4", false},
		{"wrn_16_8", 11.0, 1, "Zagoruyko & Komodakis 2016, Table 4", false},
		{"wrn_28_10", 36.5, 1, "Zagoruyko & Komodakis 2016, Table 4", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err := Describe(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if tc.noBN {
				e, _ := lookup(tc.name)
				info.Params = 0
				for _, m := range nn.Modules(e.build()) {
					switch l := m.(type) {
					case *nn.Conv2d, *nn.Linear:
						info.Params += nn.NumParams(l)
					}
				}
			}
			if tc.digits < 0 {
				if info.Params != int(tc.want*1e6) {
					t.Errorf("%d parameters, %s", info.Params, tc.where)
				}
				return
			}
			p := math.Pow(10, float64(tc.digits))
			if got := math.Round(float64(info.Params)/1e6*p) / p; got != tc.want {
				t.Errorf("%d parameters = %.*f M, %s: %v M", info.Params, tc.digits, got, tc.where, tc.want)
			}
		})
	}
}

// TestSEParams checks Hu et al. 2018, §3.3 ("Model and Computational
// Complexity"): SE-ResNet-50 adds ~2.5 million parameters to ResNet-50's
// ~25 million, "corresponding to a ~10% increase".
func TestSEParams(t *testing.T) {
	se, err := Describe("se_resnet50")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Describe("resnet50")
	if err != nil {
		t.Fatal(err)
	}
	if d := float64(se.Params-r.Params) / 1e6; math.Round(d*10)/10 != 2.5 {
		t.Errorf("SE blocks add %.3f M parameters to ResNet-50, the paper ~2.5 M", d)
	}
}

// tapShapes runs a network on a zero input and returns the shape of each
// tapped stage, without the batch dimension.
func tapShapes(t *testing.T, name string, size int) map[string][]int {
	t.Helper()
	e, err := lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	net := e.build()
	nn.Refresh(net)
	c := e.weights.Preprocess.Channels()
	out := map[string][]int{}
	y, err := net.(tapper).forward(tensor.New(1, c, size, size), func(stage string, y *tensor.Tensor) {
		out[stage] = y.Shape()[1:]
	})
	if err != nil {
		t.Fatal(err)
	}
	out["logits"] = y.Shape()[1:]
	return out
}

func checkTableShapes(t *testing.T, got, want map[string][]int) {
	t.Helper()
	for stage, w := range want {
		if g, ok := got[stage]; !ok {
			t.Errorf("stage %s not tapped", stage)
		} else if !slices.Equal(g, w) {
			t.Errorf("%s: %v, the paper's table %v", stage, g, w)
		}
	}
}

// TestPaperStages compares per-stage output shapes [C, H, W] with the
// papers' tables.
func TestPaperStages(t *testing.T) {
	// He et al. 2016a, Table 1: output sizes 112, 56, 28, 14, 7.
	imagenet := func(w0, w1 int) map[string][]int {
		return map[string][]int{"conv1": {64, 112, 112}, "layer1": {w0, 56, 56}, "layer2": {2 * w0, 28, 28},
			"layer3": {4 * w0, 14, 14}, "layer4": {8 * w0, 7, 7}, "logits": {w1}}
	}
	// §4.2's table: 32x32, 16x16, 8x8 maps of 16, 32, 64 filters (times 4
	// for bottlenecks, times k for WRN-d-k).
	cifar := func(f int) map[string][]int {
		return map[string][]int{"layer1": {f, 32, 32}, "layer2": {2 * f, 16, 16}, "layer3": {4 * f, 8, 8}, "logits": {10}}
	}
	for _, tc := range []struct {
		name string
		size int
		want map[string][]int
	}{
		// LeCun et al. 1998, Fig. 2 and §II.B.
		{"lenet5", 32, map[string][]int{"c1": {6, 28, 28}, "s2": {6, 14, 14}, "c3": {16, 10, 10}, "s4": {16, 5, 5},
			"c5": {120, 1, 1}, "f6": {84}, "logits": {10}}},
		{"resnet20", 32, cifar(16)},
		{"resnet110", 32, cifar(16)},
		{"preact_resnet164", 32, cifar(64)},
		// Zagoruyko & Komodakis 2016, Table 1: 16k, 32k, 64k.
		{"wrn_16_8", 32, cifar(16 * 8)},
		{"wrn_40_4", 32, cifar(16 * 4)},
		{"preact_resnet18", 224, imagenet(64, 1000)},
		{"preact_resnet50", 224, imagenet(256, 1000)},
		// Hu et al. 2018, Table 1: the ResNet-50 sizes; layer0 is conv1 and
		// the max pool.
		{"se_resnext50_32x4d", 224, map[string][]int{"layer0": {64, 56, 56}, "layer1": {256, 56, 56},
			"layer2": {512, 28, 28}, "layer3": {1024, 14, 14}, "layer4": {2048, 7, 7}, "logits": {1000}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if testing.Short() && tc.size > 32 {
				t.Skip("-short: ImageNet sizes")
			}
			checkTableShapes(t, tapShapes(t, tc.name, tc.size), tc.want)
		})
	}
}

// TestSequentialStages follows AlexNet's and VGG's feature stacks layer by
// layer: the maps after each max pool.
func TestSequentialStages(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
		want [][]int // after each max pool
	}{
		// Krizhevsky et al. 2012, Fig. 2: 96@55x55 pooled to 27x27,
		// 256@27x27 to 13x13, 384, 384, 256@13x13 to 6x6.
		{"alexnet_lrn", 227, [][]int{{96, 27, 27}, {256, 13, 13}, {256, 6, 6}}},
		// Simonyan & Zisserman 2015, Table 1 (configuration A): 224 halved
		// by each of five pools.
		{"vgg11", 224, [][]int{{64, 112, 112}, {128, 56, 56}, {256, 28, 28}, {512, 14, 14}, {512, 7, 7}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if testing.Short() {
				t.Skip("-short")
			}
			e, _ := lookup(tc.name)
			net := e.build()
			nn.Refresh(net)
			var features *nn.Sequential
			switch n := net.(type) {
			case *AlexNet:
				features = n.Features
			case *VGG:
				features = n.Features
			}
			x := tensor.New(1, 3, tc.size, tc.size)
			var got [][]int
			for _, c := range features.Children() {
				var err error
				if x, err = c.Module.Forward(x); err != nil {
					t.Fatal(err)
				}
				if _, ok := c.Module.(*nn.MaxPool2d); ok {
					got = append(got, x.Shape()[1:])
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("after the pools: %v, the paper %v", got, tc.want)
			}
		})
	}
}

// TestLeNetTable checks C3's connections against Table I: 60 connections
// to S2 maps, each S2 map feeding 10 C3 maps, and the RBF bitmaps.
func TestLeNetTable(t *testing.T) {
	uses := make([]int, 6)
	total := 0
	for _, in := range lenetTable {
		for _, s := range in {
			uses[s]++
		}
		total += len(in)
	}
	if total != 60 || !slices.Equal(uses, []int{10, 10, 10, 10, 10, 10}) {
		t.Errorf("Table I: %d connections, per S2 map %v; the paper: 60, 10 each", total, uses)
	}
	seen := map[string]bool{}
	for i, bm := range lenetBitmaps {
		rows := 0
		for _, r := range slices.Collect(func(yield func(string) bool) {
			start := 0
			for j := 0; j <= len(bm); j++ {
				if j == len(bm) || bm[j] == ' ' {
					if !yield(bm[start:j]) {
						return
					}
					start = j + 1
				}
			}
		}) {
			rows++
			if len(r) != 7 {
				t.Errorf("bitmap %d: row %q is not 7 wide", i, r)
			}
		}
		if rows != 12 {
			t.Errorf("bitmap %d: %d rows, want 12", i, rows)
		}
		if seen[bm] {
			t.Errorf("bitmap %d repeats another", i)
		}
		seen[bm] = true
	}
}
