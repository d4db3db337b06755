"""Two ways a run's data can tell it the answers: the label among the inputs, and validation
rows that are training rows.

Both make a run look better than it is (near-perfect training and validation scores that new
data will not repeat), so neither shows in the loss or the units: they are read from the data
itself, once, when training begins (`babysit.training.monitors.DataStats`, the PyTorch bridge
on its probe batch).

- `label_columns(X, y, task)`: the features that give the label of every row, a value of
  their own for each class (or, for a regression, the target itself up to a scale and a shift).
- `copied_rows(X, X_val)`: the share of validation rows that equal a training row, beside the
  share of training rows that repeat another (a table whose rows repeat puts repeats on both
  sides of any split: that much is no leak).
"""

from __future__ import annotations

import numpy as np

from babysit.backend import make_rng, to_numpy
from babysit.data.arrays import column_mean_std, row_blocks

# The fewest within-class agreements that name a feature as the label: the rows of each class
# less one, summed (a class of n rows agrees with itself n - 1 times). A feature of k values
# unrelated to the label agrees that often by chance with odds near k ** -20; a class of one
# row tells nothing.
LABEL_AGREEMENTS = 20
# A regression's feature that is its target up to a scale and a shift: |correlation| this close
# to 1 (a strong honest feature, even one the target was made from with a little noise, is
# further off)
LABEL_CORRELATION = 1 - 1e-6
SCREEN_CORRELATION = 1 - 1e-3   # the screen in float32, whose sums are good to about 1e-5
# The most values (training and validation inputs together) `copied_rows` compares: every row
# of a table up to about a million values (~10 ms), none of a larger set (MNIST's 47 million:
# a pass over every row would cost more than a short fit's monitors together)
COPIED_VALUES = 2**20


def label_columns(X, y, task: str, groups=None) -> list[int]:
    """The columns of X (N, D) that give the label y (N,) on every row: for `task`
    "classify" (y integer classes), a column that is constant within each class of two rows
    or more and holds a different value in each, with at least LABEL_AGREEMENTS rows agreeing
    within their class, in two classes or more (a class of one row vouches for nothing: a
    sparse column is 0 on every row of the others and may hold anything there); where no
    column does alone, the label one-hot encoded: for every class a column with one value on
    its rows and another on every other class's, all from one encoded column when `groups`
    (D,) names each column's source (a table's 'grade' for 'grade=low'); for
    "regress" (y (N,) or (N, 1) floats), a column whose correlation with y is within 1e-6 of
    +-1. Columns with a non-finite value are left out. [] when none, or when y does not have
    one target per row. Read on a sample of a larger set, the columns found are worth reading
    again on every row (`DataStats` does)."""
    X, y = np.asarray(to_numpy(X)), np.asarray(to_numpy(y))
    if X.ndim != 2 or X.shape[0] < 3 or y.shape[:1] != X.shape[:1] or y.size != X.shape[0]:
        return []
    y = y.reshape(-1)
    if task == "regress" and y.dtype.kind in "fiu" and X.dtype.kind in "fiub":
        return _correlated_columns(X, y.astype(np.float64))
    if task != "classify" or not np.issubdtype(y.dtype, np.integer):
        return []
    order = np.argsort(y, kind="stable")
    labels = y[order]
    bounds = np.concatenate(([0], np.flatnonzero(labels[1:] != labels[:-1]) + 1, [labels.size]))
    starts, sizes = bounds[:-1], np.diff(bounds)
    starts, sizes = starts[sizes >= 2], sizes[sizes >= 2]     # the classes that can vouch
    if starts.size < 2 or int((sizes - 1).sum()) < LABEL_AGREEMENTS:
        return []
    # screen: a column must hold the same value in the first two rows of each class, and not
    # one value in all of them (cheap, and it rules out nearly every honest feature: most runs
    # stop at the first test); then read the few candidates on every row of those classes
    heads = X[order[starts]]                                # (classes, D)
    agree = (heads == X[order[starts + 1]]).all(axis=0)
    if not agree.any():
        return []
    candidates = np.flatnonzero(agree & np.isfinite(heads).all(axis=0)
                                & ~(heads == heads[:1]).all(axis=0))
    if candidates.size == 0:
        return []
    rows = np.concatenate([order[a:a + n] for a, n in zip(starts, sizes, strict=True)])
    block = X[np.ix_(rows, candidates)]
    bounds = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    low = np.minimum.reduceat(block, bounds, axis=0)       # (classes, candidates)
    high = np.maximum.reduceat(block, bounds, axis=0)      # NaN in a class: never equal
    constant = (low == high).all(axis=0)
    # each alone a value a class (a label column); else the label one-hot encoded: for every
    # class a column that holds one value on its rows and another on every other class's
    # (columns that only together tell the classes apart are left alone: two departments and
    # two buildings, each nearly the team, do so in a healthy table)
    alone = constant & (np.diff(np.sort(low, axis=0), axis=0) != 0).all(axis=0)
    if alone.any():
        return [int(j) for j in candidates[alone]]
    marks = {}                        # class -> the columns that mark it alone
    for j in np.flatnonzero(constant):
        values, first, counts = np.unique(low[:, j], return_index=True, return_counts=True)
        if values.size == 2 and counts.min() == 1:
            marks.setdefault(int(first[np.argmin(counts)]), []).append(int(candidates[j]))
    found = sorted(j for columns in marks.values() for j in columns)
    if len(marks) < starts.size or groups is not None and len({groups[j] for j in found}) > 1:
        return []     # (marks from several encoded columns: each column nearly the label)
    return found


def _correlated_columns(X, y) -> list[int]:
    """The columns of X (N, D) whose correlation with the float64 y (N,) is within 1e-6 of
    +-1. Rows with a non-finite target are left out. A screen in X's own float type, in row
    blocks (a BLAS product a block, and the columns' spreads by `column_mean_std`: no copy of
    X), keeps the columns within 1e-3 of +-1; those few are then read exactly, in float64,
    each divided by its largest magnitude (targets and values near the float limits do not
    overflow)."""
    keep = np.isfinite(y)
    if not keep.all():
        X, y = X[keep], y[keep]
    if y.size < 3:
        return []
    yc = y - y.mean()
    yc /= max(float(np.abs(yc).max()), np.finfo(np.float64).tiny)
    if not yc.any():
        return []
    kind = X.dtype if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    dots = np.zeros(X.shape[1])
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for start, block in row_blocks(X):
            block = np.asarray(block, dtype=kind)
            dots += yc[start:start + block.shape[0]].astype(kind) @ block
        _, spread = column_mean_std(X)
        rough = dots / y.size / (spread * float(np.sqrt(yc @ yc / y.size)))
    candidates = np.flatnonzero(np.abs(rough) >= SCREEN_CORRELATION)
    if candidates.size == 0:
        return []
    columns = np.asarray(X[:, candidates], dtype=np.float64)
    finite = np.isfinite(columns).all(axis=0)
    columns, candidates = columns[:, finite], candidates[finite]
    columns = columns / np.maximum(np.abs(columns).max(axis=0), np.finfo(np.float64).tiny)
    columns -= columns.mean(axis=0)
    norms = np.sqrt(np.einsum("ij,ij->j", columns, columns))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = (yc @ columns) / (norms * float(np.sqrt(yc @ yc)))
    return [int(j) for j in candidates[(norms > 0) & (np.abs(corr) >= LABEL_CORRELATION)]]


def copied_rows(X, X_val) -> dict | None:
    """How many validation rows are training rows: {"val": the share of the rows of X_val
    (M, D) equal to a row of X (N, D), "train": the share of the rows of X that equal another
    row of X}. Rows are compared bit for bit (by a 64-bit hash of their values). None when
    either is empty, their widths differ, or together they hold more than COPIED_VALUES
    values."""
    X, X_val = np.asarray(to_numpy(X)), np.asarray(to_numpy(X_val))
    if X.ndim != 2 or X_val.ndim != 2 or X.shape[1] != X_val.shape[1] or not X.size \
            or not X_val.size or X.size + X_val.size > COPIED_VALUES:
        return None
    # both in one type of 4 or 8 bytes: X's own when validation's is the same and one of them
    dtype = X.dtype if X.dtype == X_val.dtype and X.dtype.itemsize in (4, 8) \
        and X.dtype.kind in "fiu" else np.dtype(np.float64)
    train, val = _row_hashes(_words(X, dtype)), _row_hashes(_words(X_val, dtype))
    kept, where, counts = np.unique(train, return_inverse=True, return_counts=True)
    found = kept[np.minimum(np.searchsorted(kept, val), kept.size - 1)] == val
    return {"val": float(found.mean()), "train": float((counts[where] > 1).mean())}


def _row_hashes(words) -> np.ndarray:
    """A 64-bit hash (N,) uint64 of each row of `words` (N, W) uint32 (`_words`): each word times
    its own odd 64-bit weight, summed modulo 2^64. Equal rows hash equal; two distinct rows
    collide only where their word differences cancel, odds near 2^-33 for a pair of words
    that differ in one bit each (a sign bit in two columns) and near 2^-64 otherwise."""
    weights = make_rng(0).integers(0, 2**63, words.shape[1], dtype=np.uint64) * 2 + 1
    return words.astype(np.uint64) @ weights


def _words(X, dtype) -> np.ndarray:
    """The values of X (N, D) in `dtype` as 32-bit words (N, D or 2D) uint32, bit for bit
    (-0.0 and 0.0 differ)."""
    values = np.ascontiguousarray(X, dtype=dtype)
    return values.view(np.uint32).reshape(values.shape[0], -1)


__all__ = ["COPIED_VALUES", "LABEL_AGREEMENTS", "LABEL_CORRELATION", "SCREEN_CORRELATION",
           "copied_rows", "label_columns"]
