package accel

import (
	"fmt"
	"sync"
)

// Sgemm computes C = alpha·op(A)·op(B) + beta·C on row-major matrices, with
// BLAS semantics:
//
//	for i := 0; i < m; i++ {
//		for j := 0; j < n; j++ {
//			var s float32
//			for p := 0; p < k; p++ {
//				s += opA(i, p) * opB(p, j)
//			}
//			c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
//		}
//	}
//
// where opA(i, p) is a[i*lda+p], or a[p*lda+i] when transA, so op(A) is m×k;
// and opB(p, j) is b[p*ldb+j], or b[j*ldb+p] when transB, so op(B) is k×n.
// When beta is 0, C is not read (NaNs in it do not propagate). C must not
// alias A or B. The summation order over p is fixed by the shape alone
// (blocks of gemmKC, each summed in order; for a deep A·Bᵀ over a small C,
// sixteen interleaved partial sums added as a tree, see sgemm_dot.go), so
// the result does not depend on the thread count.
//
// It panics if a dimension is negative, a leading dimension is smaller than
// its row, or a slice is too short (see the package doc).
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	if m*n*k <= gemmSmall {
		sgemmSmall(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if useDot(transA, transB, m, n, k) {
		// Deep dot products: A·Bᵀ over a small C (sgemm_dot.go).
		sgemmDot(dotKernel, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if m <= skinnyMaxM {
		// A few rows of C (sgemm_skinny.go).
		sgemmSkinny(skinnyKernel(m), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	packer := matrixPacker(transB, b, ldb)
	if transB {
		packer = transPacker(b, ldb)
	}
	sgemmPacked(gemm, transA, m, n, k, alpha, a, lda, packer, beta, c, ldc, nil, nil)
}

// tileFunc is an epilogue run on a finished block of C: rows i..i+h,
// columns j..j+w. sgemmPacked calls it once per micro-tile, right after the
// tile's last depth block is written (and its rowEpilogue run), while the
// tile is still in L1; calls for different tiles may run concurrently.
type tileFunc func(i, h, j, w int)

func checkGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("accel: Sgemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMatrix("a", a, ar, ac, lda)
	checkMatrix("b", b, br, bc, ldb)
	checkMatrix("c", c, m, n, ldc)
}

// checkMatrix panics unless s holds a rows×cols row-major matrix with
// leading dimension ld.
func checkMatrix(name string, s []float32, rows, cols, ld int) {
	if ld < max(cols, 1) {
		panic(fmt.Sprintf("accel: Sgemm: ld%s = %d, less than its %d columns", name, ld, cols))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if need := (rows-1)*ld + cols; len(s) < need {
		panic(fmt.Sprintf("accel: Sgemm: len(%s) = %d, need at least %d for %d×%d ld%s=%d", name, len(s), need, rows, cols, name, ld))
	}
}

// scaleC sets C = beta·C (C = 0 when beta is 0, whatever C held).
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		if beta != 1 {
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// gemmSmall is the size m·n·k at or below which Sgemm skips packing, whose
// set-up costs more than the product at these sizes. It is an estimate, not
// a measured crossover: BenchmarkSgemmSmall straddles it (N=16 takes the
// unpacked loop, N=20 the packed path) for whoever tunes it.
const gemmSmall = 16 * 16 * 16

// sgemmSmall is the unpacked path for tiny products: for each output row,
// axpy the rows of op(B) into a row accumulator.
func sgemmSmall(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	var buf [gemmSmall]float32
	acc := buf[:n]
	if n > len(buf) {
		acc = make([]float32, n)
	}
	for i := 0; i < m; i++ {
		clear(acc)
		for p := 0; p < k; p++ {
			var av float32
			if transA {
				av = a[p*lda+i]
			} else {
				av = a[i*lda+p]
			}
			if transB {
				for j := range acc {
					acc[j] += av * b[j*ldb+p]
				}
			} else {
				brow := b[p*ldb : p*ldb+n]
				for j, bv := range brow {
					acc[j] += av * bv
				}
			}
		}
		row := c[i*ldc : i*ldc+n]
		for j, s := range acc {
			if beta == 0 {
				row[j] = alpha * s
			} else {
				row[j] = alpha*s + beta*row[j]
			}
		}
	}
}

// Cache blocking (Goto & van de Geijn, "Anatomy of high-performance matrix
// multiplication", 2008, §6; the BLIS loop order), derived from the cache
// sizes of the machines govision is tuned on: 48 KiB L1d and at least
// 1 MiB L2 per core (the CI machine has 2 MiB).
const (
	l1Bytes = 48 << 10
	l2Bytes = 1 << 20

	// gemmMaxNR is the widest micro-kernel's NR (AVX-512: 32 floats).
	gemmMaxNR = 32

	// gemmKC is the depth of a packed block. A kc×NR micro-panel of B stays
	// in L1 while the micro-kernel sweeps the MR-row panels of A past it, so
	// it takes two thirds of L1 (256·32·4 B = 32 KiB), leaving the rest for
	// the A panel and the C tile streaming through. Deeper blocks also mean
	// fewer passes over C. BenchmarkSgemm chose 256 over 192 and 320.
	gemmKC = l1Bytes * 2 / 3 / (gemmMaxNR * 4)
	// gemmMC bounds the rows of A one task keeps in L2 while it sweeps the
	// B panels: an mc×kc block of half of L2 (512·256·4 B = 512 KiB), so
	// the B panel's lines and C survive beside it.
	gemmMC = l2Bytes / 2 / (gemmKC * 4)
	// gemmNC is the columns of a packed B panel, kept in the shared L3:
	// 4096·256·4 B = 4 MiB.
	gemmNC = 4096
)

// gemmKernel is a register-blocked micro-kernel: it multiplies a packed
// mr×k panel of A by a packed k×nr panel of B.
type gemmKernel struct {
	name   string
	mr, nr int
	// tile computes, for a full mr×nr tile,
	//	c[i*ldc+j] = alpha·Σ_p a[p*mr+i]·b[p*nr+j] + beta·c[i*ldc+j]
	// with c not read when beta is 0, then runs ep on it (nil: nothing).
	// k ≥ 1.
	tile func(k int, a, b, c []float32, ldc int, alpha, beta float32, ep *tileEpilogue)
	// direct, if not nil, is tile with B read in place: rows p0..p0+k of
	// d, columns j..j+nr (see directB).
	direct func(k int, a []float32, d *directB, j, p0 int, c []float32, ldc int, alpha, beta float32, ep *tileEpilogue)
}

// Flags of a micro-kernel call; internal/asmgen emits the same values.
const (
	tileLoadC   = 1 << iota // add beta·C (else C is not read)
	tileAffine              // y = y·scale[i] + shift[i] for row i of the tile
	tileClampLo             // y = max(y, lo)
	tileClampHi             // y = min(y, hi)
	tileLeaky               // y = max(y, slope·y), slope in [0, 1]
)

// directB is a B that a kernel's direct variant reads in place: row p
// of B is base[offs[p]:], so that B[p][j] = base[offs[p]+j]. A kernel
// reads whole nr-wide tiles, so base holds at least maxOff plus n rounded
// up to a multiple of nr floats (newDirectB checks).
type directB struct {
	base   []float32
	offs   []int
	maxOff int
}

// newDirectB returns the in-place B of n columns with rows at offs in
// base, panicking if a row's last read would fall outside base.
func newDirectB(base []float32, offs []int, n, nr int) *directB {
	d := &directB{base: base, offs: offs}
	for _, o := range offs {
		if o < 0 {
			panic("accel: directB: negative row offset")
		}
		d.maxOff = max(d.maxOff, o)
	}
	if d.maxOff+roundUp(n, nr) > len(base) {
		panic(fmt.Sprintf("accel: directB: rows up to offset %d, %d columns read in %d-wide tiles, need %d floats, have %d",
			d.maxOff, n, nr, d.maxOff+roundUp(n, nr), len(base)))
	}
	return d
}

// gemmMaxMR bounds mr over every micro-kernel.
const gemmMaxMR = 8

// tileEpilogue is what a micro-kernel does to its finished tile, in the
// layout the assembly reads: v[0:mr] the rows' scales, v[mr:2mr] their
// shifts, v[2mr] lo, v[2mr+1] hi and v[2mr+2] the leaky slope; flags say
// which steps run.
type tileEpilogue struct {
	flags int
	v     [2*gemmMaxMR + 3]float32
}

// apply runs the epilogue on an h×w block of c whose rows are the tile's
// rows 0..h-1 (the Go kernel's and edge tiles' form of what the assembly
// does in registers).
func (e *tileEpilogue) apply(c []float32, ldc, mr, h, w int) {
	for r := 0; r < h; r++ {
		row := c[r*ldc : r*ldc+w]
		if e.flags&tileAffine != 0 {
			s, t := e.v[r], e.v[mr+r]
			for j, y := range row {
				row[j] = y*s + t
			}
		}
		if e.flags&tileClampLo != 0 {
			lo := e.v[2*mr]
			for j, y := range row {
				row[j] = max(y, lo)
			}
		}
		if e.flags&tileClampHi != 0 {
			hi := e.v[2*mr+1]
			for j, y := range row {
				row[j] = min(y, hi)
			}
		}
		if e.flags&tileLeaky != 0 {
			slope := e.v[2*mr+2]
			for j, y := range row {
				row[j] = max(y, slope*y)
			}
		}
	}
}

// rowEpilogue is an epilogue fused into the micro-kernel, on whole rows of
// C, run once a tile's last depth block is in:
//
//	y = c[i*ldc+j]
//	if scale != nil { y = y·scale[i] + shift[i] }
//	if clampLo { y = max(y, lo) }
//	if clampHi { y = min(y, hi) }
//	if leaky { y = max(y, slope·y) }
//
// Conv2D passes a folded batch norm (with the bias in shift) and ReLU,
// ReLU6 or leaky ReLU this way. NaN propagates through every step.
type rowEpilogue struct {
	scale, shift     []float32 // per row of C, both nil or both set
	lo, hi           float32
	clampLo, clampHi bool
	leaky            bool
	slope            float32 // in [0, 1]
}

// tile fills e with the epilogue of rows i..i+h of C for a kernel of mr rows.
func (r *rowEpilogue) tile(e *tileEpilogue, i, h, mr int) {
	e.flags = 0
	if r.scale != nil {
		e.flags |= tileAffine
		copy(e.v[:h], r.scale[i:i+h])
		copy(e.v[mr:mr+h], r.shift[i:i+h])
	}
	if r.clampLo {
		e.flags |= tileClampLo
		e.v[2*mr] = r.lo
	}
	if r.clampHi {
		e.flags |= tileClampHi
		e.v[2*mr+1] = r.hi
	}
	if r.leaky {
		e.flags |= tileLeaky
		e.v[2*mr+2] = r.slope
	}
}

// gemm is the micro-kernel Sgemm uses, chosen at start-up (sgemm_amd64.go).
var gemm = gemmGo

// buffers for packed panels, reused across calls.
var packPool sync.Pool

func getBuf(n int) *[]float32 {
	if p, ok := packPool.Get().(*[]float32); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	s := make([]float32, n, n+n/4)
	return &s
}

func putBuf(p *[]float32) { packPool.Put(p) }

// panelPacker fills dst with the NR-column panels of op(B) for rows
// p0..p0+kc and columns j0..j0+w, as packB lays them out. It lets a caller
// whose B is implicit (a convolution's lowered image) pack it straight from
// its source, skipping the intermediate matrix. Calls for different column
// ranges run concurrently.
type panelPacker func(p0, kc, j0, w, nr int, dst []float32)

// matrixPacker packs from a row-major matrix b (transposed when trans).
func matrixPacker(trans bool, b []float32, ldb int) panelPacker {
	return func(p0, kc, j0, w, nr int, dst []float32) {
		packB(trans, b, ldb, p0, kc, j0, w, nr, dst)
	}
}

// sgemmPacked is the blocked, packed, parallel Sgemm with micro-kernel kern,
// taking op(B) through packB.
//
// Loops, outermost first: jc over NC-column panels of C; pc over KC-deep
// blocks (B's kc×nc panel packed once, shared by every task); A's m×kc block
// packed once; then tasks over (MC-row block, column chunk) tiles of C run on
// the pool, each sweeping NR-column micro-panels of B (held in L1) across
// MR-row panels of A (held in L2). Only whole pc blocks are summed into C, in
// order, so every element sees the same sequence of additions whatever the
// thread count.
func sgemmPacked(kern gemmKernel, transA bool, m, n, k int, alpha float32, a []float32, lda int, packB panelPacker, beta float32, c []float32, ldc int, rep *rowEpilogue, post tileFunc) {
	sgemmBlocked(kern, transA, m, n, k, alpha, a, lda, nil, packB, nil, beta, c, ldc, rep, post)
}

// sgemmBlocked is sgemmPacked, with A's panels read from aPacked when it is
// not nil: A packed once, in advance, by packPanelsA with the same kernel,
// so that a convolution's weights are not repacked on every call.
//
// direct, when not nil, replaces packB: B is read in place by the
// kernel's direct variant (kern.direct must exist), nothing is packed.
func sgemmBlocked(kern gemmKernel, transA bool, m, n, k int, alpha float32, a []float32, lda int, aPacked []float32, packB panelPacker, direct *directB, beta float32, c []float32, ldc int, rep *rowEpilogue, post tileFunc) {
	mr, nr := kern.mr, kern.nr
	mPanels := (m + mr - 1) / mr
	kc0 := min(k, gemmKC)
	nc0 := min(roundUp(n, nr), gemmNC)
	var ap []float32
	if aPacked == nil {
		bufA := getBuf(mPanels * mr * kc0)
		defer putBuf(bufA)
		ap = *bufA
	}
	// With A packed in advance and a small B (a late layer's few
	// columns), all of B is packed at once, every depth block, so that the
	// tasks then need nothing from one another (see below).
	wholeB := aPacked != nil && direct == nil && k*roundUp(n, nr) <= wholeBMax
	// With A packed in advance and B read in place, or packed by each
	// task for itself into its own small buffer (one row block), no two
	// tasks share anything: then all n columns are one grid, handed to
	// the pool once. Blocks of gemmNC columns would hand it work once per
	// block: YOLOv3-tiny's first layer (16 rows, 173056 columns, 27 deep)
	// is 43 blocks, and took twice as long at one thread and no less at
	// two (BenchmarkPackedConv2DWide).
	ownB := aPacked != nil && direct == nil && !wholeB &&
		newGemmGrid(m, (n+nr-1)/nr, mr, nr, Threads()).mBlocks == 1
	step := gemmNC
	if ownB || aPacked != nil && direct != nil {
		step = n
	}
	var bp []float32
	if direct == nil && !ownB {
		size := nc0 * kc0
		if wholeB {
			size = k * roundUp(n, nr)
		}
		bufB := getBuf(size)
		defer putBuf(bufB)
		bp = *bufB
	}

	for jc := 0; jc < n; jc += step {
		nc := min(n-jc, step)
		nPanels := (nc + nr - 1) / nr
		g := newGemmGrid(m, nPanels, mr, nr, Threads())
		// With one row block, every B panel serves one task only: that
		// task packs packBGroup panels at a time just before using them,
		// while they stay in L2, each task in its own part of bp (chunk
		// p0's panels from p0·NR·kc0 on). Otherwise the tasks of a column
		// chunk share its panels, packed first: panel jp of the block at
		// depth pc at jp·NR·kc, or with the whole of B packed, at
		// pc·nPanels·NR + jp·NR·kc.
		if maxP := gemmNC / nr; g.perChunk > maxP {
			// One grid over all columns: chunks of at most gemmNC
			// columns still, so that a task's part of C stays in cache
			// from one depth block to the next.
			g.perChunk = maxP
			g.chunks = (nPanels + maxP - 1) / maxP
		}
		packOwn := ownB || g.mBlocks == 1 && direct == nil && !wholeB
		panelAt := func(p0, jp, pc, kc int) int {
			switch {
			case ownB:
				return (jp - p0) % packBGroup * nr * kc
			case packOwn:
				return p0*nr*kc0 + (jp-p0)*nr*kc
			case wholeB:
				return pc*nPanels*nr + jp*nr*kc
			}
			return jp * nr * kc
		}
		// packPanels packs panels jp0..jp1 of depth block pc into bp from at.
		packPanels := func(bp []float32, pc, kc, at, jp0, jp1 int) {
			packB(pc, kc, jc+jp0*nr, min(jp1*nr, nc)-jp0*nr, nr, bp[at:at+(jp1-jp0)*nr*kc])
		}
		// task computes grid task t's part of C (its rows, its column
		// chunk) for the depth block pc, whose A panels are ap.
		task := func(t, pc int, ap []float32) {
			bp := bp
			if ownB {
				own := getBuf(packBGroup * nr * kc0)
				defer putBuf(own)
				bp = *own
			}
			kc := min(k-pc, gemmKC)
			betaBlock := beta
			if pc > 0 {
				betaBlock = 1
			}
			last := pc+kc == k
			ib, cb := t/g.chunks, t%g.chunks
			i0, i1 := ib*g.mc, min(m, (ib+1)*g.mc)
			p0, p1 := cb*g.perChunk, min(nPanels, (cb+1)*g.perChunk)
			var edge [gemmMaxTile]float32
			var ep tileEpilogue
			for jp := p0; jp < p1; jp++ {
				if packOwn && (jp-p0)%packBGroup == 0 {
					packPanels(bp, pc, kc, panelAt(p0, jp, pc, kc), jp, min(p1, jp+packBGroup))
				}
				j := jc + jp*nr
				w := min(nr, jc+nc-j)
				var bpan []float32
				if direct == nil {
					at := panelAt(p0, jp, pc, kc)
					bpan = bp[at : at+nr*kc]
				}
				// tile runs the kernel on the A panel at row i into
				// c (leading dimension ld).
				tile := func(apan, c []float32, ld int, alpha, beta float32, tep *tileEpilogue) {
					if direct != nil {
						kern.direct(kc, apan, direct, j, pc, c, ld, alpha, beta, tep)
					} else {
						kern.tile(kc, apan, bpan, c, ld, alpha, beta, tep)
					}
				}
				for i := i0; i < i1; i += mr {
					h := min(mr, m-i)
					apan := ap[(i/mr)*mr*kc : (i/mr+1)*mr*kc]
					var tep *tileEpilogue
					if last && rep != nil {
						rep.tile(&ep, i, h, mr)
						tep = &ep
					}
					if h == mr && w == nr {
						tile(apan, c[i*ldc+j:], ldc, alpha, betaBlock, tep)
					} else {
						// Edge tile: compute the whole tile into a
						// scratch block, then merge the part inside C.
						tmp := edge[:mr*nr]
						tile(apan, tmp, nr, 1, 0, nil)
						for r := 0; r < h; r++ {
							crow := c[(i+r)*ldc+j : (i+r)*ldc+j+w]
							trow := tmp[r*nr : r*nr+w]
							if betaBlock == 0 {
								for q, v := range trow {
									crow[q] = alpha * v
								}
							} else {
								for q, v := range trow {
									crow[q] = alpha*v + betaBlock*crow[q]
								}
							}
						}
						if tep != nil {
							tep.apply(c[i*ldc+j:], ldc, mr, h, w)
						}
					}
					if last && post != nil {
						post(i, h, j, w)
					}
				}
			}
		}
		// With A packed in advance and B packed per task or not at all,
		// the tasks need nothing from one another between depth blocks:
		// then each sweeps every block in order, and the pool is handed
		// work once per product rather than once per block (the products
		// of late, small layers, tens of microseconds a block, did not
		// gain from a second thread while a worker woke up for each).
		if wholeB {
			bGroups := (nPanels + packBGroup - 1) / packBGroup
			blocks := (k + gemmKC - 1) / gemmKC
			parallelFor(blocks*bGroups, func(t int) {
				pc, jp0 := t/bGroups*gemmKC, t%bGroups*packBGroup
				jp1 := min(nPanels, jp0+packBGroup)
				kc := min(k-pc, gemmKC)
				packPanels(bp, pc, kc, panelAt(0, jp0, pc, kc), jp0, jp1)
			})
		}
		if aPacked != nil && (direct != nil || packOwn || wholeB) {
			parallelFor(g.mBlocks*g.chunks, func(t int) {
				for pc := 0; pc < k; pc += gemmKC {
					task(t, pc, aPacked[mPanels*mr*pc:mPanels*mr*(pc+min(k-pc, gemmKC))])
				}
			})
			continue
		}
		for pc := 0; pc < k; pc += gemmKC {
			kc := min(k-pc, gemmKC)
			if !packOwn && direct == nil {
				bGroups := (nPanels + packBGroup - 1) / packBGroup
				parallelFor(bGroups, func(t int) {
					jp0, jp1 := t*packBGroup, min(nPanels, (t+1)*packBGroup)
					packPanels(bp, pc, kc, panelAt(0, jp0, pc, kc), jp0, jp1)
				})
			}
			apBlock := ap
			if aPacked != nil {
				apBlock = aPacked[mPanels*mr*pc : mPanels*mr*(pc+kc)]
			} else {
				parallelFor(mPanels, func(t int) {
					packA(transA, a, lda, t*mr, min(mr, m-t*mr), pc, kc, mr, ap[t*mr*kc:(t+1)*mr*kc])
				})
			}
			parallelFor(g.mBlocks*g.chunks, func(t int) { task(t, pc, apBlock) })
		}
	}
}

// packPanelsA packs the row-major m×k matrix a (leading dimension lda)
// whole, for sgemmBlocked's aPacked: for each KC-deep block pc, the
// ⌈m/MR⌉ panels packA writes, one after another,
//
//	dst[⌈m/MR⌉·MR·pc + t·MR·kc + p·MR + r] = a[(t·MR+r)·lda + pc+p]
//
// (zero for rows past m), which is where sgemmBlocked looks for them.
func packPanelsA(kern gemmKernel, m, k int, a []float32, lda int, dst []float32) {
	mr := kern.mr
	mPanels := (m + mr - 1) / mr
	for pc := 0; pc < k; pc += gemmKC {
		kc := min(k-pc, gemmKC)
		block := dst[mPanels*mr*pc:]
		for t := range mPanels {
			packA(false, a, lda, t*mr, min(mr, m-t*mr), pc, kc, mr, block[t*mr*kc:(t+1)*mr*kc])
		}
	}
}

// packedALen is the length of packPanelsA's output.
func packedALen(kern gemmKernel, m, k int) int { return roundUp(m, kern.mr) * k }

// wholeBMax bounds, in floats, a B that sgemmBlocked packs whole ahead of
// the tasks: 1 MiB, a late layer's input (2048 channels at 7×7, 64
// columns with padding).
const wholeBMax = 1 << 18

// gemmGrid splits one packed block of C into tasks: mBlocks row blocks of
// mc rows (a multiple of MR, at most gemmMC, as even as possible) times
// chunks column chunks of perChunk NR-wide panels.
type gemmGrid struct {
	mc, mBlocks      int
	perChunk, chunks int
}

// gemmTasksPerThread is how many tasks per thread the grid aims for, so
// that dynamic hand-out evens out tasks of unequal cost.
const gemmTasksPerThread = 4

func newGemmGrid(m, nPanels, mr, nr, threads int) gemmGrid {
	var g gemmGrid
	g.mBlocks = (m + gemmMC - 1) / gemmMC
	if want := gemmTasksPerThread * threads; threads > 1 && g.mBlocks < want && nPanels*nr < m {
		// C taller than wide: A is the larger operand (a late layer's
		// weights against a small image), and every column chunk
		// streams all of it. Split its rows instead, so that each task
		// reads its own part of A once.
		g.mBlocks = min(want, (m+mr-1)/mr)
	}
	g.mc = roundUp((m+g.mBlocks-1)/g.mBlocks, mr)
	g.mBlocks = (m + g.mc - 1) / g.mc
	g.chunks = 1
	if threads > 1 && g.mBlocks < gemmTasksPerThread*threads {
		g.chunks = min(nPanels, (gemmTasksPerThread*threads+g.mBlocks-1)/g.mBlocks)
	}
	g.perChunk = (nPanels + g.chunks - 1) / g.chunks
	g.chunks = (nPanels + g.perChunk - 1) / g.perChunk
	return g
}

// gemmMaxTile bounds mr·nr over every micro-kernel.
const gemmMaxTile = 16 * 32

func roundUp(x, m int) int { return (x + m - 1) / m * m }

// packA copies rows i0..i0+h of op(A), columns p0..p0+kc, into dst as one
// MR-row panel: dst[p*mr+r] = opA(i0+r, p0+p), zero for r ≥ h.
func packA(trans bool, a []float32, lda, i0, h, p0, kc, mr int, dst []float32) {
	dst = dst[:kc*mr]
	if trans {
		// op(A)(i, p) = a[p*lda+i]: each p is a contiguous run of h values.
		for p := 0; p < kc; p++ {
			src := a[(p0+p)*lda+i0 : (p0+p)*lda+i0+h]
			d := dst[p*mr : p*mr+mr]
			copy(d, src)
			clear(d[h:])
		}
		return
	}
	if h == 8 && mr == 8 {
		// The common case, unrolled: read eight rows in step, write dst
		// in order.
		row := func(r int) []float32 { return a[(i0+r)*lda+p0 : (i0+r)*lda+p0+kc] }
		r0, r1, r2, r3, r4, r5, r6, r7 := row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7)
		for p := range r0 {
			d := (*[8]float32)(dst[p*8 : p*8+8])
			d[0], d[1], d[2], d[3] = r0[p], r1[p], r2[p], r3[p]
			d[4], d[5], d[6], d[7] = r4[p], r5[p], r6[p], r7[p]
		}
		return
	}
	for r := 0; r < h; r++ {
		src := a[(i0+r)*lda+p0 : (i0+r)*lda+p0+kc]
		for p, v := range src {
			dst[p*mr+r] = v
		}
	}
	for r := h; r < mr; r++ {
		for p := 0; p < kc; p++ {
			dst[p*mr+r] = 0
		}
	}
}

// packBGroup is how many NR-wide panels of B one packing task fills: it
// reads packBGroup·NR consecutive floats of each row of B (1 KiB for
// NR=32), so rows are read in long runs instead of 128-byte pieces.
const packBGroup = 8

// packB copies rows p0..p0+kc of op(B), columns j0..j0+w, into dst as
// consecutive NR-column panels, panel t holding columns j0+t·nr onwards:
// dst[t*kc*nr + p*nr + q] = opB(p0+p, j0+t*nr+q), zero past column j0+w.
func packB(trans bool, b []float32, ldb, p0, kc, j0, w, nr int, dst []float32) {
	panels := (w + nr - 1) / nr
	dst = dst[:panels*kc*nr]
	if trans {
		// op(B)(p, j) = b[j*ldb+p]: each column j is a contiguous run.
		for q := 0; q < panels*nr; q++ {
			pan := dst[(q/nr)*kc*nr:]
			if q >= w {
				for p := 0; p < kc; p++ {
					pan[p*nr+q%nr] = 0
				}
				continue
			}
			src := b[(j0+q)*ldb+p0 : (j0+q)*ldb+p0+kc]
			for p, v := range src {
				pan[p*nr+q%nr] = v
			}
		}
		return
	}
	full := w / nr // panels with all nr columns inside B
	for p := 0; p < kc; p++ {
		src := b[(p0+p)*ldb+j0 : (p0+p)*ldb+j0+w]
		copyChunks(dst[p*nr:], kc*nr, src, full, nr)
		if full < panels {
			d := dst[full*kc*nr+p*nr : full*kc*nr+p*nr+nr]
			clear(d[copy(d, src[full*nr:]):])
		}
	}
}

// copyChunks copies n chunks of width floats, read one after another from
// src, into dst, stride floats apart:
//
//	for c := 0; c < n; c++ {
//		copy(dst[c*stride:c*stride+width], src[c*width:(c+1)*width])
//	}
//
// It moves a stretch of an input row into consecutive B panels in one call
// (im2colPacker). On amd64 with AVX it is assembly for widths that are
// multiples of 8 (sgemm_amd64.go).
var copyChunks = copyChunksGo

func copyChunksGo(dst []float32, stride int, src []float32, n, width int) {
	for c := 0; c < n; c++ {
		copy(dst[c*stride:c*stride+width], src[c*width:(c+1)*width])
	}
}
