"""Weight initialization: each scheme's statistics, sparse connectivity, why zeros are refused."""

from __future__ import annotations

import numpy as np
import pytest

from babysit.nn import initializers as init
from babysit.nn.layers import Linear

FAN_IN, FAN_OUT = 400, 300


def _draw(name, **kwargs):
    return init.weights(name, FAN_IN, FAN_OUT, np.random.default_rng(0), **kwargs)


@pytest.mark.parametrize(("name", "std"), [
    ("small", 0.01),
    ("lecun", 1 / np.sqrt(FAN_IN)),
    ("xavier", np.sqrt(2 / (FAN_IN + FAN_OUT))),
    ("he", np.sqrt(2 / FAN_IN)),
])
def test_each_scheme_has_its_standard_deviation(name, std):
    w = _draw(name)
    assert w.shape == (FAN_IN, FAN_OUT) and w.dtype == np.float32
    # 120 000 draws: the sample std is within 1% of the true one with overwhelming odds.
    assert float(w.std()) == pytest.approx(std, rel=0.01)
    assert abs(float(w.mean())) < 6 * std / np.sqrt(w.size)


def test_he_keeps_the_variance_of_relu_activations_through_depth():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2000, 256))
    for _ in range(10):
        x = np.maximum(x @ init.weights("he", 256, 256, rng, np.float64), 0)
    # Second moment of ReLU outputs stays at 1 (the input's) instead of vanishing or exploding.
    assert float((x**2).mean()) == pytest.approx(1.0, rel=0.3)


def test_sparse_connects_each_unit_to_exactly_k_inputs():
    w = _draw("sparse")
    assert ((w != 0).sum(axis=0) == 10).all()  # column j = unit j's incoming weights
    assert len(np.unique(np.nonzero(w)[0])) > 100  # different units pick different inputs
    narrow = init.weights("sparse", 4, 3, np.random.default_rng(0))
    assert ((narrow != 0).sum(axis=0) == 4).all()  # k capped at fan_in


def test_zeros_is_refused_with_an_explanation_of_symmetry():
    with pytest.raises(ValueError, match="symmetry"):
        _draw("zeros")
    with pytest.raises(ValueError, match="symmetry"):
        Linear(3, 2, init="zeros")
    assert not _draw("zeros", allow_zeros=True).any()
    assert not Linear(3, 2, init="zeros", allow_zeros=True).params["W"].value.any()


def test_unknown_init_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown init 'glorot'.*small.*lecun.*xavier.*he"):
        Linear(3, 2, init="glorot")


def test_bias_is_a_constant():
    assert (Linear(3, 5, bias=0.01).params["b"].value == np.float32(0.01)).all()
    assert not Linear(3, 5).params["b"].value.any()
    assert "b" not in Linear(3, 5, bias=None).params
    b = init.bias(0.5, 4, np.float64)
    assert b.dtype == np.float64 and (b == 0.5).all()


def test_the_seed_fixes_the_draw_and_the_dtype_follows_the_request():
    a = Linear(6, 4, seed=3).params["W"].value
    b = Linear(6, 4, seed=3).params["W"].value
    np.testing.assert_array_equal(a, b)
    assert Linear(6, 4, seed=3, dtype=np.float64).params["W"].value.dtype == np.float64
