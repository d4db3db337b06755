"""`run`: a whole search, from the space to the retrained best and the top-k ensemble."""

from __future__ import annotations

import json
import multiprocessing
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from babysit.data import datasets
from babysit.runs import run_lock
from babysit.runs.builders import fit_to_data
from babysit.runs.config import RunConfig
from babysit.runs.finish import Stopped, reworded, stop_received
from babysit.search.database import DatabaseLostError, masked
from babysit.search.results import (
    SearchResult,
    border_warnings,
    collect,
    format_table,
    plot,
    ranked,
    save_table,
    train_command,
)
from babysit.search.retrain import claim_retrain, mark_retrained, retrain
from babysit.search.space import (
    Choice,
    Dimension,
    Stage,
    Uniform,
    base_config,
    default_space,
    default_stages,
    searchable_fields,
)
from babysit.search.studies import (
    FINISHED,
    Job,
    create_studies,
    open_storage,
    refuse_memory_database,
    study_name,
    trial_states,
)
from babysit.search.trial import load_data
from babysit.search.workers import EXIT_DATABASE_LOST, run_workers, work
from babysit.training.history import History
from babysit.validation import make_folder

__all__ = ["check_options", "check_plan", "default_out", "run"]

# Trials in all when neither `trials` nor `stages` is given.
DEFAULT_TRIALS = 30
# The most worker processes one search starts on this machine (a search spread over machines
# shares its study's database instead): each is a process holding the data
MAX_WORKERS = 64
# Rows of the trial table printed (all of them go to trials.csv and trials.json).
TABLE_ROWS = 15


def default_out(data_name: str, study: str) -> Path:
    """The run folder of a search given no `out`: runs/search-<data>-<study>, the same for the
    same command, so that running it again resumes the search."""
    return Path("runs") / f"search-{data_name}-{study}"


def run(space: Mapping[str, Dimension] | None = None, data: str | datasets.Dataset = "digits",
        trials: int | None = None, *, stages: Sequence[Stage] | None = None,
        base: Mapping | None = None, workers: int = 1, storage: str | None = None,
        study: str = "babysit", out: str | Path | None = None, sampler: str = "random",
        folds: int = 1, seed: int = 0, top_k: int = 5, heartbeat: float = 10.0,
        say: Callable[[str], None] = print, report: bool = True) -> SearchResult:
    """Search `space` (name -> uniform/loguniform/intuniform/choice; default `default_space()`)
    for the configuration with the best validation score on `data` (a built-in name or a
    Dataset): the highest accuracy for classes, the lowest loss for a regression target
    (`babysit.search.objective`). Then retrain the best and the top-k ensemble.

    trials: trials in all (default DEFAULT_TRIALS), split into `default_stages` unless
    `stages` is given.
    base: the fixed settings, a RunConfig or a dict of RunConfig field names over
    `base_config()` (its data fields are ignored: `data` decides them), fitted to the data
    as `babysit search` fits them (a table's defaults for what `base` leaves out, the loss a
    regression needs: `babysit.runs.builders.fit_to_data`). workers: processes
    sharing the study. storage: an Optuna storage URL or a journal file path (default
    `out`/study.journal). out: the run folder (default runs/search-<data>-<study>, so running
    the same search again resumes it). sampler: "random" (seeded by `seed`) or "tpe". folds:
    1 for one validation split, k for k-fold cross-validation. heartbeat: seconds between the
    signs of life a running trial writes, so that other workers notice a dead one. report:
    write the retrained best's report.html into `out` (its diagnosis is printed either way).
    `out` is locked while the search runs (`babysit.runs.run_lock`): a second search writing the
    same folder at the same time is refused (FolderBusyError); workers elsewhere that share
    the study through `storage` each write a run folder of their own.
    """
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        # a spawned worker importing the caller's script (its main module) reached this
        # call: without the guard every worker would start a search of its own
        raise RuntimeError("search.run was called while a search worker imported the script "
                           "that calls it: call it under `if __name__ == \"__main__\":` "
                           "(with workers > 1 the workers are spawned processes, which import "
                           "the script)")
    if isinstance(data, str):
        data = load_data(data, seed)
    space = check_plan(space, data, trials, stages, folds)
    config = _fixed_settings(base, seed, data)
    if stages is None:
        stages = default_stages(DEFAULT_TRIALS if trials is None else trials, config["epochs"])
    check_options(workers=workers, folds=folds, top_k=top_k, sampler=sampler,
                  heartbeat=heartbeat, storage=storage, study=study)
    # a worker beyond the most trials a stage holds would wait for nothing (each one is a
    # process that loads the data before it can be stopped)
    workers = min(workers, max(s.trials for s in stages))
    out = Path(out) if out is not None else default_out(data.name, study)
    # one search at a time writes its folder (workers of one search are its own processes)
    with run_lock.locked(make_folder(out, "out")):
        job = Job(data, config, space, list(stages), str(storage or out / "study.journal"), study,
                  sampler, folds, seed, heartbeat)
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        store = open_storage(job.storage)
        create_studies(job, store)
        say(f"babysit search: {data.name}, {job.objective.label} "
            f"({job.objective.direction}d), "
            + ", then ".join(f"{s.trials} trials of {s.epochs or config['epochs']} epochs"
                             for s in stages)
            + f"; {workers} worker{'s' if workers > 1 else ''}, {sampler} sampling, "
            f"study {study!r} in {masked(job.storage)}")
        start = time.perf_counter()
        rows, spaces = _run_trials(job, store, workers)
        say(f"{len(rows)} trials finished in {time.perf_counter() - start:.1f} s; best first:")
        objective = job.objective
        say(format_table(rows, limit=TABLE_ROWS, objective=objective))
        save_table(rows, out)
        plot(rows, spaces, out / "search.png", objective)
        best = ranked(rows, objective)
        result = SearchResult(out, masked(job.storage), study, rows, best[0] if best else {},
                              spaces, border_warnings(rows, space, objective=objective),
                              objective=objective)
        for text in result.warnings:
            say(f"warning: {text}")
        if result.best:
            best_config = job.config(result.best["stage"] - 1,
                                     {k: result.best[k] for k in space if k in result.best})
            target = data.target.name_ if data.table is not None else None
            command = train_command(best_config, data.name, target,
                                    base if isinstance(base, RunConfig) else None)
            say(f"to train the best again: {command}")
            claim = claim_retrain(job, store, out)
            if claim.ours:
                result.retrained, result.ensemble, result.ensemble_model = retrain(
                    job, rows, out, top_k, say, report)
                mark_retrained(store, claim)
            else:  # a shared search retrains once: the first process to finish does
                say(f"the best configuration is retrained once per study: {claim.who}")
        else:  # nothing to retrain: say why rather than end on the table
            states = sorted({r["state"] for r in rows})
            say(f"no trial ended with a score ({len(rows)} {'/'.join(states)}; the findings are in "
                f"the table): nothing was retrained. Narrow the ranges (a lower learning rate "
                f"range when they diverged) and search again")
        (out / "search.json").write_text(json.dumps(
            {**result.summary(), "seconds": round(time.perf_counter() - start, 1)}, indent=1,
            default=str) + "\n")
        if report and result.retrained:  # drawn again: now with the test score and wall time
            from babysit import report as report_module

            report_module.write(History.load(out / "history.json"), out,
                                preprocess=data.preprocess, image_shape=data.raw_image_shape)
        return result


def check_plan(space: Mapping[str, Dimension] | None, data: datasets.Dataset,
               trials: int | None = None, stages=None, folds: int = 1) -> dict[str, Dimension]:
    """What `run` will search, checked before anything is written (the command line calls it
    before it makes the search's folder): the space (`_checked_space`, returned), trials
    against the stages when both are given, and the folds against `data`."""
    space = _checked_space(space)
    if stages is not None and trials is not None and trials != sum(s.trials for s in stages):
        raise ValueError(f"trials={trials} but the stages hold {sum(s.trials for s in stages)}; "
                         f"give one or the other")
    _check_folds(folds, data)
    return space


def _checked_space(space: Mapping[str, Dimension] | None) -> dict[str, Dimension]:
    """`space` (or `default_space()`), each name a searchable RunConfig field, each range one
    of this package's."""
    space = dict(default_space() if space is None else space)
    if not space:
        raise ValueError("space is empty: give at least one hyperparameter to search")
    known = searchable_fields()
    for name, dim in space.items():
        if name not in known:
            raise ValueError(f"space: unknown hyperparameter {name!r}; known: "
                             f"{', '.join(known)}")
        if not isinstance(dim, Uniform | Choice):
            raise ValueError(f"space[{name!r}] must be uniform/loguniform/intuniform/choice, "
                             f"got {dim!r}")
        if name == "epochs":  # each stage trains its trials for the stage's epochs
            raise ValueError("space: epochs is each stage's training budget (--epochs, "
                             "--stages TRIALS:EPOCHS), not a hyperparameter to search")
        if name == "seed":  # the trials share the data split that the search's seed made
            raise ValueError("space: seed also splits the data, which a search loads once with "
                             "its own --seed: a trial's seed would change only the initial "
                             "weights and the shuffles, and training it again with that seed "
                             "would split the data otherwise and score differently; compare "
                             "seeds with separate searches (--seed), or an ensemble")
        check = known[name].metadata["check"]
        for value in (dim.lo, dim.hi) if isinstance(dim, Uniform) else dim.values:
            try:
                check(value, name)
            except ValueError as err:  # every trial drawing there would fail
                raise ValueError(f"space[{name!r}] = {dim!r} reaches a value a run refuses: "
                                 f"{err}") from None
    return space


def _fixed_settings(base: RunConfig | Mapping | None, seed: int,
                    data: datasets.Dataset) -> dict:
    """The settings every trial shares: `base_config()`, the seed, then `base` (a RunConfig,
    whose data fields are dropped, or a dict of searchable field names), checked now rather
    than in the first trial, and fitted to `data` as `babysit train` fits them
    (`fit_to_data`: a table's defaults for the settings `base` does not give, the loss a
    regression needs)."""
    known = searchable_fields()
    if isinstance(base, RunConfig):
        base = {k: v for k, v in base.to_dict().items() if k in known}
    config = {**base_config(), "seed": seed, **(base or {})}
    unknown = set(config) - set(known)
    if unknown:
        raise ValueError(f"base: unknown settings {sorted(unknown)}; known: {', '.join(known)}")
    fitted = fit_to_data(RunConfig.from_dict(config), data, set(base or ()))
    return {k: v for k, v in fitted.to_dict().items() if k in config}


def check_options(*, workers: int = 1, folds: int = 1, top_k: int = 5, sampler: str = "random",
                  heartbeat: float = 10.0, storage: str | None = None,
                  study: str = "babysit") -> None:
    """Refuse a bad option of `run` by name before any study is touched (the command line
    calls it before it makes the search's folder)."""
    for name, value in (("storage", storage), ("study", study)):
        if value is not None and not str(value).strip():   # "" read as the default
            raise ValueError(f"{name} is empty: give a {name} or leave it out for the default")
    if storage is not None:
        refuse_memory_database(storage)
    for name, value, ok, want in (("workers", workers,
                                   isinstance(workers, int) and 1 <= workers <= MAX_WORKERS,
                                   f"a positive integer up to {MAX_WORKERS}"),
                                  ("folds", folds, isinstance(folds, int) and folds >= 1,
                                   "1 (one validation split) or k >= 2"),
                                  ("top_k", top_k, isinstance(top_k, int) and top_k >= 0,
                                   "a non-negative integer"),
                                  ("sampler", sampler, sampler in ("random", "tpe"),
                                   '"random" or "tpe"'),
                                  ("heartbeat", heartbeat, heartbeat > 0, "positive seconds")):
        if not ok:
            raise ValueError(f"{name} must be {want}, got {value!r}")


def _check_folds(folds: int, data: datasets.Dataset) -> None:
    """Refuse more folds than the training and validation examples (k-fold runs over both
    together) can fill: for classes, than the smallest class has examples, since each
    stratified fold holds some of every class."""
    if folds == 1:
        return
    y = np.concatenate([data.train.y, data.val.y])
    if data.task == "regress":
        most, why = len(y), f"the {len(y)} training and validation examples"
    else:
        counts = np.bincount(y)
        most = int(counts[counts > 0].min())
        why = (f"the smallest class has {most} examples in the training and validation "
               f"splits, and each stratified fold needs some of every class")
    if folds > most:
        raise ValueError(f"folds must be at most {most} ({why}), got {folds}")


def _trials_bar(job: Job, store):
    """A progress bar over the search's trials on stderr (when it is a terminal), starting
    from those a resumed search already finished."""
    from tqdm.auto import tqdm

    return tqdm(total=sum(s.trials for s in job.stages), initial=_finished_trials(job, store),
                desc="search", unit="trial", leave=False, disable=None, mininterval=0.25)


def _finished_trials(job: Job, store) -> int:
    """How many trials of all stages the study holds finished (by any worker). Read only:
    `load_study` (Optuna's create_study) appends a line to a journal file each time, which the
    progress bar's look every second would make a journal's growth and a killed search's
    stale lock."""
    import optuna

    over = trial_states(*FINISHED)
    return sum(sum(t.state in over for t in optuna.load_study(
        study_name=study_name(job.study, stage), storage=store).get_trials(deepcopy=False))
               for stage in range(len(job.stages)))


def _finished_count(job: Job) -> str:
    """`_finished_trials` for the line an interrupted search ends with, counted on a storage
    opened anew: the stop may have come in the middle of a write (a journal's lock, Optuna's
    copy of the study) and left the search's own storage unusable. "some" when even the new
    one cannot tell: the line is said all the same."""
    try:
        return str(_finished_trials(job, open_storage(job.storage)))
    except Exception:
        return "some"


def _run_trials(job: Job, store, workers: int) -> tuple[list, list]:
    """Run every stage's trials (here, or in `workers` spawned processes); the finished trials
    as rows and each stage's space. A worker that crashed is a RuntimeError, even when the
    others finished its trials: a search never ends as a success with a crash in it."""
    codes = [0]
    try:
        with _trials_bar(job, store) as bar:
            if workers == 1:
                work(job, 0, finished=lambda: bar.update(1))
            else:
                codes = run_workers(job, workers, poll=lambda: bar.update(
                    _finished_trials(job, store) - bar.n))
    except (KeyboardInterrupt, Exception) as err:  # Ctrl-C or SIGTERM: what is kept, how to go on
        if not isinstance(err, KeyboardInterrupt):
            if stop_received() is None:
                raise
            err = Stopped(signum=stop_received())  # an error raised while the stop unwound
        raise reworded(err, f"after {_finished_count(job)} of "
                            f"{sum(s.trials for s in job.stages)} trials, which are kept in "
                            f"{masked(job.storage)}: the same command resumes the search") from None
    rows, spaces = collect(job, store)
    missing = [i + 1 for i, s in enumerate(job.stages)
               if sum(r["stage"] == i + 1 for r in rows) < s.trials]
    if EXIT_DATABASE_LOST in codes:
        raise DatabaseLostError(f"worker(s) lost the connection to the study's database "
                                f"{masked(job.storage)} for good; the finished trials are kept "
                                f"there: the same command resumes the search")
    if any(codes):
        crashed = [i for i, code in enumerate(codes) if code]
        left = f"stage(s) {missing} did not finish" if missing else "every trial finished"
        raise RuntimeError(f"worker(s) {crashed} stopped (exit codes {codes}; the error is "
                           f"above) and {left}. Run the same search again to resume it: "
                           f"finished trials are kept")
    if missing:
        raise RuntimeError(f"stage(s) {missing} did not finish. Run the same search again to "
                           f"resume it: finished trials are kept")
    return rows, spaces
