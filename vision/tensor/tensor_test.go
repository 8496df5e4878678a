package tensor

import (
	"errors"
	"slices"
	"testing"
)

func TestFromData(t *testing.T) {
	x, err := FromData([]int{2, 3}, make([]float32, 6))
	if err != nil || !slices.Equal(x.Shape(), []int{2, 3}) || x.Len() != 6 || x.Dims() != 2 || x.Dim(-1) != 3 {
		t.Fatalf("FromData([2 3]): %v, %v", x, err)
	}
	for _, tc := range []struct {
		shape []int
		n     int
	}{{[]int{2, 3}, 5}, {[]int{-1, 3}, 3}, {[]int{1 << 40, 1 << 40}, 0}} {
		if _, err := FromData(tc.shape, make([]float32, tc.n)); !errors.Is(err, ErrShape) {
			t.Errorf("FromData(%v, %d values): err %v, want ErrShape", tc.shape, tc.n, err)
		}
	}
}

func TestReshapeSlice(t *testing.T) {
	x := New(4, 2, 3)
	for i := range x.Data() {
		x.Data()[i] = float32(i)
	}
	y, err := x.Reshape(2, -1)
	if err != nil || !slices.Equal(y.Shape(), []int{2, 12}) || &y.Data()[0] != &x.Data()[0] {
		t.Fatalf("Reshape(2, -1): %v, %v (must be a view)", y, err)
	}
	for _, bad := range [][]int{{5, -1}, {-1, -1}, {7}, {-2, 12}} {
		if _, err := x.Reshape(bad...); !errors.Is(err, ErrShape) {
			t.Errorf("Reshape(%v): err %v, want ErrShape", bad, err)
		}
	}
	s, err := x.Slice(1, 3)
	if err != nil || !slices.Equal(s.Shape(), []int{2, 2, 3}) || s.Data()[0] != 6 || !s.Shares(x) {
		t.Fatalf("Slice(1, 3): %v %v, %v", s, s.Data(), err)
	}
	for _, r := range [][2]int{{-1, 1}, {2, 1}, {0, 5}} {
		if _, err := x.Slice(r[0], r[1]); !errors.Is(err, ErrShape) {
			t.Errorf("Slice(%d, %d): err %v, want ErrShape", r[0], r[1], err)
		}
	}
	c := x.Clone()
	c.Data()[0] = 42
	if x.Data()[0] == 42 || c.Shares(x) {
		t.Fatal("Clone shares data")
	}
}
