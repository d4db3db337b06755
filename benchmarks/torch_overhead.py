"""What babysit.torch.watch costs a PyTorch training loop: time per step with and without it.

Each case trains the same model from the same weights on the same batches twice per
repetition, once plain and once watched (the order alternating between repetitions, so that
noise from other processes hits both alike). The watched run includes everything the sitter
does: its hooks, `log(loss)` per step, `end_epoch` with its samples, and reading `history` at
the end (the last probe sample). The figure is the watched run's time over the plain one's,
per repetition; the script prints the median and the range, and where the time goes: the
steps, the first step (the sitter's start) and the epoch ends (its samples). Times are the
process's CPU time (`time.process_time`, torch on one thread): on a machine shared with other
work, a wall clock would add the time spent waiting for a core, which has nothing to do with
either contender.

    .venv/bin/python benchmarks/torch_overhead.py [--repeats 15] [--threads 1]

(needs the `torch` extra).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

import babysit as bs
from babysit.torch import watch


def digits_mlp():
    return nn.Sequential(nn.Linear(64, 100), nn.ReLU(), nn.Linear(100, 100), nn.ReLU(),
                         nn.Linear(100, 10))


def digits_cnn():
    return nn.Sequential(nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 4 * 4, 10))


def mnist_mlp():
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                         nn.Linear(512, 10))


class MnistNet(nn.Module):
    """pytorch/examples' MNIST `Net` (its activations and pooling called as F.relu and
    F.max_pool2d in forward), on rows of 784 pixels."""

    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 32, 3), nn.Conv2d(32, 64, 3)
        self.fc1, self.fc2 = nn.Linear(9216, 128), nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x.reshape(-1, 1, 28, 28)))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


def digits_data():
    data = bs.data.load("digits")
    pre = bs.preprocess.Standardize().fit(data.train.X)
    return (torch.tensor(pre.transform(data.train.X), dtype=torch.float32),
            torch.tensor(data.train.y, dtype=torch.long))


def mnist_shaped_data(n=8192):
    """Random MNIST-shaped data: the cost of a step does not depend on what the pixels show."""
    g = torch.Generator().manual_seed(0)
    return torch.rand(n, 784, generator=g), torch.randint(0, 10, (n,), generator=g)


# (name, model, data, batch size, epochs)
CASES = [
    ("digits MLP 64-100-100-10", digits_mlp, digits_data, 64, 15),
    ("digits CNN conv16-pool-linear", digits_cnn, digits_data, 64, 15),
    ("MNIST-shaped MLP 784-512-512-10", mnist_mlp, mnist_shaped_data, 128, 3),
    ("MNIST-shaped CNN, examples' Net", MnistNet, lambda: mnist_shaped_data(2048), 64, 3),
]


def run(make, X, y, batch_size, epochs, watched: bool) -> dict:
    """CPU seconds for `epochs` epochs of Adam on (X, y), with or without the sitter, split
    into "steps" (every step but the first: forward, loss, backward, step, log), "first" (the
    first step, where the sitter takes its probe and first sample) and "epochs" (end_epoch
    calls, the final `history` read and `close`: the sitter's samples)."""
    torch.manual_seed(0)
    model = make()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    clock = time.process_time
    spent = {"first": 0.0, "steps": 0.0, "epochs": 0.0}
    start = clock()
    sitter = watch(model, opt) if watched else None
    for epoch in range(epochs):
        for i in range(0, len(X), batch_size):
            opt.zero_grad()
            loss = F.cross_entropy(model(X[i:i + batch_size]), y[i:i + batch_size])
            loss.backward()
            opt.step()
            if sitter:
                sitter.log(loss)
            now = clock()
            spent["first" if epoch == 0 and i == 0 else "steps"] += now - start
            start = now
        if sitter:
            sitter.end_epoch()
        now = clock()
        spent["epochs"] += now - start
        start = now
    if sitter:
        sitter.history  # noqa: B018 - reading it takes the final sample, part of the cost
        sitter.close()
    spent["epochs"] += clock() - start
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), {args.repeats} repetitions; "
          f"CPU ms per run, medians (plain / watched)")
    print(f"{'case':32s} {'steps':>5s} {'steps ms':>15s} {'first ms':>11s} {'epochs ms':>11s} "
          f"{'watched/plain':>13s} {'range':>11s}")
    for name, make, data, batch_size, epochs in CASES:
        X, y = data()
        run(make, X, y, batch_size, 1, True)  # warm-up: first calls, allocations
        runs = {False: [], True: []}
        for r in range(args.repeats):
            for watched in ((False, True) if r % 2 == 0 else (True, False)):
                runs[watched].append(run(make, X, y, batch_size, epochs, watched))
        ratios = [sum(w.values()) / sum(p.values())
                  for p, w in zip(runs[False], runs[True], strict=True)]

        cells = [" / ".join(f"{statistics.median(r[k] for r in runs[w]) * 1e3:.0f}"
                            for w in (False, True)) for k in ("steps", "first", "epochs")]
        steps = epochs * -(-len(X) // batch_size)
        print(f"{name:32s} {steps:5d} {cells[0]:>15s} {cells[1]:>11s} {cells[2]:>11s} "
              f"{statistics.median(ratios):13.3f} {min(ratios):5.2f}-{max(ratios):.2f}")


if __name__ == "__main__":
    main()
