package datasets

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// imageExts are the extensions of image files, torchvision's
// IMG_EXTENSIONS (any letter case).
var imageExts = []string{".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp", ".gif"}

// IsImageFile reports whether name has an image file extension.
func IsImageFile(name string) bool {
	return slices.Contains(imageExts, strings.ToLower(filepath.Ext(name)))
}

// splitNames are the folder names taken as splits when every top-level
// folder of an ImageFolder has one (Ultralytics' classification layout).
var splitNames = []string{"train", "val", "valid", "test"}

// walkImages returns the image files under dir, slash-separated paths
// relative to it, sorted, following torchvision's make_dataset (hidden
// files and folders skipped).
func walkImages(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() && IsImageFile(p) {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	slices.Sort(files)
	return files, nil
}

// subdirs returns the names of dir's folders, sorted, hidden ones skipped.
func subdirs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// ImageFolder reads torchvision's ImageFolder layout: a folder per class,
// named by the class, holding its images (at any depth); classes are the
// folder names sorted. When every top-level folder is a split name (train,
// val, valid, test), each holds such class folders (Ultralytics'
// classification layout) and records carry the split.
type ImageFolder struct {
	root    string
	classes []Class
	files   []folderFile
	i       int
}

type folderFile struct {
	rel, split string
	class      int
}

// OpenImageFolder lists the images of the ImageFolder at root; split ""
// reads every split.
func OpenImageFolder(root, split string) (*ImageFolder, error) {
	top, err := subdirs(root)
	if err != nil {
		return nil, err
	}
	if len(top) == 0 {
		return nil, fmt.Errorf("%w: imagefolder: %s has no class folders", ErrFormat, root)
	}
	splits := []string{""}
	if !slices.ContainsFunc(top, func(n string) bool { return !slices.Contains(splitNames, n) }) {
		splits = top
	}
	f := &ImageFolder{root: root}
	index := map[string]int{}
	var names []string
	for _, s := range splits {
		classes, err := subdirs(filepath.Join(root, s))
		if err != nil {
			return nil, err
		}
		for _, c := range classes {
			if _, ok := index[c]; !ok {
				index[c] = 0
				names = append(names, c)
			}
		}
	}
	slices.Sort(names)
	for i, n := range names {
		index[n] = i
		f.classes = append(f.classes, Class{Name: n})
	}
	for _, s := range splits {
		if split != "" && s != split {
			continue
		}
		for _, c := range names {
			dir := filepath.Join(root, s, c)
			if !isDir(dir) {
				continue
			}
			files, err := walkImages(dir)
			if err != nil {
				return nil, err
			}
			for _, rel := range files {
				f.files = append(f.files, folderFile{rel: path.Join(s, c, rel), split: s, class: index[c]})
			}
		}
	}
	return f, nil
}

// Classes returns the class folders' names, sorted.
func (f *ImageFolder) Classes() []Class { return f.classes }

// Len returns the number of images.
func (f *ImageFolder) Len() int { return len(f.files) }

// Next returns the next image: Name is its path below the split folder
// ("cat/001.jpg"), ID that without the extension; the size is left 0.
func (f *ImageFolder) Next() (*Record, error) {
	if f.i >= len(f.files) {
		return nil, io.EOF
	}
	ff := f.files[f.i]
	f.i++
	name := strings.TrimPrefix(ff.rel, ff.split+"/")
	if ff.split == "" {
		name = ff.rel
	}
	p := filepath.Join(f.root, filepath.FromSlash(ff.rel))
	return &Record{
		ID: strings.TrimSuffix(name, path.Ext(name)), Name: name, Split: ff.split,
		Image: Image{Path: p}, Class: ff.class, Source: p,
	}, nil
}

// Close does nothing.
func (f *ImageFolder) Close() error { return nil }

// Images reads a plain folder of images, at any depth, without labels:
// Name is each image's path relative to the folder, Class -1.
type Images struct {
	root  string
	files []string
	i     int
}

// OpenImages lists the images under root.
func OpenImages(root string) (*Images, error) {
	files, err := walkImages(root)
	if err != nil {
		return nil, err
	}
	return &Images{root: root, files: files}, nil
}

// Classes returns no classes.
func (im *Images) Classes() []Class { return nil }

// Len returns the number of images.
func (im *Images) Len() int { return len(im.files) }

// Next returns the next image.
func (im *Images) Next() (*Record, error) {
	if im.i >= len(im.files) {
		return nil, io.EOF
	}
	rel := im.files[im.i]
	im.i++
	p := filepath.Join(im.root, filepath.FromSlash(rel))
	return &Record{ID: strings.TrimSuffix(rel, path.Ext(rel)), Name: rel, Image: Image{Path: p}, Class: -1, Source: p}, nil
}

// Close does nothing.
func (im *Images) Close() error { return nil }

// outName returns rec's Name with the extension of the bytes it will be
// written as: pixels are written as PNG unless the name says JPEG.
func outName(rec *Record) string {
	name := rec.Name
	if name == "" {
		name = rec.ID
	}
	ext := strings.ToLower(path.Ext(name))
	switch {
	case rec.Image.Path == "" && rec.Image.Data == nil:
		if ext != ".png" && ext != ".jpg" && ext != ".jpeg" {
			return strings.TrimSuffix(name, path.Ext(name)) + ".png"
		}
	case !IsImageFile(name):
		e := path.Ext(rec.Image.Path)
		if rec.Image.Data != nil {
			e = sniffExt(rec.Image.Data)
		}
		return name + e
	}
	return name
}

// imageFolderWriter writes an ImageFolder: [split/]class/name.
type imageFolderWriter struct {
	dir     string
	classes []Class
	seen    map[string]bool
	drops   Drops
	plain   bool // the Images layout: names as they are, no class folders
}

func (w *imageFolderWriter) ImageFile(rec *Record) string {
	name := outName(rec)
	if w.plain {
		return path.Join(rec.Split, name)
	}
	if rec.Class < 0 || rec.Class >= len(w.classes) {
		return ""
	}
	c := w.classes[rec.Class].Name
	name = strings.TrimPrefix(name, c+"/")
	return path.Join(rec.Split, c, name)
}

func (w *imageFolderWriter) Write(rec *Record) error {
	rel := w.ImageFile(rec)
	if rel == "" {
		return badRecord(rec.Source, "imagefolder: image %s has no class", rec.ID)
	}
	if w.seen[rel] {
		return badRecord(rec.Source, "imagefolder: a second image named %s", rel)
	}
	w.seen[rel] = true
	if err := putImage(w.dir, rel, rec.Image); err != nil {
		return &RecordError{Where: rec.Source, Err: err}
	}
	objectDrops(w.drops, rec)
	w.drops.add("boxes", len(rec.Objects))
	if rec.Segmentation != nil {
		w.drops.add("segmentation maps", 1)
	}
	if w.plain && rec.Class >= 0 {
		w.drops.add("image classes", 1)
	}
	return nil
}

func (w *imageFolderWriter) Close() error   { return nil }
func (w *imageFolderWriter) Dropped() Drops { return w.drops }
