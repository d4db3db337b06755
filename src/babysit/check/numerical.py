"""Centered-difference numerical gradients and the relative error, in the notes' form.

Centered differences, (f(x+h) - f(x-h)) / 2h, have an error of order h^2 where the
one-sided form has order h; they cost two evaluations per coordinate, which is
why a gradient check samples coordinates instead of visiting all of them.
"""

from __future__ import annotations

import numpy as np


def numerical_gradient(f, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """df/dx of a scalar function f() at x, by centered differences over every entry.

    `f` takes no argument and reads `x`, which is perturbed in place and restored
    exactly after each entry. Returns an array shaped like x (in float64).
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        plus = float(f())
        x[i] = old - h
        minus = float(f())
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


def numerical_gradient_array(f, x: np.ndarray, dout: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """The gradient of sum(f() * dout) wrt x, for an array-valued f() and upstream gradient dout.

    This is what a layer's backward(dout) must return (or write into a Param.grad).
    `x` is perturbed in place and restored after each entry.
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        plus = np.array(f(), dtype=np.float64, copy=True)
        x[i] = old - h
        minus = np.array(f(), dtype=np.float64, copy=True)
        x[i] = old
        grad[i] = float(((plus - minus) * dout).sum()) / (2 * h)
    return grad


def rel_error(a, b) -> np.ndarray:
    """|a - b| / max(|a|, |b|), elementwise; 0 where both are exactly 0.

    The relative error is scale-free: a difference of 1e-4 is excellent between
    gradients of order 1 and a failure between gradients of order 1e-5.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    scale = np.maximum(np.abs(a), np.abs(b))
    diff = np.abs(a - b)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(scale > 0, diff / np.where(scale > 0, scale, 1), 0.0)
