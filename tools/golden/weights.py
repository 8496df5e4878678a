#!/usr/bin/python3
"""Golden fixtures for vision/weights, written by PyTorch.

Run from the repository root with Debian's interpreter (python3-torch):

    /usr/bin/python3 tools/golden/weights.py

It writes small weight files into vision/weights/testdata/golden/, read by
vision/weights/weights_test.go, and weights.json beside them: for every file
that must load, each tensor's name, shape and values (flattened in row-major
order of the logical tensor, converted to float32 by torch itself, so that
float16, bfloat16 and int64 conversions are PyTorch's, not ours). Files that
must be refused (a whole pickled model, TorchScript, a pickle calling
os.system, the legacy non-zip format) have no entry in the JSON.

Every file comes out the same on each run except legacy.pth and script.pt,
which embed object ids; the tests only check that they are refused.

The safetensors files are written by hand (struct + json) because the
safetensors package is not in Debian; the layout follows the format's
specification: a little-endian uint64 header length, the JSON header padded
with spaces to a multiple of 8 bytes, then the data buffer.
"""

import json
import os
import struct

import torch
import torch.nn as nn

OUT = os.path.join("vision", "weights", "testdata", "golden")

torch.manual_seed(20240602)

expected = {}


def record(file, tensors):
    """Note the tensors a file must load as: name -> shape and values."""
    expected[file] = {
        name: {
            "shape": list(t.shape),
            "values": t.detach().to(torch.float32).reshape(-1).tolist(),
        }
        for name, t in tensors.items()
    }


def path(file):
    return os.path.join(OUT, file)


def tiny_model():
    """Conv2d -> BatchNorm2d -> ReLU -> Linear, trained for three steps so the
    batch-norm running statistics and num_batches_tracked (int64) are not
    their initial values."""
    model = nn.Sequential(
        nn.Conv2d(2, 3, 3),
        nn.BatchNorm2d(3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(12, 4),
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.train()
    for _ in range(3):
        opt.zero_grad()
        model(torch.randn(5, 2, 4, 4)).square().mean().backward()
        opt.step()
    model.eval()
    return model, opt


# The raw bytes of a tensor in the given safetensors dtype, little-endian.
def raw(t, dtype):
    t = t.contiguous()
    if dtype in ("F16", "BF16"):
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    np_type = {"F32": "<f4", "F64": "<f8", "I64": "<i8", "I32": "<i4"}[dtype]
    return t.numpy().astype(np_type).tobytes()


SAFE_DTYPE = {
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.float64: "F64",
    torch.int64: "I64",
    torch.int32: "I32",
}


def write_safetensors(file, tensors, metadata=None):
    """Header keys in the dict's order; the data buffer holds the tensors in
    reverse order, so offsets do not simply follow the header."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    blobs = {}
    for name, t in tensors.items():
        blobs[name] = raw(t, SAFE_DTYPE[t.dtype])
    offsets, pos = {}, 0
    for name in reversed(list(tensors)):
        offsets[name] = [pos, pos + len(blobs[name])]
        pos += len(blobs[name])
    for name, t in tensors.items():
        header[name] = {
            "dtype": SAFE_DTYPE[t.dtype],
            "shape": list(t.shape),
            "data_offsets": offsets[name],
        }
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path(file), "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for name in reversed(list(tensors)):
            f.write(blobs[name])


class Evil:
    """Unpickling this in Python runs a shell command: the checkpoint attack
    our loader must refuse (it pickles as the global posix.system)."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def main():
    os.makedirs(OUT, exist_ok=True)
    model, opt = tiny_model()
    sd = model.state_dict()

    # A plain state_dict, float32 plus int64 num_batches_tracked.
    torch.save(sd, path("state_dict.pth"))
    record("state_dict.pth", sd)

    # Non-contiguous tensors saved as they are: a transpose, a column
    # (storage offset 1, stride 4), a permutation, an empty tensor.
    x = torch.randn(3, 4)
    y = torch.randn(3, 4)
    z = torch.randn(2, 3, 4)
    strided = {
        "t": x.t(),
        "col": y[:, 1],
        "perm": z.permute(2, 0, 1),
        "empty": torch.zeros(0, 3),
    }
    assert not strided["t"].is_contiguous()
    torch.save(strided, path("strided.pth"))
    record("strided.pth", strided)

    # Several names viewing one storage, with offsets.
    s = torch.arange(10.0)
    shared = {"a": s[2:5], "b": s[5:], "c": s.view(2, 5)}
    torch.save(shared, path("shared.pth"))
    record("shared.pth", shared)

    # Half and bfloat16, with signed zero, subnormals and extremes.
    half = {
        "h": torch.tensor(
            [[0.0, -0.0, 1.0, -2.5], [65504.0, 6e-8, 1e-4, 0.1]],
            dtype=torch.float16,
        ),
        "bf": torch.tensor(
            [1.0, -1.0, 3.0e38, 1e-40, 0.1, -0.0], dtype=torch.bfloat16
        ),
        "hv": torch.randn(4, 3).half().t(),
    }
    torch.save(half, path("half.pth"))
    record("half.pth", half)

    # A training checkpoint: the weights under "state_dict", beside other
    # things (an epoch number and an optimizer state with its own tensors).
    torch.save(
        {"epoch": 3, "state_dict": sd, "optimizer": opt.state_dict()},
        path("checkpoint.pth"),
    )
    record("checkpoint.pth", sd)

    # Files that must be refused.
    torch.save(model, path("model.pth"))
    torch.jit.script(model).save(path("script.pt"))
    torch.save({"weight": torch.ones(2), "evil": Evil()}, path("hostile.pth"))
    torch.save(sd, path("legacy.pth"), _use_new_zipfile_serialization=False)

    # The same state dict as safetensors (num_batches_tracked as I64, as
    # safetensors' own save_file writes it).
    write_safetensors("state_dict.safetensors", sd)
    record("state_dict.safetensors", sd)

    mixed = {
        "f16": half["h"],
        "bf16": half["bf"],
        "f64": torch.tensor([0.1, 1.0 / 3.0, -1e-30, 2.5e20], dtype=torch.float64),
        "i64": torch.tensor([[-5, 0], [2**40, 2**40 + 1]], dtype=torch.int64),
        "i32": torch.tensor([7, -(2**31)], dtype=torch.int32),
        "empty": torch.zeros(0, 3),
        "scalar": torch.tensor(1.5),
    }
    write_safetensors("mixed.safetensors", mixed, metadata={"format": "pt"})
    record("mixed.safetensors", mixed)

    with open(path("weights.json"), "w") as f:
        json.dump(
            {"torch_version": torch.__version__, "files": expected},
            f,
            indent=1,
            sort_keys=True,
        )
        f.write("\n")


if __name__ == "__main__":
    main()
