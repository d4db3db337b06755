"""What a run says when the machine or the input is at fault: a full disk names the file and
the command that resumes the run; the last unclear input errors each get one clear line."""

from __future__ import annotations

import errno
import json
import os
import re

import numpy as np
import pytest

import babysit as bs
from babysit import cli
from babysit.data import datasets
from babysit.sklearn import BabysitClassifier

SMALL = ["--hidden", "16", "--seed", "3", "--no-report"]


def one_line(capsys, argv, status: int = 2) -> str:
    """The one line on stderr of a command that exits `status`."""
    assert cli.main(argv) == status
    line, = capsys.readouterr().err.strip().splitlines()
    return line


def test_a_full_disk_names_the_file_and_the_command_that_resumes(tmp_path, capsys,
                                                                 monkeypatch):
    """It said "OSError: [Errno 28] No space left on device", no file, no way on."""
    run, fsyncs = tmp_path / "run", []
    real = os.fsync

    def full_after_epoch_1(fd):    # epoch 1 writes best and state: two fsyncs
        fsyncs.append(fd)
        if len(fsyncs) > 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd)

    monkeypatch.setattr(os, "fsync", full_after_epoch_1)
    line = one_line(capsys, ["train", *SMALL, "--epochs", "5", "--out", str(run)])
    assert line.startswith(f"babysit train: error: {run / 'best.safetensors'}: No space left "
                           f"on device; once it can be written, to continue the run: "
                           f"babysit resume {run}")
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]
    monkeypatch.setattr(os, "fsync", real)
    assert cli.main(["train", "--resume", str(run)]) == 0


def table(path, header: str, rows: list[str]) -> str:
    path.write_text("\n".join([header, *rows]) + "\n")
    return str(path)


def rows(n: int = 40, first=lambda i: f"{i % 7}.5", label=lambda i: f"c{i % 2}") -> list[str]:
    return [f"{first(i)},{i % 3}.25,{label(i)}" for i in range(n)]


def test_a_header_row_of_numbers_is_questioned_and_no_header_reads_it_as_data(tmp_path,
                                                                             capsys):
    """A file without a header trained: its first example became the column names, lost."""
    path = table(tmp_path / "t.csv", "1.5,0.25,0", [r.replace("c", "") for r in rows()])
    line = one_line(capsys, ["train", *SMALL, "--data", path, "--target", "0", "--out",
                             str(tmp_path / "a")])
    assert "its first row (1.5,0.25,0) holds numbers alone: does the file have a header? " \
           "If that row is data, add --no-header" in line
    out = tmp_path / "b"
    assert cli.main(["train", *SMALL, "--data", path, "--no-header", "--target", "3",
                     "--epochs", "1", "--json", "--out", str(out)]) == 0
    assert json.loads((out / "config.json").read_text())["header"] is False
    data = bs.data.load(path, target="3", header=False)
    assert sum(len(s.y) for s in (data.train, data.val, data.test)) == 41   # none lost
    # the model reads new rows as it read its training rows: without a header
    assert cli.main(["predict", str(out), "--data", path]) == 0
    assert "predicted 3," in capsys.readouterr().out


def test_a_test_file_without_a_header_is_read_as_the_data_file_is(tmp_path):
    """--no-header read the --data file without one but the --test-data file with one: its
    first row became column names ("lacks '3' and has '1.5' besides")."""
    train = table(tmp_path / "train.csv", "1.5,0.25,0", [r.replace("c", "") for r in rows()])
    test = table(tmp_path / "test.csv", "2.5,1.25,1", [r.replace("c", "") for r in rows(9)])
    out = tmp_path / "run"
    assert cli.main(["train", *SMALL, "--data", train, "--no-header", "--target", "3",
                     "--test-data", test, "--epochs", "1", "--json", "--out", str(out)]) == 0
    data = bs.data.load(train, target="3", header=False, test_data=test)
    assert len(data.test.y) == 10                   # the test file's first row is data too


def test_blank_lines_and_a_line_of_spaces_at_the_end_are_skipped(tmp_path, capsys):
    """They were "a data row has 1 cells but the header has 3"."""
    path = tmp_path / "t.csv"
    path.write_text("\n".join(["a,b,y", *rows()]) + "\n\n   \n\t\n")
    data = bs.data.load(str(path), target="y")
    assert sum(len(s.y) for s in (data.train, data.val, data.test)) == 40


def test_numbers_with_thousands_separators_get_their_own_message(tmp_path, capsys):
    """"1,000" read as text: "an identifier or free text", or a category of numbers."""
    path = table(tmp_path / "t.csv", "a,b,y", rows(first=lambda i: f'"{i % 9 + 1},{i:03d}"'))
    line = one_line(capsys, ["train", *SMALL, "--data", path, "--target", "y"])
    assert re.search(r"column 'a' holds numbers written with thousands separators "
                     r"\('(\d),(\d{3})' in data row \d+ \(line \d+\)\); write them without "
                     r"the separators \(\1\2\)", line), line


def test_a_target_with_thousands_separators_is_refused_not_taken_for_classes(tmp_path,
                                                                              capsys):
    """A price exported as "250,000" was classified, one class per price."""
    path = table(tmp_path / "p.csv", "a,b,price",
                 rows(label=lambda i: f'"{150 + 25 * (i % 10)},000"'))
    line = one_line(capsys, ["train", *SMALL, "--data", path, "--target", "price"])
    assert "the target 'price' holds numbers written with thousands separators ('150,000' " \
           "in data row 0 (line 2)); write them without the separators (150000)" in line, line


def test_a_label_column_mixing_text_and_numbers_is_one_clear_line():
    """A bare TypeError (NumPy cannot sort 1 and 'cat'), or scikit-learn's "Unknown label
    type ... a regression target"."""
    y = np.array([1, "cat", 2, "dog"] * 5, dtype=object)
    with pytest.raises(ValueError, match=r"the class labels in y mix text and numbers "
                                         r"\('cat' and 1\)"):
        BabysitClassifier(epochs=1).fit(np.zeros((20, 2)), y)
    with pytest.raises(ValueError, match="the class labels in labels mix text and numbers"):
        datasets.encode_labels(y)


@pytest.mark.parametrize("where", ["config", "estimator"])
def test_a_wrong_type_says_the_type_expected(tmp_path, capsys, where):
    """"lr": "0.01" read as "lr must be > 0, got '0.01'", a range, not a type."""
    if where == "config":
        (tmp_path / "c.json").write_text('{"lr": "0.01"}')
        line = one_line(capsys, ["train", "--config", str(tmp_path / "c.json")])
        assert line.endswith("lr must be a number, got the string '0.01'")
    else:
        with pytest.raises(ValueError, match="^lr must be a number, got the string 'fast'$"):
            BabysitClassifier(lr="fast").fit(np.zeros((4, 2)), [0, 1, 0, 1])
        with pytest.raises(ValueError, match=r"epochs must be a positive integer, got the "
                                             r"string '3'"):
            BabysitClassifier(epochs="3").fit(np.zeros((4, 2)), [0, 1, 0, 1])


@pytest.mark.parametrize("name", ["digits", "mnist"])
def test_fractions_are_refused_for_the_built_in_datasets(name):
    """`load("digits", fractions=(0.5, 0.6, 0.2))` ignored them, valid or not."""
    with pytest.raises(ValueError, match=rf"fractions=\(0.5, 0.6, 0.2\) \(--split\) apply to "
                                         rf"files only: the built-in dataset '{name}' comes "
                                         rf"with its own fixed split"):
        bs.data.load(name, fractions=(0.5, 0.6, 0.2))


def test_predict_names_the_formats_it_reads_and_where_the_model_is(tmp_path, capsys):
    """`--data x.npz` said "not UTF-8 text"; `RUN/state.safetensors` said the run "was not
    trained on a table"."""
    path = table(tmp_path / "t.csv", "a,b,y", rows())
    run = tmp_path / "run"
    assert cli.main(["train", *SMALL, "--data", path, "--target", "y", "--epochs", "1",
                     "--out", str(run)]) == 0
    capsys.readouterr()
    np.savez(tmp_path / "x.npz", X=np.zeros((2, 2)))
    line = one_line(capsys, ["predict", str(run), "--data", str(tmp_path / "x.npz")])
    assert "x.npz is not a table: babysit predict reads new rows from a .csv or .tsv file" \
        in line
    line = one_line(capsys, ["predict", str(run / "state.safetensors"), "--data", path])
    assert "state.safetensors is a run's training state" in line
    assert f"give the run folder {run} (its best.safetensors) instead" in line


def test_predict_questions_a_header_of_numbers_naming_the_models_columns(tmp_path, capsys):
    """predict's question advised --no-header, an option predict does not have."""
    run = tmp_path / "run"
    assert cli.main(["train", *SMALL, "--data", table(tmp_path / "t.csv", "a,b,y", rows()),
                     "--target", "y", "--epochs", "1", "--out", str(run)]) == 0
    capsys.readouterr()
    headless = table(tmp_path / "new.csv", "1.5,0.25", [r.rpartition(",")[0] for r in rows()])
    line = one_line(capsys, ["predict", str(run), "--data", headless])
    assert "holds numbers alone: does the file have a header? If that row is data, add a " \
           "header row naming the columns the model was trained on: a,b;" in line
    assert "--no-header" not in line


def test_predict_warns_of_a_column_no_row_gives_a_value(tmp_path, capsys):
    """An export that lost a column was predicted without a word, every row filled in alike."""
    run = tmp_path / "run"
    assert cli.main(["train", *SMALL, "--data", table(tmp_path / "t.csv", "a,b,y", rows()),
                     "--target", "y", "--epochs", "1", "--out", str(run)]) == 0
    capsys.readouterr()
    lost = table(tmp_path / "new.csv", "a,b", [f"{i}.5," for i in range(5)])
    assert cli.main(["predict", str(run), "--data", lost]) == 0
    err = capsys.readouterr().err
    assert "new.csv: column 'b' holds no value in any of its 5 rows: filled in as a missing " \
           "cell is, the same for every row, so the predictions ignore it" in err
    one = table(tmp_path / "one.csv", "a,b", ["1.5,"])        # one row may miss a cell
    assert cli.main(["predict", str(run), "--data", one]) == 0
    assert "holds no value" not in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".npz", ".npy"])
def test_fractional_labels_of_an_array_file_do_not_point_to_task_regress(tmp_path, capsys,
                                                                         suffix):
    """It said "a quantity is trained with --task regress", which refuses an array file."""
    X, y = np.zeros((10, 2)), np.arange(10) + 0.5
    path = tmp_path / f"x{suffix}"
    if suffix == ".npz":
        np.savez(path, X=X, y=y)
    else:
        np.save(path, X)
        np.save(tmp_path / "x.labels.npy", y)
    line = one_line(capsys, ["train", *SMALL, "--data", str(path), "--epochs", "1",
                             "--out", str(tmp_path / "run")])
    assert "got 0.5 at row 0" in line and "--task regress" not in line
    assert "a quantity is regressed from a .csv file" in line


def test_a_text_column_that_names_the_class_is_named_by_its_table_column(tmp_path, capsys):
    """A table whose 'grade' column spells out the class: one-hot encoded, its three columns
    together give every label, and the diagnosis names them as the table does."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((150, 4))
    y = rng.integers(0, 3, 150)
    path = tmp_path / "t.csv"
    lines = ["a,b,c,d,grade,cls"] + [
        ",".join(f"{v:.4f}" for v in row) + f",{['low', 'mid', 'high'][c]},{c}"
        for row, c in zip(X, y, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    assert cli.main(["train", "--data", str(path), "--target", "cls", "--epochs", "5",
                     "--no-report", "--out", str(tmp_path / "run")]) == 0
    said = capsys.readouterr().out
    assert "input features 'grade=high', 'grade=low', 'grade=mid' are each the same on every " \
           "row of a class" in said
