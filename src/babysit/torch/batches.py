"""Whether a PyTorch loop trains on the same rows at every step.

`next(iter(loader))` inside the loop starts a new iterator each time (the first batch again,
unless the loader shuffles), and a batch sliced once before the loop is the same tensor at
every step: the model then learns those rows and nothing else, which reads as over-fitting.
The sitter passes the first training input of each optimizer step of the first epoch here;
a step is compared with the one before on a fingerprint (`_fingerprint`): the input's shape,
a strided sample of SAMPLE_VALUES of its values, and, for an input of at most WHOLE_VALUES
values, the sum of all of them (sparse inputs' samples may agree by chance). A copy of the
sample is kept, not the input: a loop that copies each batch into one buffer it reuses gives
the same tensor object holding new rows.
"""

from __future__ import annotations

import torch

__all__ = ["RepeatedBatches", "SAMPLE_VALUES", "WHOLE_VALUES"]

SAMPLE_VALUES = 1024
WHOLE_VALUES = 2**20


class RepeatedBatches:
    """Counts the steps whose first training input is the previous step's (`repeats`), out of
    the steps seen (`steps`), with the rows of the last input seen (`rows`)."""

    def __init__(self):
        self.steps = self.repeats = self.rows = 0
        self._pending: torch.Tensor | None = None   # this step's first training input
        self._last: tuple | None = None             # the previous step's fingerprint

    def see(self, x: torch.Tensor) -> None:
        """A training forward's input; only the first since the last step counts (a closure
        optimizer's repeated forwards, gradient checkpointing's recomputation)."""
        if self._pending is None:
            self._pending = x

    def step(self) -> None:
        """After an optimizer step: compare its input with the previous step's."""
        if self._pending is None:
            return
        now = _fingerprint(self._pending)
        self.steps += 1
        self.rows = int(self._pending.shape[0]) if self._pending.ndim else 1
        if self._last is not None and _same(now, self._last):
            self.repeats += 1
        self._last, self._pending = now, None

    def close(self) -> None:
        """Drop what is held (the first epoch is over)."""
        self._pending = self._last = None


def _fingerprint(x: torch.Tensor) -> tuple:
    flat = x.detach().reshape(-1)
    sample = flat[::max(1, flat.numel() // SAMPLE_VALUES)][:SAMPLE_VALUES].clone()
    whole = flat.sum(dtype=torch.float64).item() \
        if flat.numel() <= WHOLE_VALUES and not flat.is_complex() else None
    return tuple(x.shape), x.dtype, sample, whole


def _same(a: tuple, b: tuple) -> bool:
    return a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2]) and a[3] == b[3]
