"""The Optuna side: storages, one study per stage, samplers, and the space a stage samples.

`Job` is everything a worker needs; it is picklable, so spawned processes receive it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from babysit.data import datasets
from babysit.search.database import each_call, masked, open_database
from babysit.search.objective import Objective, objective_for
from babysit.search.space import Choice, Dimension, IntUniform
from babysit.training.checkpoint import stops_deferred
from babysit.validation import make_folder

__all__ = ["open_storage", "refuse_memory_database", "study_name", "trial_seed",
           "per_trial_random_sampler", "Job", "FINISHED", "trial_states", "load_study",
           "create_studies", "stage_space", "param_value"]

# A storage that starts like a URL's scheme ("postgresql:", "user:password@host") but lacks
# the "://": a mistyped URL, never taken for a journal file path (it would be printed and kept
# in search.json whole, password and all).
_URL_WITHOUT_SLASHES = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")

# A later stage narrows its ranges around at least this many of the previous stage's best.
_MIN_BEST = 3


def open_storage(spec: str):
    """An Optuna storage: a URL ("postgresql://...", "mysql://...", "sqlite:///...",
    "redis://...") for workers on many machines, or a file path for a journal file that
    processes on this machine (or a shared file system) append to under a lock. A database
    URL opens through `babysit.search.database.open_database` (the installed driver, one-line
    errors).

    A journal file's every call is whole: a stop (Ctrl-C, SIGTERM, SIGHUP) that comes while it
    waits for the file's lock, writes, or reads the file into Optuna's copy of the study
    waits for the call's end (`_whole`), since Optuna's lock, interrupted, takes another
    process's lock for its own or fails with "did not possess lock", and an interrupted read
    leaves the copy missing a record."""
    import warnings

    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalRedisBackend, JournalStorage

    spec = str(spec)
    if spec.startswith("redis://"):
        try:
            with warnings.catch_warnings():  # "JournalRedisBackend is experimental"
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return JournalStorage(JournalRedisBackend(spec))
        except ImportError:
            raise ValueError(f"the storage {masked(spec)} needs the redis package: "
                             f"pip install redis") from None
    refuse_memory_database(spec)
    if "://" in spec:
        return open_database(spec)
    if _URL_WITHOUT_SLASHES.match(spec):
        raise ValueError(f"the storage {spec.partition(':')[0]}:*** is neither a URL "
                         f"(scheme://user:password@host/database) nor a journal file path; "
                         f"write the URL with its '://'")
    make_folder(Path(spec).parent, "the storage's folder")
    with stops_deferred():
        return each_call(JournalStorage(JournalFileBackend(spec)), _whole)


def refuse_memory_database(spec: str) -> None:
    """Refuse an in-memory SQLite storage ("sqlite://"): it ends with its connection, so each
    worker, and the same command run again to resume, would find it empty."""
    if str(spec).split("?")[0] in ("sqlite://", "sqlite:///", "sqlite:///:memory:"):
        raise ValueError(f"the storage {spec} is an in-memory SQLite database, which ends with "
                         f"its connection: each worker, and the same command run again to "
                         f"resume, would find it empty; name a file (sqlite:///study.db) or "
                         f"leave --storage out for a journal file in the search's folder")


def _whole(method: Callable) -> Callable:
    """`method`, a stop signal that comes during it acted on once it has returned."""
    @functools.wraps(method)
    def call(*args, **kwargs):
        with stops_deferred():
            return method(*args, **kwargs)
    return call


def study_name(study: str, stage: int) -> str:
    return f"{study}.stage{stage + 1}"


def trial_seed(*parts) -> int:
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def per_trial_random_sampler(seed: int, stage: int):
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
            s = trial_seed(seed, stage, trial.number, zlib.crc32(name.encode()))
            return optuna.samplers.RandomSampler(seed=s).sample_independent(
                study, trial, name, distribution)

    return PerTrialRandomSampler()


@dataclass
class Job:
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

    @property
    def objective(self) -> Objective:
        """What the trials are scored by: the data's task decides (`objective_for`)."""
        return objective_for(self.data.task)

    def config(self, stage: int, params: Mapping) -> dict:
        """The options a trial of `stage` trains with: base, then its sampled `params`."""
        return {**self.base, **params, "epochs": self.stages[stage].epochs or self.base["epochs"]}


FINISHED = ("COMPLETE", "PRUNED")  # a diverged trial is told PRUNED: a result, a bad one


def trial_states(*names):
    from optuna.trial import TrialState

    return tuple(TrialState[n] for n in names)


def load_study(job: Job, stage: int, storage, sampler=None):
    import optuna

    return optuna.create_study(storage=storage, study_name=study_name(job.study, stage),
                               direction=job.objective.direction, load_if_exists=True,
                               sampler=sampler)


def _fingerprint(job: Job) -> str:
    """What must not change when a search is resumed: data (its name, shapes, preprocessing and
    a digest of its rows: another file of the same name and size, or the same file with its
    typos fixed, is other data), base options, space, stage epochs."""
    d = job.data
    return json.dumps({"data": [d.name, list(d.train.X.shape), list(d.val.X.shape),
                                type(d.preprocess).__name__],
                       "rows": _rows_digest(d),
                       "base": {k: v for k, v in job.base.items() if k != "epochs"},
                       "space": {k: str(v) for k, v in job.space.items()},
                       "epochs": [s.epochs or job.base["epochs"] for s in job.stages],
                       "folds": job.folds,
                       # a regression's study minimizes: never resumed as a classification's
                       **({"task": d.task} if d.task == "regress" else {})},
                      sort_keys=True, default=str)


def _rows_digest(data) -> str:
    """A short digest (16 hex digits) of the training and validation rows and labels."""
    digest = hashlib.blake2b(digest_size=8)
    for part in (data.train, data.val):
        for array in (part.X, part.y):
            digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()


def _without_rows(theirs: str, mine: str) -> str:
    """`theirs`, a study's fingerprint, as compared with `mine`: one written before the rows'
    digest was kept is read with this search's digest (its shapes and name still compared)."""
    try:
        stored = json.loads(theirs)
    except ValueError:
        return theirs
    if not isinstance(stored, dict) or "rows" in stored:
        return theirs
    return json.dumps({**stored, "rows": json.loads(mine)["rows"]}, sort_keys=True, default=str)


def create_studies(job: Job, storage) -> None:
    """Create (or reopen) each stage's study; refuse to resume a study begun differently."""
    first = load_study(job, 0, storage)
    mine = _fingerprint(job)
    theirs = first.user_attrs.get("babysit")
    if theirs is None:
        first.set_user_attr("babysit", mine)
    elif _without_rows(theirs, mine) != mine:
        raise ValueError(f"study {job.study!r} in {masked(job.storage)} was begun with "
                         f"other data, options, space or stage epochs ({theirs}); pass another "
                         f"--study or --out (in Python: study= or out=) to start a new search, "
                         f"or the same options to resume it")
    for stage in range(1, len(job.stages)):
        load_study(job, stage, storage)


def stage_space(job: Job, stage: int, storage) -> dict[str, Dimension]:
    """The space a stage samples: the full space first, then each range narrowed around the
    best `top` fraction (at least 3) of the previous stage's finished trials. A stage that has
    begun keeps the space its trials were drawn from (`_begun_space`): a search run again with
    more trials ranks other trials of the stages before it best, and Optuna refuses to change
    a categorical's choices within a study (each stage's trials are then read in the space
    they were drawn from, to narrow the next)."""
    space = dict(job.space)
    previous = load_study(job, 0, storage) if stage else None
    for s in range(1, stage + 1):
        study = load_study(job, s, storage)     # each stage's study read once
        begun = _begun_space(study, job.space)
        if len(begun) < len(space):
            best = _ranked_trials(previous, job.objective)
            best = best[:max(_MIN_BEST, math.ceil(job.stages[s].top * len(best)))]
            if best:
                space = {name: dim.narrow([param_value(dim, t.params[name]) for t in best])
                         for name, dim in space.items()}
        space.update(begun)
        previous = study
    return space


def _begun_space(study, space: dict[str, Dimension]) -> dict[str, Dimension]:
    """{name: the range or choices a study's trials drew `name` from} for the names of the
    full `space` that some trial drew (the first to draw each)."""
    begun = {}
    for trial in study.get_trials(deepcopy=False):
        for name, dist in trial.distributions.items():
            if name in space and name not in begun:
                dim = space[name]
                number = int if isinstance(dim, IntUniform) else float   # Uniform(0, 1) too
                begun[name] = Choice(tuple(dim.value_of(label) for label in dist.choices)) \
                    if isinstance(dim, Choice) else \
                    replace(dim, lo=number(dist.low), hi=number(dist.high))
    return begun


def param_value(dim: Dimension, param):
    return dim.value_of(param) if isinstance(dim, Choice) else param


def _ranked_trials(study, objective: Objective) -> list:
    """Completed trials, best `objective` score first (ties: the earlier trial)."""
    done = study.get_trials(deepcopy=False, states=trial_states("COMPLETE"))
    return sorted(done, key=lambda t: (objective.sort_key(t.value), t.number))


