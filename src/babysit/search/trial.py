"""One trial: a configuration -> its network and Trainer -> its validation accuracy."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from babysit import builders
from babysit.config import RunConfig
from babysit.data import datasets
from babysit.finish import top_finding


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
    """Train `config` and score it by validation accuracy after the last epoch.

    folds=1 trains on data.train and validates on data.val (the notes' preference); folds=k
    runs stratified k-fold cross-validation over train and val together and reports the
    mean (and std) over folds. The test split is never touched. "finding" is the top finding
    of the diagnosis ("warning: overfitting"; the worst fold's). Raises DivergedError.
    """
    if folds == 1:
        _, trainer = build(config, data.n_features, data.n_classes)
        h = trainer.fit(data.train.X, data.train.y, val=data.val)
        return {"val_accuracy": h.val_acc[-1], "train_accuracy": h.train_acc[-1],
                "finding": top_finding(h)}
    from sklearn.model_selection import StratifiedKFold

    X = np.concatenate([data.train.X, data.val.X])
    y = np.concatenate([data.train.y, data.val.y])
    val, train, findings = [], [], []
    split = StratifiedKFold(folds, shuffle=True, random_state=int(config.get("seed", 0)))
    for fit_rows, val_rows in split.split(X, y):
        _, trainer = build(config, data.n_features, data.n_classes)
        h = trainer.fit(X[fit_rows], y[fit_rows], val=(X[val_rows], y[val_rows]))
        val.append(h.val_acc[-1])
        train.append(h.train_acc[-1])
        findings.append(top_finding(h))
    return {"val_accuracy": float(np.mean(val)), "val_std": float(np.std(val)),
            "train_accuracy": float(np.mean(train)), "finding": _worst(findings)}


def _worst(findings: list[str]) -> str:
    """The most severe of the folds' top findings ("severity: what"; "" for none)."""
    rank = {"error": 0, "warning": 1, "info": 2}
    return min(findings, key=lambda f: rank.get(f.partition(":")[0], 3), default="")


