"""Parameters, the layer protocol, and `Sequential`.

The protocol, all a layer of your own needs (`Layer` has a default for everything but
`forward`):

- `forward(x, train) -> (y, backward)`. The closure `backward(dy)` takes dL/dy, adds
  dL/dparam into each of the layer's `Param`s (`p.grad += ...`) and returns dL/dx. It
  holds exactly what the backward pass needs (the notes' cache), so nothing stale lives on
  the layer and a forward pass can be repeated freely.
- `backward(dy, input_grad=False)`: the caller needs only the parameter gradients (a
  training step's first layer with parameters: dL/dx of the input is never used, and it
  is a layer's largest product). A layer whose closures take the keyword says so with
  `takes_input_grad = True` and may then skip dL/dx and return None; by default
  (`takes_input_grad = False`) the closure takes dy alone and the caller drops dL/dx.
  Callers go through `layer.backward_params(backward, dy)`, which picks the call.
- Gradients accumulate: `Param.grad` reads as zeros after `zero_grad()` (which only marks
  it stale), so `p.grad += g` is always right; `Param.accumulate` is the same `+=` that
  writes straight into a stale gradient.
- `named_params()` and `named_modules()` give dotted names ("0.W", "1") inside containers,
  which optimizers, checkpoints and monitors key everything by.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator

import numpy as np

from babysit.backend import device_of, get_array_module, resolve_device, resolve_dtype, to_device
from babysit.nn.reprs import config_repr

__all__ = ["Backward", "Param", "Layer", "Sequential"]

# backward(dy) -> dx; with `Layer.takes_input_grad`, backward(dy, input_grad=False) -> None too
Backward = Callable[..., "np.ndarray | None"]


class Param:
    """A learnable array and its gradient.

    `value` and `grad` have the same shape and dtype. `regularize` says whether a
    weight penalty applies (True for weight matrices, False for biases and
    BatchNorm's gamma/beta). `max_norm_axis` is the axis along which each unit's
    incoming weight vector lies (0 for a Linear weight), or None.

    A backward pass accumulates: `p.grad += g` (one layer's share of a step's gradient is
    added to what other uses of `p` wrote). `zero_grad()` starts a step without a pass over
    memory: it only marks the gradient stale, and reading `p.grad` then gives zeros. That is
    the whole protocol; `accumulate(op, ...)` is the same `+=` for a NumPy function with
    `out=` (matmul, sum, multiply), which writes straight into the gradient when it is stale
    instead of adding a temporary to zeros: the one place that fast path lives.
    `swap_grad` / `restore_grad` let a pass that is not the training step's (a monitor's
    probe) write its gradients into arrays of its own.
    """

    __slots__ = ("value", "_grad", "regularize", "max_norm_axis", "_stale")

    def __init__(self, value, regularize: bool = False, max_norm_axis: int | None = None):
        self.value = value
        self._grad = get_array_module(value).zeros_like(value)
        self.regularize = regularize
        self.max_norm_axis = max_norm_axis
        self._stale = False

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def size(self) -> int:
        return self.value.size

    @property
    def grad(self):
        """The gradient of the current step, like `value`: zeros if nothing was written
        since `zero_grad` (filled in on this read), so that `p.grad += g` accumulates."""
        if self._stale:
            self._grad[...] = 0
            self._stale = False
        return self._grad

    @grad.setter
    def grad(self, grad) -> None:
        # `p.grad += g` reads, adds in place, then assigns the same array back here.
        if grad is not self._grad:
            self._grad[...] = grad
        self._stale = False

    def zero_grad(self) -> None:
        """Mark the gradient as stale: the next write replaces it instead of adding."""
        self._stale = True

    def accumulate(self, op, *args) -> None:
        """`grad += op(*args)` for an array function that takes `out=` (np.matmul, np.multiply,
        an array's bound `sum` with the axis given positionally, or the same of the array's
        module): when the gradient is stale, `op` writes into it directly, with no temporary
        and no pass to zero it."""
        if self._stale:
            op(*args, out=self._grad)
            self._stale = False
        else:
            self._grad += op(*args)

    def swap_grad(self, grad):
        """Put `grad` (an array like `value`) in as this Param's gradient, stale (the next
        write replaces its contents), and return what was there: (grad, stale), which
        `restore_grad` puts back. A pass that wants gradients of its own (a monitor's probe)
        writes them into `grad` without touching the training step's."""
        held = (self._grad, self._stale)
        self._grad, self._stale = grad, True
        return held

    def restore_grad(self, held) -> None:
        """Undo `swap_grad`: `held` is what it returned."""
        self._grad, self._stale = held

    def astype(self, dtype) -> None:
        self.value = self.value.astype(dtype)
        self._grad = self._grad.astype(dtype)

    def to(self, device: str) -> None:
        """Move the value and the gradient to `device` ("cpu" or "gpu")."""
        self.value = to_device(self.value, device)
        self._grad = to_device(self._grad, device)

    def __repr__(self) -> str:
        return f"Param(shape={self.shape}, dtype={self.value.dtype})"


class Layer:
    """Base class: a layer owns `params` (name -> Param) and computes one step forward.

    Subclasses implement `forward(x, train) -> (y, backward)` (the protocol: see the module's
    docstring). Layers with running state that is not learned (BatchNorm's running averages)
    keep it in `buffers`.
    """

    params: dict[str, Param]
    buffers: dict[str, np.ndarray]
    # Whether this layer's backward closures take `input_grad` (see `backward_params`); a
    # subclass whose `forward` returns a closure of dL/dy alone sets it back to False.
    takes_input_grad: bool = False
    # The fewest examples a training batch may hold for this layer's forward (BatchNorm's
    # batch statistics need 2); the Trainer never cuts a batch smaller.
    min_batch: int = 1

    def __init__(self):
        self.params = {}
        self.buffers = {}

    def forward(self, x, train: bool = False) -> tuple[np.ndarray, Backward]:
        """x: (N, D_in) -> (y (N, D_out), backward). `backward(dy)` adds dL/dparam into each
        Param.grad and returns dL/dx (N, D_in); train=True turns on dropout, noise and batch
        statistics. With `takes_input_grad`, `backward(dy, input_grad=False)` adds the
        parameter gradients alone and returns None."""
        raise NotImplementedError

    def backward_params(self, backward: Backward, dy) -> None:
        """Run `backward` (a closure of this layer's `forward`) for the parameter gradients
        alone: `backward(dy, input_grad=False)` when the layer takes that keyword, else
        `backward(dy)` with dL/dx dropped. A training step calls this on its network."""
        if self.takes_input_grad:
            backward(dy, input_grad=False)
        else:
            backward(dy)

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

    def named_modules(self) -> Iterator[tuple[str, Layer]]:
        """(dotted position, layer) for this layer ("") and every layer inside it ("0",
        "2.1"): where checkpoints find buffers and generators."""
        yield "", self

    def modules(self) -> Iterator[Layer]:
        """This layer and every layer inside it."""
        for _, layer in self.named_modules():
            yield layer

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
    "1.gamma"), so optimizers, regularizers and checkpoints see one flat dict. Its backward
    takes `input_grad`: without dL/dx it stops at the first layer with parameters, which
    computes its parameter gradients alone (`backward_params`).
    """

    takes_input_grad = True

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
        first_name = {}
        for name, p in self.params.items():
            if id(p) in first_name:
                raise ValueError(
                    f"Sequential: parameter {name} is {first_name[id(p)]} again (a layer with "
                    f"parameters used twice): an optimizer would update it twice a step; give "
                    f"each place a layer of its own")
            first_name[id(p)] = name

    def named_modules(self) -> Iterator[tuple[str, Layer]]:
        yield "", self
        for i, layer in enumerate(self.layers):
            for path, inner in layer.named_modules():
                yield (f"{i}.{path}" if path else str(i)), inner

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
            self.layers[stop].backward_params(backwards[stop], dout)
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
