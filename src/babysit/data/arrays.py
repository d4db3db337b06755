"""Looking at a feature array without copying it: where its first NaN or inf is (block by
block), and whether it is memory-mapped (data that stays on disk)."""

from __future__ import annotations

import mmap

import numpy as np


def first_non_finite(X: np.ndarray, block_values: int = 2**22) -> tuple[int, int] | None:
    """(row, column) of the first NaN or inf of X (N, D), or None. Checked in blocks of
    about `block_values` entries, so no mask as large as X is made (nor read into memory,
    when X is memory-mapped)."""
    if X.dtype.kind != "f":
        return None
    rows = max(1, block_values // max(1, X.shape[1]))
    for start in range(0, X.shape[0], rows):
        bad = ~np.isfinite(X[start:start + rows])
        if bad.any():
            row, col = np.argwhere(bad)[0]
            return start + int(row), int(col)
    return None


def is_memory_mapped(X) -> bool:
    """True when X is (a view of) a memory-mapped file, e.g. `np.load(path, mmap_mode="r")`:
    data that stays on disk and is read a batch or a chunk at a time."""
    while X is not None:          # a view's base chain ends at the mmap when it is one
        if isinstance(X, mmap.mmap):
            return True
        X = getattr(X, "base", None)
    return False
