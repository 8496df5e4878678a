// Package classify is govision's zoo of image classifiers, one file per
// paper: LeNet-5, AlexNet, NiN, VGG, GoogLeNet, BN-Inception, Inception-v3,
// Inception-v4 and Inception-ResNet, ResNet and pre-activation ResNet, Wide
// ResNet, DenseNet, ResNeXt and SENet. A registry builds a model by its
// torchvision name (classify.New("resnet50")) with fresh weights; loading a
// weight file is a separate step. It also holds the label sets.
//
// classify imports only vision and accel.
package classify
