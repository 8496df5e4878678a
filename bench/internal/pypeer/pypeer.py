"""What govision's long-lived Python peers (bench/bottleneck's and
bench/classify's pytorch_peer.py, bench/yolo's opencv_peer.py) share: the
command protocol, the timing loop, and torch's description of itself and
of the BLAS it loaded.

The harnesses run a peer with `python3 -E -s -c "<script>"` in a directory
of their own, into which they first write this file (embedded in the Go
package govision.dev/bench/internal/pypeer): with -c the working directory
is first on sys.path, so the peer's `import pypeer` finds it there and
nothing else. Importing it imports neither torch nor cv2, so that a peer
can still answer {"error": "cannot import ..."} when they are missing.
"""

import ctypes
import json
import os
import platform
import re
import sys
import time

# The environment variables a torch peer reports: those that choose
# OpenBLAS's core, cache size and threads, and oneDNN's instruction set.
TORCH_ENV_KEYS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                  "MKL_NUM_THREADS", "DNNL_MAX_CPU_ISA", "ONEDNN_MAX_CPU_ISA")


def reply(obj):
    """Writes obj as one JSON line on stdout, flushed: one answer."""
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def serve(handle):
    """Answers the commands on stdin, one per line, until "quit" or the end
    of the input: handle(fields, line) returns the answer for a command
    split at white space; an exception it raises (say, ValueError for an
    unknown command) is answered {"error": "Type: message"}."""
    for line in sys.stdin:
        f = line.split()
        if not f:
            continue
        if f[0] == "quit":
            break
        try:
            reply(handle(f, line))
        except Exception as e:
            reply({"error": "%s: %s" % (type(e).__name__, e)})


def time_calls(call, warmup, min_reps, min_time):
    """Calls call() warmup times untimed, then until it has run at least
    min_reps times and min_time seconds in total, and returns each timed
    call's seconds (perf_counter), as bench/internal/measure.Median times
    the Go side."""
    for _ in range(warmup):
        call()
    times = []
    while len(times) < min_reps or sum(times) < min_time:
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return times


def mapped_library(pattern):
    """The path of the first shared library mapped into this process whose
    file name contains pattern, or None."""
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 6 and pattern in os.path.basename(fields[5]):
                    return fields[5]
    except OSError:
        pass
    return None


class BLAS:
    """The BLAS library torch loaded (Debian's torch calls the system's
    libblas.so.3 for the convolutions it does as im2col + GEMM), and, if it
    is OpenBLAS, its core and thread count through ctypes."""

    def __init__(self):
        self.path = mapped_library("libblas.so") or mapped_library("libopenblas")
        self.lib = None
        if self.path is None:
            return
        try:
            lib = ctypes.CDLL(self.path)
        except OSError:
            return
        if hasattr(lib, "openblas_get_corename") and hasattr(lib, "openblas_set_num_threads"):
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
            self.lib = lib

    def describe(self):
        if self.lib is None:
            return {"path": self.path, "openblas": False}
        return {"path": self.path, "openblas": True,
                "core": self.lib.openblas_get_corename().decode(),
                "config": self.lib.openblas_get_config().decode().strip(),
                "threads": self.lib.openblas_get_num_threads()}

    def set_threads(self, t):
        if self.lib is not None:
            self.lib.openblas_set_num_threads(t)

    def threads(self):
        return self.lib.openblas_get_num_threads() if self.lib is not None else None


def describe_torch(torch, torchvision, blas):
    """A torch peer's description line (pypeer.TorchInfo on the Go side):
    torch's and torchvision's versions, torch.backends.mkldnn.is_available(),
    oneDNN's version and ATen's CPU capability from torch.__config__.show(),
    the interpreter, blas.describe() and TORCH_ENV_KEYS."""
    config = torch.__config__.show()
    onednn = re.search(r"(?:MKL-DNN|oneDNN) (v[0-9.]+)", config)
    capability = re.search(r"CPU capability usage: (\S+)", config)
    return {
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "mkldnn": torch.backends.mkldnn.is_available(),
        "onednn": onednn.group(1) if onednn else None,
        "cpu_capability": capability.group(1) if capability else None,
        "python": "%s %s" % (sys.executable, platform.python_version()),
        "blas": blas.describe(),
        "env": {k: os.environ.get(k) for k in TORCH_ENV_KEYS},
    }
