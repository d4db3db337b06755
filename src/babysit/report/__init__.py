"""The report of a run: the notes' babysitting plots as PNGs and one self-contained HTML page.

`write(history, run_dir)` draws, from a `History` (live, or read back with `History.load`):
the loss per iteration on a linear and a log scale, train and validation accuracy per epoch
(a regression's: its data loss per epoch), the update-to-weight ratio of every parameter,
histograms of activations and of gradients per layer, and the first layer's weights (as
images when `history.meta["image_shape"]` says each input is an image).
`report.html` holds, in this order: the diagnosis, any extra sections
(e.g. a treatment record), the plots, the run table, and the checks before training folded.
Every PNG is embedded as base64, so the page opens anywhere on its own, with no network.

Every x axis and every text names epochs one way (`babysit.training.history.EPOCH_CONVENTION`).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from babysit.diagnose import diagnose
from babysit.report.page import Section, render
from babysit.report.plots import (
    plot_accuracy,
    plot_activations,
    plot_epoch_loss,
    plot_first_layer,
    plot_gradients,
    plot_loss,
    plot_pca_components,
    plot_update_ratios,
    weight_grid,
    with_components,
)


@dataclass(frozen=True)
class Plot:
    """One figure of the report: its PNG's file name, title, what draws it from a History
    (None when the history lacks the data), one or two sentences of what to look for (a
    string, or a function of the History), and whether it spans the page's width."""

    filename: str
    title: str
    draw: Callable
    caption: str | Callable
    wide: bool = False


def _probe_size(history) -> str:
    size = history.monitors.get("layers", {}).get("probe_size")
    return f"{size} training examples" if size else "training examples"


def _first_layer_caption(history) -> str:
    shape = history.meta.get("image_shape")
    rec = history.monitors.get("first_layer", {})
    kept = "before training (left) and at the latest epoch end (right). " \
        if rec.get("W_start") is not None else "at the latest epoch end. "
    if not shape:
        return ("Each row is one unit's input weights (red positive, blue negative), " + kept +
                "Rows that look alike, or noise without structure, mean too little training "
                "or too little regularization.")
    size = "x".join(map(str, shape))
    return (f"Each tile is one unit's input weights drawn as a {size} image, " + kept +
            "Every tile is scaled on its own, from its lowest weight (black) to its highest "
            "(white): compare patterns, not brightness. Smooth, varied patterns show the units "
            "learned features; noisy tiles that look alike mean too little training or too "
            "little regularization.")


PLOTS = (
    Plot("loss.png", "Loss, linear scale", lambda h: plot_loss(h),
         lambda h: "The loss of each batch (faint) and its moving average. A good learning "
         "rate drops it fast, then levels off; chance (dotted) is where an untrained network "
         "starts." + (" The axis stops a little above the start: what lies above is said in "
                      "the legend." if h.blowup_at() is not None else "")),
    Plot("loss_log.png", "Loss, log scale", lambda h: plot_loss(h, log=True),
         lambda h: "The same loss on a log scale, every finite value in view." + (
             " Red lines mark where the loss first went above 3x its start (dotted) and where "
             "it became NaN or infinite (dashed)."
             if h.blowup_at() is not None or h.nonfinite_at() is not None else "")),
    Plot("accuracy.png", "Accuracy per epoch", plot_accuracy,
         "Measured at the end of each epoch on the training data (up to 10,000 examples) and "
         "on the validation split. A gap that widens is overfitting; both low is "
         "under-fitting."),
    Plot("update_ratios.png", "Update-to-weight ratios", plot_update_ratios,
         "How far each sampled update moved a parameter, relative to its size. The notes want "
         "about 1e-3 for the weights (solid lines): far below, the learning rate is too low; "
         "far above, too high. Dashed: biases and BatchNorm."),
    Plot("activations.png", "Activations per layer", plot_activations,
         lambda h: f"Each layer's outputs on a fixed probe batch of {_probe_size(h)}, before "
         "training (outline) and at the end (filled); counts on a log scale. A ReLU layer "
         "whose units sit at exactly 0 for every example has dead units; tanh or sigmoid "
         "values piled at their limits are saturated. Where the end spreads over 50x wider "
         "than the start (a blow-up), the x axis is symmetric-log: linear near 0, logarithmic "
         "beyond.", wide=True),
    Plot("gradients.png", "Gradients per layer", plot_gradients,
         "The gradient of the loss with respect to each layer's output on the same probe "
         "batch. Gradients that shrink layer by layer toward the input vanish; a spread that "
         "grows from start to end is exploding.", wide=True),
    Plot("first_layer_weights.png", "First-layer weights", plot_first_layer,
         _first_layer_caption),
)


# A regression's figure (it has no accuracy), which `write` draws after the accuracy's place.
EPOCH_LOSS = Plot("epoch_loss.png", "Loss per epoch", plot_epoch_loss,
                  "A regression has no accuracy: the data loss (mean squared error of the "
                  "standardized target, no penalty) averaged over each epoch's batches and on "
                  "the validation split at its end. Validation climbing away from a falling "
                  "training loss is overfitting; both high is under-fitting.")


def write(history, run_dir, preprocess=None, image_shape=None,
          sections: Iterable[Section] = (), findings=None) -> Path:
    """Write the PNG plots and report.html into `run_dir`; returns the path of report.html.

    history: a babysit.History. run_dir: a folder (created if missing). A plot whose data the
    history lacks (no monitors, no validation) is left out. When `preprocess` (a fitted
    transform or Pipeline) holds a PCA and `image_shape` is the inputs' image shape, the top
    components are drawn as images too. `sections`: extra `Section`s (a heading and an HTML
    body, e.g. a treatment record) placed right after the diagnosis. `findings`: the run's
    diagnosis when the caller has it already (`babysit.runs.finish`), else computed here.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    plots = list(PLOTS)
    plots.insert(next(i for i, p in enumerate(plots) if p.draw is plot_accuracy) + 1,
                 EPOCH_LOSS)
    pca = with_components(preprocess)
    if pca is not None and image_shape is not None:
        plots.append(Plot("pca_components.png", "Top principal components",
                          lambda _: plot_pca_components(pca, image_shape),
                          "The directions of largest variance in the training data, each "
                          "scaled on its own; what PCA kept of every input."))
    figures = []
    for plot in plots:
        fig = plot.draw(history)
        if fig is None:
            continue
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        png = buffer.getvalue()
        (run_dir / plot.filename).write_bytes(png)
        caption = plot.caption(history) if callable(plot.caption) else plot.caption
        figures.append((plot.filename.removesuffix(".png"), plot.title, caption, plot.wide,
                        base64.b64encode(png).decode("ascii")))
    meta_preprocess = history.meta.get("preprocess")
    if meta_preprocess is None and preprocess is not None:
        meta_preprocess = repr(preprocess)
    findings = diagnose(history) if findings is None else findings
    html = render(history, findings, figures, sections=list(sections), preprocess=meta_preprocess)
    out = run_dir / "report.html"
    out.write_text(html, encoding="utf-8")
    return out


__all__ = ["EPOCH_LOSS", "PLOTS", "Plot", "Section", "plot_accuracy", "plot_activations",
           "plot_epoch_loss", "plot_first_layer", "plot_gradients", "plot_loss",
           "plot_pca_components", "plot_update_ratios", "weight_grid", "write"]
