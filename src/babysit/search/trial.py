"""One trial: a configuration -> its network and Trainer -> its validation score (accuracy, or
loss for a regression)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from babysit.backend import to_numpy
from babysit.data import datasets
from babysit.runs import builders
from babysit.runs.config import RunConfig
from babysit.runs.finish import top_finding
from babysit.runs.run import DIVERGED, Run
from babysit.search.objective import objective_for
from babysit.training.metrics import regression_metrics

__all__ = ["load_data", "build", "evaluate"]


def load_data(name: str, seed: int = 0) -> datasets.Dataset:
    """The dataset `babysit train --data NAME --seed SEED` trains on, preprocessed alike."""
    return builders.load_data(RunConfig(data=name, seed=seed))


def build(config: Mapping, n_in: int, n_out: int, data: datasets.Dataset | None = None):
    """The network and quiet Trainer `babysit train` builds from the same settings.

    config: RunConfig field name -> value, as in `base_config()`. With `data`, the monitors
    record too (for a report). Returns (net, trainer).
    """
    cfg = RunConfig.from_dict(config)
    net = builders.build_model(cfg, n_in, n_out)
    return net, builders.build_trainer(cfg, net, quiet=True, data=data)


def evaluate(config: Mapping, data: datasets.Dataset, folds: int = 1) -> dict:
    """Train `config` and score it after the last epoch by the task's objective
    (`babysit.search.objective`): classes by "val_accuracy" (and "train_accuracy"), a
    regression target by "val_loss", the data loss of the standardized target (and
    "val_rmse", in the target's units).

    folds=1 trains on data.train and validates on data.val (the notes' preference); folds=k
    runs k-fold cross-validation (stratified for classes) over train and val together and
    reports the mean over folds, and "val_std", the spread of the score. The test split is
    never touched. "finding" is the top finding of the diagnosis ("warning: overfitting"; the
    worst fold's). Raises DivergedError.
    """
    if folds == 1:
        return _scores(config, data, data.train, data.val)
    from sklearn.model_selection import KFold, StratifiedKFold

    X = np.concatenate([data.train.X, data.val.X])
    y = np.concatenate([data.train.y, data.val.y])
    kind = KFold if data.task == "regress" else StratifiedKFold
    split = kind(folds, shuffle=True, random_state=int(config.get("seed", 0)))
    per_fold = [_scores(config, data, (X[fit], y[fit]), (X[held], y[held]))
                for fit, held in split.split(X, y)]
    scores = {name: float(np.mean([s[name] for s in per_fold]))
              for name in per_fold[0] if name != "finding"}
    metric = objective_for(data.task).metric
    return {**scores, "val_std": float(np.std([s[metric] for s in per_fold])),
            "finding": _worst([s["finding"] for s in per_fold])}


def _worst(findings: list[str]) -> str:
    """The most severe of the folds' top findings ("severity: what"; "" for none)."""
    rank = {"error": 0, "warning": 1, "info": 2}
    return min(findings, key=lambda f: rank.get(f.partition(":")[0], 3), default="")


def _scores(config: Mapping, data: datasets.Dataset, train, val) -> dict:
    """Train `config` on train (X, y), validate on val (X, y), quiet and without monitors (a
    `Run`): `evaluate`'s scores."""
    run = Run.prepare(RunConfig.from_dict(config), data=data, monitors=False, quiet=True)
    if run.fit(train, val) == DIVERGED:
        raise run.error
    trainer, h = run.trainer, run.history
    # the epoch whose weights the run ends with: the last, or the best one put back
    # (`BestWeights`, a table's default), which the retrained best is too
    kept = h.meta.get("best_weights", {}).get("epoch", h.epochs) - 1
    if data.task == "regress":
        restore = data.target.inverse_transform
        rmse = regression_metrics(restore(val[1]), restore(to_numpy(trainer.scores(val[0]))))
        return {"val_loss": h.val_loss[kept], "val_rmse": rmse["rmse"],
                "finding": top_finding(h)}
    return {"val_accuracy": h.val_acc[kept], "train_accuracy": h.train_acc[kept],
            "finding": top_finding(h)}
