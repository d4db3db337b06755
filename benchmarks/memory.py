"""Peak memory and time per epoch: babysit's training loop against PyTorch's same loop, on MNIST.

Each contender runs in a process of its own (peak resident memory is a process's), which loads
MNIST with `bs.data.load("mnist")` (the same float32 arrays, 50,000 / 10,000 / 10,000 x 784;
PyTorch wraps them with `torch.from_numpy`, no copy), builds the 784-1024-1024-1024-10 ReLU
network and trains it with Adam (lr 1e-3), batch 256, for `--epochs` epochs. Every epoch is a
shuffle, the mini-batches (forward, softmax cross-entropy read as a Python float, backward,
Adam update), then the accuracy on 10,000 training examples and on the validation split, in
batches of 2048 (what `Trainer.fit` does; no monitors, no checkpoints).

- babysit: `Trainer(...).fit(X, y, val=...)`.
- PyTorch (CPU): `nn.Sequential` of `nn.Linear` / `nn.ReLU`, `nn.CrossEntropyLoss`,
  `torch.optim.Adam`; each epoch `torch.randperm`, batches `X[idx]`, `loss.item()`; evaluation
  under `torch.no_grad()`.

Printed per contender: the resident memory after its imports (the interpreter and libraries),
after loading the data, and at its peak (`ru_maxrss`), and the median (min) seconds per epoch;
for babysit also the bound of issue 19: 1.5 x (data + parameters, gradients and Adam's two
moments + one batch's activations) + the resident memory of `python -c "import babysit"`.
The contenders alternate, `--repeats` times each. Run:

    .venv/bin/python benchmarks/memory.py --epochs 2 --repeats 2 --threads 2

(needs MNIST, `make data`, and torch, `pip install torch==2.13.0`).
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import resource
import statistics
import subprocess
import sys
import time

HIDDEN = (1024, 1024, 1024)
BATCH, LR, EVAL_BATCH, EVAL_MAX = 256, 1e-3, 2048, 10_000
MIB = 2**20


def resident_mib() -> float:
    """This process's resident memory now, in MiB (VmRSS)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def peak_mib() -> float:
    """This process's peak resident memory so far, in MiB (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def epoch_seconds(stamps: list[float]) -> list[float]:
    """Seconds between consecutive time stamps: [start, end of epoch 1, ...] -> per epoch."""
    return [b - a for a, b in itertools.pairwise(stamps)]


def run_babysit(epochs: int, threads: int) -> dict:
    import numpy as np
    from threadpoolctl import threadpool_limits

    import babysit as bs
    from babysit.training.trainer import Callback

    after_imports = resident_mib()
    data = bs.data.load("mnist")
    after_load = resident_mib()

    class EpochTimes(Callback):
        def __init__(self):
            self.stamps = []

        def on_epoch_end(self, trainer, epoch):
            self.stamps.append(time.perf_counter())

    net = bs.mlp(784, list(HIDDEN), 10, activation="relu", init="he", seed=0)
    times = EpochTimes()
    trainer = bs.Trainer(net, bs.losses.SoftmaxCrossEntropy(), bs.optim.Adam(lr=LR),
                         batch_size=BATCH, epochs=epochs, progress=False, callbacks=[times],
                         eval_max=EVAL_MAX)
    with threadpool_limits(threads):
        start = time.perf_counter()
        trainer.fit(data.train.X, data.train.y, val=data.val)
    stamps = [start] + times.stamps
    data_mib = sum(s.X.nbytes + s.y.nbytes for s in (data.train, data.val, data.test)) / MIB
    n_params = sum(p.value.size for p in net.parameters())
    activations = BATCH * (784 + 2 * sum(HIDDEN) + 10) * np.dtype(np.float32).itemsize / MIB
    return {"contender": "babysit", "after_imports": after_imports, "after_load": after_load,
            "peak": peak_mib(), "epoch_seconds": epoch_seconds(stamps),
            "val_accuracy": trainer.history.val_acc[-1], "data_mib": data_mib,
            "state_mib": 4 * n_params * 4 / MIB, "activations_mib": activations}


def run_pytorch(epochs: int, threads: int) -> dict:
    import torch
    from torch import nn

    import babysit as bs

    torch.set_num_threads(threads)
    after_imports = resident_mib()
    data = bs.data.load("mnist")
    after_load = resident_mib()
    X, y = torch.from_numpy(data.train.X), torch.from_numpy(data.train.y)
    Xv, yv = torch.from_numpy(data.val.X), torch.from_numpy(data.val.y)
    torch.manual_seed(0)
    widths = (784, *HIDDEN, 10)
    layers = []
    for n_in, n_out in itertools.pairwise(widths):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    net = nn.Sequential(*layers[:-1])
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    pick = torch.randperm(len(y))[:EVAL_MAX].sort().values
    Xe, ye = X[pick], y[pick]

    def accuracy(Xa, ya) -> float:
        with torch.no_grad():
            right = sum((net(Xa[i:i + EVAL_BATCH]).argmax(1) == ya[i:i + EVAL_BATCH]).sum().item()
                        for i in range(0, len(ya), EVAL_BATCH))
        return right / len(ya)

    stamps = [time.perf_counter()]
    for _ in range(epochs):
        order = torch.randperm(len(y))
        for start in range(0, len(y), BATCH):
            idx = order[start:start + BATCH]
            opt.zero_grad()
            loss = loss_fn(net(X[idx]), y[idx])
            loss.backward()
            opt.step()
            loss.item()
        accuracy(Xe, ye)
        val = accuracy(Xv, yv)
        stamps.append(time.perf_counter())
    return {"contender": "pytorch", "after_imports": after_imports, "after_load": after_load,
            "peak": peak_mib(), "epoch_seconds": epoch_seconds(stamps),
            "val_accuracy": val}


def import_baseline() -> float:
    """Peak resident memory of `python -c "import babysit"`, in MiB: the bound's baseline."""
    code = "import resource, babysit; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return int(out.stdout) / 1024


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--run", choices=("babysit", "pytorch"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.run:
        run = run_babysit if args.run == "babysit" else run_pytorch
        print(json.dumps(run(args.epochs, args.threads)))
        return
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"{args.threads} threads, {args.epochs} epochs, {args.repeats} runs each", flush=True)
    results = {"babysit": [], "pytorch": []}
    for repeat in range(args.repeats):
        order = ("babysit", "pytorch") if repeat % 2 == 0 else ("pytorch", "babysit")
        for name in order:
            out = subprocess.run([sys.executable, __file__, "--run", name, "--epochs",
                                  str(args.epochs), "--threads", str(args.threads)],
                                 capture_output=True, text=True, check=True)
            result = json.loads(out.stdout.strip().splitlines()[-1])
            results[name].append(result)
            print(f"  {name}: peak {result['peak']:.0f} MiB, epochs "
                  f"{', '.join(f'{s:.1f}' for s in result['epoch_seconds'])} s, "
                  f"val accuracy {result['val_accuracy']:.4f}", flush=True)
    baseline = import_baseline()
    print("\n| | after imports MiB | after loading MiB | peak MiB | s per epoch |")
    print("|---|---|---|---|---|")
    for name, runs in results.items():
        seconds = [s for r in runs for s in r["epoch_seconds"]]
        print(f"| {name} | {statistics.median(r['after_imports'] for r in runs):.0f} | "
              f"{statistics.median(r['after_load'] for r in runs):.0f} | "
              f"{statistics.median(r['peak'] for r in runs):.0f} "
              f"({min(r['peak'] for r in runs):.0f}-{max(r['peak'] for r in runs):.0f}) | "
              f"{statistics.median(seconds):.1f} ({min(seconds):.1f}) |")
    b = results["babysit"][0]
    arrays = b["data_mib"] + b["state_mib"] + b["activations_mib"]
    print(f"\nbabysit's bound: 1.5 x ({b['data_mib']:.1f} data + {b['state_mib']:.1f} "
          f"parameters, gradients, Adam moments + {b['activations_mib']:.1f} activations) + "
          f"{baseline:.1f} (import babysit) = {1.5 * arrays + baseline:.0f} MiB")


if __name__ == "__main__":
    main()
