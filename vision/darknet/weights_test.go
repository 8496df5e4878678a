package darknet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"govision.dev/vision/tensor"
)

// smallCfg is a network with every kind of weighted layer: convolutions
// with and without batch norm, a flipped one, a local layer and a
// connected layer with batch norm.
const smallCfg = `[net]
width=8
height=8
channels=3

[convolutional]
batch_normalize=1
filters=4
size=3
pad=1
activation=leaky

[convolutional]
filters=4
size=1
flipped=1
activation=linear

[local]
size=3
pad=1
filters=2
activation=leaky

[maxpool]
size=2
stride=2

[connected]
output=5
batch_normalize=1
activation=relu

[softmax]
`

// smallWeights is smallCfg's number of weights.
const smallWeights = (4 + 3*4 + 4*3*9) + (4 + 4*4) + (2*8*8 + 8*8*2*4*9) + (5 + 5*2*4*4 + 3*5)

func smallNet(t testing.TB) *Net {
	t.Helper()
	cfg, err := Parse("small.cfg", strings.NewReader(smallCfg))
	if err != nil {
		t.Fatal(err)
	}
	n, err := Build(cfg, WithSeed(7))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// weightsFile returns a header and count float32 values 0, 1, 2, ….
func weightsFile(major, minor int32, count int) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, [3]int32{major, minor, 0})
	if (Header{Major: major, Minor: minor}).SeenIs64() {
		binary.Write(&b, binary.LittleEndian, uint64(12345))
	} else {
		binary.Write(&b, binary.LittleEndian, uint32(12345))
	}
	for i := 0; i < count; i++ {
		binary.Write(&b, binary.LittleEndian, float32(i))
	}
	return b.Bytes()
}

func TestWeightsLen(t *testing.T) {
	if got := smallNet(t).WeightsLen(); got != smallWeights {
		t.Errorf("WeightsLen = %d, want %d", got, smallWeights)
	}
}

func TestHeader(t *testing.T) {
	cases := []struct {
		major, minor int32
		size         int
		transposed   bool
	}{
		{0, 1, 16, false},
		{0, 2, 20, false},
		{1, 0, 20, false},
		{0, 1001, 16, true},
		{1001, 0, 16, true},
	}
	for _, c := range cases {
		b := weightsFile(c.major, c.minor, 0)
		h, err := ReadHeader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if h.Size() != c.size || len(b) != c.size || h.Transposed() != c.transposed || h.Seen != 12345 {
			t.Errorf("%d.%d: %+v size %d transposed %v; want size %d transposed %v",
				c.major, c.minor, h, h.Size(), h.Transposed(), c.size, c.transposed)
		}
		if _, err := ReadHeader(bytes.NewReader(b[:c.size-1])); !errors.Is(err, ErrFormat) {
			t.Errorf("%d.%d truncated: %v, want ErrFormat", c.major, c.minor, err)
		}
	}
}

// TestLoadWeightsOrder checks which value lands where: the file's values
// are 0, 1, 2, … so each tensor must hold a run of them, in darknet's
// order, transposed where darknet transposes.
func TestLoadWeightsOrder(t *testing.T) {
	for _, minor := range []int32{1, 2, 1001} {
		n := smallNet(t)
		if err := n.LoadWeights(bytes.NewReader(weightsFile(0, minor, smallWeights))); err != nil {
			t.Fatal(err)
		}
		next := float32(0)
		take := func(k int) []float32 {
			s := make([]float32, k)
			for i := range s {
				s[i] = next
				next++
			}
			return s
		}
		for i := range n.Config.Layers {
			for _, p := range n.Params(i) {
				want := take(p.Tensor.Len())
				switch {
				case i == 1 && p.Name == "weights": // flipped: the file is [C·size²][F]
					tr := make([]float32, len(want))
					transpose(tr, want, 4, 4)
					want = tr
				case i == 4 && p.Name == "weights" && minor > 1000: // transposed: [inputs][outputs]
					tr := make([]float32, len(want))
					transpose(tr, want, 32, 5)
					want = tr
				}
				if !slices.Equal(p.Tensor.Data(), want) {
					t.Errorf("minor %d: layer %d %s = %v…, want %v…", minor, i, p.Name, p.Tensor.Data()[:3], want[:3])
				}
			}
		}
		if n.Header.Minor != minor || n.Header.Seen != 12345 {
			t.Errorf("header %+v", n.Header)
		}
	}
}

func TestLoadWeightsLength(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "small.cfg")
	if err := os.WriteFile(cfgPath, []byte(smallCfg), 0o644); err != nil {
		t.Fatal(err)
	}
	w := smallWeights
	cases := []struct {
		name  string
		data  []byte
		wants []string
	}{
		{"short", weightsFile(0, 2, w-10), []string{fmt.Sprintf("holds %d float32 values", w-10), fmt.Sprintf("needs %d", w),
			"layer 4 (connected, ", "small.cfg:29", "rolling_mean"}},
		{"long", weightsFile(0, 2, w+1), []string{fmt.Sprintf("holds %d float32 values", w+1), fmt.Sprintf("needs %d", w)}},
		{"stray bytes", append(weightsFile(0, 2, w), 1, 2), []string{fmt.Sprintf("holds %d", w), "2 stray bytes"}},
		{"header only", weightsFile(0, 2, 0), []string{"holds 0 float32 values", "layer 0 (convolutional"}},
		{"truncated header", weightsFile(0, 2, 0)[:7], []string{"truncated header"}},
		{"seen size", append(weightsFile(0, 1, w), 0, 0, 0, 0), []string{fmt.Sprintf("holds %d float32 values after its 16-byte header", w+1)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name+".weights")
			if err := os.WriteFile(path, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(cfgPath, path)
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("%v, want ErrFormat", err)
			}
			for _, w := range append(c.wants, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			// The same data through a plain reader.
			n := smallNet(t)
			if err := n.LoadWeights(bytes.NewReader(c.data)); !errors.Is(err, ErrFormat) {
				t.Errorf("LoadWeights: %v, want ErrFormat", err)
			}
		})
	}
	// A short stream names the layer that ran out.
	err := smallNet(t).LoadWeights(bytes.NewReader(weightsFile(0, 2, 100)))
	if err == nil || !strings.Contains(err.Error(), "ends after 100 float32 values") || !strings.Contains(err.Error(), "layer 0 (convolutional") {
		t.Errorf("short stream: %v", err)
	}
}

// TestSaveLoad checks that SaveWeights writes what Load reads back, for
// every header format it may have been loaded from.
func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "small.cfg")
	if err := os.WriteFile(cfgPath, []byte(smallCfg), 0o644); err != nil {
		t.Fatal(err)
	}
	n := smallNet(t)
	if err := n.LoadWeights(bytes.NewReader(weightsFile(0, 1001, smallWeights))); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "out.weights")
	if err := n.SaveWeights(path); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("left behind: %v", entries)
	}
	m, err := Load(cfgPath, path)
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Major != 0 || m.Header.Minor != 2 || m.Header.Seen != 12345 {
		t.Errorf("saved header %+v", m.Header)
	}
	for i := range n.Config.Layers {
		a, b := n.Params(i), m.Params(i)
		for k := range a {
			if !slices.Equal(a[k].Tensor.Data(), b[k].Tensor.Data()) {
				t.Errorf("layer %d %s differs after saving", i, a[k].Name)
			}
		}
	}
	// Saving into a missing folder fails and leaves nothing.
	if err := n.SaveWeights(filepath.Join(dir, "no", "such.weights")); err == nil {
		t.Error("saved into a missing folder")
	}
}

func TestDontLoad(t *testing.T) {
	cfg := strings.Replace(smallCfg, "flipped=1\n", "flipped=1\ndontload=1\n", 1)
	cfg = strings.Replace(cfg, "batch_normalize=1\nfilters=4", "batch_normalize=1\ndontloadscales=1\nfilters=4", 1)
	c, err := Parse("small.cfg", strings.NewReader(cfg))
	if err != nil {
		t.Fatal(err)
	}
	n, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	want := int64(smallWeights - (4 + 16) - 3*4)
	if got := n.WeightsLen(); got != want {
		t.Fatalf("WeightsLen = %d, want %d", got, want)
	}
	before := slices.Clone(n.Params(1)[1].Tensor.Data())
	if err := n.LoadWeights(bytes.NewReader(weightsFile(0, 2, int(want)))); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(before, n.Params(1)[1].Tensor.Data()) {
		t.Error("dontload layer changed")
	}
	if got := n.Params(0)[1].Tensor.Data()[0]; got != 1 {
		t.Errorf("dontloadscales layer's scale = %v, want its fresh 1", got)
	}
	// SaveWeights writes every layer (no dontsave), batch norms included.
	var b bytes.Buffer
	if err := n.WriteWeights(&b); err != nil {
		t.Fatal(err)
	}
	if got := (b.Len() - 20) / 4; got != smallWeights {
		t.Errorf("wrote %d floats, want %d", got, smallWeights)
	}
}

// TestBatchNormFold checks darknet's batch-norm formula on one value:
// y = scale·(x − mean)/(√var + 1e-6) + bias, not torch's √(var + ε).
func TestBatchNormFold(t *testing.T) {
	cfg, err := Parse("bn.cfg", strings.NewReader("[net]\nwidth=1\nheight=1\nchannels=1\n[convolutional]\nbatch_normalize=1\nactivation=linear\n"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// biases, scales, rolling_mean, rolling_variance, weights
	vals := map[string]float32{"biases": 0.25, "scales": 2, "rolling_mean": 0.5, "rolling_variance": 1e-10, "weights": 3}
	for _, p := range n.Params(0) {
		p.Tensor.Data()[0] = vals[p.Name]
	}
	n.Refresh()
	x := newTensor(t, []int{1, 1, 1, 1}, 1)
	out, err := n.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	want := 2*(3*1-0.5)/(math.Sqrt(1e-10)+1e-6) + 0.25
	if got := float64(out[0].Data()[0]); math.Abs(got-want) > 1e-6*want {
		t.Errorf("got %v, want %v", got, want)
	}
}

func newTensor(t testing.TB, shape []int, fill float32) *tensor.Tensor {
	t.Helper()
	n := 1
	for _, d := range shape {
		n *= d
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = fill
	}
	x, err := tensor.FromData(shape, data)
	if err != nil {
		t.Fatal(err)
	}
	return x
}
