package datasets

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"govision.dev/vision/imageio"
)

// Pascal VOC's layout (VOCdevkit/VOC2012):
//
//	Annotations/ID.xml            one annotation per image
//	JPEGImages/ID.jpg             the images
//	ImageSets/Main/SPLIT.txt      the IDs of each split (train, val, trainval, test)
//	SegmentationClass/ID.png      class maps, paletted PNGs (255 void)
//	ImageSets/Segmentation/SPLIT.txt
//
// An annotation's objects have a name, a bndbox of 1-based inclusive pixel
// indices (xmin, ymin, xmax, ymax), and the flags difficult, truncated,
// occluded and a pose. govision's VOC writer also writes labels.txt, the
// class list in order, which the reader prefers to guessing.

// maxAnnotationFile bounds an XML annotation or YOLO label file (16 MiB).
const maxAnnotationFile = 16 << 20

// Options configure the readers.
type Options struct {
	// Split reads only that subset ("train", "val", …); "" reads all.
	Split string
	// Classes, for VOC, is the class list; an object of another class is a
	// bad record. Empty: labels.txt if the data set has one, else every
	// name its annotations use, sorted.
	Classes []string
}

// VOC reads a Pascal VOC data set.
type VOC struct {
	root    string
	classes []Class
	index   map[string]int
	ids     []string
	splitOf map[string]string
	split   string
	i       int
}

// OpenVOC opens the VOC data set at root (the folder holding Annotations).
func OpenVOC(root string, opt Options) (*VOC, error) {
	v := &VOC{root: root, index: map[string]int{}, splitOf: map[string]string{}, split: opt.Split}
	if !isDir(filepath.Join(root, "Annotations")) {
		return nil, fmt.Errorf("%w: voc: %s has no Annotations folder", ErrFormat, root)
	}
	if opt.Split != "" {
		ids, err := readIDList(filepath.Join(root, "ImageSets", "Main", opt.Split+".txt"))
		if err != nil {
			return nil, err
		}
		v.ids = ids
		for _, id := range ids {
			v.splitOf[id] = opt.Split
		}
	} else {
		entries, err := os.ReadDir(filepath.Join(root, "Annotations"))
		if err != nil {
			return nil, fmt.Errorf("datasets: %w", err)
		}
		for _, e := range entries {
			if n := e.Name(); !e.IsDir() && strings.HasSuffix(n, ".xml") && !strings.HasPrefix(n, ".") {
				v.ids = append(v.ids, strings.TrimSuffix(n, ".xml"))
			}
		}
		slices.Sort(v.ids)
		// Splits that partition the data (trainval is train ∪ val).
		for _, s := range []string{"train", "val", "test"} {
			ids, err := readIDList(filepath.Join(root, "ImageSets", "Main", s+".txt"))
			if notExist(err) {
				continue
			} else if err != nil {
				return nil, err
			}
			for _, id := range ids {
				if _, ok := v.splitOf[id]; !ok {
					v.splitOf[id] = s
				}
			}
		}
	}
	names := opt.Classes
	if len(names) == 0 {
		if l, err := readNames(filepath.Join(root, "labels.txt")); err == nil {
			names = l
		}
	}
	if len(names) == 0 {
		names = v.scanNames()
	}
	for i, n := range names {
		if _, dup := v.index[n]; dup {
			return nil, fmt.Errorf("%w: voc: class %q listed twice", ErrFormat, n)
		}
		v.index[n] = i
		v.classes = append(v.classes, Class{Name: n})
	}
	return v, nil
}

// readIDList reads an ImageSets list: the first field of each line.
func readIDList(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 0 {
			ids = append(ids, fields[0])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("datasets: %s: %w", path, err)
	}
	return ids, nil
}

// scanNames returns the object names the annotations use, sorted; files
// that do not parse are left for Next to report.
func (v *VOC) scanNames() []string {
	seen := map[string]bool{}
	for _, id := range v.ids {
		data, err := os.ReadFile(v.annotationPath(id))
		if err != nil || len(data) > maxAnnotationFile {
			continue
		}
		a, err := parseVOCXML(data, "", nil)
		if err != nil {
			continue
		}
		for _, n := range a.names {
			seen[n] = true
		}
	}
	var names []string
	for n := range seen {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func (v *VOC) annotationPath(id string) string {
	return filepath.Join(v.root, "Annotations", id+".xml")
}

// Classes returns the class list.
func (v *VOC) Classes() []Class { return v.classes }

// Len returns the number of annotations to read.
func (v *VOC) Len() int { return len(v.ids) }

// Next parses the next annotation.
func (v *VOC) Next() (*Record, error) {
	if v.i >= len(v.ids) {
		return nil, io.EOF
	}
	id := v.ids[v.i]
	v.i++
	src := v.annotationPath(id)
	f, err := os.Open(src)
	if err != nil {
		return nil, &RecordError{Where: src, Err: err}
	}
	data, err := readAllLimit(f, maxAnnotationFile, src)
	f.Close()
	if err != nil {
		return nil, &RecordError{Where: src, Err: err}
	}
	a, err := parseVOCXML(data, src, func(name string) (int, bool) {
		i, ok := v.index[name]
		return i, ok
	})
	if err != nil {
		return nil, err
	}
	rec := &Record{ID: id, Name: a.filename, Split: v.splitOf[id], Width: a.width, Height: a.height,
		Class: -1, Objects: a.objects, Source: src}
	if rec.Name == "" {
		rec.Name = id + ".jpg"
	}
	img := filepath.Join(v.root, "JPEGImages", filepath.FromSlash(rec.Name))
	if !isFile(img) {
		found := false
		for _, ext := range []string{".jpg", ".jpeg", ".png"} {
			if p := filepath.Join(v.root, "JPEGImages", id+ext); isFile(p) {
				img, rec.Name, found = p, id+ext, true
				break
			}
		}
		if !found {
			return nil, badRecord(src, "voc: no image %s in JPEGImages", rec.Name)
		}
	}
	rec.Image = Image{Path: img}
	if seg := filepath.Join(v.root, "SegmentationClass", id+".png"); isFile(seg) {
		m, err := readClassMap(seg)
		if err != nil {
			return nil, &RecordError{Where: seg, Err: err}
		}
		if rec.Width != 0 && (m.W != rec.Width || m.H != rec.Height) {
			return nil, badRecord(seg, "voc: segmentation is %dx%d, the image %dx%d", m.W, m.H, rec.Width, rec.Height)
		}
		rec.Segmentation = m
	}
	return rec, nil
}

// Close does nothing.
func (v *VOC) Close() error { return nil }

// vocParsed is one parsed annotation file.
type vocParsed struct {
	filename      string
	width, height int
	objects       []Object
	names         []string
}

// parseVOCXML parses a VOC annotation. classIndex maps an object name to
// its class (nil: names are only collected). Errors are *RecordError at
// src:line.
func parseVOCXML(data []byte, src string, classIndex func(string) (int, bool)) (*vocParsed, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	a := &vocParsed{}
	var (
		stack   []string
		text    strings.Builder
		obj     *Object
		objLine int
		coords  map[string]float64
		root    bool
	)
	where := func(line int) string { return fmt.Sprintf("%s:%d", src, line) }
	line := func() int { l, _ := d.InputPos(); return l }
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, badRecord(where(line()), "voc: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 {
				if t.Name.Local != "annotation" {
					return nil, badRecord(where(line()), "voc: root element <%s>, want <annotation>", t.Name.Local)
				}
				root = true
			}
			stack = append(stack, t.Name.Local)
			text.Reset()
			p := strings.Join(stack, "/")
			switch p {
			case "annotation/object":
				obj = &Object{Class: -1}
				objLine = line()
				coords = map[string]float64{}
			}
			if len(stack) > 64 {
				return nil, badRecord(where(line()), "voc: elements nested over 64 deep")
			}
		case xml.CharData:
			if text.Len()+len(t) > 1<<16 {
				return nil, badRecord(where(line()), "voc: element text over 64 KiB")
			}
			text.Write(t)
		case xml.EndElement:
			p := strings.Join(stack, "/")
			s := strings.TrimSpace(text.String())
			text.Reset()
			num := func() (float64, error) {
				f, err := strconv.ParseFloat(s, 64)
				if err != nil {
					return 0, badRecord(where(line()), "voc: <%s> %q is not a number", stack[len(stack)-1], s)
				}
				return f, nil
			}
			flag := func() (bool, error) {
				f, err := num()
				return f != 0, err
			}
			var err error
			switch p {
			case "annotation/filename":
				a.filename = s
			case "annotation/size/width", "annotation/size/height":
				f, e := num()
				if e == nil && (f < 0 || f > 1<<20 || f != float64(int(f))) {
					e = badRecord(where(line()), "voc: image %s %q out of range", stack[len(stack)-1], s)
				}
				if stack[len(stack)-1] == "width" {
					a.width = int(f)
				} else {
					a.height = int(f)
				}
				err = e
			case "annotation/object/name":
				a.names = append(a.names, s)
				if classIndex != nil {
					i, ok := classIndex(s)
					if !ok {
						return nil, badRecord(where(line()), "voc: unknown class %q", s)
					}
					obj.Class = i
				}
			case "annotation/object/pose":
				if s != "Unspecified" {
					obj.Pose = s
				}
			case "annotation/object/difficult":
				obj.Difficult, err = flag()
			case "annotation/object/truncated":
				obj.Truncated, err = flag()
			case "annotation/object/occluded":
				obj.Occluded, err = flag()
			case "annotation/object/bndbox/xmin", "annotation/object/bndbox/ymin",
				"annotation/object/bndbox/xmax", "annotation/object/bndbox/ymax":
				coords[stack[len(stack)-1]], err = num()
			case "annotation/object":
				for _, k := range []string{"xmin", "ymin", "xmax", "ymax"} {
					if _, ok := coords[k]; !ok {
						return nil, badRecord(where(objLine), "voc: object without bndbox/%s", k)
					}
				}
				if classIndex != nil && obj.Class < 0 {
					return nil, badRecord(where(objLine), "voc: object without a name")
				}
				obj.Box = Box{X1: coords["xmin"] - 1, Y1: coords["ymin"] - 1, X2: coords["xmax"], Y2: coords["ymax"]}
				obj.Where = where(objLine)
				if classIndex != nil {
					a.objects = append(a.objects, *obj)
				}
				obj = nil
			}
			if err != nil {
				return nil, err
			}
			stack = stack[:len(stack)-1]
		}
	}
	if !root {
		return nil, badRecord(where(line()), "voc: no <annotation> element")
	}
	return a, nil
}

// readClassMap reads a VOC segmentation PNG: a paletted image's indices,
// or an RGB image's colours looked up in the VOC palette.
func readClassMap(path string) (*ClassMap, error) {
	img, err := imageio.Decoder{KeepOrientation: true}.DecodeFile(path)
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	m := &ClassMap{W: b.Dx(), H: b.Dy(), Pix: make([]uint8, b.Dx()*b.Dy())}
	if p, ok := img.(*image.Paletted); ok {
		for y := range m.H {
			copy(m.Pix[y*m.W:(y+1)*m.W], p.Pix[y*p.Stride:])
		}
		return m, nil
	}
	pal := imageio.VOCPalette()
	lookup := map[color.RGBA]uint8{}
	for i, c := range pal {
		lookup[c.(color.RGBA)] = uint8(i)
	}
	for y := range m.H {
		for x := range m.W {
			c := color.RGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.RGBA)
			c.A = 255
			k, ok := lookup[c]
			if !ok {
				return nil, fmt.Errorf("%w: %s: pixel (%d, %d) colour %v is not in the VOC palette", ErrFormat, path, x, y, c)
			}
			m.Pix[y*m.W+x] = k
		}
	}
	return m, nil
}

// vocWriter writes a Pascal VOC data set.
type vocWriter struct {
	dir     string
	classes []Class
	seen    map[string]bool
	splits  map[string][]string // split → ids, Main
	segs    map[string][]string // split → ids, Segmentation
	drops   Drops
}

func newVOCWriter(dir string, classes []Class) *vocWriter {
	return &vocWriter{dir: dir, classes: classes, seen: map[string]bool{},
		splits: map[string][]string{}, segs: map[string][]string{}, drops: Drops{}}
}

// vocName is rec's image file name flattened for JPEGImages.
func vocName(rec *Record) string { return strings.ReplaceAll(outName(rec), "/", "_") }

func (w *vocWriter) ImageFile(rec *Record) string { return "JPEGImages/" + vocName(rec) }

func (w *vocWriter) Write(rec *Record) error {
	name := vocName(rec)
	id := strings.TrimSuffix(name, path.Ext(name))
	if w.seen[id] {
		return badRecord(rec.Source, "voc: a second image with ID %s", id)
	}
	width, height := rec.Width, rec.Height
	if width == 0 || height == 0 {
		var err error
		if width, height, err = rec.Image.Size(); err != nil {
			return &RecordError{Where: rec.Source, Err: err}
		}
	}
	var buf bytes.Buffer
	buf.WriteString("<annotation>\n\t<folder>VOC</folder>\n")
	fmt.Fprintf(&buf, "\t<filename>%s</filename>\n", xmlText(name))
	fmt.Fprintf(&buf, "\t<size>\n\t\t<width>%d</width>\n\t\t<height>%d</height>\n\t\t<depth>3</depth>\n\t</size>\n", width, height)
	fmt.Fprintf(&buf, "\t<segmented>%d</segmented>\n", btoi(rec.Segmentation != nil))
	for _, o := range rec.Objects {
		if o.Class < 0 || o.Class >= len(w.classes) {
			return badRecord(firstNonEmpty(o.Where, rec.Source), "voc: object of class %d, the data set has %d", o.Class, len(w.classes))
		}
		pose := o.Pose
		if pose == "" {
			pose = "Unspecified"
		}
		fmt.Fprintf(&buf, "\t<object>\n\t\t<name>%s</name>\n\t\t<pose>%s</pose>\n", xmlText(w.classes[o.Class].Name), xmlText(pose))
		fmt.Fprintf(&buf, "\t\t<truncated>%d</truncated>\n\t\t<difficult>%d</difficult>\n", btoi(o.Truncated), btoi(o.Difficult))
		if o.Occluded {
			buf.WriteString("\t\t<occluded>1</occluded>\n")
		}
		// Continuous pixel edges to VOC's 1-based inclusive indices.
		fmt.Fprintf(&buf, "\t\t<bndbox>\n\t\t\t<xmin>%d</xmin>\n\t\t\t<ymin>%d</ymin>\n\t\t\t<xmax>%d</xmax>\n\t\t\t<ymax>%d</ymax>\n\t\t</bndbox>\n\t</object>\n",
			roundInt(o.Box.X1)+1, roundInt(o.Box.Y1)+1, roundInt(o.Box.X2), roundInt(o.Box.Y2))
	}
	buf.WriteString("</annotation>\n")
	if err := putImage(w.dir, w.ImageFile(rec), rec.Image); err != nil {
		return &RecordError{Where: rec.Source, Err: err}
	}
	if err := writeFileAtomic(filepath.Join(w.dir, "Annotations", id+".xml"), buf.Bytes()); err != nil {
		return err
	}
	split := rec.Split
	if split == "" {
		split = defaultSplit
	}
	if rec.Segmentation != nil {
		s := rec.Segmentation
		m, err := imageio.MaskImage(s.Pix, s.W, s.H)
		if err != nil {
			return &RecordError{Where: rec.Source, Err: err}
		}
		if err := createAtomic(filepath.Join(w.dir, "SegmentationClass", id+".png"), func(wr io.Writer) error {
			return encodeImage(wr, m, ".png")
		}); err != nil {
			return err
		}
		w.segs[split] = append(w.segs[split], id)
	}
	w.seen[id] = true
	w.splits[split] = append(w.splits[split], id)
	objectDrops(w.drops, rec, "difficult", "truncated", "occluded", "pose")
	if rec.Class >= 0 {
		w.drops.add("image classes", 1)
	}
	return nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func roundInt(f float64) int { return int(mathRound(f)) }

func xmlText(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func (w *vocWriter) Close() error {
	lists := func(sub string, m map[string][]string) error {
		for split, ids := range m {
			if err := writeFileAtomic(filepath.Join(w.dir, "ImageSets", sub, split+".txt"), []byte(strings.Join(ids, "\n")+"\n")); err != nil {
				return err
			}
		}
		return nil
	}
	if err := lists("Main", w.splits); err != nil {
		return err
	}
	if err := lists("Segmentation", w.segs); err != nil {
		return err
	}
	if len(w.seen) == 0 {
		if err := os.MkdirAll(filepath.Join(w.dir, "Annotations"), 0o777); err != nil {
			return err
		}
	}
	classDrops(w.drops, w.classes)
	return writeFileAtomic(filepath.Join(w.dir, "labels.txt"), []byte(strings.Join(ClassNames(w.classes), "\n")+"\n"))
}

func (w *vocWriter) Dropped() Drops { return w.drops }

// classDrops counts the class attributes a format without category ids
// and supercategories loses: ids that are not simply position + 1, and
// supercategory names.
func classDrops(d Drops, classes []Class) {
	renumbered := false
	for i, c := range classes {
		if c.ID != 0 && c.ID != i+1 {
			renumbered = true
		}
		if c.Supercategory != "" {
			d.add("supercategories", 1)
		}
	}
	if renumbered {
		d.add("category ids", len(classes))
	}
}
