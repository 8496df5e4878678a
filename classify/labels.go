package classify

import (
	"embed"
	"strconv"
	"strings"
	"sync"
)

// LabelSet names a set of class labels.
type LabelSet string

// The label sets, each a file of labels/ written by
// tools/golden/classify_meta.py.
const (
	// ImageNet is ImageNet-1k's 1000 classes in torchvision's index order,
	// from torchvision 0.14's _IMAGENET_CATEGORIES.
	ImageNet LabelSet = "imagenet"
	// CIFAR10 is CIFAR-10's ten classes in the dataset's order.
	CIFAR10 LabelSet = "cifar10"
	// MNIST is the ten digits "0" to "9".
	MNIST LabelSet = "mnist"
)

//go:embed labels/*.txt
var labelFiles embed.FS

var labelCache sync.Map // LabelSet → []string

// Names returns the set's labels by class index; nil for an unknown set.
// The slice is shared: do not change it.
func (s LabelSet) Names() []string {
	if v, ok := labelCache.Load(s); ok {
		return v.([]string)
	}
	b, err := labelFiles.ReadFile("labels/" + string(s) + ".txt")
	if err != nil {
		return nil
	}
	names := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	v, _ := labelCache.LoadOrStore(s, names)
	return v.([]string)
}

// Label returns the name of class i, or "class <i>" when the set has no
// name for it.
func (s LabelSet) Label(i int) string {
	names := s.Names()
	if i >= 0 && i < len(names) {
		return names[i]
	}
	return "class " + strconv.Itoa(i)
}
