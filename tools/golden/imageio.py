#!/usr/bin/python3
"""Golden results for vision/imageio, computed by torchvision and Pillow.

Run from the repository root with Debian's interpreter (python3-torchvision,
python3-pil built with WebP support):

    /usr/bin/python3 tools/golden/imageio.py

It writes, under vision/imageio/testdata/golden/:

- classify.png, classify_tall.png: small crops of darknet's dog.jpg, as PNG
  so that Pillow and Go decode the same pixels;
- classify.json: torchvision's Resize(size) + CenterCrop(crop) + ToTensor()
  + Normalize(mean, std) of those PNGs for a few sizes chosen to exercise
  the shorter-side rounding, Python's half-to-even centre offsets, padding
  and enlarging, plus a plain ToTensor + Normalize; read by resize_test.go
  and tensor_test.go;
- tiny_lossless.webp, tiny_lossy.webp, tiny_alpha.webp: WebP files written
  by Pillow from tiny.png (Go has no WebP encoder), read by decode_test.go.
"""

import json
import os

import torch
import torchvision
from PIL import Image
from torchvision import transforms

OUT = os.path.join("vision", "imageio", "testdata", "golden")
DOG = "/usr/share/darknet/data/dog.jpg"

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def save_png(im, name):
    im = im.copy()
    im.info.pop("icc_profile", None)  # dog.jpg's ICC profile: not wanted here
    im.save(os.path.join(OUT, name))


def floats(t):
    return [float("%.9g" % v) for v in t.reshape(-1).tolist()]


def main():
    os.makedirs(OUT, exist_ok=True)
    dog = Image.open(DOG).convert("RGB")
    save_png(dog.crop((130, 220, 226, 292)), "classify.png")  # 96x72
    save_png(dog.crop((250, 250, 310, 340)), "classify_tall.png")  # 60x90
    save_png(dog.crop((180, 260, 188, 266)), "tiny.png")  # 8x6

    # (name, input, resize or None, crop or None)
    cases = [
        ("imagenet_like", "classify.png", 24, 20),
        # 96x72 -> 41x31; offsets round((41-16)/2) = round(12.5) = 12 and
        # round((31-16)/2) = round(7.5) = 8: both ways of half-to-even.
        ("half_to_even", "classify.png", 31, 16),
        ("tall", "classify_tall.png", 31, 16),
        # 96x72 -> 16x12, crop 14: padded by one black row above and below.
        ("padded", "classify.png", 12, 14),
        ("enlarged", "classify.png", 80, 16),
        ("to_tensor", "tiny.png", None, None),
    ]
    results = []
    for name, src, size, crop in cases:
        ops = []
        if size is not None:
            ops += [transforms.Resize(size), transforms.CenterCrop(crop)]
        ops += [transforms.ToTensor(), transforms.Normalize(MEAN, STD)]
        im = Image.open(os.path.join(OUT, src)).convert("RGB")
        x = transforms.Compose(ops)(im)
        results.append({
            "name": name, "input": src, "resize": size or 0, "crop": crop or 0,
            "mean": MEAN, "std": STD, "shape": list(x.shape), "data": floats(x),
        })
    doc = {
        "generator": "tools/golden/imageio.py",
        "torch": torch.__version__, "torchvision": torchvision.__version__,
        "pillow": Image.__version__,
        "cases": results,
    }
    with open(os.path.join(OUT, "classify.json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")

    tiny = Image.open(os.path.join(OUT, "tiny.png")).convert("RGB")
    tiny.save(os.path.join(OUT, "tiny_lossless.webp"), lossless=True, exact=True)
    tiny.save(os.path.join(OUT, "tiny_lossy.webp"), quality=90)
    alpha = tiny.copy()
    alpha.putalpha(Image.linear_gradient("L").resize(tiny.size))
    alpha.save(os.path.join(OUT, "tiny_alpha.webp"), quality=90)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
