"""Tables as people have them: text categories, empty cells, class or quantity targets.

`TableEncoder` turns a CSV's feature cells (N, C) str into numbers (N, D) float32, learning
everything from the training rows only:

- a numeric column stays one column (far from 0 against its spread, as its distance from the
  training median: `OFFSET_SPREADS`); a missing cell gets the training median;
- a text column becomes one-hot columns, one per category of the training rows; a category
  never seen in training maps to all zeros and is counted in a warning (`UnseenCategoryWarning`);
- a column with missing cells in the training rows (at least `MIN_MISSING`, 5) gains an
  indicator column "<name> missing" (1 where the cell was missing), so the network can tell an
  imputed value from a real one.

Missing means an empty cell or one of `babysit.data.cells.MISSING` (NA, N/A, NaN,
null, any case).

- A text column of dates (ISO 8601, 2024/03/01, 01/03/2024, 3/15/21, 1.3.2024, 15 Mar 2024,
  Mar 15, 2024, 2024-03: `babysit.data.dates`) becomes five numeric columns: year, month,
  day of year, day of week and a trend (years from the training rows' median date, which
  keeps the time of day in float32), so that a later date is a later number, not an
  unseen category; its training range (in days) is what a
  new row's date is measured against. New rows are read in the training rows' format, or
  in ISO form (2019-06-17), which means one day only.
- A text column with more than `max_categories` (50) distinct training values is encoded by
  frequency: one-hot over its `max_categories` most frequent values that fill at least
  `MIN_CATEGORY_ROWS` (2) training rows, plus one "other" column for every other value,
  unseen ones included (car names that repeat across model years keep their signal).
- Identifiers are left out, with a note naming them: a text column with almost one value per
  row (more than 10 values, at least `IDENTIFIER_SHARE`, 90%, of its present cells distinct:
  names, e-mail addresses, free text; every new row would be an unseen category), and a
  column of whole numbers that differ in every row and are named like an identifier (id,
  customer_id, Key, index, "Order No.", order_number, "Invoice #": `_ID_NAME`) or run like
  row numbers (starting below the number of rows and filling at least half of their span).
- A column with no value in any training row (the empty unnamed last column of an Excel
  export) is left out too, with a note: it holds nothing to learn from.
- A column that cannot be used (a word in a column of numbers, a number beyond float32) is
  refused; all such columns are named in one error, with the --drop that leaves them out
  (shell-quoted, so that it can be pasted).

`TargetEncoder` turns the target column into class indices (task "classify") or into
standardized numbers (task "regress", restored by `inverse_transform`); `decide_task`
(`babysit.data.tasks`) picks the task from the target's values.

Manners are scikit-learn's, like `babysit.data.preprocess`: parameters only stored in `__init__`,
learned attributes end in `_`, `fit` returns self; `to_state()` / `from_state()` describe a
fitted encoder as JSON (a few numbers and names: no arrays are needed), so a checkpoint stores
it in its header, never pickled.
"""

from __future__ import annotations

import csv
import io
import re
import shlex
import warnings

import numpy as np

from babysit.data import dates, formats, training_range
from babysit.data.arrays import class_labels, first_fractional, mean_std
from babysit.data.cells import (
    as_numbers,
    first_not_number,
    is_thousands,
    missing_cells,
    mixed_percentages,
    row_text,
    thousands_text,
    thousands_written,
)
from babysit.data.tasks import TASKS, decide_task
from babysit.validation import refuse_mixed_labels, true_or_false

__all__ = ["TASKS", "CHECKPOINT_KEY", "RefusedColumns", "UnseenCategoryWarning", "missing_cells",
           "as_numbers", "first_not_number", "mixed_percentages", "row_text", "decide_task",
           "TableEncoder", "TargetEncoder", "to_checkpoint", "from_checkpoint"]

MAX_CATEGORIES = 50
MIN_MISSING = 5                               # missing training cells for an indicator column
MIN_CATEGORY_ROWS = 2       # a frequency-encoded column's categories: in at least this many rows
IDENTIFIER_SHARE = 0.9      # distinct text values per present cell that make an identifier
# A numeric column whose median is beyond this many of its standard deviations from 0 (epoch
# milliseconds, 1.7e12 spread over days) is encoded as its distance from that median: float32
# keeps 24 bits, so such values kept a few distinct levels across their spread (300 distinct
# timestamps became 3); here at least 2^23 / 2^12 = 2,048 levels a standard deviation remain.
# Ordinary columns (a mean within thousands of its spread) are encoded as they are.
OFFSET_SPREADS = 2**12
# The names of identifier columns (whose values must also look like one: `_identifier`), by
# their last word: id, key, index, idx or uuid in any case ("Key", "customer_id"), in camel
# case ("customerId", "orderNo"), a number's word after another word ("Order No.",
# "order_number", "record_nr", "Customer Num"), or "#" ("Invoice #"). A word first names a
# quantity, not an identifier: "number_of_rooms", "num_children", "id_score", "keyboard_time".
_ID_NAME = re.compile(r"(?:^|[^a-zA-Z])(?i:id|key|index|idx|uuid)$"
                      r"|[a-z](?:ID|Id|Key|No|Nr|Num|Number)\.?$"
                      r"|[a-zA-Z0-9][ _.-]+(?i:no|nr|num|number)\.?$|#$")
_NO_VALUE = "no value in any training row"     # why an empty column is left out (`left_out_`)
CHECKPOINT_KEY = "table"        # where a checkpoint's meta keeps `to_checkpoint`'s state


class UnseenCategoryWarning(UserWarning):
    """Rows held a category that the training rows did not; they were encoded as all zeros."""


class TableEncoder:
    """Raw table columns (N, C) str -> numeric features (N, D) float32 (see the module doc).

    max_categories: the most categories a text column is one-hot encoded over; a column with
    more keeps its most frequent ones and an "other" column (`MIN_CATEGORY_ROWS`). min_missing:
    the fewest missing training cells that earn a column its indicator column; with fewer there
    is nothing to learn what "missing" means from, and the indicator would let the network
    memorise the row or two it marks (on the penguins, one row missing every measurement taught
    it "all missing = Gentoo"). row_numbers: whether whole numbers running like row numbers
    are left out as a file's row counter (`_identifier`); False for the columns a program
    hands over as features (the scikit-learn estimators), where 30 distinct minutes of
    study in 0..59 are a feature. categorical: names of columns encoded as categories
    whatever their cells hold (a DataFrame's Categorical columns: ticket classes 1, 2 and 3
    are no quantity; 1.0 and 1 are one category), unless nearly every row holds its own
    (an identifier, left out).

    Learned by `fit`: `columns_` (the C names), `kinds_` (per column: "numeric",
    "categorical", "date" or "left out"), `medians_` (C,) float64 (a date column's median
    day; NaN for text), `categories_` (the training categories each text column is one-hot
    over, [] for the others), `others_` (per column: whether it has an "other" column for the
    categories beyond those), `formats_` (a date column's format, a key of
    `babysit.data.dates.FORMATS`, else None), `left_out_` (name -> why, for the columns left
    out: identifiers, and columns with no value in any training row), `missing_counts_`
    (missing cells per column in the training rows; a column with min_missing or more gets
    an indicator column), `ranges_` (C, 3) float64: each numeric or date column's training
    min, max and standard deviation (in days for a date; NaN for text columns; what
    `babysit.data.training_range` measures new rows against; absent from an encoder rebuilt
    from a checkpoint written before it was kept),
    `n_features_in_` (C), `centred_trend_` (whether a date's trend counts years from its
    median day, False for an encoder saved before: its trend is the fractional year),
    `offsets_` (C,) float64: what each numeric column is encoded less (its median where that
    lies beyond OFFSET_SPREADS standard deviations from 0, so that float32 keeps its detail;
    else 0, and 0 throughout for an encoder saved before offsets were kept).
    `feature_names_out_` names the D output columns; `used_columns_` the columns new rows
    must hold.
    """

    def __init__(self, max_categories: int = MAX_CATEGORIES, min_missing: int = MIN_MISSING,
                 row_numbers: bool = True, categorical=()):
        if not isinstance(max_categories, int) or max_categories < 2:
            raise ValueError(f"max_categories must be an integer >= 2, got {max_categories!r}")
        if not isinstance(min_missing, int) or min_missing < 1:
            raise ValueError(f"min_missing must be a positive integer, got {min_missing!r}")
        if isinstance(categorical, str) or not all(isinstance(c, str)
                                                   for c in categorical or ()):
            raise ValueError(f"categorical must be a list of column names, got {categorical!r}")
        self.max_categories, self.min_missing = max_categories, min_missing
        self.row_numbers = true_or_false(row_numbers, "row_numbers")
        self.categorical = list(categorical or ())

    def fit(self, X, columns, rows=None, lines=None) -> TableEncoder:
        """Learn each column's kind, median, categories or date format from the training rows
        X (N, C) str, whose columns are named `columns` (C names). `rows` (N,) are their
        data-row numbers in the file and `lines` (N,) the lines they start on, for error
        messages (`_cells_and_places`: by default 0..N-1, and the lines X carries when it is
        a file's `formats.Cells`). Identifiers and columns with no value in any of these rows
        are left out (`left_out_`); columns that cannot be used are refused together, in one
        ValueError naming each and why. Returns self."""
        X, (rows, lines) = _cells_and_places(X, rows, lines)
        columns = [str(c) for c in columns]
        if len(columns) != X.shape[1]:
            raise ValueError(f"columns names {len(columns)} columns but X has {X.shape[1]}")
        if X.shape[0] == 0:
            raise ValueError("X is empty: no training rows to learn the columns from")
        self.kinds_, self.categories_, self.others_, self.formats_ = [], [], [], []
        self.missing_counts_, self.left_out_, refused = [], {}, {}
        medians, parsed = np.full(len(columns), np.nan), np.full(X.shape, np.nan)
        for j, name in enumerate(columns):
            cells = np.char.strip(X[:, j])
            missing = missing_cells(cells)
            try:
                kind, detail, numbers = self._learn(cells, missing, name, (rows, lines))
            except _Refused as why:
                refused[name] = str(why)
                kind, detail, numbers = "left out", None, None
            self.kinds_.append(kind)
            categories, other = detail if kind == "categorical" else ([], False)
            self.categories_.append(categories)
            self.others_.append(other)
            self.formats_.append(detail if kind == "date" else None)
            if kind == "left out" and name not in refused:
                self.left_out_[name] = detail
            if numbers is not None:
                medians[j], parsed[:, j] = np.median(numbers[~missing]), numbers
            self.missing_counts_.append(int(missing.sum()) if kind != "left out" else 0)
        if refused:
            raise RefusedColumns(refused)
        if len(self.left_out_) == len(columns):
            raise ValueError("no feature column left: every one is left out ("
                             + "; ".join(f"{name!r}: {why}" for name, why in
                                         self.left_out_.items()) + ")")
        self.columns_, self.medians_, self.n_features_in_ = columns, medians, len(columns)
        self.centred_trend_ = True
        measured = np.isin(self.kinds_, ("numeric", "date"))
        self.ranges_ = np.full((len(columns), 3), np.nan)
        self.ranges_[measured] = training_range.ranges_of(parsed[:, measured])
        numeric = np.array([kind == "numeric" for kind in self.kinds_])
        spread = self.ranges_[:, 2]   # NaN for text columns; 0 for a constant, kept as it is
        with np.errstate(invalid="ignore"):
            far = numeric & (spread > 0) & (np.abs(medians) > OFFSET_SPREADS * spread)
        self.offsets_ = np.where(far, medians, 0.0)
        return self

    def _learn(self, cells, missing, name: str, places):
        """What one training column is: (kind, detail, numbers): detail is (the categories,
        whether an "other" column gathers the rest) for text, the format for dates, or why
        the column is left out; numbers (N,) float64 the values its median and range are
        measured on (None for text). `places`: the rows' (data-row numbers, lines), for
        messages (`_cells_and_places`). Raises `_Refused`."""
        if missing.all():
            return "left out", _NO_VALUE, None
        if name in self.categorical:     # declared so (a DataFrame's Categorical of numbers)
            cells = _numbers_written_alike(cells)
            return self._categories(*np.unique(cells[~missing], return_counts=True))
        numbers = as_numbers(cells, missing)
        if numbers is not None:
            why = _not_finite(numbers, missing, places)
            if why:
                raise _Refused(why)
            why = _identifier(numbers, missing, name, self.row_numbers)
            return ("left out", why, None) if why else ("numeric", None, numbers)
        why = mixed_percentages(cells, missing, lambda i: _at(places, i))
        if why:
            raise _Refused(why)
        read = dates.parse(cells, missing)
        if read is not None:
            return "date", read[1], read[0]
        values, counts = np.unique(cells[~missing], return_counts=True)
        number = np.array([as_numbers(np.array([v]), np.zeros(1, bool)) is not None
                           for v in values], dtype=bool)
        grouped = thousands_written(values)
        if grouped is not None:                            # numbers, some written "1,000"
            i = int(np.isin(cells, values[grouped]).argmax())
            raise _Refused(thousands_text(cells[i], _place(places, i)))
        if counts[number].sum() * 2 > counts.sum():
            i = int((cells == values[~number][0]).argmax())
            raise _Refused(f"holds numbers, but {_place(places, i)} holds {str(cells[i])!r} "
                           f"(fix that cell, or leave it empty to mark it missing)")
        return self._categories(values, counts)

    def _categories(self, values, counts):
        """`_learn`'s answer for a column of categories, its distinct training `values` held by
        `counts` rows each: an identifier or free text when nearly every row holds its own,
        else the categories it is one-hot encoded over (the most frequent, with an "other"
        column, beyond `max_categories`)."""
        if len(values) > 10 and len(values) >= IDENTIFIER_SHARE * counts.sum():
            return ("left out", f"text with {len(values)} different values in "
                    f"{counts.sum()} training rows: an identifier or free text", None)
        other = len(values) > self.max_categories
        if other:       # the most frequent, in at least MIN_CATEGORY_ROWS rows; ties: in order
            often = np.flatnonzero(counts >= MIN_CATEGORY_ROWS)
            often = often[np.argsort(-counts[often], kind="stable")[:self.max_categories]]
            values = values[np.sort(often)]
        return "categorical", ([str(v) for v in values], other), None

    def transform(self, X, rows=None, lines=None) -> np.ndarray:
        """Encode rows X (N, C) str, columns in `columns_` order, into (N, D) float32.
        `rows` (N,) are their data-row numbers in the file and `lines` (N,) the lines they
        start on, for error messages (as in `fit`).

        Missing cells get the training median (numeric, date) or no category (text) and a 1
        in their indicator column where the training rows had missing cells. Categories unseen
        in training become all zeros, counted in one `UnseenCategoryWarning` per column (or
        "other", in a column that has one). Columns left out are not read.
        """
        return self.encode(X, rows, lines)[0]

    def encode(self, X, rows=None, lines=None) -> tuple[np.ndarray, np.ndarray]:
        """`transform`'s features (N, D) float32, and the numbers it parsed on the way:
        (N, C) float64, each numeric column's cells and each date column's days (NaN where
        missing and in text columns), what `training_range.far_outside` measures new rows by,
        so they are parsed once."""
        self._check_fitted()
        X, places = _cells_and_places(X, rows, lines)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} columns, the encoder was fitted on "
                             f"{self.n_features_in_}: {', '.join(self.columns_)}")
        blocks, parsed = [], np.full(X.shape, np.nan)
        for j, kind in enumerate(self.kinds_):
            if kind == "left out":
                continue
            cells = np.char.strip(X[:, j])
            missing = missing_cells(cells)
            if kind == "numeric":
                parsed[:, j] = self._numeric(cells, missing, j, places)
                blocks.append(np.where(missing, self.medians_[j], parsed[:, j])[:, None]
                              - self.offsets_[j])
            elif kind == "date":
                parsed[:, j] = self._dates(cells, missing, j, places)
                origin = self.medians_[j] if self.centred_trend_ else None
                blocks.append(dates.features(np.where(missing, self.medians_[j],
                                                      parsed[:, j]), origin))
            else:
                if self.columns_[j] in self.categorical:
                    cells = _numbers_written_alike(cells)
                blocks.append(self._one_hot(cells, missing, j))
            if self._indicated(j):
                blocks.append(missing[:, None])
        if not blocks:
            return np.zeros((len(X), 0), np.float32), parsed
        # every number was checked against float32's range (_not_finite), so none overflows
        return np.hstack(blocks).astype(np.float32), parsed

    def _numeric(self, cells, missing, j: int, places) -> np.ndarray:
        """Column j's cells (N,) as float64, NaN where missing; a word is refused, naming
        its row and line (`places`: `_cells_and_places`)."""
        name = self.columns_[j]
        numbers = as_numbers(cells, missing)
        if numbers is None:
            why = mixed_percentages(cells, missing, lambda i: _at(places, i))
            if why:
                raise ValueError(f"column {name!r} {why}")
            i = first_not_number(cells, missing)
            raise _stray_text(name, _place(places, i), cells[i])
        why = _not_finite(numbers, missing, places)
        if why:
            raise ValueError(f"column {name!r} {why}")
        return numbers

    def _dates(self, cells, missing, j: int, places) -> np.ndarray:
        """Date column j's cells (N,) as days since 1970 (NaN where missing); a cell that is
        no date is refused, naming its row and line (`places`: `_cells_and_places`)."""
        try:
            return dates.read(cells, missing, self.formats_[j])
        except dates.NotADate as err:
            whose = " of the training rows" if err.format == self.formats_[j] else ""
            raise ValueError(f"column {self.columns_[j]!r} holds dates, but "
                             f"{_place(places, err.index)} holds {err.cell!r}, which is no "
                             f"date in the {dates.FORMATS[err.format]} format{whose}; fix "
                             f"that cell or leave it empty") from None

    def _one_hot(self, cells, missing, j: int) -> np.ndarray:
        """Text column j's cells (N,) as one column per category (N, K), plus the "other"
        column where the column has one."""
        categories = np.array(self.categories_[j], dtype=str)
        at = np.minimum(np.searchsorted(categories, cells), len(categories) - 1)
        known = categories[at] == cells
        one_hot = np.zeros((len(cells), len(categories) + self.others_[j]))
        one_hot[np.flatnonzero(known), at[known]] = 1.0
        unseen = ~known & ~missing
        if self.others_[j]:
            one_hot[:, -1] = unseen
        elif unseen.any():
            examples = ", ".join(repr(str(v)) for v in np.unique(cells[unseen])[:3])
            warnings.warn(f"column {self.columns_[j]!r}: {int(unseen.sum())} of {len(cells)} "
                          f"rows hold a category unseen in training ({examples}); they are "
                          f"encoded as all zeros", UnseenCategoryWarning, stacklevel=4)
        return one_hot

    @property
    def feature_names_out_(self) -> list[str]:
        """The names of the D output columns: "age", "island=Biscoe", "name=other",
        "when year", "sex missing"."""
        return [name for _, name in self.output_columns()]

    def output_columns(self) -> list[tuple[str, str]]:
        """(the column it comes from, its name) of each of the D output columns, in order:
        ("island", "island=Biscoe"), ("sex", "sex missing")."""
        self._check_fitted()
        out = []
        for j, name in enumerate(self.columns_):
            if self.kinds_[j] == "numeric":
                out.append((name, name))
            elif self.kinds_[j] == "date":
                out += [(name, f"{name} {part}") for part in dates.FEATURES]
            elif self.kinds_[j] == "categorical":
                others = ["other"] if self.others_[j] else []
                out += [(name, f"{name}={c}") for c in [*self.categories_[j], *others]]
            if self._indicated(j):
                out.append((name, f"{name} missing"))
        return out

    @property
    def used_columns_(self) -> list[str]:
        """The columns the features come from (all but those left out): what new rows need."""
        self._check_fitted()
        return [name for name, kind in zip(self.columns_, self.kinds_, strict=True)
                if kind != "left out"]

    def describe(self) -> list[str]:
        """What was done to the columns, one line per text or date column or column with
        missing cells, one naming every identifier left out and one every empty column left
        out (what a run prints before training)."""
        self._check_fitted()
        lines = []
        for j, name in enumerate(self.columns_):
            kind = self.kinds_[j]
            if kind == "categorical" and self.others_[j]:
                lines.append(f"column {name!r}: text with more than {self.max_categories} "
                             f"categories, one-hot over the {len(self.categories_[j])} most "
                             f"frequent (each in at least {MIN_CATEGORY_ROWS} training rows) "
                             f"plus '{name}=other' for the rest")
            elif kind == "categorical":
                lines.append(f"column {name!r}: text, one-hot over {len(self.categories_[j])} "
                             f"categories of the training rows")
            elif kind == "date":
                lines.append(f"column {name!r}: dates ({dates.FORMATS[self.formats_[j]]}), "
                             f"expanded into {', '.join(dates.FEATURES[:-1])} and "
                             f"{dates.FEATURES[-1]} ("
                             + ("years from the training rows' median date)"
                                if self.centred_trend_ else "the date as a fractional year)"))
            if kind == "numeric" and self.offsets_[j]:
                lines.append(f"column {name!r}: numbers far from 0 against their spread, "
                             f"encoded as their distance from the training median "
                             f"{self.offsets_[j]:.17g} (float32 keeps their detail)")
            if self.missing_counts_[j]:
                filled = {"numeric": f"the training median {self.medians_[j]:g}",
                          "date": "the training rows' median date"}.get(
                    kind, "no category (all zeros)")
                indicator = (f"plus the indicator column '{name} missing'" if self._indicated(j)
                             else f"no indicator column (fewer than {self.min_missing})")
                lines.append(f"column {name!r}: {self.missing_counts_[j]} missing in the "
                             f"training rows, filled with {filled}, {indicator}")
        identifiers = {name: why for name, why in self.left_out_.items() if why != _NO_VALUE}
        if identifiers:
            lines.append("left out, as identifiers: " + "; ".join(
                f"{name!r} ({why})" for name, why in identifiers.items()))
        empty = [name for name, why in self.left_out_.items() if why == _NO_VALUE]
        if empty:
            lines.append(f"left out, holding {_NO_VALUE}: {', '.join(map(repr, empty))}")
        return lines

    def _indicated(self, j: int) -> bool:
        """Whether column j has a missing-value indicator column."""
        return self.missing_counts_[j] >= self.min_missing

    # -- describing a fitted encoder as JSON --------------------------------------------

    def to_state(self) -> dict:
        """The parameters and everything learned, as JSON (a missing median or range, for a
        text column, as null); `from_state` rebuilds an equal fitted encoder. A checkpoint keeps it
        in its header, beside the column names, so `babysit predict` encodes new rows alike."""
        self._check_fitted()
        medians = [None if np.isnan(m) else float(m) for m in self.medians_]
        ranges = [None if np.isnan(r).any() else [float(v) for v in r] for r in self.ranges_]
        fitted = {"columns_": self.columns_, "kinds_": self.kinds_, "medians_": medians,
                  "categories_": self.categories_, "missing_counts_": self.missing_counts_,
                  "ranges_": ranges, "others_": self.others_, "formats_": self.formats_,
                  "left_out_": self.left_out_, "centred_trend_": self.centred_trend_,
                  "offsets_": [float(v) for v in self.offsets_]}
        params = {"max_categories": self.max_categories, "min_missing": self.min_missing,
                  "row_numbers": self.row_numbers, "categorical": self.categorical}
        return {"class": type(self).__name__, "params": params, "fitted": fitted}

    @classmethod
    def from_state(cls, config: dict) -> TableEncoder:
        """Rebuild the fitted encoder that `to_state` described (one saved before `ranges_`
        was kept lacks it, and predicts without the training-range check; one saved before
        dates, "other" columns and identifiers has none of them; one saved before the date
        trend was centred keeps its fractional-year trend, one saved before offsets encodes
        every number as it is)."""
        encoder = cls(**config["params"])
        fitted = dict(config["fitted"])
        encoder.medians_ = np.array([np.nan if m is None else m for m in fitted.pop("medians_")],
                                    dtype=np.float64)
        if "ranges_" in fitted:
            ranges = [[np.nan] * 3 if r is None else r for r in fitted.pop("ranges_")]
            encoder.ranges_ = np.array(ranges, dtype=np.float64).reshape(-1, 3)
        encoder.left_out_ = dict(fitted.pop("left_out_", {}))
        # saved before the trend was centred: keep reading it as the fractional year it was
        encoder.centred_trend_ = bool(fitted.pop("centred_trend_", False))
        n = len(fitted["columns_"])
        encoder.offsets_ = np.array(fitted.pop("offsets_", [0.0] * n), dtype=np.float64)
        fitted.setdefault("others_", [False] * n)
        fitted.setdefault("formats_", [None] * n)
        for name, value in fitted.items():
            setattr(encoder, name, list(value))
        encoder.n_features_in_ = n
        return encoder

    def _check_fitted(self) -> None:
        if not hasattr(self, "columns_"):
            raise ValueError("TableEncoder is not fitted yet: call fit(X_train, columns) first, "
                             "so the categories and medians come from the training rows")


class _Refused(ValueError):
    """Why a training column cannot be used (the column's name is added by the caller)."""


class RefusedColumns(ValueError):
    """Training columns that cannot be used, in one error: `columns` (their names) and
    `whys` (each one's reason, which says how to fix its cells, in one text); the message
    ends with the command line's --drop that leaves them all out, its names a CSV row (a name
    holding a comma in double quotes, as --drop reads them) quoted for the shell where it
    needs it (--drop 'petal width (cm)', --drop '"Income, USD"'). Front ends without --drop
    (the estimators) build their own ending from `columns`."""

    def __init__(self, refused: dict[str, str]):
        self.columns = list(refused)
        self.whys = "; ".join(f"column {name!r} {why}" for name, why in refused.items())
        them = "it" if len(refused) == 1 else f"these {len(refused)} columns"
        row = io.StringIO()
        csv.writer(row, lineterminator="").writerow(refused)
        super().__init__(f"{self.whys}; or leave {them} out with --drop "
                         f"{shlex.quote(row.getvalue())}")


def _identifier(numbers: np.ndarray, missing: np.ndarray, name: str,
                row_numbers: bool = True) -> str | None:
    """Why a numeric training column is an identifier, or None: whole numbers, a different
    one in every row (more than 10), and either named like one (`_ID_NAME`: id, ID,
    customer_id, Key, index, "Order No.", order_number, "#"), unnamed (a data frame's index,
    which a sample of rows has shuffled), or, when `row_numbers`, running like row numbers
    (from below the row count, filling at least half of their span)."""
    values = numbers[~missing]
    if len(values) <= 10 or first_fractional(values) is not None:
        return None
    distinct = np.unique(values)
    if len(distinct) < len(values):
        return None
    low, high = distinct[0], distinct[-1]
    if _ID_NAME.search(name):
        return "named like an identifier, whole numbers, one per row"
    if not name.strip() or name.startswith("Unnamed:"):   # pandas' to_csv, R's write.csv
        return "unnamed, whole numbers, one per row: the index a data frame was written with"
    if row_numbers and low < len(values) and high - low + 1 <= 2 * len(values):
        return (f"whole numbers {low:g} to {high:g}, a different one in each of the "
                f"{len(values)} training rows, like row numbers")
    return None


# A whole number written as a float ("2.0", "-3.00"): the digits before the point
_WHOLE_FLOAT = re.compile(r"([+-]?\d+)\.0+")


def _numbers_written_alike(cells: np.ndarray) -> np.ndarray:
    """A declared categorical column's cells (N,) with each whole number written as a float
    ("2.0") written as an integer ("2"), cell by cell: 2.0 and 2 are one category (a
    DataFrame's column with a missing value holds floats, the same column without one ints).
    Every other cell is left as written ("01", codes of 17 digits, "2.5", text)."""
    def written(cell: str) -> str:
        whole = _WHOLE_FLOAT.fullmatch(cell)
        return str(int(whole.group(1))) if whole else cell    # "-0.0" and "+3.0": "0", "3"

    return np.vectorize(written, otypes=[cells.dtype])(cells)


def _place(places, i: int) -> str:
    """Where the i-th row sits in its file, 'data row 4 (line 9)', from `places`: the rows'
    (data-row numbers, lines) (`_cells_and_places`)."""
    rows, lines = places
    return row_text(int(rows[i]), int(lines[i]))


def _not_finite(numbers: np.ndarray, missing: np.ndarray, places) -> str | None:
    """Why a column's numbers cannot be used, or None: an inf (or a NaN written as a number
    other than the missing tokens), or a finite number too large for float32 (the cast would
    turn it into inf); its row is named from `places` (`_cells_and_places`)."""
    bad = ~np.isfinite(numbers) & ~missing
    if bad.any():
        i = int(bad.argmax())
        return (f"holds {numbers[i]} in {_place(places, i)}, which is not a finite number "
                f"(fix it, or leave the cell empty to mark it missing)")
    with np.errstate(invalid="ignore"):
        beyond = (np.abs(numbers) > np.finfo(np.float32).max) & ~missing
    if beyond.any():
        i = int(beyond.argmax())
        return (f"holds {numbers[i]:g} in {_place(places, i)}, beyond the range of float32 "
                f"(about 3.4e38; rescale that column first)")
    return None


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

    def fit(self, values, name: str = "target", rows=None, lines=None) -> TargetEncoder:
        """Learn the classes, or the mean and scale, from training targets (N,) of the column
        `name` (kept as `name_`, what predictions are called); `rows` and `lines` say where
        they sit in their file, for messages (as in `transform`). Returns self."""
        self.name_ = str(name)
        places = _target_places(values, rows, lines)
        values = np.asarray(values)
        if values.ndim != 1 or len(values) == 0:
            raise ValueError(f"targets must be a non-empty 1-d array, got shape {values.shape}")
        if self.task == "regress":
            mean, std = mean_std(self._numbers(values, places))
            self.mean_, std = float(mean), float(std)
            self.scale_ = std if std > 0 else 1.0
            return self
        labels = self._labels(values)
        self.numeric_ = labels.dtype.kind != "U"
        classes, first = np.unique(labels, return_index=True)
        if self.numeric_ and values.dtype.kind in "US":
            # numbers in order, named as the file first wrote each ("007", "1.0"): the names
            # predictions are written with, and still read as the numbers they are
            self.classes_ = [str(c) for c in np.char.strip(values.astype(str))[first]]
        else:
            self.classes_ = [str(c) for c in classes]
        return self

    def transform(self, values, rows=None, lines=None) -> np.ndarray:
        """Targets (N,) -> class indices (N,) int64, or standardized numbers (N,) float32.
        A target that is none of these is refused naming its place: its data row in the
        file when `rows` (N,) (the data-row numbers: a part's rows of the file) or `lines`
        (N,) are given or the targets are a file's `formats.Cells`, else its index."""
        self._check_fitted()
        places = _target_places(values, rows, lines)
        values = np.asarray(values)
        if values.ndim != 1:
            raise ValueError(f"targets of {self.name_!r} must be a 1-d array (N,), got shape "
                             f"{values.shape}")
        if self.task == "regress":
            return ((self._numbers(values, places) - self.mean_) / self.scale_
                    ).astype(np.float32)
        # classes learned as text (a word among numbers) are matched as text: the rows of
        # another part, all numbers, would otherwise be read as numbers and match none
        labels = self._labels(values) if self.numeric_ else np.char.strip(values.astype(str))
        classes = np.array(self.classes_, dtype=np.float64 if self.numeric_ else str)
        if self.numeric_ and labels.dtype.kind == "U":
            i = first_not_number(labels)
            raise ValueError(f"target {str(labels[i])!r} {_at(places, i)} is text, and the "
                             f"classes of {self.name_!r} are numbers "
                             f"({', '.join(self.classes_)})")
        at = np.minimum(np.searchsorted(classes, labels), len(classes) - 1)
        unknown = classes[at] != labels
        if unknown.any():
            i = int(unknown.argmax())
            raise ValueError(f"target {str(values[i]).strip()!r} {_at(places, i)} is not one "
                             f"of the classes {', '.join(self.classes_)}")
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

    def _numbers(self, values: np.ndarray, places=None) -> np.ndarray:
        """Regression targets (N,) as float64; text or a non-finite number is refused, naming
        its place (`_at`)."""
        if values.dtype.kind in "US":
            numbers = as_numbers(values, np.zeros(len(values), dtype=bool))
            if numbers is None:
                why = mixed_percentages(values, place=lambda i: _at(places, i))
                if why:
                    raise ValueError(f"the target {self.name_!r} {why}")
                i = first_not_number(values)
                raise ValueError(f"regression needs numeric targets, got {str(values[i])!r} "
                                 f"{_at(places, i)}; a column of names is trained with --task "
                                 f"classify")
            values = numbers
        values = values.astype(np.float64)
        if not np.isfinite(values).all():
            i = int((~np.isfinite(values)).argmax())
            raise ValueError(f"target {values[i]} {_at(places, i)} is not a finite number")
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


def _target_places(values, rows=None, lines=None) -> tuple | None:
    """Where targets (N,) sit in their file, (data-row numbers (N,), lines (N,)) as
    `_cells_and_places` gives them, from `rows`, `lines` or the lines `values` carries (a
    file's `formats.Cells`); None for an array that came from no file."""
    if lines is None and isinstance(values, formats.Cells):
        lines = values.lines
    if rows is None and lines is None:
        return None
    return _cells_and_places(np.asarray(values).reshape(-1, 1), rows, lines)[1]


def _at(places, i: int) -> str:
    """Where the i-th target sits: "in data row 61 (line 63)" from `places`
    (`_target_places`), or "at row 3" in an array that came from no file."""
    return f"at row {i}" if places is None else f"in {_place(places, i)}"


def _cells_and_places(X, rows=None, lines=None) -> tuple[np.ndarray, tuple]:
    """X as a 2-d array of text cells (N, C), and where its rows sit in their file, for
    messages (`row_text`): (data-row numbers (N,), lines (N,)), `rows` (default 0..N-1) and
    `lines`, else the lines X carries (`formats.Cells`: a file's cells, or rows selected
    from them), else each row + 2 (after a header, no line skipped)."""
    if lines is None and isinstance(X, formats.Cells):
        lines = X.lines
    X = _check_cells(X)
    rows = np.arange(len(X)) if rows is None else np.asarray(rows)
    lines = rows + 2 if lines is None else np.asarray(lines)
    if rows.shape != (len(X),) or lines.shape != (len(X),):
        raise ValueError(f"rows and lines must each give one number per row of X ({len(X)}), "
                         f"got shapes {rows.shape} and {lines.shape}")
    return X, (rows, lines)


def _stray_text(name: str, where: str, cell) -> ValueError:
    """The error for a word in new rows' column of numbers (a typo, or a missing-value code),
    in the row `where` (`row_text`). New rows must hold every column the model was trained
    on, so no --drop is offered."""
    if is_thousands(str(cell)):
        return ValueError(f"column {name!r} {thousands_text(cell, where)}")
    return ValueError(f"column {name!r} holds numbers, but {where} holds {str(cell)!r}; "
                      f"fix that cell or leave it empty (a missing value)")


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
