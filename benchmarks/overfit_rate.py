"""The overfit check's default rate (`babysit.check.sanity.OVERFIT_LR`), chosen on one half of
healthy networks and confirmed on the other.

`bs.check.sanity` trains a copy of the network on 20 examples, full batch, with Adam, and
passes it when the data loss falls below 1% of chance at 100% training accuracy within 500
steps (the notes: "make sure you can achieve zero cost"). Every network here can memorize 20
examples, so every failure is a false alarm; a network whose ReLUs are all dead (a bias of
-100) cannot, and must still fail.

- choice half: random N(0, 1) features with random labels (3 or 10 classes), 5, 64, 784
  and 3,072 inputs, hidden layers [20], [100], [512, 512] and 4 x [100], ReLU, tanh and
  sigmoid, with and without BatchNorm: 96 networks;
- confirmation half: standardized real features (digits, wine, breast cancer), hidden
  [10], [50], [200], [256, 256] and 3 x [64], the same three nonlinearities, other seeds:
  45 networks; and the dead network on digits, four seeds.

Printed: how many pass at each rate, and each failure (its steps, final loss, accuracy).

    PYTHONPATH=src .venv/bin/python benchmarks/overfit_rate.py

(about 3 minutes on a 2-core machine.)
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_wine

import babysit as bs
from babysit.check.sanity import OVERFIT

RATES = (1e-3, 3e-3, 1e-2)
ACTIVATIONS = ("relu", "tanh", "sigmoid")


def overfit(net, X, y, lr: float, seed: int = 0):
    return bs.check.sanity(net, bs.losses.SoftmaxCrossEntropy(), X, y,
                           overfit_opt=bs.optim.Adam(lr), seed=seed)[OVERFIT]


def tally(label: str, results: dict) -> None:
    for lr, passed in results.items():
        print(f"{label}, Adam({lr:g}): {sum(passed)} of {len(passed)} pass")


def choice_half() -> None:
    rng = np.random.default_rng(1)
    results = {lr: [] for lr in RATES}
    for n_in, n_classes in ((5, 3), (64, 10), (784, 10), (3072, 10)):
        X = rng.standard_normal((300, n_in)).astype(np.float32)
        y = rng.integers(0, n_classes, 300)
        for hidden in ([20], [100], [512, 512], [100] * 4):
            for activation in ACTIVATIONS:
                for batchnorm in (False, True):
                    for lr in RATES:
                        net = bs.mlp(n_in, hidden, n_classes, activation=activation,
                                     batchnorm=batchnorm)
                        check = overfit(net, X, y, lr)
                        results[lr].append(bool(check.passed))
                        if not check.passed:
                            print(f"  fails at {lr:g}: {n_in}-{hidden}-{n_classes} {activation}"
                                  f"{' batchnorm' if batchnorm else ''}: {check.message}")
    tally("choice half (random features, 96 networks)", results)


def real_features() -> dict:
    digits = load_digits()
    sets = {"digits": ((digits.data / 16 - 0.3).astype(np.float32), digits.target)}
    for name, loader in (("wine", load_wine), ("breast cancer", load_breast_cancer)):
        bunch = loader()
        X = (bunch.data - bunch.data.mean(0)) / bunch.data.std(0)
        sets[name] = (X.astype(np.float32), bunch.target)
    return sets


def confirmation_half() -> None:
    rng = np.random.default_rng(2)
    results = {lr: [] for lr in (RATES[0], RATES[-1])}
    sets = real_features()
    for name, (X, y) in sets.items():
        n_classes = int(y.max()) + 1
        for hidden in ([10], [50], [200], [256, 256], [64] * 3):
            for activation in ACTIVATIONS:
                for lr in results:
                    net = bs.mlp(X.shape[1], hidden, n_classes, activation=activation,
                                 seed=int(rng.integers(1000)))
                    check = overfit(net, X, y, lr, seed=int(rng.integers(1000)))
                    results[lr].append(bool(check.passed))
                    if not check.passed:
                        print(f"  fails at {lr:g}: {name} {hidden} {activation}: "
                              f"{check.message}")
    tally("confirmation half (digits, wine, breast cancer, 45 networks)", results)
    X, y = sets["digits"]
    for lr in results:
        dead = [overfit(bs.mlp(64, [100], 10, seed=seed, bias=-100.0), X, y, lr, seed).passed
                for seed in range(4)]
        print(f"all-dead ReLU network, Adam({lr:g}): {sum(map(bool, dead))} of 4 pass "
              f"(must be 0)")


if __name__ == "__main__":
    choice_half()
    confirmation_half()
