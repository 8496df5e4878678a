package darknet

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// debianCfgs is where Debian's darknet package installs its cfg files.
const debianCfgs = "/usr/share/darknet/cfg"

// installedCfgs are the cfgs the package must parse and build: the issue's
// list of detectors and classifiers.
var installedCfgs = []string{
	"yolov1", "yolov1-tiny", "yolov2", "yolov2-tiny", "yolov2-voc", "yolov2-tiny-voc",
	"yolo9000", "yolov3", "yolov3-tiny", "yolov3-spp", "yolov3-voc", "yolov3-openimages",
	"darknet19", "darknet53", "tiny", "extraction", "alexnet", "vgg-16",
	"resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50", "densenet201",
}

func needDebianCfgs(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(debianCfgs); err != nil {
		t.Skipf("Debian's darknet cfgs are not installed (%v): apt-get install darknet", err)
	}
}

func TestParseInstalled(t *testing.T) {
	needDebianCfgs(t)
	for _, name := range installedCfgs {
		t.Run(name, func(t *testing.T) {
			cfg, err := ParseFile(filepath.Join(debianCfgs, name+".cfg"))
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Layers) == 0 {
				t.Fatal("no layers")
			}
			for i, l := range cfg.Layers {
				if got := l.Info().Index; got != i {
					t.Errorf("layer %d has index %d", i, got)
				}
			}
		})
	}
}

// TestParseEveryInstalled parses every cfg Debian installs: those outside
// the list may fail (recurrent networks, keys darknet ignores), but only
// with a positioned error.
func TestParseEveryInstalled(t *testing.T) {
	needDebianCfgs(t)
	files, _ := filepath.Glob(filepath.Join(debianCfgs, "*.cfg"))
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := ParseFile(f)
			var pe *ParseError
			if err != nil && !errors.As(err, &pe) {
				t.Fatalf("%v is not a *ParseError", err)
			}
			if err != nil {
				t.Log(err)
			}
		})
	}
}

func TestBuildInstalled(t *testing.T) {
	needDebianCfgs(t)
	if testing.Short() {
		t.Skip("draws weights for 25 networks")
	}
	for _, name := range installedCfgs {
		t.Run(name, func(t *testing.T) {
			cfg, err := ParseFile(filepath.Join(debianCfgs, name+".cfg"))
			if err != nil {
				t.Fatal(err)
			}
			n, err := build(cfg, []Option{func(o *options) { o.noInit = true }})
			if err != nil {
				t.Fatal(err)
			}
			if len(n.Outputs()) == 0 {
				t.Fatal("no outputs")
			}
		})
	}
}

// TestParseErrors checks that malformed cfgs fail with the file, the line
// and the key in the message.
func TestParseErrors(t *testing.T) {
	const net = "[net]\nwidth=32\nheight=32\nchannels=3\n"
	cases := []struct {
		name, cfg string
		want      []string // substrings of the error
		base      error
	}{
		{"unknown key", net + "[convolutional]\nfilters=4\nfiltres=8\n", []string{"bad.cfg:7", `"filtres"`, "unknown key"}, ErrFormat},
		{"unknown section", net + "[convolution]\nfilters=4\n", []string{"bad.cfg:5", "[convolution]", "unknown section"}, ErrFormat},
		{"bad number", net + "[convolutional]\nfilters=4x\n", []string{"bad.cfg:6", `"filters"`, "bad integer"}, ErrFormat},
		{"bad float", net + "[dropout]\nprobability=half\n", []string{"bad.cfg:6", `"probability"`, "bad number"}, ErrFormat},
		{"nan", net + "[dropout]\nprobability=nan\n", []string{"bad.cfg:6", `"probability"`}, ErrFormat},
		{"bad list", net + "[route]\nlayers=-1,,2\n", []string{"bad.cfg:6", `"layers"`}, ErrFormat},
		{"missing net", "[convolutional]\nfilters=4\n", []string{"bad.cfg:1", "first section must be [net]"}, ErrFormat},
		{"empty", "# nothing\n", []string{"bad.cfg:1", "no sections"}, ErrFormat},
		{"route to future", net + "[convolutional]\n[route]\nlayers=1\n", []string{"bad.cfg:7", `"layers"`, "not an earlier layer"}, ErrFormat},
		{"route to self", net + "[convolutional]\n[route]\nlayers=-1,1\n", []string{"bad.cfg:7", `"layers"`, "not an earlier layer"}, ErrFormat},
		{"route before start", net + "[convolutional]\n[route]\nlayers=-3\n", []string{"bad.cfg:7", `"layers"`}, ErrFormat},
		{"route without layers", net + "[convolutional]\n[route]\n", []string{"bad.cfg:6", "[route]", "needs layers"}, ErrFormat},
		{"shortcut to future", net + "[convolutional]\n[shortcut]\nfrom=3\n", []string{"bad.cfg:7", `"from"`}, ErrFormat},
		{"key outside section", "width=3\n[net]\n", []string{"bad.cfg:1", `"width"`}, ErrFormat},
		{"not key=value", net + "[convolutional]\nfilters\n", []string{"bad.cfg:6", "neither"}, ErrFormat},
		{"bad activation", net + "[convolutional]\nactivation=swish\n", []string{"bad.cfg:6", `"activation"`, "unknown activation"}, ErrFormat},
		{"zero stride", net + "[maxpool]\nstride=0\n", []string{"bad.cfg:6", `"stride"`}, ErrFormat},
		{"anchors count", net + "[yolo]\nnum=2\nanchors=1,2,3\n", []string{"bad.cfg:7", `"anchors"`, "want 2·num = 4"}, ErrFormat},
		{"mask out of range", net + "[yolo]\nnum=2\nmask=0,2\n", []string{"bad.cfg:7", `"mask"`}, ErrFormat},
		{"no input size", "[net]\nwidth=32\n[convolutional]\n", []string{"bad.cfg:1", "no input size"}, ErrFormat},
		{"unknown net key", "[net]\nwidth=32\nheight=32\nchannels=3\nwidht=4\n", []string{"bad.cfg:5", `"widht"`, "unknown key"}, ErrFormat},
		{"steps without scales", "[net]\nwidth=3\nheight=3\nchannels=3\npolicy=steps\nsteps=1,2\n", []string{"bad.cfg:1", "steps and scales"}, ErrFormat},
		{"policy key unread", "[net]\nwidth=3\nheight=3\nchannels=3\nstep=4\n", []string{"bad.cfg:5", `"step"`, "unknown key"}, ErrFormat},
		{"unsupported section", net + "[gru]\noutput=4\n", []string{"bad.cfg:5", "[gru]", "not supported"}, ErrUnsupported},
		{"xnor", net + "[convolutional]\nxnor=1\n", []string{"bad.cfg:6", `"xnor"`}, ErrUnsupported},
		{"bad header", net + "[convolutional\n", []string{"bad.cfg:5", "section header"}, ErrFormat},
		{"second net", net + "[network]\n", []string{"bad.cfg:5", "second [net]"}, ErrFormat},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("bad.cfg", strings.NewReader(c.cfg))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, c.base) {
				t.Errorf("%v does not wrap %v", err, c.base)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Errorf("%v is not a *ParseError", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestBuildErrors checks layers that parse but do not fit their input.
func TestBuildErrors(t *testing.T) {
	const net = "[net]\nwidth=32\nheight=32\nchannels=3\n"
	cases := []struct {
		name, cfg string
		want      []string
	}{
		{"yolo channels", net + "[convolutional]\nfilters=10\n[yolo]\nclasses=1\nnum=3\nmask=0,1\nanchors=1,1,2,2,3,3\n", []string{"bad.cfg:7", "[yolo]", "need 12 channels"}},
		{"region channels", net + "[convolutional]\nfilters=10\n[region]\nclasses=1\nnum=3\n", []string{"bad.cfg:7", "[region]", "needs 18 channels"}},
		{"route sizes", net + "[convolutional]\n[maxpool]\nsize=2\nstride=2\n[route]\nlayers=0,1\n", []string{"bad.cfg:9", "[route]", "differ"}},
		{"groups", net + "[convolutional]\nfilters=4\ngroups=2\n", []string{"bad.cfg:5", "not divisible into 2 groups"}},
		{"kernel too big", "[net]\nwidth=2\nheight=2\nchannels=1\n[convolutional]\nsize=5\n", []string{"bad.cfg:5", "smaller than the 5x5 kernel"}},
		{"detection size", net + "[connected]\noutput=10\n[detection]\nside=2\nclasses=1\nnum=1\ncoords=4\n", []string{"bad.cfg:7", "side²"}},
		{"reorg channels", net + "[convolutional]\nfilters=3\n[reorg]\nstride=2\n", []string{"bad.cfg:7", "stride² = 4"}},
		{"tree missing", net + "[convolutional]\nfilters=6\n[region]\nclasses=1\nnum=1\ntree=nowhere.tree\n", []string{"bad.cfg:7", "nowhere.tree", "not found"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse("bad.cfg", strings.NewReader(c.cfg))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Build(cfg)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestParseValues checks a few values against darknet's defaults and
// aliases.
func TestParseValues(t *testing.T) {
	cfg, err := Parse("v.cfg", strings.NewReader(`[network]
width = 416
width = 608
height=416
channels=3
; a comment
[conv]
filters=8
size=3
pad=1
activation=leaky
[max]
stride=2
[route]
layers = -1, 0
[yolo]
mask = 0
anchors = 10,14,  23,27
num=2
classes=1
`))
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Layers[0].(*Convolutional)
	if c.Padding != 1 || c.Stride != 1 || c.Groups != 1 || c.Activation != Leaky || c.Kind != "convolutional" || c.Name != "conv" {
		t.Errorf("conv %+v", c)
	}
	m := cfg.Layers[1].(*MaxPool)
	if m.Size != 2 || m.Padding != 1 {
		t.Errorf("maxpool %+v: want size = stride = 2, padding = size−1", m)
	}
	r := cfg.Layers[2].(*Route)
	if len(r.Layers) != 2 || r.Layers[0] != 1 || r.Layers[1] != 0 {
		t.Errorf("route layers %v, want [1 0]", r.Layers)
	}
	y := cfg.Layers[3].(*Yolo)
	if len(y.Anchors) != 4 || y.Anchors[2] != 23 || y.IgnoreThresh != .5 || y.Jitter != .2 {
		t.Errorf("yolo %+v", y)
	}
	if cfg.Net.Width != 416 || cfg.Net.LearningRate != .001 || cfg.Net.Policy != "constant" {
		t.Errorf("net %+v", cfg.Net)
	}
}

// TestBuildChecksConfig checks that Build refuses a Config changed by
// hand into something Parse would not return, instead of panicking.
func TestBuildChecksConfig(t *testing.T) {
	const text = "[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nfilters=6\n[route]\nlayers=-1\n[yolo]\nclasses=1\nnum=1\n"
	base, err := Parse("hand.cfg", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Build(base); err != nil {
		t.Fatalf("unedited: %v", err)
	}
	edits := map[string]func(c *Config){
		"route to itself": func(c *Config) { c.Layers[1].(*Route).Layers = []int{1} },
		"zero stride":     func(c *Config) { c.Layers[0].(*Convolutional).Stride = 0 },
		"groups":          func(c *Config) { c.Layers[0].(*Convolutional).Groups = 4 },
		"mask":            func(c *Config) { c.Layers[2].(*Yolo).Mask = []int{1} },
		"anchors":         func(c *Config) { c.Layers[2].(*Yolo).Anchors = nil },
		"nil layer":       func(c *Config) { c.Layers[1] = nil },
		"index":           func(c *Config) { c.Layers[0].Info().Index = 5 },
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			cfg, err := Parse("hand.cfg", strings.NewReader(text))
			if err != nil {
				t.Fatal(err)
			}
			edit(cfg)
			if _, err := Build(cfg); !errors.Is(err, ErrFormat) {
				t.Errorf("%v, want ErrFormat", err)
			}
		})
	}
}
