package detect

// THE ZOO'S ONE TABLE. Each paper's file (yolov1.go, yolov2.go, yolov3.go)
// declares its rows as a package-level []spec, and the rows are joined
// here — the only place a family is registered (no init()
// self-registration). Names must be unique; TestRegistry says which
// clash.

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"govision.dev/vision/suggest"
)

var registry = joinTables(yolov1Models, yolov2Models, yolov3Models)

// faceRegistry is the face detectors' table (face.go): face-api's
// networks with the weights the package embeds, not darknet cfgs; built
// by NewFace, listed by FaceNames.
var faceRegistry = joinFaceTables(tinyFaceModels, ssdFaceModels)

// spec is one row of the zoo: a darknet cfg the package embeds (cfg/,
// copied from Debian's darknet by tools/golden/detect_assets.sh) and what
// goes with it.
type spec struct {
	name  string
	paper string // the paper and the section the architecture follows
	cfg   string // file name in cfg/
	// size is the default side of the square network input; 0 keeps the
	// cfg's width and height.
	size    int
	labels  LabelSet
	weights Weights
}

// Weights describes a model's published weight file: where to get it and
// how to check it. Building a model and loading its weights stay separate
// calls (New, then Detector.Load).
type Weights struct {
	// File is the name the file goes by in govision's weights folder:
	// "<model>.weights".
	File string
	// URL is where darknet's author publishes it.
	URL string
	// SHA256 is the file's SHA-256 in hex; empty where none is published
	// (none of darknet's files has one).
	SHA256 string
	// Size is the file's length in bytes, 0 if not recorded. Whatever it
	// is, Detector.Load checks the length against the network.
	Size int64
}

// pjreddie is where darknet's author publishes the weights.
const pjreddie = "https://pjreddie.com/media/files/"

// darknetWeights is the record of a file published as pjreddie + file,
// kept in the weights folder as <model>.weights.
func darknetWeights(model, file string, size int64) Weights {
	return Weights{File: model + ".weights", URL: pjreddie + file, Size: size}
}

// duplicateNames lists names more than one table holds (the first row
// wins); TestRegistry fails on any.
var duplicateNames []string

func joinTables(tables ...[]spec) map[string]spec {
	m := make(map[string]spec)
	for _, t := range tables {
		for _, s := range t {
			if _, dup := m[s.name]; dup {
				duplicateNames = append(duplicateNames, s.name)
				continue
			}
			m[s.name] = s
		}
	}
	return m
}

func joinFaceTables(tables ...[]faceSpec) map[string]faceSpec {
	m := make(map[string]faceSpec)
	for _, t := range tables {
		for _, s := range t {
			if _, dup := m[s.name]; dup || registry[s.name].name != "" {
				duplicateNames = append(duplicateNames, s.name)
				continue
			}
			m[s.name] = s
		}
	}
	return m
}

// ErrUnknownModel is the category of New's error for a name the zoo does
// not have.
var ErrUnknownModel = errors.New("detect: unknown model")

// Names returns the names of every model of the zoo, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Info describes a model of the zoo.
type Info struct {
	Name    string
	Paper   string   // the paper and the section the architecture follows
	Cfg     string   // the embedded cfg's file name, as Debian's darknet names it
	Size    int      // the default side of the square input, in pixels
	Labels  LabelSet // the classes' names
	Classes int
	Weights Weights
	// Params counts the learned parameters: weights, biases and
	// batch-norm scales, not the rolling means and variances (as
	// nn.NumParams counts a classifier's; the weights file holds both).
	Params int
	// MACs counts the multiply-accumulates of the convolutional, local
	// and connected layers at Size (darknet's BFLOPs are twice this).
	MACs int64
}

// Describe returns the named model's Info, from its embedded cfg.
func Describe(name string) (Info, error) {
	s, ok := registry[name]
	if !ok {
		return Info{}, unknownModel(name)
	}
	cfg, err := embeddedConfig(s.cfg)
	if err != nil {
		return Info{}, err
	}
	size := s.size
	if size == 0 {
		size = cfg.Net.Width
	}
	params, macs, err := cfgCost(cfg, size, size)
	if err != nil {
		return Info{}, err
	}
	return Info{Name: s.name, Paper: s.paper, Cfg: s.cfg, Size: size, Labels: s.labels,
		Classes: len(s.labels.Names()), Weights: s.weights, Params: params, MACs: macs}, nil
}

// unknownModel is New's error for an unknown name, with the close matches.
func unknownModel(name string) error {
	close := suggest.Close(name, Names())
	if len(close) == 0 {
		return fmt.Errorf("%w %q (the models are %s)", ErrUnknownModel, name, strings.Join(Names(), ", "))
	}
	return fmt.Errorf("%w %q; did you mean %s?", ErrUnknownModel, name, strings.Join(close, ", "))
}
