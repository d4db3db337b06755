"""Held-out runs for `history.diagnose()`: cases the rules were not tuned on.

The fault zoo (`benchmarks/diagnosis.py`) is what the rules were built against; these runs
plant the same kinds of fault (and none) in other shapes: other seeds, widths, depths (1 to 4
hidden layers), activations, optimizers, batch sizes, epochs, regularizers (L1, elastic net,
max-norm), dropout and BatchNorm, and two more tables (scikit-learn's wine and iris, written
as CSVs). A good share are healthy runs that are mildly imperfect (a little over-fitting,
short runs, small data), plus the command line's own defaults on each dataset, since a false
alarm on a healthy run is as bad as a miss. The verdict is the zoo's.

    python benchmarks/diagnosis_holdout.py             # every case: the table and the totals
    python benchmarks/diagnosis_holdout.py --only iris --verbose
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import diagnosis as zoo  # noqa: E402
from diagnosis import (  # noqa: E402
    Case,
    blank_inputs,
    first_bias,
    imbalanced,
    keep_few,
    one_class,
    random_labels,
    scaled,
    weights_times,
)

from babysit.data.datasets import Dataset  # noqa: E402
from babysit.runs.config import RunConfig  # noqa: E402


def _sklearn_csv(name: str) -> Dataset:
    """scikit-learn's `load_<name>()` table, its rows shuffled (the file is sorted by class, and
    a training split keeps the file's order), written as a CSV and read back, as a user's file."""
    import sklearn.datasets

    table = getattr(sklearn.datasets, f"load_{name}")()
    rows = np.random.default_rng(0).permutation(len(table.target))
    return zoo.read_back(table.data[rows], table.target[rows], name, "label")


# The zoo's datasets plus two more tables and a spiral of another seed and arm count.
zoo.DATASETS.update({"wine": functools.cache(lambda: _sklearn_csv("wine")),
                     "iris": functools.cache(lambda: _sklearn_csv("iris")),
                     "spiral4": lambda: zoo.spiral(points=200, classes=4, seed=7)})

# What `babysit train --data X` does when given nothing else (RunConfig's defaults).
CLI = {k: getattr(RunConfig(), k) for k in zoo.DEFAULTS}


def _cases() -> list[Case]:
    return [
        # -- the command line's defaults on each dataset: must be healthy
        Case("cli-defaults-digits", "digits", None, CLI),
        # (preprocess "auto" standardizes a table; the earlier default, "center", left raw
        # tables unscaled, which the diagnosis said.) The claims table is imbalanced by
        # construction (92% one class, a weak signal), as in the zoo.
        Case("cli-defaults-tabular", "tabular", None, CLI),
        Case("cli-defaults-claims", "claims", "class_imbalance", CLI),
        Case("cli-defaults-wine", "wine", None, CLI),
        Case("cli-old-defaults-wine-centred", "wine", "unscaled_inputs",
             {**CLI, "preprocess": "center"}),
        Case("cli-defaults-iris", "iris", None, CLI),
        # -- healthy, some mildly imperfect
        Case("healthy-wine-tanh-sgd-1layer", "wine", None,
             {"hidden": (16,), "activation": "tanh", "init": "xavier", "optimizer": "sgd",
              "lr": 0.05, "batch_size": 8, "epochs": 30, "seed": 3}),
        Case("healthy-iris-adam-short", "iris", None,
             {"hidden": (20,), "lr": 1e-2, "batch_size": 16, "epochs": 20, "seed": 1}),
        Case("healthy-digits-l1-rmsprop", "digits", None,
             {"hidden": (128, 64), "optimizer": "rmsprop", "lr": 1e-3, "reg": 1e-5,
              "reg_kind": "l1", "batch_size": 128, "epochs": 12, "seed": 5}),
        Case("healthy-digits-elastic-adagrad-3layers", "digits", None,
             {"hidden": (96, 64, 32), "optimizer": "adagrad", "lr": 0.02, "reg": 1e-5,
              "reg_kind": "elastic", "batch_size": 64, "epochs": 15, "seed": 2}),
        Case("healthy-digits-maxnorm-dropout-momentum", "digits", None,
             {"hidden": (200,), "dropout": 0.5, "max_norm": 3.0, "optimizer": "momentum",
              "lr": 0.02, "batch_size": 32, "epochs": 20, "seed": 4}),
        Case("healthy-digits-short-5-epochs", "digits", None,
             {"hidden": (50,), "epochs": 5, "batch_size": 256, "lr": 3e-3, "seed": 8}),
        Case("healthy-digits-small-data-300", "digits", None,
             {"hidden": (64,), "epochs": 30, "seed": 6}, transform=keep_few(300)),
        Case("healthy-spiral4-leaky-bn-nesterov", "spiral4", None,
             {"hidden": (64, 64), "activation": "leaky_relu", "batchnorm": True,
              "optimizer": "nesterov", "lr": 0.05, "batch_size": 32, "epochs": 40}),
        Case("healthy-tabular-bn-dropout-sgd-4layers", "tabular", None,
             {"hidden": (32, 32, 32, 32), "batchnorm": True, "dropout": 0.1,
              "optimizer": "sgd", "lr": 0.02, "batch_size": 16, "epochs": 25, "seed": 9}),
        Case("imbalance-claims-tanh-adam", "claims", "class_imbalance",
             {"hidden": (24,), "activation": "tanh", "init": "xavier", "epochs": 10,
              "batch_size": 64, "seed": 11}),
        Case("healthy-mnist-sigmoid-adam", "mnist", None,
             {"hidden": (128,), "activation": "sigmoid", "init": "xavier", "epochs": 6,
              "batch_size": 128, "preprocess": "center", "lr": 2e-3, "seed": 12}),
        # 30 examples of an easy table: 97% on validation, a gap of 3 points is no alarm
        Case("healthy-wine-30-examples", "wine", None,
             {"hidden": (256, 256), "reg": 0.0, "epochs": 40, "batch_size": 8},
             transform=keep_few(30)),
        Case("healthy-iris-sgd-5-epochs", "iris", None,
             {"hidden": (16,), "optimizer": "sgd", "lr": 0.02, "batch_size": 8, "epochs": 5,
              "seed": 4}),
        # sigmoid through 4 layers: 0.4% of the gradient reaches the first; Adam makes do,
        # but 20 epochs end at 89% train, 82% validation (healthy runs get 97%)
        Case("vanishing-digits-sigmoid-4layers-adam", "digits", "vanishing_gradients",
             {"hidden": (64,) * 4, "activation": "sigmoid", "init": "xavier", "epochs": 20,
              "batch_size": 32, "seed": 1}),
        Case("healthy-digits-sigmoid-4layers-rmsprop-40", "digits", None,
             {"hidden": (64,) * 4, "activation": "sigmoid", "init": "xavier",
              "optimizer": "rmsprop", "lr": 1e-3, "epochs": 40, "seed": 2}),
        Case("healthy-digits-tanh-3layers-momentum", "digits", None,
             {"hidden": (100, 64, 32), "activation": "tanh", "init": "xavier",
              "optimizer": "momentum", "lr": 0.01, "batch_size": 64, "epochs": 20, "seed": 2}),
        Case("healthy-wine-svm-adam", "wine", None,
             {"hidden": (32,), "loss": "svm", "epochs": 30, "batch_size": 16, "seed": 5}),
        Case("healthy-digits-batch-8-adam", "digits", None,
             {"hidden": (100,), "batch_size": 8, "epochs": 6, "seed": 3}),
        Case("healthy-digits-batch-256-momentum-40", "digits", None,
             {"hidden": (128, 128), "optimizer": "momentum", "lr": 0.05, "batch_size": 256,
              "epochs": 40, "seed": 10}),
        Case("healthy-iris-maxnorm-adagrad", "iris", None,
             {"hidden": (32, 32), "optimizer": "adagrad", "lr": 0.05, "max_norm": 2.0,
              "batch_size": 16, "epochs": 40, "seed": 6}),
        Case("healthy-wine-l1-rmsprop-dropout", "wine", None,
             {"hidden": (64,), "optimizer": "rmsprop", "lr": 1e-3, "reg": 1e-3,
              "reg_kind": "l1", "dropout": 0.3, "batch_size": 16, "epochs": 40, "seed": 7}),
        Case("healthy-spiral-tanh-3layers-nesterov", "spiral", None,
             {"hidden": (64, 64, 64), "activation": "tanh", "init": "xavier",
              "optimizer": "nesterov", "lr": 0.05, "batch_size": 32, "epochs": 40, "seed": 3}),
        Case("healthy-mnist-leaky-4layers-nesterov", "mnist", None,
             {"hidden": (128, 128, 64, 64), "activation": "leaky_relu", "optimizer": "nesterov",
              "lr": 0.02, "batch_size": 128, "epochs": 5, "preprocess": "center", "seed": 4}),
        Case("healthy-digits-lr-decay-nesterov-elastic", "digits", None,
             {"hidden": (128, 64), "optimizer": "nesterov", "lr": 0.05, "lr_decay": 1e-3,
              "reg": 1e-4, "reg_kind": "elastic", "batch_size": 16, "epochs": 10, "seed": 13}),
        Case("healthy-spiral-svm-adam", "spiral", None,
             {"hidden": (100,), "loss": "svm", "lr": 1e-2, "batch_size": 32, "epochs": 60,
              "seed": 14}),
        Case("healthy-mnist-2-epochs-adam", "mnist", None,
             {"hidden": (100,), "epochs": 2, "batch_size": 32, "preprocess": "center",
              "seed": 15}),
        Case("healthy-iris-sigmoid-adam", "iris", None,
             {"hidden": (10,), "activation": "sigmoid", "init": "xavier", "lr": 1e-2,
              "batch_size": 8, "epochs": 40, "seed": 16}),
        Case("healthy-wine-dropout-0.5-momentum", "wine", None,
             {"hidden": (128,), "dropout": 0.5, "optimizer": "momentum", "lr": 0.01,
              "batch_size": 16, "epochs": 30, "seed": 17}),
        Case("healthy-tabular-4layers-nesterov", "tabular", None,
             {"hidden": (64, 64, 32, 32), "optimizer": "nesterov", "lr": 0.01,
              "batch_size": 32, "epochs": 15, "seed": 18}),
        Case("healthy-spiral4-3layers-adam", "spiral4", None,
             {"hidden": (100, 100, 100), "lr": 3e-3, "batch_size": 32, "epochs": 30,
              "seed": 19}),
        Case("healthy-wine-tanh-2layers-10-epochs", "wine", None,
             {"hidden": (32, 32), "activation": "tanh", "init": "xavier",
              "optimizer": "momentum", "lr": 0.02, "batch_size": 32, "epochs": 10, "seed": 20}),
        Case("healthy-digits-batch-256-adam-10", "digits", None,
             {"hidden": (100,), "batch_size": 256, "lr": 3e-3, "epochs": 10, "seed": 21}),
        # small batches on well-fit data: the loss near zero wiggles, the run is fine
        Case("healthy-digits-batch-8-30-epochs", "digits", None,
             {"batch_size": 8, "epochs": 30, "seed": 3}),
        Case("healthy-iris-sgd-batch-4-100-epochs", "iris", None,
             {"hidden": (32,), "optimizer": "sgd", "lr": 0.05, "batch_size": 4, "epochs": 100,
              "seed": 3}),
        Case("healthy-tabular-batch-8-40-epochs", "tabular", None,
             {"hidden": (64,), "batch_size": 8, "epochs": 40, "seed": 3}),
        Case("healthy-wine-momentum-batch-8-60-epochs", "wine", None,
             {"hidden": (64, 64), "optimizer": "momentum", "lr": 0.01, "batch_size": 8,
              "epochs": 60, "seed": 3}),
        Case("healthy-spiral-sgd-batch-8", "spiral", None,
             {"hidden": (100,), "optimizer": "sgd", "lr": 0.1, "batch_size": 8, "epochs": 60,
              "seed": 3}),
        Case("healthy-digits-wide-unregularized", "digits", None,
             {"hidden": (256, 256), "reg": 0.0, "batch_size": 16, "epochs": 40, "seed": 4}),
        # -- faults
        Case("lr_too_low-mnist-adam-1e-6", "mnist", "lr_too_low",
             {"hidden": (100,), "lr": 1e-6, "epochs": 3, "preprocess": "center"}),
        Case("saturated-wine-tanh-x10", "wine", "saturated_units",
             {"hidden": (64, 64), "activation": "tanh", "init": "xavier", "epochs": 20,
              "batch_size": 16}, net_fault=weights_times(10.0)),
        Case("exploding-digits-4layers-x3-sgd", "digits", "exploding_gradients",
             {"hidden": (100,) * 4, "optimizer": "sgd", "lr": 1e-4, "epochs": 5},
             net_fault=weights_times(3.0)),
        Case("imbalance-iris-90", "iris", "class_imbalance",
             {"hidden": (16,), "epochs": 20, "batch_size": 8}, transform=imbalanced(0.9)),
        # 3 tanh units for 10 classes: saturate as they must, 70% train and 66% validation
        Case("underfitting-digits-tanh-3-units", "digits", "underfitting",
             {"hidden": (3,), "activation": "tanh", "init": "xavier", "lr": 1e-2,
              "epochs": 30}),
        Case("bad_initial_loss-iris-last-x30-sgd", "iris", "bad_initial_loss",
             {"hidden": (32,), "optimizer": "sgd", "lr": 0.01, "epochs": 30, "batch_size": 8},
             net_fault=weights_times(30.0, "last")),
        Case("reg_too_strong-iris-l2-5", "iris", "reg_too_strong",
             {"hidden": (32,), "reg": 5.0, "epochs": 40, "batch_size": 8}),
        Case("unscaled-digits-x0.0001", "digits", "unscaled_inputs",
             {"preprocess": "none", "epochs": 10}, transform=scaled(1e-4)),
        Case("vanishing-spiral4-sigmoid-small-adam", "spiral4", "vanishing_gradients",
             {"hidden": (50,) * 4, "activation": "sigmoid", "init": "small", "epochs": 20}),
        Case("single_class-iris", "iris", "single_class", {"epochs": 10}, transform=one_class),
        # batch 1 at lr 0.1 learns iris within a few examples: the first losses are below chance
        Case("noisy-iris-batch-1-sgd", "iris", "noisy_loss",
             {"optimizer": "sgd", "lr": 0.1, "batch_size": 1, "epochs": 5}),
        Case("collapsed-iris-blank-inputs", "iris", "collapsed_predictions",
             {"epochs": 10, "batch_size": 8}, transform=blank_inputs),
        Case("lr_too_high-tabular-adagrad", "tabular", "lr_too_high",
             {"hidden": (64, 64), "optimizer": "adagrad", "lr": 2.0, "epochs": 20}),
        Case("dead-tabular-bias-10-4layers", "tabular", "dead_units",
             {"hidden": (32,) * 4, "epochs": 15}, net_fault=first_bias(-10.0)),
        Case("lr_too_high-spiral4-adam", "spiral4", "lr_too_high",
             {"hidden": (100, 100), "lr": 0.1, "batch_size": 16, "epochs": 30}),
        Case("vanishing-digits-tanh-small-4", "digits", "vanishing_gradients",
             {"hidden": (64,) * 4, "activation": "tanh", "init": "small", "optimizer": "sgd",
              "lr": 0.05, "epochs": 10}),
        Case("reg_too_strong-digits-l1", "digits", "reg_too_strong",
             {"hidden": (100,), "reg": 0.05, "reg_kind": "l1", "epochs": 15, "seed": 3}),
        Case("imbalance-wine-95", "wine", "class_imbalance",
             {"hidden": (32,), "epochs": 20, "batch_size": 16}, transform=imbalanced(0.95)),
        Case("memorizing-iris-random-labels", "iris", "memorizing_noise",
             {"hidden": (256, 256), "reg": 0.0, "lr": 3e-3, "epochs": 200, "batch_size": 16},
             transform=random_labels),
        Case("noisy-digits-batch-2-adam", "digits", "noisy_loss",
             {"lr": 1e-2, "batch_size": 2, "epochs": 2, "seed": 8}),
        Case("unscaled-digits-shift-50", "digits", "unscaled_inputs",
             {"preprocess": "none", "epochs": 10, "seed": 6}, transform=scaled(1.0, 50.0)),
        Case("lr_too_high-wine-sgd", "wine", "lr_too_high",
             {"hidden": (32, 32), "optimizer": "sgd", "lr": 1.5, "batch_size": 16,
              "epochs": 30, "seed": 3}),
        Case("lr_too_high-digits-rmsprop", "digits", "lr_too_high",
             {"hidden": (128, 128, 128), "optimizer": "rmsprop", "lr": 0.05, "epochs": 10,
              "seed": 7}),
        # blows up to ~1e30 but stays finite: too high a rate, not (yet) NaN
        Case("exploded-iris-nesterov", "iris", "lr_too_high",
             {"hidden": (32, 32), "optimizer": "nesterov", "lr": 50.0, "batch_size": 8,
              "epochs": 10}),
        Case("lr_too_low-wine-adagrad", "wine", "lr_too_low",
             {"hidden": (32,), "optimizer": "adagrad", "lr": 1e-6, "epochs": 30}),
        Case("lr_too_low-digits-nesterov-tanh", "digits", "lr_too_low",
             {"hidden": (64, 64), "activation": "tanh", "init": "xavier",
              "optimizer": "nesterov", "lr": 1e-6, "batch_size": 128, "epochs": 10}),
        Case("vanishing-wine-sigmoid-small-4", "wine", "vanishing_gradients",
             {"hidden": (40,) * 4, "activation": "sigmoid", "init": "small",
              "optimizer": "momentum", "lr": 0.01, "epochs": 30, "batch_size": 16}),
        Case("exploding-iris-deep-relu", "iris", "exploding_gradients",
             {"hidden": (64,) * 4, "lr": 1e-4, "epochs": 20, "batch_size": 16},
             net_fault=weights_times(3.0)),
        Case("dead-wine-bias-10", "wine", "dead_units",
             {"hidden": (64, 32), "epochs": 30, "batch_size": 16}, net_fault=first_bias(-10.0)),
        Case("saturated-iris-sigmoid-x10", "iris", "saturated_units",
             {"hidden": (32,), "activation": "sigmoid", "init": "xavier", "epochs": 30,
              "batch_size": 8}, net_fault=weights_times(10.0)),
        Case("bad_initial_loss-wine-last-x30", "wine", "bad_initial_loss",
             {"hidden": (64,), "epochs": 20, "batch_size": 16, "seed": 2},
             net_fault=weights_times(30.0, "last")),
        Case("reg_too_strong-wine-elastic", "wine", "reg_too_strong",
             {"hidden": (32,), "reg": 1.0, "reg_kind": "elastic", "epochs": 40,
              "batch_size": 16}),
        Case("reg_too_strong-digits-l2-sgd", "digits", "reg_too_strong",
             {"hidden": (64, 64), "optimizer": "sgd", "lr": 0.05, "reg": 0.5, "epochs": 15}),
        # (at lr 1e-2, then 3e-3, with batch 8 this run killed 84%, then 38%, of a ReLU layer
        # during training: the notes' sign of too high a rate, which the diagnosis put first)
        Case("overfitting-spiral4-40", "spiral4", "overfitting",
             {"hidden": (256, 256), "reg": 0.0, "epochs": 80, "batch_size": 8},
             transform=keep_few(40)),
        Case("overfitting-digits-150-tanh", "digits", "overfitting",
             {"hidden": (256,), "activation": "tanh", "init": "xavier", "reg": 0.0,
              "epochs": 40, "batch_size": 16, "seed": 3}, transform=keep_few(150)),
        Case("underfitting-spiral4-linear", "spiral4", "underfitting",
             {"hidden": (), "lr": 1e-2, "epochs": 40}),
        Case("unscaled-wine-raw", "wine", "unscaled_inputs",
             {"hidden": (32,), "preprocess": "none", "epochs": 30, "batch_size": 16}),
        Case("unscaled-iris-x1000", "iris", "unscaled_inputs",
             {"hidden": (32,), "preprocess": "none", "epochs": 20, "batch_size": 16},
             transform=scaled(1000.0)),
        Case("noisy-wine-batch-1", "wine", "noisy_loss",
             {"optimizer": "sgd", "lr": 0.05, "batch_size": 1, "epochs": 5}),
        Case("memorizing-wine-random-labels", "wine", "memorizing_noise",
             {"hidden": (256, 256), "reg": 0.0, "lr": 3e-3, "epochs": 40, "batch_size": 8},
             transform=random_labels),
        Case("memorizing-digits-random-labels-sgd", "digits", "memorizing_noise",
             {"hidden": (512,), "reg": 0.0, "optimizer": "momentum", "lr": 0.05,
              "epochs": 30, "batch_size": 32, "seed": 5}, transform=random_labels),
        Case("collapsed-wine-blank-inputs", "wine", "collapsed_predictions",
             {"epochs": 10, "batch_size": 16}, transform=blank_inputs),
        Case("imbalance-digits-90", "digits", "class_imbalance",
             {"hidden": (32,), "epochs": 10, "seed": 2}, transform=imbalanced(0.9)),
        Case("single_class-wine", "wine", "single_class", {"epochs": 10},
             transform=one_class),
    ]


CASES: list[Case] = _cases()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="only cases whose name contains this text")
    parser.add_argument("--verbose", action="store_true", help="print every finding")
    args = parser.parse_args(argv)
    cases = [c for c in CASES if not args.only or args.only in c.name]
    return 0 if zoo.run_table(cases, args.verbose, width=44) else 1


if __name__ == "__main__":
    sys.exit(main())
