"""Confirmation runs for four rules chosen on outside testers' loops: each rule is tried on
variants that were never used to choose it, faulty ones that it must name and healthy ones
on which it (and every other rule) must stay quiet.

The rules were chosen on the plain PyTorch loops that outside testers wrote in session 13
without reading babysit's rules (torch_loops.py, their "tune" half); these variants, from the
same session, check each rule on loops not used to choose it, so every one is "confirm".
One section per rule:

- acc: accuracy_contradicts_loss (chosen on acc_max_values): a (N, 1) label column broadcast
  against (N,) predictions, on wine and on digits; two loops whose accuracy is right, one
  with dropout, one with BCE on one output;
- lr: lr_decayed_too_fast's millionth-before-the-last-tenth clause (chosen on
  plateau_mode_max): an exponential decay of 0.3 an epoch; one-cycle and cosine schedules,
  which end near 0 only at their end;
- range: output_range read from the first loss (chosen on sigmoid_regression): a tanh on
  targets 0..30; a sigmoid on proportions in [0, 1] and a linear output on the same 0..30;
- reset: model_reset_each_epoch (chosen on reinit_each_epoch, digits + SGD): wine and breast
  cancer with Adam and reset_parameters() every epoch; SGDR restarting the rate every epoch,
  and a plain loop.

Verdicts: verdicts.py.

    PYTHONPATH=src .venv/bin/python benchmarks/outside/confirm.py [--only SECTION_OR_NAME] [-v]

(needs the `torch` extra and scikit-learn; about 8 s of one core).
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable, Collection
from dataclasses import dataclass

import torch
from loop_data import breast_cancer, digits, wine
from sklearn.datasets import load_breast_cancer, load_wine, make_regression
from torch import nn
from torch.optim import lr_scheduler
from verdicts import Row, outcome, report, top3, verdict

from babysit import History
from babysit.torch import watch

torch.set_num_threads(1)


def _closed(sitter) -> History:
    """The closed sitter's history."""
    sitter.close()
    return sitter.history


# -- acc: accuracy_contradicts_loss ---------------------------------------------------------

def broadcast(out, y):
    """The bug: (N,) predictions against an (N, 1) column, an N x N comparison."""
    return (out.argmax(1) == y.view(-1, 1)).float().mean().item()


def right(out, y):
    return (out.argmax(1) == y).float().mean().item()


def right_bce(out, y):
    return ((out.squeeze(1) > 0).long() == y).float().mean().item()


def acc_loop(X, y, Xv, yv, hidden, classes, acc_fn, epochs=15, drop=0.0, bce=False):
    """One hidden layer, Adam 1e-3, batches of 32; the accuracies computed by `acc_fn`."""
    torch.manual_seed(0)
    layers = [nn.Linear(X.shape[1], hidden), nn.ReLU()]
    layers += [nn.Dropout(drop)] if drop else []
    model = nn.Sequential(*layers, nn.Linear(hidden, classes))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sitter = watch(model, opt)
    loss_fn = nn.BCEWithLogitsLoss() if bce else nn.CrossEntropyLoss()
    for _ in range(epochs):
        perm = torch.randperm(len(X))
        for i in range(0, len(X), 32):
            idx = perm[i:i + 32]
            opt.zero_grad()
            out = model(X[idx])
            loss = loss_fn(out.squeeze(1), y[idx].float()) if bce else loss_fn(out, y[idx])
            loss.backward()
            opt.step()
            sitter.log(loss)
        model.eval()
        with torch.no_grad():
            train_acc, val_acc = acc_fn(model(X), y), acc_fn(model(Xv), yv)
        model.train()
        sitter.end_epoch(train_acc=train_acc, val_acc=val_acc)
    return _closed(sitter)


# -- lr: lr_decayed_too_fast ----------------------------------------------------------------

LR_EPOCHS, LR_BATCH, LR_ROWS = 20, 32, 800


def lr_loop(make_sched, per_batch):
    """Four Gaussian blobs in 20 dimensions, SGD 0.05 with momentum under `make_sched`, stepped
    per batch or per epoch."""
    torch.manual_seed(0)
    centres = torch.randn(4, 20) * 1.5
    y = torch.arange(LR_ROWS) % 4
    X = centres[y] + torch.randn(LR_ROWS, 20)
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 4))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    sched = make_sched(opt)
    sitter = watch(model, opt)
    for _ in range(LR_EPOCHS):
        perm = torch.randperm(LR_ROWS)
        for i in range(0, LR_ROWS - LR_BATCH + 1, LR_BATCH):
            idx = perm[i:i + LR_BATCH]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
            loss.backward()
            opt.step()
            sitter.log(loss)
            if per_batch:
                sched.step()
        if not per_batch:
            sched.step()
        with torch.no_grad():
            train_acc = (model(X).argmax(1) == y).float().mean().item()
        sitter.end_epoch(train_acc=train_acc, val_acc=train_acc)
    return _closed(sitter)


LR_STEPS = LR_EPOCHS * (LR_ROWS // LR_BATCH)


# -- range: output_range --------------------------------------------------------------------

def range_loop(top, last):
    """make_regression's 600 rows, targets rescaled to 0..`top`, one hidden layer then the
    output layers `last`; MSE, Adam 1e-2, no accuracies."""
    X, y = make_regression(n_samples=600, n_features=10, noise=3.0, random_state=2)
    X = torch.tensor((X - X.mean(0)) / X.std(0), dtype=torch.float32)
    y = torch.tensor(y, dtype=torch.float32)
    y = top * (y - y.min()) / (y.max() - y.min())
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 1), *last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sitter = watch(model, opt)
    for _ in range(10):
        for i in range(0, 600, 32):
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(X[i:i + 32]).squeeze(1), y[i:i + 32])
            loss.backward()
            opt.step()
            sitter.log(loss)
        sitter.end_epoch()
    return _closed(sitter)


# -- reset: model_reset_each_epoch ----------------------------------------------------------

def whole_table(load):
    """A scikit-learn table standardized on all its rows, as tensors (no validation split)."""
    X, y = load(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    return torch.tensor(X, dtype=torch.float32), torch.tensor(y)


def reset_loop(load, classes, reset=False, sgdr=False, epochs=12, lr=1e-2):
    """One hidden layer, batches of 16; Adam, or SGD with momentum under SGDR restarting every
    epoch; `reset`: every Linear's reset_parameters() at the start of each epoch."""
    X, y = whole_table(load)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(X.shape[1], 32), nn.ReLU(), nn.Linear(32, classes))
    if sgdr:
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        steps = len(range(0, len(X), 16))
        restarts = lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=steps)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=lr)
    sitter = watch(model, opt)
    for _ in range(epochs):
        if reset:
            for m in model.modules():
                if isinstance(m, nn.Linear):
                    m.reset_parameters()
        perm = torch.randperm(len(X))
        for i in range(0, len(X), 16):
            idx = perm[i:i + 16]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
            loss.backward()
            opt.step()
            sitter.log(loss)
            if sgdr:
                restarts.step()
        with torch.no_grad():
            train_acc = (model(X).argmax(1) == y).float().mean().item()
        sitter.end_epoch(train_acc=train_acc, val_acc=train_acc)
    return _closed(sitter)


# -- the checks -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Check:
    """One variant: its section (the rule), a run returning the history, and what it is
    scored against."""

    section: str
    name: str
    run: Callable[[], History]
    planted: str
    accepted: Collection[str] | None        # None: a healthy loop


ACC, LR, RANGE, RESET = ({"accuracy_contradicts_loss"}, {"lr_decayed_too_fast"},
                         {"output_range"}, {"model_reset_each_epoch"})

CHECKS = [
    Check("acc", "broadcast_wine", lambda: acc_loop(*wine(), 32, 3, broadcast, epochs=40),
          "accuracy against an (N, 1) label column, wine", ACC),
    Check("acc", "broadcast_digits", lambda: acc_loop(*digits(), 64, 10, broadcast),
          "accuracy against an (N, 1) label column, digits", ACC),
    Check("acc", "healthy_dropout", lambda: acc_loop(*digits(), 64, 10, right, drop=0.5),
          "healthy: digits, dropout 0.5", None),
    Check("acc", "healthy_bce",
          lambda: acc_loop(*breast_cancer(yfloat=False), 32, 1, right_bce, bce=True),
          "healthy: breast cancer, BCE on one output", None),
    Check("lr", "exponential_0.3",
          lambda: lr_loop(lambda o: lr_scheduler.ExponentialLR(o, 0.3), False),
          "exponential decay of 0.3 an epoch", LR),
    Check("lr", "one_cycle",
          lambda: lr_loop(lambda o: lr_scheduler.OneCycleLR(o, 0.05, total_steps=LR_STEPS), True),
          "healthy: one-cycle", None),
    Check("lr", "cosine",
          lambda: lr_loop(lambda o: lr_scheduler.CosineAnnealingLR(o, LR_EPOCHS), False),
          "healthy: cosine per epoch", None),
    Check("lr", "cosine_per_batch",
          lambda: lr_loop(lambda o: lr_scheduler.CosineAnnealingLR(o, LR_STEPS), True),
          "healthy: cosine per batch", None),
    Check("range", "tanh_0_30", lambda: range_loop(30.0, [nn.Tanh()]),
          "tanh output for targets 0..30", RANGE),
    Check("range", "sigmoid_0_1", lambda: range_loop(1.0, [nn.Sigmoid()]),
          "healthy: sigmoid output for proportions in [0, 1]", None),
    Check("range", "linear_0_30", lambda: range_loop(30.0, []),
          "healthy: linear output for targets 0..30", None),
    Check("reset", "wine_reset", lambda: reset_loop(load_wine, 3, reset=True, lr=3e-3),
          "reset_parameters() every epoch, wine, Adam", RESET),
    Check("reset", "cancer_reset",
          lambda: reset_loop(load_breast_cancer, 2, reset=True, lr=3e-3),
          "reset_parameters() every epoch, breast cancer, Adam", RESET),
    Check("reset", "wine_sgdr", lambda: reset_loop(load_wine, 3, sgdr=True, lr=0.05),
          "healthy: SGDR restarting every epoch, wine", None),
    Check("reset", "cancer_healthy", lambda: reset_loop(load_breast_cancer, 2),
          "healthy: breast cancer, Adam", None),
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=None,
                        help="run the checks whose section or name contains this")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every finding")
    args = parser.parse_args(argv)
    chosen = (c for c in CHECKS if not args.only or args.only in f"{c.section} {c.name}")
    return report((evaluate(check) for check in chosen), args.verbose)


def evaluate(check: Check) -> tuple[Row, list]:
    """Run one check: its table row and its findings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = check.run()
        findings = history.diagnose()
    return Row(f"{check.section}: {check.name}", "confirm", check.accepted is None,
               verdict(findings, check.accepted), outcome(history), top3(findings),
               check.planted), findings


if __name__ == "__main__":
    raise SystemExit(main())
