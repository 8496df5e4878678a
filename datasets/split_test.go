package datasets

import (
	"slices"
	"testing"
)

func TestAssignSplits(t *testing.T) {
	got, err := AssignSplits(10, nil, SplitOptions{Ratios: []float64{8, 1, 1}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, s := range got {
		count[s]++
	}
	if count["train"] != 8 || count["val"] != 1 || count["test"] != 1 {
		t.Errorf("counts %v", count)
	}
	again, _ := AssignSplits(10, nil, SplitOptions{Ratios: []float64{8, 1, 1}, Seed: 1})
	other, _ := AssignSplits(10, nil, SplitOptions{Ratios: []float64{8, 1, 1}, Seed: 2})
	if !slices.Equal(got, again) || slices.Equal(got, other) {
		t.Errorf("seed 1 twice: %v %v; seed 2: %v", got, again, other)
	}
	for _, bad := range []SplitOptions{{}, {Ratios: []float64{-1, 2}}, {Ratios: []float64{0, 0}}, {Ratios: []float64{1, 1, 1, 1}}} {
		if _, err := AssignSplits(3, nil, bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

func TestStratifiedSplits(t *testing.T) {
	// 90 images of class 0, 10 of class 1 with a rare class-2 object in 5
	// of them: stratified 0.8/0.2, each stratum is split 80/20.
	var classes [][]int
	for i := range 100 {
		switch {
		case i < 90:
			classes = append(classes, []int{0})
		case i < 95:
			classes = append(classes, []int{1, 2})
		default:
			classes = append(classes, []int{1})
		}
	}
	strata := Strata(classes)
	if strata[0] != 0 || strata[91] != 2 || strata[97] != 1 {
		t.Fatalf("strata %v", strata)
	}
	got, err := AssignSplits(100, strata, SplitOptions{Ratios: []float64{0.8, 0.2}, Stratify: true, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	per := map[[2]int]int{}
	for i, s := range got {
		per[[2]int{strata[i], btoi(s == "val")}]++
	}
	want := map[[2]int]int{{0, 0}: 72, {0, 1}: 18, {2, 0}: 4, {2, 1}: 1, {1, 0}: 4, {1, 1}: 1}
	for k, v := range want {
		if per[k] != v {
			t.Errorf("stratum %d split %d: %d, want %d", k[0], k[1], per[k], v)
		}
	}
}
