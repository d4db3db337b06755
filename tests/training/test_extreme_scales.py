"""Runs at the edges of floating point: features and targets far from unit scale (1e20 in
float32, 1e160 and 1e-300 in float64) and rates that overflow the weights. What such a run
records is finite where its data are, its diagnosis names the scale, the History diagnoses the
same after a save and a load, and nothing stops inside a monitor or the evaluation (the test
configuration turns babysit's RuntimeWarnings into errors)."""

import numpy as np
import pytest

import babysit as bs
from babysit.check.lr_range import lr_range
from babysit.data import preprocess, tabular
from babysit.data.arrays import mean_std
from babysit.diagnose.evidence import Evidence
from babysit.training.metrics import regression_metrics
from babysit.training.trainer import DivergedError


def _fit(X, y, loss, out: int, lr: float = 1e-2, epochs: int = 2):
    trainer = bs.Trainer(bs.mlp(X.shape[1], [8], out, seed=0), loss, bs.optim.SGD(lr),
                         batch_size=8, epochs=epochs, progress=False)
    try:
        return trainer.fit(X, y)
    except DivergedError as err:
        return err.history


@pytest.mark.parametrize("scale", [1e200, 1e-300, 3.0])
def test_mean_and_spread_are_taken_at_any_magnitude(scale):
    y = np.random.default_rng(0).normal(2.0, 1.0, size=(500, 3)) * scale
    mean, std = mean_std(y)
    unit_mean, unit_std = mean_std(y / scale)
    np.testing.assert_allclose(mean / scale, unit_mean, rtol=1e-12)
    np.testing.assert_allclose(std / scale, unit_std, rtol=1e-12)
    assert mean_std(np.zeros(4)) == (0.0, 0.0)


@pytest.mark.parametrize("scale", [1e200, 1e-300])
def test_regression_targets_of_any_magnitude_are_standardized_and_restored(scale):
    y = np.random.default_rng(1).normal(5.0, 2.0, size=60) * scale
    encoder = tabular.TargetEncoder("regress").fit(y)
    z = encoder.transform(y)
    assert abs(float(z.mean())) < 1e-5 and float(z.std()) == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(encoder.inverse_transform(z), y, rtol=1e-6)


def test_float32_features_of_1e20_are_measured_and_read_the_same_after_a_save(tmp_path):
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(40, 5)) * 1e20).astype(np.float32)
    history = _fit(X, rng.integers(0, 3, 40), bs.losses.SoftmaxCrossEntropy(), 3)
    std = np.asarray(history.monitors["data"]["feature_std"])
    np.testing.assert_allclose(std, X.astype(np.float64).std(axis=0), rtol=1e-5)
    causes = [f.cause for f in history.diagnose()]
    assert "unscaled_inputs" in causes
    history.save(tmp_path / "h.json")
    assert [f.cause for f in bs.History.load(tmp_path / "h.json").diagnose()] == causes


def test_a_feature_whose_scale_was_not_saved_is_unknown_not_constant(tmp_path):
    """A History written with a non-finite feature scale loads it as null: that feature's
    scale is unknown, and the inputs are not called constant for it."""
    X = np.random.default_rng(0).normal(size=(60, 4)).astype(np.float32)
    history = _fit(X, np.arange(60) % 3, bs.losses.SoftmaxCrossEntropy(), 3)
    data = history.monitors["data"]
    data["feature_mean"][1] = data["feature_std"][1] = None
    history.save(tmp_path / "h.json")
    loaded = Evidence.of(bs.History.load(tmp_path / "h.json"))
    assert not loaded.constant_inputs and loaded.input_scale == pytest.approx(1.0, rel=0.3)
    data["feature_mean"], data["feature_std"] = [5.0] * 4, [0.0] * 4
    assert Evidence.of(history).constant_inputs


def test_regression_targets_of_1e160_are_named_unscaled():
    rng = np.random.default_rng(0)
    history = _fit(rng.normal(size=(40, 5)).astype(np.float32), rng.normal(size=40) * 1e160,
                   bs.losses.MeanSquaredError(), 1)
    assert [f.cause for f in history.diagnose()][0] == "unscaled_targets"


def test_float64_features_beyond_float32_are_refused_by_name():
    X = np.random.default_rng(0).normal(size=(40, 5)) * 1e300
    trainer = bs.Trainer(bs.mlp(5, [8], 3), bs.losses.SoftmaxCrossEntropy(), bs.optim.SGD(1e-2),
                         epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"X holds .*e\+\d+ at row 0, column 0, beyond the "
                                         r"range of float32"):
        trainer.fit(X, np.arange(40) % 3)


def test_weights_overflowed_by_an_epochs_last_update_end_in_a_divergence():
    """At a rate of 1e6 the epoch's last update overflows the weights before the end-of-epoch
    evaluation: the run ends in DivergedError (a RuntimeWarning there was an error)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 5)).astype(np.float32)
    trainer = bs.Trainer(bs.mlp(5, [8], 3, seed=0), bs.losses.SoftmaxCrossEntropy(),
                         bs.optim.SGD(1e6), batch_size=16, epochs=5, progress=False)
    with pytest.raises(DivergedError):
        trainer.fit(X, np.arange(16) % 3)


@pytest.mark.parametrize("scale", [1e200, 1e-300])
def test_regression_scores_of_any_magnitude_are_those_of_unit_scale_in_its_units(scale):
    rng = np.random.default_rng(2)
    y = rng.normal(size=50)
    guess = y + 0.3 * rng.normal(size=50)
    unit = regression_metrics(y, guess)
    scores = regression_metrics(y * scale, guess * scale)
    assert scores["r2"] == pytest.approx(unit["r2"], rel=1e-12) and 0 < unit["r2"] < 1
    assert scores["rmse"] == pytest.approx(unit["rmse"] * scale, rel=1e-12)
    assert scores["mae"] == pytest.approx(unit["mae"] * scale, rel=1e-12)


@pytest.mark.parametrize("scale", [1e200, 1e-200])
def test_standardize_scales_float64_features_of_any_magnitude(scale):
    """Their squares overflow (1e200) or vanish (1e-200, which read as a constant column
    and was left unscaled, erasing the feature for the network)."""
    X = np.random.default_rng(3).normal(1.0, 2.0, size=(50, 3)) * scale
    Z = preprocess.Standardize().fit(X).transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(Z.std(axis=0), 1.0, rtol=1e-9)


def test_a_learning_rate_range_as_wide_as_floats_allow_steps_through_finite_rates():
    X = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    result = lr_range(bs.mlp(4, [8], 3, seed=0), bs.losses.SoftmaxCrossEntropy(), X,
                      np.arange(64) % 3, start=1e-300, end=1e300, iterations=20)
    assert result.lrs[0] == 1e-300 and all(0 < lr <= 1e300 for lr in result.lrs)
    assert result.lrs == sorted(result.lrs)
    assert result.suggestion is None or 0 < result.suggestion < 1e300


def test_the_regressor_estimator_fits_targets_of_any_magnitude_as_at_unit_scale():
    from babysit.sklearn import BabysitRegressor

    X = np.random.default_rng(0).normal(size=(60, 3))
    y = X @ np.array([1.0, 2.0, 3.0])
    unit = BabysitRegressor(hidden=(8,), epochs=5, seed=0).fit(X, y).predict(X)
    for scale in (1e200, 1e-300):
        scaled = BabysitRegressor(hidden=(8,), epochs=5, seed=0).fit(X, y * scale).predict(X)
        np.testing.assert_allclose(scaled / scale, unit, rtol=1e-5)


def test_pca_refuses_features_whose_covariance_overflows_by_name():
    X = np.random.default_rng(0).normal(size=(40, 3)) * 1e200
    with pytest.raises(ValueError, match=r"covariance overflows float64 .* preprocess="):
        preprocess.PCA(n_components=2).fit(X)


def test_an_estimators_training_ranges_are_measured_at_any_magnitude():
    from babysit.data.training_range import ranges_of

    X = np.random.default_rng(0).normal(size=(40, 3))
    np.testing.assert_allclose(ranges_of(X * 1e200)[:, 2] / 1e200, X.std(axis=0), rtol=1e-12)
