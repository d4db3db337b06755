"""The learning-rate range test (Smith, 2017; fastai's `lr_find`).

Train a copy of the network for a few hundred mini-batches while the learning rate grows
exponentially from `start` to `end`; record the loss, smooth it, and stop once it exceeds
4x its minimum (the rate is by then far too high). The curve shows the three regimes of the
notes' learning-rate cartoon in one run: too low (flat), good (falling fast), too high
(exploding). A rate is suggested from it.

How the rate is suggested, and why: two rules are common, the steepest descent of the
smoothed loss against log lr, and the rate at the smoothed loss's minimum divided by 10.
`benchmarks/lr_range.py` ran the test on digits and on the notes' spiral with SGD, Momentum and
Adam (3 seeds each) and trained 30 epochs at each rule's rate: the minimum / 10 gave a mean
validation accuracy of 0.986 (worst run 0.967), the steepest descent 0.883 (worst 0.333: on
the spiral its rate was too high to train at all), the default rates (1e-2, Adam 1e-3) 0.931.
So `suggestion` is the minimum's rate / 10; the steepest descent is kept in the result too.

The network and the optimizer passed in are left as they were: the test trains deep copies.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from babysit.backend import get_array_module, make_rng
from babysit.nn.layers.base import Layer
from babysit.nn.losses import Loss
from babysit.nn.optim import Adam, Optimizer
from babysit.training.trainer import Trainer
from babysit.validation import positive_int, real_number, seed_or_generator

DIVERGE_FACTOR = 4.0   # the smoothed loss above 4x its minimum: the test stops
SMOOTHING = 0.98       # moving average of the loss, debiased (fastai's; 0.9 measured no better)
METHODS = ("steepest", "min/10")
SUGGESTION = "min/10"  # the rule benchmarks/lr_range.py measured to be better (see above)


@dataclass
class LRRange:
    """The result of `lr_range`: the curve, the two candidate rates and the suggestion.

    lrs, losses, smoothed: (n,) per iteration, the rate used, the mini-batch loss (data +
    penalty) and its smoothed value. steepest: the rate where the smoothed loss falls
    fastest against log lr (before its minimum). at_minimum: the rate at the smoothed
    minimum; min_over_10: a tenth of it. suggestion: the rate `method` picks (None when the
    loss never fell). stopped: why the test ended. note: a warning for the reader, or "".
    """

    lrs: list[float]
    losses: list[float]
    smoothed: list[float]
    steepest: float | None
    at_minimum: float | None
    method: str
    stopped: str
    optimizer: str
    note: str = ""

    @property
    def min_over_10(self) -> float | None:
        """The rate at the smoothed loss's minimum, divided by 10."""
        return None if self.at_minimum is None else self.at_minimum / 10

    @property
    def suggestion(self) -> float | None:
        """The suggested learning rate, by `method` ("steepest" or "min/10")."""
        return self.steepest if self.method == "steepest" else self.min_over_10

    def to_dict(self) -> dict:
        """JSON-ready: the curve, both candidates, the suggestion and how it was made."""
        return {"suggestion": self.suggestion, "method": self.method,
                "steepest": self.steepest, "at_minimum": self.at_minimum,
                "min_over_10": self.min_over_10, "stopped": self.stopped,
                "optimizer": self.optimizer, "note": self.note, "iterations": len(self.lrs),
                "lrs": self.lrs, "losses": _finite_or_none(self.losses),
                "smoothed": _finite_or_none(self.smoothed)}

    def __str__(self) -> str:
        if self.suggestion is None:
            return f"learning-rate range test ({self.optimizer}): no suggestion. {self.note}"
        text = (f"learning-rate range test ({self.optimizer}, {len(self.lrs)} iterations, "
                f"{self.lrs[0]:.1e} to {self.lrs[-1]:.1e}; {self.stopped}): suggested rate "
                f"{self.suggestion:.2e} ({self.method}; steepest descent at "
                f"{_fmt(self.steepest)}, minimum at {_fmt(self.at_minimum)})")
        return f"{text}. {self.note}" if self.note else text

    def plot(self, path) -> Path:
        """Draw the smoothed (and raw) loss against the learning rate on a log x axis, the
        suggestion marked, into the PNG `path`; returns the path."""
        from matplotlib.figure import Figure  # here: `import babysit` stays free of Matplotlib

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig = Figure(figsize=(7, 3.6), dpi=100)
        ax = fig.add_subplot()
        lrs, raw, smooth = (np.asarray(v, dtype=np.float64)
                            for v in (self.lrs, self.losses, self.smoothed))
        ok = np.isfinite(raw)
        ax.plot(lrs[ok], raw[ok], color="#1f77b4", alpha=0.3, lw=0.8, label="loss per batch")
        ok = np.isfinite(smooth)
        ax.plot(lrs[ok], smooth[ok], color="#1f77b4", lw=1.8, label="smoothed loss")
        if smooth[ok].size:  # the smoothed curve's range: a raw spike must not flatten it
            low, high = float(smooth[ok].min()), float(smooth[ok].max())
            pad = 0.05 * (high - low) + 1e-12
            ax.set_ylim(low - pad, high + pad)
        for name, lr, style in (("steepest", self.steepest, "--"),
                                ("min/10", self.min_over_10, ":")):
            if lr is not None:
                chosen = " (suggested)" if name == self.method else ""
                ax.axvline(lr, color="#b00020" if chosen else "gray", ls=style, lw=1.2,
                           label=f"{name} {lr:.1e}{chosen}")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        ax.set_title(f"learning-rate range test, {self.optimizer}")
        ax.legend(loc="upper left", fontsize=8)
        fig.tight_layout()
        fig.savefig(path, format="png")
        return path


def lr_range(net: Layer, loss: Loss, X, y, optimizer: Optimizer | None = None, *,
             start: float = 1e-7, end: float = 10.0, iterations: int = 200,
             batch_size: int = 32, reg=None, smoothing: float = SMOOTHING,
             diverge: float = DIVERGE_FACTOR, method: str = SUGGESTION, seed=0) -> LRRange:
    """The learning-rate range test on `net` (left unchanged); returns an `LRRange`.

    net: the untrained network. loss: its data loss. X: (N, D) training features, y: (N,)
    labels. optimizer: the update rule training will use (its learning rate is ignored;
    default Adam); a copy is trained. The rate at iteration i of `iterations` is
    start * (end / start) ** (i / (iterations - 1)), one mini-batch of `batch_size` each
    (use training's batch size: the good rate depends on it), with `reg`'s penalty if given.
    The loss is smoothed by a debiased moving average (`smoothing`, 0 for none) and the test
    stops when the smoothed loss exceeds `diverge` times its minimum or becomes NaN/inf.
    method: "min/10" (the rate at the minimum / 10) or "steepest" (where the smoothed loss
    falls fastest against log lr) picks `result.suggestion`; both rates are in the result.
    """
    if not isinstance(net, Layer):
        raise ValueError(f"net must be a babysit Layer (e.g. a Sequential), got "
                         f"{type(net).__name__}")
    if optimizer is not None and not isinstance(optimizer, Optimizer):
        raise ValueError(f"optimizer must be a babysit Optimizer such as "
                         f"bs.optim.SGD(lr=1e-7), got {optimizer!r}")
    start, end = real_number(start, "start", above=0), real_number(end, "end", above=0)
    if not start < end:
        raise ValueError(f"start and end must be rates with 0 < start < end, got start={start!r}"
                         f" and end={end!r}")
    batch_size = positive_int(batch_size, "batch_size")
    if positive_int(iterations, "iterations") < 2:
        raise ValueError(f"iterations must be an integer >= 2, got {iterations!r}")
    iterations = int(iterations)
    real_number(smoothing, "smoothing", at_least=0, below=1)
    real_number(diverge, "diverge (a multiple of the minimum loss)", above=1)
    seed_or_generator(seed, "seed")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")

    opt = copy.deepcopy(optimizer) if optimizer is not None else Adam()
    described = _describe(opt)
    opt.state, opt.t = {}, 0
    # start^(1 - f) end^f: start and end exactly at the ends, and no overflow between them
    # (end / start overflows for a range as wide as 1e-300 to 1e300)
    opt.lr = lambda t: start ** (1 - t / (iterations - 1)) * end ** (t / (iterations - 1))
    # The Trainer only takes steps here (never fit), so its epoch count is never read.
    trainer = Trainer(net.copy(), loss, opt, reg=reg, batch_size=batch_size, epochs=1,
                      callbacks=(), progress=False)
    X, y = trainer.prepare(X, y, "X")
    lrs, raw, smoothed, stopped = _run(trainer, X, y, iterations, smoothing, diverge,
                                       make_rng(seed))
    return _result(lrs, raw, smoothed, stopped, method, described)


def _run(trainer, X, y, iterations: int, beta: float, diverge: float, rng):
    """Step through mini-batches (reshuffled each pass) while the rate grows; returns the
    rates, the raw losses and the smoothed losses, up to and including the stopping step, and
    why it stopped."""
    xp = get_array_module(X)
    n, batch = X.shape[0], trainer.batch_size
    lrs, raw, smoothed = [], [], []
    average, best = 0.0, math.inf
    order, at = rng.permutation(n), 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for i in range(iterations):
            if at + batch > n and at > 0:
                order, at = rng.permutation(n), 0
            take = xp.asarray(order[at:at + batch])
            at += batch
            lrs.append(trainer.opt.current_lr())
            data_loss, reg_loss = trainer.step(X[take], y[take])
            value = float(data_loss + reg_loss)
            average = beta * average + (1 - beta) * value
            smooth = average / (1 - beta ** (i + 1))
            raw.append(value)
            smoothed.append(smooth)
            if not math.isfinite(smooth):
                return lrs, raw, smoothed, f"stopped at {lrs[-1]:.2e}: the loss became {value}"
            best = min(best, smooth)
            if i > 0 and smooth > diverge * best:
                return lrs, raw, smoothed, (f"stopped at {lrs[-1]:.2e}: the loss passed "
                                            f"{diverge:g}x its minimum")
    return lrs, raw, smoothed, (f"reached {lrs[-1]:.2e} without the loss passing {diverge:g}x "
                                f"its minimum")


def _result(lrs, raw, smoothed, stopped: str, method: str, optimizer: str) -> LRRange:
    """The two candidate rates read off the smoothed curve, and a note when it is odd."""
    smooth = np.asarray(smoothed, dtype=np.float64)
    finite = np.isfinite(smooth)
    best = int(np.argmin(np.where(finite, smooth, np.inf)))
    if best == 0:
        return LRRange(lrs, raw, smoothed, None, None, method, stopped, optimizer,
                       note="The loss never fell below its first value: start lower "
                            "(or check the gradients and the data).")
    # d(smoothed loss) / d(log lr), before the minimum: where the loss falls fastest.
    slope = np.gradient(smooth[:best + 1], np.log(np.asarray(lrs[:best + 1])))
    steepest = float(lrs[int(np.argmin(slope))])
    note = ""
    if stopped.startswith("reached") and best >= len(lrs) - 2:
        note = "The loss was still falling at the last rate: raise end."
    return LRRange(lrs, raw, smoothed, steepest, float(lrs[best]), method, stopped, optimizer,
                   note=note)


def _describe(opt: Optimizer) -> str:
    """The optimizer without its learning rate (which the test sweeps), e.g. "Momentum(mu=0.9,
    nesterov=False)"."""
    args = ", ".join(f"{k}={v!r}" for k, v in opt.config().items() if k != "lr")
    return f"{type(opt).__name__}({args})"


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.1e}"


def _finite_or_none(values) -> list:
    return [v if math.isfinite(v) else None for v in values]


__all__ = ["DIVERGE_FACTOR", "LRRange", "METHODS", "SUGGESTION", "lr_range"]
