"""Time OpenBLAS SGEMM through numpy, for govision's SGEMM harness (bench/sgemm).

The harness runs this script with Debian's own interpreter and numpy,

    /usr/bin/python3 -E -s - --n 1024 --reps 3 --min-time 0.5 < openblas.py

with OPENBLAS_NUM_THREADS and OMP_NUM_THREADS set to the thread count and
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE removed from the environment (or
OPENBLAS_CORETYPE set on purpose). It prints one JSON object on stdout:

    {"n": 1024, "median_s": 0.0131, "reps": 38, "numpy": "1.24.2",
     "blas": {"internal_api": "openblas", "version": "0.3.21",
              "architecture": "SkylakeX", "num_threads": 1, ...},
     "env": {"OPENBLAS_CORETYPE": null, ...}}

The product is C = A·B on square float32 matrices filled uniformly from
[0, 1), written into a preallocated C (np.matmul(a, b, out=c)), as the Go
peers do. One warm-up call, then repetitions until at least --reps of them
and at least --min-time seconds in total; median_s is their median.
With --n 0 it only reports the BLAS in use (a probe).

"blas" comes from threadpoolctl when it is installed and finds the library;
otherwise from the OpenBLAS library mapped into this process, asked through
ctypes; otherwise from numpy's build configuration (numpy.show_config).
"""

import argparse
import contextlib
import ctypes
import io
import json
import os
import statistics
import sys
import time

ENV_KEYS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")


def mapped_libraries():
    """Paths of the shared libraries mapped into this process."""
    paths = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 6 and ".so" in fields[5]:
                    paths.add(fields[5])
    except OSError:
        pass
    return sorted(paths)


def openblas_ctypes(path):
    """Ask the OpenBLAS library at path for its core, config and threads."""
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return {}
    info = {}
    for key, fn in (("architecture", "openblas_get_corename"), ("config", "openblas_get_config")):
        f = getattr(lib, fn, None)
        if f is not None:
            f.restype = ctypes.c_char_p
            info[key] = f().decode()
    f = getattr(lib, "openblas_get_num_threads", None)
    if f is not None:
        f.restype = ctypes.c_int
        info["num_threads"] = f()
    if "config" in info:
        # "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64"
        words = info["config"].split()
        if len(words) >= 2 and words[0] == "OpenBLAS":
            info["version"] = words[1]
    return info


def blas_info():
    """Describe the BLAS numpy calls (numpy must already be imported)."""
    openblas_path = next((p for p in mapped_libraries() if "libopenblas" in os.path.basename(p)), None)
    try:
        import threadpoolctl
    except ImportError:
        threadpoolctl = None
    if threadpoolctl is not None:
        for lib in threadpoolctl.threadpool_info():
            if lib.get("user_api") == "blas":
                info = {k: lib.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "threading_layer", "filepath")}
                info["source"] = "threadpoolctl " + threadpoolctl.__version__
                if info["internal_api"] == "openblas":
                    info["config"] = openblas_ctypes(info["filepath"]).get("config")
                return info
    if openblas_path is not None:
        info = {"internal_api": "openblas", "filepath": openblas_path, "source": "ctypes"}
        info.update(openblas_ctypes(openblas_path))
        return info
    import numpy

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        numpy.show_config()
    blas = [p for p in mapped_libraries() if "blas" in os.path.basename(p)]
    return {
        "internal_api": "unknown",
        "filepath": blas[0] if blas else None,
        "source": "numpy.show_config",
        "config": out.getvalue(),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=0, help="matrix size; 0 only reports the BLAS")
    p.add_argument("--reps", type=int, default=3, help="at least this many timed repetitions")
    p.add_argument("--min-time", type=float, default=0.5, help="and at least this many seconds in total")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()

    try:
        import numpy as np
    except ImportError as e:
        json.dump({"error": "numpy: %s" % e}, sys.stdout)
        return 2

    out = {
        "n": args.n,
        "numpy": np.__version__,
        "python": sys.executable,
        "env": {k: os.environ.get(k) for k in ENV_KEYS},
    }
    if args.n > 0:
        n = args.n
        rng = np.random.default_rng(args.seed)
        a = rng.random((n, n), dtype=np.float32)
        b = rng.random((n, n), dtype=np.float32)
        c = np.empty((n, n), dtype=np.float32)
        np.matmul(a, b, out=c)  # warm-up: thread pool, pages of c
        times = []
        while len(times) < args.reps or sum(times) < args.min_time:
            t0 = time.perf_counter()
            np.matmul(a, b, out=c)
            times.append(time.perf_counter() - t0)
        out["median_s"] = statistics.median(times)
        out["reps"] = len(times)
    out["blas"] = blas_info()
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
