"""Which side won each max() in a PyTorch computation: kinks, as `babysit.nn.layers.kinks` has them.

babysit's own layers report the side their max() took; a PyTorch model cannot be asked to.
`recording()` instead watches every torch function the computation calls (a
`TorchFunctionMode`, so `nn.ReLU`, `F.relu`, `x.clamp(min=0)` and a hand-written hinge are all
seen) and, for the functions that have a kink, records a mask saying which side each element
took: the sign of the input of relu / leaky_relu / abs, the bounds a clamp or hardtanh hit,
the winner of max / maximum / min / minimum, the argmax of a max-pool, the active margins of
a hinge loss. A gradient check compares the masks of f(x+h) and f(x-h)
(`babysit.nn.layers.kinks.crossed`); where they differ, the difference straddled a kink.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode


def _arg(args, kwargs, position: int, name: str, default=None):
    """The argument `name` of a call, given by position or keyword."""
    if name in kwargs:
        return kwargs[name]
    return args[position] if len(args) > position else default


def _positive(args, kwargs):
    return args[0] > 0


def _bounds(low_name: str, high_name: str, low=None, high=None):
    """A recorder for clamp-like functions: which bound each element is beyond, if any."""
    def record(args, kwargs):
        x = args[0]
        lo = _arg(args, kwargs, 1, low_name, low)
        hi = _arg(args, kwargs, 2, high_name, high)
        side = torch.zeros_like(x, dtype=torch.int8)
        if lo is not None:
            side = side + (x < lo).to(torch.int8)
        if hi is not None:
            side = side + 2 * (x > hi).to(torch.int8)
        return side
    return record


def _winner(pick):
    """A recorder for max / min (`pick`: argmax / argmin): max(x), max(x, dim), max(a, b)."""
    def record(args, kwargs):
        other = _arg(args, kwargs, 1, "other", kwargs.get("dim"))
        if isinstance(other, torch.Tensor):
            return args[0] > other
        if isinstance(other, int):
            return pick(args[0], dim=other)
        return pick(args[0])
    return record


def _max_pool(n: int):
    """A recorder for max_pool{n}d: the argmax inside every pooling window."""
    with_indices = getattr(F, f"max_pool{n}d_with_indices")

    def record(args, kwargs):
        kept = {k: v for k, v in kwargs.items() if k != "return_indices"}
        return with_indices(*args[:6], **kept)[1]
    return record


def _multi_margin(args, kwargs):
    """The Weston-Watkins / Crammer-Singer hinge: which margins are active (above 0)."""
    scores, target = args[0], _arg(args, kwargs, 1, "target")
    margin = _arg(args, kwargs, 3, "margin", 1.0)
    scores = scores if scores.ndim == 2 else scores.unsqueeze(0)
    correct = scores.gather(1, target.reshape(-1, 1))
    return margin - correct + scores > 0


def _hinge_embedding(args, kwargs):
    return _arg(args, kwargs, 2, "margin", 1.0) - args[0] > 0


def _l1(args, kwargs):
    return torch.sign(args[0] - _arg(args, kwargs, 1, "target"))


# function name -> (args, kwargs) -> the mask to record, computed before the function runs (an
# in-place relu_ or clamp_ would change its input)
RECORDERS = {
    "relu": _positive, "relu_": _positive, "leaky_relu": _positive, "leaky_relu_": _positive,
    "rrelu": _positive, "prelu": _positive,
    "abs": lambda args, kwargs: torch.sign(args[0]),
    "clamp": _bounds("min", "max"), "clamp_": _bounds("min", "max"),
    "clip": _bounds("min", "max"), "clip_": _bounds("min", "max"),
    "clamp_min": _bounds("min", "_"), "clamp_min_": _bounds("min", "_"),
    "clamp_max": lambda args, kwargs: args[0] > args[1],
    "clamp_max_": lambda args, kwargs: args[0] > args[1],
    "hardtanh": _bounds("min_val", "max_val", -1.0, 1.0),
    "hardtanh_": _bounds("min_val", "max_val", -1.0, 1.0),
    "relu6": _bounds("_", "_", 0.0, 6.0),
    "max": _winner(torch.argmax), "min": _winner(torch.argmin),
    "maximum": _winner(torch.argmax), "minimum": _winner(torch.argmin),
    "max_pool1d": _max_pool(1), "max_pool2d": _max_pool(2), "max_pool3d": _max_pool(3),
    "max_pool1d_with_indices": _max_pool(1), "max_pool2d_with_indices": _max_pool(2),
    "max_pool3d_with_indices": _max_pool(3),
    "multi_margin_loss": _multi_margin, "hinge_embedding_loss": _hinge_embedding,
    "l1_loss": _l1,
}


class _KinkMode(TorchFunctionMode):
    """Runs every torch function as usual and records the side of each kinked one."""

    def __init__(self, masks: list):
        super().__init__()
        self.masks = masks

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        record = RECORDERS.get(getattr(func, "__name__", ""))
        if record is not None:
            with torch.no_grad():
                self.masks.append(record(args, kwargs).detach().clone())
        return func(*args, **kwargs)


@contextmanager
def recording():
    """Collect the masks of every kinked torch function called inside the block, in order."""
    masks: list = []
    with _KinkMode(masks):
        yield masks


__all__ = ["RECORDERS", "recording"]
