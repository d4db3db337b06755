"""Monitors: callbacks that watch training and write what they see into `History`.

What the notes' "Babysitting the learning process" says to watch, beyond the loss
and the accuracies the Trainer records itself:

- `UpdateRatios`: ||update|| / ||value|| per Param (want ~1e-3), from a copy of
  the values taken just before sampled updates.
- `LayerStats`: per layer, histograms of activations and of gradients dL/d(output)
  on a fixed probe batch, plus the fraction of dead ReLUs and saturated tanh /
  sigmoid values. The probe pass runs on a copy of the network, so nothing the
  training step reads (Param.grad, BatchNorm buffers, random generators) is touched.
- `FirstLayerWeights`: the first Linear layer's weights (a sample of its units).
- `RunInfo`: what the diagnosis and the report need in `history.meta`
  (classes, chance loss, batch size, layer names, image shape, ...).

Everything written is plain lists, floats and ints, so `History.save` writes it as
JSON. Sampling is every k iterations, with k chosen so a run gets a fixed number
of samples unless `every` is given; that keeps the monitors cheap enough to leave on.
"""

from __future__ import annotations

import math

import numpy as np

from babysit.backend import get_array_module, make_rng, to_numpy
from babysit.callbacks import Callback
from babysit.layers.activations import ReLU, Sigmoid, Tanh
from babysit.layers.linear import Linear

# A tanh output beyond this magnitude (sigmoid: within 1 - this of 0 or 1, on the tanh
# scale) passes back less than 2% of its gradient: 1 - 0.99^2 ~ 0.02.
SATURATION = 0.99
HISTOGRAM_BINS = 30


def _auto_every(trainer, n_train: int, samples: int) -> int:
    """Iterations between samples so the coming fit gets about `samples` of them."""
    per_epoch = math.ceil(n_train / trainer.batch_size)
    total = per_epoch * max(trainer.epochs - trainer.epoch, 1)
    return max(1, total // samples)


def _layers(net) -> list:
    """The top-level layers of a Sequential, or the network itself as one layer."""
    return list(net.layers) if hasattr(net, "layers") else [net]


def layer_names(net) -> list[str]:
    """"0 Linear", "1 ReLU", ...: how monitors, the diagnosis and the report name layers."""
    return [f"{i} {type(layer).__name__}" for i, layer in enumerate(_layers(net))]


def histogram(values, bins: int = HISTOGRAM_BINS) -> dict:
    """Summary of an array for JSON: mean, std, fraction non-finite, and a histogram.

    Returns {"mean", "std", "nonfinite", "lo", "hi", "counts"}: `counts` has `bins`
    equal-width bins spanning [lo, hi] of the finite values (empty when none are).
    """
    v = np.asarray(to_numpy(values), dtype=np.float64).ravel()
    finite = v[np.isfinite(v)]
    out = {"nonfinite": float(1 - finite.size / v.size) if v.size else 0.0}
    if finite.size == 0:
        return {**out, "mean": None, "std": None, "lo": None, "hi": None, "counts": []}
    lo, hi = float(finite.min()), float(finite.max())
    if hi == lo:  # a constant (e.g. an all-dead ReLU layer): one unit-wide range around it
        lo, hi = lo - 0.5, hi + 0.5
    counts, _ = np.histogram(finite, bins=bins, range=(lo, hi))
    return {**out, "mean": float(finite.mean()), "std": float(finite.std()), "lo": lo, "hi": hi,
            "counts": counts.tolist()}


def unit_health(layer, y) -> dict:
    """For an activation layer's output y (N, units): the fraction of dead or saturated units.

    ReLU: `dead` is the fraction of units that output 0 on every example (they get no
    gradient, so they never recover). Tanh / sigmoid: `saturated` is the fraction of
    values in the flat tails, where the local gradient is under 2% of its peak.
    Other layers: {}.
    """
    y = np.asarray(to_numpy(y))
    if isinstance(layer, ReLU):
        return {"dead": float((y <= 0).all(axis=0).mean())}
    if isinstance(layer, Tanh):
        return {"saturated": float((np.abs(y) > SATURATION).mean())}
    if isinstance(layer, Sigmoid):
        return {"saturated": float((np.abs(2 * y - 1) > SATURATION).mean())}
    return {}


class UpdateRatios(Callback):
    """Records ||value_after - value_before|| / ||value_before|| per Param, every `every` steps.

    Writes history.monitors["update_ratio"] = {"every", "iterations": [...], "weights":
    [names of weight matrices], "params": {name: [ratio or None, ...]}}; None where the
    value was all zeros before the update (a bias at its first step). `iterations`
    counts updates done, so epoch = iteration / history.iters_per_epoch.
    """

    def __init__(self, every: int | None = None, samples: int = 200):
        self.every, self.samples = every, samples
        self._before = None

    def on_train_begin(self, trainer, X, y, val) -> None:
        self._every = self.every or _auto_every(trainer, X.shape[0], self.samples)
        named = trainer.net.named_params()
        rec = trainer.history.monitors.setdefault(
            "update_ratio", {"iterations": [], "params": {name: [] for name in named}})
        rec["every"] = self._every
        rec["weights"] = [name for name, p in named.items() if p.regularize]

    def before_update(self, trainer, iteration: int) -> None:
        if (iteration + 1) % self._every == 0:
            self._before = [p.value.copy() for p in trainer.net.named_params().values()]

    def after_update(self, trainer, iteration: int) -> None:
        if self._before is None:
            return
        rec = trainer.history.monitors["update_ratio"]
        rec["iterations"].append(iteration + 1)
        for (name, p), old in zip(trainer.net.named_params().items(), self._before, strict=True):
            scale = float(np.linalg.norm(to_numpy(old).ravel()))
            step = float(np.linalg.norm(to_numpy(p.value - old).ravel()))
            rec["params"][name].append(step / scale if scale > 0 else None)
        self._before = None


class LayerStats(Callback):
    """Histograms of each layer's activations and gradients on a fixed probe batch.

    At the start, every `every` iterations and at the end, a copy of the network runs
    forward at test time on `probe_size` training examples (drawn once with the
    monitor's own seed), the loss is taken on their labels, and the backward closures
    run in reverse, recording dL/d(output) of every layer. Writes
    history.monitors["layers"] = {"every", "probe_size", "names", "kinds", "samples":
    [{"iteration", "activations": [per layer: histogram + dead/saturated], "gradients":
    [per layer: histogram]}]}.
    """

    def __init__(self, every: int | None = None, samples: int = 20, probe_size: int = 256,
                 seed: int = 0):
        self.every, self.samples, self.probe_size, self.seed = every, samples, probe_size, seed
        self._probe = None

    def on_train_begin(self, trainer, X, y, val) -> None:
        self._every = self.every or _auto_every(trainer, X.shape[0], self.samples)
        if self._probe is None:
            n = X.shape[0]
            pick = np.sort(make_rng(self.seed).choice(n, min(self.probe_size, n), replace=False))
            pick = get_array_module(X).asarray(pick)  # a device index for device data
            self._probe = (X[pick], y[pick])
        layers = _layers(trainer.net)
        rec = trainer.history.monitors.setdefault("layers", {"samples": []})
        rec.update(every=self._every, probe_size=int(self._probe[0].shape[0]),
                   names=layer_names(trainer.net), kinds=[type(lay).__name__ for lay in layers])
        self._sample(trainer, trainer.iteration)

    def after_update(self, trainer, iteration: int) -> None:
        if (iteration + 1) % self._every == 0:
            self._sample(trainer, iteration + 1)

    def on_train_end(self, trainer) -> None:
        samples = trainer.history.monitors["layers"]["samples"]
        if not samples or samples[-1]["iteration"] != trainer.iteration:
            self._sample(trainer, trainer.iteration)

    def _sample(self, trainer, iteration: int) -> None:
        net = trainer.net.copy()
        x, y = self._probe
        activations, backwards = [], []
        for layer in _layers(net):
            x, backward = layer.forward(x, train=False)
            activations.append({**histogram(x), **unit_health(layer, x)})
            backwards.append(backward)
        gradients = [None] * len(backwards)
        if np.isfinite(to_numpy(x)).all():
            _, dout = trainer.loss(x, y)
            for i in reversed(range(len(backwards))):
                gradients[i] = histogram(dout)
                if i > 0:
                    dout = backwards[i](dout)
        trainer.history.monitors["layers"]["samples"].append(
            {"iteration": iteration, "activations": activations, "gradients": gradients})


class FirstLayerWeights(Callback):
    """The first Linear layer's weights, at the start and after every epoch (latest kept).

    Writes history.monitors["first_layer"] = {"name", "shape": [n_in, n_out], "units":
    [indices of the recorded units], "iteration", "W": n_in rows of len(units) floats}.
    Only the first `max_units` units are kept, so the JSON stays small for wide layers.
    """

    def __init__(self, max_units: int = 64):
        self.max_units = max_units

    def on_train_begin(self, trainer, X, y, val) -> None:
        self._record(trainer)

    def on_epoch_end(self, trainer, epoch: int) -> None:
        self._record(trainer)

    def _record(self, trainer) -> None:
        for i, layer in enumerate(_layers(trainer.net)):
            if isinstance(layer, Linear):
                W = to_numpy(layer.params["W"].value)
                units = list(range(min(self.max_units, W.shape[1])))
                trainer.history.monitors["first_layer"] = {
                    "name": f"{i}.W", "shape": list(W.shape), "units": units,
                    "iteration": trainer.iteration, "W": W[:, units].astype(float).tolist()}
                return


class RunInfo(Callback):
    """Fills history.meta with what the diagnosis and the report need.

    meta: n_train, n_val, n_features, n_classes, chance_loss (None for regression),
    batch_size, epochs, loss, optimizer, lr, regularizer, layers (names), model (repr),
    image_shape (when each row is an image, e.g. (8, 8)), plus any `extra` given.
    """

    def __init__(self, image_shape=None, **extra):
        self.image_shape = list(image_shape) if image_shape is not None else None
        self.extra = extra

    def on_train_begin(self, trainer, X, y, val) -> None:
        probe = trainer.net(X[:1], train=False)
        n_out = int(probe.shape[1]) if probe.ndim == 2 else 1
        chance = trainer.loss.chance_loss(n_out) if trainer.loss.classification else None
        trainer.history.meta.update({
            "n_train": int(X.shape[0]), "n_val": int(val[0].shape[0]) if val else 0,
            "n_features": int(X.shape[1]),
            "n_classes": n_out if trainer.loss.classification else None,
            "chance_loss": chance, "batch_size": trainer.batch_size, "epochs": trainer.epochs,
            "loss": repr(trainer.loss), "optimizer": repr(trainer.opt),
            "lr": trainer.opt.current_lr(),
            "regularizer": repr(trainer.reg) if trainer.reg is not None else None,
            "layers": layer_names(trainer.net),
            "model": " -> ".join(repr(lay) for lay in _layers(trainer.net)),
            "image_shape": self.image_shape, **self.extra})


def default(image_shape=None, **meta) -> list[Callback]:
    """The monitors the CLI leaves on: RunInfo, UpdateRatios, LayerStats, FirstLayerWeights.

    `image_shape` ((H, W) or (H, W, C)) lets the report draw first-layer weights as
    images; `meta` adds entries to history.meta (e.g. data="digits").
    """
    return [RunInfo(image_shape, **meta), UpdateRatios(), LayerStats(), FirstLayerWeights()]


__all__ = ["FirstLayerWeights", "LayerStats", "RunInfo", "UpdateRatios", "default", "histogram",
           "layer_names", "unit_health"]
