"""A running average of the parameters, the notes' "almost always an extra percent".

A second copy of every weight follows an exponentially decaying average of the
values training visits. The objective is roughly bowl-shaped and the iterates
jump around its mode; their average lies nearer to it, so evaluating with the
averaged copy usually scores better than the last iterate.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from babysit.backend import get_array_module, to_numpy
from babysit.nn.layers.base import Param

__all__ = ["ParameterAverage"]


class ParameterAverage:
    """An exponential moving average of each Param's value, with the start-up bias removed.

    With decay d, after t updates the average is

        avg_t = sum_s d^(t-s) w_s / sum_s d^(t-s)  =  ema_t / (1 - d^t),

    the Adam-style debiased form of ema_t = d ema_{t-1} + (1 - d) w_t (ema_0 = 0). It is
    kept directly, in place: avg_t = avg_{t-1} + c_t (w_t - avg_{t-1}) with
    c_t = (1 - d) / (1 - d^t), so the first update copies w_1 and early averages are not
    dragged towards zero. `params` maps names to the Params to follow (`net.named_params()`).
    Buffers that are not learned (BatchNorm's running statistics) are not averaged.
    """

    def __init__(self, params: dict[str, Param], decay: float = 0.999):
        if isinstance(decay, bool) or not isinstance(decay, numbers.Real) or not 0 < decay < 1:
            raise ValueError(f"average: the decay must be a number in (0, 1) such as 0.999, "
                             f"got {decay!r}")
        self.decay = float(decay)
        self.params = dict(params)
        self.t = 0
        self.values = {name: p.value.copy() for name, p in self.params.items()}
        self._scratch = {name: get_array_module(v).empty_like(v) for name, v in self.values.items()}

    def update(self) -> None:
        """Fold the Params' current values into the average (call once per optimizer step)."""
        self.t += 1
        c = (1.0 - self.decay) / (1.0 - self.decay**self.t)
        for name, p in self.params.items():
            avg, diff = self.values[name], self._scratch[name]
            get_array_module(avg).subtract(p.value, avg, out=diff)
            diff *= c
            avg += diff

    @contextmanager
    def applied(self) -> Iterator[None]:
        """Inside the block every Param holds its averaged value; the trained values come back
        after it. A swap of references, so entering and leaving costs no copy."""
        self._swap()
        try:
            yield
        finally:
            self._swap()

    def _swap(self) -> None:
        for name, p in self.params.items():
            p.value, self.values[name] = self.values[name], p.value

    def state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """(config, arrays) for a checkpoint: the decay and step count, and each averaged value."""
        return ({"decay": self.decay, "t": self.t},
                {name: np.array(to_numpy(v)) for name, v in self.values.items()})  # a snapshot

    def load_state(self, config: dict, arrays: dict[str, np.ndarray]) -> None:
        """Restore what `state()` returned, in place (shapes and names must match)."""
        if set(arrays) != set(self.values):
            raise ValueError(f"averaged parameters {sorted(arrays)} do not match the network's "
                             f"{sorted(self.values)}")
        for name, arr in arrays.items():
            avg = self.values[name]
            if arr.shape != avg.shape or arr.dtype != avg.dtype:
                raise ValueError(f"averaged parameter {name!r} is {arr.dtype} {arr.shape}, the "
                                 f"network's is {avg.dtype} {avg.shape}")
            avg[...] = get_array_module(avg).asarray(arr)
        self.decay, self.t = float(config["decay"]), int(config["t"])

    def __repr__(self) -> str:
        return f"ParameterAverage(decay={self.decay}, t={self.t}, params={len(self.params)})"
