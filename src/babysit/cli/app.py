"""The `babysit` command: `demo`, `train`, and the other steps of the recipe.

Every command takes `--data NAME|PATH` and writes into a run folder (`--out DIR`,
by default a new folder under `runs/`); `--json` prints a machine-readable
summary as the last line.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys

import numpy as np

from babysit.cli import check, demo, lr_find, overfit, predict, report, resume, search, train
from babysit.cli.console import OneLineParser, run_reporting_errors, stdout_reader_may_leave
from babysit.runs import run_lock
from babysit.runs.finish import COMMAND_LINE, EXIT_DIVERGED, stop_signals_interrupt
from babysit.search.database import masked

__all__ = ["COMMANDS", "parser", "main"]

# name -> (help, the command: args -> (exit status, --json summary), its options).
COMMANDS = {
    "demo": ("run the whole recipe on the embedded digits data", demo.cmd_demo,
             demo.add_options),
    "report": ("re-render a run folder's report.html from its history.json, or compare runs",
               report.cmd_report, report.add_options),
    "train": ("train a model, print its diagnosis, write its report and its train/val/test "
              "accuracy (exit 3 when it diverged or exploded); --fix treats it, --ensemble K "
              "averages K seeds", train.cmd_train, train.add_options),
    "resume": ("continue a run (or an ensemble) that stopped, or train it longer (--epochs), "
               "in its folder, bit for bit as if it had never stopped", resume.cmd_resume,
               resume.add_options),
    "overfit": ("the notes' first sanity run: train on a few examples without regularization, "
                "expect every one of them learned (exit 1 if not)", overfit.cmd_overfit,
                overfit.add_options),
    "lr-find": ("the learning-rate range test: the loss as the rate grows, a suggested rate",
                lr_find.cmd_lr_find, lr_find.add_options),
    "search": ("search hyperparameters: random or TPE, coarse to fine, in parallel, resumable",
               search.cmd_search, search.add_options),
    "check": ("check the model's gradients against numerical ones (exit 1 if any is wrong)",
              check.cmd_check, check.add_options),
    "predict": ("predict new rows of a table with a trained model: class names and "
                "probabilities, or values", predict.cmd_predict, predict.add_options),
}


def parser() -> argparse.ArgumentParser:
    """The `babysit` parser: one subcommand per entry of COMMANDS, with its options (their
    parsers in `.commands`, by name). `--debug` (before or after the command) shows the
    traceback of an error."""
    p = OneLineParser(prog="babysit", description=__doc__.splitlines()[0])
    p.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = p.add_subparsers(dest="command", required=True)
    p.commands = {}   # each command's own parser, which refuses what it does not know
    for name, (help_text, _, add_options) in COMMANDS.items():
        sp = p.commands[name] = sub.add_parser(name, help=help_text, description=help_text)
        sp.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the traceback of an error")
        add_options(sp)
    return p


def _run(command, args) -> int:
    """Run `command` and print its summary as stdout's last line when --json was given: the
    one place a --json summary is printed."""
    status, summary = command(args)
    if getattr(args, "json", False) and summary is not None:
        print(json.dumps(summary, default=str))
    return status


def main(argv=None) -> int:
    """Run one command and return its exit status: 0 done, 1 a check failed (`check`,
    `overfit`), 2 bad input or any other error (one line; --debug shows the traceback),
    3 the run diverged or exploded (`console.run_reporting_errors`)."""
    p = parser()
    try:
        args, unknown = p.parse_known_args(argv)
        if unknown:   # refused by the command's own parser: "see babysit train --help"
            p.commands[args.command].error(
                f"unrecognized arguments: {' '.join(masked(w) for w in unknown)}")
    except SystemExit as exit_:  # argparse printed its refusal (status 2) or --help (0)
        return exit_.code
    _, command, _ = COMMANDS[args.command]
    # stamped on each run the command ends, its passwords (a --storage URL's) masked
    words = [masked(w) for w in (sys.argv[1:] if argv is None else map(str, argv))]
    line = COMMAND_LINE.set(shlex.join(["babysit", *words]))
    # np.errstate: unlike np.seterr, nothing lingers; a reader of stdout that leaves early
    # (`| head`) does not end the run before it has written its files
    # run_lock.command_scope: the run folders the command locked are free again when it ends
    # stop_signals_interrupt: SIGTERM and SIGHUP stop a run as Ctrl-C does
    try:
        with np.errstate(over="ignore", under="ignore"), stdout_reader_may_leave(), \
                run_lock.command_scope(), stop_signals_interrupt():
            return run_reporting_errors(f"babysit {args.command}", lambda: _run(command, args),
                                        args.debug, diverged_status=EXIT_DIVERGED)
    finally:
        COMMAND_LINE.reset(line)


if __name__ == "__main__":
    sys.exit(main())
