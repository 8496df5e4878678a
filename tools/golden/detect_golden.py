#!/usr/bin/python3
"""Golden detections of darknet, boxes included, for govision.dev/detect.

Run through tools/golden/detect_golden.sh (which builds detect_golden.c
and darknet_golden.c), from the repository root:

    sh tools/golden/detect_golden.sh      # detect/testdata/golden

For each case it writes, into the output folder:

  NAME.cfg       a cfg derived from one Debian installs (widths divided,
                 as tools/golden/darknet_golden.py derives them) or
                 written there (YOLO9000's head on a tiny backbone);
  NAME.weights   random weights in darknet's format, drawn by
                 darknet_golden.py's write_weights with a fixed seed, the
                 head's objectness biases shifted so that about FIRE of the
                 anchor-cells score above the threshold, and a few classes
                 per anchor favoured ("hot") so that boxes score above it
                 for them;
  NAME.json      the manifest the Go test reads: darknet's boxes before
                 NMS ("candidates") and its detections after do_nms_sort
                 ("detections"), both from detect_golden.c, which calls
                 libdarknet as `darknet detector test` does (or, for
                 YOLOv1, as `darknet yolo test` does); the lines the
                 darknet binary itself prints for the same files
                 ("darknet_printed": "label: NN%"), checked here against
                 detect_golden.c's; and how far the closest decision was
                 from its threshold ("margins").

and dog-384x288.png, darknet's sample dog.jpg decoded by PIL, halved
(bilinear) and saved as PNG, so that darknet's image loader and Go's read
the same pixels (their JPEG decoders differ by a few levels).

A seed is kept only if no decision is close to its threshold: every
objectness and class probability at least PROB_MARGIN away from thresh,
every WordTree step that far from hier, every IoU NMS compares at least
IOU_MARGIN away from the NMS threshold; so that the set of detections does
not hinge on the last bits of the arithmetic. It must also give a few
detections, and NMS must have suppressed some.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import darknet_golden as dg  # noqa: E402  (the weights generator)

DEBIAN = dg.DEBIAN
IMAGE = "dog-384x288.png"
THRESH, HIER = 0.25, 0.5
FIRE = 0.01
PROB_MARGIN = 1e-4  # ten times the 1e-5 (relative) ours and darknet's outputs differ by
IOU_MARGIN = 1e-3
ATTEMPTS = int(os.environ.get('DETECT_GOLDEN_ATTEMPTS', '60'))

# The path of 9k.tree nodes YOLO9000-mini's anchors are pushed down:
# object → … → dog → … → golden retriever (node 7017 of data/9k.tree).
GOLDEN_RETRIEVER = 7017

# name: how to make the case. src/text/size/div/floor/header: as in
# darknet_golden.py; names: the label set; mode: letterbox (detector
# test) or resize (yolo test, YOLOv1); nms: the NMS threshold of that
# path; hot: the classes favoured, anchor a getting hot[a % len(hot)]
# (and, for yolo layers, the next one too, so that a box can score for
# two classes); fire: the fraction of anchor-cells that should score above
# thresh, if not FIRE.
CASES = {
    "yolov3-tiny": dict(src="yolov3-tiny.cfg", size=(416, 416), div=8, names="coco",
                        mode="letterbox", nms=0.45, hot=[16, 1, 2, 7, 0]),
    "yolov2": dict(src="yolov2.cfg", size=(320, 320), div=32, floor=4, names="coco",
                   mode="letterbox", nms=0.45, hot=[16, 1, 2, 7, 0], fire=0.03),
    "yolov1-tiny": dict(src="yolov1-tiny.cfg", size=(64, 64), div=16, header=(0, 1, 0), names="voc",
                        mode="resize", nms=0.4),
    # A 2×1 grid of 3 anchors: all six fire.
    "yolo9000-mini": dict(text=dg.YOLO9000_MINI, names="9k", mode="letterbox", nms=0.45, fire=1.0),
}


def read_tree_parents():
    with open(os.path.join(DEBIAN, "data", "9k.tree")) as f:
        return [int(line.split()[1]) for line in f]


def tree_path(parents, node):
    path = []
    while node >= 0:
        path.append(node)
        node = parents[node]
    return path[::-1]


def make_head_biases(case):
    """A replacement for darknet_golden.head_biases: objectness as there,
    class biases favouring the case's hot classes (YOLO9000: a WordTree
    path, all of it for anchor 0, its first half for anchor 1, none for
    anchor 2)."""
    parents = read_tree_parents() if case["names"] == "9k" else None

    def head_biases(biases, opts, shift):
        num, per, obj = dg.head_layout(opts)
        yolo = opts["_type"] == "yolo"
        for a in range(num):
            biases[a * per + obj] = -4.0 + shift
            cls = biases[a * per + obj + 1:(a + 1) * per]
            if parents is not None:
                path = tree_path(parents, GOLDEN_RETRIEVER)
                depth = [len(path), len(path) // 2, 0][a % 3]
                for node in path[:depth]:
                    cls[node] += 12.0
            elif yolo:
                cls -= 3.0
                hot = case["hot"]
                cls[hot[a % len(hot)]] += 5.0
                cls[hot[(a + 1) % len(hot)]] += 5.0
            else:
                hot = case["hot"]
                cls[hot[a % len(hot)]] += 10.0  # dominates the softmax
        return biases

    return head_biases


def spread_yolov1_boxes(path, layers, opts, det, seed):
    """Rewrites, in place, the biases of YOLOv1's last connected layer
    (the last layer in the weights file) for the box entries, so that the
    boxes are a third of the image or so (w = t² with sqrt=1) around the
    middle of their cells, and overlap: with the layer's output scaled
    down to calibrate the scores, they would be specks in the corners."""
    fc = dg.last_weighted(layers, det)
    lt = layers[fc]
    assert lt["type"] == "connected" and not lt["batch_normalize"] and fc == max(
        i for i, l in enumerate(layers) if l["type"] in ("convolutional", "connected", "local"))
    o = opts[det]
    side, num, classes = int(o["side"]), int(o["num"]), int(o["classes"])
    cells = side * side
    w = np.fromfile(path, dtype="<u1")
    start = len(w) - 4 * (lt["outputs"] + lt["outputs"] * lt["inputs"])
    biases = w[start:start + 4 * lt["outputs"]].view("<f4").copy()
    rng = np.random.default_rng(seed)
    box = biases[cells * (classes + num):].reshape(cells * num, 4)
    box[:, 0:2] = rng.uniform(0.2, 0.8, (cells * num, 2))
    box[:, 2:4] = rng.uniform(0.45, 0.75, (cells * num, 2))
    biases[cells * (classes + num):] = box.reshape(-1)
    w[start:start + 4 * lt["outputs"]] = biases.view("<u1")
    w.tofile(path)


def make_image(out):
    dog = Image.open(os.path.join(DEBIAN, "data", "dog.jpg")).convert("RGB")
    dog.info.pop("icc_profile", None)
    dog.resize((384, 288), Image.BILINEAR).save(os.path.join(out, IMAGE))


def run_json(args, **kw):
    r = subprocess.run(args, check=True, capture_output=True, text=True, **kw)
    return json.loads(r.stdout)


def iou(a, b):
    """IoU of two (x, y, w, h) boxes, in float64."""
    def ov(x1, w1, x2, w2):
        return min(x1 + w1 / 2, x2 + w2 / 2) - max(x1 - w1 / 2, x2 - w2 / 2)
    w, h = ov(a[0], a[2], b[0], b[2]), ov(a[1], a[3], b[1], b[3])
    i = w * h if w >= 0 and h >= 0 else 0.0
    return i / (a[2] * a[3] + b[2] * b[3] - i)


def hierarchy_margin(cls, parents, group_offset, group_size, child, hier):
    """How close darknet's hierarchy_top_prediction comes to hier on one
    class vector (conditional probabilities, in tree order)."""
    p = cls.astype(np.float32).copy()
    for j in range(len(p)):
        if parents[j] >= 0:
            p[j] = np.float32(p[j] * p[parents[j]])
    prob, group, margin = np.float32(1), 0, np.inf
    while True:
        off, size = group_offset[group], group_size[group]
        i = int(np.argmax(p[off:off + size]))
        best = p[off + i]
        v = np.float32(prob * best)
        margin = min(margin, abs(float(v) - hier))
        if v > hier:
            prob = v
            group = child[off + i]
            if group < 0:
                return margin
        else:
            return margin


def tree_groups(parents):
    group_offset, group_size, group_of = [], [], []
    last = None
    for j, p in enumerate(parents):
        if j == 0 or p != last:
            group_offset.append(j)
            group_size.append(0)
            last = p
        group_size[-1] += 1
        group_of.append(len(group_offset) - 1)
    child = [-1] * len(parents)
    for j, p in enumerate(parents):
        if p >= 0:
            child[p] = group_of[j]
    return group_offset, group_size, child


def margins(case, res, outs, opts, layers, out_layers):
    """The distance of the closest decision to its threshold: objectness
    and probabilities against THRESH, IoUs NMS compares against nms, and
    WordTree steps against HIER."""
    m = dict(prob=np.inf, iou=np.inf, hier=np.inf)
    parents = read_tree_parents() if case["names"] == "9k" else None
    for data, li in zip(outs, out_layers):
        o = opts[li]
        t = o["_type"]
        if t == "detection":
            side, num, classes = int(o["side"]), int(o["num"]), int(o["classes"])
            cells = side * side
            cls = data[:cells * classes].reshape(cells, classes)
            conf = data[cells * classes:cells * (classes + num)].reshape(cells, num)
            probs = (conf[:, :, None].astype(np.float32) * cls[:, None, :]).astype(np.float32)
            m["prob"] = min(m["prob"], float(np.abs(probs - THRESH).min()))
            continue
        num, per, obj = dg.head_layout(o)
        c, h, w = layers[li]["out"]
        x = data.reshape(num, per, h * w)
        objness = x[:, obj, :]
        m["prob"] = min(m["prob"], float(np.abs(objness - THRESH).min()))
        if parents is not None:
            go, gs, child = tree_groups(parents)
            for a in range(num):
                for loc in range(h * w):
                    if objness[a, loc] > THRESH:
                        m["hier"] = min(m["hier"], hierarchy_margin(x[a, obj + 1:, loc], parents, go, gs, child, HIER))
            continue
        probs = (objness[:, None, :] * x[:, obj + 1:, :]).astype(np.float32)
        live = np.broadcast_to(objness[:, None, :] > THRESH, probs.shape)
        if live.any():
            m["prob"] = min(m["prob"], float(np.abs(probs[live] - THRESH).min()))
    cands = res["candidates"]
    for i in range(len(cands)):
        ci = {k for k, _ in cands[i]["prob"]}
        for j in range(i + 1, len(cands)):
            if ci & {k for k, _ in cands[j]["prob"]}:
                a = [cands[i][k] for k in "xywh"]
                b = [cands[j][k] for k in "xywh"]
                m["iou"] = min(m["iou"], abs(iou(a, b) - case["nms"]))
    return {k: (None if v == np.inf else v) for k, v in m.items()}


def darknet_printed(case, name, cfg, weights, image, tmp):
    """Runs the darknet binary on the files and returns the "label: NN%"
    lines it prints."""
    if case["mode"] == "letterbox":
        data = os.path.join(tmp, "names.data")
        with open(data, "w") as f:
            f.write(f"names = {os.path.join(DEBIAN, 'data', case['names'] + '.names')}\n")
        r = subprocess.run(["darknet", "detector", "test", data, cfg, weights, image,
                            "-thresh", str(THRESH), "-hier", str(HIER), "-out", os.path.join(tmp, "pred")],
                           capture_output=True, text=True, cwd=DEBIAN, timeout=300, check=True)
        text = r.stdout
    else:
        # `yolo test` (VOC names built in) shows its picture in a window
        # and waits for a key: run it headless, line-buffered, and stop it
        # once it has printed.
        run_dir = os.path.join(tmp, "yolo")
        os.makedirs(run_dir, exist_ok=True)
        if not os.path.exists(os.path.join(run_dir, "data")):
            os.symlink(os.path.join(DEBIAN, "data"), os.path.join(run_dir, "data"))
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
        try:
            r = subprocess.run(["stdbuf", "-oL", "darknet", "yolo", "test", cfg, weights, image, "-thresh", str(THRESH)],
                               capture_output=True, text=True, cwd=run_dir, env=env, timeout=20)
            text = r.stdout
        except subprocess.TimeoutExpired as e:
            text = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        if "Predicted in" not in text:
            sys.exit(f"{name}: darknet yolo test printed no prediction:\n{text}")
    return [line for line in text.splitlines() if re.fullmatch(r".+: \d+%", line)]


def expected_lines(case, res):
    """The lines draw_detections prints for detect_golden.c's detections."""
    with open(os.path.join(DEBIAN, "data", case["names"] + ".names")) as f:
        names = f.read().split("\n")
    return [f"{names[d['class']]}: {float(np.float32(d['prob']) * np.float32(100)):.0f}%" for d in res["detections"]]


def run(helper, dg_binary, out):
    make_image(out)
    image = os.path.abspath(os.path.join(out, IMAGE))
    with tempfile.TemporaryDirectory() as tmp:
        for idx, (name, case) in enumerate(sorted(CASES.items())):
            cfg = os.path.abspath(os.path.join(out, name + ".cfg"))
            text = dg.derive(case)
            with open(cfg, "w") as f:
                f.write(text)
            layers = dg.layer_table(dg_binary, cfg)
            opts = dg.layer_options(text)
            out_layers = [i for i, o in enumerate(opts) if o["_type"] in dg.HEAD_TYPES]
            header = case.get("header", (0, 2, 0))
            weights = os.path.abspath(os.path.join(out, name + ".weights"))
            dg.head_biases = make_head_biases(case)
            prefix = os.path.join(tmp, name)

            def helper_run(override=None):
                args = [helper, case["mode"], cfg, weights, image, str(THRESH), str(HIER), str(case["nms"]), prefix]
                if override:
                    args.append(override)
                res = run_json(args, cwd=os.path.join(DEBIAN, "data"))
                outs = [np.fromfile(f"{prefix}.out{k}.f32", dtype="<f4") for k in range(len(out_layers))]
                return res, outs

            def dg_run():
                return run_json([dg_binary, cfg, weights, image, prefix + ".dg"], cwd=os.path.join(DEBIAN, "data"))

            for attempt in range(ATTEMPTS):
                seed = 3000 + 100 * idx + attempt
                dg.write_weights(weights, layers, opts, seed, header)
                shift, scale = {}, {}
                if case["mode"] == "letterbox":
                    # The objectness logits, from darknet_golden.c's dump of
                    # each head's input: shift them so that FIRE of the
                    # anchor-cells score above THRESH.
                    d = dg_run()
                    for t in d["head_inputs"]:
                        li = out_layers[t["k"]]
                        num, per, obj = dg.head_layout(opts[li])
                        logit = np.fromfile(os.path.join(tmp, t["file"]), dtype="<f4").astype(np.float64)
                        logit = logit.reshape(num, per, -1)[:, obj, :]
                        fire = case.get("fire", FIRE)
                        shift[li - 1] = float(np.log(THRESH / (1 - THRESH)) - np.quantile(logit, 1 - fire)) + \
                            (1e-3 if fire < 1 else 0.5)
                else:
                    # YOLOv1's linear head: probabilities are confidence ×
                    # class score, both scaled by the connected layer's
                    # factor k; choose k so that FIRE of them exceed THRESH.
                    _, outs = helper_run()
                    o = opts[out_layers[0]]
                    side, num, classes = int(o["side"]), int(o["num"]), int(o["classes"])
                    cells = side * side
                    data = outs[0].astype(np.float64)
                    probs = data[cells * classes:cells * (classes + num)].reshape(cells, num)[:, :, None] * \
                        data[:cells * classes].reshape(cells, classes)[:, None, :]
                    q = np.quantile(probs, 1 - FIRE)
                    scale[dg.last_weighted(layers, out_layers[0])] = float(np.sqrt(THRESH / q))
                dg.write_weights(weights, layers, opts, seed, header, shift, scale)
                if case["mode"] == "resize":
                    spread_yolov1_boxes(weights, layers, opts, out_layers[0], seed)
                override = None
                if case["names"] == "9k":
                    d = dg_run()
                    t = d["head_inputs"][0]
                    inp = np.fromfile(os.path.join(tmp, t["file"]), dtype="<f4")
                    o = opts[out_layers[0]]
                    num, per, _ = dg.head_layout(o)
                    c, h, w = layers[out_layers[0]]["out"]
                    groups = dg.read_tree(os.path.join(DEBIAN, "data", o["tree"]))
                    exp = dg.tree_region(inp, c, h, w, classes=int(o["classes"]), coords=int(o["coords"]),
                                         num=num, groups=groups)
                    override = os.path.join(tmp, name + ".override.f32")
                    exp.astype("<f4").tofile(override)
                res, outs = helper_run(override)
                m = margins(case, res, outs, opts, layers, out_layers)
                pairs = sum(len(c["prob"]) for c in res["candidates"])
                ok = ((m["prob"] is None or m["prob"] >= PROB_MARGIN) and (m["hier"] is None or m["hier"] >= PROB_MARGIN)
                      and (m["iou"] is None or m["iou"] >= IOU_MARGIN))
                enough = 3 <= len(res["detections"]) <= 60 and (pairs > len(res["detections"]) or case["names"] == "9k")
                print(f"{name}: seed {seed}: {len(res['candidates'])} candidates, {pairs} scores, "
                      f"{len(res['detections'])} detections, margins {m}" +
                      ("" if ok and enough else " (next seed)"))
                if ok and enough:
                    break
            else:
                sys.exit(f"{name}: no seed in {ATTEMPTS} gave a clear-cut case")

            manifest = dict(
                name=name,
                generator="tools/golden/detect_golden.sh (detect_golden.c, detect_golden.py, darknet_golden.py's weights)",
                darknet=dg.DARKNET_VERSION,
                cfg=name + ".cfg",
                weights=name + ".weights",
                image=IMAGE,
                names=case["names"],
                mode=case["mode"],
                path=("darknet detector test: letterbox_image, get_network_boxes(relative=1), do_nms_sort"
                      if case["mode"] == "letterbox" else
                      "darknet yolo test: resize_image, get_network_boxes(w=h=1), do_nms_sort"),
                thresh=THRESH, hier=HIER, nms=case["nms"],
                seed=seed, header=list(header),
                image_size=res["image"], net=res["net"], classes=res["classes"],
                margins=m,
                candidates=res["candidates"],
                detections=res["detections"],
            )
            if override:
                manifest["override"] = ("the region layer's output was replaced, before decoding, by the WordTree "
                                        "softmax of darknet's GPU code computed from libdarknet's input to the layer "
                                        "(darknet_golden.py: tree_region); darknet's CPU code gets it wrong "
                                        "(pjreddie/darknet #143, #144), so the darknet binary is not run")
            else:
                printed = darknet_printed(case, name, cfg, weights, image, tmp)
                want = expected_lines(case, res)
                if Counter(printed) != Counter(want):
                    sys.exit(f"{name}: the darknet binary printed {printed}, detect_golden.c's detections give {want}")
                manifest["darknet_printed"] = printed
            with open(os.path.join(out, name + ".json"), "w") as f:
                json.dump(manifest, f, indent=1)
                f.write("\n")
            print(f"{name}: {os.path.getsize(weights)} bytes of weights, {len(res['detections'])} detections")


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: detect_golden.py HELPER DARKNET_GOLDEN OUTDIR")
    helper, dg_binary, out = sys.argv[1:]
    os.makedirs(out, exist_ok=True)
    run(os.path.abspath(helper), os.path.abspath(dg_binary), out)


if __name__ == "__main__":
    main()
