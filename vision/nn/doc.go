// Package nn holds govision's layers and the machinery that names their
// tensors: inference-mode layers with torchvision's semantics, options and
// parameter names, containers, and state dicts that load torchvision
// checkpoints by name, strictly.
//
// # Modules and names
//
// A layer or a model is a Module: it has a Forward on a tensor. Its tensors
// and sub-modules are struct fields carrying their torchvision names in an
// `nn` tag, and one walker (Walk) builds the dotted state-dict keys from
// them:
//
//	type BasicBlock struct {
//		Conv1 *nn.Conv2d      `nn:"conv1"`
//		BN1   *nn.BatchNorm2d `nn:"bn1"`
//		...
//	}
//
// gives "layer1.0.conv1.weight", "layer1.0.bn1.running_mean" and so on. A
// field of a slice of modules names its elements by index ("layer1.0"), and
// a Sequential names its children by index or by the name they were added
// with ("features.0", "features.denseblock1"). Tag options: "buffer" marks a
// buffer (running statistics: in the state dict, not trained), "optional" a
// tensor a checkpoint may lack (BatchNorm's num_batches_tracked). A nil
// tensor field is absent, as torch leaves out a bias=False bias.
//
// StateDict lists every tensor by name; LoadStateDict copies a state dict
// in, strictly: every missing, unexpected or wrongly shaped tensor is named
// in one error. LoadStateDictLenient loads what fits and reports the rest.
//
// # Inference
//
// Layers run in evaluation mode: BatchNorm2d uses its running statistics,
// Dropout is the identity. A BatchNorm2d that follows a Conv2d (directly in
// a Sequential, or through ConvBNAct in a model's Forward) is folded into
// the convolution's epilogue, with the activation after it: scale =
// γ/√(var+ε) and shift = β − mean·scale are computed when the weights are
// set (New, LoadStateDict) while the unfolded γ, β, mean and variance stay
// what the state dict holds, so saving gives back what was loaded. Layer
// outputs come from the tensor pool (tensor.Get); a Sequential hands each
// intermediate back (Release) once the next layer has read it, so a forward
// pass reuses its activation buffers from call to call. A model's own
// Forward does the same for the intermediates it holds. Forward
// is safe for concurrent use once the weights are loaded: layers keep no
// per-call state in their fields.
//
// # Layers
//
// Each layer is the torch.nn class of the same name, built from torch's
// keyword arguments (an options struct whose zero values are torch's
// defaults): Conv2d, ConvTranspose2d, BatchNorm2d, Linear; the activations;
// MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d, MaxUnpool2d;
// LocalResponseNorm; Upsample (and the function Interpolate); Dropout,
// Flatten, ZeroPad2d, Softmax, LogSoftmax, Identity; and the branch merges
// Concat, Add, AddInto and ChannelScale. A constructor panics on
// hyper-parameters torch refuses (a programming error); Forward returns an
// error wrapping ErrShape for an input it cannot take, never a panic. Every
// layer is checked against PyTorch on fixtures written by
// tools/golden/nn_layers.py.
//
// # Training
//
// Each layer has its backward pass beside its forward pass, as methods in
// the *_backward.go files (Conv2d.Backward, BatchNorm2d.ForwardTrain and
// Backward, MaxPool2d.Backward, …): given what the forward pass saw and the
// output's gradient, they return new gradient tensors. The graph lives a
// level up, in govision.dev/vision/autograd, which records an operation
// only when an operand requires a gradient and finds a module's parameters
// with Walk, keyed by tensor: nn knows nothing of graphs, and a frozen
// model's Forward pays nothing for training.
package nn
