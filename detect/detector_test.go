package detect

import (
	"errors"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"govision.dev/vision/darknet"
	"govision.dev/vision/imageio"
)

var zooNames = []string{"yolo9000", "yolov1", "yolov1-tiny", "yolov2", "yolov2-tiny", "yolov2-voc",
	"yolov3", "yolov3-spp", "yolov3-tiny"}

func TestRegistry(t *testing.T) {
	if len(duplicateNames) > 0 {
		t.Errorf("names in more than one table: %v", duplicateNames)
	}
	if got := Names(); !slices.Equal(got, zooNames) {
		t.Errorf("Names() = %v, want %v", got, zooNames)
	}
	for _, n := range Names() {
		t.Run(n, func(t *testing.T) {
			info, err := Describe(n)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := embeddedConfig(info.Cfg)
			if err != nil {
				t.Fatal(err)
			}
			// The label set has as many names as the cfg's heads classes.
			for _, l := range cfg.Layers {
				var classes int
				switch l := l.(type) {
				case *darknet.Yolo:
					classes = l.Classes
				case *darknet.Region:
					classes = l.Classes
				case *darknet.Detection:
					classes = l.Classes
				default:
					continue
				}
				if classes != info.Classes {
					t.Errorf("%s has %d classes, its labels (%s) %d", info.Cfg, classes, info.Labels, info.Classes)
				}
			}
			if info.Size%32 != 0 || info.Size < 32 {
				t.Errorf("default size %d", info.Size)
			}
			w := info.Weights
			if w.File != n+".weights" || !strings.HasPrefix(w.URL, "https://pjreddie.com/media/files/") {
				t.Errorf("weights record %+v", w)
			}
		})
	}
	if info, _ := Describe("yolov3"); info.Size != 416 || info.Weights.Size != 248_007_048 {
		t.Errorf("yolov3: %+v, want size 416 and the official file's 248,007,048 bytes", info)
	}
}

// TestBuildZoo builds every model of the zoo from its embedded cfg and
// checks its weights would fill the published file: yolov3's is the one
// whose size is recorded.
func TestBuildZoo(t *testing.T) {
	names := []string{"yolov3-tiny", "yolov2-tiny"}
	if !testing.Short() {
		names = Names()
	}
	for _, n := range names {
		t.Run(n, func(t *testing.T) {
			d, err := New(n)
			if err != nil {
				t.Fatal(err)
			}
			info, _ := Describe(n)
			if w, h := d.Size(); w != info.Size || h != info.Size {
				t.Errorf("size %dx%d, Describe says %d", w, h, info.Size)
			}
			if d.Classes() != info.Classes || len(d.Labels()) != info.Classes {
				t.Errorf("%d classes, %d labels; want %d", d.Classes(), len(d.Labels()), info.Classes)
			}
			if p, m := netParams(d.Net()), netMACs(d.Net()); info.Params != p || info.MACs != m {
				t.Errorf("Describe counts %d parameters and %d MACs, the network has %d and %d", info.Params, info.MACs, p, m)
			}
			if s := info.Weights.Size; s != 0 {
				if got := 20 + 4*d.Net().WeightsLen(); got != s {
					t.Errorf("a weights file for it is %d bytes, the published one %d", got, s)
				}
			}
		})
	}
}

func TestUnknownModel(t *testing.T) {
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"yolov3-tin", []string{"yolov3-tiny"}},
		{"YOLOv3", []string{"yolov3"}},
		{"yolo3", []string{"yolov3"}},
		{"tiny", []string{"yolov1-tiny", "yolov2-tiny", "yolov3-tiny"}},
		{"resnet50", []string{"the models are"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.name)
			if !errors.Is(err, ErrUnknownModel) {
				t.Fatalf("error %v, want ErrUnknownModel", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestLabelSets(t *testing.T) {
	for _, tc := range []struct {
		set         LabelSet
		n           int
		first, last string
	}{
		{COCO, 80, "person", "toothbrush"},
		{VOC, 20, "aeroplane", "tvmonitor"},
		{NineK, 9418, "thing", ""},
	} {
		names := tc.set.Names()
		if len(names) != tc.n || names[0] != tc.first || (tc.last != "" && names[len(names)-1] != tc.last) {
			t.Errorf("%s: %d names, %q … %q", tc.set, len(names), names[0], names[len(names)-1])
		}
		if LabelsFor(tc.n) != tc.set {
			t.Errorf("LabelsFor(%d) = %q, want %q", tc.n, LabelsFor(tc.n), tc.set)
		}
	}
	if LabelSet("nope").Names() != nil || LabelsFor(7) != "" {
		t.Error("an unknown set has names")
	}
}

func goldenYolov3Tiny(t *testing.T) (*Detector, image.Image) {
	t.Helper()
	for _, m := range readManifests(t) {
		if m.Name == "yolov3-tiny" {
			return goldenDetector(t, m)
		}
	}
	t.Fatal("no yolov3-tiny manifest")
	return nil, nil
}

func TestOptions(t *testing.T) {
	d, img := goldenYolov3Tiny(t)
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"conf 2", Options{Conf: 2}, "Conf 2"},
		{"conf negative", Options{Conf: -0.1}, "Conf -0.1"},
		{"iou above 1", Options{IoU: 1.5}, "IoU 1.5"},
		{"hier", Options{HierThresh: 3}, "HierThresh 3"},
		{"class out of range", Options{Classes: []int{0, 80}}, "class 80"},
		{"max det", Options{MaxDet: -1}, "MaxDet -1"},
		{"img size negative", Options{ImgSize: -32}, "ImgSize -32"},
		{"img size not a multiple of the stride", Options{ImgSize: 100}, "ImgSize 100"},
		{"nms kind", Options{NMS: 9}, "NMSKind(9)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.Detect(img, tc.o)
			if !errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want ErrOptions mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := d.Detect(nil, Options{}); err == nil {
		t.Error("nil image: no error")
	}
	if _, err := d.Detect(image.NewRGBA(image.Rect(3, 3, 3, 9)), Options{}); err == nil {
		t.Error("empty image: no error")
	}
}

func TestDetectOptions(t *testing.T) {
	d, img := goldenYolov3Tiny(t)
	all, err := d.Detect(img, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 3 {
		t.Fatalf("%d detections; the fixture should give several", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].Score > all[i-1].Score {
			t.Fatalf("not sorted by score: %v", all)
		}
	}
	t.Run("max det", func(t *testing.T) {
		got, _ := d.Detect(img, Options{MaxDet: 2})
		if !slices.Equal(got, all[:2]) {
			t.Errorf("got %v, want the first two of %v", got, all)
		}
	})
	t.Run("classes", func(t *testing.T) {
		c := all[0].Class
		got, _ := d.Detect(img, Options{Classes: []int{c}})
		want := slices.DeleteFunc(slices.Clone(all), func(x Detection) bool { return x.Class != c })
		if !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
	t.Run("conf", func(t *testing.T) {
		got, _ := d.Detect(img, Options{Conf: all[0].Score - 1e-6})
		for _, x := range got {
			if x.Score <= all[0].Score-1e-6 {
				t.Errorf("%v is below the threshold", x)
			}
		}
		if len(got) == 0 || len(got) >= len(all) {
			t.Errorf("%d detections at conf %g, %d at 0.25", len(got), all[0].Score, len(all))
		}
	})
	t.Run("greedy equals darknet's", func(t *testing.T) {
		// On YOLO candidates, greedy per-class NMS keeps what do_nms_sort
		// keeps (up to ties, which the fixture has none of).
		got, _ := d.Detect(img, Options{NMS: NMSGreedy})
		if !slices.Equal(got, all) {
			t.Errorf("greedy %v\ndarknet %v", got, all)
		}
	})
	t.Run("soft", func(t *testing.T) {
		for _, k := range []NMSKind{NMSSoftLinear, NMSSoftGaussian} {
			got, err := d.Detect(img, Options{NMS: k})
			if err != nil {
				t.Fatal(err)
			}
			// Soft-NMS only lowers scores, from the highest down: the top
			// detection stays, and every score is one of the candidates'
			// or lower, and above the threshold.
			if len(got) == 0 || got[0] != all[0] {
				t.Errorf("%v: first %v, hard NMS %v", k, got, all[0])
			}
			for i, x := range got {
				if x.Score <= 0.25 || x.Score > all[0].Score || (i > 0 && x.Score > got[i-1].Score) {
					t.Errorf("%v: detection %d %v", k, i, x)
				}
			}
		}
	})
}

// TestImgSize runs a network built at 416 at 160: it must give what the
// same cfg and weights built at 160 give.
func TestImgSize(t *testing.T) {
	d, img := goldenYolov3Tiny(t)
	b, err := os.ReadFile(filepath.Join(goldenDir, "yolov3-tiny.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(strings.Replace(string(b), "width=416", "width=160", 1), "height=416", "height=160", 1)
	p := filepath.Join(t.TempDir(), "yolov3-tiny.cfg")
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	d160, err := FromCfg(p, COCO.Names())
	if err != nil {
		t.Fatal(err)
	}
	if w, _ := d160.Size(); w != 160 {
		t.Fatalf("rewritten cfg is %d wide", w)
	}
	if err := d160.Load(filepath.Join(goldenDir, "yolov3-tiny.weights")); err != nil {
		t.Fatal(err)
	}
	want, err := d160.Detect(img, Options{Conf: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second time from the cache
		got, err := d.Detect(img, Options{Conf: 0.1, ImgSize: 160})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) || len(got) == 0 {
			t.Fatalf("at ImgSize 160: %v\nbuilt at 160: %v", got, want)
		}
	}
	// A network resized before the weights are loaded shares them, so it
	// has the loaded ones too.
	fresh, err := FromCfg(filepath.Join(goldenDir, "yolov3-tiny.cfg"), COCO.Names())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.Detect(img, Options{Conf: 0.1, ImgSize: 160}); err != nil {
		t.Fatal(err)
	}
	if err := fresh.Load(filepath.Join(goldenDir, "yolov3-tiny.weights")); err != nil {
		t.Fatal(err)
	}
	if got, err := fresh.Detect(img, Options{Conf: 0.1, ImgSize: 160}); err != nil || !slices.Equal(got, want) {
		t.Fatalf("resized, then loaded: %v, %v\nbuilt at 160: %v", got, err, want)
	}
	// YOLOv1's connected layers fix its size.
	v1, err := New("yolov1-tiny")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v1.Detect(img, Options{ImgSize: 416}); !errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), "448") {
		t.Errorf("yolov1-tiny at 416: %v", err)
	}
}

func TestDetectConcurrent(t *testing.T) {
	d, img := goldenYolov3Tiny(t)
	want, err := d.Detect(img, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := Options{}
			if g%2 == 1 {
				o.ImgSize = 320 // also builds a network concurrently
			}
			for range 3 {
				got, err := d.Detect(img, o)
				if err != nil {
					errs <- err.Error()
					return
				}
				if o.ImgSize == 0 && !slices.Equal(got, want) {
					errs <- "different detections"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// stretch is the resize imageio.Letterbox does before placing the image:
// where the aspect ratios match there is no padding, and the two agree.
func TestStretchIsDarknetResize(t *testing.T) {
	img, err := imageio.DecodeFile(filepath.Join(goldenDir, "dog-384x288.png"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range [][2]int{{64, 48}, {416, 312}, {8, 6}} {
		want, info := imageio.Letterbox(img, s[0], s[1])
		if info.NewW != s[0] || info.NewH != s[1] {
			t.Fatalf("letterbox %v pads: %+v", s, info)
		}
		got := stretch(img, s[0], s[1])
		if !slices.Equal(got.Shape(), want.Shape()) || !slices.Equal(got.Data(), want.Data()) {
			t.Errorf("%dx%d: stretch differs from imageio.Letterbox", s[0], s[1])
		}
	}
	// A sub-image: its own bounds, not the parent's.
	sub := img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(image.Rect(10, 20, 10+96, 20+72))
	want, _ := imageio.Letterbox(sub, 32, 24)
	if got := stretch(sub, 32, 24); !slices.Equal(got.Data(), want.Data()) {
		t.Error("sub-image: stretch differs from imageio.Letterbox")
	}
}

func TestLoadErrors(t *testing.T) {
	d, err := New("yolov3-tiny")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	short := filepath.Join(dir, "short.weights")
	os.WriteFile(short, make([]byte, 1000), 0o644)
	for _, tc := range []struct {
		name, path string
		want       []string
	}{
		{"missing", filepath.Join(dir, "nope.weights"), []string{"nope.weights", "no such file"}},
		{"too short", short, []string{"short.weights"}},
		{"another network's", filepath.Join(goldenDir, "yolov2.weights"), []string{"yolov2.weights"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := d.Load(tc.path)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestFromCfgErrors(t *testing.T) {
	dir := t.TempDir()
	classifier := filepath.Join(dir, "cls.cfg")
	os.WriteFile(classifier, []byte("[net]\nwidth=32\nheight=32\nchannels=3\n\n[convolutional]\nfilters=4\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n[avgpool]\n\n[softmax]\n"), 0o644)
	if _, err := FromCfg(classifier, nil); err == nil || !strings.Contains(err.Error(), "not a detector") {
		t.Errorf("a classifier cfg: %v", err)
	}
	if _, err := FromCfg(filepath.Join(dir, "nope.cfg"), nil); err == nil {
		t.Error("a missing cfg: no error")
	}
	// Debian's yolo9000.cfg names /usr/share/darknet/data/9k.tree: without
	// it, the package's copy is used.
	b, _ := cfgFiles.ReadFile("cfg/yolo9000.cfg")
	y := filepath.Join(dir, "yolo9000.cfg")
	os.WriteFile(y, []byte(strings.Replace(string(b), "tree=9k.tree", "tree=/nonexistent/darknet/data/9k.tree", 1)), 0o644)
	d, err := FromCfg(y, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Classes() != 9418 || d.Labels()[0] != "thing" {
		t.Errorf("yolo9000 from a cfg: %d classes, labels %q…", d.Classes(), d.Labels()[:2])
	}
}

// TestNewDrawsLazily checks that New's fresh weights, drawn on first use,
// are those darknet.Build draws for the model's seed, and that Load
// leaves no draw pending to overwrite what it read.
func TestNewDrawsLazily(t *testing.T) {
	d, err := New("yolov3-tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := embeddedConfig(registry["yolov3-tiny"].cfg)
	if err != nil {
		t.Fatal(err)
	}
	want, err := darknet.Build(cfg, darknet.WithSeed(seedOf("yolov3-tiny")), darknet.WithFS(cfgFS), darknet.WithSize(416, 416))
	if err != nil {
		t.Fatal(err)
	}
	got := d.Net()
	for i := range want.Config.Layers {
		wp, gp := want.Params(i), got.Params(i)
		for j := range wp {
			if !slices.Equal(wp[j].Tensor.Data(), gp[j].Tensor.Data()) {
				t.Fatalf("layer %d %s: not darknet.Build's fresh weights", i, wp[j].Name)
			}
		}
	}

	// Written, then loaded into a new detector: Net must show the file's
	// weights, not fresh ones drawn over them.
	path := filepath.Join(t.TempDir(), "w.weights")
	if err := got.SaveWeights(path); err != nil {
		t.Fatal(err)
	}
	for i := range got.Config.Layers {
		for _, p := range got.Params(i) {
			for k := range p.Tensor.Data() {
				p.Tensor.Data()[k] *= 0.5
			}
		}
	}
	if err := got.SaveWeights(path); err != nil {
		t.Fatal(err)
	}
	e, err := New("yolov3-tiny")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Load(path); err != nil {
		t.Fatal(err)
	}
	for i := range got.Config.Layers {
		gp, ep := got.Params(i), e.Net().Params(i)
		for j := range gp {
			if !slices.Equal(gp[j].Tensor.Data(), ep[j].Tensor.Data()) {
				t.Fatalf("layer %d %s: not the loaded weights", i, gp[j].Name)
			}
		}
	}
}
