"""The Layer protocol as a layer of one's own sees it: `forward` returning a backward closure
that takes dL/dy alone (the default) or also `input_grad`, gradients written with `+=`, and
any such layer training in a Trainer, alone or inside a Sequential."""

from __future__ import annotations

import numpy as np
import pytest

import babysit as bs
from babysit.nn.layers import Layer, Linear, Param, ReLU, Sequential


class Scale(Layer):
    """y = x * s (s: (n,)), written to the protocol's defaults: backward(dy), `+=`."""

    def __init__(self, n):
        super().__init__()
        self.params["s"] = Param(np.linspace(0.5, 1.5, n))

    def forward(self, x, train=False):
        s = self.params["s"]

        def backward(dy):
            s.grad += (dy * x).sum(axis=0)
            return dy * s.value

        return x * s.value, backward


class SkippingScale(Scale):
    """The same, taking `input_grad` too; it notes each value it was called with."""

    takes_input_grad = True

    def __init__(self, n):
        super().__init__(n)
        self.calls = []

    def forward(self, x, train=False):
        y, backward = super().forward(x, train)

        def skipping(dy, input_grad=True):
            self.calls.append(input_grad)
            dx = backward(dy)
            return dx if input_grad else None

        return y, skipping


def _data(n=24, d=4, classes=3):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, d)), rng.integers(0, classes, n)


def _trainer(net):
    return bs.Trainer(net.astype("float64"), bs.losses.SoftmaxCrossEntropy(),
                      bs.optim.SGD(0.1), batch_size=8, epochs=2, callbacks=(), progress=False)


def _step_gradients(net, x, y):
    """Each parameter's gradient of one step taken from scratch on a copy of `net`."""
    fresh = net.copy()
    fresh.zero_grad()
    scores, backward = fresh.forward(x, train=True)
    backward(bs.losses.SoftmaxCrossEntropy()(scores, y)[1])
    return {name: p.grad.copy() for name, p in fresh.named_params().items()}


@pytest.mark.parametrize("make", [
    lambda: Sequential(Scale(4), Linear(4, 3, seed=0)),     # first layer with parameters
    lambda: Sequential(Linear(4, 4, seed=0), ReLU(), Scale(4), Linear(4, 3, seed=1)),
    lambda: Sequential(SkippingScale(4), Linear(4, 3, seed=0)),
])
def test_a_layer_of_ones_own_trains_and_its_gradient_starts_from_zero_each_step(make):
    x, y = _data()
    trainer = _trainer(make())
    trainer.step(x[:8], y[:8])
    expected = _step_gradients(trainer.net, x[8:16], y[8:16])
    trainer.step(x[8:16], y[8:16])  # after zero_grad: the first step's gradient is not added
    for name, p in trainer.net.named_params().items():
        np.testing.assert_allclose(p.grad, expected[name], rtol=1e-12, err_msg=name)
    trainer.epochs = 3
    history = trainer.fit(x, y)
    assert np.isfinite(history.loss).all()


def test_a_single_layer_of_ones_own_is_a_network():
    x, y = _data(d=3)
    trainer = _trainer(Scale(3))
    s0 = trainer.net.params["s"].value.copy()
    trainer.fit(x, y)
    assert not np.array_equal(trainer.net.params["s"].value, s0)


def test_a_training_step_asks_only_the_first_learnable_layer_to_skip_the_input_gradient():
    first, second = SkippingScale(4), SkippingScale(3)
    x, y = _data()
    trainer = _trainer(Sequential(first, Linear(4, 3, seed=0), second))
    trainer.step(x[:8], y[:8])
    assert first.calls == [False] and second.calls == [True]

    alone = SkippingScale(3)
    _trainer(alone).step(x[:8, :3], y[:8])
    assert alone.calls == [False]


def test_plus_equals_and_accumulate_agree_stale_or_not():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((5, 4)), rng.standard_normal((4, 3))
    plain, fast = Param(np.zeros((5, 3))), Param(np.zeros((5, 3)))
    for p in (plain, fast):
        p.grad[...] = 9.0   # a previous step's gradient, which zero_grad makes stale
        p.zero_grad()
    assert not plain.grad.any()         # a stale gradient reads as zeros
    plain.grad += a @ b
    fast.accumulate(np.matmul, a, b)
    np.testing.assert_array_equal(plain.grad, a @ b)
    np.testing.assert_array_equal(fast.grad, a @ b)
    plain.grad += a @ b
    fast.accumulate(np.matmul, a, b)
    np.testing.assert_array_equal(plain.grad, fast.grad)
    np.testing.assert_allclose(fast.grad, 2 * (a @ b), rtol=1e-15)


def test_named_modules_name_every_layer_by_its_position():
    inner = Sequential(Linear(2, 2, seed=0), ReLU())
    net = Sequential(Linear(3, 2, seed=0), inner)
    assert [(path, type(m).__name__) for path, m in net.named_modules()] == [
        ("", "Sequential"), ("0", "Linear"), ("1", "Sequential"), ("1.0", "Linear"),
        ("1.1", "ReLU")]
    assert list(net.modules()) == [m for _, m in net.named_modules()]
