"""Parameters, the layer protocol, and `Sequential`.

A layer's `forward(x, train)` returns its output and a backward closure: given
dL/dy, the closure writes dL/dparam into each `Param.grad` and returns dL/dx.
The closure holds exactly what the backward pass needs (the notes' cache), so
nothing stale lives on the layer and a forward pass can be repeated freely.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator

import numpy as np

from babysit.backend import device_of, get_array_module, resolve_device, resolve_dtype, to_device
from babysit.nn.reprs import config_repr

__all__ = ["Backward", "Param", "Layer", "Sequential"]

Backward = Callable[[np.ndarray], np.ndarray]


class Param:
    """A learnable array and its gradient.

    `value` and `grad` have the same shape and dtype. `regularize` says whether a
    weight penalty applies (True for weight matrices, False for biases and
    BatchNorm's gamma/beta). `max_norm_axis` is the axis along which each unit's
    incoming weight vector lies (0 for a Linear weight), or None.

    The gradient of a step starts from zero without a pass over memory:
    `zero_grad()` only marks the gradient stale, and the first write of the next
    step overwrites it (`add`, `add_matmul` use `out=` then).
    """

    __slots__ = ("value", "grad", "regularize", "max_norm_axis", "_stale")

    def __init__(self, value, regularize: bool = False, max_norm_axis: int | None = None):
        self.value = value
        self.grad = get_array_module(value).zeros_like(value)
        self.regularize = regularize
        self.max_norm_axis = max_norm_axis
        self._stale = False

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def size(self) -> int:
        return self.value.size

    def zero_grad(self) -> None:
        """Mark the gradient as stale: the next write replaces it instead of adding."""
        self._stale = True

    def add(self, g) -> None:
        """Accumulate `g` into the gradient (replacing it when stale)."""
        if self._stale:
            self.grad[...] = g
            self._stale = False
        else:
            self.grad += g

    def add_scaled(self, a, scale: float) -> None:
        """Accumulate `scale * a` into the gradient without a temporary when possible."""
        xp = get_array_module(self.grad)
        if self._stale:
            xp.multiply(a, scale, out=self.grad)
            self._stale = False
        else:
            self.grad += scale * a

    def add_matmul(self, a, b) -> None:
        """Accumulate `a @ b` into the gradient; BLAS writes straight into `grad` when stale."""
        xp = get_array_module(self.grad)
        if self._stale:
            xp.matmul(a, b, out=self.grad)
            self._stale = False
        else:
            self.grad += a @ b

    def add_sum(self, a, axis: int = 0) -> None:
        """Accumulate `a.sum(axis)` into the gradient."""
        if self._stale:
            a.sum(axis=axis, out=self.grad)
            self._stale = False
        else:
            self.grad += a.sum(axis=axis)

    def read_grad(self):
        """The gradient of the current step (zeros if nothing was written since `zero_grad`)."""
        if self._stale:
            self.grad[...] = 0
            self._stale = False
        return self.grad

    def swap_grad(self, grad):
        """Put `grad` (an array like `value`) in as this Param's gradient, stale (the next
        write replaces its contents), and return what was there: (grad, stale), which
        `restore_grad` puts back. A pass that wants gradients of its own (a monitor's probe)
        writes them into `grad` without touching the training step's."""
        held = (self.grad, self._stale)
        self.grad, self._stale = grad, True
        return held

    def restore_grad(self, held) -> None:
        """Undo `swap_grad`: `held` is what it returned."""
        self.grad, self._stale = held

    def astype(self, dtype) -> None:
        self.value = self.value.astype(dtype)
        self.grad = self.grad.astype(dtype)

    def to(self, device: str) -> None:
        """Move the value and the gradient to `device` ("cpu" or "gpu")."""
        self.value = to_device(self.value, device)
        self.grad = to_device(self.grad, device)

    def __repr__(self) -> str:
        return f"Param(shape={self.shape}, dtype={self.value.dtype})"


class Layer:
    """Base class: a layer owns `params` (name -> Param) and computes one step forward.

    Subclasses implement `forward(x, train) -> (y, backward)`. Layers with running
    state that is not learned (BatchNorm's running averages) keep it in `buffers`.
    """

    params: dict[str, Param]
    buffers: dict[str, np.ndarray]

    def __init__(self):
        self.params = {}
        self.buffers = {}

    def forward(self, x, train: bool = False) -> tuple[np.ndarray, Backward]:
        """x: (N, D_in) -> (y (N, D_out), backward). `backward(dy)` adds dL/dparam into each
        Param.grad and returns dL/dx (N, D_in); train=True turns on dropout, noise and batch
        statistics."""
        raise NotImplementedError

    def __call__(self, x, train: bool = False):
        """Forward only, returning the output (no backward closure kept by the caller)."""
        return self.forward(x, train)[0]

    def config(self) -> dict:
        """The constructor arguments that rebuild this layer (saved with checkpoints)."""
        return {}

    def astype(self, dtype):
        """Convert every parameter and buffer to `dtype` in place; returns self."""
        dtype = resolve_dtype(dtype)
        for p in self.named_params().values():
            p.astype(dtype)
        for layer in self.modules():
            for name, b in layer.buffers.items():
                layer.buffers[name] = b.astype(dtype)
        return self

    def to(self, device: str):
        """Move every parameter and buffer to `device` ("cpu" or "gpu") in place; returns self.
        The trainer then moves each dataset it is given to the same device once, and
        optimizer state is created where the parameters live."""
        resolve_device(device)  # refused up front, also for a layer without parameters
        for p in self.named_params().values():
            p.to(device)
        for layer in self.modules():
            for name, b in layer.buffers.items():
                layer.buffers[name] = to_device(b, device)
        return self

    @property
    def device(self) -> str:
        """Where the parameters live: "cpu" or "gpu"."""
        for p in self.named_params().values():
            return device_of(p.value)
        return "cpu"

    @property
    def dtype(self):
        """The dtype of the first parameter (float32 unless asked otherwise); None without any."""
        for p in self.named_params().values():
            return p.value.dtype
        return None

    def modules(self) -> Iterator[Layer]:
        """This layer and every layer inside it."""
        yield self

    def named_params(self) -> dict[str, Param]:
        """Every parameter, by name ("W", or dotted "0.W" inside a container)."""
        return self.params

    def parameters(self) -> list[Param]:
        """Every parameter, in `named_params` order (what an optimizer's step takes)."""
        return list(self.named_params().values())

    def zero_grad(self) -> None:
        """Mark every gradient stale: the next backward pass overwrites instead of adding."""
        for p in self.named_params().values():
            p.zero_grad()

    def copy(self):
        """A deep copy: parameters, buffers and random generators all independent."""
        return copy.deepcopy(self)

    def __repr__(self) -> str:
        return config_repr(self, self.config())


class Sequential(Layer):
    """Layers applied one after another; backward runs their closures in reverse.

    `params` holds every layer's parameters under dotted names ("0.W", "0.b",
    "1.gamma"), so optimizers, regularizers and checkpoints see one flat dict.
    """

    def __init__(self, *layers: Layer):
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], list | tuple):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise ValueError(
                    f"Sequential expects Layer objects, got {type(layer).__name__} at position {i}"
                )
        self.layers = list(layers)
        self._first_learnable = next(
            (i for i, layer in enumerate(self.layers) if layer.named_params()), 0)
        self.params = {
            f"{i}.{name}": p
            for i, layer in enumerate(self.layers)
            for name, p in layer.named_params().items()
        }

    def modules(self) -> Iterator[Layer]:
        yield self
        for layer in self.layers:
            yield from layer.modules()

    def forward(self, x, train: bool = False):
        backwards = []
        for i, layer in enumerate(self.layers):
            try:
                x, backward = layer.forward(x, train)
            except ValueError as err:
                raise ValueError(f"layer {i} ({layer!r}): {err}") from None
            backwards.append(backward)

        def backward(dout, input_grad: bool = True):
            """dL/dy -> dL/dx. With input_grad=False (a training step) the layers below the
            first one with parameters are skipped, and that one computes only its parameter
            gradients; None is returned."""
            stop = 0 if input_grad else self._first_learnable
            for back in reversed(backwards[stop + 1:]):
                dout = back(dout)
            if not backwards:
                return dout
            if input_grad:
                return backwards[0](dout)
            first = backwards[stop]
            getattr(first, "params_only", first)(dout)
            return None

        return x, backward

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i):
        return self.layers[i]

    def __iter__(self):
        return iter(self.layers)

    def __repr__(self) -> str:
        inner = ",\n".join(f"  ({i}) {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential(\n{inner}\n)"
