"""`BabysitCallback`: what `babysit.torch.watch` does, inside a PyTorch Lightning Trainer.

    trainer = lightning.Trainer(callbacks=[BabysitCallback(image_shape=(8, 8))])
    trainer.fit(module, loaders)
    callback.history.diagnose()

The loss is the value `training_step` returns (or its "loss" entry); the epoch's accuracies
are read from `trainer.callback_metrics` under the names given (`train_acc`, `val_acc` by
default: what the module logs with `self.log`). The hooks are the sitter's: the first
optimizer's step hooks and forward hooks on the LightningModule. `_Hooks` holds the logic
and needs no Lightning; `BabysitCallback` exists when `lightning` (or `pytorch_lightning`)
is importable.
"""

from __future__ import annotations

import importlib

import torch

from babysit.torch.sitter import Sitter

__all__: list[str] = []   # BabysitCallback, below, where Lightning is installed


def _lightning_callback_base():
    """lightning.pytorch.Callback, or pytorch_lightning.Callback, or None when neither exists."""
    for name in ("lightning.pytorch", "pytorch_lightning"):
        try:
            return importlib.import_module(name).Callback
        except ImportError:
            continue
    return None


class _Hooks:
    """The Lightning hooks, written against the few Trainer attributes they read."""

    def __init__(self, image_shape=None, train_acc: str = "train_acc", val_acc: str = "val_acc",
                 **options):
        self.image_shape, self.options = image_shape, options
        self.metric_names = (train_acc, val_acc)
        self.sitter: Sitter | None = None
        self._losses: list[float] = []   # the micro-batches' losses since the last step
        self._logged = 0                  # the steps logged

    @property
    def history(self):
        """The run's babysit History (None before `fit` starts)."""
        return None if self.sitter is None else self.sitter.history

    def on_train_start(self, trainer, pl_module) -> None:
        optimizer = trainer.optimizers[0]
        optimizer = getattr(optimizer, "optimizer", optimizer)  # a LightningOptimizer wraps it
        self.sitter = Sitter(pl_module, optimizer, self.image_shape, **self.options)

    def on_before_backward(self, trainer, pl_module, loss) -> None:
        # the loss `on_train_batch_end` gets is detached: its graph is read here
        self.sitter.read_loss_graph(loss)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        """One record a step: with `accumulate_grad_batches` the optimizer steps once every
        few batches, and the step's loss is the mean of theirs."""
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if isinstance(loss, torch.Tensor | float | int):
            self._losses.append(float(loss))
        if self._losses and self.sitter.steps > self._logged:
            self.sitter.log(sum(self._losses) / len(self._losses))
            self._losses, self._logged = [], self.sitter.steps

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        metrics = trainer.callback_metrics
        train_acc, val_acc = (float(metrics[name]) if name in metrics else None
                              for name in self.metric_names)
        self.sitter.end_epoch(train_acc=train_acc, val_acc=val_acc)

    def on_train_end(self, trainer, pl_module) -> None:
        self.sitter.close()

    def on_exception(self, trainer, pl_module, exception) -> None:
        """A fit that raised, or that Ctrl-C stopped, never reaches `on_train_end`: the hooks
        come off here (the History keeps what was watched)."""
        if self.sitter is not None:
            self.sitter.close()


_Base = _lightning_callback_base()
if _Base is not None:
    class BabysitCallback(_Hooks, _Base):
        """`babysit.torch.watch` as a Lightning callback; `.history` is the run's History."""

    __all__ = ["BabysitCallback"]
else:
    __all__ = []

    def __getattr__(name: str):
        """`from babysit.torch.lightning import BabysitCallback` without Lightning: say what
        to install, rather than Python's bare "cannot import name"."""
        if name == "BabysitCallback":
            raise ImportError("babysit.torch.lightning.BabysitCallback needs PyTorch Lightning, "
                              "which is not installed: pip install lightning")
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
