"""Parameter updates, each a few lines to read against the notes' formula.

An optimizer's `step(params)` updates each `Param.value` in place from its
`.grad`, keeping its own state per parameter name (velocity, caches, moments) in
`self.state[name]`: `params` is `net.named_params()` (name -> Param), or any iterable of
Params, which are then named by position ("0", "1", ...). The state holds what the rule
learns and nothing else, so `state_dict()` is it; a rule's temporaries live apart. The
learning rate is a number or a schedule: a function of the step count t (0 on the first
step) returning the rate.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping

import numpy as np

from babysit.backend import get_array_module, to_numpy
from babysit.nn import level1
from babysit.nn.layers.base import Param
from babysit.nn.reprs import config_repr
from babysit.validation import described, in_float_range, positive_int, real_number, true_or_false

__all__ = ["Optimizer", "SGD", "Momentum", "Adagrad", "RMSprop", "Adam", "OPTIMIZERS", "get",
           "StepDecay", "ExponentialDecay", "InverseTimeDecay"]

Schedule = Callable[[int], float]


class Optimizer:
    """Base: keeps the step count `t`, the learning rate (or schedule) and the state of each
    parameter by name (`state[name]`: {key: array})."""

    # Slots of the state that are a rule's temporaries, not what it learned (the adaptive
    # rules' scratch buffers): never saved, made fresh by `init_state` on load, and dropped
    # from a state that an older version saved with them.
    temporaries: tuple[str, ...] = ()

    def __init__(self, lr: float | Schedule = 1e-2):
        if not callable(lr):
            real_number(lr, f"{type(self).__name__}: lr (or a schedule)", above=0)
        self.lr = lr
        self.t = 0
        self.state: dict[str, dict] = {}

    def current_lr(self) -> float:
        """The learning rate of the next step. A schedule's rate is checked at each step (two
        comparisons): a number >= 0 (0 for a warm-up's first steps); a negative rate would
        climb the loss, NaN or inf wreck the weights, text or None fail deep in an update."""
        if not callable(self.lr):
            return float(self.lr)
        rate = self.lr(self.t)
        # a Python or NumPy number, or a 0-d array of one (np.exp of a 0-d array)
        if not isinstance(rate, bool) and (isinstance(rate, numbers.Real) or (
                getattr(rate, "shape", None) == ()
                and getattr(getattr(rate, "dtype", None), "kind", None) in ("i", "u", "f"))):
            rate = float(rate)
            if 0 <= rate < math.inf:
                return rate
        raise ValueError(f"{type(self).__name__}: the learning-rate schedule {self.lr!r} gave "
                         f"{rate if isinstance(rate, float) else described(rate)} at step "
                         f"t={self.t}; a rate must be a finite number >= 0")

    def step(self, params: Mapping[str, Param] | Iterable[Param]) -> None:
        """Update each Param's `.value` in place from its `.grad`, with this rule's state
        for that parameter's name (created on first sight), then count the step. `params`:
        name -> Param (`net.named_params()`), or Params named by their position."""
        lr = self.current_lr()
        self.t += 1
        named = params.items() if isinstance(params, Mapping) else (
            (str(i), p) for i, p in enumerate(params))
        for name, p in named:
            state = self.state.get(name)
            if state is None:
                state = self.state[name] = self.init_state(p)
            self.update(p.value, p.grad, state, lr)

    def init_state(self, p: Param) -> dict:
        """The rule's state for a new Param (e.g. a zero velocity of its shape)."""
        return {}

    def _check_eps(self, p: Param) -> None:
        """Refuse, when a Param's state is made, an `eps` that its dtype rounds towards 0
        (below np.finfo(dtype).tiny): a gradient of 0 would then give 0 / 0 = NaN, or a
        weight of -inf, from finite gradients."""
        in_float_range(self.eps, f"{type(self).__name__}: eps (for a {p.value.dtype} "
                                 f"parameter)", p.value.dtype, tiny=True)

    def update(self, w, dw, state: dict, lr: float) -> None:
        """The rule itself: change `w` in place from its gradient `dw` (same shape)."""
        raise NotImplementedError

    def config(self) -> dict:
        """The constructor arguments (for repr and saved training state)."""
        return {"lr": self.lr}

    def state_dict(self) -> dict:
        """What this optimizer has learned: {"type": the class name, "t": the step count,
        "state": {parameter name: {key: NumPy array}}}, copies, without `temporaries`. A
        checkpoint stores it; `load_state_dict` puts it back."""
        state = {}
        for name, slots in self.state.items():
            kept = {key: value for key, value in slots.items() if key not in self.temporaries}
            for key, value in kept.items():
                if get_array_module(value) is np and not isinstance(value, np.ndarray):
                    raise ValueError(f"cannot save {type(self).__name__}'s state: its {key!r} "
                                     f"is a {type(value).__name__}, not an array")
            # copies: the saved state must not change as this optimizer goes on stepping
            state[name] = {key: np.array(to_numpy(value)) for key, value in kept.items()}
        return {"type": type(self).__name__, "t": self.t, "state": state}

    def load_state_dict(self, saved: Mapping, params: Mapping[str, Param]) -> None:
        """Take over a `state_dict()` (of this optimizer type) for the Params `params` names
        (`net.named_params()`), each array copied to its Param's device, the temporaries
        made fresh; replaces whatever state this one held. A state saved with temporaries
        (by an older version) loads too: they are dropped."""
        if saved["type"] != type(self).__name__:
            raise ValueError(f"the state was saved by {saved['type']}, this optimizer is "
                             f"{type(self).__name__}")
        unknown = sorted(set(saved["state"]) - set(params))
        if unknown:
            raise ValueError(f"optimizer state for unknown parameters {unknown}; the network "
                             f"has {sorted(params)}")
        state = {}
        for name, slots in saved["state"].items():
            p = params[name]
            fresh = self.init_state(p)
            kept = {key: arr for key, arr in slots.items() if key not in self.temporaries}
            expected = set(fresh) - set(self.temporaries)
            if set(kept) != expected:
                raise ValueError(f"the optimizer state of {name!r} holds {sorted(kept)}; "
                                 f"{type(self).__name__} keeps {sorted(expected)}")
            for key, arr in kept.items():
                if tuple(arr.shape) != tuple(p.shape):
                    raise ValueError(f"the optimizer state {key!r} of {name!r} has shape "
                                     f"{tuple(arr.shape)}, the parameter {tuple(p.shape)}: "
                                     f"the state was saved for another network")
                made = getattr(fresh[key], "dtype", p.value.dtype)   # what the rule keeps
                if arr.dtype != made:   # float16 lost precision, int failed in a step
                    raise ValueError(f"the optimizer state {key!r} of {name!r} is {arr.dtype}, "
                                     f"{type(self).__name__} keeps it in {made}: the state was "
                                     f"saved for another network")
            xp = get_array_module(p.value)
            state[name] = {**fresh, **{key: xp.array(arr) for key, arr in kept.items()}}
        self.state = state
        self.t = int(saved["t"])

    def __repr__(self) -> str:
        return config_repr(self, self.config())


# An update rule's passes over a large Param run block by block, each block this many
# entries (512 KiB of float32 an array). A 3072 x 1024 weight matrix, its gradient and its
# velocity are 38 MiB, beyond a 32 MiB L3 cache shared with other work: rule by rule, each of
# momentum's four passes streams them from memory again; block by block, a block's later
# passes find it in cache. Momentum's update of a 3072-1024-1024-10 MLP, one thread: 4.9 ->
# 3.9 ms (2^13 entries: 6.3 ms, Python's overhead a block; 2^15 4.4; 2^17-2^19 3.7-3.9).
UPDATE_BLOCK = 2**17
# From this many entries on, SGD's, momentum's, Adagrad's, RMSprop's and Adam's updates run
# their scalings and sums as BLAS scal / axpy / axpby on the threads of NumPy's own OpenBLAS
# (`level1`, where found; a scaling and a sum are one axpby pass where OpenBLAS would not
# thread the scal).
# Measured right after a step's backward pass, as a fit runs it (2 threads): momentum's
# update of 784-512-512-10 (weights of 401K and 262K entries) 1.07 -> 0.79 ms, 6% of the
# step; of 3072-1024-1024-10 3.7 -> 2.6 ms; of 784-100-10 (78K) 0.080 -> 0.076 ms; Adam's of
# 784-1024-1024-1024-10 7.7 -> 6.2 ms. Below it, a ctypes call (microseconds)
# would cost about what it saves: a 64-100-10 MLP's 6,400 weights keep their ufuncs.
LEVEL1_MIN = 2**16


def _level1(*arrays) -> bool:
    """Whether an update of these arrays (the Param's value first) runs on `level1`."""
    return arrays[0].size >= LEVEL1_MIN and level1.usable(*arrays)


def _scale_add(b: float, y, a: float, x, scratch, blas: bool) -> None:
    """y = b * y + a * x, in place, for the adaptive rules' running averages: one
    `level1.scale_add` when `blas`, else three ufunc passes with a * x in `scratch` (which
    may be x itself)."""
    if blas:
        level1.scale_add(b, y, a, x)
        return
    y *= b
    get_array_module(y).multiply(x, a, out=scratch)
    y += scratch


def _descend(w, numerator, denominator, rate: float, blas: bool) -> None:
    """w -= rate * numerator / denominator, in place, for the adaptive rules; `denominator`,
    the rule's scratch buffer, is overwritten. The division is a ufunc pass (no BLAS routine
    divides); the step is one `level1.axpy` when `blas`, else two ufunc passes."""
    xp = get_array_module(w)
    xp.divide(numerator, denominator, out=denominator)
    if blas:
        level1.axpy(-rate, denominator, w)
    else:
        denominator *= rate
        w -= denominator


def _blockwise(rule, *arrays) -> None:
    """Apply `rule(*views, scratch)` to aligned blocks of the same-shaped `arrays` (the
    Param's value first), `scratch` a buffer like the views for the rule's temporaries; the
    rule changes the views in place, elementwise, so every entry comes out as one call on the
    whole arrays would leave it, bit for bit. Arrays that are small, not C-contiguous or not
    NumPy's (a GPU runs one pass over all of them anyway) take one call on the whole."""
    first = arrays[0]
    xp = get_array_module(first)
    if xp is not np or first.size <= UPDATE_BLOCK or \
            not all(a.flags.c_contiguous for a in arrays):
        rule(*arrays, xp.empty_like(first))
        return
    flat = [a.reshape(-1) for a in arrays]
    scratch = np.empty(UPDATE_BLOCK, dtype=first.dtype)
    for start in range(0, first.size, UPDATE_BLOCK):
        views = [a[start:start + UPDATE_BLOCK] for a in flat]
        rule(*views, scratch[:views[0].size])


def _zeros_like(p: Param):
    return get_array_module(p.value).zeros_like(p.value)


class SGD(Optimizer):
    """Vanilla update: w += -lr * dw."""

    def update(self, w, dw, state, lr):
        if _level1(w, dw):
            level1.axpy(-lr, dw, w)
            return

        def rule(w, dw, scaled):
            get_array_module(w).multiply(dw, lr, out=scaled)
            w -= scaled

        _blockwise(rule, w, dw)


class Momentum(Optimizer):
    """v = mu * v - lr * dw;  w += v.

    With `nesterov=True` the gradient is, in effect, taken at the look-ahead point:
    v_prev = v;  v = mu * v - lr * dw;  w += -mu * v_prev + (1 + mu) * v.
    """

    def __init__(self, lr: float | Schedule = 1e-2, mu: float = 0.9, nesterov: bool = False):
        super().__init__(lr)
        real_number(mu, "Momentum: mu", at_least=0, below=1)
        self.mu, self.nesterov = mu, true_or_false(nesterov, "Momentum: nesterov")

    def config(self) -> dict:
        return {"lr": self.lr, "mu": self.mu, "nesterov": self.nesterov}

    def init_state(self, p):
        return {"v": _zeros_like(p)}

    def update(self, w, dw, state, lr):
        v = state["v"]
        if _level1(w, dw, v):   # the formulas above, a BLAS call a line
            if self.nesterov:
                level1.axpy(-self.mu, v, w)
            level1.scale_add(self.mu, v, -lr, dw)
            level1.axpy(1 + self.mu if self.nesterov else 1.0, v, w)
        elif self.nesterov:
            w -= self.mu * v  # -mu * v_prev
            v *= self.mu
            v -= lr * dw
            w += (1 + self.mu) * v
        else:
            def rule(w, dw, v, scaled):
                v *= self.mu
                get_array_module(w).multiply(dw, lr, out=scaled)
                v -= scaled
                w += v

            _blockwise(rule, w, dw, v)


class Adagrad(Optimizer):
    """cache += dw^2;  w += -lr * dw / (sqrt(cache) + eps)."""

    temporaries = ("scratch",)   # a buffer for the update's passes, as Adam's: never saved

    def __init__(self, lr: float | Schedule = 1e-2, eps: float = 1e-8):
        super().__init__(lr)
        self.eps = eps
        real_number(eps, "Adagrad: eps", above=0)

    def config(self) -> dict:
        return {"lr": self.lr, "eps": self.eps}

    def init_state(self, p):
        self._check_eps(p)
        return {"cache": _zeros_like(p), "scratch": _zeros_like(p)}

    def update(self, w, dw, state, lr):
        xp = get_array_module(w)
        cache, tmp = state["cache"], state["scratch"]
        blas = _level1(w, dw, cache, tmp)
        xp.multiply(dw, dw, out=tmp)
        if blas:
            level1.axpy(1.0, tmp, cache)
        else:
            cache += tmp
        xp.sqrt(cache, out=tmp)
        tmp += self.eps
        _descend(w, dw, tmp, lr, blas)


class RMSprop(Optimizer):
    """cache = decay * cache + (1 - decay) * dw^2;  w += -lr * dw / sqrt(cache + eps)."""

    temporaries = ("scratch",)   # a buffer for the update's passes, as Adam's: never saved

    def __init__(self, lr: float | Schedule = 1e-3, decay: float = 0.99, eps: float = 1e-8):
        super().__init__(lr)
        real_number(decay, "RMSprop: decay", at_least=0, below=1)
        real_number(eps, "RMSprop: eps", above=0)
        self.decay, self.eps = decay, eps

    def config(self) -> dict:
        return {"lr": self.lr, "decay": self.decay, "eps": self.eps}

    def init_state(self, p):
        self._check_eps(p)
        return {"cache": _zeros_like(p), "scratch": _zeros_like(p)}

    def update(self, w, dw, state, lr):
        xp = get_array_module(w)
        cache, tmp = state["cache"], state["scratch"]
        blas = _level1(w, dw, cache, tmp)
        xp.multiply(dw, dw, out=tmp)
        _scale_add(self.decay, cache, 1 - self.decay, tmp, tmp, blas)
        xp.add(cache, self.eps, out=tmp)
        xp.sqrt(tmp, out=tmp)
        _descend(w, dw, tmp, lr, blas)


class Adam(Optimizer):
    """m = b1*m + (1-b1)*dw;  v = b2*v + (1-b2)*dw^2;  bias-corrected
    mt = m / (1 - b1^t), vt = v / (1 - b2^t);  w += -lr * mt / (sqrt(vt) + eps).
    """

    # The update's intermediate results, kept so that a step allocates nothing: always
    # written before read, so never saved (it was, before 2026-12: a third of a file's bytes).
    temporaries = ("scratch",)

    def __init__(self, lr: float | Schedule = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8):
        super().__init__(lr)
        for name, beta in (("beta1", beta1), ("beta2", beta2)):
            real_number(beta, f"Adam: {name}", at_least=0, below=1)
        real_number(eps, "Adam: eps", above=0)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    def config(self) -> dict:
        return {"lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}

    def init_state(self, p):
        self._check_eps(p)
        return {"m": _zeros_like(p), "v": _zeros_like(p), "scratch": _zeros_like(p)}

    def update(self, w, dw, state, lr):
        xp = get_array_module(w)
        b1, b2, t = self.beta1, self.beta2, self.t
        m, v, tmp = state["m"], state["v"], state["scratch"]
        # lr * mt / (sqrt(vt) + eps) with the corrections folded into two scalars
        step, root = lr / (1 - b1**t), 1 / math.sqrt(1 - b2**t)
        blas = _level1(w, dw, m, v, tmp)   # the scalings and sums on BLAS
        _scale_add(b1, m, 1 - b1, dw, tmp, blas)
        xp.multiply(dw, dw, out=tmp)
        _scale_add(b2, v, 1 - b2, tmp, tmp, blas)
        xp.sqrt(v, out=tmp)
        if blas:   # root * sqrt(v) + eps = root * (sqrt(v) + eps / root): one scaling fewer
            tmp += self.eps / root
            _descend(w, m, tmp, step / root, blas)
        else:
            tmp *= root
            tmp += self.eps
            _descend(w, m, tmp, step, blas)


OPTIMIZERS = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": lambda lr: Momentum(lr, nesterov=True),
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adam": Adam,
}


def get(name: str, lr: float | Schedule) -> Optimizer:
    """An optimizer by its short name, e.g. get("adam", 1e-3)."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; known: {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name](lr)


def _check_schedule(name: str, lr0, k=0.0) -> None:
    """A schedule starts from a positive finite rate and never grows (k >= 0, finite: an
    infinite k gives inf * 0 = NaN at t = 0); refuse anything else, bools and text too, when
    it is built rather than at some later step."""
    if not real_number(lr0, f"{name}: lr0") > 0:
        raise ValueError(f"{name}: lr0 must be a number > 0, got {lr0!r}")
    if not real_number(k, f"{name}: k") >= 0:
        raise ValueError(f"{name}: k must be a number >= 0, got {k!r}")


class StepDecay:
    """lr0 * factor^(t // every): drop the rate by `factor` every `every` steps."""

    def __init__(self, lr0: float, factor: float = 0.5, every: int = 1000):
        _check_schedule("StepDecay", lr0)
        if not 0 < real_number(factor, "StepDecay: factor") <= 1:
            raise ValueError(f"StepDecay: factor must be in (0, 1], got {factor!r}")
        positive_int(every, "StepDecay: every")
        self.lr0, self.factor, self.every = lr0, factor, every

    def __call__(self, t: int) -> float:
        return self.lr0 * self.factor ** (t // self.every)

    def __repr__(self) -> str:
        return config_repr(self, {"lr0": self.lr0, "factor": self.factor, "every": self.every})


class ExponentialDecay:
    """lr0 * exp(-k t)."""

    def __init__(self, lr0: float, k: float):
        _check_schedule("ExponentialDecay", lr0, k)
        self.lr0, self.k = lr0, k

    def __call__(self, t: int) -> float:
        return self.lr0 * math.exp(-self.k * t)

    def __repr__(self) -> str:
        return config_repr(self, {"lr0": self.lr0, "k": self.k})


class InverseTimeDecay:
    """lr0 / (1 + k t): the 1/t decay."""

    def __init__(self, lr0: float, k: float):
        _check_schedule("InverseTimeDecay", lr0, k)
        self.lr0, self.k = lr0, k

    def __call__(self, t: int) -> float:
        return self.lr0 / (1 + self.k * t)

    def __repr__(self) -> str:
        return config_repr(self, {"lr0": self.lr0, "k": self.k})
