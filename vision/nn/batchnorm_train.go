package nn

import (
	"fmt"
	"math"

	"govision.dev/vision/tensor"
)

// BatchStats is what BatchNorm2d.ForwardTrain saves for Backward: the
// batch's per-channel mean and 1/√(var+ε) (the biased variance, over
// N·H·W values).
type BatchStats struct {
	Mean, InvStd []float64
}

// ForwardTrain normalises x [N, C, H, W] with the batch's own statistics,
// as torch.nn.BatchNorm2d does in training mode (Ioffe & Szegedy 2015,
// Algorithm 1):
//
//	y = (x − mean)/√(var + ε)·γ + β
//
// with mean and the biased variance var over the N·H·W values of each
// channel, summed in float64. It also updates the running statistics as
// torch does, with Momentum m and the unbiased variance:
//
//	running_mean = (1 − m)·running_mean + m·mean
//	running_var  = (1 − m)·running_var + m·var·M/(M − 1),  M = N·H·W
//
// adds 1 to NumBatchesTracked (if present) and refreshes the folded form
// Forward uses. torch refuses a channel of a single value (M = 1); so does
// ForwardTrain. It changes the layer, so it must not run concurrently with
// anything else on it.
func (b *BatchNorm2d) ForwardTrain(x *tensor.Tensor) (*tensor.Tensor, *BatchStats, error) {
	n, c, h, w, err := nchw("BatchNorm2d", x, b.C)
	if err != nil {
		return nil, nil, err
	}
	plane := h * w
	m := n * plane
	if m < 2 {
		return nil, nil, fmt.Errorf("%w: BatchNorm2d: input %v: training needs more than one value per channel", ErrShape, x.Shape())
	}
	src := x.Data()
	st := &BatchStats{Mean: make([]float64, c), InvStd: make([]float64, c)}
	varSum := make([]float64, c)
	for ch := 0; ch < c; ch++ {
		var s float64
		for i := 0; i < n; i++ {
			for _, v := range src[(i*c+ch)*plane : (i*c+ch+1)*plane] {
				s += float64(v)
			}
		}
		mean := s / float64(m)
		var q float64
		for i := 0; i < n; i++ {
			for _, v := range src[(i*c+ch)*plane : (i*c+ch+1)*plane] {
				d := float64(v) - mean
				q += d * d
			}
		}
		st.Mean[ch] = mean
		varSum[ch] = q
		st.InvStd[ch] = 1 / math.Sqrt(q/float64(m)+float64(b.Eps))
	}
	y := tensor.Get(n, c, h, w)
	dst := y.Data()
	g, be := b.Weight.Data(), b.Bias.Data()
	for i := 0; i < n*c; i++ {
		ch := i % c
		// y = x·s + t, s = γ·invstd, t = β − mean·s, as torch's kernel.
		s := float32(float64(g[ch]) * st.InvStd[ch])
		t := float32(float64(be[ch]) - st.Mean[ch]*float64(g[ch])*st.InvStd[ch])
		for j, v := range src[i*plane : (i+1)*plane] {
			dst[i*plane+j] = v*s + t
		}
	}
	mom := float64(b.Momentum)
	rm, rv := b.RunningMean.Data(), b.RunningVar.Data()
	for ch := 0; ch < c; ch++ {
		rm[ch] = float32((1-mom)*float64(rm[ch]) + mom*st.Mean[ch])
		rv[ch] = float32((1-mom)*float64(rv[ch]) + mom*varSum[ch]/float64(m-1))
	}
	if b.NumBatchesTracked != nil && b.NumBatchesTracked.Len() == 1 {
		b.NumBatchesTracked.Data()[0]++
	}
	b.loaded()
	return y, st, nil
}

// Backward returns the gradients of ForwardTrain(x) given gy [N, C, H, W]
// and the statistics ForwardTrain returned: with x̂ = (x − mean)·invstd
// and M = N·H·W,
//
//	gβ = Σ gy,  gγ = Σ gy·x̂,  gx = γ·invstd·(gy − gβ/M − x̂·gγ/M)
//
// (the batch statistics depend on x too). With st nil it is the gradient
// of the evaluation-mode Forward instead, through the running statistics,
// which are constants: gx = gy·γ/√(running_var + ε).
func (b *BatchNorm2d) Backward(x, gy *tensor.Tensor, st *BatchStats, want Grads) (gx, gw, gb *tensor.Tensor, err error) {
	n, c, h, w, err := nchw("BatchNorm2d", x, b.C)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := checkGrad("BatchNorm2d", gy, x.Shape()); err != nil {
		return nil, nil, nil, err
	}
	train := st != nil
	if !train {
		st = &BatchStats{Mean: make([]float64, c), InvStd: make([]float64, c)}
		for ch := 0; ch < c; ch++ {
			st.Mean[ch] = float64(b.RunningMean.Data()[ch])
			st.InvStd[ch] = 1 / math.Sqrt(float64(b.RunningVar.Data()[ch])+float64(b.Eps))
		}
	} else if len(st.Mean) != c || len(st.InvStd) != c {
		return nil, nil, nil, fmt.Errorf("%w: BatchNorm2d backward: statistics of %d channels, want %d", ErrShape, len(st.Mean), c)
	}
	plane := h * w
	m := float64(n * plane)
	src, dy := x.Data(), gy.Data()
	sumDy := make([]float64, c)
	sumDyXhat := make([]float64, c)
	for ch := 0; ch < c; ch++ {
		mean, inv := st.Mean[ch], st.InvStd[ch]
		var s, sx float64
		for i := 0; i < n; i++ {
			off := (i*c + ch) * plane
			xs, ds := src[off:off+plane], dy[off:off+plane]
			for j, d := range ds {
				s += float64(d)
				sx += float64(d) * (float64(xs[j]) - mean)
			}
		}
		sumDy[ch] = s
		sumDyXhat[ch] = sx * inv
	}
	if want.Params {
		gw, gb = tensor.New(c), tensor.New(c)
		for ch := 0; ch < c; ch++ {
			gw.Data()[ch] = float32(sumDyXhat[ch])
			gb.Data()[ch] = float32(sumDy[ch])
		}
	}
	if !want.Input {
		return nil, gw, gb, nil
	}
	gx = tensor.New(n, c, h, w)
	dst := gx.Data()
	g := b.Weight.Data()
	for ch := 0; ch < c; ch++ {
		mean, inv := st.Mean[ch], st.InvStd[ch]
		scale := float64(g[ch]) * inv
		// gx = scale·(gy − a − (x − mean)·k)
		var a, k float64
		if train {
			a = sumDy[ch] / m
			k = sumDyXhat[ch] * inv / m
		}
		for i := 0; i < n; i++ {
			off := (i*c + ch) * plane
			xs, ds := src[off:off+plane], dy[off:off+plane]
			out := dst[off : off+plane]
			for j, d := range ds {
				out[j] = float32(scale * (float64(d) - a - (float64(xs[j])-mean)*k))
			}
		}
	}
	return gx, gw, gb, nil
}
