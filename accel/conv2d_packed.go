package accel

import "fmt"

// PackedConv is a convolution's weights packed once into the layout the
// GEMM micro-kernel reads (MR-row panels of each KC-deep block, see
// packPanelsA), for a model whose weights do not change between calls.
// Conv2D repacks the weights on every call: a read and a write of every
// weight, which for the late, small-image layers of a network costs about
// as much as the multiplication (14% of resnet50 at one thread), and
// which libraries built for inference (oneDNN, ONNX Runtime's MLAS) avoid
// the same way, by reordering weights ahead of time.
//
// It holds the weights slice it was made from (not a copy) and a packed
// copy of the same size, rounded up to whole panels; a 3x3 convolution
// also packs Winograd's transformed weights (16/9 of the size) on the
// first call that takes that path. The packed copy is
// a snapshot: after the weights change, pack them again. A PackedConv is
// safe for concurrent use.
type PackedConv struct {
	weight                  []float32
	outC, c, kh, kw, groups int
	groupsPacked            *packedGroups // nil: the path packs nothing (depthwise)
	wino                    winoCache     // the Winograd path's weights, packed on first use
}

// packedGroups is a convolution's weights packed per group for one
// micro-kernel.
type packedGroups struct {
	kern  string // the micro-kernel the panels were packed for
	data  []float32
	elems int // the packed length of one group
}

// group returns group g's packed weights, or nil when there are none or
// they were packed for another micro-kernel than the current one.
func (pg *packedGroups) group(g int) []float32 {
	if pg == nil || pg.kern != gemm.name {
		return nil
	}
	return pg.data[g*pg.elems : (g+1)*pg.elems]
}

// PackConv packs weight [OutC, C/Groups, KH, KW] for the convolutions of
// p's channels, kernel and groups (p's N, H, W, strides, padding and
// dilation do not matter: one PackedConv serves every input size). A
// depthwise convolution, which Conv2D runs directly rather than as a
// GEMM, keeps only the slice. It panics as Conv2D does on a bad shape or
// a short weight slice.
func PackConv(weight []float32, p ConvParams) *PackedConv {
	// Only the weights' shape matters here: check it on a stand-in input
	// the kernel fits.
	q := p.withDefaults()
	q.N, q.H, q.W = 1, max(1, (q.KH-1)*q.DilationH+1), max(1, (q.KW-1)*q.DilationW+1)
	q, _, _ = q.check("PackConv", true)
	cg := q.C / q.Groups
	k := cg * q.KH * q.KW
	checkConvLen("PackConv", "weight", weight, q.OutC*k,
		fmt.Sprintf("OutC=%d C/Groups=%d KH=%d KW=%d", q.OutC, cg, q.KH, q.KW))
	w := &PackedConv{weight: weight[:q.OutC*k], outC: q.OutC, c: q.C, kh: q.KH, kw: q.KW, groups: q.Groups}
	if cg == 1 && q.Groups == q.C && (q.C > 1 || q.OutC == 1) {
		return w // Conv2D's depthwise kernels read the weights as they are
	}
	kern, ocg := gemm, q.OutC/q.Groups
	pg := &packedGroups{kern: kern.name, elems: packedALen(kern, ocg, k)}
	pg.data = make([]float32, q.Groups*pg.elems)
	parallelFor(q.Groups, func(g int) {
		packPanelsA(kern, ocg, k, weight[g*ocg*k:], k, pg.data[g*pg.elems:(g+1)*pg.elems])
	})
	w.groupsPacked = pg
	return w
}

// Packed reports whether w holds a packed copy of the weights (false for
// a depthwise convolution, which reads them as they are).
func (w *PackedConv) Packed() bool { return w.groupsPacked != nil }

// Of reports whether w was packed from weight itself: the same slice (a
// layer whose weights were replaced must not run on the old packing). It
// compares where the slices start and their lengths, not their values; a
// nil w is packed from nothing.
func (w *PackedConv) Of(weight []float32) bool {
	return w != nil && len(weight) > 0 && len(w.weight) == len(weight) && &w.weight[0] == &weight[0]
}

// Conv2D is accel.Conv2D with w's weights: the same result, bit for bit,
// without repacking them. p's channels, kernel and groups must be those
// w was packed for; otherwise it panics (see the package doc).
func (w *PackedConv) Conv2D(dst, src []float32, p ConvParams, ep *Epilogue) {
	q := p.withDefaults()
	if q.OutC != w.outC || q.C != w.c || q.KH != w.kh || q.KW != w.kw || q.Groups != w.groups {
		panic(fmt.Sprintf("accel: PackedConv.Conv2D: params C=%d OutC=%d %dx%d Groups=%d, packed for C=%d OutC=%d %dx%d Groups=%d",
			q.C, q.OutC, q.KH, q.KW, q.Groups, w.c, w.outC, w.kh, w.kw, w.groups))
	}
	conv2D("PackedConv.Conv2D", dst, src, w.weight, w.groupsPacked, &w.wino, p, ep)
}
