"""The numbers the rules read, taken once from a `History`.

`Evidence.of(history)` reads the loss curve, the accuracies, and what the monitors recorded
(`babysit.training.monitors`: update ratios, per-layer gradient norms, dead and saturated units, the
predicted classes, the input scale, the class counts) into one flat record. A field is None
(a layer is left out of a dict) when the run did not record what it needs, or a damaged or
hand-edited file holds null there, and the rules that read it stay silent.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from babysit.diagnose.records import DataRecord, LayersRecord, ParamsRecord, UpdateRatioRecord
from babysit.diagnose.setup import chance_loss, loss_floor

__all__ = ["ADAPTIVE_OPTIMIZERS", "moving_average", "when", "LossCurve", "Evidence"]

# Optimizers (by the name meta["optimizer"] starts with) that scale each weight's step by its
# own gradient history: their first steps are about the learning rate in every weight, so
# their update ratio reads the rate against the weights' initial scale, not the gradient
ADAPTIVE_OPTIMIZERS = ("Adam", "AdamW", "NAdam", "RAdam", "Adamax", "RMSprop", "Adagrad",
                       "Adadelta", "Adafactor", "SparseAdam")
# Rows every other class holds where class 0 holds none, for labels numbered from 1: a few, so
# that a small sample (or one chunk of a partial_fit) lacking a class by chance is left alone
ROWS_PER_CLASS = 5


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Moving average of `values` (N,) over `window` iterations: (N - window + 1,), the valid
    part only (the window is clipped to [1, N]). Smooths the loss curve for the rules and the
    report's plot alike."""
    window = max(1, min(window, len(values)))
    return np.convolve(values, np.ones(window) / window, mode="valid")


def when(history, iteration: int) -> str:
    """"iteration 71 (epoch 3)": epoch k is the k-th pass, holding updates (k-1)n+1 .. kn."""
    if iteration <= 0:
        return "the start (iteration 0)"
    return f"iteration {iteration} (epoch {history.epoch_of(iteration)})"


def _r2(setup, train_loss: float | None) -> float | None:
    """R^2 of an MSE regression from its last epoch's data loss: 1 - loss / (the loss of
    predicting the targets' mean: their variance, times the loss's scale). None otherwise."""
    if not setup or train_loss is None or setup.get("task") != "regress" \
            or (setup.get("loss") or {}).get("name") != "mse":
        return None
    std = (setup.get("targets") or {}).get("std")
    if not std:
        return None
    variance = (setup["loss"].get("scale") or 1.0) * std * std   # inf or 0 past float64's range
    return 1.0 - train_loss / variance if 0 < variance < math.inf else None


def _finite(values) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(v)]


def _number(value) -> float | None:
    """`value` when it is a finite number, else None: a null where a history read from a
    damaged or hand-edited file should hold a number is unknown, and the rules that need it
    stay silent."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value):
        return None
    return float(value)


def _counts(values) -> list | None:
    """Counts per class (of the labels, of the predicted classes) when there are some and
    every one is a number, else None: one unknown count leaves every share unknown."""
    if not values or any(_number(v) is None for v in values):
        return None
    return values


def _start_end(first: dict, last: dict, key: str) -> tuple[float, float] | None:
    """A layer's `key` ("dead", "saturated") at the first sample and at the last, or None
    when the last has none or either is unknown (null). A start read on too few probe rows
    is left out: the end stands for both."""
    end = _number(last.get(key))
    start = _number(first.get(key, end))
    return None if start is None or end is None else (start, end)


@dataclass
class LossCurve:
    """The loss per iteration, summarized. start: median of the first 5 losses (at least the
    chance loss); first: the loss before any update; ceiling: the loss must not climb above
    max(first, chance); end: the mean of the last tenth; mid: the smoothed loss at half time;
    peak: the smoothed maximum; wiggle: the std of the second half around its moving average;
    level: the second half's mean."""

    n: int
    window: int
    first: float
    start: float
    end: float
    mid: float
    peak: float
    peak_at: int
    ceiling: float
    wiggle: float | None
    level: float

    @property
    def drop(self) -> float:
        return self.start - self.end

    @property
    def progress(self) -> float:
        """The fraction of the whole drop done by half time (1: all of it)."""
        return (self.start - self.mid) / self.drop if self.drop > 0 else 0.0

    @classmethod
    def of(cls, loss: np.ndarray, chance: float | None) -> LossCurve | None:
        n = loss.size
        if n < 10:
            return None
        window = max(5, n // 50)
        smooth = moving_average(loss, window)
        half = loss[n // 2:]
        wiggle = None
        if len(half) >= 2 * window:
            trend = moving_average(half, window)
            offset = (window - 1) // 2
            wiggle = float((half[offset:offset + len(trend)] - trend).std())
        return cls(n=n, window=window, first=float(loss[0]),
                   # the loss starts at the chance loss at the latest (scores near zero): a
                   # median of the first batches below it means they already learned (batch
                   # 1, a fast rate), and the curve is judged from chance
                   start=max(float(np.median(loss[:min(5, n)])), chance or 0.0),
                   end=float(loss[-max(window, n // 10):].mean()),
                   mid=float(smooth[len(smooth) // 2]), peak=float(smooth.max()),
                   peak_at=int(np.argmax(smooth)) + window,
                   # its value before the first update (or chance, when higher: a first batch
                   # can be unlucky), not a median that may include an explosion one step in
                   ceiling=max(float(loss[0]), chance or 0.0), wiggle=wiggle,
                   level=float(half.mean()))


@dataclass
class Evidence:
    """Everything the rules read. Per-layer and per-parameter values are dicts by name."""

    history: object
    setup: dict | None = None              # history.meta["setup"] (babysit.diagnose.setup)
    chance_loss: float | None = None
    loss_floor: float = 0.0                # the least loss the targets allow (entropy of
                                           # soft binary targets; 0 for hard ones)
    n_classes: int | None = None
    batch_size: int | None = None
    nonfinite_at: int | None = None        # first iteration whose loss is NaN or inf
    dropout: float | None = None           # the strongest dropout rate (meta["dropout"])
    adaptive: bool = False                 # the optimizer scales each weight's step by its
                                           # own gradient history (meta["optimizer"]: Adam...)
    lr: float | None = None                # the run's largest learning rate (history.lr)
    n_params: int | None = None            # trainable parameters (meta["n_params"])
    n_train: int | None = None             # training rows (meta["n_train"])
    curve: LossCurve | None = None
    penalty_share: float | None = None     # reg_loss / loss over the last tenth of the run
    train_acc: float | None = None
    val_acc: float | None = None
    best_val: float | None = None
    train_loss: float | None = None        # without accuracies (a regression): the mean data
    val_loss: float | None = None          # loss of the last epoch's steps, and on validation
    r2: float | None = None                # a regression's R^2 on its training data loss:
                                           # 1 - train_loss / the mean predictor's loss
    epochs: int = 0
    ratios: dict = field(default_factory=dict)       # weight name -> median update ratio
    early_ratios: dict = field(default_factory=dict)  # ... over the first fifth of samples
    no_update: bool = False                # every recorded update of every parameter is
                                           # exactly 0: no gradient ever arrived
    dead: dict = field(default_factory=dict)         # layer name -> (at start, at end)
    saturated: dict = field(default_factory=dict)    # layer name -> (at start, at end)
    identical: dict = field(default_factory=dict)    # hidden layer -> share of its units
                                                     # equal to its first, at the end
    identical_start: dict = field(default_factory=dict)  # hidden layer -> (its share at the
                                                     # start, the next weighted layer's)
    depth_gain: float | None = None        # ||dL/d first layer out|| / ||dL/d scores||, start
    hidden_gain: float | None = None       # ... / ||dL/d last hidden Linear out|| (>= 2 hidden)
    data_loss_first: float | None = None   # the data loss before any update (on the probe
                                           # batch when recorded: one small batch is noisy)
    weight_growth: dict = field(default_factory=dict)  # weight -> ||W|| end / ||W|| start
    predicted_share: float | None = None   # the most predicted class's share, at the end
    predicted_class: int | None = None
    probe_label_share: float | None = None  # the commonest class's share of the probe labels
    train_classes: int | None = None       # classes present in the training labels
    class_zero_only_empty: bool = False    # of 3 or more classes, only class 0 has no
                                           # training row (labels numbered from 1)
    rows_per_class: float | None = None    # the median class's training rows (all outputs)
    majority_share: float | None = None    # the commonest class's share of the training labels
    majority_class: int | None = None
    val_majority_share: float | None = None  # accuracy of always answering that class on val
    val_chance: float | None = None        # the best accuracy a constant answer gets on val
    n_val: int | None = None               # validation examples (from the class counts)
    input_mean: float | None = None        # median over features of |mean| / std
    input_scale: float | None = None       # the typical input magnitude: sqrt(mean of x^2)
    input_spread: float | None = None      # largest / smallest std among varying features
    constant_inputs: bool = False          # no feature varies at all
    label_columns: tuple = ()              # features that give every training row's label
    val_copied: float | None = None        # the share of validation rows that are training
    train_repeats: float | None = None     # rows; of training rows that repeat another
    val_shift: float | None = None         # validation inputs: median |mean - training's|
    val_ratio: float | None = None         # / training's spread; median spread / training's
    val_rows: int | None = None            # (mean absolute deviations), on this many rows
    val_off: int | None = None             # features off training's scale (OFF_SCALE) of
    val_features: int | None = None        # the features that vary in both
    val_scale_of: str = "validation"       # ... of the validation rows, or "evaluated": the
                                           # inputs a PyTorch loop evaluated the model on

    @classmethod
    def of(cls, history) -> Evidence:
        meta = history.meta
        setup = meta.get("setup")
        chance = chance_loss(setup) if setup else meta.get("chance_loss")
        e = cls(history=history, setup=setup, chance_loss=chance,
                loss_floor=loss_floor(setup),
                n_classes=meta.get("n_classes"), batch_size=meta.get("batch_size"),
                dropout=meta.get("dropout"),
                adaptive=str(meta.get("optimizer") or "").startswith(ADAPTIVE_OPTIMIZERS),
                n_params=meta.get("n_params"), n_train=meta.get("n_train"))
        rates = _finite(history.lr)
        e.lr = max(rates) if rates else None
        loss = np.asarray(history.loss, dtype=np.float64)
        bad = ~np.isfinite(loss)
        if bad.any():
            e.nonfinite_at = int(np.argmax(bad)) + 1
        else:
            # A regression's loss-shape rules read the data loss: a penalty that dominates the
            # total can fall while the fit to the data stays flat (L2 at 89% of the start).
            # (A classifier's data loss near 0 would make any wiggle loud: it keeps the total.)
            data = np.asarray(history.data_loss, dtype=np.float64)
            penalized = ((setup or {}).get("task") == "regress" and data.size == loss.size
                         and len(history.reg_loss) == loss.size
                         and bool(np.any(np.asarray(history.reg_loss) != 0)))
            e.curve = LossCurve.of(data if penalized else loss, e.chance_loss)
            if e.curve is not None and len(history.reg_loss) == loss.size:
                k = max(e.curve.window, loss.size // 10)
                total = float(loss[-k:].mean())
                e.penalty_share = float(np.mean(history.reg_loss[-k:])) / total \
                    if total > 0 else None
        if history.data_loss and math.isfinite(history.data_loss[0]):
            e.data_loss_first = float(history.data_loss[0])
        e._accuracies(history)
        if e.val_acc is None:
            e._losses(history)
            steps = _finite(history.data_loss[-max(1, history.iters_per_epoch):])
            e.r2 = _r2(setup, float(np.mean(steps)) if steps else None)
        e._ratios(history.monitors.get("update_ratio"))
        e._layers(history.monitors.get("layers"))
        e._params(history.monitors.get("params"))
        e._data(history.monitors.get("data"))
        return e

    def _accuracies(self, history) -> None:
        pairs = [(t, v) for t, v in zip(history.train_acc, history.val_acc, strict=False)
                 if t is not None and math.isfinite(t)]
        if not pairs:
            return
        self.epochs = len(pairs)
        self.train_acc = pairs[-1][0]
        vals = _finite(v for _, v in pairs)
        if vals and pairs[-1][1] is not None:
            self.val_acc, self.best_val = float(pairs[-1][1]), max(vals)

    def _losses(self, history) -> None:
        vals = _finite(v for v in history.val_loss if v is not None)
        steps = history.data_loss[-max(1, history.iters_per_epoch):]
        if vals and steps and all(math.isfinite(v) for v in steps):
            self.val_loss, self.train_loss = vals[-1], float(np.mean(steps))

    def _ratios(self, rec: UpdateRatioRecord | None) -> None:
        if not rec:
            return
        every = [v for vs in (rec.get("params") or {}).values() for v in vs if v is not None]
        self.no_update = bool(every) and not any(every)
        for name in rec.get("weights") or list(rec["params"]):
            values = _finite(rec["params"].get(name, []))
            if values:
                self.ratios[name] = float(np.median(values))
                self.early_ratios[name] = float(np.median(values[:max(1, len(values) // 5)]))

    def _layers(self, rec: LayersRecord | None) -> None:
        if not rec or not rec.get("samples"):
            return
        names, samples = rec["names"], rec["samples"]
        first, last = samples[0], samples[-1]
        for i, name in enumerate(names):
            a0, a1 = first["activations"][i], last["activations"][i]
            if not (a0 and a1):
                continue  # not read (an output that is not one tensor)
            for key, into in (("dead", self.dead), ("saturated", self.saturated)):
                pair = _start_end(a0, a1, key)
                if pair is not None:
                    into[name] = pair
        weighted = [i for i, a in enumerate(last["activations"]) if a and "identical" in a]
        for i, after in zip(weighted, weighted[1:], strict=False):
            # the output layer's units answer different classes anyway: hidden layers only
            share = _number(last["activations"][i]["identical"])
            if share is None:
                continue  # unknown at the end: both rules on identical units read it
            self.identical[names[i]] = share
            shares = [(first["activations"][k] or {}).get("identical") for k in (i, after)]
            if None not in shares:
                self.identical_start[names[i]] = tuple(shares)
        if first["iteration"] == 0 and first.get("loss") is not None:
            self.data_loss_first = first["loss"]
        norms = first.get("grad_norm")
        linear = [i for i, kind in enumerate(rec.get("kinds", [])) if kind == "Linear"]
        if norms and len(linear) >= 2 and norms[linear[0]] and norms[linear[-1]]:
            self.depth_gain = norms[linear[0]] / norms[linear[-1]]
            if len(linear) >= 3 and norms[linear[-2]]:
                self.hidden_gain = norms[linear[0]] / norms[linear[-2]]
        predicted = _counts(last.get("predicted"))
        if predicted and sum(predicted):
            self.predicted_share = max(predicted) / sum(predicted)
            self.predicted_class = int(np.argmax(predicted))
        labels = _counts(rec.get("probe_labels"))
        if labels and sum(labels):
            self.probe_label_share = max(labels) / sum(labels)

    def _params(self, rec: ParamsRecord | None) -> None:
        if not rec:
            return
        for name in rec.get("weights", []):
            values = rec["value_norm"].get(name, [])
            if len(values) >= 2 and values[0] and values[-1] is not None:
                self.weight_growth[name] = values[-1] / values[0]

    def _data(self, rec: DataRecord | None) -> None:
        if not rec:
            return
        # None (NaN here: a saved NaN or inf, from a History written before the scale was
        # measured at any magnitude) is a feature whose scale is unknown, not one that does
        # not vary
        mean = np.asarray(rec["feature_mean"], dtype=np.float64)
        std = np.asarray(rec["feature_std"], dtype=np.float64)
        known = np.isfinite(mean) & np.isfinite(std)
        varying = known & (std > 1e-12 * max(1.0, float(np.abs(mean[known]).max(initial=0.0))))
        # no feature scale recorded (a PyTorch model fed integer ids) tells nothing of it
        self.constant_inputs = bool(mean.size and known.all() and not varying.any())
        if varying.any():
            m, s = mean[varying], std[varying]
            self.input_mean = float(np.median(np.abs(m) / s))
            top = max(float(np.abs(m).max()), float(s.max()))   # squares of 1e300 overflow
            self.input_scale = top * float(np.sqrt(np.mean((m / top) ** 2 + (s / top) ** 2)))
            self.input_spread = float(s.max() / s.min())
        self.label_columns = tuple(rec.get("label_columns") or ())
        copies = rec.get("copies")
        if copies and copies.get("val") is not None and copies.get("train") is not None:
            self.val_copied, self.train_repeats = float(copies["val"]), float(copies["train"])
        scale = rec.get("val_scale")
        if scale and scale.get("shift") is not None and scale.get("ratio") is not None:
            self.val_shift, self.val_ratio = float(scale["shift"]), float(scale["ratio"])
            self.val_rows = int(scale["rows"]) if scale.get("rows") is not None else None
            self.val_scale_of = str(scale.get("of", "validation"))
            if scale.get("features") is not None and scale.get("off") is not None:
                self.val_off, self.val_features = int(scale["off"]), int(scale["features"])
        counts = _counts(rec.get("class_counts"))
        if counts and sum(counts):
            self.train_classes = sum(1 for c in counts if c > 0)
            # class counts of every training row, not of a sample (a PyTorch loop's probe, its
            # first rows; one chunk of a scikit-learn partial_fit): a class that a sample lacks
            # may be in the rest
            whole = self.n_train is not None and sum(counts) == self.n_train \
                and not self.history.meta.get("partial_fit")
            self.class_zero_only_empty = whole and len(counts) >= 3 and counts[0] == 0 \
                and min(counts[1:]) >= ROWS_PER_CLASS
            self.rows_per_class = float(np.median(counts)) if whole else None
            self.majority_share = max(counts) / sum(counts)
            self.majority_class = int(np.argmax(counts))
            val = _counts(rec.get("val_class_counts"))
            if val and sum(val):
                self.val_majority_share = val[self.majority_class] / sum(val)
                self.val_chance = max(val) / sum(val)
                self.n_val = int(sum(val))
