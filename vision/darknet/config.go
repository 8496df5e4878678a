package darknet

import "fmt"

// Config is a parsed cfg file: the [net] options and the layers in order.
// Layers[i] is darknet's layer i (the [net] section has no index), the
// index routes and shortcuts refer to.
type Config struct {
	File   string // as given to Parse
	Net    NetOptions
	Layers []Layer
}

// Layer is one section after [net]: one of *Convolutional, *Connected,
// *Local, *MaxPool, *AvgPool, *Route, *Shortcut, *Upsample, *Reorg,
// *Dropout, *Softmax, *Cost, *Crop, *Region, *Yolo, *Detection.
type Layer interface {
	// Info returns what every layer has: where it was declared and the
	// options darknet reads for every layer.
	Info() *LayerInfo
}

// LayerInfo is what every layer has.
type LayerInfo struct {
	Pos          // where the section header is
	Kind  string // the canonical section name: "convolutional" for [conv] too
	Name  string // the section name as written
	Index int    // darknet's layer index
	Common
}

// Info returns l itself; the layer types embed LayerInfo.
func (l *LayerInfo) Info() *LayerInfo { return l }

// Common holds the options darknet's parse_network_cfg reads for every
// layer. DontLoad, DontLoadScales and DontSave change what the weights
// file holds (see Net.LoadWeights); the rest only matter for training.
type Common struct {
	Truth          bool    // truth
	OnlyForward    bool    // onlyforward
	StopBackward   bool    // stopbackward
	DontSave       bool    // dontsave: SaveWeights skips the layer
	DontLoad       bool    // dontload: LoadWeights skips the layer
	NumLoad        int     // numload (refused unless 0)
	DontLoadScales bool    // dontloadscales: no batch-norm values in the file
	LearningRate   float32 // learning_rate: this layer's scale of the rate, default 1
	Smooth         float32 // smooth
}

func parseCommon(s *section) Common {
	c := Common{
		Truth:          s.Bool("truth", false),
		OnlyForward:    s.Bool("onlyforward", false),
		StopBackward:   s.Bool("stopbackward", false),
		DontSave:       s.Bool("dontsave", false),
		DontLoad:       s.Bool("dontload", false),
		NumLoad:        s.Int("numload", 0),
		DontLoadScales: s.Bool("dontloadscales", false),
		LearningRate:   s.Float("learning_rate", 1),
		Smooth:         s.Float("smooth", 0),
	}
	if c.NumLoad != 0 {
		s.fail(&ParseError{Pos: s.pos(s.findNoMark("numload").line), Section: s.name, Key: "numload",
			Msg: "partial loading is not supported", Err: ErrUnsupported})
	}
	return c
}

// NetOptions is the [net] section (parser.c: parse_net_options). Only
// Width, Height and Channels matter for inference; the rest are training
// settings, kept as read. Defaults are darknet's.
type NetOptions struct {
	Pos
	Batch, Subdivisions, TimeSteps int
	NoTruth                        bool
	LearningRate, Momentum, Decay  float32
	Adam                           bool
	B1, B2, Eps                    float32 // only with adam=1
	Width, Height, Channels        int
	Inputs                         int // width·height·channels unless set
	MaxCrop, MinCrop               int
	MaxRatio, MinRatio             float32
	Center                         bool
	Clip                           float32
	Angle, Aspect                  float32
	Saturation, Exposure, Hue      float32
	Random                         bool
	Policy                         string // constant, step, steps, exp, sigmoid, poly, random
	BurnIn                         int
	Power                          float32
	Step                           int       // policy step or sigmoid
	Scale                          float32   // policy step
	Gamma                          float32   // policy exp or sigmoid
	Steps                          []int     // policy steps
	Scales                         []float32 // policy steps
	MaxBatches                     int
}

var policies = map[string]bool{"constant": true, "step": true, "steps": true, "exp": true, "sigmoid": true, "poly": true, "random": true}

func parseNet(s *section) NetOptions {
	n := NetOptions{Pos: s.pos(s.line)}
	n.Batch = s.Int("batch", 1)
	n.LearningRate = s.Float("learning_rate", .001)
	n.Momentum = s.Float("momentum", .9)
	n.Decay = s.Float("decay", .0001)
	n.Subdivisions = s.Int("subdivisions", 1)
	n.TimeSteps = s.Int("time_steps", 1)
	n.NoTruth = s.Bool("notruth", false)
	n.Random = s.Bool("random", false)
	n.Adam = s.Bool("adam", false)
	if n.Adam {
		n.B1 = s.Float("B1", .9)
		n.B2 = s.Float("B2", .999)
		n.Eps = s.Float("eps", .0000001)
	}
	n.Height = s.Int("height", 0)
	n.Width = s.Int("width", 0)
	n.Channels = s.Int("channels", 0)
	n.Inputs = s.Int("inputs", n.Height*n.Width*n.Channels)
	n.MaxCrop = s.Int("max_crop", n.Width*2)
	n.MinCrop = s.Int("min_crop", n.Width)
	var maxRatio, minRatio float32
	if n.Width != 0 {
		maxRatio, minRatio = float32(n.MaxCrop)/float32(n.Width), float32(n.MinCrop)/float32(n.Width)
	}
	n.MaxRatio = s.Float("max_ratio", maxRatio)
	n.MinRatio = s.Float("min_ratio", minRatio)
	n.Center = s.Bool("center", false)
	n.Clip = s.Float("clip", 0)
	n.Angle = s.Float("angle", 0)
	n.Aspect = s.Float("aspect", 1)
	n.Saturation = s.Float("saturation", 1)
	n.Exposure = s.Float("exposure", 1)
	n.Hue = s.Float("hue", 0)
	for _, k := range []string{"batch", "subdivisions", "time_steps"} {
		s.atLeast(k, s.Int(k, 1), 1)
	}
	for _, k := range []string{"height", "width", "channels", "inputs"} {
		s.atLeast(k, s.Int(k, 0), 0)
	}
	if n.Inputs == 0 && (n.Height == 0 || n.Width == 0 || n.Channels == 0) {
		s.sectionErr(ErrFormat, "no input size: set width, height and channels (or inputs)")
	}
	n.Policy = s.String("policy", "constant")
	if !policies[n.Policy] {
		o := s.findNoMark("policy")
		s.keyErr(o, "unknown learning-rate policy %q", n.Policy)
	}
	n.BurnIn = s.Int("burn_in", 0)
	n.Power = s.Float("power", 4)
	switch n.Policy {
	case "step":
		n.Step = s.Int("step", 1)
		n.Scale = s.Float("scale", 1)
	case "steps":
		n.Steps = s.Ints("steps")
		n.Scales = s.Floats("scales")
		if s.err == nil && (n.Steps == nil || n.Scales == nil) {
			s.sectionErr(ErrFormat, "policy=steps needs steps and scales")
		} else if s.err == nil && len(n.Steps) != len(n.Scales) {
			s.keyErr(s.findNoMark("scales"), "%d scales for %d steps", len(n.Scales), len(n.Steps))
		}
	case "exp":
		n.Gamma = s.Float("gamma", 1)
	case "sigmoid":
		n.Gamma = s.Float("gamma", 1)
		n.Step = s.Int("step", 1)
	}
	n.MaxBatches = s.Int("max_batches", 0)
	return n
}

// parsers is the table of section parsers, by canonical section name.
var parsers = map[string]func(*section) Layer{
	"convolutional": parseConvolutional,
	"connected":     parseConnected,
	"local":         parseLocal,
	"maxpool":       parseMaxPool,
	"avgpool":       parseAvgPool,
	"route":         parseRoute,
	"shortcut":      parseShortcut,
	"upsample":      parseUpsample,
	"reorg":         parseReorg,
	"dropout":       parseDropout,
	"softmax":       parseSoftmax,
	"cost":          parseCost,
	"crop":          parseCrop,
	"region":        parseRegion,
	"yolo":          parseYolo,
	"detection":     parseDetection,
}

// Convolutional is [convolutional] (or [conv]): a 2-D convolution, with a
// batch norm (batch_normalize=1) or a bias, then an activation.
type Convolutional struct {
	LayerInfo
	Filters, Size, Stride int
	Pad                   bool // pad=1: Padding is Size/2
	Padding               int  // zero rows and columns on each side
	Groups                int
	Activation            Activation // default logistic
	BatchNormalize        bool
	Flipped               bool    // weights stored transposed, [C·Size·Size][Filters]
	Dot                   float32 // training only
}

func parseConvolutional(s *section) Layer {
	l := &Convolutional{
		Filters: s.Int("filters", 1),
		Size:    s.Int("size", 1),
		Stride:  s.Int("stride", 1),
		Pad:     s.Bool("pad", false),
		Padding: s.Int("padding", 0),
		Groups:  s.Int("groups", 1),
	}
	if l.Pad {
		l.Padding = l.Size / 2
	}
	l.Activation = s.Activation("activation", Logistic)
	l.BatchNormalize = s.Bool("batch_normalize", false)
	for _, k := range []string{"binary", "xnor"} {
		if s.Bool(k, false) {
			s.fail(&ParseError{Pos: s.pos(s.findNoMark(k).line), Section: s.name, Key: k,
				Msg: "binary (XNOR) convolutions are not supported", Err: ErrUnsupported})
		}
	}
	l.Flipped = s.Bool("flipped", false)
	l.Dot = s.Float("dot", 0)
	s.atLeast("filters", l.Filters, 1)
	s.atLeast("size", l.Size, 1)
	s.atLeast("stride", l.Stride, 1)
	s.atLeast("groups", l.Groups, 1)
	s.atLeast("padding", l.Padding, 0)
	if l.Filters%l.Groups != 0 && s.err == nil {
		s.keyErr(s.findNoMark("groups"), "%d filters are not divisible into %d groups", l.Filters, l.Groups)
	}
	if l.Flipped && l.Groups > 1 && s.err == nil {
		s.keyErr(s.findNoMark("flipped"), "flipped weights with groups=%d: darknet transposes them wrongly", l.Groups)
	}
	return l
}

// Connected is [connected] (or [conn]): a fully connected layer on the
// flattened input, with a batch norm or a bias, then an activation.
type Connected struct {
	LayerInfo
	Output         int
	Activation     Activation // default logistic
	BatchNormalize bool
}

func parseConnected(s *section) Layer {
	l := &Connected{
		Output:         s.Int("output", 1),
		Activation:     s.Activation("activation", Logistic),
		BatchNormalize: s.Bool("batch_normalize", false),
	}
	s.atLeast("output", l.Output, 1)
	return l
}

// Local is [local]: a locally connected layer, a convolution with separate
// weights at every output position (YOLOv1).
type Local struct {
	LayerInfo
	Filters, Size, Stride int
	Pad                   int        // as darknet: nonzero shrinks the output by 1, and pads this many pixels
	Activation            Activation // default logistic
}

func parseLocal(s *section) Layer {
	l := &Local{
		Filters:    s.Int("filters", 1),
		Size:       s.Int("size", 1),
		Stride:     s.Int("stride", 1),
		Pad:        s.Int("pad", 0),
		Activation: s.Activation("activation", Logistic),
	}
	s.atLeast("filters", l.Filters, 1)
	s.atLeast("size", l.Size, 1)
	s.atLeast("stride", l.Stride, 1)
	s.atLeast("pad", l.Pad, 0)
	return l
}

// MaxPool is [maxpool] (or [max]): the maximum over Size×Size windows,
// darknet's way: Padding (default Size−1) is the total padding per axis,
// Padding/2 of it before; the output is (W + Padding − Size)/Stride + 1.
type MaxPool struct {
	LayerInfo
	Size, Stride, Padding int
}

func parseMaxPool(s *section) Layer {
	l := &MaxPool{Stride: s.Int("stride", 1)}
	l.Size = s.Int("size", l.Stride)
	l.Padding = s.Int("padding", l.Size-1)
	s.atLeast("stride", l.Stride, 1)
	s.atLeast("size", l.Size, 1)
	s.atLeast("padding", l.Padding, 0)
	return l
}

// AvgPool is [avgpool] (or [avg]): the global average of each channel.
type AvgPool struct{ LayerInfo }

func parseAvgPool(*section) Layer { return &AvgPool{} }

// Route is [route]: the outputs of earlier layers joined along the
// channels (or one earlier layer's output as is).
type Route struct {
	LayerInfo
	Layers []int // absolute indices; the cfg's negative ones are relative
}

func parseRoute(s *section) Layer {
	l := &Route{}
	if !s.has("layers") {
		s.sectionErr(ErrFormat, "route needs layers=")
		return l
	}
	raw := s.Ints("layers")
	o := s.findNoMark("layers")
	for _, v := range raw {
		abs := v
		if v < 0 {
			abs = s.index + v
		}
		if abs < 0 || abs >= s.index {
			s.keyErr(o, "layer %d (absolute %d) is not an earlier layer: this is layer %d", v, abs, s.index)
			return l
		}
		l.Layers = append(l.Layers, abs)
	}
	return l
}

// Shortcut is [shortcut]: the previous layer's output plus layer From's
// (Alpha·prev + Beta·from), then an activation (ResNet's residual sum).
type Shortcut struct {
	LayerInfo
	From        int        // absolute index
	Activation  Activation // default linear
	Alpha, Beta float32    // default 1, 1
}

func parseShortcut(s *section) Layer {
	l := &Shortcut{}
	if !s.has("from") {
		s.sectionErr(ErrFormat, "shortcut needs from=")
	} else {
		o := s.findNoMark("from")
		v := s.Int("from", 0)
		l.From = v
		if v < 0 {
			l.From = s.index + v
		}
		if s.err == nil && (l.From < 0 || l.From >= s.index) {
			s.keyErr(o, "layer %d (absolute %d) is not an earlier layer: this is layer %d", v, l.From, s.index)
		}
	}
	l.Activation = s.Activation("activation", Linear)
	l.Alpha = s.Float("alpha", 1)
	l.Beta = s.Float("beta", 1)
	return l
}

// Upsample is [upsample]: nearest-neighbour upsampling by Stride, times
// Scale. A negative stride in the cfg is darknet's reverse mode, summing
// Stride×Stride blocks (times Scale) instead; Reverse is then true and
// Stride positive.
type Upsample struct {
	LayerInfo
	Stride  int
	Reverse bool
	Scale   float32
}

func parseUpsample(s *section) Layer {
	l := &Upsample{Stride: s.Int("stride", 2), Scale: s.Float("scale", 1)}
	if l.Stride < 0 {
		l.Stride, l.Reverse = -l.Stride, true
	}
	s.atLeast("stride", l.Stride, 1)
	return l
}

// Reorg is [reorg]: darknet's space-to-depth by Stride (YOLOv2's
// passthrough), with darknet's own index mapping (see reorg in ops.go).
type Reorg struct {
	LayerInfo
	Stride  int
	Reverse bool
}

func parseReorg(s *section) Layer {
	l := &Reorg{Stride: s.Int("stride", 1), Reverse: s.Bool("reverse", false)}
	for _, k := range []string{"flatten", "extra"} {
		if s.Int(k, 0) != 0 {
			s.fail(&ParseError{Pos: s.pos(s.findNoMark(k).line), Section: s.name, Key: k,
				Msg: "reorg's " + k + " mode is not supported", Err: ErrUnsupported})
		}
	}
	s.atLeast("stride", l.Stride, 1)
	return l
}

// Dropout is [dropout]: the identity at inference.
type Dropout struct {
	LayerInfo
	Probability float32
}

func parseDropout(s *section) Layer {
	return &Dropout{Probability: s.Float("probability", .5)}
}

// Softmax is [softmax] (or [soft]): a softmax over each of Groups equal
// runs of the flattened input, with a temperature; with a WordTree (tree=),
// a softmax over each of the tree's sibling groups instead.
type Softmax struct {
	LayerInfo
	Groups      int
	Temperature float32
	Tree        string // tree= file, resolved when the network is built
	Spatial     float32
	NoLoss      bool
}

func parseSoftmax(s *section) Layer {
	l := &Softmax{
		Groups:      s.Int("groups", 1),
		Temperature: s.Float("temperature", 1),
		Tree:        s.String("tree", ""),
		Spatial:     s.Float("spatial", 0),
		NoLoss:      s.Bool("noloss", false),
	}
	s.atLeast("groups", l.Groups, 1)
	if l.Temperature == 0 && s.err == nil {
		s.keyErr(s.findNoMark("temperature"), "temperature 0")
	}
	return l
}

// Cost is [cost]: the training loss; nothing at inference.
type Cost struct {
	LayerInfo
	Type          string // sse, masked, smooth, L1, seg, wgan
	Scale         float32
	Ratio         float32
	NoObjectScale float32 // noobj
	Thresh        float32
}

var costTypes = map[string]bool{"sse": true, "masked": true, "smooth": true, "L1": true, "seg": true, "wgan": true}

func parseCost(s *section) Layer {
	l := &Cost{
		Type:          s.String("type", "sse"),
		Scale:         s.Float("scale", 1),
		Ratio:         s.Float("ratio", 0),
		NoObjectScale: s.Float("noobj", 1),
		Thresh:        s.Float("thresh", 0),
	}
	if !costTypes[l.Type] {
		s.keyErr(s.findNoMark("type"), "unknown cost type %q", l.Type)
	}
	return l
}

// Crop is [crop]: at inference, the centre CropHeight×CropWidth window,
// mapped from [0, 1] to [−1, 1] (x·2 − 1) unless NoAdjust. Flip, Angle,
// Saturation, Exposure and Shift are training augmentations.
type Crop struct {
	LayerInfo
	CropHeight, CropWidth       int
	Flip                        bool
	Angle, Saturation, Exposure float32
	Shift                       float32
	NoAdjust                    bool
}

func parseCrop(s *section) Layer {
	l := &Crop{
		CropHeight: s.Int("crop_height", 1),
		CropWidth:  s.Int("crop_width", 1),
		Flip:       s.Bool("flip", false),
		Angle:      s.Float("angle", 0),
		Saturation: s.Float("saturation", 1),
		Exposure:   s.Float("exposure", 1),
		NoAdjust:   s.Bool("noadjust", false),
		Shift:      s.Float("shift", 0),
	}
	s.atLeast("crop_height", l.CropHeight, 1)
	s.atLeast("crop_width", l.CropWidth, 1)
	return l
}

// kindOf names a layer for messages: "layer 12 (convolutional, yolov3.cfg:95)".
func kindOf(l Layer) string {
	i := l.Info()
	return fmt.Sprintf("layer %d (%s, %s)", i.Index, i.Kind, i.Pos)
}
