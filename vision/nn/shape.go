package nn

import (
	"fmt"

	"govision.dev/vision/tensor"
)

// nchw returns x's four dimensions, or an error naming the layer if x is
// not a 4-dimensional tensor with c channels (c < 0: any).
func nchw(layer string, x *tensor.Tensor, c int) (n, ch, h, w int, err error) {
	if x == nil {
		return 0, 0, 0, 0, fmt.Errorf("%w: %s: nil input", ErrShape, layer)
	}
	s := x.Shape()
	if len(s) != 4 {
		return 0, 0, 0, 0, fmt.Errorf("%w: %s: input %v, want 4 dimensions [N, C, H, W]", ErrShape, layer, s)
	}
	if c >= 0 && s[1] != c {
		return 0, 0, 0, 0, fmt.Errorf("%w: %s: input %v has %d channels, want %d", ErrShape, layer, s, s[1], c)
	}
	return s[0], s[1], s[2], s[3], nil
}
