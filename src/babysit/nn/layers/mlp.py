"""`mlp`: the usual fully-connected stack in one call."""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence

from babysit.backend import DEFAULT_DTYPE, make_rng
from babysit.nn.layers.activations import activation as make_activation
from babysit.nn.layers.base import Sequential
from babysit.nn.layers.batchnorm import BatchNorm
from babysit.nn.layers.dropout import Dropout
from babysit.nn.layers.linear import Linear
from babysit.nn.layers.noise import GaussianNoise
from babysit.validation import described, positive_int, seed_or_generator, true_or_false

__all__ = ["mlp"]


def mlp(n_in: int, hidden: Sequence[int], n_out: int, activation: str = "relu",
        init: str = "he", batchnorm: bool = False, dropout: float = 0.0, bias: float = 0.0,
        input_noise: float = 0.0, seed=0, dtype=DEFAULT_DTYPE) -> Sequential:
    """Linear -> [BatchNorm] -> activation -> [Dropout] for each hidden width, then Linear.

    `hidden` is a list of widths (empty for a linear classifier); `dropout` is the
    probability of zeroing a hidden unit; `input_noise` the std of Gaussian noise
    added to the input in training. One seed fixes every initial weight and mask.
    """
    if isinstance(hidden, numbers.Integral):
        hidden = [hidden]   # a bool too: positive_int refuses it below
    elif isinstance(hidden, str) or not isinstance(hidden, Iterable):
        raise ValueError(f"mlp: hidden must be a list of hidden layer widths such as [100, 50] "
                         f"(or [] for a linear classifier), got {described(hidden)}")
    hidden = list(hidden)
    hidden = [positive_int(h, f"mlp: each hidden size (of {hidden!r})") for h in hidden]
    make_activation(activation)  # validates the name before any weight is drawn
    true_or_false(batchnorm, "mlp: batchnorm")
    rng = make_rng(seed_or_generator(seed, "mlp: seed"))
    layers = []
    if input_noise:
        layers.append(GaussianNoise(input_noise, seed=rng.spawn(1)[0]))
    width = n_in
    for h in hidden:
        # BatchNorm subtracts the batch mean, so a bias before it would be a dead parameter.
        hidden_bias = None if batchnorm else bias
        layers.append(Linear(width, h, init=init, bias=hidden_bias, seed=rng, dtype=dtype))
        if batchnorm:
            layers.append(BatchNorm(h, dtype=dtype))
        layers.append(make_activation(activation))
        if dropout:
            layers.append(Dropout(dropout, seed=rng.spawn(1)[0]))
        width = h
    layers.append(Linear(width, n_out, init=init, bias=bias, seed=rng, dtype=dtype))
    return Sequential(*layers)
