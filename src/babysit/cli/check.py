"""`babysit check`: the model the options describe, its gradients checked against numerical
ones (exit 1 when any is wrong)."""

from __future__ import annotations

import argparse

from babysit import check
from babysit.cli.console import say
from babysit.cli.options import (
    MAX_STEP,
    add_config_options,
    add_output_options,
    chosen_settings,
    count,
    left_out,
    run_config,
    step_size,
    unused,
    whole_number,
)
from babysit.runs.builders import build_optimizer
from babysit.runs.run import Run

# The most training iterations before a check (--burn-in): minutes of steps on a few examples
MAX_BURN_IN = 100_000
# The settings of a training run a gradient check has no use for: it runs on --examples rows
UNUSED = ("epochs", "batch_size", "average", "patience", "min_delta", "best_weights", "stop_on")


def add_options(p: argparse.ArgumentParser) -> None:
    """The settings (those of UNUSED accepted but not listed), the gradient check's examples,
    coordinates per parameter, step and burn-in, --out, --json."""
    add_config_options(p)
    unused(p, UNUSED)
    g = p.add_argument_group("gradient check")
    g.add_argument("--examples", type=count, default=4,
                   help="training examples the check runs on (default: 4; the notes advise few)")
    g.add_argument("--per-param", type=count, default=10,
                   help="coordinates checked in each parameter (default: 10)")
    g.add_argument("--step", type=step_size, default=1e-5,
                   help=f"finite-difference step h, a positive number up to {MAX_STEP:g} "
                        f"(default: 1e-5)")
    g.add_argument("--burn-in", type=whole_number(0, MAX_BURN_IN), default=0,
                   help=f"training iterations (--optimizer, --lr) before the check, at most "
                        f"{MAX_BURN_IN:,} (default: 0)")
    add_output_options(p)


def cmd_check(args) -> tuple[int, dict]:
    """Gradient-check the run's model: exit 0 when every parameter passes."""
    left_out(args, UNUSED, "check", "a gradient check trains no epochs; it runs on --examples "
             "rows")
    run = Run.prepare(run_config(args), chosen=chosen_settings(args), out=args.out,
                      command="check", lock=False,  # a new folder of its own: no lock
                      checkpoints=False, monitors=False)
    X, y = run.data.train.X[:args.examples], run.data.train.y[:args.examples]
    report = check.gradients(run.net, run.trainer.loss, X, y, reg=run.trainer.reg,
                             per_param=args.per_param, h=args.step, seed=run.cfg.seed,
                             burn_in=args.burn_in, opt=build_optimizer(run.cfg))
    text = str(report)
    (run.out / "gradient_check.txt").write_text(text + "\n")
    say(text)
    return 0 if report.ok else 1, {**report.summary(), "run_dir": str(run.out)}


__all__ = ["add_options", "cmd_check"]
