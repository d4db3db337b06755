"""The report's figures: the notes' babysitting plots, drawn from a `History` as SVG.

Every function returns the figure's SVG text (`babysit.report.svg.Chart`), a list of them
(one small chart per layer, laid out by the page), or None when the history lacks the data.
Every x axis is in epochs, as `babysit.training.history.EPOCH_CONVENTION` says: iteration i of a run
with n iterations per epoch sits at i / n, so epoch k spans k-1 to k. A run whose loss became
NaN or blew up is marked where it did, and its log-scale loss keeps every finite value in view.
"""

from __future__ import annotations

import math

import numpy as np

from babysit.diagnose import moving_average
from babysit.diagnose.symptoms import DEAD_WARNING, EXPLODE_FACTOR, SATURATED_WARNING
from babysit.report.svg import PALETTE, Chart, color, diverging, nice_step
from babysit.report.words import readable
from babysit.validation import shape_of_image

EPOCH_LABEL = "epoch (epoch k runs from k-1 to k)"
MARK_COLOR = "#b00020"
PERCENTILES = (0.05, 0.25, 0.5, 0.75, 0.95)  # the bands over time: 5-95, 25-75, median
SYMLOG_SPREAD = 50  # a spread this many times the start's is drawn on a symmetric-log axis
PENALTY_SHOWN = 0.05  # the penalty's share of the first loss from which its data loss is drawn
ACCURACY_SPAN = 0.1  # an accuracy axis spans at least this: a run stuck at chance looks flat


# -- where a run went wrong --------------------------------------------------------------------

def blowup_start(history) -> int | None:
    """The iteration (1-based) where the loss blew up for good: the first of the last run of
    losses above EXPLODE_FACTOR x `loss_ceiling()` (or non-finite) that lasts to the end of the
    recording or to the NaN. A spike that came back down is not it. None without one."""
    ceiling = history.loss_ceiling()
    if ceiling is None or not history.loss:
        return None
    loss = np.asarray(history.loss, dtype=np.float64)
    high = ~np.isfinite(loss) | (loss > EXPLODE_FACTOR * ceiling)
    if not high[-1]:
        return history.blowup_at() if history.nonfinite_at() is not None else None
    low = np.flatnonzero(~high)
    start = int(low[-1]) + 2 if low.size else 1
    return start if np.isfinite(loss[start - 1]) else None


def mark_trouble(chart: Chart, history, when: bool = True) -> list[str]:
    """Red lines where the loss blew up for good (dotted) and where it became NaN or infinite
    (dashed), each in the legend ("loss NaN", with the iteration when `when`); returns what
    was marked, for the caption."""
    marked = []
    for at, what, dash in ((blowup_start(history), f"above {EXPLODE_FACTOR:g}x its start", "2 3"),
                           (history.nonfinite_at(), "NaN", "6 3")):
        if at is None:
            continue
        value = history.loss[at - 1]
        if what == "NaN" and value is not None and not math.isnan(value):
            what = "infinite"
        chart.vline(float(history.in_epochs(at)), color=MARK_COLOR, dash=dash,
                    label=f"loss {what}" + (f" from {history.when(at)}" if when else ""))
        marked.append(what)
    return marked


# -- the loss ----------------------------------------------------------------------------------

def smoothing_window(history) -> int:
    """The moving average's window: a fiftieth of the run (1: too short to smooth)."""
    return max(1, len(history.loss) // 50)


def penalty_share(history) -> float:
    """The penalty's share of the first loss (0 without a penalty)."""
    if not history.reg_loss or not history.loss or not math.isfinite(history.loss[0]) \
            or history.loss[0] <= 0:
        return 0.0
    return float(history.reg_loss[0] or 0.0) / float(history.loss[0])


def shows_data_loss(history) -> bool:
    """Whether the loss plots draw the data loss apart: when the penalty is at least
    PENALTY_SHOWN of the first loss (below that the two lines lie on top of each other), and
    the data loss was recorded beside every loss (a damaged or hand-edited file may lack it)."""
    return len(history.data_loss) == len(history.loss) and penalty_share(history) >= PENALTY_SHOWN


def plot_loss(history, log: bool = False) -> str | None:
    """The loss per iteration against epochs: per batch (faint), its moving average, the data
    loss alone when a penalty is added, chance dotted, blow-up and NaN marked.

    Linear scale: the y axis stops a little above the start, so that a blow-up does not flatten
    the rest of the run into a line at 0 (what lies above is said in the legend). Log scale:
    every finite value in view."""
    x = np.asarray(history.epochs_axis())
    y = np.asarray(history.loss, dtype=np.float64)
    ok = np.isfinite(y) & ((y > 0) if log else True)
    if not ok.any():
        return None
    chart = Chart(f"Loss per iteration, {'log' if log else 'linear'} scale", EPOCH_LABEL,
                  "loss (log scale)" if log else "loss", y="log" if log else "linear")
    window = smoothing_window(history)
    chart.spread(x, np.where(ok, y, np.nan), opacity=0.35 if window > 1 else 1.0,
                 label="loss per batch")
    if window > 1:
        chart.line(x[window - 1:], moving_average(np.where(ok, y, np.nan), window),
                   label=f"moving average of {window} batches")
    if shows_data_loss(history):
        data = np.asarray(history.data_loss, dtype=np.float64)
        chart.line(x[window - 1:], moving_average(data, window), color=PALETTE[1], dash="5 3",
                   label="data loss (no penalty)" + (", same average" if window > 1 else ""))
    chance = history.meta.get("chance_loss")
    if chance:
        chart.hline(chance, label=f"chance {chance:.3g}")
    mark_trouble(chart, history)
    ceiling = history.loss_ceiling()
    top = float(y[ok].max())
    if not log and ceiling is not None and top > EXPLODE_FACTOR * ceiling:
        chart.ylim = (0.0, 1.3 * ceiling)
        chart.note(f"off the scale: up to {top:.2g}")
    chart.xlim = (0.0, float(x[-1]) * 1.01)
    return chart.svg()


def plot_epoch_loss(history) -> str | None:
    """The data loss per epoch, for every task: the mean over each epoch's batches (training)
    and on the validation split at its end (drawn at k for epoch k), log scale when it spans
    over a decade."""
    train = history.epoch_means(history.data_loss)
    val = [v if v is not None and math.isfinite(v) else None for v in history.val_loss]
    if not any(v is not None for v in train + val):
        return None
    values = np.asarray([v for v in train + val if v is not None and v > 0])
    log = values.size > 1 and values.max() > 10 * values.min()
    chart = Chart("Data loss per epoch", "epoch", "data loss" + (" (log scale)" if log else ""),
                  y="log" if log else "linear")
    chart.line(np.arange(1, len(train) + 1), train, markers=len(train) <= 60,
               label="training (mean of the epoch's batches)")
    if any(v is not None for v in val):
        chart.line(np.arange(1, len(val) + 1), val, color=PALETTE[1], markers=len(val) <= 60,
                   label="validation (at the epoch's end)")
    chance = history.meta.get("chance_loss")
    if chance and not log:
        chart.hline(chance, label=f"chance {chance:.3g}")
    mark_trouble(chart, history)
    chart.xlim = (0.0, max(len(train), len(val), 1) + 0.2)
    return chart.svg()


def plot_accuracy(history) -> str | None:
    """Train and validation accuracy at the end of each epoch (drawn at k for epoch k)."""
    if not any(a is not None for a in history.train_acc):
        return None
    chart = Chart("Accuracy at the end of each epoch", "epoch", "accuracy")
    epochs = np.arange(1, len(history.train_acc) + 1)
    many = len(epochs) <= 60
    chart.line(epochs, history.train_acc, markers=many, label="training (up to 10,000 examples)")
    if any(a is not None for a in history.val_acc):
        chart.line(np.arange(1, len(history.val_acc) + 1), history.val_acc, color=PALETTE[1],
                   markers=many, label="validation")
    mark_trouble(chart, history)
    chart.xlim = (0.0, max(len(epochs), float(history.in_epochs(history.nonfinite_at() or 0)))
                  + 0.2)
    chart.ylim = accuracy_limits(history.train_acc + history.val_acc)
    return chart.svg()


def accuracy_limits(values) -> tuple[float, float] | None:
    """An accuracy axis' range: the values' own, widened about their middle to ACCURACY_SPAN
    within [0, 1] when they span less, so that a run stuck at 0.10 draws a flat line rather
    than its noise zoomed to fill the plot; None (the chart's own) when they span more."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite or max(finite) - min(finite) >= ACCURACY_SPAN:
        return None
    middle = (max(finite) + min(finite)) / 2
    lo = min(max(middle - ACCURACY_SPAN / 2, 0.0), 1.0 - ACCURACY_SPAN)
    pad = 0.04 * ACCURACY_SPAN
    return lo - pad, lo + ACCURACY_SPAN + pad


def lr_changes(history) -> bool:
    """Whether the learning rate moved during the run (a schedule or decay)."""
    lr = np.asarray(history.lr, dtype=np.float64)
    lr = lr[np.isfinite(lr)]
    return lr.size > 1 and lr.max() > lr.min() * (1 + 1e-6)


def plot_lr(history) -> str | None:
    """The learning rate per iteration, when it changed (log scale)."""
    if not lr_changes(history):
        return None
    chart = Chart("Learning rate per iteration", EPOCH_LABEL, "learning rate (log scale)",
                  y="log")
    chart.line(history.epochs_axis(), history.lr, label="learning rate")
    mark_trouble(chart, history, when=False)
    return chart.svg()


def plot_update_ratios(history) -> str | None:
    """||update|| / ||value|| of every parameter (log scale), with the ~1e-3 rule of thumb."""
    rec = history.monitors.get("update_ratio")
    if not rec or not rec.get("iterations"):
        return None
    chart = Chart("Update-to-weight ratio per parameter", EPOCH_LABEL,
                  "||update|| / ||value|| (log)", y="log")
    epochs = history.in_epochs(rec["iterations"])
    weights = set(rec.get("weights", []))
    drawn = 0
    for i, (name, ratios) in enumerate(rec["params"].items()):
        y = np.asarray([math.nan if r is None else r for r in ratios], dtype=np.float64)
        if (np.isfinite(y) & (y > 0)).any():
            chart.line(epochs, y, color=color(i), width=1.6 if name in weights else 1.0,
                       dash="" if name in weights else "4 3", label=name)
            drawn += 1
    if not drawn:
        return None
    chart.hline(1e-3, label="~1e-3")
    mark_trouble(chart, history, when=False)
    chart.xlim = (0.0, max(float(history.in_epochs(history.iterations)),
                           float(epochs.max())) * 1.01)
    return chart.svg()


# -- layers over time ---------------------------------------------------------------------------

def constant(h) -> float | None:
    """The one value of a histogram summary whose values are all equal (its std is 0: an
    all-dead ReLU layer, a gradient exactly 0), else None. The monitors store such a layer's
    counts over a made-up unit-wide range around it (`babysit.training.monitors.histogram`),
    which is no spread of the data."""
    if h and h.get("counts") and h.get("std") == 0 and h.get("mean") is not None:
        return float(h["mean"])
    return None


def percentiles(h) -> list[float] | None:
    """The PERCENTILES of a histogram summary (lo, hi, counts), read off its cumulative
    counts by linear interpolation within a bin (every one the value itself for a
    `constant`); None without finite values."""
    if constant(h) is not None:
        return [constant(h)] * len(PERCENTILES)
    binned = _binned(h)
    if binned is None:
        return None
    lo, hi, counts = binned
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if total <= 0:
        return None
    edges = np.linspace(lo, hi, len(counts) + 1)
    cumulative = np.concatenate([[0.0], np.cumsum(counts)])
    return np.interp(np.asarray(PERCENTILES) * total, cumulative, edges).tolist()


def _spread(h) -> float:
    """The largest magnitude a histogram's values reach (0 without finite values)."""
    if constant(h) is not None:
        return abs(constant(h))
    binned = _binned(h)
    return max(abs(binned[0]), abs(binned[1])) if binned else 0.0


def _binned(h) -> tuple[float, float, list] | None:
    """A histogram summary's (lo, hi, counts), or None when it has no counts (no finite
    values) or its range is unknown: null in a damaged or hand-edited file, where the
    counts alone place no bar."""
    if not h or not h.get("counts") or h.get("lo") is None or h.get("hi") is None:
        return None
    return h["lo"], h["hi"], h["counts"]


def _layer_scale(first, later) -> tuple[str, float]:
    """("symlog", linthresh) when a layer's values spread over SYMLOG_SPREAD x the start's
    range (a blow-up), so the start stays visible; else ("linear", 1)."""
    start = _spread(first)
    widest = max((_spread(h) for h in later), default=0.0)
    if start > 0 and widest > SYMLOG_SPREAD * start:
        return "symlog", nice_step(start)  # a round threshold: round tick labels
    return "linear", 1.0


def plot_layer_bands(history, key: str) -> list[str] | None:
    """One small chart per layer: the median, 25-75 and 5-95 percentiles of its `key`
    ("activations" or "gradients") on the probe batch at every sample, against epochs
    (TensorBoard's histograms over time, flattened)."""
    rec = history.monitors.get("layers")
    if not rec or len(rec.get("samples", [])) < 2:
        return None
    samples = rec["samples"]
    x = history.in_epochs([s["iteration"] for s in samples])
    panels = []
    for i, name in enumerate(rec["names"]):
        hs = [s[key][i] for s in samples]
        qs = np.asarray([percentiles(h) or [math.nan] * len(PERCENTILES) for h in hs])
        if not np.isfinite(qs).any():
            continue
        kind, linthresh = _layer_scale(hs[0], hs[1:])
        chart = Chart(name, "epoch", "value" + (" (symlog)" if kind == "symlog" else ""),
                      y=kind, ylinthresh=linthresh, width=340, height=230)
        chart.band(x, qs[:, 0], qs[:, 4], opacity=0.18, label="5-95%")
        chart.band(x, qs[:, 1], qs[:, 3], opacity=0.35, label="25-75%")
        chart.line(x, qs[:, 2], width=1.6, label="median")
        mark_trouble(chart, history, when=False)
        panels.append(chart.svg())
    return panels or None


def plot_unit_health(history) -> str | None:
    """Per activation layer, the share of dead ReLUs (no output on any probe example) or of
    saturated tanh / sigmoid values at every sample, against epochs."""
    rec = history.monitors.get("layers")
    if not rec or len(rec.get("samples", [])) < 2:
        return None
    samples = rec["samples"]
    x = history.in_epochs([s["iteration"] for s in samples])
    chart = Chart("Dead or saturated units per layer", EPOCH_LABEL, "share of the layer")
    drawn = []
    for i, name in enumerate(rec["names"]):
        for what in ("dead", "saturated"):
            share = [(s["activations"][i] or {}).get(what) for s in samples]
            if any(v is not None for v in share):
                chart.line(x, share, color=color(len(drawn)), markers=len(x) <= 40,
                           label=f"{name}: {what}")
                drawn.append(what)
    if not drawn:
        return None
    chart.ylim = (-0.02, 1.02)
    for what, level, words, dash in (
            ("dead", DEAD_WARNING, "dead units the diagnosis reports", "2 3"),
            ("saturated", SATURATED_WARNING, "saturation the diagnosis warns of", "6 2")):
        if what in drawn:
            chart.hline(level, color=MARK_COLOR, dash=dash, label=f"{level:.0%}: {words}")
    mark_trouble(chart, history, when=False)
    return chart.svg()


def blown_up_layers(history, key: str) -> list[str]:
    """The layers whose `key` histograms are drawn on a symmetric-log axis (a blow-up)."""
    rec = history.monitors.get("layers")
    if not rec or not rec.get("samples"):
        return []
    first, last = rec["samples"][0], rec["samples"][-1]
    return [name for i, name in enumerate(rec["names"])
            if _layer_scale(first[key][i], [last[key][i]])[0] == "symlog"]


def plot_histograms(history, key: str) -> list[str] | None:
    """One chart per layer: the histogram of its `key` on the probe batch before training
    (outline) and at the last sample (filled). Counts on a log scale. When the end spreads
    over SYMLOG_SPREAD x the start (a blow-up), the x axis is symmetric-log and each bar's
    height is its count per unit of axis length, so that a bin spanning many decades is as
    low as its count spread over them is thin, never a block that reads as data."""
    rec = history.monitors.get("layers")
    if not rec or not rec.get("samples"):
        return None
    first, last = rec["samples"][0], rec["samples"][-1]
    if last["iteration"] == first["iteration"]:
        last = {key: [None] * len(rec["names"])}  # one sample: before training alone
    end = history.when(last.get("iteration", 0))
    panels = []
    for i, name in enumerate(rec["names"]):
        h0, h1 = first[key][i], last[key][i]
        kind, linthresh = _layer_scale(h0, [h1])
        ylabel = "count per axis unit (log)" if kind == "symlog" else "count (log scale)"
        chart = Chart(name, "value" + (" (symmetric log axis)" if kind == "symlog" else ""),
                      ylabel, x=kind, xlinthresh=linthresh, y="log", width=340, height=230)
        drawn = False
        for h, filled, label, c in ((h0, False, "before training", "#555555"),
                                    (h1, True, f"after {end}", PALETTE[0])):
            binned = _binned(h)
            if binned is None:
                continue
            lo, hi, counts = binned
            edges = np.linspace(lo, hi, len(counts) + 1)
            counts = np.asarray(counts, dtype=np.float64)
            if kind == "symlog":  # the count per unit of the axis the reader sees
                widths = np.diff(chart.x.raw(edges))
                counts = counts / np.where(widths > 0, widths, np.inf)
            chart.steps(edges, counts, color=c, filled=filled, label=label)
            drawn = True
        if drawn:
            panels.append(chart.svg() + _stats_line(h0, h1))
    return panels or None


def _stats_line(h0, h1) -> str:
    """The start's and the end's numbers under a histogram, as HTML."""
    return f'<p class="stats">{_stats("start", h0)}<br>{_stats("end", h1)}</p>'


def _stats(when: str, h) -> str:
    """"end: mean 0.12, std 0.5, dead 10%" for one histogram summary."""
    if not h or h.get("mean") is None:
        return f"{when}: no finite values"
    text = f"{when}: mean {h['mean']:.2g}"
    if h.get("std") is not None:  # null in a damaged file: the rest still said
        text += f", std {h['std']:.2g}"
    if h.get("dead") is not None:
        text += f", dead {h['dead']:.0%}"
    elif h.get("saturated") is not None:
        text += f", saturated {h['saturated']:.0%}"
    return text


# -- weights as images -------------------------------------------------------------------------

def weight_grid(W: np.ndarray, image_shape, cols: int | None = None) -> np.ndarray:
    """Tile the columns of W (n_in, k), each reshaped to `image_shape`, into one image.

    Each unit is min-max scaled to [0, 1] on its own (the shape matters, not the
    scale); tiles are separated by a 1-pixel border at 1.0. Returns (H', W') or
    (H', W', C) float array.
    """
    image_shape = tuple(image_shape)
    if int(np.prod(image_shape)) != W.shape[0]:
        raise ValueError(f"image_shape {image_shape} holds {int(np.prod(image_shape))} values "
                         f"but each unit has {W.shape[0]} input weights")
    k = W.shape[1]
    cols = cols or math.ceil(math.sqrt(k))
    rows = math.ceil(k / cols)
    lo, hi = W.min(axis=0), W.max(axis=0)
    scaled = (W - lo) / np.where(hi > lo, hi - lo, 1)
    h, w = image_shape[:2]
    channels = image_shape[2:] if len(image_shape) == 3 else ()
    tiles = np.ones((rows * cols, h, w, *channels))
    tiles[:k] = np.moveaxis(scaled.reshape(*image_shape, k), -1, 0)
    padded = np.ones((rows, cols, h + 1, w + 1, *channels))
    padded[:, :, 1:, 1:] = tiles.reshape(rows, cols, h, w, *channels)
    grid = np.moveaxis(padded, 2, 1).reshape(rows * (h + 1), cols * (w + 1), *channels)
    border = np.ones((grid.shape[0] + 1, grid.shape[1] + 1, *channels))
    border[:-1, :-1] = grid
    return border


def _gray(image: np.ndarray) -> np.ndarray:
    return (np.clip(image, 0, 1) * 255).round().astype(np.uint8)


def plot_first_layer(history) -> list[str] | None:
    """The first layer's weights: one image per unit when inputs are images, else a heatmap
    centred at zero (white 0, red positive, blue negative, one scale for both panels). When
    the monitor kept the weights from before training ("W_start"), they are drawn beside the
    latest ones, so a reader sees what training changed."""
    rec = history.monitors.get("first_layer")
    if not rec:
        return None
    W = np.asarray(rec["W"], dtype=np.float64)
    if W.size == 0 or not np.isfinite(W).all():
        return None
    start = rec.get("W_start")
    start = np.asarray(start, dtype=np.float64) if start is not None else None
    if start is not None and (start.shape != W.shape or not np.isfinite(start).all()):
        start = None
    shown = [(start, "before training")] if start is not None else []
    shown.append((W, f"after {history.when(rec['iteration'])}"))
    image_shape = weights_image_shape(history)
    top = max(float(np.abs(w).max()) for w, _ in shown)
    panels = []
    for weights, when in shown:
        if image_shape:
            grid = weight_grid(weights, image_shape)
            h, w = grid.shape[:2]
            chart = Chart(when, width=340, height=int(332 * h / w) + 28, axes=False)
            chart.image(_gray(grid), (0, w, 0, h))
        else:
            n_in, k = weights.shape
            chart = Chart(when, "input feature", "unit", width=340, height=260)
            chart.image(diverging(weights.T, top), (0, n_in, 0, k))
        panels.append(chart.svg())
    if not image_shape:
        panels.append(_colour_key(top))
    return panels


def weights_image_shape(history) -> tuple[int, ...] | None:
    """The image shape the first layer's weights are tiled in: `meta["image_shape"]` when it
    is an image's shape holding one value per input weight, else None, and they are drawn as
    a heatmap (a run of rows that are no images, or a damaged or hand-edited file's shape,
    which no picture can be cut to)."""
    rec = history.monitors.get("first_layer") or {}
    try:
        shape = shape_of_image(history.meta.get("image_shape"), "image_shape")
    except ValueError:
        return None
    return shape if math.prod(shape) == len(rec.get("W") or ()) else None


def _colour_key(top: float) -> str:
    """The heatmap's scale: -top (blue) through 0 (white) to +top (red)."""
    chart = Chart("Colour key: weight value", "", "", width=340, height=90, yticks=False)
    chart.image(diverging(np.linspace(-top, top, 101)[None, :], top), (-top, top, 0, 1))
    chart.ylim = (0, 1)
    return chart.svg()


def with_components(transform):
    """The fitted step of `transform` (itself or a Pipeline step) that has principal
    components to draw, or None."""
    for step in getattr(transform, "steps", (transform,)):
        if hasattr(step, "components_images") and hasattr(step, "components_"):
            return step
    return None


def plot_pca_components(pca, image_shape, top: int = 36) -> str:
    """The top principal components of the training data as images (the notes'
    "visualizing whitened images"): pca is a fitted babysit.data.preprocess.PCA."""
    top = min(top, pca.components_.shape[0])
    grid = weight_grid(pca.components_[:top].T, image_shape)
    h, w = grid.shape[:2]
    chart = Chart(f"Top {top} principal components", width=340,
                  height=int(332 * h / w) + 28, axes=False)
    chart.image(_gray(grid), (0, w, 0, h))
    return chart.svg()


# -- a regression's predictions -----------------------------------------------------------------

def plot_predictions(history) -> list[str] | None:
    """A regression's validation rows (`meta["predictions"]`): predicted against actual with the
    line of perfect predictions and the mean predictor (the training targets' mean, the
    baseline any model must beat), and the residuals (actual - predicted) against the
    prediction, with the mean predictor's RMSE as a band either side of 0."""
    rec = history.meta.get("predictions")
    # each part is there in a run's record; a damaged or hand-edited file may lack one
    if not rec or not rec.get("actual") or rec.get("train_mean") is None \
            or len(rec.get("predicted") or ()) != len(rec["actual"]):
        return None
    actual = np.asarray(rec["actual"], dtype=np.float64)
    predicted = np.asarray(rec["predicted"], dtype=np.float64)
    mean = float(rec["train_mean"])
    lo, hi = float(min(actual.min(), predicted.min())), float(max(actual.max(), predicted.max()))
    split = rec.get("split", "validation")
    scatter = Chart(f"Predicted against actual ({split})", "actual", "predicted", width=420,
                    height=320)
    scatter.points(actual, predicted, label=f"{len(actual):,} {split} rows")
    scatter.line([lo, hi], [lo, hi], color="#555555", width=1.0, dash="4 3",
                 label="perfect: predicted = actual")
    scatter.hline(mean, color=PALETTE[1], dash="6 3", label=f"mean predictor {mean:.4g}")
    residuals = actual - predicted
    baseline = float(np.sqrt(np.mean((actual - mean) ** 2)))
    spread = Chart(f"Residuals ({split})", "predicted", "actual - predicted", width=420,
                   height=320)
    spread.band([predicted.min(), predicted.max()], [-baseline] * 2, [baseline] * 2,
                color=PALETTE[1], opacity=0.15, label=f"+-RMSE of the mean predictor "
                f"{baseline:.4g}")
    spread.points(predicted, residuals, label="residual")
    spread.hline(0.0, color="#555555", label="0")
    return [scatter.svg(), spread.svg()]


# -- the learning-rate range test ---------------------------------------------------------------

def plot_lr_range(found: dict) -> str | None:
    """A learning-rate range test (`babysit.check.LRRange.to_dict()`): the loss per batch
    (faint) and smoothed against the rate on a log axis, its two candidates marked (the
    suggested one in red). The y axis holds the smoothed curve, so a raw spike cannot flatten
    it."""
    lrs = np.asarray(found.get("lrs") or [], dtype=np.float64)
    if lrs.size == 0:
        return None
    raw = np.asarray([math.nan if v is None else v for v in found["losses"]], dtype=np.float64)
    smooth = np.asarray([math.nan if v is None else v for v in found["smoothed"]],
                        dtype=np.float64)
    optimizer = readable(str(found.get("optimizer") or "")).split(",")[0]
    chart = Chart(f"Learning-rate range test, {optimizer}" if optimizer else
                  "Learning-rate range test", "learning rate (log)", "loss", x="log")
    chart.spread(lrs, raw, label="loss per batch")
    chart.line(lrs, smooth, label="smoothed loss")
    if np.isfinite(smooth).any():
        low, high = float(np.nanmin(smooth)), float(np.nanmax(smooth))
        pad = 0.05 * (high - low) + 1e-12
        chart.ylim = (low - pad, high + pad)
    for name, key, dash in (("steepest", "steepest", "6 3"), ("min/10", "min_over_10", "2 3")):
        if found.get(key) is not None:
            chosen = name == found.get("method")
            chart.vline(found[key], color=MARK_COLOR if chosen else "#777777", dash=dash,
                        label=f"{name} {found[key]:.1e}" + (" (suggested)" if chosen else ""))
    return chart.svg()


__all__ = ["ACCURACY_SPAN", "EPOCH_LABEL", "MARK_COLOR", "PENALTY_SHOWN", "PERCENTILES",
           "SYMLOG_SPREAD", "accuracy_limits", "blown_up_layers", "blowup_start", "constant",
           "lr_changes", "mark_trouble", "penalty_share", "percentiles", "plot_accuracy",
           "plot_epoch_loss", "plot_first_layer", "plot_histograms", "plot_layer_bands",
           "plot_loss", "plot_lr", "plot_lr_range", "plot_pca_components", "plot_predictions",
           "plot_unit_health", "plot_update_ratios", "shows_data_loss", "smoothing_window",
           "weight_grid", "weights_image_shape", "with_components"]
