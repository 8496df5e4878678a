package darknet

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"govision.dev/vision/tensor"
)

func loadGolden(t testing.TB, name string, opts ...Option) *Net {
	t.Helper()
	n, err := Load(filepath.Join(goldenDir, name+".cfg"), filepath.Join(goldenDir, name+".weights"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestForwardShapeErrors(t *testing.T) {
	n := loadGolden(t, "yolov3-tiny")
	for _, shape := range [][]int{{3, 160, 160}, {1, 3, 160, 161}, {1, 1, 160, 160}, {0, 3, 160, 160}} {
		_, err := n.Forward(tensor.New(shape...))
		if !errors.Is(err, tensor.ErrShape) {
			t.Errorf("input %v: %v, want ErrShape", shape, err)
		}
	}
	if _, err := n.Forward(nil); !errors.Is(err, tensor.ErrShape) {
		t.Errorf("nil input: %v", err)
	}
}

// TestForwardBatch checks that a batch of two images gives each image's
// own outputs, and that outputs survive later calls (the scratch pool
// must not hand their buffers out again).
func TestForwardBatch(t *testing.T) {
	for _, name := range []string{"yolov3-tiny", "yolov2", "local-mini", "resnet18-mini", "vgg-16-mini", "misc-mini", "region-mini"} {
		t.Run(name, func(t *testing.T) {
			n := loadGolden(t, name)
			a := letterboxed(t, filepath.Join(goldenDir, "dog.png"), n.Width, n.Height)
			b := tensor.New(a.Shape()...)
			for i, v := range a.Data() {
				b.Data()[i] = 1 - v
			}
			both := tensor.New(2, n.Channels, n.Height, n.Width)
			copy(both.Data(), a.Data())
			copy(both.Data()[a.Len():], b.Data())
			oa, err := n.Forward(a)
			if err != nil {
				t.Fatal(err)
			}
			keep := make([][]float32, len(oa))
			for k, o := range oa {
				keep[k] = slices.Clone(o.Data())
			}
			ob, err := n.Forward(b)
			if err != nil {
				t.Fatal(err)
			}
			o2, err := n.Forward(both)
			if err != nil {
				t.Fatal(err)
			}
			for k := range oa {
				if !slices.Equal(oa[k].Data(), keep[k]) {
					t.Errorf("output %d changed under later calls", k)
				}
				per := oa[k].Len()
				if o2[k].Dim(0) != 2 || o2[k].Len() != 2*per {
					t.Fatalf("batch output %d: %v", k, o2[k].Shape())
				}
				near(t, "image 0", o2[k].Data()[:per], oa[k].Data())
				near(t, "image 1", o2[k].Data()[per:], ob[k].Data())
			}
		})
	}
}

// near checks a batched result against the single-image one: the kernels
// may block a batch differently, so allow float32 rounding.
func near(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*max(1, math.Abs(float64(want[i]))) {
			t.Errorf("%s[%d] = %v, alone %v", what, i, got[i], want[i])
			return
		}
	}
}

func TestForwardConcurrent(t *testing.T) {
	n := loadGolden(t, "yolov3-tiny")
	x := letterboxed(t, filepath.Join(goldenDir, "dog.png"), n.Width, n.Height)
	want, err := n.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < 3; r++ {
				got, err := n.Forward(x)
				if err != nil {
					t.Error(err)
					return
				}
				for k := range got {
					if !slices.Equal(got[k].Data(), want[k].Data()) {
						t.Errorf("output %d differs between calls", k)
					}
					got[k].Release()
				}
			}
		}()
	}
	wg.Wait()
}

// TestWithSize runs a fully convolutional network at other sizes, and
// checks that a network with a connected layer refuses them.
func TestWithSize(t *testing.T) {
	for _, sz := range [][2]int{{128, 96}, {224, 160}, {32, 32}} {
		n := loadGolden(t, "yolov3-tiny", WithSize(sz[0], sz[1]))
		outs, err := n.Forward(tensor.New(1, 3, sz[1], sz[0]))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := outs[0].Shape(), []int{1, 255, sz[1] / 32, sz[0] / 32}; !slices.Equal(got, want) {
			t.Errorf("size %v: output 0 %v, want %v", sz, got, want)
		}
		if got, want := outs[1].Shape(), []int{1, 255, sz[1] / 16, sz[0] / 16}; !slices.Equal(got, want) {
			t.Errorf("size %v: output 1 %v, want %v", sz, got, want)
		}
	}
	// At 432 wide, the upsampled 14 columns do not fit layer 8's 27.
	_, err := Load(filepath.Join(goldenDir, "yolov3-tiny.cfg"), filepath.Join(goldenDir, "yolov3-tiny.weights"), WithSize(432, 416))
	if err == nil || !strings.Contains(err.Error(), "[route]") {
		t.Errorf("432x416: %v, want a route error", err)
	}
	_, err = Load(filepath.Join(goldenDir, "yolov1-tiny.cfg"), filepath.Join(goldenDir, "yolov1-tiny.weights"), WithSize(128, 128))
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "needs") {
		t.Errorf("yolov1-tiny at 128: %v, want a weights-length error", err)
	}
	if _, err := New(filepath.Join(goldenDir, "yolov3-tiny.cfg"), WithSize(0, 10)); !errors.Is(err, ErrFormat) {
		t.Errorf("size 0x10: %v", err)
	}
}

// TestNewInstalled builds Debian's detectors with fresh weights and runs
// them once: every output must be finite.
func TestNewInstalled(t *testing.T) {
	needDebianCfgs(t)
	if testing.Short() {
		t.Skip("runs full networks")
	}
	for _, c := range []struct {
		name string
		size int
	}{{"yolov3-tiny", 416}, {"yolov2-tiny", 416}, {"yolov1-tiny", 448}} {
		t.Run(c.name, func(t *testing.T) {
			n, err := New(filepath.Join(debianCfgs, c.name+".cfg"), WithSize(c.size, c.size))
			if err != nil {
				t.Fatal(err)
			}
			outs, err := n.Forward(tensor.New(1, 3, c.size, c.size))
			if err != nil {
				t.Fatal(err)
			}
			for k, o := range outs {
				for _, v := range o.Data() {
					if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
						t.Fatalf("output %d holds %v", k, v)
					}
				}
			}
		})
	}
}

func TestTree(t *testing.T) {
	tr, err := ReadTree(strings.NewReader("animal -1\nplant -1\ndog 0\ncat 0\nrose 1\npug 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tr.GroupSize, []int{2, 2, 1, 1}) || !slices.Equal(tr.GroupOffset, []int{0, 2, 4, 5}) {
		t.Errorf("groups %v at %v", tr.GroupSize, tr.GroupOffset)
	}
	if !slices.Equal(tr.Group, []int{0, 0, 1, 1, 2, 3}) || !slices.Equal(tr.Child, []int{1, 2, 3, -1, -1, -1}) {
		t.Errorf("group %v child %v", tr.Group, tr.Child)
	}
	if !slices.Equal(tr.Leaf, []bool{false, false, false, true, true, true}) {
		t.Errorf("leaf %v", tr.Leaf)
	}
	for _, bad := range []string{"", "a\n", "a -1\nb 5\n", "a -2\n", "a x\n"} {
		if _, err := ReadTree(strings.NewReader(bad)); !errors.Is(err, ErrFormat) {
			t.Errorf("%q: %v, want ErrFormat", bad, err)
		}
	}
	f, err := os.Open(filepath.Join(debianData, "9k.tree"))
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	tr, err = ReadTree(f)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Len() != 9418 {
		t.Errorf("9k.tree: %d nodes, want 9418", tr.Len())
	}
}
