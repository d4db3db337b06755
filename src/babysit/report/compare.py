"""Runs side by side: their curves overlaid and their configurations in one table, each setting
that differs highlighted. What a `--fix` report shows of its rounds and what
`babysit report RUN1 RUN2 ...` draws as a page of its own (`write_comparison`)."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

from babysit.diagnose import moving_average
from babysit.report.page import Drawn, figures_html, head, identity, run_kind, verdict
from babysit.report.plots import accuracy_limits, smoothing_window
from babysit.report.svg import Chart, color
from babysit.training.checkpoint_file import replaced_atomically
from babysit.training.history import History
from babysit.validation import make_folder


def overlay(runs: list[tuple[str, History]]) -> list[Drawn]:
    """The runs' curves on shared axes, one colour per run: the smoothed loss per iteration
    (log scale), the data loss per epoch (training dashed, validation solid) and, when any
    run has one, the validation accuracy per epoch. runs: (label, History) pairs."""
    loss = Chart("Loss per iteration (moving average), log scale", "epoch", "loss (log)", y="log")
    per_epoch = Chart("Data loss per epoch", "epoch", "data loss (log)", y="log")
    accuracy = Chart("Accuracy per epoch", "epoch", "accuracy")
    accuracies = []
    for i, (label, h) in enumerate(runs):
        c = color(i)
        y = np.asarray(h.loss, dtype=np.float64)
        if y.size:
            w = smoothing_window(h)
            x = np.asarray(h.epochs_axis())
            ok = np.where(np.isfinite(y) & (y > 0), y, np.nan)
            loss.line(x[w - 1:], moving_average(ok, w), color=c, label=label)
        train = h.epoch_means(h.data_loss)
        per_epoch.line(np.arange(1, len(train) + 1), train, color=c, dash="5 3",
                       label=f"{label}: training")
        if any(v is not None for v in h.val_loss):
            per_epoch.line(np.arange(1, len(h.val_loss) + 1), h.val_loss, color=c,
                           label=f"{label}: validation")
        for series, dash, what in ((h.val_acc, "", "validation"), (h.train_acc, "5 3",
                                                                      "training")):
            if any(a is not None for a in series):
                accuracy.line(np.arange(1, len(series) + 1), series, color=c, dash=dash,
                              label=f"{label}: {what}")
                accuracies += series
    drawn = [Drawn("compare_loss", "Loss per iteration", "Each run's loss, smoothed over a "
                   "fiftieth of its iterations; one colour per run.", False, loss.svg()),
             Drawn("compare_epoch_loss", "Data loss per epoch", "Training (dashed) and "
                   "validation (solid) data loss of each run.", False, per_epoch.svg())]
    if accuracies:
        accuracy.ylim = accuracy_limits(accuracies)
        drawn.append(Drawn("compare_accuracy", "Accuracy per epoch", "Validation (solid) and "
                           "training (dashed) accuracy of each run.", False, accuracy.svg()))
    return drawn


def config_table(runs: list[tuple[str, dict]]) -> str:
    """HTML tables, one column per run: the settings whose values differ (highlighted, class
    "diff"), then those they share, folded. runs: (label, settings) pairs."""
    e = html.escape
    keys = list(dict.fromkeys(k for _, cfg in runs for k in cfg))
    cells = {k: [_cell(cfg.get(k)) for _, cfg in runs] for k in keys}
    differ = [k for k in keys if len(set(cells[k])) > 1]
    same = [k for k in keys if k not in differ]
    header = "<tr><th>setting</th>" + "".join(f"<th>{e(label)}</th>" for label, _ in runs) \
        + "</tr>"

    def table(keys: list[str], cls: str) -> str:
        return (f"<table class=\"compare\">{header}" + "".join(
            f"<tr class=\"{cls}\"><th>{e(k)}</th>" + "".join(f"<td>{e(v)}</td>" for v in cells[k])
            + "</tr>" for k in keys) + "</table>")

    parts = []
    if differ:
        verb = "s differ" if len(differ) != 1 else " differs"
        parts += [f"<p class=\"note\">{len(differ)} setting{verb} (highlighted): "
                  f"{e(', '.join(differ))}.</p>", table(differ, "diff")]
    else:
        parts.append("<p class=\"note\">Every setting is the same.</p>")
    if same:
        parts.append(f"<details><summary>The {len(same)} settings they share</summary>"
                     f"{table(same, 'same')}</details>")
    return "\n".join(parts)


def _cell(value) -> str:
    if isinstance(value, list | tuple):
        return ",".join(map(str, value))
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def settings(history: History) -> dict:
    """A run's settings for the table: its RunConfig when the command line started it, else
    what its meta names (model, loss, optimizer, ...), then the epochs it finished."""
    meta = history.meta
    found = dict(meta.get("config") or {k: meta[k] for k in (
        "data", "model", "loss", "optimizer", "lr", "regularizer", "batch_size", "epochs")
        if meta.get(k) is not None})
    found["epochs finished"] = history.epochs
    return found


def section(runs: list[tuple[str, History]]) -> str:
    """The comparison as HTML for a section: the overlaid curves, then the settings."""
    return figures_html(overlay(runs)) + config_table([(label, settings(h)) for label, h in runs])


def run_history(run_dir) -> History:
    """The History a run folder holds (its history.json); a folder without one is a
    ValueError naming it, and, for an ensemble's folder, the members' run folders inside it,
    which hold theirs."""
    run_dir = Path(run_dir)
    path = run_dir / "history.json"
    if path.is_file():
        return History.load(path)
    members = sorted(str(p.parent) for p in run_dir.glob("member-*/history.json"))
    if members:
        raise ValueError(f"RUN_DIR {str(run_dir)!r} is an ensemble's folder: each member is a "
                         f"run of its own ({', '.join(members[:3])}"
                         f"{', ...' if len(members) > 3 else ''}); babysit report "
                         f"{' '.join(members[:2])} compares them")
    raise ValueError(f"RUN_DIR {str(run_dir)!r} holds no history.json: give a run folder "
                     f"written by babysit train, demo, search or --fix")


def write_comparison(run_dirs: list[Path], out: Path) -> Path:
    """One page comparing the runs in `run_dirs` (each holding history.json): their curves
    overlaid and their settings side by side, written to `out` (a .html file, not a folder;
    its folder created) whole or not at all, replacing a page there; returns it."""
    runs = [(Path(d).name or str(d), run_history(d)) for d in run_dirs]
    labels = [label for label, _ in runs]
    if len(set(labels)) < len(labels):  # same folder names: tell them apart by their index
        runs = [(f"{i + 1}: {label}", h) for i, (label, h) in enumerate(runs)]
    title = f"babysit report: {len(runs)} runs compared"
    e = html.escape
    parts = head(title) + [f"<h1>{e(title)}</h1>", "<ul>"]
    for (label, h), d in zip(runs, run_dirs, strict=True):
        parts.append(f"<li><b>{e(label)}</b> ({e(run_kind(h.meta))}): {e(verdict(h))} "
                     f"{identity(h.meta, d)}</li>")
    parts += ["</ul>", "<h2 id=\"compare\">Curves and settings</h2>", section(runs),
              "<details><summary>Each run's full record (meta)</summary><pre>"
              + e(json.dumps({label: {k: v for k, v in h.meta.items()
                                      if k not in ("sanity", "gradient_check")}
                              for label, h in runs}, indent=1, default=str)[:200_000])
              + "</pre></details>", "</body>", "</html>", ""]
    out = Path(out)
    if out.is_dir():
        raise ValueError(f"out {out} is a folder; expected a .html file name, such as "
                         f"{out / 'compare.html'}")
    make_folder(out.parent, "out")
    with replaced_atomically(out) as tmp:  # a page whole or not at all, never half of one
        tmp.write_text("\n".join(parts), encoding="utf-8")
    return out


__all__ = ["config_table", "overlay", "run_history", "section", "settings", "write_comparison"]
