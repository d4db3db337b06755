"""Whether a PyTorch loop trains on the same rows at every step.

`next(iter(loader))` inside the loop starts a new iterator each time (the first batch again,
unless the loader shuffles), and a batch sliced once before the loop is the same tensor at
every step: the model then learns those rows and nothing else, which reads as over-fitting.
The sitter passes the tensors of the first training forward of each optimizer step of the
first epoch here (at most STEPS steps; a step repeats the one before when every tensor does,
so a mask that stays the same beside new inputs is no repeat). Each tensor is kept as a
fingerprint (`_fingerprint`): its shape, SAMPLE_VALUES of its values gathered at positions
spread across every axis (a stride that shares no period with a row or an image, so that a
constant border is not all it reads), and a checksum of all its values weighted by their
position along the last axis (one-hot rows all sum to the same, and a sample seldom meets
their ones), for a contiguous input (a channels-last one would be copied whole). The
fingerprints stay on the input's device, and consecutive ones are compared once, when the
result is read: no copy of the input, no synchronisation with a GPU at each step. A loop that
copies each batch into one buffer it reuses gives the same tensor object holding new rows:
fingerprints are values, not references. Inputs that are not plain dense tensors (sparse,
nested) are not read. The first evaluations are fingerprinted too: a loop whose repeated
batch is also what it evaluates its training accuracy on trains full-batch, by design.
"""

from __future__ import annotations

import math

import torch

__all__ = ["EVALUATIONS", "RepeatedBatches", "SAMPLE_VALUES", "STEPS", "dense"]

SAMPLE_VALUES = 1024
# The first evaluations fingerprinted (a training-accuracy pass over the rows a full-batch
# loop steps on comes in the first epoch's first evaluations)
EVALUATIONS = 16
# The first steps compared: a long first epoch (or a loop that never closes one) stops
# adding fingerprints here
STEPS = 256


class RepeatedBatches:
    """The first training input of each step, as fingerprints; `result()` compares them."""

    def __init__(self):
        self._pending: tuple | None = None   # this step's first training call's tensors
        self._pending_rows: int | None = None   # ... and its rows, when given
        self._prints: list[tuple | None] = []
        self._evaluated: list[tuple] = []    # the fingerprints of the first evaluations
        self._rows = 0
        self._positions: dict = {}           # the sample's positions, by shape

    def see(self, *tensors: torch.Tensor, rows: int | None = None) -> None:
        """A training forward's tensors (its inputs, a mask beside them: a step repeats the one
        before only when all of them do); only the first call since the last step counts (a
        closure optimizer's repeated forwards, gradient checkpointing's recomputation).
        `rows`: the batch's rows where they are not the first tensor's first axis (a
        time-first RNN's sequences)."""
        tensors = _readable(tensors)
        if self._pending is None and len(self._prints) < STEPS and tensors:
            self._pending, self._pending_rows = tensors, rows

    def step(self) -> None:
        """After an optimizer step: keep its inputs' fingerprints."""
        if self._pending is None:
            return
        tensors, self._pending = self._pending, None
        self._rows = self._pending_rows if self._pending_rows is not None else \
            int(tensors[0].shape[0]) if tensors[0].ndim else 1
        self._prints.append(self._call_prints(tensors))

    def evaluated(self, *tensors: torch.Tensor) -> None:
        """An evaluation's tensors (the first EVALUATIONS of them are kept): a loop that
        evaluates its training rows on the very batch it steps on trains full-batch."""
        tensors = _readable(tensors)
        if tensors and len(self._evaluated) < EVALUATIONS:
            prints = self._call_prints(tensors)
            if prints is not None:
                self._evaluated.append(prints)

    def result(self) -> tuple[int, int, int, bool]:
        """(steps compared, steps whose inputs were the previous step's, rows of the last,
        whether the last step's inputs were also evaluated: the training set itself)."""
        same = sum(_all_same(a, b) for a, b in zip(self._prints[:-1], self._prints[1:],
                                                    strict=True))
        last = self._prints[-1] if self._prints else None
        whole = any(_all_same(last, e) for e in self._evaluated)
        return len(self._prints), same, self._rows, whole

    def close(self) -> None:
        """Drop what is held (the first epoch is over)."""
        self._pending, self._prints = None, []

    def _call_prints(self, tensors: tuple) -> tuple | None:
        """The fingerprints of a call's tensors, or None when one of them has none."""
        prints = tuple(self._fingerprint(t.detach()) for t in tensors)
        return None if None in prints else prints

    def _fingerprint(self, x: torch.Tensor) -> tuple | None:
        """(shape, dtype, device, sample, checksum), or None for an input with no value or of
        complex numbers (never the same as another). A 0-d tensor (a scalar argument beside
        the inputs) is its own sample."""
        if not x.numel() or x.is_complex():
            return None
        if not x.ndim:
            return (), x.dtype, x.device, x.reshape(1).clone(), None
        key = (tuple(x.shape), x.device)
        if key not in self._positions:
            weights = torch.rand(x.shape[-1], generator=torch.Generator().manual_seed(0))
            self._positions[key] = _positions(x), weights.to(x.device)
        at, weights = self._positions[key]
        total = None
        if x.is_contiguous():   # a product along the last axis: no temporary of the input's
            # size (a non-contiguous input, channels-last images, would be copied whole:
            # compared on its sample alone)
            weighed = x @ weights.to(x.dtype) if x.is_floating_point() \
                else x.to(torch.float32) @ weights
            total = weighed.sum(dtype=torch.float32)
        return tuple(x.shape), x.dtype, x.device, x[at], total


def dense(t: torch.Tensor) -> bool:
    """Whether `t` is a plain dense tensor: sparse and nested ones have no rows to read."""
    return t.layout == torch.strided and not t.is_nested


def _readable(tensors) -> tuple:
    """The plain dense tensors among `tensors`."""
    return tuple(t for t in tensors if dense(t))


def _positions(x: torch.Tensor) -> tuple:
    """Indices (one tensor an axis) of about SAMPLE_VALUES entries of x, one stride apart in
    the flat order, the stride coprime with the row length and with an entry's (a row of x's
    first axis) size, so that it walks across columns and across images."""
    n = x.numel()
    stride = max(1, n // SAMPLE_VALUES)
    row, entry = x.shape[-1], n // x.shape[0]
    while stride > 1 and (math.gcd(stride, row) != 1 or math.gcd(stride, entry) != 1):
        stride += 1
    flat = torch.arange(0, n, stride, device=x.device)[:SAMPLE_VALUES]
    return torch.unravel_index(flat, x.shape)


def _all_same(a: tuple | None, b: tuple | None) -> bool:
    """Whether two calls' fingerprints (one a tensor) agree, tensor for tensor."""
    return a is not None and b is not None and len(a) == len(b) \
        and all(_same(x, y) for x, y in zip(a, b, strict=True))


def _same(a: tuple, b: tuple) -> bool:
    if a[:3] != b[:3]:
        return False
    return _equal(a[3], b[3]) and (a[4] is None or b[4] is None or _equal(a[4], b[4]))


def _equal(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Value for value, a NaN equal to a NaN (the same rows hold their NaN in the same place)."""
    if a.is_floating_point():
        a, b = torch.nan_to_num(a, nan=0.5), torch.nan_to_num(b, nan=0.5)
    return bool(torch.equal(a, b))
