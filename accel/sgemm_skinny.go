package accel

// The skinny path of Sgemm: products whose C is only a few micro-tiles
// high (m ≤ skinnyMaxM), such as a small network's convolutions lowered
// over a batch — LeNet-5's C1 is [6, 25]·[25, 50176] forward and
// [6, 50176]·[50176, 25] for its weight gradient. The blocked path
// (sgemmPacked) is built for big products; here its per-block set-up
// (three pool hand-offs per KC block, 19 blocks for a depth of 4704), its
// scalar strided packing of a transposed B and its Go merge of every edge
// tile cost several times the arithmetic. The skinny path packs A once,
// whole, walks B one NR-wide panel at a time, packing each KC-deep block
// of it just before the micro-kernel sweeps the few row panels of A past
// it, and keeps partial tiles in a scratch accumulator until the last
// block.
//
// Each element of C is the sum of its KC-deep blocks in order, each block
// summed in order by the micro-kernel, whatever the number of threads:
// tasks are groups of B panels, so the reduction never leaves a task.

// skinnyMaxM is the largest m the skinny path takes: at most four 8-row
// panels of A, whose scratch tiles (on the stack) fit beside a B block in
// L1. In BenchmarkSgemmSkinny (LeNet-5's GEMMs at batch 64) C3's 16-row
// products ran 1.4–3× faster here than on the blocked path; taller
// products, where the blocked path's reuse of each packed B panel over
// many row panels pays, stay there.
const skinnyMaxM = 32

// skinnyTaskFlops is the work (2·m·n·k) of one task of the skinny path,
// about 50 µs of arithmetic: a product smaller than two of these runs on
// the caller alone, since a pool hand-off costs a few microseconds.
const skinnyTaskFlops = 4 << 20

// gemmSix is a 6-row micro-kernel, where the machine has one besides
// gemm (sgemm_skinny_amd64.go: AVX2+FMA's 6×16 beside AVX-512's 8×32).
var gemmSix *gemmKernel

// skinnyKernel returns the micro-kernel the skinny path uses for m rows:
// gemm, or gemmSix when m is a multiple of 6 but not of gemm's MR, so that
// no row panel sticks out of C. A panel that sticks out is computed into
// scratch and merged in Go, tile by tile: for LeNet-5's C1 (6 output
// channels) that merge cost more than the 8×32 kernel's wider vectors
// gained (BenchmarkSgemmSkinny, C1/forward, with and without a bias in C).
func skinnyKernel(m int) gemmKernel {
	if gemmSix != nil && m%6 == 0 && m%gemm.mr != 0 {
		return *gemmSix
	}
	return gemm
}

// sgemmSkinny is Sgemm for m ≤ skinnyMaxM with micro-kernel kern (the
// arguments are checked, m, n, k ≥ 1 and alpha ≠ 0).
func sgemmSkinny(kern gemmKernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	mr, nr := kern.mr, kern.nr
	mPanels := (m + mr - 1) / mr
	nPanels := (n + nr - 1) / nr

	// A whole, panel after panel, each panel [k][mr] so that the rows of
	// a KC block are one contiguous stretch.
	bufA := getBuf(mPanels * mr * k)
	defer putBuf(bufA)
	ap := *bufA
	for t := 0; t < mPanels; t++ {
		i0, h := t*mr, min(mr, m-t*mr)
		dst := ap[t*mr*k : (t+1)*mr*k]
		if transA {
			// op(A)(i, p) = a[p*lda+i]: a contiguous run of h per p.
			for p := 0; p < k; p++ {
				d := dst[p*mr : (p+1)*mr]
				clear(d[copy(d, a[p*lda+i0:p*lda+i0+h]):])
			}
		} else {
			for pc := 0; pc < k; pc += gemmKC {
				packRows(dst[pc*mr:], mr, a[i0*lda+pc:], lda, h, min(k-pc, gemmKC))
			}
		}
	}

	// With a single depth block, B is packed packBGroup panels at a time
	// (one copy call per row of B moves all of them); with several, one
	// panel at a time, its partial tiles carried from block to block.
	group := 1
	if k <= gemmKC {
		group = packBGroup
	}
	flops := 2 * m * n * k
	tasks := min(nPanels, max(1, flops/skinnyTaskFlops))
	per := roundUp((nPanels+tasks-1)/tasks, group)
	tasks = (nPanels + per - 1) / per
	task := func(t int) {
		kc0 := min(k, gemmKC)
		bufB := getBuf(group * kc0 * nr)
		defer putBuf(bufB)
		bp := *bufB
		// Scratch accumulators for the tiles that stick out of C.
		var acc [(skinnyMaxM + gemmMaxMR) * gemmMaxNR]float32
		last := min(nPanels, (t+1)*per)
		for g0 := t * per; g0 < last; g0 += group {
			g1 := min(last, g0+group)
			j0 := g0 * nr
			for pc := 0; pc < k; pc += gemmKC {
				kc := min(k-pc, gemmKC)
				bb := bp[:(g1-g0)*kc*nr]
				if transB {
					transPacker(b, ldb)(pc, kc, j0, min(n, g1*nr)-j0, nr, bb)
				} else {
					packB(false, b, ldb, pc, kc, j0, min(n, g1*nr)-j0, nr, bb)
				}
				for jp := g0; jp < g1; jp++ {
					j := jp * nr
					w := min(nr, n-j)
					bpan := bb[(jp-g0)*kc*nr : (jp-g0+1)*kc*nr]
					for ip := 0; ip < mPanels; ip++ {
						i := ip * mr
						apan := ap[ip*mr*k+pc*mr : ip*mr*k+(pc+kc)*mr]
						if i+mr <= m && w == nr {
							bt := beta
							if pc > 0 {
								bt = 1
							}
							kern.tile(kc, apan, bpan, c[i*ldc+j:], ldc, alpha, bt, nil)
							continue
						}
						var bt float32
						if pc > 0 {
							bt = 1
						}
						kern.tile(kc, apan, bpan, acc[i*nr:(i+mr)*nr], nr, 1, bt, nil)
					}
					if pc+kc == k {
						mergeEdges(m, w, mr, nr, alpha, acc[:], beta, c[j:], ldc)
					}
				}
			}
		}
	}
	if tasks == 1 {
		task(0)
		return
	}
	parallelFor(tasks, task)
}

// mergeEdges finishes one NR-wide column panel of C (w columns inside C)
// from the scratch accumulators of its tiles that stick out of C (past
// row m or column w): c[i*ldc+q] = alpha·acc[i*nr+q] + beta·c[i*ldc+q].
// Rows of whole tiles were written in place and are skipped.
func mergeEdges(m, w, mr, nr int, alpha float32, acc []float32, beta float32, c []float32, ldc int) {
	i := 0
	if w == nr {
		i = m / mr * mr
	}
	for ; i < m; i++ {
		crow := c[i*ldc : i*ldc+w]
		arow := acc[i*nr : i*nr+w]
		switch {
		case beta == 0 && alpha == 1:
			copy(crow, arow)
		case beta == 1 && alpha == 1:
			for q, v := range arow {
				crow[q] += v
			}
		case beta == 0:
			for q, v := range arow {
				crow[q] = alpha * v
			}
		default:
			for q, v := range arow {
				crow[q] = alpha*v + beta*crow[q]
			}
		}
	}
}

// packRows packs rows of a row-major matrix as the columns of a panel:
//
//	for p := 0; p < kc; p++ {
//		for q := 0; q < width; q++ {
//			dst[p*width+q] = src[q*ld+p] // 0 for q ≥ rows
//		}
//	}
//
// It is the transposing pack, for A (rows of A become the MR columns of
// a panel) and for a transposed B (rows of B become the NR columns of a
// panel). When width is a multiple of 8 (every assembly kernel's MR and
// NR), eight rows are read side by side, rows past the matrix from a
// block of zeros, so that each step writes eight consecutive floats.
// kc ≤ gemmKC; rows ≤ width.
func packRows(dst []float32, width int, src []float32, ld, rows, kc int) {
	dst = dst[:kc*width]
	if width%8 != 0 {
		for p := 0; p < kc; p++ {
			d := dst[p*width : (p+1)*width]
			for q := range rows {
				d[q] = src[q*ld+p]
			}
			clear(d[rows:])
		}
		return
	}
	zero := zeroRow[:kc]
	row := func(q int) []float32 {
		if q >= rows {
			return zero
		}
		return src[q*ld : q*ld+kc]
	}
	for q := 0; q < width; q += 8 {
		r0 := row(q)
		r1, r2, r3 := row(q + 1)[:len(r0)], row(q + 2)[:len(r0)], row(q + 3)[:len(r0)]
		r4, r5, r6, r7 := row(q + 4)[:len(r0)], row(q + 5)[:len(r0)], row(q + 6)[:len(r0)], row(q + 7)[:len(r0)]
		for p := range r0 {
			d := (*[8]float32)(dst[p*width+q : p*width+q+8])
			d[0], d[1], d[2], d[3] = r0[p], r1[p], r2[p], r3[p]
			d[4], d[5], d[6], d[7] = r4[p], r5[p], r6[p], r7[p]
		}
	}
}

// zeroRow stands in for the rows past the matrix in packRows.
var zeroRow [gemmKC]float32

// transPacker packs panels of a transposed B, op(B)(p, j) = b[j*ldb+p],
// as packB does, with packRows: eight rows of b at a time instead of
// packB's one strided column at a time.
func transPacker(b []float32, ldb int) panelPacker {
	return func(p0, kc, j0, w, nr int, dst []float32) {
		for t := 0; t*nr < w; t++ {
			packRows(dst[t*kc*nr:], nr, b[(j0+t*nr)*ldb+p0:], ldb, min(nr, w-t*nr), kc)
		}
	}
}
