"""What a search found: the trial table (text, CSV, JSON), the border warnings, the plot, and
the `babysit train` command line of a configuration."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from babysit import doctor
from babysit.runs.config import RunConfig
from babysit.search.objective import ACCURACY, Objective
from babysit.search.space import Choice, Dimension, choice_label
from babysit.search.studies import FINISHED, Job, load_study, param_value, stage_space, trial_states

__all__ = ["SearchResult", "collect", "ranked", "border_warnings", "format_table", "train_command",
           "save_table", "plot"]

# The notes' border warning fires when the best value lies in this outer fraction of its range.
_BORDER = 0.1
# Panels per row of search.png.
_PLOT_COLUMNS = 3


@dataclass
class SearchResult:
    """What a search found.

    trials: one row per finished trial (stage, trial, state, the score: `objective.metric`,
    val_accuracy or val_loss (with val_rmse), epochs, seconds, worker, and each
    hyperparameter's value); best: the best row; spaces: the space each stage sampled;
    warnings: border warnings; retrained: the best configuration retrained (val/test accuracy,
    or loss, RMSE, MAE and R^2; checkpoint path); ensemble: the top-k retrained as an ensemble
    (the same scores, checkpoint paths), and `ensemble_model` that `babysit.runs.ensemble.Ensemble`
    (it takes raw features); objective: what the trials were ranked by.
    """

    out: Path
    storage: str
    study: str
    trials: list[dict]
    best: dict
    spaces: list[dict]
    warnings: list[str] = field(default_factory=list)
    retrained: dict = field(default_factory=dict)
    ensemble: dict = field(default_factory=dict)
    ensemble_model: object = None
    objective: Objective = ACCURACY

    def summary(self) -> dict:
        """A JSON-ready summary (no networks)."""
        return {"trials": len(self.trials), "study": self.study, "storage": self.storage,
                "objective": {"metric": self.objective.metric,
                              "direction": self.objective.direction},
                "best": self.best, "warnings": self.warnings, "retrained": self.retrained,
                "ensemble": self.ensemble,
                "spaces": [{k: str(v) for k, v in s.items()} for s in self.spaces],
                "run_dir": str(self.out)}


def collect(job: Job, storage) -> tuple[list[dict], list[dict]]:
    """The finished trials of every stage as table rows, and the space each stage sampled."""
    rows, spaces, metric = [], [], job.objective.metric
    for stage in range(len(job.stages)):
        space = stage_space(job, stage, storage)
        spaces.append(space)
        study = load_study(job, stage, storage)
        for t in study.get_trials(deepcopy=False, states=trial_states(*FINISHED)):
            info = t.user_attrs.get("result", {})
            row = {"stage": stage + 1, "trial": t.number,
                   "state": "diverged" if "diverged" in info else "complete",
                   metric: t.value,
                   **({"val_rmse": info.get("val_rmse")} if "val_rmse" in info else {}),
                   "epochs": job.stages[stage].epochs or job.base["epochs"]}
            if job.folds > 1:
                row["val_std"] = info.get("val_std")
            row.update({name: param_value(dim, t.params[name]) for name, dim in space.items()
                        if name in t.params})
            row.update(seconds=info.get("seconds"), worker=t.user_attrs.get("worker"),
                       finding=info.get("finding", ""))
            rows.append(row)
    return rows, spaces


def ranked(rows: list[dict], objective: Objective = ACCURACY) -> list[dict]:
    """Completed rows, best `objective` score first (highest accuracy, lowest loss); ties go
    to the later stage (longer training), then the earlier trial."""
    done = [r for r in rows if r.get(objective.metric) is not None]
    return sorted(done, key=lambda r: (objective.sort_key(r[objective.metric]), -r["stage"],
                                       r["trial"]))


def border_warnings(rows: list[dict], space: Mapping[str, Dimension], top: int = 5,
                    objective: Objective = ACCURACY) -> list[str]:
    """The notes' warning about the border: when the best value of a hyperparameter lies in
    the outer tenth of its (log) range, the optimum may lie outside it. The best rows are
    those of `objective`."""
    best = ranked(rows, objective)
    if not best:
        return []
    warnings = []
    for name, dim in space.items():
        if isinstance(dim, Choice) or name not in best[0]:
            continue
        where = dim.scale(best[0][name])
        if _BORDER <= where <= 1 - _BORDER:
            continue
        upward = where > 1 - _BORDER
        near = sum((dim.scale(r[name]) > 1 - _BORDER) if upward else (dim.scale(r[name]) < _BORDER)
                   for r in best[:top] if name in r)
        warnings.append(
            f"{name}: the best value {best[0][name]:.3g} lies in the "
            f"{'top' if upward else 'bottom'} tenth of its {'log ' if dim.log else ''}range "
            f"{dim} ({near} of the best {min(top, len(best))} trials do); the best "
            f"setting may lie beyond it: widen the range {'upward' if upward else 'downward'}"
            f", e.g. {dim.widened(upward)}")
    return warnings


def format_table(rows: list[dict], limit: int | None = None,
                 objective: Objective = ACCURACY) -> str:
    """The trials as a fixed-width text table, best `objective` score first; its last column,
    each trial's top finding, says why a trial scored low."""
    if not rows:
        return "(no finished trials)"
    order = ranked(rows, objective) + [r for r in rows if r.get(objective.metric) is None]
    order = order[:limit] if limit else order
    columns = [c for c in rows[0] if c not in ("worker",)]
    cells = [[_table_cell(r.get(c)) for c in columns] for r in order]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(_fit(c, w, c) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(_fit(v, w, c) for v, w, c in zip(row, widths, columns, strict=True))
              for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def _fit(text: str, width: int, column: str) -> str:
    """A cell padded to `width`: numbers to the right, the finding (words) to the left."""
    return text.ljust(width) if column == "finding" else text.rjust(width)


def train_command(config: Mapping, data: str, target: str | None = None,
                  base: RunConfig | None = None) -> str:
    """The `babysit train` command line for `config` (a search's settings): the options that
    differ from the defaults (`doctor.train_command`: floats to 6 significant digits), on the
    data options of `base` (the command line's settings: --data, --target, --drop, --split,
    --val-data ...) when given, else on `data` (and a table's `target`)."""
    start = base.to_dict() if base is not None else {"data": data, "target": target}
    return doctor.train_command(RunConfig.from_dict({**start, **config}))


def _table_cell(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4f}" if 1e-3 <= abs(v) < 1e4 or v == 0 else f"{v:.3g}"
    if isinstance(v, list):
        return ",".join(map(str, v)) or "none"
    return str(v)


def save_table(rows: list[dict], out: Path) -> None:
    """trials.json (values as they are) and trials.csv (lists written as 100,100) in `out`."""
    (out / "trials.json").write_text(json.dumps(rows, indent=1) + "\n")
    columns = list(dict.fromkeys(c for r in rows for c in r))
    with open(out / "trials.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows({c: (_table_cell(v) if isinstance(v, list) else v) for c, v in r.items()}
                         for r in rows)


def plot(rows: list[dict], spaces: list[dict], path: Path, objective: Objective = ACCURACY) -> Path:
    """The `objective` score (validation accuracy or loss) against each hyperparameter, one
    panel each, colored by stage, with a log x axis where the range is log and each later
    stage's narrowed range shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(spaces[0])
    cols = min(_PLOT_COLUMNS, len(names))
    nrows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.4 * nrows), squeeze=False)
    metric = objective.metric
    done = [r for r in rows if r.get(metric) is not None]
    for ax, name in zip(axes.flat, names, strict=False):
        dim = spaces[0][name]
        for stage in range(len(spaces)):
            pts = [r for r in done if r["stage"] == stage + 1 and name in r]
            if isinstance(dim, Choice):
                labels = dim.labels()
                x = [labels.index(choice_label(r[name])) + 0.08 * (stage - 0.5) for r in pts]
            else:
                x = [r[name] for r in pts]
                if stage > 0:
                    ax.axvspan(spaces[stage][name].lo, spaces[stage][name].hi,
                               color=f"C{stage}", alpha=0.08)
            ax.scatter(x, [r[metric] for r in pts], s=18, color=f"C{stage}",
                       label=f"stage {stage + 1}")
        if isinstance(dim, Choice):
            ax.set_xticks(range(len(dim.values)), [_table_cell(v) for v in dim.values])
        elif dim.log:
            ax.set_xscale("log")
        ax.set_xlabel(name)
        ax.set_ylabel(f"{objective.label} ({objective.better} is better)")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    if done:
        axes.flat[0].legend(fontsize=8)
    diverged = len(rows) - len(done)
    fig.suptitle(f"{len(done)} trials" + (f" ({diverged} diverged, not shown)"
                                          if diverged else ""))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


