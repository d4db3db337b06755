"""Which rate should the learning-rate range test suggest? A measurement.

    python benchmarks/lr_range.py              # digits and the spiral, SGD/Momentum/Adam, 3 seeds

Two rules are common for reading a rate off the range test's curve: the steepest descent of
the smoothed loss against log lr (fastai's old `lr_steep`), and the rate at the smoothed
loss's minimum divided by 10 (fastai's `lr_min`). For each smoothing of the loss (the
debiased moving average's beta), each rule, dataset, optimizer and seed, this runs the range
test (200 iterations, 1e-7 to 10, batches of 32) on a fresh network, trains that network for
30 epochs at the suggested rate and records the validation accuracy. The default run's rate
(SGD and Momentum 1e-2, Adam 1e-3) is trained too, as a reference. Prints a Markdown table
(mean and min over seeds) and the JSON lines it came from.

Data: the embedded digits (1078 train / 359 val, mean-centred on the training split; model
64-100-100-10 ReLU, He init, L2 1e-4) and the notes' spiral (3 classes of 300 points, 2-D,
split 60/20/20; model 2-100-100-3, same settings).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

import babysit as bs
from babysit.data.datasets import Dataset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from diagnosis import spiral  # noqa: E402  (the fault zoo's spiral, beside this file)

OPTIMIZERS = {"sgd": bs.optim.SGD, "momentum": bs.optim.Momentum, "adam": bs.optim.Adam}
DEFAULT_LR = {"sgd": 1e-2, "momentum": 1e-2, "adam": 1e-3}


def datasets() -> dict[str, Dataset]:
    return {"digits": bs.data.load("digits").preprocessed(bs.preprocess.MeanCenter()),
            "spiral": spiral()}


def val_accuracy(data: Dataset, optimizer: str, lr: float, seed: int, epochs: int) -> float:
    """30 epochs (by default) of the benchmark's model at rate `lr`: validation accuracy."""
    net = bs.mlp(data.n_features, [100, 100], data.n_classes, seed=seed)
    trainer = bs.Trainer(net, bs.losses.SoftmaxCrossEntropy(), OPTIMIZERS[optimizer](lr),
                         reg=bs.regularizers.L2(1e-4), batch_size=32, epochs=epochs, seed=seed,
                         progress=False)
    try:
        trainer.fit(*data.train, val=data.val)
    except bs.DivergedError:
        return 0.0
    return trainer.history.val_acc[-1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--smoothing", default="0.98,0.9", help="betas to compare")
    args = p.parse_args()
    start = time.perf_counter()
    rows = []
    for name, data in datasets().items():
        for optimizer in OPTIMIZERS:
            for seed in range(args.seeds):
                rows.append({"data": name, "optimizer": optimizer, "rule": "default",
                             "beta": None, "seed": seed, "lr": DEFAULT_LR[optimizer],
                             "val_acc": val_accuracy(data, optimizer, DEFAULT_LR[optimizer],
                                                     seed, args.epochs)})
                for beta in map(float, args.smoothing.split(",")):
                    net = bs.mlp(data.n_features, [100, 100], data.n_classes, seed=seed)
                    found = bs.check.lr_range(net, bs.losses.SoftmaxCrossEntropy(),
                                              *data.train, OPTIMIZERS[optimizer](),
                                              reg=bs.regularizers.L2(1e-4), smoothing=beta,
                                              seed=seed)
                    for rule, lr in (("steepest", found.steepest),
                                     ("min/10", found.min_over_10)):
                        acc = val_accuracy(data, optimizer, lr, seed, args.epochs) if lr else 0.0
                        rows.append({"data": name, "optimizer": optimizer, "rule": rule,
                                     "beta": beta, "seed": seed, "lr": lr, "val_acc": acc})
                        print(json.dumps(rows[-1]), flush=True)
    seconds = time.perf_counter() - start
    print(f"\n{platform.processor() or platform.machine()}, {seconds:.0f} s, "
          f"{args.seeds} seeds, {args.epochs} epochs\n")
    print("| data | optimizer | rule | beta | rate (median) | val acc mean | val acc min |")
    print("|---|---|---|---|---|---|---|")
    keys = sorted({(r["data"], r["optimizer"], r["rule"], r["beta"] or 0) for r in rows},
                  key=lambda k: (k[0], list(OPTIMIZERS).index(k[1]), k[2], -k[3]))
    for data, optimizer, rule, beta in keys:
        accs = [r["val_acc"] for r in rows if (r["data"], r["optimizer"], r["rule"],
                                               r["beta"] or 0) == (data, optimizer, rule, beta)]
        lrs = [r["lr"] for r in rows if (r["data"], r["optimizer"], r["rule"],
                                         r["beta"] or 0) == (data, optimizer, rule, beta)]
        print(f"| {data} | {optimizer} | {rule} | {beta or '-'} | {np.median(lrs):.2e} | "
              f"{np.mean(accs):.4f} | {min(accs):.4f} |")
    for beta in map(float, args.smoothing.split(",")):
        for rule in ("steepest", "min/10"):
            accs = [r["val_acc"] for r in rows if r["rule"] == rule and r["beta"] == beta]
            print(f"overall beta {beta} {rule}: mean val acc {np.mean(accs):.4f}")
    accs = [r["val_acc"] for r in rows if r["rule"] == "default"]
    print(f"overall default rates: mean val acc {np.mean(accs):.4f}")


if __name__ == "__main__":
    main()
