package datasets

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// The idx format (LeCun's, MNIST's): a 4-byte magic (two zero bytes, the
// element type, the number of dimensions), each dimension as a big-endian
// uint32, then the elements, big-endian, in row-major order. The first
// dimension counts the items. Files ending in .gz are gzip-compressed; the
// readers detect gzip by its magic bytes, not the name.

// The idx element types.
const (
	IDXUint8   = 0x08
	IDXInt8    = 0x09
	IDXInt16   = 0x0b
	IDXInt32   = 0x0c
	IDXFloat32 = 0x0d
	IDXFloat64 = 0x0e
)

// maxIDXItem bounds one item of an idx file (256 MiB): a header claiming
// more is refused.
const maxIDXItem = 1 << 28

func idxElemSize(t byte) int {
	switch t {
	case IDXUint8, IDXInt8:
		return 1
	case IDXInt16:
		return 2
	case IDXInt32, IDXFloat32:
		return 4
	case IDXFloat64:
		return 8
	}
	return 0
}

// IDXReader reads an idx file item by item.
type IDXReader struct {
	Type byte  // element type, IDXUint8 …
	Dims []int // dimensions; Dims[0] is the number of items
	// ItemSize is the size of one item in bytes: the element size times
	// the product of Dims[1:].
	ItemSize int

	r    io.Reader
	next int
	buf  []byte
}

// NewIDXReader reads the header of an idx stream, gzip-compressed or not.
func NewIDXReader(r io.Reader) (*IDXReader, error) {
	br := bufio.NewReader(r)
	if head, err := br.Peek(2); err == nil && head[0] == 0x1f && head[1] == 0x8b {
		z, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: idx: gzip: %w", ErrFormat, err)
		}
		br = bufio.NewReader(z)
	}
	var magic [4]byte
	if _, err := io.ReadFull(br, magic[:]); err != nil {
		return nil, fmt.Errorf("%w: idx: reading the magic number: %w", ErrFormat, err)
	}
	x := &IDXReader{Type: magic[2], r: br}
	es := idxElemSize(x.Type)
	if magic[0] != 0 || magic[1] != 0 || es == 0 {
		return nil, fmt.Errorf("%w: idx: magic % x is not an idx header", ErrFormat, magic)
	}
	nd := int(magic[3])
	if nd < 1 {
		return nil, fmt.Errorf("%w: idx: %d dimensions", ErrFormat, nd)
	}
	x.Dims = make([]int, nd)
	item := int64(es)
	for i := range x.Dims {
		var d uint32
		if err := binary.Read(br, binary.BigEndian, &d); err != nil {
			return nil, fmt.Errorf("%w: idx: reading dimension %d: %w", ErrFormat, i, err)
		}
		x.Dims[i] = int(d)
		if i > 0 {
			item *= int64(d)
			if item > maxIDXItem {
				return nil, fmt.Errorf("%w: idx: dimensions %v make items over %d bytes", ErrFormat, x.Dims[:i+1], maxIDXItem)
			}
		}
	}
	x.ItemSize = int(item)
	return x, nil
}

// Len returns the number of items the header claims.
func (x *IDXReader) Len() int { return x.Dims[0] }

// Next returns the next item's bytes (big-endian elements), valid until the
// next call, or io.EOF after the last item. A file shorter than its header
// claims fails with ErrFormat.
func (x *IDXReader) Next() ([]byte, error) {
	if x.next >= x.Dims[0] {
		return nil, io.EOF
	}
	b, err := readN(x.r, int64(x.ItemSize), x.buf)
	if err != nil {
		return nil, fmt.Errorf("%w: idx: item %d of %d: %w", ErrFormat, x.next, x.Dims[0], err)
	}
	x.buf = b
	x.next++
	return b, nil
}

// IDXWriter writes an idx file of uint8 items whose count is patched into
// the header on Close.
type IDXWriter struct {
	f    *os.File
	w    *bufio.Writer
	dims []int
	n    int
}

// CreateIDX creates an idx file of uint8 items of shape itemDims.
func CreateIDX(path string, itemDims ...int) (*IDXWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	w := &IDXWriter{f: f, w: bufio.NewWriter(f), dims: itemDims}
	w.w.Write([]byte{0, 0, IDXUint8, byte(1 + len(itemDims))})
	for _, d := range append([]int{0}, itemDims...) {
		binary.Write(w.w, binary.BigEndian, uint32(d))
	}
	return w, nil
}

// Write appends one item; it must have the product of the item dimensions
// bytes.
func (w *IDXWriter) Write(item []byte) error {
	n := 1
	for _, d := range w.dims {
		n *= d
	}
	if len(item) != n {
		return fmt.Errorf("%w: idx item of %d bytes, want %d", ErrFormat, len(item), n)
	}
	w.n++
	_, err := w.w.Write(item)
	return err
}

// Close writes the item count into the header and closes the file.
func (w *IDXWriter) Close() error {
	err := w.w.Flush()
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(w.n))
	if _, werr := w.f.WriteAt(n[:], 4); err == nil {
		err = werr
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// MNIST file names: "train-images-idx3-ubyte" or, as some mirrors name
// them, "train-images.idx3-ubyte", each possibly with ".gz".
func mnistFile(dir, prefix, kind string) (string, bool) {
	for _, name := range []string{prefix + "-" + kind, prefix + "-" + dotIDX(kind)} {
		for _, ext := range []string{"", ".gz"} {
			p := filepath.Join(dir, name+ext)
			if _, err := os.Stat(p); err == nil {
				return p, true
			}
		}
	}
	return "", false
}

func dotIDX(kind string) string { // "images-idx3-ubyte" → "images.idx3-ubyte"
	for i := range len(kind) {
		if kind[i] == '-' {
			return kind[:i] + "." + kind[i+1:]
		}
	}
	return kind
}

// mnistSplits maps split names to MNIST's file prefixes.
var mnistSplits = []struct{ split, prefix string }{{"train", "train"}, {"test", "t10k"}}

// MNIST reads MNIST (or Fashion-MNIST, same files) from a folder holding
// train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte
// and t10k-labels-idx1-ubyte, each possibly gzip-compressed. Records are
// 28×28 *image.Gray images (0 background, 255 ink, as stored) with Class the
// digit; IDs are "train-00000" …, split "train" or "test".
type MNIST struct {
	parts   []mnistPart
	cur     int
	classes []Class
	n       int
}

type mnistPart struct {
	split                string
	images, labels       *IDXReader
	imagePath, labelPath string
	files                []io.Closer
	i                    int
}

// OpenMNIST opens the MNIST files in dir; split "train" or "test" reads one
// pair, "" both (train first).
func OpenMNIST(dir, split string) (*MNIST, error) {
	m := &MNIST{}
	for i := range 10 {
		m.classes = append(m.classes, Class{Name: strconv.Itoa(i)})
	}
	for _, s := range mnistSplits {
		if split != "" && split != s.split {
			continue
		}
		ip, ok1 := mnistFile(dir, s.prefix, "images-idx3-ubyte")
		lp, ok2 := mnistFile(dir, s.prefix, "labels-idx1-ubyte")
		if !ok1 || !ok2 {
			if split != "" {
				m.Close()
				return nil, fmt.Errorf("%w: mnist: no %s-images-idx3-ubyte and %s-labels-idx1-ubyte in %s", ErrFormat, s.prefix, s.prefix, dir)
			}
			continue
		}
		p, err := openMNISTPart(s.split, ip, lp)
		if err != nil {
			m.Close()
			return nil, err
		}
		m.parts = append(m.parts, p)
		m.n += p.images.Len()
	}
	if len(m.parts) == 0 {
		return nil, fmt.Errorf("%w: mnist: no idx image and label files in %s", ErrFormat, dir)
	}
	return m, nil
}

func openMNISTPart(split, imagePath, labelPath string) (mnistPart, error) {
	p := mnistPart{split: split, imagePath: imagePath, labelPath: labelPath}
	for _, path := range []string{imagePath, labelPath} {
		f, err := os.Open(path)
		if err != nil {
			closeAll(p.files)
			return p, fmt.Errorf("datasets: %w", err)
		}
		p.files = append(p.files, f)
		x, err := NewIDXReader(f)
		if err != nil {
			closeAll(p.files)
			return p, fmt.Errorf("%s: %w", path, err)
		}
		if path == imagePath {
			p.images = x
		} else {
			p.labels = x
		}
	}
	if p.images.Type != IDXUint8 || len(p.images.Dims) != 3 {
		closeAll(p.files)
		return p, fmt.Errorf("%w: %s: want uint8 images of 3 dimensions, have type %#x dims %v", ErrFormat, imagePath, p.images.Type, p.images.Dims)
	}
	if p.labels.Type != IDXUint8 || len(p.labels.Dims) != 1 {
		closeAll(p.files)
		return p, fmt.Errorf("%w: %s: want uint8 labels of 1 dimension, have type %#x dims %v", ErrFormat, labelPath, p.labels.Type, p.labels.Dims)
	}
	if p.images.Len() != p.labels.Len() {
		closeAll(p.files)
		return p, fmt.Errorf("%w: %s holds %d images, %s %d labels", ErrFormat, imagePath, p.images.Len(), labelPath, p.labels.Len())
	}
	return p, nil
}

func closeAll(cs []io.Closer) {
	for _, c := range cs {
		c.Close()
	}
}

// Classes returns the ten digits, "0" to "9".
func (m *MNIST) Classes() []Class { return m.classes }

// Len returns the number of images the headers claim.
func (m *MNIST) Len() int { return m.n }

// Next returns the next image. A truncated file ends the reading with an
// error wrapping ErrFormat.
func (m *MNIST) Next() (*Record, error) {
	for m.cur < len(m.parts) {
		p := &m.parts[m.cur]
		pix, err := p.images.Next()
		if err == io.EOF {
			m.cur++
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.imagePath, err)
		}
		lab, err := p.labels.Next()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.labelPath, err)
		}
		i := p.i
		p.i++
		h, w := p.images.Dims[1], p.images.Dims[2]
		if int(lab[0]) >= len(m.classes) {
			return nil, badRecord(fmt.Sprintf("%s: item %d", p.labelPath, i), "label %d is not a digit", lab[0])
		}
		img := image.NewGray(image.Rect(0, 0, w, h))
		copy(img.Pix, pix)
		id := fmt.Sprintf("%s-%05d", p.split, i)
		return &Record{
			ID: id, Name: id + ".png", Split: p.split,
			Width: w, Height: h, Image: Image{Pixels: img},
			Class: int(lab[0]), Source: p.imagePath,
		}, nil
	}
	return nil, io.EOF
}

// Close closes the files.
func (m *MNIST) Close() error {
	for _, p := range m.parts {
		closeAll(p.files)
	}
	m.parts = nil
	return nil
}

// mnistWriter writes records as MNIST idx files, one image and one label
// file per split ("train" → train-*, "test" → t10k-*, others by their
// name), uncompressed. Images are converted to 8-bit grey; every image of
// a split must have the size of its first.
type mnistWriter struct {
	dir     string
	classes []Class
	parts   map[string]*mnistOut
	drops   Drops
}

type mnistOut struct {
	images, labels *IDXWriter
	w, h           int
}

func newMNISTWriter(dir string, classes []Class) (*mnistWriter, error) {
	if len(classes) > 256 {
		return nil, fmt.Errorf("%w: mnist: %d classes do not fit idx's uint8 labels", ErrUnsupported, len(classes))
	}
	return &mnistWriter{dir: dir, classes: classes, parts: map[string]*mnistOut{}, drops: Drops{}}, nil
}

func (w *mnistWriter) ImageFile(rec *Record) string { return "" }

func (w *mnistWriter) Write(rec *Record) error {
	if rec.Class < 0 || rec.Class >= len(w.classes) {
		return badRecord(rec.Source, "mnist: image %s has no class", rec.ID)
	}
	img, err := rec.Image.Decode(defaultDecoder)
	if err != nil {
		return &RecordError{Where: rec.Source, Err: err}
	}
	split := rec.Split
	if split == "" {
		split = "train"
	}
	prefix := split
	for _, s := range mnistSplits {
		if s.split == split {
			prefix = s.prefix
		}
	}
	b := img.Bounds()
	o := w.parts[split]
	if o == nil {
		o = &mnistOut{w: b.Dx(), h: b.Dy()}
		if o.images, err = CreateIDX(filepath.Join(w.dir, prefix+"-images-idx3-ubyte"), o.h, o.w); err != nil {
			return err
		}
		if o.labels, err = CreateIDX(filepath.Join(w.dir, prefix+"-labels-idx1-ubyte")); err != nil {
			return err
		}
		w.parts[split] = o
	}
	if b.Dx() != o.w || b.Dy() != o.h {
		return badRecord(rec.Source, "mnist: image %s is %dx%d, the split's first is %dx%d", rec.ID, b.Dx(), b.Dy(), o.w, o.h)
	}
	g, ok := img.(*image.Gray)
	if !ok || g.Stride != o.w || g.Rect.Min != (image.Point{}) {
		if m := img.ColorModel(); m != color.GrayModel && m != color.Gray16Model {
			w.drops.add("colour", 1)
		}
		g = image.NewGray(image.Rect(0, 0, o.w, o.h))
		draw.Draw(g, g.Rect, img, b.Min, draw.Src)
	}
	if err := o.images.Write(g.Pix); err != nil {
		return err
	}
	if err := o.labels.Write([]byte{byte(rec.Class)}); err != nil {
		return err
	}
	w.drops.add("objects", len(rec.Objects))
	if rec.Segmentation != nil {
		w.drops.add("segmentation maps", 1)
	}
	return nil
}

func (w *mnistWriter) Close() error {
	var err error
	for _, o := range w.parts {
		if e := o.images.Close(); err == nil {
			err = e
		}
		if e := o.labels.Close(); err == nil {
			err = e
		}
	}
	return err
}

func (w *mnistWriter) Dropped() Drops { return w.drops }
