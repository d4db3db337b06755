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

The package, by job: `space` (ranges, stages, what may be searched), `trial` (one
configuration trained and scored), `studies` (Optuna storages, studies, samplers), `workers`
(processes taking trials), `results` (table, warnings, plot), `retrain` (the best and the
top-k ensemble) and `runner` (`run`, the whole search).
"""

from babysit.search.database import password_warning
from babysit.search.results import SearchResult, border_warnings, train_command
from babysit.search.runner import check_options, check_plan, default_out, run
from babysit.search.space import (
    Choice,
    IntUniform,
    LogUniform,
    Stage,
    Uniform,
    base_config,
    choice,
    default_space,
    default_stages,
    intuniform,
    loguniform,
    parse_param,
    parse_stages,
    searchable_fields,
    uniform,
)
from babysit.search.studies import open_storage
from babysit.search.trial import build, evaluate, load_data

__all__ = ["Choice", "IntUniform", "LogUniform", "SearchResult", "Stage", "Uniform",
           "base_config", "border_warnings", "build", "check_options", "check_plan", "choice",
           "default_out", "default_space", "default_stages", "evaluate", "intuniform",
           "load_data", "loguniform", "open_storage", "parse_param", "parse_stages",
           "password_warning", "run", "searchable_fields", "train_command", "uniform"]
