"""Which side won each max(): what a gradient check needs to recognise a kink.

Layers and losses whose forward takes a max (ReLU, leaky ReLU, the SVM hinge, the L1 penalty's
|w| = max(w, -w)) call `record(side)` with a function returning a boolean array that says,
element by element, which side won. The function runs only inside `recording()`, the block a
gradient check opens around one evaluation, so outside a check a max costs one lookup and no
mask; every caller goes through this one guard. A gradient check records f(x+h) and f(x-h)
and compares the masks: where they differ, the finite difference straddled a kink and its
disagreement with the analytic gradient is not the code's fault.

The open recording lives in a `ContextVar`: scoped to the `with` block (nested blocks each
get their own list), and private to the thread or task that opened it.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["record", "recording", "crossed"]

_recording: ContextVar[list | None] = ContextVar("babysit_kinks", default=None)


def record(side: Callable[[], object]) -> None:
    """Called by a layer that takes a max: `side()` returns the bool array of which side won.
    It is called (and its array kept) only inside `recording()`."""
    masks = _recording.get()
    if masks is not None:
        masks.append(side().copy())


@contextmanager
def recording():
    """Collect the masks of every max taken inside the block, in order (yields the list)."""
    masks: list = []
    token = _recording.set(masks)
    try:
        yield masks
    finally:
        _recording.reset(token)


def crossed(before: list, after: list) -> bool:
    """True when any max() changed sides between two recordings of the same computation."""
    if len(before) != len(after):
        return True
    pairs = zip(before, after, strict=True)
    return any(a.shape != b.shape or bool((a != b).any()) for a, b in pairs)
