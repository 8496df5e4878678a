#!/usr/bin/python3
"""Golden outputs of darknet networks, computed by Debian's libdarknet.

Run through tools/golden/darknet_golden.sh (which builds darknet_golden.c),
from the repository root:

    sh tools/golden/darknet_golden.sh            # the committed fixtures
    sh tools/golden/darknet_golden.sh slow DIR   # the slow set, into DIR

For each case it writes, into the output folder:

  NAME.cfg       a cfg derived from one Debian installs (widths divided,
                 input size reduced, so that the weights stay small) or
                 written here;
  NAME.weights   random weights in darknet's format, drawn with numpy from
                 a fixed seed: convolutions He-normal, batch norms near
                 identity, and the heads feeding yolo/region layers scaled
                 down with negative objectness biases, so that only a small
                 fraction of cells fire;
  NAME.out<k>.f32  libdarknet's output of the k-th output layer (yolo,
                 region, detection, or a classifier's last layer) for
                 darknet's sample dog.jpg (as dog.png, see below)
                 letterboxed to the network's size, little-endian float32;
  NAME.json      the manifest the Go test reads: shapes, files, where each
                 number came from, and how many cells fire.

The input image is darknet's dog.jpg decoded by PIL and saved as PNG (the
committed set shrinks it to 192x144 first), because darknet's JPEG decoder
(stb_image) and Go's differ by a few levels while PNG decodes identically.

A region layer with a WordTree (YOLO9000) is the exception: darknet's CPU
code computes its softmax at the wrong places with a temperature of 0
(pjreddie/darknet issues #143, #144), overwriting other entries too, so
that layer's output is computed here, with numpy, from libdarknet's input
to it: darknet's logistic for x, y and objectness, and the WordTree softmax
of darknet's GPU code (softmax_tree).
"""

import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image

DEBIAN = "/usr/share/darknet"
DARKNET_VERSION = "0.0.0+git20180914.61c9d02e-2+b4"

# A YOLO9000 head on a tiny backbone: the 9k WordTree softmax over 9418
# classes at a 2x1 grid, without 9418×1024 weights.
YOLO9000_MINI = """[net]
batch=1
subdivisions=1
width=32
height=16
channels=3

[convolutional]
batch_normalize=1
filters=8
size=3
stride=1
pad=1
activation=leaky

[maxpool]
size=2
stride=2

[convolutional]
batch_normalize=1
filters=2
size=3
stride=2
pad=1
activation=leaky

[maxpool]
size=2
stride=2

[maxpool]
size=2
stride=2

[convolutional]
size=1
stride=1
pad=1
filters=28269
activation=linear

[region]
anchors = 0.77871, 1.14074, 3.00525, 4.31277, 9.22725, 9.61974
bias_match=1
classes=9418
coords=4
num=3
softmax=1
jitter=.2
rescore=1
object_scale=5
noobject_scale=1
class_scale=1
coord_scale=1
thresh = .6
absolute=1
random=1
tree=9k.tree
"""

# YOLOv1's local layer, dropout, a connected layer stored transposed
# (minor > 1000) and a detection layer with softmax=1.
LOCAL_MINI = """[net]
batch=1
subdivisions=1
height=48
width=48
channels=3

[convolutional]
batch_normalize=1
filters=8
size=3
stride=2
pad=1
activation=leaky

[maxpool]
size=2
stride=2

[maxpool]
size=3
stride=2

[convolutional]
batch_normalize=1
filters=6
size=3
stride=1
pad=1
activation=leaky

[local]
size=3
stride=1
pad=1
filters=4
activation=leaky

[dropout]
probability=.5

[connected]
output=117
activation=linear

[detection]
classes=3
coords=4
rescore=1
side=3
num=2
softmax=1
sqrt=1
jitter=.2
object_scale=1
noobject_scale=.5
class_scale=1
coord_scale=5
"""

# The layers and options no Debian cfg uses: crop, reverse reorg and
# upsample, shortcuts between different sizes with alpha and beta, groups,
# batch-normalised connected layers, softmax groups and temperature, and
# the other activations (not stair, whose steps make float32 rounding
# differences discontinuous).
MISC_MINI = """[net]
batch=1
subdivisions=1
width=16
height=16
channels=3

[crop]
crop_width=12
crop_height=12

[convolutional]
batch_normalize=1
filters=8
size=3
stride=1
pad=1
activation=leaky

[reorg]
stride=2

[reorg]
stride=2
reverse=1

[upsample]
stride=-2
scale=0.5

[shortcut]
from=1
activation=logistic
alpha=0.5
beta=2

[convolutional]
filters=12
size=3
stride=2
pad=1
activation=elu

[convolutional]
filters=4
size=1
activation=tanh

[upsample]
stride=2

[shortcut]
from=6
activation=relie

[convolutional]
batch_normalize=1
filters=6
size=3
pad=1
groups=2
activation=selu

[connected]
output=20
batch_normalize=1
activation=loggy

[connected]
output=16
activation=ramp

[connected]
output=16
activation=hardtan

[connected]
output=16
activation=lhtan

[connected]
output=24
activation=plse

[softmax]
groups=2
temperature=2
"""

# Region layers with background=1 and with logistic class scores, and a
# yolo layer without a mask.
REGION_MINI = """[net]
batch=1
subdivisions=1
width=32
height=24
channels=3

[convolutional]
batch_normalize=1
filters=8
size=3
stride=2
pad=1
activation=leaky

[maxpool]
size=2
stride=2

[convolutional]
size=1
filters=18
activation=linear

[region]
anchors=1,1,2,2
classes=4
coords=4
num=2
softmax=1
background=1

[route]
layers=-3

[convolutional]
size=1
filters=18
activation=linear

[region]
anchors=1,1,2,2
classes=4
coords=4
num=2

[route]
layers=-3

[convolutional]
size=1
filters=16
activation=linear

[yolo]
anchors=10,14,23,27
classes=3
num=2
"""

# A WordTree softmax classifier (darknet9000.cfg's head) on a tiny
# backbone.
TREE_SOFTMAX_MINI = """[net]
batch=1
subdivisions=1
width=16
height=16
channels=3

[convolutional]
batch_normalize=1
filters=2
size=3
stride=2
pad=1
activation=leaky

[convolutional]
filters=9418
size=1
activation=linear

[avgpool]

[softmax]
groups=1
tree=9k.tree
"""

# name: how to make the cfg and weights. src: a Debian cfg; size: the
# network's (width, height); div: the divisor of every width (filters,
# outputs) but the heads'; floor: the smallest width; crop: the crop
# layer's size; header: (major, minor, revision) of the weights file.
FAST = {
    "yolov3-tiny": dict(src="yolov3-tiny.cfg", size=(160, 160), div=8),
    "yolov2-tiny-voc": dict(src="yolov2-tiny-voc.cfg", size=(160, 160), div=16),
    "yolov2": dict(src="yolov2.cfg", size=(160, 160), div=32, floor=4),
    "yolov1-tiny": dict(src="yolov1-tiny.cfg", size=(64, 64), div=16, header=(0, 1, 0)),
    "yolo9000-mini": dict(text=YOLO9000_MINI),
    "local-mini": dict(text=LOCAL_MINI, header=(0, 1001, 0)),
    "misc-mini": dict(text=MISC_MINI),
    "region-mini": dict(text=REGION_MINI),
    "tree-softmax-mini": dict(text=TREE_SOFTMAX_MINI),
    "resnet18-mini": dict(src="resnet18.cfg", size=(64, 64), div=16),
    "vgg-16-mini": dict(src="vgg-16.cfg", size=(64, 64), div=32, crop=48),
}

SLOW = {
    "yolov3": dict(src="yolov3.cfg", size=(416, 416), div=1, image="dog-full.png"),
    "yolov3-spp": dict(src="yolov3-spp.cfg", size=(320, 320), div=8, image="dog-full.png"),
    "yolov1": dict(src="yolov1.cfg", size=(192, 192), div=16),
    "darknet53": dict(src="darknet53.cfg", size=(96, 96), div=8),
    "densenet201": dict(src="densenet201.cfg", size=(64, 64), div=8),
    "resnext50": dict(src="resnext50.cfg", size=(64, 64), div=2),
    "darknet19": dict(src="darknet19.cfg", size=(64, 64), div=8),
    "extraction": dict(src="extraction.cfg", size=(64, 64), div=8),
    "alexnet": dict(src="alexnet.cfg", size=(96, 96), div=16),
}

HEAD_TYPES = ("yolo", "region", "detection")

# The fraction of anchor-cells whose objectness should exceed 0.25.
FIRE = 0.03

# The standard deviation of a classifier's logits (its softmax's input).
LOGIT_STD = 2.0


def sections(text):
    """Splits cfg text into [name, [lines]] pairs, keeping the lines."""
    out = []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("["):
            out.append([s[1:-1], []])
        elif out:
            out[-1][1].append(line)
    return out


def key_of(line):
    s = line.replace(" ", "").replace("\t", "")
    if not s or s[0] in "#;" or "=" not in s:
        return None, None
    k, v = s.split("=", 1)
    return k, v


def derive(case):
    """Returns the cfg text for a case."""
    if "text" in case:
        return case["text"]
    with open(os.path.join(DEBIAN, "cfg", case["src"])) as f:
        secs = sections(f.read())
    div, floor = case.get("div", 1), case.get("floor", 1)
    w, h = case["size"]
    out = []
    for i, (name, lines) in enumerate(secs):
        nxt = secs[i + 1][0] if i + 1 < len(secs) else ""
        keep = []
        for line in lines:
            k, v = key_of(line)
            if k is None:
                continue
            if name == "net" and k in ("batch", "subdivisions", "width", "height"):
                continue
            if name in ("convolutional", "local") and k == "filters" and nxt not in HEAD_TYPES:
                v = str(max(floor, int(v) // div))
            if name == "convolutional" and k == "groups" and int(v) > 1:
                v = str(max(1, int(v) // div))
            if name == "connected" and k == "output" and nxt != "detection":
                v = str(max(floor, int(v) // div))
            if name == "crop" and k in ("crop_width", "crop_height"):
                v = str(case["crop"])
            keep.append(f"{k}={v}")
        if name == "net":
            keep = [f"batch=1", f"subdivisions=1", f"width={w}", f"height={h}"] + keep
        out.append(f"[{name}]\n" + "\n".join(keep) + "\n")
    return "\n".join(out)


def layer_table(binary, cfg):
    r = subprocess.run([binary, "--layers", cfg], check=True, capture_output=True, text=True,
                       cwd=os.path.join(DEBIAN, "data"))
    return json.loads(r.stdout)


def write_weights(path, layers, opts, seed, header, shift=None, scale=None):
    """Writes random weights for the layers (darknet_golden --layers; opts
    are their cfg options); the draws depend only on seed and the layer
    table. shift maps a head layer's index to what is added to its
    objectness biases, scale a layer's index to a factor its output is
    multiplied by (through its biases and its weights or batch-norm
    scales; its activation is linear, ReLU or leaky)."""
    shift, scale = shift or {}, scale or {}
    rng = np.random.default_rng(seed)
    major, minor, revision = header
    transpose = major > 1000 or minor > 1000
    parts = [np.array([major, minor, revision], dtype="<i4").tobytes()]
    if major * 10 + minor >= 2 and major < 1000 and minor < 1000:
        parts.append(np.array([32013312], dtype="<u8").tobytes())
    else:
        parts.append(np.array([320], dtype="<u4").tobytes())

    def f32(a):
        parts.append(np.asarray(a, dtype="<f4").tobytes())

    for i, l in enumerate(layers):
        nxt = layers[i + 1]["type"] if i + 1 < len(layers) else ""
        t = l["type"]
        if t == "convolutional":
            n, nw = l["n"], l["weights"]
            fan_in = nw // n
            head = nxt in HEAD_TYPES
            biases = rng.uniform(-0.1, 0.1, n)
            if head and nxt != "detection":
                biases = head_biases(biases, opts[i + 1], shift.get(i, 0.0))
            k = scale.get(i, 1.0)
            f32(biases * k)
            if l["batch_normalize"]:
                s_, m_, v_ = batch_norm(rng, n)
                f32(s_ * k)
                f32(m_)
                f32(v_)
            # A residual branch (a convolution before [shortcut]) is damped
            # so that YOLOv3's and ResNet's sums do not double the signal's
            # variance at every block.
            std = np.sqrt(2.0 / fan_in) * (0.5 if head else 1.0) * (0.3 if nxt == "shortcut" else 1.0)
            if not l["batch_normalize"]:
                std *= k
            f32(rng.normal(0, std, nw))
        elif t == "connected":
            o, inputs = l["outputs"], l["inputs"]
            k = scale.get(i, 1.0)
            f32(rng.uniform(-0.1, 0.1, o) * k)
            wts = rng.uniform(-1, 1, (o, inputs)) * np.sqrt(6.0 / inputs)
            if not l["batch_normalize"]:
                wts *= k
            f32(wts.T if transpose else wts)
            if l["batch_normalize"]:
                s_, m_, v_ = batch_norm(rng, o)
                f32(s_ * k)
                f32(m_)
                f32(v_)
        elif t == "local":
            f32(rng.uniform(-0.1, 0.1, l["outputs"]))
            fan_in = l["in"][0] * l["size"] * l["size"]
            f32(rng.uniform(-1, 1, l["weights"]) * np.sqrt(6.0 / fan_in))
    with open(path, "wb") as f:
        for p in parts:
            f.write(p)


def batch_norm(rng, n):
    """Scales, rolling means and rolling variances near an identity, with
    one channel in eight given a variance between 1e-10 and 1e-6 (and a
    scale of its square root's order), where darknet's √var + 1e-6 and
    torch's √(var + ε) differ by up to a factor of ten."""
    scales = rng.uniform(0.5, 1.5, n)
    mean = rng.normal(0, 0.1, n)
    var = rng.uniform(0.5, 1.5, n)
    tiny = rng.uniform(0, 1, n) < 0.125
    var[tiny] = 10.0 ** rng.uniform(-10, -6, tiny.sum())
    scales[tiny] = np.sqrt(var[tiny]) * rng.uniform(0.5, 1.5, tiny.sum())
    mean[tiny] *= 1e-3
    return scales, mean, var


def head_layout(opts):
    """(anchors, entries per anchor, objectness entry) of a yolo or region
    layer's options."""
    classes = int(opts.get("classes", "20"))
    if "mask" in opts:
        return len(opts["mask"].split(",")), 5 + classes, 4
    coords = int(opts.get("coords", "4"))
    if opts.get("_type") == "yolo":
        return int(opts.get("num", "1")), 5 + classes, 4
    return int(opts.get("num", "1")), coords + 1 + classes, coords


def head_biases(biases, opts, shift):
    """Makes the objectness (and yolo class) logits of a head mostly
    negative, so that few cells fire; shift moves the objectness."""
    num, per, obj = head_layout(opts)
    for a in range(num):
        biases[a * per + obj] = -4.0 + shift
        if opts["_type"] == "yolo":
            biases[a * per + 5:(a + 1) * per] -= 3.0
    return biases


def last_weighted(layers, i):
    """The last convolutional, connected or local layer before layer i."""
    while layers[i]["type"] not in ("convolutional", "connected", "local"):
        i -= 1
    return i


def logistic(x):
    return (1.0 / (1.0 + np.exp(-x.astype(np.float64)))).astype(np.float32)


def darknet_softmax(x):
    """darknet's softmax of a float32 vector: max subtracted, exp in
    double rounded to float, float sum."""
    x = x.astype(np.float32)
    e = np.exp((x - x.max()).astype(np.float64)).astype(np.float32)
    s = np.float32(0)
    for v in e:
        s = np.float32(s + v)
    return (e / s).astype(np.float32)


def read_tree(path):
    parents = []
    with open(path) as f:
        for line in f:
            parents.append(int(line.split()[1]))
    groups = []  # (offset, size): runs of equal parent, as read_tree
    start = 0
    for i in range(1, len(parents) + 1):
        if i == len(parents) or parents[i] != parents[start]:
            groups.append((start, i - start))
            start = i
    return groups


def tree_region(inp, c, h, w, classes, coords, num, groups):
    """The region layer's output with the WordTree softmax, from its input,
    as darknet's GPU code computes it."""
    x = inp.reshape(num, coords + 1 + classes, h * w).copy()
    x[:, 0:2] = logistic(x[:, 0:2])
    x[:, coords] = logistic(x[:, coords])
    for a in range(num):
        for loc in range(h * w):
            cls = x[a, coords + 1:, loc]
            for off, size in groups:
                cls[off:off + size] = darknet_softmax(cls[off:off + size])
            x[a, coords + 1:, loc] = cls
    return x.reshape(-1)


def make_images(out, which):
    dog = Image.open(os.path.join(DEBIAN, "data", "dog.jpg")).convert("RGB")
    dog.info.pop("icc_profile", None)
    if "dog.png" in which:
        dog.resize((192, 144), Image.BILINEAR).save(os.path.join(out, "dog.png"))
    if "dog-full.png" in which:
        dog.save(os.path.join(out, "dog-full.png"))


def fire_fraction(data, shape, opts):
    """Fraction of anchor-cells whose objectness is above 0.25."""
    c, h, w = shape
    num, per, obj = head_layout(opts)
    x = data.reshape(num, per, h * w)
    return float((x[:, obj, :] > 0.25).mean())


def layer_options(text):
    """Each layer's options (after [net]) as a dict, with its type."""
    out = []
    for name, lines in sections(text)[1:]:
        d = {"_type": name}
        for line in lines:
            k, v = key_of(line)
            if k is not None and k not in d:
                d[k] = v
        out.append(d)
    return out


def run(binary, out, cases, seed0):
    images = {c.get("image", "dog.png") for c in cases.values()}
    make_images(out, images)
    for idx, (name, case) in enumerate(sorted(cases.items())):
        cfg_path = os.path.join(out, name + ".cfg")
        text = derive(case)
        with open(cfg_path, "w") as f:
            f.write(text)
        layers = layer_table(binary, os.path.abspath(cfg_path))
        opts = layer_options(text)
        seed = seed0 + idx
        header = case.get("header", (0, 2, 0))
        weights_path = os.path.join(out, name + ".weights")
        image = case.get("image", "dog.png")

        def predict():
            r = subprocess.run([binary, os.path.abspath(cfg_path), os.path.abspath(weights_path),
                                os.path.abspath(os.path.join(out, image)), os.path.abspath(os.path.join(out, name))],
                               check=True, capture_output=True, text=True, cwd=os.path.join(DEBIAN, "data"))
            return json.loads(r.stdout)

        # Two runs: the first measures each yolo/region layer's objectness
        # logits, the second shifts the head's objectness biases so that
        # about FIRE of the anchor-cells score above 0.25.
        write_weights(weights_path, layers, opts, seed, header)
        res = predict()
        shift, scale = {}, {}
        for o in res["outputs"]:
            for t in res["head_inputs"]:
                if t["k"] != o["k"]:
                    continue
                data = np.fromfile(os.path.join(out, t["file"]), dtype="<f4").astype(np.float64)
                if o["type"] in ("yolo", "region"):
                    num, per, obj = head_layout(opts[o["layer"]])
                    logit = data.reshape(num, per, -1)[:, obj, :]
                    shift[o["layer"] - 1] = float(np.log(0.25 / 0.75) - np.quantile(logit, 1 - FIRE)) + 1e-3
                elif o["type"] == "softmax" and data.std() > 0:
                    # Logits of standard deviation LOGIT_STD, so that the
                    # softmax is neither uniform nor one-hot.
                    scale[last_weighted(layers, o["layer"])] = LOGIT_STD / float(data.std())
        if shift or scale:
            write_weights(weights_path, layers, opts, seed, header, shift, scale)
            res = predict()
        outputs = []
        for o in res["outputs"]:
            path = os.path.join(out, o["file"])
            data = np.fromfile(path, dtype="<f4")
            entry = dict(layer=o["layer"], type=o["type"], len=o["len"], file=o["file"], reference="libdarknet")
            lt = layers[o["layer"]]
            # darknet leaves out_c/h/w zero for detection and softmax
            # layers: theirs are their inputs' (a detection layer's flat).
            entry["shape"] = o["shape"]
            if o["type"] == "detection":
                entry["shape"] = [lt["inputs"], 1, 1]
            elif 0 in o["shape"]:
                entry["shape"] = lt["in"]
            tin = [t for t in res["head_inputs"] if t["k"] == o["k"]]
            for t in tin:
                inp = np.fromfile(os.path.join(out, t["file"]), dtype="<f4")
                os.remove(os.path.join(out, t["file"]))
            if tin and o["type"] == "region" and "tree" in opts[o["layer"]]:
                c, h, w = o["shape"]
                ro = opts[o["layer"]]
                groups = read_tree(os.path.join(DEBIAN, "data", ro["tree"]))
                num, per, _ = head_layout(ro)
                exp = tree_region(inp, c, h, w, classes=int(ro["classes"]), coords=int(ro["coords"]),
                                  num=num, groups=groups)
                ours = exp.reshape(num, per, h * w)
                theirs = data.reshape(num, per, h * w)
                # For the record: how far darknet's CPU output is from it.
                entry["darknet_cpu_nans"] = int(np.isnan(theirs).sum())
                entry["darknet_cpu_differing"] = int((~np.isclose(theirs, ours, rtol=1e-5, atol=1e-6)).sum())
                exp.astype("<f4").tofile(path)
                entry["reference"] = ("numpy, from libdarknet's input to the layer: darknet's logistic of x, y and "
                                      "objectness, and the WordTree softmax of darknet's GPU code (softmax_tree); "
                                      "darknet's CPU code writes wrong values (pjreddie/darknet #143, #144)")
                data = exp
            if o["type"] in ("yolo", "region"):
                entry["fire_fraction"] = fire_fraction(data, o["shape"], opts[o["layer"]])
            outputs.append(entry)
        manifest = dict(
            name=name,
            generator="tools/golden/darknet_golden.sh (darknet_golden.c, darknet_golden.py)",
            darknet=DARKNET_VERSION,
            cfg=name + ".cfg",
            weights=name + ".weights",
            header=list(header),
            seed=seed,
            image=image,
            net=res["net"],
            outputs=outputs,
        )
        if "src" in case:
            manifest["derived_from"] = os.path.join(DEBIAN, "cfg", case["src"])
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump(manifest, f, indent=1)
            f.write("\n")
        print(f"{name}: {os.path.getsize(weights_path)} bytes of weights, outputs "
              + ", ".join(f"{e['type']} {e['shape']} fire={e.get('fire_fraction')}" for e in outputs))


def main():
    if len(sys.argv) != 4 or sys.argv[2] not in ("fast", "slow"):
        sys.exit("usage: darknet_golden.py BINARY fast|slow OUTDIR")
    binary, which, out = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(out, exist_ok=True)
    if which == "fast":
        run(binary, out, FAST, 1000)
    else:
        run(binary, out, SLOW, 2000)


if __name__ == "__main__":
    main()
