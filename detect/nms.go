package detect

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"govision.dev/vision/imageio"
)

// NMSKind chooses how Detect suppresses overlapping boxes.
type NMSKind int

// The kinds of non-maximum suppression. All of them work class by class: a
// box never suppresses a box of another class.
const (
	// NMSDarknet is darknet's do_nms_sort (src/box.c), the default, on
	// the candidates of the YOLO heads (see NMSSort): one box may be
	// reported under several classes, as darknet reports it.
	NMSDarknet NMSKind = iota
	// NMSGreedy is the classic greedy NMS on the detections, class by
	// class (torchvision's batched_nms): the highest score first, then
	// every detection of its class whose box overlaps it with an IoU
	// above the threshold is dropped (see NMS).
	NMSGreedy
	// NMSSoftLinear is Soft-NMS with the linear penalty (Bodla et al.
	// 2017, Eq. 2): instead of being dropped, a detection's score is
	// multiplied by 1 − IoU when the IoU is at least the threshold (see
	// SoftNMSLinear).
	NMSSoftLinear
	// NMSSoftGaussian is Soft-NMS with the Gaussian penalty (Bodla et
	// al. 2017, Eq. 3): every score is multiplied by exp(−IoU²/σ) (see
	// SoftNMSGaussian).
	NMSSoftGaussian
)

var nmsNames = [...]string{"darknet", "greedy", "soft-linear", "soft-gaussian"}

// String returns the kind's name: "darknet", "greedy", "soft-linear" or
// "soft-gaussian".
func (k NMSKind) String() string {
	if k >= 0 && int(k) < len(nmsNames) {
		return nmsNames[k]
	}
	return fmt.Sprintf("NMSKind(%d)", int(k))
}

// ParseNMS returns the kind String names.
func ParseNMS(s string) (NMSKind, error) {
	for i, n := range nmsNames {
		if s == n {
			return NMSKind(i), nil
		}
	}
	return 0, fmt.Errorf("detect: NMS %q: want one of %s", s, strings.Join(nmsNames[:], ", "))
}

// Candidate is a box a YOLO head proposes, before non-maximum
// suppression: darknet's detection struct.
type Candidate struct {
	// Box is the box's centre and size (pixels of the original image
	// once Detect has mapped it back).
	Box imageio.Box
	// Objectness is the head's objectness score, or 0 for a box darknet
	// drops (a region layer's box with objectness not above the
	// threshold).
	Objectness float32
	// Prob holds one probability per class: objectness × the class's
	// score (YOLO9000: the objectness, for the class the WordTree picks),
	// or 0 where that is not above the confidence threshold.
	Prob []float32
}

// NMSSort is darknet's do_nms_sort (src/box.c): candidates with zero
// objectness are dropped; then, for each class k in turn, the others are
// taken in order of decreasing Prob[k], and each with a non-zero Prob[k]
// sets Prob[k] to 0 in every later candidate whose box overlaps its own
// with darknet's IoU above thresh. A candidate already zeroed for k
// suppresses nothing for k.
//
// It changes the Prob values of cs in place and returns the candidates
// with non-zero objectness (a prefix of cs, reordered). Ties in Prob[k]
// keep the candidates' order, where darknet's qsort leaves it unspecified.
func NMSSort(cs []Candidate, thresh float32) []Candidate {
	// darknet swaps the zero-objectness candidates to the end; keeping
	// the order instead only matters for ties.
	n := 0
	for _, c := range cs {
		if c.Objectness != 0 {
			cs[n], n = c, n+1
		}
	}
	cs = cs[:n]
	classes := 0
	for _, c := range cs {
		classes = max(classes, len(c.Prob))
	}
	ext := make([]extent, len(cs))
	for i, c := range cs {
		ext[i] = extentOf(c.Box)
	}
	// Boxes that do not overlap have an IoU of 0 (or NaN), never above a
	// threshold of 0 or more: their IoU need not be computed.
	cheap := thresh >= 0
	// Each class's candidates, gathered in order of decreasing Prob[k]
	// into dense slices for the quadratic loop.
	var (
		idx []int
		p   []float32
		e   []extent
	)
	for k := range classes {
		idx = idx[:0]
		for i, c := range cs {
			if k < len(c.Prob) && c.Prob[k] != 0 {
				idx = append(idx, i)
			}
		}
		if len(idx) < 2 {
			continue
		}
		slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(cs[b].Prob[k], cs[a].Prob[k]) })
		p, e = p[:0], e[:0]
		for _, i := range idx {
			p = append(p, cs[i].Prob[k])
			e = append(e, ext[i])
		}
		for i := range p {
			if p[i] == 0 {
				continue
			}
			for j := i + 1; j < len(p); j++ {
				if p[j] != 0 && (!cheap || e[i].overlaps(&e[j])) && e[i].iou(&e[j]) > thresh {
					p[j] = 0
				}
			}
		}
		for ii, i := range idx {
			cs[i].Prob[k] = p[ii]
		}
	}
	return cs
}

// byScore orders detections by decreasing score, then class, then box, so
// that results are deterministic.
func byScore(a, b Detection) int {
	if c := cmp.Compare(b.Score, a.Score); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Class, b.Class); c != 0 {
		return c
	}
	for i := range a.Box {
		if c := cmp.Compare(a.Box[i], b.Box[i]); c != 0 {
			return c
		}
	}
	return 0
}

// byClass splits dets by class, each group in decreasing order of score
// (stable), groups in increasing class order.
func byClass(dets []Detection) [][]Detection {
	s := slices.Clone(dets)
	slices.SortStableFunc(s, func(a, b Detection) int {
		if c := cmp.Compare(a.Class, b.Class); c != 0 {
			return c
		}
		return cmp.Compare(b.Score, a.Score)
	})
	var groups [][]Detection
	for i := 0; i < len(s); {
		j := i + 1
		for j < len(s) && s[j].Class == s[i].Class {
			j++
		}
		groups = append(groups, s[i:j:j])
		i = j
	}
	return groups
}

// NMS is greedy non-maximum suppression, class by class: within a class,
// the detection with the highest score is kept and every other whose box
// has an IoU above iou with it is dropped, and so on with the highest
// remaining. Equal scores keep their order in dets. The result is sorted
// by decreasing score; dets is not changed.
func NMS(dets []Detection, iou float32) []Detection {
	var out []Detection
	for _, g := range byClass(dets) {
		dropped := make([]bool, len(g))
		for i := range g {
			if dropped[i] {
				continue
			}
			out = append(out, g[i])
			for j := i + 1; j < len(g); j++ {
				if !dropped[j] && IoU(g[i].Box, g[j].Box) > iou {
					dropped[j] = true
				}
			}
		}
	}
	slices.SortStableFunc(out, byScore)
	return out
}

// SoftNMSLinear is Soft-NMS (Bodla et al. 2017, "Soft-NMS — Improving
// Object Detection With One Line of Code", Algorithm 1) with the linear
// penalty of Eq. 2, class by class: the detection with the highest score
// is kept, and the score s of each other detection of its class whose box
// has an IoU of at least iou with it becomes s·(1 − IoU); and so on with
// the highest remaining. Detections whose score falls to minScore or below
// are dropped. The result, with the decayed scores, is sorted by
// decreasing score; dets is not changed.
func SoftNMSLinear(dets []Detection, iou, minScore float32) []Detection {
	return softNMS(dets, minScore, func(o float32) float32 {
		if o >= iou {
			return 1 - o
		}
		return 1
	})
}

// SoftNMSGaussian is Soft-NMS with the Gaussian penalty of Bodla et al.'s
// Eq. 3: each remaining detection's score s becomes s·exp(−IoU²/sigma)
// after each pick, whatever its IoU (the paper uses sigma = 0.5). See
// SoftNMSLinear.
func SoftNMSGaussian(dets []Detection, sigma, minScore float32) []Detection {
	return softNMS(dets, minScore, func(o float32) float32 {
		return float32(math.Exp(-float64(o) * float64(o) / float64(sigma)))
	})
}

func softNMS(dets []Detection, minScore float32, decay func(iou float32) float32) []Detection {
	var out []Detection
	for _, g := range byClass(dets) {
		rest := slices.DeleteFunc(g, func(d Detection) bool { return d.Score <= minScore })
		for len(rest) > 0 {
			best := 0
			for i, d := range rest {
				if d.Score > rest[best].Score {
					best = i
				}
			}
			m := rest[best]
			out = append(out, m)
			rest = slices.Delete(rest, best, best+1)
			for i := range rest {
				rest[i].Score *= decay(IoU(m.Box, rest[i].Box))
			}
			// A detection at or below minScore can never be picked, and
			// only picked ones decay the others: drop it now.
			rest = slices.DeleteFunc(rest, func(d Detection) bool { return d.Score <= minScore })
		}
	}
	slices.SortStableFunc(out, byScore)
	return out
}
