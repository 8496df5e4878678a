package darknet

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"govision.dev/vision/tensor"
)

// sameData reports whether a and b are views of the same values (not
// copies).
func sameData(a, b *tensor.Tensor) bool {
	return a.Len() == b.Len() && a.Len() > 0 && &a.Data()[0] == &b.Data()[0]
}

// forwardAll runs n on x and returns copies of its outputs.
func forwardAll(t *testing.T, n *Net, x *tensor.Tensor) [][]float32 {
	t.Helper()
	outs, err := n.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	res := make([][]float32, len(outs))
	for k, o := range outs {
		res[k] = slices.Clone(o.Data())
		o.Release()
	}
	return res
}

// TestResize checks that a resized network computes what one built at
// that size computes, with the same tensors as the original (shared, not
// copied), so that new weights reach both.
func TestResize(t *testing.T) {
	for _, tc := range []struct {
		name string
		w, h int
		tree bool // reads Debian's 9k.tree (Resize must not read it again)
	}{
		{name: "yolov3-tiny", w: 224, h: 160},
		{name: "yolov2", w: 96, h: 128},
		{name: "yolo9000-mini", w: 64, h: 96, tree: true},
		{name: "region-mini", w: 96, h: 96},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []Option
			if tc.tree {
				if _, err := os.Stat(debianData); err != nil {
					t.Skipf("needs Debian's 9k.tree: %v", err)
				}
				opts = append(opts, WithFS(os.DirFS(debianData)))
			}
			n := loadGolden(t, tc.name, opts...)
			r, err := n.Resize(tc.w, tc.h)
			if err != nil {
				t.Fatal(err)
			}
			if r == n || r.Width != tc.w || r.Height != tc.h || r.Header != n.Header {
				t.Fatalf("Resize(%d, %d) = %dx%d header %+v (same network: %v)", tc.w, tc.h, r.Width, r.Height, r.Header, r == n)
			}
			for i := range n.Config.Layers {
				ps, rs := n.Params(i), r.Params(i)
				if len(ps) != len(rs) {
					t.Fatalf("layer %d: %d tensors, resized %d", i, len(ps), len(rs))
				}
				for k := range ps {
					if !sameData(ps[k].Tensor, rs[k].Tensor) {
						t.Errorf("layer %d %s: resized network holds a copy", i, ps[k].Name)
					}
				}
				if n.Tree(i) != r.Tree(i) {
					t.Errorf("layer %d: tree %p, resized %p", i, n.Tree(i), r.Tree(i))
				}
			}
			want := loadGolden(t, tc.name, append(opts, WithSize(tc.w, tc.h))...)
			x := letterboxed(t, filepath.Join(goldenDir, "dog.png"), tc.w, tc.h)
			got, exp := forwardAll(t, r, x), forwardAll(t, want, x)
			for k := range exp {
				if !slices.Equal(got[k], exp[k]) {
					t.Errorf("output %d differs from the network built at %dx%d", k, tc.w, tc.h)
				}
			}

			// A change through the original reaches the resized network,
			// derived state (the folded batch norms) included.
			for _, m := range []*Net{n, want} {
				b := m.Params(0)[0].Tensor.Data()
				for i := range b {
					b[i] += 0.5
				}
				m.Refresh()
			}
			got, exp = forwardAll(t, r, x), forwardAll(t, want, x)
			for k := range exp {
				if !slices.Equal(got[k], exp[k]) {
					t.Errorf("after changing layer 0's biases, output %d differs", k)
				}
			}
		})
	}
}

func TestResizeErrors(t *testing.T) {
	n := loadGolden(t, "yolov3-tiny")
	if r, err := n.Resize(n.Width, n.Height); r != n || err != nil {
		t.Errorf("Resize to its own size = %p, %v; want the network itself", r, err)
	}
	for _, tc := range []struct {
		name    string
		w, h    int
		wantErr string
	}{
		{"yolov3-tiny", 432, 416, "[route]"}, // the upsampled 14 columns do not fit layer 8's 27
		{"yolov3-tiny", 0, 10, "network size 0x10"},
		{"yolov1-tiny", 128, 128, "[connected]"},
		{"local-mini", 96, 96, "[local]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := loadGolden(t, tc.name)
			_, err := n.Resize(tc.w, tc.h)
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Resize(%d, %d) = %v, want an ErrFormat naming %s", tc.w, tc.h, err, tc.wantErr)
			}
		})
	}
}

// TestWithoutInit checks that WithoutInit leaves every tensor zero, that
// loading weights into such a network gives what Load gives, and that
// layers the weights file leaves out still get fresh values.
func TestWithoutInit(t *testing.T) {
	cfg := filepath.Join(goldenDir, "yolov3-tiny.cfg")
	n, err := New(cfg, WithoutInit())
	if err != nil {
		t.Fatal(err)
	}
	for i := range n.Config.Layers {
		for _, p := range n.Params(i) {
			if slices.ContainsFunc(p.Tensor.Data(), func(v float32) bool { return v != 0 }) {
				t.Fatalf("layer %d %s: not zero", i, p.Name)
			}
		}
	}
	fresh, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if w := fresh.Params(0)[len(fresh.Params(0))-1].Tensor.Data(); !slices.ContainsFunc(w, func(v float32) bool { return v != 0 }) {
		t.Error("New without WithoutInit drew no weights")
	}
	// Zero weights run (the folded batch norms are derived).
	if _, err := n.Forward(tensor.New(1, 3, n.Height, n.Width)); err != nil {
		t.Fatal(err)
	}
	if err := n.LoadWeightsFile(filepath.Join(goldenDir, "yolov3-tiny.weights")); err != nil {
		t.Fatal(err)
	}
	want := loadGolden(t, "yolov3-tiny")
	x := letterboxed(t, filepath.Join(goldenDir, "dog.png"), n.Width, n.Height)
	got, exp := forwardAll(t, n, x), forwardAll(t, want, x)
	for k := range exp {
		if !slices.Equal(got[k], exp[k]) {
			t.Errorf("output %d differs from Load's", k)
		}
	}

	// dontload: that layer is not in the file, so it is drawn anyway.
	c, err := Parse("small.cfg", strings.NewReader(strings.Replace(smallCfg, "flipped=1\n", "flipped=1\ndontload=1\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Build(c, WithoutInit())
	if err != nil {
		t.Fatal(err)
	}
	if w := s.Params(1)[1].Tensor.Data(); !slices.ContainsFunc(w, func(v float32) bool { return v != 0 }) {
		t.Error("WithoutInit left a dontload layer's weights zero")
	}
	if err := s.LoadWeights(bytes.NewReader(weightsFile(0, 2, int(s.WeightsLen())))); err != nil {
		t.Fatal(err)
	}
}

// TestInit checks that Init gives a network built WithoutInit the weights
// Build draws for the same seed, bit for bit, and the same outputs.
func TestInit(t *testing.T) {
	cfg := filepath.Join(goldenDir, "yolov3-tiny.cfg")
	want, err := New(cfg, WithSeed(7))
	if err != nil {
		t.Fatal(err)
	}
	got, err := New(cfg, WithSeed(7), WithoutInit())
	if err != nil {
		t.Fatal(err)
	}
	got.Init(7)
	for i := range want.Config.Layers {
		wp, gp := want.Params(i), got.Params(i)
		for j := range wp {
			if !slices.Equal(wp[j].Tensor.Data(), gp[j].Tensor.Data()) {
				t.Fatalf("layer %d %s differs from Build's", i, wp[j].Name)
			}
		}
	}
	x := letterboxed(t, filepath.Join(goldenDir, "dog.png"), want.Width, want.Height)
	a, b := forwardAll(t, got, x), forwardAll(t, want, x)
	for k := range b {
		if !slices.Equal(a[k], b[k]) {
			t.Errorf("output %d differs from Build's", k)
		}
	}
}
