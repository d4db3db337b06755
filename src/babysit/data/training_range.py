"""New rows measured against the training rows' range: which values a model extrapolates to.

A network trained on body masses of 2,700-6,300 g still answers for a row of 40,000 g, with the
same confident probabilities; nothing in its output says that it has never seen such a row.
`far_outside` finds those cells so that `babysit predict` can say so and mark the rows:

    far = far_outside(table, cells)          # None for a checkpoint without the ranges
    far.mask                                 # (N, C) bool: the cell lies far outside
    far.summary()                            # "3 of 120 rows hold values far outside ..."

"Far" is `FAR_BEYOND_RANGE_STDS` (3) training standard deviations beyond the training rows'
min or max, per numeric column (`TableEncoder.ranges_`). Why beyond the range and not from the
mean: a feature with a heavy tail (breast cancer's "area error" reaches 11 std above its mean
in ordinary rows) would raise false alarms on its own test rows under a "6 std from the mean"
rule, while its training range already covers such values. Why 3 std beyond it: for a
bell-shaped feature the min and max of a few hundred rows sit about 3 std from the mean, so
3 std beyond them is about the notes' 6 sigma from the mean, far past where any training row
taught the network anything; a new row that merely nudges the max is not called far. A column
constant in training (std 0) is measured in units of 1, as `Standardize` scales it. Missing
cells (filled with the median) and text columns are never far.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from babysit.data.tabular import TableEncoder, as_numbers, missing_cells

FAR_BEYOND_RANGE_STDS = 3.0
RULE = (f"more than {FAR_BEYOND_RANGE_STDS:g} training standard deviations beyond the "
        f"training rows' min or max")


@dataclass
class FarOutside:
    """Where new rows lie far outside the training range: `distances` (N, C) float64, how
    many training std each cell lies beyond the training min or max (0 inside, for text and
    missing cells), over the table's `columns` (C names)."""

    distances: np.ndarray
    columns: list[str]

    @property
    def mask(self) -> np.ndarray:
        """(N, C) bool: the cells that lie far outside (see `FAR_BEYOND_RANGE_STDS`)."""
        return self.distances > FAR_BEYOND_RANGE_STDS

    def columns_per_row(self) -> list[list[str]]:
        """For each of the N rows, the names of its columns that lie far outside ([] for an
        ordinary row)."""
        names = np.array(self.columns, dtype=object)
        return [names[row].tolist() for row in self.mask]

    def summary(self) -> str | None:
        """One line for the whole table: how many rows lie far outside, in which columns and
        how far; None when none does."""
        mask = self.mask
        far_rows = int(mask.any(axis=1).sum())
        if not far_rows:
            return None
        counts, furthest = mask.sum(axis=0), self.distances.max(axis=0, initial=0.0)
        where = "; ".join(f"{name}: {counts[j]} row{'s' if counts[j] > 1 else ''}, up to "
                          f"{furthest[j]:.3g} training std beyond"
                          for j, name in enumerate(self.columns) if counts[j])
        return (f"{far_rows} of {len(mask)} rows hold values far outside the training range "
                f"({RULE}; {where}): their predictions are extrapolations")


def far_outside(table: TableEncoder, cells: np.ndarray) -> FarOutside | None:
    """Measure new rows `cells` (N, C) str, in `table.columns_` order, against the training
    ranges that `table` learned; None when it holds none (an encoder from a checkpoint saved
    before they were kept: no check, rather than a false "all ordinary")."""
    ranges = getattr(table, "ranges_", None)
    if ranges is None:
        return None
    distances = np.zeros(cells.shape, dtype=np.float64)
    for j in np.flatnonzero(~np.isnan(ranges[:, 0])):          # the numeric columns
        column = np.char.strip(np.asarray(cells[:, j], dtype=str))
        numbers = as_numbers(column, missing_cells(column))
        low, high, std = ranges[j]
        beyond = np.fmax(low - numbers, numbers - high) / (std if std > 0 else 1.0)
        distances[:, j] = np.fmax(beyond, 0.0)             # a missing cell's NaN -> 0
    return FarOutside(distances, list(table.columns_))
