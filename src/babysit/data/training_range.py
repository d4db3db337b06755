"""New rows measured against the training rows' range: which values a model extrapolates to.

A network trained on body masses of 2,700-6,300 g still answers for a row of 40,000 g, with the
same confident probabilities; nothing in its output says that it has never seen such a row.
`far_outside` finds those cells so that `babysit predict` can say so and mark the rows, and
the scikit-learn estimators (`babysit.sklearn`) warn of them the same way:

    ranges = ranges_of(X_train)              # (C, 3): each column's training min, max, std
    far = measure(X_new, ranges, columns)    # or far_outside(table, numbers) for a table
    far.mask                                 # (N, C) bool: the cell lies far outside
    far.summary()                            # "3 of 120 rows hold values far outside ..."

"Far" is `FAR_BEYOND_RANGE_STDS` (3) training standard deviations beyond the training rows'
min or max, per numeric column (`TableEncoder.ranges_`). Why beyond the range and not from the
mean: a feature with a heavy tail (breast cancer's "area error" reaches 11 std above its mean
in ordinary rows) would raise false alarms on its own test rows under a "6 std from the mean"
rule, while its training range already covers such values. Why 3 std beyond it: for a
bell-shaped feature the min and max of a few hundred rows sit about 3 std from the mean, so
3 std beyond them is about the notes' 6 sigma from the mean, far past where any training row
taught the network anything; a new row that merely nudges the max is not called far.
Missing cells (filled with the median) and text columns are never far.

Near-constant columns (`scales`): the std is floored at `RELATIVE_SCALE_FLOOR` (1e-4) times
the column's magnitude (the larger of |min| and |max|). A column constant in training has a
std of float noise, not 0 (the std of seven 0.1s is 1.4e-17), and dividing by it would call
0.1000001 far; so would a column whose values differ only in their last printed digit. The
floor sits well above such noise (numbers written to 6 significant digits differ by at most
5e-6 of their magnitude, float32 round trips by 6e-8) and well below the spread of real
columns, even narrow ones (a year over a decade: 1.4e-3 of its magnitude; latitudes within
one city: 7e-4), which it leaves alone. A constant training column therefore calls far only a
value more than 3e-4 of its magnitude away from the constant: the network never saw that
column vary, so any variation beyond noise is an extrapolation. A column of zeros has no
magnitude to be relative to: it is measured in units of 1, as `Standardize` scales it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from babysit.data.arrays import binary_scale, row_blocks

if TYPE_CHECKING:
    from babysit.data.tabular import TableEncoder

__all__ = ["RULE", "ExtrapolationWarning", "BLOCK_CELLS", "ranges_of", "widened", "scales",
           "far_cells", "far_columns", "FarOutside", "measure", "far_outside"]

FAR_BEYOND_RANGE_STDS = 3.0
RELATIVE_SCALE_FLOOR = 1e-4     # the least std, relative to a column's magnitude (see above)
RULE = (f"more than {FAR_BEYOND_RANGE_STDS:g} training standard deviations beyond the "
        f"training rows' min or max")


class ExtrapolationWarning(UserWarning):
    """Some new rows hold values far outside the training range: the model extrapolates."""


# Rows are read in blocks of about this many cells (`row_blocks`), each in float64:
# `ranges_of` holds 8 MB more than its input, where a float64 copy for np.nanstd held 4.5
# times a float32 X (808 MB for MNIST's 180 MB of training images, at the start of every
# estimator's fit).
BLOCK_CELLS = 2**20


def ranges_of(numbers) -> np.ndarray:
    """The training ranges of numbers (N, C) (NaN where a cell is missing): (C, 3) float64,
    each column's min, max and standard deviation over its present cells, what `measure`
    measures new rows against. Every column needs a present cell. The std is np.nanstd's
    two passes (the mean, then the squared deviations, taken over `binary_scale` of the
    column's largest magnitude), over blocks of rows."""
    numbers = np.asarray(numbers)

    def blocks():   # (block (n, C) float64 with missing cells as 0, present (n, C) bool)
        for _, rows in row_blocks(numbers, BLOCK_CELLS):
            block = np.array(rows, dtype=np.float64)
            missing = np.isnan(block)
            block[missing] = 0.0
            yield block, ~missing

    count, total = 0, 0.0
    low = high = np.full(numbers.shape[1], np.nan)
    for block, present in blocks():
        count, total = count + present.sum(axis=0), total + block.sum(axis=0)
        low = np.fmin(low, np.where(present, block, np.inf).min(axis=0))
        high = np.fmax(high, np.where(present, block, -np.inf).max(axis=0))
    mean = total / count
    # deviations over a power of two near the column's largest magnitude (exact): squares of
    # 1e200 would overflow
    top = binary_scale(np.fmax(np.abs(low), np.abs(high)))
    squares = sum(np.square(np.where(present, (block - mean) / top, 0.0)).sum(axis=0)
                  for block, present in blocks())
    return np.stack([low, high, np.sqrt(squares / count) * top], axis=1)


def widened(ranges: np.ndarray, numbers) -> np.ndarray:
    """`ranges` (C, 3) with their min and max widened to take in more training rows numbers
    (N, C) (an estimator's `partial_fit`); the std stays the first rows' (their spread is an
    estimate of the column's, as the preprocessing fitted on them is)."""
    more = ranges_of(numbers)
    return np.column_stack([np.fmin(ranges[:, 0], more[:, 0]),
                            np.fmax(ranges[:, 1], more[:, 1]), ranges[:, 2]])


def scales(ranges: np.ndarray) -> np.ndarray:
    """(C,) float64: the unit distances are measured in, per column of `ranges` (C, 3): the
    training std, at least `RELATIVE_SCALE_FLOOR` times the column's magnitude, 1 for a column
    of zeros (and for a text column's NaN range, which measures nothing)."""
    low, high, std = ranges.T
    scale = np.fmax(std, RELATIVE_SCALE_FLOOR * np.fmax(np.abs(low), np.abs(high)))
    return np.where(scale > 0, scale, 1.0)


def _float_dtype(numbers: np.ndarray):
    """The dtype the new rows are measured in: theirs when float (a float32 X is not copied
    into float64), else float64."""
    return numbers.dtype if numbers.dtype.kind == "f" else np.dtype(np.float64)


def _bounds(ranges: np.ndarray, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(C,) each, in numbers' `_float_dtype`: the values beyond which a cell lies far outside
    `ranges` (C, 3), `FAR_BEYOND_RANGE_STDS` `scales` below the min and above the max (NaN
    for a text column: nothing is compared past it)."""
    margin, dtype = FAR_BEYOND_RANGE_STDS * scales(ranges), _float_dtype(numbers)
    with np.errstate(over="ignore"):      # a bound beyond float32 is inf: nothing lies past it
        return (ranges[:, 0] - margin).astype(dtype), (ranges[:, 1] + margin).astype(dtype)


def far_cells(numbers: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    """(N, C) bool: the cells of numbers (N, C) float that lie far outside `ranges` (C, 3),
    never a NaN (missing) cell nor a text column's cell."""
    low, high = _bounds(ranges, numbers)
    far = numbers > high
    far |= numbers < low
    return far


def far_columns(numbers: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    """(C,) bool: the columns of numbers (N, C) float that hold a cell far outside `ranges`
    (C, 3), as `far_cells` decides, from each column's largest and smallest value: two
    reductions and no (N, C) array, cheap enough for the estimators to run on every
    prediction (most find no column, and stop there)."""
    low, high = _bounds(ranges, numbers)
    return ((np.fmax.reduce(numbers, axis=0, initial=-np.inf) > high)
            | (np.fmin.reduce(numbers, axis=0, initial=np.inf) < low))


@dataclass
class FarOutside:
    """Where new rows lie far outside the training range: `distances` (N, C) float, how
    many training std (`scales`) each cell lies beyond the training min or max (0 inside, for
    text and missing cells), over the table's `columns` (C names); `mask` (N, C) bool, the
    cells that lie far outside (`far_cells`)."""

    distances: np.ndarray
    columns: list[str]
    mask: np.ndarray

    def columns_per_row(self) -> list[list[str]]:
        """For each of the N rows, the names of its columns that lie far outside ([] for an
        ordinary row)."""
        names = np.array(self.columns, dtype=object)
        return [names[row].tolist() for row in self.mask]

    def summary(self, of_rows: int | None = None) -> str | None:
        """One line for the whole table: how many rows lie far outside (of `of_rows`, by
        default these N: the whole table when these are only its far rows), in which columns
        and how far; None when none does."""
        mask = self.mask
        far_rows = int(mask.any(axis=1).sum())
        if not far_rows:
            return None
        counts, furthest = mask.sum(axis=0), self.distances.max(axis=0, initial=0.0)
        where = "; ".join(f"{name}: {counts[j]} row{'s' if counts[j] > 1 else ''}, up to "
                          f"{furthest[j]:.3g} training std beyond"
                          for j, name in enumerate(self.columns) if counts[j])
        return (f"{far_rows} of {of_rows or len(mask)} rows hold values far outside the "
                f"training range ({RULE}; {where}): their predictions are extrapolations")

    def warn(self, where: str = "", stacklevel: int = 2, of_rows: int | None = None) -> None:
        """One `ExtrapolationWarning` with the `summary` (of `of_rows`), prefixed by `where`
        (the file), when some row lies far outside; nothing otherwise."""
        summary = self.summary(of_rows)
        if summary is not None:
            warnings.warn(f"{where}{': ' if where else ''}{summary}", ExtrapolationWarning,
                          stacklevel=stacklevel + 1)


def measure(numbers: np.ndarray, ranges: np.ndarray, columns) -> FarOutside:
    """How far new rows numbers (N, C) float (NaN where missing) lie beyond the training
    `ranges` (C, 3) (`ranges_of`; NaN rows for text columns) of the C named `columns`.
    The distances keep numbers' float dtype (no float64 copy of a float32 X) and are
    computed in place."""
    low, high, scale = (v.astype(_float_dtype(numbers))
                        for v in (ranges[:, 0], ranges[:, 1], scales(ranges)))
    with np.errstate(over="ignore", invalid="ignore"):  # inf is far; NaN (missing, text): 0
        beyond = low - numbers
        np.fmax(beyond, numbers - high, out=beyond)
        beyond /= scale
        np.fmax(beyond, 0, out=beyond)
    return FarOutside(beyond, [str(c) for c in columns], far_cells(numbers, ranges))


def far_outside(table: TableEncoder, numbers: np.ndarray) -> FarOutside | None:
    """Measure new rows against the training ranges that `table` learned: numbers (N, C)
    float64 are their cells as `table.encode` parsed them (NaN where missing and in text
    columns); None when `table` holds no ranges (an encoder from a checkpoint saved before
    they were kept: no check, rather than a false "all ordinary")."""
    ranges = getattr(table, "ranges_", None)
    if ranges is None:
        return None
    return measure(numbers, ranges, table.columns_)
