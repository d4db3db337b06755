"""The fully-connected layer: y = x @ W + b."""

from __future__ import annotations

from babysit.backend import DEFAULT_DTYPE, get_array_module, make_rng, resolve_dtype
from babysit.nn import initializers
from babysit.nn.layers.base import Layer, Param
from babysit.validation import (
    in_float_range,
    positive_int,
    real_number,
    seed_or_generator,
    true_or_false,
)

__all__ = ["Linear"]


class Linear(Layer):
    """x: (N, n_in) -> y: (N, n_out), with W: (n_in, n_out) and b: (n_out,).

    `init` names the weight initializer (see `babysit.nn.initializers`); `bias` is the bias's
    initial value, or None for no bias. Column j of W is unit j's incoming weight
    vector, the one a max-norm constraint clamps. Its backward takes `input_grad`: dL/dx,
    the largest product of the pass, is skipped where a network's first layer has no use
    for it.
    """

    takes_input_grad = True

    def __init__(self, n_in: int, n_out: int, init: str = "he", bias: float | None = 0.0,
                 seed=None, dtype=DEFAULT_DTYPE, allow_zeros: bool = False):
        super().__init__()
        n_in, n_out = positive_int(n_in, "Linear: n_in"), positive_int(n_out, "Linear: n_out")
        dtype = resolve_dtype(dtype)   # integer weights would truncate the initializer's draws
        if bias is not None:   # a bias beyond the dtype's range would be inf in every output
            in_float_range(real_number(bias, "Linear: bias"), "Linear: bias", dtype)
        self.n_in, self.n_out, self.init, self.bias = n_in, n_out, init, bias
        rng = make_rng(seed_or_generator(seed, "Linear: seed"))
        self.allow_zeros = true_or_false(allow_zeros, "Linear: allow_zeros")
        w = initializers.weights(init, n_in, n_out, rng, dtype, allow_zeros=allow_zeros)
        self.params["W"] = Param(w, regularize=True, max_norm_axis=0)
        if bias is not None:
            self.params["b"] = Param(initializers.bias(bias, n_out, dtype))

    def config(self) -> dict:
        config = {"n_in": self.n_in, "n_out": self.n_out, "init": self.init, "bias": self.bias}
        if self.allow_zeros:  # so that a checkpoint of a deliberately zero-initialized net loads
            config["allow_zeros"] = True
        return config

    def forward(self, x, train: bool = False):
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ValueError(
                f"Linear expects input of shape (N, {self.n_in}), got {tuple(x.shape)}"
            )
        W = self.params["W"]
        b = self.params.get("b")
        y = x @ W.value
        if b is not None:
            y += b.value

        def backward(dy, input_grad: bool = True):
            W.accumulate(matmul, x.T, dy)           # W.grad += x.T @ dy
            if b is not None:
                b.accumulate(dy.sum, 0)             # b.grad += dy.sum(axis=0)
            return dy @ W.value.T if input_grad else None

        matmul = get_array_module(x).matmul
        return y, backward
