// Package vision is the core of govision. The code lives in its
// subpackages:
//
//   - tensor: float32 tensors, row-major and contiguous, NCHW for images,
//     whose data is a plain []float32 a caller can read;
//   - nn: layers, modules and state dicts named like torchvision's, with
//     autograd and optimizers for training;
//   - weights: weight files (PyTorch .pth/.pt, safetensors, darknet
//     .cfg + .weights);
//   - imageio: decoding (with EXIF orientation), resizing, letterboxing and
//     normalizing images, and drawing boxes, labels and masks.
//
// vision imports only accel, imaging and golang.org/x/image; the model zoos
// (classify, detect, segment) are built on it.
package vision
