"""The command line never lets a traceback reach a user: every error is one line on stderr and
exit status 2 (`--debug` shows the traceback); nothing is dropped or written silently."""

import importlib.util
import json

import pytest

from babysit import cli


def one_line_error(capsys, argv) -> str:
    """Run the CLI; assert status 2 and a single line on stderr; return that line."""
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="CuPy is installed")
def test_device_gpu_without_cupy_is_one_line(tmp_path, capsys):
    line = one_line_error(capsys, ["train", "--device", "gpu", "--epochs", "1",
                                   "--out", str(tmp_path / "run")])
    assert "needs CuPy" in line and "pip install 'babysit[gpu]'" in line


def test_max_norm_zero_is_refused_not_dropped(tmp_path, capsys):
    line = one_line_error(capsys, ["train", "--max-norm", "0", "--epochs", "1",
                                   "--out", str(tmp_path / "run")])
    assert "max_norm" in line.replace("-", "_") and "got 0" in line


def test_out_naming_a_file_is_one_line_naming_it(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    line = one_line_error(capsys, ["train", "--epochs", "1", "--out", str(afile)])
    assert f"{afile} is a file" in line


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(tmp_path, capsys,
                                                                       monkeypatch):
    from babysit.data import datasets

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(datasets, "load_digits", broken)
    monkeypatch.setitem(datasets.BUILTIN, "digits", broken)
    argv = ["train", "--epochs", "1", "--out", str(tmp_path / "run")]
    line = one_line_error(capsys, argv)
    assert "disk on fire" in line and "--debug" in line
    assert cli.main(["--debug", *argv]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "disk on fire" in err


def test_an_exploded_run_does_not_leave_a_silent_best_checkpoint(tmp_path, capsys):
    """digits at lr 1e6: the loss goes from 2.3 to 1e21 in one step and stays finite, so no
    NaN stops it. best.safetensors must not hold the exploded network as if it were good.
    (The exit status 3 of an exploded run is the report's part, tested with it.)"""
    out = tmp_path / "run"
    cli.main(["train", "--lr", "1e6", "--epochs", "3", "--out", str(out)])
    printed = capsys.readouterr()
    assert not (out / "best.safetensors").exists()
    assert "best.safetensors not written for epoch 1: the loss exploded" in printed.out
    history = json.loads((out / "history.json").read_text())
    assert history["loss"][-1] > 1e6 and "best_refused" in history["meta"]
    assert (out / "checkpoints" / "epoch-003.safetensors").exists()   # kept: finite weights
