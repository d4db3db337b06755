"""`babysit predict MODEL --data ROWS`: each new row of a table predicted with a model trained
on the table: class names and probabilities, or values."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from babysit.cli.console import say
from babysit.cli.options import new_output_file, path_given


def add_options(p: argparse.ArgumentParser) -> None:
    """MODEL, --data (the new rows), --out (a CSV of predictions) and --json."""
    p.add_argument("model", type=path_given, help="a checkpoint (.safetensors) or a run folder")
    p.add_argument("--data", type=path_given, required=True, help="a .csv (or .tsv) of new rows")
    p.add_argument("--out", type=path_given, help="write the predictions here as a .csv (a .tsv: "
                   "separated by tabs; a new file, unless --force)")
    p.add_argument("--force", action="store_true",
                   help="let --out replace a file that exists")
    p.add_argument("--json", action="store_true", help="print the predictions as JSON last")


def cmd_predict(args) -> tuple[int, dict]:
    """Predict each row of --data with a model trained on a table."""
    from babysit.runs.predict import predict_table

    out = check_predictions_file(args.out, args.data, args.force) \
        if args.out is not None else None
    notes = []                                              # a separator other than ','
    with warnings.catch_warnings(record=True) as caught:    # ignored columns, unseen categories
        warnings.simplefilter("always")
        result = predict_table(args.model, args.data, notes=notes)
    for note in notes:
        say(f"babysit predict: {note}")
    for warning in caught:
        print(f"babysit predict: warning: {warning.message}", file=sys.stderr)
    if out is not None:     # before printing: a reader that stops early loses no rows
        _write(result, out, args.out)
    shown = result.rows()
    say("\n".join(",".join(row) for row in [result.columns, *shown[:10]]))
    if len(shown) > 10:
        say(f"... {len(shown) - 10} more rows" + ("" if args.out else "; --out FILE keeps all"))
    if out is not None:
        say(f"predictions for {len(shown)} rows written to {args.out}")
    return 0, {**result.to_dict(), "out": str(args.out) if args.out else None}


def check_predictions_file(out: Path, data: Path, force: bool = False) -> Path:
    """Refuse an --out for predictions that is a folder, that lies under a file, that is no
    regular file (a pipe, a device), that is the --data file itself (the new rows would be
    overwritten by their predictions), or, unless `force`, that exists (a typo naming the
    training CSV would destroy it); its folder is made when the predictions are written.
    Returns the file to write (`new_output_file`: a link's target)."""
    if out.is_file() and data.exists() and out.samefile(data):
        raise ValueError(f"--out {out} is the --data file: the predictions would overwrite the "
                         f"rows they were made from; give another file name")
    return new_output_file(out, "predictions.csv", force)


def _write(result, target: Path, out: Path) -> None:
    """`result.write_csv(target)`, its OSError (a read-only folder, a full disk) naming --out
    `out` as the user gave it (a link's target is written in its place)."""
    try:
        result.write_csv(target)
    except OSError as err:
        raise OSError(err.errno, err.strerror or str(err), str(out)) from err


__all__ = ["add_options", "check_predictions_file", "cmd_predict"]
