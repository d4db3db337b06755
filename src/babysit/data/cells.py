"""A table's text cells read as numbers: which cells are missing, which columns hold numbers
(percentages among them), and, on an error path, which cell keeps a column from being one.
`babysit.data.tabular` decides from these what each column is; every message about a cell
names its place with `row_text`.
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["MISSING", "missing_cells", "as_numbers", "row_text", "first_not_number",
           "mixed_percentages", "is_thousands", "thousands_written", "thousands_text"]

# Compared lower-cased, after stripping blanks. "?" is the UCI repository's code for a missing
# value (horse colic's reflux pH is 82% "?"): read as a word, a column of numbers where it is
# the commonest cell became one-hot categories over its numbers, and a file where it is rarer
# was refused.
MISSING = ("", "na", "n/a", "nan", "null", "?")


def missing_cells(cells: np.ndarray) -> np.ndarray:
    """(N,) bool: True where a text cell (N,) counts as missing (see `MISSING`)."""
    return np.isin(np.char.lower(np.char.strip(np.asarray(cells, dtype=str))), MISSING)


def as_numbers(cells: np.ndarray, missing: np.ndarray) -> np.ndarray | None:
    """The text cells (N,) as float64 with NaN where `missing`, or None when some present cell
    is not a number (the column holds text). A column whose every present cell is written as
    a percentage ("12%", "-3.5 %", as spreadsheets export them) holds the numbers before the
    sign (12, -3.5); percentages beside plain numbers are no column of numbers (which unit
    would the plain ones be in?)."""
    text = np.char.strip(np.asarray(cells, dtype=str))
    percent = np.char.endswith(text, "%")
    if percent.any():
        if not percent[~missing].all():
            return None
        text = np.char.rstrip(np.char.rstrip(text, "%"))
    try:
        return np.where(missing, "nan", text).astype(np.float64)
    except ValueError:
        return None


def row_text(i: int, line: int | None = None) -> str:
    """Where data row `i` (0-based) of a CSV file sits: 'data row 4 (line 9)'. `line` is the
    line of the file the row starts on (`formats.read_table` keeps it in `Cells.lines`: blank
    lines skipped, no header row, cells spanning lines); without it the row is taken to be
    on line i + 2, after a header and no line skipped."""
    return f"data row {i} (line {i + 2 if line is None else line})"


def first_not_number(cells: np.ndarray, missing: np.ndarray | None = None) -> int:
    """The index of the first present cell of `cells` (N,) that keeps them from being a
    column of numbers, once `as_numbers` has said that one does: the first that is no number,
    else, each being one alone, the first in the rarer form of percentages mixed with plain
    numbers (`_rarer_percent_form`). Cell by cell, as only an error path may."""
    missing = np.zeros(len(cells), bool) if missing is None else missing
    word = next((i for i, cell in enumerate(cells)
                 if not missing[i] and as_numbers(np.array([cell]), np.zeros(1, bool)) is None),
                None)
    return _rarer_percent_form(cells, missing) if word is None else word


def mixed_percentages(cells: np.ndarray, missing: np.ndarray | None = None,
                      place=None) -> str | None:
    """Why the text cells (N,) are no column of numbers though each present one is a number
    alone, or None: they mix percentages with plain numbers, "mixes percentages ('5%' in
    data row 40 (line 42)) with plain numbers", naming the first cell in the rarer form
    where `place(i)` says ("in data row 40 (line 42)"; by default "at row 40")."""
    missing = np.zeros(len(cells), bool) if missing is None else missing
    i = _rarer_percent_form(cells, missing)
    if i is None:
        return None
    forms = ["percentages", "plain numbers"]
    if not str(cells[i]).strip().endswith("%"):
        forms.reverse()
    where = f"at row {i}" if place is None else place(i)
    return f"mixes {forms[0]} ({str(cells[i]).strip()!r} {where}) with {forms[1]}"


def _rarer_percent_form(cells: np.ndarray, missing: np.ndarray) -> int | None:
    """The index of the first present cell in the rarer form (a percentage on a tie) when
    the present cells (N,) are each a number but mix percentages with plain numbers, the
    mix `as_numbers` refuses; else None."""
    text = np.char.strip(np.asarray(cells, dtype=str))
    percent = np.char.endswith(text, "%")
    n_percent, n_plain = int((percent & ~missing).sum()), int((~percent & ~missing).sum())
    if not (n_percent and n_plain) or as_numbers(
            np.char.rstrip(np.char.rstrip(text, "%")), missing) is None:
        return None
    rarer = percent if n_percent <= n_plain else ~percent
    return int((rarer & ~missing).argmax())


# A number written with thousands separators ("1,000", "-12,345.5"): read as neither a number
# nor a category, but refused with its own words.
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")


def is_thousands(cell: str) -> bool:
    """Whether the text `cell` is a number written with thousands separators ("1,000")."""
    return _THOUSANDS.fullmatch(cell.strip()) is not None


def thousands_written(values: np.ndarray) -> np.ndarray | None:
    """Which of `values` (N,) str are written with thousands separators ("250,000"), as
    (N,) bool, when every one of them is a number written so or plainly ("950", "1,200.5"):
    a column of numbers a spreadsheet exported in its display format. Else None (none is, or
    a word among them makes the column text)."""
    grouped = np.array([is_thousands(str(v)) for v in values], dtype=bool)
    if not grouped.any():
        return None
    plain = values[~grouped]
    if len(plain) and as_numbers(plain, np.zeros(len(plain), dtype=bool)) is None:
        return None
    return grouped


def thousands_text(cell, where: str) -> str:
    """Why a column of numbers written with thousands separators ("1,000") is refused; `where`
    is the cell's row in words (`row_text`)."""
    return (f"holds numbers written with thousands separators ({str(cell)!r} in "
            f"{where}); write them without the separators "
            f"({str(cell).strip().replace(',', '')})")
