package accel

// The stride-1 col2im, row by row of the image. Col2im's loops add each
// row of the lowered matrix (a kernel tap) into its window of the plane,
// tap after tap; with vectors, every tap then reloads what the previous
// one stored, one float to the side. Here each 16-wide stretch of an
// image row is loaded once, the taps that land on it are added in
// Col2im's order in a register (tapSum), and it is stored once. The taps
// of a stretch — an offset into the channel's rows of cols and a mask of
// the lanes it covers — depend only on the shapes, so they are listed
// once per call and serve every channel.

// tapLanes is the width of one stretch: a 16-float AVX-512 vector.
const tapLanes = 16

// tapSumFunc adds n taps into one stretch of dst (at most tapLanes
// floats, the lanes of dmask):
//
//	for t := 0; t < n; t++ {
//		off, mask := taps[2*t], taps[2*t+1]
//		for x := 0; x < tapLanes; x++ {
//			if mask&(1<<x) != 0 {
//				dst[x] += src[off+x]
//			}
//		}
//	}
//
// src is the channel's first row of cols; off+x ≥ 0 for every lane in a
// tap's mask, and mask ⊆ dmask.
type tapSumFunc func(dst []float32, dmask int, src []float32, taps []int)

// tapSumKernel is the machine's tapSum, nil where it has none
// (col2im_taps_amd64.go sets it): col2im keeps its tap-by-tap loops.
var tapSumKernel tapSumFunc

// tapSumGo is tapSum in Go, for the tests.
func tapSumGo(dst []float32, dmask int, src []float32, taps []int) {
	for t := 0; t+1 < len(taps); t += 2 {
		off, mask := taps[t], taps[t+1]
		for x := 0; x < tapLanes; x++ {
			if mask&(1<<x) != 0 {
				dst[x] += src[off+x]
			}
		}
	}
}

// col2imTaps is col2imRows for StrideW == 1 with tapSum kernel sum, for
// several images at once: image j's planes at img[j*imgStride:], its
// columns at cols[j*colStride:] (row r at cols[j*colStride+r*ld:]). The
// images' channels are the tasks.
func col2imTaps(sum tapSumFunc, img []float32, imgStride int, cols []float32, ld, colStride, images int, p ConvParams, cg, oh, ow, oy0, oy1 int) {
	kk := p.KH * p.KW
	chunks := (p.W + tapLanes - 1) / tapLanes
	// For each image row iy and stretch x0 = c·tapLanes: its taps, in
	// (ki, kj) order, at taps[start[iy*chunks+c]:start[iy*chunks+c+1]].
	var taps []int
	start := make([]int, p.H*chunks+1)
	maxIdx := 0 // the largest index into a channel's rows a tap reads
	for iy := 0; iy < p.H; iy++ {
		for c := 0; c < chunks; c++ {
			x0 := c * tapLanes
			for ki := 0; ki < p.KH; ki++ {
				// Output row oy with oy·StrideH + ki·DilationH − PadH = iy.
				d := iy - (ki*p.DilationH - p.PadH)
				if d < 0 || d%p.StrideH != 0 {
					continue
				}
				oy := d / p.StrideH
				if oy < oy0 || oy >= oy1 || oy >= oh {
					continue
				}
				for kj := 0; kj < p.KW; kj++ {
					xoff := kj*p.DilationW - p.PadW // ix = ox + xoff
					// Image columns covered: [max(0, xoff), min(W, OW+xoff)) within the stretch.
					lo, hi := max(x0, xoff, 0), min(x0+tapLanes, p.W, ow+xoff)
					if lo >= hi {
						continue
					}
					mask := (1<<(hi-x0) - 1) &^ (1<<(lo-x0) - 1)
					off := (ki*p.KW+kj)*ld + (oy-oy0)*ow + x0 - xoff
					taps = append(taps, off, mask)
					maxIdx = max(maxIdx, off+hi-1-x0)
				}
			}
			start[iy*chunks+c+1] = len(taps)
		}
	}
	channel := func(t int) {
		j, ci := t/cg, t%cg
		plane := img[j*imgStride+ci*p.H*p.W:][:p.H*p.W]
		src := cols[j*colStride+ci*kk*ld:]
		_ = src[maxIdx] // every tap's reads are inside cols
		for iy := 0; iy < p.H; iy++ {
			for c := 0; c < chunks; c++ {
				t := taps[start[iy*chunks+c]:start[iy*chunks+c+1]]
				if len(t) == 0 {
					continue
				}
				x0 := iy*p.W + c*tapLanes
				w := min(tapLanes, p.W-c*tapLanes)
				sum(plane[x0:x0+w], 1<<w-1, src, t)
			}
		}
	}
	if images*cg*kk*(oy1-oy0)*ow < im2colSerial {
		for t := 0; t < images*cg; t++ {
			channel(t)
		}
		return
	}
	parallelFor(images*cg, channel)
}
