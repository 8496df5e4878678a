package classify

import (
	"embed"
	"errors"
	"fmt"
	"image"

	"govision.dev/vision/imageio"
	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
	"govision.dev/vision/weights"
)

// weightFiles holds the weight files the package embeds, those of the
// records marked Embedded: lenet5.safetensors, LeNet-5 trained on MNIST by
// govision (lenet.go says how to reproduce it).
//
//go:embed weights/*.safetensors
var weightFiles embed.FS

// Weights describes a model's published weight set — where to get the file,
// how to check it, what it scores and what input it expects — never a
// "pretrained" switch: building a model and loading a file stay separate
// calls (New, then Model.Load, or Model.LoadEmbedded for a file the
// package embeds).
type Weights struct {
	// File is the weight file's name, e.g. "resnet50-0676ba61.pth"; the
	// command line looks for it in its weights folder. Empty for a model
	// without published weights: FileName then gives "<model>.safetensors".
	File string
	// URL is where the file is published; empty if it is not.
	URL string
	// Embedded says the package itself holds the file (classify/weights/,
	// built into every program that imports classify): Model.LoadEmbedded
	// loads it, with no download and no file on disk.
	Embedded bool
	// SHA256 is the known prefix (or all) of the file's SHA-256 in hex:
	// torch.hub names a file by the first hex digits of its hash. Empty if
	// unknown.
	SHA256 string
	// Params is the number of trained parameters (buffers not counted), as
	// the publisher states it; the tests check it against the model.
	Params int
	// Top1 and Top5 are the reference accuracies in percent on the
	// validation set of the model's labels (ImageNet-1k, CIFAR-10, MNIST),
	// single crop; 0 if not published.
	Top1, Top5 float64
	// Source says where Top1 and Top5 (and the file) come from.
	Source string
	// Preprocess turns an image into the model's input.
	Preprocess Preprocess
	// Labels names the classes, index by index.
	Labels LabelSet
	// Temperature divides the logits before the softmax whose
	// probabilities Predict reports, as the training loss divided them
	// (0 means 1): LeNet-5's RBF outputs are negated squared distances in
	// the hundreds, trained as CE(logits/30), and a plain softmax of them
	// reports 100% for every digit.
	Temperature float64
}

// FileName is the name the weight file of model goes by: File, or
// "<model>.safetensors" (govision's own save format) when nothing is
// published.
func (w Weights) FileName(model string) string {
	if w.File != "" {
		return w.File
	}
	return model + ".safetensors"
}

// ErrNotEmbedded is the category of LoadEmbedded's error for a model whose
// weights the package does not embed.
var ErrNotEmbedded = errors.New("classify: no embedded weights")

// LoadEmbedded loads the weight file the package embeds for the model
// (Weights().Embedded: lenet5's) as Load loads a file: strictly, by name.
// A model without embedded weights is an error wrapping ErrNotEmbedded.
func (m *Model) LoadEmbedded() error {
	if !m.weights.Embedded {
		return fmt.Errorf("%w for %s: load its weight file with Load", ErrNotEmbedded, m.name)
	}
	name := "weights/" + m.weights.FileName(m.name)
	sd, err := weights.LoadFS(weightFiles, name)
	if err != nil {
		return fmt.Errorf("classify: %s: embedded %s: %w", m.name, name, err)
	}
	return m.load(sd, nn.AdoptStateDict)
}

// Preprocess is a model's input transform: resize the shorter side to
// Resize pixels, crop the centre Crop×Crop, pad Pad background pixels on
// each side (LeNet-5 puts a 28×28 digit in a 32×32 field), then map each
// channel's value v ∈ [0, 1] to (v − Mean)/Std. The padding is the value
// v = 0 (black) before normalisation. Gray takes one channel, the
// luminance (ITU-R 601, as Go's color.GrayModel), instead of RGB.
type Preprocess struct {
	Resize, Crop, Pad int
	Gray              bool
	Mean, Std         [3]float32
}

// imagenetPreprocess is torchvision's ImageClassification(crop_size,
// resize_size) with the ImageNet mean and standard deviation.
func imagenetPreprocess(resize, crop int) Preprocess {
	return Preprocess{Resize: resize, Crop: crop, Mean: imageio.ImageNetMean, Std: imageio.ImageNetStd}
}

// cifarPreprocess takes a 32×32 image as it is (resized if not) with the
// CIFAR-10 training set's per-channel mean and standard deviation (the
// figures the common PyTorch CIFAR recipes use).
var cifarPreprocess = Preprocess{Resize: 32, Crop: 32,
	Mean: [3]float32{0.4914, 0.4822, 0.4465}, Std: [3]float32{0.2470, 0.2435, 0.2616}}

// Size is the side of the square input the preprocessing produces.
func (p Preprocess) Size() int { return p.Crop + 2*p.Pad }

// Channels is 1 for gray inputs, else 3.
func (p Preprocess) Channels() int {
	if p.Gray {
		return 1
	}
	return 3
}

// Apply turns img into a [1, Channels, Size, Size] tensor.
func (p Preprocess) Apply(img image.Image) (*tensor.Tensor, error) {
	if p.Crop < 1 || p.Resize < 1 || p.Pad < 0 {
		return nil, fmt.Errorf("classify: preprocessing %+v: sizes must be positive", p)
	}
	rc := imageio.ResizeCenterCrop{Resize: p.Resize, Crop: p.Crop, Mean: p.Mean, Std: p.Std}
	if !p.Gray && p.Pad == 0 {
		return rc.Apply(img)
	}
	im, err := rc.Image(img)
	if err != nil {
		return nil, err
	}
	c, size := p.Channels(), p.Size()
	x := tensor.New(1, c, size, size)
	d := x.Data()
	plane := size * size
	for ch := 0; ch < c; ch++ {
		bg := -p.Mean[ch] / p.Std[ch]
		for i := range d[ch*plane : (ch+1)*plane] {
			d[ch*plane+i] = bg
		}
	}
	for y := 0; y < p.Crop; y++ {
		for xx := 0; xx < p.Crop; xx++ {
			o := im.PixOffset(xx, y)
			r, g, b := float32(im.Pix[o]), float32(im.Pix[o+1]), float32(im.Pix[o+2])
			at := (y+p.Pad)*size + xx + p.Pad
			if p.Gray {
				// color.GrayModel's weights, on 8-bit values.
				v := (0.299*r + 0.587*g + 0.114*b) / 255
				d[at] = (v - p.Mean[0]) / p.Std[0]
				continue
			}
			for ch, v := range [3]float32{r, g, b} {
				d[ch*plane+at] = (v/255 - p.Mean[ch]) / p.Std[ch]
			}
		}
	}
	return x, nil
}
