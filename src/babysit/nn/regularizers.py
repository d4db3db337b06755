"""Weight penalties (L2, L1, elastic net) and the max-norm constraint.

A penalty's `penalty(params)` returns its value (a float, reported apart from
the data loss) and `add_grad(params)` adds its gradient into `.grad`. Both cover
only the parameters marked `regularize` (weight matrices, not biases or
BatchNorm's gamma/beta) unless built with `include_all=True`.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from babysit.backend import get_array_module
from babysit.nn.layers import kinks
from babysit.nn.layers.base import Param
from babysit.nn.reprs import config_repr
from babysit.validation import in_float_range, real_number, true_or_false

__all__ = ["Regularizer", "L2", "L1", "ElasticNet", "MaxNorm", "check_penalty"]


class Regularizer:
    """Base class of weight penalties."""

    def __init__(self, include_all: bool = False):
        self.include_all = true_or_false(include_all, f"{type(self).__name__}: include_all")

    def covered(self, params: Iterable[Param]) -> list[Param]:
        """The Params this penalty applies to: weights only (`Param.regularize`), or every
        Param with include_all=True (biases and BatchNorm's gamma/beta are better left free)."""
        return [p for p in params if self.include_all or p.regularize]

    def penalty(self, params: Iterable[Param]) -> float:
        """The penalty's value, reported apart from the data loss."""
        return sum(self._value(p.value) for p in self.covered(params))

    def add_grad(self, params: Iterable[Param]) -> None:
        """Add the penalty's gradient into the `.grad` of each covered Param (after backward)."""
        for p in self.covered(params):
            self._add_grad(p)

    def config(self) -> dict:
        """The constructor arguments (for repr and saved training state)."""
        return {}

    def __repr__(self) -> str:
        return config_repr(self, self.config())


def _check_strength(name: str, lam: float) -> None:
    """A strength >= 0 within float32's range: the gradient lam * w is taken in the weights'
    dtype, float32 by default, where a larger lam is inf (and never meant)."""
    name = f"{name}: the regularization strength"
    in_float_range(real_number(lam, name, at_least=0), name, np.float32)


class L2(Regularizer):
    """R = 1/2 * lam * sum(w^2), so that dR/dw = lam * w (weight decay)."""

    def __init__(self, lam: float, include_all: bool = False):
        super().__init__(include_all)
        _check_strength("L2", lam)
        self.lam = lam

    def config(self) -> dict:
        return {"lam": self.lam}

    def _value(self, w) -> float:
        return 0.5 * self.lam * float((w * w).sum())

    def _add_grad(self, p: Param) -> None:
        p.accumulate(get_array_module(p.value).multiply, p.value, self.lam)  # += lam * w


class L1(Regularizer):
    """R = lam * sum(|w|): drives many weights to exactly zero (sparse weights)."""

    def __init__(self, lam: float, include_all: bool = False):
        super().__init__(include_all)
        _check_strength("L1", lam)
        self.lam = lam

    def config(self) -> dict:
        return {"lam": self.lam}

    def _value(self, w) -> float:
        kinks.record(lambda: w > 0)  # |w| = max(w, -w): a gradient check sees which side won
        return self.lam * float(get_array_module(w).abs(w).sum())

    def _add_grad(self, p: Param) -> None:
        xp = get_array_module(p.value)
        p.accumulate(xp.multiply, xp.sign(p.value), self.lam)   # += lam * sign(w)


class ElasticNet(Regularizer):
    """R = l1 * sum(|w|) + 1/2 * l2 * sum(w^2): L1 and L2 together."""

    def __init__(self, l1: float, l2: float, include_all: bool = False):
        super().__init__(include_all)
        _check_strength("ElasticNet (l1, its L1 part)", l1)
        _check_strength("ElasticNet (l2, its L2 part)", l2)
        self.parts = (L1(l1, include_all), L2(l2, include_all))
        self.l1, self.l2 = l1, l2

    def config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}

    def _value(self, w) -> float:
        return sum(part._value(w) for part in self.parts)

    def _add_grad(self, p: Param) -> None:
        for part in self.parts:
            part._add_grad(p)


class MaxNorm:
    """Constraint: after every update, clamp each unit's incoming weight vector to norm <= c.

    Applies to parameters with a `max_norm_axis` (Linear weights: the column of W
    feeding one unit). Typical c is 3 or 4; the network cannot explode even with a
    high learning rate.
    """

    def __init__(self, c: float = 3.0):
        real_number(c, "MaxNorm: c", above=0)
        self.c = c

    def config(self) -> dict:
        return {"c": self.c}

    def apply(self, params: Iterable[Param]) -> None:
        for p in params:
            if p.max_norm_axis is None:
                continue
            xp = get_array_module(p.value)
            norms = xp.sqrt(xp.square(p.value).sum(axis=p.max_norm_axis, keepdims=True))
            if float(norms.max()) <= self.c:
                continue  # no unit over the bound: spare the pass that would scale by 1
            scale = xp.minimum(1, self.c / xp.maximum(norms, 1e-12)).astype(p.value.dtype)
            p.value *= scale

    def __repr__(self) -> str:
        return config_repr(self, {"c": self.c})


def check_penalty(reg, constraints=()) -> None:
    """Refuse, where they enter, a `reg` that is no penalty (None, or with `penalty(params)`
    and `add_grad(params)` as a Regularizer has) and a constraint without `apply(params)`;
    MaxNorm given as `reg` is told where it goes."""
    if reg is not None and (isinstance(reg, type) or not all(callable(getattr(reg, m, None))
                                                             for m in ("penalty", "add_grad"))):
        where = ("; MaxNorm is a constraint, applied after each update: pass "
                 "constraints=[MaxNorm(c)]" if isinstance(reg, MaxNorm) else "")
        raise ValueError(f"reg must be a babysit penalty such as bs.regularizers.L2(1e-4) "
                         f"(L1, ElasticNet) or None, got {reg!r}{where}")
    for c in constraints:
        if isinstance(c, type) or not callable(getattr(c, "apply", None)):
            raise ValueError(f"constraints must be constraints such as "
                             f"bs.regularizers.MaxNorm(3.0) (with apply(params)), got {c!r}")
