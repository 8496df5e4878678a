package datasets

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
)

// cocoWriter writes COCO instances files, one per split
// (annotations/instances_SPLIT.json, images in SPLIT/). The images and
// annotations are streamed to temporary files as records arrive and
// joined into the JSON on Close, so memory does not grow with the data
// set.
type cocoWriter struct {
	dir       string
	classes   []Class
	catIDs    []int64
	splits    map[string]*cocoSplit
	order     []string
	imageIDs  map[int64]bool
	annIDs    map[int64]bool
	nextImage int64
	nextAnn   int64
	names     map[string]bool
	drops     Drops
}

type cocoSplit struct {
	images, anns *os.File
	iw, aw       *bufio.Writer
	ni, na       int
}

func newCOCOWriter(dir string, classes []Class) *cocoWriter {
	w := &cocoWriter{dir: dir, classes: classes, splits: map[string]*cocoSplit{},
		imageIDs: map[int64]bool{}, annIDs: map[int64]bool{}, names: map[string]bool{}, drops: Drops{}}
	// Keep the source's category ids when they are usable: positive and
	// distinct. Otherwise number the classes from 1.
	ids := map[int]bool{}
	keep := true
	for _, c := range classes {
		if c.ID <= 0 || ids[c.ID] {
			keep = false
		}
		ids[c.ID] = true
	}
	for i, c := range classes {
		if keep {
			w.catIDs = append(w.catIDs, int64(c.ID))
		} else {
			w.catIDs = append(w.catIDs, int64(i+1))
		}
	}
	return w
}

func (w *cocoWriter) split(rec *Record) string {
	if rec.Split == "" {
		return defaultSplit
	}
	return rec.Split
}

func (w *cocoWriter) ImageFile(rec *Record) string {
	return path.Join(w.split(rec), outName(rec))
}

// takeID returns want if it is positive and unused, else the next unused id.
func takeID(used map[int64]bool, next *int64, want int64) (int64, bool) {
	if want > 0 && !used[want] {
		used[want] = true
		return want, true
	}
	for {
		*next++
		if !used[*next] {
			used[*next] = true
			return *next, false
		}
	}
}

type cocoOutImage struct {
	ID       int64  `json:"id"`
	FileName string `json:"file_name"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
}

type cocoOutAnn struct {
	ID           int64          `json:"id"`
	ImageID      int64          `json:"image_id"`
	CategoryID   int64          `json:"category_id"`
	BBox         [4]json.Number `json:"bbox"`
	Area         json.Number    `json:"area"`
	IsCrowd      int            `json:"iscrowd"`
	Segmentation any            `json:"segmentation,omitempty"`
	Attributes   map[string]any `json:"attributes,omitempty"`
}

func num(f float64) json.Number { return json.Number(strconv.FormatFloat(f, 'f', -1, 64)) }

func (w *cocoWriter) Write(rec *Record) error {
	name := outName(rec)
	split := w.split(rec)
	if w.names[split+"/"+name] {
		return badRecord(rec.Source, "coco: a second image named %s in split %s", name, split)
	}
	width, height := rec.Width, rec.Height
	if width == 0 || height == 0 {
		var err error
		if width, height, err = rec.Image.Size(); err != nil {
			return &RecordError{Where: rec.Source, Err: err}
		}
	}
	for _, o := range rec.Objects {
		if o.Class < 0 || o.Class >= len(w.classes) {
			return badRecord(firstNonEmpty(o.Where, rec.Source), "coco: object of class %d, the data set has %d", o.Class, len(w.classes))
		}
	}
	if err := putImage(w.dir, w.ImageFile(rec), rec.Image); err != nil {
		return &RecordError{Where: rec.Source, Err: err}
	}
	s, err := w.splitFiles(split)
	if err != nil {
		return err
	}
	want, _ := strconv.ParseInt(rec.ID, 10, 64)
	imageID, _ := takeID(w.imageIDs, &w.nextImage, want)
	w.names[split+"/"+name] = true
	if err := writeElem(s.iw, s.ni, cocoOutImage{ID: imageID, FileName: name, Width: width, Height: height}); err != nil {
		return err
	}
	s.ni++
	for _, o := range rec.Objects {
		annID, kept := takeID(w.annIDs, &w.nextAnn, o.ID)
		if o.ID != 0 && !kept {
			w.drops.add("annotation ids (renumbered)", 1)
		}
		a := cocoOutAnn{ID: annID, ImageID: imageID, CategoryID: w.catIDs[o.Class], IsCrowd: btoi(o.Crowd),
			BBox: [4]json.Number{num(o.Box.X1), num(o.Box.Y1), num(o.Box.W()), num(o.Box.H())}}
		area := o.Area
		switch {
		case o.Mask != nil && o.Mask.RLE != nil:
			if o.Crowd {
				a.Segmentation = map[string]any{"size": []int{o.Mask.RLE.H, o.Mask.RLE.W}, "counts": o.Mask.RLE.Counts}
			} else {
				a.Segmentation = o.Mask.RLE
			}
			if area == 0 {
				area = float64(o.Mask.RLE.Area())
			}
		case o.Mask != nil:
			a.Segmentation = o.Mask.Polygons
			if area == 0 {
				area = polygonArea(o.Mask.Polygons)
			}
		}
		if area == 0 {
			area = o.Box.W() * o.Box.H()
		}
		a.Area = num(area)
		attrs := map[string]any{}
		if o.Difficult {
			attrs["difficult"] = true
		}
		if o.Truncated {
			attrs["truncated"] = true
		}
		if o.Occluded {
			attrs["occluded"] = true
		}
		if o.Pose != "" {
			attrs["pose"] = o.Pose
		}
		if len(attrs) > 0 {
			a.Attributes = attrs
		}
		if err := writeElem(s.aw, s.na, a); err != nil {
			return err
		}
		s.na++
	}
	if rec.Class >= 0 {
		w.drops.add("image classes", 1)
	}
	if rec.Segmentation != nil {
		w.drops.add("segmentation maps", 1)
	}
	return nil
}

func writeElem(w *bufio.Writer, i int, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("datasets: coco: %w", err)
	}
	if i > 0 {
		w.WriteString(",\n")
	}
	_, err = w.Write(data)
	return err
}

func (w *cocoWriter) splitFiles(split string) (*cocoSplit, error) {
	if s := w.splits[split]; s != nil {
		return s, nil
	}
	s := &cocoSplit{}
	var err error
	if s.images, err = os.CreateTemp(w.dir, ".coco-images-*"); err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	if s.anns, err = os.CreateTemp(w.dir, ".coco-annotations-*"); err != nil {
		s.images.Close()
		os.Remove(s.images.Name())
		return nil, fmt.Errorf("datasets: %w", err)
	}
	s.iw, s.aw = bufio.NewWriter(s.images), bufio.NewWriter(s.anns)
	w.splits[split] = s
	w.order = append(w.order, split)
	return s, nil
}

func (w *cocoWriter) Close() error {
	var cats []byte
	for i, c := range w.classes {
		data, _ := json.Marshal(cocoCategory{ID: w.catIDs[i], Name: c.Name, Supercategory: c.Supercategory})
		if i > 0 {
			cats = append(cats, ",\n"...)
		}
		cats = append(cats, data...)
	}
	if len(w.order) == 0 {
		if _, err := w.splitFiles(defaultSplit); err != nil {
			return err
		}
	}
	var err error
	for _, split := range w.order {
		s := w.splits[split]
		if e := w.finish(split, s, cats); err == nil {
			err = e
		}
	}
	return err
}

func (w *cocoWriter) finish(split string, s *cocoSplit, cats []byte) error {
	defer func() {
		s.images.Close()
		s.anns.Close()
		os.Remove(s.images.Name())
		os.Remove(s.anns.Name())
	}()
	for _, bw := range []*bufio.Writer{s.iw, s.aw} {
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("datasets: %w", err)
		}
	}
	out := filepath.Join(w.dir, "annotations", "instances_"+split+".json")
	return createAtomic(out, func(wr io.Writer) error {
		io.WriteString(wr, "{\"info\": {\"description\": \"written by govision\"},\n\"licenses\": [],\n\"images\": [\n")
		if _, err := s.images.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if _, err := io.Copy(wr, s.images); err != nil {
			return err
		}
		io.WriteString(wr, "\n],\n\"annotations\": [\n")
		if _, err := s.anns.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if _, err := io.Copy(wr, s.anns); err != nil {
			return err
		}
		io.WriteString(wr, "\n],\n\"categories\": [\n")
		wr.Write(cats)
		_, err := io.WriteString(wr, "\n]}\n")
		return err
	})
}

func (w *cocoWriter) Dropped() Drops { return w.drops }
