"""Whether a PyTorch loop trains on the same rows at every step.

`next(iter(loader))` inside the loop starts a new iterator each time (the first batch again,
unless the loader shuffles), and a batch sliced once before the loop is the same tensor at
every step: the model then learns those rows and nothing else, which reads as over-fitting.
The sitter passes the first training input of each optimizer step of the first epoch here
(at most STEPS steps). Each is kept as a fingerprint (`_fingerprint`): its shape, SAMPLE_VALUES
of its values gathered at positions spread across every axis (a stride that shares no period
with a row or an image, so that a constant border is not all it reads), and the sum of all
its values (sparse inputs' samples may agree by chance). The fingerprints stay on the input's
device, and consecutive ones are compared once, when the result is read: no copy of the
input, no synchronisation with a GPU at each step. A loop that copies each batch into one
buffer it reuses gives the same tensor object holding new rows: fingerprints are values, not
references.
"""

from __future__ import annotations

import math

import torch

__all__ = ["RepeatedBatches", "SAMPLE_VALUES", "STEPS"]

SAMPLE_VALUES = 1024
# The first steps compared: a long first epoch (or a loop that never closes one) stops
# adding fingerprints here
STEPS = 256


class RepeatedBatches:
    """The first training input of each step, as fingerprints; `result()` compares them."""

    def __init__(self):
        self._pending: torch.Tensor | None = None   # this step's first training input
        self._prints: list[tuple] = []
        self._rows = 0
        self._positions: dict = {}                  # the sample's positions, by shape

    def see(self, x: torch.Tensor) -> None:
        """A training forward's input; only the first since the last step counts (a closure
        optimizer's repeated forwards, gradient checkpointing's recomputation)."""
        if self._pending is None and len(self._prints) < STEPS:
            self._pending = x

    def step(self) -> None:
        """After an optimizer step: keep its input's fingerprint."""
        if self._pending is None:
            return
        x, self._pending = self._pending.detach(), None
        self._rows = int(x.shape[0]) if x.ndim else 1
        self._prints.append(self._fingerprint(x))

    def result(self) -> tuple[int, int, int]:
        """(steps compared, steps whose input was the previous step's, rows of the last)."""
        same = sum(_same(a, b) for a, b in zip(self._prints[:-1], self._prints[1:], strict=True))
        return len(self._prints), same, self._rows

    def close(self) -> None:
        """Drop what is held (the first epoch is over)."""
        self._pending, self._prints = None, []

    def _fingerprint(self, x: torch.Tensor) -> tuple:
        if not x.numel():
            return tuple(x.shape), x.dtype, None, None
        at = self._positions.get((tuple(x.shape), x.device))
        if at is None:
            at = self._positions[tuple(x.shape), x.device] = _positions(x)
        total = x.sum() if not x.dtype.is_complex and x.dtype != torch.bool \
            else x.to(torch.int64 if x.dtype == torch.bool else x.dtype).sum()
        return tuple(x.shape), x.dtype, x[at], total


def _positions(x: torch.Tensor) -> tuple:
    """Indices (one tensor an axis) of about SAMPLE_VALUES entries of x, one stride apart in
    the flat order, the stride coprime with the row length and with an entry's (a row of x's
    first axis) size, so that it walks across columns and across images."""
    n = x.numel()
    stride = max(1, n // SAMPLE_VALUES)
    row = x.shape[-1] if x.ndim else 1
    entry = n // x.shape[0] if x.ndim and x.shape[0] else 1
    while stride > 1 and (math.gcd(stride, row) != 1 or math.gcd(stride, entry) != 1):
        stride += 1
    flat = torch.arange(0, n, stride, device=x.device)[:SAMPLE_VALUES]
    return torch.unravel_index(flat, x.shape) if x.ndim else (flat,)


def _same(a: tuple, b: tuple) -> bool:
    if a[0] != b[0] or a[1] != b[1]:
        return False
    if a[2] is None:
        return True
    return bool(torch.equal(a[2], b[2])) and bool(torch.equal(a[3], b[3]))
