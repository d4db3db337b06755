"""`babysit train --fix`: train, diagnose, apply the notes' remedy for the top root cause,
train again (`babysit.doctor.treat`), each round a `Run` of the doctor's `Runner`."""

from __future__ import annotations

import argparse
import json
import shutil
import time

from babysit import report
from babysit.backend import to_numpy
from babysit.cli.console import say
from babysit.cli.options import chosen_settings, run_config
from babysit.doctor import Runner, treat
from babysit.runs.builders import layer_widths
from babysit.runs.config import RunConfig
from babysit.runs.finish import EXIT_DIVERGED, say_findings
from babysit.runs.folder import new_folder
from babysit.runs.run import fitted
from babysit.training.history import History
from babysit.training.metrics import regression_metrics, scores_in_words

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
    cfg, _ = fitted(cfg, chosen_settings(args), data)
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
    if runner.ranges:  # the curve in the folder: the report's Treatment section draws it
        (out / "lr_range.json").write_text(json.dumps(runner.ranges[-1][1].to_dict()) + "\n")
    history = kept.history
    # Only now, with the treatment over, is the test split scored, for the kept model alone,
    # on its own data: a remedy that changed the preprocessing (unscaled inputs) trained on
    # rows prepared otherwise than the first run's
    test = _test_scores(kept, kept.run.data) if kept.score is not None else {}
    history.meta.update(treatment=treatment.to_dict(), test_accuracy=test.get("accuracy"),
                        seconds=seconds)
    if data.task == "regress" and test:     # the report's test RMSE, MAE and R^2
        history.meta.setdefault("regression", {}).update(
            {f"test_{k}": v for k, v in test.items()})
    # the report's Treatment section is read from treatment.json and lr_range.json, so that
    # `babysit report` on this folder draws the same page again (`babysit.report.folder`)
    outcome = kept.run.conclude(say, out=out, report=not args.no_report,
                                title="diagnosis of the kept run")
    if not args.no_report:  # every round's own report, round 0 (the run as configured) too
        for folder in sorted(out.glob("round-*")):
            if (folder / "history.json").is_file():
                prepared = runner.data(RunConfig.load(folder / "config.json"))
                report.write(History.load(folder / "history.json"), folder,
                             preprocess=prepared.preprocess,
                             image_shape=prepared.raw_image_shape)
    say(f"kept round {treatment.best}: {kept.metric} {_acc(kept.value)}, "
        f"{f'test {scores_in_words(test)}' if test else 'no test score'} ({seconds:.1f} s, "
        f"run folder {out})")
    summary = {"data": data.name, "task": data.task, "rounds": len(treatment.rounds),
               "kept_round": treatment.best, "val_accuracy": kept.val_acc,
               "val_loss": kept.val_loss, "test_accuracy": None,
               **{f"test_{k}": v for k, v in test.items()},
               "seconds": round(seconds, 3), "command": treatment.command(),
               "run_dir": str(out), **outcome.to_json(), "treatment": treatment.to_dict()}
    return outcome.status if kept.score is not None else EXIT_DIVERGED, summary


def _test_scores(kept, data) -> dict:
    """The kept run's scores on the test rows: {"accuracy": a}, or a regression's
    `regression_metrics` in the target's units; {} without test rows."""
    if not len(data.test.y):
        return {}
    trainer = kept.run.trainer
    if data.task != "regress":
        return {"accuracy": trainer.accuracy(*data.test)}
    restore = data.target.inverse_transform
    return regression_metrics(restore(data.test.y),
                              restore(to_numpy(trainer.scores(data.test.X))))


def _acc(value) -> str:
    return "diverged" if value is None else f"{value:.4f}"


__all__ = ["add_fix_options", "train_fix"]
