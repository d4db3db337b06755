"""A run's scores are those of the network it ends with: the best validation epoch's, when
`BestWeights` put its weights back, not the last epoch's records."""

from __future__ import annotations

import numpy as np
import pytest

from babysit.backend import to_numpy
from babysit.runs import finish, run_lock
from babysit.runs.config import RunConfig
from babysit.runs.run import Run
from babysit.training import checkpoint
from babysit.training.history import History
from babysit.training.metrics import split_metrics
from babysit.training.trainer import accuracy, predict_scores

ROWS, FEATURES = 150, 20
# Wide enough, fast enough and unpenalized, it learns the table's noise: on these rows
# (seed 0) its validation accuracy peaks at epoch 7 and is lower at epoch 30.
OVERFITS = {"hidden": (64,), "epochs": 30, "reg": 0.0, "lr": 1e-2, "seed": 0,
            "split": (0.6, 0.2, 0.2)}


def noisy_table(path, target: str) -> str:
    """A .csv of ROWS rows: FEATURES Gaussian columns and `target`, "label" (the sign of the
    first three columns' sum, a fifth of the labels flipped) or "value" (that sum plus
    noise). Returns its path."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(ROWS, FEATURES))
    signal = X[:, :3].sum(axis=1)
    if target == "label":
        y = (signal > 0).astype(int)
        flipped = rng.random(ROWS) < 0.2
        y[flipped] = 1 - y[flipped]
        cells = [str(t) for t in y]
    else:
        cells = [f"{t:.5f}" for t in signal + rng.normal(scale=1.5, size=ROWS)]
    lines = [",".join([f"x{i}" for i in range(FEATURES)] + [target])]
    lines += [",".join([*(f"{v:.5f}" for v in row), cell])
              for row, cell in zip(X, cells, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _finished(cfg: RunConfig, out) -> tuple[Run, dict]:
    """`cfg` trained in a new run folder `out`, and its summary."""
    with run_lock.command_scope():
        run = Run.prepare(cfg, out=out, command="train", quiet=True)
        run.fit()
        summary, _ = run.finish(lambda line: None, report=False)
    return run, summary


def test_a_run_that_put_back_its_best_epoch_reports_that_epochs_accuracies(tmp_path):
    cfg = RunConfig(data=noisy_table(tmp_path / "noisy.csv", "label"), target="label",
                    best_weights=True, **OVERFITS)
    run, summary = _finished(cfg, tmp_path / "run")
    h, data, trainer = run.history, run.data, run.trainer
    kept = h.meta["best_weights"]["epoch"]
    assert kept < h.epochs and h.val_acc[-1] < h.val_acc[kept - 1]  # the last was worse
    assert summary["val_accuracy"] == h.val_acc[kept - 1] == trainer.accuracy(*data.val)
    assert summary["train_accuracy"] == h.train_acc[kept - 1] == trainer.accuracy(*data.train)
    assert summary["test_accuracy"] == trainer.accuracy(*data.test)
    assert h.meta["kept_model"] == {"epoch": kept, "train_accuracy": h.train_acc[kept - 1],
                                    "val_accuracy": h.val_acc[kept - 1]}
    # the model `babysit predict` loads from the folder scores the same
    net, _ = checkpoint.load(run.out / "best.safetensors")
    for split in ("train", "val", "test"):
        assert summary[f"{split}_accuracy"] == accuracy(net, *getattr(data, split))


def test_without_best_weights_the_scores_are_the_last_epochs(tmp_path):
    cfg = RunConfig(data=noisy_table(tmp_path / "noisy.csv", "label"), target="label",
                    best_weights=False, **OVERFITS)
    run, summary = _finished(cfg, tmp_path / "run")
    h = run.history
    assert "best_weights" not in h.meta and h.meta["kept_model"]["epoch"] == h.epochs
    assert summary["val_accuracy"] == h.val_acc[-1] == run.trainer.accuracy(*run.data.val)
    assert summary["train_accuracy"] == h.train_acc[-1]


def test_a_regression_that_put_back_its_best_epoch_reports_that_epochs_errors(tmp_path):
    cfg = RunConfig(data=noisy_table(tmp_path / "values.csv", "value"), target="value",
                    best_weights=True, **OVERFITS)
    run, summary = _finished(cfg, tmp_path / "run")
    h = run.history
    kept = h.meta["best_weights"]["epoch"]
    assert run.data.task == "regress" and kept < h.epochs
    assert h.meta["kept_model"] == {"epoch": kept, "train_accuracy": None, "val_accuracy": None}
    net, _ = checkpoint.load(run.out / "best.safetensors")
    loaded = split_metrics(lambda X: to_numpy(predict_scores(net, X)), run.data)
    for name in ("train_rmse", "val_rmse", "test_rmse", "val_mae", "val_r2"):
        assert summary[name] == pytest.approx(loaded[name], rel=1e-6)


def test_the_kept_epoch_is_the_one_put_back_else_the_last():
    h = History(train_acc=[0.6, 0.9, 1.0], val_acc=[0.6, 0.8, 0.7])
    assert finish.kept_epoch(h) == 3
    assert finish.kept_accuracies(h) == {"train_accuracy": 1.0, "val_accuracy": 0.7}
    h.meta["best_weights"] = {"epoch": 2, "note": "put back"}
    assert finish.kept_epoch(h) == 2
    assert finish.kept_accuracies(h) == {"train_accuracy": 0.9, "val_accuracy": 0.8}
    assert finish.kept_accuracies(History()) == {"train_accuracy": None, "val_accuracy": None}
