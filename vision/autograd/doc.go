// Package autograd differentiates govision's networks: reverse-mode
// automatic differentiation over nn's layers, the losses that train them,
// and custom operations.
//
// # Vars and graphs
//
// A Var holds a tensor. Leaves are made by Param (a parameter or an input
// whose gradient is wanted), Constant (data) or New. Every operation of the
// package — Conv2d, BatchNorm2d, ReLU, Concat, CrossEntropy, … — returns a
// new Var, and records itself (its operands and a backward function) only
// if an operand requires a gradient. Backward on a scalar walks the
// recorded operations from the last to the first and adds each leaf's
// gradient into its Grad, as torch's backward does; the graph is then
// consumed (its saved tensors let go). Operations that record nothing keep
// nothing: their cost is their forward pass.
//
// # Networks
//
// A Net runs an nn.Module differentiably. It finds the module's parameters
// with nn.Walk (each becomes a Var over the module's own tensor, so an
// optimizer's step changes the module) and runs nn's layers and Sequential
// through this package's operations, in training mode (batch norms use
// and update batch statistics with torch's momentum rule and unbiased
// running variance, dropout drops, from the Net's seeded generator) or in
// evaluation mode. A model with its own Forward registers a function
// written with the operations (Register); Apply runs sub-modules from it.
// A Net in evaluation mode with no parameter requiring a gradient, on an
// input that requires none — a frozen model — calls the module's own
// Forward, fused convolution epilogues and all:
// BenchmarkFrozenForward measures that it costs nothing more.
//
// The layers' backward passes are methods of the layers themselves, in
// package nn (Conv2d.Backward beside Conv2d.Forward, …): nn knows nothing
// of graphs, and this package, above it, knows nothing of kernels. That
// split is why autograd is its own package rather than part of nn.
//
// # Custom operations
//
// A Func is a forward and a backward function on tensors; Apply runs it on
// Vars. StraightThrough builds the straight-through estimator that
// binarised and quantised networks train with: a forward that rounds, a
// backward that passes the gradient as the identity would (optionally
// clipped). Record is the lower-level form the package's own operations
// use.
//
// # Numerics
//
// Forward and backward passes are float32, reductions (batch statistics,
// bias gradients, losses) are summed in float64 and rounded once; sums over
// a batch run in a fixed order, so gradients do not depend on the thread
// count. Every backward is checked against central finite differences and
// against torch 1.13's autograd (fixtures written by
// tools/golden/autograd.py), and a small residual network trained for a
// few steps follows torch's loss curve step by step.
//
// Vars and Nets are not safe for concurrent use.
package autograd
