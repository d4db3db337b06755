"""Hyperparameter search on Optuna: random or TPE, coarse to fine, in parallel, resumable.

The notes' advice, as code:

- search learning rates and regularization strengths on a log scale (`loguniform`);
- sample at random rather than on a grid (seeded; `sampler="tpe"` on request);
- prefer one validation split to cross-validation (`folds=k` on request);
- stage the search from coarse to fine: many short trials over wide ranges, then longer
  trials in ranges narrowed around the best results (`Stage`);
- be careful with best values on the border of a range (`border_warnings`).

Trials live in an Optuna storage, by default a journal file in the run folder (embedded,
nothing to start). `workers=N` processes share it, and workers on other machines join the
same study by passing the same storage URL (for example a PostgreSQL database). A trial is
recorded when it finishes, so a killed worker or an interrupted search loses no finished
trial; running the same search again counts the finished trials toward `trials` and goes on.

Each trial trains the network `babysit train` would build from the same options, with the
sampled hyperparameters in place of the defaults, and scores it by its validation accuracy
after the last epoch.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import multiprocessing
import os
import re
import socket
import threading
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from multiprocessing.connection import wait as wait_for_processes
from pathlib import Path

import numpy as np

from babysit import cli
from babysit.data import datasets
from babysit.database import masked, open_database
from babysit.train import DivergedError

# -- the space ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Uniform:
    """Values drawn uniformly from [lo, hi]."""

    lo: float
    hi: float
    log = False

    def __post_init__(self):
        if not (math.isfinite(self.lo) and math.isfinite(self.hi)) or self.lo >= self.hi:
            raise ValueError(f"{self.kind}: lo must be below hi (both finite), "
                             f"got lo={self.lo!r}, hi={self.hi!r}")

    @property
    def kind(self) -> str:
        """The name of the function that makes this range ("uniform", "loguniform", ...)."""
        return type(self).__name__.lower()

    def suggest(self, trial, name: str):
        """Draw this hyperparameter's value for an Optuna trial."""
        return trial.suggest_float(name, self.lo, self.hi, log=self.log)

    def scale(self, value: float) -> float:
        """Where `value` sits in the range: 0 at lo, 1 at hi (measured in log space when log)."""
        lo, hi, v = (np.log(x) if self.log else x for x in (self.lo, self.hi, value))
        return float((v - lo) / (hi - lo))

    def narrow(self, values: Sequence, margin: float = 0.25):
        """The sub-range spanning `values`, padded on each side by `margin` of their spread
        (at least 5% of this range) and kept inside this range."""
        lo, hi = self._padded_span(values, margin)
        return replace(self, lo=max(self.lo, lo), hi=min(self.hi, hi))

    def _padded_span(self, values: Sequence, margin: float) -> tuple[float, float]:
        t = [self.scale(v) for v in values]
        pad = max(margin * (max(t) - min(t)), 0.05)
        return self._unscale(max(0.0, min(t) - pad)), self._unscale(min(1.0, max(t) + pad))

    def widened(self, upward: bool):
        """A range one decade (log) or half its width (linear) wider on one side."""
        if self.log:
            return replace(self, hi=self.hi * 10) if upward else replace(self, lo=self.lo / 10)
        step = (self.hi - self.lo) / 2
        return replace(self, hi=self.hi + step) if upward else replace(self, lo=self.lo - step)

    def _unscale(self, u: float) -> float:
        if self.log:
            return float(np.exp(np.log(self.lo) + u * (np.log(self.hi) - np.log(self.lo))))
        return self.lo + u * (self.hi - self.lo)

    def __str__(self) -> str:
        return f"{self.kind}({self.lo:g}, {self.hi:g})"


@dataclass(frozen=True)
class LogUniform(Uniform):
    """Values whose logarithm is uniform in [log lo, log hi]: the notes' choice for learning
    rates and regularization strengths, which act multiplicatively."""

    log = True

    def __post_init__(self):
        super().__post_init__()
        if self.lo <= 0:
            raise ValueError(f"loguniform: lo must be positive, got {self.lo!r}")


@dataclass(frozen=True)
class IntUniform(Uniform):
    """Integers drawn uniformly from lo..hi inclusive (on a log scale with log=True)."""

    lo: int
    hi: int
    log: bool = False

    def __post_init__(self):
        if not (isinstance(self.lo, int) and isinstance(self.hi, int)):
            raise ValueError(f"intuniform: lo and hi must be integers, "
                             f"got {self.lo!r}, {self.hi!r}")
        super().__post_init__()
        if self.log and self.lo <= 0:
            raise ValueError(f"intuniform: lo must be positive on a log scale, got {self.lo!r}")

    def suggest(self, trial, name: str):
        """Draw this hyperparameter's integer value for an Optuna trial."""
        return trial.suggest_int(name, self.lo, self.hi, log=self.log)

    def narrow(self, values: Sequence, margin: float = 0.25):
        """As `Uniform.narrow`, rounded outward to integers and at least one step wide."""
        lo, hi = self._padded_span(values, margin)
        lo, hi = max(self.lo, math.floor(lo)), min(self.hi, math.ceil(hi))
        if lo == hi:  # keep a range, one step wide, inside this one
            lo, hi = (lo - 1, hi) if hi == self.hi else (lo, hi + 1)
        return replace(self, lo=lo, hi=hi)

    def widened(self, upward: bool):
        """As `Uniform.widened`, in whole numbers (a log range stays above 0)."""
        if self.log:
            return replace(self, hi=self.hi * 10) if upward else \
                replace(self, lo=max(1, self.lo // 10))
        step = max(1, (self.hi - self.lo) // 2)
        return replace(self, hi=self.hi + step) if upward else replace(self, lo=self.lo - step)

    def __str__(self) -> str:
        return f"intuniform({self.lo}, {self.hi}{', log=True' if self.log else ''})"


@dataclass(frozen=True)
class Choice:
    """One of a list of values (numbers, strings, or lists such as hidden widths)."""

    values: tuple
    log = False

    def __post_init__(self):
        object.__setattr__(self, "values", tuple(self.values))
        if not self.values:
            raise ValueError("choice: needs at least one value, got none")
        labels = self.labels()
        if len(set(labels)) != len(labels):
            raise ValueError(f"choice: values must be distinct, got {list(self.values)!r}")

    def labels(self) -> list[str]:
        """Optuna stores categorical values as scalars: each value's JSON text stands for it."""
        return [_label(v) for v in self.values]

    def suggest(self, trial, name: str):
        """Draw one of the values for an Optuna trial (Optuna records its label)."""
        labels = self.labels()
        return self.values[labels.index(trial.suggest_categorical(name, labels))]

    def value_of(self, label):
        """The value an Optuna parameter label stands for."""
        return self.values[self.labels().index(label)]

    def narrow(self, values: Sequence, margin: float = 0.25):
        """The choices that appear among `values`, in their original order."""
        kept = {_label(v) for v in values}
        return Choice(tuple(v for v in self.values if _label(v) in kept))

    def __str__(self) -> str:
        return f"choice({' | '.join(self.labels())})"


def _label(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def uniform(lo: float, hi: float) -> Uniform:
    """A hyperparameter drawn uniformly from [lo, hi], e.g. dropout: uniform(0, 0.5)."""
    return Uniform(float(lo), float(hi))


def loguniform(lo: float, hi: float) -> LogUniform:
    """A hyperparameter drawn on a log scale from [lo, hi], e.g. lr: loguniform(1e-5, 1e-1)."""
    return LogUniform(float(lo), float(hi))


def intuniform(lo: int, hi: int, log: bool = False) -> IntUniform:
    """An integer drawn uniformly from lo..hi (log=True: on a log scale), e.g. batch size."""
    return IntUniform(lo, hi, log)


def choice(values: Sequence) -> Choice:
    """One of `values`, e.g. hidden: choice([[100], [100, 100]])."""
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise ValueError(f"choice: values must be a list, got {values!r}")
    return Choice(tuple(values))


Dimension = Uniform | Choice


def default_space() -> dict[str, Dimension]:
    """The notes' usual suspects: learning rate and L2 strength on log scales, then the
    network's width and depth and dropout."""
    return {
        "lr": loguniform(1e-4, 3e-2),
        "reg": loguniform(1e-6, 1e-1),
        "hidden": choice([[50], [100], [100, 100], [200, 200]]),
        "dropout": uniform(0.0, 0.5),
    }


_DIMENSIONS = {"uniform": uniform, "loguniform": loguniform, "intuniform": intuniform,
               "choice": choice}


def parse_param(text: str) -> tuple[str, Dimension]:
    """Read a command-line range such as "lr=loguniform(1e-5,1e-1)", "batch_size=intuniform(16,
    256)" or "hidden=choice(50 | 100,100)" (choices separated by "|", each read the way the
    `babysit train` option of that name reads its value). Returns (name, dimension)."""
    match = re.fullmatch(r"\s*([A-Za-z_][\w-]*)\s*=\s*(\w+)\s*\((.*)\)\s*", text)
    if match is None:
        raise ValueError(f"--param must look like NAME=KIND(ARGS), e.g. lr=loguniform(1e-5,1e-1), "
                         f"got {text!r}")
    name, kind, body = match.group(1).replace("-", "_"), match.group(2), match.group(3)
    options = _config_options()
    if name not in options:
        raise ValueError(f"--param: unknown hyperparameter {name!r}; known: "
                         f"{', '.join(sorted(options))}")
    if kind not in _DIMENSIONS:
        raise ValueError(f"--param {name}: unknown kind {kind!r}; known: {', '.join(_DIMENSIONS)}")
    if kind == "choice":
        convert = options[name].type or str
        try:
            values = [convert(part.strip()) for part in body.split("|")]
        except (TypeError, ValueError, argparse.ArgumentTypeError) as err:
            raise ValueError(f"--param {name}: cannot read the choices {body!r}: {err}") from None
        return name, choice(values)
    parts = [p.strip().lower() for p in body.split(",")]
    log = False
    if kind == "intuniform" and len(parts) == 3:
        log = {"log": True, "log=true": True, "true": True, "log=false": False,
               "false": False}.get(parts.pop())
    if len(parts) != 2 or log is None:
        raise ValueError(f"--param {name}: {kind} takes (lo, hi)"
                         f"{' or (lo, hi, log=true)' if kind == 'intuniform' else ''}, "
                         f"got {body!r}")
    try:
        bounds = [int(p) if kind == "intuniform" else float(p) for p in parts]
    except ValueError:
        raise ValueError(f"--param {name}: {kind} takes numbers, got {body!r}") from None
    return name, (intuniform(*bounds, log=log) if kind == "intuniform"
                  else _DIMENSIONS[kind](*bounds))


# -- stages ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    """One pass of the search: `trials` trials of `epochs` epochs each (None: the base
    configuration's epochs). Every stage after the first narrows each range around the best
    `top` fraction (at least 3) of the previous stage's trials."""

    trials: int
    epochs: int | None = None
    top: float = 0.25

    def __post_init__(self):
        if not isinstance(self.trials, int) or self.trials < 1:
            raise ValueError(f"Stage: trials must be a positive integer, got {self.trials!r}")
        if self.epochs is not None and (not isinstance(self.epochs, int) or self.epochs < 1):
            raise ValueError(f"Stage: epochs must be a positive integer, got {self.epochs!r}")
        if not 0 < self.top <= 1:
            raise ValueError(f"Stage: top must be a fraction in (0, 1], got {self.top!r}")


def default_stages(trials: int, epochs: int) -> list[Stage]:
    """Two thirds of the trials short (a fifth of `epochs`) over the full ranges, then a third
    at `epochs` in narrowed ranges; under 6 trials, one stage at `epochs`."""
    if not isinstance(trials, int) or trials < 1:
        raise ValueError(f"trials must be a positive integer, got {trials!r}")
    if trials < 6:
        return [Stage(trials, epochs)]
    return [Stage(trials - trials // 3, max(1, epochs // 5)), Stage(trials // 3, epochs)]


def parse_stages(text: str) -> list[Stage]:
    """Read "--stages 20:6,10:30" (trials:epochs for each stage)."""
    stages = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*:\s*(\d+)\s*", part)
        if match is None:
            raise ValueError(f"--stages takes trials:epochs pairs like 20:6,10:30, got {text!r}")
        stages.append(Stage(int(match.group(1)), int(match.group(2))))
    return stages


# -- one trial: configuration -> network and trainer -> validation accuracy -----------------


_DATA_OPTIONS = ("data", "target", "preprocess")  # applied once, when the data is loaded
_NOT_CONFIG = (*_DATA_OPTIONS, "ensemble", "out", "json", "help")  # ensemble: train's K seeds


def _train_options() -> dict[str, argparse.Action]:
    p = argparse.ArgumentParser(add_help=False)
    for add in cli.COMMANDS["train"][2]:
        add(p)
    return {a.dest: a for a in p._actions}


def _config_options() -> dict[str, argparse.Action]:
    """The options of `babysit train` that describe a run (all but the data, its
    preprocessing and the output), by name: what a search may vary."""
    return {k: a for k, a in _train_options().items() if k not in _NOT_CONFIG}


def load_data(name: str, seed: int = 0) -> datasets.Dataset:
    """The dataset `babysit train --data NAME --seed SEED` trains on, preprocessed alike."""
    options = {k: a.default for k, a in _train_options().items() if k in _DATA_OPTIONS}
    return cli.load_data(argparse.Namespace(**{**options, "data": name, "seed": seed}))


def base_config() -> dict:
    """`babysit train`'s default for every option that describes a run (model, training,
    seed)."""
    return {name: action.default for name, action in _config_options().items()}


def build(config: Mapping, n_in: int, n_out: int):
    """The network and quiet Trainer `babysit train` builds from the same options.

    config: option name -> value, as in `base_config()`. Returns (net, trainer).
    """
    args = argparse.Namespace(**{"out": None, "json": False, **base_config(), **config})
    net = cli.build_model(args, n_in, n_out)
    return net, cli.build_trainer(args, net, quiet=True)


def evaluate(config: Mapping, data: datasets.Dataset, folds: int = 1) -> dict:
    """Train `config` and score it by validation accuracy after the last epoch.

    folds=1 trains on data.train and validates on data.val (the notes' preference); folds=k
    runs stratified k-fold cross-validation over train and val together and reports the
    mean (and std) over folds. The test split is never touched. Raises DivergedError.
    """
    if folds == 1:
        _, trainer = build(config, data.n_features, data.n_classes)
        h = trainer.fit(data.train.X, data.train.y, val=data.val)
        return {"val_accuracy": h.val_acc[-1], "train_accuracy": h.train_acc[-1]}
    from sklearn.model_selection import StratifiedKFold

    X = np.concatenate([data.train.X, data.val.X])
    y = np.concatenate([data.train.y, data.val.y])
    val, train = [], []
    split = StratifiedKFold(folds, shuffle=True, random_state=int(config.get("seed", 0)))
    for fit_rows, val_rows in split.split(X, y):
        _, trainer = build(config, data.n_features, data.n_classes)
        h = trainer.fit(X[fit_rows], y[fit_rows], val=(X[val_rows], y[val_rows]))
        val.append(h.val_acc[-1])
        train.append(h.train_acc[-1])
    return {"val_accuracy": float(np.mean(val)), "val_std": float(np.std(val)),
            "train_accuracy": float(np.mean(train))}


# -- storage, studies, samplers ---------------------------------------------------------------


def open_storage(spec: str):
    """An Optuna storage: a URL ("postgresql://...", "mysql://...", "sqlite:///...",
    "redis://...") for workers on many machines, or a file path for a journal file that
    processes on this machine (or a shared file system) append to under a lock."""
    from optuna.storages.journal import JournalFileBackend, JournalRedisBackend, JournalStorage

    spec = str(spec)
    if spec.startswith("redis://"):
        return JournalStorage(JournalRedisBackend(spec))
    if "://" in spec:
        return open_database(spec)
    Path(spec).parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(spec))


def _study_name(study: str, stage: int) -> str:
    return f"{study}.stage{stage + 1}"


def _trial_seed(*parts) -> int:
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def _per_trial_random_sampler(seed: int, stage: int):
    """Random search where trial n's values depend only on (seed, stage, n, name): workers never
    draw the same values, and a resumed search draws new ones instead of repeating."""
    import optuna

    class PerTrialRandomSampler(optuna.samplers.BaseSampler):
        """Optuna's RandomSampler, seeded afresh for each (trial, parameter)."""

        def infer_relative_search_space(self, study, trial):
            return {}

        def sample_relative(self, study, trial, search_space):
            return {}

        def sample_independent(self, study, trial, name, distribution):
            s = _trial_seed(seed, stage, trial.number, zlib.crc32(name.encode()))
            return optuna.samplers.RandomSampler(seed=s).sample_independent(
                study, trial, name, distribution)

    return PerTrialRandomSampler()


@dataclass
class _Job:
    """Everything a worker process needs (picklable, so spawned processes receive it)."""

    data: datasets.Dataset
    base: dict
    space: dict
    stages: list
    storage: str
    study: str
    sampler: str
    folds: int
    seed: int
    heartbeat: float

    def config(self, stage: int, params: Mapping) -> dict:
        """The options a trial of `stage` trains with: base, then its sampled `params`."""
        return {**self.base, **params, "epochs": self.stages[stage].epochs or self.base["epochs"]}


FINISHED = ("COMPLETE", "PRUNED")  # a diverged trial is told PRUNED: a result, a bad one


def _states(*names):
    from optuna.trial import TrialState

    return tuple(TrialState[n] for n in names)


def _load_study(job: _Job, stage: int, storage, sampler=None):
    import optuna

    return optuna.create_study(storage=storage, study_name=_study_name(job.study, stage),
                               direction="maximize", load_if_exists=True, sampler=sampler)


def _fingerprint(job: _Job) -> str:
    """What must not change when a search is resumed: data, base options, space, stage epochs."""
    d = job.data
    return json.dumps({"data": [d.name, list(d.train.X.shape), list(d.val.X.shape),
                                type(d.preprocess).__name__],
                       "base": {k: v for k, v in job.base.items() if k != "epochs"},
                       "space": {k: str(v) for k, v in job.space.items()},
                       "epochs": [s.epochs or job.base["epochs"] for s in job.stages],
                       "folds": job.folds}, sort_keys=True, default=str)


def _create_studies(job: _Job, storage) -> None:
    """Create (or reopen) each stage's study; refuse to resume a study begun differently."""
    first = _load_study(job, 0, storage)
    mine = _fingerprint(job)
    theirs = first.user_attrs.get("babysit")
    if theirs is None:
        first.set_user_attr("babysit", mine)
    elif theirs != mine:
        raise ValueError(f"study {job.study!r} in {masked(job.storage)} was begun with "
                         f"other data, options, space or stage epochs ({theirs}); pass another "
                         f"--study or --out to start a new search, or the same options to "
                         f"resume it")
    for stage in range(1, len(job.stages)):
        _load_study(job, stage, storage)


def stage_space(job: _Job, stage: int, storage) -> dict[str, Dimension]:
    """The space a stage samples: the full space first, then each range narrowed around the
    best `top` fraction (at least 3) of the previous stage's finished trials."""
    space = dict(job.space)
    for s in range(1, stage + 1):
        best = _ranked(_load_study(job, s - 1, storage))
        best = best[:max(3, math.ceil(job.stages[s].top * len(best)))]
        if best:
            space = {name: dim.narrow([_value(dim, t.params[name]) for t in best])
                     for name, dim in space.items()}
    return space


def _value(dim: Dimension, param):
    return dim.value_of(param) if isinstance(dim, Choice) else param


def _ranked(study) -> list:
    """Completed trials, best first (ties: the earlier trial)."""
    done = study.get_trials(deepcopy=False, states=_states("COMPLETE"))
    return sorted(done, key=lambda t: (-t.value, t.number))


# -- workers -----------------------------------------------------------------------------------


class _Heartbeat:
    """Writes the time into a running trial every `interval` seconds, so that other workers can
    tell a trial whose worker died (no beat for 3 intervals) from one still training."""

    def __init__(self, trial, interval: float):
        self.trial, self.interval = trial, interval
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        from optuna.exceptions import UpdateFinishedTrialError

        while not self.stop.wait(self.interval):
            try:
                self.trial.set_user_attr("heartbeat", time.time())
            except UpdateFinishedTrialError:
                return  # taken for dead by another worker; `_run_trial` drops its result

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def _fail_stale(study, heartbeat: float) -> None:
    """Mark FAIL the running trials whose worker is gone: a dead process on this machine, or
    no heartbeat for 3 intervals. Their values were never recorded, so nothing is lost."""
    from optuna.exceptions import UpdateFinishedTrialError

    host, now = socket.gethostname(), time.time()
    for t in study.get_trials(deepcopy=False, states=_states("RUNNING")):
        where, _, pid = str(t.user_attrs.get("worker", "")).rpartition(":")
        beat = t.user_attrs.get("heartbeat", t.datetime_start.timestamp())
        if (where == host and pid.isdigit() and not _alive(int(pid))) \
                or now - beat > 3 * heartbeat:
            # Another worker may fail the same trial between this one's read and its write
            # (workers on other machines see the same dead trial): it is failed either way.
            with contextlib.suppress(UpdateFinishedTrialError):
                study.tell(t.number, state=_states("FAIL")[0], skip_if_finished=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _work(job: _Job, worker: int, ready=None) -> None:
    """One worker: run each stage's trials until the stage holds its count of finished trials.

    `ready`, a barrier shared by the processes of one machine, makes them take their first
    trial together, so that one whose start-up is slow still gets its share.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # babysit reports trials itself
    storage = open_storage(job.storage)
    if ready is not None:
        with contextlib.suppress(threading.BrokenBarrierError):  # a sibling failed to start
            ready.wait(timeout=60)
    for stage in range(len(job.stages)):
        space = stage_space(job, stage, storage)
        study = _load_study(job, stage, storage)
        if job.sampler == "tpe":
            study.sampler = optuna.samplers.TPESampler(
                seed=_trial_seed(job.seed, stage, worker, len(study.get_trials(deepcopy=False))),
                constant_liar=True, n_startup_trials=min(10, max(1, job.stages[stage].trials // 3)))
        else:
            study.sampler = _per_trial_random_sampler(job.seed, stage)
        with np.errstate(over="ignore", under="ignore"):  # a diverging trial is expected
            _run_stage(job, stage, study, space)


def _run_stage(job: _Job, stage: int, study, space: dict) -> None:
    target = job.stages[stage].trials
    finished, live = _states(*FINISHED), _states(*FINISHED, "RUNNING", "WAITING")
    while True:
        _fail_stale(study, job.heartbeat)
        trials = study.get_trials(deepcopy=False)
        done = sum(t.state in finished for t in trials)
        if done >= target:
            return
        if sum(t.state in live for t in trials) >= target:
            time.sleep(min(1.0, job.heartbeat))  # the last trials run elsewhere: wait for them
            continue
        trial = study.ask()
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        ahead = study.get_trials(deepcopy=False, states=live)
        if sum(t.number < trial.number for t in ahead) >= target:
            # another worker asked for the last trial at the same moment: give this one back
            trial.set_user_attr("surplus", True)
            study.tell(trial, state=_states("FAIL")[0])
            continue
        _run_trial(job, stage, study, trial, space)


def _run_trial(job: _Job, stage: int, study, trial, space: dict) -> None:
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    start = time.perf_counter()
    try:
        with _Heartbeat(trial, job.heartbeat):
            params = {name: dim.suggest(trial, name) for name, dim in space.items()}
            result = evaluate(job.config(stage, params), job.data, job.folds)
    except DivergedError as err:
        result = {"diverged": str(err).split(":")[0]}
    except BaseException:
        # interrupted: nothing recorded, nothing lost
        study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
        raise
    value = result.pop("val_accuracy", None)
    # skipped when another worker took this trial for dead (its heartbeats did not arrive):
    # it was marked failed and its slot given to a new trial
    with contextlib.suppress(UpdateFinishedTrialError):
        # one write for the details: each write to a journal file is a locked, fsynced append
        trial.set_user_attr("result", {**result,
                                       "seconds": round(time.perf_counter() - start, 3)})
        study.tell(trial, value, state=TrialState.PRUNED if value is None else None,
                   skip_if_finished=True)


def _work_with_cores(job: _Job, worker: int, ready, cores: int) -> None:
    """A spawned worker: `_work` with its BLAS threads limited to its share of the cores, since
    N processes each running a thread per core slow each other down many times over."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(cores):
        _work(job, worker, ready)


def _run_workers(job: _Job, workers: int) -> list[int]:
    """Start `workers` spawned processes on the job and wait for all; their exit codes."""
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Barrier(workers)
    cores = max(1, (os.cpu_count() or 1) // workers)
    procs = [ctx.Process(target=_work_with_cores, args=(job, i, ready, cores),
                         name=f"babysit-search-{i}") for i in range(workers)]
    for p in procs:
        p.start()
    try:
        pending = list(procs)
        while pending:  # join each as it ends, so a killed worker is reaped (and seen dead) at once
            ended = wait_for_processes([p.sentinel for p in pending])
            for p in [p for p in pending if p.sentinel in ended]:
                p.join()
                pending.remove(p)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
                p.join()
    return [p.exitcode for p in procs]


# -- results ----------------------------------------------------------------------------------


@dataclass
class SearchResult:
    """What a search found.

    trials: one row per finished trial (stage, trial, state, val_accuracy, epochs, seconds,
    worker, and each hyperparameter's value); best: the best row; spaces: the space each
    stage sampled; warnings: border warnings; retrained: the best configuration retrained
    (val/test accuracy, checkpoint path); ensemble: the top-k retrained as an ensemble (val/
    test accuracy, checkpoint paths), and `ensemble_model` that `babysit.ensemble.Ensemble`
    (it takes raw features).
    """

    out: Path
    storage: str
    study: str
    trials: list[dict]
    best: dict
    spaces: list[dict]
    warnings: list[str] = field(default_factory=list)
    retrained: dict = field(default_factory=dict)
    ensemble: dict = field(default_factory=dict)
    ensemble_model: object = None

    def summary(self) -> dict:
        """A JSON-ready summary (no networks)."""
        return {"trials": len(self.trials), "study": self.study, "storage": self.storage,
                "best": self.best, "warnings": self.warnings, "retrained": self.retrained,
                "ensemble": self.ensemble,
                "spaces": [{k: str(v) for k, v in s.items()} for s in self.spaces],
                "run_dir": str(self.out)}


def collect(job: _Job, storage) -> tuple[list[dict], list[dict]]:
    """The finished trials of every stage as table rows, and the space each stage sampled."""
    rows, spaces = [], []
    for stage in range(len(job.stages)):
        space = stage_space(job, stage, storage)
        spaces.append(space)
        study = _load_study(job, stage, storage)
        for t in study.get_trials(deepcopy=False, states=_states(*FINISHED)):
            info = t.user_attrs.get("result", {})
            row = {"stage": stage + 1, "trial": t.number,
                   "state": "diverged" if "diverged" in info else "complete",
                   "val_accuracy": t.value,
                   "epochs": job.stages[stage].epochs or job.base["epochs"]}
            if job.folds > 1:
                row["val_std"] = info.get("val_std")
            row.update({name: _value(dim, t.params[name]) for name, dim in space.items()
                        if name in t.params})
            row.update(seconds=info.get("seconds"), worker=t.user_attrs.get("worker"))
            rows.append(row)
    return rows, spaces


def ranked(rows: list[dict]) -> list[dict]:
    """Completed rows, best validation accuracy first; ties go to the later stage (longer
    training), then the earlier trial."""
    done = [r for r in rows if r["val_accuracy"] is not None]
    return sorted(done, key=lambda r: (-r["val_accuracy"], -r["stage"], r["trial"]))


def border_warnings(rows: list[dict], space: Mapping[str, Dimension], top: int = 5) -> list[str]:
    """The notes' warning about the border: when the best value of a hyperparameter lies in
    the outer tenth of its (log) range, the optimum may lie outside it."""
    best = ranked(rows)
    if not best:
        return []
    warnings = []
    for name, dim in space.items():
        if isinstance(dim, Choice) or name not in best[0]:
            continue
        where = dim.scale(best[0][name])
        if 0.1 <= where <= 0.9:
            continue
        upward = where > 0.9
        near = sum((dim.scale(r[name]) > 0.9) if upward else (dim.scale(r[name]) < 0.1)
                   for r in best[:top] if name in r)
        warnings.append(
            f"{name}: the best value {best[0][name]:.3g} lies in the "
            f"{'top' if upward else 'bottom'} tenth of its {'log ' if dim.log else ''}range "
            f"{dim} ({near} of the best {min(top, len(best))} trials do); the best "
            f"setting may lie beyond it: widen the range {'upward' if upward else 'downward'}"
            f", e.g. {dim.widened(upward)}")
    return warnings


def format_table(rows: list[dict], limit: int | None = None) -> str:
    """The trials as a fixed-width text table, best first."""
    if not rows:
        return "(no finished trials)"
    order = ranked(rows) + [r for r in rows if r["val_accuracy"] is None]
    order = order[:limit] if limit else order
    columns = [c for c in rows[0] if c not in ("worker",)]
    cells = [[_cell(r.get(c)) for c in columns] for r in order]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


def train_command(config: Mapping, data: str) -> str:
    """The `babysit train` command line for `config`: its options that differ from the
    defaults (floats to 6 significant digits)."""
    options = [f"--data {data}"]
    for name, default in base_config().items():
        value = config.get(name, default)
        if value == default or value is None or value is False:
            continue
        flag = f"--{name.replace('_', '-')}"
        if value is True:
            options.append(flag)
        else:
            text = _cell(value) if isinstance(value, list) else (
                f"{value:.6g}" if isinstance(value, float) else str(value))
            options.append(f"{flag} {text}")
    return "babysit train " + " ".join(options)


def _cell(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4f}" if 1e-3 <= abs(v) < 1e4 or v == 0 else f"{v:.3g}"
    if isinstance(v, list):
        return ",".join(map(str, v)) or "none"
    return str(v)


def save_table(rows: list[dict], out: Path) -> None:
    """trials.json (values as they are) and trials.csv (lists written as 100,100) in `out`."""
    (out / "trials.json").write_text(json.dumps(rows, indent=1) + "\n")
    columns = list(dict.fromkeys(c for r in rows for c in r))
    with open(out / "trials.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows({c: (_cell(v) if isinstance(v, list) else v) for c, v in r.items()}
                         for r in rows)


def plot(rows: list[dict], spaces: list[dict], path: Path) -> Path:
    """Validation accuracy against each hyperparameter, one panel each, colored by stage, with
    a log x axis where the range is log and each later stage's narrowed range shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(spaces[0])
    cols = min(3, len(names))
    nrows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.4 * nrows), squeeze=False)
    done = [r for r in rows if r["val_accuracy"] is not None]
    for ax, name in zip(axes.flat, names, strict=False):
        dim = spaces[0][name]
        for stage in range(len(spaces)):
            pts = [r for r in done if r["stage"] == stage + 1 and name in r]
            if isinstance(dim, Choice):
                labels = dim.labels()
                x = [labels.index(_label(r[name])) + 0.08 * (stage - 0.5) for r in pts]
            else:
                x = [r[name] for r in pts]
                if stage > 0:
                    ax.axvspan(spaces[stage][name].lo, spaces[stage][name].hi,
                               color=f"C{stage}", alpha=0.08)
            ax.scatter(x, [r["val_accuracy"] for r in pts], s=18, color=f"C{stage}",
                       label=f"stage {stage + 1}")
        if isinstance(dim, Choice):
            ax.set_xticks(range(len(dim.values)), [_cell(v) for v in dim.values])
        elif dim.log:
            ax.set_xscale("log")
        ax.set_xlabel(name)
        ax.set_ylabel("validation accuracy")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    if done:
        axes.flat[0].legend(fontsize=8)
    diverged = len(rows) - len(done)
    fig.suptitle(f"{len(done)} trials" + (f" ({diverged} diverged, not shown)"
                                          if diverged else ""))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def retrain(job: _Job, rows: list[dict], out: Path, top_k: int, say: Callable) -> tuple:
    """Retrain the best configuration and save it (out/best.safetensors, with the data's
    preprocessing); retrain the next best up to `top_k` and average them as an ensemble
    (members saved in out/ensemble/). Same seed as the trials, so each retrained model is
    the one its trial scored.

    Returns (retrained summary, ensemble summary, the Ensemble or None). The Ensemble takes
    raw features: each member applies the data's preprocessing.
    """
    from babysit import checkpoint
    from babysit.ensemble import Ensemble

    data, best = job.data, ranked(rows)[:max(1, top_k)]
    nets, paths = [], []
    for rank, row in enumerate(best):
        config = job.config(row["stage"] - 1, {k: row[k] for k in job.space if k in row})
        net, trainer = build(config, data.n_features, data.n_classes)
        trainer.fit(data.train.X, data.train.y, val=data.val)
        nets.append(net)
        meta = {"search": {"study": job.study, "stage": row["stage"], "trial": row["trial"],
                           "val_accuracy": row["val_accuracy"]}, "config": config}
        if rank == 0:
            path = checkpoint.save(out / "best", net, preprocess=data.preprocess, meta=meta)
            trainer.history.save(out / "best_history.json")
            retrained = {"val_accuracy": trainer.accuracy(*data.val),
                         "test_accuracy": trainer.accuracy(*data.test), "path": str(path),
                         "config": config}
            say(f"best configuration retrained: val accuracy {retrained['val_accuracy']:.4f}, "
                f"test accuracy {retrained['test_accuracy']:.4f}, saved to {path}")
        if top_k > 1:
            paths.append(str(checkpoint.save(out / "ensemble" / f"member-{rank + 1}", net,
                                             preprocess=data.preprocess, meta=meta)))
    if len(nets) < 2:
        return retrained, {}, None
    on_splits = Ensemble(nets)  # the splits are already preprocessed
    summary = {"members": [{"stage": r["stage"], "trial": r["trial"]} for r in best],
               "paths": paths, "val_accuracy": on_splits.accuracy(*data.val),
               "test_accuracy": on_splits.accuracy(*data.test)}
    say(f"top-{len(nets)} ensemble: val accuracy {summary['val_accuracy']:.4f}, "
        f"test accuracy {summary['test_accuracy']:.4f}, members in {out / 'ensemble'}")
    return retrained, summary, Ensemble([(net, data.preprocess) for net in nets])


# -- the search ---------------------------------------------------------------------------------


def run(space: Mapping[str, Dimension] | None = None, data: str | datasets.Dataset = "digits",
        trials: int | None = None, *, stages: Sequence[Stage] | None = None,
        base: Mapping | None = None, workers: int = 1, storage: str | None = None,
        study: str = "babysit", out: str | Path | None = None, sampler: str = "random",
        folds: int = 1, seed: int = 0, top_k: int = 5, heartbeat: float = 10.0,
        say: Callable[[str], None] = print) -> SearchResult:
    """Search `space` (name -> uniform/loguniform/intuniform/choice; default `default_space()`)
    for the configuration with the best validation accuracy on `data` (a built-in name or a
    Dataset), then retrain the best and the top-k ensemble.

    trials: trials in all (default 30), split into `default_stages` unless `stages` is given.
    base: fixed option values (`babysit train` names) over `base_config()`. workers: processes
    sharing the study. storage: an Optuna storage URL or a journal file path (default
    `out`/study.journal). out: the run folder (default runs/search-<data>-<study>, so running
    the same search again resumes it). sampler: "random" (seeded by `seed`) or "tpe". folds:
    1 for one validation split, k for k-fold cross-validation. heartbeat: seconds between the
    signs of life a running trial writes, so that other workers notice a dead one.
    """
    if isinstance(data, str):
        data = load_data(data, seed)
    space = dict(default_space() if space is None else space)
    options = _config_options()
    if not space:
        raise ValueError("space is empty: give at least one hyperparameter to search")
    for name, dim in space.items():
        if name not in options:
            raise ValueError(f"space: unknown hyperparameter {name!r}; known: "
                             f"{', '.join(sorted(options))}")
        if not isinstance(dim, Uniform | Choice):
            raise ValueError(f"space[{name!r}] must be uniform/loguniform/intuniform/choice, "
                             f"got {dim!r}")
    config = {**base_config(), "seed": seed, **(base or {})}
    unknown = set(config) - set(options)
    if unknown:
        raise ValueError(f"base: unknown options {sorted(unknown)}; known: {sorted(options)}")
    if stages is None:
        stages = default_stages(30 if trials is None else trials, config["epochs"])
    elif trials is not None and trials != sum(s.trials for s in stages):
        raise ValueError(f"trials={trials} but the stages hold {sum(s.trials for s in stages)}; "
                         f"give one or the other")
    for name, value, ok, want in (("workers", workers, isinstance(workers, int) and workers >= 1,
                                   "a positive integer"),
                                  ("folds", folds, isinstance(folds, int) and folds >= 1,
                                   "1 (one validation split) or k >= 2"),
                                  ("top_k", top_k, isinstance(top_k, int) and top_k >= 0,
                                   "a non-negative integer"),
                                  ("sampler", sampler, sampler in ("random", "tpe"),
                                   '"random" or "tpe"'),
                                  ("heartbeat", heartbeat, heartbeat > 0, "positive seconds")):
        if not ok:
            raise ValueError(f"{name} must be {want}, got {value!r}")
    out = Path(out) if out is not None else Path("runs") / f"search-{data.name}-{study}"
    out.mkdir(parents=True, exist_ok=True)
    job = _Job(data, config, space, list(stages), str(storage or out / "study.journal"), study,
               sampler, folds, seed, heartbeat)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    store = open_storage(job.storage)
    _create_studies(job, store)
    say(f"babysit search: {data.name}, "
        + ", then ".join(f"{s.trials} trials of {s.epochs or config['epochs']} epochs"
                         for s in stages)
        + f"; {workers} worker{'s' if workers > 1 else ''}, {sampler} sampling, "
        f"study {study!r} in {masked(job.storage)}")
    start = time.perf_counter()
    codes = [0]
    if workers == 1:
        _work(job, 0)
    else:
        codes = _run_workers(job, workers)
        if any(codes):
            say(f"workers exited with codes {codes}")
    rows, spaces = collect(job, store)
    missing = [i + 1 for i, s in enumerate(stages)
               if sum(r["stage"] == i + 1 for r in rows) < s.trials]
    if missing:
        raise RuntimeError(f"stage(s) {missing} did not finish: a worker stopped (exit codes "
                           f"{codes}; its error is above). Run the same search again to resume "
                           f"it: finished trials are kept")
    say(f"{len(rows)} trials finished in {time.perf_counter() - start:.1f} s; best first:")
    say(format_table(rows, limit=15))
    save_table(rows, out)
    plot(rows, spaces, out / "search.png")
    result = SearchResult(out, masked(job.storage), study, rows,
                          ranked(rows)[0] if ranked(rows) else {},
                          spaces, border_warnings(rows, space))
    for text in result.warnings:
        say(f"warning: {text}")
    if result.best:
        best_config = job.config(result.best["stage"] - 1,
                                 {k: result.best[k] for k in space if k in result.best})
        say(f"to train the best again: {train_command(best_config, data.name)}")
        result.retrained, result.ensemble, result.ensemble_model = retrain(job, rows, out,
                                                                           top_k, say)
    (out / "search.json").write_text(json.dumps(result.summary(), indent=1, default=str) + "\n")
    return result


__all__ = ["Choice", "IntUniform", "LogUniform", "SearchResult", "Stage", "Uniform",
           "base_config", "border_warnings", "build", "choice", "default_space",
           "default_stages", "evaluate", "intuniform", "load_data", "loguniform", "open_storage",
           "parse_param", "parse_stages", "run", "train_command", "uniform"]
