package classify

import (
	"cmp"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
	"govision.dev/vision/weights"
)

// Model is a classifier of the zoo: a network, its weight record and its
// labels.
//
// Forward and Predict are safe for concurrent use; Load and LoadStateDict
// must not run concurrently with them.
type Model struct {
	name    string
	paper   string
	net     nn.Module
	weights Weights
	classes int
	init    func(net nn.Module, rng *rand.Rand) // the zoo's initialisation; nil outside the zoo

	// draw fills net with the fresh weights New promises. It runs once,
	// the first time the values are read (Forward, Net, StateDict), and
	// never if a weight file is loaded first: a model built only to load
	// its weights never writes, and so never holds in memory, a second
	// set. nil for a network built with its values.
	draw     func()
	drawOnce sync.Once
}

func newModel(e entry, net nn.Module) *Model {
	return &Model{name: e.name, paper: e.paper, net: net, weights: e.weights,
		classes: len(e.weights.Labels.Names()), init: e.init}
}

// fresh draws the initial weights if nothing has set them yet.
func (m *Model) fresh() {
	m.drawOnce.Do(func() {
		if m.draw != nil {
			m.draw()
		}
	})
}

// Init draws fresh weights from rng, initialised as New initialises them
// (as the paper or torchvision does) but from the caller's generator
// instead of New's fixed seed: how a training run seeds its model. It
// replaces every weight, and must not run concurrently with Forward or
// Predict.
func (m *Model) Init(rng *rand.Rand) error {
	if m.init == nil {
		return fmt.Errorf("classify: %s: no initialisation is known", m.name)
	}
	m.drawOnce.Do(func() {}) // New's draw is not needed any more
	m.init(m.net, rng)
	nn.Refresh(m.net)
	return nil
}

// Name returns the model's zoo name ("resnet50").
func (m *Model) Name() string { return m.name }

// Paper returns the paper and table the architecture follows.
func (m *Model) Paper() string { return m.paper }

// Net returns the network itself, for nn.StateDict, nn.Walk and the like.
func (m *Model) Net() nn.Module {
	m.fresh()
	return m.net
}

// Weights returns the record of the model's published weights.
func (m *Model) Weights() Weights { return m.weights }

// Classes returns the number of classes, the width of Forward's logits.
func (m *Model) Classes() int { return m.classes }

// Params counts the network's parameters (not its buffers).
func (m *Model) Params() int { return nn.NumParams(m.net) }

// StateDict returns the network's tensors by their torchvision names. The
// tensors are the model's own.
func (m *Model) StateDict() map[string]*tensor.Tensor { return nn.StateDict(m.Net()) }

// Load reads a weight file (any format weights.Load reads: a torch.save'd
// state dict, .pth or .pt, or safetensors) and loads it by name, strictly,
// as LoadStateDict does. The network takes over the tensors read from the
// file (nn.AdoptStateDict) rather than copying them, and a PyTorch file's
// float32 tensors are the file mapped into memory (weights.Map): the
// convolutions pack their weights for inference on loading and the mapped
// pages then leave resident memory, so that the model holds one set of
// weights in memory, not two (the file must not be changed in place
// while the model is in use; replacing it is fine). A model fresh from New
// has not drawn its random ones either. Load then collects the tensors it replaced
// and returns their memory to the operating system
// (runtime/debug.FreeOSMemory): otherwise the garbage collector's next goal
// would count them as live and let the heap grow by another model's size
// before collecting (a resnet50 process classifying many images peaked
// about 15% higher).
func (m *Model) Load(path string) error {
	sd, err := weights.Map(path)
	if err != nil {
		return err
	}
	if err := m.load(sd, nn.AdoptStateDict); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	debug.FreeOSMemory()
	return nil
}

// LoadStateDict copies sd's tensors into the network by name, strictly: a
// missing, unexpected or wrongly shaped tensor is an error (wrapping
// nn.ErrStateDict) naming each, and then nothing is changed. A state dict
// whose every key starts with "module." (saved from a DataParallel wrapper)
// is taken without that prefix, and old key names a network knows (such as
// torchvision's pre-0.3 DenseNet names) are renamed first. sd's tensors
// stay the caller's.
func (m *Model) LoadStateDict(sd map[string]*tensor.Tensor) error {
	return m.load(sd, nn.LoadStateDict)
}

// load is LoadStateDict with the loader into the network: nn.LoadStateDict
// (copy) or nn.AdoptStateDict (take over sd's tensors). Once the strict
// load has succeeded, every value New would draw is set, so the fresh
// weights are never drawn.
func (m *Model) load(sd map[string]*tensor.Tensor, into func(nn.Module, map[string]*tensor.Tensor) error) error {
	if len(sd) > 0 {
		all := true
		for k := range sd {
			if !strings.HasPrefix(k, "module.") {
				all = false
				break
			}
		}
		if all {
			stripped := make(map[string]*tensor.Tensor, len(sd))
			for k, v := range sd {
				stripped[strings.TrimPrefix(k, "module.")] = v
			}
			sd = stripped
		}
	}
	if u, ok := m.net.(upgrader); ok {
		sd = u.upgradeStateDict(sd)
	}
	if err := into(m.net, sd); err != nil {
		return fmt.Errorf("classify: %s: %w", m.name, err)
	}
	m.drawOnce.Do(func() {}) // nothing left to draw
	return nil
}

// upgrader is implemented by networks whose checkpoints exist under older
// key names (torchvision's DenseNet "norm.1" for "norm1"): it returns sd
// with the keys renamed, leaving sd itself unchanged.
type upgrader interface {
	upgradeStateDict(sd map[string]*tensor.Tensor) map[string]*tensor.Tensor
}

// Forward computes the logits [N, Classes] of a batch x [N, C, H, W]
// preprocessed as Weights().Preprocess says (C = 3 for RGB models, 1 for
// LeNet-5). The spatial size may differ from the default where the
// network allows (global pooling); a wrongly shaped x is an error wrapping
// nn.ErrShape, never a panic.
func (m *Model) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	c := m.weights.Preprocess.Channels()
	if x == nil || x.Dims() != 4 {
		var s []int
		if x != nil {
			s = x.Shape()
		}
		return nil, fmt.Errorf("%w: classify: %s: input %v, want [N, %d, H, W]", nn.ErrShape, m.name, s, c)
	}
	s := x.Shape()
	if s[0] < 1 || s[1] != c || s[2] < 1 || s[3] < 1 {
		return nil, fmt.Errorf("%w: classify: %s: input %v, want [N, %d, H, W] with N, H, W ≥ 1", nn.ErrShape, m.name, s, c)
	}
	m.fresh()
	y, err := m.net.Forward(x)
	if err != nil {
		return nil, fmt.Errorf("classify: %s: input %v: %w", m.name, s, err)
	}
	if ys := y.Shape(); len(ys) != 2 || ys[0] != s[0] || ys[1] != m.classes {
		return nil, fmt.Errorf("%w: classify: %s: input %v gives output %v, want [%d, %d]", nn.ErrShape, m.name, s, ys, s[0], m.classes)
	}
	return y, nil
}

// Prediction is one class of a Predict result.
type Prediction struct {
	Class int     `json:"class"` // class index
	Label string  `json:"label"` // its name in the model's label set
	Prob  float64 `json:"prob"`  // softmax of the logits (over Weights.Temperature)
}

// Predict preprocesses img as the model's weights expect, classifies it and
// returns the k most probable classes, most probable first (k larger than
// the number of classes is cut to it).
func (m *Model) Predict(img image.Image, k int) ([]Prediction, error) {
	if k < 1 {
		return nil, fmt.Errorf("classify: %s: top-k %d, want at least 1", m.name, k)
	}
	if img == nil {
		return nil, fmt.Errorf("classify: %s: nil image", m.name)
	}
	x, err := m.weights.Preprocess.Apply(img)
	if err != nil {
		return nil, fmt.Errorf("classify: %s: %w", m.name, err)
	}
	y, err := m.Forward(x)
	if err != nil {
		return nil, err
	}
	logits := y.Data()[:m.classes]
	if t := m.weights.Temperature; t > 0 && t != 1 {
		scaled := make([]float32, len(logits))
		for i, v := range logits {
			scaled[i] = float32(float64(v) / t)
		}
		logits = scaled
	}
	return TopK(logits, k, m.weights.Labels), nil
}

// TopK returns the k classes of the highest logits with their softmax
// probabilities, most probable first (ties by class index); labels names
// them.
func TopK(logits []float32, k int, labels LabelSet) []Prediction {
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = max(mx, float64(v))
	}
	sum := 0.0
	for _, v := range logits {
		sum += math.Exp(float64(v) - mx)
	}
	idx := make([]int, len(logits))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(logits[b], logits[a]) })
	k = min(k, len(idx))
	out := make([]Prediction, k)
	for i, c := range idx[:k] {
		out[i] = Prediction{Class: c, Label: labels.Label(c), Prob: math.Exp(float64(logits[c])-mx) / sum}
	}
	return out
}
