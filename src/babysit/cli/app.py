"""The `babysit` command: `demo`, `train`, and the other steps of the recipe.

Every command takes `--data NAME|PATH` and writes into a run folder (`--out DIR`,
by default a new folder under `runs/`); `--json` prints a machine-readable
summary as the last line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from babysit import check
from babysit.cli import ensemble as cli_ensemble
from babysit.cli import fix as cli_doctor
from babysit.cli import resume as cli_resume
from babysit.cli.console import OneLineParser, run_reporting_errors, say, stdout_reader_may_leave
from babysit.cli.run_folder import CONFIG_NAME, chosen_settings, run_config, run_folder
from babysit.data import datasets
from babysit.nn import losses
from babysit.runs import finish, run_lock
from babysit.runs.builders import (
    build_model,
    build_optimizer,
    build_regularizer,
    build_trainer,
    checkpoint_meta,
    fit_to_data,
    layer_widths,
    load_data,
    table_epochs_note,
)
from babysit.runs.config import RunConfig, config_fields
from babysit.training.checkpoint import Checkpoints
from babysit.validation import make_folder, positive_int

# -- options: the run configuration's fields, then each command's own ---------------------


def add_config_options(p: argparse.ArgumentParser) -> None:
    """One option per RunConfig field (--hidden, --lr, --reg-kind, ...), generated from the
    fields' help, parser and choices, in groups data/model/training, plus --config RUN/config.json.

    The options have no argparse defaults (SUPPRESS): the namespace holds only what was given,
    so that `run_config` lays the flags over --config's file, then over RunConfig's defaults.
    Each value is checked as it is read (RunConfig's own check), so bad input stops at once.
    """
    p.add_argument("--config", type=Path, metavar="RUN/config.json", default=argparse.SUPPRESS,
                   help="repeat a run: its config.json's settings, under the flags given here")
    groups = {}
    for name, f in config_fields().items():
        group = f.metadata["group"]
        if group not in groups:
            groups[group] = p if group == "data" else p.add_argument_group(group)
        flag, meta = f"--{name.replace('_', '-')}", f.metadata
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


def add_ensemble_options(p: argparse.ArgumentParser) -> None:
    """--ensemble K: train K seeds of one configuration and average them."""
    p.add_argument("--ensemble", type=_count, default=1, metavar="K",
                   help="train K models from seeds seed..seed+K-1 and average their "
                        "probabilities (default: 1, a single model)")


def add_output_options(p: argparse.ArgumentParser) -> None:
    """--out (the run folder) and --json (a summary as stdout's last line)."""
    p.add_argument("--out", type=Path, help="run folder (default: a new folder under runs/)")
    p.add_argument("--json", action="store_true", help="print a JSON summary as the last line")


def add_report_flag(p: argparse.ArgumentParser) -> None:
    """--no-report: print the diagnosis but write no report.html."""
    p.add_argument("--no-report", action="store_true",
                   help="print the diagnosis but write no report.html into the run folder")


def add_check_options(p: argparse.ArgumentParser) -> None:
    """The gradient check's options: examples, coordinates per parameter, step, burn-in."""
    g = p.add_argument_group("gradient check")
    g.add_argument("--examples", type=_count, default=4,
                   help="training examples the check runs on (default: 4; the notes advise few)")
    g.add_argument("--per-param", type=_count, default=10,
                   help="coordinates checked in each parameter (default: 10)")
    g.add_argument("--step", type=float, default=1e-5, help="finite-difference step h")
    g.add_argument("--burn-in", type=int, default=0,
                   help="training iterations (--optimizer, --lr) before the check")


def _count(text: str) -> int:
    """argparse type for the check's counts (--examples, --per-param): a positive integer."""
    try:
        return positive_int(int(text), "the value")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None


# -- commands -----------------------------------------------------------------------------


def cmd_train(args) -> int:
    """Train one model (or --ensemble K), save its checkpoints and history, print the diagnosis,
    write the report, report accuracies. Exit 3 when the run diverged or exploded. --resume
    RUN continues the run in folder RUN instead (`babysit.cli.resume`; an ensemble's folder:
    `babysit.cli.ensemble`)."""
    if args.resume is not None and cli_ensemble.is_ensemble(args.resume):
        return cli_ensemble.resume_ensemble(args, given_options(args))
    if args.resume is not None:
        cfg, data, trainer, out = cli_resume.resume(args, given_options(args))
    else:
        cfg = run_config(args)
        if args.fix:  # the doctor treats the run: babysit.cli.fix
            return cli_doctor.train_fix(args, cfg)
        if args.max_rounds is not None:
            raise ValueError(f"--max-rounds {args.max_rounds} counts the retrainings of --fix; "
                             f"add --fix, or leave --max-rounds out")
        if args.ensemble != 1:
            return cli_ensemble.train_ensemble(args, cfg)
        data = load_data(cfg)
        cfg = fit_to_data(cfg, data, chosen_settings(args))
        net = build_model(cfg, data.n_features, data.n_outputs)
        out = run_folder(args, "train", cfg)
        trainer = build_trainer(cfg, net, data=data, callbacks=[
            Checkpoints(out, preprocess=data.preprocess, meta=checkpoint_meta(cfg, data))])
    say(f"babysit train: {data.name}, {len(data.train.y)} train / {len(data.val.y)} val / "
        f"{len(data.test.y)} test, model {layer_widths(cfg, data)}, {data.notes[0]}")
    say_notes(data, cfg, chosen_settings(args) if args.resume is None else config_fields())
    if args.resume is not None:
        say(f"  resuming {out} after epoch {trainer.epoch}, to epoch {trainer.epochs}")
    start = time.perf_counter()
    error = finish.fit(trainer, data.train.X, data.train.y, val=data.val, out=out,
                       resume_hint=cli_resume.resume_command(out))
    summary, outcome = finish.end_run(trainer, data, time.perf_counter() - start, out, error,
                                      say, report=not args.no_report)
    if "best_refused" in trainer.history.meta:
        say(f"warning: {trainer.history.meta['best_refused']}")
    finish.report_summary(summary, outcome, out, "train", say, args.json)
    return outcome.status


def given_options(args) -> list[str]:
    """The options of `babysit train` given on the command line (their dest names): those
    whose value is not the parser's default (the RunConfig fields have none: present only
    when given)."""
    defaults = vars(parser().parse_args(["train"]))
    return [name for name, value in vars(args).items()
            if name not in defaults or defaults[name] != value]


def say_notes(data: datasets.Dataset, cfg: RunConfig, chosen=()) -> None:
    """Print what loading decided (a table's task, encodings, imputation) under line one,
    the epochs a table's update rule chose (when not in `chosen`, the settings the user gave)
    and a batch size beyond the training rows (each epoch is then one full batch)."""
    for note in data.notes[1:]:
        say(f"  {note}")
    epochs = table_epochs_note(cfg, data, chosen)
    if epochs:
        say(f"  {epochs}")
    if cfg.batch_size > len(data.train.y):
        say(f"  batch size {cfg.batch_size} is more than the {len(data.train.y)} training "
            f"examples: each epoch is one full batch of {len(data.train.y)}")


def cmd_demo(args) -> int:
    """The whole recipe: preprocessing fitted on the training split (--preprocess), the
    sanity checks, the gradient check, training with monitors, the diagnosis, the report
    and the test accuracy. Exit 0 when training finished, 3 when it diverged or exploded."""
    cfg = run_config(args)
    data = load_data(cfg)
    if data.task == "regress":
        raise ValueError("babysit demo runs the classification recipe (its sanity checks "
                         "start from the chance loss); train a regression with babysit train")
    cfg = fit_to_data(cfg, data, chosen_settings(args))
    net = build_model(cfg, data.n_features, data.n_classes)
    loss, reg = losses.get(cfg.loss), build_regularizer(cfg)
    out = run_folder(args, "demo", cfg)
    say(f"babysit demo: {data.name}, {len(data.train.y)} train / {len(data.val.y)} val / "
        f"{len(data.test.y)} test, {data.notes[0]}, fitted on the training split, model "
        f"{layer_widths(cfg, data)}")
    say_notes(data, cfg, chosen_settings(args))
    sanity = check.sanity(net, loss, data.train.X, data.train.y, reg=reg, seed=cfg.seed)
    say(f"\n{sanity}")
    grads = check.gradients(net, loss, data.train.X[:4], data.train.y[:4], reg=reg,
                            seed=cfg.seed)
    (out / "gradient_check.txt").write_text(f"{grads}\n")
    say(f"\ngradient check ({grads.n_examples} examples, float64 copy; the full table "
        f"is in {out / 'gradient_check.txt'}):")
    for v in grads.verdicts:
        worst = f"{v.worst:.1e}" if v.worst is not None else "-"
        say(f"  {v.param:<8} {v.section:<15} worst relative error {worst:<8} {v.verdict}")
    say("  every parameter passes" if grads.ok else
        f"  WRONG gradient: {', '.join(grads.wrong)}")

    trainer = build_trainer(cfg, net, data=data)
    trainer.history.meta.update(sanity={**sanity.to_dict(), "text": str(sanity)},
                                gradient_check={**grads.summary(), "text": str(grads)})
    say(f"\ntraining for {cfg.epochs} epochs with monitors on")
    start = time.perf_counter()
    error = finish.fit(trainer, data.train.X, data.train.y, val=data.val, out=out)
    summary, outcome = finish.end_run(trainer, data, time.perf_counter() - start, out, error,
                                      say)
    summary.update(sanity_ok=sanity.ok, gradients_ok=grads.ok)
    finish.report_summary(summary, outcome, out, "demo", say, args.json)
    return outcome.status


def add_report_options(p: argparse.ArgumentParser) -> None:
    """RUN_DIR, the run folder whose report is drawn again, and --json."""
    p.add_argument("run_dir", type=Path, help="a run folder holding history.json "
                   "(written by babysit train or demo)")
    p.add_argument("--json", action="store_true", help="print a JSON summary as the last line")


def cmd_report(args) -> int:
    """Re-render report.html and the plots of a saved run from its history.json."""
    from babysit import report
    from babysit.training.history import History

    path = args.run_dir / "history.json"
    if not path.is_file():
        raise ValueError(f"RUN_DIR {str(args.run_dir)!r} holds no history.json: give a run "
                         f"folder written by babysit train or babysit demo")
    history = History.load(path)
    findings = history.diagnose()
    finish.say_findings(findings, say)
    page = report.write(history, args.run_dir)
    say(f"report: {page}")
    if args.json:
        print(json.dumps({"report": str(page), "run_dir": str(args.run_dir),
                          "findings": [finish.finding_json(f) for f in findings]}))
    return 0


def cmd_check(args) -> int:
    """Gradient-check the model the options describe: exit 0 when every parameter passes."""
    cfg = run_config(args)
    data = load_data(cfg)
    cfg = fit_to_data(cfg, data, chosen_settings(args))
    net = build_model(cfg, data.n_features, data.n_outputs)
    out = run_folder(args, "check", cfg, lock=False)  # a new folder of its own: no lock
    report = check.gradients(net, losses.get(cfg.loss), data.train.X[:args.examples],
                             data.train.y[:args.examples], reg=build_regularizer(cfg),
                             per_param=args.per_param, h=args.step, seed=cfg.seed,
                             burn_in=args.burn_in, opt=build_optimizer(cfg))
    text = str(report)
    (out / "gradient_check.txt").write_text(text + "\n")
    say(text)
    if args.json:
        print(json.dumps({**report.summary(), "run_dir": str(out)}))
    return 0 if report.ok else 1


def add_search_options(p: argparse.ArgumentParser) -> None:
    """Trials, stages, the space (--param), sampler, folds, workers and the shared storage."""
    g = p.add_argument_group("search")
    g.add_argument("--trials", type=int, default=None,
                   help="trials in all (default: 30); finished trials already in the study "
                        "count, so running the same command again resumes a search")
    g.add_argument("--stages", help="trials:epochs for each coarse-to-fine stage, e.g. 20:6,10:30 "
                   "(default: two thirds of the trials at a fifth of --epochs over the full "
                   "ranges, then a third at --epochs in ranges narrowed around the best)")
    g.add_argument("--param", action="append", metavar="NAME=RANGE",
                   help="a hyperparameter to search, repeatable: lr=loguniform(1e-5,1e-1), "
                        "dropout=uniform(0,0.5), batch_size=intuniform(16,256), "
                        "hidden=choice(50 | 100,100) (default: lr, reg, hidden, dropout)")
    g.add_argument("--sampler", default="random", choices=["random", "tpe"])
    g.add_argument("--folds", type=int, default=1,
                   help="1: one validation split (default); k: k-fold cross-validation")
    g.add_argument("--workers", type=int, default=1, help="processes sharing the study")
    g.add_argument("--storage", help="an Optuna storage URL that workers on many machines share, "
                   "e.g. postgresql://user:password@host/db (default: a journal file in the "
                   "run folder)")
    g.add_argument("--study", default="babysit", help="the study's name in the storage")
    g.add_argument("--top-k", type=int, default=5,
                   help="the best configurations retrained as an ensemble (default: 5)")


def cmd_search(args) -> int:
    """Search hyperparameters; the run folder defaults to runs/search-<data>-<study>, so the
    same command resumes the same search."""
    from babysit import search

    cfg = run_config(args)
    data = load_data(cfg)
    cfg = fit_to_data(cfg, data, chosen_settings(args))
    space = dict(search.parse_param(text) for text in args.param) if args.param else None
    out = args.out if args.out is not None else search.default_out(data.name, args.study)
    if args.storage and search.password_warning(args.storage):
        say(f"warning: {search.password_warning(args.storage)}")
    run_lock.hold(make_folder(out, "--out"))  # to the command's end: its config files too
    result = search.run(space, data, args.trials, base=cfg,
                        stages=search.parse_stages(args.stages) if args.stages else None,
                        workers=args.workers, storage=args.storage,
                        study=args.study, out=out, sampler=args.sampler, folds=args.folds,
                        seed=cfg.seed or 0, top_k=args.top_k, say=say,
                        report=not args.no_report)
    cfg.save(result.out / CONFIG_NAME)  # the settings every trial shared
    if result.retrained:  # `babysit train --config RUN/best_config.json` trains the best again
        best = RunConfig.from_dict({**cfg.to_dict(), **result.retrained["config"]})
        best.save(result.out / "best_config.json")
    if args.json:
        print(json.dumps(result.summary(), default=str))
    return 0 if result.best else finish.EXIT_DIVERGED  # no trial gave a score: all diverged


def add_predict_options(p: argparse.ArgumentParser) -> None:
    """MODEL, --data (the new rows), --out (a CSV of predictions) and --json."""
    p.add_argument("model", type=Path, help="a checkpoint (.safetensors) or a run folder")
    p.add_argument("--data", type=Path, required=True, help="a .csv (or .tsv) of new rows")
    p.add_argument("--out", type=Path, help="write the predictions here as a .csv (a new "
                   "file, unless --force)")
    p.add_argument("--force", action="store_true",
                   help="let --out replace a file that exists")
    p.add_argument("--json", action="store_true", help="print the predictions as JSON last")


def cmd_predict(args) -> int:
    """Predict each row of --data with a model trained on a table."""
    from babysit.runs.predict import predict_table

    if args.out is not None:
        check_predictions_file(args.out, args.data, args.force)
    notes = []                                              # a separator other than ','
    with warnings.catch_warnings(record=True) as caught:    # ignored columns, unseen categories
        warnings.simplefilter("always")
        result = predict_table(args.model, args.data, notes=notes)
    for note in notes:
        say(f"babysit predict: {note}")
    for warning in caught:
        print(f"babysit predict: warning: {warning.message}", file=sys.stderr)
    written = result.write_csv(args.out) if args.out is not None else None  # before printing
    shown = result.rows()
    say("\n".join(",".join(row) for row in [result.columns, *shown[:10]]))
    if len(shown) > 10:
        say(f"... {len(shown) - 10} more rows" + ("" if args.out else "; --out FILE keeps all"))
    if written is not None:
        say(f"predictions for {len(shown)} rows written to {written}")
    if args.json:
        print(json.dumps({**result.to_dict(), "out": str(args.out) if args.out else None}))
    return 0


def check_predictions_file(out: Path, data: Path, force: bool = False) -> None:
    """Refuse an --out for predictions that is a folder, that lies under a file, that is the
    --data file itself (the new rows would be overwritten by their predictions), or, unless
    `force`, that exists (a typo naming the training CSV would destroy it); create its
    folder."""
    if out.is_dir():
        raise ValueError(f"--out {out} is a folder; expected a file name for the predictions, "
                         f"such as {out / 'predictions.csv'}")
    if out.exists() and data.exists() and out.samefile(data):
        raise ValueError(f"--out {out} is the --data file: the predictions would overwrite the "
                         f"rows they were made from; give another file name")
    if out.exists() and not force:
        raise ValueError(f"--out {out} exists: add --force to replace it, or give a new file "
                         f"name")
    make_folder(out.parent, "--out")


COMMANDS = {
    "demo": ("run the whole recipe on the embedded digits data", cmd_demo,
             [add_config_options, add_output_options]),
    "report": ("re-render report.html and the plots of a run folder from its history.json",
               cmd_report, [add_report_options]),
    "train": ("train a model, print its diagnosis, write its report and its train/val/test "
              "accuracy (exit 3 when it diverged or exploded); --fix treats it, --resume RUN "
              "continues a run that stopped", cmd_train,
              [cli_resume.add_resume_option, add_config_options, add_ensemble_options,
               cli_doctor.add_fix_options, add_output_options, add_report_flag]),
    "lr-find": ("the learning-rate range test: the loss as the rate grows, a suggested rate",
                cli_doctor.cmd_lr_find, [add_config_options, cli_doctor.add_lr_find_options,
                                         add_output_options]),
    "search": ("search hyperparameters: random or TPE, coarse to fine, in parallel, resumable",
               cmd_search, [add_config_options, add_search_options, add_output_options,
                            add_report_flag]),
    "check": ("check the model's gradients against numerical ones (exit 1 if any is wrong)",
              cmd_check, [add_config_options, add_check_options, add_output_options]),
    "predict": ("predict new rows of a table with a trained model: class names and "
                "probabilities, or values", cmd_predict, [add_predict_options]),
}


def parser() -> argparse.ArgumentParser:
    """The `babysit` parser: one subcommand per entry of COMMANDS, with its option groups.
    `--debug` (before or after the command) shows the traceback of an error."""
    p = OneLineParser(prog="babysit", description=__doc__.splitlines()[0])
    p.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = p.add_subparsers(dest="command", required=True)
    for name, (help_text, _, option_groups) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        sp.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the traceback of an error")
        for add in option_groups:
            add(sp)
    return p


def main(argv=None) -> int:
    """Run one command and return its exit status: 0 done, 1 a check failed (`check`), 2 bad
    input or any other error (one line; --debug shows the traceback), 3 the run diverged or
    exploded (`console.run_reporting_errors`)."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as exit_:  # argparse printed its refusal (status 2) or --help (0)
        return exit_.code
    _, run, _ = COMMANDS[args.command]
    # np.errstate: unlike np.seterr, nothing lingers; a reader of stdout that leaves early
    # (`| head`) does not end the run before it has written its files
    # run_lock.command_scope: the run folders the command locked are free again when it ends
    # finish.stop_signals_interrupt: SIGTERM and SIGHUP stop a run as Ctrl-C does
    with np.errstate(over="ignore", under="ignore"), stdout_reader_may_leave(), \
            run_lock.command_scope(), finish.stop_signals_interrupt():
        return run_reporting_errors(f"babysit {args.command}", lambda: run(args), args.debug,
                                    diverged_status=finish.EXIT_DIVERGED)


if __name__ == "__main__":
    sys.exit(main())
