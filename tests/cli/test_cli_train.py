"""`babysit train` and `babysit demo` end to end, in-process and through the installed script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from babysit import History
from babysit.cli import main


def _last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


def test_train_prints_a_json_summary_last_and_writes_the_run_folder(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data", "digits", "--epochs", "3", "--json", "--out", str(out)]) == 0
    summary = _last_json(capsys.readouterr().out)
    for key in ("train_accuracy", "val_accuracy", "test_accuracy"):
        assert 0.8 < summary[key] <= 1.0, key
    assert summary["epochs"] == 3
    assert Path(summary["run_dir"]) == out
    history = History.load(out / "history.json")
    assert history.epochs == 3 and history.val_acc[-1] == summary["val_accuracy"]


def test_without_json_the_output_is_for_people(tmp_path, capsys):
    argv = ["train", "--hidden", "16", "--epochs", "1", "--out", str(tmp_path)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "test accuracy" in text
    with pytest.raises(json.JSONDecodeError):
        _last_json(text)


def test_main_leaves_numpy_error_handling_as_it_found_it(tmp_path, capsys):
    before = np.geterr()
    main(["train", "--hidden", "8", "--epochs", "1", "--out", str(tmp_path)])
    assert np.geterr() == before


@pytest.mark.parametrize(("flag", "value", "known"), [
    ("--init", "glorot", "he"),
    ("--optimizer", "adamw", "rmsprop"),
    ("--data", "nosuchset", "digits"),
])
def test_unknown_names_exit_2_with_the_known_ones(tmp_path, capsys, flag, value, known):
    code = main(["train", flag, value, "--epochs", "1", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "unknown" in err and value in err and known in err
    assert "Traceback" not in err


def test_the_installed_command_runs(tmp_path):
    babysit = Path(sys.executable).parent / "babysit"
    assert babysit.exists(), "the console script is not installed next to this Python"
    done = subprocess.run(
        [str(babysit), "train", "--data", "digits", "--epochs", "3", "--json",
         "--out", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    summary = _last_json(done.stdout)
    assert summary["test_accuracy"] > 0.8
    assert (tmp_path / "run" / "history.json").exists()


def test_demo_reaches_97_percent_on_digits(tmp_path, capsys):
    assert main(["demo", "--json", "--out", str(tmp_path / "demo")]) == 0
    assert _last_json(capsys.readouterr().out)["test_accuracy"] >= 0.97
