package darknet

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"govision.dev/vision/tensor"
)

// Net is a darknet network ready to run: a Config with its layer shapes
// worked out for one input size, and its weights.
//
// Forward is safe for concurrent use; loading weights, SaveWeights and
// Refresh are not safe to run concurrently with Forward — of this network
// or of any network that shares its weights (Resize).
type Net struct {
	Config *Config
	// Width, Height and Channels are the input size Forward takes: the
	// cfg's, unless WithSize overrode them.
	Width, Height, Channels int
	// Header is the header of the weights last loaded (or Major 0, Minor
	// 2 for fresh weights); SaveWeights writes Seen back.
	Header Header

	nodes   []node
	outputs []int
	plan    plan
}

// Option changes how a network is built.
type Option func(*options)

type options struct {
	width, height int
	fsys          fs.FS
	seed          uint64
	noInit        bool
	maxWeights    int64 // 0: maxWeights
	from          *Net  // Resize: share this network's weights
}

// WithSize sets the network's input size, overriding the cfg's width and
// height, as darknet does when it resizes a network (and as --imgsz does).
// Every layer must still fit: a fully convolutional network takes any
// size its strides divide, a network with a connected layer only the size
// its weights were made for.
func WithSize(width, height int) Option {
	return func(o *options) { o.width, o.height = width, height }
}

// WithFS makes relative file names in the cfg (tree=) resolve in fsys
// instead of on disk. With it, a cfg and its files can be embedded.
func WithFS(fsys fs.FS) Option {
	return func(o *options) { o.fsys = fsys }
}

// WithSeed sets the seed of the fresh weights New and Build draw (default
// 1, so that they are the same on every run).
func WithSeed(seed uint64) Option {
	return func(o *options) { o.seed = seed }
}

// WithoutInit builds the network without drawing fresh weights: its
// tensors are left zero (a batch norm's scales and variances too), to be
// read next by LoadWeights or set through Params and Refresh. Layers that
// a weights file leaves out (dontload=1, and the batch norms of
// dontloadscales=1) still get fresh values. Load uses it: drawing YOLOv3's
// 62 million normal numbers takes about a second, only for them to be
// overwritten.
func WithoutInit() Option {
	return func(o *options) { o.noInit = true }
}

// New parses the cfg file and builds its network with fresh weights, drawn
// as darknet initialises them (see Build).
func New(cfgPath string, opts ...Option) (*Net, error) {
	cfg, err := ParseFile(cfgPath)
	if err != nil {
		return nil, err
	}
	return Build(cfg, opts...)
}

// Load parses the cfg file, builds its network and reads the weights file
// (see Net.LoadWeights).
func Load(cfgPath, weightsPath string, opts ...Option) (*Net, error) {
	cfg, err := ParseFile(cfgPath)
	if err != nil {
		return nil, err
	}
	n, err := build(cfg, append(slices.Clone(opts), WithoutInit()))
	if err != nil {
		return nil, err
	}
	if err := n.LoadWeightsFile(weightsPath); err != nil {
		return nil, err
	}
	return n, nil
}

// Build works out every layer's shape for the cfg's input size (or the one
// WithSize sets), reads the WordTree files the cfg names, and gives the
// network fresh weights drawn as darknet's make_*_layer functions draw
// them: convolution weights normal with standard deviation √(2/(size²·c/
// groups)), connected and local weights uniform in ±√(2/inputs), biases 0,
// batch-norm scales 1 and means 0 — and variances 1, where darknet leaves
// them 0 (which makes a fresh darknet network's outputs explode).
//
// A layer that does not fit its input (a yolo layer after a convolution of
// the wrong number of filters, a route joining different sizes, a
// connected layer after a resize) is a *ParseError at its section.
func Build(cfg *Config, opts ...Option) (*Net, error) {
	return build(cfg, opts)
}

func build(cfg *Config, opts []Option) (*Net, error) {
	o := options{seed: 1}
	for _, f := range opts {
		f(&o)
	}
	n := &Net{Config: cfg, Width: cfg.Net.Width, Height: cfg.Net.Height, Channels: cfg.Net.Channels,
		Header: Header{Major: 0, Minor: 2}}
	if o.width != 0 || o.height != 0 {
		if o.width < 1 || o.height < 1 || o.width > maxCfgInt || o.height > maxCfgInt {
			return nil, formatErr("darknet: %s: network size %dx%d", cfg.File, o.width, o.height)
		}
		n.Width, n.Height = o.width, o.height
	}
	if n.Width < 1 || n.Height < 1 || n.Channels < 1 {
		return nil, &ParseError{Pos: cfg.Net.Pos, Section: "net",
			Msg: fmt.Sprintf("input %dx%dx%d: this package runs image networks, which need width, height and channels", n.Width, n.Height, n.Channels),
			Err: ErrUnsupported}
	}
	in := shape{c: n.Channels, h: n.Height, w: n.Width}
	if err := in.check(); err != nil {
		return nil, &ParseError{Pos: cfg.Net.Pos, Section: "net", Msg: err.Error(), Err: ErrFormat}
	}
	rng := rand.New(rand.NewPCG(o.seed, initStream))
	b := &builder{cfg: cfg, fsys: o.fsys, trees: map[string]*Tree{}, budget: maxWeights}
	if o.maxWeights > 0 {
		b.budget = o.maxWeights
	}
	if o.from != nil {
		b.from = o.from.nodes
		n.Header = o.from.Header
		for i := range o.from.nodes {
			// The WordTrees too: Resize has no file system to read them from.
			if t := o.from.Tree(i); t != nil {
				switch l := cfg.Layers[i].(type) {
				case *Region:
					b.trees[l.Tree] = t
				case *Softmax:
					b.trees[l.Tree] = t
				}
			}
		}
	}
	for i, l := range cfg.Layers {
		if err := b.check(l, i); err != nil {
			return nil, err
		}
		prev := in
		if i > 0 {
			prev = n.nodes[i-1].out()
		}
		nd, err := b.node(l, prev, n.nodes)
		if err != nil {
			return nil, err
		}
		if err := nd.out().check(); err != nil {
			return nil, b.err(l, "output %s", err)
		}
		// Load skips drawing weights it will read, but not those of
		// layers the weights file leaves out; Resize shares the
		// weights, with what is derived from them.
		switch c := l.Info().Common; {
		case o.from != nil:
		case !o.noInit || c.DontLoad || c.DontLoadScales:
			nd.init(rng)
			nd.loaded()
		default:
			nd.loaded()
		}
		n.nodes = append(n.nodes, nd)
	}
	if len(n.nodes) == 0 {
		return nil, &ParseError{Pos: cfg.Net.Pos, Section: "net", Msg: "no layers", Err: ErrFormat}
	}
	n.outputs = outputLayers(cfg)
	n.plan = makePlan(n.nodes, n.outputs, true)
	return n, nil
}

// Resize returns the network at another input size, width×height, as
// WithSize would build it, sharing n's weights: no tensor is copied, so
// loading weights into either network (or changing a tensor Params
// returns, then calling Refresh on either) changes both. At n's own size
// it returns n.
//
// A network whose weights depend on the input size — a connected or local
// layer's, sized for the cfg's input — cannot be resized: that, like a
// size some layer does not fit, is an error naming the layer (a
// *ParseError, as Build returns).
func (n *Net) Resize(width, height int) (*Net, error) {
	if width == n.Width && height == n.Height {
		return n, nil
	}
	return build(n.Config, []Option{WithSize(width, height), func(o *options) { o.from = n }})
}

// outputLayers lists the layers whose outputs Forward returns: the yolo,
// region and detection layers, or else the last layer that is not [cost]
// (darknet's get_network_output_layer).
func outputLayers(cfg *Config) []int {
	var out []int
	for i, l := range cfg.Layers {
		switch l.(type) {
		case *Yolo, *Region, *Detection:
			out = append(out, i)
		}
	}
	if len(out) > 0 {
		return out
	}
	i := len(cfg.Layers) - 1
	for i > 0 {
		if _, ok := cfg.Layers[i].(*Cost); !ok {
			break
		}
		i--
	}
	return []int{i}
}

// Outputs returns the indices of the layers whose outputs Forward returns,
// in order.
func (n *Net) Outputs() []int { return slices.Clone(n.outputs) }

// Shape returns layer i's output shape, [C, H, W] (the tensor Forward
// would give is [N, C, H, W]).
func (n *Net) Shape(i int) [3]int {
	s := n.nodes[i].out()
	return [3]int{s.c, s.h, s.w}
}

// Param is one of a layer's tensors.
type Param struct {
	Name   string // darknet's: "biases", "scales", "rolling_mean", "rolling_variance", "weights"
	Tensor *tensor.Tensor
}

// Params returns layer i's tensors, in the order of the weights file: a
// convolution's biases [F], then scales, rolling_mean and rolling_variance
// [F] if it has a batch norm, then weights [F, C/groups, size, size]; a
// connected layer's biases [O], weights [O, I], then the batch norm's; a
// local layer's biases [F, OH, OW] and weights [OH·OW, F, C·size·size].
// The tensors are the network's own: after changing them, call Refresh.
func (n *Net) Params(i int) []Param { return n.nodes[i].params() }

// NumParams counts the values of every layer's tensors.
func (n *Net) NumParams() int {
	total := 0
	for _, nd := range n.nodes {
		for _, p := range nd.params() {
			total += p.Tensor.Len()
		}
	}
	return total
}

// Tree returns the WordTree layer i uses (a region or softmax layer with
// tree=), or nil.
func (n *Net) Tree(i int) *Tree {
	switch nd := n.nodes[i].(type) {
	case *regionNode:
		return nd.tree
	case *softmaxNode:
		return nd.tree
	}
	return nil
}

// Init draws fresh weights into every layer from seed: the values Build
// gives for that seed (WithSeed) without WithoutInit. It is how a network
// built WithoutInit gets them after all, when no weights file came; it
// must not run concurrently with Forward.
func (n *Net) Init(seed uint64) {
	rng := rand.New(rand.NewPCG(seed, initStream))
	for _, nd := range n.nodes {
		nd.init(rng)
	}
	n.Refresh()
}

// initStream is the second word of the PCG state Build and Init seed.
const initStream = 0x9e3779b97f4a7c15

// Refresh recomputes what the layers derive from their tensors (the folded
// batch norms). LoadWeights calls it; call it after changing a tensor that
// Params returned.
func (n *Net) Refresh() {
	for _, nd := range n.nodes {
		nd.loaded()
	}
}

// shape is a layer output's [C, H, W].
type shape struct{ c, h, w int }

// maxValues bounds a layer's output per image: 2^28 float32s (1 GiB) is
// far beyond any real network's (YOLOv3 at 608×608: 2^24.5).
const maxValues = 1 << 28

// maxWeights bounds a network's weights: 2^30 float32s (4 GiB), beyond
// any darknet network (YOLOv1's local layer alone holds 2^26.8, YOLOv3
// 2^25.9 in all), so that a hostile cfg cannot make Build allocate
// without end.
const maxWeights = 1 << 30

func (s shape) len() int { return s.c * s.h * s.w }

func (s shape) String() string { return fmt.Sprintf("%dx%dx%d (CxHxW)", s.c, s.h, s.w) }

func (s shape) check() error {
	if s.c < 1 || s.h < 1 || s.w < 1 {
		return fmt.Errorf("%s is empty", s)
	}
	if s.c > maxValues/s.h/s.w {
		return fmt.Errorf("%s is too large", s)
	}
	return nil
}

// node is a layer ready to run.
type node interface {
	// in returns the layers whose outputs Forward reads, -1 meaning the
	// network's input.
	in() []int
	out() shape
	// params lists the tensors in weights-file order.
	params() []Param
	// init draws fresh weights.
	init(rng *rand.Rand)
	// loaded recomputes derived state after the tensors changed.
	loaded()
	// forward computes the layer's output for xs, the outputs of in(), all
	// of batch size nb.
	forward(xs []*tensor.Tensor, nb int) (*tensor.Tensor, error)
}

// aliasing is implemented by layers whose output is their input itself
// (dropout, cost, a route of one layer).
type aliasing interface{ aliases() bool }

type builder struct {
	cfg    *Config
	fsys   fs.FS
	trees  map[string]*Tree
	budget int64  // weights the layers still to come may have
	from   []node // Resize: the layers whose weights to share, by index
}

// shared returns the layer of b.from that l's weights come from, or nil
// when l gets its own.
func (b *builder) shared(l Layer) node {
	if b.from == nil {
		return nil
	}
	return b.from[l.Info().Index]
}

// take reserves n weights for layer l, or fails if the network would have
// too many.
func (b *builder) take(l Layer, n int64) error {
	if n > b.budget {
		return b.err(l, "%d weights: more than the %d a network may have", n, maxWeights)
	}
	b.budget -= n
	return nil
}

func (b *builder) err(l Layer, format string, args ...any) *ParseError {
	i := l.Info()
	return &ParseError{Pos: i.Pos, Section: i.Name, Msg: fmt.Sprintf(format, args...), Err: ErrFormat}
}

func (b *builder) unsupported(l Layer, format string, args ...any) *ParseError {
	e := b.err(l, format, args...)
	e.Err = ErrUnsupported
	return e
}

// check verifies what Parse guarantees, for a Config built or changed by
// hand: indices before layer i, sizes, strides, groups and counts of at
// least 1, masks within the anchors.
func (b *builder) check(l Layer, i int) error {
	if l == nil {
		return &ParseError{Pos: Pos{File: b.cfg.File}, Msg: fmt.Sprintf("layer %d is nil", i), Err: ErrFormat}
	}
	if l.Info().Index != i {
		return b.err(l, "layer %d has index %d", i, l.Info().Index)
	}
	bad := func(what string, v, lo int) error {
		if v < lo || v > maxCfgInt {
			return b.err(l, "%s %d, want %d to %d", what, v, lo, maxCfgInt)
		}
		return nil
	}
	var errs []error
	add := func(what string, v, lo int) { errs = append(errs, bad(what, v, lo)) }
	earlier := func(what string, j int) {
		if j < 0 || j >= i {
			errs = append(errs, b.err(l, "%s %d is not an earlier layer: this is layer %d", what, j, i))
		}
	}
	switch l := l.(type) {
	case *Convolutional:
		add("filters", l.Filters, 1)
		add("size", l.Size, 1)
		add("stride", l.Stride, 1)
		add("groups", l.Groups, 1)
		add("padding", l.Padding, 0)
		if l.Groups > 0 && l.Filters%l.Groups != 0 {
			errs = append(errs, b.err(l, "%d filters are not divisible into %d groups", l.Filters, l.Groups))
		}
	case *Connected:
		add("output", l.Output, 1)
	case *Local:
		add("filters", l.Filters, 1)
		add("size", l.Size, 1)
		add("stride", l.Stride, 1)
		add("pad", l.Pad, 0)
	case *MaxPool:
		add("size", l.Size, 1)
		add("stride", l.Stride, 1)
		add("padding", l.Padding, 0)
	case *Route:
		if len(l.Layers) == 0 {
			errs = append(errs, b.err(l, "no layers"))
		}
		for _, j := range l.Layers {
			earlier("layer", j)
		}
	case *Shortcut:
		earlier("from", l.From)
	case *Upsample:
		add("stride", l.Stride, 1)
	case *Reorg:
		add("stride", l.Stride, 1)
	case *Softmax:
		add("groups", l.Groups, 1)
	case *Crop:
		add("crop_height", l.CropHeight, 1)
		add("crop_width", l.CropWidth, 1)
	case *Region:
		add("coords", l.Coords, 4)
		add("classes", l.Classes, 0)
		add("num", l.Num, 1)
		if len(l.Anchors) != 2*l.Num {
			errs = append(errs, b.err(l, "%d anchors, want 2·num = %d", len(l.Anchors), 2*l.Num))
		}
	case *Yolo:
		add("classes", l.Classes, 0)
		add("num", l.Num, 1)
		if len(l.Mask) == 0 || len(l.Anchors) != 2*l.Num {
			errs = append(errs, b.err(l, "mask %v and %d anchors for num=%d", l.Mask, len(l.Anchors), l.Num))
		}
		for _, m := range l.Mask {
			if m < 0 || m >= l.Num {
				errs = append(errs, b.err(l, "mask %v: anchor %d is not one of the num=%d anchors", l.Mask, m, l.Num))
				break
			}
		}
	case *Detection:
		add("coords", l.Coords, 0)
		add("classes", l.Classes, 0)
		add("num", l.Num, 1)
		add("side", l.Side, 1)
	}
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// prevIndex is the index of the layer before l, -1 for the input.
func prevIndex(l Layer) int { return l.Info().Index - 1 }

func (b *builder) node(l Layer, in shape, done []node) (node, error) {
	switch l := l.(type) {
	case *Convolutional:
		return b.conv(l, in)
	case *Connected:
		return b.connected(l, in)
	case *Local:
		return b.local(l, in)
	case *MaxPool:
		o := shape{c: in.c, h: (in.h+l.Padding-l.Size)/l.Stride + 1, w: (in.w+l.Padding-l.Size)/l.Stride + 1}
		if in.h+l.Padding < l.Size || in.w+l.Padding < l.Size {
			return nil, b.err(l, "input %s is smaller than the %dx%d window with padding %d", in, l.Size, l.Size, l.Padding)
		}
		return &maxPoolNode{cfg: l, prev: prevIndex(l), inS: in, o: o}, nil
	case *AvgPool:
		return &avgPoolNode{prev: prevIndex(l), inS: in}, nil
	case *Route:
		return b.route(l, done)
	case *Shortcut:
		return b.shortcut(l, in, done)
	case *Upsample:
		o := shape{c: in.c, h: in.h * l.Stride, w: in.w * l.Stride}
		if l.Reverse {
			o.h, o.w = in.h/l.Stride, in.w/l.Stride
		}
		if l.Stride > maxCfgInt/in.h || l.Stride > maxCfgInt/in.w {
			return nil, b.err(l, "input %s upsampled by %d is too large", in, l.Stride)
		}
		if l.Reverse && (in.h%l.Stride != 0 || in.w%l.Stride != 0) {
			return nil, b.err(l, "input %s: height and width not divisible by stride %d", in, l.Stride)
		}
		return &upsampleNode{cfg: l, prev: prevIndex(l), inS: in, o: o}, nil
	case *Reorg:
		s2 := l.Stride * l.Stride
		if l.Stride > in.h || l.Stride > in.w || l.Stride > maxCfgInt/l.Stride {
			return nil, b.err(l, "stride %d does not fit input %s", l.Stride, in)
		}
		if in.c%s2 != 0 {
			// darknet's reorg reads the input as if it had c/stride²
			// channels of a stride-times larger plane, in either direction.
			return nil, b.err(l, "input %s: channels not divisible by stride² = %d", in, s2)
		}
		o := shape{c: in.c * s2, h: in.h / l.Stride, w: in.w / l.Stride}
		if l.Reverse {
			o = shape{c: in.c / s2, h: in.h * l.Stride, w: in.w * l.Stride}
		} else if in.h%l.Stride != 0 || in.w%l.Stride != 0 {
			return nil, b.err(l, "input %s: height and width not divisible by stride %d", in, l.Stride)
		}
		return &reorgNode{cfg: l, prev: prevIndex(l), inS: in, o: o}, nil
	case *Dropout:
		return &identityNode{prev: prevIndex(l), s: in}, nil
	case *Cost:
		return &identityNode{prev: prevIndex(l), s: in}, nil
	case *Softmax:
		return b.softmax(l, in)
	case *Crop:
		if l.CropHeight > in.h || l.CropWidth > in.w {
			return nil, b.err(l, "crop %dx%d from input %s", l.CropHeight, l.CropWidth, in)
		}
		return &cropNode{cfg: l, prev: prevIndex(l), inS: in, o: shape{c: in.c, h: l.CropHeight, w: l.CropWidth}}, nil
	case *Region:
		return b.region(l, in)
	case *Yolo:
		if want := len(l.Mask) * (l.Classes + 5); in.c != want {
			return nil, b.err(l, "input %s: %d masked anchors × (%d classes + 5) need %d channels", in, len(l.Mask), l.Classes, want)
		}
		return &yoloNode{cfg: l, prev: prevIndex(l), s: in}, nil
	case *Detection:
		want := l.Side * l.Side * ((1+l.Coords)*l.Num + l.Classes)
		if in.len() != want {
			return nil, b.err(l, "input %s holds %d values; side² × ((1+coords)·num + classes) = %d", in, in.len(), want)
		}
		return &detectionNode{cfg: l, prev: prevIndex(l), s: in}, nil
	}
	return nil, b.err(l, "no implementation for %T", l)
}

func (b *builder) conv(l *Convolutional, in shape) (node, error) {
	if in.c%l.Groups != 0 {
		return nil, b.err(l, "input %s: %d channels not divisible into %d groups", in, in.c, l.Groups)
	}
	oh := (in.h+2*l.Padding-l.Size)/l.Stride + 1
	ow := (in.w+2*l.Padding-l.Size)/l.Stride + 1
	if in.h+2*l.Padding < l.Size || in.w+2*l.Padding < l.Size {
		return nil, b.err(l, "input %s is smaller than the %dx%d kernel with padding %d", in, l.Size, l.Size, l.Padding)
	}
	nw := int64(l.Filters) * int64(in.c/l.Groups) * int64(l.Size) * int64(l.Size)
	if err := b.take(l, nw+4*int64(l.Filters)); err != nil {
		return nil, err
	}
	c := &convNode{cfg: l, prev: prevIndex(l), inS: in, o: shape{c: l.Filters, h: oh, w: ow}}
	if src, ok := b.shared(l).(*convNode); ok {
		if src.inS.c != in.c {
			return nil, b.err(l, "input %s: the shared weights take %d channels", in, src.inS.c)
		}
		c.convWeights = src.convWeights
		return c, nil
	}
	c.alloc()
	return c, nil
}

func (b *builder) connected(l *Connected, in shape) (node, error) {
	if err := b.take(l, int64(in.len())*int64(l.Output)+4*int64(l.Output)); err != nil {
		return nil, err
	}
	c := &connectedNode{cfg: l, prev: prevIndex(l), inputs: in.len()}
	if src, ok := b.shared(l).(*connectedNode); ok {
		if src.inputs != c.inputs {
			return nil, b.err(l, "input %s: the weights take %d inputs, not %d (a connected layer fixes the input size)", in, src.inputs, c.inputs)
		}
		c.connectedWeights = src.connectedWeights
		return c, nil
	}
	c.alloc()
	return c, nil
}

func (b *builder) local(l *Local, in shape) (node, error) {
	// darknet's local_out_height: a nonzero pad shrinks the plane by 1,
	// else by size; its forward pass then pads by pad pixels in im2col,
	// which only agrees with that size for some settings.
	oh, ow := in.h-l.Size, in.w-l.Size
	if l.Pad != 0 {
		oh, ow = in.h-1, in.w-1
	}
	if oh < 0 || ow < 0 {
		return nil, b.err(l, "input %s is smaller than the %dx%d window", in, l.Size, l.Size)
	}
	if in.h+2*l.Pad < l.Size || in.w+2*l.Pad < l.Size {
		return nil, b.err(l, "input %s is smaller than the %dx%d window with padding %d", in, l.Size, l.Size, l.Pad)
	}
	oh, ow = oh/l.Stride+1, ow/l.Stride+1
	ch := (in.h+2*l.Pad-l.Size)/l.Stride + 1
	cw := (in.w+2*l.Pad-l.Size)/l.Stride + 1
	if ch != oh || cw != ow {
		return nil, b.unsupported(l, "size %d with pad %d: darknet's output (%dx%d) and the positions it reads (%dx%d) disagree",
			l.Size, l.Pad, oh, ow, ch, cw)
	}
	if err := b.take(l, int64(oh*ow)*int64(l.Filters)*int64(in.c*l.Size*l.Size+1)); err != nil {
		return nil, err
	}
	c := &localNode{cfg: l, prev: prevIndex(l), inS: in, o: shape{c: l.Filters, h: oh, w: ow}}
	if src, ok := b.shared(l).(*localNode); ok {
		if src.inS != in {
			return nil, b.err(l, "input %s: the weights are for %s (a local layer fixes the input size)", in, src.inS)
		}
		c.localWeights = src.localWeights
		return c, nil
	}
	c.alloc()
	return c, nil
}

func (b *builder) route(l *Route, done []node) (node, error) {
	r := &routeNode{layers: l.Layers}
	first := done[l.Layers[0]].out()
	r.o = first
	for _, j := range l.Layers[1:] {
		s := done[j].out()
		if s.h != first.h || s.w != first.w {
			return nil, b.err(l, "layer %d's output %s and layer %d's %s differ in size", l.Layers[0], first, j, s)
		}
		r.o.c += s.c
	}
	return r, nil
}

func (b *builder) shortcut(l *Shortcut, in shape, done []node) (node, error) {
	from := done[l.From].out()
	// darknet's shortcut_cpu: the sizes must be equal or differ by an
	// integer factor, the same on both axes (it asserts as much).
	if from.w/in.w != from.h/in.h || in.w/from.w != in.h/from.h {
		return nil, b.err(l, "layer %d's output %s does not fit the input %s", l.From, from, in)
	}
	return &shortcutNode{cfg: l, prev: prevIndex(l), s: in, fromS: from}, nil
}

func (b *builder) softmax(l *Softmax, in shape) (node, error) {
	s := &softmaxNode{cfg: l, prev: prevIndex(l), s: in}
	if l.Tree != "" {
		t, err := b.tree(l, l.Tree)
		if err != nil {
			return nil, err
		}
		if t.Len() != in.len() {
			return nil, b.err(l, "tree %s has %d classes, the input %s %d values", l.Tree, t.Len(), in, in.len())
		}
		s.tree = t
	} else if in.len()%l.Groups != 0 {
		return nil, b.err(l, "input %s: %d values not divisible into %d groups", in, in.len(), l.Groups)
	}
	return s, nil
}

func (b *builder) region(l *Region, in shape) (node, error) {
	if want := l.Num * (l.Coords + l.Classes + 1); in.c != want {
		return nil, b.err(l, "input %s: num %d × (coords %d + classes %d + 1) needs %d channels", in, l.Num, l.Coords, l.Classes, want)
	}
	r := &regionNode{cfg: l, prev: prevIndex(l), s: in}
	if l.Tree != "" {
		t, err := b.tree(l, l.Tree)
		if err != nil {
			return nil, err
		}
		if t.Len() != l.Classes {
			return nil, b.err(l, "tree %s has %d classes, the layer %d", l.Tree, t.Len(), l.Classes)
		}
		r.tree = t
	}
	return r, nil
}

// tree reads a WordTree file named in the cfg. An absolute name is read as
// is; a relative one in WithFS's file system if set, else relative to the
// cfg's folder, its parent (darknet's layout: cfg/ beside data/) and the
// working directory, in that order.
func (b *builder) tree(l Layer, name string) (*Tree, error) {
	if t, ok := b.trees[name]; ok {
		return t, nil
	}
	var tried []string
	open := func(p string) (io.ReadCloser, error) {
		tried = append(tried, p)
		if b.fsys != nil {
			return b.fsys.Open(p)
		}
		return os.Open(p)
	}
	var candidates []string
	switch {
	case b.fsys != nil:
		candidates = []string{path.Clean(filepath.ToSlash(name))}
	case filepath.IsAbs(name):
		candidates = []string{name}
	default:
		dir := filepath.Dir(b.cfg.File)
		candidates = []string{filepath.Join(dir, name), filepath.Join(dir, "..", name), name}
	}
	for _, p := range candidates {
		f, err := open(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, b.err(l, "tree %s: %v", name, err)
		}
		t, err := ReadTree(f)
		f.Close()
		if err != nil {
			return nil, b.err(l, "tree %s: %s", p, strings.TrimPrefix(err.Error(), "darknet: "))
		}
		b.trees[name] = t
		return t, nil
	}
	return nil, b.err(l, "tree file %s not found (tried %v)", name, tried)
}
