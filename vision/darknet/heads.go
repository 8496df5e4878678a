package darknet

// The sections of the output layers: YOLOv2's region, YOLOv3's yolo and
// YOLOv1's detection. Their fields are what decoding needs (anchors,
// masks, classes, the WordTree) and darknet's training settings, kept as
// read.

// Region is [region], YOLOv2's output layer: Num anchors per cell, each
// with Coords box values, an objectness and Classes class scores.
type Region struct {
	LayerInfo
	Coords, Classes, Num int
	Anchors              []float32 // 2·Num values (w, h in grid cells); darknet's default 0.5 each
	Softmax              bool
	Background           bool
	Tree                 string // tree=: WordTree for a hierarchical softmax (YOLO9000)
	Map                  string // map=: class index map, used when decoding
	Log, Sqrt            bool
	Max                  int
	Jitter               float32
	Rescore              bool
	Thresh               float32
	ClassFix             int
	Absolute, Random     bool
	CoordScale           float32
	ObjectScale          float32
	NoObjectScale        float32
	MaskScale            float32
	ClassScale           float32
	BiasMatch            bool
}

func parseRegion(s *section) Layer {
	l := &Region{
		Coords:        s.Int("coords", 4),
		Classes:       s.Int("classes", 20),
		Num:           s.Int("num", 1),
		Log:           s.Bool("log", false),
		Sqrt:          s.Bool("sqrt", false),
		Softmax:       s.Bool("softmax", false),
		Background:    s.Bool("background", false),
		Max:           s.Int("max", 30),
		Jitter:        s.Float("jitter", .2),
		Rescore:       s.Bool("rescore", false),
		Thresh:        s.Float("thresh", .5),
		ClassFix:      s.Int("classfix", 0),
		Absolute:      s.Bool("absolute", false),
		Random:        s.Bool("random", false),
		CoordScale:    s.Float("coord_scale", 1),
		ObjectScale:   s.Float("object_scale", 1),
		NoObjectScale: s.Float("noobject_scale", 1),
		MaskScale:     s.Float("mask_scale", 1),
		ClassScale:    s.Float("class_scale", 1),
		BiasMatch:     s.Bool("bias_match", false),
		Tree:          s.String("tree", ""),
		Map:           s.String("map", ""),
	}
	s.atLeast("coords", l.Coords, 4)
	s.atLeast("classes", l.Classes, 0)
	s.atLeast("num", l.Num, 1)
	l.Anchors = anchors(s, l.Num)
	return l
}

// anchors reads anchors= (2·num values), or darknet's default of 0.5 each.
func anchors(s *section, num int) []float32 {
	if s.err != nil {
		return nil
	}
	a := s.Floats("anchors")
	if a == nil {
		if s.err != nil {
			return nil
		}
		a = make([]float32, 2*num)
		for i := range a {
			a[i] = .5
		}
		return a
	}
	if len(a) != 2*num {
		s.keyErr(s.findNoMark("anchors"), "%d values, want 2·num = %d", len(a), 2*num)
	}
	return a
}

// Yolo is [yolo], YOLOv3's output layer: len(Mask) of the Num anchors per
// cell, each with 4 box values, an objectness and Classes class scores.
type Yolo struct {
	LayerInfo
	Classes      int
	Num          int       // anchors in Anchors (darknet's total)
	Mask         []int     // the anchors this layer uses; default all
	Anchors      []float32 // 2·Num values (w, h in network-input pixels)
	Map          string
	Max          int
	Jitter       float32
	IgnoreThresh float32
	TruthThresh  float32
	Random       bool
}

func parseYolo(s *section) Layer {
	l := &Yolo{
		Classes: s.Int("classes", 20),
		Num:     s.Int("num", 1),
		Mask:    s.Ints("mask"),
	}
	l.Max = s.Int("max", 90)
	l.Jitter = s.Float("jitter", .2)
	l.IgnoreThresh = s.Float("ignore_thresh", .5)
	l.TruthThresh = s.Float("truth_thresh", 1)
	l.Random = s.Bool("random", false)
	l.Map = s.String("map", "")
	s.atLeast("classes", l.Classes, 0)
	s.atLeast("num", l.Num, 1)
	if s.err != nil {
		return l
	}
	if l.Mask == nil {
		for i := 0; i < l.Num; i++ {
			l.Mask = append(l.Mask, i)
		}
	}
	for _, m := range l.Mask {
		if m < 0 || m >= l.Num {
			s.keyErr(s.findNoMark("mask"), "anchor %d is not one of the num=%d anchors", m, l.Num)
			return l
		}
	}
	l.Anchors = anchors(s, l.Num)
	return l
}

// Detection is [detection], YOLOv1's output layer on a Side×Side grid:
// the flat input holds Side²·Classes class scores, then Side²·Num
// confidences, then Side²·Num·Coords box values.
type Detection struct {
	LayerInfo
	Coords, Classes, Num, Side int
	Rescore, Softmax, Sqrt     bool
	Max                        int
	CoordScale                 float32
	Forced                     int
	ObjectScale                float32
	NoObjectScale              float32
	ClassScale                 float32
	Jitter                     float32
	Random                     bool
	Reorg                      bool
}

func parseDetection(s *section) Layer {
	l := &Detection{
		Coords:  s.Int("coords", 1),
		Classes: s.Int("classes", 1),
		Rescore: s.Bool("rescore", false),
		Num:     s.Int("num", 1),
		Side:    s.Int("side", 7),
	}
	l.Softmax = s.Bool("softmax", false)
	l.Sqrt = s.Bool("sqrt", false)
	l.Max = s.Int("max", 90)
	l.CoordScale = s.Float("coord_scale", 1)
	l.Forced = s.Int("forced", 0)
	l.ObjectScale = s.Float("object_scale", 1)
	l.NoObjectScale = s.Float("noobject_scale", 1)
	l.ClassScale = s.Float("class_scale", 1)
	l.Jitter = s.Float("jitter", .2)
	l.Random = s.Bool("random", false)
	l.Reorg = s.Bool("reorg", false)
	s.atLeast("coords", l.Coords, 0)
	s.atLeast("classes", l.Classes, 0)
	s.atLeast("num", l.Num, 1)
	s.atLeast("side", l.Side, 1)
	return l
}
