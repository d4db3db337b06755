"""report.html: the page around the figures, built from a History and its findings.

In this order: a one-line verdict, the diagnosis, any extra `Section`s, the plots, the run
table (labels a person reads, formatted numbers), then the checks before training and the
full configuration, folded in <details>. Nothing on it is wider than the page: long words
wrap and preformatted text wraps too.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass

from babysit.training.history import EPOCH_CONVENTION

__all__ = ["Section", "render", "fill_rows", "verdict", "run_rows"]

SEVERITY_COLORS = {"error": "#b00020", "warning": "#a35f00", "info": "#2e6b30"}
STYLE = """
body{font-family:system-ui,sans-serif;max-width:1120px;margin:1.5em auto;padding:0 1em;
 line-height:1.4;color:#1a1a1a}
h1{margin-bottom:.2em}.verdict{font-size:1.1em;margin-top:0}
li{margin:.4em 0}.sev{font-weight:bold;text-transform:uppercase;font-size:.8em}
.concerns{color:#555;font-size:.9em}
.plots{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:1.2em 1.5em}
figure{margin:0}figure.wide{grid-column:1/-1}
img{display:block;max-width:100%;height:auto;margin:0 auto}
figcaption{font-size:.9em;color:#333;margin-top:.3em}
.note{color:#444;font-size:.95em}
table{border-collapse:collapse;width:100%}
td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top;
 overflow-wrap:anywhere}
th{width:13em;font-weight:600}
details{margin:.6em 0}summary{cursor:pointer;font-weight:600}
pre{background:#f6f6f6;padding:.6em;white-space:pre-wrap;overflow-wrap:anywhere;font-size:.85em}
"""


@dataclass(frozen=True)
class Section:
    """An extra part of the report, placed after the diagnosis: a heading, its body as HTML
    (the caller escapes what it embeds: `html.escape`), and an anchor id."""

    title: str
    body_html: str
    id: str = "section"


def render(history, findings, figures, sections=(), preprocess=None) -> str:
    """The whole HTML page. figures: (anchor, title, caption, wide, base64 PNG) in order."""
    e = html.escape
    meta = history.meta
    title = f"babysit report: {meta.get('data', 'run')}"
    parts = ["<!DOCTYPE html>", "<html lang=\"en\">", "<head>", "<meta charset=\"utf-8\">",
             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
             f"<title>{e(title)}</title>", f"<style>{STYLE}</style>", "</head>", "<body>",
             f"<h1>{e(title)}</h1>", f"<p class=\"verdict\">{e(verdict(history))}</p>",
             "<h2 id=\"findings\">Diagnosis</h2>", _findings(findings), _alerts(history)]
    for s in sections:
        parts.append(f"<h2 id=\"{e(s.id)}\">{e(s.title)}</h2>\n{s.body_html}")
    parts += ["<h2 id=\"plots\">Plots</h2>", f"<p class=\"note\">{e(EPOCH_CONVENTION)}</p>",
              "<div class=\"plots\">"]
    for anchor, fig_title, caption, wide, data in fill_rows(figures):
        wide_class = " class=\"wide\"" if wide else ""
        parts.append(f"<figure id=\"{e(anchor)}\"{wide_class}>"
                     f"<img alt=\"{e(fig_title)}\" src=\"data:image/png;base64,{data}\">"
                     f"<figcaption>{e(caption)}</figcaption></figure>")
    parts += ["</div>", "<h2 id=\"run\">Run</h2>", "<table>"]
    parts += [f"<tr><th>{e(label)}</th><td>{e(value)}</td></tr>"
              for label, value in run_rows(history, preprocess)]
    parts.append("</table>")
    parts.append(_checks(meta))
    parts += ["</body>", "</html>", ""]
    return "\n".join(p for p in parts if p)


def fill_rows(figures) -> list[tuple]:
    """`figures` with the last of each odd run of half-width figures made wide, so that no
    cell of the page's two-column grid stays empty."""
    out, run = [], 0
    for i, (anchor, title, caption, wide, data) in enumerate(figures):
        run = 0 if wide else run + 1
        ends_run = i + 1 == len(figures) or figures[i + 1][3]
        out.append((anchor, title, caption, wide or (ends_run and run % 2 == 1), data))
    return out


def verdict(history) -> str:
    """One line on how the run ended: diverged where, stopped why, or its accuracies."""
    meta = history.meta
    asked = meta.get("epochs")
    of = f" of {asked}" if asked else ""
    bad = history.nonfinite_at()
    if bad is not None:
        return (f"The run diverged: the loss became {_value(history.loss[bad - 1])} at "
                f"{history.when(bad)}, after {history.epochs}{of} epochs finished.")
    stopped = meta.get("stopped")
    lead = f"{history.epochs}{of} epochs"
    if stopped:
        lead += f", stopped early: {stopped.get('reason', 'by a callback')}"
    scores = []
    if meta.get("test_accuracy") is not None:
        scores.append(f"test accuracy {meta['test_accuracy']:.4f}")
    for name, series in (("validation", history.val_acc), ("train", history.train_acc)):
        if series and series[-1] is not None:
            scores.append(f"{name} accuracy {series[-1]:.4f}")
    scores += _regression_scores(history)
    seconds = f" in {_seconds(meta['seconds'])}" if meta.get("seconds") is not None else ""
    return f"{lead}{seconds}" + (f": {', '.join(scores)}." if scores else ".")


def _regression_scores(history) -> list[str]:
    """A regression's (no accuracy) end in words: test RMSE and R^2, the validation loss."""
    if any(a is not None for a in history.val_acc):
        return []
    found = history.meta.get("regression") or {}
    scores = [f"test RMSE {found['test_rmse']:.4g}, test R^2 {found['test_r2']:.4f}"] \
        if "test_rmse" in found else []
    if history.val_loss and history.val_loss[-1] is not None:
        scores.append(f"validation loss {history.val_loss[-1]:.4g}")
    return scores


def _value(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NaN"
    return "infinite" if math.isinf(x) else f"{x:.4g}"


def _seconds(s: float) -> str:
    return f"{s:.1f} s" if s < 120 else f"{s / 60:.1f} min"


def _findings(findings) -> str:
    e = html.escape
    if not findings:
        return "<p>Nothing to report: too little was recorded to judge.</p>"
    items = []
    for f in findings:
        concerns = f.concerns
        about = (f" <span class=\"concerns\">(about {e(', '.join(concerns))})</span>"
                 if concerns else "")
        items.append(f"<li><span class=\"sev\" style=\"color:{SEVERITY_COLORS[f.severity]}\">"
                     f"{e(f.severity)}</span> <b>{e(f.what)}</b>{about}: {e(f.evidence)}. "
                     f"<i>{e(f.advice)}</i></li>")
    if all(f.severity == "info" for f in findings):
        items.append("<li>No warning or error: the run looks healthy.</li>")
    return "<ul>\n" + "\n".join(items) + "\n</ul>"


def _alerts(history) -> str:
    """What the alerts callback said while training (history.meta["alerts"]), if anything."""
    alerts = history.meta.get("alerts")
    if not alerts:
        return ""
    e = html.escape
    items = [f"<li>{e(a.get('when', ''))}: <span class=\"sev\" style=\"color:"
             f"{SEVERITY_COLORS.get(a.get('severity'), '#333')}\">{e(a.get('severity', ''))}"
             f"</span> {e(a.get('what', ''))}</li>" for a in alerts]
    return "<p class=\"note\">Raised while training, when each first appeared:</p><ul>" + \
        "".join(items) + "</ul>"


# -- the run table ------------------------------------------------------------------------------

# meta entries the table shows under their own labels (or that live elsewhere on the page).
SHOWN = {"data", "n_train", "n_val", "n_test", "n_features", "n_classes", "chance_loss",
         "batch_size", "epochs", "loss", "optimizer", "lr", "regularizer", "layers", "model",
         "image_shape", "sanity", "gradient_check", "seed", "preprocess", "test_accuracy",
         "seconds", "alerts", "stopped", "config", "treatment", "device", "dtype", "regression"}


def _count(n) -> str:
    return f"{n:,}" if isinstance(n, int) else str(n)


def run_rows(history, preprocess=None) -> list[tuple[str, str]]:
    """The run table: (label, text) pairs, each number formatted, each label in words."""
    meta, rows = history.meta, []
    config = meta.get("config") or {}  # the RunConfig of a run the command line started
    preprocess = preprocess or meta.get("preprocess") or config.get("preprocess")
    if "data" in meta or "n_train" in meta:
        sizes = [f"{_count(meta[k])} {name}" for k, name in
                 (("n_train", "training"), ("n_val", "validation"), ("n_test", "test"))
                 if meta.get(k)]
        shape = [f"{_count(meta[k])} {name}" for k, name in
                 (("n_features", "features"), ("n_classes", "classes")) if meta.get(k)]
        rows.append(("Data", f"{meta.get('data', '?')}: " + ", ".join(sizes) + " examples"
                     + (f"; {', '.join(shape)}" if shape else "")))
    if preprocess:
        rows.append(("Preprocessing", f"{preprocess}, fitted on the training split"))
    if meta.get("model"):
        rows.append(("Model", meta["model"]))
    if meta.get("loss"):
        chance = meta.get("chance_loss")
        rows.append(("Loss", meta["loss"] + (f"; chance loss {chance:.4g}" if chance else "")))
    if meta.get("optimizer"):
        rows.append(("Optimizer", f"{meta['optimizer']}, learning rate {meta.get('lr', '?'):g} "
                     "at the start" if isinstance(meta.get("lr"), float | int)
                     else meta["optimizer"]))
    if "regularizer" in meta:
        rows.append(("Regularization", meta["regularizer"] or "none"))
    if meta.get("batch_size"):
        rows.append(("Batches", f"{meta['batch_size']} examples per batch, "
                     f"{history.iters_per_epoch:,} iterations per epoch"))
    rows.append(("Epochs", _epochs_text(history)))
    rows += _loss_rows(history)
    rows += _accuracy_rows(history)
    rows += _regression_rows(history)
    if meta.get("seconds") is not None:
        rows.append(("Wall time", _seconds(meta["seconds"])))
    for key, label in (("seed", "Seed"), ("device", "Device"), ("dtype", "Float type")):
        value = meta.get(key, config.get(key))
        if value is not None:
            rows.append((label, str(value)))
    rows += _monitor_rows(history)
    for key, value in meta.items():
        if key not in SHOWN and isinstance(value, str | int | float | bool):
            rows.append((key.replace("_", " ").capitalize(), _plain(value)))
    return rows


def _plain(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _epochs_text(history) -> str:
    asked = history.meta.get("epochs")
    text = f"{history.epochs} finished" + (f" of {asked} asked" if asked else "")
    text += f" ({history.iterations:,} iterations)"
    bad = history.nonfinite_at()
    if bad is not None:
        text += f"; stopped in epoch {history.epoch_of(bad)}: the loss became " \
                f"{_value(history.loss[bad - 1])} at iteration {bad}"
    elif history.meta.get("stopped"):
        text += f"; stopped early: {history.meta['stopped'].get('reason', '')}"
    return text


def _loss_rows(history) -> list[tuple[str, str]]:
    """The loss at the start and at the end, each with how it was measured, so that the
    diagnosis', the sanity check's and the table's numbers can be told apart."""
    finite = [v for v in history.data_loss if v is not None and math.isfinite(v)]
    if not finite:
        return []
    rows = []
    first, penalty = history.loss[0], history.reg_loss[0] if history.reg_loss else 0.0
    start = f"{first:.4g} on the first batch" if math.isfinite(first) else \
        "not finite on the first batch"
    if penalty and math.isfinite(first):
        start += f" (data loss {history.data_loss[0]:.4g} + penalty {penalty:.2g})"
    first5 = [v for v in history.loss[:5] if math.isfinite(v)]
    if len(first5) > 1:
        first5.sort()
        start += f"; median of the first {len(first5)} batches (with the penalty) " \
                 f"{first5[len(first5) // 2]:.4g}"
    sanity = history.meta.get("sanity") or {}
    for check in sanity.get("checks", []):
        initial = check.get("numbers", {}).get("initial_loss")
        if check.get("name") == "chance loss" and initial is not None:
            start += f"; the sanity check's {initial:.4g} is the data loss on up to 2,000 " \
                     "training examples"
    rows.append(("Loss at the start", start))
    losses = [v for v in history.loss if v is not None and math.isfinite(v)]
    tail = max(5, len(losses) // 10)
    end = f"{losses[-1]:.4g} at the last finite iteration"
    if len(losses) > tail:
        end += f"; {sum(losses[-tail:]) / tail:.4g} averaged over the last {tail} iterations"
    rows.append(("Loss at the end", end))
    return rows


def _accuracy_rows(history) -> list[tuple[str, str]]:
    meta, parts = history.meta, []
    if history.train_acc and history.train_acc[-1] is not None:
        parts.append(f"train {history.train_acc[-1]:.4f}")
    vals = [(v, k) for k, v in enumerate(history.val_acc, start=1) if v is not None]
    if vals:
        best, at = max(vals, key=lambda p: (p[0], -p[1]))
        parts.append(f"validation {vals[-1][0]:.4f} (best {best:.4f}, epoch {at})")
    if meta.get("test_accuracy") is not None:
        parts.append(f"test {meta['test_accuracy']:.4f}")
    if not parts:
        return []
    return [("Accuracy at the end", ", ".join(parts))]


def _regression_rows(history) -> list[tuple[str, str]]:
    """For a regression (no accuracy): the validation loss at the end (and its lowest, which
    the best checkpoint keeps), then RMSE, MAE and R^2 on each split, in the target's units
    (`history.meta["regression"]`, written when the run ended)."""
    if any(a is not None for a in history.val_acc):
        return []
    rows = []
    vals = [(v, k) for k, v in enumerate(history.val_loss, start=1) if v is not None]
    if vals:
        low, at = min(vals, key=lambda p: (p[0], p[1]))
        rows.append(("Validation loss at the end",
                     f"{vals[-1][0]:.4g} (lowest {low:.4g}, epoch {at})"))
    found = history.meta.get("regression") or {}
    for metric, label, digits in (("rmse", "RMSE", ".4g"), ("mae", "MAE", ".4g"),
                                  ("r2", "R^2", ".4f")):
        parts = [f"{name} {found[f'{split}_{metric}']:{digits}}"
                 for split, name in (("train", "train"), ("val", "validation"), ("test", "test"))
                 if found.get(f"{split}_{metric}") is not None]
        if parts:
            rows.append((f"{label} at the end", ", ".join(parts)))
    return rows


def _every(k: int) -> str:
    return "every iteration" if k == 1 else f"every {k} iterations"


def _monitor_rows(history) -> list[tuple[str, str]]:
    mon, parts = history.monitors, []
    if mon.get("update_ratio", {}).get("every"):
        parts.append(f"update ratios {_every(mon['update_ratio']['every'])}")
    layers = mon.get("layers", {})
    if layers.get("every"):
        parts.append(f"layer histograms {_every(layers['every'])} on a probe batch "
                     f"of {layers.get('probe_size', '?')} training examples")
    return [("Monitors", "; ".join(parts))] if parts else []


# -- folded details -----------------------------------------------------------------------------

def _checks(meta) -> str:
    e = html.escape
    parts = []
    sanity, grads = meta.get("sanity"), meta.get("gradient_check")
    if sanity or grads:
        parts.append("<h2 id=\"checks\">Checks before training</h2>")
    if sanity:
        ok = sanity.get("ok")
        head = "all pass" if ok else ("some FAILED" if ok is False else "")
        parts.append(f"<details id=\"sanity\"><summary>Sanity checks: {e(head)}</summary>"
                     f"<pre>{e(sanity.get('text', json.dumps(sanity, indent=1)))}</pre>"
                     "</details>")
    if grads:
        worst = [v.get("worst") for v in grads.get("verdicts", []) if v.get("worst") is not None]
        head = "every parameter passes" if grads.get("ok") else \
            "WRONG: " + ", ".join(grads.get("wrong", []))
        if worst:
            head += f" (worst relative error {max(worst):.1e})"
        parts.append(f"<details id=\"gradient_check\"><summary>Gradient check: {e(head)}"
                     f"</summary><pre>{e(grads.get('text', json.dumps(grads, indent=1)))}</pre>"
                     "</details>")
    if meta.get("config"):
        parts.append("<details id=\"config\"><summary>Full configuration</summary><pre>"
                     f"{e(json.dumps(meta['config'], indent=1, default=str))}</pre></details>")
    return "\n".join(parts)
