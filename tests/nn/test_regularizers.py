"""Penalties (value and gradient, weights only by default) and the max-norm constraint."""

from __future__ import annotations

import math

import numpy as np
import pytest

import babysit as bs
from babysit.check import numerical_gradient, rel_error
from babysit.nn.regularizers import L1, L2, ElasticNet, MaxNorm

LAM = 0.3


def _net():
    net = bs.mlp(5, [4], 3, batchnorm=True, bias=0.1, seed=0).astype("float64")
    for p in net.parameters():  # every entry clear of 0, where L1 has its kink
        p.value[...] = np.random.default_rng(p.size).uniform(0.2, 1.0, p.shape) \
            * np.random.default_rng(p.size + 1).choice([-1, 1], p.shape)
    return net


def _weights(net):
    return [p for name, p in net.params.items() if name.endswith("W")]


@pytest.mark.parametrize(("reg", "formula"), [
    (L2(LAM), lambda w: 0.5 * LAM * (w**2).sum()),
    (L1(LAM), lambda w: LAM * np.abs(w).sum()),
    (ElasticNet(0.2, LAM), lambda w: 0.2 * np.abs(w).sum() + 0.5 * LAM * (w**2).sum()),
], ids=["L2", "L1", "ElasticNet"])
def test_penalty_value_covers_weights_only(reg, formula):
    net = _net()
    expected = sum(formula(p.value) for p in _weights(net))
    assert reg.penalty(net.parameters()) == pytest.approx(expected, rel=1e-12)
    assert isinstance(reg.penalty(net.parameters()), float)


@pytest.mark.parametrize("reg", [L2(LAM), L1(LAM), ElasticNet(0.2, LAM)], ids=repr)
def test_penalty_gradient_matches_numerical(reg):
    net = _net()
    params = net.parameters()
    net.zero_grad()
    reg.add_grad(params)
    for p in _weights(net):
        numeric = numerical_gradient(lambda: reg.penalty(params), p.value)
        assert rel_error(p.grad, numeric).max() < 1e-7


@pytest.mark.parametrize("reg", [L2(LAM), L1(LAM), ElasticNet(0.2, LAM)], ids=repr)
def test_penalty_gradient_is_added_to_weights_and_leaves_biases_and_batchnorm_alone(reg):
    net = _net()
    x = np.random.default_rng(0).standard_normal((6, 5))
    y, backward = net.forward(x, train=True)
    net.zero_grad()
    backward(np.ones_like(y))
    data_grads = {name: p.grad.copy() for name, p in net.params.items()}
    reg.add_grad(net.parameters())
    for name, p in net.params.items():
        if name.endswith("W"):
            penalty = numerical_gradient(lambda w=p: reg.penalty([w]), p.value)
            np.testing.assert_allclose(p.grad - data_grads[name], penalty,
                                       rtol=1e-7, atol=1e-12, err_msg=name)
        else:  # "0.b", "1.gamma", "1.beta", "3.b"
            np.testing.assert_array_equal(p.grad, data_grads[name], err_msg=name)


def test_include_all_covers_biases_and_batchnorm_too():
    net = _net()
    everything = sum(0.5 * LAM * float((p.value**2).sum()) for p in net.parameters())
    assert L2(LAM, include_all=True).penalty(net.parameters()) == pytest.approx(everything)


def test_l2_gradient_is_weight_decay():
    net = _net()
    net.zero_grad()
    L2(LAM).add_grad(net.parameters())
    for p in _weights(net):
        np.testing.assert_allclose(p.grad, LAM * p.value, rtol=1e-15)


def test_negative_strength_is_refused():
    with pytest.raises(ValueError, match="L2"):
        L2(-1.0)
    with pytest.raises(ValueError, match="L1"):
        ElasticNet(-1.0, 0.1)


def test_maxnorm_clamps_long_columns_and_leaves_short_ones_untouched():
    c = 2.0
    net = bs.mlp(3, [4], 2, seed=0).astype("float64")
    W = net.params["0.W"]
    W.value[...] = np.array([[3.0, 0.5, 0.0, 10.0],
                             [4.0, 0.5, 1.0, 0.0],
                             [0.0, 0.5, 1.0, 0.0]])  # column norms 5, 0.87, 1.41, 10
    short = W.value[:, 1:3].copy()
    bias_before = net.params["0.b"].value.copy()
    MaxNorm(c).apply(net.parameters())
    norms = np.linalg.norm(W.value, axis=0)
    np.testing.assert_allclose(norms[[0, 3]], c, rtol=1e-12)
    np.testing.assert_allclose(W.value[:, 0], [1.2, 1.6, 0.0], rtol=1e-12)  # direction kept
    np.testing.assert_array_equal(W.value[:, 1:3], short)
    np.testing.assert_array_equal(net.params["0.b"].value, bias_before)
    assert (np.linalg.norm(net.params["2.W"].value, axis=0) <= c * (1 + 1e-12)).all()


@pytest.mark.parametrize("c", [0, -1.0, math.nan, math.inf, "3", True])
def test_maxnorm_refuses_a_c_that_is_not_a_positive_number(c):
    with pytest.raises(ValueError, match="MaxNorm: c must be a finite number > 0"):
        MaxNorm(c)


def test_max_norm_given_as_the_penalty_is_refused_naming_where_it_goes():
    """design.md: MaxNorm is a constraint. Given as `reg` it failed deep inside fit with an
    AttributeError; now the Trainer and the sanity check refuse it where it enters."""
    X = np.zeros((8, 4), np.float32)
    y = np.arange(8) % 2
    says = r"reg must be a babysit penalty .* got MaxNorm\(c=3.0\); MaxNorm is a constraint"
    with pytest.raises(ValueError, match=says):
        bs.Trainer(bs.mlp(4, [3], 2), bs.losses.SoftmaxCrossEntropy(), bs.optim.SGD(),
                   reg=MaxNorm(3.0))
    with pytest.raises(ValueError, match=says):
        bs.check.sanity(bs.mlp(4, [3], 2), bs.losses.SoftmaxCrossEntropy(), X, y, reg=MaxNorm(3.0))
    with pytest.raises(ValueError, match=r"constraints must be constraints .* got L2"):
        bs.Trainer(bs.mlp(4, [3], 2), bs.losses.SoftmaxCrossEntropy(), bs.optim.SGD(),
                   constraints=[L2(1e-3)])
