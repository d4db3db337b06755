"""Which rows go where: stratified, seeded hold-out indices and contiguous blocks, computed
from the labels alone, so that a loader can gather each part straight into its final array
(or, for a memory-mapped file, take views of it)."""

from __future__ import annotations

import numpy as np

__all__ = ["holdout_indices", "smallest_classes", "contiguous_blocks"]


def holdout_indices(y, n: int, seed: int = 0, class_names=None,
                    held_per_class: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The row indices `holdout` splits labels y (N,) into: (rest, held out), `n` held out,
    stratified and seeded, the rest holding at least one example of each class and the held
    out part at least `held_per_class` (the parts a later split makes of it). Computed from
    the labels alone, so a loader can gather each part straight from the raw images into its
    final array. `class_names` (the labels in index order, as the data writes them) name a
    class too small to split.

    The indices are scikit-learn's `train_test_split(arange(N), test_size=n, stratify=y,
    random_state=seed)` (its StratifiedShuffleSplit, step by step), computed here without
    importing scikit-learn, which alone holds about 100 MB of memory: more than MNIST's
    images as bytes; tests/data/test_data.py checks that the two agree. Where scikit-learn's
    shares would leave a small class out of a part, rows of the largest shares make up for
    it (`_within`).
    """
    y = np.asarray(y)
    if not 0 < n < len(y):
        raise ValueError(f"cannot hold out {n} of {len(y)} examples")
    classes, y_index, counts = np.unique(y, return_inverse=True, return_counts=True)
    if counts.min() < 1 + held_per_class or len(y) - n < len(classes) \
            or n < held_per_class * len(classes):
        raise ValueError(f"cannot hold out {n} of {len(y)} examples stratified over "
                         f"{len(classes)} classes ({smallest_classes(classes, counts, class_names)}"
                         f"): each class needs {1 + held_per_class} examples and each part one "
                         f"per class")
    rng = np.random.RandomState(seed)
    by_class = np.split(np.argsort(y_index, kind="stable"), np.cumsum(counts)[:-1])
    n_rest = _within(_approximate_mode(counts, len(y) - n, rng), 1, counts - held_per_class)
    n_held = _approximate_mode(counts - n_rest, n, rng)
    rest, held = [], []
    for rows, count, k_rest, k_held in zip(by_class, counts, n_rest, n_held, strict=True):
        rows = rows.take(rng.permutation(count), mode="clip")
        rest.append(rows[:k_rest])
        held.append(rows[k_rest:k_rest + k_held])
    return rng.permutation(np.concatenate(rest)), rng.permutation(np.concatenate(held))


def _approximate_mode(counts: np.ndarray, n_draws: int, rng) -> np.ndarray:
    """How many of each class (counts (C,)) a stratified draw of `n_draws` takes: the
    proportional share rounded down, the rest given to the largest remainders (ties broken
    by `rng`), as scikit-learn's `_approximate_mode` does. (C,) int."""
    continuous = counts / counts.sum() * n_draws
    floored = np.floor(continuous)
    need = int(n_draws - floored.sum())
    if need > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (tied,) = np.where(remainder == value)
            take = min(len(tied), need)
            floored[rng.choice(tied, size=take, replace=False)] += 1
            need -= take
            if need == 0:
                break
    return floored.astype(int)


def _within(drawn: np.ndarray, low, high) -> np.ndarray:
    """The per-class draws `drawn` (C,) int moved into [low, high] (each a number or (C,)),
    their sum kept: a class short of `low` takes a row from the class with the most to spare
    above it, a class beyond `high` gives one to the class with the most room below it, one
    row at a time. Draws already within are returned unchanged. (C,) int."""
    drawn = drawn.copy()
    low, high = np.broadcast_to(low, drawn.shape), np.broadcast_to(high, drawn.shape)
    for i in np.flatnonzero(drawn < low):
        while drawn[i] < low[i]:
            giver = int(np.argmax(drawn - low))
            drawn[giver], drawn[i] = drawn[giver] - 1, drawn[i] + 1
    for i in np.flatnonzero(drawn > high):
        while drawn[i] > high[i]:
            taker = int(np.argmax(high - drawn))
            drawn[taker], drawn[i] = drawn[taker] + 1, drawn[i] - 1
    return drawn


def _class_words(indices, class_names=None) -> str:
    """Classes named as the user wrote them: "'Chinstrap'", "'a' and 'b'" from the class
    indices and `class_names` (the labels in index order), the indices where names are not
    known (or the index lies beyond them: a stray label), at most three named."""
    indices = [int(i) for i in indices]
    named = class_names is not None
    words = [repr(str(class_names[i])) if named and 0 <= i < len(class_names) else str(i)
             for i in indices[:3]] + ([f"{len(indices) - 3} more"] if len(indices) > 3 else [])
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def smallest_classes(classes, counts, class_names=None, noun: str = "") -> str:
    """The classes with the fewest examples, for an error that a split cannot be made:
    "the smallest, 'Sandal', has 1 example", or with noun="class" "the smallest classes,
    0 and 3, have 2 examples each". classes, counts: (C,) as `np.unique(y, return_counts=True)`
    gives them; `class_names` as for `_class_words`."""
    fewest = classes[counts == counts.min()]
    many, least = len(fewest) > 1, int(counts.min())
    label = f"the smallest {noun}{'es' if many else ''}" if noun else "the smallest"
    return (f"{label}, {_class_words(fewest, class_names)}, {'have' if many else 'has'} {least} "
            f"example{'s' if least > 1 else ''}{' each' if many else ''}")


def contiguous_blocks(y, fractions=(0.6, 0.2, 0.2), name: str = "the data",
                      class_names=None) -> list[tuple[int, int]]:
    """(start, stop) of contiguous blocks of rows, `fractions` (train, val, test) of the
    labels y (N,), in file order: how a memory-mapped file is split without copying it.
    Every block must hold every class (rows sorted by label would fail); `class_names` (the
    labels in index order) name a missing one."""
    fractions = np.asarray(fractions, dtype=float)
    if len(fractions) != 3 or fractions.min() <= 0 or not np.isclose(fractions.sum(), 1):
        raise ValueError(f"split fractions must be three positive numbers summing to 1, "
                         f"got {fractions.tolist()}")
    ends = np.round(np.cumsum(fractions) * len(y)).astype(int)
    bounds = [(0, int(ends[0])), (int(ends[0]), int(ends[1])), (int(ends[1]), len(y))]
    classes = np.unique(y)
    for part, (start, stop) in zip(("train", "val", "test"), bounds, strict=True):
        missing = np.setdiff1d(classes, y[start:stop])
        if missing.size:
            raise ValueError(f"{name}: the {part} block (rows {start}..{stop - 1}) holds no "
                             f"example of class {_class_words(missing[:1], class_names)}; a "
                             f"memory-mapped file is split in file order, so store its rows "
                             f"shuffled")
    return bounds
