"""PyTorch's side of govision's classifier harness (bench/classify).

The harness starts this script once, with Debian's interpreter, in a
temporary directory (so that nothing there can shadow `import torch`):

    cd DIR && /usr/bin/python3 -E -s -c "<this script>" --dir DIR --seed 0

having first written pypeer.py (bench/internal/pypeer), which it imports,
into DIR.

It prints one JSON line describing itself (torch, torchvision,
torch.backends.mkldnn.is_available(), oneDNN's version, the BLAS torch
loaded and its OpenBLAS core, the environment), then serves commands, one
per line on stdin, answering each with one JSON line on stdout:

    fixture NAME SIZE
        builds torchvision.models.NAME(weights=None) (googlenet and
        inception_v3 with aux_logits=False, init_weights=True, which build
        without downloading and set transform_input=False) after
        torch.manual_seed(seed), gives its batch norms realistic statistics
        (one training-mode pass over two random images with momentum 1 sets
        the running mean and variance to those of the network's own
        activations; then gamma and beta are perturbed a little, so that no
        batch norm is the identity), and puts it in eval mode. It saves the
        state dict with torch.save to DIR/NAME.pth, and an input
        x = randn(1, 3, SIZE, SIZE) with the logits y = model(x) under
        torch.no_grad() to DIR/NAME-io.pt as {"input": x, "output": y}.
        The model stays loaded for the time commands. Answers
        {"model": NAME, "weights": path, "io": path, "params": count}.
    time NAME T WARMUP MIN_REPS MIN_TIME
        times the loaded model NAME on x: torch.set_num_threads(T) and, when
        torch's BLAS is OpenBLAS, openblas_set_num_threads(T) (torch does
        not pass its thread count on to OpenBLAS, which would otherwise use
        every CPU for the 1x1 convolutions torch sends it at one thread);
        WARMUP calls; then calls until at least MIN_REPS of them and
        MIN_TIME seconds in total, all under torch.no_grad(), eager mode.
        Answers {"threads": torch.get_num_threads(), "blas_threads": ...,
        "median_s": ..., "reps": ..., "convs": {kernel: count}} where convs
        counts the convolutions of one profiled call at T threads by the
        ATen kernel each ran ("aten::mkldnn_convolution",
        "aten::thnn_conv2d", ...).
    quit
        exits.

An error is a line {"error": "..."}; a failure before the description line
exits with status 1.

With --rss-weights FILE --rss-model NAME --size SIZE it does instead what a
PyTorch inference process does, for the harness to read its peak RSS:
builds the model, loads FILE (torch.load, load_state_dict), runs one
forward pass on a random input under torch.no_grad() and exits.
"""

import argparse
import json
import os
import statistics
import sys

import pypeer  # written next to this script by the harness (bench/internal/pypeer)

# The ATen convolution kernels: the profiler also lists the generic
# dispatch ops (aten::conv2d, aten::_convolution), which are not counted.
CONV_KERNELS = ("aten::mkldnn_convolution", "aten::thnn_conv2d", "aten::_slow_conv2d_forward",
                "aten::_nnpack_spatial_convolution", "aten::slow_conv_dilated2d")

# Models whose torchvision constructor downloads nothing only with these.
NO_AUX = {"googlenet", "inception_v3"}


def construct(torchvision, name):
    """torchvision.models.<name>(weights=None), without downloads."""
    ctor = getattr(torchvision.models, name, None)
    if ctor is None or not callable(ctor):
        raise ValueError("torchvision %s has no model %r" % (torchvision.__version__, name))
    kw = {"weights": None}
    if name in NO_AUX:
        kw.update(aux_logits=False, init_weights=True)
    return ctor(**kw)


def build(torch, torchvision, name, size, seed):
    """The model with calibrated batch norms, an input and its logits."""
    torch.manual_seed(seed)
    model = construct(torchvision, name)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        if bns:
            for bn in bns:
                bn.momentum = 1.0
            model.train()
            model(torch.randn(2, 3, size, size))
            for bn in bns:
                bn.momentum = 0.1
                bn.weight.uniform_(0.8, 1.2)
                bn.bias.uniform_(-0.1, 0.1)
        model.eval()
        x = torch.randn(1, 3, size, size)
        y = model(x)
    return model, x, y


def conv_kernels(torch, model, x):
    """How many convolutions of one call ran through each ATen kernel: for
    each aten::_convolution, the first kernel of CONV_KERNELS below it
    (aten::thnn_conv2d itself calls aten::_slow_conv2d_forward)."""
    counts = {}
    with torch.autograd.profiler.profile() as prof:
        model(x)
    for e in prof.function_events:
        if e.name != "aten::_convolution":
            continue
        kernel, level = "unknown", list(e.cpu_children)
        while level and kernel == "unknown":
            kernel = next((c.name for c in level if c.name in CONV_KERNELS), "unknown")
            level = [g for c in level for g in c.cpu_children]
        counts[kernel] = counts.get(kernel, 0) + 1
    return counts


def time_model(torch, blas, model, x, threads, warmup, min_reps, min_time):
    torch.set_num_threads(threads)
    blas.set_threads(threads)
    with torch.no_grad():
        convs = conv_kernels(torch, model, x)
        times = pypeer.time_calls(lambda: model(x), warmup, min_reps, min_time)
    return {"threads": torch.get_num_threads(), "blas_threads": blas.threads(),
            "median_s": statistics.median(times), "reps": len(times), "convs": convs}


def rss_run(args):
    """One inference process: build, load the weights file, one forward."""
    import torch
    import torchvision
    model = construct(torchvision, args.rss_model)
    model.load_state_dict(torch.load(args.rss_weights))
    model.eval()
    with torch.no_grad():
        y = model(torch.randn(1, 3, args.size, args.size))
    print(json.dumps({"logits": list(y.shape)}))
    return 0


def main():
    p = argparse.ArgumentParser(prog="pytorch_peer.py", description=__doc__.splitlines()[0])
    p.add_argument("--dir", help="where to write the fixtures")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rss-model", help="with --rss-weights: run one inference and exit")
    p.add_argument("--rss-weights")
    p.add_argument("--size", type=int, default=224)
    args = p.parse_args()
    if args.rss_weights:
        return rss_run(args)
    if not args.dir:
        p.error("--dir is required")

    try:
        import torch
        import torchvision
    except Exception as e:  # ImportError, or a broken install's OSError
        pypeer.reply({"error": "cannot import torch and torchvision: %s" % e})
        return 1
    blas = pypeer.BLAS()
    pypeer.reply(pypeer.describe_torch(torch, torchvision, blas))

    loaded = {"name": None, "model": None, "x": None}

    def handle(f, line):
        if f[0] == "fixture" and len(f) == 3:
            loaded.update(name=None, model=None, x=None)  # free the last model first
            m, x, y = build(torch, torchvision, f[1], int(f[2]), args.seed)
            weights = os.path.join(args.dir, f[1] + ".pth")
            io = os.path.join(args.dir, f[1] + "-io.pt")
            torch.save(m.state_dict(), weights)
            torch.save({"input": x, "output": y}, io)
            loaded.update(name=f[1], model=m, x=x)
            return {"model": f[1], "weights": weights, "io": io,
                    "params": sum(t.numel() for t in m.parameters())}
        if f[0] == "time" and len(f) == 6:
            if f[1] != loaded["name"]:
                raise ValueError("time %s: the loaded model is %s" % (f[1], loaded["name"]))
            return time_model(torch, blas, loaded["model"], loaded["x"], int(f[2]), int(f[3]), int(f[4]), float(f[5]))
        raise ValueError("unknown command %r, want 'fixture NAME SIZE', "
                         "'time NAME T WARMUP MIN_REPS MIN_TIME' or 'quit'" % line.strip())

    pypeer.serve(handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
