package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"govision.dev/bench/internal/measure"
	"govision.dev/vision/darknet"
	"govision.dev/vision/imageio"
	"govision.dev/vision/tensor"
)

// errMismatch is a peer whose outputs differ from govision's.
var errMismatch = errors.New("yolo: govision and OpenCV disagree")

// model is one network ready to time: govision's, with the files the
// peers read.
type model struct {
	name       string
	cfg        string // the cfg at the harness's size (OpenCV and darknet read it)
	weights    string
	weightsLen int64
	gflop      float64
	loadTime   time.Duration // darknet.Load's
	net        *darknet.Net
	input      *tensor.Tensor
	check      check
}

// letterboxed decodes the image at path, letterboxes it to size×size as
// darknet does, and writes the blob to dir/input.f32 for OpenCV.
func letterboxed(path string, size int, dir string) (*tensor.Tensor, error) {
	img, err := imageio.DecodeFile(path)
	if err != nil {
		return nil, fmt.Errorf("yolo: %w", err)
	}
	x, _ := imageio.Letterbox(img, size, size)
	if err := writeF32(filepath.Join(dir, "input.f32"), x.Data()); err != nil {
		return nil, err
	}
	return x, nil
}

func writeF32(path string, v []float32) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var b [4]byte
	for _, x := range v {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
		w.Write(b[:])
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func readF32(path string) ([]float32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("yolo: %s: %d bytes, not a whole number of float32s", path, len(b))
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}

// netSizeLine matches the [net] section's width= and height= lines.
var netSizeLine = regexp.MustCompile(`(?m)^(\s*(?:width|height)\s*=\s*)\d+`)

// resizedCfg returns cfg text with its [net] width and height set to
// size: the lines before the first section after [net]. It fails if the
// [net] section does not set both.
func resizedCfg(text string, size int) (string, error) {
	end := len(text)
	if i := strings.Index(text, "[net]"); i >= 0 {
		if j := strings.Index(text[i+5:], "\n["); j >= 0 {
			end = i + 5 + j
		}
	}
	head := text[:end]
	if n := len(netSizeLine.FindAllStringIndex(head, -1)); n != 2 {
		return "", fmt.Errorf("yolo: the cfg's [net] section has %d width= and height= lines, want 2", n)
	}
	head = netSizeLine.ReplaceAllString(head, "${1}"+strconv.Itoa(size))
	return head + text[end:], nil
}

// prepare writes the model's cfg at the harness's size and random weights
// into dir, loads them into govision and OpenCV, and checks that both
// compute the same outputs on input.
func prepare(cfg config, name, dir string, input *tensor.Tensor, cv *opencv) (*model, error) {
	m := &model{name: name, cfg: filepath.Join(dir, name+".cfg"), weights: filepath.Join(dir, name+".weights"), input: input}
	text, err := os.ReadFile(cfg.cfgPath(name))
	if err != nil {
		return nil, fmt.Errorf("yolo: %w (apt-get install darknet installs Debian's cfgs)", err)
	}
	resized, err := resizedCfg(string(text), cfg.size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.cfgPath(name), err)
	}
	if err := os.WriteFile(m.cfg, []byte(resized), 0o644); err != nil {
		return nil, err
	}
	fresh, err := darknet.New(cfg.cfgPath(name), darknet.WithSize(cfg.size, cfg.size), darknet.WithSeed(cfg.seed))
	if err != nil {
		return nil, err
	}
	if err := fresh.SaveWeights(m.weights); err != nil {
		return nil, err
	}
	fresh = nil
	t0 := time.Now()
	if m.net, err = darknet.Load(cfg.cfgPath(name), m.weights, darknet.WithSize(cfg.size, cfg.size)); err != nil {
		return nil, err
	}
	m.loadTime = time.Since(t0)
	m.weightsLen = m.net.WeightsLen()
	m.gflop = flops(m.net) / 1e9

	var feeding []int // the layers before the yolo layers
	for _, i := range m.net.Outputs() {
		if _, ok := m.net.Config.Layers[i].(*darknet.Yolo); !ok {
			return nil, fmt.Errorf("yolo: %s: output layer %d is a %s, not yolo", name, i, m.net.Config.Layers[i].Info().Kind)
		}
		feeding = append(feeding, i-1)
	}
	ans, err := cv.load(name, m.cfg, m.weights, filepath.Join(dir, "input.f32"), cfg.size, feeding)
	if err != nil {
		return nil, err
	}
	outs, err := m.net.Forward(input)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, o := range outs {
			o.Release()
		}
	}()
	m.check = check{model: name}
	for k, i := range m.net.Outputs() {
		got := ans.Outputs[k]
		if got.Layer != i-1 {
			return nil, fmt.Errorf("yolo: opencv_peer.py answered for layer %d, asked for %d", got.Layer, i-1)
		}
		ref, err := readF32(got.File)
		if err != nil {
			return nil, err
		}
		if len(ref) != outs[k].Len() {
			return nil, fmt.Errorf("%w: %s layer %d: OpenCV's %s is %v, govision's output %v", errMismatch, name, i, got.OpenCV, got.Shape, outs[k].Shape())
		}
		l := m.net.Config.Layers[i].(*darknet.Yolo)
		yoloLogistic(ref, len(l.Mask), l.Classes, len(ref)/(len(l.Mask)*(5+l.Classes)))
		d := relDiff(outs[k].Data(), ref)
		m.check.outputs = append(m.check.outputs, outputCheck{layer: i, opencv: got.OpenCV, shape: outs[k].Shape(), relDiff: d})
		if !(d <= relTol) {
			return nil, fmt.Errorf("%w: %s layer %d (yolo): max |Δ| = %.3g × max |y| against OpenCV's %s through the logistic, tolerance %g",
				errMismatch, name, i, d, got.OpenCV, relTol)
		}
	}
	return m, nil
}

// yoloLogistic is darknet's forward_yolo_layer on x, [A·(5+C), hw]: the
// logistic of each anchor's x, y, objectness and class scores, in double
// as darknet's logistic_activate.
func yoloLogistic(x []float32, anchors, classes, hw int) {
	e := 5 + classes
	for a := 0; a < anchors; a++ {
		blk := x[a*e*hw : (a+1)*e*hw]
		for i := range blk {
			if c := i / hw; c == 2 || c == 3 {
				continue
			}
			blk[i] = float32(1 / (1 + math.Exp(-float64(blk[i]))))
		}
	}
}

// relDiff is max |a − b| / max |b|; +Inf if a value is not finite.
func relDiff(a, b []float32) float64 {
	var d, m float64
	for i := range b {
		x, y := float64(a[i]), float64(b[i])
		if math.IsNaN(x) || math.IsNaN(y) || math.IsInf(x, 0) || math.IsInf(y, 0) {
			return math.Inf(1)
		}
		d = max(d, math.Abs(x-y))
		m = max(m, math.Abs(y))
	}
	if m == 0 {
		if d == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return d / m
}

// flops counts a forward pass's floating-point operations as darknet's
// table does: 2·F·OH·OW·(C/groups)·size² per convolution (the other
// layers are not counted).
func flops(n *darknet.Net) float64 {
	var total float64
	for i, l := range n.Config.Layers {
		c, ok := l.(*darknet.Convolutional)
		if !ok {
			continue
		}
		in := n.Channels
		if i > 0 {
			in = n.Shape(i - 1)[0]
		}
		o := n.Shape(i)
		total += 2 * float64(o[0]*o[1]*o[2]) * float64(in/c.Groups*c.Size*c.Size)
	}
	return total
}

// timeGovision measures one forward pass at the thread count set.
func (m *model) timeGovision(cfg config) (sample, error) {
	var (
		ferr  error
		calls int
		best  = time.Duration(math.MaxInt64)
	)
	med, reps := measure.Median(func() {
		t0 := time.Now()
		outs, err := m.net.Forward(m.input)
		if err != nil && ferr == nil {
			ferr = err
		}
		for _, o := range outs {
			o.Release()
		}
		if calls++; calls > cfg.warmup { // timed calls only, as OpenCV's
			best = min(best, time.Since(t0))
		}
	}, cfg.warmup, cfg.minReps, cfg.minTime)
	return sample{median: med, best: best, reps: reps}, ferr
}
