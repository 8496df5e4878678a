#!/usr/bin/python3
"""Golden NMS results for govision.dev/detect (detect/nms_test.go).

Run from the repository root with Debian's python3 (python3-torch,
python3-torchvision):

    /usr/bin/python3 tools/golden/detect_nms.py   # detect/testdata/golden/nms.json

For a few sets of random boxes (clustered, so that they overlap; float32,
corners x1 y1 x2 y2 in pixels) with scores and classes, it records:

  iou       torchvision.ops.box_iou of every pair (smallest set only),
            the reference for IoU;
  greedy    the indices torchvision.ops.batched_nms keeps, in its order
            (decreasing score), at each threshold: the reference for NMS;
  soft_*    Soft-NMS with the linear and the Gaussian penalty, a direct
            numpy transcription of Bodla et al. 2017, Algorithm 1
            (torchvision has none), run class by class, in float64:
            the kept indices, in the order they were picked per class,
            and their decayed scores, for detections left above min_score.

Scores are distinct, so the orders are well defined.
"""

import json
import os

import numpy as np
import torch
from torchvision.ops import batched_nms, box_iou

OUT = "detect/testdata/golden/nms.json"


def boxes_for(rng, n, classes):
    centres = rng.uniform(20, 200, (max(1, n // 6), 2))
    pick = rng.integers(0, len(centres), n)
    c = centres[pick] + rng.normal(0, 8, (n, 2))
    wh = rng.uniform(10, 60, (n, 2))
    b = np.concatenate([c - wh / 2, c + wh / 2], axis=1).astype(np.float32)
    scores = rng.permutation(np.linspace(0.05, 0.99, n)).astype(np.float32)
    cls = rng.integers(0, classes, n)
    return b, scores, cls


def soft_nms(b, scores, cls, nt, sigma, min_score, method):
    """Bodla et al. 2017, Algorithm 1, class by class."""
    b = b.astype(np.float64)
    kept = []
    for k in sorted(set(cls.tolist())):
        idx = [i for i in range(len(b)) if cls[i] == k]
        s = {i: float(scores[i]) for i in idx}
        B = [i for i in idx if s[i] > min_score]
        while B:
            m = max(B, key=lambda i: s[i])
            kept.append((m, s[m]))
            B.remove(m)
            for i in B:
                o = iou1(b[m], b[i])
                if method == "linear":
                    if o >= nt:
                        s[i] *= 1 - o
                else:
                    s[i] *= np.exp(-o * o / sigma)
            B = [i for i in B if s[i] > min_score]
    return kept


def iou1(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    i = iw * ih
    u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - i
    return i / u if u > 0 else 0.0


def main():
    rng = np.random.default_rng(5)
    cases = []
    for name, n, classes in [("one class", 30, 1), ("three classes", 60, 3), ("many", 120, 5)]:
        b, s, c = boxes_for(rng, n, classes)
        tb, ts, tc = torch.from_numpy(b), torch.from_numpy(s), torch.from_numpy(c)
        case = dict(name=name, boxes=b.tolist(), scores=s.tolist(), classes=c.tolist(),
                    greedy={}, soft_linear={}, soft_gaussian={})
        if n <= 30:  # keeps the file small
            case["iou"] = box_iou(tb, tb).numpy().tolist()
        for t in (0.3, 0.45, 0.7):
            case["greedy"][str(t)] = batched_nms(tb, ts, tc, t).tolist()
            case["soft_linear"][str(t)] = soft_nms(b, s, c, t, 0.5, 0.1, "linear")
        for sigma in (0.3, 0.5):
            case["soft_gaussian"][str(sigma)] = soft_nms(b, s, c, 0.0, sigma, 0.1, "gaussian")
        cases.append(case)
    doc = dict(generator="tools/golden/detect_nms.py", torch=torch.__version__, min_score=0.1, cases=cases)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(doc, f)
        f.write("\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
