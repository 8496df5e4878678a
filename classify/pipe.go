package classify

import (
	"govision.dev/accel"
	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// pipe carries the first error of a forward pass, so that a network's
// Forward reads top to bottom like its paper's figure: each step does
// nothing once a step has failed, and result returns the error.
//
// A pipe also reports the output of each named stage to a tap, if one is
// set: the tests read the paper's per-stage shapes and early feature maps
// through it. A pipe lives on its Forward's stack: nothing is shared
// between calls.
type pipe struct {
	err error
	tap tapFunc
}

// tapFunc receives the output of a network's stage ("conv1", "layer1",
// …); it must not keep or change y.
type tapFunc func(stage string, y *tensor.Tensor)

// tapper is implemented by the networks whose stages can be tapped.
type tapper interface {
	forward(x *tensor.Tensor, tap tapFunc) (*tensor.Tensor, error)
}

var relu = nn.ReLU{}

// globalAvgPool is the global average pooling before the classifiers
// (AdaptiveAvgPool2d((1, 1))); it keeps no state.
var globalAvgPool = nn.NewAdaptiveAvgPool2d(1, 1)

// conv runs act(bn(c(x))) with the batch norm folded into the convolution;
// bn and act may be nil.
func (p *pipe) conv(x *tensor.Tensor, c *nn.Conv2d, bn *nn.BatchNorm2d, act nn.Module) *tensor.Tensor {
	if p.err != nil {
		return nil
	}
	var y *tensor.Tensor
	y, p.err = nn.ConvBNAct(x, c, bn, act)
	return y
}

// run applies m to x.
func (p *pipe) run(m nn.Module, x *tensor.Tensor) *tensor.Tensor {
	if p.err != nil {
		return nil
	}
	var y *tensor.Tensor
	y, p.err = m.Forward(x)
	return y
}

// blocks runs a stage's blocks in order. Each block's input goes back to
// the tensor pool once the next block has it (but not x itself, the
// caller's), so a forward pass reuses its buffers from call to call.
func (p *pipe) blocks(x *tensor.Tensor, bs []block) *tensor.Tensor {
	in := x
	for _, b := range bs {
		y := p.run(b, x)
		if x != in && !y.Shares(x) {
			x.Release()
		}
		x = y
	}
	return x
}

// bnReLU is relu(bn(x)), the pre-activation of He et al. 2016b.
func (p *pipe) bnReLU(x *tensor.Tensor, bn *nn.BatchNorm2d) *tensor.Tensor {
	y := p.run(bn, x)
	if p.err != nil {
		return nil
	}
	accel.ReLU(y.Data(), y.Data())
	return y
}

// add returns y + sc, written into y (y is the block's own output, no one
// else's).
func (p *pipe) add(y, sc *tensor.Tensor) *tensor.Tensor {
	if p.err != nil {
		return nil
	}
	p.err = nn.AddInto(y, y, sc)
	return y
}

// addReLU returns relu(y + sc), written into y.
func (p *pipe) addReLU(y, sc *tensor.Tensor) *tensor.Tensor {
	y = p.add(y, sc)
	if p.err != nil {
		return nil
	}
	accel.ReLU(y.Data(), y.Data())
	return y
}

// mark reports x as the output of the named stage.
func (p *pipe) mark(stage string, x *tensor.Tensor) {
	if p.err == nil && p.tap != nil {
		p.tap(stage, x)
	}
}

// result returns x, or the first error.
func (p *pipe) result(x *tensor.Tensor) (*tensor.Tensor, error) {
	if p.err != nil {
		return nil, p.err
	}
	return x, nil
}
