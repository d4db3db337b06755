"""`babysit train`: train one model, save its checkpoints and history, print the diagnosis,
write the report, report accuracies (exit 3 when the run diverged or exploded).

Its other modes are declared in one table, `MODES`: the option that selects each, what it
runs, and the options it refuses beside it or that mean nothing without it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field

from babysit.cli import ensemble, fix
from babysit.cli.console import say
from babysit.cli.options import (
    add_config_options,
    add_output_options,
    add_report_flag,
    chosen_settings,
    flag_of,
    path_given,
    run_config,
)
from babysit.cli.resume import resume
from babysit.cli.running import say_opening, train_to_the_end
from babysit.runs.resume import resume_command
from babysit.runs.run import Run


def add_options(p: argparse.ArgumentParser) -> None:
    """--resume RUN, the settings, --ensemble K, --fix and --max-rounds, --out, --json,
    --no-report."""
    p.add_argument("--resume", type=path_given, metavar="RUN", default=None,
                   help="continue the run in folder RUN (now `babysit resume RUN`); no other "
                        "setting but --epochs may be given beside it")
    add_config_options(p)
    ensemble.add_ensemble_option(p)
    fix.add_fix_options(p)
    add_output_options(p)
    add_report_flag(p)


def cmd_train(args) -> tuple[int, dict]:
    """Train the run the options describe, or run the mode an option selects (`MODES`)."""
    mode = chosen_mode(_given_options(args))
    if mode is not None:
        return MODES[mode].run(args)
    run = Run.prepare(run_config(args), chosen=chosen_settings(args), out=args.out,
                      command="train")
    say_opening(run, "train", chosen_settings(args))
    return train_to_the_end(run, "train", report=not args.no_report)


def _given_options(args) -> dict:
    """The options of `babysit train` given on the command line, dest name -> value: those
    whose value is not the parser's default (the RunConfig fields have none: present only
    when given)."""
    p = argparse.ArgumentParser()
    add_options(p)
    defaults = vars(p.parse_args([]))
    return {name: value for name, value in vars(args).items()
            if name not in defaults or defaults[name] != value}


@dataclass(frozen=True)
class Mode:
    """One mode of `babysit train`, selected by the option of its name.

    run(args) -> (exit status, --json summary). beside: when given, the only options that may
    stand beside it; refuses: options that may not (both as argparse dest names), `why`
    saying so. owns: options that mean nothing without it, each with what it does."""

    run: Callable
    why: str
    beside: tuple[str, ...] | None = None
    refuses: tuple[str, ...] = ()
    owns: dict = field(default_factory=dict)


def _resume(args) -> tuple[int, dict]:
    say(f"babysit train --resume is now {resume_command(args.resume)}")
    return resume(args.resume, args.epochs if "epochs" in vars(args) else None,
                  report=not args.no_report)


MODES = {
    "resume": Mode(_resume, beside=("epochs", "json", "no_report"),
                   why="the run goes on with the settings of its config.json (beside --resume "
                       "only --epochs N, to train longer, --json and --no-report); to change "
                       "{flag}, start a new run: babysit train --config RUN/config.json "
                       "{flag} ..."),
    "fix": Mode(fix.train_fix, refuses=("ensemble",), owns={"max_rounds": "counts the "
                "retrainings of --fix"}, why="--fix treats one model"),
    "ensemble": Mode(ensemble.train_ensemble, refuses=("fix",),
                     why="--ensemble trains K models as they are"),
}
# Options any mode takes: they say how to report, not what to train.
ANY_MODE = ("debug", "command")


def chosen_mode(given: dict) -> str | None:
    """The mode `given` (the options on the command line, dest name -> value) selects, or None for a
    plain run; an option one mode refuses, or that belongs to a mode not chosen, is a
    ValueError naming it."""
    chosen = [name for name in MODES if name in given]
    for name in chosen:
        mode = MODES[name]
        for other in given:
            if other == name or other in ANY_MODE:
                continue
            if (mode.beside is not None and other not in mode.beside) or other in mode.refuses:
                flag = flag_of(other)
                raise ValueError(f"{flag} cannot be given with {flag_of(name)}: "
                                 + mode.why.format(flag=flag))
    for name, mode in MODES.items():
        for owned, what in mode.owns.items():
            if owned in given and name not in given:
                raise ValueError(f"{flag_of(owned)} {given[owned]} {what}; add {flag_of(name)}, "
                                 f"or leave {flag_of(owned)} out")
    return chosen[0] if chosen else None


__all__ = ["MODES", "Mode", "add_options", "chosen_mode", "cmd_train"]
