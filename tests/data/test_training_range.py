"""A prediction for a row far outside the training range is an extrapolation: `babysit predict`
says so once per run and marks those rows, and stays silent on ordinary held-out rows."""

import json
import warnings

import numpy as np
import pytest
from sklearn import datasets as sk_datasets

from babysit import cli
from babysit.data import datasets, preprocess, tabular, training_range
from babysit.nn import layers
from babysit.runs.predict import FAR_COLUMN, ExtrapolationWarning, predict_table
from babysit.training import checkpoint


def table_of(loader) -> tuple[list[str], np.ndarray]:
    """One of scikit-learn's bundled tables as a CSV's header and cells (N, D) str."""
    bunch = loader()
    names = [str(n).replace(" ", "_") for n in bunch.feature_names]
    return names, bunch.data.astype(str)


def held_out(cells: np.ndarray, names, seed: int):
    """A TableEncoder fitted on a random 60% of the rows, and the other 40% measured by it."""
    order = np.random.default_rng(seed).permutation(len(cells))
    cut = int(0.6 * len(cells))
    table = tabular.TableEncoder().fit(cells[order[:cut]], names)
    return order[cut:], training_range.far_outside(table, table.encode(cells[order[cut:]])[1])


@pytest.mark.parametrize("loader", [sk_datasets.load_wine, sk_datasets.load_diabetes,
                                    sk_datasets.load_iris])
def test_ordinary_held_out_rows_raise_no_alarm(loader):
    names, cells = table_of(loader)
    for seed in range(10):
        _, far = held_out(cells, names, seed)
        assert not far.mask.any() and far.summary() is None


def test_on_breast_cancer_only_the_tables_own_outliers_are_called_far():
    """Its "error" columns have heavy tails (a few rows 8-12 std above the mean): a held-out
    row beyond the training max by 3 std is one of those (more than 6 std from the whole
    table's mean), a real extrapolation: a handful of rows, never more than 2%."""
    names, cells = table_of(sk_datasets.load_breast_cancer)
    X = cells.astype(float)
    z = np.abs(X - X.mean(axis=0)) / X.std(axis=0)
    for seed in range(10):
        rows, far = held_out(cells, names, seed)
        assert far.mask.any(axis=1).sum() <= 0.02 * len(rows)
        flagged_rows, flagged_columns = np.nonzero(far.mask)
        assert (z[rows[flagged_rows], flagged_columns] > 6).all()


def test_distances_are_in_training_std_beyond_the_min_or_max():
    table = tabular.TableEncoder().fit(np.array([["1", "a"], ["3", "b"]]), ["x", "c"])
    with pytest.warns(tabular.UnseenCategoryWarning):
        _, numbers = table.encode(np.array([["4", "a"], ["-7", "z"], ["", "b"], ["2", "a"]]))
    far = training_range.far_outside(table, numbers)
    assert far.distances[:, 0].tolist() == [1.0, 8.0, 0.0, 0.0]     # std 1; missing: none
    assert far.distances[:, 1].tolist() == [0.0] * 4                  # text is never far
    assert far.columns_per_row() == [[], ["x"], [], []]


def test_a_column_constant_in_training_calls_far_only_a_real_change_not_float_noise():
    """Seven 0.1s have a std of 1.4e-17, not 0: measured in it, 0.1000001 would lie 7e9 std
    beyond. The scale is floored at 1e-4 of the magnitude, so only a value 3e-4 of it away
    from the constant (0.10003) is far; a column of zeros is measured in units of 1."""
    table = tabular.TableEncoder().fit(np.array([["0.1", "0", "2001"]] * 7), ["c", "z", "y"])
    assert 0 < table.ranges_[0, 2] < 1e-16
    _, numbers = table.encode(np.array([["0.1000001", "2.9", "2001.5"],
                                        ["0.10004", "3.5", "2001.7"]]))
    far = training_range.far_outside(table, numbers)
    assert far.columns_per_row() == [[], ["c", "z", "y"]]
    np.testing.assert_allclose(far.distances[:, 1], [2.9, 3.5])


def test_the_floor_leaves_narrow_real_columns_alone():
    """A year over a decade spreads 1.4e-3 of its magnitude: its std sets the scale."""
    years = np.arange(2001, 2011, dtype=float)[:, None]
    ranges = training_range.ranges_of(years)
    np.testing.assert_array_equal(training_range.scales(ranges), years.std())
    far = training_range.measure(np.array([[2018.0], [2019.0]]), ranges, ["year"])
    assert far.mask[:, 0].tolist() == [False, True]          # 3 std is 8.6 years


def wine_model(tmp_path):
    """An untrained network on the wine table, saved as a run would save it, and the rows."""
    names, cells = table_of(sk_datasets.load_wine)
    labels = sk_datasets.load_wine().target.astype(str)
    train = tmp_path / "wine.csv"
    train.write_text("\n".join(",".join(r) for r in [[*names, "cultivar"],
                                                      *np.column_stack([cells, labels])]))
    data = datasets.load(train, target="cultivar")
    data = data.preprocessed(preprocess.Standardize())
    net = layers.mlp(data.n_features, [8], data.n_outputs, seed=0)
    path = checkpoint.save(tmp_path / "model", net, preprocess=data.preprocess,
                           meta={tabular.CHECKPOINT_KEY: tabular.to_checkpoint(data.table,
                                                                               data.target)})
    return path, names, cells


def test_babysit_predict_warns_once_and_marks_the_far_rows(tmp_path, capsys):
    path, names, cells = wine_model(tmp_path)
    new = cells[:6].copy()
    new[2, names.index("magnesium")] = "40000"          # training held about 70-162
    new[4, names.index("magnesium")] = "1e30"
    new[4, names.index("alcohol")] = "-500"
    rows = tmp_path / "new.csv"
    rows.write_text("\n".join(",".join(r) for r in [names, *new]))
    out = tmp_path / "pred.csv"
    assert cli.main(["predict", str(path), "--data", str(rows), "--out", str(out),
                     "--json"]) == 0
    captured = capsys.readouterr()
    warned = [line for line in captured.err.splitlines() if "far outside" in line]
    assert len(warned) == 1 and "2 of 6 rows hold values far outside the training range" in \
        warned[0]
    assert "magnesium: 2 rows" in warned[0] and "alcohol: 1 row," in warned[0]
    assert "extrapolations" in warned[0]
    marks = [line.split(",")[-1] for line in out.read_text().splitlines()]
    assert marks == [FAR_COLUMN, "", "", "magnesium", "", "alcohol; magnesium", ""]
    result = json.loads(captured.out.strip().splitlines()[-1])
    assert result["far_outside_training_range"] == [[], [], ["magnesium"], [],
                                                    ["alcohol", "magnesium"], []]
    assert "3 training standard deviations" in result["far_outside_training_range_rule"]


def test_ordinary_rows_predict_without_a_warning(tmp_path):
    path, names, cells = wine_model(tmp_path)
    rows = tmp_path / "new.csv"
    rows.write_text("\n".join(",".join(r) for r in [names, *cells[:20]]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = predict_table(path, rows)
    assert not [w for w in caught if issubclass(w.category, ExtrapolationWarning)]
    assert not result.far_outside.mask.any()


def test_a_checkpoint_saved_before_the_ranges_were_kept_predicts_without_the_check(tmp_path):
    path, names, cells = wine_model(tmp_path)
    meta = checkpoint.read_meta(path)
    state = meta[tabular.CHECKPOINT_KEY]
    del state["features"]["fitted"]["ranges_"]                   # as older runs wrote it
    net, pre = checkpoint.load(path)
    old = checkpoint.save(tmp_path / "old", net, preprocess=pre,
                          meta={tabular.CHECKPOINT_KEY: state})
    new = cells[:3].copy()
    new[0, names.index("magnesium")] = "40000"
    rows = tmp_path / "new.csv"
    rows.write_text("\n".join(",".join(r) for r in [names, *new]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = predict_table(old, rows)
    assert not [w for w in caught if issubclass(w.category, ExtrapolationWarning)]
    assert result.far_outside is None and FAR_COLUMN not in result.columns
    assert "far_outside_training_range" not in result.to_dict()      # nothing claimed
    assert len(result.labels) == 3



def test_predict_parses_each_numeric_column_once(tmp_path, monkeypatch):
    """The range check measures the numbers the table encoder parsed, not the cells again."""
    path, names, cells = wine_model(tmp_path)
    rows = tmp_path / "new.csv"
    rows.write_text("\n".join(",".join(r) for r in [names, *cells[:5]]))
    parsed, as_numbers = [], tabular.as_numbers
    for module in (tabular, training_range):      # wherever the parser is looked up
        monkeypatch.setattr(module, "as_numbers", lambda c, m: parsed.append(len(c)) or
                            as_numbers(c, m), raising=False)
    predict_table(path, rows)
    assert parsed == [5] * len(names)            # wine's 13 columns are all numeric


def test_ranges_read_in_blocks_are_those_of_the_whole_table(monkeypatch):
    """ranges_of reads rows a block at a time (no float64 copy of a large X): min, max and std
    over the present cells are numpy's over the whole array, whatever the block size."""
    rng = np.random.default_rng(0)
    numbers = rng.normal(40.0, 7.0, (101, 4)).astype(np.float32)
    numbers[rng.random(numbers.shape) < 0.2] = np.nan
    whole = np.stack([np.nanmin(numbers, axis=0), np.nanmax(numbers, axis=0),
                      np.nanstd(numbers.astype(np.float64), axis=0)], axis=1)
    for cells in (4, 12, 10_000):                         # 1 row, 3 rows, all rows a block
        monkeypatch.setattr(training_range, "BLOCK_CELLS", cells)
        ranges = training_range.ranges_of(numbers)
        assert ranges.dtype == np.float64
        np.testing.assert_array_equal(ranges[:, :2], whole[:, :2])
        np.testing.assert_allclose(ranges[:, 2], whole[:, 2], rtol=1e-12)
