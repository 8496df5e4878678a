package imageio

import (
	"image"

	"govision.dev/vision/tensor"
)

// This file is darknet's letterbox (pjreddie/darknet, src/image.c:
// letterbox_image, resize_image, embed_image; src/yolo_layer.c:
// correct_yolo_boxes), reproduced operation for operation in float32 so
// that the network sees the same input as darknet's. The tests compare it
// with Debian's libdarknet through tools/golden/letterbox.sh.

// LetterboxGrey is the value of the canvas around a letterboxed image.
const LetterboxGrey = 0.5

// LetterboxInfo records where Letterbox put the image on its canvas, for
// mapping boxes back. All sizes are in pixels.
type LetterboxInfo struct {
	SrcW, SrcH int // the original image
	NetW, NetH int // the canvas: the network input
	NewW, NewH int // the resized image on the canvas
	DX, DY     int // the resized image's top-left corner on the canvas
}

// Box is an axis-aligned box given by its centre and size, darknet's
// convention; the unit depends on where it is used.
type Box struct {
	X, Y, W, H float32
}

// Rect returns b's corners.
func (b Box) Rect() Rect {
	return Rect{X1: b.X - b.W/2, Y1: b.Y - b.H/2, X2: b.X + b.W/2, Y2: b.Y + b.H/2}
}

// Rect is an axis-aligned box given by its top-left (X1, Y1) and
// bottom-right (X2, Y2) corners.
type Rect struct {
	X1, Y1, X2, Y2 float32
}

// Box returns r as centre and size.
func (r Rect) Box() Box {
	return Box{X: (r.X1 + r.X2) / 2, Y: (r.Y1 + r.Y2) / 2, W: r.X2 - r.X1, H: r.Y2 - r.Y1}
}

// LetterboxSize returns the size darknet gives an sw×sh image letterboxed
// into w×h: the side with the smaller scale fills the canvas and the other
// is scaled in integer arithmetic, truncating (768×576 into 416×416 gives
// 416×312). The comparison of scales is in float32, as darknet's.
func LetterboxSize(sw, sh, w, h int) (nw, nh int) {
	if sw <= 0 || sh <= 0 {
		return 0, 0
	}
	if float32(w)/float32(sw) < float32(h)/float32(sh) {
		return w, sh * w / sw
	}
	return sw * h / sh, h
}

// Letterbox is darknet's letterbox_image: img is resized, keeping its
// aspect ratio, to LetterboxSize(…, w, h) with darknet's resize_image, and
// placed at ((w−NewW)/2, (h−NewH)/2) (integer division) on a w×h canvas of
// grey 0.5. The result is a [1, 3, h, w] tensor of values byte/255, RGB.
//
// darknet's resize_image is a separable bilinear interpolation without
// antialiasing, aligning corners (scale (src−1)/(dst−1)): a horizontal
// pass, whose last column copies the last input column, then a vertical
// pass whose last row is only (1−dy)·row[iy] with no second term, so that
// when (dst−1)·scale rounds to just below src−1 the bottom row comes out
// nearly black, in darknet as here. A one-pixel-high target takes row 0
// (darknet divides by zero there).
//
// Non-positive w or h give an empty tensor; an empty image or one that
// scales to zero rows or columns gives a grey canvas. Letterbox is safe for
// concurrent use.
func Letterbox(img image.Image, w, h int) (*tensor.Tensor, LetterboxInfo) {
	w, h = max(w, 0), max(h, 0)
	b := img.Bounds()
	info := LetterboxInfo{SrcW: b.Dx(), SrcH: b.Dy(), NetW: w, NetH: h}
	t := tensor.New(1, 3, h, w)
	out := t.Data()
	for i := range out {
		out[i] = LetterboxGrey
	}
	if b.Empty() || w == 0 || h == 0 {
		return t, info
	}
	info.NewW, info.NewH = LetterboxSize(info.SrcW, info.SrcH, w, h)
	info.DX, info.DY = (w-info.NewW)/2, (h-info.NewH)/2
	if info.NewW <= 0 || info.NewH <= 0 {
		return t, info
	}
	resized := darknetResize(img, info.NewW, info.NewH)
	// embed_image: set_pixel ignores writes outside the canvas.
	nw, nh := info.NewW, info.NewH
	for k := range 3 {
		for y := range nh {
			cy := info.DY + y
			if cy < 0 || cy >= h {
				continue
			}
			for x := range nw {
				cx := info.DX + x
				if cx < 0 || cx >= w {
					continue
				}
				out[(k*h+cy)*w+cx] = resized[(k*nh+y)*nw+x]
			}
		}
	}
	return t, info
}

// darknetResize is darknet's resize_image of img's byte/255 values to
// dw×dh (both positive), returned as three planes.
func darknetResize(img image.Image, dw, dh int) []float32 {
	b := img.Bounds()
	sw, sh := b.Dx(), b.Dy()

	// Horizontal pass, one input row at a time: part is 3 planes of dw×sh.
	// Each column's source index and weight depend only on the column.
	ix := make([]int, dw)
	dx := make([]float32, dw)
	var wScale float32
	if dw > 1 {
		wScale = float32(sw-1) / float32(dw-1)
	}
	for c := range dw {
		if c == dw-1 || sw == 1 {
			ix[c] = -1 // copy the last input column
			continue
		}
		sx := float32(c) * wScale
		ix[c] = int(sx)
		dx[c] = sx - float32(ix[c])
		if ix[c] >= sw-1 { // only if float rounding reaches the edge
			ix[c] = -1
		}
	}
	part := make([]float32, 3*dw*sh)
	var level [256]float32 // darknet's loader: (float)byte/255.
	for v := range level {
		level[v] = float32(v) / 255
	}
	in := make([]float32, 3*sw) // R, G, B planes of the current input row
	RGBRows(img, func(y int, rgb []uint8) {
		for x := range sw {
			p := rgb[3*x : 3*x+3 : 3*x+3]
			in[x], in[sw+x], in[2*sw+x] = level[p[0]], level[p[1]], level[p[2]]
		}
		for k := range 3 {
			src := in[k*sw : (k+1)*sw]
			o := part[(k*sh+y)*dw : (k*sh+y+1)*dw]
			for c := range o {
				i := ix[c]
				if i < 0 {
					o[c] = src[sw-1]
					continue
				}
				// float32() on each product keeps the compiler from
				// fusing a multiply-add: darknet rounds every operation.
				o[c] = float32((1-dx[c])*src[i]) + float32(dx[c]*src[i+1])
			}
		}
	})

	// Vertical pass.
	out := make([]float32, 3*dw*dh)
	var hScale float32
	if dh > 1 {
		hScale = float32(sh-1) / float32(dh-1)
	}
	for k := range 3 {
		for r := range dh {
			sy := float32(r) * hScale
			iy := min(int(sy), sh-1)
			dy := sy - float32(iy)
			o := out[(k*dh+r)*dw : (k*dh+r+1)*dw]
			p0 := part[(k*sh+iy)*dw : (k*sh+iy+1)*dw]
			for c := range dw {
				o[c] = float32((1 - dy) * p0[c])
			}
			if r == dh-1 || sh == 1 || iy+1 >= sh {
				continue
			}
			p1 := part[(k*sh+iy+1)*dw : (k*sh+iy+2)*dw]
			for c := range dw {
				o[c] += float32(dy * p1[c])
			}
		}
	}
	return out
}

// Unmap maps b from the network input back to the original image, exactly
// as darknet's correct_yolo_boxes (with relative = 0): b's centre and size
// are fractions of the network input's width and height (a YOLO layer's
// output convention), the result is in pixels of the original image.
//
// darknet subtracts the padding as (NetW−NewW)/2 pixels without rounding,
// although the image was placed at the integer DX: when NetW−NewW is odd
// the result is half a network pixel off, in darknet as here. Map inverts
// Unmap, not the placement.
func (l LetterboxInfo) Unmap(b Box) Box {
	padX := float64(l.NetW-l.NewW) / 2 / float64(l.NetW)
	padY := float64(l.NetH-l.NewH) / 2 / float64(l.NetH)
	b.X = float32((float64(b.X) - padX) / float64(float32(l.NewW)/float32(l.NetW)))
	b.Y = float32((float64(b.Y) - padY) / float64(float32(l.NewH)/float32(l.NetH)))
	b.W *= float32(l.NetW) / float32(l.NewW)
	b.H *= float32(l.NetH) / float32(l.NewH)
	b.X *= float32(l.SrcW)
	b.W *= float32(l.SrcW)
	b.Y *= float32(l.SrcH)
	b.H *= float32(l.SrcH)
	return b
}

// Map is the inverse of Unmap: it maps b from pixels of the original image
// to fractions of the network input, computed in float64 and rounded once
// (for training labels, or to check Unmap).
func (l LetterboxInfo) Map(b Box) Box {
	sx := float64(l.NewW) / float64(l.NetW)
	sy := float64(l.NewH) / float64(l.NetH)
	padX := float64(l.NetW-l.NewW) / 2 / float64(l.NetW)
	padY := float64(l.NetH-l.NewH) / 2 / float64(l.NetH)
	return Box{
		X: float32(float64(b.X)/float64(l.SrcW)*sx + padX),
		Y: float32(float64(b.Y)/float64(l.SrcH)*sy + padY),
		W: float32(float64(b.W) / float64(l.SrcW) * sx),
		H: float32(float64(b.H) / float64(l.SrcH) * sy),
	}
}
