"""All of the user's rows: a table trains on what is not kept to validate, --split sets the
parts, --val-data and --test-data give them from other files, and the run says which rows
each score comes from."""

import json

import numpy as np
import pytest

from babysit.cli import main
from babysit.data import datasets, table_parts


def write(path, header, rows):
    path.write_text("\n".join(",".join(map(str, r)) for r in [header, *rows]) + "\n")
    return path


def blobs(n, seed=0):
    rng = np.random.default_rng(seed)
    kind = np.arange(n) % 3
    return [[round(k * 3 + rng.normal(), 3), round(rng.normal(), 3), "abc"[k]] for k in kind]


def test_by_default_a_table_keeps_a_fifth_to_validate_at_most_1000_rows_and_no_test():
    assert table_parts.fractions(400) == pytest.approx((0.8, 0.2, 0.0))
    assert table_parts.fractions(20_000) == pytest.approx((0.95, 0.05, 0.0))   # 1,000 rows
    assert table_parts.fractions(400, val_file="v.csv") == (1.0, 0.0, 0.0)
    assert table_parts.fractions(400, (0.7, 0.3, 0), test_file="t.csv") == (0.7, 0.3, 0.0)


@pytest.mark.parametrize("split, files, says", [
    ((0.5, 0.5), (None, None), "three fractions"),
    ((0.6, 0.2, 0.2), ("v.csv", None), "--val-data v.csv gives them too"),
    ((0.8, 0.0, 0.2), (None, None), "validation fraction of 0 needs --val-data"),
    ((0.0, 0.5, 0.5), (None, None), "train above 0"),
])
def test_a_split_that_cannot_be_is_refused_saying_why(split, files, says):
    with pytest.raises(ValueError, match=says):
        table_parts.fractions(100, split, *files)


def test_split_fractions_with_no_test_part(tmp_path):
    path = write(tmp_path / "t.csv", ["x", "z", "y"], blobs(100))
    data = datasets.load(path, target="y", fractions=(0.7, 0.3, 0.0))
    assert (len(data.train.y), len(data.val.y), len(data.test.y)) == (70, 30, 0)
    assert data.test.X.shape == (0, data.n_features)
    assert data.origins == {"train": "70 rows of t.csv (70%)", "val": "30 rows of t.csv (30%)",
                            "test": None}
    default = datasets.load(path, target="y")
    assert (len(default.train.y), len(default.val.y), len(default.test.y)) == (80, 20, 0)


def test_val_and_test_files_give_those_parts_encoded_as_the_training_rows(tmp_path):
    train = write(tmp_path / "train.csv", ["x", "z", "y"], blobs(90))
    val = write(tmp_path / "val.csv", ["z", "y", "x"],           # any column order
                [[r[1], r[2], r[0]] for r in blobs(30, seed=1)])
    test = write(tmp_path / "test.csv", ["x", "z", "y"], blobs(21, seed=2))
    data = datasets.load(train, target="y", val_data=val, test_data=test)
    assert (len(data.train.y), len(data.val.y), len(data.test.y)) == (90, 30, 21)
    assert data.origins["val"] == "30 rows of val.csv" and data.origins["test"] == \
        "21 rows of test.csv"
    expected = data.table.transform(np.array(blobs(21, seed=2), dtype=str)[:, :2])
    assert np.array_equal(data.test.X, expected)
    write(tmp_path / "bad.csv", ["x", "y"], [[1, "a"]])
    with pytest.raises(ValueError, match=r"bad.csv lacks 'z': its columns must be those of"):
        datasets.load(train, target="y", test_data=tmp_path / "bad.csv")
    write(tmp_path / "new.csv", ["x", "z", "y"], [[1, 2, "q"]])
    with pytest.raises(ValueError, match=r"new.csv: target 'q' in data row 0 \(line 2\) is not "
                                         r"one of the classes a, b, c"):
        datasets.load(train, target="y", test_data=tmp_path / "new.csv")


def test_a_test_file_needs_only_the_columns_the_model_reads(tmp_path):
    rows = [[2000 + 7 * i, *r, i % 4] for i, r in enumerate(blobs(90))]
    train = write(tmp_path / "train.csv", ["id", "x", "z", "y", "w"], rows)
    # without the identifier the model leaves out, nor the column dropped
    test = write(tmp_path / "test.csv", ["x", "z", "y"], blobs(21, seed=2))
    data = datasets.load(train, target="y", drop="w", test_data=test, val_data=test)
    assert data.table.left_out_.keys() == {"id"}
    assert (len(data.val.y), len(data.test.y)) == (21, 21)
    expected = data.table.transform(np.array([["", *r[:2]] for r in blobs(21, seed=2)]))
    assert np.array_equal(data.test.X, expected)
    write(tmp_path / "bad.csv", ["x", "y"], [[1, "a"]])
    with pytest.raises(ValueError, match=r"bad.csv lacks 'z': .*\(it may lack 'id', 'w', "
                                         r"which the model does not read\)"):
        datasets.load(train, target="y", drop="w", test_data=tmp_path / "bad.csv")


def test_the_run_says_which_rows_each_score_comes_from(tmp_path, capsys):
    train = write(tmp_path / "train.csv", ["x", "z", "y"], blobs(90))
    assert main(["train", "--data", str(train), "--target", "y", "--epochs", "2",
                 "--no-report", "--out", str(tmp_path / "a"), "--json"]) == 0
    out = capsys.readouterr().out
    assert "72 train / 18 val / 0 test" in out.splitlines()[0]
    assert "test accuracy -" in out
    line = next(line for line in out.splitlines() if line.startswith("scores:"))
    assert "train on the 72 rows of train.csv (80%)" in line and "no test score" in line \
        and "--test-data FILE" in line
    assert json.loads(out.splitlines()[-1])["test_accuracy"] is None

    test = write(tmp_path / "test.csv", ["x", "z", "y"], blobs(30, seed=3))
    assert main(["train", "--data", str(train), "--target", "y", "--epochs", "2",
                 "--test-data", str(test), "--no-report", "--out", str(tmp_path / "b"),
                 "--json"]) == 0
    out = capsys.readouterr().out
    assert "test on the 30 rows of test.csv, never seen in training" in out
    assert json.loads(out.splitlines()[-1])["test_accuracy"] is not None


def test_a_numeric_target_too_thin_to_split_names_task_regress(tmp_path):
    # 3 classes by the rule, but the file is too small to put each in every part
    rows = [[i, v] for i, v in enumerate([1, 1, 2, 2, 3, 3])]
    path = write(tmp_path / "t.csv", ["x", "y"], rows)
    with pytest.raises(ValueError, match="give more examples per class; or, if 'y' is a "
                                         "quantity, --task regress"):
        datasets.load(path, target="y", fractions=(0.4, 0.3, 0.3))


def test_a_config_json_written_before_split_existed_keeps_its_60_20_20(tmp_path):
    from babysit.runs.config import RunConfig

    path = tmp_path / "config.json"
    path.write_text(json.dumps({"data": "t.csv", "target": "y"}))
    assert RunConfig.load(path).split == (0.6, 0.2, 0.2)
    RunConfig(data="t.csv", target="y").save(path)
    assert RunConfig.load(path).split is None          # the table default, as written


def test_a_constant_regression_target_is_refused_as_a_single_class_is(tmp_path):
    data = write(tmp_path / "c.csv", ["a", "y"], [[i % 7, "5.5"] for i in range(30)])
    with pytest.raises(ValueError, match=r"c.csv: the target 'y' holds a single value "
                                         r"\('5.5'\) in every row"):
        datasets.load(data, target="y")


def test_a_class_too_small_for_every_part_is_refused_naming_it(tmp_path):
    rows = [[i, "ab"[i % 2]] for i in range(60)]
    data = write(tmp_path / "t.csv", ["a", "y"], [*rows, [100, "c"], [101, "c"]])
    with pytest.raises(ValueError, match=r"parts \[0.3, 0.4, 0.3\]: the smallest class, 'c', "
                                         r"has 2 examples"):
        datasets.load(data, target="y", fractions=(0.3, 0.4, 0.3))


@pytest.mark.parametrize("fractions", [(0.2, 0.4, 0.4), (0.1, 0.45, 0.45), (0.6, 0.2, 0.2),
                                       (0.8, 0.1, 0.1)])
def test_every_part_of_a_stratified_split_holds_every_class(tmp_path, fractions):
    # three rows of 'c', one for each part: the shares alone would give a part none
    rows = [[i, "ab"[i % 2]] for i in range(60)]
    data = write(tmp_path / "t.csv", ["a", "y"], [*rows, [100, "c"], [101, "c"], [102, "c"]])
    loaded = datasets.load(data, target="y", fractions=fractions)
    assert [sorted(set(part.y.tolist())) for part in (loaded.train, loaded.val, loaded.test)] \
        == [[0, 1, 2]] * 3


def test_a_text_target_in_the_val_file_names_its_row_and_the_file_once(tmp_path):
    train = write(tmp_path / "tr.csv", ["a", "y"], [[i % 13, i % 3] for i in range(60)])
    val = write(tmp_path / "va.csv", ["a", "y"], [*([i, i % 3] for i in range(10)), [3, "x"]])
    with pytest.raises(ValueError) as refused:
        datasets.load(train, target="y", val_data=val)
    assert str(refused.value) == (f"{val}: target 'x' in data row 10 (line 12) is text, and "
                                  f"the classes of 'y' are numbers (0, 1, 2)")


def test_an_excel_exports_empty_unnamed_columns_are_left_out_however_many(tmp_path):
    rows = [[i % 7, i % 5, i % 2, "", ""] for i in range(30)]
    data = datasets.load(write(tmp_path / "e.csv", ["a", "b", "y", "", ""], rows), target="y")
    assert data.table.columns_ == ["a", "b"]
    assert "e.csv: left out the unnamed columns 4 and 5, holding no value in any row" \
        in data.notes
    rows[0][3], rows[1][4] = "7", "8"                        # unnamed columns with values
    with pytest.raises(ValueError, match=r"repeats column names \('' names columns 4 and 5"):
        datasets.load(write(tmp_path / "e.csv", ["a", "b", "y", "", ""], rows), target="y")
