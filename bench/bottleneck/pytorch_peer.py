"""PyTorch's side of govision's bottleneck harness (bench/bottleneck).

The harness starts this script once, with Debian's interpreter, in the
fixture directory (so that nothing there can shadow `import torch`):

    cd DIR && /usr/bin/python3 -E -s -c "<this script>" \
        --dir DIR --in-channels 256 --width 64 --size 56 --seed 0

having first written pypeer.py (bench/internal/pypeer), which it imports,
into DIR.

It builds torchvision.models.resnet.Bottleneck(in, in // 4, base_width)
with base_width chosen so that the 3x3 convolution has `width` channels
(base_width 64 for ResNet-50's layer1 block, 256 -> 64 -> 64 -> 256), stride
1 and no downsample branch, so the shortcut is the identity. The weights are
torch's default initialisation after torch.manual_seed(seed); the batch
norms get realistic statistics (one training-mode pass with momentum 1 sets
the running mean and variance to those of the block's own activations),
then perturbed, as are their weights and biases, so that no BN is trivial.

Into DIR it writes every floating-point tensor of the state dict, the input
x [1, in, size, size] (standard normal) and torch's output y = block(x) in
eval mode, each as raw little-endian float32 in row-major order, named
<key>.f32, with index.json:

    {"generator": "bench/bottleneck/pytorch_peer.py", "torch": "1.13.0",
     "config": {"in_channels": 256, "width": 64, "size": 56, "seed": 0},
     "tensors": [{"name": "conv1.weight", "shape": [64, 256, 1, 1],
                  "file": "conv1.weight.f32"}, ...],
     "skipped": ["bn1.num_batches_tracked", ...],   (integer buffers)
     "input": {"name": "input", ...}, "output": {"name": "output", ...}}

Then it prints one JSON line describing itself (torch, torchvision,
torch.backends.mkldnn.is_available(), oneDNN's version, the BLAS torch
loaded and its OpenBLAS core, the environment) and serves commands, one per
line on stdin, answering each with one JSON line on stdout:

    time T WARMUP MIN_REPS MIN_TIME
        torch.set_num_threads(T) and, when torch's BLAS is OpenBLAS,
        openblas_set_num_threads(T) (torch does not pass its thread count
        on to OpenBLAS, which would otherwise use every CPU for the 1x1
        convolutions torch sends it at one thread); WARMUP calls; then calls
        until at least MIN_REPS of them and MIN_TIME seconds in total, all
        under torch.no_grad(). Answers
        {"threads": torch.get_num_threads(), "blas_threads": ...,
         "median_s": ..., "reps": ..., "convs": {"conv1": path, ...}}
        where a conv's path is the ATen kernel it ran at T threads
        ("aten::mkldnn_convolution", "aten::thnn_conv2d", ...) with, for
        oneDNN, the implementation its verbose mode names (jit:avx512_core).
    quit
        exits.

An error is a line {"error": "..."}; a failure before the description line
exits with status 1.
"""

import argparse
import contextlib
import ctypes
import json
import os
import statistics
import sys
import tempfile

import pypeer  # written next to this script by the harness (bench/internal/pypeer)

# The ATen convolution kernels, most specific first: the profiler also
# lists the generic dispatch ops (aten::conv2d, aten::_convolution).
CONV_KERNELS = ("aten::mkldnn_convolution", "aten::thnn_conv2d", "aten::_slow_conv2d_forward",
                "aten::_nnpack_spatial_convolution", "aten::slow_conv_dilated2d")


@contextlib.contextmanager
def captured_stdout_fd(out):
    """Redirects file descriptor 1 (where oneDNN's verbose mode printf()s)
    to a temporary file, and appends what was written there to out."""
    libc = ctypes.CDLL(None)
    sys.stdout.flush()
    libc.fflush(None)
    saved = os.dup(1)
    with tempfile.TemporaryFile() as f:
        os.dup2(f.fileno(), 1)
        try:
            yield
        finally:
            libc.fflush(None)
            os.dup2(saved, 1)
            os.close(saved)
            f.seek(0)
            out.append(f.read().decode(errors="replace"))


def conv_paths(torch, block, size):
    """Which ATen kernel each convolution of block runs at the current
    thread count (torch 1.13 sends a 1x1 convolution of batch 1 to its own
    im2col + BLAS code at one thread and to oneDNN at more), and for oneDNN
    the implementation its verbose mode reports."""
    paths = {}
    for name in ("conv1", "conv2", "conv3"):
        conv = getattr(block, name)
        x = torch.randn(1, conv.in_channels, size, size)
        text = []
        with torch.autograd.profiler.profile() as prof:
            with captured_stdout_fd(text), torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
                conv(x)
        names = {e.name for e in prof.function_events}
        kernel = next((k for k in CONV_KERNELS if k in names), "unknown")
        impls = sorted({line.split(",")[4] for line in "".join(text).splitlines()
                        if line.startswith(("onednn_verbose,exec,cpu,convolution", "dnnl_verbose,exec,cpu,convolution"))
                        and len(line.split(",")) > 4})
        paths[name] = kernel + ("" if not impls else " (" + ", ".join(impls) + ")")
    return paths


def build(torch, Bottleneck, args):
    """The block, its input and its eval-mode output, from args.seed."""
    c, width, s = args.in_channels, args.width, args.size
    if c % 4 != 0 or (64 * width) % (c // 4) != 0:
        raise ValueError("in_channels %d, width %d: want in_channels divisible by 4 and 64*width by in_channels/4" % (c, width))
    planes = c // 4  # Bottleneck.expansion = 4: the block ends with planes*4 = c channels
    torch.manual_seed(args.seed)
    block = Bottleneck(c, planes, base_width=64 * width // planes)
    if block.conv2.in_channels != width or block.conv3.out_channels != c:
        raise ValueError("built %s, want %d -> %d -> %d" % (block, c, width, c))
    x = torch.randn(1, c, s, s)
    bns = (block.bn1, block.bn2, block.bn3)
    with torch.no_grad():
        for bn in bns:
            bn.momentum = 1.0
        block.train()
        block(x)
        block.eval()
        for bn in bns:
            n = bn.num_features
            bn.momentum = 0.1
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.5, 0.5)
            bn.running_mean.add_(0.1 * torch.randn(n))
            bn.running_var.mul_(torch.empty(n).uniform_(0.5, 2.0))
        y = block(x)
    return block, x, y


def write_fixture(torch, directory, args, block, x, y):
    def save(name, t):
        path = os.path.join(directory, name + ".f32")
        t.detach().contiguous().to(torch.float32).numpy().astype("<f4").tofile(path)
        return {"name": name, "shape": list(t.shape), "file": name + ".f32"}

    tensors, skipped = [], []
    for key, t in block.state_dict().items():
        if t.is_floating_point():
            tensors.append(save(key, t))
        else:
            skipped.append(key)
    index = {
        "generator": "bench/bottleneck/pytorch_peer.py",
        "torch": torch.__version__,
        "config": {"in_channels": args.in_channels, "width": args.width, "size": args.size, "seed": args.seed},
        "tensors": tensors,
        "skipped": skipped,
        "input": save("input", x),
        "output": save("output", y),
    }
    with open(os.path.join(directory, "index.json"), "w") as f:
        json.dump(index, f)


def time_block(torch, blas, block, x, size, threads, warmup, min_reps, min_time):
    torch.set_num_threads(threads)
    blas.set_threads(threads)
    with torch.no_grad():
        convs = conv_paths(torch, block, size)
        times = pypeer.time_calls(lambda: block(x), warmup, min_reps, min_time)
    return {"threads": torch.get_num_threads(), "blas_threads": blas.threads(),
            "median_s": statistics.median(times), "reps": len(times), "convs": convs}


def main():
    p = argparse.ArgumentParser(prog="pytorch_peer.py", description=__doc__.splitlines()[0])
    p.add_argument("--dir", required=True, help="where to write the fixture")
    p.add_argument("--in-channels", type=int, default=256)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--size", type=int, default=56)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    try:
        import torch
        import torchvision
        from torchvision.models.resnet import Bottleneck
    except Exception as e:  # ImportError, or a broken install's OSError
        pypeer.reply({"error": "cannot import torch and torchvision: %s" % e})
        return 1
    try:
        block, x, y = build(torch, Bottleneck, args)
        write_fixture(torch, args.dir, args, block, x, y)
    except Exception as e:
        pypeer.reply({"error": "%s: %s" % (type(e).__name__, e)})
        return 1
    blas = pypeer.BLAS()
    pypeer.reply(pypeer.describe_torch(torch, torchvision, blas))

    def handle(f, line):
        if f[0] != "time" or len(f) != 5:
            raise ValueError("unknown command %r, want 'time T WARMUP MIN_REPS MIN_TIME' or 'quit'" % line.strip())
        return time_block(torch, blas, block, x, args.size, int(f[1]), int(f[2]), int(f[3]), float(f[4]))

    pypeer.serve(handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
