"""Centered-difference numerical gradients and the relative error, in the notes' form.

Centered differences, (f(x+h) - f(x-h)) / 2h, have an error of order h^2 where the
one-sided form has order h; they cost two evaluations per coordinate, which is
why a gradient check samples coordinates instead of visiting all of them.
"""

from __future__ import annotations

import inspect

import numpy as np

from babysit.backend import to_numpy
from babysit.nn.layers import kinks
from babysit.validation import real_number

__all__ = ["centered_difference", "kink_aware_difference", "numerical_gradient",
           "numerical_gradient_array", "rel_error"]


def centered_difference(f, x: np.ndarray, index, h: float = 1e-5) -> float:
    """(f(x + h e_i) - f(x - h e_i)) / (2h) for one entry `index` of x: the notes' centered formula.

    `f` takes no argument and reads `x`, which is perturbed in place (f(x+h) first, then
    f(x-h)) and restored exactly. The divisor is the step actually taken once x+h and x-h
    are rounded to x's dtype, which in float32 can differ from 2h by a percent.
    """
    h = real_number(h, "h", above=0)
    # A copy: CuPy's x[index] is a 0-d view that the writes below would change.
    old = x[index].copy()
    x[index] = old + h
    upper = float(x[index])
    plus = float(f())
    x[index] = old - h
    lower = float(x[index])
    minus = float(f())
    x[index] = old
    if upper == lower:
        hint = "a larger h" if x.dtype == np.float64 else "a larger h or float64"
        raise ValueError(f"h={h!r} is below the resolution of {x.dtype} at x[{index}]="
                         f"{float(old)!r}; use {hint}")
    return (plus - minus) / (upper - lower)


def kink_aware_difference(evaluate, x: np.ndarray, index, h: float) -> tuple[float, bool, float]:
    """The centered difference of `evaluate` along x[index] (`evaluate()` returns the loss and
    the max() sides it recorded), whether a max() changed sides between f(x+h) and f(x-h) (a
    kink crossed: the difference is then not the gradient), and the larger of |f(x+h)|,
    |f(x-h)| (the scale the relative error is judged against)."""
    values, recorded = [], []

    def f():
        value, masks = evaluate()
        values.append(abs(value))
        recorded.append(masks)
        return value

    slope = centered_difference(f, x, index, h)
    return slope, kinks.crossed(*recorded), max(values)


def _without_argument(f, x: np.ndarray):
    """`f` as a function of no argument. The notes' helpers call f(x) (x perturbed in place);
    a function that reads x itself takes none. One whose signature requires an argument gets
    x; any other (`lambda: ...`, `lambda w=p: ...`) is called as it is."""
    try:
        params = inspect.signature(f).parameters.values()
    except (TypeError, ValueError):   # no signature to read (some builtins): as it is
        return f
    required = [p for p in params if p.default is p.empty
                and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return (lambda: f(x)) if required else f


def numerical_gradient(f, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """df/dx of a scalar function f at x, by centered differences over every entry.

    `f` is f(x), as in the notes, or f() reading `x`; x is perturbed in place and restored
    exactly after each entry. Returns an array shaped like x (in float64).
    """
    f = _without_argument(f, x)
    grad = np.zeros(x.shape, dtype=np.float64)
    for i in np.ndindex(x.shape):
        grad[i] = centered_difference(f, x, i, h)
    return grad


def numerical_gradient_array(f, x: np.ndarray, dout: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """The gradient of sum(f(x) * dout) wrt x, for an array-valued f and upstream gradient dout.

    This is what a layer's backward(dout) must return (or write into a Param.grad).
    `f` is f(x) or f() reading `x`, as in `numerical_gradient`; x is perturbed in place and
    restored after each entry.
    """
    f = _without_argument(f, x)
    dout = np.asarray(dout, dtype=np.float64)
    grad = np.zeros(x.shape, dtype=np.float64)

    def weighted():
        return (np.asarray(to_numpy(f()), dtype=np.float64) * dout).sum()

    for i in np.ndindex(x.shape):
        grad[i] = centered_difference(weighted, x, i, h)
    return grad


def rel_error(a, b) -> np.ndarray:
    """|a - b| / max(|a|, |b|), elementwise; 0 where both are exactly 0, inf where either is
    NaN or infinite (a gradient that is not a number agrees with nothing).

    The relative error is scale-free: a difference of 1e-4 is excellent between
    gradients of order 1 and a failure between gradients of order 1e-5. a, b: arrays of one
    shape (an analytic and a numerical gradient); returns that shape, float64.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error compares arrays of one shape, got a {a.shape} and "
                         f"b {b.shape}")
    scale = np.maximum(np.abs(a), np.abs(b))
    diff = np.abs(a - b)
    with np.errstate(divide="ignore", invalid="ignore"):
        error = np.where(scale > 0, diff / np.where(scale > 0, scale, 1), 0.0)
    return np.where(np.isfinite(a) & np.isfinite(b), error, np.inf)
