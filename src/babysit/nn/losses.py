"""Data losses: each maps scores (N, C) and targets to the mean loss and dL/dscores.

`loss(scores, y) -> (value, dscores)`: `value` is a Python float, the mean over the
batch; `dscores` has the shape and dtype of `scores`. Classification targets `y`
are integer class indices of shape (N,).
"""

from __future__ import annotations

import math

import numpy as np

from babysit.backend import get_array_module
from babysit.nn.layers import kinks
from babysit.nn.reprs import config_repr
from babysit.validation import in_float_range, real_number


def _as_arrays(scores, y):
    """`scores` and `y` as arrays: one without `ndim` (a list) goes through `asarray` of the
    module that owns the scores, so a CuPy batch stays on the GPU; arrays pass untouched."""
    if not hasattr(scores, "ndim"):
        scores = get_array_module(scores).asarray(scores)
    if not hasattr(y, "ndim"):
        y = get_array_module(scores).asarray(y)
    return scores, y


def _refuse_empty(loss: str, scores) -> None:
    """A batch of no examples has no mean loss (it would divide by N = 0)."""
    if scores.shape[0] == 0:
        raise ValueError(f"{loss}: the batch is empty (scores of shape {tuple(scores.shape)}); "
                         f"a mean loss needs at least one example")


def _check_class_targets(scores, y, loss: str = "the loss") -> None:
    if scores.ndim != 2:
        raise ValueError(f"scores must have shape (N, C), got {tuple(scores.shape)}")
    _refuse_empty(loss, scores)
    if y.ndim != 1 or y.shape[0] != scores.shape[0]:
        raise ValueError(
            f"labels must have shape ({scores.shape[0]},) to match scores {tuple(scores.shape)}, "
            f"got {tuple(y.shape)}"
        )
    if y.dtype.kind not in "iu":
        raise ValueError(f"labels must be integer class indices, got dtype {y.dtype}")
    # A negative label would silently index from the end; a large one fail deep in NumPy.
    # Read as unsigned, a negative label is huge: one max() per step catches both kinds.
    n_classes = scores.shape[1]
    if y.size and int(y.view(f"u{y.dtype.itemsize}").max()) >= n_classes:
        low, high = int(y.min()), int(y.max())
        raise ValueError(f"labels out of range: got {low}..{high}, expected 0..{n_classes - 1} "
                         f"for {n_classes} classes")


class Loss:
    """A data loss. Subclasses implement `__call__(scores, y) -> (float, dscores)`."""

    classification = True

    def chance_loss(self, n_classes: int) -> float:
        """The loss expected from small random scores (the notes' sanity check)."""
        raise NotImplementedError

    def config(self) -> dict:
        """The constructor arguments (for repr and saved training state)."""
        return {}

    def __repr__(self) -> str:
        return config_repr(self, self.config())


def log_softmax(scores):
    """Row-wise log-softmax, shifted by the row max so that exp never overflows."""
    xp = get_array_module(scores)
    shifted = scores - scores.max(axis=1, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))


def softmax(scores):
    """Row-wise class probabilities (N, C) from scores (N, C)."""
    xp = get_array_module(scores)
    return xp.exp(log_softmax(scores))


class SoftmaxCrossEntropy(Loss):
    """L = -mean_i log softmax(s_i)[y_i]; dL/ds = (softmax(s) - onehot(y)) / N."""

    def chance_loss(self, n_classes: int) -> float:
        return math.log(n_classes)

    def __call__(self, scores, y):
        scores, y = _as_arrays(scores, y)
        _check_class_targets(scores, y, "SoftmaxCrossEntropy")
        xp = get_array_module(scores)
        n = scores.shape[0]
        logp = log_softmax(scores)
        rows = xp.arange(n)
        value = -float(logp[rows, y].sum()) / n  # sum / n: .mean() costs more than the sum
        if not math.isfinite(value) and scores.dtype != xp.float64:
            # float32 scores spanning more than its range (3e38 and -3e38) overflow in
            # `scores - max`; the loss itself may still be finite: take it in float64
            # (only here, so the usual path pays one isfinite on a Python float)
            value = -float(log_softmax(scores.astype(xp.float64))[rows, y].sum()) / n
        dscores = xp.exp(logp, out=logp)  # the log-probabilities are not needed any more
        dscores[rows, y] -= 1
        dscores /= n
        return value, dscores

    def probabilities(self, scores):
        return softmax(scores)


class MulticlassSVM(Loss):
    """Weston-Watkins hinge: L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + margin), averaged.

    The max is a kink: which side won is recorded for the gradient check.
    """

    def __init__(self, margin: float = 1.0):
        """`margin` > 0 within float32's normal range: the hinge is taken in the scores'
        dtype, float32 by default, where a larger margin is inf and one below 1.2e-38 is 0."""
        real_number(margin, "MulticlassSVM: margin", above=0)
        in_float_range(margin, "MulticlassSVM: margin", np.float32, tiny=True)
        self.margin = margin

    def config(self) -> dict:
        return {"margin": self.margin}

    def chance_loss(self, n_classes: int) -> float:
        # With scores near 0 every wrong class contributes the margin.
        return (n_classes - 1) * self.margin

    def __call__(self, scores, y):
        scores, y = _as_arrays(scores, y)
        _check_class_targets(scores, y, "MulticlassSVM")
        xp = get_array_module(scores)
        n = scores.shape[0]
        rows = xp.arange(n)
        correct = scores[rows, y][:, None]
        margins = scores - correct + scores.dtype.type(self.margin)
        margins[rows, y] = 0
        positive = margins > 0
        kinks.record(lambda: positive)
        value = float(xp.maximum(margins, 0).sum() / n)
        dscores = positive.astype(scores.dtype)
        dscores[rows, y] = -positive.sum(axis=1)
        dscores /= n
        return value, dscores

    def probabilities(self, scores):
        # The SVM has no probabilities; a softmax of its scores ranks the classes the same way.
        return softmax(scores)


class MeanSquaredError(Loss):
    """L = mean_i 1/2 ||s_i - y_i||^2 (summed over outputs); dL/ds = (s - y) / N.

    `y` may have shape (N,) for a single output or (N, D) to match the scores.
    """

    classification = False

    def __call__(self, scores, y):
        scores, y = _as_arrays(scores, y)
        if scores.ndim != 2:
            raise ValueError(f"MeanSquaredError: scores must have shape (N, D), got "
                             f"{tuple(scores.shape)} (a single output is (N, 1))")
        given = tuple(y.shape)
        if y.ndim == 1:
            y = y[:, None]
        if y.shape != scores.shape:
            raise ValueError(f"targets must have the shape of the scores {tuple(scores.shape)} "
                             f"(or ({scores.shape[0]},) for one output), got {given}")
        _refuse_empty("MeanSquaredError", scores)
        n = scores.shape[0]
        diff = scores - y.astype(scores.dtype, copy=False)
        value = 0.5 * float((diff * diff).sum()) / n
        return value, diff / n

    def chance_loss(self, n_classes: int) -> float:
        raise ValueError("MeanSquaredError has no chance level: it is a regression loss")


LOSSES = {"softmax": SoftmaxCrossEntropy, "svm": MulticlassSVM, "mse": MeanSquaredError}


def get(name: str) -> Loss:
    """A loss by its short name ("softmax", "svm", "mse")."""
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; known: {', '.join(LOSSES)}")
    return LOSSES[name]()


__all__ = ["LOSSES", "Loss", "MeanSquaredError", "MulticlassSVM", "SoftmaxCrossEntropy",
           "get", "log_softmax", "softmax"]
