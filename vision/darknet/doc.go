// Package darknet reads darknet networks — a .cfg file and its .weights —
// and runs them as darknet (pjreddie/darknet, the 2018 version Debian
// packages) does: YOLOv1, YOLOv2, YOLO9000, YOLOv3 and the darknet
// classifiers (darknet19, darknet53, ResNet, ResNeXt, DenseNet, VGG, …).
//
// # Config
//
// Parse and ParseFile read a cfg strictly: one parse function per section,
// looked up in a table, each filling its own small struct (Convolutional,
// MaxPool, Route, Yolo, …) with darknet's defaults. Every key darknet reads
// for a section is accepted, including those that only matter for
// training, which are kept (a key given twice has its first value, as in
// darknet). An unknown section or key, a malformed number or a route to a
// layer that is not before it is a *ParseError naming file, line and key
// (wrapping ErrFormat); a section darknet has but this package does not
// run ([rnn], [gru], …) is one wrapping ErrUnsupported.
//
// # Networks
//
// Build (or New, from a file) works out every layer's shape for the
// network's input size — the cfg's, or WithSize's, as darknet resizes a
// network — and draws fresh weights (unless WithoutInit); Load also reads
// a .weights file (without drawing the weights it reads), and SaveWeights
// writes one, atomically. Resize gives the network at another input size,
// sharing its weights. Forward runs a batch and returns the
// outputs of the yolo, region and detection layers (or a classifier's last
// layer), exactly as darknet's forward pass leaves them: see Forward for
// the layouts.
//
// The layers are darknet's, operation for operation: its maxpool padding
// rule, its reorg index mapping (not TensorFlow's space_to_depth), its
// batch norm, y = scale·(x − mean)/(√var + 1e-6) + bias, folded into the
// convolution's epilogue (see conv.go), its softmax (exp in double, sum in
// float). Convolutions run on govision.dev/accel's kernels with the batch
// norm, bias and activation fused. The layers are built on accel rather
// than on vision/nn's, whose semantics are torch's (ε under the square
// root, symmetric pooling padding, freshly allocated outputs); activations
// come from tensor's scratch pool and go back to it after their last use.
//
// Where darknet's CPU code is broken and its GPU code is not — the
// WordTree softmax of YOLO9000's region layer — this package computes
// what the GPU code does; see Forward.
//
// # Checks
//
// tools/golden/darknet_golden.sh runs Debian's libdarknet on small
// networks derived from its cfgs (widths divided, inputs shrunk), with
// random weights drawn by tools/golden/darknet_golden.py from fixed seeds,
// on darknet's sample dog.jpg; TestGolden compares every output with it,
// to 1e-4 relative. The fixtures cover every layer type. TestGoldenSlow
// (GOVISION_SLOW=1) generates and checks full YOLOv3 at 416×416 and eight
// other networks (YOLOv3-SPP, YOLOv1, darknet53, DenseNet-201, ResNeXt-50,
// …) the same way.
package darknet
