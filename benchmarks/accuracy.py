"""Accuracy against published figures: MNIST and Fashion-MNIST, offline.

Trains the Dropout paper's fully-connected MNIST rows (Srivastava et al. 2014, JMLR,
Table 2: 3x1024 ReLU units with dropout, 1.25% test error; with dropout and max-norm,
1.06%) and the same network on Fashion-MNIST (scikit-learn's MLPClassifier 87.1% and
SVC 89.7% in the Fashion-MNIST paper's table), each also evaluated with a running
average of its parameters. The same MLP in PyTorch on the CPU, with the same epochs,
batches, optimizer, schedule and constraint, is the time and accuracy peer.

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
from pathlib import Path

import numpy as np

import babysit as bs
from babysit.layers import Dropout, Linear, ReLU, Sequential
from babysit.train import accuracy as raw_accuracy

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
RESULTS = HERE / "accuracy.json"
START, END = "<!-- accuracy:start -->", "<!-- accuracy:end -->"

PAPER = {
    ("mnist", "dropout"): ("Dropout paper, 3x1024 ReLU + dropout", 1.25),
    ("mnist", "dropout+maxnorm"): ("Dropout paper, 3x1024 ReLU + dropout + max-norm", 1.06),
    ("fashion-mnist", "dropout+maxnorm"): ("Fashion-MNIST paper: MLPClassifier 87.1%, SVC 89.7%",
                                           100 - 89.7),
}


def dropout_mlp(seed: int, width: int = 1024, depth: int = 3, drop_in: float = 0.2,
                drop_hidden: float = 0.5) -> Sequential:
    """The paper's network: dropout on the input (p=0.2) and on each hidden layer (p=0.5)."""
    rng = np.random.default_rng(seed)
    layers = [Dropout(drop_in, seed=rng.spawn(1)[0])]
    n_in = 784
    for _ in range(depth):
        layers += [Linear(n_in, width, init="he", seed=rng), ReLU(),
                   Dropout(drop_hidden, seed=rng.spawn(1)[0])]
        n_in = width
    layers.append(Linear(n_in, 10, init="he", seed=rng))
    return Sequential(*layers)


def schedule(lr: float, epochs: int, iters_per_epoch: int, final_fraction: float):
    """Exponential decay from lr to lr * final_fraction over the whole run."""
    k = -math.log(final_fraction) / (epochs * iters_per_epoch)
    return bs.optim.ExponentialDecay(lr, k)


def train_babysit(data, variant: str, args) -> dict:
    ipe = math.ceil(len(data.train.y) / args.batch_size)
    net = dropout_mlp(args.seed)
    constraints = [bs.regularizers.MaxNorm(args.max_norm)] if "maxnorm" in variant else []
    opt = bs.optim.Adam(schedule(args.lr, args.epochs, ipe, args.final_lr_fraction))
    trainer = bs.Trainer(net, bs.losses.SoftmaxCrossEntropy(), opt, constraints=constraints,
                         batch_size=args.batch_size, epochs=args.epochs, seed=args.seed,
                         average=args.average, progress=None)
    start = time.perf_counter()
    trainer.fit(data.train.X, data.train.y, val=data.val)
    seconds = time.perf_counter() - start
    return {
        "test_error": 100 * (1 - raw_accuracy(net, *data.test)),
        "test_error_averaged": 100 * (1 - trainer.accuracy(*data.test)),
        "val_accuracy_per_epoch": trainer.history.val_acc,
        "seconds": seconds,
    }


def train_torch(data, variant: str, args) -> dict:
    """The same network, optimizer, schedule, constraint, epochs and batches in PyTorch."""
    import torch
    from torch import nn

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    widths = [784, 1024, 1024, 1024]
    modules: list[nn.Module] = [nn.Dropout(0.2)]
    for a, b in zip(widths[:-1], widths[1:], strict=True):
        lin = nn.Linear(a, b)
        nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
        nn.init.zeros_(lin.bias)
        modules += [lin, nn.ReLU(), nn.Dropout(0.5)]
    head = nn.Linear(1024, 10)
    nn.init.kaiming_normal_(head.weight, nonlinearity="relu")
    nn.init.zeros_(head.bias)
    model = nn.Sequential(*modules, head)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    ipe = math.ceil(len(data.train.y) / args.batch_size)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = schedule(args.lr, args.epochs, ipe, args.final_lr_fraction)
    X = torch.from_numpy(np.ascontiguousarray(data.train.X))
    y = torch.from_numpy(data.train.y)
    rng = np.random.default_rng(args.seed)
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
            if "maxnorm" in variant:
                with torch.no_grad():
                    for lin in linears:  # each unit's incoming weights: a row of weight
                        lin.weight.copy_(torch.renorm(lin.weight, 2, 0, args.max_norm))
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(data.test.X)).argmax(1).numpy()
    return {"test_error": 100 * float((pred != data.test.y).mean()), "seconds": seconds}


def write_table(results: dict, args) -> str:
    lines = [
        f"Command: `{args.command}` ({platform.machine()}, {args.threads} threads, "
        f"{time.strftime('%Y-%m-%d')}). {args.epochs} epochs, batch {args.batch_size}, Adam "
        f"lr {args.lr:g} decayed exponentially to {args.final_lr_fraction:g}x, dropout 0.2 on "
        f"the input and 0.5 on each hidden layer of 3x1024 ReLU, max-norm c={args.max_norm:g} "
        f"where named, running average decay {args.average}. Total time "
        f"{results['total_seconds'] / 60:.1f} min.",
        "",
        "| data | model | published | babysit test error | with parameter averaging "
        "| babysit time | PyTorch test error | PyTorch time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in results["runs"]:
        source, published = PAPER[(run["data"], run["variant"])]
        torch_run = run.get("torch")
        torch_error = f"{torch_run['test_error']:.2f}%" if torch_run else "-"
        torch_time = f"{torch_run['seconds'] / 60:.1f} min" if torch_run else "-"
        lines.append(
            f"| {run['data']} | 3x1024 ReLU, {run['variant']} | {published:.2f}% ({source}) "
            f"| {run['test_error']:.2f}% | {run['test_error_averaged']:.2f}% "
            f"| {run['seconds'] / 60:.1f} min "
            f"| {torch_error} | {torch_time} |")
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


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--final-lr-fraction", type=float, default=0.01)
    p.add_argument("--max-norm", type=float, default=3.5)
    p.add_argument("--average", type=float, default=0.999)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch peer")
    p.add_argument("--limit", type=int, default=None,
                   help="train on this many examples only (a quick smoke run; no table)")
    args = p.parse_args(argv)
    args.command = "python benchmarks/accuracy.py " + " ".join(argv or [])
    from threadpoolctl import threadpool_limits

    plan = [("mnist", "dropout"), ("mnist", "dropout+maxnorm"),
            ("fashion-mnist", "dropout+maxnorm")]
    results = {"runs": []}
    start = time.perf_counter()
    with threadpool_limits(args.threads):
        for name, variant in plan:
            data = bs.data.load(name, seed=args.seed)
            if args.limit:
                data.train = bs.data.Split(data.train.X[:args.limit], data.train.y[:args.limit])
            run = {"data": name, "variant": variant, **train_babysit(data, variant, args)}
            if not args.no_torch and variant == "dropout+maxnorm":
                run["torch"] = train_torch(data, variant, args)
            print(json.dumps({k: v for k, v in run.items() if k != "val_accuracy_per_epoch"}),
                  flush=True)
            results["runs"].append(run)
    results["total_seconds"] = time.perf_counter() - start
    if args.limit:
        return
    RESULTS.write_text(json.dumps(results, indent=1))
    print(write_table(results, args))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
