"""A trained model applied to new rows of a table: what `babysit predict` runs.

The checkpoint carries everything training learned besides the weights: the table encoders
(column names, kinds, medians, categories; `babysit.data.tabular`), the preprocessing and the
target's classes or scale. New rows go through them exactly as the training rows did:

    result = predict_table("runs/train-1/best.safetensors", "new.csv")
    result.columns, result.rows          # ["predicted species", "P(Adelie)", ...], (N, K) cells

Columns are matched by name, in any order: a column the model needs that the file lacks is an
error naming it; a column the model does not know (the target itself, an id) is ignored with a
warning. Rows with a value far outside the training range (`babysit.data.training_range`) are
predicted all the same, but counted in one `ExtrapolationWarning` and marked in the output's
column "far outside training range" (the names of their far columns).
"""

from __future__ import annotations

import csv
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from babysit.backend import to_numpy
from babysit.data import formats, tabular, training_range
from babysit.data.training_range import ExtrapolationWarning  # noqa: F401  (its warning, here too)
from babysit.nn import losses
from babysit.runs.resume import resume_command
from babysit.training import checkpoint, checkpoint_file
from babysit.training.trainer import predict_scores
from babysit.validation import existing_file

__all__ = ["IgnoredColumnsWarning", "FAR_COLUMN", "Predictions", "in_training_order",
           "model_file", "match_columns", "predict_table"]


class IgnoredColumnsWarning(UserWarning):
    """The new rows hold columns the model was not trained on; they were left out."""


FAR_COLUMN = "far outside training range"      # the output column that marks those rows


@dataclass
class Predictions:
    """Predictions for N rows: `task`, `target` (the column predicted), `labels` (N,) class
    names or `values` (N,) float64, `probabilities` (N, C) with `classes` for a classifier,
    and `far_outside`, where the rows lie far outside the training range (None when the
    checkpoint keeps no training ranges: then nothing is claimed either way)."""

    task: str
    target: str
    labels: np.ndarray | None = None
    values: np.ndarray | None = None
    probabilities: np.ndarray | None = None
    classes: list[str] | None = None
    far_outside: training_range.FarOutside | None = None

    @property
    def columns(self) -> list[str]:
        """The output table's header: the prediction, then one probability per class, then
        `FAR_COLUMN` when the training ranges were known."""
        first = f"predicted {self.target}"
        head = [first] if self.task == "regress" else [first, *(f"P({c})" for c in self.classes)]
        return head if self.far_outside is None else [*head, FAR_COLUMN]

    def rows(self) -> list[list[str]]:
        """One output row per input row, as text cells (a regression's values as the
        shortest text that reads back the same float: 6 digits made 1,234,567 into
        1.23457e+06; probabilities to 6 decimals; the far columns' names joined by "; ",
        empty for an ordinary row)."""
        if self.task == "regress":
            rows = [[str(v)] for v in np.asarray(self.values, dtype=np.float64).tolist()]
        else:
            rows = [[label, *(f"{p:.6f}" for p in probs)]
                    for label, probs in zip(self.labels, self.probabilities, strict=True)]
        if self.far_outside is None:
            return rows
        return [[*row, "; ".join(far)]
                for row, far in zip(rows, self.far_outside.columns_per_row(), strict=True)]

    def write_csv(self, path) -> Path:
        """Write the predictions as a CSV file with `columns` as its header (its folder is
        created when missing, as `--out` run folders are), atomically as checkpoints are
        (`checkpoint_file.replaced_atomically`): a failed write (a full disk, a read-only
        folder) leaves no partial or empty file, and an OSError naming `path`. A file replaced
        keeps its permission bits (a read-only one stays read-only). A `.tsv` file is written
        separated by tabs, as `babysit` reads one."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with checkpoint_file.replaced_atomically(path) as tmp, tmp.open("w", newline="") as f:
            writer = csv.writer(f, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
            writer.writerow(self.columns)
            writer.writerows(self.rows())
        return path

    def to_dict(self) -> dict:
        """JSON-ready: the task, the target, and the predictions (with probabilities); with
        the training ranges known, "far_outside_training_range": per row, the names of its
        columns that lie far outside (see `training_range.RULE`), and that rule."""
        out = {"task": self.task, "target": self.target, "rows": len(self.rows())}
        if self.task == "regress":
            out["predictions"] = [float(v) for v in self.values]
        else:
            out["predictions"] = [str(label) for label in self.labels]
            out["classes"] = list(self.classes)
            out["probabilities"] = np.round(self.probabilities, 6).tolist()
        if self.far_outside is not None:
            out["far_outside_training_range"] = self.far_outside.columns_per_row()
            out["far_outside_training_range_rule"] = training_range.RULE
        return out


def model_file(path) -> Path:
    """The checkpoint `path` names: a .safetensors file, or a run folder: the model the run
    ended with, whose scores it printed (its best.safetensors, else its last epoch's
    checkpoint; the last epoch's first where the run kept its last weights, best_weights
    false in its config.json)."""
    path = Path(path)
    if path.is_dir():
        found = checkpoint.models_in(path)
        if found and not _ends_on_best_weights(path):
            found = found[::-1]
        if found:
            return found[0]
        members = sorted(path.glob("member-*"), key=lambda m: (len(m.name), m.name))
        if members:   # `train --ensemble` (member folders), a search's top-k (member files)
            raise ValueError(f"{path} is an ensemble's folder: predict takes one model; give "
                             f"a member, e.g. {members[0]}")
        raise ValueError(f"{path} is a folder without a model: expected "
                         f"{checkpoint.BEST_NAME}{checkpoint.SUFFIX} or "
                         f"{checkpoint.EPOCHS_DIR}/epoch-NNN{checkpoint.SUFFIX} in it")
    if path.is_file() and path.suffix != checkpoint.SUFFIX:
        raise ValueError(f"{path} is not a model: give a checkpoint ({checkpoint.SUFFIX}) or "
                         f"a run folder written by babysit train")
    path = checkpoint.checkpoint_path(path)
    if not path.is_file():
        raise ValueError(f"no model at {path}: give a checkpoint ({checkpoint.SUFFIX}) or a "
                         f"run folder")
    return path


def _ends_on_best_weights(run_dir: Path) -> bool:
    """Whether the run in `run_dir` ended with its best validation epoch's weights (its
    config.json's best_weights; a folder without one, written by the Checkpoints callback
    alone, is taken to, as before)."""
    try:
        config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True
    return not isinstance(config, dict) or config.get("best_weights") is not False


def match_columns(header: list[str], needed: list[str], where: str, known=()) -> list[int]:
    """The positions in `header` of the `needed` column names, in their order. A needed name
    that `header` lacks is a ValueError; names the model does not use are ignored with an
    `IgnoredColumnsWarning`, unless `known` (columns the model was given and left out)."""
    missing = [name for name in needed if name not in header]
    if missing:
        folded = {name.casefold(): name for name in header}
        near = [folded[name.casefold()] for name in missing if name.casefold() in folded]
        hint = (f"; names are matched exactly, and the file has {', '.join(map(repr, near))}"
                if near else "")
        raise ValueError(f"{where} lacks the column{'s' if len(missing) > 1 else ''} "
                         f"{', '.join(map(repr, missing))} the model was trained on (it needs "
                         f"{', '.join(needed)}){hint}")
    extra = [name for name in header if name not in needed and name not in known]
    if extra:
        warnings.warn(f"{where}: ignoring column{'s' if len(extra) > 1 else ''} "
                      f"{', '.join(map(repr, extra))}, which the model was not trained on",
                      IgnoredColumnsWarning, stacklevel=3)
    return [header.index(name) for name in needed]


def in_training_order(cells: np.ndarray, header: list[str], table, where: str,
                      known=()) -> np.ndarray:
    """New rows' cells (N, C'), their columns named `header`, as the cells (N, C) of the
    columns `table` (a fitted `TableEncoder`) was trained on, in that order: the columns it
    uses matched by name (`match_columns`: one absent is a ValueError, one it does not know,
    unless `known`, is ignored with a warning), those it left out empty (not read)."""
    used = match_columns(header, table.used_columns_, where, known)
    rows = np.full((len(cells), table.n_features_in_), "", dtype=cells.dtype)
    rows[:, [table.columns_.index(name) for name in table.used_columns_]] = cells[:, used]
    return rows


def _refuse_non_finite(values: np.ndarray, data, where: str, lines, names=None) -> None:
    """A row whose encoded features or scores (N, D) became inf or NaN `where`: a value far
    outside the training rows' range overflowed float32. Refused naming the file, the row (its
    line among `lines`, the file's lines of the rows) and the column's name in `names` (when
    given), instead of a NaN prediction written as if it were one."""
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    row, col = (int(k) for k in np.argwhere(bad)[0])
    feature = f", feature {names[col]!r}" if names is not None else ""
    raise ValueError(f"{data}: {tabular.row_text(row, int(lines[row]))}{feature} became "
                     f"{values[row, col]} "
                     f"{where}: a value there lies far outside the training rows' range and "
                     f"overflows float32; fix or rescale it")


def _warn_empty_columns(cells: np.ndarray, names, data) -> None:
    """Warn about the model's columns that no row of `cells` (N, C) gives a value: each is
    filled in as training taught for a missing cell, the same for every row, so the
    predictions ignore it (an export that lost a column, a misnamed one). One row alone may
    well miss a cell: nothing is said."""
    if len(cells) < 2:
        return
    empty = [name for name, column in zip(names, cells.T, strict=True)
             if tabular.missing_cells(column).all()]
    if empty:
        warnings.warn(f"{data}: column{'s' if len(empty) > 1 else ''} "
                      f"{', '.join(map(repr, empty))} {'hold' if len(empty) > 1 else 'holds'} "
                      f"no value in any of its {len(cells)} rows: filled in as a missing cell "
                      f"is, the same for every row, so the predictions ignore "
                      f"{'them' if len(empty) > 1 else 'it'}", stacklevel=3)


def _training_positions(width: int, table, target: str, config: dict, data) -> list[str]:
    """The training names ("1", "2", ...) of the `width` columns of a file without a header
    row, for a model trained on one (`target`: the name, a position, its target column had).
    Its columns were named by position, so new rows hold them in the training positions: all
    of them (the target's among them, then ignored), or all but the target's, the columns
    after it each one place earlier. Any other width is refused: matching by position would
    shift every column without a word."""
    trained = len({*table.columns_, target, *config.get("drop", ())})  # every column, named
    if width == trained:
        return [str(j) for j in range(1, width + 1)]
    if width == trained - 1 and target.isdigit():
        return [str(j if j < int(target) else j + 1) for j in range(1, width + 1)]
    raise ValueError(f"{data} has {width} columns, and the model was trained on a file "
                     f"without a header row, whose columns it reads by position: give "
                     f"{trained} columns as in training (column {target}, the target, is "
                     f"ignored) or {trained - 1}, the same without the target column")


def predict_table(model, data, notes: list | None = None) -> Predictions:
    """Predict every row of the CSV (or TSV) file `data` with the checkpoint `model` (see
    `model_file`): the table encoders, the preprocessing and the network as training applied
    them. Rows far outside the training range are counted in one `ExtrapolationWarning` and
    marked in `Predictions.far_outside`. What reading the file decided (its separator) is
    appended to `notes` when given."""
    existing_file(data, "the new rows: a CSV file with a header row")
    if Path(data).suffix.lower() not in formats.TABLE_SUFFIXES:
        raise ValueError(f"{data} is not a table: babysit predict reads new rows from a .csv "
                         f"or .tsv file whose header names the columns the model was trained "
                         f"on")
    path = model_file(model)
    if path.name == checkpoint.state_path(path.parent).name:
        raise ValueError(f"{path} is a run's training state (what "
                         f"{resume_command(path.parent)} goes on from), not its model: give "
                         f"the run folder {path.parent} (its "
                         f"{checkpoint.BEST_NAME}{checkpoint.SUFFIX}) instead")
    net, preprocess = checkpoint.load(path)
    meta = checkpoint.read_meta(path)
    if tabular.CHECKPOINT_KEY not in meta:
        raise ValueError(f"{path} was not trained on a table (a .csv with --target), so it "
                         f"holds no column names to match new rows against")
    table, target = tabular.from_checkpoint(meta[tabular.CHECKPOINT_KEY])
    # a model trained on a file without a header row reads new rows the same way
    config = meta.get("config", {})
    has_header = config.get("header", True)
    header, cells = formats.read_table(data, notes=notes, header=has_header,
                                       columns=list(table.used_columns_))
    if not has_header:
        header = _training_positions(len(header), table, target.name_, config, data)
    rows = in_training_order(cells, header, table, str(data))
    _warn_empty_columns(rows[:, [table.columns_.index(name) for name in table.used_columns_]],
                        table.used_columns_, data)
    try:
        X, numbers = table.encode(rows, lines=cells.lines)
    except ValueError as err:  # a cell that cannot be encoded: say in which file
        raise ValueError(f"{data}: {err}") from None
    far = training_range.far_outside(table, numbers)
    if far is not None:
        far.warn(str(data), stacklevel=2)
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused below
        if preprocess is not None:
            X = preprocess.transform(X)
        names = table.feature_names_out_  # unless a PCA changed the columns
        _refuse_non_finite(X, data, "after the training's preprocessing", cells.lines,
                           names if X.shape[1] == len(names) else None)
        scores = predict_scores(net, X)
        _refuse_non_finite(to_numpy(scores), data, "in the network's output", cells.lines)
    if target.task == "regress":
        return Predictions("regress", target.name_, values=target.inverse_transform(
            to_numpy(scores)), far_outside=far)
    loss = losses.get(meta.get("config", {}).get("loss", "softmax"))
    return Predictions("classify", target.name_,
                       labels=target.inverse_transform(to_numpy(scores.argmax(axis=1))),
                       probabilities=to_numpy(loss.probabilities(scores)).astype(np.float64),
                       classes=list(target.classes_), far_outside=far)
