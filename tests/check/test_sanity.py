"""The notes' sanity checks before learning: loss at chance, regularization raises the loss,
overfitting 20 examples reaches zero cost."""

from __future__ import annotations

import math

import numpy as np
import pytest

import babysit as bs
from babysit.check.sanity import CHANCE, OVERFIT, REGULARIZATION


@pytest.fixture(scope="module")
def centred_digits_train(centred_digits):
    """(X, y): the centred training rows alone."""
    return centred_digits[:2]


def _net(**kwargs):
    return bs.mlp(64, [100, 100], 10, seed=0, **kwargs)


def test_the_default_model_passes_every_check(centred_digits_train):
    report = bs.check.sanity(_net(), bs.losses.SoftmaxCrossEntropy(), *centred_digits_train,
                             reg=bs.regularizers.L2(1e-4))
    assert report.ok, str(report)
    assert [c.name for c in report.checks] == [CHANCE, REGULARIZATION, OVERFIT]
    assert all(c.passed for c in report.checks)


def test_the_initial_softmax_loss_is_ln10_at_chance(centred_digits_train):
    check = bs.check.sanity(_net(), bs.losses.SoftmaxCrossEntropy(), *centred_digits_train)[CHANCE]
    assert check.numbers["chance_loss"] == pytest.approx(math.log(10))
    assert check.numbers["initial_loss"] == pytest.approx(math.log(10), rel=0.1)


def test_the_initial_svm_loss_is_c_minus_1_at_chance(centred_digits_train):
    check = bs.check.sanity(_net(), bs.losses.MulticlassSVM(), *centred_digits_train)[CHANCE]
    assert check.numbers["chance_loss"] == 9
    assert check.passed
    assert check.numbers["initial_loss"] == pytest.approx(9, rel=0.15)


def test_the_chance_check_measures_the_data_loss_with_regularization_off(centred_digits_train):
    report = bs.check.sanity(_net(), bs.losses.SoftmaxCrossEntropy(), *centred_digits_train,
                             reg=bs.regularizers.L2(10.0))
    assert report[CHANCE].passed
    assert report[CHANCE].numbers["initial_loss"] == pytest.approx(math.log(10), rel=0.1)


def test_large_initial_scores_fail_the_chance_loss_check(centred_digits_train):
    net = _net()
    net.layers[-1].params["W"].value *= 100
    report = bs.check.sanity(net, bs.losses.SoftmaxCrossEntropy(), *centred_digits_train)
    assert not report.ok
    assert report[CHANCE].passed is False
    assert report[CHANCE].numbers["ratio"] > 10
    assert "FAIL" in str(report) and "too large" in str(report)


def test_a_penalty_of_zero_fails_the_regularization_check(centred_digits_train):
    report = bs.check.sanity(_net(), bs.losses.SoftmaxCrossEntropy(), *centred_digits_train,
                             reg=bs.regularizers.L2(0.0))
    assert report[REGULARIZATION].passed is False
    assert not report.ok


def test_regularization_raises_the_loss_each_time_it_grows(centred_digits_train):
    numbers = bs.check.sanity(_net(), bs.losses.SoftmaxCrossEntropy(), *centred_digits_train,
                              reg=bs.regularizers.L1(1e-4))[REGULARIZATION].numbers
    assert numbers["data_loss"] < numbers["with_reg"] < numbers["with_10x_reg"]


def test_overfitting_20_examples_reaches_near_zero_loss_and_full_accuracy(centred_digits_train):
    check = bs.check.sanity(_net(), bs.losses.SoftmaxCrossEntropy(), *centred_digits_train)[OVERFIT]
    assert check.passed
    n = check.numbers
    assert n["examples"] == 20
    assert n["train_accuracy"] == 1.0
    assert n["final_loss"] <= 0.01 * math.log(10)
    assert n["iterations"] <= n["max_iterations"] == 500


def test_a_model_that_cannot_learn_fails_the_overfit_check(centred_digits_train):
    report = bs.check.sanity(_net(), bs.losses.SoftmaxCrossEntropy(), *centred_digits_train,
                             overfit_opt=bs.optim.SGD(1e-9), overfit_iters=50)
    assert report[OVERFIT].passed is False
    assert report[OVERFIT].numbers["iterations"] == 50


def _random_table(n_features: int = 5, n_classes: int = 3):
    rng = np.random.default_rng(0)
    return (rng.standard_normal((200, n_features)).astype(np.float32),
            rng.integers(0, n_classes, 200))


@pytest.mark.parametrize("hidden, activation", [([20], "relu"), ([100], "tanh"),
                                                ([50], "sigmoid")])
def test_a_small_healthy_network_memorizes_20_examples_at_the_default_rate(hidden, activation):
    """At Adam(1e-3) these reached 100% accuracy with the loss still falling at 10-50x the
    target after 500 steps: the check failed them, telling the user to check the gradients."""
    X, y = _random_table()
    check = bs.check.sanity(bs.mlp(5, hidden, 3, activation=activation, seed=0),
                            bs.losses.SoftmaxCrossEntropy(), X, y)[OVERFIT]
    assert check.passed, check.message
    assert "lr=0.01" in check.numbers["optimizer"]


def test_full_accuracy_short_of_a_near_zero_loss_is_not_called_unable_to_memorize():
    X, y = _random_table()
    check = bs.check.sanity(bs.mlp(5, [100], 3, seed=0), bs.losses.SoftmaxCrossEntropy(), X, y,
                            overfit_opt=bs.optim.Adam(1e-3))[OVERFIT]
    assert check.passed is False and check.numbers["train_accuracy"] == 1.0
    assert "classified right" in check.message and "more iterations" in check.message
    assert "cannot even memorize" not in check.message


def test_one_class_is_refused_before_a_division_by_its_zero_chance_loss():
    X, _ = _random_table()
    with pytest.raises(ValueError, match="1 score a row.*at least 2"):
        bs.check.sanity(bs.mlp(5, [20], 1, seed=0), bs.losses.SoftmaxCrossEntropy(), X,
                        np.zeros(200, int))


def test_the_network_is_left_unchanged(centred_digits_train):
    net = _net(dropout=0.2, batchnorm=True)
    before = {k: p.value.copy() for k, p in net.named_params().items()}
    buffers = net.layers[1].buffers["running_mean"].copy()
    bs.check.sanity(net, bs.losses.SoftmaxCrossEntropy(), *centred_digits_train)
    for k, p in net.named_params().items():
        np.testing.assert_array_equal(p.value, before[k])
    np.testing.assert_array_equal(net.layers[1].buffers["running_mean"], buffers)


def test_a_regression_loss_has_no_chance_level_and_is_not_failed_for_it():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 5)).astype(np.float32)
    y = X @ rng.standard_normal((5, 1)).astype(np.float32)
    report = bs.check.sanity(bs.mlp(5, [16], 1, seed=0), bs.losses.MeanSquaredError(), X, y,
                             overfit_iters=300)
    assert report[CHANCE].passed is None
    assert report[OVERFIT].numbers["train_accuracy"] is None
    assert report.to_dict()["checks"][0]["name"] == CHANCE


def test_bad_arguments_are_refused_by_name(centred_digits_train):
    with pytest.raises(ValueError, match="n_overfit"):
        bs.check.sanity(_net(), bs.losses.SoftmaxCrossEntropy(), *centred_digits_train, n_overfit=0)
    with pytest.raises(ValueError, match="net must be"):
        bs.check.sanity("not a net", bs.losses.SoftmaxCrossEntropy(), *centred_digits_train)
    with pytest.raises(ValueError, match="no sanity check named"):
        bs.check.sanity(_net(), bs.losses.SoftmaxCrossEntropy(), *centred_digits_train)["nope"]
