"""Tables as people have them: text categories, empty cells, class or quantity targets.

`TableEncoder` turns a CSV's feature cells (N, C) str into numbers (N, D) float32, learning
everything from the training rows only:

- a numeric column stays one column; a missing cell gets the training median;
- a text column becomes one-hot columns, one per category of the training rows; a category
  never seen in training maps to all zeros and is counted in a warning (`UnseenCategoryWarning`);
- a column with missing cells in the training rows (at least `MIN_MISSING`, 5) gains an
  indicator column "<name> missing" (1 where the cell was missing), so the network can tell an
  imputed value from a real one.

Missing means an empty cell or one of `MISSING` (NA, N/A, NaN, null, any case). A text column
with more than `max_categories` distinct training values, or with more than 10 values all
different (an identifier, a name, free text), is refused: it is no category, and one-hot
columns for it would only let the network memorise rows.

`TargetEncoder` turns the target column into class indices (task "classify") or into
standardized numbers (task "regress", restored by `inverse_transform`); `decide_task` picks the
task from the target's values (`decide_task.__doc__` states the rule).

Manners are scikit-learn's, like `babysit.data.preprocess`: parameters only stored in `__init__`,
learned attributes end in `_`, `fit` returns self; `to_state()` / `from_state()` describe a
fitted encoder as JSON (a few numbers and names: no arrays are needed), so a checkpoint stores
it in its header, never pickled.
"""

from __future__ import annotations

import re
import warnings

import numpy as np

from babysit.data import training_range
from babysit.data.arrays import class_labels, first_fractional
from babysit.validation import refuse_mixed_labels

__all__ = ["TASKS", "CHECKPOINT_KEY", "UnseenCategoryWarning", "missing_cells", "as_numbers",
           "row_text", "decide_task", "TableEncoder", "TargetEncoder", "to_checkpoint",
           "from_checkpoint"]

MISSING = ("", "na", "n/a", "nan", "null")   # compared lower-cased, after stripping blanks
MAX_CATEGORIES = 50
MIN_MISSING = 5                               # missing training cells for an indicator column
MAX_CLASSES_FROM_NUMBERS = 20                 # see decide_task
TASKS = ("classify", "regress")
# A number written with thousands separators ("1,000", "-12,345.5"): read as neither a number
# nor a category, but refused with its own words.
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")
CHECKPOINT_KEY = "table"        # where a checkpoint's meta keeps `to_checkpoint`'s state


class UnseenCategoryWarning(UserWarning):
    """Rows held a category that the training rows did not; they were encoded as all zeros."""


def missing_cells(cells: np.ndarray) -> np.ndarray:
    """(N,) bool: True where a text cell (N,) counts as missing (see `MISSING`)."""
    return np.isin(np.char.lower(np.char.strip(np.asarray(cells, dtype=str))), MISSING)


def as_numbers(cells: np.ndarray, missing: np.ndarray) -> np.ndarray | None:
    """The text cells (N,) as float64 with NaN where `missing`, or None when some present cell
    is not a number (the column holds text)."""
    try:
        return np.where(missing, "nan", np.char.strip(cells)).astype(np.float64)
    except ValueError:
        return None


def row_text(i: int) -> str:
    """Where data row `i` (0-based) of a CSV file sits: 'data row 4 (line 6)'."""
    return f"data row {i} (line {i + 2})"


def decide_task(values) -> tuple[str, str]:
    """The task a target column asks for, and the reason in words: (task, reason).

    The rule: a target holding text is classified; a numeric target whose values are all
    whole numbers with at most `MAX_CLASSES_FROM_NUMBERS` (20) distinct values is classified
    (0/1, ratings 1-5, digit labels); any other numeric target (fractions, or many distinct
    values, like a price or a count) is regressed.
    """
    values = np.asarray(values)
    if values.dtype.kind in "US":
        numbers = as_numbers(values, np.zeros(len(values), dtype=bool))
        if numbers is None:
            return "classify", "the target holds text, so its values are classes"
        values = numbers
    values = values.astype(np.float64)
    distinct = len(np.unique(values))
    if first_fractional(values) is None and distinct <= MAX_CLASSES_FROM_NUMBERS:
        return "classify", (f"the target holds {distinct} distinct whole numbers (at most "
                            f"{MAX_CLASSES_FROM_NUMBERS} are taken as classes)")
    kind = "whole numbers" if first_fractional(values) is None else "numbers, not all whole"
    return "regress", (f"the target holds {distinct} distinct {kind} (classes are at most "
                       f"{MAX_CLASSES_FROM_NUMBERS} whole numbers), so it is a quantity")


class TableEncoder:
    """Raw table columns (N, C) str -> numeric features (N, D) float32 (see the module doc).

    max_categories: the most distinct training values a text column may have. min_missing:
    the fewest missing training cells that earn a column its indicator column; with fewer there
    is nothing to learn what "missing" means from, and the indicator would let the network
    memorise the row or two it marks (on the penguins, one row missing every measurement taught
    it "all missing = Gentoo").

    Learned by `fit`: `columns_` (the C names), `kinds_` ("numeric" | "categorical" per
    column), `medians_` (C,) float64 (NaN for text columns), `categories_` (the sorted
    training categories of each text column, [] for numeric ones), `missing_counts_` (missing
    cells per column in the training rows; a column with min_missing or more gets an indicator
    column), `ranges_` (C, 3) float64: each numeric column's training min, max and standard
    deviation (NaN for text columns; what `babysit.data.training_range` measures new rows
    against; absent from an encoder rebuilt from a checkpoint written before it was kept),
    `n_features_in_` (C). `feature_names_out_` names the D output columns.
    """

    def __init__(self, max_categories: int = MAX_CATEGORIES, min_missing: int = MIN_MISSING):
        if not isinstance(max_categories, int) or max_categories < 2:
            raise ValueError(f"max_categories must be an integer >= 2, got {max_categories!r}")
        if not isinstance(min_missing, int) or min_missing < 1:
            raise ValueError(f"min_missing must be a positive integer, got {min_missing!r}")
        self.max_categories, self.min_missing = max_categories, min_missing

    def fit(self, X, columns, rows=None) -> TableEncoder:
        """Learn each column's kind, median or categories from the training rows X (N, C) str,
        whose columns are named `columns` (C names). `rows` (N,) are their data-row numbers in
        the file, for error messages (default 0..N-1). Returns self."""
        X = _check_cells(X)
        rows = np.arange(len(X)) if rows is None else np.asarray(rows)
        columns = [str(c) for c in columns]
        if len(columns) != X.shape[1]:
            raise ValueError(f"columns names {len(columns)} columns but X has {X.shape[1]}")
        if X.shape[0] == 0:
            raise ValueError("X is empty: no training rows to learn the columns from")
        self.kinds_, self.categories_, self.missing_counts_ = [], [], []
        medians, parsed = np.full(len(columns), np.nan), np.full(X.shape, np.nan)
        for j, name in enumerate(columns):
            cells = np.char.strip(X[:, j])
            missing = missing_cells(cells)
            if missing.all():
                raise ValueError(f"column {name!r} holds no value in the training rows (all "
                                 f"{len(cells)} are missing); leave it out with --drop {name}")
            numbers = as_numbers(cells, missing)
            if numbers is None:
                self.kinds_.append("categorical")
                self.categories_.append(self._categories(cells, missing, name, rows))
            else:
                _check_finite(numbers, missing, name, rows)
                self.kinds_.append("numeric")
                self.categories_.append([])
                medians[j], parsed[:, j] = np.median(numbers[~missing]), numbers
            self.missing_counts_.append(int(missing.sum()))
        self.columns_, self.medians_, self.n_features_in_ = columns, medians, len(columns)
        numeric = np.array(self.kinds_) == "numeric"
        self.ranges_ = np.full((len(columns), 3), np.nan)
        self.ranges_[numeric] = training_range.ranges_of(parsed[:, numeric])
        return self

    def _categories(self, cells, missing, name: str, rows) -> list[str]:
        """The sorted distinct values of a text column's present training cells, refusing a
        column that is no category (see the module doc for the rule) and a column of numbers
        with a stray word in it."""
        values, counts = np.unique(cells[~missing], return_counts=True)
        number = np.array([as_numbers(np.array([v]), np.zeros(1, bool)) is not None
                           for v in values], dtype=bool)
        grouped = np.array([_THOUSANDS.fullmatch(v) is not None for v in values], dtype=bool)
        if grouped.any() and (grouped | number).all():    # numbers, some written "1,000"
            i = int((cells == values[grouped][0]).argmax())
            raise _stray_text(name, rows[i], cells[i])
        if counts[number].sum() * 2 > counts.sum():
            i = int((cells == values[~number][0]).argmax())
            raise _stray_text(name, rows[i], cells[i])
        if len(values) > self.max_categories or (len(values) > 10 and (counts == 1).all()):
            why = (f"{len(values)} distinct values, more than the {self.max_categories} a "
                   f"category column may have" if len(values) > self.max_categories else
                   f"a different value in each of its {len(values)} training rows (an "
                   f"identifier or free text)")
            raise ValueError(f"column {name!r} is text with {why}: it cannot be one-hot "
                             f"encoded; leave it out with --drop {name}")
        return [str(v) for v in values]

    def transform(self, X, rows=None) -> np.ndarray:
        """Encode rows X (N, C) str, columns in `columns_` order, into (N, D) float32.
        `rows` (N,) are their data-row numbers in the file, for error messages.

        Missing cells get the training median (numeric) or no category (text) and a 1 in
        their indicator column where the training rows had missing cells. Categories unseen
        in training become all zeros, counted in one `UnseenCategoryWarning` per column.
        """
        return self.encode(X, rows)[0]

    def encode(self, X, rows=None) -> tuple[np.ndarray, np.ndarray]:
        """`transform`'s features (N, D) float32, and the numbers it parsed on the way:
        (N, C) float64, each numeric column's cells (NaN where missing and in text columns),
        what `training_range.far_outside` measures new rows by, so they are parsed once."""
        self._check_fitted()
        X = _check_cells(X)
        rows = np.arange(len(X)) if rows is None else np.asarray(rows)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} columns, the encoder was fitted on "
                             f"{self.n_features_in_}: {', '.join(self.columns_)}")
        blocks, parsed = [], np.full(X.shape, np.nan)
        for j in range(self.n_features_in_):
            cells = np.char.strip(X[:, j])
            missing = missing_cells(cells)
            if self.kinds_[j] == "numeric":
                parsed[:, j] = self._numeric(cells, missing, j, rows)
                blocks.append(np.where(missing, self.medians_[j], parsed[:, j])[:, None])
            else:
                blocks.append(self._one_hot(cells, missing, j))
            if self._indicated(j):
                blocks.append(missing[:, None])
        if not blocks:
            return np.zeros((len(X), 0), np.float32), parsed
        # every number was checked against float32's range (_check_finite), so none overflows
        return np.hstack(blocks).astype(np.float32), parsed

    def _numeric(self, cells, missing, j: int, rows) -> np.ndarray:
        """Column j's cells (N,) as float64, NaN where missing; a word is refused."""
        name = self.columns_[j]
        numbers = as_numbers(cells, missing)
        if numbers is None:
            i = next(i for i, cell in enumerate(cells)
                     if not missing[i] and as_numbers(np.array([cell]), np.zeros(1, bool)) is None)
            raise _stray_text(name, rows[i], cells[i], droppable=False)
        _check_finite(numbers, missing, name, rows)
        return numbers

    def _one_hot(self, cells, missing, j: int) -> np.ndarray:
        categories = np.array(self.categories_[j], dtype=str)
        at = np.minimum(np.searchsorted(categories, cells), len(categories) - 1)
        known = categories[at] == cells
        one_hot = np.zeros((len(cells), len(categories)))
        one_hot[np.flatnonzero(known), at[known]] = 1.0
        unseen = ~known & ~missing
        if unseen.any():
            examples = ", ".join(repr(str(v)) for v in np.unique(cells[unseen])[:3])
            warnings.warn(f"column {self.columns_[j]!r}: {int(unseen.sum())} of {len(cells)} "
                          f"rows hold a category unseen in training ({examples}); they are "
                          f"encoded as all zeros", UnseenCategoryWarning, stacklevel=3)
        return one_hot

    @property
    def feature_names_out_(self) -> list[str]:
        """The names of the D output columns: "age", "island=Biscoe", "sex missing"."""
        self._check_fitted()
        names = []
        for j, name in enumerate(self.columns_):
            names += [name] if self.kinds_[j] == "numeric" else \
                [f"{name}={c}" for c in self.categories_[j]]
            if self._indicated(j):
                names.append(f"{name} missing")
        return names

    def describe(self) -> list[str]:
        """What was done to the columns, one line per text column or column with missing
        cells (what a run prints before training)."""
        self._check_fitted()
        lines = []
        for j, name in enumerate(self.columns_):
            if self.kinds_[j] == "categorical":
                lines.append(f"column {name!r}: text, one-hot over {len(self.categories_[j])} "
                             f"categories of the training rows")
            if self.missing_counts_[j]:
                filled = (f"the training median {self.medians_[j]:g}"
                          if self.kinds_[j] == "numeric" else "no category (all zeros)")
                indicator = (f"plus the indicator column '{name} missing'" if self._indicated(j)
                             else f"no indicator column (fewer than {self.min_missing})")
                lines.append(f"column {name!r}: {self.missing_counts_[j]} missing in the "
                             f"training rows, filled with {filled}, {indicator}")
        return lines

    def _indicated(self, j: int) -> bool:
        """Whether column j has a missing-value indicator column."""
        return self.missing_counts_[j] >= self.min_missing

    # -- describing a fitted encoder as JSON + arrays -------------------------------------

    def to_state(self) -> dict:
        """The parameters and everything learned, as JSON (a missing median or range, for a
        text column, as null); `from_state` rebuilds an equal fitted encoder. A checkpoint keeps it
        in its header, beside the column names, so `babysit predict` encodes new rows alike."""
        self._check_fitted()
        medians = [None if np.isnan(m) else float(m) for m in self.medians_]
        ranges = [None if np.isnan(r).any() else [float(v) for v in r] for r in self.ranges_]
        fitted = {"columns_": self.columns_, "kinds_": self.kinds_, "medians_": medians,
                  "categories_": self.categories_, "missing_counts_": self.missing_counts_,
                  "ranges_": ranges}
        params = {"max_categories": self.max_categories, "min_missing": self.min_missing}
        return {"class": type(self).__name__, "params": params, "fitted": fitted}

    @classmethod
    def from_state(cls, config: dict) -> TableEncoder:
        """Rebuild the fitted encoder that `to_state` described (one saved before `ranges_`
        was kept lacks it, and predicts without the training-range check)."""
        encoder = cls(**config["params"])
        fitted = dict(config["fitted"])
        encoder.medians_ = np.array([np.nan if m is None else m for m in fitted.pop("medians_")],
                                    dtype=np.float64)
        if "ranges_" in fitted:
            ranges = [[np.nan] * 3 if r is None else r for r in fitted.pop("ranges_")]
            encoder.ranges_ = np.array(ranges, dtype=np.float64).reshape(-1, 3)
        for name, value in fitted.items():
            setattr(encoder, name, list(value))
        encoder.n_features_in_ = len(encoder.columns_)
        return encoder

    def _check_fitted(self) -> None:
        if not hasattr(self, "columns_"):
            raise ValueError("TableEncoder is not fitted yet: call fit(X_train, columns) first, "
                             "so the categories and medians come from the training rows")


class TargetEncoder:
    """The target column -> what the network trains on, and back.

    task "classify": `classes_` lists the distinct values in order (numerically when they are
    all numbers: "2" before "10"); `transform` gives class indices (N,) int64 and
    `inverse_transform` the class names. task "regress": the values are standardized with the
    training `mean_` and `scale_` (so that the learning rate does not depend on their units)
    into (N,) float32; `inverse_transform` restores predictions to the target's units.
    """

    def __init__(self, task: str = "classify"):
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {task!r}")
        self.task = task

    def fit(self, values, name: str = "target") -> TargetEncoder:
        """Learn the classes, or the mean and scale, from training targets (N,) of the column
        `name` (kept as `name_`, what predictions are called); returns self."""
        self.name_ = str(name)
        values = np.asarray(values)
        if values.ndim != 1 or len(values) == 0:
            raise ValueError(f"targets must be a non-empty 1-d array, got shape {values.shape}")
        if self.task == "regress":
            numbers = self._numbers(values)
            self.mean_ = float(numbers.mean())
            std = float(numbers.std())
            self.scale_ = std if std > 0 else 1.0
            return self
        labels = self._labels(values)
        self.numeric_ = labels.dtype.kind != "U"
        self.classes_ = [str(c) for c in np.unique(labels)]
        return self

    def transform(self, values) -> np.ndarray:
        """Targets (N,) -> class indices (N,) int64, or standardized numbers (N,) float32."""
        self._check_fitted()
        values = np.asarray(values)
        if values.ndim != 1:
            raise ValueError(f"targets of {self.name_!r} must be a 1-d array (N,), got shape "
                             f"{values.shape}")
        if self.task == "regress":
            return ((self._numbers(values) - self.mean_) / self.scale_).astype(np.float32)
        labels = self._labels(values)
        classes = np.array(self.classes_, dtype=np.float64 if self.numeric_ else str)
        if self.numeric_ and labels.dtype.kind == "U":
            raise ValueError(f"the targets hold text ({labels[0]!r}), the classes are numbers")
        at = np.minimum(np.searchsorted(classes, labels), len(classes) - 1)
        unknown = classes[at] != labels
        if unknown.any():
            i = int(unknown.argmax())
            raise ValueError(f"target {str(values[i])!r} at row {i} is not one of the classes "
                             f"{', '.join(self.classes_)}")
        return at.astype(np.int64)

    def inverse_transform(self, y) -> np.ndarray:
        """Class indices (N,) -> class names (N,) str; standardized predictions (N,) or
        (N, 1) -> (N,) float64 in the target's units."""
        self._check_fitted()
        y = np.asarray(y)
        if self.task == "regress":
            if y.ndim not in (1, 2) or y.ndim == 2 and y.shape[1] != 1 \
                    or y.dtype.kind not in "iuf":
                raise ValueError(f"predictions of {self.name_!r} must be numbers of shape (N,) "
                                 f"or (N, 1), got shape {y.shape} of dtype {y.dtype}")
            return y.reshape(len(y)).astype(np.float64) * self.scale_ + self.mean_
        try:
            indices = class_labels(y, len(self.classes_))
        except ValueError as err:   # the index and how many classes the target has
            raise ValueError(f"the classes of {self.name_!r}: {err}") from None
        return np.array(self.classes_)[indices]

    @property
    def n_outputs(self) -> int:
        """The network's output width: one score per class, or one number."""
        self._check_fitted()
        return 1 if self.task == "regress" else len(self.classes_)

    def _labels(self, values: np.ndarray) -> np.ndarray:
        """Class labels as numbers when they all are (a CSV's "3" or "3.0" is the class 3),
        else as stripped text; fractional numbers are refused."""
        if values.dtype.kind in "US":
            values = np.char.strip(values.astype(str))
            numbers = as_numbers(values, np.zeros(len(values), dtype=bool))
            if numbers is None:
                return values
            values = numbers
        if values.dtype.kind not in "iufb":
            refuse_mixed_labels(values, "labels")
            raise ValueError(f"labels must be class labels (numbers or text), got dtype "
                             f"{values.dtype}")
        values = values.astype(np.float64)
        i = first_fractional(values)
        if i is not None:
            raise ValueError(f"labels must be class labels, got {values[i]} at row {i}; a "
                             f"quantity is trained with --task regress")
        huge = np.abs(values) >= 2.0**53          # where floats stop telling integers apart
        if huge.any():
            i = int(huge.argmax())
            raise ValueError(f"labels must be class labels, got {values[i]:g} at row {i}, too "
                             f"large to be told apart from its neighbours; encode the classes")
        return values.astype(np.int64)

    def _numbers(self, values: np.ndarray) -> np.ndarray:
        if values.dtype.kind in "US":
            numbers = as_numbers(values, np.zeros(len(values), dtype=bool))
            if numbers is None:
                i = next(i for i, v in enumerate(values)
                         if as_numbers(np.array([v]), np.zeros(1, bool)) is None)
                raise ValueError(f"regression needs numeric targets, got {str(values[i])!r} "
                                 f"at row {i}; a column of names is trained with --task "
                                 f"classify")
            values = numbers
        values = values.astype(np.float64)
        if not np.isfinite(values).all():
            i = int((~np.isfinite(values)).argmax())
            raise ValueError(f"target {values[i]} at row {i} is not a finite number")
        return values

    def to_state(self) -> dict:
        """The task and what was learned, as JSON (`from_state` rebuilds the encoder)."""
        self._check_fitted()
        fitted = ({"mean_": self.mean_, "scale_": self.scale_} if self.task == "regress" else
                  {"classes_": self.classes_, "numeric_": self.numeric_})
        fitted["name_"] = self.name_
        return {"class": type(self).__name__, "params": {"task": self.task}, "fitted": fitted}

    @classmethod
    def from_state(cls, config: dict) -> TargetEncoder:
        """Rebuild the fitted encoder that `to_state` described."""
        encoder = cls(**config["params"])
        for name, value in config["fitted"].items():
            setattr(encoder, name, value)
        return encoder

    def _check_fitted(self) -> None:
        if not hasattr(self, "classes_") and not hasattr(self, "mean_"):
            raise ValueError("TargetEncoder is not fitted yet: call fit(y_train) first")


def _check_cells(X) -> np.ndarray:
    """X as a 2-d array of text cells (N, C)."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-d table of cells (N, C), got shape {X.shape}")
    return X.astype(str, copy=False)


def _stray_text(name: str, row: int, cell, droppable: bool = True) -> ValueError:
    """The error for a word in a column of numbers (a typo, or a missing-value code). Only
    the training rows' column can be left out (`droppable`): new rows must hold every column
    the model was trained on."""
    drop = f", or leave the column out with --drop {name}" if droppable else ""
    if _THOUSANDS.fullmatch(str(cell).strip()):
        return ValueError(f"column {name!r} holds numbers written with thousands separators "
                          f"({str(cell)!r} in {row_text(row)}); write them without the "
                          f"separators ({str(cell).strip().replace(',', '')})")
    return ValueError(f"column {name!r} holds numbers, but {row_text(row)} holds {str(cell)!r}; "
                      f"fix that cell{' or' if not droppable else ','} leave it empty (a missing "
                      f"value){drop}")


def _check_finite(numbers: np.ndarray, missing: np.ndarray, name: str, rows) -> None:
    """Refuse inf (and a NaN written as a number other than the missing tokens) in a column,
    and a finite number too large for float32 (the cast would turn it into inf)."""
    bad = ~np.isfinite(numbers) & ~missing
    if bad.any():
        i = int(bad.argmax())
        raise ValueError(f"column {name!r}: {row_text(rows[i])} holds {numbers[i]}, which is "
                         f"not a finite number; fix it, or leave the cell empty to mark it missing")
    with np.errstate(invalid="ignore"):
        beyond = (np.abs(numbers) > np.finfo(np.float32).max) & ~missing
    if beyond.any():
        i = int(beyond.argmax())
        raise ValueError(f"column {name!r}: {row_text(rows[i])} holds {numbers[i]:g}, beyond "
                         f"the range of float32 (about 3.4e38); rescale that column first")


def to_checkpoint(table: TableEncoder, target: TargetEncoder) -> dict:
    """What a checkpoint keeps (in its JSON header) to encode new rows and decode predictions
    as training did: {"features": the TableEncoder's state, "target": the TargetEncoder's}."""
    return {"features": table.to_state(), "target": target.to_state()}


def from_checkpoint(state: dict) -> tuple[TableEncoder, TargetEncoder]:
    """The fitted (TableEncoder, TargetEncoder) that `to_checkpoint` described."""
    try:
        return (TableEncoder.from_state(state["features"]),
                TargetEncoder.from_state(state["target"]))
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"the table encoders saved with the model cannot be rebuilt: {err!r}"
                         ) from None
