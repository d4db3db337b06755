"""Accuracy against published figures: MNIST and Fashion-MNIST, offline.

Trains the Dropout paper's fully-connected MNIST rows (Srivastava et al. 2014, JMLR,
Table 2: 3x1024 ReLU units with dropout, 1.25% test error; with dropout and max-norm,
1.06%) and the same network on Fashion-MNIST (scikit-learn's MLPClassifier 87.1% and
SVC 89.7% in the Fashion-MNIST paper's table). Each network is also evaluated with a running
average of its parameters, and the two MNIST networks together as an ensemble. The same MLP
in PyTorch on the CPU, with the same epochs, batches, optimizer, schedule and constraint, is
the time and accuracy peer of the max-norm rows.

The hyperparameters of each row were chosen on the 50,000/10,000 training/validation split
(`benchmarks/accuracy_sweep.py`, on a GPU); the runs here then train on all 60,000 training
images, as the paper did, and report the error on the 10,000 test images.

    make data && make bench-accuracy      # or: python benchmarks/accuracy.py [--epochs N]

Results go to benchmarks/accuracy.json and into the table between the accuracy markers
of benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import babysit as bs
from babysit.nn.layers import Dropout, Linear, ReLU, Sequential
from babysit.training.trainer import accuracy as raw_accuracy

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
RESULTS = HERE / "accuracy.json"
START, END = "<!-- accuracy:start -->", "<!-- accuracy:end -->"


@dataclass(frozen=True)
class Row:
    """One network to train: its data, dropout rates, max-norm bound and published figure."""

    data: str
    drop_in: float
    drop_hidden: float
    max_norm: float | None
    published: float
    source: str
    torch_peer: bool

    @property
    def name(self) -> str:
        norm = f", max-norm {self.max_norm:g}" if self.max_norm else ""
        return (f"3x1024 ReLU, dropout {self.drop_in:g} input / {self.drop_hidden:g} "
                f"hidden{norm}")


ROWS = [
    Row("mnist", 0.2, 0.5, None, 1.25, "Dropout paper, dropout", torch_peer=False),
    Row("mnist", 0.2, 0.5, 1.5, 1.06, "Dropout paper, dropout + max-norm", torch_peer=True),
    Row("fashion-mnist", 0.0, 0.2, 1.5, 100 - 89.7,
        "Fashion-MNIST paper: SVC 89.7%, MLPClassifier 87.1%", torch_peer=True),
]


def full_training_set(data) -> tuple[np.ndarray, np.ndarray]:
    """The 60,000 training images: the training split and the validation split carved from it."""
    return (np.concatenate([data.train.X, data.val.X]),
            np.concatenate([data.train.y, data.val.y]))


def dropout_mlp(row: Row, seed: int, width: int = 1024, depth: int = 3) -> Sequential:
    """The paper's network: dropout on the input and on each of `depth` ReLU layers."""
    rng = np.random.default_rng(seed)
    layers = [Dropout(row.drop_in, seed=rng.spawn(1)[0])] if row.drop_in else []
    n_in = 784
    for _ in range(depth):
        layers += [Linear(n_in, width, init="he", seed=rng), ReLU(),
                   Dropout(row.drop_hidden, seed=rng.spawn(1)[0])]
        n_in = width
    layers.append(Linear(n_in, 10, init="he", seed=rng))
    return Sequential(*layers)


def schedule(lr: float, epochs: int, iters_per_epoch: int, final_fraction: float):
    """Exponential decay from lr to lr * final_fraction over the whole run."""
    k = -math.log(final_fraction) / (epochs * iters_per_epoch)
    return bs.optim.ExponentialDecay(lr, k)


def units_at_bound(net: Sequential, c: float) -> float:
    """The fraction of units whose incoming weight vector has the max-norm bound's length,
    which says whether the constraint was doing anything at the end."""
    norms = [np.linalg.norm(p.value, axis=p.max_norm_axis) for p in net.parameters()
             if p.max_norm_axis is not None]
    norms = np.concatenate(norms)
    return float((norms >= c * (1 - 1e-4)).mean())


def train_babysit(row: Row, X, y, test, seed: int, args) -> tuple[dict, bs.Trainer]:
    ipe = math.ceil(len(y) / args.batch_size)
    net = dropout_mlp(row, seed)
    constraints = [bs.regularizers.MaxNorm(row.max_norm)] if row.max_norm else []
    opt = bs.optim.Adam(schedule(args.lr, args.epochs, ipe, args.final_lr_fraction))
    trainer = bs.Trainer(net, bs.losses.SoftmaxCrossEntropy(), opt, constraints=constraints,
                         batch_size=args.batch_size, epochs=args.epochs, seed=seed,
                         average=args.average, progress=None)
    start = time.perf_counter()
    trainer.fit(X, y)
    seconds = time.perf_counter() - start
    result = {
        "test_error": 100 * (1 - raw_accuracy(net, *test)),
        "test_error_averaged": 100 * (1 - trainer.accuracy(*test)),
        "train_accuracy_per_epoch": trainer.history.train_acc,
        "seconds": seconds,
    }
    if row.max_norm:
        result["units_at_max_norm"] = units_at_bound(net, row.max_norm)
    return result, trainer


def train_torch(row: Row, X, y, test, seed: int, args) -> dict:
    """The same network, optimizer, schedule, constraint, epochs and batches in PyTorch."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    torch.set_num_threads(args.threads)
    widths = [784, 1024, 1024, 1024]
    modules: list[nn.Module] = [nn.Dropout(row.drop_in)] if row.drop_in else []
    for a, b in zip(widths[:-1], widths[1:], strict=True):
        lin = nn.Linear(a, b)
        nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
        nn.init.zeros_(lin.bias)
        modules += [lin, nn.ReLU(), nn.Dropout(row.drop_hidden)]
    head = nn.Linear(1024, 10)
    nn.init.kaiming_normal_(head.weight, nonlinearity="relu")
    nn.init.zeros_(head.bias)
    model = nn.Sequential(*modules, head)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    ipe = math.ceil(len(y) / args.batch_size)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = schedule(args.lr, args.epochs, ipe, args.final_lr_fraction)
    X, y = torch.from_numpy(np.ascontiguousarray(X)), torch.from_numpy(y)
    rng = np.random.default_rng(seed)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    step = 0
    for _ in range(args.epochs):
        model.train()
        order = torch.from_numpy(rng.permutation(len(y)))
        Xs, ys = X[order], y[order]
        for i in range(0, len(ys), args.batch_size):
            for group in opt.param_groups:
                group["lr"] = sched(step)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xs[i:i + args.batch_size]), ys[i:i + args.batch_size])
            loss.backward()
            opt.step()
            step += 1
            if row.max_norm:
                with torch.no_grad():
                    for lin in linears:  # each unit's incoming weights: a row of weight
                        lin.weight.copy_(torch.renorm(lin.weight, 2, 0, row.max_norm))
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(test.X)).argmax(1).numpy()
    return {"test_error": 100 * float((pred != test.y).mean()), "seconds": seconds}


def write_table(results: dict, args) -> str:
    lines = [
        f"Command: `{args.command}` ({platform.machine()}, {args.threads} threads, "
        f"{time.strftime('%Y-%m-%d')}). Trained on all 60,000 training images for "
        f"{args.epochs} epochs, batch {args.batch_size}, Adam lr {args.lr:g} decayed "
        f"exponentially to {args.final_lr_fraction:g}x, He init; test error on the 10,000 test "
        f"images; parameter averaging with decay {args.average}. Total time "
        f"{results['total_seconds'] / 60:.1f} min.",
        "",
        "| data | model | published | babysit test error | with parameter averaging "
        "| babysit time | PyTorch test error | PyTorch time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in results["runs"]:
        peer = run.get("torch")
        peer_error = f"{peer['test_error']:.2f}%" if peer else "-"
        peer_time = f"{peer['seconds'] / 60:.1f} min" if peer else "-"
        at_bound = (f" ({100 * run['units_at_max_norm']:.0f}% of units at the bound)"
                    if "units_at_max_norm" in run else "")
        lines.append(
            f"| {run['data']} | {run['model']}{at_bound} | {run['published']:.2f}% "
            f"({run['source']}) | {run['test_error']:.2f}% | {run['test_error_averaged']:.2f}% "
            f"| {run['seconds'] / 60:.1f} min | {peer_error} | {peer_time} |")
    ens = results.get("ensemble")
    if ens:
        lines.append(
            f"| mnist | ensemble of the two MNIST networks above (probabilities averaged) "
            f"| 1.06% (Dropout paper, best of these rows) | {ens['test_error']:.2f}% "
            f"| {ens['test_error_averaged']:.2f}% | - | - | - |")
    table = "\n".join(lines)
    text = README.read_text() if README.exists() else "# Benchmarks\n"
    block = f"{START}\n{table}\n{END}"
    if START in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text,
                      flags=re.S)
    else:
        text += f"\n## Accuracy: MNIST and Fashion-MNIST\n\n{block}\n"
    README.write_text(text)
    return table


def ensemble_errors(trainers: list[bs.Trainer], test) -> dict:
    """Test error (%) of the members' mean probabilities: trained weights, then averaged ones."""
    raw = bs.ensemble.Ensemble([t.net for t in trainers])
    averaged = bs.ensemble.Ensemble(trainers)  # a Trainer predicts with its averaged weights
    return {"test_error": 100 * (1 - raw.accuracy(*test)),
            "test_error_averaged": 100 * (1 - averaged.accuracy(*test))}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--final-lr-fraction", type=float, default=0.01)
    p.add_argument("--average", type=float, default=0.999)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch peer")
    p.add_argument("--limit", type=int, default=None,
                   help="train on this many examples only (a quick smoke run; no table)")
    args = p.parse_args(argv)
    args.command = (" ".join(["python benchmarks/accuracy.py", *argv]) if argv else
                    "make data && make bench-accuracy")
    from threadpoolctl import threadpool_limits

    results = {"runs": []}
    mnist_trainers, mnist_test = [], None
    start = time.perf_counter()
    with threadpool_limits(args.threads):
        for i, row in enumerate(ROWS):
            seed = args.seed + i  # the two MNIST networks differ, so that they can ensemble
            data = bs.data.load(row.data, seed=args.seed)
            X, y = full_training_set(data)
            if args.limit:
                X, y = X[:args.limit], y[:args.limit]
            result, trainer = train_babysit(row, X, y, data.test, seed, args)
            run = {"data": row.data, "seed": seed, "model": row.name, "published": row.published,
                   "source": row.source, **result}
            if row.data == "mnist":
                mnist_trainers.append(trainer)
                mnist_test = data.test
            if row.torch_peer and not args.no_torch:
                run["torch"] = train_torch(row, X, y, data.test, seed, args)
            print(json.dumps({k: v for k, v in run.items() if k != "train_accuracy_per_epoch"}),
                  flush=True)
            results["runs"].append(run)
        if len(mnist_trainers) > 1:
            results["ensemble"] = ensemble_errors(mnist_trainers, mnist_test)
            print(json.dumps({"ensemble": results["ensemble"]}), flush=True)
    results["total_seconds"] = time.perf_counter() - start
    if args.limit:
        return
    RESULTS.write_text(json.dumps(results, indent=1))
    print(write_table(results, args))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
