package datasets

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"govision.dev/vision/imageio"
)

// This file is COCO's run-length encoding of masks as pycocotools'
// maskApi.c defines it (cocodataset/cocoapi, common/maskApi.c): the mask is
// read in column-major order (down each column, then the next column) and
// stored as the lengths of alternating runs of 0s and 1s, starting with
// 0s (so the first count may be 0). The compressed string form stores each
// count, minus the count two before it from the fourth on, as a
// little-endian sequence of 5-bit groups, one character each (ASCII 48 +
// group, +32 when more groups follow; the last group's bit 4 is the sign).

// maxMaskPixels bounds the masks decoded, as imageio's pixel limit bounds
// images: an RLE or polygon claiming a larger image is refused before any
// allocation.
const maxMaskPixels = imageio.DefaultMaxPixels

// maxPolygonPoints bounds the points rleFrPoly's upsampled boundary may
// have (five per pixel of edge length): a polygon with coordinates far
// outside any image is refused rather than allocated.
const maxPolygonPoints = 1 << 24

// RLE is a COCO run-length encoded mask of a W×H image: Counts alternate
// runs of 0s and 1s in column-major order, starting with 0s. Its JSON form
// is COCO's compressed one, {"size": [H, W], "counts": "…"}; it reads the
// uncompressed form ("counts": [n, …]) too.
type RLE struct {
	H, W   int
	Counts []uint32
}

// check verifies that the counts cover exactly W·H pixels.
func (r *RLE) check() error {
	if r.W < 0 || r.H < 0 || int64(r.W)*int64(r.H) > maxMaskPixels {
		return fmt.Errorf("%w: RLE size %dx%d out of range", ErrFormat, r.W, r.H)
	}
	var sum uint64
	for _, c := range r.Counts {
		sum += uint64(c)
	}
	if sum != uint64(r.W)*uint64(r.H) {
		return fmt.Errorf("%w: RLE counts sum to %d, not %d×%d = %d pixels", ErrFormat, sum, r.H, r.W, r.W*r.H)
	}
	return nil
}

// EncodeRLE encodes a w×h bitmap (row-major, nonzero inside) as pycocotools'
// encode does.
func EncodeRLE(bitmap []uint8, w, h int) (*RLE, error) {
	if w < 0 || h < 0 || len(bitmap) != w*h {
		return nil, fmt.Errorf("%w: bitmap of %d pixels is not %dx%d", ErrFormat, len(bitmap), w, h)
	}
	r := &RLE{H: h, W: w}
	var prev uint8
	var run uint32
	for x := range w {
		for y := range h {
			v := uint8(0)
			if bitmap[y*w+x] != 0 {
				v = 1
			}
			if v != prev {
				r.Counts = append(r.Counts, run)
				run, prev = 0, v
			}
			run++
		}
	}
	r.Counts = append(r.Counts, run)
	return r, nil
}

// Decode returns the mask as a W×H bitmap, row-major, 1 inside.
func (r *RLE) Decode() ([]uint8, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	out := make([]uint8, r.W*r.H)
	var v uint8
	i := 0 // column-major position
	for _, c := range r.Counts {
		if v == 1 {
			for k := i; k < i+int(c); k++ {
				out[(k%r.H)*r.W+k/r.H] = 1
			}
		}
		i += int(c)
		v ^= 1
	}
	return out, nil
}

// Area returns the number of pixels inside the mask (rleArea).
func (r *RLE) Area() int {
	a := 0
	for j := 1; j < len(r.Counts); j += 2 {
		a += int(r.Counts[j])
	}
	return a
}

// Box returns the mask's bounding box as pycocotools' toBbox computes it:
// from the first to past the last column and row holding a 1, except that
// a run of 1s wrapping from one column into the next makes the box span
// every row. An empty mask gives the zero box.
func (r *RLE) Box() Box {
	m := len(r.Counts) / 2 * 2
	if m == 0 || r.H == 0 {
		return Box{}
	}
	h := uint64(r.H)
	xs, ys, xe, ye := uint64(r.W), h, uint64(0), uint64(0)
	var cc, xp uint64
	for j := range m {
		cc += uint64(r.Counts[j])
		t := cc - uint64(j%2)
		y := t % h
		x := (t - y) / h
		if j%2 == 0 {
			xp = x
		} else if xp < x {
			ys, ye = 0, h-1
		}
		xs, xe = min(xs, x), max(xe, x)
		ys, ye = min(ys, y), max(ye, y)
	}
	return Box{X1: float64(xs), Y1: float64(ys), X2: float64(xe + 1), Y2: float64(ye + 1)}
}

// String returns the counts in COCO's compressed string form (rleToString).
func (r *RLE) String() string {
	var sb strings.Builder
	for i, c := range r.Counts {
		x := int64(c)
		if i > 2 {
			x -= int64(r.Counts[i-2])
		}
		for more := true; more; {
			ch := byte(x & 0x1f)
			x >>= 5
			if ch&0x10 != 0 {
				more = x != -1
			} else {
				more = x != 0
			}
			if more {
				ch |= 0x20
			}
			sb.WriteByte(ch + 48)
		}
	}
	return sb.String()
}

// ParseRLE reads the compressed string form of the counts of an h×w mask
// (rleFrString), refusing characters outside it, counts out of range and
// counts that do not cover h·w pixels.
func ParseRLE(s string, h, w int) (*RLE, error) {
	r := &RLE{H: h, W: w}
	if int64(w)*int64(h) > maxMaskPixels || w < 0 || h < 0 {
		return nil, fmt.Errorf("%w: RLE size %dx%d out of range", ErrFormat, w, h)
	}
	for p := 0; p < len(s); {
		var x int64
		k := 0
		for more := true; more; {
			if p >= len(s) {
				return nil, fmt.Errorf("%w: RLE string ends inside a count", ErrFormat)
			}
			c := int64(s[p]) - 48
			if c < 0 || c > 63 {
				return nil, fmt.Errorf("%w: RLE string has %q at %d", ErrFormat, s[p], p)
			}
			if k > 7 {
				return nil, fmt.Errorf("%w: RLE count at %d too long", ErrFormat, p)
			}
			x |= (c & 0x1f) << (5 * k)
			more = c&0x20 != 0
			p++
			k++
			if !more && c&0x10 != 0 {
				x |= -1 << (5 * k)
			}
		}
		if m := len(r.Counts); m > 2 {
			x += int64(r.Counts[m-2])
		}
		if x < 0 || x > math.MaxUint32 {
			return nil, fmt.Errorf("%w: RLE count %d out of range", ErrFormat, x)
		}
		r.Counts = append(r.Counts, uint32(x))
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	return r, nil
}

// MarshalJSON writes COCO's compressed form.
func (r *RLE) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Size   [2]int `json:"size"`
		Counts string `json:"counts"`
	}{[2]int{r.H, r.W}, r.String()})
}

// UnmarshalJSON reads COCO's compressed or uncompressed form.
func (r *RLE) UnmarshalJSON(data []byte) error {
	var v struct {
		Size   []int           `json:"size"`
		Counts json.RawMessage `json:"counts"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return fmt.Errorf("%w: RLE: %w", ErrFormat, err)
	}
	if len(v.Size) != 2 {
		return fmt.Errorf("%w: RLE size %v is not [height, width]", ErrFormat, v.Size)
	}
	h, w := v.Size[0], v.Size[1]
	var s string
	if err := json.Unmarshal(v.Counts, &s); err == nil {
		p, err := ParseRLE(s, h, w)
		if err != nil {
			return err
		}
		*r = *p
		return nil
	}
	var counts []int64
	if err := json.Unmarshal(v.Counts, &counts); err != nil {
		return fmt.Errorf("%w: RLE counts are neither a string nor a list of counts", ErrFormat)
	}
	p := &RLE{H: h, W: w, Counts: make([]uint32, len(counts))}
	for i, c := range counts {
		if c < 0 || c > math.MaxUint32 {
			return fmt.Errorf("%w: RLE count %d out of range", ErrFormat, c)
		}
		p.Counts[i] = uint32(c)
	}
	if err := p.check(); err != nil {
		return err
	}
	*r = *p
	return nil
}

// PolygonsRLE rasterises polygons (each x1, y1, x2, y2, … in pixels) into
// one mask of a w×h image, as pycocotools' frPyObjects followed by merge:
// each polygon is rasterised by rleFrPoly and the results are united.
func PolygonsRLE(polygons [][]float64, w, h int) (*RLE, error) {
	if w < 0 || h < 0 || int64(w)*int64(h) > maxMaskPixels {
		return nil, fmt.Errorf("%w: mask size %dx%d out of range", ErrFormat, w, h)
	}
	var union []uint8 // column-major
	var first *RLE
	for i, p := range polygons {
		if len(p) < 6 || len(p)%2 != 0 {
			return nil, fmt.Errorf("%w: polygon %d has %d coordinates, want an even number, at least 6", ErrFormat, i, len(p))
		}
		r, err := polygonRLE(p, w, h)
		if err != nil {
			return nil, fmt.Errorf("polygon %d: %w", i, err)
		}
		if len(polygons) == 1 {
			return r, nil
		}
		if first == nil {
			first = r
			union = make([]uint8, w*h)
		}
		var v uint8
		k := 0
		for _, c := range r.Counts {
			if v == 1 {
				for j := k; j < k+int(c); j++ {
					union[j] = 1
				}
			}
			k += int(c)
			v ^= 1
		}
	}
	if first == nil {
		return nil, fmt.Errorf("%w: no polygons", ErrFormat)
	}
	out := &RLE{H: h, W: w}
	var prev uint8
	var run uint32
	for _, v := range union {
		if v != prev {
			out.Counts = append(out.Counts, run)
			run, prev = 0, v
		}
		run++
	}
	out.Counts = append(out.Counts, run)
	return out, nil
}

// polygonRLE is pycocotools' rleFrPoly: the polygon is upsampled five times,
// its boundary walked pixel by pixel, and the points where it crosses a
// column centre (downsampled back) mark where runs of the column-major mask
// begin and end.
func polygonRLE(xy []float64, w, h int) (*RLE, error) {
	const scale = 5.0
	k := len(xy) / 2
	x := make([]int, k+1)
	y := make([]int, k+1)
	for j := range k {
		if !(math.Abs(xy[2*j]) < 1e9 && math.Abs(xy[2*j+1]) < 1e9) {
			return nil, fmt.Errorf("%w: polygon point (%g, %g) out of range", ErrFormat, xy[2*j], xy[2*j+1])
		}
		x[j] = int(scale*xy[2*j] + .5) // C's (int) truncates toward zero, as Go's does
		y[j] = int(scale*xy[2*j+1] + .5)
	}
	x[k], y[k] = x[0], y[0]
	m := 0
	for j := range k {
		m += max(absInt(x[j]-x[j+1]), absInt(y[j]-y[j+1])) + 1
		if m > maxPolygonPoints {
			return nil, fmt.Errorf("%w: polygon boundary over %d points", ErrFormat, maxPolygonPoints)
		}
	}
	u := make([]int, 0, m)
	v := make([]int, 0, m)
	for j := range k {
		xs, xe, ys, ye := x[j], x[j+1], y[j], y[j+1]
		dx, dy := absInt(xe-xs), absInt(ys-ye)
		flip := (dx >= dy && xs > xe) || (dx < dy && ys > ye)
		if flip {
			xs, xe = xe, xs
			ys, ye = ye, ys
		}
		if dx >= dy {
			s := 0.0
			if dx == 0 {
				// maskApi.c divides 0 by 0 here and converts the NaN to
				// int, which x86 makes INT_MIN; only the single point of
				// a zero-length edge takes the value.
				s = math.NaN()
			} else {
				s = float64(ye-ys) / float64(dx)
			}
			for d := 0; d <= dx; d++ {
				t := d
				if flip {
					t = dx - d
				}
				u = append(u, t+xs)
				v = append(v, cInt(float64(ys)+s*float64(t)+.5))
			}
		} else {
			s := float64(xe-xs) / float64(dy)
			for d := 0; d <= dy; d++ {
				t := d
				if flip {
					t = dy - d
				}
				v = append(v, t+ys)
				u = append(u, cInt(float64(xs)+s*float64(t)+.5))
			}
		}
	}
	// Points along the y-boundary, downsampled.
	a := make([]uint64, 0, len(u)+1)
	for j := 1; j < len(u); j++ {
		if u[j] == u[j-1] {
			continue
		}
		xd := float64(u[j] - 1)
		if u[j] < u[j-1] {
			xd = float64(u[j])
		}
		xd = (xd+.5)/scale - .5
		if math.Floor(xd) != xd || xd < 0 || xd > float64(w-1) {
			continue
		}
		yd := float64(min(v[j], v[j-1]))
		yd = (yd+.5)/scale - .5
		if yd < 0 {
			yd = 0
		} else if yd > float64(h) {
			yd = float64(h)
		}
		yd = math.Ceil(yd)
		a = append(a, uint64(int(xd)*h+int(yd)))
	}
	a = append(a, uint64(h*w))
	slices.Sort(a)
	var p uint64
	for j := range a {
		t := a[j]
		a[j] -= p
		p = t
	}
	b := []uint32{uint32(a[0])}
	for j := 1; j < len(a); {
		if a[j] > 0 {
			b = append(b, uint32(a[j]))
			j++
			continue
		}
		j++
		if j < len(a) {
			b[len(b)-1] += uint32(a[j])
			j++
		}
	}
	return &RLE{H: h, W: w, Counts: b}, nil
}

// cInt converts as C's (int) cast of a double does on x86: truncation
// toward zero, and INT_MIN for NaN and values out of range.
func cInt(f float64) int {
	if math.IsNaN(f) || f >= math.MaxInt32+1 || f <= math.MinInt32-1 {
		return math.MinInt32
	}
	return int(f)
}

func absInt(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// polygonArea returns the total area of polygons by the shoelace formula,
// as detectron2's COCO export computes a polygon annotation's area.
func polygonArea(polygons [][]float64) float64 {
	total := 0.0
	for _, p := range polygons {
		n := len(p) / 2
		s := 0.0
		for i := range n {
			j := (i + 1) % n
			s += p[2*i]*p[2*j+1] - p[2*j]*p[2*i+1]
		}
		total += math.Abs(s) / 2
	}
	return total
}
