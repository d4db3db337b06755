"""`babysit lr-find`: the learning-rate range test on the configured network and training
split; the plot and the curve go into the run folder."""

from __future__ import annotations

import argparse
import json
import shlex

from babysit.check.lr_range import METHODS, SUGGESTION
from babysit.cli.console import say
from babysit.cli.options import (
    add_config_options,
    add_output_options,
    chosen_settings,
    left_out,
    positive_number,
    run_config,
    unused,
    whole_number,
)
from babysit.doctor import train_command
from babysit.runs.builders import layer_widths
from babysit.runs.finish import reworded
from babysit.runs.run import Run

# The settings of a training run the range test has no use for: it sweeps the rate itself
# over --iterations batches
UNUSED = ("lr", "epochs", "average", "patience", "min_delta", "best_weights", "stop_on")


def add_options(p: argparse.ArgumentParser) -> None:
    """The settings (those of UNUSED accepted but not listed), --start, --end, --iterations,
    --method, --out, --json."""
    add_config_options(p)
    unused(p, UNUSED)
    g = p.add_argument_group("range test")
    g.add_argument("--start", type=positive_number, default=1e-7,
                   help="the first rate, below --end (default: 1e-7)")
    g.add_argument("--end", type=positive_number, default=10.0, help="the last rate (default: 10)")
    g.add_argument("--iterations", type=whole_number(2), default=200,
                   help="mini-batches from start to end, at least 2 (default: 200)")
    g.add_argument("--method", default=SUGGESTION, choices=METHODS,
                   help=f"how the rate is suggested (default: {SUGGESTION}, the rate at the "
                        f"smoothed loss's minimum / 10)")
    add_output_options(p)


def cmd_lr_find(args) -> tuple[int, dict]:
    """The range test; exit 0 (a loss that never fell says so, with no suggestion)."""
    left_out(args, UNUSED, "lr-find", "the range test sweeps the rate from --start to --end "
             "over --iterations batches")
    if not args.start < args.end:  # before the run folder is made
        raise ValueError(f"start and end must be rates with --start below --end (the range "
                         f"test raises the rate from one to the other), got --start "
                         f"{args.start:g} and --end {args.end:g}")
    run = Run.prepare(run_config(args), chosen=chosen_settings(args), out=args.out,
                      command="lr-find", checkpoints=False, monitors=False)
    cfg, data, out = run.cfg, run.data, run.out
    try:
        say(f"babysit lr-find: {data.name}, {len(data.train.y)} train, model "
            f"{layer_widths(cfg, data)}, {cfg.optimizer}, batches of {cfg.batch_size}")
        found = run.range_test(start=args.start, end=args.end, iterations=args.iterations,
                               method=args.method)
    except KeyboardInterrupt as err:   # resume has nothing to go on from: say what does
        raise reworded(err, f"before the range test ended; it keeps nothing to resume: run "
                            f"babysit lr-find again (--out {shlex.quote(str(out))} may be "
                            f"given again)") from None
    plot = found.plot(out / "lr_range.png")
    (out / "lr_range.json").write_text(json.dumps(found.to_dict()) + "\n")
    say(str(found))
    command = None
    if found.suggestion is not None:
        command = train_command(cfg.replace(lr=float(f"{found.suggestion:.2g}")))
        say(f"to train at it: {command}")
    say(f"plot: {plot}")
    return 0, {"suggestion": found.suggestion, "method": found.method,
               "steepest": found.steepest, "at_minimum": found.at_minimum,
               "stopped": found.stopped, "note": found.note, "command": command,
               "plot": str(plot), "run_dir": str(out)}


__all__ = ["add_options", "cmd_lr_find"]
