"""`babysit search`: hyperparameters searched (random or TPE, coarse to fine, in parallel,
resumable), the best retrained and the top k as an ensemble (`babysit.search.run`)."""

from __future__ import annotations

import argparse

from babysit.cli import options
from babysit.cli.console import say
from babysit.runs import run_lock
from babysit.runs.config import RunConfig
from babysit.runs.finish import EXIT_DIVERGED
from babysit.runs.folder import CONFIG_NAME, refuse_used
from babysit.runs.run import fitted
from babysit.validation import make_folder


def add_options(p: argparse.ArgumentParser) -> None:
    """The settings; trials, stages, the space (--param), sampler, folds, workers and the
    shared storage; --out, --json, --no-report."""
    options.add_config_options(p)
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
    options.add_output_options(p)
    options.add_report_flag(p)


def _space(search, args) -> dict:
    """The --param settings by name: a name given twice, or a setting given both as its flag
    and as a --param, is refused (one of them was silently dropped)."""
    params = [search.parse_param(text) for text in args.param]
    names = [name for name, _ in params]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"--param names {', '.join(twice)} more than once: give each once")
    both = sorted(set(names) & set(vars(args)))
    if both:
        flags = ", ".join(options.flag_of(k) for k in both)
        raise ValueError(f"{flags} given both as a flag and as a --param: search it, or fix it, "
                         f"not both")
    return dict(params)


def cmd_search(args) -> tuple[int, dict]:
    """Search hyperparameters; the run folder defaults to runs/search-<data>-<study>, so the
    same command resumes the same search."""
    from babysit import search

    # before the data are read and the folder is made (a refusal leaves nothing behind)
    search.check_options(workers=args.workers, folds=args.folds, top_k=args.top_k,
                         sampler=args.sampler, storage=args.storage, study=args.study)
    cfg, data = fitted(options.run_config(args), options.chosen_settings(args))
    if cfg.seed is None:
        raise ValueError("a search needs a fixed --seed (its sampler's, and the one the same "
                         "command resumes with), got none")
    space = _space(search, args) if args.param else None
    if space is None:   # the default space, less the settings given as flags: those stay put
        given = sorted(set(search.default_space()) & set(vars(args)))
        flags = ", ".join(options.flag_of(k) for k in given)
        if given:
            space = {k: v for k, v in search.default_space().items() if k not in given}
            if not space:
                raise ValueError(f"{flags} fix every setting the search varies by default: "
                                 f"name what to search with --param")
            say(f"babysit search: {flags} as given, not searched; searching "
                f"{', '.join(space)}")
    stages = search.parse_stages(args.stages) if args.stages else None
    search.check_plan(space, data, args.trials, stages, args.folds)   # before the folder too
    out = args.out if args.out is not None else search.default_out(data.name, args.study)
    if args.storage and search.password_warning(args.storage):
        say(f"warning: {search.password_warning(args.storage)}")
    refuse_foreign_out(out)  # before the lock and the journal are made in it
    run_lock.hold(make_folder(out, "--out"))  # to the command's end: its config files too
    refuse_foreign_out(out)  # a run that took the folder, and ended, before this one locked it
    result = search.run(space, data, args.trials, base=cfg,
                        stages=stages,
                        workers=args.workers, storage=args.storage,
                        study=args.study, out=out, sampler=args.sampler, folds=args.folds,
                        seed=cfg.seed, top_k=args.top_k, say=say,
                        report=not args.no_report)
    cfg.save(result.out / CONFIG_NAME)  # the settings every trial shared
    if result.retrained:  # `babysit train --config RUN/best_config.json` trains the best again
        best = RunConfig.from_dict({**cfg.to_dict(), **result.retrained["config"]})
        best.save(result.out / "best_config.json")
    # no trial gave a score: all diverged
    return 0 if result.best else EXIT_DIVERGED, result.summary()


# The files of a search's own folder: a folder holding one is a search, which running the
# same command again resumes.
SEARCH_FILES = ("study.journal", "search.json")


def refuse_foreign_out(out) -> None:
    """Refuse --out `out` when it holds files (another run's history, checkpoints and report,
    which the search's retrained best would overwrite), unless it is a search's own folder
    (SEARCH_FILES); the refusal is the one `babysit train` gives (`babysit.runs.folder`)."""
    if not any((out / name).is_file() for name in SEARCH_FILES):
        refuse_used(out)


__all__ = ["SEARCH_FILES", "add_options", "cmd_search", "refuse_foreign_out"]
