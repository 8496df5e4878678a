// Package segment is govision's semantic segmentation: FCN-32s/16s/8s,
// SegNet (pooling indices and unpooling), the dilated context module,
// DeepLab v1/v2 (atrous convolution, ASPP) with the fully connected CRF, and
// DeepLab v3, behind a registry (segment.New("deeplabv3_resnet50")); and the
// metrics mIoU and pixel accuracy.
//
// segment imports only vision, classify (for backbones) and accel.
package segment
