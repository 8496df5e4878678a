package nn

import (
	"math"

	"govision.dev/vision/tensor"
)

// BatchNorm2d is torch.nn.BatchNorm2d in evaluation (Ioffe & Szegedy 2015,
// Algorithm 2): y = (x − running_mean)/√(running_var + ε)·γ + β per channel.
type BatchNorm2d struct {
	Weight            *tensor.Tensor `nn:"weight"` // γ
	Bias              *tensor.Tensor `nn:"bias"`   // β
	RunningMean       *tensor.Tensor `nn:"running_mean,buffer"`
	RunningVar        *tensor.Tensor `nn:"running_var,buffer"`
	NumBatchesTracked *tensor.Tensor `nn:"num_batches_tracked,buffer,optional"`

	C        int
	Eps      float32
	Momentum float32

	// The folded form, y = x·scale + shift, recomputed by loaded.
	scale, shift []float32
}

// NewBatchNorm2d returns a batch norm over c channels with torch's defaults
// (ε = 1e-5, momentum 0.1, γ = 1, β = 0, mean 0, variance 1).
func NewBatchNorm2d(c int) *BatchNorm2d {
	b := &BatchNorm2d{
		Weight: tensor.New(c), Bias: tensor.New(c),
		RunningMean: tensor.New(c), RunningVar: tensor.New(c),
		NumBatchesTracked: tensor.New(),
		C:                 c, Eps: 1e-5, Momentum: 0.1,
	}
	for i := 0; i < c; i++ {
		b.Weight.Data()[i] = 1
		b.RunningVar.Data()[i] = 1
	}
	b.loaded()
	return b
}

// loaded folds the statistics: scale = γ/√(var+ε), shift = β − mean·scale,
// computed in float64 and rounded once.
func (b *BatchNorm2d) loaded() {
	b.scale = make([]float32, b.C)
	b.shift = make([]float32, b.C)
	g, be := b.Weight.Data(), b.Bias.Data()
	m, v := b.RunningMean.Data(), b.RunningVar.Data()
	for i := 0; i < b.C; i++ {
		s := float64(g[i]) / math.Sqrt(float64(v[i])+float64(b.Eps))
		b.scale[i] = float32(s)
		b.shift[i] = float32(float64(be[i]) - float64(m[i])*s)
	}
}

// Forward normalises x [N, C, H, W].
func (b *BatchNorm2d) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	n, c, h, w, err := nchw("BatchNorm2d", x, b.C)
	if err != nil {
		return nil, err
	}
	y := tensor.Get(n, c, h, w)
	src, dst := x.Data(), y.Data()
	plane := h * w
	for i := 0; i < n*c; i++ {
		s, t := b.scale[i%c], b.shift[i%c]
		for j, v := range src[i*plane : (i+1)*plane] {
			dst[i*plane+j] = v*s + t
		}
	}
	return y, nil
}
