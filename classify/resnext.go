package classify

// ResNeXt: S. Xie, R. Girshick, P. Dollár, Z. Tu and K. He, "Aggregated
// Residual Transformations for Deep Neural Networks", CVPR 2017
// (arXiv:1611.05431).
//
// A ResNeXt is a ResNet whose bottleneck's 3x3 convolution is split into C
// groups of d channels each (cardinality C, bottleneck width d: the
// grouped-convolution form of Fig. 3(c)), "C×d" in the name. The networks
// are torchvision's ResNet class with other rows (resnet.go); names,
// shapes and weights are torchvision's. resnext50_32x4d is the paper's
// Table 1 network; resnext101_32x8d and resnext101_64x4d are torchvision's
// (the paper's Table 5 has 101 layers at 32×4d and 64×4d).

// Xie et al. 2017, Table 1 (ResNeXt-50 32×4d), and torchvision's 101-layer
// rows.
var resnextSpecs = map[string]resnetSpec{
	"resnext50_32x4d":  {block: bottleneck, layers: [4]int{3, 4, 6, 3}, groups: 32, widthPerGroup: 4},
	"resnext101_32x8d": {block: bottleneck, layers: [4]int{3, 4, 23, 3}, groups: 32, widthPerGroup: 8},
	"resnext101_64x4d": {block: bottleneck, layers: [4]int{3, 4, 23, 3}, groups: 64, widthPerGroup: 4},
}

var resnextModels = func() []entry {
	var t []entry
	for name, s := range resnextSpecs {
		t = append(t, resnetEntry(name, "Xie et al. 2017, Table 1 (torchvision's ResNeXt)", s))
	}
	return t
}()
