package detect

import "govision.dev/vision/imageio"

// Boxes given as [4]float32 are corners, x1, y1, x2, y2, in pixels with
// x right and y down (the convention of Detection.Box); imageio.Box is a
// centre and size, darknet's convention, used inside the decoders.

// Area returns the area of box b, (x2−x1)·(y2−y1), or 0 when b is empty
// (x2 ≤ x1 or y2 ≤ y1).
func Area(b [4]float32) float32 {
	if b[2] <= b[0] || b[3] <= b[1] {
		return 0
	}
	return (b[2] - b[0]) * (b[3] - b[1])
}

// Intersection returns the area two boxes share.
func Intersection(a, b [4]float32) float32 {
	return Area([4]float32{max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])})
}

// IoU returns the intersection over union of two boxes given as corners,
// in [0, 1]; 0 when the union is empty.
func IoU(a, b [4]float32) float32 {
	i := Intersection(a, b)
	u := Area(a) + Area(b) - i
	if u <= 0 {
		return 0
	}
	return i / u
}

// corners returns b as x1, y1, x2, y2.
func corners(b imageio.Box) [4]float32 {
	r := b.Rect()
	return [4]float32{r.X1, r.Y1, r.X2, r.Y2}
}

// darknetIoU is darknet's box_iou (src/box.c) on centre-and-size boxes,
// in float32 operation for operation, so that do_nms_sort's comparisons
// with its threshold come out as darknet's. Unlike IoU, it does not clamp
// a box of negative size, as darknet does not.
func darknetIoU(a, b imageio.Box) float32 {
	ea, eb := extentOf(a), extentOf(b)
	return ea.iou(&eb)
}

// extent is a box's edges and area as darknet's box_iou computes them
// (overlap: l = x − w/2, r = x + w/2), worked out once for NMSSort's many
// comparisons: the same float32 values, so the same result.
type extent struct {
	l, r, t, b, area float32
}

func extentOf(b imageio.Box) extent {
	return extent{l: b.X - b.W/2, r: b.X + b.W/2, t: b.Y - b.H/2, b: b.Y + b.H/2, area: float32(b.W * b.H)}
}

// iou is darknet's box_iou of the boxes of e and f. The float32()
// conversions keep the compiler from fusing a multiply-add: darknet
// rounds every operation.
func (e *extent) iou(f *extent) float32 {
	w := min(e.r, f.r) - max(e.l, f.l)
	h := min(e.b, f.b) - max(e.t, f.t)
	var i float32
	if w >= 0 && h >= 0 {
		i = float32(w * h)
	}
	return i / (e.area + f.area - i)
}

// overlaps reports whether the boxes of e and f share an edge or more,
// darknet's condition for a non-zero intersection.
func (e *extent) overlaps(f *extent) bool {
	return min(e.r, f.r) >= max(e.l, f.l) && min(e.b, f.b) >= max(e.t, f.t)
}
