"""The training loop: one shuffle per epoch, mini-batches gathered in that order, validation
each epoch. Memory-mapped data (larger than memory) is read in shuffled chunks instead.

A step runs: forward -> loss -> backward closures -> regularizer gradient ->
optimizer update -> constraints (max-norm) -> callbacks observe. Callbacks
(monitors) read what the step left behind and write into the History; they
never change training.
"""

from __future__ import annotations

import contextlib
import copy
import math
import sys
import warnings

import numpy as np

from babysit.backend import get_array_module, make_rng, to_numpy
from babysit.data import check_features, class_labels, is_memory_mapped, validate
from babysit.data.arrays import as_float32, regression_targets
from babysit.nn.average import ParameterAverage
from babysit.nn.layers.base import Layer
from babysit.nn.losses import Loss
from babysit.nn.optim import Optimizer
from babysit.nn.regularizers import check_penalty
from babysit.training import monitors
from babysit.training.callbacks import Callback, EarlyStopping  # noqa: F401 (still importable from here)
from babysit.training.history import History
from babysit.validation import non_negative_int, positive_int, seed_or_generator

__all__ = ["MAPPED_CHUNK_BYTES", "DivergedError", "Trainer", "batch_bounds", "batches_per_epoch",
           "check_inputs", "eval_rows", "predict_scores", "accuracy"]

# How much of a memory-mapped training set is read into memory at a time (see
# `Trainer._mapped_batches`).
MAPPED_CHUNK_BYTES = 32 * 2**20

# A test-time pass (`predict_scores`) takes as many rows at once as keep a block's widest
# layer output within EVAL_BLOCK_VALUES values (2 MiB of float32), between EVAL_MIN_ROWS
# and EVAL_MAX_ROWS. Larger outputs are allocated and freed again block after block, and
# glibc hands memory that large back to the system each time, so that every block
# page-faults it in anew: 5,120 rows of 784-512-512-10 took 52.7 ms in blocks of 2,048
# rows, 40.4 ms in blocks of 1,024 (3072-1024-1024-10: 257 ms and 251 ms at 512 rows).
EVAL_BLOCK_VALUES = 2**19
EVAL_MIN_ROWS, EVAL_MAX_ROWS = 256, 2048


class DivergedError(FloatingPointError):
    """Raised when the loss becomes NaN or infinite; `.history` holds the run so far."""

    def __init__(self, message: str, iteration: int, history: History):
        super().__init__(message)
        self.iteration = iteration
        self.history = history


def _implements(callback, hook: str) -> bool:
    """Whether `callback` does something in `hook`: its class, or the object itself (a hook
    wrapped on the instance), overrides the `Callback` method that does nothing."""
    if hook in getattr(callback, "__dict__", {}):
        return True
    method = getattr(type(callback), hook, None)
    return method is not None and method is not getattr(Callback, hook)


class Trainer:
    """Trains `net` (any Layer: a Sequential, or a single Linear) on `loss` with `opt`,
    optional `reg` penalty and `constraints`.

    batch_size: examples per step; epochs: passes over the training data in the whole run
    (a second `fit` after them is an error: raise `epochs` to train more); seed fixes
    the shuffles. `callbacks` observe training (see `Callback`); left out (None), they are
    the monitors the command line leaves on (`babysit.training.monitors.default()`: cheap, and they
    never change training), so a History can be diagnosed and reported in full; pass a
    list (e.g. `[*monitors.default(image_shape=(8, 8)), Checkpoints(d)]`, or `()` for
    none) to choose them. `progress` shows a
    progress bar (None: only when stderr is a terminal). `eval_max` bounds how many
    training examples the per-epoch training accuracy is measured on. `average` (a decay
    such as 0.999) keeps a running average of every Param (`babysit.nn.average`), which
    evaluation, `accuracy`, `predict` and `predict_proba` then use. A callback may set
    `stop_training = True` to end `fit` after the current epoch (see `EarlyStopping`).
    Once `fit` (or `prepare`) has checked data, `n_outputs` is the width of the network's
    output (its classes, for a classifier), which the monitors read instead of running the
    network again.
    """

    def __init__(self, net: Layer, loss: Loss, opt: Optimizer, reg=None, constraints=(),
                 batch_size: int = 128, epochs: int = 10, seed=0, callbacks=None,
                 progress: bool | None = None, eval_max: int = 10_000,
                 average: float | None = None):
        positive_int(batch_size, "batch_size")
        positive_int(epochs, "epochs")      # 0 epochs would return an empty History
        positive_int(eval_max, "eval_max")
        for name, value, kind, example in (("net", net, Layer, "bs.mlp(...)"),
                                           ("loss", loss, Loss, "bs.losses.SoftmaxCrossEntropy()"),
                                           ("opt", opt, Optimizer, "bs.optim.Adam(lr=1e-3)")):
            if not isinstance(value, kind):
                raise ValueError(f"{name} must be a babysit {kind.__name__} such as {example}, "
                                 f"got {value!r}")
        self.net, self.loss, self.opt, self.reg = net, loss, opt, reg
        constraints = () if constraints is None else constraints   # None: none, as reg=None
        self.constraints = list(constraints) if not hasattr(constraints, "apply") else [constraints]
        check_penalty(reg, self.constraints)
        self.batch_size, self.epochs = batch_size, epochs
        self.rng = make_rng(seed_or_generator(seed, "seed"))
        try:
            self.callbacks = monitors.default() if callbacks is None else list(callbacks)
        except TypeError:
            raise ValueError(f"callbacks must be a list of callbacks (or () for none), got "
                             f"{callbacks!r}") from None
        for cb in self.callbacks:
            _check_callback(cb)
        self._find_step_hooks()
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.eval_max = eval_max
        # the fewest examples a training batch may hold (`Layer.min_batch`: BatchNorm's 2)
        self._min_batch = max(layer.min_batch for _, layer in net.named_modules())
        self._named = net.named_params()   # the optimizer keys its state by these names
        self.params = list(self._named.values())
        self.history = History()
        self.n_outputs: int | None = None   # known once `prepare` has run the network
        self.iteration = 0
        self.epoch = 0
        self.stop_training = False
        self.average = None if average is None else ParameterAverage(net.named_params(), average)

    def _find_step_hooks(self) -> None:
        """The callbacks' `before_update` and `after_update`, bound, with each callback's
        `update_every`, of those that implement them: a step calls only these, and each only
        at the steps it asks for (most monitors act on other hooks, and a call that does
        nothing, at every step, is a share of a small network's step: 1 us a step, 0.7% of a
        64-100-10 fit)."""
        self._before_update, self._after_update = (
            [(positive_int(getattr(cb, "update_every", 1),
                           f"{type(cb).__name__}.update_every"), getattr(cb, name))
             for cb in self.callbacks if _implements(cb, name)]
            for name in ("before_update", "after_update"))

    # -- one step -------------------------------------------------------------------------
    def step(self, xb, yb) -> tuple[float, float]:
        """One update on the batch (xb, yb); returns (data loss, regularization penalty).

        xb (B, D) and yb (B,) are arrays as `prepare` returns them (the network's dtype and
        device, labels as class indices); anything else is refused by name."""
        for name, value in (("xb", xb), ("yb", yb)):
            if not hasattr(value, "shape"):
                raise ValueError(f"Trainer.step: {name} must be an array (as "
                                 f"trainer.prepare(X, y) returns them), got "
                                 f"{type(value).__name__}")
        losses = self._update(xb, yb)
        self._after_update_hooks(self.iteration)
        return losses

    def _update(self, xb, yb) -> tuple[float, float]:
        """`step` without its checks (`fit`'s batches come from arrays `prepare` checked) and
        without the after_update hooks, which `fit` calls once the step is recorded: a hook that
        raises (Ctrl-C while a monitor samples) leaves the History holding every update the
        weights do."""
        self.net.zero_grad()
        scores, backward = self.net.forward(xb, train=True)
        data_loss, dscores = self.loss(scores, yb)
        self.net.backward_params(backward, dscores)   # a step never uses dL/d(input)
        reg_loss = 0.0
        if self.reg is not None:
            reg_loss = self.reg.penalty(self.params)
            self.reg.add_grad(self.params)
        updates = self.iteration + 1          # counting this one
        for every, hook in self._before_update:
            if updates % every == 0:
                hook(self, self.iteration)
        self.opt.step(self._named)
        for c in self.constraints:
            c.apply(self.params)
        if self.average is not None:
            self.average.update()
        return data_loss, reg_loss

    def _after_update_hooks(self, iteration: int) -> None:
        """The after_update hooks due after step `iteration` (0-based; iteration + 1 updates)."""
        updates = iteration + 1
        for every, hook in self._after_update:
            if updates % every == 0:
                hook(self, iteration)

    # -- the loop ---------------------------------------------------------------------------
    def prepare(self, X, y, name: str = "X"):
        """Validate and convert data to the network's dtype (and device).

        One example goes through the network at test time first, so that an input of the
        wrong width, or labels the output cannot score, fail here before any work is done.
        """
        X, y = validate(X, y, name)
        dtype = self.net.dtype or X.dtype
        xp = get_array_module(self.params[0].value) if self.params else np
        if not is_memory_mapped(X):   # mapped data stays on disk, converted batch by batch
            # float64 values beyond float32's range are refused, not cast to inf
            X = xp.asarray(as_float32(X, name) if dtype == np.float32
                           else X.astype(dtype, copy=False))
        try:
            with np.errstate(over="ignore", invalid="ignore"):   # the shape is what is checked
                scores = predict_scores(self.net, X[:1])
        except ValueError as err:
            raise ValueError(f"{name} has shape {tuple(X.shape)}, which the network does not "
                             f"accept: {err}") from None
        self.n_outputs = int(scores.shape[1]) if scores.ndim == 2 else 1
        if self.loss.classification:
            y = class_labels(y, scores.shape[1])
        else:
            y = regression_targets(y, f"the targets of {name}")
        y = xp.asarray(y)
        try:   # a target shape the loss refuses (regression) fails now, on the first row
            with np.errstate(over="ignore", invalid="ignore"):   # the shape is what is checked
                self.loss(scores, y[:1])
        except ValueError as err:
            raise ValueError(f"the targets of {name} have shape {tuple(y.shape)} and the "
                             f"network gives {self.n_outputs} output(s) a row, for "
                             f"{tuple(X.shape)} inputs: {self.loss!r} cannot score them "
                             f"(on the first row: {err})") from None
        return X, y

    def fit(self, X, y, val=None) -> History:
        """Train until `self.epochs` epochs in all have run; returns the History (also
        `self.history`).

        `epochs` counts the whole run, not one call: a resumed trainer runs only the epochs
        left. Calling `fit` again on a trainer that has run all its epochs is a ValueError
        (it would silently do nothing); to train more, raise `trainer.epochs` first (e.g.
        `trainer.epochs += 10`), which continues from where it stopped.

        X (N, D) may be memory-mapped (`np.load(path, mmap_mode="r")`, `bs.data.load("x.npy")`):
        it then stays on disk and is read in shuffled chunks (`_mapped_batches`).
        """
        if self.epoch > 0 and self.epoch >= self.epochs:
            raise ValueError(f"this trainer has already run its {self.epochs} epochs; to train "
                             f"more, raise trainer.epochs (e.g. trainer.epochs += 10) and call "
                             f"fit again, or build a new Trainer to start over")
        X, y = self.prepare(X, y, "X")
        if val is not None:
            if isinstance(val, (np.ndarray, dict, str)) or not hasattr(val, "__len__") \
                    or len(val) != 2:
                raise ValueError(f"val must be a pair (X, y) (or a Split such as data.val), "
                                 f"got {type(val).__name__}"
                                 + (f" of shape {val.shape}" if hasattr(val, "shape") else ""))
            val = self.prepare(val[0], val[1], "val X")
        n = X.shape[0]
        self._check_last_batch(n)
        per_epoch = batches_per_epoch(n, self.batch_size)
        self.history.iters_per_epoch = per_epoch
        train_eval = self._train_eval_subset(X, y)
        self.stop_training = False
        for cb in self.callbacks:
            cb.on_train_begin(self, X, y, val)
        if self.stop_training and self.epoch < self.epochs:
            # a resumed run that had stopped itself ends where it would have: said, not silent
            warnings.warn(f"a callback stopped this run before any epoch of this fit (it had "
                          f"already ended at epoch {self.epoch}, e.g. EarlyStopping out of "
                          f"patience): nothing was trained; raise that callback's patience, "
                          f"or build a new Trainer to train further", UserWarning, stacklevel=2)
        self._find_step_hooks()   # `callbacks` may have changed since the last fit, and their
        # schedules (`update_every`) are set as training begins
        bar = self._progress_bar(per_epoch * (self.epochs - self.epoch))
        try:
            while self.epoch < self.epochs and not self.stop_training:
                self._run_epoch(X, y, bar)
                self.epoch += 1
                self._end_epoch(train_eval, val, bar)
        finally:
            if bar is not None:
                bar.close()
        for cb in self.callbacks:
            cb.on_train_end(self)
        return self.history

    # A diverging run overflows long before its loss is checked; the DivergedError below is
    # the one report of it (NumPy's warnings would only precede it, or pre-empt it where
    # warnings are errors).
    @np.errstate(over="ignore", invalid="ignore", divide="ignore")
    def _run_epoch(self, X, y, bar) -> None:
        for xb, yb in self._batches(X, y):
            lr = self.opt.current_lr()
            data_loss, reg_loss = self._update(xb, yb)
            self.history.record_step(data_loss, reg_loss, lr)
            self.iteration += 1
            self._after_update_hooks(self.iteration - 1)
            if not math.isfinite(data_loss + reg_loss):
                raise DivergedError(self._diverged_text(data_loss + reg_loss, lr),
                                    self.iteration, self.history)
            if bar is not None:
                bar.update(1)

    def _diverged_text(self, loss: float, lr: float) -> str:
        """What a DivergedError says of the non-finite `loss` of the step just taken at rate
        `lr`: the first step's loss is taken before any update, so no rate caused that one."""
        if self.iteration == 1:
            return (f"the loss was {loss} at the first step, before any update: the inputs, "
                    f"the targets or the initial weights are too large for "
                    f"{self.net.dtype or 'the network'} (standardize the data); no learning "
                    f"rate causes this")
        return (f"the loss became {loss} at iteration {self.iteration} (epoch "
                f"{self.epoch + 1}, learning rate {lr:g}): training stopped; the learning rate "
                f"is most likely too high: lower it 10x")

    def _batches(self, X, y):
        """The epoch's mini-batches (xb, yb): one permutation of the rows, each batch
        gathered by index in that order (no shuffled copy of the whole epoch)."""
        if is_memory_mapped(X):
            yield from self._mapped_batches(X, y)
            return
        order = get_array_module(X).asarray(self.rng.permutation(X.shape[0]))
        for start, stop in batch_bounds(X.shape[0], self.batch_size, self._min_batch):
            rows = order[start:stop]
            yield X[rows], y[rows]

    def _mapped_batches(self, X, y):
        """Mini-batches of memory-mapped X (N, D): the file is cut into chunks of about
        MAPPED_CHUNK_BYTES (a whole number of batches), visited in a random order; each chunk
        is read into memory in one sequential pass, converted to the network's dtype, and its
        rows shuffled. Memory holds one chunk, not the data."""
        n, bs = X.shape[0], self.batch_size
        row_bytes = X.dtype.itemsize * int(np.prod(X.shape[1:]))
        chunk = max(1, MAPPED_CHUNK_BYTES // (row_bytes * bs)) * bs
        starts = np.arange(0, n, chunk)
        if self._min_batch > 1 and len(starts) > 1 and n - starts[-1] < bs:
            starts = starts[:-1]   # a remainder short of a batch joins the chunk before it,
            # whose last batch `batch_bounds` can then even out (`Layer.min_batch`)
        stops = np.append(starts[1:], n)
        dtype = self.net.dtype or np.float32
        xp = get_array_module(self.params[0].value) if self.params else np
        for c in self.rng.permutation(len(starts)):
            block = xp.asarray(np.array(X[starts[c]:stops[c]], dtype=dtype))
            labels = y[starts[c]:stops[c]]
            order = xp.asarray(self.rng.permutation(len(block)))
            for start, stop in batch_bounds(len(block), bs, self._min_batch):
                rows = order[start:stop]
                yield block[rows], labels[rows]
            del block, order      # before the next chunk is read: one chunk held at a time

    def _check_last_batch(self, n: int) -> None:
        """Refuse, before any step, `n` training rows that the batch size would cut into a
        last batch smaller than a layer allows (`Layer.min_batch`) where `batch_bounds`
        cannot even it out by taking rows from the batch before."""
        fewest = self._min_batch
        if fewest == 1:
            return
        smallest = min(stop - start for start, stop in batch_bounds(n, self.batch_size, fewest))
        if smallest >= fewest:
            return
        layer = next(type(m).__name__ for _, m in self.net.named_modules()
                     if m.min_batch == fewest)
        needs = f"{layer} needs at least {fewest} examples in every training batch"
        if n < fewest:
            raise ValueError(f"{needs}; got {n} training row(s)")
        raise ValueError(f"{needs}; {n} rows in batches of {self.batch_size} leave a batch of "
                         f"{smallest}: use a batch_size of at least {2 * fewest - 1}")

    # weights that the epoch's last update overflowed are evaluated as they are: the next
    # step's DivergedError reports them
    @np.errstate(over="ignore", invalid="ignore", divide="ignore")
    def _end_epoch(self, train_eval, val, bar) -> None:
        h = self.history
        h.end_epoch(self.iteration)
        # A regression loss has no accuracy: its epochs are counted with None, and it is
        # judged by its validation loss (computed from the same scores as the accuracy).
        scored = self.loss.classification
        # `prepare` checked these arrays: no second check of them each epoch
        h.train_acc.append(self._accuracy(*train_eval) if scored else None)
        val_scores = self._scores(val[0]) if val is not None else None
        h.val_loss.append(float(self.loss(val_scores, val[1])[0]) if val is not None else None)
        h.val_acc.append(_scores_accuracy(val_scores, val[1]) if val is not None and scored
                         else None)
        if bar is not None:
            shown = {"loss": f"{h.loss[-1]:.3f}"}
            if scored:
                shown["train"] = f"{h.train_acc[-1]:.3f}"
            if val is not None and scored:
                shown["val"] = f"{h.val_acc[-1]:.3f}"
            bar.set_postfix(shown, refresh=False)
        for cb in self.callbacks:
            cb.on_epoch_end(self, self.epoch)

    def _train_eval_subset(self, X, y):
        if X.shape[0] <= self.eval_max:
            return X, y
        pick = np.sort(make_rng(0).choice(X.shape[0], self.eval_max, replace=False))
        return X[pick], y[pick]

    def _progress_bar(self, total: int):
        if not self.progress or total <= 0:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=total, desc="training", unit="it", leave=False, mininterval=0.25)

    def resume(self, path) -> Trainer:
        """Continue an interrupted run: load the state a `babysit.training.checkpoint.Checkpoints`
        callback wrote (`path`: the run folder or its state.safetensors) into this trainer,
        built as the run was. `fit` then runs the remaining epochs and ends exactly where an
        uninterrupted run would. Returns self."""
        from babysit.training.checkpoint import restore_training

        restore_training(path, self)
        return self

    def state(self, copy: bool = True) -> dict:
        """Everything but the network's weights that a run needs to go on exactly: the
        counters, the shuffling generator's state, the History, the optimizer's
        `state_dict` (by parameter name) and the running average ({"config", "values"} or
        None). JSON-ready but for the optimizer's and the average's NumPy arrays.
        copy=False: the History's lists are this trainer's own (`History.to_dict`), for a
        caller that writes the state out at once."""
        average = None
        if self.average is not None:
            config, values = self.average.state()
            average = {"config": config, "values": values}
        return {"epoch": self.epoch, "iteration": self.iteration, "batch_size": self.batch_size,
                "rng": self.rng.bit_generator.state, "history": self.history.to_dict(copy),
                "optimizer": self.opt.state_dict(), "average": average}

    def load_state(self, state: dict) -> None:
        """Take over a `state()` saved from a trainer built like this one (same optimizer
        type, batch size and averaging; the network's weights are loaded separately). The
        History is copied: `state` may be loaded into several trainers, each its own run."""
        saved_decay = None if state["average"] is None else state["average"]["config"]["decay"]
        decay = None if self.average is None else self.average.decay
        for what, saved, current in (("optimizer", state["optimizer"]["type"],
                                      type(self.opt).__name__),
                                     ("batch_size", state["batch_size"], self.batch_size),
                                     ("average", saved_decay, decay)):
            if saved != current:
                raise ValueError(f"the run was saved with {what}={saved!r}, this trainer has "
                                 f"{what}={current!r}; build the trainer as the run was built")
        counts = {"epoch": state["epoch"], "iteration": state["iteration"],
                  "optimizer's step count t": state["optimizer"]["t"]}
        if state["average"] is not None:
            counts["average's step count t"] = state["average"]["config"]["t"]
        for what, value in counts.items():   # a negative t divided by 0 deep in a step
            non_negative_int(value, f"the run's {what}")
        history = History.from_dict(copy.deepcopy(state["history"]))
        self.opt.load_state_dict(state["optimizer"], self.net.named_params())
        if self.average is not None:
            self.average.load_state(state["average"]["config"], state["average"]["values"])
        self.rng.bit_generator.state = state["rng"]
        self.epoch, self.iteration = int(state["epoch"]), int(state["iteration"])
        self.history = history

    # -- inference ------------------------------------------------------------------------
    def evaluated_weights(self):
        """A context in which `net` holds the weights evaluation uses: the running average
        when the trainer keeps one, else the trained weights themselves."""
        return self.average.applied() if self.average is not None else contextlib.nullcontext()

    def scores(self, X, batch_size: int | None = None):
        """Raw scores (N, C) at test time for X (N, D), computed in batches (of `eval_rows`
        rows unless `batch_size` is given). X is checked like training data: a NaN or inf
        would otherwise come out as a confident class 0."""
        return self._scores(check_inputs(X, "X"), batch_size)

    def _scores(self, X, batch_size: int | None = None):
        """`scores` of an array already checked (one that `prepare` returned)."""
        with self.evaluated_weights():
            return predict_scores(self.net, X, batch_size)

    def predict_proba(self, X):
        """Class probabilities (N, C) for X (N, D), with the evaluated (averaged) weights."""
        self._classes_only("predict_proba")
        return to_numpy(self.loss.probabilities(self.scores(X)))

    def predict(self, X):
        """The class index of the highest score for each row of X (N, D): (N,) int."""
        self._classes_only("predict")
        return to_numpy(self.scores(X).argmax(axis=1))

    def accuracy(self, X, y) -> float:
        """The fraction of rows of X (N, D) whose predicted class is y (N,), integer class
        indices below the network's number of outputs."""
        self._classes_only("accuracy")
        X = check_inputs(X, "X")
        scores = self._scores(X)
        y = class_labels(y, scores.shape[1])
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]} labels")
        return _scores_accuracy(scores, y)

    def _classes_only(self, method: str) -> None:
        """Refuse a classifier's method on a trainer whose loss is a regression's: its
        outputs are values, not class scores (an argmax of them would be a silent 0)."""
        if not self.loss.classification:
            raise ValueError(f"Trainer.{method}: {self.loss!r} is a regression loss, whose "
                             f"outputs are values, not classes; use Trainer.scores(X) for "
                             f"the predicted values")

    def _accuracy(self, X, y) -> float:
        """`accuracy` on arrays already checked (those `prepare` returned)."""
        with self.evaluated_weights():
            return accuracy(self.net, X, y)


def batch_bounds(n_rows: int, batch_size: int, min_rows: int = 1):
    """(start, stop) of each mini-batch of an epoch over `n_rows` rows in batches of
    `batch_size`, in order: the last smaller when `batch_size` does not divide `n_rows`, but
    not smaller than `min_rows` (`Layer.min_batch`) where the batch before can spare the
    rows: 33 rows in batches of 32 with BatchNorm's 2 give 31 and 2. As many batches either
    way (`batches_per_epoch`)."""
    short = n_rows % batch_size
    if not 0 < short < min_rows or n_rows <= batch_size \
            or batch_size - (min_rows - short) < min_rows:
        for start in range(0, n_rows, batch_size):
            yield start, min(start + batch_size, n_rows)
        return
    split = n_rows - min_rows                   # the last batch takes min_rows rows
    for start in range(0, n_rows - short - batch_size, batch_size):
        yield start, start + batch_size
    yield n_rows - short - batch_size, split
    yield split, n_rows


def batches_per_epoch(n_rows: int, batch_size: int) -> int:
    """The updates one epoch over `n_rows` rows makes in batches of `batch_size`: a last,
    smaller batch is an update too."""
    return math.ceil(n_rows / batch_size)


def check_inputs(X, name: str = "X"):
    """X (N, D) checked at the door as `babysit.data.check_features` does, on the device it
    is on: 2-d, not empty, finite. A GPU array stays where it is."""
    xp = get_array_module(X)
    if xp is np:
        return check_features(X, name)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 2-d array (N, D), got shape {X.shape}")
    if not bool(xp.isfinite(X).all()):
        return check_features(to_numpy(X), name)    # raises, naming the row and column
    return X


# What the Trainer calls on every callback (`Callback` has them all; the step hooks are
# optional: `_find_step_hooks`)
_CALLBACK_HOOKS = ("on_train_begin", "on_epoch_end", "on_train_end")


def _check_callback(cb) -> None:
    """Refuse an item of `callbacks` the Trainer cannot call, naming it: a class given for an
    instance, or an object without a Callback's hooks (they failed at fit, deep inside)."""
    if isinstance(cb, type):
        raise ValueError(f"callbacks holds the class {cb.__name__}: pass an instance, e.g. "
                         f"{cb.__name__}()")
    lacking = [hook for hook in _CALLBACK_HOOKS if not callable(getattr(cb, hook, None))]
    if lacking:
        raise ValueError(f"callbacks holds {cb!r}, which is no callback (it lacks "
                         f"{', '.join(lacking)}): subclass babysit.training.callbacks.Callback")


def eval_rows(net: Layer) -> int:
    """The rows a test-time batch of `net` holds: EVAL_BLOCK_VALUES over the widest output a
    parameter shows (the last axis of the widest parameter: a Linear layer's units), clipped
    to [EVAL_MIN_ROWS, EVAL_MAX_ROWS]."""
    widest = max((p.shape[-1] for p in net.parameters() if p.value.ndim), default=1)
    return min(EVAL_MAX_ROWS, max(EVAL_MIN_ROWS, EVAL_BLOCK_VALUES // widest))


def predict_scores(net: Layer, X, batch_size: int | None = None):
    """net's test-time scores for X (N, D), in batches of `batch_size` rows (`eval_rows` when
    None); (N, C).

    Each batch is converted to the network's dtype and device on its own, so X may be
    memory-mapped or of another dtype without a converted copy of the whole of it.
    """
    dtype = net.dtype
    xp = get_array_module(net.parameters()[0].value) if net.parameters() else np
    X = X if hasattr(X, "shape") else np.asarray(X)
    batch_size = eval_rows(net) if batch_size is None else positive_int(batch_size, "batch_size")

    def scores(rows):
        xb = X[rows]
        if dtype is not None and xb.dtype != dtype:
            xb = xb.astype(dtype)
        return net(xp.asarray(xb), train=False)

    if X.shape[0] <= batch_size:
        return scores(slice(None))
    return xp.concatenate([scores(slice(i, i + batch_size))
                           for i in range(0, X.shape[0], batch_size)])


def accuracy(net: Layer, X, y) -> float:
    """Fraction of rows of X whose highest score is the label y."""
    return _scores_accuracy(predict_scores(net, X), y)


def _scores_accuracy(scores, y) -> float:
    """Fraction of rows of scores (N, C) whose highest score is the label y (N,)."""
    return float((to_numpy(scores.argmax(axis=1)) == to_numpy(y)).mean())
