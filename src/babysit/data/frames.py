"""Tables as Python users hold them (a pandas DataFrame, an array of objects) as the text
cells the `babysit.data.tabular.TableEncoder` reads, so that the scikit-learn estimators
encode text, categories, dates and missing values exactly as `babysit train` does a CSV.

    needs_encoder(X)          # a DataFrame with text or missing values, or an object array
    cells, names = cells_of(X)   # (N, C) str ("" where a value is missing), column names
    categorical_columns(X)    # the columns a DataFrame declares Categorical

pandas is not imported: a DataFrame is recognised by its `columns`, `dtypes` and `isna`.
"""

from __future__ import annotations

import numpy as np


def is_frame(X) -> bool:
    """Whether X is a DataFrame (anything with columns, dtypes and isna)."""
    return all(hasattr(X, name) for name in ("columns", "dtypes", "isna", "to_numpy"))


def needs_encoder(X) -> bool:
    """Whether X is a table the table encoder must read: a DataFrame with a column that is
    not numbers (text, categories, dates) or with a missing value, or a 2-d array holding
    text. A DataFrame or array of numbers only (objects too) goes to the network as it is,
    and anything else to scikit-learn's checks, which refuse it."""
    if is_frame(X):
        numeric = all(getattr(dtype, "kind", "O") in "iufb" for dtype in X.dtypes)
        return not numeric or bool(X.isna().to_numpy().any())
    if hasattr(X, "tocsr"):                     # a sparse matrix: scikit-learn's to refuse
        return False
    values = np.asarray(X)
    if values.ndim != 2 or values.dtype.kind not in "OUS":
        return False
    try:                                        # objects that are all numbers need no encoder
        values.astype(np.float64)
    except ValueError:                          # text ("red"): a table
        return True
    except TypeError:                           # a dict, None: scikit-learn's to refuse
        return False
    return values.dtype.kind != "O"


def categorical_columns(X) -> list[str]:
    """The names of a DataFrame's Categorical columns, which the table encoder one-hot encodes
    whatever their values (classes 1, 2 and 3 declared categories are no quantity); [] for
    anything else."""
    if not is_frame(X):
        return []
    return [str(name) for name, dtype in zip(X.columns, X.dtypes, strict=True)
            if getattr(dtype, "name", "") == "category"]


def cells_of(X) -> tuple[np.ndarray, list[str] | None]:
    """X (N, C) as text cells (N, C) str, "" where a value is missing (None, NaN, pandas' NA
    and NaT: `_is_missing`, for an array as for a DataFrame), and its column names (None for
    an array: its columns have no names)."""
    if is_frame(X):
        names = [str(c) for c in X.columns]
        repeated = repeated_names(names)
        if repeated:   # columns matched by name at predict time would be taken twice
            raise ValueError(f"X's columns repeat names ({repeated}); give every column its "
                             f"own name")
        values = X.to_numpy(dtype=object)
        missing = X.isna().to_numpy()
    else:
        values = np.asarray(X, dtype=object)
        if values.ndim != 2:
            raise ValueError(f"X must be a 2-d table (N, C), got shape {values.shape}")
        missing = np.frompyfunc(_is_missing, 1, 1)(values).astype(bool)
        names = None
    cells = values.astype(str)
    cells[missing] = ""
    return cells, names


def _is_missing(value) -> bool:
    """Whether one object of an array is a missing value, as a DataFrame's `isna` reads it:
    None, a float NaN (NumPy's too), NumPy's NaT, pandas' NA and NaT (known by their type's
    name: pandas is not imported). A word such as "None" is a value (a category, as the same
    word is in a DataFrame or a CSV file)."""
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return bool(value != value)
    if isinstance(value, np.datetime64 | np.timedelta64):
        return bool(np.isnat(value))
    return type(value).__name__ in ("NAType", "NaTType")


def repeated_names(names: list[str]) -> str | None:
    """"'a' names columns 1 and 3; ..." for the names given to more than one column (counted
    from 1), or None when every column has its own."""
    seen: dict[str, list[int]] = {}
    for j, name in enumerate(names, start=1):
        seen.setdefault(name, []).append(j)
    repeated = [f"{name!r} names columns {' and '.join(map(str, where))}"
                for name, where in seen.items() if len(where) > 1]
    return "; ".join(repeated) or None


__all__ = ["categorical_columns", "cells_of", "is_frame", "needs_encoder", "repeated_names"]
