package datasets

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// CIFAR's binary version (cs.toronto.edu/~kriz/cifar.html): each record is
// its label byte(s) — CIFAR-10 one, CIFAR-100 the coarse then the fine
// label — followed by a 32×32 colour image as three 1024-byte planes (red,
// green, blue), each row-major. CIFAR-10's folder (cifar-10-batches-bin)
// holds data_batch_1.bin … data_batch_5.bin, test_batch.bin and
// batches.meta.txt; CIFAR-100's (cifar-100-binary) train.bin, test.bin,
// fine_label_names.txt and coarse_label_names.txt.

const (
	cifarSide  = 32
	cifarPixel = 3 * cifarSide * cifarSide
	cifarBatch = 10000 // records per CIFAR-10 batch file
)

// CIFARStream reads the records of one CIFAR binary file.
type CIFARStream struct {
	r       *bufio.Reader
	labels  int // label bytes per record: 1 (CIFAR-10) or 2 (CIFAR-100)
	nfine   int // the number of (fine) classes
	name    string
	i       int
	buf     []byte
	Coarse  int // the coarse label of the last record (CIFAR-100), or -1
	corrupt bool
}

// NewCIFARStream reads CIFAR-10 (hundred false) or CIFAR-100 records from
// r, with classes fine classes; name is used in messages.
func NewCIFARStream(r io.Reader, hundred bool, classes int, name string) *CIFARStream {
	s := &CIFARStream{r: bufio.NewReaderSize(r, 1<<16), labels: 1, nfine: classes, name: name, Coarse: -1}
	if hundred {
		s.labels = 2
	}
	s.buf = make([]byte, s.labels+cifarPixel)
	return s
}

// Next returns the next image (an opaque *image.NRGBA) and its label, or
// io.EOF. A record whose label is out of range is a *RecordError (the
// stream goes on); a truncated record ends it with ErrFormat.
func (s *CIFARStream) Next() (*image.NRGBA, int, error) {
	if s.corrupt {
		return nil, 0, io.EOF
	}
	n, err := io.ReadFull(s.r, s.buf)
	if err == io.EOF {
		return nil, 0, io.EOF
	}
	i := s.i
	s.i++
	if err != nil {
		s.corrupt = true
		return nil, 0, fmt.Errorf("%w: %s: record %d truncated at %d of %d bytes", ErrFormat, s.name, i, n, len(s.buf))
	}
	label := int(s.buf[s.labels-1])
	if s.labels == 2 {
		s.Coarse = int(s.buf[0])
	}
	if label >= s.nfine {
		return nil, 0, badRecord(fmt.Sprintf("%s: record %d", s.name, i), "label %d, the data set has %d classes", label, s.nfine)
	}
	img := image.NewNRGBA(image.Rect(0, 0, cifarSide, cifarSide))
	px := s.buf[s.labels:]
	const plane = cifarSide * cifarSide
	for k := range plane {
		img.Pix[4*k] = px[k]
		img.Pix[4*k+1] = px[plane+k]
		img.Pix[4*k+2] = px[2*plane+k]
		img.Pix[4*k+3] = 0xff
	}
	return img, label, nil
}

// CIFAR reads CIFAR-10 or CIFAR-100 from its binary folder. Records have
// Class (CIFAR-100: the fine label; each class's Supercategory is its
// coarse class), split "train" or "test", IDs "train-00000" ….
type CIFAR struct {
	hundred bool
	classes []Class
	coarse  []string
	files   []cifarFile
	cur     int
	f       *os.File
	s       *CIFARStream
	index   map[string]int
	n       int
}

type cifarFile struct{ path, split string }

// OpenCIFAR opens the binary CIFAR-10 (hundred false) or CIFAR-100 folder
// dir; split "train" or "test" reads one, "" both.
func OpenCIFAR(dir string, hundred bool, split string) (*CIFAR, error) {
	c := &CIFAR{hundred: hundred, index: map[string]int{}}
	var train, test []string
	var names []string
	var err error
	if hundred {
		train, test = []string{"train.bin"}, []string{"test.bin"}
		if names, err = readNames(filepath.Join(dir, "fine_label_names.txt")); err != nil {
			return nil, err
		}
		if c.coarse, err = readNames(filepath.Join(dir, "coarse_label_names.txt")); err != nil {
			return nil, err
		}
	} else {
		for i := 1; i <= 5; i++ {
			train = append(train, fmt.Sprintf("data_batch_%d.bin", i))
		}
		test = []string{"test_batch.bin"}
		if names, err = readNames(filepath.Join(dir, "batches.meta.txt")); err != nil {
			return nil, err
		}
	}
	for _, n := range names {
		c.classes = append(c.classes, Class{Name: n})
	}
	for _, part := range []struct {
		split string
		files []string
	}{{"train", train}, {"test", test}} {
		if split != "" && split != part.split {
			continue
		}
		for _, f := range part.files {
			p := filepath.Join(dir, f)
			fi, err := os.Stat(p)
			if err != nil {
				continue
			}
			c.files = append(c.files, cifarFile{p, part.split})
			c.n += int(fi.Size()) / (cifarPixel + 1 + btoi(hundred))
		}
	}
	if len(c.files) == 0 {
		return nil, fmt.Errorf("%w: cifar: no data files in %s", ErrFormat, dir)
	}
	if hundred {
		// Writers take the classes before the first record: read the
		// coarse class of each fine class from the label bytes now.
		for _, file := range c.files {
			if err := c.scanCoarse(file.path); err != nil {
				return nil, err
			}
		}
	}
	return c, nil
}

// scanCoarse sets each fine class's Supercategory from the first record of
// that class in the CIFAR-100 file at path.
func (c *CIFAR) scanCoarse(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<16)
	var lab [2]byte
	for {
		if _, err := io.ReadFull(r, lab[:]); err != nil {
			return nil // a short file is reported when its records are read
		}
		if int(lab[1]) < len(c.classes) && int(lab[0]) < len(c.coarse) && c.classes[lab[1]].Supercategory == "" {
			c.classes[lab[1]].Supercategory = c.coarse[lab[0]]
		}
		if _, err := r.Discard(cifarPixel); err != nil {
			return nil
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// readNames reads a names file: one name a line, blank lines skipped.
func readNames(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	defer f.Close()
	data, err := readAllLimit(f, 16<<20, path)
	if err != nil {
		return nil, err
	}
	var names []string
	for line := range strings.SplitSeq(string(data), "\n") {
		if n := strings.TrimSpace(line); n != "" {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: %s names no classes", ErrFormat, path)
	}
	return names, nil
}

// Classes returns the (fine) classes.
func (c *CIFAR) Classes() []Class { return c.classes }

// Len returns the number of records the files' sizes hold.
func (c *CIFAR) Len() int { return c.n }

// Next returns the next record.
func (c *CIFAR) Next() (*Record, error) {
	for c.cur < len(c.files) {
		file := c.files[c.cur]
		if c.s == nil {
			f, err := os.Open(file.path)
			if err != nil {
				return nil, fmt.Errorf("datasets: %w", err)
			}
			c.f = f
			c.s = NewCIFARStream(f, c.hundred, len(c.classes), file.path)
		}
		img, label, err := c.s.Next()
		if err == io.EOF {
			c.f.Close()
			c.f, c.s = nil, nil
			c.cur++
			continue
		}
		var re *RecordError
		if errors.As(err, &re) {
			c.index[file.split]++
			return nil, err
		}
		if err != nil {
			return nil, err
		}
		if c.hundred {
			if c.s.Coarse >= len(c.coarse) {
				c.index[file.split]++
				return nil, badRecord(fmt.Sprintf("%s: record %d", file.path, c.s.i-1), "coarse label %d, the data set has %d", c.s.Coarse, len(c.coarse))
			}
		}
		id := fmt.Sprintf("%s-%05d", file.split, c.index[file.split])
		c.index[file.split]++
		return &Record{ID: id, Name: id + ".png", Split: file.split, Width: cifarSide, Height: cifarSide,
			Image: Image{Pixels: img}, Class: label, Source: file.path}, nil
	}
	return nil, io.EOF
}

// Close closes the open file.
func (c *CIFAR) Close() error {
	if c.f != nil {
		c.f.Close()
		c.f, c.s = nil, nil
	}
	return nil
}

// cifarWriter writes 32×32 images as CIFAR binary files: CIFAR-10 in
// batches of 10,000 (data_batch_N.bin; the "test" split in test_batch.bin),
// CIFAR-100 as train.bin and test.bin; other splits in <split>.bin.
type cifarWriter struct {
	dir     string
	hundred bool
	classes []Class
	coarse  []string
	coarseI map[string]int
	outs    map[string]*cifarOut
	drops   Drops
}

type cifarOut struct {
	f     *os.File
	w     *bufio.Writer
	n     int
	batch int
}

func newCIFARWriter(dir string, classes []Class, hundred bool) (*cifarWriter, error) {
	if len(classes) > 256 {
		return nil, fmt.Errorf("%w: cifar: %d classes do not fit a label byte", ErrUnsupported, len(classes))
	}
	w := &cifarWriter{dir: dir, hundred: hundred, classes: classes, coarseI: map[string]int{}, outs: map[string]*cifarOut{}, drops: Drops{}}
	for _, c := range classes {
		if _, ok := w.coarseI[c.Supercategory]; !ok && hundred {
			w.coarseI[c.Supercategory] = len(w.coarse)
			w.coarse = append(w.coarse, c.Supercategory)
		}
	}
	return w, nil
}

func (w *cifarWriter) ImageFile(*Record) string { return "" }

func (w *cifarWriter) fileName(split string, batch int) string {
	switch {
	case w.hundred && (split == "train" || split == "test"):
		return split + ".bin"
	case split == "train":
		return fmt.Sprintf("data_batch_%d.bin", batch+1)
	case split == "test":
		return "test_batch.bin"
	}
	return split + ".bin"
}

func (w *cifarWriter) Write(rec *Record) error {
	if rec.Class < 0 || rec.Class >= len(w.classes) {
		return badRecord(rec.Source, "cifar: image %s has no class", rec.ID)
	}
	img, err := rec.Image.Decode(defaultDecoder)
	if err != nil {
		return &RecordError{Where: rec.Source, Err: err}
	}
	if b := img.Bounds(); b.Dx() != cifarSide || b.Dy() != cifarSide {
		return badRecord(rec.Source, "cifar: image %s is %dx%d, not 32x32 (resize it first)", rec.ID, b.Dx(), b.Dy())
	}
	split := rec.Split
	if split == "" {
		split = "train"
	}
	o := w.outs[split]
	if o != nil && !w.hundred && split == "train" && o.n == cifarBatch {
		if err := o.close(); err != nil {
			return err
		}
		o = &cifarOut{batch: o.batch + 1}
		w.outs[split] = o
	}
	if o == nil || o.f == nil {
		if o == nil {
			o = &cifarOut{}
			w.outs[split] = o
		}
		f, err := os.Create(filepath.Join(w.dir, w.fileName(split, o.batch)))
		if err != nil {
			return fmt.Errorf("datasets: %w", err)
		}
		o.f, o.w = f, bufio.NewWriter(f)
	}
	rgba := image.NewNRGBA(image.Rect(0, 0, cifarSide, cifarSide))
	draw.Draw(rgba, rgba.Rect, img, img.Bounds().Min, draw.Src)
	if w.hundred {
		o.w.WriteByte(byte(w.coarseI[w.classes[rec.Class].Supercategory]))
	}
	o.w.WriteByte(byte(rec.Class))
	const plane = cifarSide * cifarSide
	var px [cifarPixel]byte
	for k := range plane {
		px[k], px[plane+k], px[2*plane+k] = rgba.Pix[4*k], rgba.Pix[4*k+1], rgba.Pix[4*k+2]
	}
	if _, err := o.w.Write(px[:]); err != nil {
		return err
	}
	o.n++
	w.drops.add("objects", len(rec.Objects))
	if rec.Segmentation != nil {
		w.drops.add("segmentation maps", 1)
	}
	return nil
}

func (o *cifarOut) close() error {
	if o.f == nil {
		return nil
	}
	err := o.w.Flush()
	if cerr := o.f.Close(); err == nil {
		err = cerr
	}
	o.f = nil
	return err
}

func (w *cifarWriter) Close() error {
	var err error
	for _, o := range w.outs {
		if e := o.close(); err == nil {
			err = e
		}
	}
	names := func(file string, list []string) {
		if e := writeFileAtomic(filepath.Join(w.dir, file), []byte(strings.Join(list, "\n")+"\n")); err == nil {
			err = e
		}
	}
	if w.hundred {
		names("fine_label_names.txt", ClassNames(w.classes))
		names("coarse_label_names.txt", w.coarse)
	} else {
		names("batches.meta.txt", ClassNames(w.classes))
	}
	return err
}

func (w *cifarWriter) Dropped() Drops { return w.drops }
