package accel

// depthwise is Conv2D's direct kernel for Groups == C with one input
// channel per group: output channel oc of image n reads only input channel
// oc/mult, mult = OutC/C, through its own KH×KW filter. The N·OutC output
// planes are tasks on the worker pool. Within a plane each output row is
// built by sliding each in-bounds tap along the row (a multiply-add over a
// contiguous or strided run of the input row); for 3x3 filters the stretch
// of a row where all nine taps are in bounds is one fused pass. Either way
// every output value sums its taps in (ki, kj) order, whatever the thread
// count. The epilogue runs on each row as it is finished.
func depthwise(dst, src, weight []float32, p ConvParams, oh, ow int, ep *Epilogue) {
	mult := p.OutC / p.C
	kk := p.KH * p.KW
	hw, ohw := p.H*p.W, oh*ow
	// taps[kj] is the column tap kj: its input offset ix - ox·StrideW and
	// the outputs [lo, hi) for which it falls inside the row.
	taps := make([]dwTap, p.KW)
	for kj := range taps {
		off := kj*p.DilationW - p.PadW
		lo, hi := validRange(ow, p.W, p.StrideW, off)
		taps[kj] = dwTap{off, lo, hi}
	}
	parallelFor(p.N*p.OutC, func(t int) {
		n, oc := t/p.OutC, t%p.OutC
		plane := src[(n*p.C+oc/mult)*hw : (n*p.C+oc/mult+1)*hw]
		out := dst[t*ohw : (t+1)*ohw]
		filt := weight[oc*kk : (oc+1)*kk]
		for oy := 0; oy < oh; oy++ {
			o := out[oy*ow : (oy+1)*ow]
			clear(o)
			iy0 := oy*p.StrideH - p.PadH
			if p.KH == 3 && p.KW == 3 && iy0 >= 0 && iy0+2*p.DilationH < p.H {
				r := func(ki int) []float32 {
					iy := iy0 + ki*p.DilationH
					return plane[iy*p.W : (iy+1)*p.W]
				}
				dw3x3Row(o, r(0), r(1), r(2), (*[9]float32)(filt), taps, p.StrideW, p.DilationW)
			} else {
				for ki := 0; ki < p.KH; ki++ {
					iy := iy0 + ki*p.DilationH
					if iy < 0 || iy >= p.H {
						continue
					}
					dwRow(o, plane[iy*p.W:(iy+1)*p.W], filt[ki*p.KW:(ki+1)*p.KW], taps, p.StrideW, p.DilationW)
				}
			}
			if ep != nil {
				ep.apply(o, oc)
			}
		}
	})
}

// dw3x3Row adds a whole 3x3 filter into the zeroed output row o from input
// rows r0, r1, r2, as dwRow would row by row: where all nine taps are in
// bounds in one pass, at the edges tap by tap in the same (ki, kj) order.
func dw3x3Row(o, r0, r1, r2 []float32, w *[9]float32, taps []dwTap, stride, dil int) {
	lo := max(taps[0].lo, taps[1].lo, taps[2].lo)
	hi := min(taps[0].hi, taps[1].hi, taps[2].hi)
	if lo >= hi {
		for ki, s := range [3][]float32{r0, r1, r2} {
			dwRow(o, s, w[3*ki:3*ki+3], taps, stride, dil)
		}
		return
	}
	for ki, s := range [3][]float32{r0, r1, r2} {
		for kj, t := range taps {
			dwTapRun(o, s, w[3*ki+kj], t.off, stride, t.lo, min(t.hi, lo))
		}
	}
	x := lo*stride + taps[0].off
	if stride == 1 {
		dw3x3s1(o[lo:hi], r0[x:], r1[x:], r2[x:], w, dil)
	} else {
		dw3x3Strided(o[lo:hi], r0[x:], r1[x:], r2[x:], w, stride, dil)
	}
	for ki, s := range [3][]float32{r0, r1, r2} {
		for kj, t := range taps {
			dwTapRun(o, s, w[3*ki+kj], t.off, stride, max(t.lo, hi), t.hi)
		}
	}
}

// dw3x3s1 writes o[i] = Σ w[3ki+kj]·rki[i+kj·dil] over ki, kj in order.
func dw3x3s1(o, r0, r1, r2 []float32, w *[9]float32, dil int) {
	n := len(o)
	a0, a1, a2 := r0[:n], r0[dil:dil+n], r0[2*dil:2*dil+n]
	b0, b1, b2 := r1[:n], r1[dil:dil+n], r1[2*dil:2*dil+n]
	c0, c1, c2 := r2[:n], r2[dil:dil+n], r2[2*dil:2*dil+n]
	w00, w01, w02 := w[0], w[1], w[2]
	w10, w11, w12 := w[3], w[4], w[5]
	w20, w21, w22 := w[6], w[7], w[8]
	for i := range o {
		v := w00 * a0[i]
		v += w01 * a1[i]
		v += w02 * a2[i]
		v += w10 * b0[i]
		v += w11 * b1[i]
		v += w12 * b2[i]
		v += w20 * c0[i]
		v += w21 * c1[i]
		v += w22 * c2[i]
		o[i] = v
	}
}

// dw3x3Strided is dw3x3s1 for stride > 1: rki[i·stride+kj·dil].
func dw3x3Strided(o, r0, r1, r2 []float32, w *[9]float32, stride, dil int) {
	m := (len(o)-1)*stride + 2*dil + 1
	r0, r1, r2 = r0[:m], r1[:m], r2[:m]
	for i := range o {
		j := i * stride
		v := w[0] * r0[j]
		v += w[1] * r0[j+dil]
		v += w[2] * r0[j+2*dil]
		v += w[3] * r1[j]
		v += w[4] * r1[j+dil]
		v += w[5] * r1[j+2*dil]
		v += w[6] * r2[j]
		v += w[7] * r2[j+dil]
		v += w[8] * r2[j+2*dil]
		o[i] = v
	}
}

type dwTap struct{ off, lo, hi int }

// dwRow adds one filter row's taps into the output row o:
//
//	for kj, t := range taps {
//		for ox := t.lo; ox < t.hi; ox++ {
//			o[ox] += w[kj] * s[ox*stride+t.off]
//		}
//	}
//
// For three taps (3x3 filters) the middle stretch where all three are in
// bounds is one fused pass, o[ox] = o[ox] + w0·s0 + w1·s1 + w2·s2, which
// adds in the same order as the loop above.
func dwRow(o, s, w []float32, taps []dwTap, stride, dil int) {
	if len(taps) == 3 {
		lo := max(taps[0].lo, taps[1].lo, taps[2].lo)
		hi := min(taps[0].hi, taps[1].hi, taps[2].hi)
		if lo < hi {
			for kj, t := range taps {
				dwTapRun(o, s, w[kj], t.off, stride, t.lo, min(t.hi, lo))
			}
			dw3(o[lo:hi], s[lo*stride+taps[0].off:], w[0], w[1], w[2], stride, dil)
			for kj, t := range taps {
				dwTapRun(o, s, w[kj], t.off, stride, max(t.lo, hi), t.hi)
			}
			return
		}
	}
	for kj, t := range taps {
		dwTapRun(o, s, w[kj], t.off, stride, t.lo, t.hi)
	}
}

// dwTapRun adds o[ox] += wv * s[ox*stride+off] for ox in [lo, hi).
func dwTapRun(o, s []float32, wv float32, off, stride, lo, hi int) {
	if lo >= hi {
		return
	}
	d := o[lo:hi]
	if stride == 1 {
		x := s[lo+off : hi+off]
		for i, v := range x {
			d[i] += wv * v
		}
		return
	}
	x := s[lo*stride+off : (hi-1)*stride+off+1]
	for i := range d {
		d[i] += wv * x[i*stride]
	}
}

// dw3 adds three taps, dil apart, into o: o[i] = o[i] + w0·s[i·stride] +
// w1·s[i·stride+dil] + w2·s[i·stride+2·dil]. len(o) ≥ 1.
func dw3(o, s []float32, w0, w1, w2 float32, stride, dil int) {
	n := len(o)
	if stride == 1 {
		a := s[:n]
		b := s[dil : dil+n]
		c := s[2*dil : 2*dil+n]
		for i := range o {
			o[i] = o[i] + w0*a[i] + w1*b[i] + w2*c[i]
		}
		return
	}
	s = s[:(n-1)*stride+2*dil+1]
	for i := range o {
		j := i * stride
		o[i] = o[i] + w0*s[j] + w1*s[j+dil] + w2*s[j+2*dil]
	}
}
