"""How good regression predictions are, in the target's own units (accuracy is for classes).

    scores = regression_metrics(y_true, y_pred)   # {"rmse": ..., "mae": ..., "r2": ...}
    split_metrics(predict, data)                  # {"train_rmse": ..., ..., "test_r2": ...}
    scores_in_words(scores)                       # "RMSE 54.1  MAE 44  R^2 0.4420"
"""

from __future__ import annotations

import numpy as np

from babysit.data.arrays import binary_scale

__all__ = ["regression_metrics", "split_metrics", "scores_in_words"]


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """RMSE, MAE and R^2 of predictions y_pred against targets y_true, (N,) or (N, K).

    rmse = sqrt(mean((y - p)^2)) and mae = mean(|y - p|), both in the target's units;
    r2 = 1 - sum((y - p)^2) / sum((y - mean(y))^2): 1 is perfect, 0 is no better than always
    predicting the mean, below 0 is worse than that (for constant targets, where the ratio is
    undefined: 1 when the predictions are exact, else 0, as scikit-learn's r2_score). With K
    outputs each is measured on its own and the K figures averaged, as scikit-learn's
    `multioutput="uniform_average"` does: one mean pooled over outputs of different scales
    would make R^2 near 1 whatever the predictions. A target that is not finite is a
    ValueError; a prediction that is not (a diverged network's) makes the figures NaN.
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    t, p = (a.reshape(len(a), -1) if a.ndim else a.reshape(1, 1) for a in (y_true, y_pred))
    if t.shape != p.shape or t.size == 0:
        raise ValueError(f"y_true and y_pred must hold the same non-zero number of values per "
                         f"row, got shapes {y_true.shape} and {y_pred.shape}")
    if not np.isfinite(t).all():
        raise ValueError("y_true must be finite: a NaN or inf target has no error to measure")
    # each output measured in a power of two near its largest target (exact: the figures
    # are those of the unscaled arithmetic), and scaled back: squares of targets of 1e200
    # would overflow, and those of 1e-300 underflow to a perfect fit
    top = binary_scale(np.abs(t).max(axis=0))
    with np.errstate(over="ignore", invalid="ignore"):     # NaN predictions: NaN figures
        t, p = t / top, p / top
        error = t - p
        sse = (error ** 2).sum(axis=0)
        sst = ((t - t.mean(axis=0)) ** 2).sum(axis=0)
        r2 = np.where(sst > 0, 1.0 - sse / np.where(sst > 0, sst, 1.0),
                      np.where(np.isnan(sse), np.nan, (sse == 0).astype(float)))
        rmse = np.sqrt(sse / len(t)) * top
    return {"rmse": float(rmse.mean()), "mae": float((np.abs(error).mean(axis=0) * top).mean()),
            "r2": float(r2.mean())}


def split_metrics(predict, data) -> dict[str, float]:
    """`regression_metrics` on each split of a regression Dataset, in the target's units.

    predict: X (N, D) -> the network's standardized predictions (N,) or (N, 1); `data.target`
    restores them and the split's targets. Keys "train_rmse", "train_mae", ..., "test_r2";
    a split with no rows (a table with no test part) has None for each.
    """
    out = {}
    for part, split in (("train", data.train), ("val", data.val), ("test", data.test)):
        if len(split.y) == 0:
            out.update({f"{part}_{name}": None for name in ("rmse", "mae", "r2")})
            continue
        scores = regression_metrics(data.target.inverse_transform(split.y),
                                    data.target.inverse_transform(predict(split.X)))
        out.update({f"{part}_{name}": value for name, value in scores.items()})
    return out


def scores_in_words(scores: dict) -> str:
    """{"accuracy": a} as "accuracy 0.9611", or `regression_metrics`' dict as
    "RMSE 54.1  MAE 44.02  R^2 0.4420" (errors to 4 significant digits, in the target's units)."""
    if "accuracy" in scores:
        return f"accuracy {scores['accuracy']:.4f}"
    return f"RMSE {scores['rmse']:.4g}  MAE {scores['mae']:.4g}  R^2 {scores['r2']:.4f}"
