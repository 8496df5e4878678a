package detect

import (
	"fmt"

	"govision.dev/vision/darknet"
)

// cfgCost counts a darknet network's learned parameters (weights, biases
// and batch-norm scales, not the batch norms' rolling means and variances,
// as nn.NumParams and torchvision count them) and the
// multiply-accumulates of its convolutional, local and connected layers on
// a w×h input, from the cfg alone: each layer's output shape follows
// vision/darknet's builder (darknet's make_*_layer). Describe uses it
// rather than laying the network out, which for YOLOv1 means allocating
// (and packing, at load) 790 MB of weights; TestBuildZoo checks it against
// the built networks. cfg must be one darknet.Build accepts at that size.
func cfgCost(cfg *darknet.Config, w, h int) (params int, macs int64, err error) {
	type shape struct{ c, h, w int }
	in := shape{cfg.Net.Channels, h, w}
	outs := make([]shape, len(cfg.Layers))
	for i, l := range cfg.Layers {
		if i > 0 {
			in = outs[i-1]
		}
		o := in
		switch l := l.(type) {
		case *darknet.Convolutional:
			o = shape{l.Filters, (in.h+2*l.Padding-l.Size)/l.Stride + 1, (in.w+2*l.Padding-l.Size)/l.Stride + 1}
			nw := l.Filters * in.c / l.Groups * l.Size * l.Size
			params += nw + l.Filters
			if l.BatchNormalize {
				params += l.Filters
			}
			macs += int64(nw) * int64(o.h*o.w)
		case *darknet.Connected:
			o = shape{l.Output, 1, 1}
			nw := in.c * in.h * in.w * l.Output
			params += nw + l.Output
			if l.BatchNormalize {
				params += l.Output
			}
			macs += int64(nw)
		case *darknet.Local:
			// darknet's local_out_height: a nonzero pad shrinks the plane
			// by 1, else by size. Each position has its own filters.
			o = shape{l.Filters, in.h - l.Size, in.w - l.Size}
			if l.Pad != 0 {
				o.h, o.w = in.h-1, in.w-1
			}
			o.h, o.w = o.h/l.Stride+1, o.w/l.Stride+1
			nw := o.h * o.w * l.Filters * in.c * l.Size * l.Size
			params += nw + o.h*o.w*l.Filters
			macs += int64(nw)
		case *darknet.MaxPool:
			o = shape{in.c, (in.h+l.Padding-l.Size)/l.Stride + 1, (in.w+l.Padding-l.Size)/l.Stride + 1}
		case *darknet.AvgPool:
			o = shape{in.c, 1, 1}
		case *darknet.Route:
			o = outs[l.Layers[0]]
			for _, j := range l.Layers[1:] {
				o.c += outs[j].c
			}
		case *darknet.Upsample:
			o = shape{in.c, in.h * l.Stride, in.w * l.Stride}
			if l.Reverse {
				o = shape{in.c, in.h / l.Stride, in.w / l.Stride}
			}
		case *darknet.Reorg:
			s2 := l.Stride * l.Stride
			o = shape{in.c * s2, in.h / l.Stride, in.w / l.Stride}
			if l.Reverse {
				o = shape{in.c / s2, in.h * l.Stride, in.w * l.Stride}
			}
		case *darknet.Crop:
			o = shape{in.c, l.CropHeight, l.CropWidth}
		case *darknet.Shortcut, *darknet.Dropout, *darknet.Cost, *darknet.Softmax,
			*darknet.Region, *darknet.Yolo, *darknet.Detection:
			// The input's shape.
		default:
			return 0, 0, fmt.Errorf("detect: %s:%d: a %s layer, which cfgCost does not know", cfg.File, l.Info().Line, l.Info().Kind)
		}
		outs[i] = o
	}
	return params, macs, nil
}
