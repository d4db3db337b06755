"""babysit.data.scales: validation rows against the training rows' scale."""

from __future__ import annotations

import numpy as np

from babysit.data.scales import OFF_SCALE, centre_and_spread, scale_against, val_scale


def _standardized_and_raw(rows: int = 600):
    """Features in their own units (means 5..50, spreads 0.3..3), the first 500 rows
    standardized on themselves; returns (train, the rest standardized alike, the rest raw)."""
    rng = np.random.default_rng(0)
    X = rng.normal(np.linspace(5, 50, 8), np.linspace(0.3, 3, 8), (rows, 8))
    mean, std = X[:500].mean(0), X[:500].std(0)
    return (X[:500] - mean) / std, (X[500:] - mean) / std, X[500:]


def test_an_honest_split_has_no_feature_off_the_training_scale():
    train, val, _ = _standardized_and_raw()
    found = val_scale(train, val)
    assert found["features"] == 8 and found["off"] == 0 and found["rows"] == 100


def test_raw_rows_whose_spread_matches_are_off_by_their_means():
    """Raw features whose spreads happen to sit near the standardized ones. (0.3..3 against
    about 0.8): the typical spread says little, the means (5..50, against 0) say it all."""
    train, _, raw = _standardized_and_raw()
    found = val_scale(train, raw)
    assert 1 / OFF_SCALE < found["ratio"] < OFF_SCALE
    assert found["off"] == found["features"] == 8


def test_a_feature_constant_on_the_validation_rows_is_not_counted():
    """A rare binary feature absent from the validation rows has no spread there: it vouches
    for no scale, neither off nor on."""
    rng = np.random.default_rng(1)
    train = np.column_stack([rng.normal(size=400), rng.random(400) < 0.02])
    val = np.column_stack([rng.normal(size=40), np.zeros(40)])
    found = scale_against(centre_and_spread(train), centre_and_spread(val), 40)
    assert found["features"] == 1 and found["off"] == 0
