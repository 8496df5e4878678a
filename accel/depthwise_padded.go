package accel

// A 3x3, stride-1, undilated depthwise convolution (MobileNet's and the
// face detectors' workhorse) runs on a padded plane: each input plane is
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

// dw3x3Same fills the output plane out [h, w] of a 3x3 depthwise filter
// with padding 1 (the output has the input's size) straight from the input
// plane in, with no copies: run over the flat plane, output j reads
// in[j + (ki-1)·w + (kj-1)], which is right everywhere but in the first and
// last row and column, where the taps would fall on padding (or wrap to the
// neighbouring row). The vector kernel takes the flat run from row 1,
// column 1 to row h-2, column w-2; then those border outputs are computed
// again, tap by tap, with the padding as zeros.
func dw3x3Same(out, in []float32, h, w int, filt *[9]float32, ep *[5]float32, flags int) {
	if start, end := w+1, (h-1)*w-1; end > start {
		n := end - start
		body := n / dw3x3Block * dw3x3Block
		if body > 0 && dw3x3Kernel != nil {
			dw3x3Kernel(out[start:start+body], in, w, filt, ep, flags)
		} else {
			body = 0
		}
		dw3x3Go(out[start+body:end], in[body:], w, filt, ep, flags)
	}
	// The borders again, from the taps inside the plane only, in (ki, kj)
	// order: the first and last column of the inner rows by formula, then
	// the first and last rows tap by tap.
	f := filt
	for oy := 1; oy < h-1 && w >= 2; oy++ {
		r0, r1, r2 := in[(oy-1)*w:oy*w], in[oy*w:(oy+1)*w], in[(oy+1)*w:(oy+2)*w]
		out[oy*w] = dwEpilogue(f[1]*r0[0]+f[2]*r0[1]+f[4]*r1[0]+f[5]*r1[1]+f[7]*r2[0]+f[8]*r2[1], ep, flags)
		out[oy*w+w-1] = dwEpilogue(f[0]*r0[w-2]+f[1]*r0[w-1]+f[3]*r1[w-2]+f[4]*r1[w-1]+f[6]*r2[w-2]+f[7]*r2[w-1], ep, flags)
	}
	border := func(oy, ox int) {
		ki0, ki1 := max(0, 1-oy), min(3, h-oy+1)
		kj0, kj1 := max(0, 1-ox), min(3, w-ox+1)
		var y float32
		for ki := ki0; ki < ki1; ki++ {
			at := (oy+ki-1)*w + ox - 1 // the input under tap (ki, 0)
			for kj := kj0; kj < kj1; kj++ {
				y += filt[3*ki+kj] * in[at+kj]
			}
		}
		out[oy*w+ox] = dwEpilogue(y, ep, flags)
	}
	if h >= 2 && w >= 3 {
		// The first row has no taps above it, the last none below.
		t0, t1 := in[:w], in[w:2*w]
		b0, b1 := in[(h-2)*w:(h-1)*w], in[(h-1)*w:h*w]
		top, bottom := out[:w], out[(h-1)*w:h*w]
		for x := 1; x < w-1; x++ {
			top[x] = dwEpilogue(f[3]*t0[x-1]+f[4]*t0[x]+f[5]*t0[x+1]+f[6]*t1[x-1]+f[7]*t1[x]+f[8]*t1[x+1], ep, flags)
			bottom[x] = dwEpilogue(f[0]*b0[x-1]+f[1]*b0[x]+f[2]*b0[x+1]+f[3]*b1[x-1]+f[4]*b1[x]+f[5]*b1[x+1], ep, flags)
		}
		for _, c := range [4][2]int{{0, 0}, {0, w - 1}, {h - 1, 0}, {h - 1, w - 1}} {
			border(c[0], c[1])
		}
	} else {
		for ox := 0; ox < w; ox++ {
			border(0, ox)
			border(h-1, ox)
		}
	}
	if w < 2 {
		for oy := 1; oy < h-1; oy++ {
			border(oy, 0)
		}
	}
}

// depthwisePadded is Conv2D's path for 3x3, stride 1, dilation 1
// depthwise convolutions with one output channel per input channel, when
// dw3x3Kernel is set. Planes are tasks on the worker pool. With padding 1
// (the usual "same" convolution) the planes are filtered in place
// (dw3x3Same); with other padding, through a padded copy.
func depthwisePadded(dst, src, weight []float32, p ConvParams, oh, ow int, ep *Epilogue) {
	hp, wp := p.H+2*p.PadH, p.W+2*p.PadW
	n := (oh-1)*wp + ow // padded-grid outputs that land in the output
	f := newFusedEpilogue(ep, p.OutC)
	defer f.release()
	flags := 0
	if f.scale != nil {
		flags |= tileAffine
	}
	if f.clampLo {
		flags |= tileClampLo
	}
	if f.clampHi {
		flags |= tileClampHi
	}
	if f.leaky {
		flags |= tileLeaky
	}
	parallelFor(p.N*p.C, func(t int) {
		c := t % p.C
		var e [5]float32
		if f.scale != nil {
			e[0], e[1] = f.scale[c], f.shift[c]
		}
		e[2], e[3], e[4] = f.lo, f.hi, f.slope
		w := (*[9]float32)(weight[c*9 : c*9+9])
		plane := dst[t*oh*ow : (t+1)*oh*ow]
		if p.PadH == 1 && p.PadW == 1 {
			dw3x3Same(plane, src[t*p.H*p.W:(t+1)*p.H*p.W], p.H, p.W, w, &e, flags)
		} else {
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
		}
		if f.act != ActLinear {
			activate(plane, f.act, f.slope)
		}
	})
}
