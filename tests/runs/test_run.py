"""`Run`: prepare -> fit -> how it ended (finished, stopped, diverged) -> finish."""

from __future__ import annotations

import json

import numpy as np

from babysit.runs import run_lock
from babysit.runs.config import RunConfig
from babysit.runs.run import DIVERGED, FINISHED, STOPPED, Run

SMALL = {"hidden": (16,), "epochs": 3, "seed": 0}
DIVERGING_LR = 5.5  # plain SGD at this rate turns NaN on centred digits (see test_finish)


def test_a_run_with_a_new_folder_trains_and_finishes_with_its_summary(digits_split, tmp_path):
    with run_lock.command_scope():  # the folder's lock is held to the command's end
        _run_in_a_new_folder(digits_split, tmp_path)


def _run_in_a_new_folder(digits_split, tmp_path):
    run = Run.prepare(RunConfig(**SMALL), data=digits_split, out=tmp_path / "r",
                      command="train", quiet=True)
    assert json.loads((run.out / "config.json").read_text())["hidden"] == [16]
    assert run.fit() == FINISHED and run.error is None and run.seconds > 0
    said = []
    summary, outcome = run.finish(said.append, report=False)
    assert summary["epochs"] == 3 and summary["test_accuracy"] == run.history.meta["test_accuracy"]
    assert outcome.status == 0 and "\ndiagnosis:" in said
    assert (run.out / "history.json").is_file() and (run.out / "state.safetensors").is_file()


def test_a_run_stopped_by_early_stopping_says_so(digits_split):
    # A rate too small to change a prediction: validation accuracy stays flat.
    cfg = RunConfig(**{**SMALL, "epochs": 6}, optimizer="sgd", lr=1e-12, patience=1)
    run = Run.prepare(cfg, data=digits_split, quiet=True)
    assert run.fit() == STOPPED and run.trainer.epoch < 6 and run.out is None


def test_a_run_that_diverges_is_kept_with_its_error(digits_split, centred_digits):
    X, y, Xv, yv = centred_digits
    cfg = RunConfig(hidden=(100, 100), epochs=5, seed=0, optimizer="sgd", lr=DIVERGING_LR)
    run = Run.prepare(cfg, data=digits_split, quiet=True, monitors=False)
    with np.errstate(all="ignore"):
        assert run.fit(train=(X, y), val=(Xv, yv)) == DIVERGED
    assert run.error is not None and run.error.history is run.history


def test_commands_started_in_the_same_second_take_two_default_folders(tmp_path, monkeypatch):
    """The name was chosen by whether it existed, then made: a process that made it between
    the two steps (seen here as a folder that did not exist when asked) shared it, and one of
    the two commands was refused as writing another's folder."""
    from pathlib import Path

    from babysit.runs import folder

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(folder.time, "strftime", lambda fmt: "20261207-120000")
    theirs = Path("runs") / "train-20261207-120000"
    theirs.mkdir(parents=True)
    asked = Path.exists
    monkeypatch.setattr(Path, "exists", lambda p: p != theirs and asked(p))
    ours = folder.new_folder(None, "train", RunConfig(), lock=False)
    assert ours.name == "train-20261207-120000-2"
    assert asked(ours / "config.json") and not asked(theirs / "config.json")   # theirs untouched
