#!/usr/bin/python3
"""Golden results for accel's pooling kernels, computed by PyTorch.

Run from the repository root with Debian's interpreter (python3-torch):

    /usr/bin/python3 tools/golden/pooling.py

It writes accel/testdata/golden/pooling.json, read by accel/pooling_test.go.
Every case holds its input, its parameters and PyTorch's output (and, for max
pooling, the flat h*w indices that return_indices gives). NaN is written as
null and infinities as "inf" and "-inf", since JSON has neither.
"""

import json
import math
import os

import torch
import torch.nn.functional as F

OUT = os.path.join("accel", "testdata", "golden", "pooling.json")

torch.manual_seed(20240601)


def make_input(n, c, h, w, nan_at=()):
    """Random NCHW input, half Gaussian and half quarter-integers in [-2, 2)
    so that windows hold negative values and exact ties (max pooling must
    pick the first of equal maxima, as PyTorch does)."""
    g = torch.randn(n, c, h, w)
    q = torch.randint(-8, 8, (n, c, h, w)).float() / 4
    x = torch.where(torch.rand(n, c, h, w) < 0.5, g, q).contiguous()
    flat = x.view(-1)
    for i in nan_at:
        flat[i] = float("nan")
    return x


def floats(t):
    """A flat list of numbers, with NaN as null and infinities as the
    strings "inf" and "-inf"."""
    def enc(v):
        if math.isnan(v):
            return None
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return v
    return [enc(v) for v in t.reshape(-1).tolist()]


def pair(v):
    return list(v) if isinstance(v, (tuple, list)) else [v, v]


cases = []


def add(name, op, x, out, indices=None, **params):
    case = {
        "name": name,
        "op": op,
        "shape": list(x.shape),
        "input": floats(x),
        "out_shape": list(out.shape),
        "want": floats(out),
    }
    if indices is not None:
        case["want_indices"] = indices.reshape(-1).tolist()
    case.update(params)
    cases.append(case)


# Max pooling: torch.nn.functional.max_pool2d(..., return_indices=True).
MAX = [
    # name, (n, c, h, w), kernel, stride, padding, dilation, ceil_mode, NaN positions
    ("resnet_stem_k3s2p1", (1, 2, 7, 9), 3, 2, 1, 1, False, ()),
    ("vgg_k2s2", (2, 3, 6, 8), 2, 2, 0, 1, False, ()),
    ("vgg_k2s2_odd", (1, 2, 7, 9), 2, 2, 0, 1, False, ()),
    ("k3s1p1_same", (1, 2, 5, 5), 3, 1, 1, 1, False, ()),
    ("googlenet_k3s2_ceil", (1, 2, 8, 8), 3, 2, 0, 1, True, ()),
    ("k3s2p1_ceil", (1, 1, 7, 7), 3, 2, 1, 1, True, ()),
    ("ceil_last_window_dropped_k3s3p1", (1, 2, 5, 5), 3, 3, 1, 1, True, ()),
    ("ceil_last_window_dropped_k2s2p1", (1, 1, 5, 6), 2, 2, 1, 1, True, ()),
    ("dilation2_k3s1p1", (1, 2, 7, 6), 3, 1, 1, 2, False, ()),
    ("dilation2_k2s2p1_ceil", (1, 2, 7, 8), 2, 2, 1, 2, True, ()),
    ("dilation_rect", (1, 1, 9, 8), (2, 3), (1, 2), (1, 1), (3, 2), False, ()),
    ("rect_k2x3_s1x2_p1", (2, 1, 6, 7), (2, 3), (1, 2), 1, 1, False, ()),
    ("k1s2_subsample", (1, 2, 5, 6), 1, 2, 0, 1, False, ()),
    ("global_window", (1, 2, 4, 5), (4, 5), 1, 0, 1, False, ()),
    # Some windows hold no input tap: -inf, at the index PyTorch starts from.
    ("empty_window_dilation3", (1, 1, 2, 8), 2, 3, 1, 3, True, ()),
    # NaN at plane 0 (1,1); NaNs at (0,2) and (1,3) share a 2x2 window.
    ("nan_propagates", (1, 2, 4, 6), 2, 2, 0, 1, False, (7, 2, 9, 30)),
    ("nan_overlapping_k3s1p1", (1, 1, 5, 5), 3, 1, 1, 1, False, (6, 18)),
]

for name, shape, k, s, p, d, ceil, nan_at in MAX:
    x = make_input(*shape, nan_at=nan_at)
    y, idx = F.max_pool2d(x, k, s, p, d, ceil_mode=ceil, return_indices=True)
    add(name, "max", x, y, idx, kernel=pair(k), stride=pair(s), padding=pair(p),
        dilation=pair(d), ceil_mode=ceil)

# Average pooling: torch.nn.functional.avg_pool2d (no dilation in PyTorch).
AVG = [
    # name, (n, c, h, w), kernel, stride, padding, ceil_mode, count_include_pad
    ("k3s2p1_include_pad", (1, 2, 7, 9), 3, 2, 1, False, True),
    ("k3s2p1_exclude_pad", (1, 2, 7, 9), 3, 2, 1, False, False),
    ("k2s2", (2, 3, 6, 8), 2, 2, 0, False, True),
    ("k2s2_odd", (1, 2, 7, 9), 2, 2, 0, False, False),
    ("inception_k3s1p1_exclude_pad", (1, 2, 5, 6), 3, 1, 1, False, False),
    ("inception_k3s1p1_include_pad", (1, 2, 5, 6), 3, 1, 1, False, True),
    ("ceil_k3s2", (1, 2, 6, 6), 3, 2, 0, True, True),
    ("ceil_k3s2p1_include_pad", (1, 2, 6, 6), 3, 2, 1, True, True),
    ("ceil_k3s2p1_exclude_pad", (1, 2, 6, 6), 3, 2, 1, True, False),
    ("ceil_k2s2p1_include_pad", (1, 1, 5, 7), 2, 2, 1, True, True),
    ("ceil_last_window_dropped_k3s3p1", (1, 1, 5, 5), 3, 3, 1, True, True),
    ("rect_k3x2_s2x1_p1", (1, 2, 7, 5), (3, 2), (2, 1), (1, 1), False, True),
    ("rect_k3x2_s2x1_p1_exclude", (1, 2, 7, 5), (3, 2), (2, 1), (1, 1), True, False),
    ("nan_propagates", (1, 1, 4, 4), 2, 2, 0, False, True, (5,)),
]

for row in AVG:
    name, shape, k, s, p, ceil, inc = row[:7]
    nan_at = row[7] if len(row) > 7 else ()
    x = make_input(*shape, nan_at=nan_at)
    y = F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=inc)
    add(name, "avg", x, y, kernel=pair(k), stride=pair(s), padding=pair(p),
        dilation=[1, 1], ceil_mode=ceil, count_include_pad=inc)

# Adaptive pooling: windows [floor(i*in/out), ceil((i+1)*in/out)).
ADAPTIVE = [
    ("5x7_to_3x2", (1, 2, 5, 7), (3, 2)),
    ("7x7_to_1x1", (2, 2, 7, 7), (1, 1)),
    ("7_to_1_rows", (1, 1, 7, 4), (1, 4)),
    ("3x3_to_5x5_upsize", (1, 2, 3, 3), (5, 5)),
    ("6x6_to_4x4", (1, 1, 6, 6), (4, 4)),
    ("10x9_to_3x4", (1, 2, 10, 9), (3, 4)),
    ("1x1_to_2x3", (1, 2, 1, 1), (2, 3)),
    ("13x13_to_6x6_alexnet", (1, 1, 13, 13), (6, 6)),
]

for name, shape, size in ADAPTIVE:
    x = make_input(*shape)
    add(name, "adaptive_avg", x, F.adaptive_avg_pool2d(x, size))
    y, idx = F.adaptive_max_pool2d(x, size, return_indices=True)
    add(name, "adaptive_max", x, y, idx)

x = make_input(1, 2, 5, 4, nan_at=(3, 13, 14))
y, idx = F.adaptive_max_pool2d(x, (2, 3), return_indices=True)
add("nan_propagates", "adaptive_max", x, y, idx)

# Global pooling over whole planes.
x = make_input(2, 3, 5, 7)
add("2x3x5x7", "global_avg", x, x.mean(dim=(2, 3)))
add("2x3x5x7", "global_max", x, F.adaptive_max_pool2d(x, 1).reshape(2, 3))
x = make_input(1, 3, 4, 4, nan_at=(5, 40))
add("nan_propagates", "global_max", x, F.adaptive_max_pool2d(x, 1).reshape(1, 3))

# Max unpooling of max pooling's own indices (SegNet's decoder).
UNPOOL = [
    # name, (n, c, h, w) of the pooled-from input, kernel, stride, padding
    ("segnet_k2s2", (2, 2, 6, 8), 2, 2, 0),
    ("odd_k2s2_to_7x9", (1, 2, 7, 9), 2, 2, 0),
    ("overlapping_k3s2p1", (1, 2, 7, 7), 3, 2, 1),
]

for name, shape, k, s, p in UNPOOL:
    x = make_input(*shape)
    pooled, idx = F.max_pool2d(x, k, s, p, return_indices=True)
    y = F.max_unpool2d(pooled, idx, k, s, p, output_size=shape[2:])
    case = {
        "name": name,
        "op": "unpool",
        "shape": list(pooled.shape),
        "input": floats(pooled),
        "indices": idx.reshape(-1).tolist(),
        "out_shape": list(y.shape),
        "want": floats(y),
    }
    cases.append(case)

doc = {
    "generator": "tools/golden/pooling.py",
    "torch": torch.__version__,
    "cases": cases,
}
os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump(doc, f, separators=(",", ":"))
    f.write("\n")
print(f"wrote {len(cases)} cases to {OUT} ({os.path.getsize(OUT)} bytes)")
