// Package optim holds the optimizers that train govision's networks —
// SGD with momentum and Nesterov momentum, Adam and AdamW, each with
// torch.optim's update rules (torch 1.13) — parameter groups (no weight
// decay on biases and batch norms), gradient clipping by norm, and
// learning-rate schedules in closed form (step, multi-step, cosine,
// polynomial, linear warm-up). An optimizer's State marshals to JSON
// exactly, for checkpoints.
//
// Optimizers update the parameters' tensors in place: a network's folded
// batch norms must be refreshed afterwards (autograd.Net.Train(false)
// does, or nn.Refresh) before running its inference Forward.
package optim
