"""The report's figures: the notes' babysitting plots, drawn from a `History`.

Every x axis is in epochs, as `babysit.training.history.EPOCH_CONVENTION` says: iteration i of a run
with n iterations per epoch sits at i / n, so epoch k spans k-1 to k. A run whose loss became
NaN or blew up is marked where it did, and its log-scale loss keeps every finite value in view.

Figures are built with `matplotlib.figure.Figure` and saved through the Agg canvas: no pyplot,
no interactive backend, no global state touched, and `import babysit` stays free of Matplotlib
until a report is drawn.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from babysit.diagnose import moving_average
from babysit.training.history import BLOWUP

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_loss", "plot_accuracy", "plot_epoch_loss", "plot_update_ratios", "panel_rows",
           "plot_activations", "plot_gradients", "weight_grid", "plot_first_layer",
           "with_components", "plot_pca_components"]

DPI = 100
HALF = (5.6, 3.5)      # inches: a figure in one of the page's two columns (560 x 350 px)
FULL_WIDTH = 11.0      # inches: a figure across the page (1100 px)
EPOCH_LABEL = "epoch (epoch k runs from k-1 to k)"
START_STYLE = {"histtype": "step", "color": "#555555", "lw": 1.2}
END_STYLE = {"histtype": "stepfilled", "color": "#1f77b4", "alpha": 0.45, "edgecolor": "#1f77b4"}
MARK_COLOR = "#b00020"


def _figure(figsize) -> Figure:
    """A Matplotlib Figure for the Agg canvas (imported here, on first use)."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, dpi=DPI, layout="constrained")


def _finite(xs, ys):
    """The (x, y) pairs where y is a finite number (None, NaN and inf dropped)."""
    pairs = [(x, y) for x, y in zip(xs, ys, strict=True)
             if y is not None and math.isfinite(y)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _positive(xs, ys):
    """The (x, y) pairs with y > 0, for a log axis."""
    pairs = [(x, y) for x, y in zip(xs, ys, strict=True) if y > 0]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _epoch_axis(ax, history) -> None:
    """Label an x axis in epochs; whole epochs as ticks when there are few."""
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel(EPOCH_LABEL)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True, min_n_ticks=2))
    ax.set_xlim(left=0)


def _legend_below(fig, ax, cols: int = 2) -> None:
    """The axes' legend under the plot, where it hides no data."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=min(cols, len(handles)),
                   fontsize=8, frameon=False)


# -- where a run went wrong --------------------------------------------------------------------

def _mark_trouble(ax, history, text: bool = True) -> None:
    """A red line where the loss first blew up and where it became NaN, each labelled."""
    ipe = max(history.iters_per_epoch, 1)
    for at, what, style in ((history.blowup_at(), f"above {BLOWUP:g}x its start", ":"),
                            (history.nonfinite_at(), "NaN", "--")):
        if at is None:
            continue
        value = history.loss[at - 1]
        if what == "NaN" and value is not None and not math.isnan(value):
            what = "infinite"
        ax.axvline(at / ipe, color=MARK_COLOR, ls=style, lw=1.2,
                   label=f"loss {what} at {history.when(at)}" if text else None)


# -- the loss ----------------------------------------------------------------------------------

def plot_loss(history, log: bool = False) -> Figure | None:
    """The loss per iteration against epochs: raw (faint), a moving average, chance dotted.

    Linear scale: the y axis stops a little above the start, so that a blow-up does not flatten
    the rest of the run into a line at 0 (what lies above is said in the legend). Log scale:
    every finite value in view. Both mark where the loss blew up and where it became NaN.
    """
    x, y = _finite(history.epochs_axis(), history.loss)
    if log:
        x, y = _positive(x, y)
    if not x:
        return None
    fig = _figure(HALF)
    ax = fig.add_subplot()
    y = np.asarray(y)
    window = max(1, len(y) // 50)
    # faint under its moving average; a short run (no average) draws it plainly
    ax.plot(x, y, color="#1f77b4", alpha=0.3 if window > 1 else 1.0, lw=0.8 if window > 1 else 1.2,
            label="loss per batch")
    if window > 1:
        ax.plot(x[window - 1:], moving_average(y, window), color="#1f77b4", lw=1.8,
                label=f"moving average of {window}")
    if window > 1 and any(r for r in history.reg_loss if r):  # (unsmoothed, it hides the loss)
        xd, yd = _finite(history.epochs_axis(), history.data_loss)
        if log:
            xd, yd = _positive(xd, yd)
        if len(yd) >= window:
            ax.plot(xd[window - 1:], moving_average(np.asarray(yd), window), color="#ff7f0e",
                    lw=1.2, ls="--", label="data loss (no penalty)")
    chance = history.meta.get("chance_loss")
    if chance:
        ax.axhline(chance, color="gray", ls=":", lw=1, label=f"chance {chance:.3g}")
    _mark_trouble(ax, history)
    ceiling = history.loss_ceiling()
    if log:
        ax.set_yscale("log")
    elif ceiling is not None and y.max() > BLOWUP * ceiling:
        ax.set_ylim(0, 1.3 * ceiling)
        ax.plot([], [], " ", label=f"off the scale: up to {y.max():.2g}")
    _epoch_axis(ax, history)
    ax.set_ylabel("loss (log scale)" if log else "loss")
    ax.set_title(f"Loss per iteration, {'log' if log else 'linear'} scale", fontsize=11)
    ax.grid(alpha=0.3, which="both" if log else "major")
    _legend_below(fig, ax)
    return fig


def plot_accuracy(history) -> Figure | None:
    """Train and validation accuracy at the end of each epoch (drawn at k for epoch k)."""
    if not any(a is not None for a in history.train_acc):
        return None
    fig = _figure(HALF)
    ax = fig.add_subplot()
    epochs = list(range(1, len(history.train_acc) + 1))
    ax.plot(*_finite(epochs, history.train_acc), marker="o", ms=3, label="train")
    xv, yv = _finite(epochs, history.val_acc)
    if yv:
        ax.plot(xv, yv, marker="o", ms=3, label="validation")
    _mark_trouble(ax, history)
    _epoch_axis(ax, history)
    ax.set_xlim(0, max(len(epochs), (history.nonfinite_at() or 0) / history.iters_per_epoch)
                + 0.2)
    ax.set_ylabel("accuracy")
    ax.set_title("Accuracy at the end of each epoch", fontsize=11)
    ax.grid(alpha=0.3)
    _legend_below(fig, ax)
    return fig


def plot_epoch_loss(history) -> Figure | None:
    """A run without accuracy (a regression): the training data loss averaged over each epoch
    and the validation loss at its end (drawn at k for epoch k)."""
    if any(a is not None for a in history.val_acc) or \
            not any(v is not None for v in history.val_loss):
        return None
    ipe = max(history.iters_per_epoch, 1)
    n = min(len(history.val_loss), len(history.data_loss) // ipe)
    train = np.asarray(history.data_loss[:n * ipe], dtype=float).reshape(n, ipe).mean(axis=1)
    epochs = list(range(1, len(history.val_loss) + 1))
    fig = _figure(HALF)
    ax = fig.add_subplot()
    ax.plot(*_finite(epochs[:n], train.tolist()), marker="o", ms=3, label="train (mean of the "
            "epoch's batches)")
    ax.plot(*_finite(epochs, history.val_loss), marker="o", ms=3, label="validation")
    _mark_trouble(ax, history)
    _epoch_axis(ax, history)
    ax.set_ylabel("data loss")
    ax.set_title("Data loss per epoch", fontsize=11)
    ax.grid(alpha=0.3)
    _legend_below(fig, ax)
    return fig


def plot_update_ratios(history) -> Figure | None:
    """||update|| / ||value|| of every parameter (log scale), with the ~1e-3 rule of thumb."""
    rec = history.monitors.get("update_ratio")
    if not rec or not rec.get("iterations"):
        return None
    fig = _figure(HALF)
    ax = fig.add_subplot()
    epochs = [i / max(history.iters_per_epoch, 1) for i in rec["iterations"]]
    weights = set(rec.get("weights", []))
    for name, ratios in rec["params"].items():
        x, y = _positive(*_finite(epochs, [r if r is not None else math.nan for r in ratios]))
        if y:
            ax.plot(x, y, lw=1.4 if name in weights else 0.8,
                    ls="-" if name in weights else "--", label=name)
    ax.axhline(1e-3, color="gray", ls=":", lw=1.2, label="~1e-3")
    _mark_trouble(ax, history, text=False)
    ax.set_yscale("log")
    _epoch_axis(ax, history)
    ax.set_ylabel("||update|| / ||value||")
    ax.set_title("Update-to-weight ratio per parameter", fontsize=11)
    ax.grid(alpha=0.3, which="both")
    _legend_below(fig, ax, cols=4)
    return fig


# -- histograms per layer ----------------------------------------------------------------------

def panel_rows(n: int, max_cols: int = 3) -> list[int]:
    """How many panels each row holds so that n panels fill every row: [3, 2] for 5, never
    an empty cell (rows differ by one panel at most, the fuller ones first)."""
    rows = math.ceil(n / max_cols)
    base, extra = divmod(n, rows)
    return [base + 1] * extra + [base] * (rows - extra)


def _panels(fig, n: int):
    """n axes on `fig`, laid out by `panel_rows`: each row's panels share its width."""
    counts = panel_rows(n)
    cols = math.lcm(*counts)
    grid = fig.add_gridspec(len(counts), cols)
    axes = []
    for r, count in enumerate(counts):
        span = cols // count
        axes += [fig.add_subplot(grid[r, c * span:(c + 1) * span]) for c in range(count)]
    return axes


def _span(h) -> float:
    """The largest magnitude a histogram's range reaches (0 without finite values)."""
    return max(abs(h["lo"]), abs(h["hi"])) if h and h.get("counts") else 0.0


def _histogram_grid(history, key: str, title: str, xlabel: str) -> Figure | None:
    """One panel per layer: the first sample (before training, outline) and the last (filled),
    counts on a log scale so that a single spike does not hide the rest. When the end spreads
    over 50x the start's range (a blow-up), the x axis is symmetric-log so both stay visible."""
    rec = history.monitors.get("layers")
    if not rec or not rec.get("samples"):
        return None
    from matplotlib.ticker import SymmetricalLogLocator

    names, first, last = rec["names"], rec["samples"][0], rec["samples"][-1]
    rows = panel_rows(len(names))
    handles, labels = [], []
    fig = _figure((FULL_WIDTH, 3.0 * len(rows) + 0.8))
    end = history.when(last["iteration"])
    for i, ax in enumerate(_panels(fig, len(names))):
        h0, h1 = first[key][i], last[key][i]
        for h, style, label in ((h0, START_STYLE, "start: before training"),
                                (h1, END_STYLE, f"end: after {end}")):
            if not h or not h.get("counts"):
                continue
            edges = np.linspace(h["lo"], h["hi"], len(h["counts"]) + 1)
            counts = np.asarray(h["counts"], dtype=float)
            ax.hist(edges[:-1], bins=edges, weights=counts, log=True, label=label, **style)
        if _span(h0) > 0 and _span(h1) > 50 * _span(h0):
            linear = _span(h0)
            ax.set_xscale("symlog", linthresh=linear)
            # at most ~7 labelled decades, however many the blow-up spans, and none crowding 0
            decades = SymmetricalLogLocator(linthresh=linear, base=10, subs=[1.0])
            decades.set_params(numticks=7)
            ax.set_xticks([t for t in decades.tick_values(*ax.get_xlim())
                           if t == 0 or abs(t) >= 10 * linear])
            xlabel_here = f"{xlabel} (symmetric log axis)"
        else:
            ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 3))
            ax.locator_params(axis="x", nbins=6)
            xlabel_here = xlabel
        ax.set_title(f"{names[i]}\n{_stats('start', h0)}\n{_stats('end', h1)}", fontsize=8.5)
        ax.tick_params(labelsize=8)
        ax.set_xlabel(xlabel_here, fontsize=8)
        if ax.get_subplotspec().is_first_col():
            ax.set_ylabel("count (log scale)", fontsize=8)
        if i == 0:
            handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=9,
                   frameon=False)
    fig.suptitle(title, fontsize=11)
    return fig


def _stats(when: str, h) -> str:
    """"end: mean 0.12, std 0.5, dead 10%" for one histogram summary."""
    if not h or h.get("mean") is None:
        return f"{when}: no finite values"
    text = f"{when}: mean {h['mean']:.2g}, std {h['std']:.2g}"
    if h.get("dead") is not None:
        text += f", dead {h['dead']:.0%}"
    elif h.get("saturated") is not None:
        text += f", saturated {h['saturated']:.0%}"
    return text


def plot_activations(history) -> Figure | None:
    """Histograms of each layer's outputs on the probe batch, at the start and at the end."""
    return _histogram_grid(history, "activations", "Activations per layer on the probe batch",
                           "layer output value")


def plot_gradients(history) -> Figure | None:
    """Histograms of dL/d(output) per layer on the probe batch, at the start and at the end."""
    return _histogram_grid(history, "gradients",
                           "Gradients dL/d(layer output) per layer on the probe batch",
                           "gradient value")


# -- weights as images -------------------------------------------------------------------------

def weight_grid(W: np.ndarray, image_shape, cols: int | None = None) -> np.ndarray:
    """Tile the columns of W (n_in, k), each reshaped to `image_shape`, into one image.

    Each unit is min-max scaled to [0, 1] on its own (the shape matters, not the
    scale); tiles are separated by a 1-pixel border at 1.0. Returns (H', W') or
    (H', W', C) float array ready for imshow.
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
    grid = np.ones((rows * (h + 1) + 1, cols * (w + 1) + 1, *channels))
    for j in range(k):
        r, c = divmod(j, cols)
        grid[1 + r * (h + 1):1 + r * (h + 1) + h, 1 + c * (w + 1):1 + c * (w + 1) + w] = \
            scaled[:, j].reshape(image_shape)
    return grid


def plot_first_layer(history) -> Figure | None:
    """The first layer's weights: one image per unit when inputs are images, else a heatmap.
    When the monitor kept the weights from before training too ("W_start"), they are drawn
    beside the latest ones, so a reader sees what training changed."""
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
    image_shape = history.meta.get("image_shape")
    size = (3.4 * len(shown), 3.8) if image_shape else (FULL_WIDTH / 2 * len(shown), 3.6)
    fig = _figure(size)
    for i, (weights, when) in enumerate(shown):
        ax = fig.add_subplot(1, len(shown), i + 1)
        if image_shape:
            ax.imshow(weight_grid(weights, image_shape), cmap="gray", interpolation="nearest")
            ax.set_axis_off()
        else:
            image = ax.imshow(weights.T, aspect="auto", cmap="RdBu_r", interpolation="nearest")
            fig.colorbar(image, ax=ax)
            ax.set_xlabel("input feature")
            ax.set_ylabel("unit")
        ax.set_title(when, fontsize=9)
    fig.suptitle(f"First-layer weights {rec['name']}: {len(rec['units'])} of "
                 f"{rec['shape'][1]} units", fontsize=10)
    return fig


def with_components(transform):
    """The fitted step of `transform` (itself or a Pipeline step) that has principal
    components to draw, or None."""
    for step in getattr(transform, "steps", (transform,)):
        if hasattr(step, "components_images") and hasattr(step, "components_"):
            return step
    return None


def plot_pca_components(pca, image_shape, top: int = 36) -> Figure:
    """The top principal components of the training data as images (the notes'
    "visualizing whitened images"): pca is a fitted babysit.data.preprocess.PCA."""
    top = min(top, pca.components_.shape[0])
    fig = _figure((4.0, 4.2))
    ax = fig.add_subplot()
    # weight_grid scales each component to [0, 1] on its own, as components_images does.
    ax.imshow(weight_grid(pca.components_[:top].T, image_shape), cmap="gray",
              interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(f"Top {top} principal components of the training data", fontsize=9)
    return fig
