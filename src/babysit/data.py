"""Datasets: the embedded digits, with stratified, seeded train/val/test splits.

`load(name)` returns a `Dataset` whose `.train`, `.val` and `.test` are `Split`
named tuples `(X, y)`: X (N, D) float32, y (N,) int64 class indices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np


class Split(NamedTuple):
    """One part of a dataset: X (N, D) features and y (N,) targets."""

    X: np.ndarray
    y: np.ndarray


@dataclass
class Dataset:
    """Train/val/test splits plus what a report needs to draw them.

    `image_shape` is (H, W) or (H, W, C) when each row of X is an image, else None.
    `class_names` labels the classes in order.
    """

    name: str
    train: Split
    val: Split
    test: Split
    image_shape: tuple[int, ...] | None = None
    class_names: list[str] = field(default_factory=list)

    @property
    def n_features(self) -> int:
        return self.train.X.shape[1]

    @property
    def n_classes(self) -> int:
        return len(self.class_names) if self.class_names else int(self.train.y.max()) + 1


def validate(X, y, name: str = "X") -> tuple[np.ndarray, np.ndarray]:
    """Check features and labels at the door: shapes, emptiness, finiteness, integer labels.

    Returns X as a float array (float32 unless already float64) and y as int64 when
    it holds whole numbers. Raises ValueError naming the problem and where it is.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-d array (N, D), got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} is empty: no examples to train or evaluate on")
    if y.ndim == 0:
        raise ValueError(f"the labels of {name} must hold one entry per row, got a scalar")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"{name} has {X.shape[0]} rows but the labels have {y.shape[0]}")
    if X.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be numeric, got dtype {X.dtype}")
    if X.dtype != np.float64:
        X = X.astype(np.float32, copy=False)
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(f"{name} holds a non-finite value ({X[row, col]}) at row {row}, "
                         f"column {col}; clean or impute the data first")
    return X, y


def class_labels(y, n_classes: int | None = None) -> np.ndarray:
    """Check that `y` holds integer class indices in [0, n_classes); return them as int64."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"labels must be a 1-d array of class indices, got shape {y.shape}")
    if y.dtype.kind == "f":
        fractional = ~np.isfinite(y) | (y != np.round(y))
        if fractional.any():
            i = int(fractional.argmax())
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


def stratified_split(X, y, fractions=(0.6, 0.2, 0.2), seed: int = 0) -> tuple[Split, ...]:
    """Split (X, y) into parts with the given fractions, each class spread evenly, seeded."""
    from sklearn.model_selection import train_test_split

    fractions = np.asarray(fractions, dtype=float)
    if fractions.min() <= 0 or not np.isclose(fractions.sum(), 1):
        raise ValueError(f"split fractions must be positive and sum to 1, got {fractions.tolist()}")
    parts = []
    rest_X, rest_y, rest = X, y, 1.0
    for frac in fractions[:-1]:
        take_X, rest_X, take_y, rest_y = train_test_split(
            rest_X, rest_y, train_size=frac / rest, stratify=rest_y, random_state=seed)
        parts.append(Split(take_X, take_y))
        rest -= frac
    parts.append(Split(rest_X, rest_y))
    return tuple(parts)


def load_digits(seed: int = 0) -> Dataset:
    """scikit-learn's bundled 8x8 digits (1797 images), scaled to [0, 1], split 60/20/20."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    X = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    train, val, test = stratified_split(X, y, (0.6, 0.2, 0.2), seed=seed)
    return Dataset("digits", train, val, test, image_shape=(8, 8),
                   class_names=[str(c) for c in range(10)])


BUILTIN = {"digits": load_digits}


def load(name: str, seed: int = 0) -> Dataset:
    """Load a dataset by built-in name (see `BUILTIN`)."""
    if name not in BUILTIN:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(BUILTIN)}")
    return BUILTIN[name](seed=seed)
