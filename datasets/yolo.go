package datasets

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// YOLO's txt labels (darknet's, Ultralytics'): one file per image, one line
// per object, "class cx cy w h" with the box centre and size as fractions
// of the image's width and height; Ultralytics' segmentation labels give
// "class x1 y1 x2 y2 …" (a polygon, also in fractions) instead. A label
// file sits where the image is with ".txt" for its extension, in a labels
// folder parallel to the images folder when the path has one
// (images/train/x.jpg → labels/train/x.txt, Ultralytics' img2label_paths).
// The class names come from a data.yaml ("names:"), a *.names file or
// classes.txt.

// YOLO reads a YOLO data set.
type YOLO struct {
	root    string
	classes []Class
	items   []yoloItem
	i       int
}

type yoloItem struct {
	image, label, name, split string
}

// OpenYOLO lists the images under root and reads the class names.
func OpenYOLO(root string, opt Options) (*YOLO, error) {
	names, err := findYOLONames(root)
	if err != nil {
		return nil, err
	}
	y := &YOLO{root: root}
	for _, n := range names {
		y.classes = append(y.classes, Class{Name: n})
	}
	files, err := walkImages(root)
	if err != nil {
		return nil, err
	}
	for _, rel := range files {
		it := yoloItem{image: filepath.Join(root, filepath.FromSlash(rel)), name: rel}
		parts := strings.Split(rel, "/")
		i := slices.Index(parts, "images")
		label := rel
		if last := lastIndex(parts, "images"); last >= 0 {
			lp := slices.Clone(parts)
			lp[last] = "labels"
			label = strings.Join(lp, "/")
		}
		switch {
		case i == 0 && len(parts) > 2: // images/SPLIT/name
			it.split, it.name = parts[1], strings.Join(parts[2:], "/")
		case i == 1 && len(parts) > 2: // SPLIT/images/name (Roboflow)
			it.split, it.name = parts[0], strings.Join(parts[2:], "/")
		case i == 0: // images/name
			it.name = strings.Join(parts[1:], "/")
		}
		if opt.Split != "" && it.split != opt.Split {
			continue
		}
		it.label = filepath.Join(root, filepath.FromSlash(strings.TrimSuffix(label, path.Ext(label))+".txt"))
		y.items = append(y.items, it)
	}
	return y, nil
}

func lastIndex(s []string, v string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == v {
			return i
		}
	}
	return -1
}

// findYOLONames reads the class names from root's data.yaml (or another
// .yaml with names), *.names or classes.txt.
func findYOLONames(root string) ([]string, error) {
	yamls, _ := filepath.Glob(filepath.Join(root, "*.yaml"))
	for _, n := range []string{"dataset.yaml", "data.yaml"} {
		if p := filepath.Join(root, n); isFile(p) {
			yamls = append([]string{p}, yamls...)
		}
	}
	for _, p := range yamls {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		names, err := ParseYOLOYAMLNames(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if names != nil {
			return names, nil
		}
	}
	lists, _ := filepath.Glob(filepath.Join(root, "*.names"))
	slices.Sort(lists)
	lists = append(lists, filepath.Join(root, "classes.txt"))
	for _, p := range lists {
		if isFile(p) {
			return readNames(p)
		}
	}
	return nil, fmt.Errorf("%w: yolo: no class names in %s (data.yaml, *.names or classes.txt)", ErrFormat, root)
}

// ParseYOLOYAMLNames reads the "names" of an Ultralytics data YAML: a flow
// list (names: [a, b]), a block list (- a) or a map from index to name
// (0: a). It understands only that much YAML: top-level "key: value"
// lines, comments, and quoted strings. It returns nil, nil when there is
// no "names" key.
func ParseYOLOYAMLNames(data []byte) ([]string, error) {
	lines := strings.Split(string(data), "\n")
	var names []string
	found := false
	byIndex := map[int]string{}
	for i := 0; i < len(lines); i++ {
		line := stripYAMLComment(lines[i])
		if strings.TrimSpace(line) == "" || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(key) != "names" {
			continue
		}
		found = true
		val = strings.TrimSpace(val)
		if val != "" {
			if !strings.HasPrefix(val, "[") || !strings.HasSuffix(val, "]") {
				return nil, fmt.Errorf("%w: yaml line %d: names: %q is not a [list]", ErrFormat, i+1, val)
			}
			for item := range strings.SplitSeq(val[1:len(val)-1], ",") {
				if item = strings.TrimSpace(item); item == "" {
					continue
				}
				n, err := yamlScalar(item)
				if err != nil {
					return nil, fmt.Errorf("%w: yaml line %d: %w", ErrFormat, i+1, err)
				}
				names = append(names, n)
			}
			return names, nil
		}
		for i++; i < len(lines); i++ {
			l := stripYAMLComment(lines[i])
			t := strings.TrimSpace(l)
			if t == "" {
				continue
			}
			if l[0] != ' ' && l[0] != '\t' && !strings.HasPrefix(l, "-") {
				break
			}
			if item, ok := strings.CutPrefix(t, "-"); ok {
				n, err := yamlScalar(strings.TrimSpace(item))
				if err != nil {
					return nil, fmt.Errorf("%w: yaml line %d: %w", ErrFormat, i+1, err)
				}
				names = append(names, n)
				continue
			}
			k, v, ok := strings.Cut(t, ":")
			idx, err := strconv.Atoi(strings.TrimSpace(k))
			if !ok || err != nil || idx < 0 || idx > 1<<20 {
				return nil, fmt.Errorf("%w: yaml line %d: %q is not \"index: name\"", ErrFormat, i+1, t)
			}
			n, err := yamlScalar(strings.TrimSpace(v))
			if err != nil {
				return nil, fmt.Errorf("%w: yaml line %d: %w", ErrFormat, i+1, err)
			}
			if _, dup := byIndex[idx]; dup {
				return nil, fmt.Errorf("%w: yaml line %d: index %d twice", ErrFormat, i+1, idx)
			}
			byIndex[idx] = n
		}
		break
	}
	if !found {
		return nil, nil
	}
	if len(byIndex) > 0 {
		if len(names) > 0 {
			return nil, fmt.Errorf("%w: yaml: names mixes a list and a map", ErrFormat)
		}
		for i := range len(byIndex) {
			n, ok := byIndex[i]
			if !ok {
				return nil, fmt.Errorf("%w: yaml: names has no index %d", ErrFormat, i)
			}
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: yaml: names is empty", ErrFormat)
	}
	return names, nil
}

// stripYAMLComment removes a "#" comment outside quotes and trailing space.
func stripYAMLComment(line string) string {
	var q byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case q != 0 && c == q:
			q = 0
		case q == 0 && (c == '\'' || c == '"'):
			q = c
		case q == 0 && c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			return strings.TrimRight(line[:i], " \t\r")
		}
	}
	return strings.TrimRight(line, " \t\r")
}

// yamlScalar unquotes a plain, 'single' or "double" quoted scalar.
func yamlScalar(s string) (string, error) {
	switch {
	case len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'':
		return strings.ReplaceAll(s[1:len(s)-1], "''", "'"), nil
	case len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"':
		return strconv.Unquote(s)
	case s == "" || strings.ContainsAny(s[:1], "'\"[]{}"):
		return "", fmt.Errorf("%q is not a name", s)
	}
	return s, nil
}

// yamlQuote quotes a name for the YAML the writer makes.
func yamlQuote(s string) string {
	if s == "" || strings.ContainsAny(s, ":#'\"[]{},&*!|>%@`") || strings.TrimSpace(s) != s || strings.HasPrefix(s, "-") {
		return strconv.Quote(s)
	}
	return s
}

// Classes returns the names file's classes.
func (y *YOLO) Classes() []Class { return y.classes }

// Len returns the number of images.
func (y *YOLO) Len() int { return len(y.items) }

// Next reads the next image's label file; its size comes from the image
// header. An image without a label file has no objects.
func (y *YOLO) Next() (*Record, error) {
	if y.i >= len(y.items) {
		return nil, io.EOF
	}
	it := y.items[y.i]
	y.i++
	rec := &Record{ID: strings.TrimSuffix(it.name, path.Ext(it.name)), Name: it.name, Split: it.split,
		Image: Image{Path: it.image}, Class: -1, Source: it.label}
	w, h, err := rec.Image.Size()
	if err != nil {
		return nil, &RecordError{Where: it.image, Err: err}
	}
	rec.Width, rec.Height = w, h
	data, err := os.ReadFile(it.label)
	if notExist(err) {
		rec.Source = it.image
		return rec, nil
	}
	if err != nil {
		return nil, &RecordError{Where: it.label, Err: err}
	}
	if len(data) > maxAnnotationFile {
		return nil, badRecord(it.label, "yolo: label file over %d bytes", maxAnnotationFile)
	}
	objs, err := ParseYOLOLabels(data, it.label, len(y.classes), w, h)
	if err != nil {
		return nil, err
	}
	rec.Objects = objs
	return rec, nil
}

// ParseYOLOLabels parses a label file of an w×h image whose names file has
// nclass classes, into objects in pixels; src names the file in errors
// (*RecordError at src:line). A line of five values is a box; more, an odd
// count, a polygon (its box is the polygon's bounds); a sixth value after a
// box, a confidence, is ignored.
func ParseYOLOLabels(data []byte, src string, nclass, w, h int) ([]Object, error) {
	var objs []Object
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, maxAnnotationFile)
	fw, fh := float64(w), float64(h)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		where := fmt.Sprintf("%s:%d", src, n)
		if len(fields) < 5 || (len(fields) > 6 && len(fields)%2 == 0) {
			return nil, badRecord(where, "yolo: %d values, want class cx cy w h or class x1 y1 x2 y2 …", len(fields))
		}
		c, err := strconv.Atoi(fields[0])
		if err != nil || c < 0 {
			return nil, badRecord(where, "yolo: class %q is not an index", fields[0])
		}
		if c >= nclass {
			return nil, badRecord(where, "yolo: class %d, the names file lists %d", c, nclass)
		}
		v := make([]float64, len(fields)-1)
		for i, f := range fields[1:] {
			x, err := strconv.ParseFloat(f, 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, badRecord(where, "yolo: %q is not a number", f)
			}
			v[i] = x
		}
		o := Object{Class: c, Where: where}
		if len(v) <= 5 {
			cx, cy, bw, bh := v[0]*fw, v[1]*fh, v[2]*fw, v[3]*fh
			o.Box = Box{X1: cx - bw/2, Y1: cy - bh/2, X2: cx + bw/2, Y2: cy + bh/2}
		} else {
			poly := make([]float64, len(v))
			o.Box = Box{X1: math.Inf(1), Y1: math.Inf(1), X2: math.Inf(-1), Y2: math.Inf(-1)}
			for i := 0; i < len(v); i += 2 {
				x, y := v[i]*fw, v[i+1]*fh
				poly[i], poly[i+1] = x, y
				o.Box = Box{X1: min(o.Box.X1, x), Y1: min(o.Box.Y1, y), X2: max(o.Box.X2, x), Y2: max(o.Box.Y2, y)}
			}
			o.Mask = &Mask{Polygons: [][]float64{poly}}
		}
		objs = append(objs, o)
	}
	if err := sc.Err(); err != nil {
		return nil, badRecord(src, "yolo: %v", err)
	}
	return objs, nil
}

// Close does nothing.
func (y *YOLO) Close() error { return nil }

// yoloWriter writes Ultralytics' layout: images/SPLIT/name,
// labels/SPLIT/stem.txt, data.yaml and obj.names (darknet's names file).
type yoloWriter struct {
	dir     string
	classes []Class
	splits  []string
	seen    map[string]bool
	drops   Drops
}

func newYOLOWriter(dir string, classes []Class) *yoloWriter {
	return &yoloWriter{dir: dir, classes: classes, seen: map[string]bool{}, drops: Drops{}}
}

func (w *yoloWriter) split(rec *Record) string {
	if rec.Split == "" {
		return defaultSplit
	}
	return rec.Split
}

func (w *yoloWriter) ImageFile(rec *Record) string {
	return path.Join("images", w.split(rec), outName(rec))
}

func (w *yoloWriter) Write(rec *Record) error {
	rel := w.ImageFile(rec)
	label := "labels" + strings.TrimPrefix(strings.TrimSuffix(rel, path.Ext(rel)), "images") + ".txt"
	if w.seen[label] {
		return badRecord(rec.Source, "yolo: a second image for %s", label)
	}
	width, height := rec.Width, rec.Height
	if width == 0 || height == 0 {
		var err error
		if width, height, err = rec.Image.Size(); err != nil {
			return &RecordError{Where: rec.Source, Err: err}
		}
	}
	var buf bytes.Buffer
	fw, fh := float64(width), float64(height)
	for _, o := range rec.Objects {
		if o.Class < 0 || o.Class >= len(w.classes) {
			return badRecord(firstNonEmpty(o.Where, rec.Source), "yolo: object of class %d, the data set has %d", o.Class, len(w.classes))
		}
		b := o.Box
		fmt.Fprintf(&buf, "%d %.6f %.6f %.6f %.6f\n", o.Class, (b.X1+b.X2)/2/fw, (b.Y1+b.Y2)/2/fh, b.W()/fw, b.H()/fh)
	}
	if err := putImage(w.dir, rel, rec.Image); err != nil {
		return &RecordError{Where: rec.Source, Err: err}
	}
	if err := writeFileAtomic(filepath.Join(w.dir, filepath.FromSlash(label)), buf.Bytes()); err != nil {
		return err
	}
	w.seen[label] = true
	if s := w.split(rec); !slices.Contains(w.splits, s) {
		w.splits = append(w.splits, s)
	}
	objectDrops(w.drops, rec)
	if rec.Class >= 0 {
		w.drops.add("image classes", 1)
	}
	if rec.Segmentation != nil {
		w.drops.add("segmentation maps", 1)
	}
	return nil
}

func (w *yoloWriter) Close() error {
	var y bytes.Buffer
	y.WriteString("# Ultralytics YOLO data set, written by govision\n")
	for _, s := range w.splits {
		key := s
		if s == "valid" {
			key = "val"
		}
		fmt.Fprintf(&y, "%s: images/%s\n", yamlQuote(key), yamlQuote(s))
	}
	fmt.Fprintf(&y, "nc: %d\nnames:\n", len(w.classes))
	for i, c := range w.classes {
		fmt.Fprintf(&y, "  %d: %s\n", i, yamlQuote(c.Name))
	}
	if err := writeFileAtomic(filepath.Join(w.dir, "data.yaml"), y.Bytes()); err != nil {
		return err
	}
	classDrops(w.drops, w.classes)
	return writeFileAtomic(filepath.Join(w.dir, "obj.names"), []byte(strings.Join(ClassNames(w.classes), "\n")+"\n"))
}

func (w *yoloWriter) Dropped() Drops { return w.drops }
