package nn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"govision.dev/vision/tensor"
)

func randTensor(rng *rand.Rand, shape ...int) *tensor.Tensor {
	x := tensor.New(shape...)
	for i := range x.Data() {
		x.Data()[i] = 2*rng.Float32() - 1
	}
	return x
}

// TestForwardShapeErrors feeds every layer inputs it cannot take: each
// must return an error wrapping ErrShape, and none may panic.
func TestForwardShapeErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x4 := randTensor(rng, 1, 3, 4, 4)
	x3 := randTensor(rng, 3, 4, 4)
	empty := tensor.New(1, 3, 0, 4)
	ind := &Indices{Shape: [4]int{1, 3, 2, 2}, Data: make([]int32, 12)}
	badInd := &Indices{Shape: [4]int{1, 3, 2, 2}, Data: slices.Repeat([]int32{16}, 12)}
	pooled := randTensor(rng, 1, 3, 2, 2)
	unpool := NewMaxUnpool2d(Kernel(2), [2]int{}, [2]int{})
	conv := NewConv2d(3, 4, Kernel(3), ConvOptions{Padding: Padding(1)}, rng)
	seq := NewSequential(NewConv2d(3, 4, Kernel(1), ConvOptions{}, rng), NewLinear(5, 2, true, rng))
	for _, tc := range []struct {
		name string
		call func() error
		want string // in the message
	}{
		{"conv_nil", func() error { _, err := conv.Forward(nil); return err }, "nil input"},
		{"conv_3d", func() error { _, err := conv.Forward(x3); return err }, "want 4 dimensions"},
		{"conv_channels", func() error { _, err := conv.Forward(randTensor(rng, 1, 2, 4, 4)); return err }, "has 2 channels, want 3"},
		{"conv_empty_plane_padded", func() error { _, err := conv.Forward(empty); return err }, "too small"},
		{"conv_too_small", func() error {
			_, err := NewConv2d(3, 4, Kernel(5), ConvOptions{}, rng).Forward(x4)
			return err
		}, "too small"},
		{"bn_channels", func() error { _, err := NewBatchNorm2d(4).Forward(x4); return err }, "want 4"},
		{"linear_features", func() error { _, err := NewLinear(5, 2, true, rng).Forward(x4); return err }, "want [N, 5]"},
		{"relu_nil", func() error { _, err := ReLU{}.Forward(nil); return err }, "nil input"},
		{"sequential_names_child", func() error { _, err := seq.Forward(x4); return err }, "1: "},
		{"maxpool_3d", func() error { _, err := NewMaxPool2d(Kernel(2), PoolOptions{}).Forward(x3); return err }, "4 dimensions"},
		{"maxpool_too_small", func() error {
			_, err := NewMaxPool2d(Kernel(5), PoolOptions{}).Forward(x4)
			return err
		}, "too small"},
		{"maxpool_indices_empty", func() error {
			_, _, err := NewMaxPool2d(Kernel(2), PoolOptions{}).ForwardIndices(empty)
			return err
		}, "empty plane"},
		{"avgpool_too_small", func() error {
			_, err := NewAvgPool2d([2]int{5, 1}, PoolOptions{}).Forward(x4)
			return err
		}, "too small"},
		{"adaptive_avg_empty", func() error { _, err := NewAdaptiveAvgPool2d(1, 1).Forward(empty); return err }, "empty plane"},
		{"adaptive_max_3d", func() error { _, err := NewAdaptiveMaxPool2d(2, 2).Forward(x3); return err }, "4 dimensions"},
		{"unpool_nil_indices", func() error { _, err := unpool.Forward(pooled, nil, nil); return err }, "indices <nil>"},
		{"unpool_indices_shape", func() error {
			_, err := unpool.Forward(randTensor(rng, 1, 3, 2, 3), ind, nil)
			return err
		}, "indices [1 3 2 2] for input [1 3 2 3]"},
		{"unpool_index_outside", func() error { _, err := unpool.Forward(pooled, badInd, nil); return err }, "index 16 at position 0"},
		{"unpool_size_too_far", func() error { _, err := unpool.Forward(pooled, ind, []int{6, 4}); return err }, "output size [6 4]"},
		{"unpool_size_rank", func() error { _, err := unpool.Forward(pooled, ind, []int{4}); return err }, "want [OH, OW]"},
		{"lrn_2d", func() error { _, err := NewLocalResponseNorm(3).Forward(randTensor(rng, 2, 3)); return err }, "3 or more"},
		{"upsample_empty_output", func() error {
			_, err := NewUpsample(InterpolateOptions{ScaleFactor: [2]float64{0.1, 0.1}}).Forward(x4)
			return err
		}, "empty output"},
		{"interpolate_3d", func() error {
			_, err := Interpolate(x3, InterpolateOptions{Size: [2]int{2, 2}, Mode: Bilinear})
			return err
		}, "4 dimensions"},
		{"convtranspose_channels", func() error {
			_, err := NewConvTranspose2d(2, 3, Kernel(3), ConvTransposeOptions{}, rng).Forward(x4)
			return err
		}, "has 3 channels, want 2"},
		{"convtranspose_padding_eats_output", func() error {
			_, err := NewConvTranspose2d(3, 3, Kernel(1), ConvTransposeOptions{Padding: Padding(3)}, rng).Forward(x4)
			return err
		}, "empty"},
		{"convtranspose_empty_plane", func() error {
			_, err := NewConvTranspose2d(3, 3, Kernel(1), ConvTransposeOptions{}, rng).Forward(empty)
			return err
		}, "empty plane"},
		{"softmax_dim", func() error { _, err := NewSoftmax(4).Forward(x4); return err }, "dimension 4"},
		{"logsoftmax_nil", func() error { _, err := NewLogSoftmax(1).Forward(nil); return err }, "nil input"},
		{"flatten_dims", func() error { _, err := (&Flatten{StartDim: 2, EndDim: 1}).Forward(x4); return err }, "dimensions 2 to 1"},
		{"flatten_end_outside", func() error { _, err := (&Flatten{StartDim: 1, EndDim: 4}).Forward(x4); return err }, "dimensions 1 to 4"},
		{"zeropad_negative_size", func() error { _, err := NewZeroPad2d(-3, -2, 0, 0).Forward(x4); return err }, "negative size"},
		{"dropout_nil", func() error { _, err := NewDropout(0.5).Forward(nil); return err }, "nil input"},
		{"identity_nil", func() error { _, err := Identity{}.Forward(nil); return err }, "nil input"},
		{"concat_none", func() error { _, err := Concat(); return err }, "no tensors"},
		{"concat_nil", func() error { _, err := Concat(x4, nil); return err }, "tensor 1 is nil"},
		{"concat_1d", func() error { _, err := Concat(tensor.New(3)); return err }, "at least 2 dimensions"},
		{"concat_spatial", func() error { _, err := Concat(x4, randTensor(rng, 1, 2, 4, 5)); return err }, "tensor 1 is [1 2 4 5]"},
		{"concat_batch", func() error { _, err := Concat(x4, randTensor(rng, 2, 3, 4, 4)); return err }, "tensor 1 is [2 3 4 4]"},
		{"add_shapes", func() error { _, err := Add(x4, randTensor(rng, 1, 3, 4, 5)); return err }, "differ"},
		{"add_into_dst", func() error { return AddInto(tensor.New(4), x4, x4) }, "differ"},
		{"channel_scale_shape", func() error { _, err := ChannelScale(x4, tensor.New(1, 4)); return err }, "want [1, 3]"},
		{"channel_scale_nil", func() error { _, err := ChannelScale(x4, nil); return err }, "nil scale"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if !errors.Is(err, ErrShape) {
				t.Fatalf("error %v, want one wrapping ErrShape", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

// TestConstructorPanics checks that hyper-parameters torch refuses are
// caught when the layer is built, with a message naming the layer.
func TestConstructorPanics(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		call func()
		want string
	}{
		{"maxpool_pad_over_half", func() { NewMaxPool2d(Kernel(3), PoolOptions{Padding: Padding(2)}) }, "nn: NewMaxPool2d: padding"},
		{"maxpool_zero_kernel", func() { NewMaxPool2d([2]int{0, 2}, PoolOptions{}) }, "nn: NewMaxPool2d: kernel"},
		{"maxpool_exclude_pad", func() { NewMaxPool2d(Kernel(2), PoolOptions{ExcludePad: true}) }, "AvgPool2d option"},
		{"avgpool_dilation", func() { NewAvgPool2d(Kernel(2), PoolOptions{Dilation: Dilation(2)}) }, "nn: NewAvgPool2d: dilation"},
		{"adaptive_negative", func() { NewAdaptiveAvgPool2d(-1, 2) }, "negative"},
		{"unpool_stride", func() { NewMaxUnpool2d(Kernel(2), [2]int{-1, 1}, [2]int{}) }, "nn: NewMaxUnpool2d"},
		{"lrn_size", func() { NewLocalResponseNorm(0) }, "nn: NewLocalResponseNorm"},
		{"dropout_p", func() { NewDropout(1.5) }, "nn: NewDropout"},
		{"upsample_both", func() {
			NewUpsample(InterpolateOptions{Size: [2]int{2, 2}, ScaleFactor: [2]float64{2, 2}})
		}, "exactly one"},
		{"upsample_neither", func() { NewUpsample(InterpolateOptions{}) }, "exactly one"},
		{"upsample_mode", func() { NewUpsample(InterpolateOptions{Size: [2]int{2, 2}, Mode: "bicubic"}) }, "mode"},
		{"upsample_align_nearest", func() {
			NewUpsample(InterpolateOptions{Size: [2]int{2, 2}, AlignCorners: true})
		}, "align_corners"},
		{"interpolate_recompute_size", func() {
			Interpolate(tensor.New(1, 1, 2, 2), InterpolateOptions{Size: [2]int{2, 2}, RecomputeScaleFactor: true})
		}, "recompute_scale_factor"},
		{"convtranspose_output_padding", func() {
			NewConvTranspose2d(2, 2, Kernel(3), ConvTransposeOptions{Stride: Stride(2), OutputPadding: Padding(2)}, rng)
		}, "output padding"},
		{"convtranspose_groups", func() {
			NewConvTranspose2d(3, 2, Kernel(3), ConvTransposeOptions{Groups: 2}, rng)
		}, "not divisible by groups 2"},
		{"convtranspose_padding", func() {
			NewConvTranspose2d(2, 2, Kernel(3), ConvTransposeOptions{Padding: [2]int{-1, 0}}, rng)
		}, "negative padding"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				got := fmt.Sprint(recover())
				if !strings.Contains(got, tc.want) {
					t.Errorf("panic %q, want one saying %q", got, tc.want)
				}
			}()
			tc.call()
		})
	}
}

// convTransposeNaive is ConvTranspose2d's definition in float64: each input
// value times each weight tap, added at its output position. mag holds the
// same sums of |terms|, which bound the float32 rounding of any order.
func convTransposeNaive(c *ConvTranspose2d, x *tensor.Tensor) (y, mag []float64, oh, ow int) {
	n, h, w := x.Dim(0), x.Dim(2), x.Dim(3)
	oh, ow = c.OutputSize(h, w)
	cg, ocg := c.InC/c.Groups, c.OutC/c.Groups
	y = make([]float64, n*c.OutC*oh*ow)
	mag = make([]float64, len(y))
	wt, src := c.Weight.Data(), x.Data()
	for i := 0; i < n; i++ {
		for ci := 0; ci < c.InC; ci++ {
			g := ci / cg
			for iy := 0; iy < h; iy++ {
				for ix := 0; ix < w; ix++ {
					v := float64(src[((i*c.InC+ci)*h+iy)*w+ix])
					for o := 0; o < ocg; o++ {
						oc := g*ocg + o
						for ki := 0; ki < c.KH; ki++ {
							for kj := 0; kj < c.KW; kj++ {
								oy := iy*c.StrideH - c.PadH + ki*c.DilationH
								ox := ix*c.StrideW - c.PadW + kj*c.DilationW
								if oy < 0 || oy >= oh || ox < 0 || ox >= ow {
									continue
								}
								t := v * float64(wt[((ci*ocg+o)*c.KH+ki)*c.KW+kj])
								at := ((i*c.OutC+oc)*oh+oy)*ow + ox
								y[at] += t
								mag[at] += math.Abs(t)
							}
						}
					}
				}
			}
		}
	}
	if c.Bias != nil {
		for i := range y {
			b := float64(c.Bias.Data()[i/(oh*ow)%c.OutC])
			y[i] += b
			mag[i] += math.Abs(b)
		}
	}
	return y, mag, oh, ow
}

// TestConvTranspose2dNaive compares ConvTranspose2d with its definition on
// shapes the small fixtures do not reach: input rows split into several
// GEMM blocks (k·W beyond convTransposeBudget), groups with a batch, and
// the padded grid of an output padding of a whole stride. The tolerance is
// Higham's bound for a sum of m terms, 2·m·u·Σ|terms| with u = 2⁻²⁴ (the
// 2 for fused multiply-adds and the GEMM's blocking), m the input channels
// per group times the kernel taps, plus the final rounding.
func TestConvTranspose2dNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		name            string
		inC, outC       int
		kernel          [2]int
		o               ConvTransposeOptions
		n, h, w         int
		wantMultiBlocks bool
	}{
		{"row_blocks_k8_s4", 2, 8, Kernel(8), ConvTransposeOptions{Stride: Stride(4), Padding: Padding(2)}, 1, 20, 64, true},
		{"groups2_batch3", 4, 6, [2]int{3, 2}, ConvTransposeOptions{Stride: [2]int{2, 3}, Padding: [2]int{1, 0}, Groups: 2}, 3, 5, 6, false},
		{"grid_padded_dilation3_op2", 3, 2, Kernel(3), ConvTransposeOptions{Dilation: Dilation(3), OutputPadding: Padding(2), Padding: Padding(1)}, 2, 4, 5, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewConvTranspose2d(tc.inC, tc.outC, tc.kernel, tc.o, rng)
			k := tc.outC / c.Groups * c.KH * c.KW
			if multi := convTransposeBudget/(k*tc.w) < tc.h; multi != tc.wantMultiBlocks {
				t.Fatalf("several row blocks: %v, want %v (k·W = %d)", multi, tc.wantMultiBlocks, k*tc.w)
			}
			x := randTensor(rng, tc.n, tc.inC, tc.h, tc.w)
			got, err := c.Forward(x)
			if err != nil {
				t.Fatal(err)
			}
			want, mag, oh, ow := convTransposeNaive(c, x)
			if s := got.Shape(); !slices.Equal(s, []int{tc.n, tc.outC, oh, ow}) {
				t.Fatalf("shape %v, want %v", s, []int{tc.n, tc.outC, oh, ow})
			}
			m := float64(tc.inC/c.Groups*c.KH*c.KW + 1)
			for i, v := range got.Data() {
				tol := 2*m*0x1p-24*mag[i] + 0x1p-24*math.Abs(want[i])
				if math.Abs(float64(v)-want[i]) > tol {
					t.Fatalf("y[%d] = %v, want %v within %v", i, v, want[i], tol)
				}
			}
		})
	}
}

// TestConcurrentForward runs layers that use pooled scratch from several
// goroutines at once: each result must equal the serial one.
func TestConcurrentForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	bn := NewBatchNorm2d(4)
	layers := []Module{
		NewConvTranspose2d(3, 4, Kernel(4), ConvTransposeOptions{Stride: Stride(2), Padding: Padding(1)}, rng),
		NewSequential(NewConv2d(3, 4, Kernel(3), ConvOptions{Padding: Padding(1)}, rng), bn, ReLU{}),
		NewLocalResponseNorm(3),
		NewUpsample(InterpolateOptions{ScaleFactor: [2]float64{2, 2}, Mode: Bilinear}),
	}
	for _, m := range layers {
		var xs, want []*tensor.Tensor
		for range 8 {
			x := randTensor(rng, 1, 3, 9, 7)
			y, err := m.Forward(x)
			if err != nil {
				t.Fatal(err)
			}
			xs, want = append(xs, x), append(want, y)
		}
		var wg sync.WaitGroup
		got := make([]*tensor.Tensor, len(xs))
		errs := make([]error, len(xs))
		for i := range xs {
			wg.Go(func() { got[i], errs[i] = m.Forward(xs[i]) })
		}
		wg.Wait()
		for i := range xs {
			if errs[i] != nil || !slices.Equal(got[i].Data(), want[i].Data()) {
				t.Errorf("%T: concurrent call %d differs from the serial one (err %v)", m, i, errs[i])
			}
		}
	}
}

// TestAliasing documents which layers return views: Identity and Dropout
// return their input, Flatten a view sharing its data; the others a new
// tensor.
func TestAliasing(t *testing.T) {
	x := randTensor(rand.New(rand.NewPCG(7, 8)), 2, 3, 2, 2)
	for _, m := range []Module{Identity{}, NewDropout(0.3)} {
		if y, _ := m.Forward(x); y != x {
			t.Errorf("%T.Forward did not return its input", m)
		}
	}
	y, err := NewFlatten().Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	if &y.Data()[0] != &x.Data()[0] || !slices.Equal(y.Shape(), []int{2, 12}) {
		t.Errorf("Flatten gave %v, not a [2 12] view of the input", y)
	}
	if y, _ := (&Flatten{StartDim: 0, EndDim: -1}).Forward(tensor.New()); !slices.Equal(y.Shape(), []int{1}) {
		t.Errorf("Flatten of a scalar gave %v, want [1]", y.Shape())
	}
	z, err := NewZeroPad2d(0, 0, 0, 0).Forward(x)
	if err != nil || &z.Data()[0] == &x.Data()[0] || !slices.Equal(z.Data(), x.Data()) {
		t.Errorf("ZeroPad2d(0) did not return a copy (err %v)", err)
	}
}

// TestMaxPoolUnpoolRoundTrip pools and unpools a batch with SegNet's 2x2
// windows: every maximum returns to its place, everything else is 0.
func TestMaxPoolUnpoolRoundTrip(t *testing.T) {
	x := randTensor(rand.New(rand.NewPCG(9, 10)), 2, 3, 6, 8)
	p := NewMaxPool2d(Kernel(2), PoolOptions{Stride: Stride(2)})
	y, ind, err := p.ForwardIndices(x)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := p.Forward(x)
	if err != nil || !slices.Equal(plain.Data(), y.Data()) {
		t.Fatalf("Forward and ForwardIndices differ (err %v)", err)
	}
	u, err := NewMaxUnpool2d(Kernel(2), Stride(2), [2]int{}).Forward(y, ind, x.Shape())
	if err != nil {
		t.Fatal(err)
	}
	kept := 0
	for i, v := range u.Data() {
		if v != 0 {
			kept++
			if v != x.Data()[i] {
				t.Fatalf("unpooled[%d] = %v, want the input's %v", i, v, x.Data()[i])
			}
		}
	}
	if kept != y.Len() {
		t.Errorf("%d values back in place, want %d", kept, y.Len())
	}
}
