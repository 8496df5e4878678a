package accel

import (
	"fmt"
	"math"
)

// MaxPool2x2 is darknet's forward_maxpool_layer with size 2 and stride 2,
// on n·c planes of h×w into planes of oh×ow: oh = h/2 (darknet's padding
// 0) or ⌈h/2⌉ (its default padding 1, which only reaches past the bottom
// and right edges), and likewise ow. Each output is the maximum of its
// window's values inside the plane, taken as darknet takes it:
//
//	m := -MaxFloat32
//	for _, v := range window { // row by row
//		if v > m {
//			m = v
//		}
//	}
//
// so a NaN never wins (a window of NaNs gives -MaxFloat32), unlike
// MaxPool2D's PyTorch rule. On amd64 with AVX-512 the windows run 16 at a
// time (maxPool2x2AVX512): YOLOv3-tiny spent a tenth of its time in them
// as a Go loop. It panics on a bad shape or a short slice.
func MaxPool2x2(dst, src []float32, n, c, h, w, oh, ow int) {
	const name = "MaxPool2x2"
	checkPlanes(name, n, c, h, w)
	if (oh != h/2 && oh != (h+1)/2) || (ow != w/2 && ow != (w+1)/2) || oh < 1 || ow < 1 {
		panic(fmt.Sprintf("accel: %s: output %d×%d from a %d×%d input: want %d or %d rows and %d or %d columns",
			name, oh, ow, h, w, h/2, (h+1)/2, w/2, (w+1)/2))
	}
	checkLen(name, "src", src, n*c*h*w, fmt.Sprintf("n=%d c=%d h=%d w=%d", n, c, h, w))
	checkLen(name, "dst", dst, n*c*oh*ow, fmt.Sprintf("n=%d c=%d outH=%d outW=%d", n, c, oh, ow))
	in, out := h*w, oh*ow
	forPlanes(n*c, n*c*out*4, func(p int) {
		plane, o := src[p*in:(p+1)*in], dst[p*out:(p+1)*out]
		for y := 0; y < oh; y++ {
			// A window past the last row or column repeats it, which
			// leaves darknet's maximum as it is (v > m fails for v = m).
			r0 := plane[2*y*w : 2*y*w+w]
			r1 := plane[min(2*y+1, h-1)*w:][:w]
			row := o[y*ow : (y+1)*ow]
			full := min(ow, w/2)
			maxPool2x2Row(row[:full], r0, r1)
			for x := full; x < ow; x++ {
				row[x] = darknetMax(r0[2*x], r0[w-1], r1[2*x], r1[w-1])
			}
		}
	})
}

// maxPool2x2Row sets dst[x] to darknet's maximum of r0[2x], r0[2x+1],
// r1[2x], r1[2x+1] for x < len(dst); r0 and r1 hold 2·len(dst) values at
// least. Assembly on amd64 with AVX-512.
var maxPool2x2Row = maxPool2x2RowGo

// maxPool2x2Asm says maxPool2x2Row is the assembly.
var maxPool2x2Asm bool

func maxPool2x2RowGo(dst, r0, r1 []float32) {
	n := len(dst)
	r0, r1 = r0[:2*n], r1[:2*n]
	for x := range dst {
		dst[x] = darknetMax(r0[2*x], r0[2*x+1], r1[2*x], r1[2*x+1])
	}
}

// darknetMax is the maximum of four values in darknet's way: from
// -MaxFloat32, each greater value replaces it.
func darknetMax(a, b, c, d float32) float32 {
	m := float32(-math.MaxFloat32)
	if a > m {
		m = a
	}
	if b > m {
		m = b
	}
	if c > m {
		m = c
	}
	if d > m {
		m = d
	}
	return m
}
