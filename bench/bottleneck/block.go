package main

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"

	"govision.dev/accel"
	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// shape is a bottleneck block's size: in channels in and out (the identity
// shortcut needs them equal), width channels in the 3×3 convolution, and
// an in×size×size input of batch 1. ResNet-50's first stage (He et al.
// 2015, Table 1, conv2_x) is {256, 64, 56}.
type shape struct{ in, width, size int }

// resnet50Layer1 is the block the harness times by default.
var resnet50Layer1 = shape{in: 256, width: 64, size: 56}

func (s shape) String() string {
	return fmt.Sprintf("%d→%d→%d→%d at %d×%d", s.in, s.width, s.width, s.in, s.size, s.size)
}

// flops is the work of one forward pass: 2 FLOP per multiply-add of the
// three convolutions (the batch norms, ReLUs and the sum are O(in·size²)).
func (s shape) flops() float64 {
	hw := float64(s.size * s.size)
	return 2 * hw * float64(s.in*s.width+9*s.width*s.width+s.width*s.in)
}

// validate checks that torchvision's Bottleneck(in, in/4, base_width) can
// have this shape: its last convolution has planes·4 channels, and its
// width is planes·base_width/64.
func (s shape) validate() error {
	switch {
	case s.in < 4 || s.width < 1 || s.size < 1:
		return fmt.Errorf("bottleneck: block %v: want in ≥ 4, width ≥ 1, size ≥ 1", s)
	case s.in%4 != 0 || 64*s.width%(s.in/4) != 0:
		return fmt.Errorf("bottleneck: block %v: torchvision's Bottleneck needs in divisible by 4 and 64·width by in/4", s)
	}
	return nil
}

// bottleneck is torchvision.models.resnet.Bottleneck with stride 1 and no
// downsample branch (He et al. 2015, Fig. 5 right: the identity shortcut):
//
//	y = relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + x)
//
// conv1 and conv3 are 1×1, conv2 3×3 with padding 1, none with a bias. The
// fields carry torchvision's state-dict names, so nn.LoadStateDict loads
// torch's weights by name.
type bottleneck struct {
	Conv1 *nn.Conv2d      `nn:"conv1"` // 1×1, in → width
	BN1   *nn.BatchNorm2d `nn:"bn1"`
	Conv2 *nn.Conv2d      `nn:"conv2"` // 3×3, pad 1, width → width
	BN2   *nn.BatchNorm2d `nn:"bn2"`
	Conv3 *nn.Conv2d      `nn:"conv3"` // 1×1, width → in
	BN3   *nn.BatchNorm2d `nn:"bn3"`
}

// newBottleneck returns a block with torch's default initialisation drawn
// from rng: the convolutions Kaiming-uniform, the batch norms the identity.
func newBottleneck(s shape, rng *rand.Rand) *bottleneck {
	noBias := nn.ConvOptions{NoBias: true}
	return &bottleneck{
		Conv1: nn.NewConv2d(s.in, s.width, nn.Kernel(1), noBias, rng),
		BN1:   nn.NewBatchNorm2d(s.width),
		Conv2: nn.NewConv2d(s.width, s.width, nn.Kernel(3), nn.ConvOptions{Padding: nn.Padding(1), NoBias: true}, rng),
		BN2:   nn.NewBatchNorm2d(s.width),
		Conv3: nn.NewConv2d(s.width, s.in, nn.Kernel(1), noBias, rng),
		BN3:   nn.NewBatchNorm2d(s.in),
	}
}

// perturbBN gives the batch norms non-trivial statistics and affine
// parameters from rng (γ in [0.5, 1.5), β and the mean in [-0.5, 0.5),
// the variance in [0.5, 2)), so that folding them is exercised; for the
// Go benchmark, whose block has no torch weights.
func (b *bottleneck) perturbBN(rng *rand.Rand) {
	for _, bn := range []*nn.BatchNorm2d{b.BN1, b.BN2, b.BN3} {
		for i := range bn.C {
			bn.Weight.Data()[i] = 0.5 + rng.Float32()
			bn.Bias.Data()[i] = rng.Float32() - 0.5
			bn.RunningMean.Data()[i] = rng.Float32() - 0.5
			bn.RunningVar.Data()[i] = 0.5 + 1.5*rng.Float32()
		}
	}
	nn.Refresh(b)
}

// Forward computes the block for x [N, in, H, W] into a new [N, in, H, W]
// from the tensor pool (the caller may Release it). Each convolution runs
// with its batch norm folded into its epilogue and the ReLU fused
// (nn.ConvBNAct), its output from the pool and handed back once the next
// has read it; the residual sum and the last ReLU are one more pass
// (addReLU), in place over conv3's output, on the calling goroutine. Safe
// for concurrent use.
func (b *bottleneck) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	y1, err := nn.ConvBNAct(x, b.Conv1, b.BN1, nn.ReLU{})
	if err != nil {
		return nil, fmt.Errorf("bottleneck: conv1: %w", err)
	}
	y2, err := nn.ConvBNAct(y1, b.Conv2, b.BN2, nn.ReLU{})
	y1.Release()
	if err != nil {
		return nil, fmt.Errorf("bottleneck: conv2: %w", err)
	}
	y, err := nn.ConvBNAct(y2, b.Conv3, b.BN3, nil)
	y2.Release()
	if err != nil {
		return nil, fmt.Errorf("bottleneck: conv3: %w", err)
	}
	if ys := y.Shape(); !slices.Equal(ys, x.Shape()) {
		y.Release()
		return nil, fmt.Errorf("%w: bottleneck: output %v, input %v: the identity shortcut needs them equal", nn.ErrShape, ys, x.Shape())
	}
	addReLU(y.Data(), x.Data())
	return y, nil
}

// addReLU sets y[i] = max(y[i] + x[i], 0), the residual sum and its ReLU,
// in one pass over memory: accel.Add then accel.ReLU (vector code) on each
// addReLUChunk-element piece while it is in L1. x must be at least as long
// as y.
func addReLU(y, x []float32) { addReLUChunked(y, x, addReLUChunk) }

// addReLUChunk is 8 KiB of float32: y's and x's pieces fit L1d (48 KiB)
// together. At 256×56×56 on one core (BenchmarkAddReLU, Intel family 6
// model 207) it takes 0.30 ms, against 0.39–0.41 ms for accel.Add and
// accel.ReLU over the whole tensor (twice through L2/L3) and 0.71 ms for
// the scalar loop y[i] = max(y[i]+x[i], 0).
const addReLUChunk = 2048

func addReLUChunked(y, x []float32, chunk int) {
	x = x[:len(y)]
	for i := 0; i < len(y); i += chunk {
		j := min(i+chunk, len(y))
		accel.Add(y[i:j], y[i:j], x[i:j])
		accel.ReLU(y[i:j], y[i:j])
	}
}

// fixture is what pytorch_peer.py writes: torchvision's state dict (its
// floating-point tensors, by name), an input and torch's output for it.
type fixture struct {
	shape         shape
	stateDict     map[string]*tensor.Tensor
	skipped       []string // integer buffers not written (num_batches_tracked)
	input, output *tensor.Tensor
	torch         string // the version that wrote it
}

// fixtureIndex is index.json.
type fixtureIndex struct {
	Generator string `json:"generator"`
	Torch     string `json:"torch"`
	Config    struct {
		InChannels int `json:"in_channels"`
		Width      int `json:"width"`
		Size       int `json:"size"`
	} `json:"config"`
	Tensors []fixtureTensor `json:"tensors"`
	Skipped []string        `json:"skipped"`
	Input   fixtureTensor   `json:"input"`
	Output  fixtureTensor   `json:"output"`
}

// fixtureTensor names a raw little-endian float32 file and its shape.
type fixtureTensor struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
	File  string `json:"file"`
}

// errFixture is the category of a fixture directory that cannot be read.
var errFixture = errors.New("bottleneck: bad fixture")

// loadFixture reads the fixture pytorch_peer.py wrote into dir.
func loadFixture(dir string) (*fixture, error) {
	data, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errFixture, err)
	}
	var idx fixtureIndex
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", errFixture, filepath.Join(dir, "index.json"), err)
	}
	f := &fixture{
		shape:     shape{in: idx.Config.InChannels, width: idx.Config.Width, size: idx.Config.Size},
		stateDict: make(map[string]*tensor.Tensor, len(idx.Tensors)),
		skipped:   idx.Skipped,
		torch:     idx.Torch,
	}
	for _, ft := range idx.Tensors {
		t, err := readRaw(dir, ft)
		if err != nil {
			return nil, err
		}
		f.stateDict[ft.Name] = t
	}
	if f.input, err = readRaw(dir, idx.Input); err != nil {
		return nil, err
	}
	if f.output, err = readRaw(dir, idx.Output); err != nil {
		return nil, err
	}
	return f, nil
}

// readRaw reads one tensor's file: exactly 4·numel bytes.
func readRaw(dir string, ft fixtureTensor) (*tensor.Tensor, error) {
	if ft.File == "" || filepath.Base(ft.File) != ft.File {
		return nil, fmt.Errorf("%w: tensor %q: file name %q is not a plain name", errFixture, ft.Name, ft.File)
	}
	path := filepath.Join(dir, ft.File)
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: tensor %q: %v", errFixture, ft.Name, err)
	}
	if len(raw)%4 != 0 {
		return nil, fmt.Errorf("%w: %s: %d bytes, not a whole number of float32s", errFixture, path, len(raw))
	}
	data := make([]float32, len(raw)/4)
	for i := range data {
		data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	t, err := tensor.FromData(ft.Shape, data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", errFixture, path, err)
	}
	return t, nil
}

// relTol bounds how far govision's output may be from torch's: max |Δ| ≤
// relTol · max |torch's output|. Both compute the same float32 sums of at
// most 9·width products (576 in ResNet-50) in other orders, and govision
// folds each batch norm into a scale and shift computed in float64, torch
// applies it as (x−mean)/√(var+ε)·γ+β; each is within a few units of
// float32 roundoff (2⁻²⁴ ≈ 6e-8) times √576 of the output's scale, about
// 1e-6. A wrong or misplaced weight moves outputs by O(1). The scale is
// the largest output rather than each element's own because the ReLUs make
// many outputs exactly or nearly 0, where an element-wise relative error is
// meaningless.
const relTol = 1e-4

// compare returns max |got−want| / max |want| (NaN if either holds a NaN,
// +Inf if want is all zeros but got is not).
func compare(got, want *tensor.Tensor) (float64, error) {
	if !slices.Equal(got.Shape(), want.Shape()) {
		return 0, fmt.Errorf("%w: bottleneck: output %v, torch's %v", nn.ErrShape, got.Shape(), want.Shape())
	}
	var diff, scale float64
	for i, w := range want.Data() {
		g := got.Data()[i]
		d := math.Abs(float64(g) - float64(w))
		if math.IsNaN(d) {
			return math.NaN(), nil
		}
		diff = max(diff, d)
		scale = max(scale, math.Abs(float64(w)))
	}
	if diff == 0 {
		return 0, nil
	}
	return diff / scale, nil
}

// loadBlock builds a govision block of the fixture's shape, loads torch's
// state dict into it by name (strictly: a missing, unexpected or wrongly
// shaped tensor is an error), runs it on the fixture's input and checks the
// result against torch's output. It returns the block and the relative
// difference; an error if they disagree by more than relTol.
func loadBlock(f *fixture) (*bottleneck, float64, error) {
	if err := f.shape.validate(); err != nil {
		return nil, 0, err
	}
	b := newBottleneck(f.shape, rand.New(rand.NewPCG(1, 2)))
	if err := nn.LoadStateDict(b, f.stateDict); err != nil {
		return nil, 0, fmt.Errorf("bottleneck: torch %s's state dict: %w", f.torch, err)
	}
	y, err := b.Forward(f.input)
	if err != nil {
		return nil, 0, err
	}
	d, err := compare(y, f.output)
	if err != nil {
		return nil, 0, err
	}
	if !(d <= relTol) {
		return b, d, fmt.Errorf("bottleneck: govision's output differs from torch %s's by %.3g of its largest value, more than %g: the block or the weights' loading is wrong",
			f.torch, d, relTol)
	}
	return b, d, nil
}
