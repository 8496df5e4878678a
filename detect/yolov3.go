package detect

// YOLOv3: Redmon & Farhadi 2018, "YOLOv3: An Incremental Improvement".
// Darknet-53 (Sec. 2.4) with predictions at three scales (Sec. 2.3), each
// a [yolo] layer with three of the nine anchor boxes (Sec. 2.1, 2.3),
// independent logistic class scores (Sec. 2.2). yolov3-tiny is darknet's
// small variant (two scales, six anchors); yolov3-spp adds a spatial
// pyramid pooling block (He et al. 2014) before the first head, as
// darknet's yolov3-spp.cfg does.

import (
	"math"

	"govision.dev/vision/darknet"
	"govision.dev/vision/imageio"
)

var yolov3Models = []spec{
	{name: "yolov3", paper: "Redmon & Farhadi 2018, YOLOv3, Sec. 2 (Darknet-53, three scales)", cfg: "yolov3.cfg",
		// Debian's cfg says 608; YOLOv3-416 is the model darknet's site
		// benchmarks and the issue pins.
		size: 416, labels: COCO, weights: darknetWeights("yolov3", "yolov3.weights", 248_007_048)},
	{name: "yolov3-tiny", paper: "Redmon & Farhadi 2018, YOLOv3 (darknet's tiny variant, two scales)", cfg: "yolov3-tiny.cfg",
		labels: COCO, weights: darknetWeights("yolov3-tiny", "yolov3-tiny.weights", 0)},
	{name: "yolov3-spp", paper: "Redmon & Farhadi 2018, YOLOv3, with an SPP block (He et al. 2014)", cfg: "yolov3-spp.cfg",
		labels: COCO, weights: darknetWeights("yolov3-spp", "yolov3-spp.weights", 0)},
}

// decodeYolo appends to dst the candidates of a yolo layer's output out,
// [A·(5+C), h, w] for one image (Net.Forward's layout), as darknet's
// get_yolo_detections (src/yolo_layer.c) finds them: cell by cell, anchor
// by anchor, every box whose objectness is above thresh, with
//
//	x = (col + σ(tx)) / w           y = (row + σ(ty)) / h
//	w = e^tw · anchor_w / netW      h = e^th · anchor_h / netH
//
// in fractions of the network input (darknet's get_yolo_box; the anchors
// are in network pixels), and Prob[j] = objectness · σ(class j), or 0 where
// that is not above thresh. The arithmetic is darknet's: float32, but e^t
// and the division that follows in double.
func decodeYolo(dst []Candidate, out []float32, l *darknet.Yolo, h, w, netW, netH int, thresh float32) []Candidate {
	hw := h * w
	per := 5 + l.Classes
	for i := range hw {
		row, col := i/w, i%w
		for n, a := range l.Mask {
			at := func(e int) float32 { return out[(n*per+e)*hw+i] }
			obj := at(4)
			if obj <= thresh {
				continue
			}
			c := Candidate{Objectness: obj, Prob: make([]float32, l.Classes)}
			c.Box.X = (float32(col) + at(0)) / float32(w)
			c.Box.Y = (float32(row) + at(1)) / float32(h)
			c.Box.W = float32(math.Exp(float64(at(2))) * float64(l.Anchors[2*a]) / float64(netW))
			c.Box.H = float32(math.Exp(float64(at(3))) * float64(l.Anchors[2*a+1]) / float64(netH))
			for j := range c.Prob {
				if p := obj * at(5+j); p > thresh {
					c.Prob[j] = p
				}
			}
			dst = append(dst, c)
		}
	}
	return dst
}

// unletterbox maps the boxes of cs from fractions of the network input to
// pixels of the original image, darknet's correct_yolo_boxes (and
// correct_region_boxes) through lb.
func unletterbox(cs []Candidate, lb imageio.LetterboxInfo) {
	for i := range cs {
		cs[i].Box = lb.Unmap(cs[i].Box)
	}
}
