package nn

import (
	"fmt"

	"govision.dev/vision/tensor"
)

// SamePadding returns TensorFlow's padding="SAME" for one side of n
// pixels, a kernel spanning k pixels (dilation included) and a stride:
// the output has ⌈n/stride⌉ pixels, and the padding's total,
// max((out−1)·stride + k − n, 0), is split with the odd pixel after:
// before = ⌊total/2⌋. A 3×3 kernel of stride 2 on an even side pads 0
// before and 1 after, which torch's symmetric padding cannot express.
func SamePadding(n, k, stride int) (before, after int) {
	out := (n + stride - 1) / stride
	total := max((out-1)*stride+k-n, 0)
	return total / 2, total - total/2
}

// ConvBNActSame is ConvBNAct with TensorFlow's padding="SAME"
// (SamePadding on each side) in place of conv's PadH and PadW, which must
// be 0: the convolutions of networks trained in TensorFlow (MobileNets,
// the SSDs of its object detection API). The padding is the
// convolution's own, with no padded copy of x: the side before as PadH and
// PadW on both sides, and the odd pixel after (a 3x3 stride-2 kernel on an
// even side pads 0 before and 1 after, which torch's symmetric padding
// cannot express) as accel.ConvParams' PadAfterH and PadAfterW. The
// result is a new [N, OutC, ⌈H/StrideH⌉, ⌈W/StrideW⌉] tensor; x is not
// changed. Safe for concurrent use, as ConvBNAct.
func ConvBNActSame(x *tensor.Tensor, conv *Conv2d, bn *BatchNorm2d, act Module) (*tensor.Tensor, error) {
	_, _, h, w, err := nchw("Conv2d", x, conv.InC)
	if err != nil {
		return nil, err
	}
	if conv.PadH != 0 || conv.PadW != 0 {
		return nil, fmt.Errorf("%w: Conv2d with SAME padding has padding %d,%d, want 0", ErrShape, conv.PadH, conv.PadW)
	}
	t, b := SamePadding(h, conv.DilationH*(conv.KH-1)+1, conv.StrideH)
	l, r := SamePadding(w, conv.DilationW*(conv.KW-1)+1, conv.StrideW)
	cc := *conv // shares the tensors; only the padding differs
	cc.PadH, cc.PadW = t, l
	return convBNAct(x, &cc, bn, act, padAfter{h: b - t, w: r - l})
}
