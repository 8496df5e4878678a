package datasets

import (
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"govision.dev/vision/imageio"
)

// Format names a data set layout.
type Format string

// The formats Open reads and Create writes.
const (
	VOCFormat         Format = "voc"
	COCOFormat        Format = "coco"
	YOLOFormat        Format = "yolo"
	ImageFolderFormat Format = "imagefolder"
	ImagesFormat      Format = "images" // a plain folder of images
	MNISTFormat       Format = "mnist"
	CIFAR10Format     Format = "cifar10"
	CIFAR100Format    Format = "cifar100"
	ShardsFormat      Format = "shards" // govision's sharded record files
)

// Formats lists every format, in the order Detect tries them.
var Formats = []Format{ShardsFormat, VOCFormat, COCOFormat, YOLOFormat, MNISTFormat, CIFAR10Format, CIFAR100Format, ImageFolderFormat, ImagesFormat}

// Detection reports whether a format holds boxes.
func (f Format) Detection() bool {
	return f == VOCFormat || f == COCOFormat || f == YOLOFormat || f == ShardsFormat
}

// ParseFormat returns the format named s.
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(s))
	if slices.Contains(Formats, f) {
		return f, nil
	}
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return "", fmt.Errorf("%w: format %q, want one of %s", ErrUnsupported, s, strings.Join(names, ", "))
}

// defaultSplit is the split writers put records without one in.
const defaultSplit = "train"

// defaultDecoder decodes images with imageio's pixel limit.
var defaultDecoder = imageio.Decoder{}

// Detect guesses the format of the data set at p from its layout.
func Detect(p string) (Format, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("datasets: %w", err)
	}
	if !fi.IsDir() {
		switch strings.ToLower(filepath.Ext(p)) {
		case ".json":
			return COCOFormat, nil
		case shardExt:
			return ShardsFormat, nil
		}
		return "", fmt.Errorf("%w: %s is a file; a data set is a folder (or a COCO .json)", ErrUnsupported, p)
	}
	has := func(pattern string) bool {
		m, _ := filepath.Glob(filepath.Join(p, pattern))
		return len(m) > 0
	}
	switch {
	case has("*" + shardExt):
		return ShardsFormat, nil
	case isDir(filepath.Join(p, "Annotations")):
		return VOCFormat, nil
	case has("annotations/instances_*.json"), has("instances_*.json"):
		return COCOFormat, nil
	case has("*.yaml"), has("*.names"), isFile(filepath.Join(p, "classes.txt")), isDir(filepath.Join(p, "labels")):
		return YOLOFormat, nil
	case has("train-images*idx3-ubyte*"), has("t10k-images*idx3-ubyte*"):
		return MNISTFormat, nil
	case isFile(filepath.Join(p, "batches.meta.txt")):
		return CIFAR10Format, nil
	case isFile(filepath.Join(p, "fine_label_names.txt")):
		return CIFAR100Format, nil
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return "", fmt.Errorf("datasets: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() && IsImageFile(e.Name()) {
			return ImagesFormat, nil
		}
	}
	if dirs, _ := subdirs(p); len(dirs) > 0 {
		return ImageFolderFormat, nil
	}
	return "", fmt.Errorf("%w: cannot tell the format of %s (no Annotations/, annotations/instances_*.json, data.yaml, class folders or images)", ErrUnsupported, p)
}

// Open opens the data set at p in format f ("" detects it).
func Open(p string, f Format, opt Options) (Reader, error) {
	if f == "" {
		var err error
		if f, err = Detect(p); err != nil {
			return nil, err
		}
	}
	switch f {
	case VOCFormat:
		return OpenVOC(p, opt)
	case COCOFormat:
		return OpenCOCO(p, opt)
	case YOLOFormat:
		return OpenYOLO(p, opt)
	case ImageFolderFormat:
		return OpenImageFolder(p, opt.Split)
	case ImagesFormat:
		return OpenImages(p)
	case MNISTFormat:
		return OpenMNIST(p, opt.Split)
	case CIFAR10Format, CIFAR100Format:
		return OpenCIFAR(p, f == CIFAR100Format, opt.Split)
	case ShardsFormat:
		return OpenShards(p, opt.Split)
	}
	return nil, fmt.Errorf("%w: format %q", ErrUnsupported, f)
}

// Create returns a writer of format f into the folder dir (which must
// exist), for a data set with the given classes.
func Create(dir string, f Format, classes []Class) (Writer, error) {
	switch f {
	case VOCFormat:
		return newVOCWriter(dir, classes), nil
	case COCOFormat:
		return newCOCOWriter(dir, classes), nil
	case YOLOFormat:
		return newYOLOWriter(dir, classes), nil
	case ImageFolderFormat:
		return &imageFolderWriter{dir: dir, classes: classes, seen: map[string]bool{}, drops: Drops{}}, nil
	case ImagesFormat:
		return &imageFolderWriter{dir: dir, classes: classes, seen: map[string]bool{}, drops: Drops{}, plain: true}, nil
	case MNISTFormat:
		return newMNISTWriter(dir, classes)
	case CIFAR10Format, CIFAR100Format:
		return newCIFARWriter(dir, classes, f == CIFAR100Format)
	case ShardsFormat:
		return NewShardWriter(dir, classes, ShardOptions{})
	}
	return nil, fmt.Errorf("%w: cannot write format %q", ErrUnsupported, f)
}

// encodeImage writes img in the format ext names: PNG for anything but
// JPEG.
func encodeImage(w io.Writer, img image.Image, ext string) error {
	switch strings.ToLower(ext) {
	case ".jpg", ".jpeg":
		return imageio.Encode(w, img, ".jpg")
	}
	return imageio.Encode(w, img, ".png")
}

func mathRound(f float64) float64 { return math.Round(f) }
