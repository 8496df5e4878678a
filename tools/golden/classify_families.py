#!/usr/bin/python3
"""Golden fixtures for govision.dev/classify's LeNet, AlexNet, VGG, ResNet,
Wide ResNet, ResNeXt and SENet families, computed by torchvision 0.14.

Run from the repository root with Debian's interpreter (python3-torch,
python3-torchvision; the first python3 on PATH may lack torch):

    /usr/bin/python3 tools/golden/classify_families.py

It writes, under classify/testdata/golden/families/,

  keys.json.gz  for every full-size model: {"name": {"params": n,
                "macs": m, "size": s, "keys": [[key, shape], ...]}}, the
                state_dict keys and shapes in torch's order (buffers
                included), the parameter count and the multiply-accumulates
                of the convolutions and linear layers in one forward pass on
                a 1x3xSxS input, counted by forward hooks. The torchvision
                models come from torchvision's constructors with
                weights=None (googlenet and inception_v3 with
                aux_logits=False, init_weights=True). The SENets come from
                Cadene's pretrainedmodels SENet class (transcribed below:
                torchvision has no SENet), with its SE module as
                torchvision.ops.SqueezeExcitation, which has the same
                fc1/fc2 layers and keys.
  cases.json.gz small configurations of the same classes, each
                {"name", "config", "keys": [[key, shape], ...], "input",
                "logits", "features": {stage: tensor}}, with a tensor as
                {"shape", "data"}; "features" holds an early feature map
                under the stage name the Go tests tap, its data the first
                8 channels only (shape is the whole map's).

The small configurations' weights and inputs are not stored: they are a
deterministic function of each tensor's key and shape, computed the same way
here and in classify's tests (formula_tensor below, family_test.go's
formulaTensor): integers hashed with murmur3's finalizer, so every value is
bit-identical in both. Batch-norm running statistics are perturbed away
from 0 and 1 the same way, so the folded batch norms are tested. This keeps
the fixtures small while the networks keep torchvision's full widths.
"""

import gzip
import json
import math
import os
import zlib
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torchvision
from torchvision.models import resnet as tvr
from torchvision.models import vgg as tvv
from torchvision.ops import SqueezeExcitation

OUT = os.path.join("classify", "testdata", "golden", "families")

torch.set_grad_enabled(False)
torch.set_num_threads(1)


# --- Cadene's SENet (pretrainedmodels/models/senet.py), transcribed. ---

def se_module(channels, reduction):
    return SqueezeExcitation(channels, channels // reduction)


class SEBottleneckBase(nn.Module):
    def forward(self, x):
        residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            residual = self.downsample(x)
        return self.relu(self.se_module(out) + residual)


class SEBottleneck(SEBottleneckBase):
    expansion = 4

    def __init__(self, inplanes, planes, groups, reduction, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes * 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes * 2)
        self.conv2 = nn.Conv2d(planes * 2, planes * 4, 3, stride=stride, padding=1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(planes * 4)
        self.conv3 = nn.Conv2d(planes * 4, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.se_module = se_module(planes * 4, reduction)
        self.downsample = downsample


class SEResNetBottleneck(SEBottleneckBase):
    expansion = 4

    def __init__(self, inplanes, planes, groups, reduction, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False, stride=stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.se_module = se_module(planes * 4, reduction)
        self.downsample = downsample


class SEResNeXtBottleneck(SEBottleneckBase):
    expansion = 4

    def __init__(self, inplanes, planes, groups, reduction, stride=1, downsample=None, base_width=4):
        super().__init__()
        width = math.floor(planes * (base_width / 64)) * groups
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False, stride=1)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.se_module = se_module(planes * 4, reduction)
        self.downsample = downsample


class SENet(nn.Module):
    def __init__(self, block, layers, groups, reduction, dropout_p=0.2, inplanes=128,
                 input_3x3=True, downsample_kernel_size=3, downsample_padding=1, num_classes=1000):
        super().__init__()
        self.inplanes = inplanes
        if input_3x3:
            mods = [
                ("conv1", nn.Conv2d(3, 64, 3, stride=2, padding=1, bias=False)),
                ("bn1", nn.BatchNorm2d(64)), ("relu1", nn.ReLU(inplace=True)),
                ("conv2", nn.Conv2d(64, 64, 3, stride=1, padding=1, bias=False)),
                ("bn2", nn.BatchNorm2d(64)), ("relu2", nn.ReLU(inplace=True)),
                ("conv3", nn.Conv2d(64, inplanes, 3, stride=1, padding=1, bias=False)),
                ("bn3", nn.BatchNorm2d(inplanes)), ("relu3", nn.ReLU(inplace=True)),
            ]
        else:
            mods = [
                ("conv1", nn.Conv2d(3, inplanes, kernel_size=7, stride=2, padding=3, bias=False)),
                ("bn1", nn.BatchNorm2d(inplanes)), ("relu1", nn.ReLU(inplace=True)),
            ]
        mods.append(("pool", nn.MaxPool2d(3, stride=2, ceil_mode=True)))
        self.layer0 = nn.Sequential(OrderedDict(mods))
        self.layer1 = self._make_layer(block, 64, layers[0], groups, reduction, 1, 1, 0)
        self.layer2 = self._make_layer(block, 128, layers[1], groups, reduction, 2,
                                       downsample_kernel_size, downsample_padding)
        self.layer3 = self._make_layer(block, 256, layers[2], groups, reduction, 2,
                                       downsample_kernel_size, downsample_padding)
        self.layer4 = self._make_layer(block, 512, layers[3], groups, reduction, 2,
                                       downsample_kernel_size, downsample_padding)
        self.avg_pool = nn.AvgPool2d(7, stride=1)
        self.dropout = nn.Dropout(dropout_p) if dropout_p is not None else None
        self.last_linear = nn.Linear(512 * block.expansion, num_classes)

    def _make_layer(self, block, planes, blocks, groups, reduction, stride, dk, dp):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, kernel_size=dk, stride=stride,
                          padding=dp, bias=False),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, groups, reduction, stride, downsample)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups, reduction))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.layer0(x)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        x = self.layer4(x)
        # The port's AvgPool2d(7) is a global pool at 224x224; the small
        # cases run on other sizes, where the Go network pools globally.
        x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return self.last_linear(x)


SENETS = {
    "se_resnet50": lambda **kw: SENet(SEResNetBottleneck, [3, 4, 6, 3], groups=1, reduction=16, dropout_p=None,
                                      inplanes=64, input_3x3=False, downsample_kernel_size=1,
                                      downsample_padding=0, **kw),
    "se_resnet101": lambda **kw: SENet(SEResNetBottleneck, [3, 4, 23, 3], groups=1, reduction=16, dropout_p=None,
                                       inplanes=64, input_3x3=False, downsample_kernel_size=1,
                                       downsample_padding=0, **kw),
    "se_resnet152": lambda **kw: SENet(SEResNetBottleneck, [3, 8, 36, 3], groups=1, reduction=16, dropout_p=None,
                                       inplanes=64, input_3x3=False, downsample_kernel_size=1,
                                       downsample_padding=0, **kw),
    "se_resnext50_32x4d": lambda **kw: SENet(SEResNeXtBottleneck, [3, 4, 6, 3], groups=32, reduction=16,
                                             dropout_p=None, inplanes=64, input_3x3=False,
                                             downsample_kernel_size=1, downsample_padding=0, **kw),
    "se_resnext101_32x4d": lambda **kw: SENet(SEResNeXtBottleneck, [3, 4, 23, 3], groups=32, reduction=16,
                                              dropout_p=None, inplanes=64, input_3x3=False,
                                              downsample_kernel_size=1, downsample_padding=0, **kw),
    "senet154": lambda **kw: SENet(SEBottleneck, [3, 8, 36, 3], groups=64, reduction=16, dropout_p=0.2, **kw),
}

# --- Full-size models: keys, shapes, parameters, MACs. ---

TORCHVISION = [
    "alexnet",
    "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "wide_resnet50_2", "wide_resnet101_2",
    "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d",
    "densenet121", "densenet161", "densenet169", "densenet201",
    "googlenet", "inception_v3",
]


def count_macs(model, size):
    total = [0]

    def hook(m, inp, out):
        if isinstance(m, nn.Conv2d):
            total[0] += out.numel() // out.shape[0] * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            total[0] += m.in_features * m.out_features

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    model(torch.zeros(1, 3, size, size))
    for h in hs:
        h.remove()
    return total[0]


def describe(model, size):
    model.eval()
    keys = [[k, list(v.shape)] for k, v in model.state_dict().items()]
    params = sum(p.numel() for p in model.parameters())
    return {"params": params, "macs": count_macs(model, size), "size": size, "keys": keys}


def full_size():
    out = {}
    for name in TORCHVISION:
        kw = {}
        if name in ("googlenet", "inception_v3"):
            kw = dict(aux_logits=False, init_weights=True)
        size = 299 if name == "inception_v3" else 224
        out[name] = describe(torchvision.models.get_model(name, weights=None, **kw), size)
        print(name, out[name]["params"], out[name]["macs"], flush=True)
    for name, make in SENETS.items():
        out[name] = describe(make(), 224)
        print(name, out[name]["params"], out[name]["macs"], flush=True)
    return out


# --- Small configurations with formula weights. ---

M32 = 0xFFFFFFFF


def formula_values(key, n):
    """n values in [0, 1): murmur3's fmix32 of crc32(key) + i·0x9E3779B9."""
    h = zlib.crc32(key.encode())
    x = (np.uint64(h) + np.arange(n, dtype=np.uint64) * np.uint64(0x9E3779B9)) & np.uint64(M32)
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x85EBCA6B)) & np.uint64(M32)
    x ^= x >> np.uint64(13)
    x = (x * np.uint64(0xC2B2AE35)) & np.uint64(M32)
    x ^= x >> np.uint64(16)
    return x.astype(np.float64) / 4294967296.0


def formula_tensor(key, shape, bn):
    """The value of a state-dict tensor (or, for key "input", the input):
    bn tells whether the key belongs to a batch norm."""
    n = int(np.prod(shape)) if len(shape) else 1
    u = formula_values(key, n)
    leaf = key.rsplit(".", 1)[-1]
    if key == "input":
        v = 2 * u - 1
    elif leaf == "running_mean":
        v = 0.2 * (2 * u - 1)
    elif leaf == "running_var":
        v = 0.5 + u
    elif bn and leaf == "weight":
        v = 0.5 + u
    elif bn and leaf == "bias":
        v = 0.2 * (2 * u - 1)
    elif leaf == "bias":
        v = 0.1 * (2 * u - 1)
    else:
        fan_in = int(np.prod(shape[1:]))
        v = math.sqrt(3 / fan_in) * (2 * u - 1)
    return torch.from_numpy(v.astype(np.float32).reshape(shape))


def fill(model):
    sd = model.state_dict()
    new = {}
    for k, v in sd.items():
        if k.endswith("num_batches_tracked"):
            new[k] = v
            continue
        prefix = k.rsplit(".", 1)[0]
        bn = (prefix + ".running_mean") in sd
        new[k] = formula_tensor(k, list(v.shape), bn)
    model.load_state_dict(new)
    return model.eval()


def enc(t):
    t = t.detach().contiguous().float()
    return {"shape": list(t.shape), "data": [float(str(v)) for v in t.reshape(-1).numpy()]}


def enc_channels(t, channels=8):
    """The first channels of a feature map [1, C, H, W], with the full
    shape: the Go test compares those."""
    d = enc(t[:, :channels])
    d["shape"] = list(t.shape)
    return d


def case(name, config, model, size, stage, module, input_scale=1.0):
    """A case: the model's output on the formula input of 1x3xsizexsize,
    and the first 8 channels of the output of module (an early stage)
    under the name stage. input_scale multiplies the input (AlexNet's
    local response normalisation needs large activations to matter)."""
    fill(model)
    x = formula_tensor("input", [1, 3, size, size], False) * input_scale
    feats = {}
    h = module.register_forward_hook(lambda m, i, o: feats.__setitem__(stage, o))
    y = model(x)
    h.remove()
    return {"name": name, "config": config,
            "keys": [[k, list(v.shape)] for k, v in model.state_dict().items()],
            "input": [1, 3, size, size], "input_scale": input_scale, "logits": enc(y),
            "features": {k: enc_channels(v) for k, v in feats.items()}}


def small_vgg(cfg, bn):
    m = tvv.VGG(tvv.make_layers(cfg, batch_norm=bn), num_classes=10)
    m.classifier = nn.Sequential(
        nn.Linear(512 * 7 * 7, 64), nn.ReLU(True), nn.Dropout(),
        nn.Linear(64, 64), nn.ReLU(True), nn.Dropout(),
        nn.Linear(64, 10))
    return m


def alexnet_lrn():
    """The paper's AlexNet in torchvision's layout (classify/alexnet.go)."""
    lrn = lambda: nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)
    pool = lambda: nn.MaxPool2d(3, 2)
    m = torchvision.models.AlexNet(num_classes=10)
    m.features = nn.Sequential(
        nn.Conv2d(3, 96, 11, stride=4), nn.ReLU(True), lrn(), pool(),
        nn.Conv2d(96, 256, 5, padding=2, groups=2), nn.ReLU(True), lrn(), pool(),
        nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(True),
        nn.Conv2d(384, 384, 3, padding=1, groups=2), nn.ReLU(True),
        nn.Conv2d(384, 256, 3, padding=1, groups=2), nn.ReLU(True), pool())
    return m


def small_cases():
    cases = []
    SHORT = [16, "M", 32, "M", 512, "M"]
    m = small_vgg(SHORT, True)
    cases.append(case("vgg_bn_short", {"cfg": [v if v != "M" else 0 for v in SHORT], "batch_norm": True, "hidden": 64},
                      m, 32, "features", m.features))
    m = small_vgg(SHORT, False)
    cases.append(case("vgg_short", {"cfg": [v if v != "M" else 0 for v in SHORT], "batch_norm": False, "hidden": 64},
                      m, 32, "features", m.features))
    m = torchvision.models.AlexNet(num_classes=10)
    cases.append(case("alexnet", {}, m, 64, "features", m.features))
    m = alexnet_lrn()
    cases.append(case("alexnet_lrn", {}, m, 67, "features", m.features, input_scale=30.0))
    for name, block, layers, kw, size in [
        ("resnet_basic_1111", "basic", [1, 1, 1, 1], {}, 32),
        ("resnet_basic_2111", "basic", [2, 1, 1, 1], {}, 40),
        ("resnet_bottleneck_2111", "bottleneck", [2, 1, 1, 1], {"width_per_group": 16}, 32),
        ("resnext_2111_4x8d", "bottleneck", [2, 1, 1, 1], {"groups": 4, "width_per_group": 8}, 36),
    ]:
        cls = tvr.BasicBlock if block == "basic" else tvr.Bottleneck
        m = tvr.ResNet(cls, layers, num_classes=10, **kw)
        cfg = {"block": block, "layers": layers, "groups": kw.get("groups", 1),
               "width_per_group": kw.get("width_per_group", 64)}
        cases.append(case(name, cfg, m, size, "layer1", m.layer1))
    for name, kind, kw in [
        ("se_resnet_1111", "se_resnet", dict(block=SEResNetBottleneck, groups=1, dropout_p=None, inplanes=64,
                                             input_3x3=False, downsample_kernel_size=1, downsample_padding=0)),
        ("se_resnext_1111", "se_resnext", dict(block=SEResNeXtBottleneck, groups=32, dropout_p=None, inplanes=64,
                                               input_3x3=False, downsample_kernel_size=1, downsample_padding=0)),
        ("senet154_1111", "senet154", dict(block=SEBottleneck, groups=64, dropout_p=0.2, inplanes=128,
                                           input_3x3=True, downsample_kernel_size=3, downsample_padding=1)),
    ]:
        m = SENet(layers=[1, 1, 1, 1], reduction=16, num_classes=10, **kw)
        cfg = {"kind": kind, "layers": [1, 1, 1, 1], "groups": kw["groups"], "inplanes": kw["inplanes"],
               "stem3x3": kw["input_3x3"], "downsample_kernel": kw["downsample_kernel_size"], "reduction": 16}
        cases.append(case(name, cfg, m, 45, "layer1", m.layer1))
    return cases


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = small_cases()
    with gzip.GzipFile(os.path.join(OUT, "cases.json.gz.tmp"), "wb", mtime=0) as f:
        f.write(json.dumps({"generator": "tools/golden/classify_families.py", "torch": torch.__version__,
                            "torchvision": torchvision.__version__, "cases": cases},
                           separators=(",", ":")).encode())
    os.replace(os.path.join(OUT, "cases.json.gz.tmp"), os.path.join(OUT, "cases.json.gz"))
    keys = full_size()
    with gzip.GzipFile(os.path.join(OUT, "keys.json.gz.tmp"), "wb", mtime=0) as f:
        f.write(json.dumps({"generator": "tools/golden/classify_families.py", "torch": torch.__version__,
                            "torchvision": torchvision.__version__, "models": keys},
                           separators=(",", ":")).encode())
    os.replace(os.path.join(OUT, "keys.json.gz.tmp"), os.path.join(OUT, "keys.json.gz"))


main()
