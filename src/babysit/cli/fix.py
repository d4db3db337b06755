"""`babysit train --fix`: train, diagnose, apply the notes' remedy for the top root cause,
train again (`babysit.doctor.treat`), each round a `Run` of the doctor's `Runner`."""

from __future__ import annotations

import argparse
import json
import shutil
import time

from babysit import report
from babysit.cli.console import say
from babysit.cli.options import chosen_settings, run_config
from babysit.doctor import Runner, treat
from babysit.report.page import Drawn, Section, figures_html
from babysit.report.plots import plot_lr_range
from babysit.runs.builders import fit_to_data, layer_widths
from babysit.runs.finish import EXIT_DIVERGED, say_findings
from babysit.runs.folder import new_folder
from babysit.training.history import History

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


def train_fix(args) -> tuple[int, dict]:
    """`train --fix`: train the run the options describe, then treat it; each round's run is
    kept in RUN/round-<n>/, the kept one's history, best checkpoint, report and final
    config.json in RUN/, its report with the treatment as a section. Exit 3 when the kept run
    diverged or exploded."""
    cfg = run_config(args)
    max_rounds = MAX_ROUNDS if args.max_rounds is None else args.max_rounds
    runner = Runner()
    data = runner.data(cfg)
    if data.task == "regress":
        raise ValueError(f"--fix compares validation accuracy, which the regressed target of "
                         f"{data.name} has none of: train it without --fix")
    cfg = fit_to_data(cfg, data, chosen_settings(args))
    out = runner.out = new_folder(args.out, "train", cfg)
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
    body = treatment.to_html()
    if runner.ranges:  # the curve in the folder once, drawn on the page from it
        found = runner.ranges[-1][1].to_dict()
        (out / "lr_range.json").write_text(json.dumps(found) + "\n")
        body += figures_html([Drawn(
            "lr_range", "The last learning-rate range test of the treatment",
            "The loss as the learning rate grows, batch by batch (faint) and smoothed; the "
            "suggested rate is marked in red (lr_range.json holds the curve).", False,
            plot_lr_range(found))])
    history = kept.history
    # Only now, with the treatment over, is the test split scored, for the kept model alone.
    test = kept.run.trainer.accuracy(*data.test) if kept.val_acc is not None else None
    history.meta.update(treatment=treatment.to_dict(), test_accuracy=test, seconds=seconds)
    outcome = kept.run.conclude(say, out=out, report=not args.no_report,
                                title="diagnosis of the kept run",
                                sections=[Section("Treatment", body, "treatment")])
    if not args.no_report:  # every round's own report, round 0 (the run as configured) too
        for folder in sorted(out.glob("round-*")):
            if (folder / "history.json").is_file():
                report.write(History.load(folder / "history.json"), folder,
                             preprocess=data.preprocess, image_shape=data.raw_image_shape)
    say(f"kept round {treatment.best}: val accuracy {_acc(kept.val_acc)}, test accuracy "
        f"{_acc(test)} ({seconds:.1f} s, run folder {out})")
    summary = {"data": data.name, "rounds": len(treatment.rounds), "kept_round": treatment.best,
               "val_accuracy": kept.val_acc, "test_accuracy": test,
               "seconds": round(seconds, 3), "command": treatment.command(),
               "run_dir": str(out), **outcome.to_json(), "treatment": treatment.to_dict()}
    return outcome.status if kept.val_acc is not None else EXIT_DIVERGED, summary


def _acc(value) -> str:
    return "diverged" if value is None else f"{value:.4f}"


__all__ = ["add_fix_options", "train_fix"]
