"""Input noise: additive Gaussian noise at training time, a regularizer like dropout."""

from __future__ import annotations

import numpy as np

from babysit.backend import get_array_module, make_rng
from babysit.nn.layers.base import Layer
from babysit.validation import in_float_range, real_number, seed_or_generator

__all__ = ["GaussianNoise"]


class GaussianNoise(Layer):
    """y = x + std * N(0, 1) in training, y = x at test time (the noise has zero mean)."""

    def __init__(self, std: float = 0.1, seed=None):
        """`std` >= 0 within float32's range (the layer knows no dtype until its input comes;
        a larger std makes every noisy input inf there, and is never meant); `seed` an int,
        None or a NumPy Generator (used as it is)."""
        super().__init__()
        real_number(std, "GaussianNoise: std", at_least=0)
        in_float_range(std, "GaussianNoise: std", np.float32)
        self.std = std
        self.rng = make_rng(seed_or_generator(seed, "GaussianNoise: seed"))

    def config(self) -> dict:
        return {"std": self.std}

    def forward(self, x, train: bool = False):
        if train and self.std > 0:
            xp = get_array_module(x)
            noise = self.rng.standard_normal(x.shape, dtype=x.dtype)
            x = x + self.std * xp.asarray(noise)
        return x, _identity


def _identity(dy):
    return dy
