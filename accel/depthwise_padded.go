package accel

// A 3x3, stride-1, undilated depthwise convolution whose padding the row
// kernels do not take (depthwise_rows.go: they take PadW = 1, the usual
// "same" convolution) runs on a padded plane: each input plane is
// copied once with zero borders (Hp = H + 2·PadH rows of Wp = W + 2·PadW),
// and the output is computed on the padded grid's width, so output j
// (row j / Wp, column j % Wp) is
//
//	Σ_{ki,kj} w[3ki+kj] · padded[j + ki·Wp + kj]
//
// one long run of nine shifted streams, whatever the row length: short
// rows (7, 14 or 28 pixels) vectorise as well as long ones. The dw3x3
// kernel does the run in 16-float vectors with the epilogue fused; the
// Wp − OW columns per row past the output's width are dropped when the
// result is copied into the output plane.

// dw3x3Kernel is the vector kernel for whole blocks of dw3x3Block outputs,
// with dw3x3Go's meaning; nil where the machine has none (then depthwise
// keeps its row-by-row Go path). Set by depthwise_amd64.go.
var dw3x3Kernel func(o, r []float32, wp int, w *[9]float32, ep *[5]float32, flags int)

// dw3x3Block is the granularity of the vector kernel: it takes a multiple
// of 16 outputs (one vector), and Go does the rest.
const dw3x3Block = 16

// dw3x3Go computes len(o) outputs of the padded-plane filter with the
// epilogue ep (scale, shift, lo, hi, slope) under flags (tile* bits):
//
//	y := Σ w[3ki+kj]·r[i+ki·wp+kj] (in (ki, kj) order)
//	y = y·ep[0] + ep[1]; y = max(y, ep[2]); y = min(y, ep[3]); y = max(y, ep[4]·y)
//
// each step only when its flag is set.
func dw3x3Go(o, r []float32, wp int, w *[9]float32, ep *[5]float32, flags int) {
	for i := range o {
		y := w[0] * r[i]
		for k := 1; k < 9; k++ {
			y += w[k] * r[i+(k/3)*wp+k%3]
		}
		o[i] = dwEpilogue(y, ep, flags)
	}
}

// dwEpilogue runs the steps flags select on y (see dw3x3Go).
func dwEpilogue(y float32, ep *[5]float32, flags int) float32 {
	if flags&tileAffine != 0 {
		y = y*ep[0] + ep[1]
	}
	if flags&tileClampLo != 0 {
		y = max(y, ep[2])
	}
	if flags&tileClampHi != 0 {
		y = min(y, ep[3])
	}
	if flags&tileLeaky != 0 {
		y = max(y, ep[4]*y)
	}
	return y
}

// depthwisePadded is Conv2D's path for 3x3, stride 1, dilation 1
// depthwise convolutions with one output channel per input channel and
// symmetric padding that the row kernel does not take (PadW ≠ 1; see
// depthwiseRows), when dw3x3Kernel is set. Planes are tasks on the worker
// pool, each filtered through a padded copy.
func depthwisePadded(dst, src, weight []float32, p ConvParams, oh, ow int, ep *Epilogue) {
	hp, wp := p.H+2*p.PadH, p.W+2*p.PadW
	n := (oh-1)*wp + ow // padded-grid outputs that land in the output
	f := newFusedEpilogue(ep, p.OutC)
	defer f.release()
	flags := f.channelFlags()
	parallelFor(p.N*p.C, func(t int) {
		c := t % p.C
		e := f.channel(c)
		w := (*[9]float32)(weight[c*9 : c*9+9])
		plane := dst[t*oh*ow : (t+1)*oh*ow]
		padBuf, outBuf := getBuf(hp*wp), getBuf(n)
		pad, out := *padBuf, *outBuf
		// The last output's window ends at the plane's last float:
		// (oh-1)·wp + ow-1 + 2·wp + 2 = hp·wp - 1.
		padImage(pad, src[t*p.H*p.W:], 1, p.H, p.W, p.PadH, p.PadW)
		body := n / dw3x3Block * dw3x3Block
		if body > 0 {
			dw3x3Kernel(out[:body], pad, wp, w, &e, flags)
		}
		dw3x3Go(out[body:], pad[body:], wp, w, &e, flags)
		for oy := 0; oy < oh; oy++ {
			copy(plane[oy*ow:(oy+1)*ow], out[oy*wp:])
		}
		putBuf(padBuf)
		putBuf(outBuf)
		if f.act != ActLinear {
			activate(plane, f.act, f.slope)
		}
	})
}
