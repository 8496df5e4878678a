package nn

import (
	"fmt"
	"strconv"

	"govision.dev/vision/tensor"
)

// Sequential is torch.nn.Sequential: children run in order, named by
// index ("0", "1", …) or by the name they were added with.
//
// Forward fuses what it can: a Conv2d followed by a BatchNorm2d and/or an
// activation runs as one convolution with the batch norm folded in and the
// activation in its epilogue (see ConvBNAct).
type Sequential struct {
	children []Child
}

// NewSequential returns a Sequential of ms named "0", "1", ….
func NewSequential(ms ...Module) *Sequential {
	s := &Sequential{}
	for _, m := range ms {
		s.Append(m)
	}
	return s
}

// Append adds m named by its index.
func (s *Sequential) Append(m Module) { s.Add(strconv.Itoa(len(s.children)), m) }

// Add adds m under name (torch's add_module).
func (s *Sequential) Add(name string, m Module) {
	s.children = append(s.children, Child{Name: name, Module: m})
}

// Children returns the children in order.
func (s *Sequential) Children() []Child { return s.children }

// Len returns the number of children.
func (s *Sequential) Len() int { return len(s.children) }

// At returns child i.
func (s *Sequential) At(i int) Module { return s.children[i].Module }

// Forward runs the children in order. Intermediate results go back to the
// tensor pool as soon as the next child has consumed them (unless the next
// result is a view of them); the input and the result are the caller's.
func (s *Sequential) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	in := x
	for i := 0; i < len(s.children); i++ {
		c := s.children[i]
		prev := x
		var err error
		if conv, ok := c.Module.(*Conv2d); ok {
			var bn *BatchNorm2d
			var act Module
			if i+1 < len(s.children) {
				bn, _ = s.children[i+1].Module.(*BatchNorm2d)
			}
			next := i + 1
			if bn != nil {
				next++
			}
			if next < len(s.children) {
				if _, _, ok := fusable(s.children[next].Module); ok {
					act = s.children[next].Module
				}
			}
			x, err = ConvBNAct(x, conv, bn, act)
			if bn != nil {
				i++
			}
			if act != nil {
				i++
			}
		} else {
			x, err = c.Module.Forward(x)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
		releaseIntermediate(prev, x, in)
	}
	return x, nil
}

// releaseIntermediate gives prev back to the pool once next has been
// computed from it, unless prev is the caller's input or next shares its
// data.
func releaseIntermediate(prev, next, input *tensor.Tensor) {
	if prev != input && !next.Shares(prev) {
		prev.Release()
	}
}
