package accel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// poolBench is one pooling layer from a known network.
type poolBench struct {
	name       string
	n, c, h, w int
	p          Pool2DParams
}

var maxPoolBenches = []poolBench{
	{"resnet_stem_1x64x112x112_k3s2p1", 1, 64, 112, 112, Pool2DParams{KernelH: 3, KernelW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}},
	{"vgg_1x64x224x224_k2s2", 1, 64, 224, 224, Pool2DParams{KernelH: 2, KernelW: 2}},
	{"googlenet_1x192x56x56_k3s2_ceil", 1, 192, 56, 56, Pool2DParams{KernelH: 3, KernelW: 3, StrideH: 2, StrideW: 2, CeilMode: true}},
	{"small_1x16x28x28_k3s2p1", 1, 16, 28, 28, Pool2DParams{KernelH: 3, KernelW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}},
}

// reportTaps reports the window taps read per second: the pooling analogue
// of GFLOP/s.
func reportTaps(b *testing.B, taps int) {
	b.ReportMetric(float64(taps)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gtap/s")
}

func BenchmarkMaxPool2D(b *testing.B) {
	for _, bc := range maxPoolBenches {
		oh, ow := bc.p.OutputSize(bc.h, bc.w)
		src := randomPlanes(rand.New(rand.NewPCG(1, 1)), bc.n*bc.c*bc.h*bc.w, false)
		dst := make([]float32, bc.n*bc.c*oh*ow)
		ind := make([]int32, len(dst))
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(4 * (len(src) + len(dst))))
			for b.Loop() {
				MaxPool2D(dst, nil, src, bc.n, bc.c, bc.h, bc.w, bc.p)
			}
			reportTaps(b, len(dst)*bc.p.KernelH*bc.p.KernelW)
		})
		b.Run(bc.name+"_indices", func(b *testing.B) {
			b.SetBytes(int64(4 * (len(src) + 2*len(dst))))
			for b.Loop() {
				MaxPool2D(dst, ind, src, bc.n, bc.c, bc.h, bc.w, bc.p)
			}
			reportTaps(b, len(dst)*bc.p.KernelH*bc.p.KernelW)
		})
	}
}

// BenchmarkMaxPool2DSplit compares running the planes serially with
// handing them to the worker pool, at growing work sizes: it chose
// poolParallelWork.
func BenchmarkMaxPool2DSplit(b *testing.B) {
	p := Pool2DParams{KernelH: 3, KernelW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}.withDefaults()
	for _, side := range []int{8, 14, 20, 28, 40, 56, 80, 112} {
		const planes = 16
		oh, ow := p.OutputSize(side, side)
		src := randomPlanes(rand.New(rand.NewPCG(1, 1)), planes*side*side, false)
		dst := make([]float32, planes*oh*ow)
		in, out := side*side, oh*ow
		plane := func(q int) {
			maxPoolPlaneValues(dst[q*out:(q+1)*out], src[q*in:(q+1)*in], side, side, oh, ow, p)
		}
		taps := planes * out * 9
		b.Run(fmt.Sprintf("taps=%d/serial", taps), func(b *testing.B) {
			for b.Loop() {
				for q := 0; q < planes; q++ {
					plane(q)
				}
			}
			reportTaps(b, taps)
		})
		b.Run(fmt.Sprintf("taps=%d/parallel", taps), func(b *testing.B) {
			for b.Loop() {
				parallelFor(planes, plane)
			}
			reportTaps(b, taps)
		})
	}
}

func BenchmarkAvgPool2D(b *testing.B) {
	for _, bc := range []poolBench{
		{"inception_1x192x35x35_k3s1p1", 1, 192, 35, 35, Pool2DParams{KernelH: 3, KernelW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1}},
		{"densenet_transition_1x128x56x56_k2s2", 1, 128, 56, 56, Pool2DParams{KernelH: 2, KernelW: 2}},
	} {
		oh, ow := bc.p.OutputSize(bc.h, bc.w)
		src := randomPlanes(rand.New(rand.NewPCG(1, 1)), bc.n*bc.c*bc.h*bc.w, false)
		dst := make([]float32, bc.n*bc.c*oh*ow)
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(4 * (len(src) + len(dst))))
			for b.Loop() {
				AvgPool2D(dst, src, bc.n, bc.c, bc.h, bc.w, bc.p)
			}
			reportTaps(b, len(dst)*bc.p.KernelH*bc.p.KernelW)
		})
	}
}

func BenchmarkAdaptivePool2D(b *testing.B) {
	for _, bc := range []struct {
		name                   string
		n, c, h, w, outH, outW int
	}{
		{"alexnet_1x256x13x13_to_6x6", 1, 256, 13, 13, 6, 6},
		{"resnet_head_1x512x7x7_to_1x1", 1, 512, 7, 7, 1, 1},
	} {
		src := randomPlanes(rand.New(rand.NewPCG(1, 1)), bc.n*bc.c*bc.h*bc.w, false)
		dst := make([]float32, bc.n*bc.c*bc.outH*bc.outW)
		ind := make([]int32, len(dst))
		b.Run("avg/"+bc.name, func(b *testing.B) {
			b.SetBytes(int64(4 * (len(src) + len(dst))))
			for b.Loop() {
				AdaptiveAvgPool2D(dst, src, bc.n, bc.c, bc.h, bc.w, bc.outH, bc.outW)
			}
		})
		b.Run("max/"+bc.name, func(b *testing.B) {
			b.SetBytes(int64(4 * (len(src) + 2*len(dst))))
			for b.Loop() {
				AdaptiveMaxPool2D(dst, ind, src, bc.n, bc.c, bc.h, bc.w, bc.outH, bc.outW)
			}
		})
	}
}

func BenchmarkGlobalPool2D(b *testing.B) {
	const n, c, h, w = 1, 2048, 7, 7 // ResNet-50's head
	src := randomPlanes(rand.New(rand.NewPCG(1, 1)), n*c*h*w, false)
	dst := make([]float32, n*c)
	b.Run("avg/1x2048x7x7", func(b *testing.B) {
		b.SetBytes(int64(4 * len(src)))
		for b.Loop() {
			GlobalAvgPool2D(dst, src, n, c, h, w)
		}
	})
	b.Run("max/1x2048x7x7", func(b *testing.B) {
		b.SetBytes(int64(4 * len(src)))
		for b.Loop() {
			GlobalMaxPool2D(dst, src, n, c, h, w)
		}
	})
}

func BenchmarkMaxUnpool2D(b *testing.B) {
	// SegNet's first decoder stage: 1×64×112×112 back to 224×224.
	const n, c, h, w = 1, 64, 224, 224
	p := Pool2DParams{KernelH: 2, KernelW: 2}
	oh, ow := p.OutputSize(h, w)
	src := randomPlanes(rand.New(rand.NewPCG(1, 1)), n*c*h*w, false)
	pooled, ind := make([]float32, n*c*oh*ow), make([]int32, n*c*oh*ow)
	MaxPool2D(pooled, ind, src, n, c, h, w, p)
	dst := make([]float32, n*c*h*w)
	b.Run("segnet_1x64x112x112_to_224x224", func(b *testing.B) {
		b.SetBytes(int64(4 * (2*len(pooled) + len(dst))))
		for b.Loop() {
			MaxUnpool2D(dst, pooled, ind, n, c, oh, ow, h, w)
		}
	})
}
