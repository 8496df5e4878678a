package nn

import (
	"fmt"
	"slices"

	"govision.dev/accel"
	"govision.dev/vision/tensor"
)

// Operations that merge branches of a model: Inception's and DenseNet's
// channel concatenation, ResNet's residual sum, SENet's channel gating.
// Each returns a new tensor (AddInto writes into the dst it is given) and
// an error wrapping ErrShape when the shapes do not fit; none keeps state,
// so all are safe for concurrent use.

// Concat is torch.cat(xs, dim=1): the tensors [N, Ci, ...] joined along
// the channels into [N, ΣCi, ...]. They must have the same number of
// dimensions (at least 2) and the same size in every dimension but the
// second.
func Concat(xs ...*tensor.Tensor) (*tensor.Tensor, error) {
	if len(xs) == 0 {
		return nil, fmt.Errorf("%w: Concat: no tensors", ErrShape)
	}
	for i, x := range xs {
		if x == nil {
			return nil, fmt.Errorf("%w: Concat: tensor %d is nil", ErrShape, i)
		}
	}
	first := xs[0].Shape()
	if len(first) < 2 {
		return nil, fmt.Errorf("%w: Concat: tensor 0 is %v, want at least 2 dimensions [N, C, ...]", ErrShape, first)
	}
	channels := 0
	for i, x := range xs {
		s := x.Shape()
		if len(s) != len(first) || s[0] != first[0] || !slices.Equal(s[2:], first[2:]) {
			return nil, fmt.Errorf("%w: Concat: tensor %d is %v, tensor 0 %v: want the same shape but for dimension 1",
				ErrShape, i, s, first)
		}
		channels += s[1]
	}
	shape := slices.Clone(first)
	shape[1] = channels
	y := tensor.Get(shape...)
	n := first[0]
	if n == 0 || y.Len() == 0 {
		return y, nil
	}
	perImage := y.Len() / n
	dst := y.Data()
	for i := 0; i < n; i++ {
		at := i * perImage
		for _, x := range xs {
			block := x.Len() / n
			at += copy(dst[at:], x.Data()[i*block:(i+1)*block])
		}
	}
	return y, nil
}

// Add returns a + b for tensors of the same shape (ResNet's residual sum;
// no broadcasting).
func Add(a, b *tensor.Tensor) (*tensor.Tensor, error) {
	if err := sameShapes("Add", a, b); err != nil {
		return nil, err
	}
	y := tensor.Get(a.Shape()...)
	accel.Add(y.Data(), a.Data(), b.Data())
	return y, nil
}

// AddInto sets dst = a + b for three tensors of the same shape. dst may be
// a or b itself, for an in-place residual sum that allocates nothing; it
// must not otherwise share data with them.
func AddInto(dst, a, b *tensor.Tensor) error {
	if err := sameShapes("AddInto", a, b); err != nil {
		return err
	}
	if err := sameShapes("AddInto", dst, a); err != nil {
		return err
	}
	accel.Add(dst.Data(), a.Data(), b.Data())
	return nil
}

func sameShapes(op string, a, b *tensor.Tensor) error {
	if a == nil || b == nil {
		return fmt.Errorf("%w: %s: nil tensor", ErrShape, op)
	}
	if !slices.Equal(a.Shape(), b.Shape()) {
		return fmt.Errorf("%w: %s: shapes %v and %v differ", ErrShape, op, a.Shape(), b.Shape())
	}
	return nil
}

// ChannelScale returns x [N, C, H, W] with each plane multiplied by its
// weight in s, [N, C] or [N, C, 1, 1]: y[n,c,h,w] = x[n,c,h,w]·s[n,c], as
// torch's x * s for squeeze-and-excitation (Hu et al. 2018, Eq. 4).
func ChannelScale(x, s *tensor.Tensor) (*tensor.Tensor, error) {
	n, c, h, w, err := nchw("ChannelScale", x, -1)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, fmt.Errorf("%w: ChannelScale: nil scale", ErrShape)
	}
	ss := s.Shape()
	if !slices.Equal(ss, []int{n, c}) && !slices.Equal(ss, []int{n, c, 1, 1}) {
		return nil, fmt.Errorf("%w: ChannelScale: scale %v for input %v, want [%d, %d] or [%d, %d, 1, 1]",
			ErrShape, ss, x.Shape(), n, c, n, c)
	}
	y := tensor.Get(n, c, h, w)
	plane := h * w
	src, dst := x.Data(), y.Data()
	for i, v := range s.Data() {
		accel.Scale(dst[i*plane:(i+1)*plane], v, src[i*plane:(i+1)*plane])
	}
	return y, nil
}
