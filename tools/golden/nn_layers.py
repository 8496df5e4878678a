#!/usr/bin/python3
"""Golden results for govision.dev/vision/nn's layers, computed by PyTorch.

Run from the repository root with Debian's interpreter (python3-torch):

    /usr/bin/python3 tools/golden/nn_layers.py

It writes vision/nn/testdata/golden/<group>.json, read by
vision/nn/golden_test.go. Each file is

    {"generator": ..., "torch": <version>, "cases": [case, ...]}

and each case

    {"name":       what it checks,
     "layer":      the torch.nn class (or "interpolate", "cat", "add",
                   "channel_scale" for the functional operations),
     "config":     its keyword arguments, by torch's names (a Sequential's
                   config lists its children as {"layer", "config"}),
     "state_dict": {torch's state_dict key: tensor} (loaded in Go through
                   nn.LoadStateDict, strictly, so the names are checked too),
     "inputs":     [tensor, ...],
     "outputs":    [tensor, ...]       (torch's results, in eval mode),
     "indices":    tensor              (return_indices=True only)}

with a tensor as {"shape": [...], "data": [flat row-major values]}. Values
are float32 written in their shortest round-tripping decimal form; integer
tensors (num_batches_tracked, indices) are written as integers.
torch.manual_seed is fixed, so a rerun writes the same files.
"""

import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join("vision", "nn", "testdata", "golden")

torch.manual_seed(20240607)
torch.set_grad_enabled(False)

files = {}


def enc(t):
    """A tensor as {"shape", "data"}: float32 values in their shortest
    round-tripping form, integers as integers."""
    t = t.detach().contiguous()
    if t.dtype in (torch.int64, torch.int32):
        data = [int(v) for v in t.reshape(-1).tolist()]
    else:
        data = [float(str(v)) for v in t.float().reshape(-1).numpy()]
    return {"shape": list(t.shape), "data": data}


def add(group, name, layer, config, inputs, outputs, module=None, indices=None):
    case = {"name": name, "layer": layer, "config": config,
            "state_dict": {}, "inputs": [enc(x) for x in inputs],
            "outputs": [enc(y) for y in outputs]}
    if module is not None:
        case["state_dict"] = {k: enc(v) for k, v in module.state_dict().items()}
    if indices is not None:
        case["indices"] = enc(indices)
    files.setdefault(group, []).append(case)


def randn(*shape, scale=1.0):
    return torch.randn(*shape) * scale


def perturb_bn(bn):
    """Running statistics and affine parameters far from the defaults, so
    that every term of the folded batch norm matters."""
    c = bn.num_features
    bn.weight.copy_(torch.rand(c) * 1.5 + 0.25)
    bn.bias.copy_(torch.randn(c) * 0.5)
    bn.running_mean.copy_(torch.randn(c) * 0.5)
    bn.running_var.copy_(torch.rand(c) + 0.5)
    bn.num_batches_tracked.fill_(7)
    return bn


def build(layer, config):
    """The torch module for a case's layer and config."""
    if layer == "Sequential":
        return nn.Sequential(*[build(c["layer"], c["config"]) for c in config["children"]])
    m = getattr(nn, layer)(**config)
    if isinstance(m, nn.BatchNorm2d):
        perturb_bn(m)
    return m.eval()


def module_case(group, name, layer, config, x):
    m = build(layer, config)
    add(group, name, layer, config, [x], [m(x)], module=m)


def child(layer, **config):
    return {"layer": layer, "config": config}


# --- Conv2d (the lead's layer): every option, and each Conv2D path (1x1
# GEMM, im2col + GEMM, depthwise direct).
CONV = [
    ("3x3_pad1_bias", dict(in_channels=3, out_channels=4, kernel_size=3, padding=1), (2, 3, 6, 7)),
    ("3x3_stride2_pad1_nobias", dict(in_channels=3, out_channels=5, kernel_size=3, stride=2, padding=1, bias=False), (1, 3, 7, 8)),
    ("rect_k2x3_s2x1_p1x0", dict(in_channels=2, out_channels=3, kernel_size=(2, 3), stride=(2, 1), padding=(1, 0)), (1, 2, 7, 6)),
    ("dilation2_pad2", dict(in_channels=3, out_channels=4, kernel_size=3, padding=2, dilation=2), (1, 3, 8, 9)),
    ("dilation_rect_2x3", dict(in_channels=2, out_channels=3, kernel_size=3, padding=(2, 3), dilation=(2, 3)), (1, 2, 7, 8)),
    ("groups2", dict(in_channels=4, out_channels=6, kernel_size=3, padding=1, groups=2), (2, 4, 5, 5)),
    ("depthwise_3x3", dict(in_channels=4, out_channels=4, kernel_size=3, padding=1, groups=4), (1, 4, 6, 6)),
    ("depthwise_s2_nobias", dict(in_channels=3, out_channels=3, kernel_size=3, stride=2, padding=1, groups=3, bias=False), (1, 3, 7, 7)),
    ("depthwise_multiplier2", dict(in_channels=3, out_channels=6, kernel_size=3, padding=1, groups=3), (1, 3, 5, 6)),
    ("pointwise_1x1", dict(in_channels=5, out_channels=4, kernel_size=1), (2, 5, 3, 4)),
    ("1x1_stride2", dict(in_channels=3, out_channels=2, kernel_size=1, stride=2), (1, 3, 5, 5)),
    ("7x7_s2_p3_stem", dict(in_channels=3, out_channels=4, kernel_size=7, stride=2, padding=3, bias=False), (1, 3, 11, 12)),
]
for name, cfg, shape in CONV:
    module_case("conv", name, "Conv2d", cfg, randn(*shape))

# --- BatchNorm2d in evaluation, perturbed running statistics.
module_case("batchnorm", "default_eps", "BatchNorm2d", dict(num_features=3), randn(2, 3, 4, 5))
module_case("batchnorm", "eps_1e-3", "BatchNorm2d", dict(num_features=4, eps=1e-3), randn(1, 4, 3, 3))

# --- Linear.
module_case("linear", "bias", "Linear", dict(in_features=10, out_features=5), randn(3, 10))
module_case("linear", "nobias", "Linear", dict(in_features=7, out_features=4, bias=False), randn(2, 7))
# A 4-D input, flattened by the Go layer (torch flattens first, as
# torchvision's classifiers do with torch.flatten(x, 1)).
m = build("Linear", dict(in_features=12, out_features=3))
x = randn(2, 3, 2, 2)
add("linear", "flattened_4d", "Linear", dict(in_features=12, out_features=3), [x], [m(torch.flatten(x, 1))], module=m)

# --- Activations, on values spanning both sides of 0 and 6.
x = randn(2, 3, 4, 4, scale=4)
for name, layer, cfg in [
    ("relu", "ReLU", {}),
    ("relu6", "ReLU6", {}),
    ("leaky_relu_default", "LeakyReLU", {}),
    ("leaky_relu_0.2", "LeakyReLU", dict(negative_slope=0.2)),
    ("sigmoid", "Sigmoid", {}),
    ("tanh", "Tanh", {}),
]:
    module_case("activation", name, layer, cfg, x)

# --- Sequential: conv → bn → act runs fused in Go; the children's names
# are the indices.
SEQ = [
    ("conv_bn_relu", [child("Conv2d", in_channels=3, out_channels=4, kernel_size=3, padding=1),
                      child("BatchNorm2d", num_features=4), child("ReLU")], (2, 3, 5, 6)),
    ("conv_nobias_bn_leaky", [child("Conv2d", in_channels=3, out_channels=4, kernel_size=3, stride=2, padding=1, bias=False),
                              child("BatchNorm2d", num_features=4), child("LeakyReLU", negative_slope=0.1)], (1, 3, 7, 7)),
    ("conv_relu6_no_bn", [child("Conv2d", in_channels=2, out_channels=3, kernel_size=3),
                          child("ReLU6")], (1, 2, 5, 5)),
    ("depthwise_bn_relu6", [child("Conv2d", in_channels=4, out_channels=4, kernel_size=3, padding=1, groups=4, bias=False),
                            child("BatchNorm2d", num_features=4), child("ReLU6")], (1, 4, 5, 5)),
    ("conv_bn_sigmoid", [child("Conv2d", in_channels=2, out_channels=3, kernel_size=1),
                         child("BatchNorm2d", num_features=3), child("Sigmoid")], (1, 2, 4, 4)),
    ("conv_bn_tanh_unfused_act", [child("Conv2d", in_channels=2, out_channels=3, kernel_size=3, padding=1),
                                  child("BatchNorm2d", num_features=3, eps=1e-3), child("Tanh")], (1, 2, 4, 5)),
    ("bn_alone_then_conv", [child("BatchNorm2d", num_features=2),
                            child("Conv2d", in_channels=2, out_channels=3, kernel_size=3, padding=1), child("ReLU")], (1, 2, 4, 4)),
    ("small_classifier", [child("Conv2d", in_channels=3, out_channels=4, kernel_size=3, padding=1),
                          child("ReLU"),
                          child("MaxPool2d", kernel_size=2, stride=2),
                          child("Conv2d", in_channels=4, out_channels=6, kernel_size=3, padding=1, bias=False),
                          child("BatchNorm2d", num_features=6),
                          child("ReLU"),
                          child("AdaptiveAvgPool2d", output_size=[1, 1]),
                          child("Flatten"),
                          child("Dropout", p=0.5),
                          child("Linear", in_features=6, out_features=3)], (2, 3, 8, 8)),
]
for name, children, shape in SEQ:
    module_case("sequential", name, "Sequential", {"children": children}, randn(*shape))

# --- Pooling.
MAXPOOL = [
    ("resnet_stem_k3s2p1", dict(kernel_size=3, stride=2, padding=1), (1, 2, 7, 9)),
    ("vgg_k2s2", dict(kernel_size=2, stride=2), (2, 2, 6, 8)),
    ("default_stride_k2_odd", dict(kernel_size=2), (1, 2, 7, 9)),
    ("googlenet_k3s2_ceil", dict(kernel_size=3, stride=2, ceil_mode=True), (1, 2, 8, 8)),
    ("k3s2p1_ceil", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), (1, 1, 6, 6)),
    ("dilation2_k3s1p1", dict(kernel_size=3, stride=1, padding=1, dilation=2), (1, 2, 7, 6)),
    ("rect_k2x3_s1x2_p1", dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1)), (1, 2, 6, 7)),
]
for name, cfg, shape in MAXPOOL:
    module_case("pooling", "max_" + name, "MaxPool2d", cfg, randn(*shape))
for name, cfg, shape in [
    ("segnet_k2s2", dict(kernel_size=2, stride=2), (2, 2, 6, 8)),
    ("k3s2p1_ceil", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), (1, 2, 7, 7)),
    ("dilation2_k2s1", dict(kernel_size=2, stride=1, dilation=2), (1, 1, 5, 6)),
]:
    cfg = dict(cfg, return_indices=True)
    x = randn(*shape)
    y, idx = nn.MaxPool2d(**cfg)(x)
    add("pooling", "max_indices_" + name, "MaxPool2d", cfg, [x], [y], indices=idx)

AVGPOOL = [
    ("k3s2p1_include_pad", dict(kernel_size=3, stride=2, padding=1), (1, 2, 7, 9)),
    ("k3s2p1_exclude_pad", dict(kernel_size=3, stride=2, padding=1, count_include_pad=False), (1, 2, 7, 9)),
    ("k2s2", dict(kernel_size=2, stride=2), (2, 2, 6, 8)),
    ("inception_k3s1p1_exclude_pad", dict(kernel_size=3, stride=1, padding=1, count_include_pad=False), (1, 2, 5, 6)),
    ("ceil_k3s2_include_pad", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), (1, 2, 6, 6)),
    ("ceil_k3s2_exclude_pad", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False), (1, 2, 6, 6)),
    ("ceil_k2s2_nopad", dict(kernel_size=2, stride=2, ceil_mode=True), (1, 2, 5, 7)),
    ("rect_k3x2_s2x1_p1x0", dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0)), (1, 2, 7, 5)),
]
for name, cfg, shape in AVGPOOL:
    module_case("pooling", "avg_" + name, "AvgPool2d", cfg, randn(*shape))

for name, size, shape in [
    ("to_1x1", [1, 1], (2, 3, 5, 7)),
    ("7x9_to_3x3", [3, 3], (1, 2, 7, 9)),
    ("5x4_to_2x5_upsize", [2, 5], (1, 2, 5, 4)),
    ("none_keeps_height", [None, 3], (1, 2, 4, 7)),
]:
    module_case("pooling", "adaptive_avg_" + name, "AdaptiveAvgPool2d", dict(output_size=size), randn(*shape))
for name, size, shape in [
    ("to_1x1", [1, 1], (2, 3, 5, 7)),
    ("7x9_to_3x2", [3, 2], (1, 2, 7, 9)),
    ("3x5_to_4x4_upsize", [4, 4], (1, 2, 3, 5)),
    ("width_none", [2, None], (1, 1, 5, 3)),
]:
    module_case("pooling", "adaptive_max_" + name, "AdaptiveMaxPool2d", dict(output_size=size), randn(*shape))
x = randn(1, 2, 7, 9)
y, idx = nn.AdaptiveMaxPool2d([3, 4], return_indices=True)(x)
add("pooling", "adaptive_max_indices_7x9_to_3x4", "AdaptiveMaxPool2d",
    dict(output_size=[3, 4], return_indices=True), [x], [y], indices=idx)

# MaxUnpool2d of MaxPool2d's own indices; inputs are the pooled values and
# the indices (as numbers), config output_size is torch's output_size.
for name, cfg, shape, out_size in [
    ("segnet_k2s2", dict(kernel_size=2, stride=2), (2, 2, 6, 8), None),
    ("odd_k2s2_to_7x9", dict(kernel_size=2, stride=2), (1, 2, 7, 9), [7, 9]),
    ("overlapping_k3s2p1", dict(kernel_size=3, stride=2, padding=1), (1, 2, 7, 7), [7, 7]),
    ("default_size_k3s2p1", dict(kernel_size=3, stride=2, padding=1), (1, 1, 7, 7), None),
]:
    x = randn(*shape)
    pooled, idx = F.max_pool2d(x, return_indices=True, **cfg)
    y = nn.MaxUnpool2d(**cfg)(pooled, idx, output_size=out_size)
    add("pooling", "unpool_" + name, "MaxUnpool2d", dict(cfg, output_size=out_size), [pooled, idx], [y])

# --- LocalResponseNorm: AlexNet's (k=2), GoogLeNet-like, an even size, a
# window wider than the channels, a 3-D input, and a large alpha so the
# normalisation is far from the identity.
for name, cfg, shape in [
    ("alexnet_size5_k2", dict(size=5, alpha=1e-4, beta=0.75, k=2.0), (1, 7, 3, 4)),
    ("defaults_size3", dict(size=3), (2, 5, 3, 3)),
    ("large_alpha_size5", dict(size=5, alpha=0.5, beta=0.75, k=1.0), (1, 7, 3, 4)),
    ("even_size4", dict(size=4, alpha=0.3, beta=0.6, k=1.5), (1, 6, 2, 3)),
    ("size9_over_4_channels", dict(size=9, alpha=0.8, beta=0.9, k=0.5), (1, 4, 2, 2)),
    ("size1", dict(size=1, alpha=0.5, beta=1.0, k=1.0), (1, 3, 2, 2)),
]:
    module_case("norm", "lrn_" + name, "LocalResponseNorm", cfg, randn(*shape, scale=2))
module_case("norm", "lrn_3d_input", "LocalResponseNorm", dict(size=3, alpha=0.4, beta=0.75, k=1.0), randn(2, 5, 6, scale=2))

# --- Upsample / interpolate.
UP = [
    ("nearest_size_3x4_to_8x10", dict(size=[8, 10], mode="nearest"), (1, 2, 3, 4)),
    ("nearest_size_downsample_7x9_to_3x5", dict(size=[3, 5], mode="nearest"), (1, 2, 7, 9)),
    ("nearest_scale2", dict(scale_factor=2.0, mode="nearest"), (1, 2, 3, 4)),
    ("nearest_scale1.7", dict(scale_factor=1.7, mode="nearest"), (1, 2, 5, 6)),
    ("nearest_scale2.1_out_is_twice_in", dict(scale_factor=2.1, mode="nearest"), (1, 1, 5, 5)),
    ("nearest_scale1.1_out_is_in", dict(scale_factor=1.1, mode="nearest"), (1, 1, 5, 7)),
    ("nearest_scale_0.5x0.75", dict(scale_factor=(0.5, 0.75), mode="nearest"), (1, 2, 6, 8)),
    ("nearest_scale1.7_recompute", dict(scale_factor=1.7, mode="nearest", recompute_scale_factor=True), (1, 2, 5, 6)),
    ("bilinear_size_3x4_to_7x9", dict(size=[7, 9], mode="bilinear", align_corners=False), (1, 2, 3, 4)),
    ("bilinear_size_3x4_to_7x9_align", dict(size=[7, 9], mode="bilinear", align_corners=True), (1, 2, 3, 4)),
    ("bilinear_scale2", dict(scale_factor=2.0, mode="bilinear", align_corners=False), (2, 2, 3, 3)),
    ("bilinear_scale2_align", dict(scale_factor=2.0, mode="bilinear", align_corners=True), (1, 2, 3, 3)),
    ("bilinear_scale1.5x2.5", dict(scale_factor=(1.5, 2.5), mode="bilinear", align_corners=False), (1, 2, 5, 3)),
    ("bilinear_scale1.7_recompute", dict(scale_factor=1.7, mode="bilinear", align_corners=False, recompute_scale_factor=True), (1, 1, 5, 6)),
    ("bilinear_downsample_5x7_to_2x3", dict(size=[2, 3], mode="bilinear", align_corners=False), (1, 2, 5, 7)),
    ("bilinear_downsample_5x7_to_2x3_align", dict(size=[2, 3], mode="bilinear", align_corners=True), (1, 2, 5, 7)),
    ("bilinear_to_1x1_align", dict(size=[1, 1], mode="bilinear", align_corners=True), (1, 2, 4, 4)),
    ("bilinear_from_1x1", dict(size=[3, 2], mode="bilinear", align_corners=False), (1, 2, 1, 1)),
]
for name, cfg, shape in UP:
    module_case("upsample", name, "Upsample", cfg, randn(*shape))
for name, cfg, shape in [
    ("functional_nearest_scale3", dict(scale_factor=3.0, mode="nearest"), (1, 1, 2, 3)),
    ("functional_bilinear_size", dict(size=[5, 4], mode="bilinear", align_corners=False), (1, 2, 3, 3)),
]:
    x = randn(*shape)
    add("upsample", name, "interpolate", cfg, [x], [F.interpolate(x, **cfg)])

# --- ConvTranspose2d: weight [in, out/groups, kh, kw].
CONVT = [
    ("k3_s1_bias", dict(in_channels=3, out_channels=4, kernel_size=3), (1, 3, 4, 5)),
    ("k3_s2_p1_op1_nobias", dict(in_channels=3, out_channels=2, kernel_size=3, stride=2, padding=1, output_padding=1, bias=False), (1, 3, 4, 4)),
    ("k4_s2_p1_batch2", dict(in_channels=2, out_channels=3, kernel_size=4, stride=2, padding=1), (2, 2, 3, 4)),
    ("groups2_k3_s2", dict(in_channels=4, out_channels=6, kernel_size=3, stride=2, groups=2), (1, 4, 3, 3)),
    ("depthwise_k4_s2_p1", dict(in_channels=3, out_channels=3, kernel_size=4, stride=2, padding=1, groups=3, bias=False), (1, 3, 3, 3)),
    ("dilation2_op1_over_stride1", dict(in_channels=2, out_channels=3, kernel_size=3, stride=1, padding=1, dilation=2, output_padding=1), (1, 2, 4, 5)),
    ("rect_k2x3_s2x1_p0x1_op1x0", dict(in_channels=2, out_channels=2, kernel_size=(2, 3), stride=(2, 1), padding=(0, 1), output_padding=(1, 0)), (1, 2, 3, 4)),
    ("stride3_p2_op2", dict(in_channels=2, out_channels=2, kernel_size=3, stride=3, padding=2, output_padding=2), (1, 2, 3, 3)),
    ("fcn_like_k16_s8_p4", dict(in_channels=2, out_channels=2, kernel_size=16, stride=8, padding=4, bias=False), (1, 2, 3, 3)),
    ("1x1_s1", dict(in_channels=4, out_channels=3, kernel_size=1), (1, 4, 3, 3)),
]
for name, cfg, shape in CONVT:
    module_case("convtranspose", name, "ConvTranspose2d", cfg, randn(*shape))

# --- Softmax and LogSoftmax.
for layer in ("Softmax", "LogSoftmax"):
    lname = layer.lower()
    module_case("misc", lname + "_dim1_2d", layer, dict(dim=1), randn(3, 5, scale=3))
    module_case("misc", lname + "_dim1_4d", layer, dict(dim=1), randn(2, 4, 3, 3, scale=3))
    module_case("misc", lname + "_dim-1_3d", layer, dict(dim=-1), randn(2, 3, 4, scale=3))

# --- Dropout (identity in eval), Flatten, ZeroPad2d, Identity.
x = randn(2, 3, 2, 2)
module_case("misc", "dropout_p0.5_eval", "Dropout", dict(p=0.5), x)
module_case("misc", "identity", "Identity", {}, x)
module_case("misc", "flatten_default", "Flatten", {}, x)
module_case("misc", "flatten_0_2", "Flatten", dict(start_dim=0, end_dim=2), x)
module_case("misc", "flatten_2_3", "Flatten", dict(start_dim=2, end_dim=3), x)
x = randn(1, 2, 3, 4)
module_case("misc", "zeropad_1_2_3_0", "ZeroPad2d", dict(padding=[1, 2, 3, 0]), x)
module_case("misc", "zeropad_int2", "ZeroPad2d", dict(padding=2), x)
module_case("misc", "zeropad_negative_crops", "ZeroPad2d", dict(padding=[-1, 2, 0, -2]), x)

# --- Merging branches.
a, b, c = randn(2, 1, 3, 3), randn(2, 3, 3, 3), randn(2, 2, 3, 3)
add("merge", "cat_4d_three", "cat", {}, [a, b, c], [torch.cat([a, b, c], dim=1)])
a, b = randn(2, 3), randn(2, 4)
add("merge", "cat_2d", "cat", {}, [a, b], [torch.cat([a, b], dim=1)])
a, b = randn(2, 3, 4, 4), randn(2, 3, 4, 4)
add("merge", "add_residual", "add", {}, [a, b], [a + b])
x = randn(2, 3, 4, 4)
s = torch.sigmoid(randn(2, 3))
add("merge", "channel_scale_nc", "channel_scale", {}, [x, s], [x * s[:, :, None, None]])
s = torch.sigmoid(randn(2, 3, 1, 1))
add("merge", "channel_scale_nc11", "channel_scale", {}, [x, s], [x * s])

os.makedirs(OUT, exist_ok=True)
total = 0
for group, cases in sorted(files.items()):
    path = os.path.join(OUT, group + ".json")
    doc = {"generator": "tools/golden/nn_layers.py", "torch": torch.__version__, "cases": cases}
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    size = os.path.getsize(path)
    total += size
    print(f"wrote {len(cases)} cases to {path} ({size} bytes)")
print(f"total {total} bytes")
