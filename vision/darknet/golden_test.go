package darknet

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"govision.dev/vision/imageio"
	"govision.dev/vision/tensor"
)

// goldenDir holds the fixtures tools/golden/darknet_golden.sh writes:
// small cfgs, random weights, and libdarknet's outputs on dog.png.
const goldenDir = "testdata/golden"

// debianData is where Debian's darknet installs its data files (9k.tree).
const debianData = "/usr/share/darknet/data"

// goldenRelTol is the tolerance of the comparison with darknet: an output
// value may differ from darknet's by goldenRelTol relative to the larger
// of its own magnitude and its tensor's root mean square. The RMS floor
// keeps values near zero (raw w, h, a softmax's small probabilities) from
// demanding a precision their sums never had.
//
// Both sides compute in float32 but sum the convolutions in different
// orders (darknet's gemm one product at a time, accel's packed blocks) and
// fold the batch norm differently. A sum of K products with random signs
// carries a relative rounding error of about √K·2⁻²⁴ (4e-6 for the
// 3×3×512 convolutions of YOLOv3), and L layers add √L of those, so that
// the small networks agree within about 1e-5 and full YOLOv3 (75
// convolutions) within 1e-4 but for its tails: goldenOutliers of the
// values, at most, may be off by up to goldenOutlierTol. (The fast
// fixtures, under 10⁴ values per output, thus allow none.)
const (
	goldenRelTol     = 1e-4
	goldenOutliers   = 1e-4
	goldenOutlierTol = 1e-3
)

type goldenOutput struct {
	Layer     int    `json:"layer"`
	Type      string `json:"type"`
	Shape     []int  `json:"shape"`
	Len       int    `json:"len"`
	File      string `json:"file"`
	Reference string `json:"reference"`
}

type goldenCase struct {
	Name    string         `json:"name"`
	Cfg     string         `json:"cfg"`
	Weights string         `json:"weights"`
	Header  []int32        `json:"header"`
	Image   string         `json:"image"`
	Net     []int          `json:"net"` // [c, h, w]
	Outputs []goldenOutput `json:"outputs"`
}

func readGoldenCases(t *testing.T, dir string) []goldenCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden manifests in %s (run tools/golden/darknet_golden.sh): %v", dir, err)
	}
	var cases []goldenCase
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c goldenCase
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		cases = append(cases, c)
	}
	return cases
}

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b)%4 != 0 {
		t.Fatalf("%s: %d bytes, not float32s", path, len(b))
	}
	x := make([]float32, len(b)/4)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return x
}

// letterboxed returns the image file letterboxed to w×h as darknet does.
func letterboxed(t testing.TB, path string, w, h int) *tensor.Tensor {
	t.Helper()
	img, err := imageio.DecodeFile(path)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := imageio.Letterbox(img, w, h)
	return x
}

// compare checks got against darknet's want within goldenRelTol (see
// there for the outliers allowed).
func compare(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, darknet %d", what, len(got), len(want))
	}
	var ss float64
	for _, v := range want {
		ss += float64(v) * float64(v)
	}
	rms := math.Sqrt(ss / float64(len(want)))
	allowed := int(goldenOutliers * float64(len(want)))
	outliers, bad, worst, worstAt := 0, 0, 0.0, 0
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		e := math.Abs(g-w) / max(math.Abs(w), rms)
		if !(e <= goldenRelTol) { // NaN fails too
			outliers++
			if !(e <= goldenOutlierTol) || outliers > allowed {
				if bad < 5 {
					t.Errorf("%s[%d] = %v, darknet %v (relative error %.3g)", what, i, got[i], want[i], e)
				}
				bad++
			}
		}
		if e > worst || math.IsNaN(e) {
			worst, worstAt = e, i
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values off (%d beyond %g, %d allowed up to %g)",
			what, bad, len(want), outliers, goldenRelTol, allowed, goldenOutlierTol)
	}
	t.Logf("%s: %d values, worst relative error %.3g at %d (rms %.3g), %d beyond %g",
		what, len(want), worst, worstAt, rms, outliers, goldenRelTol)
}

func TestGolden(t *testing.T) {
	runGolden(t, goldenDir)
}

func runGolden(t *testing.T, dir string) {
	for _, c := range readGoldenCases(t, dir) {
		t.Run(c.Name, func(t *testing.T) {
			var opts []Option
			cfgText, err := os.ReadFile(filepath.Join(dir, c.Cfg))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(cfgText), "tree=") {
				if _, err := os.Stat(debianData); err != nil {
					t.Skipf("%s needs Debian's 9k.tree: %v", c.Name, err)
				}
				opts = append(opts, WithFS(os.DirFS(debianData)))
			}
			n, err := Load(filepath.Join(dir, c.Cfg), filepath.Join(dir, c.Weights), opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got := []int32{n.Header.Major, n.Header.Minor, n.Header.Revision}; !slices.Equal(got, c.Header) {
				t.Errorf("header %v, wrote %v", got, c.Header)
			}
			if n.Channels != c.Net[0] || n.Height != c.Net[1] || n.Width != c.Net[2] {
				t.Fatalf("net %dx%dx%d, darknet's %v", n.Channels, n.Height, n.Width, c.Net)
			}
			x := letterboxed(t, filepath.Join(dir, c.Image), n.Width, n.Height)
			outs, err := n.Forward(x)
			if err != nil {
				t.Fatal(err)
			}
			if len(outs) != len(c.Outputs) {
				t.Fatalf("%d outputs (layers %v), darknet %d", len(outs), n.Outputs(), len(c.Outputs))
			}
			for k, o := range c.Outputs {
				if n.Outputs()[k] != o.Layer {
					t.Errorf("output %d is layer %d, darknet's %d", k, n.Outputs()[k], o.Layer)
				}
				want := append([]int{1}, o.Shape...)
				if !slices.Equal(outs[k].Shape(), want) {
					t.Errorf("output %d (%s): shape %v, want %v", k, o.Type, outs[k].Shape(), want)
				}
				compare(t, fmt.Sprintf("output %d (%s)", k, o.Type), outs[k].Data(), readF32(t, filepath.Join(dir, o.File)))
				outs[k].Release()
			}
		})
	}
}

// TestGoldenSlow generates the slow golden set (full YOLOv3 at 416×416,
// YOLOv3-SPP, YOLOv1, darknet53, DenseNet-201, ResNeXt-50, …) with
// tools/golden/darknet_golden.sh and compares, as TestGolden does. It
// needs gcc, Debian's darknet and python3-numpy, and a minute or two.
func TestGoldenSlow(t *testing.T) {
	if os.Getenv("GOVISION_SLOW") == "" {
		t.Skip("set GOVISION_SLOW=1 to generate and check the slow golden set (full YOLOv3)")
	}
	dir := t.TempDir()
	script, err := filepath.Abs("../../tools/golden/darknet_golden.sh")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", script, "slow", dir)
	cmd.Dir = "../.."
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatal(err)
	}
	runGolden(t, dir)
}
