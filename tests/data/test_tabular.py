"""Tables: text columns one-hot encoded, missing cells imputed with an indicator, everything
learned from the training rows only; the task read from the target; regression targets
standardized and restored."""

import json
import shlex

import numpy as np
import pytest

from babysit.cli import main
from babysit.data import datasets, dates, tabular, training_range


def cells(*rows):
    return np.array(rows, dtype=str)


def test_a_text_column_is_one_hot_over_the_training_categories():
    enc = tabular.TableEncoder().fit(cells(["red", "1"], ["blue", "2"], ["red", "3"]),
                                     ["colour", "size"])
    assert enc.kinds_ == ["categorical", "numeric"]
    assert enc.feature_names_out_ == ["colour=blue", "colour=red", "size"]
    assert [source for source, _ in enc.output_columns()] == ["colour", "colour", "size"]
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
    assert enc.output_columns() == [("x", "x"), ("x", "x missing")]
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


def test_a_column_with_many_categories_is_one_hot_over_the_most_frequent_plus_other():
    # 60 categories: c0..c9 in 5 rows each, c10..c59 in 2, c60..c79 in one row each
    values = [f"c{i}" for i in range(10) for _ in range(5)] + \
        [f"c{i}" for i in range(10, 60) for _ in range(2)] + [f"c{i}" for i in range(60, 80)]
    enc = tabular.TableEncoder(max_categories=12).fit(cells(*[[v] for v in values]), ["city"])
    # the ten in 5 rows, then the first two (in order) of those in 2 rows; "other" for the rest
    kept = [f"c{i}" for i in range(12)]
    assert enc.categories_ == [sorted(kept)] and enc.others_ == [True]
    assert enc.feature_names_out_[-1] == "city=other"
    X = enc.transform(cells(["c3"], ["c40"], ["never seen"], [""]))   # no warning: "other"
    assert X[:, -1].tolist() == [0, 1, 1, 0]
    assert X[0, enc.feature_names_out_.index("city=c3")] == 1 and X[3].sum() == 0
    assert any("12 most frequent" in line and "'city=other'" in line for line in enc.describe())
    again = tabular.TableEncoder.from_state(json.loads(json.dumps(enc.to_state())))
    assert np.array_equal(again.transform(cells(["c40"], ["c1"])),
                          enc.transform(cells(["c40"], ["c1"])))


def test_identifiers_are_left_out_and_named_in_one_note():
    n = 40
    table = cells(*[[f"user{i}@mail.org", str(1000 + 7 * i), str(i + 1), str(i % 3), f"x{i}"]
                    for i in range(n)])
    table[0, 4] = "x1"     # 39 values in 40 rows: still an identifier
    enc = tabular.TableEncoder().fit(table, ["email", "customerID", "row", "k", "code"])
    assert enc.kinds_ == ["left out", "left out", "left out", "numeric", "left out"]
    assert enc.feature_names_out_ == ["k"] and enc.used_columns_ == ["k"]
    notes = [line for line in enc.describe() if line.startswith("left out")]
    assert len(notes) == 1 and all(f"'{c}'" in notes[0] for c in
                                   ["email", "customerID", "row", "code"])
    assert enc.transform(table).shape == (n, 1)
    # spread-out whole numbers each in one row are a measurement, not an identifier
    sizes = cells(*[[str(1000 + 7 * i)] for i in range(n)])
    assert tabular.TableEncoder().fit(sizes, ["size"]).kinds_ == ["numeric"]
    # and few rows say nothing: 10 distinct names in 10 rows are categories
    assert tabular.TableEncoder().fit(cells(*[[f"n{i}"] for i in range(10)]),
                                      ["name"]).kinds_ == ["categorical"]


def test_every_column_that_cannot_be_used_is_named_in_one_error():
    table = cells(["1", "1", "2"], ["2", "2", "3"], ["3", "blue", "4"], ["4", "4", "inf"])
    with pytest.raises(ValueError, match=r"column 'b' holds numbers, but data row 2 \(line 4\) "
                       r"holds 'blue'.*column 'c' holds inf.*"
                       r"leave these 2 columns out with --drop b,c$"):
        tabular.TableEncoder().fit(table, ["x", "b", "c"])


def test_the_drop_a_refusal_offers_can_be_pasted_into_a_shell_and_says_fix_once():
    table = cells(["1", "5.1"], ["2", "u"], ["3", "4.7"])
    with pytest.raises(ValueError) as refused:
        tabular.TableEncoder().fit(table, ["x", "petal width (cm)"])
    message = str(refused.value)
    assert message.endswith("; or leave it out with --drop 'petal width (cm)'")
    assert message.count("fix") == 1
    with pytest.raises(ValueError) as refused:
        tabular.TableEncoder().fit(cells(["u", "u"], ["1", "2"], ["3", "4"]),
                                   ["petal width (cm)", "it's"])
    pasted = str(refused.value).rsplit(" out with --drop ", 1)[1]
    assert shlex.split(pasted) == ["petal width (cm),it's"]      # one argument, as written


@pytest.mark.parametrize("share", [0.1, 0.8])
def test_the_uci_question_mark_is_a_missing_value_however_common(share):
    """'?' marks a missing value in the UCI repository's tables: a column of numbers holding
    it in a tenth of its cells, or in most (horse colic's reflux pH), is numeric, with the
    median of its numbers in those cells and an indicator column."""
    rng = np.random.default_rng(0)
    values = rng.uniform(1, 7.5, 60).round(1)
    unknown = rng.random(60) < share
    table = cells(*([("?" if u else str(v)), str(i % 4)]
                    for v, u, i in zip(values, unknown, range(60), strict=True)))
    encoder = tabular.TableEncoder().fit(table, ["reflux_ph", "k"])
    assert encoder.kinds_ == ["numeric", "numeric"]
    assert encoder.missing_counts_[0] == unknown.sum()
    assert encoder.medians_[0] == np.median(values[~unknown])
    assert "reflux_ph missing" in encoder.feature_names_out_


def test_a_column_with_no_value_in_any_training_row_is_left_out_with_a_note():
    # an Excel export's last column: the header ends with a comma, every cell is empty
    enc = tabular.TableEncoder().fit(cells(["1", ""], ["2", "NA"], ["3", " "]), ["x", ""])
    assert enc.kinds_ == ["numeric", "left out"] and enc.used_columns_ == ["x"]
    assert enc.left_out_ == {"": "no value in any training row"}
    assert enc.describe() == ["left out, holding no value in any training row: ''"]
    assert enc.transform(cells(["5", "anything"])).tolist() == [[5]]
    again = tabular.TableEncoder.from_state(json.loads(json.dumps(enc.to_state())))
    assert again.used_columns_ == ["x"] and again.describe() == enc.describe()
    with pytest.raises(ValueError, match="no feature column left: every one is left out"):
        tabular.TableEncoder().fit(cells([""], ["NA"]), ["x"])


def test_an_excel_export_trains_and_predicts_without_its_empty_last_column(tmp_path, capsys):
    rows = [f'"{i % 9 / 9:.3f}","{500 + 7 * i}","{"ab"[i % 2]}",""' for i in range(40)]
    (tmp_path / "export.csv").write_text("\n".join(['"x","Order No.","y",""', *rows]) + "\n")
    run = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "export.csv"), "--target", "y",
                 "--epochs", "1", "--no-report", "--out", str(run)]) == 0
    out = capsys.readouterr().out
    assert "export.csv: left out the unnamed column 4, holding no value in any row" in out
    assert "left out, as identifiers: 'Order No.'" in out
    (tmp_path / "new.csv").write_text("x\n0.5\n")
    assert main(["predict", str(run), "--data", str(tmp_path / "new.csv")]) == 0


IDENTIFIER_NAMES = ["id", "ID", "customer_id", "customerId", "Key", "KEY", "index", "Order No.",
                    "Order Number", "order_number", "record_no", "Customer Number", "record nr",
                    "orderNo", "Invoice #"]
QUANTITY_NAMES = ["n_rooms", "num_children", "number_of_items", "number_of_rooms",
                  "keyboard_time", "idle_minutes", "id_score", "paid", "valid", "monkey",
                  "casino", "number", "No", "width"]


@pytest.mark.parametrize("name", IDENTIFIER_NAMES)
def test_whole_numbers_one_per_row_named_like_an_identifier_are_left_out(name):
    codes = cells(*[[str(500_001 + 3 * i)] for i in range(20)])   # not like row numbers
    enc = tabular.TableEncoder().fit(np.hstack([codes, codes]), [name, "x"])
    assert enc.kinds_ == ["left out", "numeric"], name
    assert "named like an identifier" in enc.left_out_[name]


@pytest.mark.parametrize("name", QUANTITY_NAMES)
def test_a_quantity_named_with_an_identifier_word_first_is_kept(name):
    counts = cells(*[[str(500_001 + 3 * i)] for i in range(20)])
    assert tabular.TableEncoder().fit(counts, [name]).kinds_ == ["numeric"], name


def test_a_name_alone_does_not_make_an_identifier():
    repeated = cells(*[[str(i % 5)] for i in range(20)])     # a code that repeats: a feature
    assert tabular.TableEncoder().fit(repeated, ["Order No."]).kinds_ == ["numeric"]


def test_dates_become_year_month_day_of_year_day_of_week_and_trend():
    train = cells(["2021-03-01", "1"], ["2021-12-31T18:00", "2"], ["", "3"], ["2022-01-02", "4"])
    enc = tabular.TableEncoder(min_missing=1).fit(train, ["when", "x"])
    assert enc.kinds_ == ["date", "numeric"] and enc.formats_ == ["iso", None]
    assert enc.feature_names_out_[:5] == ["when year", "when month", "when day of year",
                                          "when day of week", "when trend"]
    X = enc.transform(cells(["2024-02-29", "1"], ["", "1"]))
    assert X[0, :4].tolist() == [2024, 2, 60, 3]              # a Thursday
    median = np.datetime64("2021-12-31T18:00")                # the trend: years from it
    assert abs(X[0, 4] - (np.datetime64("2024-02-29") - median) / np.timedelta64(1, "D")
               / dates.DAYS_PER_YEAR) < 1e-6
    assert X[1, :4].tolist() == [2021, 12, 365, 4]             # missing: the median date
    assert X[:, enc.feature_names_out_.index("when missing")].tolist() == [0, 1]
    assert any("dates (ISO 8601" in line for line in enc.describe())
    # a date beyond the training range is far outside it, as any number
    _, numbers = enc.encode(cells(["2031-06-01", "2"], ["2021-06-01", "2"]))
    far = training_range.far_outside(enc, numbers)
    assert far.mask[:, 0].tolist() == [True, False]
    with pytest.raises(ValueError, match=r"column 'when' holds dates, but data row 1 .*'soon'"):
        enc.transform(cells(["2021-01-01", "1"], ["soon", "1"]))
    again = tabular.TableEncoder.from_state(json.loads(json.dumps(enc.to_state())))
    assert np.array_equal(again.transform(train), enc.transform(train))


@pytest.mark.parametrize("written, fmt, first", [
    (["13/03/2024", "01/04/2024"], "dmy", [2024, 3, 73]),
    (["03/13/2024", "04/01/2024"], "mdy", [2024, 3, 73]),
    (["01/03/2024", "02/04/2024"], "mdy", [2024, 1, 3]),       # slashes, nothing tells: US
    (["1.3.2024", "2.4.2024"], "dmy", [2024, 3, 61]),           # dots, nothing tells: day first
    (["2024/3/13", "2024/04/01"], "ymd", [2024, 3, 73]),
])
def test_common_date_formats_are_read(written, fmt, first):
    enc = tabular.TableEncoder().fit(cells(*[[w] for w in written]), ["d"])
    assert enc.formats_ == [fmt]
    assert enc.transform(cells([written[0]]))[0, :3].tolist() == first


def test_text_that_only_looks_like_dates_stays_text():
    for words in (["12.5.3", "1.0.2"], ["2024-02-30", "2024-01-01"], ["today", "now"]):
        assert tabular.TableEncoder().fit(cells(*[[w] for w in words]),
                                          ["v"]).kinds_ == ["categorical"]


def test_the_table_encoder_round_trips_through_json_and_arrays():
    enc = tabular.TableEncoder().fit(cells(["red", "1"], ["", "NA"], ["blue", "3"]), ["c", "x"])
    again = tabular.TableEncoder.from_state(json.loads(json.dumps(enc.to_state(),
                                                                  allow_nan=False)))
    rows = cells(["blue", ""], ["", "9"], ["red", "2"])
    assert np.array_equal(again.transform(rows), enc.transform(rows))
    assert again.feature_names_out_ == enc.feature_names_out_
    assert np.array_equal(again.ranges_, enc.ranges_, equal_nan=True)
    assert enc.ranges_[1].tolist() == [1.0, 3.0, 1.0]     # x's training min, max and std


def test_the_task_rule_reads_the_evidence():
    assert tabular.decide_task(np.array(["cat", "dog"]))[0] == "classify"
    assert tabular.decide_task(np.array(["0", "1", "1.0"]))[0] == "classify"
    digits = np.repeat(np.arange(10), 3).astype(str)
    assert tabular.decide_task(digits)[0] == "classify"
    task, reason = tabular.decide_task(np.arange(21).astype(str))
    assert task == "regress" and "21 distinct whole numbers" in reason
    assert tabular.decide_task(np.array(["0.5", "1", "2"]))[0] == "regress"
    # 15 whole numbers filling 0..14 are a count, in every sample of it
    task, reason = tabular.decide_task(np.repeat(np.arange(15), 4))
    assert task == "regress" and "range 0 to 14" in reason and "--task classify" in reason
    # but 15 scattered codes, each in several rows, are classes
    codes = np.repeat(np.arange(15) * 10, 4)
    assert tabular.decide_task(codes)[0] == "classify"
    # a value held by one row only is no class
    task, reason = tabular.decide_task(np.array([1, 1, 2, 2, 3, 3, 7]))
    assert task == "regress" and "7 is held by one row" in reason


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


def test_regression_metrics_of_several_outputs_measure_each_on_its_own():
    # one mean pooled over outputs of different scales gave R^2 = 0.99999 to the means
    from babysit.training.metrics import regression_metrics

    rng = np.random.default_rng(0)
    Y = np.c_[rng.normal(size=100), 1000 + rng.normal(size=100)]
    assert regression_metrics(Y, np.tile(Y.mean(axis=0), (100, 1)))["r2"] == 0.0
    perfect_and_mean = np.c_[Y[:, 0], np.full(100, Y[:, 1].mean())]
    assert regression_metrics(Y, perfect_and_mean)["r2"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="y_true must be finite"):
        regression_metrics([1.0, np.nan], [1.0, 2.0])


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
    data = datasets.load(write_table(tmp_path / "p.csv", header, rows), target="species",
                         fractions=(0.6, 0.2, 0.2))
    assert "Torgersen" not in data.table.categories_[0]
    assert any("'island': 1 of" in note and "'Torgersen'" in note for note in data.notes)


def test_classes_learned_as_text_match_another_parts_numbers_as_text():
    # ratings 1-5 with a word among them: the training rows' classes are text, a validation
    # part of numbers alone was read as numbers and matched none ("target '3' is not one of")
    encoder = tabular.TargetEncoder("classify").fit(np.array(["1", "2", "unknown", "3"]))
    assert encoder.classes_ == ["1", "2", "3", "unknown"]
    assert encoder.transform(np.array(["3", " 1", "unknown"])).tolist() == [2, 0, 3]


def test_an_unnamed_column_of_distinct_whole_numbers_is_left_out_as_an_index():
    # df.sample(...).to_csv(): the index, shuffled, is no run of row numbers; kept, it was a
    # feature (and may leak the target, when rows were written in the order of their class)
    rng = np.random.default_rng(0)
    index = rng.permutation(1000)[:200].astype(str)
    table = np.column_stack([index, rng.normal(size=200).round(3).astype(str)])
    encoder = tabular.TableEncoder().fit(table, ["", "a"])
    assert encoder.kinds_ == ["left out", "numeric"]
    assert any("the index a data frame was written with" in line for line in encoder.describe())


def test_a_column_of_percentages_is_a_column_of_numbers():
    """Spreadsheets export percent columns as "12%": they were one-hot categories."""
    cells = np.array([["12%", "a"], ["30 %", "b"], ["-5.5%", "a"], ["", "b"]] * 4)
    table = tabular.TableEncoder().fit(cells, ["rate", "kind"])
    assert table.kinds_[0] == "numeric"
    assert np.allclose(tabular.as_numbers(cells[:3, 0], np.zeros(3, bool)), [12, 30, -5.5])
    new = table.transform(np.array([["40%", "a"]]))
    assert new.shape[1] == table.transform(cells[:1]).shape[1]


def test_percentages_beside_plain_numbers_are_not_read_as_one_column_of_numbers():
    cells = np.array(["12%", "0.3", "5%"])
    assert tabular.as_numbers(cells, np.zeros(3, bool)) is None


def test_percentages_beside_plain_numbers_are_refused_naming_the_rarer_form():
    rate = cells(*[[str(i % 9)] for i in range(40)], ["5%"])
    with pytest.raises(ValueError, match=r"column 'rate' mixes percentages \('5%' in data row "
                                         r"40 \(line 42\)\) with plain numbers"):
        tabular.TableEncoder().fit(rate, ["rate"])
    with pytest.raises(ValueError, match=r"mixes percentages \('nan%' in data row 2"):
        tabular.TableEncoder().fit(cells(["2.5"], ["-3"], ["nan%"]), ["r"])
    with pytest.raises(ValueError, match=r"mixes plain numbers \('7' in data row 2"):
        tabular.TableEncoder().fit(cells(["2%"], ["3 %"], ["7"], ["1%"]), ["r"])
    fitted = tabular.TableEncoder().fit(cells(["1"], ["2"], ["3"]), ["income"])
    with pytest.raises(ValueError, match=r"column 'income' mixes percentages \('5%' in data "
                                         r"row 1 \(line 3\)\) with plain numbers"):
        fitted.transform(cells(["50000"], ["5%"], ["7"]))
    with pytest.raises(ValueError, match=r"the target 'price' mixes percentages \('3%' at row 2"):
        tabular.TargetEncoder("regress").fit(np.array(["1", "2", "3%"]), name="price")


def test_text_among_numeric_classes_is_named_as_written_with_its_row():
    target = tabular.TargetEncoder("classify").fit(np.array(["0", "1", "2"]), name="digit")
    with pytest.raises(ValueError) as refused:
        target.transform(np.array(["1", "2", "x"]))
    assert str(refused.value) == ("target 'x' at row 2 is text, and the classes of 'digit' are "
                                  "numbers (0, 1, 2)")
    with pytest.raises(ValueError, match=r"target 'x' in data row 7 \(line 9\) is text"):
        target.transform(np.array(["1", "x"]), rows=np.array([3, 7]))


def test_the_date_trend_keeps_the_time_of_day_in_float32():
    times = [f"2024-03-01 {8 + i // 4:02d}:{15 * (i % 4):02d}" for i in range(40)]
    enc = tabular.TableEncoder().fit(cells(*[[t] for t in times]), ["when"])
    X = enc.transform(cells(*[[t] for t in times]))
    assert X.dtype == np.float32 and len(np.unique(X, axis=0)) == 40
    assert np.all(np.diff(X[:, 4]) > 0)                       # later is a larger trend
    assert "years from the training rows' median date" in enc.describe()[0]


def test_an_encoder_saved_before_the_trend_was_centred_keeps_its_fractional_year():
    enc = tabular.TableEncoder().fit(cells(["2024-02-29"], ["2024-03-02"]), ["when"])
    state = json.loads(json.dumps(enc.to_state()))
    del state["fitted"]["centred_trend_"]                      # as an older run saved it
    old = tabular.TableEncoder.from_state(state)
    assert abs(old.transform(cells(["2024-02-29"]))[0, 4] - (2024 + 59 / 366)) < 0.01
    assert "(the date as a fractional year)" in old.describe()[0]


def test_numeric_classes_keep_the_spelling_the_file_gave_them():
    """Codes with leading zeros, or classes written 1.0 and 10.0, were written back as 7, 9, 8
    and 1, 10, 2: predictions that no longer match the source's own labels."""
    encoder = tabular.TargetEncoder("classify").fit(np.array(["007", "08", "9", "08"]))
    assert encoder.classes_ == ["007", "08", "9"]           # in numeric order
    assert encoder.inverse_transform(encoder.transform(np.array(["9", "8"]))).tolist() == \
        ["9", "08"]                                         # 8 is the class "08"
    assert tabular.TargetEncoder("classify").fit(np.array(["10.0", "2.0", "1.0"])).classes_ == \
        ["1.0", "2.0", "10.0"]


def test_numbers_far_from_0_against_their_spread_keep_their_detail_in_float32():
    """300 distinct epoch-millisecond timestamps became 3 values in the float32 cast."""
    stamps = np.array([str(1_700_000_000_000 + i * 1000) for i in range(300)])
    cells = np.c_[stamps, [str(i % 7) for i in range(300)]]
    encoder = tabular.TableEncoder().fit(cells, ["t", "k"])
    features = encoder.transform(cells)
    assert len(np.unique(features[:, 0])) == 300
    assert encoder.offsets_.tolist() == [1_700_000_149_500, 0.0]   # "k" encoded as it is
    assert features[:, 1].tolist() == [i % 7 for i in range(300)]
    assert any("distance from the training median" in line for line in encoder.describe())
    state = encoder.to_state()
    again = tabular.TableEncoder.from_state(json.loads(json.dumps(state)))
    np.testing.assert_array_equal(again.transform(cells), features)
    del state["fitted"]["offsets_"]   # saved before offsets: every number as it is
    np.testing.assert_array_equal(tabular.TableEncoder.from_state(state).transform(cells)[:, 0],
                                  stamps.astype(np.float64).astype(np.float32))
