package detect

// YOLOv2 and YOLO9000: Redmon & Farhadi 2017, "YOLO9000: Better, Faster,
// Stronger". YOLOv2 (Sec. 2) predicts, at each cell of a 13×13 (at 416)
// grid, five anchor boxes found by k-means (dimension clusters), each with
// a location relative to its cell (Sec. 2, Direct location prediction),
// an objectness and a softmax over the classes, through darknet's
// [region] layer; a passthrough ([reorg]) brings in 26×26 features.
// YOLO9000 (Sec. 4) replaces the softmax with a hierarchical one over
// WordTree, 9418 nodes of WordNet, and predicts the most specific node
// whose probability stays above a threshold.

import (
	"math"

	"govision.dev/vision/darknet"
)

var yolov2Models = []spec{
	{name: "yolov2", paper: "Redmon & Farhadi 2017, YOLO9000, Sec. 2–3 (YOLOv2, Darknet-19, COCO)", cfg: "yolov2.cfg",
		labels: COCO, weights: darknetWeights("yolov2", "yolov2.weights", 0)},
	{name: "yolov2-tiny", paper: "Redmon & Farhadi 2017, YOLO9000 (darknet's tiny YOLOv2, COCO)", cfg: "yolov2-tiny.cfg",
		labels: COCO, weights: darknetWeights("yolov2-tiny", "yolov2-tiny.weights", 0)},
	{name: "yolov2-voc", paper: "Redmon & Farhadi 2017, YOLO9000, Sec. 2 (YOLOv2 on VOC 2007+2012)", cfg: "yolov2-voc.cfg",
		labels: VOC, weights: darknetWeights("yolov2-voc", "yolov2-voc.weights", 0)},
	{name: "yolo9000", paper: "Redmon & Farhadi 2017, YOLO9000, Sec. 4 (WordTree, 9418 classes)", cfg: "yolo9000.cfg",
		labels: NineK, weights: darknetWeights("yolo9000", "yolo9000.weights", 0)},
}

// decodeRegion appends to dst the candidates of a region layer's output
// out, [A·(coords+1+C), h, w] for one image, as darknet's
// get_region_detections (src/region_layer.c) with map = 0, as its
// detector test path calls it. Every anchor of every cell becomes a
// candidate (darknet's count), with
//
//	x = (col + σ(tx)) / w           y = (row + σ(ty)) / h
//	w = e^tw · anchor_w / w         h = e^th · anchor_h / h
//
// in fractions of the network input (get_region_box; the anchors are in
// grid cells), and an objectness s that is 0 unless above thresh (1 with
// background=1). Without a tree, Prob[j] = s · class score j, or 0 where
// that is not above thresh. With a WordTree, the class scores become
// absolute probabilities down the tree (hierarchy_predictions) and the
// one class hierarchy_top_prediction picks with hier gets Prob = s.
// Candidates of zero objectness are left out: NMSSort would drop them.
func decodeRegion(dst []Candidate, out []float32, l *darknet.Region, tree *darknet.Tree, h, w int, thresh, hier float32) []Candidate {
	hw := h * w
	per := l.Coords + 1 + l.Classes
	var cls []float32
	if tree != nil {
		cls = make([]float32, l.Classes)
	}
	for i := range hw {
		row, col := i/w, i%w
		for n := range l.Num {
			at := func(e int) float32 { return out[(n*per+e)*hw+i] }
			scale := float32(1)
			if !l.Background {
				scale = at(l.Coords)
			}
			if scale <= thresh {
				continue // objectness 0
			}
			c := Candidate{Objectness: scale, Prob: make([]float32, l.Classes)}
			c.Box.X = (float32(col) + at(0)) / float32(w)
			c.Box.Y = (float32(row) + at(1)) / float32(h)
			c.Box.W = float32(math.Exp(float64(at(2))) * float64(l.Anchors[2*n]) / float64(w))
			c.Box.H = float32(math.Exp(float64(at(3))) * float64(l.Anchors[2*n+1]) / float64(h))
			if tree != nil {
				// darknet reads the classes from entry coords + !background.
				first := l.Coords + 1
				if l.Background {
					first = l.Coords
				}
				for j := range cls {
					cls[j] = at(first + j)
				}
				hierarchyPredictions(cls, tree)
				c.Prob[hierarchyTop(cls, tree, hier)] = scale
			} else {
				// The plain path reads entry coords + 1 + j, background or
				// not, as darknet does.
				for j := range c.Prob {
					if p := scale * at(l.Coords+1+j); p > thresh {
						c.Prob[j] = p
					}
				}
			}
			dst = append(dst, c)
		}
	}
	return dst
}

// hierarchyPredictions is darknet's hierarchy_predictions (src/tree.c)
// with only_leaves = 0: each node's conditional probability, in file
// order (parents first), is multiplied by its parent's, which is by then
// absolute.
func hierarchyPredictions(p []float32, t *darknet.Tree) {
	for j, parent := range t.Parent[:len(p)] {
		if parent >= 0 {
			p[j] *= p[parent]
		}
	}
}

// hierarchyTop is darknet's hierarchy_top_prediction (src/tree.c) on
// hierarchyPredictions' output: from the root group down, take the
// group's most probable node; while the running product of those
// maxima stays above thresh, go on to that node's children (returning it
// if it is a leaf); else return the node above the group (or the best
// root, at the top). The product multiplies absolute probabilities, as
// darknet does.
func hierarchyTop(p []float32, t *darknet.Tree, thresh float32) int {
	prob := float32(1)
	group := 0
	for {
		var best float32
		bestI := 0
		off := t.GroupOffset[group]
		for i := range t.GroupSize[group] {
			if v := p[off+i]; v > best {
				bestI, best = off+i, v
			}
		}
		switch {
		case prob*best > thresh:
			prob *= best
			group = t.Child[bestI]
			if group < 0 {
				return bestI
			}
		case group == 0:
			return bestI
		default:
			return t.Parent[off]
		}
	}
}
