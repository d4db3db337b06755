"""Batch normalization over the feature axis of (N, D) activations."""

from __future__ import annotations

import numpy as np

from babysit.backend import DEFAULT_DTYPE, resolve_dtype
from babysit.nn.layers.base import Layer, Param
from babysit.validation import in_float_range, positive_int, real_number

__all__ = ["BatchNorm"]


class BatchNorm(Layer):
    """Normalize each feature to zero mean and unit variance, then scale by gamma and shift by beta.

    Training uses the batch's statistics and updates the running averages
    (`running = momentum * running + (1 - momentum) * batch`); test time uses the
    running averages, so a single example gets a deterministic output.
    x: (N, n) -> y: (N, n); gamma, beta: (n,).
    """

    min_batch = 2   # a batch's variance needs two examples

    def __init__(self, n: int, momentum: float = 0.9, eps: float = 1e-5, dtype=DEFAULT_DTYPE):
        super().__init__()
        n = positive_int(n, "BatchNorm: n")
        dtype = resolve_dtype(dtype)
        real_number(momentum, "BatchNorm: momentum", at_least=0, below=1)
        real_number(eps, "BatchNorm: eps", above=0)
        # an eps below the dtype's tiny rounds to 0 in `var + eps`: a constant feature's
        # 1/sqrt(0) would then be inf and every output NaN
        in_float_range(eps, "BatchNorm: eps", dtype, tiny=True)
        self.n, self.momentum, self.eps = n, momentum, eps

        self.params["gamma"] = Param(np.ones(n, dtype=dtype))
        self.params["beta"] = Param(np.zeros(n, dtype=dtype))
        self.buffers["running_mean"] = np.zeros(n, dtype=dtype)
        self.buffers["running_var"] = np.ones(n, dtype=dtype)

    def config(self) -> dict:
        return {"n": self.n, "momentum": self.momentum, "eps": self.eps}

    def forward(self, x, train: bool = False):
        if x.ndim != 2 or x.shape[1] != self.n:
            raise ValueError(
                f"BatchNorm expects input of shape (N, {self.n}), got {tuple(x.shape)}")
        gamma, beta = self.params["gamma"], self.params["beta"]
        if train:
            if x.shape[0] < 2:
                raise ValueError("BatchNorm needs at least 2 examples per batch in training")
            mean = x.mean(axis=0)
            centered = x - mean
            var = (centered * centered).mean(axis=0)
            m = self.momentum
            rm, rv = self.buffers["running_mean"], self.buffers["running_var"]
            rm *= m
            rm += (1 - m) * mean
            rv *= m
            rv += (1 - m) * var
        else:
            centered = x - self.buffers["running_mean"]
            var = self.buffers["running_var"]
        inv_std = 1.0 / (var + self.eps) ** 0.5
        x_hat = centered * inv_std
        y = x_hat * gamma.value + beta.value

        def backward(dy):
            gamma.accumulate((dy * x_hat).sum, 0)    # gamma.grad += (dy * x_hat).sum(axis=0)
            beta.accumulate(dy.sum, 0)                # beta.grad += dy.sum(axis=0)
            dx_hat = dy * gamma.value
            if not train:
                return dx_hat * inv_std
            # The batch statistics depend on every example; this is the compact form of
            # d/dx of (x - mean(x)) / std(x) chained with dx_hat.
            return inv_std * (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0))

        return y, backward
