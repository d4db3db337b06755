"""Monitors: callbacks that watch training and write what they see into `History`.

What the notes' "Babysitting the learning process" says to watch, beyond the loss
and the accuracies the Trainer records itself:

- `UpdateRatios`: ||update|| / ||value|| per Param (want ~1e-3), from a copy of
  the values taken just before sampled updates.
- `LayerStats`: per layer, histograms of activations and of gradients dL/d(output)
  on a fixed probe batch, the norm of each layer's gradient, the fraction of dead
  ReLUs and saturated tanh / sigmoid values and the classes the network predicts;
  per parameter, the norm of its value and of its data-loss gradient. The probe pass
  runs at test time with gradient buffers of its own, so nothing the training step reads
  (Param.grad, BatchNorm buffers, random generators) is touched.
- `DataStats`: the scale of the inputs (per-feature mean and spread) and the class
  counts of the training and validation labels, once at the start.
- `FirstLayerWeights`: the first Linear layer's weights (a sample of its units).
- `RunInfo`: what the diagnosis and the report need in `history.meta`
  (classes, chance loss, batch size, layer names, image shape, ...).

Everything written is plain lists, floats and ints, so `History.save` writes it as
JSON. Sampling is every k iterations (a fixed number a run, never closer than a fixed
amount of training, unless `every` is given), each sample of a fixed size, so the monitors'
share of a run does not grow with the network (benchmarks/overhead.py).
The penalty's share of the loss needs no monitor: the Trainer records `data_loss` and
`reg_loss` for every step.

The keys (a contract: `babysit.torch` fills the same ones from PyTorch hooks, and
`babysit.diagnose` reads them; a key that is absent only silences the rules that need it):

    monitors["update_ratio"]  UpdateRatios   {"every", "iterations": [int], "weights": [name],
                                              "params": {name: [float | None]}}
    monitors["layers"]        LayerStats     {"every", "probe_size", "names", "kinds",
                                              "probe_labels": [C ints] | None,
                                              "samples": [{"iteration", "loss", "activations",
                                              "gradients", "grad_norm", "predicted"}]}
    monitors["params"]        LayerStats     {"iterations": [int], "names": [name],
                                              "weights": [name], "grad_norm": {name: [float]},
                                              "value_norm": {name: [float]}}
    monitors["data"]          DataStats      {"n", "feature_mean": [D], "feature_std": [D],
                                              "class_counts": [C] | None,
                                              "val_class_counts": [C] | None}
    monitors["first_layer"]   FirstLayerWeights
    meta                      RunInfo

Each class's docstring gives its key's layout in full, and `babysit.diagnose.records` the
same as code (TypedDicts), which the writers here and in `babysit.torch` build their
records with.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from babysit.backend import get_array_module, make_rng, to_numpy
from babysit.data.arrays import column_mean_std, mean_std
from babysit.data.leaks import copied_rows, label_columns
from babysit.data.scales import val_scale
from babysit.diagnose import records
from babysit.nn.layers.activations import ReLU, Sigmoid, Tanh
from babysit.nn.layers.linear import Linear
from babysit.training.callbacks import Callback
from babysit.validation import positive_int, seed_or_generator, shape_of_image

# A tanh output beyond this magnitude (sigmoid: within 1 - this of 0 or 1, on the tanh
# scale) passes back less than 2% of its gradient: 1 - 0.99^2 ~ 0.02.
SATURATION = 0.99
HISTOGRAM_BINS = 30
# The most values a histogram's counts and moments are taken on (`histogram`)
HISTOGRAM_VALUES = 2**12


def _auto_every(trainer, n_train: int, samples: int) -> int:
    """Iterations between samples so the whole run (all `trainer.epochs`, also when a fit
    continues a resumed run) gets about `samples` of them: a run that was interrupted and
    resumed samples where the uninterrupted run samples."""
    per_epoch = math.ceil(n_train / trainer.batch_size)
    return max(1, per_epoch * trainer.epochs // samples)


def _layers(net) -> list:
    """The top-level layers of a Sequential, or the network itself as one layer."""
    return list(net.layers) if hasattr(net, "layers") else [net]


def layer_names(net) -> list[str]:
    """"0 Linear", "1 ReLU", ...: how monitors, the diagnosis and the report name layers."""
    return [f"{i} {type(layer).__name__}" for i, layer in enumerate(_layers(net))]


def histogram(values, bins: int = HISTOGRAM_BINS) -> dict:
    """Summary of an array for JSON: mean, std, fraction non-finite, and a histogram.

    Returns {"mean", "std", "nonfinite", "lo", "hi", "counts"}: `counts` has `bins`
    equal-width bins spanning [lo, hi] of the finite values (empty when none are). The
    range and the non-finite fraction are those of every value (a single NaN or outlier
    shows); the counts, mean and spread are those of at most HISTOGRAM_VALUES of the finite
    values (`strided_sample`, across every unit): each pass over the values costs, and a
    probe takes two histograms a layer, so a sample keeps the summary's cost flat in the
    layer's width. 4,096 values give every bin's share to within 1.6 points and the spread
    to about 2%, finer than a chart draws or a rule reads them (the diagnosis compares
    spreads across layers by factors of 10).
    """
    a = np.asarray(to_numpy(values))
    v = a.ravel()
    if v.size == 0:
        return _empty_summary(0.0)
    lo, hi = float(v.min()), float(v.max())
    finite = v
    if not (math.isfinite(lo) and math.isfinite(hi)):
        finite = v[np.isfinite(v)]
        if finite.size == 0:
            return _empty_summary(1.0)
        lo, hi = float(finite.min()), float(finite.max())
    nonfinite = float(1 - finite.size / v.size)
    if hi / 2 == lo / 2:  # a constant (e.g. an all-dead ReLU layer), or values a subnormal
        # or two apart, whose half range is zero: a unit-wide range around it, or a
        # millionth of it, where a unit is below the rounding of a large value
        pad = max(0.5, abs(lo) * 1e-6)
        lo, hi = max(lo - pad, -sys.float_info.max), min(hi + pad, sys.float_info.max)
    # The sample's one strided pass: a contiguous float64 copy, which the moments and the
    # bins are taken from (each further pass over the strided view read a cache line for
    # every value or two), mapped onto [0, 1] as u = (x - lo) / (hi - lo). Float64, and half
    # the range: a diverging layer's values overflow float32 in their range (near its limits
    # on both sides) or in the bins' scale (values a few ulps apart), and float64's values
    # overflow it in their squares; u never does, and u's spread is at most 1/2.
    half = hi / 2 - lo / 2
    u = strided_sample(a if finite is v else finite, HISTOGRAM_VALUES).astype(np.float64)
    u *= 0.5
    u -= lo / 2
    u /= half
    above = float(u.sum()) / u.size
    centred = u - above
    std = half * (2 * math.sqrt(_sum_of_squares(centred) / u.size))
    # Equal-width bins by arithmetic and one bincount (np.histogram's general path costs 5x);
    # the maximum lands in the last bin, as np.histogram puts it. u is in [0, 1] (rounding
    # keeps x >= lo and x <= hi in order), so only the top needs a bound: one ufunc
    # (np.clip's Python wrapper looked up the integer type's limits on every call, a tenth
    # of a histogram's time).
    u *= bins
    index = u.astype(np.int32)
    np.minimum(index, bins - 1, out=index)
    counts = np.bincount(index, minlength=bins)
    mean = lo + half * above + half * above     # each term within the range: no overflow
    return {"nonfinite": nonfinite, "mean": mean, "std": std, "lo": lo, "hi": hi,
            "counts": counts.tolist()}


def _empty_summary(nonfinite: float) -> dict:
    """`histogram`'s summary of an array with no finite value (a new dict and list each time:
    a caller may add to them)."""
    return {"nonfinite": nonfinite, "mean": None, "std": None, "lo": None, "hi": None,
            "counts": []}


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


# Update ratios are sampled at most once per this many training examples: with `samples`
# a run alone, a short run of large batches would pay for a sample every step or two. The
# default digits run (batches of 32) samples every 40 steps, by `samples`; a 1-epoch fit of
# 16,384 rows in batches of 128 every 8 steps, 16 samples (at 512 examples: 25, 1% of the
# fit). 37 of the zoo's 51 runs and 75 of the held-out 88 sample less often than at 512, and
# the diagnosis names the same faults in all of them (benchmarks/README.md).
RATIO_SPACING = 1024

# Two units are the same function when their weights differ by under 1e-6 of the layer's
# largest weight: float32 rounding, not a learned difference
IDENTICAL_TOL = 1e-6
# Units are compared on at most this many evenly spaced input rows of W: copies agree on every
# row, and learned units differ on almost all of them, so a sample decides it at a cost that
# does not grow with the layer's fan-in (3072 inputs would be 3M comparisons a sample).
IDENTICAL_ROWS = 256


def identical_units(W) -> dict:
    """For a layer's weights W (inputs, units), units >= 2: the fraction of units whose weights
    equal the first unit's (`identical`), read on IDENTICAL_ROWS evenly spaced inputs. All of
    them: symmetry was never broken (a constant initialization gives every unit the same
    gradient, so they stay copies; units silent because their inputs died keep their own
    weights). Else {}. The rows are compared in W's own float32 (a difference of two
    float32 weights rounds by 6e-8 of itself, far inside the tolerance)."""
    step = max(1, -(-W.shape[0] // IDENTICAL_ROWS)) if W.ndim == 2 else 1
    W = np.asarray(to_numpy(W[::step]))
    if W.ndim != 2 or W.shape[1] < 2:
        return {}
    top, bottom = float(W.max()), float(W.min())   # a NaN anywhere makes them NaN
    if not (math.isfinite(top) and math.isfinite(bottom)):
        return {}
    tol = IDENTICAL_TOL * max(top, -bottom, 1e-12)
    # only the units that match the first on the first row can match it on all of them
    # (a learned layer: none, so the rest is never read)
    alike = np.flatnonzero(np.abs(W[0, 1:] - W[0, 0]) <= tol) + 1
    same = (np.abs(W[:, alike] - W[:, :1]) <= tol).all(axis=0).sum() if alike.size else 0
    return {"identical": float(same) / (W.shape[1] - 1)}


def _every_or_none(every, monitor: str) -> int | None:
    """A monitor's `every`: None (its own schedule) or a positive number of steps; 0 is refused
    (it read as None)."""
    return None if every is None else positive_int(every, f"{monitor}: every")


class UpdateRatios(Callback):
    """Records ||value_after - value_before|| / ||value_before|| per Param, every `every` steps.

    Left to itself (`every` None), about `samples` a run, none closer than RATIO_SPACING
    training examples: the diagnosis reads the median of a run's ratios and of its first
    fifth, which 25 samples give as well as 50 did (the fault zoo and the held-out runs
    score the same), at half the cost, a fixed cost that a 1-epoch fit does not spread.
    Both norms are taken over the same `sample_size` entries of the Param (`line_sample`:
    all of them for a Param that small, else runs of 16 neighbours spread across it), so a
    sample costs the same for a 3072x1024 weight matrix as for a 100x100 one; a ratio of
    norms over thousands of entries spread over every unit is the whole matrix's to a few
    percent (2,048 entries: the ratio of a 3072 x 1024 matrix to within 3%; 2^13 entries
    one stride apart took a quarter of a small network's monitoring time, most of it in the
    cache lines they touched). The samples of every Param sit side by side in one buffer
    (`_Samples`), so a sample is a copy per Param and a few passes over the buffer, whatever
    the number of Params.

    Writes history.monitors["update_ratio"] = {"every", "iterations": [...], "weights":
    [names of weight matrices], "params": {name: [ratio or None, ...]}}; None where the
    value was all zeros before the update (a bias at its first step). `iterations`
    counts updates done, placed in epochs by `history.in_epochs`.
    """

    def __init__(self, every: int | None = None, samples: int = 25,
                 sample_size: int = 2**11):
        self.every = _every_or_none(every, "UpdateRatios")
        self.samples = positive_int(samples, "UpdateRatios: samples")
        self.sample_size = positive_int(sample_size, "UpdateRatios: sample_size")
        self._samples = None   # set when training begins
        self._taken = False    # a sample of the values before this step's update is held
        self._every = 0   # set when training begins; Trainer.step outside fit records nothing

    def on_train_begin(self, trainer, X, y, val) -> None:
        spacing = math.ceil(RATIO_SPACING / trainer.batch_size)
        self._every = self.every or max(spacing, _auto_every(trainer, X.shape[0], self.samples))
        self.update_every = self._every         # the Trainer calls the step hooks then only
        named = trainer.net.named_params()
        self._samples = _Samples(named, self.sample_size)
        weights = [name for name, p in named.items() if p.regularize]
        rec = trainer.history.monitors.setdefault("update_ratio", records.UpdateRatioRecord(
            every=self._every, iterations=[], weights=weights,
            params={name: [] for name in named}))
        rec.update(every=self._every, weights=weights)

    def on_train_end(self, trainer) -> None:
        self._samples, self._every = None, 0     # the buffers are the fit's, not the monitor's

    def before_update(self, trainer, iteration: int) -> None:
        if self._every and (iteration + 1) % self._every == 0:
            self._samples.take()
            self._taken = True

    def after_update(self, trainer, iteration: int) -> None:
        if not self._taken:
            return
        self._taken = False
        rec = trainer.history.monitors["update_ratio"]
        rec["iterations"].append(iteration + 1)
        for name, ratio in zip(self._samples.names, self._samples.ratios(), strict=True):
            rec["params"][name].append(ratio)


class _Samples:
    """The `line_sample`s of named Params, side by side in one buffer of their dtype:
    `take` copies them in, `ratios` reads the change since then. Params: {name: Param}. (The
    difference of two float32 values this close is exact, and the sums of squares of a
    few thousand of them are good to 1e-4, far finer than the ratios are read.) The views
    are made once: an update changes a Param's values in place, and a Param whose value
    array was replaced (a load, a cast) gets its view made again."""

    def __init__(self, params: dict, size: int):
        self.names, self.params, self.size = list(params), list(params.values()), size
        self.values = [p.value for p in self.params]
        self.views = [line_sample(value, size) for value in self.values]
        lengths = [view.size for view in self.views]
        ends = np.cumsum(lengths, dtype=np.int64)
        starts = ends - np.asarray(lengths, dtype=np.int64)
        xp = get_array_module(self.values[0]) if self.params else np
        dtype = self.values[0].dtype if self.params else np.float32
        # row 0: the values before an update; row 1: the change the update made
        self.held = xp.empty((2, int(ends[-1]) if lengths else 0), dtype=dtype)
        self.rows = [(self.held[0, a:b].reshape(view.shape), self.held[1, a:b].reshape(view.shape))
                     for a, b, view in zip(starts, ends, self.views, strict=True)]
        self.starts = xp.asarray(starts)   # where each Param's segment begins, for `reduceat`

    def _current(self):
        """Each Param's sample view, made again where its value array was replaced."""
        for i, p in enumerate(self.params):
            if p.value is not self.values[i]:
                self.values[i], self.views[i] = p.value, line_sample(p.value, self.size)
        return self.views

    def take(self) -> None:
        """Hold a sample of the values as they are now (before an update)."""
        copyto = get_array_module(self.held).copyto
        for view, (before, _) in zip(self._current(), self.rows, strict=True):
            copyto(before, view)

    def ratios(self) -> list[float | None]:
        """||after - before|| / ||before|| per Param, from the samples (None where the held
        values were all zero): the sums of squares of every segment in one reduction."""
        if not self.params:
            return []
        xp = get_array_module(self.held)
        for view, (before, step) in zip(self._current(), self.rows, strict=True):
            xp.subtract(view, before, out=step)
        squares = to_numpy(xp.add.reduceat(self.held * self.held, self.starts, axis=1))
        return [math.sqrt(d) / math.sqrt(b) if b > 0 else None for b, d in squares.T.tolist()]


# The probe's passes are kept to about 1/PROBE_SPACING of the training work: samples during
# a run are at least PROBE_SPACING probe batches' worth of training examples apart. A probe
# pass (forward, backward, the summaries) costs about what training on as many examples does
# (64-100-10 at batches of 32: 0.57 ms, four steps' worth), so this bounds the in-run
# samples' share near 0.7% at any width, beside the start's and the end's, which every run
# takes. (At 50, a 1-epoch fit on 32,768 rows took 4 samples in the run and spent 2.3% of its
# time on them; the diagnosis reads only the first and the last sample.) The default digits
# run (a sample every 204 steps of 32 examples) keeps its schedule: an epoch still gets a
# sample (at its end) when it is shorter than the spacing, since the live alerts read the
# latest.
PROBE_SPACING = 150


class LayerStats(Callback):
    """Per-layer histograms, gradient norms and predictions on a fixed probe batch.

    At the start, every `every` iterations and at the end, the network runs forward at
    test time on `probe_size` training examples (drawn once with the monitor's own seed),
    the data loss (no penalty) is taken on their labels, and the backward closures run in
    reverse, recording dL/d(output) of every layer and leaving each parameter's data-loss
    gradient in gradient buffers of the monitor's own (`Param.swap_grad`), so nothing the
    training step reads (Param.grad, BatchNorm buffers, random generators) is touched and
    no copy of the network is made. Left to itself (`every` None), the monitor takes about
    `samples` samples a run, but none closer than PROBE_SPACING probe batches' worth of
    training examples or one epoch, whichever is less, also to the sample at the run's
    planned end (an in-run sample that close to it is left to the end's). Writes

    history.monitors["layers"] = {"every", "probe_size", "names", "kinds",
        "probe_labels": C counts of the probe's labels (None for regression),
        "samples": [{"iteration",
                     "loss": the data loss on the probe batch (None if not finite),
                     "activations": [per layer: histogram + dead/saturated],
                     "gradients": [per layer: histogram of dL/d(output), None if not finite],
                     "grad_norm": [per layer: ||dL/d(output)|| (Frobenius, over the probe
                                   batch, for the mean loss) or None],
                     "predicted": C counts of the classes the network predicts for the probe
                                  examples (argmax of the scores), None for regression}]}
    history.monitors["params"] = {"iterations": [the same iterations], "names": [every
        parameter], "weights": [the weight matrices among them],
        "grad_norm": {name: [||dL/dparam|| of the data loss on the probe batch, or None]},
        "value_norm": {name: [||param||]}}

    A None marks a value that was not finite (a diverging run).
    """

    def __init__(self, every: int | None = None, samples: int = 5, probe_size: int = 128,
                 seed: int = 0):
        self.every = _every_or_none(every, "LayerStats")
        self.samples = positive_int(samples, "LayerStats: samples")
        self.probe_size = positive_int(probe_size, "LayerStats: probe_size")
        self.seed = seed_or_generator(seed, "LayerStats: seed")
        self._probe = None
        self._probe_gram = None  # x x^T (float64) of the probe's rows, once a sample needs it
        self._grads = None  # the probe's gradient buffers, by parameter name, during a fit
        self._every = 0   # set when training begins; Trainer.step outside fit records nothing
        self._last = 0    # the last iteration an in-run sample may fall on

    def on_train_begin(self, trainer, X, y, val) -> None:
        per_epoch = math.ceil(X.shape[0] / trainer.batch_size)
        spacing = min(math.ceil(PROBE_SPACING * self.probe_size / trainer.batch_size),
                      per_epoch)
        self._every = self.every or max(spacing, _auto_every(trainer, X.shape[0], self.samples))
        self.update_every = self._every         # the Trainer calls `after_update` then only
        # the planned end, a resumed run's as the uninterrupted one's, is sampled anyway
        end = per_epoch * trainer.epochs
        self._last = end if self.every or end % self._every == 0 else end - spacing
        if self._probe is None:
            n = X.shape[0]
            pick = np.sort(make_rng(self.seed).choice(n, min(self.probe_size, n), replace=False))
            pick = get_array_module(X).asarray(pick)  # a device index for device data
            self._probe, self._probe_gram = (X[pick], y[pick]), None
        layers = _layers(trainer.net)
        named = trainer.net.named_params()
        self._grads = {name: get_array_module(p.value).empty_like(p.value)
                       for name, p in named.items()}
        rec = trainer.history.monitors.setdefault("layers", records.LayersRecord(
            every=self._every, probe_size=0, names=[], kinds=[], probe_labels=None, samples=[]))
        rec.update(every=self._every, probe_size=int(self._probe[0].shape[0]),
                   names=layer_names(trainer.net), kinds=[type(lay).__name__ for lay in layers],
                   probe_labels=None)
        trainer.history.monitors.setdefault("params", records.ParamsRecord(
            iterations=[], names=list(named),
            weights=[name for name, p in named.items() if p.regularize],
            grad_norm={name: [] for name in named}, value_norm={name: [] for name in named}))
        if not rec["samples"]:  # a resumed run's History holds its samples: none added here
            self._sample(trainer, trainer.iteration)

    def after_update(self, trainer, iteration: int) -> None:
        if self._every and (iteration + 1) % self._every == 0 and iteration < self._last:
            self._sample(trainer, iteration + 1)

    def on_train_end(self, trainer) -> None:
        samples = trainer.history.monitors["layers"]["samples"]
        if not samples or samples[-1]["iteration"] != trainer.iteration:
            self._sample(trainer, trainer.iteration)
        self._grads = None

    # a sample of a diverging network meets inf and NaN: its records mark them (None), and
    # NumPy's overflow warnings would only repeat that
    @np.errstate(over="ignore", invalid="ignore", divide="ignore")
    def _sample(self, trainer, iteration: int) -> None:
        named = trainer.net.named_params()
        held = {name: p.swap_grad(self._grads[name]) for name, p in named.items()}
        try:
            self._record(trainer, iteration)
        finally:
            for name, p in named.items():
                p.restore_grad(held[name])

    def _input_gram(self):
        """x x^T (N, N), float64, of the probe's rows x: the same in every sample, so the
        first layer's weight-gradient norm costs one N x N product of its output gradients a
        sample (`linear_grad_norms`) instead of forming dL/dW (n_in, n_out)."""
        if self._probe_gram is None:
            self._probe_gram = _gram(self._probe[0])
        return self._probe_gram

    def _record(self, trainer, iteration: int) -> None:
        """One sample, with the probe's gradients going into the monitor's buffers (a wide
        Linear layer's weight gradient only as its norm: `linear_grad_norms`, `_gram_cheaper`)."""
        x, y = self._probe
        layers = _layers(trainer.net)
        activations, backwards, inputs = [], [], []
        for layer in layers:
            inputs.append(x)
            x, backward = layer.forward(x, train=False)
            activations.append({**histogram(x), **unit_health(layer, x),
                                **(identical_units(layer.params["W"].value)
                                   if isinstance(layer, Linear) else {})})
            backwards.append(backward)
        gradients, grad_norms = [None] * len(backwards), [None] * len(backwards)
        scores = to_numpy(x)
        finite = bool(np.isfinite(scores).all())
        probe_loss = None
        norms = {}   # parameter name -> the norm of its gradient, where taken without it
        if finite:
            probe_loss, dout = trainer.loss(x, y)
            probe_loss = float(probe_loss) if math.isfinite(probe_loss) else None
            for i in reversed(range(len(backwards))):
                gradients[i] = summary = histogram(dout)
                if summary["nonfinite"] == 0:
                    grad_norms[i] = _norm(dout)
                if _gram_cheaper(layers[i], inputs[i], probe_input=i == 0):
                    prefix = f"{i}." if layers[i] is not trainer.net else ""
                    gram = self._input_gram() if i == 0 else None
                    norms.update({prefix + name: norm for name, norm
                                  in linear_grad_norms(inputs[i], dout, gram).items()
                                  if name in layers[i].params})
                    dout = dout @ layers[i].params["W"].value.T if i else None
                elif i:
                    dout = backwards[i](dout)
                else:   # no use for dL/d(input)
                    layers[0].backward_params(backwards[0], dout)
        rec = trainer.history.monitors["layers"]
        predicted = None
        if trainer.loss.classification:
            n_classes = scores.shape[1]
            if rec["probe_labels"] is None:
                rec["probe_labels"] = np.bincount(to_numpy(y), minlength=n_classes).tolist()
            if finite:
                predicted = np.bincount(scores.argmax(axis=1), minlength=n_classes).tolist()
        rec["samples"].append(records.LayerSample(iteration=iteration, loss=probe_loss,
                                          activations=activations, gradients=gradients,
                                          grad_norm=grad_norms, predicted=predicted))
        params = trainer.history.monitors["params"]
        params["iterations"].append(iteration)
        for name, p in trainer.net.named_params().items():
            norm = norms[name] if name in norms else _norm(p.grad) if finite else None
            params["grad_norm"][name].append(_finite(norm))
            params["value_norm"][name].append(_finite_norm(p.value))


# What a Gram product x x^T costs per multiply-add against a general product of the same
# operands: NumPy hands it to BLAS's symmetric kernel (`syrk`), which on this project's
# machine ran 1.36-1.4x slower a multiply-add than `x.T @ dy` (128 x 784: 218 against 125 us
# for 12.8M and 10M; 128 x 3072: 826 against 4,767 us for 50M and 403M), and the float64 sum
# over the N x N product adds to each sample (benchmarks/README.md, sixteenth session).
GRAM_COST = 1.5


def _gram_cheaper(layer, x, probe_input: bool = False) -> bool:
    """Whether `linear_grad_norms` costs less than forming the weight gradient of `layer`
    for the input x (N, n_in): a Linear layer with GRAM_COST N (n_in + n_out) < n_in n_out.
    For the probe's own rows (`probe_input`: the first layer's input, whose Gram matrix x x^T
    a run takes once and keeps), x x^T is paid once for at least two samples, a run's first
    and last: GRAM_COST N (n_in + 2 n_out) < 2 n_in n_out (a 784 x 512 first layer: yes;
    MNIST's 784 x 100 and a 784 x 10, whose dL/dW is cheap: no)."""
    if not isinstance(layer, Linear):
        return False
    n_in, n_out = layer.params["W"].shape
    if probe_input:
        return GRAM_COST * x.shape[0] * (n_in + 2 * n_out) < 2 * n_in * n_out
    return GRAM_COST * x.shape[0] * (n_in + n_out) < n_in * n_out


def linear_grad_norms(x, dy, x_gram=None) -> dict:
    """The gradient norms of a Linear layer (y = x @ W + b) for its input x (N, n_in) and
    dL/dy (N, n_out), without forming dL/dW = x^T dy (n_in, n_out):
    ||x^T dy||^2 = sum((x x^T) * (dy dy^T)), two N x N products (N^2 (n_in + n_out)
    multiply-adds instead of N n_in n_out: for a 128-row probe of a 3072 x 1024 layer 6x
    fewer), the last sum in float64. `x_gram`, when given, is x x^T in float64 (N, N), taken
    once for inputs that do not change (the probe's rows): then a sample's cost is the
    N^2 n_out of dy dy^T alone. Returns {"W": ||dL/dW||, "b": ||dL/db||} (NaN when not
    finite)."""
    gram = _gram(x) if x_gram is None else x_gram
    square = float(get_array_module(x).vdot(gram, _gram(dy)))   # sum(gram * dy dy^T)
    return {"W": math.sqrt(max(square, 0.0)) if math.isfinite(square) else math.nan,
            "b": _norm(dy.sum(axis=0))}


def _gram(a):
    """a a^T (N, N) of the rows of a (N, k), a product in a's own float type, kept as float64
    for the sum of products `linear_grad_norms` takes over it."""
    return (a @ a.T).astype(get_array_module(a).float64)


# The rows DataStats reads: all of them up to this many values (digits, tables: every row),
# else an even stride of rows holding about this many (at least DATA_MIN_ROWS rows), so that
# its passes cost about 0.3 ms whatever the size of the training set (2^18 values took 0.6
# ms, 1% of a 1-epoch fit of a 64-100-10 MLP on 32,768 rows). 256 rows
# give each feature's mean to about 6% of its spread and the spread to about 4%, finer than
# the diagnosis reads them (a median over features of |mean| / std, the root mean square).
DATA_VALUES = 2**17
DATA_MIN_ROWS = 256


def data_step(X) -> int:
    """k, where DataStats reads every k-th row of X (N, D): 1 when X holds at most DATA_VALUES
    values (or DATA_MIN_ROWS rows)."""
    rows = max(DATA_MIN_ROWS, DATA_VALUES // max(1, X.shape[1]))
    return 1 if X.shape[0] <= rows else -(-X.shape[0] // rows)


def data_rows(X):
    """The rows of X (N, D) that DataStats summarizes: X itself when it holds at most
    DATA_VALUES values (or DATA_MIN_ROWS rows), else every k-th row (a view, `data_step`)."""
    step = data_step(X)
    return X if step == 1 else X[::step]


def strided_sample(a, size: int):
    """A 1-d view of at most `size` entries of the contiguous array `a`: all of them when
    `a` is that small, else every k-th, with k coprime to the length of a's last axis so
    that the sample runs across every column (unit) instead of a few of them."""
    flat = a.ravel()
    if flat.size <= size:
        return flat
    stride = -(-flat.size // size)
    while math.gcd(stride, a.shape[-1]) != 1:
        stride += 1
    return flat[::stride]


# The entries `line_sample` takes side by side: 16 float32 values, one 64-byte cache line.
# Reading a Param's entries one stride apart touches a cache line for each of them (on a
# 784 x 100 matrix, 2,048 lines a sample, most of an update-ratio sample's time); runs of
# LINE_ENTRIES touch a sixteenth as many.
LINE_ENTRIES = 16


def line_sample(a, size: int):
    """A view of at most `size` entries of the contiguous array `a`: all of them (1-d) when
    `a` is that small, else (runs, LINE_ENTRIES): runs of LINE_ENTRIES neighbours, every k-th
    run, with k chosen so that the runs start at every column offset a run can, and so cover
    every column (unit) of a's last axis."""
    flat = a.ravel()
    if flat.size <= size:
        return flat
    runs = flat.size // LINE_ENTRIES
    stride = -(-runs // max(1, size // LINE_ENTRIES))
    offsets = a.shape[-1] // math.gcd(LINE_ENTRIES, a.shape[-1])
    while math.gcd(stride, offsets) != 1:
        stride += 1
    return flat[:runs * LINE_ENTRIES].reshape(runs, LINE_ENTRIES)[::stride]


def _sum_of_squares(flat) -> float:
    """sum(flat ** 2) of a 1-d array, as a float, on the array's own device: a dot product,
    as `np.linalg.norm` takes it. A probe sample takes a dozen such sums. On this project's
    2-core machine NumPy's OpenBLAS ran the dot on one thread at every size (CPU time equal
    to wall time, up to 3M entries), also beside three busy processes; 4,096 float32 entries
    took 1.2 us against einsum's 3.4, 78,400 took 5 us against 21 (benchmarks/README.md)."""
    return float(get_array_module(flat).dot(flat, flat))


def _norm(a) -> float:
    """||a|| (Frobenius) as a float, on the array's own device."""
    return math.sqrt(_sum_of_squares(a.ravel()))


def _finite(value: float | None) -> float | None:
    """`value`, or None when it is None or not finite (a diverging run's norm)."""
    return value if value is not None and math.isfinite(value) else None


def _finite_norm(a) -> float | None:
    """||a|| (Frobenius) as a float, or None when it is not finite."""
    return _finite(_norm(a))


class DataStats(Callback):
    """The scale of the training inputs and the class balance, once at the start.

    Writes history.monitors["data"] = {"n": training examples, "feature_mean": [D],
    "feature_std": [D] (per feature, over the training set's `data_rows`: every row of a
    small set, an even sample of about 2^17 values of a large one), "class_counts": [C] (the
    training labels per class) and "val_class_counts": [C] (None without validation data);
    both counts are None for a regression loss; "label_columns": the features that give the
    label of every row read (`babysit.data.leaks.label_columns`), "copies": the shares of
    validation rows that are training rows and of training rows repeated
    (`babysit.data.leaks.copied_rows`; None without validation data or for a large set)}.
    The notes want inputs centred and of comparable scale, and the accuracy of always
    answering the majority class is the bar a classifier must clear; a label among the
    inputs, or validation rows seen in training, make any score meaningless.
    """

    def on_train_begin(self, trainer, X, y, val) -> None:
        rows = data_rows(X)
        mean, std = column_mean_std(rows)
        task = "classify" if trainer.loss.classification else "regress"
        # a table's encoded columns by the column each comes from (RunInfo, first among the
        # default monitors, has put them there)
        sources = trainer.history.meta.get("feature_sources")
        groups = sources if isinstance(sources, list) and len(sources) == X.shape[1] else None
        rec = records.DataRecord(n=int(X.shape[0]), feature_mean=mean.tolist(),
                         feature_std=std.tolist(), class_counts=None, val_class_counts=None,
                         label_columns=_label_columns(X, y, task, groups),
                         copies=copied_rows(X, val[0]) if val is not None else None,
                         val_scale=None if val is None else val_scale(rows, data_rows(val[0])))
        if trainer.loss.classification:
            n_classes = trainer.n_outputs
            rec["class_counts"] = np.bincount(to_numpy(y), minlength=n_classes).tolist()
            if val is not None:
                rec["val_class_counts"] = np.bincount(to_numpy(val[1]),
                                                      minlength=n_classes).tolist()
        trainer.history.monitors["data"] = rec


def _label_columns(X, y, task: str, groups) -> list[int]:
    """`babysit.data.leaks.label_columns` on DataStats' rows of X (N, D) and y, those found
    read again on every row when the rows were a sample (a sample's coincidence is not one)."""
    step = data_step(X)
    found = label_columns(X[::step], y[::step], task, groups)
    if found and step > 1:
        found = [found[j] for j in label_columns(
            X[:, found], y, task, None if groups is None else [groups[j] for j in found])]
    return found


# Significant digits kept of the first layer's weights: they are drawn as grey levels (256 of
# them), so 4 digits of the block's largest magnitude is finer than a picture shows, and the
# History's JSON, written with every epoch's training state, holds 5-6 characters a weight
# instead of 17 (on digits: 177 kB of a 292 kB History, and half the time of writing it).
PICTURE_DIGITS = 4
# The fewest units a first-layer picture shows, however wide its input: a handful of a
# CIFAR-10 layer's units still shows whether they learned smooth filters or noise
PICTURE_MIN_UNITS = 4
# The most weights a first-layer picture holds (`FirstLayerWeights.max_values`): digits' 64
# inputs keep all 64 units, MNIST's 784 ten, CIFAR-10's 3072 the four of PICTURE_MIN_UNITS.
# A record is a Python float per weight and a list per input row (784 x 10 weights: 0.27 ms
# warm, 0.2 ms of it the floats), and the garbage collector passes over the rows: at 2^12
# values (MNIST: 5 units) the two records of a 1-epoch 784-100-10 fit took 0.15 ms less
# (0.1% of the fit; the same 1,568 row lists), not worth half of the picture.
PICTURE_VALUES = 2**13


def picture_values(W) -> list:
    """W (n_in, units) as nested lists of floats rounded to PICTURE_DIGITS significant digits
    of max |W| (exact zeros stay zero), for the first-layer picture in the History."""
    W = np.asarray(W, dtype=np.float64)
    top = float(np.max(np.abs(W), initial=0.0))
    if not np.isfinite(top) or top == 0.0:
        return W.tolist()
    decimals = PICTURE_DIGITS - 1 - int(np.floor(np.log10(top)))
    return np.round(W, decimals).tolist()


class FirstLayerWeights(Callback):
    """The first Linear layer's weights, at the start, about `samples` times during the run
    (so a run that diverges keeps recent ones) and at the end; the latest is kept.

    Writes history.monitors["first_layer"] = {"name", "shape": [n_in, n_out], "units":
    [indices of the recorded units], "iteration", "W": n_in rows of len(units) floats
    (`picture_values`), "W_start": the same units before training}. Only the first
    `max_units` units are kept, and no more than `max_values` weights unless that leaves
    fewer than PICTURE_MIN_UNITS (units of an input as wide as CIFAR-10's 3072 values: 4;
    MNIST's 784: 10; digits' 64: all 64), so the JSON stays small and a record costs little
    beside a short fit (PICTURE_VALUES).
    """

    def __init__(self, max_units: int = 64, samples: int = 5, max_values: int = PICTURE_VALUES):
        self.max_units = positive_int(max_units, "FirstLayerWeights: max_units")
        self.samples = positive_int(samples, "FirstLayerWeights: samples")
        self.max_values = positive_int(max_values, "FirstLayerWeights: max_values")

    def on_train_begin(self, trainer, X, y, val) -> None:
        self._every_epochs = max(1, trainer.epochs // self.samples)  # as `_auto_every`
        self._record(trainer)

    def on_epoch_end(self, trainer, epoch: int) -> None:
        if epoch % self._every_epochs == 0:
            self._record(trainer)

    def on_train_end(self, trainer) -> None:
        if trainer.history.monitors.get("first_layer", {}).get("iteration") != trainer.iteration:
            self._record(trainer)

    def _record(self, trainer) -> None:
        for i, layer in enumerate(_layers(trainer.net)):
            if isinstance(layer, Linear):
                W = to_numpy(layer.params["W"].value)
                units = list(range(min(self.max_units, W.shape[1],
                                       max(PICTURE_MIN_UNITS, self.max_values // W.shape[0]))))
                now = picture_values(W[:, :len(units)])
                before = trainer.history.monitors.get("first_layer", {}).get("W_start", now)
                trainer.history.monitors["first_layer"] = records.FirstLayerRecord(
                    name=f"{i}.W", shape=list(W.shape), units=units,
                    iteration=trainer.iteration, W=now, W_start=before)
                return


class RunInfo(Callback):
    """Fills history.meta with what the diagnosis and the report need.

    meta: n_train, n_val, n_features, n_classes, chance_loss (None for regression),
    batch_size, epochs, loss, optimizer, lr, regularizer, constraints (reprs, e.g.
    "MaxNorm(c=3)"), layers (names), model (repr),
    n_params (the network's parameter count),
    image_shape (when each row is an image, e.g. (8, 8)), plus any `extra` given.
    """

    def __init__(self, image_shape=None, **extra):
        self.image_shape = None if image_shape is None else \
            list(shape_of_image(image_shape, "image_shape"))
        self.extra = extra

    def on_train_begin(self, trainer, X, y, val) -> None:
        n_out = trainer.n_outputs
        chance = trainer.loss.chance_loss(n_out) if trainer.loss.classification else None
        trainer.history.meta.update({
            "n_train": int(X.shape[0]), "n_val": int(val[0].shape[0]) if val else 0,
            "n_features": int(X.shape[1]),
            "n_classes": n_out if trainer.loss.classification else None,
            "chance_loss": chance, "batch_size": trainer.batch_size, "epochs": trainer.epochs,
            "loss": repr(trainer.loss), "optimizer": repr(trainer.opt),
            # the starting rate: a resumed run's schedule has moved on since its first step
            "lr": trainer.history.lr[0] if trainer.history.lr else trainer.opt.current_lr(),
            "regularizer": repr(trainer.reg) if trainer.reg is not None else None,
            "constraints": [repr(c) for c in trainer.constraints],
            "layers": layer_names(trainer.net),
            "model": " -> ".join(repr(lay) for lay in _layers(trainer.net)),
            "n_params": sum(int(p.value.size) for p in trainer.net.parameters()),
            "image_shape": self.image_shape,
            "setup": engine_setup(trainer.net, trainer.loss, n_out, y),
            "dropout": max((float(lay.drop) for lay in _layers(trainer.net)
                            if hasattr(lay, "drop")), default=None), **self.extra})


# babysit's losses in history.meta["setup"] (babysit.diagnose.setup): their softmax is inside
_SETUP_LOSS = {"SoftmaxCrossEntropy": "cross_entropy", "MulticlassSVM": "hinge",
               "MeanSquaredError": "mse"}
_SETUP_ACTIVATION = {"ReLU": "relu", "Tanh": "tanh", "Sigmoid": "sigmoid"}


def engine_setup(net, loss, n_out: int, y) -> dict:
    """history.meta["setup"] for babysit's own network: the last layer's activation (none
    for a Linear), the loss by name (babysit's MSE is half the squared error summed over the
    outputs, hence its scale), the task and the targets: class counts, or the targets'
    mean, std, min and max for a regression."""
    last = type(_layers(net)[-1]).__name__
    activation = "none" if last == "Linear" else _SETUP_ACTIVATION.get(last, "unknown")
    name = _SETUP_LOSS.get(type(loss).__name__, "other")
    yv = to_numpy(y)
    targets = {"classes": None, "counts": None, "mean": None, "std": None, "min": None,
               "max": None}
    if loss.classification:
        counts = np.bincount(yv.astype(np.int64, copy=False), minlength=n_out).tolist()
        targets.update(classes=len(counts), counts=counts)
    elif yv.size:
        mean, std = mean_std(yv.reshape(-1))
        targets.update(mean=float(mean), std=float(std), min=float(yv.min()),
                       max=float(yv.max()))
    loss_entry = {"name": name, "reduction": "mean"}
    if name == "mse":
        loss_entry["scale"] = 0.5 * n_out
    return {"output": {"activation": activation, "units": n_out, "seen": "declared"},
            "loss": loss_entry, "task": "classify" if loss.classification else "regress",
            "targets": targets}


def default(image_shape=None, **meta) -> list[Callback]:
    """The monitors the CLI leaves on: RunInfo, DataStats, UpdateRatios, LayerStats,
    FirstLayerWeights.

    `image_shape` ((H, W) or (H, W, C)) lets the report draw first-layer weights as
    images; `meta` adds entries to history.meta (e.g. data="digits").
    """
    return [RunInfo(image_shape, **meta), DataStats(), UpdateRatios(), LayerStats(),
            FirstLayerWeights()]


__all__ = ["DataStats", "FirstLayerWeights", "LayerStats", "RunInfo", "UpdateRatios", "data_rows",
           "data_step", "default", "engine_setup", "histogram", "identical_units", "layer_names",
           "line_sample", "linear_grad_norms", "picture_values", "strided_sample",
           "unit_health"]
