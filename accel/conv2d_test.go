package accel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// convRef is Conv2D's doc-comment loop in float64: the exact convolution
// (up to float64 rounding) and, in mag, the same sum over |terms|, which
// bounds the float32 rounding error of any summation order.
func convRef(src, weight []float32, p ConvParams) (y, mag []float64) {
	p = p.withDefaults()
	oh, ow := p.OutSize()
	cg, ocg := p.C/p.Groups, p.OutC/p.Groups
	y = make([]float64, p.N*p.OutC*oh*ow)
	mag = make([]float64, len(y))
	for n := 0; n < p.N; n++ {
		for oc := 0; oc < p.OutC; oc++ {
			g := oc / ocg
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var s, m float64
					for ci := 0; ci < cg; ci++ {
						for ki := 0; ki < p.KH; ki++ {
							for kj := 0; kj < p.KW; kj++ {
								iy := oy*p.StrideH - p.PadH + ki*p.DilationH
								ix := ox*p.StrideW - p.PadW + kj*p.DilationW
								if 0 <= iy && iy < p.H && 0 <= ix && ix < p.W {
									t := float64(weight[((oc*cg+ci)*p.KH+ki)*p.KW+kj]) *
										float64(src[((n*p.C+g*cg+ci)*p.H+iy)*p.W+ix])
									s += t
									m += math.Abs(t)
								}
							}
						}
					}
					i := ((n*p.OutC+oc)*oh+oy)*ow + ox
					y[i], mag[i] = s, m
				}
			}
		}
	}
	return y, mag
}

// epilogueRef applies ep to the float64 sum y of channel oc, and carries the
// error bound mag through it (activations are 1-Lipschitz for |Slope| ≤ 1).
func epilogueRef(ep *Epilogue, y, mag float64, oc int) (float64, float64) {
	if ep == nil {
		return y, mag
	}
	if ep.Bias != nil || ep.Scale != nil || ep.Shift != nil {
		b, s, t := 0.0, 1.0, 0.0
		if ep.Bias != nil {
			b = float64(ep.Bias[oc])
		}
		if ep.Scale != nil {
			s = float64(ep.Scale[oc])
		}
		if ep.Shift != nil {
			t = float64(ep.Shift[oc])
		}
		y = (y+b)*s + t
		mag = (mag+math.Abs(b))*math.Abs(s) + math.Abs(t)
	}
	switch ep.Act {
	case ActReLU:
		y = max(y, 0)
	case ActReLU6:
		y = min(max(y, 0), 6)
	case ActLeakyReLU:
		if y < 0 {
			y *= float64(ep.Slope)
		}
	case ActSigmoid:
		y = 1 / (1 + math.Exp(-y))
	}
	return y, mag
}

// convTol returns the allowed |got − want| for an output whose exact value
// is want and whose terms (products, bias, shift) have absolute sum mag,
// after k products were summed. Summing k float32 products in any order
// errs by at most about (k+1)·u·Σ|terms| with u = 2⁻²⁴ (Higham, Accuracy and
// Stability of Numerical Algorithms, §3.1; the +1 is each product's own
// rounding); the epilogue adds up to four more roundings, and the final
// float32 result one more of |want|. convSlack doubles that worst case to
// leave room for fused multiply-adds, which round differently.
func convTol(want, mag float64, k int) float64 {
	const u = 0x1p-24
	const convSlack = 2
	return convSlack * u * (float64(k+5)*mag + math.Abs(want))
}

// guard is the NaN band after dst that catches out-of-bounds writes.
const guard = 17

type convCase struct {
	name string
	p    ConvParams
}

// convCases covers each path of Conv2D (1x1 GEMM, depthwise, im2col + GEMM)
// and every option: kernel sizes, per-axis stride, padding and dilation,
// groups, batch, and odd sizes straddling the GEMM's tile edges.
var convCases = []convCase{
	// 1x1: GEMM on the data as it lies.
	{"1x1/c8_oc16_7x7", ConvParams{N: 1, C: 8, H: 7, W: 7, OutC: 16, KH: 1, KW: 1}},
	{"1x1/c33_oc17_9x13_n3", ConvParams{N: 3, C: 33, H: 9, W: 13, OutC: 17, KH: 1, KW: 1}},
	{"1x1/g4_c16_oc8_5x6", ConvParams{N: 1, C: 16, H: 5, W: 6, OutC: 8, KH: 1, KW: 1, Groups: 4}},
	{"1x1/h1_w17", ConvParams{N: 1, C: 3, H: 1, W: 17, OutC: 5, KH: 1, KW: 1}},
	{"1x1/stride2", ConvParams{N: 1, C: 6, H: 9, W: 8, OutC: 7, KH: 1, KW: 1, StrideH: 2, StrideW: 2}},
	{"1x1/pad1", ConvParams{N: 2, C: 4, H: 5, W: 5, OutC: 3, KH: 1, KW: 1, PadH: 1, PadW: 1}},
	// im2col + GEMM.
	{"3x3/c3_oc4_7x7", ConvParams{N: 1, C: 3, H: 7, W: 7, OutC: 4, KH: 3, KW: 3}},
	{"3x3/pad1_c16_oc33_17x17", ConvParams{N: 1, C: 16, H: 17, W: 17, OutC: 33, KH: 3, KW: 3, PadH: 1, PadW: 1}},
	{"3x3/pad1_stride2_n3", ConvParams{N: 3, C: 5, H: 11, W: 10, OutC: 7, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}},
	{"3x3/stride3_2", ConvParams{N: 1, C: 4, H: 13, W: 12, OutC: 6, KH: 3, KW: 3, StrideH: 3, StrideW: 2, PadH: 1, PadW: 1}},
	{"3x3/stride1_3", ConvParams{N: 1, C: 4, H: 8, W: 17, OutC: 6, KH: 3, KW: 3, StrideH: 1, StrideW: 3, PadH: 1}},
	{"3x3/pad2_1", ConvParams{N: 1, C: 4, H: 7, W: 9, OutC: 5, KH: 3, KW: 3, PadH: 2, PadW: 1}},
	{"3x3/pad0_3", ConvParams{N: 1, C: 2, H: 6, W: 4, OutC: 5, KH: 3, KW: 3, PadW: 3}},
	{"3x3/dil2_pad2", ConvParams{N: 1, C: 6, H: 12, W: 11, OutC: 8, KH: 3, KW: 3, PadH: 2, PadW: 2, DilationH: 2, DilationW: 2}},
	{"3x3/dil2_1_stride2", ConvParams{N: 2, C: 3, H: 13, W: 9, OutC: 4, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 2, PadW: 1, DilationH: 2, DilationW: 1}},
	{"3x3/g2", ConvParams{N: 1, C: 8, H: 9, W: 9, OutC: 12, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: 2}},
	{"3x3/g4_n3", ConvParams{N: 3, C: 16, H: 7, W: 7, OutC: 8, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: 4}},
	{"3x3/h1_w17", ConvParams{N: 1, C: 3, H: 1, W: 17, OutC: 4, KH: 3, KW: 3, PadH: 1, PadW: 1}},
	{"5x5/pad2_stride2", ConvParams{N: 1, C: 4, H: 15, W: 16, OutC: 9, KH: 5, KW: 5, StrideH: 2, StrideW: 2, PadH: 2, PadW: 2}},
	{"5x5/nopad_7x7", ConvParams{N: 1, C: 3, H: 7, W: 7, OutC: 4, KH: 5, KW: 5}},
	{"7x7/s2_pad3", ConvParams{N: 1, C: 3, H: 23, W: 20, OutC: 16, KH: 7, KW: 7, StrideH: 2, StrideW: 2, PadH: 3, PadW: 3}},
	{"7x7/7x7_pad3", ConvParams{N: 2, C: 2, H: 7, W: 7, OutC: 3, KH: 7, KW: 7, PadH: 3, PadW: 3}},
	{"1x3/pad0_1", ConvParams{N: 1, C: 5, H: 6, W: 9, OutC: 6, KH: 1, KW: 3, PadW: 1}},
	{"3x1/pad1_0_stride2_1", ConvParams{N: 1, C: 5, H: 9, W: 6, OutC: 6, KH: 3, KW: 1, StrideH: 2, PadH: 1}},
	{"pad_larger_than_kernel", ConvParams{N: 1, C: 2, H: 3, W: 3, OutC: 2, KH: 2, KW: 2, PadH: 3, PadW: 3}},
	// The implicit GEMM's blocks: output rows spanning panels, K past the
	// depth block (KC=256), OH·OW past the column block (NC=4096).
	{"3x3/blocks_c16_64x64", ConvParams{N: 1, C: 16, H: 64, W: 64, OutC: 8, KH: 3, KW: 3, PadH: 1, PadW: 1}},
	{"3x3/deep_c40_k360", ConvParams{N: 2, C: 40, H: 12, W: 13, OutC: 9, KH: 3, KW: 3, PadH: 1, PadW: 1}},
	{"3x3/wide_70x70_s1", ConvParams{N: 1, C: 2, H: 70, W: 70, OutC: 3, KH: 3, KW: 3, PadH: 1, PadW: 1}},
	// The phase-plane grid (convPadded at stride 2, K ≥ directMinK, with
	// a direct micro-kernel): odd and even sizes, no padding, groups, 5x5.
	{"3x3/s2_grid_c16_n2", ConvParams{N: 2, C: 16, H: 17, W: 14, OutC: 20, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}},
	{"3x3/s2_grid_c32_16x16", ConvParams{N: 1, C: 32, H: 16, W: 16, OutC: 9, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}},
	{"3x3/s2_grid_nopad", ConvParams{N: 1, C: 20, H: 11, W: 12, OutC: 8, KH: 3, KW: 3, StrideH: 2, StrideW: 2}},
	{"3x3/s2_grid_g2", ConvParams{N: 1, C: 32, H: 13, W: 15, OutC: 12, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Groups: 2}},
	{"5x5/s2_grid_pad2", ConvParams{N: 1, C: 8, H: 19, W: 21, OutC: 7, KH: 5, KW: 5, StrideH: 2, StrideW: 2, PadH: 2, PadW: 2}},
	{"3x3/s2_grid_70x70", ConvParams{N: 1, C: 16, H: 70, W: 70, OutC: 33, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}},
	// The padded grid (convPadded, stride 1 and K ≥ paddedMinK): batches,
	// asymmetric padding, dilation, groups, no padding, past NC columns.
	{"3x3/padded_c64_n2", ConvParams{N: 2, C: 64, H: 9, W: 11, OutC: 10, KH: 3, KW: 3, PadH: 1, PadW: 1}},
	{"3x3/padded_dil2_pad2_1", ConvParams{N: 1, C: 60, H: 10, W: 13, OutC: 9, KH: 3, KW: 3, PadH: 2, PadW: 1, DilationH: 2, DilationW: 2}},
	{"5x5/padded_g2", ConvParams{N: 1, C: 48, H: 8, W: 8, OutC: 6, KH: 5, KW: 5, PadH: 2, PadW: 2, Groups: 2}},
	{"3x3/padded_nopad", ConvParams{N: 1, C: 64, H: 6, W: 7, OutC: 5, KH: 3, KW: 3}},
	{"3x3/padded_70x70", ConvParams{N: 1, C: 64, H: 70, W: 70, OutC: 3, KH: 3, KW: 3, PadH: 1, PadW: 1}},
	// Depthwise: direct kernel.
	{"dw3x3/c8_9x9", ConvParams{N: 1, C: 8, H: 9, W: 9, OutC: 8, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: 8}},
	{"dw3x3/padded_n2_c5_20x23", ConvParams{N: 2, C: 5, H: 20, W: 23, OutC: 5, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: 5}},
	{"dw3x3/padded_pad2_1", ConvParams{N: 1, C: 3, H: 12, W: 30, OutC: 3, KH: 3, KW: 3, PadH: 2, PadW: 1, Groups: 3}},
	{"dw3x3/padded_nopad_7x7", ConvParams{N: 1, C: 4, H: 7, W: 7, OutC: 4, KH: 3, KW: 3, Groups: 4}},
	// Stride 1, padding 1 (depthwiseRows) on planes too small to have an
	// inside.
	{"dw3x3/same_1x1", ConvParams{N: 1, C: 2, H: 1, W: 1, OutC: 2, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: 2}},
	{"dw3x3/same_2x5", ConvParams{N: 1, C: 2, H: 2, W: 5, OutC: 2, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: 2}},
	{"dw3x3/same_5x2", ConvParams{N: 1, C: 2, H: 5, W: 2, OutC: 2, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: 2}},
	{"dw3x3/same_3x3", ConvParams{N: 1, C: 2, H: 3, W: 3, OutC: 2, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: 2}},
	{"dw3x3/same_56x56", ConvParams{N: 1, C: 3, H: 56, W: 56, OutC: 3, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: 3}},
	{"dw3x3/s2_n3_c5_17x16", ConvParams{N: 3, C: 5, H: 17, W: 16, OutC: 5, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Groups: 5}},
	{"dw3x3/nopad", ConvParams{N: 1, C: 3, H: 7, W: 8, OutC: 3, KH: 3, KW: 3, Groups: 3}},
	{"dw3x3/dil2", ConvParams{N: 1, C: 4, H: 11, W: 12, OutC: 4, KH: 3, KW: 3, PadH: 2, PadW: 2, DilationH: 2, DilationW: 2, Groups: 4}},
	{"dw3x3/h1_w17", ConvParams{N: 1, C: 2, H: 1, W: 17, OutC: 2, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: 2}},
	{"dw3x3/w2_pad1", ConvParams{N: 1, C: 2, H: 4, W: 2, OutC: 2, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: 2}},
	{"dw3x3/stride3_1_pad2_0", ConvParams{N: 1, C: 3, H: 10, W: 9, OutC: 3, KH: 3, KW: 3, StrideH: 3, PadH: 2, Groups: 3}},
	{"dw5x5/s2_pad2", ConvParams{N: 1, C: 4, H: 15, W: 14, OutC: 4, KH: 5, KW: 5, StrideH: 2, StrideW: 2, PadH: 2, PadW: 2, Groups: 4}},
	{"dw7x7/pad3", ConvParams{N: 2, C: 3, H: 7, W: 7, OutC: 3, KH: 7, KW: 7, PadH: 3, PadW: 3, Groups: 3}},
	{"dw1x3/pad0_1", ConvParams{N: 1, C: 4, H: 5, W: 9, OutC: 4, KH: 1, KW: 3, PadW: 1, Groups: 4}},
	{"dw1x1", ConvParams{N: 1, C: 4, H: 5, W: 5, OutC: 4, KH: 1, KW: 1, Groups: 4}},
	{"dw3x3/mult2", ConvParams{N: 2, C: 3, H: 8, W: 9, OutC: 6, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: 3}},
	{"dw3x3/c64_56x56", ConvParams{N: 1, C: 64, H: 56, W: 56, OutC: 64, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: 64}},
	// Stride-2 3x3 depthwise (depthwiseRows): whole and masked trips, left
	// padding computed in Go, rows in the top and bottom padding, planes
	// too small for the kernel.
	{"dw3x3/s2_nopad_9x40", ConvParams{N: 1, C: 3, H: 9, W: 40, OutC: 3, KH: 3, KW: 3, StrideH: 2, StrideW: 2, Groups: 3}},
	{"dw3x3/s2_pad2_3", ConvParams{N: 2, C: 2, H: 13, W: 37, OutC: 2, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 2, PadW: 3, Groups: 2}},
	{"dw3x3/s2_pad1_70x70", ConvParams{N: 1, C: 3, H: 70, W: 70, OutC: 3, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Groups: 3}},
	{"dw3x3/s2_pad1_w1", ConvParams{N: 1, C: 2, H: 5, W: 1, OutC: 2, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Groups: 2}},
	{"dw3x3/s2_pad1_h1", ConvParams{N: 1, C: 2, H: 1, W: 19, OutC: 2, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Groups: 2}},
	{"dw3x3/s2_mult2", ConvParams{N: 1, C: 3, H: 10, W: 12, OutC: 6, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadAfterH: 1, PadAfterW: 1, Groups: 3}},
	// After-padding (TensorFlow's SAME: 0 before, 1 after on an even side;
	// ONNX's uneven pads) on every path: depthwise at stride 2 and 1,
	// 1x1, the implicit GEMM where the grids would otherwise take it.
	{"after/dw3x3_s2_same_16x16", ConvParams{N: 1, C: 5, H: 16, W: 16, OutC: 5, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadAfterH: 1, PadAfterW: 1, Groups: 5}},
	{"after/dw3x3_s2_same_n2_34x70", ConvParams{N: 2, C: 3, H: 34, W: 70, OutC: 3, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadAfterH: 1, PadAfterW: 1, Groups: 3}},
	{"after/dw3x3_s2_same_64x64", ConvParams{N: 1, C: 4, H: 64, W: 64, OutC: 4, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadAfterH: 1, PadAfterW: 1, Groups: 4}},
	{"after/dw3x3_s2_pad1_2_3", ConvParams{N: 1, C: 3, H: 11, W: 20, OutC: 3, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, PadAfterH: 2, PadAfterW: 3, Groups: 3}},
	{"after/dw3x3_s2_wide_right_pad", ConvParams{N: 1, C: 2, H: 6, W: 5, OutC: 2, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadAfterH: 4, PadAfterW: 40, Groups: 2}},
	{"after/dw3x3_s2_2x2", ConvParams{N: 1, C: 2, H: 2, W: 2, OutC: 2, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadAfterH: 1, PadAfterW: 1, Groups: 2}},
	{"after/dw3x3_s1", ConvParams{N: 1, C: 3, H: 9, W: 20, OutC: 3, KH: 3, KW: 3, PadH: 1, PadW: 0, PadAfterH: 1, PadAfterW: 2, Groups: 3}},
	{"after/dw2x2_s1_same", ConvParams{N: 1, C: 3, H: 7, W: 8, OutC: 3, KH: 2, KW: 2, PadAfterH: 1, PadAfterW: 1, Groups: 3}},
	{"after/1x1", ConvParams{N: 1, C: 6, H: 5, W: 7, OutC: 4, KH: 1, KW: 1, PadAfterH: 1, PadAfterW: 2}},
	{"after/3x3_s2_same", ConvParams{N: 2, C: 4, H: 10, W: 12, OutC: 6, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadAfterH: 1, PadAfterW: 1}},
	{"after/3x3_s2_grid_c32", ConvParams{N: 1, C: 32, H: 16, W: 14, OutC: 9, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadAfterH: 1, PadAfterW: 1}},
	{"after/3x3_s1_padded_c64", ConvParams{N: 1, C: 64, H: 20, W: 18, OutC: 10, KH: 3, KW: 3, PadH: 1, PadW: 1, PadAfterH: 1, PadAfterW: 2}},
	{"after/4x4_s2_same", ConvParams{N: 1, C: 3, H: 9, W: 8, OutC: 5, KH: 4, KW: 4, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, PadAfterH: 1}},
}

// convEpilogues returns the epilogues every case runs with: none, each
// slice alone and together, and every activation.
func convEpilogues(outC int, rng *rand.Rand) []*Epilogue {
	vec := func(lo, hi float32) []float32 {
		v := make([]float32, outC)
		for i := range v {
			v[i] = lo + (hi-lo)*rng.Float32()
		}
		return v
	}
	bias, scale, shift := vec(-1, 1), vec(0.5, 2), vec(-1, 1)
	return []*Epilogue{
		nil,
		{},
		{Bias: bias},
		{Bias: bias, Act: ActReLU},
		{Scale: scale, Shift: shift, Act: ActReLU6},
		{Bias: bias, Scale: scale, Shift: shift, Act: ActLeakyReLU, Slope: 0.1},
		{Scale: scale, Act: ActLeakyReLU, Slope: -0.5},
		{Shift: shift, Act: ActSigmoid},
		{Act: ActReLU6},
	}
}

func epName(ep *Epilogue) string {
	if ep == nil {
		return "nil"
	}
	var parts []string
	for _, s := range []struct {
		name string
		v    []float32
	}{{"bias", ep.Bias}, {"scale", ep.Scale}, {"shift", ep.Shift}} {
		if s.v != nil {
			parts = append(parts, s.name)
		}
	}
	parts = append(parts, ep.Act.String())
	return strings.Join(parts, "+")
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*rng.Float32() - 1
	}
	return s
}

// runConv calls Conv2D on a NaN-filled dst with a NaN guard band after it,
// fails on a touched guard, and returns dst.
func runConv(t *testing.T, src, weight []float32, p ConvParams, ep *Epilogue) []float32 {
	t.Helper()
	oh, ow := p.OutSize()
	size := p.N * p.OutC * oh * ow
	buf := make([]float32, size+guard)
	for i := range buf {
		buf[i] = float32(math.NaN())
	}
	dst := buf[:size]
	Conv2D(dst, src, weight, p, ep)
	for i, v := range buf[size:] {
		if !math.IsNaN(float64(v)) {
			t.Fatalf("guard band dst[%d] = %v: written past the end", size+i, v)
		}
	}
	return dst
}

func TestConv2D(t *testing.T) {
	defer SetThreads(int(threads.Load()))
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range convCases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p.withDefaults()
			src := randSlice(rng, p.N*p.C*p.H*p.W)
			weight := randSlice(rng, p.OutC*p.C/p.Groups*p.KH*p.KW)
			k := p.C / p.Groups * p.KH * p.KW
			ref, mag := convRef(src, weight, tc.p)
			oh, ow := p.OutSize()
			ohw := oh * ow
			for _, ep := range convEpilogues(p.OutC, rng) {
				SetThreads(1)
				got1 := runConv(t, src, weight, tc.p, ep)
				SetThreads(2)
				got2 := runConv(t, src, weight, tc.p, ep)
				bad := 0
				for i, g := range got1 {
					if math.Float32bits(g) != math.Float32bits(got2[i]) {
						t.Fatalf("ep %s: dst[%d] = %v with 1 thread, %v with 2", epName(ep), i, g, got2[i])
					}
					oc := i / ohw % p.OutC
					want, m := epilogueRef(ep, ref[i], mag[i], oc)
					if d := math.Abs(float64(g) - want); !(d <= convTol(want, m, k)) {
						n, oy, ox := i/(p.OutC*ohw), i%ohw/ow, i%ow
						t.Errorf("ep %s: dst[n=%d oc=%d oy=%d ox=%d] = %v, want %v (error %.3g > tolerance %.3g)",
							epName(ep), n, oc, oy, ox, g, want, d, convTol(want, m, k))
						if bad++; bad > 5 {
							t.FailNow()
						}
					}
				}
			}
		})
	}
}

// TestConv2DDepthwisePaths checks the direct depthwise kernel against the
// im2col + GEMM path on the same depthwise shapes, by running each as a
// grouped convolution the direct kernel does not take (the depthwise
// channels duplicated into groups of two).
func TestConv2DDepthwisePaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range convCases {
		p := tc.p.withDefaults()
		if p.Groups != p.C || p.OutC != p.C {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			src := randSlice(rng, p.N*p.C*p.H*p.W)
			weight := randSlice(rng, p.C*p.KH*p.KW)
			direct := runConv(t, src, weight, p, nil)
			// Groups of two channels, the second input channel's weights
			// zero: the same outputs through im2col, with Cg = 2.
			q := p
			q.C, q.OutC, q.Groups = 2*p.C, 2*p.C, p.C
			src2 := make([]float32, p.N*q.C*p.H*p.W)
			hw := p.H * p.W
			for n := 0; n < p.N; n++ {
				for c := 0; c < p.C; c++ {
					copy(src2[(n*q.C+2*c)*hw:(n*q.C+2*c+1)*hw], src[(n*p.C+c)*hw:])
				}
			}
			kk := p.KH * p.KW
			w2 := make([]float32, q.OutC*2*kk)
			for c := 0; c < p.C; c++ {
				copy(w2[(2*c)*2*kk:(2*c)*2*kk+kk], weight[c*kk:(c+1)*kk])
			}
			viaGemm := runConv(t, src2, w2, q, nil)
			// Both are sums of KH·KW products of values in [-1, 1]: each
			// within convTol of the exact sum, so within twice it of the
			// other.
			tol := 2 * convTol(0, float64(kk), kk)
			oh, ow := p.OutSize()
			ohw := oh * ow
			for n := 0; n < p.N; n++ {
				for c := 0; c < p.C; c++ {
					d := direct[(n*p.C+c)*ohw : (n*p.C+c+1)*ohw]
					g := viaGemm[(n*q.C+2*c)*ohw : (n*q.C+2*c+1)*ohw]
					for i := range d {
						if diff := math.Abs(float64(d[i] - g[i])); diff > tol {
							t.Fatalf("n=%d c=%d i=%d: direct %v, im2col %v", n, c, i, d[i], g[i])
						}
					}
				}
			}
		})
	}
}

func TestIm2col(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range convCases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p.withDefaults()
			cg := p.C / p.Groups
			oh, ow := p.OutSize()
			img := randSlice(rng, cg*p.H*p.W)
			rows, ncols := cg*p.KH*p.KW, oh*ow
			buf := make([]float32, rows*ncols+guard)
			for i := range buf {
				buf[i] = float32(math.NaN())
			}
			Im2col(buf[:rows*ncols], img, tc.p)
			for i, v := range buf[rows*ncols:] {
				if !math.IsNaN(float64(v)) {
					t.Fatalf("guard band cols[%d] = %v: written past the end", rows*ncols+i, v)
				}
			}
			for ci := 0; ci < cg; ci++ {
				for ki := 0; ki < p.KH; ki++ {
					for kj := 0; kj < p.KW; kj++ {
						r := (ci*p.KH+ki)*p.KW + kj
						for oy := 0; oy < oh; oy++ {
							for ox := 0; ox < ow; ox++ {
								iy := oy*p.StrideH - p.PadH + ki*p.DilationH
								ix := ox*p.StrideW - p.PadW + kj*p.DilationW
								var want float32
								if 0 <= iy && iy < p.H && 0 <= ix && ix < p.W {
									want = img[(ci*p.H+iy)*p.W+ix]
								}
								if got := buf[r*ncols+oy*ow+ox]; math.Float32bits(got) != math.Float32bits(want) {
									t.Fatalf("cols[ci=%d ki=%d kj=%d][oy=%d ox=%d] = %v, want %v", ci, ki, kj, oy, ox, got, want)
								}
							}
						}
					}
				}
			}
		})
	}
}

func TestConvOutSize(t *testing.T) {
	for _, tc := range []struct {
		p      ConvParams
		oh, ow int
	}{
		{ConvParams{H: 224, W: 224, KH: 7, KW: 7, StrideH: 2, StrideW: 2, PadH: 3, PadW: 3}, 112, 112},
		{ConvParams{H: 56, W: 56, KH: 3, KW: 3, PadH: 1, PadW: 1}, 56, 56},
		{ConvParams{H: 7, W: 8, KH: 3, KW: 3, StrideH: 2, StrideW: 3}, 3, 2},
		{ConvParams{H: 10, W: 10, KH: 3, KW: 3, DilationH: 2, DilationW: 4}, 6, 2},
		{ConvParams{H: 2, W: 2, KH: 3, KW: 3}, 0, 0},
		// TensorFlow's SAME, ⌈H/2⌉: 0 before and 1 after on an even side.
		{ConvParams{H: 512, W: 256, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadAfterH: 1, PadAfterW: 1}, 256, 128},
		{ConvParams{H: 2, W: 2, KH: 3, KW: 3, PadAfterH: 1, PadAfterW: 2}, 1, 2},
	} {
		if oh, ow := tc.p.OutSize(); oh != tc.oh || ow != tc.ow {
			t.Errorf("%+v: OutSize() = %d, %d, want %d, %d", tc.p, oh, ow, tc.oh, tc.ow)
		}
	}
}

func TestConv2DPanics(t *testing.T) {
	p := ConvParams{N: 1, C: 4, H: 5, W: 5, OutC: 8, KH: 3, KW: 3, PadH: 1, PadW: 1}
	src := make([]float32, 100)
	weight := make([]float32, 8*4*9)
	dst := make([]float32, 8*25)
	with := func(f func(*ConvParams)) ConvParams {
		q := p
		f(&q)
		return q
	}
	checkPanics(t, []panicCase{
		{"groups_c", func() { Conv2D(dst, src, weight, with(func(q *ConvParams) { q.C = 6; q.Groups = 4 }), nil) },
			"accel: Conv2D: C=6 not divisible by Groups=4"},
		{"groups_outc", func() { Conv2D(dst, src, weight, with(func(q *ConvParams) { q.OutC = 6; q.Groups = 4 }), nil) },
			"accel: Conv2D: OutC=6 not divisible by Groups=4"},
		{"negative_pad", func() { Conv2D(dst, src, weight, with(func(q *ConvParams) { q.PadW = -1 }), nil) },
			"accel: Conv2D: PadW=-1, must be at least 0"},
		{"negative_pad_after", func() { Conv2D(dst, src, weight, with(func(q *ConvParams) { q.PadAfterH = -1 }), nil) },
			"accel: Conv2D: PadAfterH=-1, must be at least 0"},
		{"zero_kernel", func() { Conv2D(dst, src, weight, with(func(q *ConvParams) { q.KH = 0 }), nil) },
			"accel: Conv2D: KH=0, must be at least 1"},
		{"kernel_too_big", func() {
			Conv2D(dst, src, weight, with(func(q *ConvParams) { q.PadH = 0; q.KH = 3; q.DilationH = 3 }), nil)
		},
			"accel: Conv2D: 3x3 kernel with dilation 3x1 spans 7x3, more than the 5x7 padded input"},
		{"short_src", func() { Conv2D(dst, src[:99], weight, p, nil) },
			"accel: Conv2D: len(src) = 99, need at least 100 for N=1 C=4 H=5 W=5"},
		{"short_weight", func() { Conv2D(dst, src, weight[:10], p, nil) },
			"accel: Conv2D: len(weight) = 10, need at least 288 for OutC=8 C/Groups=4 KH=3 KW=3"},
		{"short_dst", func() { Conv2D(dst[:199], src, weight, p, nil) },
			"accel: Conv2D: len(dst) = 199, need at least 200 for N=1 OutC=8 OH=5 OW=5"},
		{"short_bias", func() { Conv2D(dst, src, weight, p, &Epilogue{Bias: make([]float32, 7)}) },
			"accel: Conv2D: len(ep.Bias) = 7, need at least OutC=8"},
		{"bad_act", func() { Conv2D(dst, src, weight, p, &Epilogue{Act: 9}) },
			"accel: Conv2D: unknown activation 9"},
		{"im2col_short_cols", func() { Im2col(make([]float32, 10), src, p) },
			"accel: Im2col: len(cols) = 10, need at least 900 for C/Groups·KH·KW=36 rows × OH·OW=25 columns"},
	}, exactly)
}

func ExampleConv2D() {
	// A 3x3 box filter over a 3x3 image, zero-padded to keep the size,
	// then bias −30 and ReLU.
	src := []float32{
		1, 2, 3,
		4, 5, 6,
		7, 8, 9,
	}
	weight := []float32{1, 1, 1, 1, 1, 1, 1, 1, 1}
	p := ConvParams{N: 1, C: 1, H: 3, W: 3, OutC: 1, KH: 3, KW: 3, PadH: 1, PadW: 1}
	oh, ow := p.OutSize()
	dst := make([]float32, oh*ow)
	Conv2D(dst, src, weight, p, &Epilogue{Bias: []float32{-30}, Act: ActReLU})
	for y := 0; y < oh; y++ {
		fmt.Println(dst[y*ow : (y+1)*ow])
	}
	// Output:
	// [0 0 0]
	// [0 15 3]
	// [0 9 0]
}

func ExampleIm2col() {
	// One 2x3 channel, a 1x2 kernel: two rows of columns (kj = 0, 1), one
	// column per output position (2x2).
	img := []float32{
		1, 2, 3,
		4, 5, 6,
	}
	p := ConvParams{C: 1, H: 2, W: 3, KH: 1, KW: 2}
	oh, ow := p.OutSize()
	cols := make([]float32, 2*oh*ow)
	Im2col(cols, img, p)
	fmt.Println(cols[:oh*ow])
	fmt.Println(cols[oh*ow:])
	// Output:
	// [1 2 4 5]
	// [2 3 5 6]
}
