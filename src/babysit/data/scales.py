"""How one set of input rows sits on another's scale: validation rows left raw while the
training rows were standardized, or scaled with statistics of their own.

A feature's centre is its mean and its spread its mean absolute deviation from it (a heavy
tail sways it less than the standard deviation). `val_scale` compares two arrays of rows;
`scale_against` compares two such summaries, for a caller that meets the rows at different
times (the PyTorch bridge sees evaluation batches before it knows the training rows' scale).
"""

from __future__ import annotations

import numpy as np

from babysit.backend import to_numpy

__all__ = ["OFF_SCALE", "centre_and_spread", "scale_against", "val_scale"]

# A feature is off training's scale when its spread is this many times training's (or this
# fraction of it), or its mean this many training spreads away. Rows split at random stay
# far inside both (digits: 20 validation rows drawn 200 times, no draw had 2 features in 10
# off); inputs left raw or scaled on their own statistics put most features past one or
# the other (raw wine: a spread 0.81x but a mean 3.05 spreads away, for the median feature).
# A split by time moves every mean alike and less (a trending series' lags, scaled alike:
# 2.3 spreads).
OFF_SCALE = 3.0


def centre_and_spread(a) -> tuple[np.ndarray, np.ndarray]:
    """Each column's mean and mean absolute deviation from it, (D,) float64 each, of a (N, D)."""
    a = to_numpy(a)
    with np.errstate(invalid="ignore", over="ignore"):
        mean = np.mean(a, axis=0, dtype=np.float64)
        return mean, np.mean(np.abs(a - mean), axis=0)


def scale_against(train: tuple[np.ndarray, np.ndarray], other: tuple[np.ndarray, np.ndarray],
                  rows: int) -> dict | None:
    """`other`'s (centre, spread) (D,) each, summarizing `rows` rows, against the training
    rows' `train`: {"shift": the median, over the features that vary in both (in training
    only, when none varies in both), of |other mean - training mean| / training spread,
    "ratio": the median of other spread / training spread, "rows": rows, "features": how many
    vary in both, "off": how many of those sit off training's scale (OFF_SCALE)}. Rows split
    at random give a shift near 0, a ratio near 1 and few features off. None when no feature
    varies in training or the widths differ."""
    (mean, spread), (other_mean, other_spread) = train, other
    if mean.shape != other_mean.shape:
        return None
    with np.errstate(invalid="ignore", over="ignore"):
        varying = np.isfinite(mean) & np.isfinite(other_mean) & np.isfinite(other_spread) \
            & np.isfinite(spread) & (spread > 1e-7 * np.abs(mean)) & (spread > 0)
        if not varying.any():
            return None
        shift = np.abs(other_mean[varying] - mean[varying]) / spread[varying]
        ratio = other_spread[varying] / spread[varying]
        # a feature that is constant on the other rows (a rare word absent from them) vouches
        # for no scale: the medians and the count are taken over the others
        both = ratio > 0
        if both.any():
            shift, ratio = shift[both], ratio[both]
        off = (ratio >= OFF_SCALE) | (ratio <= 1 / OFF_SCALE) | (shift >= OFF_SCALE)
    return {"shift": float(np.median(shift)), "ratio": float(np.median(ratio)), "rows": rows,
            "features": int(both.sum()), "off": int(off.sum()) if both.any() else 0}


def val_scale(rows, val_rows) -> dict | None:
    """How the validation inputs sit against the training inputs' scale, from a sample of the
    rows of each (N, D) and (M, D): `scale_against` of their summaries, with "rows" M.
    Validation inputs left raw, or scaled by other statistics than training's, give a ratio
    far from 1. None when either holds no row, the widths differ or no feature varies."""
    rows, val_rows = to_numpy(rows), to_numpy(val_rows)
    if rows.shape[1:] != val_rows.shape[1:] or not rows.size or not val_rows.size:
        return None
    return scale_against(centre_and_spread(rows), centre_and_spread(val_rows),
                         int(val_rows.shape[0]))
