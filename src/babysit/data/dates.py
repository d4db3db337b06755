"""Dates in a table's text cells: recognised, read as days, expanded into numeric features.

A column of dates is no category (each day is a value of its own, and a day after the
training rows would be an unseen one) and no number as written; what a network can use is
where the day lies in the year and in the week, and how far along time it is. So a date
column becomes the `FEATURES` columns: year, month (1-12), day of year (1-366), day of week
(0 Monday .. 6 Sunday) and a trend, how far along time it is, which carries the time of day
too: in years from an origin day (the training rows' median date, so that a float32 copy of
it keeps the minutes), or, for an encoder saved before origins were kept, the date as a
fractional year (2024-07-02 is 2024.50, of which float32 keeps about an hour).

The formats recognised (every present training cell of a column must fit the same one):

- "iso": 2024-03-01, 2024-03-01T14:30, 2024-03-01 14:30:05 (numpy's ISO 8601 reader), and
  the year and month alone, 2024-03 (the first of the month);
- "ymd": 2024/03/01, 2024.3.1 (year first, any of - / . between the fields);
- "dmy" and "mdy": 01/03/2024, 1.3.2024 (four-digit year last): day first when some first
  field exceeds 12, month first when some second one does; when neither tells, month first
  for slashes (01/03/2024 is January 3, as in the United States) and day first for dots and
  dashes (01.03.2024 is March 1). With slashes the year may have two digits, as in Excel's
  US short date 3/15/21 (dots and dashes keep four: 1.2.3 is more often a version);
- "dmony": 15 Mar 2021, 15-Mar-2021, 15-mar-21, 15 March 2021 (day, month's name, year);
- "monyd": Mar 15, 2021, March 15 2021 (month's name, day, four-digit year).

A time after the date (a space, then anything) is ignored. Month names are English, three-
letter abbreviations ("Sept" too) or in full, in any case. A two-digit year follows Python's
%y: 69-99 are 1969-1999 and 00-68 are 2000-2068 (the POSIX rule). New rows are read in
the training rows' format, and a cell in ISO form (2019-06-17) in any date column: it can
mean only one day, whatever the training rows wrote.

    days, fmt = parse(cells, missing)   # (N,) float64 days since 1970-01-01, NaN where
                                        # missing; None when the column holds no dates
    days = read(cells, missing, fmt)    # new rows, in the training rows' format or ISO
    X = features(days)                  # (N, 5) float64
"""

from __future__ import annotations

import re
import warnings

import numpy as np

FEATURES = ("year", "month", "day of year", "day of week", "trend")
FORMATS = {"iso": "ISO 8601 (2024-03-01)", "ymd": "year/month/day", "dmy": "day/month/year",
           "mdy": "month/day/year", "dmony": "day month-name year (15 Mar 2024)",
           "monyd": "month-name day, year (Mar 15, 2024)"}
SECONDS_PER_DAY = 86400.0
DAYS_PER_YEAR = 365.2425                # the Gregorian year, for the trend
CENTURY_PIVOT = 69                      # %y: 69-99 -> 19xx, 00-68 -> 20xx
_MONTHS = {name: number for number, names in enumerate(
    (("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
     ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
     ("oct", "october"), ("nov", "november"), ("dec", "december")), start=1)
    for name in names}
_NAMED = {   # the formats with the month's name: day, month and year, a time after a space
    "dmony": re.compile(r"(?P<day>\d{1,2})[ -](?P<month>[a-zA-Z]+)\.?[ -](?P<year>\d{4}|\d{2})"
                        r"(?: .*)?"),
    "monyd": re.compile(r"(?P<month>[a-zA-Z]+)\.? (?P<day>\d{1,2}),? (?P<year>\d{4})(?: .*)?"),
}


def parse(cells: np.ndarray, missing: np.ndarray) -> tuple[np.ndarray, str] | None:
    """The present cells of a text column (N,) as days since 1970-01-01 (N,) float64 (NaN
    where `missing`), and their format's name (a key of `FORMATS`); None when some present
    cell is no date in a format the others share."""
    present = np.char.strip(np.asarray(cells, dtype=str)[~missing])
    if present.size == 0:
        return None
    for fmt in ("iso", *_field_order(present), *_NAMED):
        days = _days(present, fmt)
        if days is not None:
            out = np.full(len(cells), np.nan)
            out[~missing] = days
            return out, fmt
    return None


class NotADate(ValueError):
    """A cell of a date column that is no date in the column's format: its position
    `index`, the `cell` and the `format`'s name (the training rows', or "iso" for a cell
    in ISO form)."""

    def __init__(self, index: int, cell: str, format: str):
        super().__init__(f"row {index} holds {cell!r}, which is no date in the "
                         f"{FORMATS[format]} format")
        self.index, self.cell, self.format = index, cell, format


def read(cells: np.ndarray, missing: np.ndarray, fmt: str) -> np.ndarray:
    """New rows' cells (N,) in the format `fmt` the training rows had, or in ISO form
    (2019-06-17, in any date column), as days (N,) float64 (NaN where `missing`). A present
    cell that is no date in its format raises `NotADate` for the first such cell."""
    cells = np.char.strip(np.asarray(cells, dtype=str))
    out = np.full(len(cells), np.nan)
    present = np.flatnonzero(~missing)
    if not present.size:   # no rows (an empty part of a split), or every cell missing
        return out
    forms = np.where(_iso_form(cells[present]), "iso", fmt)
    for form in np.unique(forms):
        at = present[forms == form]
        days = _days(cells[at], str(form))
        if days is None:              # find the cell to name (the error path only)
            i, form = next((i, str(f)) for i, f in zip(present, forms, strict=True)
                           if _days(cells[i:i + 1], str(f)) is None)
            raise NotADate(int(i), str(cells[i]), form)
        out[at] = days
    return out


def features(days: np.ndarray, origin: float | None = None) -> np.ndarray:
    """Days since 1970-01-01 (N,) float64, none missing -> `FEATURES` (N, 5) float64. The
    trend is in years since the day `origin` (days since 1970), or without one the date as
    a fractional year; computed in float64 from the days, before any float32 cast."""
    day = np.floor(days).astype(np.int64).astype("datetime64[D]")
    year_start = day.astype("datetime64[Y]")
    year = year_start.astype(np.int64) + 1970
    month = day.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day_of_year = (day - year_start.astype("datetime64[D]")).astype(np.int64) + 1
    day_of_week = (day.astype(np.int64) + 3) % 7     # 1970-01-01 was a Thursday
    trend = (1970.0 + days / DAYS_PER_YEAR if origin is None else
             (days - origin) / DAYS_PER_YEAR)
    return np.stack([year, month, day_of_year, day_of_week, trend], axis=1).astype(np.float64)


def _field_order(present: np.ndarray) -> tuple[str, ...]:
    """The orders of three-number dates the cells may be written in, most likely first."""
    fields = _fields(present)
    if fields is None:
        return ()
    (a, b, _), (a_len, c_len) = fields[:3], fields[3:]
    if (a_len == 4).all():
        return ("ymd",)
    slashes = np.char.count(present, "/") == 2
    if not ((c_len == 4) | (c_len == 2) & slashes).all():
        return ()
    if (a > 12).any():
        return ("dmy",)
    if (b > 12).any():
        return ("mdy",)
    return ("mdy", "dmy") if slashes.any() else ("dmy", "mdy")


def _fields(cells: np.ndarray):
    """The three numbers of dates like 01/03/2024 (any of - / . between them, a time after a
    space ignored), (a, b, c) each (N,) int64, then the lengths of a and c as written; None
    when some cell is not three runs of digits."""
    text = np.char.replace(np.char.replace(cells, "/", "-"), ".", "-")
    text = np.char.partition(text, " ")[:, 0]
    first = np.char.partition(text, "-")
    rest = np.char.partition(first[:, 2], "-")
    parts = (first[:, 0], rest[:, 0], rest[:, 2])
    if not all(np.char.isdigit(p).all() for p in parts) or (first[:, 1] != "-").any() \
            or (rest[:, 1] != "-").any():
        return None
    lengths = [np.char.str_len(p) for p in parts]
    if max(int(n.max()) for n in lengths) > 4:
        return None
    try:                   # isdigit also passes digits that are no number to int ("²")
        a, b, c = (p.astype(np.int64) for p in parts)
    except ValueError:
        return None
    return a, b, c, lengths[0], lengths[2]


def _days(cells: np.ndarray, fmt: str) -> np.ndarray | None:
    """Cells (N,), none missing, in format `fmt` as days since 1970-01-01 (N,) float64, or
    None when some cell is no valid date in it (February 30 included)."""
    if fmt == "iso":
        return _iso_days(cells)
    fields = _named_fields(cells, _NAMED[fmt]) if fmt in _NAMED else _ordered_fields(cells, fmt)
    return None if fields is None else _calendar_days(*fields)


def _ordered_fields(cells: np.ndarray, fmt: str):
    """(year, month, day) each (N,) int64 of cells written as three numbers in the order
    `fmt` ("ymd", "dmy" or "mdy"); None when some cell is not three numbers with a year of
    four digits (or two, last: `_whole_year`)."""
    fields = _fields(cells)
    if fields is None:
        return None
    a, b, c, a_len, c_len = fields
    if fmt == "ymd":
        return (a, b, c) if (a_len == 4).all() else None
    if not np.isin(c_len, (2, 4)).all():
        return None
    year = _whole_year(c, c_len)
    return (year, b, a) if fmt == "dmy" else (year, a, b)


def _named_fields(cells: np.ndarray, pattern: re.Pattern):
    """(year, month, day) each (N,) int64 of cells that name the month, matched by `pattern`
    (one of `_NAMED`'s); None when some cell does not match or names no month. Each
    distinct cell is matched once, and most text columns stop at their first cell."""
    if pattern.fullmatch(str(cells[0])) is None:
        return None
    values, inverse = np.unique(cells, return_inverse=True)
    fields = []
    for value in values:
        match = pattern.fullmatch(str(value))
        month = None if match is None else _MONTHS.get(match["month"].lower())
        if month is None:
            return None
        fields.append((int(match["year"]), len(match["year"]), month, int(match["day"])))
    year, year_len, month, day = np.array(fields, dtype=np.int64)[inverse.reshape(-1)].T
    return _whole_year(year, year_len), month, day


def _whole_year(year: np.ndarray, written: np.ndarray) -> np.ndarray:
    """Years (N,) int64 as written, those `written` (N,) with two digits given their
    century as Python's %y does: `CENTURY_PIVOT` (69) to 99 in the 1900s, 00 to 68 in the
    2000s."""
    century = np.where(year >= CENTURY_PIVOT, 1900, 2000)
    return np.where(written == 2, century + year, year)


def _calendar_days(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray | None:
    """Dates given as (year, month, day) each (N,) int64 as days since 1970-01-01 (N,)
    float64, or None when some is no day of the calendar (a month 13, February 30)."""
    if ((month < 1) | (month > 12) | (day < 1) | (day > 31)).any():
        return None
    months = ((year - 1970) * 12 + month - 1).astype("datetime64[M]")
    dates = months.astype("datetime64[D]") + (day - 1)
    if (dates.astype("datetime64[M]") != months).any():       # a day beyond its month's end
        return None
    return dates.astype(np.int64).astype(np.float64)


def _iso_form(cells: np.ndarray) -> np.ndarray:
    """(N,) bool: the cells (N,) that start as ISO 8601 dates do, a four-digit year and a
    dash, and are a year and month (2024-03) or longer than a date (numpy would also read
    "today" and a bare year)."""
    length = np.char.str_len(cells)
    return (np.char.isdigit(cells.astype("U4")) & np.char.endswith(cells.astype("U5"), "-")
            & ((length == 7) | (length >= 10)))


def _iso_days(cells: np.ndarray) -> np.ndarray | None:
    """ISO 8601 dates and datetimes (N,) as days (N,) float64, None when some is not one
    (`_iso_form`, then numpy's reader)."""
    if not _iso_form(cells).all():
        return None
    try:
        with warnings.catch_warnings():   # a zone suffix (Z, +01:00): read as UTC
            warnings.simplefilter("ignore")
            stamps = cells.astype("datetime64[s]")
    except ValueError:
        return None
    return stamps.astype(np.int64) / SECONDS_PER_DAY


__all__ = ["FEATURES", "FORMATS", "NotADate", "features", "parse", "read"]
