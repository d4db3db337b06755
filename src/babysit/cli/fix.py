"""The doctor's commands: `babysit lr-find` and `babysit train --fix`.

`babysit.cli` parses the options and hands them here; the run configuration and the run folder
come from `babysit.cli.run_folder`, as for every command.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time

from babysit.check.lr_range import METHODS, SUGGESTION
from babysit.cli.console import say
from babysit.cli.run_folder import chosen_settings, run_config, run_folder
from babysit.doctor import Runner, train_command, treat
from babysit.report.page import Section
from babysit.runs.builders import fit_to_data, layer_widths
from babysit.runs.config import RunConfig
from babysit.runs.finish import EXIT_DIVERGED, finish, say_findings


def add_lr_find_options(p: argparse.ArgumentParser) -> None:
    """--start, --end, --iterations, --method: the range the learning rate sweeps."""
    g = p.add_argument_group("range test")
    g.add_argument("--start", type=float, default=1e-7, help="the first rate (default: 1e-7)")
    g.add_argument("--end", type=float, default=10.0, help="the last rate (default: 10)")
    g.add_argument("--iterations", type=int, default=200,
                   help="mini-batches from start to end (default: 200)")
    g.add_argument("--method", default=SUGGESTION, choices=METHODS,
                   help=f"how the rate is suggested (default: {SUGGESTION}, the rate at the "
                        f"smoothed loss's minimum / 10)")


# Retrainings `train --fix` makes at most, unless --max-rounds says.
MAX_ROUNDS = 3


def add_fix_options(p: argparse.ArgumentParser) -> None:
    """--fix and --max-rounds: diagnose, apply the notes' remedy, retrain."""
    g = p.add_argument_group("the doctor")
    g.add_argument("--fix", action="store_true",
                   help="after training, apply the notes' remedy for the top root cause the "
                        "diagnosis names and train again, until healthy, no better, or "
                        "--max-rounds")
    g.add_argument("--max-rounds", type=_rounds, default=None, metavar="N",
                   help=f"the most retrainings with --fix (default: {MAX_ROUNDS})")


def _rounds(text: str) -> int:
    """argparse type for --max-rounds: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def cmd_lr_find(args) -> int:
    """`babysit lr-find`: the range test on the configured network and training split; the plot
    and the curve go into the run folder. Exit 0 (a loss that never fell says so, with no
    suggestion)."""
    runner = Runner()
    cfg = run_config(args)
    data = runner.data(cfg)
    cfg = fit_to_data(cfg, data, chosen_settings(args))
    out = run_folder(args, "lr-find", cfg)
    say(f"babysit lr-find: {data.name}, {len(data.train.y)} train, model "
        f"{layer_widths(cfg, data)}, {cfg.optimizer}, batches of {cfg.batch_size}")
    found = runner.range_test(cfg, start=args.start, end=args.end, iterations=args.iterations,
                              method=args.method)
    plot = found.plot(out / "lr_range.png")
    (out / "lr_range.json").write_text(json.dumps(found.to_dict()) + "\n")
    say(str(found))
    command = None
    if found.suggestion is not None:
        command = train_command(cfg.replace(lr=float(f"{found.suggestion:.2g}")))
        say(f"to train at it: {command}")
    say(f"plot: {plot}")
    if args.json:
        print(json.dumps({"suggestion": found.suggestion, "method": found.method,
                          "steepest": found.steepest, "at_minimum": found.at_minimum,
                          "stopped": found.stopped, "note": found.note, "command": command,
                          "plot": str(plot), "run_dir": str(out)}))
    return 0


def train_fix(args, cfg: RunConfig) -> int:
    """`train --fix`: train cfg, then treat it (babysit.doctor.treat); each round's run is kept
    in RUN/round-<n>/, the kept one's history, best checkpoint, report and final config.json
    in RUN/, its report with the treatment as a section. Exit 3 when the kept run diverged or
    exploded."""
    if args.ensemble != 1:
        raise ValueError("--fix treats one model: it cannot be combined with --ensemble")
    max_rounds = MAX_ROUNDS if args.max_rounds is None else args.max_rounds
    runner = Runner()
    data = runner.data(cfg)
    if data.task == "regress":
        raise ValueError(f"--fix compares validation accuracy, which the regressed target of "
                         f"{data.name} has none of: train it without --fix")
    cfg = fit_to_data(cfg, data, chosen_settings(args))
    out = runner.out = run_folder(args, "train", cfg)
    say(f"babysit train --fix: {data.name}, {len(data.train.y)} train / {len(data.val.y)} val, "
        f"model {layer_widths(cfg, data)}, at most {max_rounds} rounds")
    start = time.perf_counter()
    first = runner.train(cfg)
    say_findings(first.history.diagnose(), say, "diagnosis of the run")
    treatment, kept = treat(cfg, max_rounds=max_rounds, train=runner.train,
                            suggest_lr=runner.suggest_lr, first=first, say=say)
    seconds = time.perf_counter() - start
    say(f"\n{treatment}")
    treatment.final.save(out / "config.json")
    (out / "treatment.json").write_text(json.dumps(treatment.to_dict(), indent=1) + "\n")
    kept_folder = out / f"round-{treatment.best}"
    if (kept_folder / "best.safetensors").is_file():
        shutil.copyfile(kept_folder / "best.safetensors", out / "best.safetensors")
    images = {}
    if runner.ranges:
        plot = runner.ranges[-1][1].plot(out / "lr_range.png")
        images["The last learning-rate range test of the treatment"] = plot.read_bytes()
    history = kept.history
    history.meta["treatment"] = treatment.to_dict()
    outcome = finish(history, out, say, report=not args.no_report, preprocess=data.preprocess,
                     image_shape=data.raw_image_shape, title="diagnosis of the kept run",
                     sections=[Section("Treatment", treatment.to_html(images), "treatment")])
    # Only now, with the treatment over, is the test split scored, for the kept model alone.
    test = kept.run.accuracy(*data.test) if kept.val_acc is not None else None
    say(f"kept round {treatment.best}: val accuracy {_acc(kept.val_acc)}, test accuracy "
        f"{_acc(test)} ({seconds:.1f} s, run folder {out})")
    if args.json:
        print(json.dumps({"data": data.name, "rounds": len(treatment.rounds),
                          "kept_round": treatment.best, "val_accuracy": kept.val_acc,
                          "test_accuracy": test, "seconds": round(seconds, 3),
                          "command": treatment.command(), "run_dir": str(out),
                          **outcome.to_json(), "treatment": treatment.to_dict()}))
    return outcome.status if kept.val_acc is not None else EXIT_DIVERGED


def _acc(value) -> str:
    return "diverged" if value is None else f"{value:.4f}"


__all__ = ["add_fix_options", "add_lr_find_options", "cmd_lr_find", "train_fix"]
