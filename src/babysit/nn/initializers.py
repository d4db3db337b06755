"""Weight initialization, as the notes' "Weight Initialization" section lists it.

All-zero weights are refused: every unit of a layer would compute the same
output, receive the same gradient and stay identical forever (the symmetry is
never broken). Biases, on the other hand, are usually set to 0 or a small
constant (0.01 for ReLU units, so that they fire at the start).
"""

from __future__ import annotations

import numpy as np

from babysit.backend import DEFAULT_DTYPE

__all__ = ["small", "lecun", "xavier", "he", "sparse", "zeros", "INITIALIZERS", "weights", "bias"]


def small(rng, fan_in: int, fan_out: int) -> np.ndarray:
    """0.01 * N(0, 1): fine for small nets, shrinks the gradients of deep ones."""
    return 0.01 * rng.standard_normal((fan_in, fan_out))


def lecun(rng, fan_in: int, fan_out: int) -> np.ndarray:
    """N(0, 1) / sqrt(fan_in): calibrates each unit's output variance to 1."""
    return rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)


def xavier(rng, fan_in: int, fan_out: int) -> np.ndarray:
    """N(0, 1) * sqrt(2 / (fan_in + fan_out)) (Glorot and Bengio)."""
    return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / (fan_in + fan_out))


def he(rng, fan_in: int, fan_out: int) -> np.ndarray:
    """N(0, 1) * sqrt(2 / fan_in): the recommendation for ReLU networks (He et al.)."""
    return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)


def sparse(rng, fan_in: int, fan_out: int, connections: int = 10) -> np.ndarray:
    """Each unit connected to `connections` random inputs with N(0, 1) weights, others zero."""
    k = min(connections, fan_in)
    w = np.zeros((fan_in, fan_out))
    # argsort of uniform draws gives an independent random subset of inputs per unit.
    rows = np.argsort(rng.random((fan_in, fan_out)), axis=0)[:k]
    cols = np.broadcast_to(np.arange(fan_out), rows.shape)
    w[rows, cols] = rng.standard_normal(rows.shape)
    return w


def zeros(rng, fan_in: int, fan_out: int) -> np.ndarray:
    """All zeros: only useful to demonstrate the symmetry problem."""
    return np.zeros((fan_in, fan_out))


INITIALIZERS = {
    "small": small,
    "lecun": lecun,
    "xavier": xavier,
    "he": he,
    "sparse": sparse,
    "zeros": zeros,
}

_SYMMETRY_EXPLANATION = (
    "init='zeros' would give every unit of the layer the same output and the same gradient, "
    "so they would stay identical forever (the symmetry is never broken). Use 'he' for ReLU, "
    "'lecun' or 'xavier' for tanh/sigmoid, or pass allow_zeros=True to see the problem on purpose."
)


def weights(name: str, fan_in: int, fan_out: int, rng, dtype=DEFAULT_DTYPE,
            allow_zeros: bool = False) -> np.ndarray:
    """A (fan_in, fan_out) weight matrix drawn by the initializer called `name`."""
    if name not in INITIALIZERS:
        raise ValueError(f"unknown init {name!r}; known: {', '.join(INITIALIZERS)}")
    if name == "zeros" and not allow_zeros:
        raise ValueError(_SYMMETRY_EXPLANATION)
    return INITIALIZERS[name](rng, fan_in, fan_out).astype(dtype)


def bias(value: float, n: int, dtype=DEFAULT_DTYPE) -> np.ndarray:
    """A bias vector of shape (n,) filled with `value` (0, or 0.01 for ReLU units when asked)."""
    return np.full(n, value, dtype=dtype)
