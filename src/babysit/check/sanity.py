"""Sanity checks before learning, the three the notes list before any expensive optimization.

`sanity(net, loss, X, y, reg)` returns a `SanityReport` of three `SanityCheck`s, each
with the numbers behind it:

1. "chance loss": with regularization off, the initial data loss should be the loss
   of diffuse scores: ln C for a softmax over C classes, (C - 1) * margin for the
   Weston-Watkins SVM. Far from it, the initialization (or the data scale) is off.
2. "regularization raises the loss": adding the penalty, then a 10x stronger one,
   must raise the total loss each time.
3. "overfit a tiny subset": with regularization off, a copy of the network trained
   on 20 examples must reach a near-zero loss and 100% training accuracy within a
   bounded number of iterations. Unless it does, training on everything is not worth
   starting.

The network passed in is never modified: the overfit check trains a deep copy.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field

import numpy as np

from babysit.backend import get_array_module, make_rng
from babysit.nn.layers.base import Layer
from babysit.nn.losses import Loss
from babysit.nn.optim import Adam, Optimizer
from babysit.nn.regularizers import L2, check_penalty
from babysit.training.trainer import Trainer, accuracy, predict_scores
from babysit.validation import positive_int, real_number, seed_or_generator

CHANCE = "chance loss"
REGULARIZATION = "regularization raises the loss"
OVERFIT = "overfit a tiny subset"

# The overfit check's rate when no optimizer is given (Adam). Chosen on healthy networks that
# can memorize 20 examples (random features and labels, 5 to 3,072 inputs, 1 to 4 hidden
# layers of 20 to 512 units, ReLU, tanh and sigmoid, with and without BatchNorm): at 1e-3, 78
# of 96 reached the near-zero loss within 500 steps, at 1e-2 95 (the other within 12% of
# it). Confirmed on real features (digits, wine, breast cancer; 45 networks): 34 of 45 at
# 1e-3, 45 at 1e-2, while a network whose ReLUs are all dead still fails
# (benchmarks/README.md). At 1e-3 the small networks were still falling at 100% accuracy.
OVERFIT_LR = 1e-2


@dataclass
class SanityCheck:
    """One check: its `name`, whether it `passed` (None: not applicable), numbers, a sentence."""

    name: str
    passed: bool | None
    numbers: dict = field(default_factory=dict)
    message: str = ""


@dataclass
class SanityReport:
    """The checks of `sanity`. `ok` is False when any check failed; `print(report)` shows them."""

    checks: list[SanityCheck]

    @property
    def ok(self) -> bool:
        """True when no check failed (a check that does not apply, passed=None, is no failure)."""
        return all(c.passed is not False for c in self.checks)

    def __getitem__(self, name: str) -> SanityCheck:
        for c in self.checks:
            if c.name == name:
                return c
        raise ValueError(f"no sanity check named {name!r}; known: "
                         f"{', '.join(c.name for c in self.checks)}")

    def to_dict(self) -> dict:
        """JSON-ready: {"ok": bool, "checks": [{"name", "passed", "numbers", "message"}, ...]}."""
        return {"ok": self.ok, "checks": [asdict(c) for c in self.checks]}

    def __str__(self) -> str:
        width = max(len(c.name) for c in self.checks)
        lines = ["sanity checks:"]
        for c in self.checks:
            mark = {True: "pass", False: "FAIL", None: "n/a "}[c.passed]
            lines.append(f"  {mark}  {c.name:<{width}}  {c.message}")
        lines.append("  all pass" if self.ok else "  some checks FAILED: fix these before training")
        return "\n".join(lines)


def sanity(net: Layer, loss: Loss, X, y, reg=None, *, chance_tol: float = 0.5,
           n_chance: int = 2000, n_overfit: int = 20, overfit_iters: int = 500,
           overfit_opt: Optimizer | None = None, overfit_tol: float = 0.01,
           seed=0) -> SanityReport:
    """Run the notes' three sanity checks on `net` before training it; returns a `SanityReport`.

    net: the untrained network (left unchanged). loss: its data loss. X: (N, D) training
    features, y: (N,) targets. reg: the regularizer training will use (None: an L2(1e-3)
    probe for check 2).
    chance_tol: the chance-loss check passes when the initial data loss (test-time
    forward on up to `n_chance` examples) lies within a factor 1 + chance_tol of the
    chance loss. n_overfit: examples in the tiny subset; overfit_iters: the most
    full-batch steps allowed (default optimizer Adam(lr=1e-2), OVERFIT_LR); overfit_tol:
    "near zero" means a data loss below overfit_tol times the chance loss (regression:
    times the subset's initial loss).
    """
    if not isinstance(net, Layer):
        raise ValueError(f"net must be a babysit Layer (e.g. a Sequential), got "
                         f"{type(net).__name__}")
    for name, value in (("n_chance", n_chance), ("n_overfit", n_overfit),
                        ("overfit_iters", overfit_iters)):
        positive_int(value, name)
    check_penalty(reg)
    real_number(chance_tol, "chance_tol", above=0)
    real_number(overfit_tol, "overfit_tol", above=0, below=1)
    seed_or_generator(seed, "seed")
    # a copy: the overfit steps must not leave their momentum in the caller's optimizer
    opt = Adam(lr=OVERFIT_LR) if overfit_opt is None else copy.deepcopy(overfit_opt)
    trainer = Trainer(net.copy(), loss, opt, batch_size=n_overfit, callbacks=(), progress=False)
    X, y = trainer.prepare(X, y, "X")
    rng = make_rng(seed)
    xp = get_array_module(X)
    pick = xp.asarray(np.sort(rng.permutation(X.shape[0])[:n_chance]))
    Xc, yc = X[pick], y[pick]
    scores = predict_scores(net, Xc)
    data_loss, _ = loss(scores, yc)
    n_classes = int(scores.shape[1])
    if loss.classification and n_classes < 2:
        raise ValueError(f"the network gives {n_classes} score a row: {loss!r} over one class "
                         f"has nothing to classify (its loss is 0 whatever the scores); give "
                         f"the last layer one output per class, at least 2")
    checks = [
        _chance_check(loss, data_loss, n_classes, chance_tol),
        _regularization_check(net, reg, data_loss),
        _overfit_check(trainer, X, y, rng, n_overfit, overfit_iters, overfit_tol, n_classes),
    ]
    return SanityReport(checks)


def _chance_check(loss: Loss, data_loss: float, n_classes: int, tol: float) -> SanityCheck:
    if not loss.classification:
        return SanityCheck(CHANCE, None, {"initial_loss": data_loss},
                           f"{type(loss).__name__} is a regression loss: no chance level")
    chance = loss.chance_loss(n_classes)
    ratio = data_loss / chance
    passed = bool(1 / (1 + tol) <= ratio <= 1 + tol)
    numbers = {"initial_loss": data_loss, "chance_loss": chance, "ratio": ratio,
               "n_classes": n_classes}
    message = f"initial data loss {data_loss:.4g}, chance {chance:.4g} ({ratio:.2f}x)"
    if not passed:
        message += ("; the initial scores are too large (or too uniform): initialize with "
                    "smaller weights or check the data scale" if ratio > 1 else
                    "; the loss is below chance before training: are the labels leaking "
                    "into the features?")
    return SanityCheck(CHANCE, passed, numbers, message)


def _ten_times(reg):
    """`reg` at 10x its strengths (every number its `config()` names), built as its class
    builds it; None for a penalty of one's own that names none or is not built that way."""
    strengths = reg.config()
    if not strengths or not all(isinstance(v, int | float) for v in strengths.values()):
        return None
    try:
        return type(reg)(**{k: 10 * v for k, v in strengths.items()},
                         include_all=reg.include_all)
    except TypeError:
        return None


def _regularization_check(net: Layer, reg, data_loss: float) -> SanityCheck:
    probe = reg if reg is not None else L2(1e-3)
    stronger = _ten_times(probe)
    params = net.parameters()
    with_reg = data_loss + float(probe.penalty(params))
    with_more = None if stronger is None else data_loss + float(stronger.penalty(params))
    passed = bool(data_loss < with_reg and (with_more is None or with_reg < with_more))
    numbers = {"data_loss": data_loss, "with_reg": with_reg, "with_10x_reg": with_more,
               "regularizer": repr(probe)}
    message = f"loss {data_loss:.4g} -> {with_reg:.4g} with {probe!r}" + (
        f" -> {with_more:.4g} with 10x the strength" if with_more is not None else
        " (its strength is not known, as its config() names none: 10x of it is not tried)")
    if reg is None:
        message += " (no regularizer given: probed with L2(1e-3))"
    if not passed:
        message += "; the penalty does not raise the loss: does it cover any weights?"
    return SanityCheck(REGULARIZATION, passed, numbers, message)


def _overfit_check(trainer: Trainer, X, y, rng, n: int, max_iters: int, tol: float,
                   n_classes: int) -> SanityCheck:
    take = get_array_module(X).asarray(np.sort(rng.permutation(X.shape[0])[:n]))
    xs, ys = X[take], y[take]
    start, _ = trainer.loss(predict_scores(trainer.net, xs), ys)
    classification = trainer.loss.classification
    # Near zero is measured against chance (a bad init starts far above it), else the start.
    reference = trainer.loss.chance_loss(n_classes) if classification else start
    target = tol * reference
    final, acc, iters = start, None, 0
    while iters < max_iters:
        trainer.step(xs, ys)
        iters += 1
        if iters % 10 == 0 or iters == max_iters:
            final, _ = trainer.loss(predict_scores(trainer.net, xs), ys)
            acc = accuracy(trainer.net, xs, ys) if classification else None
            if not np.isfinite(final) or (final <= target and acc in (None, 1.0)):
                break
    passed = bool(np.isfinite(final) and final <= target and acc in (None, 1.0))
    numbers = {"examples": int(xs.shape[0]), "iterations": iters, "max_iterations": max_iters,
               "initial_loss": start, "final_loss": final, "target_loss": target,
               "train_accuracy": acc, "optimizer": repr(trainer.opt)}
    shown = f", train accuracy {acc:.0%}" if acc is not None else ""
    message = (f"{xs.shape[0]} examples, no regularization: loss {start:.3g} -> {final:.3g} "
               f"in {iters} iterations{shown}")
    if not passed and acc == 1.0 and np.isfinite(final):
        message += (f" (wanted below {target:.3g} within {max_iters}): every example is "
                    f"classified right, but the scores are not yet confident; allow more "
                    f"iterations (overfit_iters) or a higher rate (overfit_opt) before "
                    f"trusting the network")
    elif not passed:
        message += (f" (wanted below {target:.3g} within {max_iters}); the model cannot even "
                    f"memorize a tiny set: check the learning rate, the gradients, the labels")
    return SanityCheck(OVERFIT, passed, numbers, message)


__all__ = ["CHANCE", "OVERFIT", "OVERFIT_LR", "REGULARIZATION", "SanityCheck", "SanityReport",
           "sanity"]
