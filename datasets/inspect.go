package datasets

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"
)

// Problem is one thing wrong with a data set, and where.
type Problem struct {
	Where string `json:"where"` // file, and line or element, or record
	What  string `json:"what"`
}

func (p Problem) String() string {
	if p.Where == "" {
		return p.What
	}
	return p.Where + ": " + p.What
}

// InspectOptions configure Verify and Stats.
type InspectOptions struct {
	Workers  int         // goroutines decoding images; 0 means GOMAXPROCS
	Progress func(n int) // called with the number of records done
}

// each runs fn on every record of r on workers goroutines, in order of
// arrival; bad records go to bad. fn's seq is the record's position.
func each(ctx context.Context, r Reader, opt InspectOptions, bad func(seq int, err error), fn func(seq int, rec *Record)) error {
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	type job struct {
		seq int
		rec *Record
	}
	jobs := make(chan job, workers)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				fn(j.seq, j.rec)
				if opt.Progress != nil {
					mu.Lock()
					done++
					opt.Progress(done)
					mu.Unlock()
				}
			}
		})
	}
	var err error
	for seq := 0; ; seq++ {
		if err = ctx.Err(); err != nil {
			break
		}
		rec, rerr := r.Next()
		if rerr == io.EOF {
			break
		}
		var re *RecordError
		if errors.As(rerr, &re) {
			bad(seq, rerr)
			continue
		}
		if rerr != nil {
			err = rerr
			break
		}
		jobs <- job{seq, rec}
	}
	close(jobs)
	wg.Wait()
	return err
}

// Verify checks a data set: every record parses, every image decodes and
// has the size its annotation says, boxes lie inside their image and are
// not empty, classes are known, masks fit their image, and no two records
// share an ID or an image file, nor two objects an annotation id. It
// returns the problems, sorted by record, and the number of records read.
func Verify(ctx context.Context, r Reader, opt InspectOptions) ([]Problem, int, error) {
	nclass := len(r.Classes())
	type found struct {
		seq int
		p   Problem
	}
	var mu sync.Mutex
	var probs []found
	add := func(seq int, where, format string, args ...any) {
		mu.Lock()
		probs = append(probs, found{seq, Problem{Where: where, What: fmt.Sprintf(format, args...)}})
		mu.Unlock()
	}
	// Identities are noted as records arrive (in any order, from the
	// workers) and checked for duplicates afterwards in record order, so
	// the first of two duplicates is always the one reported as "also".
	type objID struct {
		id    int64
		where string
	}
	type identity struct {
		seq          int
		src, id, key string
		name         string
		hasPath      bool
		objs         []objID
	}
	var seen []identity
	n := 0
	err := each(ctx, r, opt, func(seq int, err error) {
		var re *RecordError
		errors.As(err, &re)
		add(seq, re.Where, "%v", re.Err)
	}, func(seq int, rec *Record) {
		src := rec.Source
		who := identity{seq: seq, src: src, id: rec.ID, key: rec.Split + "/" + rec.Name, name: rec.Name, hasPath: rec.Image.Path != ""}
		for _, o := range rec.Objects {
			if o.ID != 0 {
				who.objs = append(who.objs, objID{o.ID, firstNonEmpty(o.Where, src)})
			}
		}
		mu.Lock()
		n++
		seen = append(seen, who)
		mu.Unlock()
		if rec.Class >= nclass || rec.Class < -1 {
			add(seq, src, "class %d unknown: the data set has %d classes", rec.Class, nclass)
		}
		img, err := rec.Image.Decode(defaultDecoder)
		where := firstNonEmpty(rec.Image.Path, src)
		if err != nil {
			add(seq, where, "image does not decode: %v", err)
			return
		}
		b := img.Bounds()
		w, h := b.Dx(), b.Dy()
		if rec.Width != 0 && (rec.Width != w || rec.Height != h) {
			add(seq, src, "annotation says %dx%d, the image %s is %dx%d", rec.Width, rec.Height, rec.Name, w, h)
		}
		for k, o := range rec.Objects {
			ow := firstNonEmpty(o.Where, fmt.Sprintf("%s (object %d)", src, k))
			if o.Class < 0 || o.Class >= nclass {
				add(seq, ow, "class %d unknown: the data set has %d classes", o.Class, nclass)
			}
			switch {
			case !o.Box.finite():
				add(seq, ow, "box %v is not finite", o.Box)
			case o.Box.Empty():
				add(seq, ow, "box [%g %g %g %g] is empty or inverted", o.Box.X1, o.Box.Y1, o.Box.X2, o.Box.Y2)
			case !o.Box.Inside(w, h):
				add(seq, ow, "box [%g %g %g %g] leaves the %dx%d image", o.Box.X1, o.Box.Y1, o.Box.X2, o.Box.Y2, w, h)
			}
			if o.Mask != nil && o.Mask.RLE != nil && (o.Mask.RLE.W != w || o.Mask.RLE.H != h) {
				add(seq, ow, "mask is %dx%d, the image %dx%d", o.Mask.RLE.W, o.Mask.RLE.H, w, h)
			}
		}
		if s := rec.Segmentation; s != nil && (s.W != w || s.H != h) {
			add(seq, src, "segmentation is %dx%d, the image %dx%d", s.W, s.H, w, h)
		}
	})
	sort.Slice(seen, func(i, j int) bool { return seen[i].seq < seen[j].seq })
	ids, names, annIDs := map[string]string{}, map[string]string{}, map[int64]string{}
	for _, w := range seen {
		if prev, dup := ids[w.id]; dup {
			add(w.seq, w.src, "duplicate image ID %q (also %s)", w.id, prev)
		} else {
			ids[w.id] = w.src
		}
		if prev, dup := names[w.key]; dup && w.hasPath {
			add(w.seq, w.src, "duplicate image file %q (also %s)", w.name, prev)
		} else {
			names[w.key] = w.src
		}
		for _, o := range w.objs {
			if prev, dup := annIDs[o.id]; dup {
				add(w.seq, o.where, "duplicate annotation id %d (also %s)", o.id, prev)
			} else {
				annIDs[o.id] = o.where
			}
		}
	}
	sort.SliceStable(probs, func(i, j int) bool { return probs[i].seq < probs[j].seq })
	out := make([]Problem, len(probs))
	for i, p := range probs {
		out[i] = p.p
	}
	return out, n, err
}

// Summary describes a data set, for `vision dataset info`.
type Summary struct {
	Images     int            `json:"images"`
	Bad        int            `json:"bad_records"`
	Splits     map[string]int `json:"splits,omitempty"`
	Classes    []ClassCount   `json:"classes"`
	Objects    int            `json:"objects"`
	PerImage   Range          `json:"objects_per_image"`
	Width      Range          `json:"width"`
	Height     Range          `json:"height"`
	Sizes      []SizeCount    `json:"sizes"` // the most common sizes, most common first
	Difficult  int            `json:"difficult,omitempty"`
	Crowd      int            `json:"crowd,omitempty"`
	Masks      int            `json:"masks,omitempty"`
	Segmented  int            `json:"segmented_images,omitempty"`
	Unlabelled int            `json:"unlabelled_images"` // no class and no objects
}

// ClassCount counts a class's images and objects.
type ClassCount struct {
	Class
	Images  int `json:"images"`
	Objects int `json:"objects"`
}

// Range is the minimum, mean and maximum of a quantity.
type Range struct {
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	Max  float64 `json:"max"`
}

// SizeCount counts the images of one size.
type SizeCount struct {
	W     int `json:"width"`
	H     int `json:"height"`
	Count int `json:"count"`
}

// Summarize reads every record of r (image headers only, where the
// annotations lack the size) and counts.
func Summarize(ctx context.Context, r Reader, progress func(int)) (*Summary, []error, error) {
	classes := r.Classes()
	s := &Summary{Splits: map[string]int{}, Classes: make([]ClassCount, len(classes))}
	for i, c := range classes {
		s.Classes[i].Class = c
	}
	var bad []error
	sizes := map[image.Point]int{}
	var sumObj, sumW, sumH float64
	first := true
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return s, bad, err
		}
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if progress != nil {
			progress(n)
		}
		var re *RecordError
		if errors.As(err, &re) {
			bad = append(bad, err)
			s.Bad++
			continue
		}
		if err != nil {
			return s, bad, err
		}
		if rec.Width == 0 || rec.Height == 0 {
			if w, h, err := rec.Image.Size(); err == nil {
				rec.Width, rec.Height = w, h
			} else {
				bad = append(bad, &RecordError{Where: firstNonEmpty(rec.Image.Path, rec.Source), Err: err})
				s.Bad++
				continue
			}
		}
		s.Images++
		if rec.Split != "" {
			s.Splits[rec.Split]++
		}
		no := float64(len(rec.Objects))
		w, h := float64(rec.Width), float64(rec.Height)
		if first {
			s.PerImage, s.Width, s.Height = Range{Min: no, Max: no}, Range{Min: w, Max: w}, Range{Min: h, Max: h}
			first = false
		}
		s.PerImage.Min, s.PerImage.Max = math.Min(s.PerImage.Min, no), math.Max(s.PerImage.Max, no)
		s.Width.Min, s.Width.Max = math.Min(s.Width.Min, w), math.Max(s.Width.Max, w)
		s.Height.Min, s.Height.Max = math.Min(s.Height.Min, h), math.Max(s.Height.Max, h)
		sumObj, sumW, sumH = sumObj+no, sumW+w, sumH+h
		sizes[image.Pt(rec.Width, rec.Height)]++
		seen := map[int]bool{}
		if rec.Class >= 0 && rec.Class < len(classes) {
			s.Classes[rec.Class].Images++
			seen[rec.Class] = true
		}
		for _, o := range rec.Objects {
			s.Objects++
			if o.Class >= 0 && o.Class < len(classes) {
				s.Classes[o.Class].Objects++
				if !seen[o.Class] {
					seen[o.Class] = true
					s.Classes[o.Class].Images++
				}
			}
			if o.Difficult {
				s.Difficult++
			}
			if o.Crowd {
				s.Crowd++
			}
			if o.Mask != nil {
				s.Masks++
			}
		}
		if rec.Segmentation != nil {
			s.Segmented++
		}
		if rec.Class < 0 && len(rec.Objects) == 0 {
			s.Unlabelled++
		}
	}
	if s.Images > 0 {
		n := float64(s.Images)
		s.PerImage.Mean, s.Width.Mean, s.Height.Mean = sumObj/n, sumW/n, sumH/n
	}
	for p, c := range sizes {
		s.Sizes = append(s.Sizes, SizeCount{W: p.X, H: p.Y, Count: c})
	}
	slices.SortFunc(s.Sizes, func(a, b SizeCount) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		if a.W != b.W {
			return a.W - b.W
		}
		return a.H - b.H
	})
	if len(s.Sizes) > 10 {
		s.Sizes = s.Sizes[:10]
	}
	return s, bad, nil
}

// ChannelStats are per-channel statistics of a data set's pixels on the
// [0, 1] scale: what torchvision's Normalize(mean, std) wants.
type ChannelStats struct {
	Mean   [3]float64 `json:"mean"` // R, G, B
	Std    [3]float64 `json:"std"`  // population standard deviation over all pixels
	Pixels int64      `json:"pixels"`
	Images int        `json:"images"`
}

// Stats decodes every image of r, on opt.Workers goroutines, and returns
// the mean and standard deviation of each channel over all pixels (alpha
// dropped, as ToTensor does); images that do not decode are listed as bad.
func Stats(ctx context.Context, r Reader, opt InspectOptions) (ChannelStats, []error, error) {
	var mu sync.Mutex
	var sum, sq [3]float64
	var st ChannelStats
	var bad []error
	err := each(ctx, r, opt, func(_ int, err error) {
		mu.Lock()
		bad = append(bad, err)
		mu.Unlock()
	}, func(_ int, rec *Record) {
		img, err := rec.Image.Decode(defaultDecoder)
		if err != nil {
			mu.Lock()
			bad = append(bad, &RecordError{Where: firstNonEmpty(rec.Image.Path, rec.Source), Err: err})
			mu.Unlock()
			return
		}
		var s, q [3]float64
		var hist [3][256]int64
		b := img.Bounds()
		switch m := img.(type) {
		case *image.Gray:
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for _, v := range m.Pix[m.PixOffset(b.Min.X, y):m.PixOffset(b.Max.X, y)] {
					hist[0][v]++
				}
			}
			hist[1], hist[2] = hist[0], hist[0]
		case *image.YCbCr:
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := b.Min.X; x < b.Max.X; x++ {
					yi, ci := m.YOffset(x, y), m.COffset(x, y)
					r, g, bb := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
					hist[0][r]++
					hist[1][g]++
					hist[2][bb]++
				}
			}
		case *image.NRGBA:
			for y := b.Min.Y; y < b.Max.Y; y++ {
				row := m.Pix[m.PixOffset(b.Min.X, y):m.PixOffset(b.Max.X, y)]
				for x := 0; x < len(row); x += 4 {
					hist[0][row[x]]++
					hist[1][row[x+1]]++
					hist[2][row[x+2]]++
				}
			}
		default:
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := b.Min.X; x < b.Max.X; x++ {
					c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
					hist[0][c.R]++
					hist[1][c.G]++
					hist[2][c.B]++
				}
			}
		}
		for c := range 3 {
			for v, k := range hist[c] {
				f := float64(v) / 255
				s[c] += float64(k) * f
				q[c] += float64(k) * f * f
			}
		}
		mu.Lock()
		for c := range 3 {
			sum[c] += s[c]
			sq[c] += q[c]
		}
		st.Pixels += int64(b.Dx() * b.Dy())
		st.Images++
		mu.Unlock()
	})
	if st.Pixels > 0 {
		n := float64(st.Pixels)
		for c := range 3 {
			st.Mean[c] = sum[c] / n
			st.Std[c] = math.Sqrt(math.Max(0, sq[c]/n-st.Mean[c]*st.Mean[c]))
		}
	}
	return st, bad, err
}
