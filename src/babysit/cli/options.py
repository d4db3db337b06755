"""The options the commands share and what they describe: one option per RunConfig field
(`add_config_options`), the run configuration they give (`run_config`) and which settings
the user chose (`chosen_settings`), the settings a command does not use (`unused`), --out
and --json, --no-report, an --out naming one file (`new_output_file`, with --force)."""

from __future__ import annotations

import argparse
import math
import os
import stat
from collections.abc import Callable
from pathlib import Path

from babysit.cli.console import say
from babysit.runs.config import RunConfig, config_fields
from babysit.validation import creatable_folder, positive_int


def add_config_options(p: argparse.ArgumentParser) -> None:
    """One option per RunConfig field (--hidden, --lr, --reg-kind, ...), generated from the
    fields' help, parser and choices, in groups data/model/training, plus --config RUN/config.json.

    The options have no argparse defaults (SUPPRESS): the namespace holds only what was given,
    so that `run_config` lays the flags over --config's file, then over RunConfig's defaults.
    Each value is checked as it is read (RunConfig's own check), so bad input stops at once.
    """
    p.add_argument("--config", type=path_given, metavar="RUN/config.json",
                   default=argparse.SUPPRESS,
                   help="repeat a run: its config.json's settings, under the flags given here")
    groups = {}
    for name, f in config_fields().items():
        group = f.metadata["group"]
        if group not in groups:
            groups[group] = p if group == "data" else p.add_argument_group(group)
        flag, meta = flag_of(name), f.metadata
        default = RunConfig.__dataclass_fields__[name].default
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        choices = meta["cli_choices"]() if meta["cli_choices"] else None
        help_text = meta["help"] + (f"; one of {', '.join(choices)}" if choices else "") \
            + f" (default: {'none' if shown is None else shown})"
        if f.type == "bool":
            groups[group].add_argument(flag, action=argparse.BooleanOptionalAction,
                                       default=argparse.SUPPRESS, help=help_text)
        else:
            groups[group].add_argument(flag, type=_reader(name, meta, choices),
                                       default=argparse.SUPPRESS, help=help_text,
                                       metavar=name.upper())


def _reader(name: str, meta, choices) -> Callable[[str], object]:
    """argparse's `type` for field `name`: its parser, then its check (and the command line's
    choices), with a refusal argparse prints as one line."""
    def read(text: str):
        try:
            value = meta["check"](meta["parse"](text), name)
            if choices is not None and value not in choices:
                raise ValueError(f"unknown {name} {value!r}; known: {', '.join(choices)}")
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
        return value
    return read


def run_config(args) -> RunConfig:
    """The run the command line describes: RunConfig's defaults, under --config's file, under
    the flags given."""
    base = RunConfig.load(args.config) if getattr(args, "config", None) else RunConfig()
    return base.replace(**{k: v for k, v in vars(args).items() if k in config_fields()})


def flag_of(name: str) -> str:
    """The command-line flag of a setting (a RunConfig field, an argparse dest): batch_size ->
    --batch-size."""
    return "--" + name.replace("_", "-")


def chosen_settings(args) -> set[str]:
    """The RunConfig fields the user chose: the flags given, all of them with --config."""
    chosen = {k for k in vars(args) if k in config_fields()}
    return chosen | set(config_fields()) if getattr(args, "config", None) else chosen


def unused(p: argparse.ArgumentParser, names, help_text: dict | None = None) -> None:
    """Hide from `p`'s help the settings `names` that its command does not use (they are still
    accepted, so that a training command line can be reused: `left_out` says so), and give
    the settings of `help_text` ({name: text}) the command's own meaning."""
    for action in p._actions:   # argparse offers no other way to change a help after the fact
        if action.dest in names:
            action.help = argparse.SUPPRESS
        elif help_text and action.dest in help_text:
            action.help = help_text[action.dest]


def left_out(args, names, command: str, why: str) -> None:
    """One line naming the flags of `names` typed on the command line (not those a --config
    file holds), which `command` does not use, and `why`."""
    typed = sorted(set(vars(args)) & set(names) & set(config_fields()))
    if typed:
        say(f"babysit {command}: {', '.join(flag_of(n) for n in typed)} left out: {why}")


def add_output_options(p: argparse.ArgumentParser) -> None:
    """--out (the run folder) and --json (a summary as stdout's last line)."""
    p.add_argument("--out", type=path_given, help="run folder (default: a new folder under runs/)")
    add_json_flag(p)


def add_json_flag(p: argparse.ArgumentParser) -> None:
    """--json: the command's summary as stdout's last line (printed by `babysit.cli.app`)."""
    p.add_argument("--json", action="store_true", help="print a JSON summary as the last line")


def add_report_flag(p: argparse.ArgumentParser) -> None:
    """--no-report: print the diagnosis but write no report.html."""
    p.add_argument("--no-report", action="store_true",
                   help="print the diagnosis but write no report.html into the run folder")


def add_force_flag(p: argparse.ArgumentParser) -> None:
    """--force: let an --out naming a file (`new_output_file`) replace one that exists."""
    p.add_argument("--force", action="store_true", help="let --out replace a file that exists")


def new_output_file(out: Path, example: str, force: bool = False) -> Path:
    """Check an --out that names one file the command writes (a page, a table), whose folder
    could be made (the writer makes it: a command that fails first leaves none); return the
    file to write: `out`, or the file it links to when it is a symbolic link (the file is
    replaced beside its target, and the link stays). Refused: a folder
    (`example`, a file name such as "compare.html", shows what to give instead), a file
    under a file, what is no regular file (a named pipe, a device, the terminal or pipe
    behind /dev/stdout, a socket: replacing it would destroy it, and writing into it could
    not be whole or not at all) and, unless `force`, a file that exists (a typo naming a
    table or another run's page would destroy it)."""
    out = Path(out)
    if out.is_dir():
        raise ValueError(f"--out {out} is a folder; expected a file name, such as "
                         f"{out / example}")
    kind = _special_kind(out)
    if kind is not None:
        raise ValueError(f"--out {out} is {kind}, not a regular file: --out writes a file "
                         f"whole, replacing the one there, which would destroy this; give a "
                         f"file name")
    if out.exists() and not force:
        raise ValueError(f"--out {out} exists: add --force to replace it, or give a new file "
                         f"name")
    target = Path(os.path.realpath(out)) if out.is_symlink() else out
    creatable_folder(target.parent, "--out")     # made when written: a failure leaves none
    return target


def _special_kind(path: Path) -> str | None:
    """What `path` (its link's target, when a link) is when it exists and is neither a
    regular file nor a folder ("a named pipe (FIFO)", "a device", "a socket"), else None."""
    try:
        mode = path.stat().st_mode
    except OSError:          # absent (or unreadable: then writing it says why)
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return None


# The largest --step of a gradient check (`step_size`)
MAX_STEP = 0.1


def positive_number(text: str) -> float:
    """argparse type for a positive finite number (--step, a rate): refused as it is read,
    before a run folder is made, in the option's own name."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive finite number such as 1e-3, "
                                         f"got {text!r}")
    return value


def whole_number(least: int, most: int | None = None) -> Callable[[str], int]:
    """argparse type for a whole number of at least `least` (--burn-in 0, --iterations 2) and,
    given `most`, at most that (a number of steps a command would otherwise run for days)."""
    def read(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = least - 1
        if value < least or most is not None and value > most:
            within = f" from {least} to {most:,}" if most is not None else f", at least {least}"
            raise argparse.ArgumentTypeError(f"expected a whole number{within}, got {text!r}")
        return value
    return read


def step_size(text: str) -> float:
    """argparse type for a finite-difference step (--step): a positive number up to
    MAX_STEP. A larger step's truncation error (it grows as h^2) reads as a wrong gradient
    in correct code."""
    value = positive_number(text)
    if value > MAX_STEP:
        raise argparse.ArgumentTypeError(f"expected a step of at most {MAX_STEP:g} (1e-5 is "
                                         f"usual; a larger step's own error reads as a wrong "
                                         f"gradient), got {text!r}")
    return value


def path_given(text: str) -> Path:
    """argparse type for a path: an empty one is refused (Path('') is the current folder,
    which an empty --out silently wrote a run into)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a path, got an empty one")
    return Path(text)


def count(text: str) -> int:
    """argparse type for a count (--examples, --ensemble): a positive integer."""
    try:
        return positive_int(int(text), "the value")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None


__all__ = ["MAX_STEP", "add_config_options", "add_force_flag", "add_json_flag",
           "add_output_options", "add_report_flag", "chosen_settings", "count", "flag_of",
           "left_out", "new_output_file", "path_given", "positive_number", "run_config",
           "step_size", "unused", "whole_number"]
