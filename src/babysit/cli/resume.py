"""`babysit resume RUN [--epochs N]`: continue a run that stopped, or that should train
longer, in its own folder from its last finished epoch, bit for bit as if it had never
stopped (`babysit.runs.resume`); RUN may be an ensemble's folder (`babysit.cli.ensemble`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from babysit.cli import ensemble
from babysit.cli.console import say
from babysit.cli.options import add_json_flag, add_report_flag, path_given
from babysit.cli.running import say_opening, train_to_the_end
from babysit.runs import resume as resuming
from babysit.runs.config import config_fields


def add_options(p: argparse.ArgumentParser) -> None:
    """RUN, --epochs N, --json, --no-report."""
    p.add_argument("run", type=path_given, metavar="RUN",
                   help="the folder of the run (or ensemble) to continue")
    p.add_argument("--epochs", type=_more_epochs, default=None, metavar="N",
                   help="train to N epochs in all instead of the run's own (a single run only)")
    add_json_flag(p)
    add_report_flag(p)


def _more_epochs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def cmd_resume(args) -> tuple[int, dict]:
    """Continue the run (or ensemble) in args.run: the exit status and --json summary."""
    return resume(args.run, args.epochs, report=not args.no_report)


def resume(folder: Path, epochs: int | None, report: bool = True) -> tuple[int, dict]:
    """Continue the run in `folder` to `epochs` (None: its own), or the ensemble there."""
    if ensemble.is_ensemble(folder):
        return ensemble.resume_ensemble(folder, epochs, report)
    run = resuming.resume(folder, epochs)
    say_opening(run, "resume", config_fields())  # the file's settings are all chosen
    say(f"  resuming {run.out} after epoch {run.trainer.epoch}, to epoch {run.trainer.epochs}")
    return train_to_the_end(run, "resume", report=report)


__all__ = ["add_options", "cmd_resume", "resume"]
