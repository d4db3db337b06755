"""The report of a run: the notes' babysitting plots, drawn as SVG into one self-contained page.

`write(history, run_dir)` draws, from a `History` (live, or read back with `History.load`):
the loss per iteration on a linear and a log scale, the data loss per epoch (training and
validation, for every task), accuracy per epoch, the learning rate when it changed, the
update-to-weight ratio of every parameter, dead or saturated units per layer over epochs, the
percentiles of every layer's activations and gradients over epochs, their histograms before
and after, and the first layer's weights (as images when `history.meta["image_shape"]` says
each input is an image). What else the run folder holds shows itself too: a search's trials
(`trials.json`), a `--fix` treatment's rounds (`round-<n>/history.json`).

`report.html` is the only file written: every figure is inline SVG text (sharp at any width,
drawn in milliseconds), so the page opens anywhere on its own, with no network.
Every x axis and every text names epochs one way (`babysit.training.history.EPOCH_CONVENTION`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from babysit.diagnose import diagnose
from babysit.report import compare, folder
from babysit.report.page import Drawn, Section, render
from babysit.report.plots import (
    SYMLOG_SPREAD,
    blown_up_layers,
    lr_changes,
    penalty_share,
    plot_accuracy,
    plot_epoch_loss,
    plot_first_layer,
    plot_histograms,
    plot_layer_bands,
    plot_loss,
    plot_lr,
    plot_pca_components,
    plot_predictions,
    plot_unit_health,
    plot_update_ratios,
    shows_data_loss,
    smoothing_window,
    weight_grid,
    weights_image_shape,
    with_components,
)
from babysit.training.checkpoint_file import replaced_atomically
from babysit.training.history import History
from babysit.validation import make_folder


@dataclass(frozen=True)
class Plot:
    """One figure of the report: its anchor on the page, title, what draws it from a History
    (SVG text, a list of per-layer SVGs, or None when the history lacks the data), what to
    look for (a string, or a function of the History, so that it says only what is drawn),
    and whether it spans the page's width."""

    anchor: str
    title: str
    draw: Callable
    caption: str | Callable
    wide: bool = False


def _probe_size(history) -> str:
    size = history.monitors.get("layers", {}).get("probe_size")
    return f"{size} training examples" if size else "training examples"


def _loss_caption(history) -> str:
    window = smoothing_window(history)
    text = "The loss of each batch" + (
        f" (faint) and its moving average over {window} batches" if window > 1 else "")
    text += ". A good learning rate drops it fast, then levels off."
    if history.meta.get("chance_loss"):
        text += " Chance (dotted grey) is where an untrained network starts."
    if shows_data_loss(history):
        text += (f" The dashed orange line is the data loss alone: the penalty was "
                 f"{penalty_share(history):.0%} of the first loss, so the total can fall while "
                 "the data loss does not.")
    if history.blowup_at() is not None:
        text += " The axis stops a little above the start: what lies above is in the legend."
    return text


def _log_caption(history) -> str:
    text = "The same loss on a log scale, every finite value in view."
    if history.blowup_at() is not None or history.nonfinite_at() is not None:
        text += (" Red lines mark where the loss went above 3x its start for good (dotted) "
                 "and where it became NaN or infinite (dashed).")
    return text


def _epoch_loss_caption(history) -> str:
    if not any(v is not None for v in history.val_loss):
        return ("The data loss (no penalty) averaged over each epoch's batches. This run had "
                "no validation split, so only the training loss is drawn.")
    return ("The data loss (no penalty) averaged over each epoch's batches, and on the "
            "validation split at the epoch's end. Validation climbing away from a falling "
            "training loss is overfitting; both high is under-fitting.")


def _accuracy_caption(history) -> str:
    if not any(a is not None for a in history.val_acc):
        return ("Measured at the end of each epoch on the training data (up to 10,000 "
                "examples). This run had no validation split, so overfitting cannot be seen "
                "here.")
    return ("Measured at the end of each epoch on the training data (up to 10,000 examples) "
            "and on the validation split. A gap that widens is overfitting; both low is "
            "under-fitting.")


def _histogram_caption(what: str, key: str) -> Callable:
    def caption(history) -> str:
        text = (f"Each layer's {what} on a fixed probe batch of {_probe_size(history)}, before "
                "training (outline) and at the last sample (filled); counts on a log scale.")
        blown = blown_up_layers(history, key)
        if blown:
            text += (f" In {', '.join(blown)} the end spreads over {SYMLOG_SPREAD}x wider than "
                     "the start (a blow-up): the x axis is symmetric-log (linear near 0, "
                     "logarithmic beyond) and a bar's height is its count per unit of that "
                     "axis, so a bin spanning many decades is drawn low and wide, never as a "
                     "block.")
        return text
    return caption


def _units_shown(rec) -> str:
    """"Drawn: the first 64 of the layer's 300 units. " when the monitor kept fewer units than
    the layer has (its "units" against its "shape": [n_in, n_out]), else ""."""
    shape, units = rec.get("shape") or [], rec.get("units") or []
    # a width that is null (a damaged or hand-edited file) is unknown: nothing said of it
    if len(shape) == 2 and shape[1] is not None and units and len(units) < shape[1]:
        return f"Drawn: the first {len(units)} of the layer's {shape[1]:,} units. "
    return ""


def _first_layer_caption(history) -> str:
    shape = weights_image_shape(history)
    rec = history.monitors.get("first_layer", {})
    kept = "before training (left) and at the latest epoch end (right). " \
        if rec.get("W_start") is not None else "at the latest epoch end. "
    if not shape:
        return ("Each row is one unit's input weights, " + kept + _units_shown(rec) +
                "White is 0, red positive, blue negative, on one scale for both (the colour "
                "key). Rows that look alike, or noise without structure, mean too little "
                "training or too little regularization.")
    size = "x".join(map(str, shape))
    return (f"Each tile is one unit's input weights drawn as a {size} image, " + kept +
            _units_shown(rec) +
            "Every tile is scaled on its own, from its lowest weight (black) to its highest "
            "(white): compare patterns, not brightness. Smooth, varied patterns show the units "
            "learned features; noisy tiles that look alike mean too little training or too "
            "little regularization.")


PLOTS = (
    Plot("loss", "Loss, linear scale", plot_loss, _loss_caption),
    Plot("loss_log", "Loss, log scale", lambda h: plot_loss(h, log=True), _log_caption),
    Plot("epoch_loss", "Data loss per epoch", plot_epoch_loss, _epoch_loss_caption),
    Plot("accuracy", "Accuracy per epoch", plot_accuracy, _accuracy_caption),
    Plot("predictions", "Predictions", plot_predictions,
         "A regression's validation rows in the target's units. Left: points on the dashed "
         "diagonal are predicted exactly; the orange line is the mean predictor, which predicts "
         "the training mean for every row: a model worth keeping lies far closer to the "
         "diagonal. Right: the residuals should scatter evenly around 0, well inside the band "
         "(the mean predictor's typical error); a slope or a curve is structure the model "
         "missed.", wide=True),
    Plot("lr", "Learning rate", plot_lr,
         "The learning rate each update used: a schedule or decay shows as a fall."),
    Plot("update_ratios", "Update-to-weight ratios", plot_update_ratios,
         "How far each sampled update moved a parameter, relative to its size. The notes want "
         "about 1e-3 for the weights (solid lines): far below, the learning rate is too low; "
         "far above, too high. Dashed: biases and BatchNorm."),
    Plot("unit_health", "Dead or saturated units", plot_unit_health,
         lambda h: f"Per activation layer, on the probe batch of {_probe_size(h)}: the share "
         "of ReLUs that output 0 for every example (dead: they get no gradient and never "
         "recover), or of tanh / sigmoid values at their limits (saturated)."),
    Plot("activation_bands", "Activations over time", lambda h: plot_layer_bands(
        h, "activations"),
         "Each layer's outputs on the probe batch at every sample: the median (line), the "
         "middle half (dark band, 25-75%) and 90% of the values (light band, 5-95%). A band "
         "that collapses to 0 is dying; one that widens without end is exploding.", wide=True),
    Plot("gradient_bands", "Gradients over time", lambda h: plot_layer_bands(h, "gradients"),
         "The gradient of the loss with respect to each layer's output, as percentiles at "
         "every sample. Bands that shrink layer by layer toward the input vanish; a spread "
         "that grows over time is exploding.", wide=True),
    Plot("activations", "Activations per layer, before and after", lambda h: plot_histograms(
        h, "activations"), _histogram_caption("outputs", "activations"), wide=True),
    Plot("gradients", "Gradients per layer, before and after", lambda h: plot_histograms(
        h, "gradients"), _histogram_caption("gradients dL/d(output)",
                                                                "gradients"), wide=True),
    Plot("first_layer_weights", "First-layer weights", plot_first_layer, _first_layer_caption,
         wide=True),
)


def figures(history, plots: Iterable[Plot] = PLOTS) -> list[Drawn]:
    """Every plot the history has the data for, drawn, with its caption."""
    out = []
    for plot in plots:
        body = plot.draw(history)
        if body is None:
            continue
        caption = plot.caption(history) if callable(plot.caption) else plot.caption
        out.append(Drawn(plot.anchor, plot.title, caption, plot.wide, body))
    return out


# The PNG files reports drawn with Matplotlib kept beside the page (which embedded them again);
# drawing a folder's report anew removes them, so that no figure is kept twice.
OLD_FIGURES = ("loss", "loss_log", "accuracy", "epoch_loss", "update_ratios", "activations",
               "gradients", "first_layer_weights", "pca_components")


def write(history, run_dir, preprocess=None, image_shape=None,
          sections: Iterable[Section] = (), findings=None) -> Path:
    """Write report.html into `run_dir` (created if missing); returns its path.

    history: a babysit.History. A plot whose data the history lacks (no monitors, no
    validation) is left out. When `preprocess` (a fitted transform or Pipeline) holds a PCA and
    `image_shape` is the inputs' image shape, the top components are drawn as images too.
    `sections`: extra `Section`s (a heading and an HTML body, e.g. a treatment record) placed
    after the diagnosis, behind those of what the folder holds of a search or a treatment's
    rounds (`babysit.report.folder`). `findings`: the history's diagnosis when the caller
    has it already (else it is made here). The PNG figures an older report kept beside the
    page (OLD_FIGURES) are removed.
    """
    if not isinstance(history, History):
        raise ValueError(f"history must be a babysit History (a Trainer's `history`, or "
                         f"History.load(path)), got {history!r}")
    run_dir = make_folder(run_dir, "the report's folder")
    drawn = figures(history)
    pca = with_components(preprocess)
    if pca is not None and image_shape is not None:
        drawn.append(Drawn("pca_components", "Top principal components",
                           "The directions of largest variance in the training data, each "
                           "scaled on its own; what PCA kept of every input.", False,
                           plot_pca_components(pca, image_shape)))
    meta_preprocess = history.meta.get("preprocess")
    if meta_preprocess is None and preprocess is not None:
        meta_preprocess = repr(preprocess)
    html = render(history, diagnose(history) if findings is None else findings, drawn,
                  sections=folder.sections(run_dir, history) + list(sections),
                  preprocess=meta_preprocess, run_dir=run_dir)
    out = run_dir / "report.html"
    with replaced_atomically(out, durable=False) as tmp:   # a page whole, never half of one
        tmp.write_text(html, encoding="utf-8")
    for name in OLD_FIGURES:
        (run_dir / f"{name}.png").unlink(missing_ok=True)
    return out


__all__ = ["PLOTS", "compare", "Drawn", "Plot", "Section", "figures", "lr_changes", "plot_accuracy",
           "plot_epoch_loss", "plot_first_layer", "plot_histograms", "plot_layer_bands",
           "plot_loss", "plot_lr", "plot_pca_components", "plot_predictions", "plot_unit_health",
           "plot_update_ratios", "weight_grid", "write"]
