"""Is "inputs not scaled" true on row 30's fix? The fixed program as posted against the same
program with standardized inputs, over several seeds, on a large held-out sample.

Row 30 (post 50481178) trains a Dense 10-20-30-40-50 ReLU network with a 2-way softmax on
`make_multilabel_classification(n_features=4, n_classes=1, random_state=0)`: word counts with
means 10-15 and standard deviations 3.5-4 (a feature's mean is 3.6 of its standard deviations
from 0). babysit warns "inputs not scaled" on the fix, which reaches 0.8125 on the port's 80
validation rows; 80 rows cannot tell 0.81 from 0.84. This script can:

- the generator draws its distribution (class priors, each class's word probabilities) first
  and then the rows one by one, so `n_samples=50000` with the same `random_state` gives the
  port's 1000 rows first and 49000 fresh rows of the same distribution after them (checked:
  the first 1000 are identical; the class balance and feature means are printed). The port
  keeps rows 0-799 and splits them 720/80; rows 1000+ are the held-out set here;
- per seed s: the 720/80 split drawn by `default_rng(s)` (s = 8 is the port's own split) and
  `torch.manual_seed(s)` for the Glorot init and the batch order; both variants get the same
  seed, so the comparison is paired;
- the variants: the fix as posted (raw counts) and the fix with each feature standardized by
  its training rows' mean and standard deviation (the warning's advice), same network, Adam
  0.001, batch 10, the port's 20 epochs (and, with --epochs 50, the post's own 50);
- per run: held-out accuracy, the fraction of hidden ReLUs that output 0 on every training
  row at init, and the first loss (the training rows' mean cross-entropy at init) over the
  chance loss ln 2;
- references for what the data allows: the Bayes rule (the generator's own distributions: the
  counts are independent Poissons per class, so the log-likelihood ratio is linear in them),
  a logistic regression and a gradient-boosted classifier on the same training rows.

    PYTHONPATH=src python benchmarks/realbugs/row30_scaling.py --seeds 10
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from realbugs.cases import _glorot, _r30_binary_sigmoid, _split  # noqa: E402

torch.set_num_threads(1)

N_HELD_OUT = 49_000


def _data():
    """The port's 800 rows (the generator's first, as the port keeps them), 49000 held-out
    rows of the same distribution, and the distribution itself (p_c, p_w_c)."""
    from sklearn.datasets import make_multilabel_classification
    X, Y, p_c, p_w_c = make_multilabel_classification(
        n_samples=1000 + N_HELD_OUT, n_features=4, n_classes=1, random_state=0,
        return_distributions=True)
    small, _ = make_multilabel_classification(n_samples=1000, n_features=4, n_classes=1,
                                              random_state=0)
    if not np.array_equal(small, X[:1000]):
        raise RuntimeError("a larger n_samples changed the first 1000 rows: the held-out rows "
                           "would not be the port's distribution")
    y = Y[:, 0].astype(np.int64)
    return X[:800], y[:800], X[1000:], y[1000:], p_w_c[:, 0]


def _bayes(X, p_w):
    """The Bayes rule's labels: a positive row's words are drawn from `p_w`, a negative
    (unlabelled) row's uniformly from the 4 features; with a Poisson length both give
    independent Poisson counts (rates 50 p_w and 50/4), so the log-likelihood ratio is
    x . log(4 p_w) (the rates' sums are equal) plus the prior's log(2/1) (P(1 label) is
    2 e^-2 and P(0) is e^-2 when at most one is kept)."""
    return (X @ np.log(4 * p_w) + math.log(2.0) > 0).astype(np.int64)


def _network(template: nn.Module, seed: int) -> nn.Module:
    """A fresh copy of the fix's network with the Glorot init of `seed`."""
    model = type(template)(*(type(m)(m.in_features, m.out_features) if isinstance(m, nn.Linear)
                             else type(m)() for m in template))
    torch.manual_seed(seed)
    _glorot(model)
    return model


def _dead_at_init(model: nn.Module, X: torch.Tensor) -> float:
    """Fraction of hidden ReLU units that output 0 on every row of X."""
    dead, total, h = 0, 0, X
    with torch.no_grad():
        for m in model:
            h = m(h)
            if isinstance(m, nn.ReLU):
                dead += int((h.amax(0) == 0).sum())
                total += h.shape[1]
    return dead / total


def run(template, X, y, X_test, y_test, seed: int, scaled: bool, epochs: int) -> dict:
    """Train the fix (or its standardized twin) as the port does; held-out accuracy etc."""
    X_tr, y_tr, _, _ = _split(X, y, 80, np.random.default_rng(seed))
    if scaled:
        mean, std = X_tr.mean(0), X_tr.std(0)
        X_tr, X_test = (X_tr - mean) / std, (X_test - mean) / std
    Xt, yt = torch.as_tensor(X_tr, dtype=torch.float32), torch.as_tensor(y_tr)
    model = _network(template, seed)
    loss_fn = nn.CrossEntropyLoss()
    with torch.no_grad():
        first = float(loss_fn(model(Xt), yt)) / math.log(2)
    dead = _dead_at_init(model, Xt)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(epochs):
        order = torch.randperm(len(Xt))
        for start in range(0, len(Xt), 10):
            rows = order[start:start + 10]
            opt.zero_grad()
            loss_fn(model(Xt[rows]), yt[rows]).backward()
            opt.step()
    with torch.no_grad():
        predicted = model(torch.as_tensor(X_test, dtype=torch.float32)).argmax(1).numpy()
        final = float(loss_fn(model(Xt), yt))
    return {"acc": float((predicted == y_test).mean()), "dead": dead, "first": first,
            "final": final}


def _references(X, y, X_test, y_test, seeds):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    out = {"logistic (standardized)": [], "gradient boosting": []}
    for seed in seeds:
        X_tr, y_tr, _, _ = _split(X, y, 80, np.random.default_rng(seed))
        for name, model in (("logistic (standardized)",
                             make_pipeline(StandardScaler(), LogisticRegression())),
                            ("gradient boosting", HistGradientBoostingClassifier(random_state=0))):
            out[name].append(float((model.fit(X_tr, y_tr).predict(X_test) == y_test).mean()))
    return out


def _summary(values) -> str:
    a = np.asarray(values)
    return (f"{a.mean():.4f} +- {a.std(ddof=1):.4f} (min {a.min():.4f}, max {a.max():.4f})"
            if len(a) > 1 else f"{a[0]:.4f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=20, help="20: the port; 50: the post")
    args = parser.parse_args(argv)
    X, y, X_test, y_test, p_w = _data()
    port = _r30_binary_sigmoid(True)
    if not np.array_equal(port.X.numpy(), _split(X, y, 80, np.random.default_rng(8))[0]
                          .astype(np.float32)):
        raise RuntimeError("seed 8's split is not the port's: the data differs from cases.py")
    print(f"held-out {len(y_test)} rows: class 1 {y_test.mean():.3f} (port's 800: "
          f"{y.mean():.3f}); feature means {np.round(X_test.mean(0), 2)} (port's "
          f"{np.round(X.mean(0), 2)}); stds {np.round(X_test.std(0), 2)} (port's "
          f"{np.round(X.std(0), 2)})")
    print(f"Bayes rule (the generator's distributions) on the held-out rows: "
          f"{(_bayes(X_test, p_w) == y_test).mean():.4f}; majority class "
          f"{max(y_test.mean(), 1 - y_test.mean()):.4f}")
    seeds = range(args.seeds)
    rows = {False: [], True: []}
    t = time.perf_counter()
    for seed in seeds:
        for scaled in (False, True):
            rows[scaled].append(run(port.model, X, y, X_test, y_test, seed, scaled,
                                    args.epochs))
        print(f"seed {seed}: posted {rows[False][-1]['acc']:.4f}, standardized "
              f"{rows[True][-1]['acc']:.4f}", flush=True)
    print(f"\n{args.seeds} seeds, {args.epochs} epochs, {time.perf_counter() - t:.0f} s")
    for scaled, name in ((False, "fix as posted (raw counts)"), (True, "fix, standardized")):
        r = rows[scaled]
        print(f"{name:<28} held-out acc {_summary([x['acc'] for x in r])}; dead ReLUs at init "
              f"{_summary([x['dead'] for x in r])}; first loss / chance "
              f"{_summary([x['first'] for x in r])}; final train loss "
              f"{_summary([x['final'] for x in r])}")
    gain = np.array([b["acc"] - a["acc"] for a, b in zip(rows[False], rows[True], strict=True)])
    se = gain.std(ddof=1) / math.sqrt(len(gain))
    print(f"paired gain (standardized - posted): {gain.mean():+.4f}, standard error {se:.4f} "
          f"({gain.mean() / se:+.1f} se); standardized better on {(gain > 0).sum()} of "
          f"{len(gain)} seeds, worse on {(gain < 0).sum()}")
    for name, accs in _references(X, y, X_test, y_test, seeds).items():
        print(f"reference: {name:<24} held-out acc {_summary(accs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
