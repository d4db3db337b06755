"""Which of the user's rows a table trains, validates and tests on, and how to say so.

A table is the user's: every row kept out of training is a row the model does not learn
from. So by default (`fractions`) the --data file is split only in two: a validation part
just large enough to steer what reads it (the epoch whose weights are kept, early stopping,
the diagnosis' train-val gap), `VAL_SHARE` (20%) of the rows and at most `MAX_VAL_ROWS`
(1,000: the accuracy of 1,000 rows is known to +-1.6 points, finer than the gaps those
decisions turn on), and training on all the rest. No test rows are carved out of the file:
the scores that count are those on rows the user kept apart, given as --test-data FILE (or
a test fraction in --split). --val-data FILE gives the validation rows instead, and the whole
--data file trains.

    fractions(n_rows, split, val_file, test_file)  # (train, val, test) shares of --data
    read_part(path, header, target)                # another file's cells, columns as --data's
    origins(...)                                   # {"train": "...", "val": ..., "test": ...}
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from babysit.data import formats

VAL_SHARE = 0.2
MAX_VAL_ROWS = 1000


def fractions(n_rows: int, split=None, val_file=None, test_file=None) -> tuple[float, ...]:
    """The (train, val, test) shares of the --data file's `n_rows` rows: `split` when given
    (each part that another file gives must then be 0), else the default of the module doc.
    """
    if split is not None:
        split = tuple(float(f) for f in split)
        if len(split) != 3 or min(split) < 0 or split[0] <= 0 or not np.isclose(sum(split), 1):
            raise ValueError(f"--split takes three fractions TRAIN,VAL,TEST that sum to 1, "
                             f"train above 0 (val and test may be 0), got {list(split)}")
        for at, file, option in ((1, val_file, "--val-data"), (2, test_file, "--test-data")):
            if file is not None and split[at] > 0:
                raise ValueError(f"--split {','.join(f'{f:g}' for f in split)} takes "
                                 f"{'validation' if at == 1 else 'test'} rows from the --data "
                                 f"file, and {option} {file} gives them too: set that "
                                 f"fraction to 0, or leave {option} out")
        if val_file is None and split[1] == 0:
            raise ValueError("--split with a validation fraction of 0 needs --val-data FILE: "
                             "a run keeps the epoch of the best validation score, and the "
                             "diagnosis compares training with validation")
        return split
    if val_file is not None:
        return (1.0, 0.0, 0.0)
    val = min(VAL_SHARE, MAX_VAL_ROWS / n_rows)
    return (1.0 - val, val, 0.0)


def read_part(path, header: list[str], target: str, notes: list | None = None,
              needed: list[str] | None = None, has_header: bool = True) -> np.ndarray:
    """The cells (N, C) of the --val-data or --test-data file `path`, its columns in the order
    of the --data file's `header`. It must hold the `needed` columns (by default all of
    `header`; a model needs the target and the columns its encoder reads, not an identifier
    it leaves out nor a dropped one), and no column beyond `header` (refused, so that a file
    of another table is not scored by mistake); a column of `header` that it lacks comes
    back empty. As `formats.Cells`: each row keeps the line of `path` it is on, which a
    message about it names. `has_header` False: the file has no header row, its columns
    named "1", "2", ... as the --data file's were."""
    path = Path(path)
    needed = header if needed is None else needed
    their, cells = formats.read_table(path, notes=notes, header=has_header)
    missing = [name for name in needed if name not in their]
    extra = [name for name in their if name not in header]
    if missing or extra:
        lacks = f"lacks {', '.join(map(repr, missing))}" if missing else ""
        more = f"{' and ' if missing else ''}has {', '.join(map(repr, extra))} besides" \
            if extra else ""
        unread = [name for name in header if name not in needed]
        spare = f" (it may lack {', '.join(map(repr, unread))}, which the model does not " \
            f"read)" if unread else ""
        raise ValueError(f"{path} {lacks}{more}: its columns must be those of the training "
                         f"file ({formats.names_in_words(header)}), the target {target!r} "
                         f"among them{spare}")
    out = np.full((len(cells), len(header)), "", dtype=cells.dtype)
    for j, name in enumerate(header):
        if name in their:
            out[:, j] = cells[:, their.index(name)]
    return formats.Cells.of(out, cells.lines)


def origins(name: str, parts, shares, files) -> dict[str, str]:
    """Where each split's rows come from, in words: {"train": "312 rows of wine.csv", ...}.
    parts: the row counts of (train, val, test); shares: the fractions of the --data file
    `name`; files: (val file, test file), None where the rows came from `name`."""
    out = {}
    for part, rows, share, file in zip(("train", "val", "test"), parts, shares,
                                       (None, *files), strict=True):
        if file is not None:
            out[part] = f"{rows} rows of {Path(file).name}"
        elif rows:
            out[part] = f"{rows} rows of {name} ({share:.0%})"
        else:
            out[part] = None
    return out


def scores_note(origins_: dict[str, str | None]) -> str:
    """The line a run ends with: which rows each score comes from, and what a missing test
    part means."""
    val = (f"val on the {origins_['val']} held out of training, which chose the epoch kept "
           f"(so it flatters a little)")
    test = (f"test on the {origins_['test']}, never seen in training" if origins_["test"] else
            "no test score: no test rows were set apart (--test-data FILE scores rows kept "
            "apart, or --split TRAIN,VAL,TEST carves them out of --data)")
    return f"scores: train on the {origins_['train']}; {val}; {test}"


__all__ = ["MAX_VAL_ROWS", "VAL_SHARE", "fractions", "origins", "read_part", "scores_note"]
