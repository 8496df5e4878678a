package darknet

import (
	"math"
	"math/rand/v2"
	"sync"

	"govision.dev/accel"
	"govision.dev/vision/tensor"
)

// The layers without weights, each as darknet's forward_*_layer computes
// it in test mode (src/*_layer.c, pjreddie/darknet 2018).

// noWeights is embedded by the layers without tensors.
type noWeights struct{}

func (noWeights) params() []Param { return nil }
func (noWeights) init(*rand.Rand) {}
func (noWeights) loaded()         {}
func (noWeights) aliases() bool   { return false }
func copyOf(x *tensor.Tensor) *tensor.Tensor {
	y := tensor.Get(x.Shape()...)
	copy(y.Data(), x.Data())
	return y
}

// parallelWork is the work (values touched) below which a layer runs on
// the calling goroutine: about what starting goroutines costs.
const parallelWork = 1 << 15

// parallel calls fn on consecutive ranges covering [0, n), on up to
// accel.Threads() goroutines when n·per values of work make it worth it.
// fn must write disjoint outputs for disjoint ranges.
func parallel(n, per int, fn func(lo, hi int)) {
	t := accel.Threads()
	if t > n {
		t = n
	}
	if t <= 1 || n*per < parallelWork {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for i := 1; i < t; i++ {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(n*i/t, n*(i+1)/t)
	}
	fn(0, n/t)
	wg.Wait()
}

// identityNode is [dropout] and [cost]: the input as is.
type identityNode struct {
	noWeights
	prev int
	s    shape
}

func (l *identityNode) in() []int     { return []int{l.prev} }
func (l *identityNode) out() shape    { return l.s }
func (l *identityNode) aliases() bool { return true }
func (l *identityNode) forward(xs []*tensor.Tensor, nb int) (*tensor.Tensor, error) {
	return xs[0], nil
}

// maxPoolNode is forward_maxpool_layer: output (y, x) is the maximum of
// the input rows y·stride − padding/2 … +size−1 and likewise columns,
// those inside the input; −FLT_MAX if none are. YOLO's 2×2 stride-2
// windows take darknet's comparisons exactly (accel.MaxPool2x2: a NaN is
// skipped); other windows take the maximum along rows and then columns,
// which gives the same value, except that a NaN in them gives NaN (Go's
// max).
type maxPoolNode struct {
	noWeights
	cfg    *MaxPool
	prev   int
	inS, o shape
}

func (l *maxPoolNode) in() []int  { return []int{l.prev} }
func (l *maxPoolNode) out() shape { return l.o }

func (l *maxPoolNode) forward(xs []*tensor.Tensor, nb int) (*tensor.Tensor, error) {
	y := tensor.Get(nb, l.o.c, l.o.h, l.o.w)
	src, dst := xs[0].Data(), y.Data()
	h, w, oh, ow := l.inS.h, l.inS.w, l.o.h, l.o.w
	size, stride, off := l.cfg.Size, l.cfg.Stride, -l.cfg.Padding/2
	planes := nb * l.o.c
	if size == 2 && stride == 2 && off == 0 {
		// YOLO's 2×2/2 pooling: accel's kernel, darknet's comparisons.
		accel.MaxPool2x2(dst, src, nb, l.o.c, h, w, oh, ow)
		return y, nil
	}
	parallel(planes, h*w*size, func(lo, hi int) {
		tmp := make([]float32, h*ow) // row maxima: [h, ow]
		for p := lo; p < hi; p++ {
			in := src[p*h*w : (p+1)*h*w]
			for r := 0; r < h; r++ {
				row, t := in[r*w:(r+1)*w], tmp[r*ow:(r+1)*ow]
				for ox := range t {
					x0 := ox*stride + off
					m := float32(-math.MaxFloat32)
					if size == 2 && x0 >= 0 && x0+1 < w { // the common window, unrolled
						m = max(m, row[x0], row[x0+1])
					} else if lo, hi := max(x0, 0), min(x0+size, w); lo < hi {
						for _, v := range row[lo:hi] {
							m = max(m, v)
						}
					}
					t[ox] = m
				}
			}
			out := dst[p*oh*ow : (p+1)*oh*ow]
			for oy := 0; oy < oh; oy++ {
				y0 := oy*stride + off
				o := out[oy*ow : (oy+1)*ow]
				fill(o, -math.MaxFloat32)
				for r := max(y0, 0); r < min(y0+size, h); r++ {
					t := tmp[r*ow : (r+1)*ow]
					for ox, v := range t {
						o[ox] = max(o[ox], v)
					}
				}
			}
		}
	})
	return y, nil
}

// avgPoolNode is forward_avgpool_layer: each channel's mean, summed in
// float32 in order and divided by h·w, as darknet does.
type avgPoolNode struct {
	noWeights
	prev int
	inS  shape
}

func (l *avgPoolNode) in() []int  { return []int{l.prev} }
func (l *avgPoolNode) out() shape { return shape{c: l.inS.c, h: 1, w: 1} }

func (l *avgPoolNode) forward(xs []*tensor.Tensor, nb int) (*tensor.Tensor, error) {
	y := tensor.Get(nb, l.inS.c, 1, 1)
	plane := l.inS.h * l.inS.w
	src := xs[0].Data()
	for p := range y.Data() {
		var s float32
		for _, v := range src[p*plane : (p+1)*plane] {
			s += v
		}
		y.Data()[p] = s / float32(plane)
	}
	return y, nil
}

// routeNode is forward_route_layer: the layers' outputs one after another,
// per image (a concatenation along the channels).
type routeNode struct {
	noWeights
	layers []int
	o      shape
}

func (l *routeNode) in() []int     { return l.layers }
func (l *routeNode) out() shape    { return l.o }
func (l *routeNode) aliases() bool { return len(l.layers) == 1 }

func (l *routeNode) forward(xs []*tensor.Tensor, nb int) (*tensor.Tensor, error) {
	if len(xs) == 1 {
		return xs[0], nil
	}
	y := tensor.Get(nb, l.o.c, l.o.h, l.o.w)
	d := y.Data()
	// Each goroutine copies a range of the output, from whichever inputs
	// it spans.
	parallel(len(d), 1, func(lo, hi int) {
		at := 0 // where the piece (n, x) starts in d
		for n := 0; n < nb && at < hi; n++ {
			for _, x := range xs {
				per := x.Len() / nb
				if a, b := max(lo, at), min(hi, at+per); a < b {
					copy(d[a:b], x.Data()[n*per+a-at:])
				}
				at += per
			}
		}
	})
	return y, nil
}

// shortcutNode is forward_shortcut_layer: the previous layer's output with
// Alpha·out + Beta·from added where the two overlap (from subsampled or
// spread by the integer ratio of the sizes, as shortcut_cpu does), then
// the activation.
type shortcutNode struct {
	noWeights
	cfg      *Shortcut
	prev     int
	s, fromS shape
}

func (l *shortcutNode) in() []int  { return []int{l.prev, l.cfg.From} }
func (l *shortcutNode) out() shape { return l.s }

func (l *shortcutNode) forward(xs []*tensor.Tensor, nb int) (*tensor.Tensor, error) {
	y := copyOf(xs[0])
	l.update(y, xs, nb)
	return y, nil
}

// update adds into y, the previous layer's output or a copy.
func (l *shortcutNode) update(y *tensor.Tensor, xs []*tensor.Tensor, nb int) {
	out, add := y.Data(), xs[1].Data()
	a, b := l.cfg.Alpha, l.cfg.Beta
	w1, h1, c1 := l.fromS.w, l.fromS.h, l.fromS.c
	w2, h2, c2 := l.s.w, l.s.h, l.s.c
	if w1 == w2 && h1 == h2 && c1 == c2 {
		// YOLOv3's and ResNet's: the same shape, usually α = β = 1
		// (1·x is x exactly, so the sum is darknet's either way).
		parallel(len(out), 1, func(lo, hi int) {
			o, v := out[lo:hi], add[lo:hi]
			if a == 1 && b == 1 {
				for i := range o {
					o[i] += v[i]
				}
			} else {
				for i := range o {
					o[i] = a*o[i] + b*v[i]
				}
			}
			activate(o, l.cfg.Activation)
		})
		return
	}
	stride, sample := max(w1/w2, 1), max(w2/w1, 1)
	for n := 0; n < nb; n++ {
		for k := 0; k < min(c1, c2); k++ {
			for j := 0; j < min(h1, h2); j++ {
				for i := 0; i < min(w1, w2); i++ {
					o := i*sample + w2*(j*sample+h2*(k+c2*n))
					f := i*stride + w1*(j*stride+h1*(k+c1*n))
					out[o] = a*out[o] + b*add[f]
				}
			}
		}
	}
	activate(out, l.cfg.Activation)
}

// upsampleNode is forward_upsample_layer: each value repeated over a
// stride×stride block, times scale; in reverse, each block summed (times
// scale) into one value.
type upsampleNode struct {
	noWeights
	cfg    *Upsample
	prev   int
	inS, o shape
}

func (l *upsampleNode) in() []int  { return []int{l.prev} }
func (l *upsampleNode) out() shape { return l.o }

func (l *upsampleNode) forward(xs []*tensor.Tensor, nb int) (*tensor.Tensor, error) {
	y := tensor.Get(nb, l.o.c, l.o.h, l.o.w)
	src, dst := xs[0].Data(), y.Data()
	s, sc := l.cfg.Stride, l.cfg.Scale
	if l.cfg.Reverse {
		// upsample_cpu(output, out_w, out_h, …, forward=0, scale, input):
		// output += scale·input over the input's first out·stride rows
		// and columns.
		clear(dst)
		ih, iw := l.inS.h, l.inS.w
		for p := 0; p < nb*l.o.c; p++ {
			in, out := src[p*ih*iw:], dst[p*l.o.h*l.o.w:]
			for j := 0; j < l.o.h*s; j++ {
				for i := 0; i < l.o.w*s; i++ {
					out[(j/s)*l.o.w+i/s] += sc * in[j*iw+i]
				}
			}
		}
		return y, nil
	}
	h, w, ow := l.inS.h, l.inS.w, l.o.w
	parallel(nb*l.o.c, l.o.h*ow, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			in, out := src[p*h*w:(p+1)*h*w], dst[p*l.o.h*ow:(p+1)*l.o.h*ow]
			for j := 0; j < l.o.h; j++ {
				row, o := in[(j/s)*w:(j/s+1)*w], out[j*ow:(j+1)*ow]
				for i := range o {
					o[i] = sc * row[i/s]
				}
			}
		}
	})
	return y, nil
}

// reorgNode is forward_reorg_layer, with darknet's reorg_cpu index
// mapping, which is not TensorFlow's space_to_depth: for an input of c
// channels of h×w, out_c = c/stride², and every (k, j, i) of the input's
// shape,
//
//	c2, off := k%out_c, k/out_c
//	w2, h2 := i*stride + off%stride, j*stride + off/stride
//	in  := i + w*(j + h*k)                 // an index in c×h×w
//	big := w2 + w*stride*(h2 + h*stride*c2) // an index in out_c×(h·stride)×(w·stride)
//
// darknet's (non-reverse) reorg sets output[in] = input[big]: it reads its
// input as if it were out_c planes of (h·stride)×(w·stride) — which it is
// not — and writes the result as c·stride² planes of (h/stride)×(w/stride).
// The reverse reorg sets output[big] = input[in].
type reorgNode struct {
	noWeights
	cfg    *Reorg
	prev   int
	inS, o shape
}

func (l *reorgNode) in() []int  { return []int{l.prev} }
func (l *reorgNode) out() shape { return l.o }

func (l *reorgNode) forward(xs []*tensor.Tensor, nb int) (*tensor.Tensor, error) {
	y := tensor.Get(nb, l.o.c, l.o.h, l.o.w)
	src, dst := xs[0].Data(), y.Data()
	s := l.cfg.Stride
	c, h, w := l.inS.c, l.inS.h, l.inS.w
	outC := c / (s * s)
	per := c * h * w
	for n := 0; n < nb; n++ {
		x, o := src[n*per:(n+1)*per], dst[n*per:(n+1)*per]
		for k := 0; k < c; k++ {
			c2, off := k%outC, k/outC
			for j := 0; j < h; j++ {
				h2 := j*s + off/s
				for i := 0; i < w; i++ {
					in := i + w*(j+h*k)
					big := i*s + off%s + w*s*(h2+h*s*c2)
					if l.cfg.Reverse {
						o[big] = x[in]
					} else {
						o[in] = x[big]
					}
				}
			}
		}
	}
	return y, nil
}

// cropNode is forward_crop_layer in test mode: the centre window, no flip,
// mapped by x·2 − 1 (or left as is with noadjust).
type cropNode struct {
	noWeights
	cfg    *Crop
	prev   int
	inS, o shape
}

func (l *cropNode) in() []int  { return []int{l.prev} }
func (l *cropNode) out() shape { return l.o }

func (l *cropNode) forward(xs []*tensor.Tensor, nb int) (*tensor.Tensor, error) {
	y := tensor.Get(nb, l.o.c, l.o.h, l.o.w)
	scale, trans := float32(2), float32(-1)
	if l.cfg.NoAdjust {
		scale, trans = 1, 0
	}
	dh, dw := (l.inS.h-l.o.h)/2, (l.inS.w-l.o.w)/2
	src, dst := xs[0].Data(), y.Data()
	at := 0
	for p := 0; p < nb*l.o.c; p++ {
		for i := 0; i < l.o.h; i++ {
			row := src[(p*l.inS.h+i+dh)*l.inS.w+dw:]
			for j := 0; j < l.o.w; j++ {
				dst[at] = row[j]*scale + trans
				at++
			}
		}
	}
	return y, nil
}

// softmax is darknet's softmax (src/blas.c): n values stride apart, the
// largest subtracted, exp in double, the sum in float.
func softmax(in []float32, n int, temp float32, stride int, out []float32) {
	largest := float32(-math.MaxFloat32)
	for i := 0; i < n; i++ {
		if v := in[i*stride]; v > largest {
			largest = v
		}
	}
	var sum float32
	for i := 0; i < n; i++ {
		e := float32(math.Exp(float64(in[i*stride]/temp - largest/temp)))
		sum += e
		out[i*stride] = e
	}
	for i := 0; i < n; i++ {
		out[i*stride] /= sum
	}
}

// softmaxNode is forward_softmax_layer: a softmax over each of Groups
// equal runs of each image's values (whatever their shape), or over each
// sibling group of a WordTree.
type softmaxNode struct {
	noWeights
	cfg  *Softmax
	prev int
	s    shape
	tree *Tree
}

func (l *softmaxNode) in() []int  { return []int{l.prev} }
func (l *softmaxNode) out() shape { return l.s }

func (l *softmaxNode) forward(xs []*tensor.Tensor, nb int) (*tensor.Tensor, error) {
	y := tensor.Get(nb, l.s.c, l.s.h, l.s.w)
	src, dst := xs[0].Data(), y.Data()
	per := l.s.len()
	t := l.cfg.Temperature
	for n := 0; n < nb; n++ {
		in, out := src[n*per:(n+1)*per], dst[n*per:(n+1)*per]
		if l.tree != nil {
			for g, size := range l.tree.GroupSize {
				off := l.tree.GroupOffset[g]
				softmax(in[off:], size, t, 1, out[off:])
			}
			continue
		}
		size := per / l.cfg.Groups
		for g := 0; g < l.cfg.Groups; g++ {
			softmax(in[g*size:], size, t, 1, out[g*size:])
		}
	}
	return y, nil
}

// yoloNode is forward_yolo_layer: the logistic of x, y, the objectness
// and the class scores of every anchor and cell; w and h stay raw. The
// layout is [N, A·(5+C), H, W]: anchor a's entry e (x, y, w, h, objectness,
// class 0, …) is channel a·(5+C) + e.
type yoloNode struct {
	noWeights
	cfg  *Yolo
	prev int
	s    shape
}

func (l *yoloNode) in() []int  { return []int{l.prev} }
func (l *yoloNode) out() shape { return l.s }

func (l *yoloNode) forward(xs []*tensor.Tensor, nb int) (*tensor.Tensor, error) {
	y := copyOf(xs[0])
	l.update(y, xs, nb)
	return y, nil
}

// update applies the logistic to y, the input or a copy, in parallel
// over its channels.
func (l *yoloNode) update(y *tensor.Tensor, _ []*tensor.Tensor, nb int) {
	d := y.Data()
	hw := l.s.h * l.s.w
	entries := 5 + l.cfg.Classes
	parallel(nb*len(l.cfg.Mask)*entries, hw, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			if e := c % entries; e != 2 && e != 3 { // not w, h
				activate(d[c*hw:(c+1)*hw], Logistic)
			}
		}
	})
}

// regionNode is forward_region_layer: per anchor, the logistic of x, y and
// the objectness (unless background=1), then the class scores: a softmax
// over the classes of each cell (softmax=1), a WordTree softmax over each
// sibling group (tree=), or else the logistic. Layout [N, A·(coords+1+C),
// H, W], like yolo's.
//
// With a tree this is darknet's GPU computation (softmax_tree: each group
// of each anchor and cell, temperature 1). darknet's CPU code for it reads
// the wrong entries with a temperature of 0 (pjreddie/darknet issues #143
// and #144), producing values no decoder can use.
type regionNode struct {
	noWeights
	cfg  *Region
	prev int
	s    shape
	tree *Tree
}

func (l *regionNode) in() []int  { return []int{l.prev} }
func (l *regionNode) out() shape { return l.s }

func (l *regionNode) forward(xs []*tensor.Tensor, nb int) (*tensor.Tensor, error) {
	y := copyOf(xs[0])
	l.update(y, xs, nb)
	return y, nil
}

// update computes the layer in y, the input or a copy, in parallel over
// the anchors.
func (l *regionNode) update(y *tensor.Tensor, _ []*tensor.Tensor, nb int) {
	d := y.Data()
	hw := l.s.h * l.s.w
	r := l.cfg
	entries := r.Coords + 1 + r.Classes
	parallel(nb*r.Num, entries*hw, func(lo, hi int) {
		for a := lo; a < hi; a++ {
			l.anchor(d[a*entries*hw:(a+1)*entries*hw], hw)
		}
	})
}

// anchor computes one anchor's block of entries×hw values.
func (l *regionNode) anchor(blk []float32, hw int) {
	r := l.cfg
	activate(blk[:2*hw], Logistic)
	if !r.Background {
		activate(blk[r.Coords*hw:(r.Coords+1)*hw], Logistic)
	}
	cls := blk[(r.Coords+1)*hw:]
	switch {
	case l.tree != nil:
		for loc := 0; loc < hw; loc++ {
			for g, size := range l.tree.GroupSize {
				at := loc + l.tree.GroupOffset[g]*hw
				softmax(cls[at:], size, 1, hw, cls[at:])
			}
		}
	case r.Softmax:
		start := r.Coords*hw + hw
		n := r.Classes
		if r.Background {
			start, n = r.Coords*hw, r.Classes+1
		}
		for loc := 0; loc < hw; loc++ {
			softmax(blk[start+loc:], n, 1, hw, blk[start+loc:])
		}
	default:
		activate(cls, Logistic)
	}
}

// detectionNode is forward_detection_layer: the input as is, with a
// softmax over each cell's class scores when softmax=1. The layout is
// darknet's flat one, [N, side²·((1+coords)·num + classes), 1, 1] (the
// connected layer's): side² cells × classes scores, then side² × num
// confidences, then side² × num × coords box values.
type detectionNode struct {
	noWeights
	cfg  *Detection
	prev int
	s    shape
}

func (l *detectionNode) in() []int  { return []int{l.prev} }
func (l *detectionNode) out() shape { return l.s }

func (l *detectionNode) forward(xs []*tensor.Tensor, nb int) (*tensor.Tensor, error) {
	y := copyOf(xs[0])
	l.update(y, xs, nb)
	return y, nil
}

// update computes the layer in y, the input or a copy.
func (l *detectionNode) update(y *tensor.Tensor, _ []*tensor.Tensor, nb int) {
	if l.cfg.Softmax {
		d := y.Data()
		per := l.s.len()
		c := l.cfg.Classes
		for n := 0; n < nb; n++ {
			for i := 0; i < l.cfg.Side*l.cfg.Side; i++ {
				at := n*per + i*c
				softmax(d[at:], c, 1, 1, d[at:])
			}
		}
	}
}
