#!/usr/bin/python3
"""Golden results for govision.dev/datasets, computed by torchvision.

Run from the repository root with Debian's interpreter (python3-torch,
python3-torchvision):

    /usr/bin/python3 tools/golden/datasets.py

It writes datasets/testdata/golden/colorjitter.json: a small random float
image in [0, 1] (values k/255, channels first) and, for each of
torchvision's colour adjustments used by ColorJitter (adjust_brightness,
adjust_contrast, adjust_saturation, adjust_hue) and a few factors, the
adjusted image. color_test.go applies datasets' own adjustments to the same
values and compares.

COCO's RLE has no reference here: pycocotools is not packaged by Debian, so
rle_test.go checks pycocotools' documented examples and worked cases.
"""

import json
import os

import torch
import torchvision.transforms.functional as F

OUT = os.path.join("datasets", "testdata", "golden")


def main():
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(7)
    img = torch.randint(0, 256, (3, 4, 5), generator=g).float() / 255
    # A grey pixel and a saturated one, for hue's special cases.
    img[:, 0, 0] = torch.tensor([0.5, 0.5, 0.5])
    img[:, 0, 1] = torch.tensor([1.0, 0.0, 0.0])
    cases = []
    for op, fn, factors in [
        ("brightness", F.adjust_brightness, [0.0, 0.6, 1.0, 1.7]),
        ("contrast", F.adjust_contrast, [0.0, 0.5, 1.3]),
        ("saturation", F.adjust_saturation, [0.0, 0.4, 1.8]),
        ("hue", F.adjust_hue, [-0.5, -0.1, 0.05, 0.33, 0.5]),
    ]:
        for f in factors:
            out = fn(img, f)
            cases.append({"op": op, "factor": f, "output": out.flatten().tolist()})
    doc = {
        "torch": torch.__version__,
        "torchvision": __import__("torchvision").__version__,
        "shape": list(img.shape),
        "input": img.flatten().tolist(),
        "cases": cases,
    }
    with open(os.path.join(OUT, "colorjitter.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
