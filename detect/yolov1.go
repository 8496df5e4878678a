package detect

// YOLOv1: Redmon, Divvala, Girshick & Farhadi 2016, "You Only Look Once:
// Unified, Real-Time Object Detection". The image is divided into an S×S
// grid (S = 7); each cell predicts B boxes with a confidence each and one
// set of C class probabilities (Sec. 2), from 24 convolutional and 2
// fully connected layers (Sec. 2.1, Fig. 3); Fast YOLO (yolov1-tiny) has
// 9 convolutional layers. The output is darknet's [detection] layer.
//
// YOLOv1 was trained on images stretched to 448×448, and darknet's own
// YOLOv1 path (`darknet yolo test`, src/yolo.c: test_yolo) stretches them
// with resize_image; its boxes are fractions of the whole image. darknet's
// `detector test` letterboxes instead but does not map a detection
// layer's boxes back, which misplaces them on images that are not square;
// Detect follows test_yolo for these models.

import (
	"image"
	"image/color"
	"math"

	"govision.dev/vision/darknet"
	"govision.dev/vision/tensor"
)

var yolov1Models = []spec{
	{name: "yolov1", paper: "Redmon et al. 2016, You Only Look Once, Sec. 2 (24 conv + 2 fc, VOC)", cfg: "yolov1.cfg",
		labels: VOC, weights: Weights{File: "yolov1.weights", URL: pjreddie + "yolov1/yolov1.weights"}},
	{name: "yolov1-tiny", paper: "Redmon et al. 2016, You Only Look Once, Sec. 2 (Fast YOLO, 9 conv, VOC)", cfg: "yolov1-tiny.cfg",
		labels: VOC, weights: Weights{File: "yolov1-tiny.weights", URL: pjreddie + "yolov1/tiny-yolov1.weights"}},
}

// decodeDetection appends to dst the candidates of a detection layer's
// output out (darknet's flat layout: side² × classes class scores, then
// side² × num confidences, then side² × num × coords box values), as
// darknet's get_detection_detections (src/detection_layer.c) with w = h = 1,
// as test_yolo calls it: for each cell and box,
//
//	x = (tx + col) / side        y = (ty + row) / side
//	w = tw² (sqrt=1) or tw        h = th² or th
//
// in fractions of the image, objectness the box's confidence as it is
// (not thresholded, possibly negative), and Prob[j] = confidence · class
// score j of the cell, or 0 where that is not above thresh.
func decodeDetection(dst []Candidate, out []float32, l *darknet.Detection, thresh float32) []Candidate {
	side, num, classes := l.Side, l.Num, l.Classes
	cells := side * side
	pow := 1.0
	if l.Sqrt {
		pow = 2
	}
	for i := range cells {
		row, col := i/side, i%side
		for n := range num {
			scale := out[cells*classes+i*num+n]
			b := out[cells*(classes+num)+(i*num+n)*l.Coords:]
			c := Candidate{Objectness: scale, Prob: make([]float32, classes)}
			c.Box.X = (b[0] + float32(col)) / float32(side)
			c.Box.Y = (b[1] + float32(row)) / float32(side)
			c.Box.W = float32(math.Pow(float64(b[2]), pow))
			c.Box.H = float32(math.Pow(float64(b[3]), pow))
			for j := range c.Prob {
				if p := scale * out[i*classes+j]; p > thresh {
					c.Prob[j] = p
				}
			}
			dst = append(dst, c)
		}
	}
	return dst
}

// unstretch maps the boxes of cs from fractions of the image to its
// pixels.
func unstretch(cs []Candidate, w, h int) {
	for i := range cs {
		b := &cs[i].Box
		b.X *= float32(w)
		b.W *= float32(w)
		b.Y *= float32(h)
		b.H *= float32(h)
	}
}

// stretch is darknet's resize_image (src/image.c) of img to a [1, 3, dh,
// dw] tensor of values byte/255, RGB, without keeping the aspect ratio:
// a separable bilinear interpolation aligning corners (scale
// (src−1)/(dst−1)), horizontal pass first, whose last column copies the
// input's last column, then a vertical pass whose last row is only
// (1−dy)·row[iy]. It is the resize imageio.Letterbox does before placing
// the image on its canvas, repeated here because imageio keeps it
// unexported.
func stretch(img image.Image, dw, dh int) *tensor.Tensor {
	b := img.Bounds()
	sw, sh := b.Dx(), b.Dy()
	t := tensor.New(1, 3, dh, dw)
	out := t.Data()
	if sw == 0 || sh == 0 || dw == 0 || dh == 0 {
		return t
	}
	// The input as three planes of byte/255, as darknet's loader gives it.
	in := make([]float32, 3*sw*sh)
	for y := range sh {
		for x := range sw {
			c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			for k, v := range [3]uint8{c.R, c.G, c.B} {
				in[(k*sh+y)*sw+x] = float32(v) / 255
			}
		}
	}
	var wScale, hScale float32
	if dw > 1 {
		wScale = float32(sw-1) / float32(dw-1)
	}
	if dh > 1 {
		hScale = float32(sh-1) / float32(dh-1)
	}
	part := make([]float32, 3*dw*sh)
	for k := range 3 {
		for r := range sh {
			src := in[(k*sh+r)*sw : (k*sh+r+1)*sw]
			o := part[(k*sh+r)*dw : (k*sh+r+1)*dw]
			for c := range dw {
				if c == dw-1 || sw == 1 {
					o[c] = src[sw-1]
					continue
				}
				sx := float32(c) * wScale
				ix := int(sx)
				dx := sx - float32(ix)
				if ix >= sw-1 {
					o[c] = src[sw-1]
					continue
				}
				// float32() on each product keeps the compiler from
				// fusing a multiply-add: darknet rounds every operation.
				o[c] = float32((1-dx)*src[ix]) + float32(dx*src[ix+1])
			}
		}
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
	return t
}
