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


def test_out_holding_an_earlier_run_is_refused_and_that_run_kept(tmp_path, capsys):
    """A second run into the same --out would overwrite the first one's history and leave its
    later epochs' checkpoints beside the new run's, as if they belonged to it."""
    out = tmp_path / "run"
    assert cli.main(["train", "--epochs", "2", "--no-report", "--out", str(out)]) == 0
    first = (out / "history.json").read_bytes()
    capsys.readouterr()
    line = one_line_error(capsys, ["train", "--epochs", "1", "--hidden", "10",
                                   "--out", str(out)])
    assert f"--out {out} already holds" in line and "history.json" in line
    assert (out / "history.json").read_bytes() == first
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == [
        "epoch-001.safetensors", "epoch-002.safetensors"]


def test_out_left_by_a_refused_command_is_reused(tmp_path, capsys):
    """A command stopped by bad input after writing the folder's config.json must not block
    the corrected command."""
    out = tmp_path / "run"
    # a step this small passes the option's reading but not the check's own test
    one_line_error(capsys, ["check", "--step", "1e-300", "--hidden", "5", "--out", str(out)])
    assert (out / "config.json").exists()
    assert cli.main(["train", "--epochs", "1", "--no-report", "--out", str(out)]) == 0


@pytest.mark.skipif(not __import__("os").path.isdir("/proc/self"), reason="needs /proc")
def test_out_that_cannot_be_created_is_one_line_naming_it(capsys):
    line = one_line_error(capsys, ["train", "--epochs", "1", "--out", "/proc/babysit/run"])
    assert line.startswith("babysit train: error: --out /proc/babysit/run: cannot create")
    assert "Error" not in line and "--debug" not in line


class ClosedPipe:
    """stdout of `babysit ... | head -0`: every write and flush finds the reader gone."""

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(32, "Broken pipe")


def test_a_reader_leaving_stdout_does_not_stop_a_run_before_its_files(tmp_path, monkeypatch,
                                                                      capsys):
    """`babysit train | head -1`: the run goes on quietly and keeps everything it writes."""
    out = tmp_path / "run"
    monkeypatch.setattr("sys.stdout", ClosedPipe())
    assert cli.main(["train", "--epochs", "2", "--out", str(out)]) == 0
    assert (out / "history.json").exists() and (out / "report.html").exists()
    assert capsys.readouterr().err == ""


def test_ctrl_c_keeps_the_history_and_says_what_was_kept(tmp_path, monkeypatch, capsys):
    from babysit.training.checkpoint import Checkpoints

    saved = Checkpoints.on_epoch_end

    def interrupted_in_epoch_3(self, trainer, epoch):
        saved(self, trainer, epoch)
        if trainer.history.epochs == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(Checkpoints, "on_epoch_end", interrupted_in_epoch_3)
    out = tmp_path / "run"
    assert cli.main(["train", "--epochs", "5", "--out", str(out)]) == 130
    line, = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("babysit train: error: interrupted in epoch 3 of 5")
    assert str(out / "history.json") in line and "the checkpoints in" in line
    history = json.loads((out / "history.json").read_text())
    assert len(history["train_acc"]) == 2 and history["loss"]
    assert cli.main(["report", str(out)]) == 0          # and the report draws it


def test_report_of_a_json_that_records_no_training_is_refused(tmp_path, capsys):
    (tmp_path / "history.json").write_text('{"epochs_asked": 3}')
    line = one_line_error(capsys, ["report", str(tmp_path)])
    assert "history.json is not a history" in line and "no 'loss'" in line
    assert not (tmp_path / "report.html").exists()


def test_report_of_a_history_whose_series_disagree_is_one_line(tmp_path, capsys):
    (tmp_path / "history.json").write_text('{"loss": [], "data_loss": [2.3, 2.2], '
                                           '"reg_loss": [0.1, 0.1]}')
    line = one_line_error(capsys, ["report", str(tmp_path)])
    assert "'data_loss' holds 2 values but 'loss' 0" in line and "IndexError" not in line


def test_a_seed_beyond_32_bits_is_named_as_the_seed(tmp_path, capsys):
    """It reached scikit-learn's split, which the error then blamed on the class counts."""
    line = one_line_error(capsys, ["train", "--seed", str(2**64), "--epochs", "1",
                                   "--out", str(tmp_path / "run")])
    assert line.startswith("babysit train: error: argument --seed: seed must be at most "
                           "4294967295") and "classes" not in line
    assert cli.main(["train", "--seed", str(2**32 - 1), "--epochs", "1", "--no-report",
                     "--out", str(tmp_path / "run")]) == 0


def test_a_regression_asked_of_a_built_in_dataset_is_refused_not_ignored(tmp_path, capsys):
    """`--data digits --task regress` trained a classifier without a word."""
    line = one_line_error(capsys, ["train", "--data", "digits", "--task", "regress",
                                   "--epochs", "1", "--out", str(tmp_path / "run")])
    assert "task='regress' applies to .csv files only" in line and "'digits'" in line


def test_a_batch_size_beyond_the_training_rows_is_said(tmp_path, capsys):
    """Tiny data with a big batch: the run is right (full-batch steps), and says so."""
    assert cli.main(["train", "--batch-size", "5000", "--epochs", "1", "--no-report",
                     "--out", str(tmp_path / "run")]) == 0
    assert ("batch size 5000 is more than the 1078 training examples: each epoch is one full "
            "batch of 1078") in capsys.readouterr().out


@pytest.mark.parametrize("flag, text, expected", [
    ("--epochs", "1.5", "expected a whole number, got '1.5'"),
    ("--lr", "fast", "expected a number, got 'fast'"),
])
def test_a_number_that_does_not_read_says_what_was_expected(tmp_path, capsys, flag, text,
                                                            expected):
    """Python's "invalid literal for int() with base 10" is no words for a user."""
    line = one_line_error(capsys, ["train", flag, text, "--out", str(tmp_path / "run")])
    assert f"argument {flag}: {expected}" in line and "literal" not in line


def test_max_rounds_without_fix_is_refused_not_ignored(tmp_path, capsys):
    line = one_line_error(capsys, ["train", "--max-rounds", "2", "--epochs", "1",
                                   "--out", str(tmp_path / "run")])
    assert "--max-rounds 2 counts the retrainings of --fix" in line
    assert not (tmp_path / "run").exists()


def test_a_step_below_float64_resolution_reads_as_plain_numbers(tmp_path, capsys):
    """The check runs on a float64 copy: 'or float64' was no advice, np.float64(...) no
    number a user writes."""
    line = one_line_error(capsys, ["check", "--step", "1e-300", "--hidden", "5",
                                   "--out", str(tmp_path / "run")])
    assert "h=1e-300 is below the resolution of float64" in line
    assert "np.float64" not in line and line.endswith("; use a larger h")


def test_an_unknown_option_points_at_the_commands_own_help(capsys):
    line = one_line_error(capsys, ["train", "--bogus", "3"])
    assert line == ("babysit train: error: unrecognized arguments: --bogus 3 "
                    "(see babysit train --help)")


def test_config_naming_a_run_folder_says_which_file_to_give(tmp_path, capsys):
    """It said only "Is a directory"."""
    run = tmp_path / "run"
    run.mkdir()
    line = one_line_error(capsys, ["train", "--config", str(run), "--epochs", "1"])
    assert f"it is a folder; give the file in it, {run / 'config.json'}" in line
