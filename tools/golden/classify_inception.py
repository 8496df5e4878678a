#!/usr/bin/python3
"""Golden fixtures for govision.dev/classify's DenseNet, GoogLeNet and
Inception-v3, computed by torchvision.

Run from the repository root with Debian's interpreter (python3-torch,
python3-torchvision), not the first python3 on PATH:

    /usr/bin/python3 tools/golden/classify_inception.py

It writes, into classify/testdata/golden/inception/:

keys.json
    For every full-size model torchvision has among these families
    (densenet121/161/169/201, googlenet, inception_v3, the last two also
    with their auxiliary heads, as the released checkpoints carry them),
    built with weights=None: the state_dict keys in order with their shapes,
    and the parameter count (buffers excluded).

    {"torch": ..., "torchvision": ..., "models": {name:
        {"params": n, "keys": [[key, [shape...]], ...]}}}

<case>.pt, <case>.json
    Small configurations of torchvision's own classes (DenseNet with
    growth_rate=8, block_config=(2, 2); GoogLeNet and Inception3 with every
    convolution's width divided by 8 and 16, built through their
    conv_block / blocks arguments) with BatchNorm running statistics
    calibrated on random data and then perturbed, so that every term of the
    batch norms matters while activations stay of order 1. The .pt file is
    the state dict (torch.save); the .json holds
    {"config": ..., "input": tensor, "logits": tensor,
     "features": {module name: tensor}} with a tensor as
    {"shape": [...], "data": [float32 values in shortest round-trip form]};
    "features" is an early feature map, taken with a forward hook.

torch.manual_seed is fixed, so a rerun writes the same files.
"""

import functools
import importlib
import json
import os

import torch
import torch.nn as nn
import torchvision

# The modules, not the functions of the same name torchvision.models exports.
densenet = importlib.import_module("torchvision.models.densenet")
googlenet = importlib.import_module("torchvision.models.googlenet")
inception = importlib.import_module("torchvision.models.inception")

OUT = os.path.join("classify", "testdata", "golden", "inception")

torch.manual_seed(20240611)
torch.set_grad_enabled(False)


def enc(t):
    t = t.detach().contiguous().float()
    return {"shape": list(t.shape), "data": [float(str(v)) for v in t.reshape(-1).numpy()]}


def keys_of(model):
    return {
        "params": sum(p.numel() for p in model.parameters()),
        "keys": [[k, list(v.shape)] for k, v in model.state_dict().items()],
    }


# --- Key lists of the full-size models (weights=None; googlenet and
# inception_v3 need aux_logits=False, init_weights=True to build without a
# download, see shared/REFERENCES.md).
full = {}
for name in ["densenet121", "densenet161", "densenet169", "densenet201"]:
    full[name] = keys_of(getattr(torchvision.models, name)(weights=None))
full["googlenet"] = keys_of(torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True))
full["googlenet_aux"] = keys_of(torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=True))
full["inception_v3"] = keys_of(torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=True))
full["inception_v3_aux"] = keys_of(torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=True))


# --- Small configurations.
def scaled_conv(div, block):
    """A conv_block that divides both widths by div (the image's 3 input
    channels stay 3), so every width of an Inception network shrinks by div
    while its structure stays torchvision's."""

    def make(in_channels, out_channels, **kwargs):
        cin = in_channels if in_channels == 3 else in_channels // div
        assert in_channels == 3 or in_channels % div == 0, in_channels
        assert out_channels % div == 0, out_channels
        return block(cin, out_channels // div, **kwargs)

    return make


def randomize(model):
    """torch's default initialisation for every convolution and linear
    layer (the models' own inits give tiny weights and logits)."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            m.reset_parameters()


def calibrate_and_perturb(model, shape):
    """Running statistics measured on random batches (so activations stay of
    order 1 through the depth), then perturbed with γ, β far from 1, 0."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # a cumulative average
    model.train()
    for _ in range(4):
        model(torch.randn(4, *shape[1:]))
    model.eval()
    for bn in bns:
        c = bn.num_features
        std = bn.running_var.sqrt()
        bn.running_mean.add_(torch.randn(c) * 0.2 * std)
        bn.running_var.mul_(torch.rand(c) * 1.5 + 0.5)
        bn.weight.copy_(torch.rand(c) * 1.0 + 0.5)
        bn.bias.copy_(torch.randn(c) * 0.2)
        bn.momentum = 0.1
    return model


def case(name, model, config, shape, feature):
    randomize(model)
    calibrate_and_perturb(model, shape)
    feats = {}
    model.get_submodule(feature).register_forward_hook(lambda m, i, o: feats.__setitem__(feature, o))
    x = torch.randn(*shape)
    y = model(x)
    torch.save(model.state_dict(), os.path.join(OUT, name + ".pt"))
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump({"config": config, "input": enc(x), "logits": enc(y),
                   "features": {feature: enc(feats[feature])}}, f)
        f.write("\n")


os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, "keys.json"), "w") as f:
    # One key per line, so that a diff of a regenerated file reads well.
    f.write('{"generator": "tools/golden/classify_inception.py", "torch": %s, "torchvision": %s, "models": {\n'
            % (json.dumps(torch.__version__), json.dumps(torchvision.__version__)))
    for i, (name, m) in enumerate(full.items()):
        f.write('%s: {"params": %d, "keys": [\n' % (json.dumps(name), m["params"]))
        f.write(",\n".join(json.dumps(k, separators=(",", ":")) for k in m["keys"]))
        f.write("\n]}%s\n" % ("," if i < len(full) - 1 else ""))
    f.write("}}\n")

# DenseNet: torchvision's class in a small configuration (issue 4).
cfg = dict(growth_rate=8, block_config=(2, 2), num_init_features=16, num_classes=10)
case("densenet_small", densenet.DenseNet(**cfg), cfg, (2, 3, 32, 32), "features.denseblock1")

# GoogLeNet, widths / 8, no auxiliary heads, a 48x48 input.
div = 8
conv = scaled_conv(div, googlenet.BasicConv2d)
m = googlenet.GoogLeNet(num_classes=10, aux_logits=False, transform_input=False, init_weights=False,
                        blocks=[conv, functools.partial(googlenet.Inception, conv_block=conv), googlenet.InceptionAux])
m.fc = nn.Linear(1024 // div, 10)
case("googlenet_small", m, dict(width_divisor=div, num_classes=10), (1, 3, 48, 48), "inception3a")

# Inception3, widths / 16, no auxiliary head, the smallest input (75x75).
div = 16
conv = scaled_conv(div, inception.BasicConv2d)
blocks = [conv] + [functools.partial(b, conv_block=conv) for b in (
    inception.InceptionA, inception.InceptionB, inception.InceptionC, inception.InceptionD,
    inception.InceptionE, inception.InceptionAux)]
m = inception.Inception3(num_classes=10, aux_logits=False, transform_input=False, init_weights=False,
                         inception_blocks=blocks)
m.fc = nn.Linear(2048 // div, 10)
case("inception_v3_small", m, dict(width_divisor=div, num_classes=10), (1, 3, 75, 75), "Mixed_5b")
