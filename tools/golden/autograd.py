#!/usr/bin/python3
"""Golden gradients for govision.dev/vision/autograd and vision/optim,
computed by PyTorch's autograd.

Run from the repository root with Debian's interpreter (python3-torch):

    /usr/bin/python3 tools/golden/autograd.py

It writes vision/autograd/testdata/golden/*.json, read by
vision/autograd's tests, and vision/optim/testdata/golden/optim.json, read
by vision/optim's, all in one run
with torch.manual_seed fixed, so a rerun writes the same files:

layers.json    {"cases": [{"name", "layer" (torch.nn class or "cat", "add",
               "channel_scale"), "config" (keyword arguments), "train"
               (training mode), "state_dict" (before the forward pass),
               "inputs", "grad_output" (the gradient fed to backward),
               "output", "grad_inputs", "grads" (by state-dict name),
               "buffers_after" (the state dict's buffers after the
               forward pass: batch norm's running statistics)}]}
losses.json    {"cases": [{"name", "loss", "config", "input", "target",
               "output", "grad_input"}]}
optim.json     {"cases": [{"name", "optimizer", "config", "groups"
               (per group: options and parameter names), "params"
               (initial), "grads" (per step, by name), "after" (per
               step, by name)}],
                "schedules": [{"name", "scheduler", "config", "base_lr",
               "lrs"}], "clip": [...]}
resnet.json    a small residual network with batch norm trained for a few
               SGD steps (momentum, Nesterov, weight decay off for biases
               and batch norms): its initial state dict, the batches, the
               loss of each step, and the final state dict.

Tensors are {"shape": [...], "data": [flat row-major values]}, float32
values in their shortest round-tripping form (integers as integers).
"""

import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

OUT = os.path.join("vision", "autograd", "testdata", "golden")
OPTIM_OUT = os.path.join("vision", "optim", "testdata", "golden")
torch.manual_seed(20240611)


def enc(t):
    t = t.detach().contiguous()
    if t.dtype in (torch.int64, torch.int32):
        data = [int(v) for v in t.reshape(-1).tolist()]
    else:
        data = [float(str(v)) for v in t.float().reshape(-1).numpy()]
    return {"shape": list(t.shape), "data": data}


def randn(*shape, scale=1.0):
    return torch.randn(*shape) * scale


# ---------------------------------------------------------------- layers

layer_cases = []


def layer_case(name, layer, config, inputs, train=False, module=None, fn=None, perturb=None):
    """module(*inputs) (or fn(*inputs)) with gradients of the inputs and
    of the module's parameters for a random output gradient."""
    if module is None and fn is None:
        module = getattr(nn, layer)(**config)
    if module is not None:
        if perturb:
            perturb(module)
        module.train(train)
        sd = {k: enc(v) for k, v in module.state_dict().items()}
    else:
        sd = {}
    xs = [x.clone().requires_grad_(True) for x in inputs]
    y = module(*xs) if module is not None else fn(*xs)
    gy = torch.randn_like(y)
    y.backward(gy)
    case = {"name": name, "layer": layer, "config": config, "train": train,
            "state_dict": sd, "inputs": [enc(x) for x in inputs],
            "grad_output": enc(gy), "output": enc(y),
            "grad_inputs": [enc(x.grad) for x in xs], "grads": {}, "buffers_after": {}}
    if module is not None:
        case["grads"] = {k: enc(p.grad) for k, p in module.named_parameters()}
        case["buffers_after"] = {k: enc(b) for k, b in module.named_buffers()}
    layer_cases.append(case)


def perturb_bn(bn):
    c = bn.num_features
    with torch.no_grad():
        bn.weight.copy_(torch.rand(c) * 1.5 + 0.25)
        bn.bias.copy_(torch.randn(c) * 0.5)
        bn.running_mean.copy_(torch.randn(c) * 0.5)
        bn.running_var.copy_(torch.rand(c) + 0.5)


conv_configs = [
    ("conv 3x3", dict(in_channels=2, out_channels=3, kernel_size=3), (2, 2, 6, 5)),
    ("conv stride 2 padding 1", dict(in_channels=3, out_channels=4, kernel_size=3, stride=2, padding=1), (2, 3, 7, 8)),
    ("conv dilation 2 padding 2", dict(in_channels=2, out_channels=3, kernel_size=3, dilation=2, padding=2), (1, 2, 7, 6)),
    ("conv groups 2 no bias", dict(in_channels=4, out_channels=6, kernel_size=3, groups=2, padding=1, bias=False), (2, 4, 5, 5)),
    ("conv depthwise stride 2", dict(in_channels=3, out_channels=3, kernel_size=3, groups=3, stride=2, padding=1), (2, 3, 8, 7)),
    ("conv 1x1", dict(in_channels=5, out_channels=4, kernel_size=1), (2, 5, 3, 4)),
    ("conv 5x5 rectangular stride", dict(in_channels=1, out_channels=6, kernel_size=(5, 3), stride=(1, 2)), (3, 1, 9, 9)),
]
for name, cfg, shape in conv_configs:
    layer_case(name, "Conv2d", cfg, [randn(*shape)])

layer_case("transposed stride 2 padding 1 output padding 1", "ConvTranspose2d",
           dict(in_channels=3, out_channels=2, kernel_size=3, stride=2, padding=1, output_padding=1), [randn(2, 3, 4, 5)])
layer_case("transposed groups 2 dilation 2", "ConvTranspose2d",
           dict(in_channels=4, out_channels=6, kernel_size=2, groups=2, dilation=2, bias=False), [randn(1, 4, 3, 4)])
layer_case("transposed 4x4 stride 2 (FCN)", "ConvTranspose2d",
           dict(in_channels=2, out_channels=2, kernel_size=4, stride=2, padding=1), [randn(2, 2, 3, 3)])

layer_case("linear", "Linear", dict(in_features=7, out_features=5), [randn(4, 7)])
layer_case("linear no bias", "Linear", dict(in_features=6, out_features=3, bias=False), [randn(5, 6)])

layer_case("batch norm train", "BatchNorm2d", dict(num_features=3), [randn(4, 3, 3, 5, scale=2) + 1],
           train=True, perturb=perturb_bn)
layer_case("batch norm train momentum 0.3 eps 1e-3", "BatchNorm2d", dict(num_features=2, momentum=0.3, eps=1e-3),
           [randn(3, 2, 2, 2) - 0.5], train=True, perturb=perturb_bn)
layer_case("batch norm eval", "BatchNorm2d", dict(num_features=3), [randn(2, 3, 4, 4)], train=False, perturb=perturb_bn)

layer_case("max pool 2x2", "MaxPool2d", dict(kernel_size=2), [randn(2, 3, 6, 8)])
layer_case("max pool 3x3 stride 2 padding 1 ceil", "MaxPool2d",
           dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), [randn(2, 2, 7, 8)])
layer_case("max pool overlapping 3x3 stride 1", "MaxPool2d", dict(kernel_size=3, stride=1), [randn(1, 2, 5, 6)])
layer_case("avg pool 2x2", "AvgPool2d", dict(kernel_size=2), [randn(2, 3, 6, 8)])
layer_case("avg pool 3x3 stride 2 padding 1 ceil", "AvgPool2d",
           dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), [randn(2, 2, 7, 8)])
layer_case("avg pool exclude pad", "AvgPool2d",
           dict(kernel_size=3, stride=2, padding=1, count_include_pad=False), [randn(1, 2, 6, 5)])
layer_case("adaptive avg 3x2 of 7x5", "AdaptiveAvgPool2d", dict(output_size=[3, 2]), [randn(2, 3, 7, 5)])
layer_case("adaptive avg global", "AdaptiveAvgPool2d", dict(output_size=[1, 1]), [randn(2, 4, 5, 6)])
layer_case("adaptive max 2x3 of 5x7", "AdaptiveMaxPool2d", dict(output_size=[2, 3]), [randn(2, 2, 5, 7)])

layer_case("relu", "ReLU", {}, [randn(3, 4, 5)])
layer_case("relu6", "ReLU6", {}, [randn(3, 4, 5, scale=5)])
layer_case("leaky relu 0.1", "LeakyReLU", dict(negative_slope=0.1), [randn(3, 4, 5)])
layer_case("sigmoid", "Sigmoid", {}, [randn(3, 4, 5, scale=3)])
layer_case("tanh", "Tanh", {}, [randn(3, 4, 5, scale=2)])

layer_case("upsample nearest scale 2", "Upsample", dict(scale_factor=2, mode="nearest"), [randn(2, 2, 3, 4)])
layer_case("upsample nearest size 5x7", "Upsample", dict(size=[5, 7], mode="nearest"), [randn(1, 2, 3, 4)])
layer_case("upsample bilinear size 7x5", "Upsample", dict(size=[7, 5], mode="bilinear", align_corners=False), [randn(1, 2, 3, 4)])
layer_case("upsample bilinear scale 2 align corners", "Upsample",
           dict(scale_factor=2, mode="bilinear", align_corners=True), [randn(2, 2, 3, 4)])

layer_case("softmax dim 1", "Softmax", dict(dim=1), [randn(4, 6, scale=2)])
layer_case("softmax channels", "Softmax", dict(dim=1), [randn(2, 3, 2, 3)])
layer_case("log softmax dim 1", "LogSoftmax", dict(dim=1), [randn(4, 6, scale=2)])
layer_case("log softmax channels", "LogSoftmax", dict(dim=1), [randn(2, 3, 2, 3)])
layer_case("flatten", "Flatten", {}, [randn(2, 3, 2, 2)])
layer_case("zero pad", "ZeroPad2d", dict(padding=[1, 2, 0, 3]), [randn(2, 2, 3, 3)])

layer_case("cat", "cat", {}, [randn(2, 1, 3, 2), randn(2, 3, 3, 2), randn(2, 2, 3, 2)],
           fn=lambda *xs: torch.cat(xs, 1))
layer_case("add", "add", {}, [randn(2, 3, 4, 4), randn(2, 3, 4, 4)], fn=lambda a, b: a + b)
layer_case("channel scale", "channel_scale", {}, [randn(2, 3, 4, 4), torch.rand(2, 3, 1, 1)],
           fn=lambda x, s: x * s)

# ---------------------------------------------------------------- losses

loss_cases = []


def loss_case(name, loss, config, x, target, fn):
    xg = x.clone().requires_grad_(True)
    y = fn(xg, target)
    gy = torch.randn_like(y) if y.dim() > 0 else torch.ones(())
    y.backward(gy)
    loss_cases.append({"name": name, "loss": loss, "config": config, "input": enc(x),
                       "target": enc(target), "grad_output": enc(gy), "output": enc(y), "grad_input": enc(xg.grad)})


logits = randn(6, 5, scale=2)
labels = torch.tensor([0, 3, 4, 1, 1, 2])
loss_case("cross entropy", "cross_entropy", {}, logits, labels, lambda x, t: F.cross_entropy(x, t))
loss_case("cross entropy sum", "cross_entropy", dict(reduction="sum"), logits, labels,
          lambda x, t: F.cross_entropy(x, t, reduction="sum"))
loss_case("cross entropy label smoothing 0.1", "cross_entropy", dict(label_smoothing=0.1), logits, labels,
          lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1))
ce_w = torch.tensor([1.0, 2.0, 0.5, 1.5, 3.0])
ign = torch.tensor([0, 3, -100, 1, 1, 2])
loss_case("cross entropy weights ignore smoothing", "cross_entropy",
          dict(weight=ce_w.tolist(), label_smoothing=0.2), logits, ign,
          lambda x, t: F.cross_entropy(x, t, weight=ce_w, label_smoothing=0.2))
loss_case("cross entropy ignore index 255 smoothing", "cross_entropy", dict(ignore_index=255, label_smoothing=0.3),
          logits, torch.tensor([0, 255, 4, 1, 255, 2]),
          lambda x, t: F.cross_entropy(x, t, ignore_index=255, label_smoothing=0.3))
seg = randn(2, 4, 3, 3)
seg_t = torch.randint(0, 4, (2, 3, 3))
seg_t[0, 1, 1] = 255
loss_case("cross entropy spatial ignore none", "cross_entropy", dict(ignore_index=255, reduction="none"), seg, seg_t,
          lambda x, t: F.cross_entropy(x, t, ignore_index=255, reduction="none"))
loss_case("cross entropy spatial mean", "cross_entropy", dict(ignore_index=255), seg, seg_t,
          lambda x, t: F.cross_entropy(x, t, ignore_index=255))
logp = F.log_softmax(randn(6, 5), 1)
loss_case("nll", "nll_loss", {}, logp, labels, lambda x, t: F.nll_loss(x, t))
loss_case("nll weights", "nll_loss", dict(weight=ce_w.tolist()), logp, ign, lambda x, t: F.nll_loss(x, t, weight=ce_w))
probs = torch.rand(4, 5)
bce_pw = torch.tensor([1.0, 2.0, 0.5, 3.0, 1.0])
loss_case("bce with logits", "binary_cross_entropy_with_logits", {}, randn(4, 5, scale=3), probs,
          lambda x, t: F.binary_cross_entropy_with_logits(x, t))
loss_case("bce with logits pos weight sum", "binary_cross_entropy_with_logits", dict(pos_weight=bce_pw.tolist(), reduction="sum"),
          randn(4, 5, scale=3), (probs > 0.5).float(),
          lambda x, t: F.binary_cross_entropy_with_logits(x, t, pos_weight=bce_pw, reduction="sum"))
loss_case("mse", "mse_loss", {}, randn(4, 5), probs, lambda x, t: F.mse_loss(x, t))
loss_case("mse none", "mse_loss", dict(reduction="none"), randn(4, 5), probs, lambda x, t: F.mse_loss(x, t, reduction="none"))
loss_case("smooth l1 beta 0.5", "smooth_l1_loss", dict(beta=0.5), randn(4, 5), probs,
          lambda x, t: F.smooth_l1_loss(x, t, beta=0.5))
loss_case("smooth l1 beta 1 sum", "smooth_l1_loss", dict(beta=1.0, reduction="sum"), randn(4, 5, scale=2), probs,
          lambda x, t: F.smooth_l1_loss(x, t, beta=1.0, reduction="sum"))
hard = (torch.rand(4, 5) > 0.7).float()
loss_case("sigmoid focal", "sigmoid_focal_loss", dict(alpha=0.25, gamma=2, reduction="mean"), randn(4, 5, scale=3), hard,
          lambda x, t: torchvision.ops.sigmoid_focal_loss(x, t, alpha=0.25, gamma=2, reduction="mean"))
loss_case("sigmoid focal no alpha gamma 1.5 sum", "sigmoid_focal_loss", dict(alpha=-1, gamma=1.5, reduction="sum"),
          randn(4, 5, scale=3), probs,
          lambda x, t: torchvision.ops.sigmoid_focal_loss(x, t, alpha=-1, gamma=1.5, reduction="sum"))
loss_case("kl div batchmean", "kl_div", dict(reduction="batchmean"), F.log_softmax(randn(4, 5), 1), F.softmax(randn(4, 5), 1),
          lambda x, t: F.kl_div(x, t, reduction="batchmean"))
T = 4.0
teacher = randn(4, 5, scale=3)
loss_case("distillation T=4", "distillation", dict(temperature=T), randn(4, 5, scale=3), teacher,
          lambda s, t: F.kl_div(F.log_softmax(s / T, 1), F.softmax(t / T, 1), reduction="batchmean") * T * T)

# ---------------------------------------------------------------- optimizers

optim_cases = []


def optim_case(name, kind, config, split, steps=4):
    """A few steps on three parameters (a weight, a bias, a batch-norm
    weight) with gradients drawn per step; groups split by decay if asked."""
    params = {"conv.weight": randn(3, 2, 2), "conv.bias": randn(3), "bn.weight": torch.rand(3) + 0.5}
    ps = {k: nn.Parameter(v.clone()) for k, v in params.items()}
    lr, wd = config["lr"], config.get("weight_decay", 0.0)
    extra = {k: v for k, v in config.items() if k not in ("lr", "weight_decay")}
    if split:
        groups = [{"name": "decay", "params": ["conv.weight"], "lr": lr, "weight_decay": wd},
                  {"name": "no_decay", "params": ["conv.bias", "bn.weight"], "lr": lr, "weight_decay": 0.0}]
    else:
        groups = [{"name": "all", "params": list(params), "lr": lr, "weight_decay": wd}]
    tg = [{"params": [ps[n] for n in g["params"]], "lr": g["lr"], "weight_decay": g["weight_decay"]} for g in groups]
    opt = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[kind](tg, lr=lr, **extra)
    grads, after = [], []
    for _ in range(steps):
        g = {k: randn(*v.shape) for k, v in params.items()}
        for k, p in ps.items():
            p.grad = g[k].clone()
        opt.step()
        grads.append({k: enc(v) for k, v in g.items()})
        after.append({k: enc(p) for k, p in ps.items()})
    optim_cases.append({"name": name, "optimizer": kind, "config": config, "groups": groups,
                        "params": {k: enc(v) for k, v in params.items()}, "grads": grads, "after": after})


optim_case("sgd", "sgd", dict(lr=0.1), False)
optim_case("sgd momentum", "sgd", dict(lr=0.05, momentum=0.9), False)
optim_case("sgd momentum dampening weight decay", "sgd", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01), False)
optim_case("sgd nesterov split decay", "sgd", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4), True)
optim_case("adam", "adam", dict(lr=1e-2), False)
optim_case("adam weight decay betas", "adam", dict(lr=3e-3, betas=[0.8, 0.99], eps=1e-6, weight_decay=0.1), False)
optim_case("adamw split decay", "adamw", dict(lr=1e-2, weight_decay=0.05), True)

schedules = []


def schedule(name, kind, config, make, steps=12, base_lr=0.1):
    p = nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=base_lr)
    s = make(opt)
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        s.step()
    schedules.append({"name": name, "scheduler": kind, "config": config, "base_lr": base_lr, "lrs": lrs})


sch = torch.optim.lr_scheduler
schedule("step", "step", dict(step_size=3, gamma=0.5), lambda o: sch.StepLR(o, 3, 0.5))
schedule("multi step", "multistep", dict(milestones=[2, 5, 9], gamma=0.1), lambda o: sch.MultiStepLR(o, [2, 5, 9], 0.1))
schedule("cosine", "cosine", dict(T_max=10, eta_min=0.001), lambda o: sch.CosineAnnealingLR(o, 10, 0.001), steps=11)
schedule("poly", "poly", dict(total_iters=10, power=0.9), lambda o: sch.PolynomialLR(o, 10, 0.9))
schedule("warmup then cosine", "warmup_cosine", dict(warmup=3, start_factor=0.1, T_max=8),
         lambda o: sch.SequentialLR(o, [sch.LinearLR(o, 0.1, 1.0, 3), sch.CosineAnnealingLR(o, 8)], [3]))

clips = []
for name, max_norm, scale in [("clip", 1.0, 1.0), ("no clip", 100.0, 1.0)]:
    gs = [randn(3, 4, scale=scale), randn(5, scale=scale)]
    ps = [nn.Parameter(torch.zeros_like(g)) for g in gs]
    for p, g in zip(ps, gs):
        p.grad = g.clone()
    total = torch.nn.utils.clip_grad_norm_(ps, max_norm)
    clips.append({"name": name, "max_norm": max_norm, "grads": [enc(g) for g in gs],
                  "total_norm": float(total), "after": [enc(p.grad) for p in ps]})

# ---------------------------------------------------------------- resnet


class Block(nn.Module):
    """torchvision's BasicBlock, smaller."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        s = x if self.downsample is None else self.downsample(x)
        return F.relu(y + s)


class TinyResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.layer1 = nn.Sequential(Block(8, 8, 1))
        self.layer2 = nn.Sequential(Block(8, 16, 2))
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer2(self.layer1(x))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


net = TinyResNet()
init = {k: enc(v) for k, v in net.state_dict().items()}
decay = [p for n, p in net.named_parameters() if p.dim() > 1]
no_decay = [p for n, p in net.named_parameters() if p.dim() <= 1]
opt = torch.optim.SGD([{"params": decay, "weight_decay": 5e-4}, {"params": no_decay, "weight_decay": 0}],
                      lr=0.05, momentum=0.9, nesterov=True)
net.train()
batches, losses = [], []
for step in range(6):
    x = randn(8, 3, 10, 10)
    y = torch.randint(0, 5, (8,))
    opt.zero_grad()
    loss = F.cross_entropy(net(x), y, label_smoothing=0.1)
    loss.backward()
    opt.step()
    batches.append({"x": enc(x), "y": y.tolist()})
    losses.append(float(loss))
resnet = {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 5e-4, "label_smoothing": 0.1,
          "initial": init, "batches": batches, "losses": losses,
          "final": {k: enc(v) for k, v in net.state_dict().items()}}

meta = {"generator": "tools/golden/autograd.py", "torch": torch.__version__}
for out, fname, body in [(OUT, "layers.json", {"cases": layer_cases}), (OUT, "losses.json", {"cases": loss_cases}),
                         (OPTIM_OUT, "optim.json", {"cases": optim_cases, "schedules": schedules, "clip": clips}),
                         (OUT, "resnet.json", resnet)]:
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, fname), "w") as f:
        json.dump({**meta, **body}, f, separators=(",", ":"))
        f.write("\n")
print("wrote", OUT, "and", OPTIM_OUT)
