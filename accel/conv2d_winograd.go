package accel

import (
	"math"
	"sync"
)

// Winograd's minimal filtering F(2×2, 3×3) (Lavin and Gray, "Fast
// Algorithms for Convolutional Neural Networks", CVPR 2016, section 4):
// a 3x3, stride-1 convolution computes each 2×2 block of outputs (a tile)
// from the 4×4 input patch d under it as
//
//	Y = Aᵀ [ Σ_c U_c ⊙ V_c ] A,   U = G g Gᵀ,   V = Bᵀ d B
//
// with
//
//	Bᵀ = | 1  0 -1  0 |   G = | 1    0    0  |   Aᵀ = | 1  1  1  0 |
//	     | 0  1  1  0 |       | 1/2  1/2  1/2 |        | 0  1 -1 -1 |
//	     | 0 -1  1  0 |       | 1/2 -1/2  1/2 |
//	     | 0  1  0 -1 |       | 0    0    1  |
//
// The sum over input channels c of the elementwise products is, for each
// of the 16 positions ξ of the 4×4 transformed tile, a matrix product:
// M_ξ [OutC, tiles] = U_ξ [OutC, C] · V_ξ [C, tiles]. So a layer becomes
// 16 GEMMs with 16 multiplies per tile and channel pair where the direct
// convolution needs 36 (4 outputs × 9 taps): 2.25× fewer, for the price of
// the transforms, which are additions only (G's halves are exact). The
// rounding differs from the direct sum's by a few units in the last place
// of the partial sums (Lavin and Gray, section 5; F(2×2, 3×3) is the
// variant whose error stays close to direct convolution's).
//
// The weights' transform U is computed once per PackedConv (lazily, on the
// first call that takes this path) or per call for Conv2D, in float64 and
// rounded, and packed into the micro-kernel's panels. The input is copied
// once into a zero-padded image whose sides are whole tiles, then the
// tiles are taken in blocks of winoBlock: each block is one task on the
// worker pool, which transforms its tiles' inputs (V, all channels), runs
// the 16 products with the direct micro-kernel reading V in place, and
// transforms the products back into the output planes with the epilogue
// fused. Within a block the products sum over channels in fixed depth
// blocks, so the result does not depend on the thread count.

// winoMinC is the least number of input channels for which Conv2D takes
// the Winograd path: the 16 products have depth C, and a shallow product
// spends more on loading and storing its accumulators than on multiplying.
// At C = 16 (YOLOv3-tiny's 16→32 at 208×208) the path still ran 1.55× the
// direct one (BenchmarkConvWinograd, one thread).
const winoMinC = 16

// winoMinTiles is the least number of 2×2 output tiles (an output of about
// 16×16) for which Conv2D takes the Winograd path. Below it are the 13×13
// and 14×14 layers (49 tiles) of YOLOv3 and ResNet, whose many weights
// serve few tiles: their gain swung between 1.0× and 1.7× from run to run
// (the transformed weights, 16/9 of the weights, stream from memory), and
// packing them would add about 0.4× resnet50's weight file to its resident
// memory.
const winoMinTiles = 64

// winoBlockFloats bounds a block's transformed input (16 · C · tiles
// floats): a quarter of L2, so that V stays in L2 while the 16 products
// read it.
const winoBlockFloats = l2Bytes / 4 / 4

// winoKernels are the transforms' kernels: the Go ones below, or where the
// machine has them the assembly (conv2d_winograd_amd64.go), with the same
// meaning bit for bit.
var (
	winoIn  = winoInGo
	winoOut = winoOutGo
	winoAsm bool // winoIn and winoOut are the assembly
)

// useWinograd reports whether Conv2D takes the Winograd path for q, whose
// output is oh×ow.
func useWinograd(q ConvParams, oh, ow int) bool {
	return gemm.direct != nil && winoAsm &&
		q.Groups == 1 && q.KH == 3 && q.KW == 3 && q.StrideH == 1 && q.StrideW == 1 &&
		q.DilationH == 1 && q.DilationW == 1 && q.C >= winoMinC &&
		((oh+1)/2)*((ow+1)/2) >= winoMinTiles
}

// winoWeights is a layer's U, packed: for each ξ, U_ξ [OutC, C] in the
// micro-kernel's panels (packPanelsA), elems floats apart.
type winoWeights struct {
	kern  string
	data  []float32
	elems int
}

// winoPack transforms weight [OutC, C, 3, 3] into U and packs it for the
// current micro-kernel. Each filter's U = G g Gᵀ is computed in float64
// (G's entries are 0, ±1/2 and 1: the products are exact) and rounded once.
func winoPack(weight []float32, outC, c int) *winoWeights {
	kern := gemm
	w := &winoWeights{kern: kern.name, elems: packedALen(kern, outC, c)}
	w.data = make([]float32, 16*w.elems)
	// U in ξ-major order, [16][OutC·C], then each ξ packed.
	ubuf := getBuf(16 * outC * c)
	defer putBuf(ubuf)
	u := *ubuf
	plane := outC * c
	parallelFor(outC, func(oc int) {
		for ci := range c {
			f := oc*c + ci
			var uf [16]float64
			winoFilter(weight[f*9:f*9+9], &uf)
			for xi, v := range uf {
				u[xi*plane+f] = float32(v)
			}
		}
	})
	parallelFor(16, func(xi int) {
		packPanelsA(kern, outC, c, u[xi*plane:(xi+1)*plane], c, w.data[xi*w.elems:(xi+1)*w.elems])
	})
	return w
}

// winoFilter sets u to G g Gᵀ for the 3x3 filter g (row-major), u[4i+j]
// its entry (i, j).
func winoFilter(g []float32, u *[16]float64) {
	// t = G g, 4×3: rows g0, (g0+g1+g2)/2, (g0−g1+g2)/2, g2.
	var t [4][3]float64
	for q := range 3 {
		g0, g1, g2 := float64(g[q]), float64(g[3+q]), float64(g[6+q])
		t[0][q], t[1][q], t[2][q], t[3][q] = g0, (g0+g1+g2)/2, (g0-g1+g2)/2, g2
	}
	// U = t Gᵀ, the same along rows.
	for i, r := range t {
		u[4*i], u[4*i+1], u[4*i+2], u[4*i+3] = r[0], (r[0]+r[1]+r[2])/2, (r[0]-r[1]+r[2])/2, r[2]
	}
}

// winoCache is a PackedConv's U, packed on the first call that takes the
// Winograd path: most layers of most networks never do (their maps are
// small, their input channels few), and packing U for them would keep 16/9
// of their weights in memory for nothing.
type winoCache struct {
	once sync.Once
	w    *winoWeights
}

func (c *winoCache) get(weight []float32, outC, cin int) *winoWeights {
	c.once.Do(func() { c.w = winoPack(weight, outC, cin) })
	return c.w
}

// convWinograd is Conv2D's F(2×2, 3×3) path (see above) for useWinograd's
// shapes. u, when not nil, is weight's U packed for the current kernel.
func convWinograd(dst, src, weight []float32, u *winoWeights, p ConvParams, oh, ow int, ep *Epilogue) {
	if u == nil || u.kern != gemm.name {
		u = winoPack(weight, p.OutC, p.C)
	}
	c, outC := p.C, p.OutC
	th, tw := (oh+1)/2, (ow+1)/2
	tiles := th * tw
	// The padded image: whole tiles, whose 4×4 patches overlap by two
	// rows and columns (the transform reads those patches and nothing
	// else: its last vector is masked).
	hp, wp := 2*th+2, 2*tw+2
	planeLen := hp * wp
	padLen := c * planeLen
	// Blocks of nb tiles, a multiple of the micro-kernel's width, as
	// many as fit (the fewer the blocks, the fewer times the transformed
	// weights are read).
	nr, mr := gemm.nr, gemm.mr
	nb := min(max(nr, winoBlockFloats/(16*c)/nr*nr), roundUp(tiles, nr))
	blocks := (tiles + nb - 1) / nb
	outCp := roundUp(outC, mr)
	offs := make([]int, c)
	for ci := range offs {
		offs[ci] = ci * nb
	}
	f := newFusedEpilogue(ep, outC)
	defer f.release()
	flags := f.channelFlags()
	padBuf := getBuf(padLen)
	defer putBuf(padBuf)
	pad := *padBuf
	// Enough blocks keep every thread busy with whole blocks; fewer
	// (a small map, or a few blocks that would leave a thread idle at
	// the end) are split inside, over channels, products and output
	// channels in turn.
	inner := blocks < 4*Threads()
	par := func(n int, fn func(int)) {
		for i := range n {
			fn(i)
		}
	}
	if inner {
		par = parallelFor
	}
	for n := 0; n < p.N; n++ {
		padImageTo(pad, src[n*c*p.H*p.W:], c, p.H, p.W, p.PadH, p.PadW, hp, wp)
		y := dst[n*outC*oh*ow : (n+1)*outC*oh*ow]
		block := func(b int) {
			t0, t1 := b*nb, min(tiles, (b+1)*nb)
			vBuf, mBuf := getBuf(16*c*nb), getBuf(16*outCp*nb)
			defer putBuf(vBuf)
			defer putBuf(mBuf)
			v, m := *vBuf, *mBuf
			// The tiles t0..t1 in runs along tile rows.
			runs := func(each func(ty, tx, n, q int)) {
				for t := t0; t < t1; {
					ty, tx := t/tw, t%tw
					n := min(tw-tx, t1-t)
					each(ty, tx, n, t-t0)
					t += n
				}
			}
			par(c, func(ci int) {
				plane := pad[ci*planeLen:]
				runs(func(ty, tx, n, q int) {
					winoIn(v[ci*nb+q:], c*nb, plane[2*ty*wp+2*tx:], wp, n)
				})
			})
			// The 16 products, M_ξ = U_ξ · V_ξ, in depth blocks of
			// gemmKC; each nr-wide panel of V stays in L1 while the
			// panels of U_ξ pass over it.
			par(16, func(xi int) {
				d := newDirectB(v[xi*c*nb:], offs, nb, nr)
				ap := u.data[xi*u.elems : (xi+1)*u.elems]
				mx := m[xi*outCp*nb:]
				for pc := 0; pc < c; pc += gemmKC {
					kc := min(c-pc, gemmKC)
					block := ap[outCp*pc:]
					beta := float32(1)
					if pc == 0 {
						beta = 0
					}
					for j := 0; j < roundUp(t1-t0, nr); j += nr {
						for i := 0; i < outCp; i += mr {
							gemm.direct(kc, block[i*kc:(i+mr)*kc], d, j, pc, mx[i*nb+j:], nb, 1, beta, nil)
						}
					}
				}
			})
			par(outC, func(oc int) {
				e := f.channel(oc)
				plane := y[oc*oh*ow : (oc+1)*oh*ow]
				runs(func(ty, tx, n, q int) {
					rows := min(2, oh-2*ty)
					cols := min(2*n, ow-2*tx)
					winoOut(plane[2*ty*ow+2*tx:], ow, m[oc*nb+q:], outCp*nb, n, cols, rows, &e, flags)
					if f.act != ActLinear {
						for r := range rows {
							activate(plane[(2*ty+r)*ow+2*tx:][:cols], f.act, f.slope)
						}
					}
				})
			})
		}
		if inner {
			for b := range blocks {
				block(b)
			}
		} else {
			parallelFor(blocks, block)
		}
	}
}

// padImageTo copies the c planes of img [c, h, w] into pad as planes of
// hp×wp with the image at row ph, column pw and zeros around it; rows and
// columns of the image past the plane's bottom or right edge are left out.
func padImageTo(pad, img []float32, c, h, w, ph, pw, hp, wp int) {
	rows, cols := min(h, hp-ph), min(w, wp-pw)
	parallelFor(c, func(ci int) {
		plane := pad[ci*hp*wp : (ci+1)*hp*wp]
		clear(plane[:ph*wp])
		clear(plane[(ph+rows)*wp:])
		for y := range rows {
			row := plane[(ph+y)*wp : (ph+y+1)*wp]
			clear(row[:pw])
			copy(row[pw:pw+cols], img[(ci*h+y)*w:])
			clear(row[pw+cols:])
		}
	})
}

// winoInGo writes the input transform V = Bᵀ d B of n tiles along a row:
// tile t's patch is d[i][j] = r[i·wp + 2t + j], and V at ξ = 4i+j goes to
// v[ξ·ldv + t]. The order of the additions is the assembly's:
//
//	e[i][0] = d[i][0] − d[i][2]   e[i][1] = d[i][1] + d[i][2]
//	e[i][2] = d[i][2] − d[i][1]   e[i][3] = d[i][1] − d[i][3]
//	V[0][j] = e[0][j] − e[2][j]   V[1][j] = e[1][j] + e[2][j]
//	V[2][j] = e[2][j] − e[1][j]   V[3][j] = e[1][j] − e[3][j]
func winoInGo(v []float32, ldv int, r []float32, wp, n int) {
	for t := range n {
		var e [4][4]float32
		for i := range 4 {
			d := r[i*wp+2*t : i*wp+2*t+4]
			e[i] = [4]float32{d[0] - d[2], d[1] + d[2], d[2] - d[1], d[1] - d[3]}
		}
		for j := range 4 {
			v[(0+j)*ldv+t] = e[0][j] - e[2][j]
			v[(4+j)*ldv+t] = e[1][j] + e[2][j]
			v[(8+j)*ldv+t] = e[2][j] - e[1][j]
			v[(12+j)*ldv+t] = e[1][j] - e[3][j]
		}
	}
}

// winoOutGo writes the output transform Y = Aᵀ M A of n tiles along a row,
// M at ξ = 4i+j being m[ξ·ldm + t], with the epilogue ep under flags (as
// dw3x3Go's): tile t's outputs go to y[a·ow + 2t + b], for the first rows
// rows (1 or 2) and the first cols columns (2n or 2n−1). The order of the
// additions is the assembly's, and so is the affine step, one fused
// multiply-add:
//
//	f[i][0] = (M[i][0] + M[i][1]) + M[i][2]   f[i][1] = (M[i][1] − M[i][2]) − M[i][3]
//	Y[0][b] = (f[0][b] + f[1][b]) + f[2][b]   Y[1][b] = (f[1][b] − f[2][b]) − f[3][b]
func winoOutGo(y []float32, ow int, m []float32, ldm, n, cols, rows int, ep *[5]float32, flags int) {
	for t := range n {
		var f [4][2]float32
		for i := range 4 {
			q := func(j int) float32 { return m[(4*i+j)*ldm+t] }
			f[i] = [2]float32{q(0) + q(1) + q(2), q(1) - q(2) - q(3)}
		}
		for b := range 2 {
			x := 2*t + b
			if x >= cols {
				break
			}
			y[x] = winoEpilogue(f[0][b]+f[1][b]+f[2][b], ep, flags)
			if rows > 1 {
				y[ow+x] = winoEpilogue(f[1][b]-f[2][b]-f[3][b], ep, flags)
			}
		}
	}
}

// winoEpilogue is dwEpilogue with the affine step fused as the assembly's
// VFMADD: y·ep[0] + ep[1] exact, rounded to float64 and then to float32
// (which can differ from one rounding only where the first lands on a
// tie of the second: the test's data meet none).
func winoEpilogue(y float32, ep *[5]float32, flags int) float32 {
	if flags&tileAffine != 0 {
		y = float32(math.FMA(float64(y), float64(ep[0]), float64(ep[1])))
		flags &^= tileAffine
	}
	return dwEpilogue(y, ep, flags)
}
