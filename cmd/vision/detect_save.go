package main

import (
	"errors"
	"fmt"
	"image"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"govision.dev/detect"
	"govision.dev/vision/imageio"
)

// runDir collects what one `vision detect` run writes — annotated images
// and label files — in a hidden temporary folder inside --out, renamed to
// --out/<n> (the next free number) when the run ends, so that a run's
// folder appears whole or not at all.
type runDir struct {
	parent, tmp string
	files       int
	names       map[string]bool // output names used, lower-case
}

func newRunDir(parent string) (*runDir, error) {
	if err := os.MkdirAll(parent, 0o777); err != nil {
		return nil, fmt.Errorf("--out: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, ".detect-")
	if err != nil {
		return nil, fmt.Errorf("--out: %w", err)
	}
	return &runDir{parent: parent, tmp: tmp, names: map[string]bool{}}, nil
}

// saveExts are the formats annotated images are written in: an image's own
// if imageio writes it, else PNG.
var saveExts = map[string]bool{".jpg": true, ".jpeg": true, ".png": true}

// save writes the annotated image (if image) and the YOLO label file (if
// labels) of one source image into the run's folder.
func (r *runDir) save(src string, img image.Image, dets []detect.Detection, image, labels bool) error {
	base := filepath.Base(src)
	ext := filepath.Ext(base)
	stem := strings.TrimSuffix(base, ext)
	if !saveExts[strings.ToLower(ext)] {
		ext = ".png"
	}
	// Two sources with the same name (a/x.jpg, b/x.jpg) get x.jpg, x_2.jpg.
	name := stem
	for n := 2; r.names[strings.ToLower(name)]; n++ {
		name = stem + "_" + strconv.Itoa(n)
	}
	r.names[strings.ToLower(name)] = true
	if image {
		ls := make([]imageio.Label, len(dets))
		for i, x := range dets {
			ls[i] = imageio.Label{Rect: imageio.Rect{X1: x.Box[0], Y1: x.Box[1], X2: x.Box[2], Y2: x.Box[3]},
				Class: x.Class, Name: x.Label, Score: x.Score}
		}
		if err := imageio.SaveFile(filepath.Join(r.tmp, name+ext), imageio.Annotate(img, ls)); err != nil {
			return err
		}
		r.files++
	}
	if labels {
		dir := filepath.Join(r.tmp, "labels")
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name+".txt"), []byte(yoloLabels(img.Bounds(), dets)), 0o666); err != nil {
			return err
		}
		r.files++
	}
	return nil
}

// yoloLabels is the darknet/YOLO label file of dets: one line per
// detection, "class cx cy w h score", the box's centre and size as
// fractions of the image's width and height.
func yoloLabels(b image.Rectangle, dets []detect.Detection) string {
	var sb strings.Builder
	w, h := float64(b.Dx()), float64(b.Dy())
	for _, x := range dets {
		x1, y1, x2, y2 := float64(x.Box[0]), float64(x.Box[1]), float64(x.Box[2]), float64(x.Box[3])
		fmt.Fprintf(&sb, "%d %.6f %.6f %.6f %.6f %.4f\n", x.Class, (x1+x2)/2/w, (y1+y2)/2/h, (x2-x1)/w, (y2-y1)/h, x.Score)
	}
	return sb.String()
}

// maxRuns bounds the numbers commit tries.
const maxRuns = 1 << 20

// commit renames the temporary folder to parent/<n>, n the first number
// above every run folder already there, and returns its path.
func (r *runDir) commit() (string, error) {
	n := 1
	entries, err := os.ReadDir(r.parent)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if k, err := strconv.Atoi(e.Name()); err == nil && k >= n {
			n = k + 1
		}
	}
	for ; n < maxRuns; n++ {
		dst := filepath.Join(r.parent, strconv.Itoa(n))
		// rename(2) replaces an empty folder, so check first; a run
		// starting at the same time may still take the number, and
		// the rename then fails and the next one is tried.
		if _, err := os.Lstat(dst); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := os.Rename(r.tmp, dst); err == nil {
			r.tmp = ""
			return dst, nil
		} else if !errors.Is(err, fs.ErrExist) && !errors.Is(err, syscall.ENOTEMPTY) {
			return "", err
		}
	}
	return "", fmt.Errorf("--out %s: no free run number", r.parent)
}

// discard removes the temporary folder unless commit renamed it.
func (r *runDir) discard() {
	if r != nil && r.tmp != "" {
		os.RemoveAll(r.tmp)
		r.tmp = ""
	}
}
