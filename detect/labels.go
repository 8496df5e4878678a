package detect

import (
	"embed"
	"strconv"
	"strings"
	"sync"
)

// LabelSet names a set of class labels.
type LabelSet string

// The label sets, each a file of labels/ copied from Debian's darknet
// package by tools/golden/detect_assets.sh (darknet's data/*.names).
const (
	// COCO is darknet's 80 COCO classes (data/coco.names), in the order
	// darknet's COCO models number them.
	COCO LabelSet = "coco"
	// VOC is the 20 PASCAL VOC classes (data/voc.names).
	VOC LabelSet = "voc"
	// NineK is YOLO9000's 9418 WordTree nodes (data/9k.names), in the
	// order of data/9k.tree.
	NineK LabelSet = "9k"
)

//go:embed labels/*.names
var labelFiles embed.FS

var labelCache sync.Map // LabelSet → []string

// Names returns the set's labels by class index; nil for an unknown set.
// The slice is shared: do not change it.
func (s LabelSet) Names() []string {
	if v, ok := labelCache.Load(s); ok {
		return v.([]string)
	}
	b, err := labelFiles.ReadFile("labels/" + string(s) + ".names")
	if err != nil {
		return nil
	}
	names := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	v, _ := labelCache.LoadOrStore(s, names)
	return v.([]string)
}

// labelOf returns names[i], or "class <i>" when names has no entry i.
func labelOf(names []string, i int) string {
	if i >= 0 && i < len(names) {
		return names[i]
	}
	return "class " + strconv.Itoa(i)
}

// LabelsFor returns the label set darknet's models with that many classes
// use: COCO for 80, VOC for 20, NineK for 9418; "" for any other count.
func LabelsFor(classes int) LabelSet {
	for _, s := range []LabelSet{COCO, VOC, NineK} {
		if len(s.Names()) == classes {
			return s
		}
	}
	return ""
}
