// Package imageio turns image files into network inputs and draws results
// back onto images.
//
// # Reading
//
// Decode and DecodeFile read JPEG, PNG, GIF (first frame), BMP, TIFF and
// WebP (the last three through golang.org/x/image), and turn JPEGs upright
// according to their EXIF orientation tag (through
// github.com/disintegration/imaging). A Decoder reads the header first and
// refuses an image whose width × height exceeds its MaxPixels (default 100
// megapixels) before decoding any pixel, so that a small file claiming a
// huge image costs nothing. Errors wrap ErrFormat or ErrTooLarge and name
// the file.
//
// # Network inputs
//
// Tensors are govision.dev/vision/tensor values, float32, NCHW, channels in
// RGB order, one 8-bit level being 1/255:
//
//   - ToTensor and ToBatch: torchvision's ToTensor + Normalize;
//   - ResizeCenterCrop and ClassifyPreprocess: torchvision's classification
//     preprocessing (Resize(256), CenterCrop(224), ToTensor, Normalize),
//     matching its sizes and crop offsets exactly and its pixels to within
//     one 8-bit level (imaging's Linear filter stands in for PIL's
//     bilinear);
//   - Letterbox: darknet's letterbox_image, bit for bit, with
//     LetterboxInfo.Unmap, darknet's correct_yolo_boxes, to map detections
//     back to the image;
//   - Resize: imaging's resampling filters, for anything else.
//
// # Drawing and writing
//
// Annotate and DrawLabels draw labelled boxes (class colours from a fixed
// palette, captions "dog 0.87" in Go Regular, line width and font size
// scaled to the image); BlendMask blends a segmentation class map over an
// image in the PASCAL VOC palette, and MaskImage stores one as VOC does.
// SaveFile writes PNG or JPEG atomically (temporary file, then rename).
//
// # Conventions
//
// Coordinates are pixels of the image in question, x right and y down,
// with the origin at the image's top-left corner; Rect holds corners, Box
// holds centre and size (darknet's convention). Network-side boxes given to
// Unmap are fractions of the network input's width and height, as YOLO
// layers produce them.
//
// Every function is safe for concurrent use; none keeps or changes its
// input image, except DrawLabels, which draws on the image it is given.
//
// The reference numbers in the tests come from darknet (Debian's
// libdarknet, tools/golden/letterbox.sh) and torchvision 0.14 with Pillow
// (tools/golden/imageio.py).
package imageio
