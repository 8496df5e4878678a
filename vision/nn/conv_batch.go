package nn

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"govision.dev/accel"
	"govision.dev/vision/tensor"
)

// Batch-wide lowering, for training. Conv2d.Forward lowers and multiplies
// image by image, which suits inference on large images; training batches
// of small images (LeNet's 32x32, CIFAR's) make that a stream of small
// matrix products. ForwardBatch and BackwardBatch lower a chunk of images
// side by side — the columns of all its images as one [K, m·OH·OW]
// matrix — so that each product is one GEMM with many columns:
//
//	forward:  Y  [OCg, m·P] = W [OCg, K] · cols [K, m·P]
//	weight:   gW [OCg, K]  += gY [OCg, m·P] · colsᵀ
//	input:    gcols [K, m·P] = Wᵀ · gY, scattered back by Col2im
//
// per group and chunk. Chunks run in parallel, one goroutine per thread,
// each with its own scratch; each chunk's weight gradient is a partial of
// its own, and the partials are summed in chunk order, so the results do
// not depend on the thread count. A chunk holds at most batchColsBudget
// column values (at least one image). ForwardBatch can hand its lowered
// columns, all chunks, to BackwardBatch (Lowered) when they total at most
// keepBudget values, so that the weight gradient need not lower the input
// again.

// batchColsBudget bounds a chunk's lowered columns: 128K float32s
// (512 KiB, half this machine's L2), so that the GEMM packs columns the
// lowering has just written while they are still in cache. Chosen from
// cmd/train's BenchmarkStep (LeNet-5, batch 64) at one thread: 2^17 and
// 2^16 took 10–20% less CPU per step than 2^20 or 2^21 (a noisy, shared
// machine: the ranking, not the figures).
const batchColsBudget = 1 << 17

// keepBudget bounds the lowered columns ForwardBatch keeps for the
// backward pass: 4M float32s (16 MiB) per convolution, a few times a
// small network's activations (LeNet-5's C1 at batch 64 lowers 1.25M).
const keepBudget = 1 << 22

// chunkImages returns how many images a chunk holds.
func chunkImages(k, plane, n int) int {
	return max(1, min(n, batchColsBudget/max(k*plane, 1)))
}

// Lowered is the lowered input of a ForwardBatch, kept for BackwardBatch:
// the columns of each group's chunks, group after group. Release gives its
// memory back to the tensor pool.
type Lowered struct {
	cols  []*tensor.Tensor
	n     int
	chunk int
}

// Release gives the columns back to the pool; l must not be used after.
func (l *Lowered) Release() {
	if l != nil {
		for _, c := range l.cols {
			c.Release()
		}
		l.cols = nil
	}
}

// lowerChunk writes the columns of group g of images n0..n1 into cols
// [K, (n1−n0)·P], image i's at column offset (i−n0)·P: row r = (ci·KH +
// ki)·KW + kj holds input (ci, oy·StrideH − PadH + ki·DilationH, ox·StrideW
// − PadW + kj·DilationW), zero outside. Unless serial, rows are filled on
// up to GOMAXPROCS goroutines when the chunk is large.
func (c *Conv2d) lowerChunk(cols, src []float32, g, n0, n1, h, w, oh, ow int, serial bool) {
	cg := c.InC / c.Groups
	kk := c.KH * c.KW
	k := cg * kk
	plane := oh * ow
	m := n1 - n0
	row := func(r int) {
		ci, ki, kj := r/kk, r%kk/c.KW, r%c.KW
		yoff := ki*c.DilationH - c.PadH
		xoff := kj*c.DilationW - c.PadW
		// Output columns whose input column is inside: [xlo, xhi); and
		// output rows whose input row is: [ylo, yhi).
		xlo, xhi := validSpan(ow, w, c.StrideW, xoff)
		ylo, yhi := validSpan(oh, h, c.StrideH, yoff)
		if c.StrideW == 1 && xlo == 0 && xhi == ow && ylo == 0 && yhi == oh {
			// The window covers the whole output plane (no padding in
			// reach): one block per image, every image in one call
			// (LeNet-5's C1, C3 and C5).
			accel.CopyBlocks(cols[r*m*plane:], plane, ow, src[(n0*c.InC+g*cg+ci)*h*w+yoff*w+xoff:], c.InC*h*w, c.StrideH*w, m, oh, ow)
			return
		}
		for i := n0; i < n1; i++ {
			in := src[(i*c.InC+g*cg+ci)*h*w:][:h*w]
			out := cols[r*m*plane+(i-n0)*plane:][:plane]
			if c.StrideW == 1 && xlo < xhi && ylo < yhi {
				// The window inside the input is one block: copied in
				// one call, with its zero margins around it.
				clear(out[:ylo*ow])
				clear(out[yhi*ow:])
				if xlo > 0 || xhi < ow {
					for oy := ylo; oy < yhi; oy++ {
						clear(out[oy*ow : oy*ow+xlo])
						clear(out[oy*ow+xhi : (oy+1)*ow])
					}
				}
				accel.CopyBlocks(out[ylo*ow+xlo:], 0, ow, in[(ylo*c.StrideH+yoff)*w+xlo+xoff:], 0, c.StrideH*w, 1, yhi-ylo, xhi-xlo)
				continue
			}
			for oy := 0; oy < oh; oy++ {
				seg := out[oy*ow : (oy+1)*ow]
				iy := oy*c.StrideH + yoff
				if iy < 0 || iy >= h || xlo >= xhi {
					clear(seg)
					continue
				}
				clear(seg[:xlo])
				clear(seg[xhi:])
				srow := in[iy*w : (iy+1)*w]
				if c.StrideW == 1 {
					copy(seg[xlo:xhi], srow[xlo+xoff:])
					continue
				}
				for ox := xlo; ox < xhi; ox++ {
					seg[ox] = srow[ox*c.StrideW+xoff]
				}
			}
		}
	}
	if serial {
		for r := 0; r < k; r++ {
			row(r)
		}
		return
	}
	parallelRows(k, k*m*plane, row)
}

// validSpan returns the output positions [lo, hi) of an axis whose input
// position o·stride + off lies in [0, in).
func validSpan(out, in, stride, off int) (lo, hi int) {
	lo = 0
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	hi = out
	if last := in - 1 - off; last < 0 {
		hi = 0
	} else {
		hi = min(out, last/stride+1)
	}
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

// parallelSerial is the work (values written) below which parallelRows
// stays on the calling goroutine: some 50 µs of copying, well above what
// starting goroutines costs.
const parallelSerial = 1 << 16

// parallelRows calls fn(r) for every r in [0, n), split in contiguous
// blocks over up to GOMAXPROCS goroutines when work is large. Each r is
// done by one goroutine, so rows written by fn must be disjoint.
func parallelRows(n, work int, fn func(r int)) {
	t := min(runtime.GOMAXPROCS(0), accel.Threads(), n)
	if t <= 1 || work < parallelSerial {
		for r := 0; r < n; r++ {
			fn(r)
		}
		return
	}
	var wg sync.WaitGroup
	for b := 0; b < t; b++ {
		lo, hi := b*n/t, (b+1)*n/t
		wg.Go(func() {
			for r := lo; r < hi; r++ {
				fn(r)
			}
		})
	}
	wg.Wait()
}

// forChunks runs fn(task) for tasks 0..n−1, the chunks of a batch: on one
// goroutine per thread (accel.Threads, at most GOMAXPROCS) taking tasks in
// turn when there are several chunks and enough work (values lowered),
// with serial set so that fn does not split its own work again; otherwise
// in order on the caller, with serial false. Tasks must write disjoint
// memory.
func forChunks(n, work int, fn func(task int, serial bool)) {
	t := min(runtime.GOMAXPROCS(0), accel.Threads(), n)
	if t <= 1 || work < parallelSerial {
		for task := 0; task < n; task++ {
			fn(task, false)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range t {
		wg.Go(func() {
			for {
				task := int(next.Add(1) - 1)
				if task >= n {
					return
				}
				fn(task, true)
			}
		})
	}
	wg.Wait()
}

func (c *Conv2d) batchShape(layer string, x *tensor.Tensor) (n, h, w, oh, ow int, err error) {
	n, _, h, w, err = nchw(layer, x, c.InC)
	if err != nil {
		return
	}
	oh, ow = c.params(n, h, w).OutSize()
	if h < 1 || w < 1 || oh < 1 || ow < 1 {
		err = fmt.Errorf("%w: %s: input %v too small for a %dx%d kernel (dilation %d,%d, padding %d,%d)",
			ErrShape, layer, x.Shape(), c.KH, c.KW, c.DilationH, c.DilationW, c.PadH, c.PadW)
	}
	return
}

// ForwardBatch is Forward computed with the batch-wide lowering (see
// above): the same convolution, its sums in another order, so equal to
// Forward's up to float32 rounding. With keep, it also returns the
// lowered input for BackwardBatch when it is at most keepBudget values
// (else nil).
// It is safe for concurrent use.
func (c *Conv2d) ForwardBatch(x *tensor.Tensor, keep bool) (*tensor.Tensor, *Lowered, error) {
	n, h, w, oh, ow, err := c.batchShape("Conv2d", x)
	if err != nil {
		return nil, nil, err
	}
	cg, ocg := c.InC/c.Groups, c.OutC/c.Groups
	k, plane := cg*c.KH*c.KW, oh*ow
	chunk := chunkImages(k, plane, n)
	nch := (n + chunk - 1) / chunk
	var low *Lowered
	if keep && k*n*plane*c.Groups <= keepBudget {
		low = &Lowered{n: n, chunk: chunk, cols: make([]*tensor.Tensor, nch*c.Groups)}
	}
	y := tensor.Get(n, c.OutC, oh, ow)
	src, dst, weight := x.Data(), y.Data(), c.Weight.Data()
	forChunks(c.Groups*nch, k*n*plane, func(task int, serial bool) {
		g, n0 := task/nch, task%nch*chunk
		n1 := min(n, n0+chunk)
		m := n1 - n0
		colsT := tensor.Get(k * m * plane)
		if low != nil {
			low.cols[task] = colsT
		} else {
			defer colsT.Release()
		}
		prodT := tensor.Get(ocg * m * plane)
		defer prodT.Release()
		cols, prod := colsT.Data(), prodT.Data()
		c.lowerChunk(cols, src, g, n0, n1, h, w, oh, ow, serial)
		// The bias goes in first, for the GEMM to add its sums to (beta
		// 1), rather than in a pass of its own afterwards. When the depth
		// fits one of Sgemm's depth blocks (256; LeNet-5's C1 and C3) the
		// rounding is the same, sum plus bias rounded once; deeper, the
		// bias joins the first block's sum.
		var beta float32
		if c.Bias != nil {
			for o := 0; o < ocg; o++ {
				fill(prod[o*m*plane:(o+1)*m*plane], c.Bias.Data()[g*ocg+o])
			}
			beta = 1
		}
		accel.Sgemm(false, false, ocg, m*plane, k, 1, weight[g*ocg*k:], k, cols, m*plane, beta, prod, m*plane)
		// Row o of the product holds channel o of the chunk's images, one
		// plane after another: one block copy spreads them into the
		// output.
		for o := 0; o < ocg; o++ {
			accel.CopyBlocks(dst[(n0*c.OutC+g*ocg+o)*plane:], c.OutC*plane, plane, prod[o*m*plane:], plane, plane, m, 1, plane)
		}
	})
	return y, low, nil
}

// BackwardBatch is Backward computed with the batch-wide lowering; its
// results equal Backward's up to float32 rounding. low, if not nil, is
// ForwardBatch's lowering of this x (it is used, not released).
func (c *Conv2d) BackwardBatch(x, gy *tensor.Tensor, want Grads, low *Lowered) (gx, gw, gb *tensor.Tensor, err error) {
	n, h, w, oh, ow, err := c.batchShape("Conv2d", x)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := checkGrad("Conv2d", gy, []int{n, c.OutC, oh, ow}); err != nil {
		return nil, nil, nil, err
	}
	cg, ocg := c.InC/c.Groups, c.OutC/c.Groups
	k, plane := cg*c.KH*c.KW, oh*ow
	chunk := chunkImages(k, plane, n)
	dy, weight := gy.Data(), c.Weight.Data()
	if want.Params {
		gw = tensor.New(c.Weight.Shape()...)
		if c.Bias != nil {
			gb = tensor.New(c.OutC)
			biasGrad(gb.Data(), dy, n, c.OutC, plane)
		}
	}
	if want.Input {
		gx = tensor.New(n, c.InC, h, w)
	}
	if !want.Params && !want.Input {
		return nil, nil, nil, nil
	}
	nch := (n + chunk - 1) / chunk
	if low != nil && (low.n != n || low.chunk != chunk || len(low.cols) != nch*c.Groups) {
		low = nil
	}
	direct := c.KH == 1 && c.KW == 1 && c.StrideH == 1 && c.StrideW == 1 && c.PadH == 0 && c.PadW == 0
	p := c.params(n, h, w)
	// Each chunk's weight gradient goes to its own partial, summed in
	// chunk order afterwards: the same sums whatever ran where.
	var partials []float32
	if want.Params {
		partials = make([]float32, c.Groups*nch*ocg*k)
	}
	forChunks(c.Groups*nch, k*n*plane, func(task int, serial bool) {
		g, n0 := task/nch, task%nch*chunk
		n1 := min(n, n0+chunk)
		m := n1 - n0
		gyT := tensor.Get(ocg * m * plane)
		defer gyT.Release()
		gcols := gyT.Data()
		// gY of the chunk as [OCg, m·P].
		for o := 0; o < ocg; o++ {
			for i := n0; i < n1; i++ {
				copy(gcols[o*m*plane+(i-n0)*plane:][:plane], dy[(i*c.OutC+g*ocg+o)*plane:])
			}
		}
		var colsT *tensor.Tensor
		if low == nil || want.Input {
			colsT = tensor.Get(k * m * plane)
			defer colsT.Release()
		}
		if want.Params {
			var cols []float32
			if low != nil {
				cols = low.cols[task].Data()
			} else {
				cols = colsT.Data()
				c.lowerChunk(cols, x.Data(), g, n0, n1, h, w, oh, ow, serial)
			}
			accel.Sgemm(false, true, ocg, k, m*plane, 1, gcols, m*plane, cols, m*plane, 0, partials[task*ocg*k:(task+1)*ocg*k], k)
		}
		if !want.Input {
			return
		}
		// The columns' gradient, scattered back into the chunk's images.
		cols := colsT.Data()
		accel.Sgemm(true, false, k, m*plane, ocg, 1, weight[g*ocg*k:], k, gcols, m*plane, 0, cols, m*plane)
		if !direct {
			accel.Col2imBatch(gx.Data()[(n0*c.InC+g*cg)*h*w:], c.InC*h*w, cols, m*plane, m, p)
			return
		}
		scatter := func(j int) {
			i := n0 + j
			dst := gx.Data()[(i*c.InC+g*cg)*h*w:][:cg*h*w]
			for r := 0; r < k; r++ {
				copy(dst[r*plane:(r+1)*plane], cols[r*m*plane+j*plane:])
			}
		}
		if serial {
			for j := 0; j < m; j++ {
				scatter(j)
			}
		} else {
			parallelRows(m, k*m*plane, scatter)
		}
	})
	if want.Params {
		for task := 0; task < c.Groups*nch; task++ {
			g := task / nch
			dst := gw.Data()[g*ocg*k : (g+1)*ocg*k]
			for j, v := range partials[task*ocg*k : (task+1)*ocg*k] {
				dst[j] += v
			}
		}
	}
	return gx, gw, gb, nil
}

// fill sets every element of s to v: one store, then copies that double
// the filled stretch (memmove's speed rather than a store per element).
func fill(s []float32, v float32) {
	if len(s) == 0 {
		return
	}
	s[0] = v
	for i := 1; i < len(s); i *= 2 {
		copy(s[i:], s[:i])
	}
}
