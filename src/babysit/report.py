"""The report of a run: the notes' babysitting plots as PNGs and one self-contained HTML page.

`write(history, run_dir)` draws, from a `History` (live, or read back with
`History.load`): the loss per iteration on a linear and a log scale, train and
validation accuracy per epoch, the update-to-weight ratio of every parameter,
histograms of activations and of gradients per layer, and the first layer's
weights (as a grid of images when `history.meta["image_shape"]` says each input
is an image). Every x axis is in epochs. `report.html` puts the diagnosis at the top
and embeds every PNG as base64, so the page opens anywhere on its own.

Figures are built with `matplotlib.figure.Figure` and saved through the Agg
canvas: no pyplot, no interactive backend, no global state touched.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from babysit.diagnose import diagnose, moving_average

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 100
SEVERITY_COLORS = {"error": "#b00020", "warning": "#b36b00", "info": "#2e6b30"}


def _finite(xs, ys):
    """The (x, y) pairs where y is a finite number (None, NaN and inf dropped)."""
    pairs = [(x, y) for x, y in zip(xs, ys, strict=True)
             if y is not None and math.isfinite(y)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _figure(figsize):
    """A Matplotlib Figure saved through the Agg canvas (imported here: `import babysit`
    stays free of Matplotlib until a report is drawn)."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, dpi=DPI)


def _positive(xs, ys):
    """The (x, y) pairs with y > 0, for a log axis."""
    pairs = [(x, y) for x, y in zip(xs, ys, strict=True) if y > 0]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def plot_loss(history, log: bool = False) -> Figure | None:
    """The loss per iteration against epochs: raw (faint) and a moving average; chance dotted."""
    x, y = _finite(history.epochs_axis(), history.loss)
    if log:
        x, y = _positive(x, y)
    if not x:
        return None
    fig = _figure((7, 3.6))
    ax = fig.add_subplot()
    y = np.asarray(y)
    ax.plot(x, y, color="#1f77b4", alpha=0.3, lw=0.8, label="loss per batch")
    window = max(1, len(y) // 50)
    if window > 1:
        ax.plot(x[window - 1:], moving_average(y, window), color="#1f77b4", lw=1.8,
                label=f"moving average ({window} iterations)")
    if any(r for r in history.reg_loss if r):
        xd, yd = _finite(history.epochs_axis(), history.data_loss)
        if log:
            xd, yd = _positive(xd, yd)
        if len(yd) >= window:
            ax.plot(xd[window - 1:], moving_average(np.asarray(yd), window), color="#ff7f0e",
                    lw=1.2, ls="--", label="data loss (no penalty)")
    chance = history.meta.get("chance_loss")
    if chance:
        ax.axhline(chance, color="gray", ls=":", lw=1, label=f"chance {chance:.3g}")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (log scale)" if log else "loss")
    ax.set_title(f"Loss per iteration, {'log' if log else 'linear'} scale")
    ax.grid(alpha=0.3, which="both" if log else "major")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_accuracy(history) -> Figure | None:
    """Train and validation accuracy per epoch: the gap between them is the overfitting."""
    if not history.train_acc:
        return None
    fig = _figure((7, 3.6))
    ax = fig.add_subplot()
    epochs = list(range(1, len(history.train_acc) + 1))
    ax.plot(*_finite(epochs, history.train_acc), marker="o", ms=3, label="train")
    xv, yv = _finite(epochs, history.val_acc)
    if yv:
        ax.plot(xv, yv, marker="o", ms=3, label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_title("Accuracy per epoch")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_update_ratios(history) -> Figure | None:
    """||update|| / ||value|| of every parameter (log scale), with the ~1e-3 rule of thumb."""
    rec = history.monitors.get("update_ratio")
    if not rec or not rec["iterations"]:
        return None
    fig = _figure((7, 3.6))
    ax = fig.add_subplot()
    epochs = [i / max(history.iters_per_epoch, 1) for i in rec["iterations"]]
    weights = set(rec.get("weights", []))
    for name, ratios in rec["params"].items():
        x, y = _positive(*_finite(epochs, ratios))
        if y:
            ax.plot(x, y, lw=1.4 if name in weights else 0.8,
                    ls="-" if name in weights else "--", label=name)
    ax.axhline(1e-3, color="gray", ls=":", lw=1.2, label="~1e-3")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("||update|| / ||value||")
    ax.set_title("Update-to-weight ratio per parameter (dashed: biases, BatchNorm)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, ncol=max(1, len(rec["params"]) // 6))
    fig.tight_layout()
    return fig


def _histogram_grid(history, key: str, title: str, log: bool = False) -> Figure | None:
    """One panel per layer: the first sample's histogram (outline) and the last one's (filled);
    `log` puts the counts on a log scale (gradients crowd around 0, their tails matter)."""
    rec = history.monitors.get("layers")
    if not rec or not rec.get("samples"):
        return None
    names, first, last = rec["names"], rec["samples"][0], rec["samples"][-1]
    n = len(names)
    cols = min(n, 4)
    rows = math.ceil(n / cols)
    fig = _figure((3.4 * cols, 2.6 * rows + 0.5))
    ipe = max(history.iters_per_epoch, 1)
    for i, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, i + 1)
        for sample, style in ((first, {"histtype": "step", "color": "gray", "lw": 1.2}),
                              (last, {"histtype": "stepfilled", "color": "#1f77b4",
                                      "alpha": 0.6})):
            h = sample[key][i]
            if not h or not h["counts"]:
                continue
            edges = np.linspace(h["lo"], h["hi"], len(h["counts"]) + 1)
            ax.hist(edges[:-1], bins=edges, weights=h["counts"], log=log,
                    label=f"epoch {sample['iteration'] / ipe:.1f}", **style)
        h = last[key][i]
        extra = ""
        if h and h.get("dead") is not None:
            extra = f", dead {h['dead']:.0%}"
        elif h and h.get("saturated") is not None:
            extra = f", saturated {h['saturated']:.0%}"
        stats = f"mean {h['mean']:.2g}, std {h['std']:.2g}" if h and h["mean"] is not None \
            else "no finite values"
        ax.set_title(f"{name}\n{stats}{extra}", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.locator_params(axis="x", nbins=5)
        if i == 0:
            ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_activations(history) -> Figure | None:
    """Histograms of each layer's outputs on the probe batch, at the start and at the end."""
    return _histogram_grid(history, "activations",
                           "Activations per layer (probe batch; gray: start, blue: end)")


def plot_gradients(history) -> Figure | None:
    """Histograms of dL/d(output) per layer on the probe batch, at the start and at the end."""
    return _histogram_grid(history, "gradients", "Gradients dL/d(layer output) per layer, "
                           "log counts (gray: start, blue: end)", log=True)


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
    """The first layer's weights: one image per unit when inputs are images, else a heatmap."""
    rec = history.monitors.get("first_layer")
    if not rec:
        return None
    W = np.asarray(rec["W"], dtype=np.float64)
    if not np.isfinite(W).all():
        return None
    image_shape = history.meta.get("image_shape")
    epoch = rec["iteration"] / max(history.iters_per_epoch, 1)
    fig = _figure((6.5, 6.5) if image_shape else (8, 4))
    ax = fig.add_subplot()
    if image_shape:
        ax.imshow(weight_grid(W, image_shape), cmap="gray", interpolation="nearest")
        ax.set_axis_off()
    else:
        shown = ax.imshow(W.T, aspect="auto", cmap="RdBu_r", interpolation="nearest")
        fig.colorbar(shown, ax=ax)
        ax.set_xlabel("input feature")
        ax.set_ylabel("unit")
    units = len(rec["units"])
    ax.set_title(f"First-layer weights {rec['name']}: {units} of {rec['shape'][1]} units "
                 f"at epoch {epoch:.1f}", fontsize=9)
    fig.tight_layout()
    return fig


def _with_components(transform):
    """The fitted step of `transform` (itself or a Pipeline step) that has principal
    components to draw, or None."""
    for step in getattr(transform, "steps", (transform,)):
        if hasattr(step, "components_images") and hasattr(step, "components_"):
            return step
    return None


def plot_pca_components(pca, image_shape, top: int = 36) -> Figure:
    """The top principal components of the training data as images (the notes'
    "visualizing whitened images"): pca is a fitted babysit.preprocess.PCA."""
    top = min(top, pca.components_.shape[0])
    fig = _figure((6.5, 6.5))
    ax = fig.add_subplot()
    # weight_grid scales each component to [0, 1] on its own, as components_images does.
    ax.imshow(weight_grid(pca.components_[:top].T, image_shape), cmap="gray",
              interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(f"Top {top} principal components of the training data", fontsize=9)
    fig.tight_layout()
    return fig


PLOTS = (
    ("loss.png", "Loss (linear scale)", plot_loss),
    ("loss_log.png", "Loss (log scale)", lambda h: plot_loss(h, log=True)),
    ("accuracy.png", "Train and validation accuracy", plot_accuracy),
    ("update_ratios.png", "Update-to-weight ratios", plot_update_ratios),
    ("activations.png", "Activation histograms per layer", plot_activations),
    ("gradients.png", "Gradient histograms per layer", plot_gradients),
    ("first_layer_weights.png", "First-layer weights", plot_first_layer),
)


def write(history, run_dir, preprocess=None, image_shape=None) -> Path:
    """Write the PNG plots and report.html (findings first, images embedded) into `run_dir`.

    history: a babysit.History. run_dir: a folder (created if missing). A plot whose
    data the history lacks (no monitors, no validation) is left out. When `preprocess`
    (a fitted transform or Pipeline) holds a PCA and `image_shape` is the inputs' image
    shape, the top components are drawn as images too. Returns the path of report.html.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    plots = list(PLOTS)
    pca = _with_components(preprocess)
    if pca is not None and image_shape is not None:
        plots.append(("pca_components.png", "Top principal components",
                      lambda _: plot_pca_components(pca, image_shape)))
    figures = []
    for filename, title, draw in plots:
        fig = draw(history)
        if fig is None:
            continue
        path = run_dir / filename
        fig.savefig(path, format="png")
        figures.append((filename, title, base64.b64encode(path.read_bytes()).decode("ascii")))
    page = _page(history, diagnose(history), figures)
    out = run_dir / "report.html"
    out.write_text(page, encoding="utf-8")
    return out


def _page(history, findings, figures) -> str:
    e = html.escape
    meta = history.meta
    title = f"babysit report: {meta.get('data', 'run')}"
    parts = [
        "<!DOCTYPE html>", "<html lang=\"en\">", "<head>", "<meta charset=\"utf-8\">",
        f"<title>{e(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
        "li{margin:.4em 0}.sev{font-weight:bold;text-transform:uppercase;font-size:.8em}"
        "table{border-collapse:collapse}td,th{padding:.2em .8em;border-bottom:1px solid #ddd;"
        "text-align:left;vertical-align:top}figure{margin:1.5em 0}img{max-width:100%}"
        "pre{background:#f6f6f6;padding:.6em;overflow-x:auto}</style>",
        "</head>", "<body>", f"<h1>{e(title)}</h1>",
        "<h2 id=\"findings\">Diagnosis</h2>",
    ]
    if findings:
        parts.append("<ul>")
        for f in findings:
            color = SEVERITY_COLORS[f.severity]
            parts.append(f"<li><span class=\"sev\" style=\"color:{color}\">{e(f.severity)}"
                         f"</span> <b>{e(f.what)}</b>: {e(f.evidence)}. <i>{e(f.advice)}</i></li>")
        parts.append("</ul>")
    else:
        parts.append("<p>Nothing to report: too little was recorded to judge.</p>")
    parts.append("<h2 id=\"run\">Run</h2><table>")
    summary = {"iterations": history.iterations, "epochs": history.epochs,
               "final loss": history.loss[-1] if history.loss else None,
               "final train accuracy": history.train_acc[-1] if history.train_acc else None,
               "final validation accuracy": history.val_acc[-1] if history.val_acc else None}
    for key, value in {**summary, **meta}.items():
        if key in ("sanity", "gradient_check") or value is None:
            continue
        parts.append(f"<tr><th>{e(str(key))}</th><td>{e(_fmt(value))}</td></tr>")
    parts.append("</table>")
    for key, heading in (("sanity", "Sanity checks"), ("gradient_check", "Gradient check")):
        if meta.get(key):
            parts.append(f"<h2 id=\"{key}\">{heading}</h2><pre>{e(_fmt(meta[key]))}</pre>")
    parts.append("<h2 id=\"plots\">Plots</h2>")
    for filename, title, data in figures:
        anchor = filename.removesuffix(".png")
        parts.append(f"<figure id=\"{anchor}\"><img alt=\"{e(title)}\" "
                     f"src=\"data:image/png;base64,{data}\"><figcaption>{e(title)} "
                     f"({e(filename)})</figcaption></figure>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "text" in value:
        return value["text"]
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return str(value)


__all__ = ["PLOTS", "plot_accuracy", "plot_activations", "plot_first_layer", "plot_gradients",
           "plot_loss", "plot_pca_components", "plot_update_ratios", "weight_grid", "write"]
