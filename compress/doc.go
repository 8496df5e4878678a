// Package compress holds model compression, each method applicable to any nn
// model: low-rank and tensor decomposition, pruning, quantization,
// binarization, weight sharing with Huffman coding, and knowledge
// distillation.
//
// compress imports only vision and accel.
package compress
