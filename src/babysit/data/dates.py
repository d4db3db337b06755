"""Dates in a table's text cells: recognised, read as days, expanded into numeric features.

A column of dates is no category (each day is a value of its own, and a day after the
training rows would be an unseen one) and no number as written; what a network can use is
where the day lies in the year and in the week, and how far along time it is. So a date
column becomes the `FEATURES` columns: year, month (1-12), day of year (1-366), day of week
(0 Monday .. 6 Sunday) and a trend, the date as a fractional year (2024-07-02 is 2024.50),
which carries the time of day too.

The formats recognised (every present cell of a column must fit the same one):

- "iso": 2024-03-01, 2024-03-01T14:30, 2024-03-01 14:30:05 (numpy's ISO 8601 reader);
- "ymd": 2024/03/01, 2024.3.1 (year first, any of - / . between the fields);
- "dmy" and "mdy": 01/03/2024, 1.3.2024 (four-digit year last): day first when some first
  field exceeds 12, month first when some second one does; when neither tells, month first
  for slashes (01/03/2024 is January 3, as in the United States) and day first for dots and
  dashes (01.03.2024 is March 1). A time after the date (a space, then anything) is ignored.

    days, fmt = parse(cells, missing)   # (N,) float64 days since 1970-01-01, NaN where
                                        # missing; None when the column holds no dates
    days = read(cells, missing, fmt)    # new rows, in the training rows' format
    X = features(days)                  # (N, 5) float64
"""

from __future__ import annotations

import warnings

import numpy as np

FEATURES = ("year", "month", "day of year", "day of week", "trend")
FORMATS = {"iso": "ISO 8601 (2024-03-01)", "ymd": "year/month/day", "dmy": "day/month/year",
           "mdy": "month/day/year"}
SECONDS_PER_DAY = 86400.0
DAYS_PER_YEAR = 365.2425                # the Gregorian year, for the trend


def parse(cells: np.ndarray, missing: np.ndarray) -> tuple[np.ndarray, str] | None:
    """The present cells of a text column (N,) as days since 1970-01-01 (N,) float64 (NaN
    where `missing`), and their format's name (a key of `FORMATS`); None when some present
    cell is no date in a format the others share."""
    present = np.char.strip(np.asarray(cells, dtype=str)[~missing])
    if present.size == 0:
        return None
    for fmt in ("iso", *_field_order(present)):
        days = _days(present, fmt)
        if days is not None:
            out = np.full(len(cells), np.nan)
            out[~missing] = days
            return out, fmt
    return None


class NotADate(ValueError):
    """A cell of a date column that is no date in the column's format: its position
    `index`, the `cell` and the `format`'s name."""

    def __init__(self, index: int, cell: str, format: str):
        super().__init__(f"row {index} holds {cell!r}, which is no date in the "
                         f"{FORMATS[format]} format")
        self.index, self.cell, self.format = index, cell, format


def read(cells: np.ndarray, missing: np.ndarray, fmt: str) -> np.ndarray:
    """New rows' cells (N,) in the format `fmt` the training rows had, as days (N,) float64
    (NaN where `missing`). A present cell that is no date in that format raises `NotADate`
    for the first such cell."""
    cells = np.char.strip(np.asarray(cells, dtype=str))
    out = np.full(len(cells), np.nan)
    present = np.flatnonzero(~missing)
    if not present.size:   # no rows (an empty part of a split), or every cell missing
        return out
    days = _days(cells[present], fmt)
    if days is None:                  # find the cell to name (the error path only)
        i = next(i for i in present if _days(cells[i:i + 1], fmt) is None)
        raise NotADate(int(i), str(cells[i]), fmt)
    out[present] = days
    return out


def features(days: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 (N,) float64, none missing -> `FEATURES` (N, 5) float64."""
    day = np.floor(days).astype(np.int64).astype("datetime64[D]")
    year_start = day.astype("datetime64[Y]")
    year = year_start.astype(np.int64) + 1970
    month = day.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day_of_year = (day - year_start.astype("datetime64[D]")).astype(np.int64) + 1
    day_of_week = (day.astype(np.int64) + 3) % 7     # 1970-01-01 was a Thursday
    trend = 1970.0 + days / DAYS_PER_YEAR
    return np.stack([year, month, day_of_year, day_of_week, trend], axis=1).astype(np.float64)


def _field_order(present: np.ndarray) -> tuple[str, ...]:
    """The orders of three-field dates the cells may be written in, most likely first."""
    fields = _fields(present)
    if fields is None:
        return ()
    (a, b, _), (a_len, c_len) = fields[:3], fields[3:]
    if (a_len == 4).all():
        return ("ymd",)
    if not (c_len == 4).all():
        return ()
    if (a > 12).any():
        return ("dmy",)
    if (b > 12).any():
        return ("mdy",)
    return ("mdy", "dmy") if np.char.count(present, "/").any() else ("dmy", "mdy")


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
    fields = _fields(cells)
    if fields is None:
        return None
    a, b, c = fields[:3]
    year, month, day = {"ymd": (a, b, c), "dmy": (c, b, a), "mdy": (c, a, b)}[fmt]
    if ((month < 1) | (month > 12) | (day < 1) | (day > 31)).any():
        return None
    months = ((year - 1970) * 12 + month - 1).astype("datetime64[M]")
    dates = months.astype("datetime64[D]") + (day - 1)
    if (dates.astype("datetime64[M]") != months).any():       # a day beyond its month's end
        return None
    return dates.astype(np.int64).astype(np.float64)


def _iso_days(cells: np.ndarray) -> np.ndarray | None:
    """ISO 8601 dates and datetimes (N,) as days (N,) float64, None when some is not one;
    only cells that start with a four-digit year and a dash are tried (numpy would also read
    "today" and a bare year)."""
    if not (np.char.isdigit(cells.astype("U4")).all()
            and np.char.endswith(cells.astype("U5"), "-").all()
            and (np.char.str_len(cells) >= 10).all()):
        return None
    try:
        with warnings.catch_warnings():   # a zone suffix (Z, +01:00): read as UTC
            warnings.simplefilter("ignore")
            stamps = cells.astype("datetime64[s]")
    except ValueError:
        return None
    return stamps.astype(np.int64) / SECONDS_PER_DAY


__all__ = ["FEATURES", "FORMATS", "NotADate", "features", "parse", "read"]
