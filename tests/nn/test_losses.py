"""Losses: values from the formulas, gradients against centered differences in float64."""

from __future__ import annotations

import math

import numpy as np
import pytest

import babysit as bs
from babysit.check import numerical_gradient, rel_error
from babysit.nn.layers import kinks
from babysit.nn.losses import MeanSquaredError, MulticlassSVM, SoftmaxCrossEntropy

TOL = 1e-7


def _scores(n=6, c=5, seed=0, scale=1.0):
    return scale * np.random.default_rng(seed).standard_normal((n, c))


def _labels(n=6, c=5, seed=1):
    return np.random.default_rng(seed).integers(0, c, n)


def check_loss(loss, scores, y):
    """Assert that dscores matches the numerical gradient of the mean loss."""
    value, dscores = loss(scores, y)
    assert isinstance(value, float)
    assert dscores.shape == scores.shape and dscores.dtype == scores.dtype
    numeric = numerical_gradient(lambda: loss(scores, y)[0], scores)
    err = rel_error(dscores, numeric).max()
    assert err < TOL, f"{loss!r}: relative error {err:.2e}"


def test_softmax_gradient_matches_numerical():
    check_loss(SoftmaxCrossEntropy(), _scores(), _labels())


def test_svm_gradient_matches_numerical_away_from_kinks():
    scores, y = _scores(scale=2.0), _labels()
    loss = MulticlassSVM(margin=1.0)
    margins = scores - scores[np.arange(len(y)), y][:, None] + 1.0
    margins[np.arange(len(y)), y] = 10.0  # the correct class's own term is not a hinge
    assert np.abs(margins).min() > 1e-3, "test point too close to a hinge"
    check_loss(loss, scores, y)


def test_svm_reports_which_side_of_each_hinge_won():
    scores = np.array([[3.0, 2.5, 0.0]])
    with kinks.recording() as masks:
        MulticlassSVM()(scores, np.array([0]))
    np.testing.assert_array_equal(masks, [[[False, True, False]]])


@pytest.mark.parametrize("targets", ["vector", "matrix"])
def test_mse_gradient_matches_numerical(targets):
    rng = np.random.default_rng(2)
    if targets == "vector":
        scores, y = rng.standard_normal((6, 1)), rng.standard_normal(6)
    else:
        scores, y = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    check_loss(MeanSquaredError(), scores, y)


def test_softmax_value_is_the_mean_negative_log_probability():
    scores = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    y = np.array([2, 0])
    p = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    expected = -(np.log(p[0, 2]) + np.log(p[1, 0])) / 2
    assert SoftmaxCrossEntropy()(scores, y)[0] == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(SoftmaxCrossEntropy().probabilities(scores), p, rtol=1e-12)


def test_softmax_is_stable_for_huge_scores():
    scores = np.array([[1000.0, 0.0, -1000.0]], dtype=np.float32)
    value, dscores = SoftmaxCrossEntropy()(scores, np.array([1]))
    assert value == pytest.approx(1000.0)
    assert np.isfinite(dscores).all()


def test_initial_softmax_loss_is_ln_c_at_chance():
    loss = SoftmaxCrossEntropy()
    assert loss(np.zeros((4, 10)), np.arange(4))[0] == pytest.approx(math.log(10))
    assert loss.chance_loss(10) == pytest.approx(math.log(10))


def test_svm_value_is_the_sum_of_hinges():
    scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    y = np.array([0, 1, 2])
    # The CS231n example: 2.9, 0 and 12.9 (rounded), averaged.
    value = MulticlassSVM(margin=1.0)(scores, y)[0]
    assert value == pytest.approx((2.9 + 0.0 + 12.9) / 3, abs=1e-9)
    assert MulticlassSVM(margin=1.0).chance_loss(10) == 9


def test_mse_value_is_half_the_squared_error_per_example():
    scores = np.array([[1.0, 2.0], [0.0, 0.0]])
    y = np.array([[0.0, 0.0], [1.0, 1.0]])
    assert MeanSquaredError()(scores, y)[0] == pytest.approx(0.5 * (5 + 2) / 2)
    assert not MeanSquaredError.classification


@pytest.mark.parametrize("loss", [SoftmaxCrossEntropy(), MulticlassSVM()], ids=repr)
def test_classification_losses_refuse_bad_labels(loss):
    scores = np.zeros((3, 4))
    with pytest.raises(ValueError, match="integer"):
        loss(scores, np.array([0.5, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        loss(scores, np.array([0, 1]))
    with pytest.raises(ValueError, match="out of range"):
        loss(scores, np.array([0, 1, 4]))
    with pytest.raises(ValueError, match="out of range"):
        loss(scores, np.array([0, -1, 2]))


def test_mse_refuses_targets_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"\(4, 2\)"):
        MeanSquaredError()(np.zeros((4, 2)), np.zeros((4, 3)))


def test_unknown_loss_lists_the_known_ones():
    assert isinstance(bs.losses.get("svm"), MulticlassSVM)
    with pytest.raises(ValueError, match="unknown loss 'hinge'.*softmax.*svm.*mse"):
        bs.losses.get("hinge")
