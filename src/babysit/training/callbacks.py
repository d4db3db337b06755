"""Callbacks: hooks that observe a Trainer (monitors, checkpoints), EarlyStopping and
BestWeights.

A callback reads what a step or an epoch left behind and writes into the History (or a run
folder); only `stop_training`, which EarlyStopping sets, and the weights BestWeights puts
back when training ends change what the Trainer does.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from babysit.diagnose.symptoms import exploded_at_epoch_end
from babysit.training.history import History
from babysit.validation import positive_int, real_number

if TYPE_CHECKING:
    from babysit.training.trainer import Trainer

__all__ = ["BestWeights", "Callback", "EarlyStopping"]


class Callback:
    """Hooks a monitor may implement; each receives the trainer. All are optional.

    `update_every`: the Trainer calls `before_update` and `after_update` only at the steps
    whose count of updates (iteration + 1) is a multiple of it; 1 (every step) unless a
    callback sets it, as a monitor that samples every k steps does when training begins.
    """

    update_every: int = 1

    def on_train_begin(self, trainer: Trainer, X, y, val) -> None:
        """Before the first step; `X`, `y` are the training data, `val` the (X, y) pair or None."""

    def before_update(self, trainer: Trainer, iteration: int) -> None:
        """Gradients are in every Param.grad, values not yet updated."""

    def after_update(self, trainer: Trainer, iteration: int) -> None:
        """Values updated and constrained."""

    def on_epoch_end(self, trainer: Trainer, epoch: int) -> None:
        """After validation of `epoch` (1-based)."""

    def on_train_end(self, trainer: Trainer) -> None:
        """After the last epoch (or early stop)."""


class EarlyStopping(Callback):
    """Stop training once validation accuracy has not improved for `patience` epochs.

    An improvement must beat the best so far by more than `min_delta` (>= 0). A regression
    (no accuracy) watches its validation loss instead (`History.validation_scores`); without
    validation data the training accuracy is watched, or a regression's mean training loss
    of each epoch. The decision is read from the History alone, so a resumed run stops where
    the uninterrupted one would have.
    """

    def __init__(self, patience: int = 5, min_delta: float = 0.0):
        self.patience = positive_int(patience, "EarlyStopping: patience")
        self.min_delta = real_number(min_delta, "EarlyStopping: min_delta", at_least=0)

    def epochs_without_improvement(self, history: History) -> int:
        """Epochs since the best one (0 when the last epoch was the best)."""
        watched = history.validation_scores()
        if not any(v is not None for v in watched):
            watched = history.train_acc
        if not any(v is not None for v in watched):   # a regression without validation data
            watched = [None if v is None else -v for v in history.epoch_means(history.data_loss)]
        best, best_epoch = -math.inf, 0
        for epoch, acc in enumerate(watched, start=1):
            if acc is not None and acc > best + self.min_delta:
                best, best_epoch = acc, epoch
        return len(watched) - best_epoch

    def on_train_begin(self, trainer, X, y, val) -> None:
        if self.epochs_without_improvement(trainer.history) >= self.patience:
            trainer.stop_training = True

    def on_epoch_end(self, trainer, epoch: int) -> None:
        if self.epochs_without_improvement(trainer.history) >= self.patience:
            trainer.stop_training = True


class BestWeights(Callback):
    """End training with the network of the epoch that `Checkpoints` saves as best.safetensors
    (the highest `History.validation_keys`: validation accuracy, the lower validation loss
    among epochs level on it, or a regression's validation loss; an epoch whose loss
    exploded is never the best), so that
    the scores a run prints are those of the model `babysit predict` loads from its folder,
    not of wherever the last epoch wandered.

    The copy is of every parameter and buffer (BatchNorm's running statistics), held in
    memory (one network's worth); `History.meta["best_weights"]` says which epoch was put
    back. Without validation data, or with a running average of the weights (whose evaluated
    weights are not the trained ones), it does nothing. A resumed run starts a new copy at
    its first epoch."""

    def on_train_begin(self, trainer, X, y, val) -> None:
        self.active = val is not None and trainer.average is None
        self.highest, self.kept, self.epoch = (-math.inf,), None, None

    def on_epoch_end(self, trainer, epoch: int) -> None:
        score = trainer.history.validation_keys()[-1]
        if not self.active or score is None or not score > self.highest \
                or exploded_at_epoch_end(trainer.history):
            return
        self.highest, self.epoch = score, epoch
        self.kept = [value.copy() for value in _arrays(trainer.net)]

    def on_train_end(self, trainer) -> None:
        if self.kept is None or self.epoch == trainer.epoch:
            return
        for value, kept in zip(_arrays(trainer.net), self.kept, strict=True):
            value[...] = kept
        trainer.history.meta["best_weights"] = {
            "epoch": self.epoch,
            "note": f"the weights of epoch {self.epoch} of {trainer.epoch} (the best validation "
                    f"score, as best.safetensors) were put back at the end"}


def _arrays(net) -> list:
    """Every parameter value and buffer of `net`, in a fixed order (the arrays themselves)."""
    return [p.value for p in net.parameters()] + [
        b for layer in net.modules() for b in layer.buffers.values()]
