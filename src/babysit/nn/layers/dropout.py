"""Inverted dropout: scale at training time so that test time is the identity."""

from __future__ import annotations

from babysit.backend import make_rng, random_uniform
from babysit.nn.layers.base import Layer
from babysit.validation import real_number, seed_or_generator

__all__ = ["Dropout"]


class Dropout(Layer):
    """Zero each unit with probability `drop` during training, scaling survivors by 1/(1-drop).

    The scaling keeps every unit's expected output during training equal to its
    output at test time, where the layer does nothing. The mask comes from the
    layer's own generator (`self.rng`), which a gradient check reseeds so that
    f(x+h), f(x-h) and the analytic pass all see the same mask.
    """

    def __init__(self, drop: float = 0.5, seed=None):
        super().__init__()
        real_number(drop, "Dropout: drop (the probability of zeroing a unit)", at_least=0,
                    below=1)
        self.drop = drop
        self.rng = make_rng(seed_or_generator(seed, "Dropout: seed"))

    def config(self) -> dict:
        return {"drop": self.drop}

    def forward(self, x, train: bool = False):
        if not train or self.drop == 0:
            return x, _identity
        keep = 1.0 - self.drop
        mask = random_uniform(self.rng, x.shape, x) < keep
        scale = x.dtype.type(1.0 / keep)
        mask = mask * scale  # bool * scalar -> x.dtype, one pass
        y = x * mask

        def backward(dy):
            return dy * mask

        return y, backward


def _identity(dy):
    return dy
