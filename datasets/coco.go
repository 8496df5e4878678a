package datasets

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// COCO's instances JSON ("object detection" format, cocodataset.org/#format-data):
//
//	{"images": [{"id", "file_name", "width", "height"}, …],
//	 "annotations": [{"id", "image_id", "category_id", "bbox": [x, y, w, h],
//	                  "iscrowd", "area", "segmentation"}, …],
//	 "categories": [{"id", "name", "supercategory"}, …]}
//
// bbox is in pixels from the top-left corner; segmentation is a list of
// polygons or an RLE (see RLE); category ids need not be contiguous. The
// layout on disk is COCO 2017's: annotations/instances_SPLIT.json with the
// images in SPLIT/ (or images/SPLIT/, or images/). Annotations may carry an
// "attributes" object, as CVAT writes; govision keeps VOC's flags there
// (difficult, truncated, occluded, pose).
//
// The reader parses the JSON as a stream of array elements, holding the
// images' and annotations' fields (masks still in their JSON form) but
// never an image; pycocotools holds the same.

// cocoImage is an element of "images".
type cocoImage struct {
	ID       int64  `json:"id"`
	FileName string `json:"file_name"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
	off      int64
}

// cocoAnn is an element of "annotations".
type cocoAnn struct {
	ID           int64           `json:"id"`
	ImageID      int64           `json:"image_id"`
	CategoryID   int64           `json:"category_id"`
	BBox         []float64       `json:"bbox"`
	IsCrowd      int             `json:"iscrowd"`
	Area         float64         `json:"area"`
	Segmentation json.RawMessage `json:"segmentation,omitempty"`
	Attributes   json.RawMessage `json:"attributes,omitempty"`
	off          int64
}

type cocoCategory struct {
	ID            int64  `json:"id"`
	Name          string `json:"name"`
	Supercategory string `json:"supercategory,omitempty"`
}

// cocoFile is one parsed instances file.
type cocoFile struct {
	path       string
	split      string
	imageDir   string
	images     []cocoImage
	anns       map[int64][]cocoAnn
	categories []cocoCategory
	bad        []error // record errors found while parsing
	lines      []int64 // offsets of the newlines, computed on the first error
}

// COCO reads COCO instances files.
type COCO struct {
	paths    []string
	root     string
	split    string
	cur      *cocoFile
	next     int
	classes  []Class
	catIndex map[int64]int
	n        int
	i        int // image within cur
	bad      int // record errors of cur already returned
}

// OpenCOCO opens a COCO data set: root is a folder holding
// annotations/instances_*.json (each a split, read in name order), or one
// instances JSON file. With a split, only instances_SPLIT.json is read.
// The first file is parsed now; the others as the reading reaches them,
// and they must have the same categories.
func OpenCOCO(root string, opt Options) (*COCO, error) {
	c := &COCO{root: root, split: opt.Split}
	if isFile(root) {
		c.paths = []string{root}
	} else {
		pattern := "instances_*.json"
		if opt.Split != "" {
			pattern = "instances_" + opt.Split + ".json"
		}
		m, _ := filepath.Glob(filepath.Join(root, "annotations", pattern))
		if len(m) == 0 {
			m, _ = filepath.Glob(filepath.Join(root, pattern))
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("%w: coco: no annotations/%s in %s", ErrFormat, pattern, root)
		}
		slices.Sort(m)
		c.paths = m
	}
	if err := c.open(0); err != nil {
		return nil, err
	}
	c.n = len(c.cur.images) + len(c.cur.bad)
	return c, nil
}

// open parses file i and makes it current.
func (c *COCO) open(i int) error {
	f, err := parseCOCOFile(c.paths[i])
	if err != nil {
		return err
	}
	var classes []Class
	for _, cat := range f.categories {
		classes = append(classes, Class{Name: cat.Name, ID: int(cat.ID), Supercategory: cat.Supercategory})
	}
	if i == 0 {
		c.classes = classes
		c.catIndex = map[int64]int{}
		for k, cat := range f.categories {
			c.catIndex[cat.ID] = k
		}
	} else if !slices.Equal(classes, c.classes) {
		return fmt.Errorf("%w: coco: %s has other categories than %s", ErrFormat, c.paths[i], c.paths[0])
	}
	c.cur, c.next, c.i, c.bad = f, i+1, 0, 0
	return nil
}

// parseCOCOFile parses an instances file.
func parseCOCOFile(path string) (*cocoFile, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	defer fh.Close()
	f := &cocoFile{path: path, anns: map[int64][]cocoAnn{}}
	base := strings.TrimSuffix(filepath.Base(path), ".json")
	if s, ok := strings.CutPrefix(base, "instances_"); ok {
		f.split = s
	}
	if err := f.parse(bufio.NewReaderSize(fh, 1<<16)); err != nil {
		return nil, err
	}
	f.imageDir = cocoImageDir(path, f.split, f.images)
	return f, nil
}

// parse reads the JSON from r. A syntax error is final; an element of the
// wrong shape is a record error.
func (f *cocoFile) parse(r io.Reader) error {
	d := json.NewDecoder(r)
	fatal := func(err error) error {
		return fmt.Errorf("%w: %s: coco: %w", ErrFormat, f.where(d.InputOffset()), err)
	}
	tok, err := d.Token()
	if err != nil {
		return fatal(err)
	}
	if tok != json.Delim('{') {
		return fatal(errors.New("the top level is not an object"))
	}
	seen := map[string]bool{}
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return fatal(err)
		}
		key, _ := tok.(string)
		if seen[key] {
			return fatal(fmt.Errorf("key %q twice", key))
		}
		seen[key] = true
		switch key {
		case "images", "annotations", "categories":
			if tok, err := d.Token(); err != nil {
				return fatal(err)
			} else if tok != json.Delim('[') {
				return fatal(fmt.Errorf("%q is not a list", key))
			}
			for d.More() {
				off := elementStart(d)
				var err error
				switch key {
				case "images":
					var im cocoImage
					if err = d.Decode(&im); err == nil {
						im.off = off
						f.images = append(f.images, im)
					}
				case "annotations":
					var a cocoAnn
					if err = d.Decode(&a); err == nil {
						a.off = off
						f.anns[a.ImageID] = append(f.anns[a.ImageID], a)
					}
				case "categories":
					var c cocoCategory
					if err = d.Decode(&c); err == nil {
						f.categories = append(f.categories, c)
					}
				}
				var te *json.UnmarshalTypeError
				if errors.As(err, &te) {
					f.bad = append(f.bad, badRecord(f.where(off), "coco: %s element: %v", key, err))
				} else if err != nil {
					return fatal(err)
				}
			}
			if _, err := d.Token(); err != nil {
				return fatal(err)
			}
		default:
			var skip json.RawMessage
			if err := d.Decode(&skip); err != nil {
				return fatal(err)
			}
		}
	}
	if _, err := d.Token(); err != nil {
		return fatal(err)
	}
	if _, err := d.Token(); err != io.EOF {
		return fatal(errors.New("data after the top-level object"))
	}
	sort.SliceStable(f.categories, func(i, j int) bool { return f.categories[i].ID < f.categories[j].ID })
	for i := 1; i < len(f.categories); i++ {
		if f.categories[i].ID == f.categories[i-1].ID {
			return fatal(fmt.Errorf("category id %d twice", f.categories[i].ID))
		}
	}
	return nil
}

// elementStart returns the offset of the next value of d: its input
// offset past the separators (blanks and a comma) still buffered.
func elementStart(d *json.Decoder) int64 {
	off := d.InputOffset()
	var b [1]byte
	buf := d.Buffered()
	for {
		if n, _ := buf.Read(b[:]); n == 0 {
			return off
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n', ',':
			off++
		default:
			return off
		}
	}
}

// where returns "path:line:col" for a byte offset of the file.
func (f *cocoFile) where(off int64) string {
	if f.lines == nil {
		f.lines = []int64{-1}
		if data, err := os.ReadFile(f.path); err == nil {
			for i, b := range data {
				if b == '\n' {
					f.lines = append(f.lines, int64(i))
				}
			}
		}
	}
	l := sort.Search(len(f.lines), func(i int) bool { return f.lines[i] >= off }) // lines before off
	return fmt.Sprintf("%s:%d:%d", f.path, l, off-f.lines[l-1])
}

// cocoImageDir finds the folder of a file's images: SPLIT/, images/SPLIT/
// or images/ beside the annotations folder (or the JSON), the first that
// holds the first image.
func cocoImageDir(path, split string, images []cocoImage) string {
	dir := filepath.Dir(path)
	root := dir
	if filepath.Base(dir) == "annotations" {
		root = filepath.Dir(dir)
	}
	var cands []string
	if split != "" {
		cands = append(cands, filepath.Join(root, split), filepath.Join(root, "images", split))
	}
	cands = append(cands, filepath.Join(root, "images"), root)
	if len(images) > 0 {
		for _, c := range cands {
			if isFile(filepath.Join(c, filepath.FromSlash(images[0].FileName))) {
				return c
			}
		}
	}
	for _, c := range cands {
		if isDir(c) {
			return c
		}
	}
	return root
}

// Classes returns the categories sorted by id; Class.ID is COCO's id.
func (c *COCO) Classes() []Class { return c.classes }

// Len returns the number of images of the files parsed so far (all of
// them with one file), or -1 while files remain.
func (c *COCO) Len() int {
	if c.next < len(c.paths) {
		return -1
	}
	return c.n
}

// Next returns the next image with its annotations.
func (c *COCO) Next() (*Record, error) {
	for {
		f := c.cur
		if c.bad < len(f.bad) {
			c.bad++
			return nil, f.bad[c.bad-1]
		}
		if c.i < len(f.images) {
			im := f.images[c.i]
			c.i++
			return c.record(f, im)
		}
		if c.next >= len(c.paths) {
			return nil, io.EOF
		}
		if err := c.open(c.next); err != nil {
			return nil, err
		}
		c.n += len(c.cur.images) + len(c.cur.bad)
	}
}

func (c *COCO) record(f *cocoFile, im cocoImage) (*Record, error) {
	where := f.where(im.off)
	if im.FileName == "" {
		return nil, badRecord(where, "coco: image %d has no file_name", im.ID)
	}
	if im.Width < 0 || im.Height < 0 {
		return nil, badRecord(where, "coco: image %d is %dx%d", im.ID, im.Width, im.Height)
	}
	rec := &Record{ID: strconv.FormatInt(im.ID, 10), Name: im.FileName, Split: f.split,
		Width: im.Width, Height: im.Height, Class: -1, Source: f.path,
		Image: Image{Path: filepath.Join(f.imageDir, filepath.FromSlash(im.FileName))}}
	if !isFile(rec.Image.Path) {
		return nil, badRecord(where, "coco: image %d: no file %s", im.ID, rec.Image.Path)
	}
	for _, a := range f.anns[im.ID] {
		aw := fmt.Sprintf("%s (annotation %d)", f.where(a.off), a.ID)
		k, ok := c.catIndex[a.CategoryID]
		if !ok {
			return nil, badRecord(aw, "coco: unknown category_id %d", a.CategoryID)
		}
		if len(a.BBox) != 4 {
			return nil, badRecord(aw, "coco: bbox %v is not [x, y, width, height]", a.BBox)
		}
		o := Object{Class: k, ID: a.ID, Crowd: a.IsCrowd != 0, Area: a.Area, Where: aw,
			Box: Box{X1: a.BBox[0], Y1: a.BBox[1], X2: a.BBox[0] + a.BBox[2], Y2: a.BBox[1] + a.BBox[3]}}
		if !o.Box.finite() {
			return nil, badRecord(aw, "coco: bbox %v is not finite", a.BBox)
		}
		m, err := parseSegmentation(a.Segmentation)
		if err != nil {
			return nil, &RecordError{Where: aw, Err: err}
		}
		o.Mask = m
		if err := parseAttributes(a.Attributes, &o); err != nil {
			return nil, &RecordError{Where: aw, Err: err}
		}
		rec.Objects = append(rec.Objects, o)
	}
	delete(f.anns, im.ID) // an image id twice: its annotations go with the first
	return rec, nil
}

// parseSegmentation reads a segmentation: polygons, an RLE, or nothing.
func parseSegmentation(raw json.RawMessage) (*Mask, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" || string(raw) == "[]" {
		return nil, nil
	}
	if raw[0] == '[' {
		var polys [][]float64
		if err := json.Unmarshal(raw, &polys); err != nil {
			return nil, fmt.Errorf("%w: coco: segmentation is not a list of polygons: %w", ErrFormat, err)
		}
		for i, p := range polys {
			if len(p) < 6 || len(p)%2 != 0 {
				return nil, fmt.Errorf("%w: coco: polygon %d has %d coordinates, want an even number, at least 6", ErrFormat, i, len(p))
			}
		}
		return &Mask{Polygons: polys}, nil
	}
	var r RLE
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("coco: segmentation: %w", err)
	}
	return &Mask{RLE: &r}, nil
}

// parseAttributes reads CVAT-style attributes into o's VOC flags.
func parseAttributes(raw json.RawMessage, o *Object) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("%w: coco: attributes: %w", ErrFormat, err)
	}
	flag := func(k string) bool {
		switch v := m[k].(type) {
		case bool:
			return v
		case float64:
			return v != 0
		case string:
			return v == "true" || v == "1"
		}
		return false
	}
	o.Difficult, o.Truncated, o.Occluded = flag("difficult"), flag("truncated"), flag("occluded")
	if p, ok := m["pose"].(string); ok && p != "Unspecified" {
		o.Pose = p
	}
	return nil
}

// Close does nothing.
func (c *COCO) Close() error { return nil }
