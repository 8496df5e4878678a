package nn

import (
	"fmt"

	"govision.dev/vision/tensor"
)

// Backward returns the gradient of ForwardIndices' input, [N, C, inH, inW],
// given gy [N, C, OH, OW] and the indices ForwardIndices returned: each
// output's gradient goes to the input value its index names (summed where
// windows overlap on one maximum). An index outside the plane — a window
// that lay wholly in the padding, possible only with dilation — passes
// nothing back.
func (m *MaxPool2d) Backward(gy *tensor.Tensor, ind *Indices, inH, inW int) (*tensor.Tensor, error) {
	return indexBackward("MaxPool2d", gy, ind, inH, inW)
}

// Backward returns the gradient of ForwardIndices' input as
// MaxPool2d.Backward does.
func (a *AdaptiveMaxPool2d) Backward(gy *tensor.Tensor, ind *Indices, inH, inW int) (*tensor.Tensor, error) {
	return indexBackward("AdaptiveMaxPool2d", gy, ind, inH, inW)
}

func indexBackward(layer string, gy *tensor.Tensor, ind *Indices, h, w int) (*tensor.Tensor, error) {
	if ind == nil {
		return nil, fmt.Errorf("%w: %s backward: no indices", ErrShape, layer)
	}
	s := ind.Shape
	if err := checkGrad(layer, gy, s[:]); err != nil {
		return nil, err
	}
	if h < 1 || w < 1 || len(ind.Data) != gy.Len() {
		return nil, fmt.Errorf("%w: %s backward: input plane %dx%d, %d indices for %v", ErrShape, layer, h, w, len(ind.Data), s)
	}
	gx := tensor.New(s[0], s[1], h, w)
	in, out := h*w, s[2]*s[3]
	dst, dy := gx.Data(), gy.Data()
	for q := 0; q < s[0]*s[1]; q++ {
		plane := dst[q*in : (q+1)*in]
		idx := ind.Data[q*out : (q+1)*out]
		for i, v := range dy[q*out : (q+1)*out] {
			if k := int(idx[i]); k >= 0 && k < in {
				plane[k] += v
			}
		}
	}
	return gx, nil
}

// Backward returns the gradient of Forward's input, [N, C, inH, inW],
// given gy [N, C, OH, OW]: each output's gradient divided by its window's
// divisor (as Forward divides) and added to every input value of the
// window.
func (a *AvgPool2d) Backward(gy *tensor.Tensor, inH, inW int) (*tensor.Tensor, error) {
	n, c, _, _, err := nchw("AvgPool2d", gy, -1)
	if err != nil {
		return nil, err
	}
	p := a.params(a.ExcludePad)
	oh, ow := p.OutputSize(inH, inW)
	if inH < 1 || inW < 1 || oh < 1 || ow < 1 {
		return nil, fmt.Errorf("%w: AvgPool2d backward: input plane %dx%d", ErrShape, inH, inW)
	}
	if err := checkGrad("AvgPool2d", gy, []int{n, c, oh, ow}); err != nil {
		return nil, err
	}
	h, w := inH, inW
	gx := tensor.New(n, c, h, w)
	dst, dy := gx.Data(), gy.Data()
	for q := 0; q < n*c; q++ {
		plane, g := dst[q*h*w:(q+1)*h*w], dy[q*oh*ow:(q+1)*oh*ow]
		for y := 0; y < oh; y++ {
			r0 := y*p.StrideH - p.PadH
			r1 := min(r0+p.KernelH, h+p.PadH)
			padH := r1 - r0
			r0, r1 = max(r0, 0), min(r1, h)
			for xx := 0; xx < ow; xx++ {
				s0 := xx*p.StrideW - p.PadW
				s1 := min(s0+p.KernelW, w+p.PadW)
				padW := s1 - s0
				s0, s1 = max(s0, 0), min(s1, w)
				if r0 >= r1 || s0 >= s1 {
					continue
				}
				div := (r1 - r0) * (s1 - s0)
				if p.CountIncludePad {
					div = padH * padW
				}
				v := g[y*ow+xx] / float32(div)
				for r := r0; r < r1; r++ {
					row := plane[r*w+s0 : r*w+s1]
					for j := range row {
						row[j] += v
					}
				}
			}
		}
	}
	return gx, nil
}

// Backward returns the gradient of Forward's input, [N, C, inH, inW],
// given gy [N, C, OH, OW]: each output's gradient divided by its window's
// area and added to the window's inputs.
func (a *AdaptiveAvgPool2d) Backward(gy *tensor.Tensor, inH, inW int) (*tensor.Tensor, error) {
	n, c, oh, ow, err := nchw("AdaptiveAvgPool2d", gy, -1)
	if err != nil {
		return nil, err
	}
	wantH, wantW := a.OutH, a.OutW
	if wantH == 0 {
		wantH = inH
	}
	if wantW == 0 {
		wantW = inW
	}
	if inH < 1 || inW < 1 || oh != wantH || ow != wantW {
		return nil, fmt.Errorf("%w: AdaptiveAvgPool2d backward: output gradient %v for a %dx%d input, want %dx%d planes",
			ErrShape, gy.Shape(), inH, inW, wantH, wantW)
	}
	h, w := inH, inW
	gx := tensor.New(n, c, h, w)
	dst, dy := gx.Data(), gy.Data()
	for q := 0; q < n*c; q++ {
		plane, g := dst[q*h*w:(q+1)*h*w], dy[q*oh*ow:(q+1)*oh*ow]
		for y := 0; y < oh; y++ {
			r0, r1 := y*h/oh, ((y+1)*h+oh-1)/oh
			for xx := 0; xx < ow; xx++ {
				s0, s1 := xx*w/ow, ((xx+1)*w+ow-1)/ow
				v := g[y*ow+xx] / float32((r1-r0)*(s1-s0))
				for r := r0; r < r1; r++ {
					row := plane[r*w+s0 : r*w+s1]
					for j := range row {
						row[j] += v
					}
				}
			}
		}
	}
	return gx, nil
}
