"""Looking at a feature array without copying it: a block of rows at a time (`row_blocks`),
its columns' mean and spread (`column_mean_std`), where its first NaN or inf is, and whether
it is memory-mapped (data that stays on disk); and
checking one at the door (`check_features`: 2-d, numeric, finite, in the default float32 or
float64; and `class_labels`: integer class indices in range)."""

from __future__ import annotations

import mmap
from collections.abc import Iterator

import numpy as np

from babysit.backend import to_numpy

__all__ = ["row_blocks", "is_memory_mapped", "check_features", "as_float32", "binary_scale",
           "mean_std", "column_mean_std", "first_fractional",
           "regression_targets", "class_labels"]


def row_blocks(X, block_values: int = 2**20) -> Iterator[tuple[int, np.ndarray]]:
    """(start, X[start:start + rows]) over X (N, D), in blocks of about `block_values` entries
    (2^20: 4 MiB of float32): each a view, so a pass over a large or memory-mapped X holds one
    block (and what is computed from it) at a time, never an array as large as X."""
    rows = max(1, block_values // max(1, X.shape[1]))
    for start in range(0, X.shape[0], rows):
        yield start, X[start:start + rows]


def _first_non_finite(X: np.ndarray, block_values: int = 2**22) -> tuple[int, int] | None:
    """(row, column) of the first NaN or inf of X (N, D), or None. Checked in blocks of
    about `block_values` entries, so no mask as large as X is made (nor read into memory,
    when X is memory-mapped)."""
    if X.dtype.kind != "f":
        return None
    for start, block in row_blocks(X, block_values):
        bad = ~np.isfinite(block)
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


def check_features(X, name: str = "X") -> np.ndarray:
    """Check a feature matrix at the door: 2-d (N, D), not empty, numeric, finite.

    Returns X as a float array: float64 stays float64, anything else becomes float32
    (the default dtype). A memory-mapped X (`is_memory_mapped`) keeps its dtype, since
    converting it would read all of it into memory; the Trainer converts it batch by batch.
    A NaN or inf is a ValueError naming its row and column.
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-d array (N, D), got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} is empty: no examples to train or evaluate on")
    if X.shape[1] == 0:
        raise ValueError(f"{name} has no features: its shape is {X.shape}")
    if X.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be numeric, got dtype {X.dtype}")
    if X.dtype.kind == "f" and X.dtype.itemsize == 8:
        X = X.astype(np.float64, copy=False)        # native byte order
    elif not is_memory_mapped(X):
        X = as_float32(X, name)
    if not is_memory_mapped(X):
        # A NaN or inf makes the sum non-finite: one fast pass without a temporary array
        # answers for clean data (a sum that overflows although every value is finite only
        # costs the search below).
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(X.sum()):
                return X
    where = _first_non_finite(X)
    if where is not None:
        row, col = where
        raise ValueError(f"{name} holds a non-finite value ({X[row, col]}) at row {row}, "
                         f"column {col}; clean or impute the data first")
    return X


def as_float32(X: np.ndarray, name: str = "X") -> np.ndarray:
    """X (N, D) in the default dtype, float32; a finite value too large for it is a ValueError
    naming its row and column (the cast would silently turn it into inf)."""
    with np.errstate(over="ignore", invalid="ignore"):
        X32 = X.astype(np.float32, copy=False)
    if X32 is not X and X.dtype.kind == "f":
        overflowed = np.isinf(X32) & np.isfinite(X)
        if overflowed.any():
            row, col = np.argwhere(overflowed)[0]
            raise ValueError(f"{name} holds {X[row, col]} at row {row}, column {col}, beyond "
                             f"the range of float32 (about 3.4e38); rescale the data first")
    return X32


def regression_targets(y, name: str = "y") -> np.ndarray:
    """Regression targets y (N,) or (N, K) checked at the door: numbers, every one finite. A
    NaN or inf is a ValueError naming its row; let in, it would make the first step's loss
    non-finite, a divergence that no learning rate caused."""
    y = np.asarray(y)
    if y.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be numbers, got dtype {y.dtype}")
    if y.dtype.kind == "f" and y.size:
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(y.sum()):
                return y
        bad = ~np.isfinite(y.reshape(y.shape[0], -1)).all(axis=1)
        if bad.any():
            row = int(bad.argmax())
            raise ValueError(f"{name} holds a non-finite value ({y[row]}) at row {row}; clean "
                             f"or drop that row first")
    return y


def binary_scale(magnitudes) -> np.ndarray:
    """2^e for each magnitude m, with 2^(e-1) <= |m| < 2^e (1 for 0, NaN or inf), float64.
    Dividing values of about m by it brings them near 1 exactly (only their exponent
    changes), so that their sums and squares neither overflow (1e200) nor underflow (1e-300),
    and a result scaled back is bit for bit the unscaled arithmetic's where that did not."""
    return np.ldexp(1.0, np.frexp(np.asarray(magnitudes, dtype=np.float64))[1])


def mean_std(a, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The mean and standard deviation of finite numbers `a` along `axis`, in float64, at any
    magnitude: taken on a over a power of two near max|a| (`binary_scale`), and scaled back,
    so that neither the sums nor the squares overflow (targets of 1e200, float32 features of
    1e20) or underflow (targets of 1e-300, whose spread would read as 0). Each a float64 array
    of a's shape less `axis` (0-d for a 1-d `a`: float() takes it)."""
    a = np.asarray(a, dtype=np.float64)
    top = binary_scale(np.max(np.abs(a), axis=axis, keepdims=True))
    unit = a / top
    top = np.squeeze(top, axis=axis)
    return unit.mean(axis=axis) * top, unit.std(axis=axis) * top


def first_fractional(values: np.ndarray) -> int | None:
    """Index of the first entry of a float array (N,) that is not a whole number (2.5, NaN,
    inf), or None when every entry is one."""
    fractional = ~np.isfinite(values) | (values != np.round(values))
    return int(fractional.argmax()) if fractional.any() else None


def class_labels(y, n_classes: int | None = None) -> np.ndarray:
    """Check that `y` holds integer class indices in [0, n_classes); return them as int64."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"labels must be a 1-d array of class indices, got shape {y.shape}")
    if y.dtype.kind == "f":
        i = first_fractional(y)
        if i is not None:
            raise ValueError(f"labels must be integer class indices, got {y[i]} at position {i}")
    elif y.dtype.kind not in "iub":
        raise ValueError(f"labels must be integer class indices, got dtype {y.dtype}")
    y = y.astype(np.int64)
    if y.size and y.min() < 0:
        raise ValueError(f"labels must be >= 0, got {y.min()}")
    if n_classes is not None and y.size and y.max() >= n_classes:
        raise ValueError(f"label {y.max()} is out of range for {n_classes} classes "
                         f"(expected 0..{n_classes - 1})")
    return y


def column_mean_std(X, block_values: int = 2**20) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation (D,) float64 of each column of X (N, D).

    The column sums are matrix-vector products (ones @ block: BLAS, in X's float type) on
    contiguous copies of blocks of about `block_values` entries (one copy when X is that
    small, as `babysit.training.monitors.data_rows` keeps it): no float64 copy of X, little
    beside a memory-mapped file's training chunks, and a memory-mapped X is read, not loaded.
    (A float64 reduction over the strided rows took 0.9 ms of a 1-epoch 784-100-10 fit, most
    of it in the new pages of its 1.6 MB float64 temporary.) Two passes, corrected: the first
    gives a rough mean; the second sums the values less it, and their squares, so the mean
    and the spread are good to rounding of the spread, whatever the size of the mean."""
    X = to_numpy(X)
    dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    held = [np.array(X, dtype=dtype)] if X.size <= block_values else None

    def copies():
        return held or (np.array(block, dtype=dtype) for _, block in row_blocks(X, block_values))

    n = X.shape[0]
    with np.errstate(over="ignore", invalid="ignore"):
        rough = (sum(_column_sums(block) for block in copies()) / n).astype(dtype)
        shift, squares = np.zeros(X.shape[1]), np.zeros(X.shape[1])
        for block in copies():
            block -= rough
            shift += _column_sums(block)
            np.square(block, out=block)
            squares += _column_sums(block)
        shift /= n
        mean, std = rough + shift, np.sqrt(np.maximum(squares / n - shift * shift, 0.0))
    # A column whose squares (or sums) overflowed its float type, finite values all (float32
    # features of 1e20): taken again by `mean_std`, which scales before it squares
    overflowed = np.flatnonzero(~(np.isfinite(mean) & np.isfinite(std)))
    if overflowed.size:
        mean[overflowed], std[overflowed] = mean_std(X[:, overflowed])
    return mean, std


def _column_sums(block) -> np.ndarray:
    """The sum (D,) float64 of each column of a contiguous float block (rows, D)."""
    return (np.ones(block.shape[0], block.dtype) @ block).astype(np.float64)
