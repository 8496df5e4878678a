package accel

import (
	"fmt"
	"math"
)

// Activation is the nonlinearity an Epilogue applies last.
type Activation int

const (
	ActLinear    Activation = iota // y
	ActReLU                        // max(y, 0)
	ActReLU6                       // min(max(y, 0), 6)
	ActLeakyReLU                   // max(y, 0) + Slope·min(y, 0)
	ActSigmoid                     // 1/(1+e^-y), computed in float64 and rounded
)

var actNames = [...]string{"linear", "relu", "relu6", "leaky_relu", "sigmoid"}

func (a Activation) String() string {
	if a >= 0 && int(a) < len(actNames) {
		return actNames[a]
	}
	return fmt.Sprintf("Activation(%d)", int(a))
}

// Epilogue is what Conv2D does to each output value y of channel oc after
// the convolution sum, fused into the kernel while the values are in cache:
//
//	if e.Bias != nil || e.Scale != nil || e.Shift != nil {
//		b, s, t := float32(0), float32(1), float32(0) // a nil slice's value
//		if e.Bias != nil {
//			b = e.Bias[oc]
//		}
//		if e.Scale != nil {
//			s = e.Scale[oc]
//		}
//		if e.Shift != nil {
//			t = e.Shift[oc]
//		}
//		y = (y+b)*s + t
//	}
//	switch e.Act {
//	case ActReLU:
//		y = max(y, 0)
//	case ActReLU6:
//		y = min(max(y, 0), 6)
//	case ActLeakyReLU:
//		y = max(y, 0) + e.Slope*min(y, 0)
//	case ActSigmoid:
//		y = float32(1 / (1 + math.Exp(-float64(y))))
//	}
//
// that is y = act((conv + bias)·scale + shift): Scale and Shift are a batch
// norm folded for inference (scale = γ/√(var+ε), shift = β − mean·scale).
// Each slice is nil or holds at least one value per output channel. NaN
// passes through every activation (Go's min and max return NaN for a NaN
// operand; they are also branch-free, which matters on signs a branch
// predictor cannot guess). A nil *Epilogue, like the zero one,
// leaves the sums as they are.
type Epilogue struct {
	Bias  []float32 // added per output channel; nil: none
	Scale []float32 // multiplied per output channel; nil: none
	Shift []float32 // added per output channel after Scale; nil: none
	Act   Activation
	Slope float32 // the negative slope of ActLeakyReLU
}

// isIdentity reports whether e changes nothing.
func (e *Epilogue) isIdentity() bool {
	return e == nil || !e.affine() && e.Act == ActLinear
}

func (e *Epilogue) affine() bool { return e.Bias != nil || e.Scale != nil || e.Shift != nil }

// apply runs the epilogue of channel oc over y in place, in one pass.
func (e *Epilogue) apply(y []float32, oc int) {
	if !e.affine() {
		activate(y, e.Act, e.Slope)
		return
	}
	b, s, t := float32(0), float32(1), float32(0)
	if e.Bias != nil {
		b = e.Bias[oc]
	}
	if e.Scale != nil {
		s = e.Scale[oc]
	}
	if e.Shift != nil {
		t = e.Shift[oc]
	}
	switch e.Act {
	case ActLinear:
		for i, v := range y {
			y[i] = (v+b)*s + t
		}
	case ActReLU:
		for i, v := range y {
			y[i] = max((v+b)*s+t, 0)
		}
	case ActReLU6:
		for i, v := range y {
			y[i] = min(max((v+b)*s+t, 0), 6)
		}
	case ActLeakyReLU:
		slope := e.Slope
		for i, v := range y {
			v = (v+b)*s + t
			y[i] = max(v, 0) + slope*min(v, 0)
		}
	case ActSigmoid:
		for i, v := range y {
			v = (v+b)*s + t
			y[i] = float32(1 / (1 + math.Exp(-float64(v))))
		}
	}
}

// activate applies act to y in place.
func activate(y []float32, act Activation, slope float32) {
	switch act {
	case ActReLU:
		for i, v := range y {
			y[i] = max(v, 0)
		}
	case ActReLU6:
		for i, v := range y {
			y[i] = min(max(v, 0), 6)
		}
	case ActLeakyReLU:
		for i, v := range y {
			y[i] = max(v, 0) + slope*min(v, 0)
		}
	case ActSigmoid:
		for i, v := range y {
			y[i] = float32(1 / (1 + math.Exp(-float64(v))))
		}
	}
}

func (e *Epilogue) check(outC int) {
	if e == nil {
		return
	}
	for _, s := range []struct {
		name string
		v    []float32
	}{{"Bias", e.Bias}, {"Scale", e.Scale}, {"Shift", e.Shift}} {
		if s.v != nil && len(s.v) < outC {
			panic(fmt.Sprintf("accel: Conv2D: len(ep.%s) = %d, need at least OutC=%d", s.name, len(s.v), outC))
		}
	}
	if e.Act < ActLinear || e.Act > ActSigmoid {
		panic(fmt.Sprintf("accel: Conv2D: unknown activation %d", int(e.Act)))
	}
}

// Conv2D computes a 2-D convolution (cross-correlation, as in PyTorch) of
// the NCHW batch src with weight, followed by the epilogue ep (nil: none),
// overwriting dst. With Cg = C/Groups, OCg = OutC/Groups and OH, OW from
// p.OutSize, it computes
//
//	for n := 0; n < N; n++ {
//		for oc := 0; oc < OutC; oc++ {
//			g := oc / OCg
//			for oy := 0; oy < OH; oy++ {
//				for ox := 0; ox < OW; ox++ {
//					var y float32
//					for ci := 0; ci < Cg; ci++ {
//						for ki := 0; ki < KH; ki++ {
//							for kj := 0; kj < KW; kj++ {
//								iy := oy*StrideH - PadH + ki*DilationH
//								ix := ox*StrideW - PadW + kj*DilationW
//								if 0 <= iy && iy < H && 0 <= ix && ix < W {
//									y += weight[((oc*Cg+ci)*KH+ki)*KW+kj] *
//										src[((n*C+g*Cg+ci)*H+iy)*W+ix]
//								}
//							}
//						}
//					}
//					dst[((n*OutC+oc)*OH+oy)*OW+ox] = ep(y, oc) // see Epilogue
//				}
//			}
//		}
//	}
//
// src is [N, C, H, W], weight is [OutC, C/Groups, KH, KW] (PyTorch's
// layout), dst is [N, OutC, OH, OW], all row-major; dst is overwritten, not
// read, and must not overlap src or weight.
//
// The padding is PadH, PadW on both sides plus PadAfterH, PadAfterW below
// and right (ConvParams); the loop's bounds checks cover both, the
// after-padding only enlarging OH and OW.
//
// The method depends on the shape: a 1x1 kernel with stride 1 and no
// padding is one Sgemm per image and group on the data as it lies; a
// depthwise convolution (Groups == C, OutC a multiple of C) runs a direct
// kernel, in parallel over channels (3x3 ones at stride 1 or 2 a vector
// kernel, where the machine has one); a 3x3 stride-1 convolution over
// enough channels and pixels runs Winograd's F(2×2, 3×3) where the machine
// has its kernels (see conv2d_winograd.go); anything else lowers blocks of
// output rows with Im2col into pooled scratch and multiplies them with
// Sgemm. The
// epilogue runs on each tile of the output while it is in cache. Each path
// sums in a fixed order, so the result does not depend on the thread count;
// it can differ from the loop above, and between paths, by float32
// rounding. Conv2D is safe for concurrent use.
//
// It panics (see the package doc) if a dimension is out of range, C or OutC
// is not divisible by Groups, the dilated kernel is larger than the padded
// input, a slice is too short, or ep has a short slice or unknown
// activation; for example
//
//	accel: Conv2D: C=6 not divisible by Groups=4
func Conv2D(dst, src, weight []float32, p ConvParams, ep *Epilogue) {
	conv2D("Conv2D", dst, src, weight, nil, nil, p, ep)
}

// conv2D is Conv2D, with the GEMM paths reading the weights from pw when
// it is not nil, and the Winograd path its transformed weights from wc
// (PackedConv.Conv2D).
func conv2D(fn string, dst, src, weight []float32, pw *packedGroups, wc *winoCache, p ConvParams, ep *Epilogue) {
	q, oh, ow := p.check(fn, true)
	cg := q.C / q.Groups
	checkConvLen(fn, "src", src, q.N*q.C*q.H*q.W,
		fmt.Sprintf("N=%d C=%d H=%d W=%d", q.N, q.C, q.H, q.W))
	checkConvLen(fn, "weight", weight, q.OutC*cg*q.KH*q.KW,
		fmt.Sprintf("OutC=%d C/Groups=%d KH=%d KW=%d", q.OutC, cg, q.KH, q.KW))
	checkConvLen(fn, "dst", dst, q.N*q.OutC*oh*ow,
		fmt.Sprintf("N=%d OutC=%d OH=%d OW=%d", q.N, q.OutC, oh, ow))
	ep.check(q.OutC)
	if ep.isIdentity() {
		ep = nil
	}
	if q.N == 0 {
		return
	}

	asym := q.PadAfterH != 0 || q.PadAfterW != 0
	switch {
	case cg == 1 && q.Groups == q.C && q.OutC == q.C && q.KH == 3 && q.KW == 3 &&
		q.DilationH == 1 && q.DilationW == 1 && q.StrideH == q.StrideW &&
		(q.StrideW == 2 && dw3x3s2Kernel != nil || q.StrideW == 1 && q.PadW == 1 && dw3x3s1Kernel != nil):
		depthwiseRows(dst, src, weight, q, oh, ow, ep)
	case cg == 1 && q.Groups == q.C && q.OutC == q.C && dw3x3Kernel != nil && !asym &&
		q.KH == 3 && q.KW == 3 && q.StrideH == 1 && q.StrideW == 1 && q.DilationH == 1 && q.DilationW == 1:
		depthwisePadded(dst, src, weight, q, oh, ow, ep)
	case cg == 1 && q.Groups == q.C && (q.C > 1 || q.OutC == 1):
		// One input channel per group. A single input channel with
		// several outputs (LeNet-5's C1, 1→6) is an ordinary convolution
		// and goes to the GEMM paths below, 2.5–6× faster than the direct
		// kernel there (BenchmarkConv2DOneChannel).
		depthwise(dst, src, weight, q, oh, ow, ep)
	case asym:
		// The paths below read the input as it lies (conv1x1) or pad a
		// copy symmetrically; the implicit GEMM bounds-checks every tap.
		convIm2col(dst, src, weight, pw, q, oh, ow, ep)
	case q.KH == 1 && q.KW == 1 && q.StrideH == 1 && q.StrideW == 1 && q.PadH == 0 && q.PadW == 0:
		conv1x1(dst, src, weight, pw, q, ep)
	case useWinograd(q, oh, ow):
		var u *winoWeights
		if wc != nil {
			u = wc.get(weight, q.OutC, q.C)
		}
		convWinograd(dst, src, weight, u, q, oh, ow, ep)
	case q.StrideH == 1 && q.StrideW == 1 && cg*q.KH*q.KW >= paddedMin(),
		q.StrideH == 2 && q.StrideW == 2 && q.DilationH == 1 && q.DilationW == 1 &&
			gemm.direct != nil && cg*q.KH*q.KW >= directMinK && newGrid(q).len(cg) <= phaseGridMax:
		convPadded(dst, src, weight, pw, q, oh, ow, ep)
	default:
		convIm2col(dst, src, weight, pw, q, oh, ow, ep)
	}
}

// fusedEpilogue is an Epilogue in the form the GEMM micro-kernels run it,
// in registers: per output channel oc,
//
//	y = y·scale[oc] + shift[oc], scale = Scale[oc] (or 1), shift = Bias[oc]·scale + Shift[oc]
//
// then ReLU or ReLU6 as clamps, or leaky ReLU as max(y, slope·y) (slopes in
// [0, 1]). This is (y+b)·s+t regrouped, equal to it up to float32 rounding.
// Sigmoid (and a leaky slope outside [0, 1]) runs after, in Go, on each
// finished tile while it is in cache.
type fusedEpilogue struct {
	scale, shift []float32 // nil when there is no affine step
	lo, hi       float32
	clampLo      bool
	clampHi      bool
	leaky        bool       // leaky ReLU as max(y, slope·y): slope in [0, 1]
	act          Activation // left to the tile callback; ActLinear for none
	slope        float32
	buf          *[]float32
}

func newFusedEpilogue(e *Epilogue, outC int) *fusedEpilogue {
	f := &fusedEpilogue{}
	if e == nil {
		return f
	}
	if e.affine() {
		f.buf = getBuf(2 * outC)
		f.scale, f.shift = (*f.buf)[:outC], (*f.buf)[outC:2*outC]
		for oc := range f.scale {
			s, t := float32(1), float32(0)
			if e.Scale != nil {
				s = e.Scale[oc]
			}
			if e.Shift != nil {
				t = e.Shift[oc]
			}
			if e.Bias != nil {
				t = e.Bias[oc]*s + t
			}
			f.scale[oc], f.shift[oc] = s, t
		}
	}
	switch e.Act {
	case ActReLU:
		f.clampLo = true
	case ActReLU6:
		f.clampLo, f.clampHi, f.hi = true, true, 6
	case ActLeakyReLU:
		f.slope = e.Slope
		if e.Slope >= 0 && e.Slope <= 1 {
			f.leaky = true
		} else {
			f.act = e.Act // max(y, slope·y) holds only for slopes in [0, 1]
		}
	default:
		f.act, f.slope = e.Act, e.Slope
	}
	return f
}

// release returns the scratch to the pool.
func (f *fusedEpilogue) release() {
	if f.buf != nil {
		putBuf(f.buf)
	}
}

// channelFlags returns the tile* flags of the steps f runs in registers,
// for the kernels that take one channel's epilogue at a time as a
// [5]float32 (channel's): the depthwise and Winograd kernels.
func (f *fusedEpilogue) channelFlags() int {
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
	return flags
}

// channel returns output channel c's epilogue as those kernels read it:
// scale, shift, lo, hi, slope.
func (f *fusedEpilogue) channel(c int) [5]float32 {
	var e [5]float32
	if f.scale != nil {
		e[0], e[1] = f.scale[c], f.shift[c]
	}
	e[2], e[3], e[4] = f.lo, f.hi, f.slope
	return e
}

// gemm multiplies one group: weights w [m, k] by the B that packer packs,
// into c (leading dimension ldc) whose row i is output channel oc0+i, with
// the epilogue fused. then, if not nil, runs on each finished tile after
// the epilogue.
//
// pw, when not nil, is w already packed by packPanelsA with the current
// kernel (a PackedConv's group).
//
// direct, when not nil, is B read in place and packer is not used.
func (f *fusedEpilogue) gemm(m, n, k int, w, pw []float32, packer panelPacker, direct *directB, c []float32, ldc, oc0 int, then tileFunc) {
	var rep *rowEpilogue
	if f.scale != nil || f.clampLo || f.clampHi || f.leaky {
		rep = &rowEpilogue{lo: f.lo, hi: f.hi, clampLo: f.clampLo, clampHi: f.clampHi, leaky: f.leaky, slope: f.slope}
		if f.scale != nil {
			rep.scale, rep.shift = f.scale[oc0:oc0+m], f.shift[oc0:oc0+m]
		}
	}
	post := then
	if f.act != ActLinear {
		post = func(i, h, j, w int) {
			for r := i; r < i+h; r++ {
				activate(c[r*ldc+j:r*ldc+j+w], f.act, f.slope)
			}
			if then != nil {
				then(i, h, j, w)
			}
		}
	}
	sgemmBlocked(gemm, false, m, n, k, 1, w, k, pw, packer, direct, 0, c, ldc, rep, post)
}

// conv1x1 is a pointwise convolution: per image and group, the weights
// [OCg, Cg] times the input planes [Cg, H·W] as they lie.
func conv1x1(dst, src, weight []float32, pw *packedGroups, p ConvParams, ep *Epilogue) {
	cg, ocg, hw := p.C/p.Groups, p.OutC/p.Groups, p.H*p.W
	f := newFusedEpilogue(ep, p.OutC)
	defer f.release()
	for n := 0; n < p.N; n++ {
		for g := 0; g < p.Groups; g++ {
			x := src[(n*p.C+g*cg)*hw:]
			y := dst[(n*p.OutC+g*ocg)*hw:]
			f.gemm(ocg, hw, cg, weight[g*ocg*cg:], pw.group(g), matrixPacker(false, x, hw), nil, y, hw, g*ocg, nil)
		}
	}
}

// convIm2col multiplies each group's weights [OCg, K] by the group's
// lowered image [K, OH·OW] (K = Cg·KH·KW) as one GEMM whose B panels are
// packed straight from the image (im2colPacker), writing into dst's planes:
// the lowered matrix is never materialised.
func convIm2col(dst, src, weight []float32, pw *packedGroups, p ConvParams, oh, ow int, ep *Epilogue) {
	cg, ocg := p.C/p.Groups, p.OutC/p.Groups
	k := cg * p.KH * p.KW
	ohw := oh * ow
	f := newFusedEpilogue(ep, p.OutC)
	defer f.release()
	for n := 0; n < p.N; n++ {
		for g := 0; g < p.Groups; g++ {
			img := src[(n*p.C+g*cg)*p.H*p.W:]
			y := dst[(n*p.OutC+g*ocg)*ohw:]
			f.gemm(ocg, ohw, k, weight[g*ocg*k:], pw.group(g), im2colPacker(img, p, oh, ow), nil, y, ohw, g*ocg, nil)
		}
	}
}
