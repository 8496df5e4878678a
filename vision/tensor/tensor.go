package tensor

import (
	"errors"
	"fmt"
	"strings"
)

// ErrShape is the category of every error about a tensor's shape.
var ErrShape = errors.New("tensor: bad shape")

// Tensor is a contiguous row-major float32 array. The zero value has no
// dimensions and no data. Reshape and Slice return views sharing the data;
// nothing else aliases.
type Tensor struct {
	shape []int
	data  []float32
	buf   *[]float32 // the pooled buffer data comes from (Get), or nil
	view  bool       // a Reshape or Slice view: Release does nothing
}

// New returns a zero-filled tensor of the given shape. It panics on a
// negative dimension (a programming error; use FromData for outside data).
func New(shape ...int) *Tensor {
	n, err := numel(shape)
	if err != nil {
		panic(err)
	}
	return &Tensor{shape: append([]int(nil), shape...), data: make([]float32, n)}
}

// FromData wraps data (not copied) as a tensor of the given shape.
func FromData(shape []int, data []float32) (*Tensor, error) {
	n, err := numel(shape)
	if err != nil {
		return nil, err
	}
	if n != len(data) {
		return nil, fmt.Errorf("%w: shape %v holds %d values, data has %d", ErrShape, shape, n, len(data))
	}
	return &Tensor{shape: append([]int(nil), shape...), data: data}, nil
}

func numel(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("%w: negative dimension in %v", ErrShape, shape)
		}
		if d != 0 && n > int(^uint(0)>>1)/d {
			return 0, fmt.Errorf("%w: %v overflows int", ErrShape, shape)
		}
		n *= d
	}
	return n, nil
}

// Shape returns the dimensions (a copy).
func (t *Tensor) Shape() []int { return append([]int(nil), t.shape...) }

// Dims returns the number of dimensions.
func (t *Tensor) Dims() int { return len(t.shape) }

// Dim returns dimension i; negative i counts from the end.
func (t *Tensor) Dim(i int) int {
	if i < 0 {
		i += len(t.shape)
	}
	return t.shape[i]
}

// Len returns the number of values.
func (t *Tensor) Len() int { return len(t.data) }

// Data returns the values, shared with the tensor.
func (t *Tensor) Data() []float32 { return t.data }

// Reshape returns a view of t with a new shape of the same size; one
// dimension may be -1 and is then inferred.
func (t *Tensor) Reshape(shape ...int) (*Tensor, error) {
	s := append([]int(nil), shape...)
	infer := -1
	known := 1
	for i, d := range s {
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d < 0:
			return nil, fmt.Errorf("%w: reshape %v to %v", ErrShape, t.shape, shape)
		default:
			known *= d
		}
	}
	if infer >= 0 {
		if known == 0 || len(t.data)%known != 0 {
			return nil, fmt.Errorf("%w: cannot reshape %v to %v", ErrShape, t.shape, shape)
		}
		s[infer] = len(t.data) / known
	}
	if n, err := numel(s); err != nil || n != len(t.data) {
		return nil, fmt.Errorf("%w: cannot reshape %v (%d values) to %v", ErrShape, t.shape, len(t.data), shape)
	}
	return &Tensor{shape: s, data: t.data, buf: t.buf, view: true}, nil
}

// Slice returns a view of items [from, to) along the first dimension
// (a batch slice).
func (t *Tensor) Slice(from, to int) (*Tensor, error) {
	if len(t.shape) == 0 || from < 0 || to < from || to > t.shape[0] {
		return nil, fmt.Errorf("%w: slice [%d:%d] of %v", ErrShape, from, to, t.shape)
	}
	per := 1
	for _, d := range t.shape[1:] {
		per *= d
	}
	s := append([]int{to - from}, t.shape[1:]...)
	return &Tensor{shape: s, data: t.data[from*per : to*per], buf: t.buf, view: true}, nil
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{shape: t.Shape(), data: append([]float32(nil), t.data...)}
}

// String describes the tensor briefly: "tensor[2 3 4]".
func (t *Tensor) String() string {
	var b strings.Builder
	b.WriteString("tensor")
	fmt.Fprint(&b, t.shape)
	return b.String()
}
