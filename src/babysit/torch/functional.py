"""The activations a model applies as functions (`F.relu(x)`, `torch.sigmoid(x)`, `x.tanh()`),
which no module hook sees.

`ActivationCalls` is a `TorchFunctionMode` (as `babysit.torch.kinks` uses one): inside it,
every torch function runs as usual, and the outputs of ReLU, sigmoid and tanh calls are kept in
call order, so the sitter reads dead and saturated units in pytorch/examples' `Net` (which
calls F.relu) as it does for `nn.ReLU`. It is entered only for the sitter's probe passes, never
during training. An `nn.ReLU` module also calls F.relu; the sitter drops the calls whose output
is made inside an activation module, which its module hooks already read.
"""

from __future__ import annotations

import torch
from torch.overrides import TorchFunctionMode

# torch function name -> the activation kind whose unit health applies
KINDS = {"relu": "relu", "relu_": "relu", "relu6": "relu", "sigmoid": "sigmoid",
         "sigmoid_": "sigmoid", "tanh": "tanh", "tanh_": "tanh"}


class ActivationCalls(TorchFunctionMode):
    """Records (kind, output) of every ReLU / sigmoid / tanh function called inside it while
    `depth` is 0 (the caller raises it inside activation modules)."""

    def __init__(self):
        super().__init__()
        self.calls: list[tuple[str, torch.Tensor]] = []
        self.depth = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        kind = KINDS.get(getattr(func, "__name__", ""))
        if kind is not None and self.depth == 0 and isinstance(out, torch.Tensor):
            self.calls.append((kind, out.detach()))
        return out


__all__ = ["KINDS", "ActivationCalls"]
