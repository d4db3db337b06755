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

# The fewest within-class agreements that name a feature as the label: the rows of each class
# less one, summed (a class of n rows agrees with itself n - 1 times). A feature of k values
# unrelated to the label agrees that often by chance with odds near k ** -20; a class of one
# row tells nothing.
LABEL_AGREEMENTS = 20
# A regression's feature that is its target up to a scale and a shift: |correlation| this close
# to 1 (a strong honest feature, even one the target was made from with a little noise, is
# further off)
LABEL_CORRELATION = 1 - 1e-6
# The most values (training and validation inputs together) `copied_rows` compares: every row
# of a table up to about a million values (~10 ms), none of a larger set (MNIST's 47 million:
# a pass over every row would cost more than a short fit's monitors together)
COPIED_VALUES = 2**20
# The odd constant `_row_hashes` mixes each value's bits with: 2^64 over the golden ratio
_MIX = np.uint64(0x9E3779B97F4A7C15)


def label_columns(X, y, task: str) -> list[int]:
    """The columns of X (N, D) that give the label y (N,) on every row: for `task`
    "classify" (y integer classes), a column that is constant within each class and holds a
    different value in each class, with at least LABEL_AGREEMENTS rows agreeing within their
    class; for "regress" (y (N,) or (N, 1) floats), a column whose correlation with y is
    within 1e-6 of +-1. Columns with a non-finite value are left out. [] when none, or when y
    does not have one target per row."""
    X, y = np.asarray(to_numpy(X)), np.asarray(to_numpy(y))
    if X.ndim != 2 or X.shape[0] < 3 or y.shape[:1] != X.shape[:1] or y.size != X.shape[0]:
        return []
    y = y.reshape(-1)
    if task == "regress":
        return _correlated_columns(X.astype(np.float64, copy=False), y.astype(np.float64))
    if task != "classify" or not np.issubdtype(y.dtype, np.integer):
        return []
    order = np.argsort(y, kind="stable")
    labels = y[order]
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    sizes = np.diff(np.r_[starts, labels.size])
    if starts.size < 2 or int((sizes - 1).sum()) < LABEL_AGREEMENTS:
        return []
    # screen: a column must hold a different value in the first row of each class, and the
    # same value in the first two rows of each class that has two (cheap, and it rules out
    # nearly every honest feature); then read the few candidates on every row
    heads = X[order[starts]]                                # (classes, D)
    pairs = starts[sizes >= 2]
    agree = (X[order[pairs]] == X[order[pairs + 1]]).all(axis=0)
    candidates = np.flatnonzero(agree & np.isfinite(heads).all(axis=0)
                                & ~(heads == heads[:1]).all(axis=0))
    ranked = np.sort(heads[:, candidates], axis=0)
    candidates = candidates[(np.diff(ranked, axis=0) != 0).all(axis=0)]
    if candidates.size == 0:
        return []
    block = X[np.ix_(order, candidates)]
    low = np.minimum.reduceat(block, starts, axis=0)       # (classes, candidates)
    high = np.maximum.reduceat(block, starts, axis=0)      # NaN in a class: never equal
    return [int(j) for j in candidates[(low == high).all(axis=0)]]


def _correlated_columns(X, y) -> list[int]:
    """The columns of X (N, D) float64 whose correlation with y (N,) is within 1e-6 of +-1.
    Rows with a non-finite target, and columns with a non-finite value, are left out; every
    column and y are divided by their largest magnitude first, so that values near the float
    limits (targets of 1e160) do not overflow in the products."""
    keep = np.isfinite(y)
    X, y = X[keep], y[keep]
    finite = np.isfinite(X).all(axis=0)
    if y.size < 3 or not finite.any():
        return []
    columns = np.flatnonzero(finite)
    X = X[:, columns]
    y = y / max(float(np.abs(y).max()), np.finfo(np.float64).tiny)
    X = X / np.maximum(np.abs(X).max(axis=0), np.finfo(np.float64).tiny)
    yc = y - y.mean()
    Xc = X - X.mean(axis=0)
    y_norm = float(np.sqrt(yc @ yc))
    norms = np.sqrt(np.einsum("ij,ij->j", Xc, Xc))
    if y_norm == 0:
        return []
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = (yc @ Xc) / (norms * y_norm)
    return [int(j) for j in columns[(norms > 0) & (np.abs(corr) >= LABEL_CORRELATION)]]


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
    weights = make_rng(0).integers(1, 2**63, X.shape[1], dtype=np.uint64) * 2 + 1
    train, val = _row_hashes(X, weights), _row_hashes(X_val, weights)
    _, where, counts = np.unique(train, return_inverse=True, return_counts=True)
    return {"val": float(np.isin(val, train).mean()),
            "train": float((counts[where] > 1).mean())}


def _row_hashes(X, weights) -> np.ndarray:
    """A 64-bit hash (N,) uint64 of each row of X (N, D): the bits of its values as float64
    (every float32 and integer value exactly; -0.0 and 0.0 differ), each mixed (its high bits
    folded into its low ones, times an odd constant), times odd 64-bit `weights` (D,),
    summed modulo 2^64. Equal rows hash equal; distinct rows collide with odds near 2^-64
    (a plain weighted sum of the bits would not mix a sign bit: two of them cancel)."""
    bits = np.ascontiguousarray(X, dtype=np.float64).view(np.uint64)
    mixed = bits ^ (bits >> np.uint64(32))
    mixed *= _MIX
    mixed ^= mixed >> np.uint64(29)
    return mixed @ weights



__all__ = ["COPIED_VALUES", "LABEL_AGREEMENTS", "LABEL_CORRELATION", "copied_rows",
           "label_columns"]
