"""The scikit-learn estimators take DataFrames as people have them: text, categories, dates
and missing values go through the table encoder `babysit train` uses; the column names are
kept; errors name the column."""

import warnings

import numpy as np
import pytest

from babysit.data import frames, tabular, training_range
from babysit.sklearn import BabysitClassifier, BabysitRegressor

pd = pytest.importorskip("pandas")      # the bench and test extras install it

FAST = {"epochs": 40, "hidden": (16,), "lr": 1e-2, "seed": 0}


def frame(n=150, seed=0):
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "blue", "green"], n)
    size = rng.normal(size=n)
    df = pd.DataFrame({"colour": colour, "size": size,
                       "when": pd.date_range("2020-01-01", periods=n, freq="D"),
                       "kind": pd.Categorical(rng.choice(["a", "b"], n))})
    df.loc[::9, "size"] = np.nan
    df.loc[::11, "colour"] = None
    return df


def test_a_classifier_learns_from_text_categories_dates_and_missing_values():
    df = frame()
    y = np.where(df["colour"] == "red", "warm", "cold")
    model = BabysitClassifier(**FAST).fit(df, y)
    assert model.feature_names_in_.tolist() == ["colour", "size", "when", "kind"]
    assert model.n_features_in_ == 4
    assert "colour=red" in model.table_.feature_names_out_ and "when trend" in \
        model.table_.feature_names_out_
    assert model.score(df, y) > 0.9                       # the colour tells the class
    # the columns are matched by name, in any order
    assert np.array_equal(model.predict(df[df.columns[::-1]]), model.predict(df))
    with pytest.raises(ValueError, match="X lacks the column 'kind'"):
        model.predict(df.drop(columns=["kind"]))


def test_the_estimator_encodes_as_the_command_line_does():
    df = frame()
    model = BabysitRegressor(**FAST).fit(df, np.arange(len(df), dtype=float))
    cells = df.astype(object).where(df.notna(), "").astype(str).to_numpy()
    cells[:, 2] = df["when"].dt.strftime("%Y-%m-%d")
    cli = tabular.TableEncoder().fit(cells, list(df.columns))
    assert model.table_.feature_names_out_ == cli.feature_names_out_
    assert np.allclose(model.table_.transform(cells), cli.transform(cells))


def test_a_word_among_numbers_is_refused_naming_the_column():
    df = frame()
    df["size"] = df["size"].astype(object)
    df.loc[7, "size"] = "u"
    with pytest.raises(ValueError, match=r"column 'size' holds numbers, but data row 7 .*'u'.*"
                                         r"drop 'size' from X$"):
        BabysitClassifier(**FAST).fit(df, np.arange(len(df)) % 2)


def test_a_frame_whose_columns_repeat_a_name_is_refused():
    """Both 'size' columns were encoded at fit, but columns are matched by name at predict
    time, which took the first 'size' twice: predictions from the wrong inputs, silently."""
    df = frame()
    twice = pd.concat([df[["colour", "size"]], df[["size"]].rename(columns={"size": "size"})
                       * 1], axis=1)
    twice.columns = ["colour", "size", "size"]
    with pytest.raises(ValueError, match=r"repeat names \('size' names columns 2 and 3\)"):
        BabysitClassifier(**FAST).fit(twice, np.arange(len(df)) % 2)


def test_an_array_after_a_frame_is_read_by_position_with_scikit_learns_warning():
    df = frame()
    model = BabysitClassifier(**FAST).fit(df, np.arange(len(df)) % 2)
    with pytest.warns(UserWarning, match="X does not have valid feature names.*'colour', "
                                         "'size', 'when', 'kind'"):
        by_position = model.predict(df.astype(object).to_numpy())
    assert np.array_equal(by_position, model.predict(df))


def test_unnamed_columns_that_cannot_be_used_are_named_as_the_estimator_sees_them():
    cells = np.array([["1", "a"], ["2", "b"], ["x", "c"], ["4", "d"]] * 6, dtype=object)
    cells[::3, 0] = "5"
    with pytest.raises(ValueError, match=r"column 'column 0' holds numbers.*; or drop "
                                         r"'column 0' from X$") as caught:
        BabysitClassifier(**FAST).fit(cells, np.arange(len(cells)) % 2)
    assert "--drop" not in str(caught.value)


def test_a_date_beyond_the_training_range_is_warned_of_by_name():
    df = frame()
    model = BabysitRegressor(**FAST).fit(df, np.arange(len(df), dtype=float))
    later = df.head(3).copy()
    later["when"] = pd.Timestamp("2035-01-01")
    with pytest.warns(training_range.ExtrapolationWarning, match="when"):
        model.predict(later)


def test_a_numeric_frame_without_gaps_goes_to_the_network_as_it_is():
    df = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) % 3})
    model = BabysitClassifier(epochs=2, hidden=(4,)).fit(df, np.arange(40) % 2)
    assert model.table_ is None and model.feature_names_in_.tolist() == ["a", "b"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(df)


def test_distinct_whole_numbers_are_a_feature_and_an_identifier_is_left_out_out_loud():
    """30 distinct minutes of study in 0..59 run like row numbers, which `babysit train`
    leaves out of a file; a program's columns are features it chose, so the estimator keeps
    them. A column named like an identifier is still left out, and a warning names it."""
    rng = np.random.default_rng(0)
    minutes = rng.permutation(60)[:30]
    df = pd.DataFrame({"minutes": minutes, "group": rng.choice(["A", "B"], 30),
                       "customer_id": rng.permutation(1000)[:30]})
    y = np.where(minutes >= 30, "pass", "fail")
    with pytest.warns(UserWarning, match=r"left out of the features: 'customer_id' \(named "
                                         r"like an identifier"):
        model = BabysitClassifier(**FAST).fit(df, y)
    assert "minutes" in model.table_.feature_names_out_
    assert list(model.table_.left_out_) == ["customer_id"]
    cells = df.astype(str).to_numpy()
    assert "minutes" in tabular.TableEncoder().fit(cells, list(df.columns)).left_out_
    saved = tabular.TableEncoder(row_numbers=False).fit(cells, list(df.columns)).to_state()
    assert tabular.TableEncoder.from_state(saved).row_numbers is False


def test_an_object_array_and_a_frame_read_the_same_cells_as_missing():
    """The word "None" is a category (Ames' 'Alley': no alley); None, NaN, pandas' NA and NaT
    are missing values, in an object array as in a DataFrame."""
    columns = {"alley": ["None", "Pave", None, "Grvl", "None"],
               "area": [1.5, np.nan, 2.0, pd.NA, 3.0],
               "sold": [pd.Timestamp("2020-01-02"), pd.NaT, np.datetime64("NaT"),
                        pd.Timestamp("2021-05-01"), pd.Timestamp("2022-03-04")]}
    df = pd.DataFrame(columns)
    array = np.array([list(row) for row in zip(*columns.values(), strict=True)], dtype=object)
    from_frame, _ = frames.cells_of(df)
    from_array, _ = frames.cells_of(array)
    assert (from_frame == "").tolist() == (from_array == "").tolist()
    assert from_array[:, 0].tolist() == ["None", "Pave", "", "Grvl", "None"]
    assert (from_array[:, 1:] == "").sum() == 4


def test_new_rows_are_matched_to_the_columns_as_babysit_predict_matches_a_files():
    """A column the encoder left out (an identifier) need not be among new rows, and one it
    does not know is ignored with a warning naming it: it was required, and taken silently."""
    from babysit.runs.predict import IgnoredColumnsWarning

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"size": rng.normal(size=40), "group": rng.choice(["A", "B"], 40),
                       "customer_id": rng.permutation(1000)[:40]})
    y = np.where(df["size"] > 0, "big", "small")
    with pytest.warns(UserWarning, match="customer_id"):
        model = BabysitClassifier(**FAST).fit(df, y)
    expected = model.predict(df)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.array_equal(model.predict(df.drop(columns=["customer_id"])), expected)
    with pytest.warns(IgnoredColumnsWarning, match="ignoring column 'note'"):
        assert np.array_equal(model.predict(df.assign(note="x")), expected)
    with pytest.raises(ValueError, match="X lacks the column 'group'"):
        model.predict(df.drop(columns=["group"]))


def test_a_categorical_of_numbers_is_one_hot_encoded_not_read_as_a_quantity():
    """Ticket classes 1, 2 and 3 declared a Categorical are three categories: class 2 alone
    survives here, which no line through 1, 2 and 3 can tell."""
    rng = np.random.default_rng(0)
    ticket = rng.choice([1, 2, 3], 150)
    df = pd.DataFrame({"ticket": pd.Categorical(ticket), "age": rng.normal(size=150)})
    y = np.where(ticket == 2, "survived", "died")
    model = BabysitClassifier(**FAST).fit(df, y)
    assert model.table_.kinds_ == ["categorical", "numeric"]
    assert model.table_.categories_[0] == ["1", "2", "3"]
    assert model.score(df, y) == 1.0
    again = tabular.TableEncoder.from_state(model.table_.to_state())
    assert again.categorical == ["ticket"]
    plain = BabysitClassifier(**FAST).fit(df.astype({"ticket": int}).assign(
        note=["x"] * 150), y)
    assert plain.table_.kinds_[0] == "numeric"          # undeclared whole numbers: a quantity


def test_a_categorical_of_floats_at_fit_reads_its_ints_at_predict_as_the_same_classes():
    """A Categorical with a missing value holds floats (1.0, 2.0); new rows without one hold
    ints: the categories were '1.0' and every new row an unseen '1'."""
    rng = np.random.default_rng(0)
    ticket = rng.choice([1, 2, 3], 150)
    with_gap = pd.Series(ticket, dtype=float)
    with_gap[:10] = np.nan
    y = np.where(ticket == 2, "survived", "died")
    df = pd.DataFrame({"ticket": with_gap.astype("category"), "age": rng.normal(size=150)})
    model = BabysitClassifier(**FAST).fit(df, y)
    assert model.table_.categories_[0] == ["1", "2", "3"]
    new = pd.DataFrame({"ticket": pd.Categorical(ticket[10:]), "age": df["age"][10:]})
    with warnings.catch_warnings():
        warnings.simplefilter("error", tabular.UnseenCategoryWarning)
        assert model.score(new, y[10:]) == 1.0
    assert tabular.TableEncoder(categorical=None).categorical == []


def test_a_declared_categorical_writes_whole_floats_as_integers_cell_by_cell():
    """Mixed with text, 1.0 beside "other" is still the category 1 new rows write as 1; codes
    that only look alike as floats ("01" and "1", 17-digit numbers) stay apart."""
    encoder = tabular.TableEncoder(categorical=["c"])
    cells = np.array([["1.0"], ["2.0"], ["other"], ["01"], ["1"], ["12345678901234561"],
                      ["12345678901234562"], ["2.5"], ["-0.0"], ["0"], ["+3.0"], ["3"]] * 3)
    encoder.fit(cells, ["c"])
    assert encoder.categories_[0] == sorted(
        ["0", "1", "2", "3", "other", "01", "12345678901234561", "12345678901234562", "2.5"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", tabular.UnseenCategoryWarning)
        encoded = encoder.transform(np.array([["1"], ["2.0"], ["2"]]))
    assert encoded.sum(axis=1).tolist() == [1.0, 1.0, 1.0]
