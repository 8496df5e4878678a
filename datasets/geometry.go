package datasets

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"

	"govision.dev/vision/imageio"
)

// The geometric operations every transform is made of: resize, crop (with
// padding where the window leaves the image) and horizontal flip. Each
// moves the image, the boxes, the instance masks (polygons exactly, RLEs
// through their bitmaps by nearest neighbour) and the class map together.
// Boxes are clipped to the new image; a box left thinner than MinBoxSide
// pixels is dropped with its object.

// MinBoxSide is the width and height, in pixels, below which a box clipped
// by a crop is dropped: it no longer covers a pixel.
const MinBoxSide = 1.0

// A record whose Image is zero but whose Width and Height are set has only
// its annotations transformed: resizing a data set whose images are
// already done (a resumed run) needs nothing else.

// pixels returns rec's image as an *image.NRGBA with bounds at (0, 0),
// decoding it if needed, and stores it back in rec; for a record without
// an image (see above) it returns nil and rec's size.
func pixels(rec *Record) (*image.NRGBA, error) {
	if rec.Image.IsZero() && rec.Width > 0 && rec.Height > 0 {
		return nil, nil
	}
	img, err := rec.Image.Decode(defaultDecoder)
	if err != nil {
		return nil, &RecordError{Where: rec.Source, Err: err}
	}
	m, ok := img.(*image.NRGBA)
	if !ok || m.Rect.Min != (image.Point{}) {
		b := img.Bounds()
		m = image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		draw.Draw(m, m.Rect, img, b.Min, draw.Src)
	}
	rec.Image = Image{Pixels: m}
	rec.Width, rec.Height = m.Rect.Dx(), m.Rect.Dy()
	return m, nil
}

// decoded is pixels without the conversion to NRGBA, for operations that
// read any image (resizing).
func decoded(rec *Record) (image.Image, error) {
	if rec.Image.IsZero() && rec.Width > 0 && rec.Height > 0 {
		return nil, nil
	}
	img, err := rec.Image.Decode(defaultDecoder)
	if err != nil {
		return nil, &RecordError{Where: rec.Source, Err: err}
	}
	rec.Image = Image{Pixels: img}
	rec.Width, rec.Height = img.Bounds().Dx(), img.Bounds().Dy()
	return img, nil
}

// resizeRecord resizes rec to w×h pixels with filter.
func resizeRecord(rec *Record, w, h int, filter imageio.Filter) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("datasets: resize to %dx%d", w, h)
	}
	img, err := decoded(rec)
	if err != nil {
		return err
	}
	w0, h0 := rec.Width, rec.Height
	if w0 == w && h0 == h {
		return nil
	}
	var out image.Image
	if img != nil {
		out = imageio.Resize(img, w, h, filter)
	}
	sx, sy := float64(w)/float64(w0), float64(h)/float64(h0)
	for i := range rec.Objects {
		o := &rec.Objects[i]
		o.Box = Box{X1: o.Box.X1 * sx, Y1: o.Box.Y1 * sy, X2: o.Box.X2 * sx, Y2: o.Box.Y2 * sy}
		if o.Area != 0 {
			o.Area *= sx * sy
		}
		if err := mapMask(o, w0, h0, w, h, func(x, y float64) (float64, float64) { return x * sx, y * sy },
			func(x, y int) (int, int) { return (2*x + 1) * w0 / (2 * w), (2*y + 1) * h0 / (2 * h) }); err != nil {
			return &RecordError{Where: firstNonEmpty(o.Where, rec.Source), Err: err}
		}
	}
	if s := rec.Segmentation; s != nil {
		rec.Segmentation = remapClassMap(s, w, h, func(x, y int) (int, int) {
			return (2*x + 1) * s.W / (2 * w), (2*y + 1) * s.H / (2 * h)
		})
	}
	if out != nil {
		rec.Image = Image{Pixels: out}
	}
	rec.Width, rec.Height = w, h
	return nil
}

// cropRecord cuts the w×h window whose top-left corner is (x0, y0) out of
// rec; the window may leave the image, whose outside is fill (and Void in
// the class map).
func cropRecord(rec *Record, x0, y0, w, h int, fill color.NRGBA) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("datasets: crop to %dx%d", w, h)
	}
	img, err := pixels(rec)
	if err != nil {
		return err
	}
	w0, h0 := rec.Width, rec.Height
	if x0 == 0 && y0 == 0 && w == w0 && h == h0 {
		return nil
	}
	if img != nil {
		out := image.NewNRGBA(image.Rect(0, 0, w, h))
		if x0 < 0 || y0 < 0 || x0+w > w0 || y0+h > h0 {
			draw.Draw(out, out.Rect, &image.Uniform{fill}, image.Point{}, draw.Src)
		}
		draw.Draw(out, out.Rect, img, image.Pt(x0, y0), draw.Src)
		rec.Image = Image{Pixels: out}
	}
	fx, fy := float64(x0), float64(y0)
	kept := rec.Objects[:0]
	for _, o := range rec.Objects {
		o.Box = Box{X1: o.Box.X1 - fx, Y1: o.Box.Y1 - fy, X2: o.Box.X2 - fx, Y2: o.Box.Y2 - fy}.Clip(w, h)
		if o.Box.W() < MinBoxSide || o.Box.H() < MinBoxSide {
			continue
		}
		o.Area = 0 // no longer the source's
		if err := mapMask(&o, w0, h0, w, h, func(x, y float64) (float64, float64) { return x - fx, y - fy },
			func(x, y int) (int, int) { return x + x0, y + y0 }); err != nil {
			return &RecordError{Where: firstNonEmpty(o.Where, rec.Source), Err: err}
		}
		kept = append(kept, o)
	}
	rec.Objects = kept
	if s := rec.Segmentation; s != nil {
		rec.Segmentation = remapClassMap(s, w, h, func(x, y int) (int, int) { return x + x0, y + y0 })
	}
	rec.Width, rec.Height = w, h
	return nil
}

// flipRecord mirrors rec left to right.
func flipRecord(rec *Record) error {
	img, err := pixels(rec)
	if err != nil {
		return err
	}
	w, h := rec.Width, rec.Height
	if img != nil {
		out := image.NewNRGBA(img.Rect)
		for y := range h {
			src := img.Pix[y*img.Stride : y*img.Stride+4*w]
			dst := out.Pix[y*out.Stride : y*out.Stride+4*w]
			for x := range w {
				copy(dst[4*(w-1-x):4*(w-x)], src[4*x:4*x+4])
			}
		}
		rec.Image = Image{Pixels: out}
	}
	fw := float64(w)
	for i := range rec.Objects {
		o := &rec.Objects[i]
		o.Box.X1, o.Box.X2 = fw-o.Box.X2, fw-o.Box.X1
		if err := mapMask(o, w, h, w, h, func(x, y float64) (float64, float64) { return fw - x, y },
			func(x, y int) (int, int) { return w - 1 - x, y }); err != nil {
			return &RecordError{Where: firstNonEmpty(o.Where, rec.Source), Err: err}
		}
	}
	if s := rec.Segmentation; s != nil {
		rec.Segmentation = remapClassMap(s, s.W, s.H, func(x, y int) (int, int) { return s.W - 1 - x, y })
	}
	return nil
}

// mapMask moves o's mask to a w×h image: polygon points through pt (then
// clipped to the image), RLE pixels by looking up each new pixel's source
// (src, in a w0×h0 image; outside is empty).
func mapMask(o *Object, w0, h0, w, h int, pt func(x, y float64) (float64, float64), src func(x, y int) (int, int)) error {
	m := o.Mask
	if m == nil {
		return nil
	}
	if m.RLE != nil {
		bm, err := m.RLE.Decode()
		if err != nil {
			return err
		}
		if m.RLE.W != w0 || m.RLE.H != h0 {
			return fmt.Errorf("%w: mask of %dx%d on a %dx%d image", ErrFormat, m.RLE.W, m.RLE.H, w0, h0)
		}
		out := make([]uint8, w*h)
		for y := range h {
			for x := range w {
				sx, sy := src(x, y)
				if sx >= 0 && sy >= 0 && sx < w0 && sy < h0 {
					out[y*w+x] = bm[sy*w0+sx]
				}
			}
		}
		r, err := EncodeRLE(out, w, h)
		if err != nil {
			return err
		}
		o.Mask = &Mask{RLE: r}
		return nil
	}
	var polys [][]float64
	for _, p := range m.Polygons {
		q := make([]float64, len(p))
		for i := 0; i+1 < len(p); i += 2 {
			q[i], q[i+1] = pt(p[i], p[i+1])
		}
		if q = clipPolygon(q, float64(w), float64(h)); len(q) >= 6 {
			polys = append(polys, q)
		}
	}
	if len(polys) == 0 {
		o.Mask = nil
	} else {
		o.Mask = &Mask{Polygons: polys}
	}
	return nil
}

// clipPolygon clips a polygon (x1, y1, x2, y2, …) to [0, w]×[0, h] by
// Sutherland and Hodgman's algorithm, one edge of the rectangle at a time.
func clipPolygon(p []float64, w, h float64) []float64 {
	type edge struct {
		inside func(x, y float64) bool
		cross  func(ax, ay, bx, by float64) (float64, float64)
	}
	atX := func(x float64) func(ax, ay, bx, by float64) (float64, float64) {
		return func(ax, ay, bx, by float64) (float64, float64) { return x, ay + (by-ay)*(x-ax)/(bx-ax) }
	}
	atY := func(y float64) func(ax, ay, bx, by float64) (float64, float64) {
		return func(ax, ay, bx, by float64) (float64, float64) { return ax + (bx-ax)*(y-ay)/(by-ay), y }
	}
	edges := []edge{
		{func(x, _ float64) bool { return x >= 0 }, atX(0)},
		{func(x, _ float64) bool { return x <= w }, atX(w)},
		{func(_, y float64) bool { return y >= 0 }, atY(0)},
		{func(_, y float64) bool { return y <= h }, atY(h)},
	}
	for _, e := range edges {
		n := len(p) / 2
		if n == 0 {
			return nil
		}
		var out []float64
		for i := range n {
			ax, ay := p[2*((i+n-1)%n)], p[2*((i+n-1)%n)+1]
			bx, by := p[2*i], p[2*i+1]
			ain, bin := e.inside(ax, ay), e.inside(bx, by)
			if bin {
				if !ain {
					x, y := e.cross(ax, ay, bx, by)
					out = append(out, x, y)
				}
				out = append(out, bx, by)
			} else if ain {
				x, y := e.cross(ax, ay, bx, by)
				out = append(out, x, y)
			}
		}
		p = out
	}
	if polygonArea([][]float64{p}) == 0 {
		return nil
	}
	return p
}

// remapClassMap builds a w×h class map whose pixel (x, y) is s's pixel
// src(x, y), or Void outside s.
func remapClassMap(s *ClassMap, w, h int, src func(x, y int) (int, int)) *ClassMap {
	out := &ClassMap{W: w, H: h, Pix: make([]uint8, w*h)}
	for y := range h {
		for x := range w {
			sx, sy := src(x, y)
			v := uint8(Void)
			if sx >= 0 && sy >= 0 && sx < s.W && sy < s.H {
				v = s.Pix[sy*s.W+sx]
			}
			out.Pix[y*w+x] = v
		}
	}
	return out
}

// fitSize returns the size of a w0×h0 image scaled to fit inside w×h,
// keeping its aspect ratio (at least one pixel a side).
func fitSize(w0, h0, w, h int) (int, int) {
	s := math.Min(float64(w)/float64(w0), float64(h)/float64(h0))
	return max(1, int(math.Round(float64(w0)*s))), max(1, int(math.Round(float64(h0)*s)))
}
