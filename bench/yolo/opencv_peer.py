"""OpenCV DNN's side of govision's YOLO harness (bench/yolo).

The harness starts this script once, with Debian's interpreter, in its
temporary directory (so that nothing there can shadow `import cv2`):

    cd DIR && /usr/bin/python3 -E -s -c "<this script>" --dir DIR

having first written pypeer.py (bench/internal/pypeer), which it imports,
into DIR.

It prints one JSON line describing itself (OpenCV's version, its parallel
framework and CPU dispatch from cv2.getBuildInformation(), the Python
interpreter, the environment), then serves commands, one per line on
stdin, answering each with one JSON line on stdout:

    load NAME CFG WEIGHTS INPUT H W LAYERS
        cv2.dnn.readNetFromDarknet(CFG, WEIGHTS) with the OpenCV backend on
        the CPU; INPUT is the network's input blob [1, 3, H, W] as raw
        little-endian float32 (the harness's letterboxed image, the same
        one govision runs). LAYERS is a comma-separated list of darknet
        layer indices (the layers feeding the yolo layers): one untimed
        forward pass asks for the outputs of the OpenCV layers that end
        those darknet layers (OpenCV names its layers <kind>_<index>, as
        conv_81, bn_81, relu_81; the last of them is the layer's output)
        and writes each as DIR/NAME.in<index>.f32, raw float32. Answers
        {"model": NAME, "outputs": [{"layer": index, "opencv": name,
         "shape": [...], "file": path}, ...],
         "out_names": net.getUnconnectedOutLayersNames()}.
    time NAME T WARMUP MIN_REPS MIN_TIME
        cv2.setNumThreads(T); WARMUP untimed calls; then calls until at
        least MIN_REPS of them and MIN_TIME seconds in total. A call is
        net.setInput(blob); net.forward(net.getUnconnectedOutLayersNames())
        (the names looked up once), as an application runs a YOLO network.
        Answers {"threads": cv2.getNumThreads(), "median_s": ...,
        "best_s": ..., "reps": ...}.
    unload NAME
        drops the network.
    quit
        exits.

An error is a line {"error": "..."}; a failure before the description line
exits with status 1.
"""

import argparse
import os
import platform
import re
import statistics
import sys

import pypeer  # written next to this script by the harness (bench/internal/pypeer)

ENV_KEYS = ("OPENCV_FOR_THREADS_NUM", "OMP_NUM_THREADS", "OPENCV_DNN_BACKEND_INFERENCE_ENGINE_TYPE",
            "OPENCV_CPU_DISABLE", "OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS")


def build_line(info, key):
    """The value of a 'key: value' line of cv2.getBuildInformation()."""
    m = re.search(r"^\s*" + re.escape(key) + r":\s*(.+?)\s*$", info, re.M)
    return m.group(1) if m else None


class Peer:
    def __init__(self, cv2, np, directory):
        self.cv2, self.np, self.dir = cv2, np, directory
        self.nets = {}  # name -> (net, blob, out_names)

    def load(self, name, cfg, weights, path, h, w, layers):
        cv2, np = self.cv2, self.np
        self.nets.pop(name, None)
        net = cv2.dnn.readNetFromDarknet(cfg, weights)
        net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
        blob = np.fromfile(path, dtype="<f4")
        if blob.size != 3 * h * w:
            raise ValueError("%s holds %d floats, want 3*%d*%d" % (path, blob.size, h, w))
        blob = blob.reshape(1, 3, h, w).astype(np.float32)
        out_names = list(net.getUnconnectedOutLayersNames())

        # The last OpenCV layer of each asked-for darknet layer.
        last = {}
        for lname in net.getLayerNames():
            m = re.fullmatch(r"[a-z]+_(\d+)", lname)
            if m:
                last[int(m.group(1))] = lname
        want = []
        for i in layers:
            if i not in last:
                raise ValueError("no OpenCV layer for darknet layer %d" % i)
            want.append((i, last[i]))
        net.setInput(blob)
        outs = net.forward([n for _, n in want])
        res = []
        for (i, lname), y in zip(want, outs):
            f = os.path.join(self.dir, "%s.in%d.f32" % (name, i))
            np.ascontiguousarray(y, dtype="<f4").tofile(f)
            res.append({"layer": i, "opencv": lname, "shape": list(y.shape), "file": f})
        self.nets[name] = (net, blob, out_names)
        return {"model": name, "outputs": res, "out_names": out_names}

    def time(self, name, threads, warmup, min_reps, min_time):
        if name not in self.nets:
            raise ValueError("time %s: not loaded" % name)
        net, blob, out_names = self.nets[name]
        self.cv2.setNumThreads(threads)

        def call():
            net.setInput(blob)
            net.forward(out_names)

        times = pypeer.time_calls(call, warmup, min_reps, min_time)
        return {"threads": self.cv2.getNumThreads(), "median_s": statistics.median(times),
                "best_s": min(times), "reps": len(times)}


def main():
    p = argparse.ArgumentParser(prog="opencv_peer.py", description=__doc__.splitlines()[0])
    p.add_argument("--dir", required=True, help="where to write the outputs")
    args = p.parse_args()
    try:
        import cv2
        import numpy as np
    except Exception as e:  # ImportError, or a broken install's OSError
        pypeer.reply({"error": "cannot import cv2 and numpy: %s" % e})
        return 1
    info = cv2.getBuildInformation()
    pypeer.reply({
        "opencv": cv2.__version__,
        "parallel": build_line(info, "Parallel framework"),
        "baseline": build_line(info, "Baseline"),
        "dispatched": build_line(info, "Dispatched code generation"),
        "threads": cv2.getNumThreads(),
        "python": "%s %s" % (sys.executable, platform.python_version()),
        "env": {k: os.environ.get(k) for k in ENV_KEYS},
    })
    peer = Peer(cv2, np, args.dir)

    def handle(f, line):
        if f[0] == "load" and len(f) == 8:
            layers = [int(v) for v in f[7].split(",") if v]
            return peer.load(f[1], f[2], f[3], f[4], int(f[5]), int(f[6]), layers)
        if f[0] == "time" and len(f) == 6:
            return peer.time(f[1], int(f[2]), int(f[3]), int(f[4]), float(f[5]))
        if f[0] == "unload" and len(f) == 2:
            peer.nets.pop(f[1], None)
            return {"model": f[1]}
        raise ValueError("unknown command %r, want 'load NAME CFG WEIGHTS INPUT H W LAYERS', "
                         "'time NAME T WARMUP MIN_REPS MIN_TIME', 'unload NAME' or 'quit'" % line.strip())

    pypeer.serve(handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
