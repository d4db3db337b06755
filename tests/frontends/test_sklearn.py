"""scikit-learn's own estimator checks, model selection, pickling and labels of any type."""

import ast
import copy
import inspect
import pickle
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits, load_wine, make_regression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from babysit.data.training_range import ExtrapolationWarning
from babysit.runs.config import config_fields
from babysit.sklearn import BabysitClassifier, BabysitRegressor
from babysit.training.history import History

# Small and fast: the check suite fits each estimator dozens of times on small data.
FAST = dict(hidden=(16,), lr=1e-2, epochs=20, batch_size=32)


def float32_rounding(estimator) -> dict:
    """The one check float32 arithmetic cannot promise to pass (float64 runs it in full)."""
    if estimator.dtype != "float32":
        return {}
    return {"check_methods_subset_invariance":
            "float32 matrix products on a subset of rows may round differently in the last bit "
            "(~1e-7 relative); the check asks for 1e-7 absolute. With dtype='float64' it passes."}


@parametrize_with_checks(
    [BabysitClassifier(**FAST), BabysitRegressor(**FAST),
     BabysitClassifier(**FAST, dtype="float64"), BabysitRegressor(**FAST, dtype="float64")],
    expected_failed_checks=float32_rounding)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def sklearn_digits_600():
    """600 digits drawn from all writers, pixels scaled to [0, 1]: enough to learn, quick
    to fit."""
    X, y = load_digits(return_X_y=True)
    pick = np.random.default_rng(0).permutation(len(y))[:600]
    return X[pick] / 16.0, y[pick]


def small_classifier(**kw):
    return BabysitClassifier(**{"hidden": (32,), "epochs": 15, "lr": 3e-3, **kw})


@pytest.mark.parametrize("estimator", [BabysitClassifier, BabysitRegressor])
def test_the_parameter_docs_are_run_configs_help_texts(estimator):
    """Each parameter is documented with its default and RunConfig's help text, generated,
    so a changed help text or default changes the docstring too."""
    doc = " ".join(inspect.getdoc(estimator).split())   # the wrapping undone
    fields = config_fields()
    for name, default in estimator().get_params().items():
        assert f"{name} : default {default!r}" in doc
        if name != "verbose":
            assert " ".join(fields[name].metadata["help"].split()) in doc
    assert "preprocess : default 'minmax'" in doc and "'whiten-zca'" in doc


def test_the_defaults_the_manual_shows_are_the_defaults():
    """The manual's `BabysitClassifier(...)  # these are the defaults` call (its estimators
    page) passes each argument its default: a changed default shows there too."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "estimators.md").read_text()
    call = re.search(r"BabysitClassifier\((.*?)\)\s*# these are the defaults", text, re.S)
    assert call, "the manual no longer shows the defaults"
    shown = ast.parse(f"f({call.group(1)})").body[0].value.keywords
    defaults = BabysitClassifier().get_params()
    assert {k.arg: ast.literal_eval(k.value) for k in shown} == {
        k.arg: defaults[k.arg] for k in shown}


def test_constructor_arguments_are_the_run_configuration_fields():
    """Generated from RunConfig: every field but the data's own is a parameter, so a new
    hyperparameter reaches the estimators with no edit there."""
    fields = set(config_fields()) - {"data", "target", "task", "drop", "split", "val_data",
                                     "test_data", "header"}   # a table's own
    assert set(BabysitClassifier().get_params()) == fields | {"verbose"}
    assert set(BabysitRegressor().get_params()) == fields - {"loss", "patience"} | {"verbose"}
    assert BabysitClassifier().preprocess == "minmax"
    assert BabysitClassifier(lr_decay=1e-3).get_params()["lr_decay"] == 1e-3
    with pytest.raises(TypeError, match="unexpected arguments \\['lrate'\\]"):
        BabysitClassifier(lrate=1e-3)


def test_labels_of_any_type_come_back_as_given(sklearn_digits_600):
    X, y = sklearn_digits_600
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                      "nine"])
    clf = small_classifier().fit(X[:500], names[y[:500]])
    assert list(clf.classes_) == sorted(names)
    pred = clf.predict(X[500:])
    assert pred.dtype == names.dtype
    assert np.mean(pred == names[y[500:]]) > 0.85
    proba = clf.predict_proba(X[500:])
    assert proba.shape == (100, 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert np.array_equal(clf.classes_[proba.argmax(axis=1)], pred)


@pytest.mark.parametrize("missing", [None, float("nan"), "pandas NA"])
def test_a_missing_label_is_refused_naming_y_and_where(sklearn_digits_600, missing):
    """A label column with a gap (None, NaN, pandas' NA) failed in NumPy's sort of the labels
    with a bare TypeError ("'<' not supported between instances of 'NoneType' and 'str'")."""
    X, y = sklearn_digits_600
    labels = np.array(["even", "odd"], dtype=object)[y[:40] % 2]
    if missing == "pandas NA":
        pandas = pytest.importorskip("pandas")
        labels = pandas.Series(labels, dtype="string")
        labels[[3, 9]] = pandas.NA
    else:
        labels[[3, 9]] = missing
    message = r"y holds 2 missing labels \(the first at position 3\)"
    with pytest.raises(ValueError, match=message):
        small_classifier().fit(X[:40], labels)
    with pytest.raises(ValueError, match=message):
        small_classifier().partial_fit(X[:40], labels, classes=["even", "odd"])


def test_history_and_fitted_attributes(sklearn_digits_600):
    X, y = sklearn_digits_600
    clf = small_classifier(epochs=6).fit(X, y)
    assert isinstance(clf.history_, History)
    assert clf.history_.epochs == 6
    assert clf.history_.loss[-1] < clf.history_.loss[0]
    assert clf.n_features_in_ == 64
    assert clf.net_.dtype == np.float32
    assert clf.trainer_.average is None


def test_average_predicts_with_the_running_average_of_the_same_run(sklearn_digits_600):
    X, y = sklearn_digits_600
    last = small_classifier().fit(X, y)
    averaged = small_classifier(average=0.99).fit(X, y)
    assert averaged.trainer_.average.decay == 0.99
    assert averaged.history_.loss == last.history_.loss  # averaging never changes training
    assert not np.allclose(averaged.predict_proba(X), last.predict_proba(X), atol=1e-3)
    assert averaged.score(X, y) > 0.95


def test_the_default_min_max_scaling_makes_the_units_of_the_features_irrelevant(sklearn_digits_600):
    X, y = sklearn_digits_600
    scaled = small_classifier(epochs=3).fit(X, y)
    raw = small_classifier(epochs=3).fit(X * 16.0 + 5.0, y)
    assert type(raw.preprocess_).__name__ == "MinMax"
    np.testing.assert_allclose(raw.predict_proba(X * 16.0 + 5.0), scaled.predict_proba(X),
                               atol=1e-4)
    plain = small_classifier(epochs=3, preprocess="none").fit(X, y)
    assert plain.preprocess_ is None
    assert not np.allclose(plain.predict_proba(X), scaled.predict_proba(X), atol=1e-2)


def test_patience_stops_when_training_accuracy_stalls(sklearn_digits_600):
    X, y = sklearn_digits_600
    clf = small_classifier(epochs=200, patience=2, lr=1e-2).fit(X, y)
    assert clf.history_.epochs < 200
    assert clf.history_.train_acc[-1] <= max(clf.history_.train_acc[:-2])


def test_fit_starts_over_and_same_seed_gives_same_model(sklearn_digits_600):
    X, y = sklearn_digits_600
    clf = small_classifier(epochs=3)
    first = clf.fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(clf.fit(X, y).predict_proba(X), first)
    assert clf.history_.epochs == 3
    other = small_classifier(epochs=3, seed=1).fit(X, y).predict_proba(X)
    assert not np.array_equal(other, first)


def test_partial_fit_trains_its_epoch_after_early_stopping_would_have_stopped(sklearn_digits_600):
    # the EarlyStopping a high rate soon triggers made every later call do nothing, silently
    X, y = sklearn_digits_600
    clf = BabysitClassifier(patience=1, hidden=(16,), seed=0, lr=0.5)
    epochs = []
    for _ in range(8):
        clf.partial_fit(X[:300], y[:300], classes=np.arange(10))
        epochs.append(clf.trainer_.epoch)
    assert epochs == list(range(1, 9))


def test_partial_fit_continues_one_epoch_per_call(sklearn_digits_600):
    X, y = sklearn_digits_600
    clf = small_classifier()
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    for _ in range(8):
        clf.partial_fit(X[:500], y[:500], classes=np.arange(10))
    assert clf.history_.epochs == 8
    assert clf.score(X[500:], y[500:]) > 0.85
    with pytest.raises(ValueError, match=r"labels \[11\]"):
        clf.partial_fit(X[:2], np.array([1, 11]))
    with pytest.raises(ValueError, match="differs"):
        clf.partial_fit(X, y, classes=np.arange(11))


def test_a_first_partial_fit_refused_for_its_labels_builds_nothing(sklearn_digits_600):
    """Labels outside `classes` were refused after the network was built for `classes`: the
    estimator then predicted untrained, and the corrected call was told its classes differed
    from those of the call that had been refused."""
    from sklearn.exceptions import NotFittedError

    X, y = sklearn_digits_600
    clf = small_classifier()
    with pytest.raises(ValueError, match=r"labels \[9\] that are not in classes"):
        clf.partial_fit(X[:100], y[:100], classes=np.arange(9))
    with pytest.raises(NotFittedError):
        clf.predict(X[:5])
    clf.partial_fit(X[:100], y[:100], classes=np.arange(10))
    assert clf.history_.epochs == 1 and clf.classes_.tolist() == list(range(10))


def test_a_refit_refused_for_a_setting_leaves_the_fitted_estimator_as_it_was(sklearn_digits_600):
    """fit checked its settings only after taking the new data's classes_ and width: a refused
    refit left the earlier network answering with the new labels, or refusing both widths."""
    X, y = sklearn_digits_600
    clf = small_classifier(epochs=3).fit(X, y)
    pred = clf.predict(X)
    words = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                      "nine"])
    with pytest.raises(ValueError, match="lr must be > 0, got 0"):
        clf.set_params(lr=0).fit(X, words[y])
    with pytest.raises(ValueError, match="epochs must be a positive integer, got 0"):
        clf.set_params(lr=3e-3, epochs=0).fit(X[:, :10], y)
    np.testing.assert_array_equal(clf.predict(X), pred)
    reg = BabysitRegressor(hidden=(8,), epochs=2).fit(X, y * 1.0)
    with pytest.raises(ValueError, match="dropout must be in"):
        reg.set_params(dropout=1.0).fit(X[:, :10], np.column_stack([y, y]) * 1.0)
    assert reg.predict(X).shape == (600,)


def test_integer_features_past_float32s_precision_are_not_rounded_before_scaling():
    """int64 X went to float32 before the min-max scaling: 1,600,000,000 and 1,600,000,001 (a
    Unix time a second apart) became one value, which the same numbers as float64 were not."""
    t = np.array([[1_600_000_000], [1_600_000_001]] * 32)
    y = np.arange(64) % 2
    clf = BabysitClassifier(hidden=(8,), epochs=30, lr=1e-2, seed=0)
    by_int = clf.fit(t, y).predict_proba(t)
    assert clf.score(t, y) == 1.0
    np.testing.assert_array_equal(clf.fit(t.astype(np.float64), y).predict_proba(t), by_int)


# digits' rarely inked pixels: a held-out stroke where the training rows had almost none is
# far outside their range, rightly warned of in some folds (tested below, on wine)
@pytest.mark.filterwarnings("ignore::babysit.data.training_range.ExtrapolationWarning")
def test_pipeline_grid_search_and_cross_validation(sklearn_digits_600):
    X, y = sklearn_digits_600
    X = X * 16.0  # raw pixels: the pipeline's scaler is part of what is tested
    pipe = make_pipeline(MinMaxScaler(), small_classifier(epochs=8))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.8

    grid = GridSearchCV(pipe, {"babysitclassifier__hidden": [(8,), (32,)],
                               "babysitclassifier__lr": [1e-5, 3e-3]}, cv=2)
    grid.fit(X, y)
    # lr=1e-5 barely moves the weights in 8 epochs: the search must notice.
    assert grid.best_params_["babysitclassifier__lr"] == 3e-3
    assert grid.best_score_ > 0.8
    assert grid.predict(X[:5]).shape == (5,)


def test_pickle_round_trip_predicts_the_same(sklearn_digits_600):
    X, y = sklearn_digits_600
    clf = small_classifier(epochs=3).fit(X, y)
    copy = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(copy.predict(X), clf.predict(X))
    copy.partial_fit(X, y)  # the optimizer state and the average came along
    assert copy.history_.epochs == 4


def test_regressor_targets_in_any_units_and_shapes():
    X, y = make_regression(n_samples=300, n_features=5, noise=1.0, random_state=0)
    big = 1000.0 * y + 5000.0  # units an unscaled network would take ages to reach
    reg = BabysitRegressor(hidden=(32,), lr=1e-2).fit(X[:200], big[:200])
    pred = reg.predict(X[200:])
    assert pred.shape == (100,)
    assert reg.score(X[200:], big[200:]) > 0.9
    assert reg.history_.train_acc == [None] * 30  # no accuracy for a regression loss

    Y = np.column_stack([y, -2.0 * y])
    reg2 = BabysitRegressor(hidden=(32,), lr=1e-2).fit(X[:200], Y[:200])
    assert reg2.predict(X[200:]).shape == (100, 2)
    assert reg2.score(X[200:], Y[200:]) > 0.9
    assert BabysitRegressor(epochs=1).fit(X, y[:, None]).predict(X).shape == (300, 1)


@pytest.mark.parametrize("scale", [1e200, 1e-300])
def test_regressor_score_is_the_same_at_any_scale_of_the_targets(scale):
    """R^2 does not change with the targets' units; scikit-learn's r2_score squared targets of
    1e200 into inf (NaN, with overflow warnings). Unscaled, it is r2_score's number exactly."""
    from sklearn.metrics import r2_score

    X, y = make_regression(n_samples=200, n_features=3, noise=1.0, random_state=2)
    reg = BabysitRegressor(hidden=(8,), epochs=3).fit(X, y)
    weights = np.linspace(0.5, 2.0, 200)
    assert reg.score(X, y) == r2_score(y, reg.predict(X))
    assert reg.score(X, y, weights) == r2_score(y, reg.predict(X), sample_weight=weights)
    big = BabysitRegressor(hidden=(8,), epochs=3).fit(X, y * scale)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert big.score(X, y * scale, weights) == pytest.approx(
            r2_score(y, big.predict(X) / scale, sample_weight=weights), rel=1e-9)


def test_regressor_partial_fit_keeps_the_first_scaling():
    X, y = make_regression(n_samples=200, n_features=3, noise=0.5, random_state=1)
    reg = BabysitRegressor(hidden=(16,), lr=1e-2)
    for _ in range(15):
        reg.partial_fit(X, y)
    assert reg.history_.epochs == 15
    assert reg.score(X, y) > 0.9
    with pytest.raises(ValueError, match="2 outputs"):
        reg.partial_fit(X, np.column_stack([y, y]))


@pytest.mark.parametrize("bad, match", [
    (dict(loss="mse"), "loss must be 'softmax' or 'svm'"),
    (dict(reg_kind="l3"), "unknown reg_kind 'l3'; known: l2, l1, elastic"),
    (dict(optimizer="adamw"), "unknown optimizer 'adamw'"),
    (dict(dtype="int8"), "unknown dtype 'int8'; known: float32, float64"),
    (dict(dropout=1.0), r"dropout must be in \[0, 1\), got 1.0"),
    (dict(preprocess="scale"), "unknown preprocess 'scale'"),
    (dict(epochs=0), "epochs must be a positive integer, got 0"),
])
def test_bad_arguments_are_refused_at_fit_naming_the_argument(sklearn_digits_600, bad, match):
    X, y = sklearn_digits_600
    with pytest.raises(ValueError, match=match):
        small_classifier(**bad).fit(X[:20], y[:20])


# -- rows far outside the training range ------------------------------------------------------


@pytest.fixture(scope="module")
def wine_fit():
    """A classifier fitted on 120 wine rows (13 measurements in their own units), and the
    58 held-out rows, none of them far outside the training range."""
    X, y = load_wine(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    train, rest = order[:120], order[120:]
    return small_classifier(epochs=5, seed=0).fit(X[train], y[train]), X[rest], X[train]


def far_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, ExtrapolationWarning)]


def test_held_out_rows_inside_the_training_range_predict_without_a_warning(wine_fit):
    clf, X_new, _ = wine_fit
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.predict(X_new)
        clf.predict_proba(X_new)
    assert far_warnings(caught) == []


def test_far_rows_are_counted_in_one_warning_per_call_naming_the_columns(wine_fit):
    """The notes' 6 sigma: a row 10 training std past the max is one the network never saw;
    it is predicted all the same, exactly as without the check."""
    clf, X_new, X_train = wine_fit
    low, high, std = X_train.min(axis=0), X_train.max(axis=0), X_train.std(axis=0)
    far = X_new.copy()
    far[3, 4] = high[4] + 10 * std[4]
    far[7, 4] = high[4] + 4 * std[4]
    far[7, 0] = low[0] - 20 * std[0]
    far[9, 2] = high[2] + 2 * std[2]              # beyond the max, but not far
    silent = copy.deepcopy(clf)
    del silent.training_ranges_                     # as if pickled before the ranges were kept
    for method in ("predict", "predict_proba"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = getattr(clf, method)(far)
        (message,) = far_warnings(caught)
        assert message.startswith("2 of 58 rows hold values far outside the training range")
        assert "column 0: 1 row, up to 20 training std" in message
        assert "column 4: 2 rows, up to 10 training std" in message
        assert "column 2" not in message
        assert caught[0].filename == __file__       # points at the caller's line
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            np.testing.assert_array_equal(out, getattr(silent, method)(far))
    with pytest.warns(ExtrapolationWarning, match="2 of 58 rows") as caught:
        clf.score(far, clf.predict(X_new))
    assert len(far_warnings(caught)) == 1


def test_columns_are_named_when_fitted_on_a_data_frame():
    pandas = pytest.importorskip("pandas")
    X, y = load_wine(return_X_y=True, as_frame=True)
    clf = small_classifier(epochs=2).fit(X, y)
    far = X.iloc[:4].copy()
    far.loc[far.index[1], "magnesium"] = 40000.0
    with pytest.warns(ExtrapolationWarning, match="1 of 4 rows .*; magnesium: 1 row, up to"):
        clf.predict(far)
    assert isinstance(far, pandas.DataFrame)


def test_the_training_ranges_are_learned_not_parameters(wine_fit):
    """clone and get_params see no trace of them; a pickled estimator keeps them; refitting
    measures the new training rows; partial_fit widens the min and max with each call."""
    clf, X_new, X_train = wine_fit
    ranges = clf.training_ranges_
    assert ranges.shape == (13, 3)
    np.testing.assert_allclose(ranges[:, 0], X_train.min(axis=0))
    np.testing.assert_allclose(ranges[:, 2], X_train.std(axis=0))
    assert "training_ranges_" not in clf.get_params()
    assert not hasattr(clone(clf), "training_ranges_")
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(clf)).training_ranges_, ranges)
    refit = clone(clf).fit(2 * X_train, np.arange(120) % 3)
    np.testing.assert_allclose(refit.training_ranges_, 2 * ranges)

    online = small_classifier().partial_fit(X_train[:60], np.arange(60) % 3, classes=[0, 1, 2])
    first_std = online.training_ranges_[:, 2].copy()
    online.partial_fit(X_train[60:], np.arange(60) % 3)
    np.testing.assert_allclose(online.training_ranges_[:, :2], ranges[:, :2])
    np.testing.assert_array_equal(online.training_ranges_[:, 2], first_std)


def test_a_column_constant_in_training_raises_no_alarm_for_float_noise():
    """A column of 0.1s has a std of 1e-17, not 0; a new 0.1000001 is the same value."""
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=200), np.full(200, 0.1)])
    reg = BabysitRegressor(hidden=(8,), epochs=2).fit(X, X[:, 0])
    assert 0 < reg.training_ranges_[1, 2] < 1e-16
    new = X[:5].copy()
    new[:, 1] = 0.1000001
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reg.predict(new)
    new[2, 1] = 0.2                        # a real change in a column that never varied
    with pytest.warns(ExtrapolationWarning, match="1 of 5 rows .*column 1: 1 row"):
        reg.predict(new)


def test_settings_that_need_validation_data_are_said_to_do_nothing(sklearn_digits_600):
    X, y = sklearn_digits_600
    with pytest.warns(UserWarning, match=r"best_weights=True does nothing here"):
        BabysitClassifier(best_weights=True, hidden=(8,), epochs=1).fit(X[:100], y[:100])
    with pytest.warns(UserWarning, match=r"min_delta=0.1 does nothing here"):
        BabysitRegressor(min_delta=0.1, hidden=(8,), epochs=1).fit(X[:100], y[:100] * 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        BabysitClassifier(patience=2, min_delta=0.01, hidden=(8,), epochs=1).fit(X[:100],
                                                                                 y[:100])
