#!/usr/bin/python3
"""PyTorch peer of bench/train: training steps of the paper's LeNet-5
(LeCun et al. 1998) on batches of MNIST-sized digits, the same network as
govision's (classify/lenet.go; its differentiable form in cmd/train):

    C1 conv 1→6 5x5, squash; S2 2x2 sum × coefficient + bias, squash;
    C3 conv 6→16 5x5 over Table I's subsets (a dense weight times the
    connection mask), squash; S4 as S2, squash; C5 conv 16→120 5x5,
    squash; F6 linear 120→84, squash; RBF output −Σ(x − w)² against fixed
    centres; cross-entropy of logits/30; Adam (the defaults of `vision
    train`; its digit shifts are data preparation, not timed on either
    side).

squash(a) = 1.7159·tanh(2a/3). Run with Debian's interpreter:

    /usr/bin/python3 bench/train/pytorch_peer.py THREADS BATCH WARMUP MIN_REPS MIN_SECONDS

It prints one JSON line: {"threads", "batch", "median_s", "reps", "torch"}
with the median time of one step (forward, loss, backward, optimizer
step), timed as bench/internal/measure.Median times the Go side.
"""

import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

TABLE = [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [0, 4, 5], [0, 1, 5],
         [0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [0, 3, 4, 5], [0, 1, 4, 5], [0, 1, 2, 5],
         [0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5], [0, 1, 2, 3, 4, 5]]


def squash(a):
    return 1.7159 * torch.tanh(a * (2.0 / 3.0))


class Subsampling(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(c).uniform_(-0.6, 0.6))
        self.bias = nn.Parameter(torch.empty(c).uniform_(-0.6, 0.6))

    def forward(self, x):
        s = F.avg_pool2d(x, 2) * 4
        return s * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5)
        self.s2 = Subsampling(6)
        self.c3 = nn.Conv2d(6, 16, 5)
        mask = torch.zeros(16, 6, 1, 1)
        for j, ins in enumerate(TABLE):
            for i in ins:
                mask[j, i] = 1
        self.register_buffer("mask", mask)
        self.s4 = Subsampling(16)
        self.c5 = nn.Conv2d(16, 120, 5)
        self.f6 = nn.Linear(120, 84)
        self.register_buffer("centres", torch.randint(0, 2, (10, 84)).float() * 2 - 1)

    def forward(self, x):
        x = squash(self.c1(x))
        x = squash(self.s2(x))
        x = squash(F.conv2d(x, self.c3.weight * self.mask, self.c3.bias))
        x = squash(self.s4(x))
        x = squash(self.c5(x)).flatten(1)
        x = squash(self.f6(x))
        return -((x.unsqueeze(1) - self.centres.unsqueeze(0)) ** 2).sum(2)


def main():
    threads, batch, warmup, min_reps, min_s = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    net = LeNet5()
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    xs = [torch.randn(batch, 1, 32, 32) for _ in range(8)]
    ys = [torch.randint(0, 10, (batch,)) for _ in range(8)]
    i = [0]

    def step():
        k = i[0] % len(xs)
        i[0] += 1
        opt.zero_grad()
        loss = F.cross_entropy(net(xs[k]) / 30, ys[k])
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    ts = []
    total = 0.0
    while len(ts) < max(min_reps, 1) or total < min_s:
        t0 = time.perf_counter()
        step()
        d = time.perf_counter() - t0
        ts.append(d)
        total += d
    print(json.dumps({"threads": threads, "batch": batch, "median_s": statistics.median(ts), "reps": len(ts),
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
