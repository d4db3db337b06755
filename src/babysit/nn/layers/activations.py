"""Elementwise non-linearities: ReLU, leaky ReLU, tanh, sigmoid.

Each backward multiplies the upstream gradient by the local derivative, written
in terms of what the forward already computed (tanh' = 1 - y^2, sigmoid' = y(1 - y)).
ReLU and leaky ReLU take a max, so they record which side won (`kinks.record`).
"""

from __future__ import annotations

import numpy as np

from babysit.backend import get_array_module
from babysit.nn.layers import kinks
from babysit.nn.layers.base import Layer
from babysit.validation import in_float_range, real_number

__all__ = ["ReLU", "LeakyReLU", "Tanh", "Sigmoid", "ACTIVATIONS", "activation"]


class ReLU(Layer):
    """y = max(0, x)."""

    def forward(self, x, train: bool = False):
        xp = get_array_module(x)
        y = xp.maximum(x, _row_of(x, 0))
        kinks.record(lambda: x > 0)

        def backward(dy):
            return dy * (y > 0)  # y > 0 exactly where x > 0

        return y, backward


class LeakyReLU(Layer):
    """y = x for x > 0, alpha * x otherwise (alpha small, e.g. 0.01)."""

    def __init__(self, alpha: float = 0.01):
        """`alpha` in [0, 1); one that is not 0 must hold in float32 (at least its tiny,
        1.2e-38): the layer knows no dtype until its input comes, and a smaller alpha would be
        0 there, a plain ReLU the caller did not ask for."""
        super().__init__()
        real_number(alpha, "LeakyReLU: alpha", at_least=0, below=1)
        in_float_range(alpha, "LeakyReLU: alpha", np.float32, tiny=True)
        self.alpha = alpha

    def config(self) -> dict:
        return {"alpha": self.alpha}

    def forward(self, x, train: bool = False):
        xp = get_array_module(x)
        active = x > 0
        kinks.record(lambda: active)
        # max(1, alpha) = 1 where active, max(0, alpha) = alpha elsewhere; NumPy's
        # where() takes several times as long (it branches on each element).
        slope = active.astype(x.dtype)
        xp.maximum(slope, _row_of(x, self.alpha), out=slope)
        y = x * slope

        def backward(dy):
            return dy * slope

        return y, backward


class Tanh(Layer):
    """y = tanh(x), zero-centred, saturating at +-1."""

    def forward(self, x, train: bool = False):
        xp = get_array_module(x)
        y = xp.tanh(x)

        def backward(dy):
            return dy * (1 - y * y)

        return y, backward


class Sigmoid(Layer):
    """y = 1 / (1 + exp(-x)), saturating at 0 and 1 and not zero-centred."""

    def forward(self, x, train: bool = False):
        xp = get_array_module(x)
        # 0.5 * (1 + tanh(x / 2)) equals the logistic function and never overflows.
        y = 0.5 * (1 + xp.tanh(0.5 * x))

        def backward(dy):
            return dy * y * (1 - y)

        return y, backward


def _row_of(x, value):
    """`value` as an array of x's last dimension and dtype, broadcast against x.

    NumPy's maximum() runs about twice as fast against such a row as against a
    Python scalar, for which it takes a slower broadcasting loop.
    """
    return get_array_module(x).full(x.shape[-1:], value, dtype=x.dtype)


ACTIVATIONS = {"relu": ReLU, "leaky_relu": LeakyReLU, "tanh": Tanh, "sigmoid": Sigmoid}


def activation(name: str) -> Layer:
    """A fresh activation layer by name."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; known: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]()
