package datasets

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"path"
	"slices"
	"strings"

	"govision.dev/vision/imageio"
)

// Error categories, for errors.Is.
var (
	// ErrFormat: a file is not what its format says (a malformed XML,
	// JSON, idx, CIFAR, YOLO txt or shard file).
	ErrFormat = errors.New("datasets: malformed data")
	// ErrUnsupported: the operation or the pair of formats makes no sense
	// (a detection data set written as an ImageFolder).
	ErrUnsupported = errors.New("datasets: unsupported")
	// ErrExists: an output would overwrite something: the output exists,
	// lies inside the input, or a half-written output of an interrupted
	// run is in the way.
	ErrExists = errors.New("datasets: output in the way")
)

// Box is an axis-aligned box in pixels of its image. (X1, Y1) is the
// top-left corner and (X2, Y2) the bottom-right one, in continuous
// coordinates in which pixel (i, j) covers [i, i+1)×[j, j+1): a box over a
// whole W×H image is {0, 0, W, H}. This is COCO's and torchvision's
// convention; VOC's 1-based inclusive pixel indices (xmin=1, xmax=W for the
// whole width) are converted on reading and writing, as detectron2 does.
type Box struct {
	X1, Y1, X2, Y2 float64
}

// W returns the box's width (negative for an inverted box).
func (b Box) W() float64 { return b.X2 - b.X1 }

// H returns the box's height.
func (b Box) H() float64 { return b.Y2 - b.Y1 }

// Empty reports whether the box covers no area.
func (b Box) Empty() bool { return !(b.X2 > b.X1 && b.Y2 > b.Y1) }

// Clip returns b clipped to the image [0, w]×[0, h].
func (b Box) Clip(w, h int) Box {
	fw, fh := float64(w), float64(h)
	return Box{
		X1: min(max(b.X1, 0), fw), Y1: min(max(b.Y1, 0), fh),
		X2: min(max(b.X2, 0), fw), Y2: min(max(b.Y2, 0), fh),
	}
}

// Inside reports whether b lies within a w×h image and is not inverted.
func (b Box) Inside(w, h int) bool {
	return b.X1 >= 0 && b.Y1 >= 0 && b.X2 <= float64(w) && b.Y2 <= float64(h) && b.X1 <= b.X2 && b.Y1 <= b.Y2
}

func (b Box) finite() bool {
	for _, v := range [4]float64{b.X1, b.Y1, b.X2, b.Y2} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// Class is one class of a data set. Records refer to classes by their
// index in the data set's class list (contiguous from 0, for training);
// ID keeps the source's own number where it has one, so that COCO's
// non-contiguous category ids (1–90 with gaps) survive a round trip.
type Class struct {
	Name string `json:"name"`
	// ID is the source's identifier of the class: COCO's category id.
	// Zero when the source numbers classes by position (VOC, YOLO,
	// ImageFolder, MNIST, CIFAR).
	ID int `json:"id,omitempty"`
	// Supercategory is COCO's supercategory, or CIFAR-100's coarse class.
	Supercategory string `json:"supercategory,omitempty"`
}

// ClassNames returns the names of classes, in order.
func ClassNames(classes []Class) []string {
	names := make([]string, len(classes))
	for i, c := range classes {
		names[i] = c.Name
	}
	return names
}

// Object is one annotated object of an image.
type Object struct {
	Class int `json:"class"` // index in the data set's class list
	Box   Box `json:"box"`   // pixels, see Box

	// VOC's flags. A writer whose format cannot hold a flag that is set
	// counts it in its Dropped.
	Difficult bool   `json:"difficult,omitempty"`
	Truncated bool   `json:"truncated,omitempty"`
	Occluded  bool   `json:"occluded,omitempty"`
	Pose      string `json:"pose,omitempty"` // "Left", "Frontal", …; "" for VOC's "Unspecified"

	// Crowd is COCO's iscrowd: the box covers a group of objects, and its
	// mask is usually an RLE.
	Crowd bool `json:"crowd,omitempty"`
	// Mask is the object's instance mask, or nil.
	Mask *Mask `json:"mask,omitempty"`
	// ID is the source's annotation id (COCO), or 0.
	ID int64 `json:"id,omitempty"`
	// Area is the source's area in square pixels (COCO's "area", the
	// mask's area), or 0 when it did not give one.
	Area float64 `json:"area,omitempty"`

	// Where is the object's place in its source for messages
	// ("Annotations/000005.xml:23", "labels/train/x.txt:4"), or "".
	Where string `json:"-"`
}

// Mask is an instance mask in one of the two forms COCO stores: polygons
// (each a list of x, y pixel coordinates, x1 y1 x2 y2 …) or a run-length
// encoding. Exactly one is set.
type Mask struct {
	Polygons [][]float64 `json:"polygons,omitempty"`
	RLE      *RLE        `json:"rle,omitempty"`
}

// Bitmap decodes the mask into a w×h bitmap, row-major, 1 inside and 0
// outside: polygons are rasterised as pycocotools' frPyObjects and merge
// do (see PolygonsRLE). An RLE must be of size w×h.
func (m *Mask) Bitmap(w, h int) ([]uint8, error) {
	r, err := m.ToRLE(w, h)
	if err != nil {
		return nil, err
	}
	return r.Decode()
}

// ToRLE returns the mask as an RLE of a w×h image.
func (m *Mask) ToRLE(w, h int) (*RLE, error) {
	switch {
	case m == nil:
		return nil, fmt.Errorf("%w: no mask", ErrFormat)
	case m.RLE != nil:
		if m.RLE.W != w || m.RLE.H != h {
			return nil, fmt.Errorf("%w: mask RLE of size %dx%d on a %dx%d image", ErrFormat, m.RLE.W, m.RLE.H, w, h)
		}
		return m.RLE, nil
	default:
		return PolygonsRLE(m.Polygons, w, h)
	}
}

func (m *Mask) clone() *Mask {
	if m == nil {
		return nil
	}
	c := &Mask{}
	for _, p := range m.Polygons {
		c.Polygons = append(c.Polygons, slices.Clone(p))
	}
	if m.RLE != nil {
		r := *m.RLE
		r.Counts = slices.Clone(r.Counts)
		c.RLE = &r
	}
	return c
}

// ClassMap is a semantic segmentation: a class index per pixel, row-major,
// as VOC's SegmentationClass PNGs hold them (255 is "void", the border and
// the unlabelled).
type ClassMap struct {
	W, H int
	Pix  []uint8
}

// Void is the class index of unlabelled pixels in a ClassMap (VOC's).
const Void = 255

// Image is where a record's pixels are: in a file, in encoded bytes, or
// decoded. Readers of image files set Path, so that nothing is read until
// it is needed and a converter copies the file byte for byte; readers of
// pixel arrays (MNIST, CIFAR) and transforms set Pixels.
type Image struct {
	Path   string      // a file holding the encoded image
	Data   []byte      // the encoded image (JPEG, PNG, …), when not in a file
	Pixels image.Image // the decoded image, when neither
}

// IsZero reports whether no image is set.
func (im Image) IsZero() bool { return im.Path == "" && im.Data == nil && im.Pixels == nil }

// Encoded returns the image's encoded bytes and the file extension of
// their format (".jpg", ".png", …). Pixels are encoded as PNG.
func (im Image) Encoded() ([]byte, string, error) {
	switch {
	case im.Data != nil:
		return im.Data, sniffExt(im.Data), nil
	case im.Path != "":
		data, err := os.ReadFile(im.Path)
		if err != nil {
			return nil, "", fmt.Errorf("datasets: %w", err)
		}
		return data, sniffExt(data), nil
	case im.Pixels != nil:
		var buf bytes.Buffer
		if err := imageio.Encode(&buf, im.Pixels, ".png"); err != nil {
			return nil, "", err
		}
		return buf.Bytes(), ".png", nil
	}
	return nil, "", fmt.Errorf("%w: record has no image", ErrFormat)
}

// Decode returns the decoded image, through d for a file or bytes.
func (im Image) Decode(d imageio.Decoder) (image.Image, error) {
	switch {
	case im.Pixels != nil:
		return im.Pixels, nil
	case im.Data != nil:
		return d.Decode(bytes.NewReader(im.Data))
	case im.Path != "":
		return d.DecodeFile(im.Path)
	}
	return nil, fmt.Errorf("%w: record has no image", ErrFormat)
}

// Size returns the image's width and height, reading only the header of an
// encoded image.
func (im Image) Size() (w, h int, err error) {
	var cfg image.Config
	switch {
	case im.Pixels != nil:
		b := im.Pixels.Bounds()
		return b.Dx(), b.Dy(), nil
	case im.Data != nil:
		cfg, _, err = image.DecodeConfig(bytes.NewReader(im.Data))
	case im.Path != "":
		var f *os.File
		if f, err = os.Open(im.Path); err != nil {
			return 0, 0, fmt.Errorf("datasets: %w", err)
		}
		defer f.Close()
		cfg, _, err = image.DecodeConfig(f)
		if err != nil {
			err = fmt.Errorf("%w: %s: %w", imageio.ErrFormat, im.Path, err)
		}
	default:
		return 0, 0, fmt.Errorf("%w: record has no image", ErrFormat)
	}
	if err != nil {
		if !errors.Is(err, imageio.ErrFormat) {
			err = fmt.Errorf("%w: %w", imageio.ErrFormat, err)
		}
		return 0, 0, err
	}
	return cfg.Width, cfg.Height, nil
}

// sniffExt names the format of an encoded image by its first bytes.
func sniffExt(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("\xff\xd8\xff")):
		return ".jpg"
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return ".png"
	case bytes.HasPrefix(data, []byte("GIF8")):
		return ".gif"
	case bytes.HasPrefix(data, []byte("BM")):
		return ".bmp"
	case bytes.HasPrefix(data, []byte("II*\x00")), bytes.HasPrefix(data, []byte("MM\x00*")):
		return ".tif"
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return ".webp"
	}
	return ""
}

// Record is one image of a data set with its annotations: the one
// in-memory form every reader produces and every writer takes, so that a
// converter is reader → records → writer.
type Record struct {
	// ID identifies the image within its data set: the file stem for VOC,
	// YOLO and ImageFolder, the image id for COCO, the index for MNIST and
	// CIFAR.
	ID string `json:"id"`
	// Name is the image's file name, relative to the data set's image
	// folder, slash-separated ("2008_000008.jpg", "cat/001.png").
	Name string `json:"name"`
	// Split is the subset the image belongs to ("train", "val", …), or "".
	Split string `json:"split,omitempty"`
	// Width and Height are the image's size in pixels, 0 when unknown.
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`
	// Image holds the pixels.
	Image Image `json:"-"`
	// Class is the whole image's class (MNIST, CIFAR, ImageFolder), an
	// index in the class list, or -1.
	Class int `json:"class"`
	// Objects are the annotated objects, for detection and instance
	// segmentation.
	Objects []Object `json:"objects,omitempty"`
	// Segmentation is the semantic segmentation, or nil.
	Segmentation *ClassMap `json:"-"`
	// Source is the annotation file (or data file) the record comes from,
	// for messages, or "".
	Source string `json:"-"`
}

// Clone returns a deep copy of r, except for the image's Data and Pixels,
// which are shared (nothing in this package writes into them).
func (r *Record) Clone() *Record {
	c := *r
	c.Objects = slices.Clone(r.Objects)
	for i := range c.Objects {
		c.Objects[i].Mask = r.Objects[i].Mask.clone()
	}
	if r.Segmentation != nil {
		s := *r.Segmentation
		s.Pix = slices.Clone(s.Pix)
		c.Segmentation = &s
	}
	return &c
}

// Stem returns the name without its extension, slash-separated.
func (r *Record) Stem() string {
	return strings.TrimSuffix(r.Name, path.Ext(r.Name))
}

// RecordError is a bad record: what is wrong and where. A Reader that
// returns one has skipped the record and can go on.
type RecordError struct {
	Where string // "Annotations/x.xml:12", "annotations/instances_train.json:1:5012"
	Err   error
}

func (e *RecordError) Error() string {
	if e.Where == "" {
		return e.Err.Error()
	}
	return e.Where + ": " + e.Err.Error()
}

func (e *RecordError) Unwrap() error { return e.Err }

// badRecord returns a RecordError wrapping ErrFormat.
func badRecord(where, format string, args ...any) *RecordError {
	return &RecordError{Where: where, Err: &formatError{fmt.Sprintf(format, args...)}}
}

// formatError is an ErrFormat whose message does not repeat the category.
type formatError struct{ msg string }

func (e *formatError) Error() string        { return e.msg }
func (e *formatError) Is(target error) bool { return target == ErrFormat }

// Reader reads a data set one record at a time.
type Reader interface {
	// Classes returns the data set's classes; records' Class and
	// Object.Class index it.
	Classes() []Class
	// Len returns the number of records Next will return (bad ones
	// included), or -1 when it is not known in advance.
	Len() int
	// Next returns the next record, or io.EOF after the last. A
	// *RecordError reports a bad record that was skipped: call Next again.
	// Any other error is final.
	Next() (*Record, error)
	// Close releases the reader's files.
	Close() error
}

// Writer writes a data set one record at a time. Nothing is complete
// before Close.
type Writer interface {
	// ImageFile returns the path, relative to the writer's folder and
	// slash-separated, that rec's image is written to.
	ImageFile(rec *Record) string
	// Write adds rec. An image already at its ImageFile path (a file a
	// caller wrote there, say resized) is kept as it is. A *RecordError
	// reports a record the format cannot take; the writer goes on.
	Write(rec *Record) error
	// Close writes what is left (the COCO JSON, the names file) and
	// releases the writer's files.
	Close() error
	// Dropped counts the attributes set in the records written that the
	// format cannot hold, by name ("difficult", "instance masks", …).
	Dropped() Drops
}

// Drops counts dropped attributes by name.
type Drops map[string]int

func (d Drops) add(name string, n int) {
	if n > 0 {
		d[name] += n
	}
}

// String lists the drops sorted by name: "difficult ×3, pose ×1".
func (d Drops) String() string {
	names := make([]string, 0, len(d))
	for k := range d {
		names = append(names, k)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s ×%d", k, d[k])
	}
	return strings.Join(parts, ", ")
}

// objectDrops counts, in d, the attributes of rec's objects that a format
// lacks: keep names the ones it holds ("difficult", "truncated",
// "occluded", "pose", "iscrowd", "instance masks", "annotation ids").
func objectDrops(d Drops, rec *Record, keep ...string) {
	has := func(k string) bool { return slices.Contains(keep, k) }
	for _, o := range rec.Objects {
		if o.Difficult && !has("difficult") {
			d.add("difficult", 1)
		}
		if o.Truncated && !has("truncated") {
			d.add("truncated", 1)
		}
		if o.Occluded && !has("occluded") {
			d.add("occluded", 1)
		}
		if o.Pose != "" && !has("pose") {
			d.add("pose", 1)
		}
		if o.Crowd && !has("iscrowd") {
			d.add("iscrowd", 1)
		}
		if o.Mask != nil && !has("instance masks") {
			d.add("instance masks", 1)
		}
		if o.ID != 0 && !has("annotation ids") {
			d.add("annotation ids", 1)
		}
	}
}

// readAllLimit reads r to the end, or fails with ErrFormat past limit
// bytes: annotation files are small, and a huge one is an error, not a
// reason to run out of memory.
func readAllLimit(r io.Reader, limit int64, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("datasets: %s: %w", name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: %s: over %d bytes", ErrFormat, name, limit)
	}
	return data, nil
}

// readN reads exactly n bytes from r into a buffer that grows with what
// actually arrives (1 MiB at a time), so that a header claiming a huge size
// on a short input allocates no more than the input holds.
func readN(r io.Reader, n int64, buf []byte) ([]byte, error) {
	if n < 0 {
		return nil, fmt.Errorf("%w: negative size %d", ErrFormat, n)
	}
	const step = 1 << 20
	buf = buf[:0]
	for int64(len(buf)) < n {
		k := min(n-int64(len(buf)), step)
		start := len(buf)
		buf = slices.Grow(buf, int(k))[:start+int(k)]
		if _, err := io.ReadFull(r, buf[start:]); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return buf, nil
}
