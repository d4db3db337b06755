"""What a run folder holds beyond its history, shown on its report, read from the files the
commands leave there (so that `babysit report RUN` draws the same page again):

- a search (`trials.json`, and `search.json` once it ended): "best of N trials", the retrained
  best's validation and test scores, the wall time, every trial in a table sortable by any
  column (best first, each with its top finding), and the score against each hyperparameter
  with the best marked;
- a `--fix` treatment (`treatment.json`, `lr_range.json`, `round-<n>/history.json`): each
  round's cause, evidence, change and score, the kept round and the command that trains it
  again, the last learning-rate range test, and the rounds' curves overlaid with their
  settings side by side (`babysit.report.compare`).
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import numpy as np

from babysit.report.compare import section
from babysit.report.page import Drawn, Section, figures_html
from babysit.report.plots import plot_lr_range
from babysit.report.svg import Chart, color
from babysit.report.words import setting
from babysit.training.history import History

# Clicking a header sorts the trials by that column (numbers as numbers, missing values last);
# a second click reverses.
SORT_SCRIPT = """<script>
document.querySelectorAll('table.trials').forEach(table => {
  table.querySelectorAll('th').forEach((th, col) => th.addEventListener('click', () => {
    const rows = [...table.querySelectorAll('tr')].slice(1);
    const key = r => { const t = r.children[col].dataset.v ?? r.children[col].textContent;
                       const n = parseFloat(t); return isNaN(n) ? t : n; };
    const up = th.dataset.up !== '1'; th.dataset.up = up ? '1' : '0';
    rows.sort((a, b) => { const x = key(a), y = key(b);
      if (x === '' || y === '') return x === '' ? 1 : -1;
      return (x < y ? -1 : x > y ? 1 : 0) * (up ? 1 : -1); });
    rows.forEach(r => table.appendChild(r));
  }));
});
</script>"""
# Columns of trials.json that are not hyperparameters.
TRIAL_COLUMNS = ("stage", "trial", "state", "epochs", "seconds", "worker", "finding", "val_std",
                 "val_rmse")


def sections(run_dir, history) -> list[Section]:
    """The sections `run_dir` has the files for (none for a plain run)."""
    run_dir = Path(run_dir)
    found = []
    if (run_dir / "trials.json").is_file():
        found.append(Section("Search", search_html(run_dir), "search"))
    if (run_dir / "treatment.json").is_file():
        record = json.loads((run_dir / "treatment.json").read_text())
        ranges = run_dir / "lr_range.json"
        found.append(Section("Treatment", treatment_html(
            record, json.loads(ranges.read_text()) if ranges.is_file() else None), "treatment"))
    rounds = sorted(run_dir.glob("round-*/history.json"), key=lambda p: _round(p.parent))
    if len(rounds) > 1:
        runs = [(f"round {_round(p.parent)}", History.load(p)) for p in rounds]
        found.append(Section("Rounds compared", "<p class=\"note\">Each round of the treatment: "
                             "round 0 is the run as first configured; every round folder holds "
                             "its own report.html.</p>" + section(runs), "rounds"))
    return found


def treatment_html(record: dict, lr_range: dict | None = None) -> str:
    """The `--fix` treatment's section from its record (`Treatment.to_dict`, treatment.json):
    one row per round (the cause in words, its evidence, the change, why, the score before and
    after), why it stopped, the notes, the kept round and the command that trains it again;
    then the last learning-rate range test (`lr_range.json`'s curve), when one ran."""
    e = html.escape
    metric = record.get("metric", "validation accuracy")
    rounds = record.get("rounds") or []
    parts = []
    if rounds:
        parts.append("<table><tr><th>round</th><th>cause</th><th>evidence</th><th>change</th>"
                     f"<th>why</th><th>{e(metric)}</th></tr>")
        for r in rounds:
            change = ", ".join(f"{e(k)} {e(setting(a))} &rarr; {e(setting(b))}"
                               for k, (a, b) in r["changes"].items())
            parts.append(f"<tr><td>{r['number']}</td><td>{e(r.get('what') or r['cause'])}</td>"
                         f"<td>{e(r['evidence'])}</td><td>{change}</td>"
                         f"<td>{e(r['because'])}</td><td>{_score(r['val_before'])} &rarr; "
                         f"{_score(r['val_after'])}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p>No round: nothing was changed.</p>")
    parts.append(f"<p>{e(record.get('stopped', ''))}.</p>")
    parts += [f"<p>Note: {e(n)}.</p>" for n in record.get("notes", [])]
    best = record.get("best_round", 0)
    parts.append(f"<p>Kept {'the initial run' if best == 0 else f'round {best}'} "
                 f"({e(metric)} {_score(record.get('val_initial'))} &rarr; "
                 f"{_score(record.get('val_final'))}). To train it again:</p>"
                 f"<pre>{e(record.get('command', ''))}</pre>")
    if lr_range:
        parts.append(figures_html([Drawn(
            "lr_range", "The last learning-rate range test of the treatment",
            "The loss as the learning rate grows, batch by batch (faint) and smoothed; the "
            "suggested rate is marked in red (lr_range.json holds the curve).", False,
            plot_lr_range(lr_range))]))
    return "\n".join(parts)


def _score(value) -> str:
    """An accuracy or a loss as the treatment records it ("diverged" for None)."""
    return "diverged" if value is None else f"{value:.4f}"


def _round(folder: Path) -> int:
    tail = folder.name.removeprefix("round-")
    return int(tail) if tail.isdigit() else 0


def _metric(rows: list[dict], summary: dict) -> tuple[str, str]:
    """The score the trials were ranked by and its direction ("maximize" or "minimize")."""
    objective = summary.get("objective") or {}
    if objective.get("metric"):
        return objective["metric"], objective.get("direction", "maximize")
    metric = "val_accuracy" if any("val_accuracy" in r for r in rows) else "val_loss"
    return metric, "maximize" if metric == "val_accuracy" else "minimize"


def search_html(run_dir: Path) -> str:
    """The search's section: the headline, the hyperparameter plots, the table of trials."""
    rows = json.loads((run_dir / "trials.json").read_text())
    summary_path = run_dir / "search.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    metric, direction = _metric(rows, summary)
    scored = [r for r in rows if isinstance(r.get(metric), int | float)
              and math.isfinite(r[metric])]
    scored.sort(key=lambda r: r[metric], reverse=direction == "maximize")
    best = scored[0] if scored else None
    params = [k for k in dict.fromkeys(k for r in rows for k in r)
              if k not in TRIAL_COLUMNS and k != metric]
    e = html.escape
    words = metric.replace("val_", "validation ").replace("_", " ")
    parts = []
    if best is not None:
        head = (f"<p><b>Best of {len(rows)} trials</b> (stage {best['stage']}, trial "
                f"{best['trial']}): {e(words)} {best[metric]:.4g}; this report is of that "
                "configuration retrained.")
    else:
        head = f"<p><b>None of {len(rows)} trials ended with a score.</b>"
    retrained = summary.get("retrained") or {}
    scores = [f"{k.replace('_', ' ').replace('val ', 'validation ')} {v:.4g}"
              for k, v in retrained.items() if k.startswith(("val_", "test_"))
              and isinstance(v, int | float)]
    if scores:
        head += " Retrained: " + e(", ".join(scores)) + "."
    ensemble = summary.get("ensemble") or {}
    if ensemble.get("members"):
        head += (f" Top-{len(ensemble['members'])} ensemble: " + e(", ".join(
            f"{k.replace('_', ' ')} {v:.4g}" for k, v in ensemble.items()
            if k.startswith(("val_", "test_")) and isinstance(v, int | float))) + ".")
    trial_time = sum(r.get("seconds") or 0 for r in rows)
    head += f" The trials trained for {trial_time:.1f} s in all"
    head += (f"; the whole search took {summary['seconds']:.1f} s." if summary.get("seconds")
             else ".")
    if not summary:
        head += " (The search had not ended when this was drawn: no test score yet.)"
    parts.append(head + "</p>")
    parts += [f"<p class=\"note\">Warning: {e(w)}</p>" for w in summary.get("warnings", [])]
    spaces = summary.get("spaces") or []
    charts = [_param_chart(rows, name, metric, direction, best, spaces) for name in params]
    charts = [c for c in charts if c]
    if charts:
        parts.append("<figure id=\"search_params\"><div class=\"panels\">" +
                     "".join(f"<div>{c}</div>" for c in charts) + "</div><figcaption><b>The "
                     "score against each hyperparameter.</b> One point per trial, coloured by "
                     "stage; the best is ringed in red. A best at the edge of a range means the "
                     "range should widen that way.</figcaption></figure>")
    parts.append(_trials_table(rows, scored, metric, params, best))
    return "\n".join(parts)


def _param_chart(rows, name, metric, direction, best, spaces) -> str | None:
    """The score against one hyperparameter: numbers on a log axis when the space says
    loguniform, choices (lists, text) as evenly spaced categories."""
    pts = [r for r in rows if name in r and isinstance(r.get(metric), int | float)]
    if not pts:
        return None
    values = [r[name] for r in pts]
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    log = numeric and any(str(s.get(name, "")).startswith("loguniform") for s in spaces) or (
        numeric and min(values) > 0 and max(values) > 20 * min(values))
    labels = None
    if numeric:
        xs = np.asarray(values, dtype=np.float64)
    else:
        labels = list(dict.fromkeys(_label(v) for v in values))
        xs = np.asarray([labels.index(_label(v)) for v in values], dtype=np.float64)
    better = "higher" if direction == "maximize" else "lower"
    chart = Chart(name, name + (" (log)" if log else ""), f"{metric} ({better} is better)",
                  x="log" if log else "linear", width=340, height=240)
    for stage in sorted({r["stage"] for r in pts}):
        mine = [i for i, r in enumerate(pts) if r["stage"] == stage]
        chart.points(xs[mine], [pts[i][metric] for i in mine], color=color(stage - 1), r=3.2,
                     opacity=0.8, label=f"stage {stage}")
    if best is not None and name in best:
        i = next(i for i, r in enumerate(pts) if r is best)
        chart.points([xs[i]], [best[metric]], color="#b00020", r=6, opacity=0.35, label="best")
    if labels is not None:
        chart.xlim = (-0.5, len(labels) - 0.5)
        svg = chart.svg()
        key = "; ".join(f"{i}: {label}" for i, label in enumerate(labels))
        return svg + f"<p class=\"stats\">x: {html.escape(key)}</p>"
    return chart.svg()


def _label(value) -> str:
    return "-".join(map(str, value)) if isinstance(value, list) else str(value)


def _trials_table(rows, scored, metric, params, best) -> str:
    """Every trial, best first, sortable by any column; the best's row highlighted. No number
    or name is broken across lines (only the finding wraps, between words): a table wider
    than the page scrolls sideways in its box."""
    e = html.escape
    order = scored + [r for r in rows if r not in scored]
    columns = ["stage", "trial", "state", metric, *params, "epochs", "seconds", "finding"]
    out = ["<div class=\"scroll\"><table class=\"trials\" id=\"trials\"><tr>" +
           "".join(f"<th title=\"sort by {e(c)}\">{e(c)}</th>" for c in columns) + "</tr>"]
    for r in order:
        cls = " class=\"best\"" if r is best else ""
        cells = []
        for c in columns:
            v = r.get(c)
            raw = "" if v is None else (_label(v) if isinstance(v, list) else v)
            shown = f"{v:.4g}" if isinstance(v, float) else raw
            cells.append(f"<td data-v=\"{e(str(raw))}\">{e(str(shown))}</td>")
        out.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    out.append("</table></div>")
    return ("<p class=\"note\">Every trial, best first; click a column's name to sort by it."
            "</p>" + "\n".join(out) + SORT_SCRIPT)


__all__ = ["SORT_SCRIPT", "TRIAL_COLUMNS", "search_html", "sections", "treatment_html"]
