"""Which side won each max(): what a gradient check needs to recognise a kink.

Layers and losses whose forward takes a max (ReLU, leaky ReLU, the SVM hinge)
call `record(mask)` with a boolean array saying, element by element, which
side won. Outside `recording()` this costs one global lookup. A gradient check
records f(x+h) and f(x-h) and compares the masks: where they differ, the finite
difference straddled a kink and its disagreement with the analytic gradient is
not the code's fault.
"""

from __future__ import annotations

from contextlib import contextmanager

_active: list | None = None


def record(mask) -> None:
    """Called by a layer with `mask` (bool array): which side of its max won."""
    if _active is not None:
        _active.append(mask.copy())


def is_recording() -> bool:
    """True inside `recording()`: a layer computes a mask only for it to be recorded."""
    return _active is not None


@contextmanager
def recording():
    """Collect the masks of every max taken inside the block, in order."""
    global _active
    outer, _active = _active, []
    try:
        yield _active
    finally:
        _active = outer


def crossed(before: list, after: list) -> bool:
    """True when any max() changed sides between two recordings of the same computation."""
    if len(before) != len(after):
        return True
    pairs = zip(before, after, strict=True)
    return any(a.shape != b.shape or bool((a != b).any()) for a, b in pairs)
