"""`babysit resume` on the folders that are not a plain run: an ensemble's member goes on
alone, as the docs promise, and the folders of commands that keep no training state say
what goes on there instead."""

from __future__ import annotations

import numpy as np
import pytest

from babysit import cli
from babysit.runs.config import RunConfig
from babysit.training import checkpoint_file

ENSEMBLE = ["--hidden", "16", "--seed", "5", "--ensemble", "2", "--no-report"]


def tensors(path) -> dict[str, np.ndarray]:
    return checkpoint_file.read(path)[0]


def test_a_member_resumed_alone_ends_bit_for_bit_as_if_trained_to_its_epochs(tmp_path):
    """member-2 was refused: its seed (6) split the data otherwise than the ensemble's (5)."""
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert cli.main(["train", *ENSEMBLE, "--epochs", "3", "--out", str(straight)]) == 0
    assert cli.main(["train", *ENSEMBLE, "--epochs", "2", "--out", str(resumed)]) == 0
    member = resumed / "member-2"
    assert cli.main(["resume", str(member), "--epochs", "3", "--no-report"]) == 0
    for name in ("checkpoints/epoch-003.safetensors", "state.safetensors"):
        want, got = tensors(straight / "member-2" / name), tensors(member / name)
        assert want.keys() == got.keys()
        assert all(np.array_equal(want[k], got[k]) for k in want), name
    assert RunConfig.load(member / "config.json").seed == 6


def folder_holding(tmp_path, *names):
    """A folder as a command wrote it: its config.json and the files `names`."""
    RunConfig().save(tmp_path / "config.json")
    for name in names:
        (tmp_path / name).write_text("{}")
    return tmp_path


@pytest.mark.parametrize("names, says", [
    (("study.journal",), "it is a search's folder; a search goes on when its own babysit "
                         "search command runs again with --out {run}"),
    (("search.json",), "it is a search's folder"),
    (("treatment.json",), "it is the folder of babysit train --fix, whose rounds are runs of "
                          "their own: resume one alone (babysit resume {run}/round-<k>)"),
    (("lr_range.json",), "(babysit lr-find), which trains no run to go on: run babysit "
                         "lr-find again"),
    (("gradient_check.txt", "history.json"), "it is the folder of babysit demo or babysit "
                                             "check, which keep no training state"),
])
def test_a_folder_without_training_state_says_what_goes_on_there(tmp_path, capsys, names,
                                                                 says):
    """A search's folder was told to start again with babysit train --config."""
    run = folder_holding(tmp_path, *names)
    assert cli.main(["resume", str(run)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says.format(run=run) in err[0], err
    assert "babysit train --config" not in err[0]


def test_a_range_test_stopped_before_its_end_says_to_run_lr_find_again(tmp_path, capsys):
    """lr-find writes lr_range.json at its end: its own folder, stopped before, holds only a
    config.json, and was told to start again with babysit train --config."""
    run = tmp_path / "runs" / "lr-find-20261208-043000"
    run.mkdir(parents=True)
    folder_holding(run)
    assert cli.main(["resume", str(run)]) == 2
    err = capsys.readouterr().err
    assert "(babysit lr-find), which trains no run to go on" in err
    assert "babysit train --config" not in err


def test_a_run_stopped_before_its_first_epoch_starts_again_from_its_config(tmp_path, capsys):
    run = folder_holding(tmp_path)
    assert cli.main(["resume", str(run)]) == 2
    assert f"start it again: babysit train --config {run / 'config.json'}" \
        in capsys.readouterr().err


def test_an_overfit_folder_says_to_run_overfit_again(tmp_path, capsys):
    """An overfit run (its history and report, no training state) was told it stopped before
    its first epoch and to start again with babysit train --config, which trains no overfit."""
    run = tmp_path / "overfit"
    assert cli.main(["overfit", "--hidden", "8", "--examples", "4", "--epochs", "2",
                     "--no-report", "--out", str(run)]) in (0, 1)
    capsys.readouterr()
    assert cli.main(["resume", str(run)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "it is the folder of babysit overfit" in err[0], err
    assert "babysit train --config" not in err[0] and "first epoch" not in err[0]
