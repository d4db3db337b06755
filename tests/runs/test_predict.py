"""A model trained on a table predicts new rows: its encoders, preprocessing and class names
travel in the checkpoint, columns are matched by name."""

import errno
import json
import os
import warnings

import numpy as np
import pytest

from babysit import cli
from babysit.data import datasets, preprocess, tabular
from babysit.nn import layers
from babysit.runs.predict import IgnoredColumnsWarning, match_columns, predict_table
from babysit.training import checkpoint
from babysit.training.trainer import predict_scores

HEADER = ["island", "mass", "sex", "species"]


def table_rows(n=45, holes=True):
    species = ["Adelie", "Gentoo", "Chinstrap"]
    return [[["Biscoe", "Dream"][i % 2],
             "NA" if holes and i % 10 == 0 else str(3000 + 900 * (i % 3) + i),
             "" if i % 7 == 0 else ["male", "female"][i % 2], species[i % 3]] for i in range(n)]


def write(path, header, rows):
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n")
    return path


def saved_model(tmp_path, task=None, target="species"):
    """A small untrained network on the table, saved as a run would save it."""
    rows = table_rows(holes=target != "mass")
    data = datasets.load(write(tmp_path / "train.csv", HEADER, rows), target=target, task=task)
    data = data.preprocessed(preprocess.Standardize())
    net = layers.mlp(data.n_features, [8], data.n_outputs, seed=0)
    table = tabular.to_checkpoint(data.table, data.target)
    path = checkpoint.save(tmp_path / "model", net, preprocess=data.preprocess,
                           meta={tabular.CHECKPOINT_KEY: table})
    return data, net, path


def test_predictions_through_a_checkpoint_equal_the_trained_pipeline(tmp_path):
    data, net, path = saved_model(tmp_path)
    rows = table_rows()[:9]
    with pytest.warns(IgnoredColumnsWarning, match="'species'"):     # the target is ignored
        result = predict_table(path, write(tmp_path / "new.csv", HEADER, rows))
    cells = np.array([r[:3] for r in rows])
    scores = predict_scores(net, data.preprocess.transform(data.table.transform(cells)))
    assert result.classes == ["Adelie", "Chinstrap", "Gentoo"]
    assert result.labels.tolist() == [result.classes[i] for i in scores.argmax(axis=1)]
    assert np.allclose(result.probabilities.sum(axis=1), 1)
    assert result.columns == ["predicted species", "P(Adelie)", "P(Chinstrap)", "P(Gentoo)",
                              "far outside training range"]
    out = result.write_csv(tmp_path / "predictions.csv").read_text().splitlines()
    assert out[0] == ("predicted species,P(Adelie),P(Chinstrap),P(Gentoo),"
                      "far outside training range") and len(out) == 10


def test_columns_are_matched_by_name_in_any_order(tmp_path):
    _, _, path = saved_model(tmp_path)
    rows = [r[:3] for r in table_rows()[:6]]
    shuffled = [[r[2], r[0], r[1]] for r in rows]
    with warnings.catch_warnings():
        warnings.simplefilter("error")                            # no column is extra here
        a = predict_table(path, write(tmp_path / "a.csv", HEADER[:3], rows))
        b = predict_table(path, write(tmp_path / "b.csv", ["sex", "island", "mass"], shuffled))
    assert np.array_equal(a.probabilities, b.probabilities)


def test_a_missing_column_is_an_error_naming_it(tmp_path):
    _, _, path = saved_model(tmp_path)
    rows = [[r[0], r[2]] for r in table_rows()[:4]]
    with pytest.raises(ValueError, match="lacks the column 'mass' the model was trained on"):
        predict_table(path, write(tmp_path / "new.csv", ["island", "sex"], rows))
    with pytest.raises(ValueError, match="matched exactly, and the file has 'Mass'"):
        predict_table(path, write(tmp_path / "cap.csv", ["island", "Mass", "sex"],
                                  [r[:3] for r in table_rows()[:4]]))
    with pytest.warns(IgnoredColumnsWarning, match="ignoring columns 'id', 'note'"):
        assert match_columns(["id", "b", "a", "note"], ["a", "b"], "x.csv") == [2, 1]


def test_a_regression_model_predicts_in_the_targets_units(tmp_path):
    data, net, path = saved_model(tmp_path, task="regress", target="mass")
    rows = [[r[0], r[2], r[3]] for r in table_rows()[:5]]
    result = predict_table(path, write(tmp_path / "new.csv", ["island", "sex", "species"], rows))
    cells = np.array([[r[0], r[1], r[2]] for r in rows])
    scores = predict_scores(net, data.preprocess.transform(data.table.transform(cells)))
    assert result.columns == ["predicted mass", "far outside training range"]
    assert np.allclose(result.values, scores[:, 0] * data.target.scale_ + data.target.mean_)
    # written as they read back: 6 significant digits made 1,234,567 into 1.23457e+06
    assert [float(row[0]) for row in result.rows()] == result.values.tolist()


def test_a_model_without_a_table_is_refused(tmp_path):
    net = layers.mlp(3, [4], 2, seed=0)
    path = checkpoint.save(tmp_path / "plain", net)
    with pytest.raises(ValueError, match="not trained on a table"):
        predict_table(path, write(tmp_path / "new.csv", ["a"], [["1"]]))


def test_new_rows_that_are_not_there_are_refused_naming_the_file(tmp_path):
    _, _, path = saved_model(tmp_path)
    with pytest.raises(ValueError, match=r"no such file: .*new\.csv"):
        predict_table(path, tmp_path / "new.csv")


def test_predictions_are_written_into_a_folder_that_does_not_exist_yet(tmp_path):
    _, _, path = saved_model(tmp_path)
    rows = [r[:3] for r in table_rows()[:3]]
    result = predict_table(path, write(tmp_path / "new.csv", HEADER[:3], rows))
    out = result.write_csv(tmp_path / "out" / "predictions.csv")
    assert out.read_text().splitlines()[0].startswith("predicted species")


def predict_error(capsys, argv) -> str:
    """`babysit predict ...`: exit status 2 and one line on stderr, returned."""
    from babysit import cli

    assert cli.main(["predict", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def new_rows(tmp_path):
    return write(tmp_path / "new.csv", HEADER[:3], [r[:3] for r in table_rows()[:3]])


def test_out_naming_the_new_rows_is_refused_and_they_are_kept(tmp_path, capsys):
    """`--out new.csv --data new.csv` overwrote the rows with their predictions."""
    _, _, path = saved_model(tmp_path)
    rows = new_rows(tmp_path)
    before = rows.read_text()
    line = predict_error(capsys, [str(path), "--data", str(rows), "--out",
                                  str(tmp_path / "." / "new.csv")])
    assert "is the --data file" in line and rows.read_text() == before


def test_out_naming_a_folder_or_a_path_under_a_file_is_one_line(tmp_path, capsys):
    _, _, path = saved_model(tmp_path)
    rows = new_rows(tmp_path)
    line = predict_error(capsys, [str(path), "--data", str(rows), "--out", str(tmp_path)])
    assert f"--out {tmp_path} is a folder" in line and "predictions.csv" in line
    line = predict_error(capsys, [str(path), "--data", str(rows), "--out",
                                  str(rows / "predictions.csv")])
    assert f"{rows} is a file, not a folder" in line and "Error" not in line


def test_a_model_argument_that_is_no_checkpoint_says_so(tmp_path, capsys):
    """It said "no model at history.json.safetensors", a file that was never named."""
    rows = new_rows(tmp_path)
    (tmp_path / "history.json").write_text("{}")
    line = predict_error(capsys, [str(tmp_path / "history.json"), "--data", str(rows)])
    assert f"{tmp_path / 'history.json'} is not a model" in line and ".json.safetensors" not in line


def test_new_rows_that_are_a_folder_are_named_as_one(tmp_path, capsys):
    _, _, path = saved_model(tmp_path)
    (tmp_path / "rows.csv").mkdir()
    line = predict_error(capsys, [str(path), "--data", str(tmp_path / "rows.csv")])
    assert "rows.csv is a folder; expected the new rows" in line and "no such file" not in line


def test_a_word_in_new_rows_names_the_file_and_offers_no_drop(tmp_path, capsys):
    """--drop is the training's option: new rows must hold every column the model needs."""
    _, _, path = saved_model(tmp_path)
    rows = write(tmp_path / "typo.csv", HEADER[:3], [["Biscoe", "heavy", "male"]])
    line = predict_error(capsys, [str(path), "--data", str(rows)])
    assert f"{rows}: column 'mass' holds numbers, but data row 0 (line 2) holds 'heavy'" in line
    assert "--drop" not in line


def test_a_value_overflowing_the_training_scaling_is_refused_not_predicted_as_nan(tmp_path,
                                                                                   capsys):
    """3e38 is a float32, but standardized by a spread of 0.01 it is not: the prediction was
    NaN, written to --out with exit status 0."""
    rows = [[f"{0.01 * (i % 5):.2f}", ["a", "b"][i % 2]] for i in range(40)]
    data = datasets.load(write(tmp_path / "train.csv", ["x", "label"], rows), target="label")
    data = data.preprocessed(preprocess.Standardize())
    net = layers.mlp(data.n_features, [8], data.n_outputs, seed=0)
    path = checkpoint.save(tmp_path / "model", net, preprocess=data.preprocess, meta={
        tabular.CHECKPOINT_KEY: tabular.to_checkpoint(data.table, data.target)})
    new = write(tmp_path / "new.csv", ["x"], [["0.02"], ["3e38"]])
    line = predict_error(capsys, [str(path), "--data", str(new), "--out",
                                  str(tmp_path / "out.csv")])
    assert f"{new}: data row 1 (line 3), feature 'x' became inf after the training's " \
           f"preprocessing" in line
    assert not (tmp_path / "out.csv").exists()
    # nor are the folders of an --out that was never written made
    line = predict_error(capsys, [str(path), "--data", str(new), "--out",
                                  str(tmp_path / "new" / "sub" / "out.csv")])
    assert "became inf" in line and not (tmp_path / "new").exists()


def test_out_naming_a_file_that_exists_is_refused_unless_forced(tmp_path, capsys):
    """A typo naming the training CSV as --out replaced it with predictions, without a word."""
    _, _, path = saved_model(tmp_path)
    rows, train = new_rows(tmp_path), tmp_path / "train.csv"
    before = train.read_bytes()
    line = predict_error(capsys, [str(path), "--data", str(rows), "--out", str(train)])
    assert line == (f"babysit predict: error: --out {train} exists: add --force to replace "
                    f"it, or give a new file name")
    assert train.read_bytes() == before
    assert cli.main(["predict", str(path), "--data", str(rows), "--out", str(train),
                     "--force"]) == 0
    assert train.read_text().startswith("predicted species,")


def test_a_full_disk_leaves_no_empty_predictions_file_and_names_it(tmp_path, capsys,
                                                                   monkeypatch):
    """The write went straight into --out: a full disk left a 0-byte file."""
    _, _, path = saved_model(tmp_path)
    rows, out = new_rows(tmp_path), tmp_path / "out" / "p.csv"

    def disk_full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", disk_full)
    line = predict_error(capsys, [str(path), "--data", str(rows), "--out", str(out)])
    assert line.startswith(f"babysit predict: error: {out}: No space left on device")
    assert list(out.parent.iterdir()) == []     # neither the file nor a temporary one


def test_a_model_without_a_header_reads_new_rows_by_their_training_positions(tmp_path):
    rows = [[f"{i % 7 / 7:.3f}", str(i % 2), str(10 * (i % 2) + i % 3), "xy"[i % 2]]
            for i in range(40)]
    data = datasets.load(write(tmp_path / "train.csv", ["1", "2", "3", "4"], rows),
                         target="2", header=False)
    net = layers.mlp(data.n_features, [8], data.n_outputs, seed=0)
    path = checkpoint.save(tmp_path / "model", net, meta={
        tabular.CHECKPOINT_KEY: tabular.to_checkpoint(data.table, data.target),
        "config": {"header": False, "target": "2", "drop": []}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IgnoredColumnsWarning)   # the target, present
        full = predict_table(path, tmp_path / "train.csv")
    without = [[r[0], r[2], r[3]] for r in rows]             # the target's column left out
    no_target = write(tmp_path / "new.csv", without[0], without[1:])
    with warnings.catch_warnings():
        warnings.simplefilter("error")                       # no column is ignored or shifted
        shifted = predict_table(path, no_target)
    assert np.array_equal(shifted.probabilities, full.probabilities)
    write(tmp_path / "narrow.csv", rows[0][:2], [r[:2] for r in rows[1:]])
    with pytest.raises(ValueError, match=r"narrow.csv has 2 columns.*give 4 columns as in "
                                         r"training \(column 2, the target, is ignored\) or 3"):
        predict_table(path, tmp_path / "narrow.csv")


def test_a_run_folder_gives_the_model_the_run_ended_with(tmp_path):
    """--no-best-weights ends on the last epoch, whose scores the run prints, but predict took
    best.safetensors; and epoch-1000 sorted before epoch-999 as text."""
    from babysit.runs.predict import model_file
    from babysit.training.checkpoint import epoch_checkpoints

    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    for name in ("best", "checkpoints/epoch-999", "checkpoints/epoch-1000"):
        (run / f"{name}.safetensors").write_bytes(b"")
    assert [p.stem for p in epoch_checkpoints(run)] == ["epoch-999", "epoch-1000"]
    assert model_file(run).name == "best.safetensors"       # no config.json: as before
    (run / "config.json").write_text(json.dumps({"best_weights": True}))
    assert model_file(run).name == "best.safetensors"
    (run / "config.json").write_text(json.dumps({"best_weights": False}))
    assert model_file(run).name == "epoch-1000.safetensors"


def test_an_ensembles_folder_is_named_as_one_with_a_member_to_give(tmp_path):
    from babysit.runs.predict import model_file

    (tmp_path / "ens" / "member-1").mkdir(parents=True)
    (tmp_path / "ens" / "member-2").mkdir()
    with pytest.raises(ValueError, match=r"an ensemble's folder: .* give a member, e\.g\. "
                                         r".*ens/member-1$"):
        model_file(tmp_path / "ens")
