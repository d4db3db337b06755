"""report.html: the page around the figures, built from a History and its findings.

In this order: a title naming the data and the kind of run, a one-line verdict, a word on a
run that was interrupted or resumed, the run's identity (folder, when, babysit version, command
line), the diagnosis, any extra `Section`s, the plots, the run table (labels a person reads,
formatted numbers), then the checks before training and the full configuration, folded in
<details>. Nothing on it is wider than the page: long words wrap, preformatted text wraps too,
under 1,000 px the plots stand in one column, and the search's trials table, whose numbers
never break, scrolls sideways in its own box.
"""

from __future__ import annotations

import html
import json
import math
import re
import shlex
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from babysit.report.plots import penalty_share
from babysit.report.words import readable
from babysit.training.checkpoint import state_path
from babysit.training.history import EPOCH_CONVENTION

SECOND_HALF_RISE = 0.1  # a data loss 10% higher at the end than at half time is said
SEVERITY_COLORS = {"error": "#b00020", "warning": "#a35f00", "info": "#2e6b30"}
STYLE = """
body{font-family:system-ui,sans-serif;max-width:1120px;margin:1.5em auto;padding:0 1em;
 line-height:1.4;color:#1a1a1a}
h1{margin-bottom:.2em}.verdict{font-size:1.1em;margin-top:0}
li{margin:.4em 0}.sev{font-weight:bold;text-transform:uppercase;font-size:.8em}
.concerns{color:#555;font-size:.9em}
.plots{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:1.2em 1.5em}
@media (max-width:1000px){.plots{grid-template-columns:minmax(0,1fr)}}
figure{margin:0}figure.wide{grid-column:1/-1}
@media (min-width:1001px){figure.lone>svg{max-width:calc(50% - .75em);margin:0 auto}}
svg.chart{display:block;width:100%;height:auto}
.panels{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,300px),1fr));
 gap:.6em 1em}
.stats{font-size:.8em;color:#444;margin:.1em 0 0 1em}
figcaption{font-size:.9em;color:#333;margin-top:.3em}
.identity{color:#444;font-size:.9em;margin:.2em 0 1em}.identity code{overflow-wrap:anywhere}
.headline{border-left:4px solid #a35f00;padding:.2em .8em;background:#fff8ec}
table.trials th,table.compare th{width:auto}table.trials th{cursor:pointer}
table.trials td,table.trials th{padding:.2em .4em;font-size:.9em}
table.trials td{font-variant-numeric:tabular-nums}
.scroll{overflow-x:auto}table.trials td,table.trials th{white-space:nowrap}
table.trials td:last-child{white-space:normal;min-width:12em}
tr.best td{background:#eef6ee}.diff{background:#fff1c2}
.note{color:#444;font-size:.95em}
table{border-collapse:collapse;width:100%}
td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top;
 overflow-wrap:break-word}
table.run{table-layout:fixed}
table.run td,table.compare td{overflow-wrap:anywhere}
th{font-weight:600}table.run th{width:13em}
details{margin:.6em 0}summary{cursor:pointer;font-weight:600}
pre{background:#f6f6f6;padding:.6em;white-space:pre-wrap;overflow-wrap:anywhere;font-size:.85em}
"""


@dataclass(frozen=True)
class Drawn:
    """A drawn figure: its anchor, title, caption, whether it spans the page, and its body:
    one SVG, or a list of small ones (one per layer) laid out side by side."""

    anchor: str
    title: str
    caption: str
    wide: bool
    body: str | list[str]


@dataclass(frozen=True)
class Section:
    """An extra part of the report, placed after the diagnosis: a heading, its body as HTML
    (the caller escapes what it embeds: `html.escape`), and an anchor id."""

    title: str
    body_html: str
    id: str = "section"


def render(history, findings, figures, sections=(), preprocess=None, run_dir=None) -> str:
    """The whole HTML page. figures: `Drawn`s in order; run_dir: the folder it is written to."""
    e = html.escape
    meta = history.meta
    title = page_title(meta)
    parts = head(title) + [f"<h1>{e(title)}</h1>",
                           f"<p class=\"verdict\">{e(verdict(history))}</p>",
                           _ending(history, run_dir), identity(meta, run_dir),
                           _penalty_headline(history),
                           "<h2 id=\"findings\">Diagnosis</h2>",
                           _findings(findings, healthy_words=not _penalty_dominates(history)),
                           _alerts(history)]
    for s in sections:
        parts.append(f"<h2 id=\"{e(s.id)}\">{e(s.title)}</h2>\n{s.body_html}")
    parts += ["<h2 id=\"plots\">Plots</h2>", f"<p class=\"note\">{e(EPOCH_CONVENTION)}</p>",
              figures_html(figures)]
    parts += ["<h2 id=\"run\">Run</h2>", "<table class=\"run\">"]
    parts += [f"<tr><th>{e(label)}</th><td>{e(value)}</td></tr>"
              for label, value in run_rows(history, preprocess)]
    parts.append("</table>")
    parts.append(_checks(meta))
    parts += ["</body>", "</html>", ""]
    return "\n".join(p for p in parts if p)


def head(title: str) -> list[str]:
    """The page's opening: doctype, charset, viewport, title and style, up to <body>."""
    return ["<!DOCTYPE html>", "<html lang=\"en\">", "<head>", "<meta charset=\"utf-8\">",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
            f"<title>{html.escape(title)}</title>", f"<style>{STYLE}</style>", "</head>",
            "<body>"]


def figures_html(figures) -> str:
    """The plots' grid: each `Drawn` as a <figure> (its panels side by side) with a caption."""
    e = html.escape
    parts = ["<div class=\"plots\">"]
    for fig, cls in fill_rows(figures):
        wide_class = f" class=\"{cls}\"" if cls else ""
        body = fig.body if isinstance(fig.body, str) else \
            "<div class=\"panels\">" + "".join(f"<div>{p}</div>" for p in fig.body) + "</div>"
        parts.append(f"<figure id=\"{e(fig.anchor)}\"{wide_class}>{body}"
                     f"<figcaption><b>{e(fig.title)}.</b> {e(fig.caption)}</figcaption></figure>")
    parts.append("</div>")
    return "\n".join(parts)


def run_kind(meta) -> str:
    """What kind of run the history is of, in words."""
    if meta.get("search"):
        return "the best of a search, retrained"
    if meta.get("treatment"):
        return "train --fix, the kept round"
    if str(meta.get("framework", "")).startswith("torch"):
        return "a PyTorch run"
    if meta.get("estimator"):
        return f"a scikit-learn estimator's fit ({meta['estimator']})"
    if cut_off(meta):
        return "an interrupted run"
    command = str(meta.get("command", ""))
    words = command.split()
    return f"babysit {words[1]}" if len(words) > 1 and words[0].endswith("babysit") else "a run"


def page_title(meta) -> str:
    """"babysit report: digits, babysit demo", naming the data (or the model) and the kind."""
    named = meta.get("data") or (model_summary(meta) and f"model {model_summary(meta)}") \
        or "unnamed data"
    return f"babysit report: {named}, {run_kind(meta)}"


def cut_off(meta) -> bool:
    """Whether a run of the command line (its meta holds its config; an estimator's holds one
    too, but is never stamped) never reached its end: every ending that finishes such a run
    (done, stopped early, diverged) stamps "finished"; an interrupted one (Ctrl-C, a signal,
    a full disk) keeps its history without it."""
    return bool(meta.get("config")) and not meta.get("finished") and not meta.get("estimator")


def _ending(history, run_dir) -> str:
    """The header's word on a run that was interrupted (where, and the command that continues
    it when its folder holds a training state) or resumed (whose recorded wall time is then
    the resuming command's alone); "" for any other run. Only what the meta records is said:
    where a resumed run had been interrupted is not recorded, so it is not said."""
    meta, e = history.meta, html.escape
    if cut_off(meta):
        asked, done = meta.get("epochs"), history.epochs
        left = isinstance(asked, int) and done < asked
        where = (f"in epoch {done + 1} of {asked} ({done} finished" if left else
                 f"after its last epoch ({done} finished") + f", {history.iterations:,} iterations)"
        text = (f"<b>Interrupted</b> {where}: the run never finished, and this page shows what "
                "it had recorded.")
        if left and run_dir is not None and state_path(run_dir).is_file():
            # the words of babysit.runs.resume.resume_command, which sits above the report
            command = f"babysit resume {shlex.quote(str(Path(run_dir).resolve()))}"
            text += f" <code>{e(command)}</code> continues it."
        return f"<p class=\"headline\">{text}</p>"
    if resumed(meta):
        seconds = f" ({_seconds(meta['seconds'])})" if meta.get("seconds") is not None else ""
        return ("<p class=\"headline\"><b>Resumed</b>: this run was stopped and continued "
                "from its last saved epoch with <code>babysit resume</code>; the wall time"
                f"{seconds} is that command's alone, not the whole run's.</p>")
    return ""


def resumed(meta) -> bool:
    """Whether `babysit resume` ended the run: its recorded wall time is then that command's."""
    return str(meta.get("command", "")).startswith("babysit resume")


def identity(meta, run_dir) -> str:
    """The run's identity: its folder, when it finished, the babysit version, the command."""
    e = html.escape
    parts = []
    if run_dir is not None:
        parts.append(f"folder <code>{e(str(Path(run_dir).resolve()))}</code>")
    if meta.get("finished"):
        parts.append(f"finished {e(str(meta['finished']))}")
    if meta.get("version"):
        parts.append(f"babysit {e(str(meta['version']))}")
    parts.append(f"drawn {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    if meta.get("command"):
        parts.append(f"command <code>{e(str(meta['command']))}</code>")
    return "<p class=\"identity\">" + "; ".join(parts) + ".</p>"


def _penalty_dominates(history) -> bool:
    """Whether the penalty was over half the first loss: the total's fall is then mostly the
    penalty shrinking, and says little about the data loss."""
    return penalty_share(history) > 0.5


def _penalty_headline(history) -> str:
    """When the penalty dominates: what the data loss did, so that no one reads the total's
    fall as learning."""
    if not _penalty_dominates(history):
        return ""
    data = [v for v in history.data_loss if v is not None and math.isfinite(v)]
    if len(data) < 4:
        return ""
    quarter = max(1, len(data) // 10)
    start, end = sum(data[:quarter]) / quarter, sum(data[-quarter:]) / quarter
    low = min(range(len(data)), key=data.__getitem__)
    moved = "fell" if end < 0.9 * start else ("rose" if end > 1.1 * start else "stayed flat")
    return (f"<p class=\"headline\"><b>The penalty is {penalty_share(history):.0%} of the first "
            f"loss</b>: most of the total's fall is the penalty shrinking, not learning. The "
            f"data loss {moved}: {start:.4g} over the first {quarter} iterations, {end:.4g} over "
            f"the last {quarter} (lowest {data[low]:.4g} at {html.escape(history.when(low + 1))})."
            " Judge the run by the data loss (the dashed line and \"Data loss per epoch\"), and "
            "try a weaker regularization.</p>")


def fill_rows(figures) -> list[tuple[Drawn, str]]:
    """Each figure with its CSS class: "wide" for a wide one, "wide lone" for the last of an
    odd run of half-width figures, which takes a row of its own at half width, so that no
    cell of the page's two-column grid stays empty and no half figure is blown up."""
    out, run = [], 0
    for i, fig in enumerate(figures):
        run = 0 if fig.wide else run + 1
        ends_run = i + 1 == len(figures) or figures[i + 1].wide
        lone = not fig.wide and ends_run and run % 2 == 1
        out.append((fig, "wide" if fig.wide else "wide lone" if lone else ""))
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
    kept = kept_epoch(history)
    at = -1 if kept is None else kept - 1
    for name, series in (("validation", history.val_acc), ("train", history.train_acc)):
        if series and series[at] is not None:
            scores.append(f"{name} accuracy {series[at]:.4f}")
    if kept is not None and scores:
        scores[-1] += f" (the weights of epoch {kept}, put back at the end)"
    scores += _regression_scores(history)
    seconds = f" in {_seconds(meta['seconds'])}" if meta.get("seconds") is not None else ""
    if seconds and resumed(meta):
        seconds += " (the resumed part)"
    return f"{lead}{seconds}" + (f": {', '.join(scores)}." if scores else ".") + \
        _second_half(history)


def _second_half(history) -> str:
    """" The loss rose 22% over the run's second half" when the data loss averaged over its
    last tenth is over SECOND_HALF_RISE above its average around half time: a fact the
    verdict states whatever a finding's wording says of the loss."""
    data = np.asarray(history.data_loss, dtype=np.float64)
    data = data[np.isfinite(data)]
    tenth = len(data) // 10
    if tenth < 2:
        return ""
    middle = float(data[len(data) // 2 - tenth // 2:len(data) // 2 + tenth - tenth // 2].mean())
    end = float(data[-tenth:].mean())
    if middle <= 0 or end <= (1 + SECOND_HALF_RISE) * middle:
        return ""
    return (f" The data loss rose {end / middle - 1:.0%} over the run's second half (averaged "
            f"over a tenth of the run around half time and at the end).")


def _regression_scores(history) -> list[str]:
    """A regression's (no accuracy) end in words, in the target's units: test RMSE and R^2,
    else the validation RMSE; the validation loss (standardized units) stays in the table."""
    if any(a is not None for a in history.val_acc):
        return []
    found = history.meta.get("regression") or {}
    if "test_rmse" in found:
        return [f"test RMSE {found['test_rmse']:.4g} (in the target's units), "
                f"test R^2 {found['test_r2']:.4f}"]
    if found.get("val_rmse") is not None:
        return [f"validation RMSE {found['val_rmse']:.4g} (in the target's units)"]
    return []


def _value(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NaN"
    return "infinite" if math.isinf(x) else f"{x:.4g}"


def _seconds(s: float) -> str:
    return f"{s:.1f} s" if s < 120 else f"{s / 60:.1f} min"


def _findings(findings, healthy_words: bool = True) -> str:
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
        items.append("<li>No warning or error: the run looks healthy.</li>" if healthy_words
                     else "<li>No warning or error from the rules, but they read the total "
                     "loss, which the penalty dominates: see the data loss above.</li>")
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
    return "<p class=\"note\">Raised while training, when each first appeared (the diagnosis " \
        "above, made from the whole run, is the final word and its advice):</p><ul>" + \
        "".join(items) + "</ul>"


# -- the run table ------------------------------------------------------------------------------

# meta entries the table shows under their own labels (or that live elsewhere on the page).
SHOWN = {"data", "n_train", "n_val", "n_test", "n_features", "n_classes", "chance_loss",
         "batch_size", "epochs", "loss", "optimizer", "lr", "regularizer", "layers", "model",
         "image_shape", "sanity", "gradient_check", "seed", "preprocess", "test_accuracy",
         "seconds", "alerts", "stopped", "config", "treatment", "device", "dtype", "regression",
         "finished", "version", "command", "framework", "input_shape", "estimator", "search",
         "validation_given"}


# meta entries shown under labels of their own among the table's last rows (any other plain
# entry is shown under its key in words)
LABELS = {"n_params": "Parameters", "best_refused": "Best checkpoint"}


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
        named = meta.get("data") or ("not named (pass data=NAME to babysit.torch.watch)"
                                     if str(meta.get("framework", "")).startswith("torch")
                                     else "not named (arrays given to the training loop)")
        rows.append(("Data", f"{named}: " + (", ".join(sizes) + " examples" if sizes
                                             else "sizes not recorded")
                     + (f"; {', '.join(shape)}" if shape else "")
                     + ("" if meta.get("n_val") else "; no validation split")))
    if preprocess:
        rows.append(("Preprocessing", f"{readable(str(preprocess))}, fitted on the training split"))
    if meta.get("model"):
        rows.append(("Model", model_summary(meta) or readable(meta["model"])))
    if meta.get("framework"):
        rows.append(("Framework", str(meta["framework"])))
    if meta.get("loss"):
        chance = meta.get("chance_loss")
        rows.append(("Loss", readable(meta["loss"])
                     + (f"; chance loss {chance:.4g}" if chance else "")))
    if meta.get("optimizer"):
        rows.append(("Optimizer", optimizer_text(meta)))
    if "regularizer" in meta:
        rows.append(("Regularization", readable(meta["regularizer"]) if meta["regularizer"]
                     else "none"))
    if meta.get("batch_size"):
        rows.append(("Batches", f"{meta['batch_size']} examples per batch, "
                     f"{history.iters_per_epoch:,} iterations per epoch"))
    rows.append(("Epochs", _epochs_text(history)))
    rows += _loss_rows(history)
    rows += _accuracy_rows(history)
    rows += _regression_rows(history)
    if meta.get("seconds") is not None:
        rows.append(("Wall time", _seconds(meta["seconds"]) + (
            ", the babysit resume command's alone" if resumed(meta) else "")))
    for key, label in (("seed", "Seed"), ("device", "Device"), ("dtype", "Float type")):
        value = meta.get(key, config.get(key))
        if value is not None:
            rows.append((label, str(value)))
    rows += _monitor_rows(history)
    for key, value in meta.items():
        if key not in SHOWN and isinstance(value, str | int | float | bool):
            rows.append((LABELS.get(key) or key.replace("_", " ").capitalize(),
                         _plain(value)))
    return rows


def model_summary(meta) -> str:
    """"64-100-100-10, ReLU" from a babysit model's repr (the widths its Linear layers chain)
    and its layer kinds; a PyTorch chain gives its widths when its Linear layers show them;
    "" when none can be read."""
    model = str(meta.get("model") or "")
    pairs = re.findall(r"(?:n_in|in_features)=(\d+), (?:n_out|out_features)=(\d+)", model)
    if not pairs:
        return ""
    widths = [pairs[0][0]] + [b for _, b in pairs]
    kinds = [str(name).split()[-1] for name in meta.get("layers") or []]
    others = [k for k in dict.fromkeys(kinds) if k not in ("Linear",)]
    return "-".join(widths) + (f", {', '.join(others)}" if others else "")


def optimizer_text(meta) -> str:
    """"Adam, lr 0.00162 at the start, beta1 0.9, ..." from the optimizer's repr and meta["lr"]."""
    text = readable(str(meta["optimizer"]))
    lr = meta.get("lr")
    if isinstance(lr, float | int):
        parts = [p for p in text.split(", ") if not p.startswith("lr ")]
        text = ", ".join([parts[0], f"lr {lr:.3g} at the start", *parts[1:]])
    return text


def _plain(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:.4g}" if isinstance(value, float) else _count(value)


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
    diagnosis', the sanity check's and the table's numbers can be told apart. A loss never
    finite while the data loss was (a NaN penalty from the first step) gets one row saying so."""
    finite = [v for v in history.data_loss if v is not None and math.isfinite(v)]
    if not finite:
        return []
    losses = [v for v in history.loss if v is not None and math.isfinite(v)]
    if not losses:
        return [("Loss", "not finite at any iteration, though the data loss was at some "
                         "(the penalty was not)")]
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
    tail = max(5, len(losses) // 10)
    end = f"{losses[-1]:.4g} at the last finite iteration"
    if len(losses) > tail:
        end += f"; {sum(losses[-tail:]) / tail:.4g} averaged over the last {tail} iterations"
    rows.append(("Loss at the end", end))
    return rows


def kept_epoch(history) -> int | None:
    """The epoch whose weights a run ended with when an earlier one's were put back at the
    end (`BestWeights`: history.meta["best_weights"]), else None (the last epoch's)."""
    epoch = (history.meta.get("best_weights") or {}).get("epoch")
    return epoch if isinstance(epoch, int) and 1 <= epoch <= history.epochs else None


def _accuracy_rows(history) -> list[tuple[str, str]]:
    """The accuracies of the model the run ended with: the last epoch's, or those of the
    epoch whose weights were put back (with the last epoch's beside them)."""
    meta, parts, kept = history.meta, [], kept_epoch(history)
    at = -1 if kept is None else kept - 1
    if history.train_acc and history.train_acc[at] is not None:
        parts.append(f"train {history.train_acc[at]:.4f}")
    vals = [(v, k) for k, v in enumerate(history.val_acc, start=1) if v is not None]
    if vals:
        best, top = max(vals, key=lambda p: (p[0], -p[1]))
        if kept is None:
            parts.append(f"validation {vals[-1][0]:.4f} (best {best:.4f}, epoch {top})")
        elif history.val_acc[at] is not None:
            parts.append(f"validation {history.val_acc[at]:.4f} (the last epoch's "
                         f"{vals[-1][0]:.4f})")
    if meta.get("test_accuracy") is not None:
        parts.append(f"test {meta['test_accuracy']:.4f}")
    if not parts:
        return []
    if kept is not None:
        return [(f"Accuracy of the model kept (epoch {kept}, put back at the end)",
                 ", ".join(parts))]
    return [("Accuracy at the end", ", ".join(parts))]


def _regression_rows(history) -> list[tuple[str, str]]:
    """For a regression (no accuracy): the validation loss at the end (and its lowest, which
    the best checkpoint keeps), then RMSE, MAE and R^2 on each split, in the target's units
    (`history.meta["regression"]`, written when the run ended)."""
    if any(a is not None for a in history.val_acc):
        return []
    rows = []
    vals = [(v, k) for k, v in enumerate(history.val_loss, start=1) if v is not None]
    kept = kept_epoch(history)
    if vals and kept is not None and history.val_loss[kept - 1] is not None:
        rows.append((f"Validation loss of the model kept (epoch {kept}, put back at the end)",
                     f"{history.val_loss[kept - 1]:.4g} (the last epoch's {vals[-1][0]:.4g})"))
    elif vals:
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
    parts.append("<h2 id=\"checks\">Checks before training</h2>")
    if not sanity and not grads:
        parts.append("<p class=\"note\">This run made no checks before training: neither the "
                     "sanity checks (the initial loss at chance, the penalty raising it, a tiny "
                     "subset overfitted) nor the gradient check. <code>babysit demo</code> makes "
                     "both; <code>babysit check</code> with the same options checks the "
                     "gradients.</p>")
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


__all__ = ["LABELS", "SECOND_HALF_RISE", "SEVERITY_COLORS", "SHOWN", "STYLE", "Drawn", "Section",
           "cut_off", "figures_html", "fill_rows", "head", "identity", "kept_epoch",
           "model_summary", "optimizer_text", "page_title", "render", "resumed", "run_kind",
           "run_rows", "verdict"]
