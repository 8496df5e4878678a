package nn

import (
	"fmt"
	"slices"

	"govision.dev/accel"
	"govision.dev/vision/tensor"
)

// Backward passes. Each layer's Backward takes what its forward pass saw
// (the input, or only its shape, and what a training forward saved) and
// gy, the gradient of a scalar loss with respect to the layer's output,
// of the output's shape, and returns new tensors: the gradient with
// respect to the input (gx, of the input's shape) and to each parameter
// (of the parameter's shape). Nothing is accumulated into the layer; the
// caller (package autograd) adds the results where they belong. A want
// flag that is false skips that gradient and returns nil for it. Sums over
// the batch run in a fixed order, so results do not depend on the thread
// count. A Backward is safe for concurrent use, like Forward.

// Grads says which gradients a Backward should compute.
type Grads struct {
	Input  bool // the gradient with respect to the layer's input
	Params bool // the gradients with respect to its weight and bias
}

// checkGrad returns an error unless gy has the shape want.
func checkGrad(layer string, gy *tensor.Tensor, want []int) error {
	if gy == nil || !slices.Equal(gy.Shape(), want) {
		var got []int
		if gy != nil {
			got = gy.Shape()
		}
		return fmt.Errorf("%w: %s backward: output gradient %v, want %v", ErrShape, layer, got, want)
	}
	return nil
}

// Backward returns the gradients of Forward(x) given gy [N, OutC, OH, OW]:
// gx [N, InC, H, W], gw of the weight's shape and gb [OutC] (nil without a
// bias). Per image and group it lowers x with accel.Im2col, multiplies
// (accel.Sgemm) gy by the columns for gw and the transposed weight by gy
// for the columns of gx, which accel.Col2im adds back into planes.
func (c *Conv2d) Backward(x, gy *tensor.Tensor, want Grads) (gx, gw, gb *tensor.Tensor, err error) {
	n, _, h, w, err := nchw("Conv2d", x, c.InC)
	if err != nil {
		return nil, nil, nil, err
	}
	p := c.params(n, h, w)
	oh, ow := p.OutSize()
	if err := checkGrad("Conv2d", gy, []int{n, c.OutC, oh, ow}); err != nil {
		return nil, nil, nil, err
	}
	cg, ocg := c.InC/c.Groups, c.OutC/c.Groups
	k := cg * c.KH * c.KW
	plane := oh * ow
	// A 1x1 convolution with stride 1 and no padding needs no lowering:
	// the input planes are the columns.
	direct := c.KH == 1 && c.KW == 1 && c.StrideH == 1 && c.StrideW == 1 && c.PadH == 0 && c.PadW == 0
	var cols []float32
	if !direct {
		cols = make([]float32, k*plane)
	}
	src, dy, weight := x.Data(), gy.Data(), c.Weight.Data()
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
	for i := 0; i < n; i++ {
		for g := 0; g < c.Groups; g++ {
			img := src[(i*c.InC+g*cg)*h*w:]
			dyg := dy[(i*c.OutC+g*ocg)*plane:]
			if want.Params {
				col := img
				if !direct {
					accel.Im2col(cols, img, p)
					col = cols
				}
				// gw_g [OCg, K] += gy_g [OCg, P] · colsᵀ [P, K]
				accel.Sgemm(false, true, ocg, k, plane, 1, dyg, plane, col, plane, 1, gw.Data()[g*ocg*k:], k)
			}
			if want.Input {
				dst := gx.Data()[(i*c.InC+g*cg)*h*w:]
				if direct {
					// gx_g [Cg, P] = W_gᵀ [Cg, OCg] · gy_g [OCg, P]
					accel.Sgemm(true, false, cg, plane, ocg, 1, weight[g*ocg*k:], k, dyg, plane, 0, dst, plane)
					continue
				}
				accel.Sgemm(true, false, k, plane, ocg, 1, weight[g*ocg*k:], k, dyg, plane, 0, cols, plane)
				accel.Col2im(dst[:cg*h*w], cols, p)
			}
		}
	}
	return gx, gw, gb, nil
}

// biasGrad sets gb[c] to the sum of gy's plane c over the batch, in float64,
// image by image. Within a plane four running sums take every fourth value
// and are added at the end: one chain of dependent float64 additions would
// wait on each one's latency (a training step of LeNet-5 sums 400K values
// here).
func biasGrad(gb, gy []float32, n, c, plane int) {
	sums := make([]float64, c)
	for i := 0; i < n; i++ {
		for ch := 0; ch < c; ch++ {
			x := gy[(i*c+ch)*plane : (i*c+ch+1)*plane]
			var s0, s1, s2, s3 float64
			j := 0
			for ; j+4 <= len(x); j += 4 {
				q := (*[4]float32)(x[j : j+4])
				s0 += float64(q[0])
				s1 += float64(q[1])
				s2 += float64(q[2])
				s3 += float64(q[3])
			}
			for ; j < len(x); j++ {
				s0 += float64(x[j])
			}
			sums[ch] += (s0 + s1) + (s2 + s3)
		}
	}
	for ch, s := range sums {
		gb[ch] = float32(s)
	}
}

// Backward returns the gradients of Forward(x) given gy [N, OutC, OH, OW]:
// gx [N, InC, H, W], gw [InC, OutC/Groups, KH, KW] and gb [OutC] (nil
// without a bias). The forward pass scatters Wᵀ·x with Col2im, so the
// backward pass gathers: per image and group, accel.Im2col lowers gy with
// the same window, then gx = W·cols and gw += x·colsᵀ.
func (c *ConvTranspose2d) Backward(x, gy *tensor.Tensor, want Grads) (gx, gw, gb *tensor.Tensor, err error) {
	n, _, h, w, err := nchw("ConvTranspose2d", x, c.InC)
	if err != nil {
		return nil, nil, nil, err
	}
	if h < 1 || w < 1 {
		return nil, nil, nil, fmt.Errorf("%w: ConvTranspose2d: input %v has an empty plane", ErrShape, x.Shape())
	}
	oh, ow := c.OutputSize(h, w)
	if err := checkGrad("ConvTranspose2d", gy, []int{n, c.OutC, oh, ow}); err != nil {
		return nil, nil, nil, err
	}
	cg, ocg := c.InC/c.Groups, c.OutC/c.Groups
	k := ocg * c.KH * c.KW
	p := accel.ConvParams{C: ocg, H: oh, W: ow, KH: c.KH, KW: c.KW,
		StrideH: c.StrideH, StrideW: c.StrideW, PadH: c.PadH, PadW: c.PadW,
		DilationH: c.DilationH, DilationW: c.DilationW}
	// As in Forward, the convolution from the output back to the input
	// may cover a larger grid than the input; x is padded to it and the
	// extra part of gx dropped.
	gh, gwid := p.OutSize()
	src := x.Data()
	if gh != h || gwid != w {
		src = padPlanes(src, n*c.InC, h, w, gh, gwid)
	}
	ncols := gh * gwid
	cols := make([]float32, k*ncols)
	var gxg []float32 // one group's gradient on the larger grid
	if want.Input && (gh != h || gwid != w) {
		gxg = make([]float32, cg*ncols)
	}
	dy, weight := gy.Data(), c.Weight.Data()
	if want.Params {
		gw = tensor.New(c.Weight.Shape()...)
		if c.Bias != nil {
			gb = tensor.New(c.OutC)
			biasGrad(gb.Data(), dy, n, c.OutC, oh*ow)
		}
	}
	if want.Input {
		gx = tensor.New(n, c.InC, h, w)
	}
	for i := 0; i < n; i++ {
		for g := 0; g < c.Groups; g++ {
			accel.Im2col(cols, dy[(i*c.OutC+g*ocg)*oh*ow:][:ocg*oh*ow], p)
			wg := weight[g*cg*k:]
			if want.Params {
				// gw_g [Cg, K] += x_g [Cg, P] · colsᵀ [P, K]
				accel.Sgemm(false, true, cg, k, ncols, 1, src[(i*c.InC+g*cg)*ncols:], ncols, cols, ncols, 1, gw.Data()[g*cg*k:], k)
			}
			if !want.Input {
				continue
			}
			dst := gx.Data()[(i*c.InC+g*cg)*h*w:]
			if gxg == nil {
				// gx_g [Cg, P] = W_g [Cg, K] · cols [K, P]
				accel.Sgemm(false, false, cg, ncols, k, 1, wg, k, cols, ncols, 0, dst, ncols)
				continue
			}
			accel.Sgemm(false, false, cg, ncols, k, 1, wg, k, cols, ncols, 0, gxg, ncols)
			for ci := 0; ci < cg; ci++ {
				for r := 0; r < h; r++ {
					copy(dst[(ci*h+r)*w:(ci*h+r+1)*w], gxg[(ci*gh+r)*gwid:])
				}
			}
		}
	}
	return gx, gw, gb, nil
}

// Backward returns the gradients of Forward(x) given gy [N, Out]: gx of
// x's shape, gw [Out, In] and gb [Out] (nil without a bias).
func (l *Linear) Backward(x, gy *tensor.Tensor, want Grads) (gx, gw, gb *tensor.Tensor, err error) {
	if x == nil || x.Dims() < 1 || x.Dim(0) == 0 || x.Len()%x.Dim(0) != 0 || x.Len()/x.Dim(0) != l.In {
		var s []int
		if x != nil {
			s = x.Shape()
		}
		return nil, nil, nil, fmt.Errorf("%w: Linear backward: input %v, want [N, %d]", ErrShape, s, l.In)
	}
	n := x.Dim(0)
	if err := checkGrad("Linear", gy, []int{n, l.Out}); err != nil {
		return nil, nil, nil, err
	}
	if want.Input {
		gx = tensor.New(x.Shape()...)
		// gx [N, In] = gy [N, Out] · W [Out, In]
		accel.Sgemm(false, false, n, l.In, l.Out, 1, gy.Data(), l.Out, l.Weight.Data(), l.In, 0, gx.Data(), l.In)
	}
	if want.Params {
		gw = tensor.New(l.Out, l.In)
		// gw [Out, In] = gyᵀ [Out, N] · x [N, In]
		accel.Sgemm(true, false, l.Out, l.In, n, 1, gy.Data(), l.Out, x.Data(), l.In, 0, gw.Data(), l.In)
		if l.Bias != nil {
			gb = tensor.New(l.Out)
			biasGrad(gb.Data(), gy.Data(), n, l.Out, 1)
		}
	}
	return gx, gw, gb, nil
}
