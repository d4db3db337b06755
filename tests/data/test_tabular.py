"""Tables: text columns one-hot encoded, missing cells imputed with an indicator, everything
learned from the training rows only; the task read from the target; regression targets
standardized and restored."""

import json

import numpy as np
import pytest

from babysit.data import datasets, tabular


def cells(*rows):
    return np.array(rows, dtype=str)


def test_a_text_column_is_one_hot_over_the_training_categories():
    enc = tabular.TableEncoder().fit(cells(["red", "1"], ["blue", "2"], ["red", "3"]),
                                     ["colour", "size"])
    assert enc.kinds_ == ["categorical", "numeric"]
    assert enc.feature_names_out_ == ["colour=blue", "colour=red", "size"]
    X = enc.transform(cells(["blue", "5"], ["red", "0"]))
    assert X.dtype == np.float32
    assert X.tolist() == [[1, 0, 5], [0, 1, 0]]


def test_an_unseen_category_is_all_zeros_and_counted_in_a_warning():
    enc = tabular.TableEncoder().fit(cells(["red"], ["blue"], ["red"]), ["colour"])
    with pytest.warns(tabular.UnseenCategoryWarning, match="'colour': 2 of 3 rows.*'green'"):
        X = enc.transform(cells(["green"], ["red"], ["green"]))
    assert X.tolist() == [[0, 0], [0, 1], [0, 0]]


def test_missing_numbers_get_the_training_median_and_an_indicator_column():
    train = cells(["1"], [""], ["3"], ["NA"], ["10"])
    enc = tabular.TableEncoder(min_missing=2).fit(train, ["x"])
    assert enc.medians_[0] == 3.0                  # the median of 1, 3, 10: not the mean
    assert enc.missing_counts_ == [2]
    assert enc.feature_names_out_ == ["x", "x missing"]
    X = enc.transform(cells(["nan"], ["null"], ["7"], ["N/A"]))
    assert X.tolist() == [[3, 1], [3, 1], [7, 0], [3, 1]]
    assert any("2 missing" in line and "median 3" in line for line in enc.describe())
    # fewer missing cells than min_missing: imputed, but no indicator to memorise them by
    assert tabular.TableEncoder(min_missing=3).fit(train, ["x"]).feature_names_out_ == ["x"]


def test_missing_text_gets_no_category_and_an_indicator_column():
    enc = tabular.TableEncoder(min_missing=1).fit(cells(["a"], ["NA"], ["b"]), ["kind"])
    assert enc.feature_names_out_ == ["kind=a", "kind=b", "kind missing"]
    assert enc.transform(cells([""], ["b"])).tolist() == [[0, 0, 1], [0, 1, 0]]


def test_medians_and_categories_come_from_the_training_rows_only():
    enc = tabular.TableEncoder().fit(cells(["1", "a"], ["2", "a"], ["3", "b"]), ["x", "k"])
    enc.transform(cells(["1000", "a"], ["", "a"]))     # other rows never change what was learned
    assert enc.medians_[0] == 2.0 and enc.categories_[1] == ["a", "b"]
    # a missing cell that training never saw is imputed, without an indicator column
    assert enc.transform(cells(["", "a"])).tolist() == [[2, 1, 0]]


def test_a_column_with_too_many_categories_is_refused_naming_it_and_drop():
    many = cells(*[[f"c{i % 60}"] for i in range(120)])
    with pytest.raises(ValueError, match="column 'city'.*60 distinct.*--drop city"):
        tabular.TableEncoder().fit(many, ["city"])
    ids = cells(*[[f"id{i}"] for i in range(12)])
    with pytest.raises(ValueError, match="column 'name'.*different value in each.*--drop name"):
        tabular.TableEncoder().fit(ids, ["name"])
    assert tabular.TableEncoder(max_categories=60).fit(many, ["city"]).n_features_in_ == 1


def test_a_column_with_no_value_in_training_is_refused():
    with pytest.raises(ValueError, match="column 'x' holds no value.*--drop x"):
        tabular.TableEncoder().fit(cells([""], ["NA"]), ["x"])


def test_the_table_encoder_round_trips_through_json_and_arrays():
    enc = tabular.TableEncoder().fit(cells(["red", "1"], ["", "NA"], ["blue", "3"]), ["c", "x"])
    again = tabular.TableEncoder.from_state(json.loads(json.dumps(enc.to_state(),
                                                                  allow_nan=False)))
    rows = cells(["blue", ""], ["", "9"], ["red", "2"])
    assert np.array_equal(again.transform(rows), enc.transform(rows))
    assert again.feature_names_out_ == enc.feature_names_out_
    assert np.array_equal(again.ranges_, enc.ranges_, equal_nan=True)
    assert enc.ranges_[1].tolist() == [1.0, 3.0, 1.0]     # x's training min, max and std


def test_the_task_rule_text_or_few_whole_numbers_classify_else_regress():
    assert tabular.decide_task(np.array(["cat", "dog"]))[0] == "classify"
    assert tabular.decide_task(np.array(["0", "1", "1.0"]))[0] == "classify"
    assert tabular.decide_task(np.arange(20).astype(str))[0] == "classify"
    task, reason = tabular.decide_task(np.arange(21).astype(str))
    assert task == "regress" and "21 distinct whole numbers" in reason
    assert tabular.decide_task(np.array(["0.5", "1", "2"]))[0] == "regress"


def test_regression_targets_are_standardized_and_restored():
    target = tabular.TargetEncoder("regress").fit(np.array(["10", "20", "30"]))
    y = target.transform(np.array(["10", "20", "30"]))
    assert y.dtype == np.float32 and np.allclose([y.mean(), y.std()], [0, 1])
    assert np.allclose(target.inverse_transform(y[:, None]), [10, 20, 30])
    again = tabular.TargetEncoder.from_state(json.loads(json.dumps(target.to_state())))
    assert np.allclose(again.inverse_transform(y), [10, 20, 30])


def test_class_targets_sort_numerically_and_decode_to_their_names():
    target = tabular.TargetEncoder("classify").fit(np.array(["10", "2", "2.0"]))
    assert target.classes_ == ["2", "10"] and target.n_outputs == 2
    assert target.transform(np.array(["2", "10"])).tolist() == [0, 1]
    assert target.inverse_transform(np.array([1, 0])).tolist() == ["10", "2"]
    with pytest.raises(ValueError, match="'7' at row 0 is not one of the classes 2, 10"):
        target.transform(np.array(["7"]))


def test_decoding_a_class_index_out_of_range_names_it_and_the_number_of_classes():
    target = tabular.TargetEncoder("classify").fit(np.array(["a", "b", "c"]), name="species")
    with pytest.raises(ValueError, match=r"'species'.* label 7 is out of range for 3 classes"):
        target.inverse_transform([7])
    with pytest.raises(ValueError, match="'species'.* >= 0, got -1"):
        target.inverse_transform([-1])        # not the last class, as NumPy's indexing had it
    with pytest.raises(ValueError, match="integer class indices, got 1.5"):
        target.inverse_transform([1.5])


def test_targets_of_the_wrong_shape_are_refused_naming_the_column():
    target = tabular.TargetEncoder("classify").fit(np.array(["a", "b"]), name="species")
    with pytest.raises(ValueError, match=r"'species' must be a 1-d array \(N,\), got shape \(\)"):
        target.transform("a")
    with pytest.raises(ValueError, match=r"got shape \(1, 1\)"):
        target.transform([["a"]])


def test_restoring_predictions_of_the_wrong_shape_names_it():
    target = tabular.TargetEncoder("regress").fit(np.array(["10", "20", "30"]), name="price")
    with pytest.raises(ValueError, match=r"'price' must be numbers of shape \(N,\) or "
                                         r"\(N, 1\), got shape \(2, 2\)"):
        target.inverse_transform(np.zeros((2, 2)))


# -- a whole table ------------------------------------------------------------------------------


def write_table(path, header, rows):
    path.write_text(",".join(header) + "\n" + "\n".join(",".join(map(str, r)) for r in rows)
                    + "\n")
    return path


def penguin_like(n=120, seed=0):
    """Rows of (island, mass, sex, species): a text feature, a numeric one with holes."""
    rng = np.random.default_rng(seed)
    species = np.array(["Adelie", "Gentoo", "Chinstrap"])[np.arange(n) % 3]
    mass = 3000 + 1000 * (np.arange(n) % 3) + rng.normal(0, 100, n).round()
    rows = [[["Biscoe", "Dream"][i % 2], "NA" if i % 10 == 0 else mass[i],
             "" if i % 7 == 0 else ["male", "female"][i % 2], species[i]] for i in range(n)]
    return ["island", "mass", "sex", "species"], rows


def test_a_table_with_text_and_missing_cells_loads_without_preparation(tmp_path):
    header, rows = penguin_like()
    data = datasets.load(write_table(tmp_path / "p.csv", header, rows), target="species")
    assert data.task == "classify" and data.class_names == ["Adelie", "Chinstrap", "Gentoo"]
    assert data.table.feature_names_out_ == ["island=Biscoe", "island=Dream", "mass",
                                             "mass missing", "sex=female", "sex=male",
                                             "sex missing"]
    assert data.n_features == 7 and np.isfinite(data.train.X).all()
    assert data.notes[0].startswith("task classify")
    # the medians are the training rows' own
    train_mass = data.train.X[:, 2][data.train.X[:, 3] == 0]
    assert data.table.medians_[1] == np.median(train_mass)


def test_a_missing_target_is_refused_naming_its_row(tmp_path):
    header, rows = penguin_like()
    rows[5][3] = "NA"
    with pytest.raises(ValueError, match=r"target 'species' is missing in data row 5 \(line 7\)"):
        datasets.load(write_table(tmp_path / "p.csv", header, rows), target="species")


def test_drop_leaves_columns_out_and_names_a_wrong_one(tmp_path):
    header, rows = penguin_like()
    path = write_table(tmp_path / "p.csv", header, rows)
    data = datasets.load(path, target="species", drop=["island", "sex"])
    assert data.table.columns_ == ["mass"]
    with pytest.raises(ValueError, match="--drop colour: .* no column 'colour'; its columns "
                                         "are island, mass, sex, species"):
        datasets.load(path, target="species", drop=["colour"])


def test_dropping_the_target_column_is_refused_naming_it(tmp_path):
    header, rows = penguin_like()
    path = write_table(tmp_path / "p.csv", header, rows)
    with pytest.raises(ValueError, match="--drop species: 'species' is the --target column"):
        datasets.load(path, target="species", drop=["species"])


def test_drop_on_data_without_columns_is_refused_rather_than_ignored():
    with pytest.raises(ValueError, match=r"drop=\('x',\) \(--drop\) names columns of a "
                                         r"\.csv file; 'digits' has none"):
        datasets.load("digits", drop=("x",))


def test_a_class_too_small_to_split_is_named_as_the_file_writes_it(tmp_path):
    header, rows = penguin_like(30)
    rows.append(["Dream", 3500, "male", "Macaroni"])          # one row of a fourth species
    with pytest.raises(ValueError, match="the smallest class, 'Macaroni', has 1 example"):
        datasets.load(write_table(tmp_path / "p.csv", header, rows), target="species")


def test_a_semicolon_file_writing_numbers_both_ways_is_refused(tmp_path):
    path = tmp_path / "eu.csv"
    path.write_text("a;b;y\n1,5;2;x\n1.234;3;y\n")
    with pytest.raises(ValueError, match=r"eu\.csv writes numbers with a decimal comma \('1,5' "
                                         r"in data row 0\) and with a point \('1\.234' in data "
                                         r"row 1\)"):
        datasets.load(path, target="y")


def test_a_numeric_target_with_many_values_is_regressed(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=50)
    rows = [[round(v, 3), round(100 + 20 * v, 2)] for v in x]
    path = write_table(tmp_path / "r.csv", ["x", "price"], rows)
    data = datasets.load(path, target="price")
    assert data.task == "regress" and data.n_outputs == 1 and data.class_names == []
    assert data.train.y.dtype == np.float32 and abs(data.train.y.mean()) < 1e-5
    restored = data.target.inverse_transform(data.test.y)
    prices = [row[1] for row in rows]
    assert all(np.isclose(prices, value, atol=1e-3).any() for value in restored)
    with pytest.raises(ValueError, match="--task regress"):
        datasets.load(path, target="price", task="classify")


def test_regression_metrics_in_the_targets_units():
    from babysit.training.metrics import regression_metrics

    scores = regression_metrics([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 6.0])
    assert scores["rmse"] == pytest.approx(1.0)                # sqrt(4 / 4)
    assert scores["mae"] == pytest.approx(0.5)
    assert scores["r2"] == pytest.approx(1 - 4 / 5)          # sum of squares about the mean: 5
    assert regression_metrics([2, 4], [3, 3])["r2"] == 0.0     # the mean itself: R^2 = 0


def test_a_category_only_in_validation_or_test_rows_is_noted(tmp_path):
    header, rows = penguin_like()
    rows[-1][0] = "Torgersen"                   # one row, which seed 0 leaves out of training
    data = datasets.load(write_table(tmp_path / "p.csv", header, rows), target="species")
    assert "Torgersen" not in data.table.categories_[0]
    assert any("'island': 1 of" in note and "'Torgersen'" in note for note in data.notes)
