"""`watch(model, optimizer)`: babysit's monitors for a PyTorch training loop, through hooks.

A `Sitter` fills a babysit `History` with exactly the keys babysit's own monitors write
(`babysit.training.monitors`: "update_ratio", "layers", "params", "data", "first_layer" and the
meta of `RunInfo`), so `history.diagnose()` and `bs.report.write` work on a PyTorch run
unchanged. It watches through hooks and never changes training:

- optimizer step pre/post hooks (`register_step_pre_hook` / `register_step_post_hook`):
  every `every` steps, a copy of the parameters before the step gives the update-to-weight
  ratio ||update|| / ||value|| per parameter;
- a forward pre-hook on the model takes the probe batch (the first training batch's inputs,
  unless `probe=` is given; when that batch is smaller than `probe_size`, rows of the first
  epoch's batches from the end of that epoch on), counts the training examples of the first
  epoch and keeps up to DATA_ROWS of its rows for the data record (feature scale); the
  inputs of the first epoch's evaluations (forwards under no_grad or in eval mode, the
  sitter's own probe passes aside) are summarized as they come (`babysit.torch.evaluated`)
  and, at the end of that epoch, compared with the training rows' scale: the data record's
  "val_scale", marked "of": "evaluated" (validation rows left raw show there); and each
  optimizer step's first training input is compared with the previous step's
  (`babysit.torch.batches`: a loop training on the same rows at every step);
- a forward pre-hook on the loss module (`loss_fn=`) keeps the outputs and targets it is fed
  in the first epoch: history.meta["setup"] (babysit.diagnose.setup) names the loss, the
  last module's activation (or the one the outputs show), the task and the targets' classes
  or spread, and the chance loss follows from it;
- at the start, at the end of epochs 2, 4, 8, 16, ... and when `history` is read after the
  weights moved (so the last sample is the end of the run), the model runs on the probe batch
  in eval mode under `torch.no_grad`, with the random state saved and restored; forward hooks,
  added for that pass alone, read each leaf module's output: histograms, dead ReLUs,
  saturated tanh/sigmoid, the predicted classes;
- the gradients come from a real training step: the first one (for the start sample, the
  same weights) and the last step of every epoch (known once the first epoch is counted).
  Tensor hooks on the leaf outputs keep dL/d(output) during the caller's own
  `loss.backward()`, and the step post-hook reads each parameter's `.grad` norm.
  Hooks that only read change nothing: the weights after N steps are the same, bit for bit,
  as without the sitter.

The loop's own mechanisms go to `monitors["torch"]` and `meta["setup"]`, by hooks that only
read as well: `watch` refuses a model with nothing to train or an optimizer holding none of
its parameters (`babysit.torch.checks`); at the first step and every `every`-th the step
post-hook notes the model's mode, which parameters had no gradient, and whether the last
parameter's `.grad` is what that step's backward passes made (a tensor hook sums them: more
means gradients carried over from earlier steps, none means cleared before the step); in the
first epoch a hook on the output's gradient names each row's class (`labels_from_gradient`),
so the sitter learns the label counts and how batches mix them; the first loss's autograd
graph names the loss, its reduction and what fed it (`babysit.torch.setup`); forwards without
gradients in training mode (an evaluation with dropout on) are counted; a training forward in
eval mode starts the run like a training one; and the probe passes read activation functions
(`F.relu`) through a torch function mode (`babysit.torch.functional`).

Where hooks see less than babysit's own loop, the keys say so rather than guess: "data"
(feature scale) describes the probe batch, not the whole training set; the class counts are
the first epoch's labels when the loss is a cross-entropy (else the probe's, given as
`probe=(X, y)`, or None); each sample's probe "loss" needs the probe's labels;
`layers["every"]` is None (samples follow epochs, not a step count); and the per-parameter
gradient norms are those of the training step's loss (with whatever penalty
the loop added to it), where babysit's are the data loss's on the probe batch.

Sampling keeps the cost low (a probe pass at geometrically spaced epochs, a parameter copy
every `every` steps); `benchmarks/torch_overhead.py` measures it.
"""

from __future__ import annotations

import difflib
import functools
import math
import numbers
import warnings

import numpy as np
import torch

from babysit.data.leaks import label_columns
from babysit.diagnose.data_rules import VAL_SCALE_ROWS
from babysit.diagnose.records import (
    DataRecord,
    FirstLayerRecord,
    LayerSample,
    LayersRecord,
    ParamsRecord,
    TorchRecord,
    UpdateRatioRecord,
)
from babysit.diagnose.setup import chance_loss
from babysit.nn.layers.activations import ReLU, Sigmoid, Tanh
from babysit.nn.losses import MulticlassSVM, SoftmaxCrossEntropy
from babysit.torch.batches import RepeatedBatches, dense
from babysit.torch.checks import mode_owners, refuse_lazy, trainable, trained_modes_in_eval
from babysit.torch.evaluated import EvaluatedInputs
from babysit.torch.functional import ActivationCalls
from babysit.torch.setup import (
    LABELLED_BY_GRADIENT,
    declared_activation,
    declared_loss,
    empty_setup,
    from_graph,
    labels_from_gradient,
    measured_activation,
    task_of,
)
from babysit.training.history import History
from babysit.training.monitors import (
    histogram,
    identical_units,
    picture_values,
    strided_sample,
    unit_health,
)
from babysit.validation import positive_int, real_number, shape_of_image

# The babysit activation whose unit_health reading applies to a torch activation module.
_HEALTH = {torch.nn.ReLU: ReLU(), torch.nn.ReLU6: ReLU(), torch.nn.Tanh: Tanh(),
           torch.nn.Sigmoid: Sigmoid()}
_KIND_HEALTH = {"relu": ReLU(), "sigmoid": Sigmoid(), "tanh": Tanh()}  # functional calls
# The gradient a step used is the one its backward passes made, up to a scale (clipping, an
# AMP unscale): more than 5% of it outside that direction was carried over from earlier steps.
CARRY_RESIDUAL = 0.05
ROW_KEY_VALUES = 32   # values a row is known by (`_row_keys`)
SETTLE_ROWS = 4       # rows of a training forward looked up among an earlier forward's rows
KEPT_RECORDED = 200   # the latest checked steps' kept shares (2,000 steps at every=10)
# Modules whose weights are drawn as the first layer: (out, in) or (out, C, kh, kw).
_FIRST_LAYER = (torch.nn.Linear, torch.nn.Conv2d)
# Modules that only reshape or drop: the output module is the last leaf that is none of them.
_SHAPE_ONLY = (torch.nn.Flatten, torch.nn.Unflatten, torch.nn.Dropout, torch.nn.Identity)
# Rows of the first epoch that the data record (feature scale, class counts, the targets'
# spread) is read from: several batches, never one batch of size 1; 2048 rows give a
# feature's mean to 2% of its std
DATA_ROWS = 2048
# The first epoch's batches whose label counts are kept (`_read_labels`): a loop that never
# calls end_epoch keeps its first-epoch hooks, and must not grow a list a step for ever
LABEL_BATCHES = 1024
# A first batch under 32 rows is too few to call a unit dead on: a ReLU active on 10% of the
# inputs is silent on all of 32 rows 3% of the time, on one row 90%. The probe then takes rows
# of the first epoch's batches, and the start's unit health is left out.
PROBE_MIN_ROWS = 32
# A layer's output (and its gradient) is drawn as a histogram of at most this many of its
# values, a stride across every unit: 30 bins of 65,536 values are each within a percent of
# the full counts, and a conv layer's 128 x 64 x 24 x 24 = 4.7M values took 0.1 s a sample
# (most of the sitter's cost on a 10-second CNN run). Dead and saturated units read them all.
HISTOGRAM_VALUES = 65_536


def _primary_output(output) -> torch.Tensor | None:
    """The tensor a model's output is judged by: the output itself, the first tensor of a
    tuple or list (models that also return features or an auxiliary head put the scores
    first), or a mapping's "logits" (Hugging Face's outputs), else its first tensor value.
    None when the output holds no tensor."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, dict):
        logits = output.get("logits")
        if isinstance(logits, torch.Tensor):
            return logits
        output = list(output.values())
    if isinstance(output, tuple | list):
        return next((t for t in output if isinstance(t, torch.Tensor)), None)
    return None


def _plain_container(a) -> bool:
    """A dict, list or tuple a model call may carry its tensors in (`model(batch)` with batch
    a dict, `model([x1, x2])`); a named tuple (a PackedSequence, whose rows are not the
    batch's) is not one."""
    return isinstance(a, dict | list) or type(a) is tuple


def _row_keys(x: torch.Tensor) -> torch.Tensor:
    """ROW_KEY_VALUES values of each row of a batch x (N, ...), evenly spaced across the row
    (an image's first values are its border, the same in every row), a copy (N, k): what
    tells whether a training forward runs rows an earlier forward ran. (N, 0) for rows of no
    values."""
    x = x.detach() if x.ndim > 1 else x.detach()[:, None]
    n = math.prod(x.shape[1:])
    at = torch.linspace(0, max(n - 1, 0), min(n, ROW_KEY_VALUES)).round().long()
    # gathered where they lie: a view (a time-first batch turned rows first) is not copied;
    # the positions are worked out on the CPU (on a GPU, unravel_index would wait for it)
    where = (i.to(x.device, non_blocking=True) for i in torch.unravel_index(at, x.shape[1:]))
    return x[(slice(None), *where)].clone()


def _call_values(a) -> list:
    """The values inside `a`, through plain containers (`_plain_container`), in order."""
    if not _plain_container(a):
        return [a]
    return [leaf for item in (a.values() if isinstance(a, dict) else a)
            for leaf in _call_values(item)]


def _call_tensors(args: tuple, kwargs: dict) -> tuple[torch.Tensor, ...]:
    """A model call's tensors: those of its arguments, then of its keyword arguments, also
    inside a dict, list or tuple given as one."""
    return tuple(a for a in _call_values([*args, *kwargs.values()]) if isinstance(a, torch.Tensor))


def _batch_input(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """The tensor a model call's batch is read from: its first tensor argument, else its first
    tensor keyword argument (None when it has none)."""
    return next(iter(_call_tensors(args, kwargs)), None)


def _first_rows(args: tuple, kwargs: dict, rows: int, n: int) -> tuple[tuple, dict]:
    """A model call's arguments cut to their first `n` rows: every tensor with `rows` rows (the
    batch's inputs: features, token ids, masks) is sliced and copied off the graph; anything
    else (a flag, a length) is passed as it was."""
    def cut(a):
        if isinstance(a, torch.Tensor) and a.ndim and a.shape[0] == rows:
            return a.detach()[:n].clone()
        if isinstance(a, dict):
            return {k: cut(v) for k, v in a.items()}
        if _plain_container(a):
            return type(a)(cut(v) for v in a)
        return a
    return tuple(cut(a) for a in args), {k: cut(v) for k, v in kwargs.items()}


def _close_earlier_sitters(model: torch.nn.Module) -> None:
    """Close, saying so, a sitter still watching `model`: watch() called again on it (a
    notebook cell run twice) stacked a second set of hooks on the first, each slowing the
    step. The earlier sitter's History stays readable."""
    for hook in list(model._forward_pre_hooks.values()):
        earlier = getattr(hook, "__self__", None)
        if isinstance(earlier, Sitter) and not earlier._closed:
            earlier.close()
            warnings.warn("this model was still watched by an earlier sitter (watch() called "
                          "again, e.g. a notebook cell run twice): that one is closed now, its "
                          "history kept; `with watch(...) as sitter:` closes a sitter when "
                          "its loop ends", UserWarning, stacklevel=4)


class _Inert:
    """What a sitter's hooks become in a pickled model (`Sitter.__reduce__`): any attribute
    but Python's own (`__deepcopy__`, `__setstate__`: copied and pickled as any object) is
    itself, and a call does nothing."""

    def __getattr__(self, name: str) -> _Inert:
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __call__(self, *args, **kwargs) -> None:
        return None


class _OutputGradient:
    """A forward hook on leaf `i` for one step (`Sitter._hook_outputs`): its output's
    dL/d(output) goes into grads[i] in backward. An object, not a closure, so that a model
    saved whole (`torch.save(model)`) in that step pickles, with an inert hook."""

    def __init__(self, sitter: Sitter, grads: list, i: int):
        self.sitter, self.grads, self.i = sitter, grads, i

    def __call__(self, module, args, output) -> None:
        if isinstance(output, torch.Tensor) and output.requires_grad \
                and self.sitter._stopped is None:
            output.register_hook(self._read)

    def _read(self, g: torch.Tensor) -> None:
        self.grads[self.i] = g.detach()

    def __reduce__(self):
        return (_Inert, ())


# The floating types NumPy holds; others (bfloat16, the float8 types) are read as float32
_NUMPY_FLOATS = (torch.float16, torch.float32, torch.float64)


def _as_numpy(t: torch.Tensor) -> np.ndarray:
    """A tensor's values as a NumPy array on the CPU; a floating type NumPy lacks (an
    autocast or `.bfloat16()` model's bfloat16) as float32."""
    t = t.detach().cpu()
    return (t.float() if t.is_floating_point() and t.dtype not in _NUMPY_FLOATS else t).numpy()


def _units(y: torch.Tensor) -> np.ndarray:
    """A layer output (N, C, ...) as (N * positions, C): a conv channel is one unit."""
    y = y.detach().to(torch.float32).cpu()
    if y.ndim > 2:
        y = y.movedim(1, -1).reshape(-1, y.shape[1])
    return y.numpy()


def _norm(t: torch.Tensor) -> float | None:
    """||t|| (Frobenius) as a float, or None when it is not finite."""
    value = float(torch.linalg.vector_norm(t.detach().to(torch.float64)))
    return value if math.isfinite(value) else None


def _fraction(name: str, value) -> float | None:
    """An accuracy given to end_epoch (a float, NumPy scalar or 0-d tensor) as a float."""
    if value is None:
        return None
    try:
        fraction = float(value)
    except (TypeError, ValueError, RuntimeError):
        fraction = math.nan
    if not 0 <= fraction <= 1:
        raise ValueError(f"{name} must be a fraction in [0, 1] or None, got {value!r}")
    return fraction


# watch's own keyword arguments, which a misspelt one is told apart from meta by
_ARGUMENTS = ("image_shape", "probe", "loss_fn", "every", "probe_size", "first_layer_units")


def _check_meta(meta: dict) -> None:
    """Refuse meta entries (`watch(..., **meta)`, e.g. data="digits") that are a misspelt
    argument of watch's (probe_sise=8 would be kept as meta without a word) or whose value a
    History's JSON and the report cannot show (a module: loss=nn.CrossEntropyLoss())."""
    for key, value in meta.items():
        near = difflib.get_close_matches(key, _ARGUMENTS, n=1, cutoff=0.8)
        if near:
            raise ValueError(f"watch: {key}= is no argument of watch (did you mean {near[0]}=?); "
                             f"other keywords are kept as the run's meta")
        values = value if isinstance(value, list | tuple) else [value]
        if not all(v is None or isinstance(v, str | int | float | bool) for v in values):
            raise ValueError(f"watch: the meta entry {key}= must be text, a number, a bool or "
                             f"None (or a list of them), got {value!r}")


def _watching(method):
    """A hook of the sitter's, or its own part of a call, that must never raise into the
    caller's training loop: an error in it (a model it cannot read, such as one whose output
    is a tuple, whose forward takes several inputs, or whose gradients are sparse) stops the
    watching: every hook is removed, `unmeasured` says what failed where, and training goes
    on as it would unwatched. After that the method does nothing."""
    @functools.wraps(method)
    def watched(self, *args, **kwargs):
        if self._stopped is not None:
            return None
        try:
            return method(self, *args, **kwargs)
        except Exception as err:   # whatever it is, the caller's training must go on
            said = (str(err).strip().splitlines() or [""])[0]   # PyTorch's run on for pages
            said = said if len(said) <= 200 else said[:199] + "…"
            self._stopped = (f"the monitors stopped at step {self.steps} ({method.__name__}: "
                             f"{type(err).__name__}: {said}); the rest of the run was not "
                             f"watched")
            self._torch["stopped_at"] = self.steps  # the step counts end there
            self._remove_hooks()   # not close(): the loop goes on logging its losses
            return None
    return watched


class Sitter:
    """What `watch` returns: the hooks on one model and optimizer, and the `History` they fill.

    Call `log(loss)` after every optimizer step and `end_epoch(train_acc=, val_acc=)` after
    every epoch; `history` is the run so far; `close()` removes every hook.
    """

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                 image_shape=None, *, probe=None, loss_fn=None, every: int = 10,
                 probe_size: int = 128, first_layer_units: int = 64, **meta):
        if not isinstance(model, torch.nn.Module):
            raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise ValueError(f"optimizer must be a torch.optim.Optimizer, got "
                             f"{type(optimizer).__name__}")
        every, probe_size, first_layer_units = (
            positive_int(value, name) for name, value in (
                ("every", every), ("probe_size", probe_size),
                ("first_layer_units", first_layer_units)))
        _check_meta(meta)
        if loss_fn is not None and not callable(loss_fn):
            raise ValueError(f"loss_fn must be the loss the loop calls (a module such as "
                             f"nn.CrossEntropyLoss() or a function), got {loss_fn!r}")
        self._stopped: str | None = None   # why watching stopped (`_watching`), if it did
        self._closed = False               # close() was called: log and end_epoch refuse
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.every, self.probe_size, self.first_layer_units = every, probe_size, first_layer_units
        self.image_shape = None if image_shape is None else \
            list(shape_of_image(image_shape, "image_shape"))
        self.extra_meta = meta
        self._history = History()
        self._next_sample_epoch = 2    # end_epoch samples at epochs 2, 4, 8, 16, ...
        self.steps = 0                 # optimizer steps taken while watched
        refuse_lazy(model)   # before anything runs the model (a probe would build them)
        self._probe_x, self._probe_y = self._split_probe(probe)
        # the probe pass's call: the probe's inputs as the model takes them (a model with
        # several inputs gets each one's first rows; `_probe_x` is the batch input among them)
        self._probe_call: tuple[tuple, dict] | None = \
            None if self._probe_x is None else ((self._probe_x,), {})
        # before any hook of ours is on: a probe the model cannot take is refused here, not
        # found at the first forward (where the monitors would stop)
        called = None if self._probe_x is None else self._check_probe()
        self._check_image_shape(called)
        self._user_probe = probe is not None
        self._probe_is_batch = probe is None  # the probe is the first batch: its labels known
        self._rows_first_epoch = 0
        self._leaves: list[tuple[str, torch.nn.Module]] | None = None
        self._before: list[torch.Tensor] | None = None
        self._capture: dict | None = None     # the gradients being read in this step
        self._capture_for: dict | None = None  # the sample that waits for them
        self._captured: dict | None = None     # read at step `captured["step"]`, for end_epoch
        self._step_hooks: list = []
        found = trainable(model, optimizer)  # refuses a model or optimizer that cannot train
        _close_earlier_sitters(model)
        self._named = {name: p for name, p in model.named_parameters() if p.requires_grad}
        self._mode_owners = mode_owners(model)   # dropout / BatchNorm, and what each serves
        self._rows: list[torch.Tensor] = []       # the first epoch's inputs, up to DATA_ROWS
        self._targets: list[torch.Tensor] = []    # ... and the targets the loss was given
        # ... and the inputs it was evaluated on (forwards without gradients or in eval mode)
        self._evaluated = EvaluatedInputs(VAL_SCALE_ROWS)
        self._batches = RepeatedBatches()   # ... and whether its steps train on the same rows
        self._probing = False          # the sitter's own probe pass is running
        held = {id(p) for group in optimizer.param_groups for p in group["params"]}
        self._stepped = {n: p for n, p in self._named.items() if id(p) in held}
        self._stepped_ids = {id(p) for p in self._stepped.values()}
        # monitors["torch"]: what only a PyTorch loop can get wrong, counted at the checked
        # steps (the first and every `every`-th: see `_check_step`)
        self._torch = self._history.monitors["torch"] = TorchRecord(
            **found, steps=0, checked_steps=0, eval_steps=0, no_grad_steps=0,
            zero_grad_steps=0, cleared_steps=0, stale_steps=0, carried_steps=0, kept_steps=0,
            grad_kept=[], grad_none=dict.fromkeys(self._stepped, 0), train_mode_evals=0,
            batch_majority=None, softmax_dim=None, broadcast=False, functional=[],
            unmeasured=[], stopped_at=None, no_grad_forwards=0, compared_steps=0,
            repeated_steps=0, repeated_rows=0, repeated_evaluated=False)
        self._history.meta["n_params"] = sum(p.numel() for p in self._stepped.values())
        self._history.meta["setup"] = empty_setup()
        self._history.meta["setup"]["loss"] = (declared_loss(loss_fn)
                                               or self._history.meta["setup"]["loss"])
        self._graph_read = False       # the first tensor loss's graph was read
        self._pending = None           # (args, kwargs) of a training forward made in eval mode
        self._batch_axis = 0           # 1: the input is (time, batch, ...), `_time_first`
        self._unreadable = False       # a forward's input held no dense tensor of rows
        # row keys of the forwards without gradients in training mode since the last training
        # forward: an evaluation, unless that forward trains on some of their rows
        self._unsettled: list[tuple] = []   # (keys of rows on axis 0, on axis 1 or None)
        self._eval_training = False    # the run started from one: it trains in eval mode
        self._labels: list = []        # per first-epoch batch: its label counts (C,)
        self._first_labels = None      # the first batch's labels (the probe's)
        self._since = None             # the watched parameter's gradient since the last step
        # whether its `.grad` held values when the first backward since the last step began:
        # zero_grad() forgotten; a `.grad` cleared then and edited after backward (an L2 term
        # or noise added by hand) holds nothing of earlier steps
        self._held_before = False
        self._armed = True             # ... summed while the next step is a checked one
        self._functional: list[str] = []  # the kinds of the activation function calls
        grad_param = list(self._stepped.values())[-1]
        self._grad_param = grad_param
        self._first_epoch_hooks = [
            model.register_forward_pre_hook(self._on_forward, with_kwargs=True),
            model.register_forward_hook(self._on_output)]
        self._hooks = [
            *self._first_epoch_hooks,
            optimizer.register_step_pre_hook(self._before_step),
            optimizer.register_step_post_hook(self._after_step),
            grad_param.register_hook(self._on_grad),
        ]
        if isinstance(loss_fn, torch.nn.Module):
            self._hooks.append(loss_fn.register_forward_pre_hook(self._on_loss))

    # -- what the caller calls ----------------------------------------------------------------

    @property
    def history(self) -> History:
        """The run so far, as babysit's monitors would have recorded it.

        Reading it takes a probe sample of the current weights when they moved since the last
        one, so that the last sample is the end of the run (what the diagnosis and the report
        compare with the start): read it after training, not at every step.
        """
        samples = self._history.monitors.get("layers", {}).get("samples")
        if samples and samples[-1]["iteration"] != self.steps:
            self._sample_now()
        self._torch["steps"] = self.steps
        self._torch["unmeasured"] = self._unmeasured()
        if not self._history.epochs:
            self._record_batches()   # a loop that never closes an epoch: its steps so far
            self._settle_no_grad_forwards(None)   # ... and its evaluations
        return self._history

    @_watching
    def _record_batches(self) -> None:
        """The steps compared so far (`RepeatedBatches`), into monitors["torch"]."""
        steps, repeats, rows, whole = self._batches.result()
        self._torch.update(compared_steps=steps, repeated_steps=repeats, repeated_rows=rows,
                           repeated_evaluated=whole)

    def log(self, loss, penalty=0.0) -> None:
        """Record one training step after `optimizer.step()`: `loss` is what the step minimized
        (a tensor or a float); `penalty` the part of it that a regularization term added, if the
        loop adds one (the diagnosis weighs its share)."""
        self._refuse_closed("log")
        for name, value in (("loss", loss), ("penalty", penalty)):
            if not (isinstance(value, torch.Tensor) and value.numel() == 1
                    or isinstance(value, numbers.Real) and not isinstance(value, bool)):
                raise ValueError(f"log: {name} must be the step's {name}, a tensor of one "
                                 f"value or a number, got {value!r}")
        total = loss.item() if isinstance(loss, torch.Tensor) else float(loss)
        reg_loss = real_number(penalty.item() if isinstance(penalty, torch.Tensor) else penalty,
                               "log: penalty", at_least=0)
        # (a penalty above the loss is not refused: the data loss, loss - penalty, is then
        # negative, which a wrong loss makes, e.g. nll_loss fed probabilities: a finding)
        self.read_loss_graph(loss)
        self._history.record_step(total - reg_loss, reg_loss,
                                 float(self.optimizer.param_groups[0]["lr"]))

    def read_loss_graph(self, loss) -> None:
        """Read the loop's setup (the loss, what feeds it: `babysit.torch.setup`) from the
        autograd graph of the first loss tensor that has one. `log` does it; a framework whose
        logged loss is detached (Lightning's) calls it before backward."""
        if not self._graph_read and isinstance(loss, torch.Tensor) and loss.grad_fn is not None:
            self._graph_read = True
            self._read_graph(loss)

    def end_epoch(self, train_acc: float | None = None, val_acc: float | None = None) -> None:
        """Close an epoch: its accuracies (None when not measured) and, at epochs 2, 4, 8, ...,
        a probe sample with the first layer's weights."""
        self._refuse_closed("end_epoch")
        train_acc, val_acc = _fraction("train_acc", train_acc), _fraction("val_acc", val_acc)
        if self.steps == 0 and not self._history.loss:
            # an "epoch 0" evaluation before training: closing it would read the first epoch's
            # rows, labels and batches from nothing and keep its hooks on for the whole run
            warnings.warn("end_epoch() before any optimizer step: no epoch has run, so nothing "
                          "is recorded (an accuracy measured before training is not kept); "
                          "call it after each epoch's steps", UserWarning, stacklevel=2)
            return
        if self._history.epochs == 0:
            self._settle_no_grad_forwards(None)
            self._history.iters_per_epoch = max(self.steps, 1)
            if "n_train" not in self.extra_meta:
                self._history.meta["n_train"] = self._rows_first_epoch or None
            if self._leaves is not None:
                # Their work is done (the start, the rows and labels of an epoch): a module
                # with no hook runs PyTorch's fast path, a few microseconds a step less.
                for handle in self._first_epoch_hooks:
                    handle.remove()
                self._record_batches()
                self._batches.close()
                self._learn_labels()
            # after the labels read from gradients: the targets the loss was given are direct
            # evidence (a zero gradient, e.g. a constant output, reads as class 0)
            self._read_first_epoch()
        self._history.train_acc.append(train_acc)
        self._history.val_acc.append(val_acc)
        self._history.meta["epochs"] = self._history.epochs
        self._torch["steps"] = self.steps
        if self._leaves is not None and self._history.epochs >= self._next_sample_epoch:
            # Geometric spacing: early epochs, where most goes wrong, are seen closely,
            # and a long run costs a few samples; `history` adds the last one.
            self._next_sample_epoch *= 2
            self._sample_now()

    def close(self) -> None:
        """Remove every hook this sitter added; the history stays readable, and `log` and
        `end_epoch` refuse from then on (a step or an epoch recorded after the hooks are gone
        would disagree with the step count)."""
        self._closed = True
        self._remove_hooks()

    def _remove_hooks(self) -> None:
        for handle in self._hooks + self._step_hooks:
            handle.remove()
        self._hooks, self._step_hooks = [], []

    def _refuse_closed(self, method: str) -> None:
        if self._closed:
            raise ValueError(f"{method}: this sitter was closed (close() or the end of its "
                             f"`with` block); call watch() again to watch another run")

    def __reduce__(self):
        """An inert stand-in: `torch.save(model)` pickles the hooks on the model, and with them
        this sitter (its optimizer, its History); the loaded model's hooks do nothing."""
        return (_Inert, ())

    def __deepcopy__(self, memo) -> Sitter:
        """Itself: a deep copy of the watched model (an EMA or SWA copy, a checkpoint's)
        copies the hooks on it, and each would otherwise carry a copy of this sitter, its
        optimizer and its History. The copy's hooks, sharing this sitter, see that their
        module is not the watched model and do nothing."""
        memo[id(self)] = self
        return self

    def __enter__(self) -> Sitter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- hooks --------------------------------------------------------------------------------

    @staticmethod
    def _split_probe(probe):
        if probe is None:
            return None, None
        x, y = probe if isinstance(probe, tuple | list) else (probe, None)
        if not isinstance(x, torch.Tensor) or (y is not None and not isinstance(y, torch.Tensor)):
            raise ValueError(f"probe must be a tensor X or a pair of tensors (X, y), got "
                             f"{type(probe).__name__}")
        if not x.ndim or not len(x):
            raise ValueError(f"watch: probe= must hold at least one example (a tensor X of "
                             f"rows), got X of shape {tuple(x.shape)}")
        if y is not None:
            # a time-first RNN's X (time, batch, ...) holds its rows on the second axis
            if not y.ndim or len(y) != len(x) and not (x.ndim in (2, 3)
                                                      and len(y) == x.shape[1]):
                raise ValueError(f"watch: probe=(X, y) must give one label per row of X: X has "
                                 f"{len(x)} rows, y has shape {tuple(y.shape)}")
            if not y.is_floating_point() and not y.is_complex() and y.dtype != torch.bool \
                    and y.numel() and int(y.min()) < 0:
                raise ValueError(f"watch: probe=(X, y) must hold class labels >= 0, got a label "
                                 f"of {int(y.min())}")
        return x.detach(), (None if y is None else y.detach())

    def _check_probe(self) -> list[torch.nn.Module]:
        """Run the model once on the probe X given (eval mode, no gradients, the random state
        put back: nothing training reads changes, no hook of ours is on yet): a ValueError
        naming probe= and the model's error when it cannot take it, or when y's labels are
        not classes of its output. The leaf modules with parameters, in the order it called
        them (for `_check_image_shape`)."""
        called: list[torch.nn.Module] = []

        def seen(module, args, output):
            if module not in called:
                called.append(module)

        leaves = [m for m in self.model.modules()
                  if not list(m.children()) and any(True for _ in m.parameters())]
        handles = [m.register_forward_hook(seen) for m in leaves]
        try:
            out = _primary_output(self._forward_probe())
        except Exception as err:
            said = (str(err).strip().splitlines() or [""])[0]
            raise ValueError(f"watch: probe= is not an input the model takes: running it on "
                             f"X of shape {tuple(self._probe_x.shape)} raised "
                             f"{type(err).__name__}: {said}") from err
        finally:
            for h in handles:
                h.remove()
        y = self._probe_y
        if out is not None and y is not None and y.ndim == 1 and not y.is_floating_point() \
                and y.dtype != torch.bool and out.ndim == 2 and out.shape[1] > 1 \
                and int(y.max()) >= out.shape[1]:
            raise ValueError(f"watch: probe=(X, y) must hold class labels below the model's "
                             f"{out.shape[1]} outputs, got a label of {int(y.max())}")
        return called

    def _check_image_shape(self, called: list[torch.nn.Module] | None) -> None:
        """Refuse an image_shape whose values are not the first layer's inputs, where that
        layer is known: the first one the probe pass called, else a Sequential's first leaf
        with parameters; checked when it is a Linear (its in_features)."""
        if self.image_shape is None:
            return
        if called is None and isinstance(self.model, torch.nn.Sequential):
            called = [m for m in self.model.modules()
                      if not list(m.children()) and any(True for _ in m.parameters())]
        first = called[0] if called else None
        if not isinstance(first, torch.nn.Linear) or isinstance(
                first, torch.nn.modules.lazy.LazyModuleMixin) or not first.in_features:
            return
        size = math.prod(self.image_shape)
        if size != first.in_features:
            raise ValueError(f"watch: image_shape={tuple(self.image_shape)} holds {size} values, "
                             f"but the model's first layer (Linear) takes {first.in_features} "
                             f"input features; give the shape of one input row as an image, "
                             f"(H, W) or (H, W, C) with H * W * C = {first.in_features}")

    @_watching
    def _on_forward(self, module, args, kwargs) -> None:
        """Before every forward of the model in the first epoch: the first training forward
        starts the run (probe, meta, the first sample, whose gradients this step gives);
        each counts its rows. A forward in eval mode with gradients on is kept: when a step
        follows, training runs in eval mode and the run starts from it (`_before_step`). A
        forward without gradients in training mode is an evaluation that dropout and
        BatchNorm's batch statistics change: it is counted (`_settle_no_grad_forwards`)."""
        if module is not self.model:
            return  # a copy of the watched model (`__deepcopy__`)
        x = _batch_input(args, kwargs)
        # (a sparse or nested input has no rows to slice: its run is watched without them)
        if x is None or not dense(x) or not x.ndim or self._probing:
            self._unreadable |= not self._probing
            return
        if not len(x):
            return   # no rows (a batch the loop filtered empty): nothing to count or start on
        if not torch.is_grad_enabled():
            if module.training:
                self._torch["no_grad_forwards"] += 1
                if self._torch["mode_modules"]:   # keyed both ways until the axis is known
                    self._unsettled.append((_row_keys(x), _row_keys(x.transpose(0, 1))
                                            if x.ndim in (2, 3) else None))
            self._evaluated_call(x, args, kwargs)
            return
        if not module.training:
            if self._leaves is None:
                self._pending = (args, kwargs)
            self._evaluated_call(x, args, kwargs)
            return
        starts = self._leaves is None
        if starts:
            self._start(args, kwargs)     # ... which learns the batch's axis
        self._batches.see(*_call_tensors(args, kwargs), rows=len(self._as_rows(x)))
        self._evaluated.training_step()
        self._settle_no_grad_forwards(x)
        rows = self._as_rows(x)
        self._rows_first_epoch += int(rows.shape[0])
        # rows of one shape only: an input whose rows are sequences of other lengths, or a
        # time-first RNN's whose batch axis was not told apart, joins no concatenation
        if sum(len(r) for r in self._rows) < DATA_ROWS \
                and (not self._rows or self._rows[0].shape[1:] == rows.shape[1:]):
            self._rows.append(rows.detach()[:DATA_ROWS].clone())
        if starts:
            self._capture = {"step": 1}
            self._hook_outputs()

    def _settle_no_grad_forwards(self, x) -> None:
        """Count the forwards without gradients in training mode held since the last training
        forward as evaluations (`train_mode_evals`), but the last of them when the training
        forward `x` (None at an epoch's end, or when the run is read) trains on rows it ran,
        its first SETTLE_ROWS all among them: hard-example mining scores a batch without
        gradients, in training mode on purpose, and trains on its hardest rows. (A pass that
        evaluates the training set before a step ends on a batch that the step's shuffled rows
        seldom all come from.)"""
        if not self._unsettled:
            return
        keys = None if x is None else _row_keys(self._as_rows(x))[:SETTLE_ROWS]
        last = self._unsettled[-1][self._batch_axis]
        mined = keys is not None and last is not None and len(keys) > 0 \
            and keys.shape[1:] == last.shape[1:] \
            and bool((keys[:, None, :] == last[None, :, :]).all(dim=2).any(dim=1).all())
        self._torch["train_mode_evals"] += len(self._unsettled) - mined
        self._unsettled = []

    @_watching
    def _on_loss(self, module, args) -> None:
        """Before the loss module's forward in the first epoch: keep the targets it is given,
        up to DATA_ROWS rows, for the setup's targets (their spread, their classes)."""
        if self._history.epochs or len(args) < 2 or not all(
                isinstance(a, torch.Tensor) for a in args[:2]) \
                or sum(len(t) for t in self._targets) >= DATA_ROWS:
            return
        self._targets.append(args[1].detach()[:DATA_ROWS].clone())

    @_watching
    def _read_first_epoch(self) -> None:
        """At the end of the first epoch: the data record from the rows of several batches
        (not the first batch alone) and the setup's targets from what the loss was given."""
        alone = self._probe_call is not None and self._probe_call == ((self._probe_x,), {})
        if self._rows and alone and not self._user_probe \
                and len(self._as_rows(self._probe_x)) < PROBE_MIN_ROWS:
            # The first batch was too small a probe: later samples read rows of several
            # batches, and the start's unit health, read on a few rows, is dropped (a ReLU is
            # silent on one row half the time; "dead on every probe example" needs many).
            rows = torch.cat(self._rows)[:self.probe_size]
            if len(rows) > len(self._as_rows(self._probe_x)):
                # (`_as_rows` is its own inverse; an RNN on a GPU wants a contiguous input)
                self._probe_x = self._as_rows(rows).clone(memory_format=torch.contiguous_format)
                self._probe_call = ((self._probe_x,), {})
                self._history.monitors["layers"]["probe_size"] = int(len(rows))
                for a in self._history.monitors["layers"]["samples"][0]["activations"]:
                    for key in ("dead", "saturated"):
                        (a or {}).pop(key, None)
        if self._rows and "data" in self._history.monitors:
            mean, std = _feature_scale(self._rows)
            self._history.monitors["data"].update(
                n=sum(len(r) for r in self._rows), feature_mean=mean, feature_std=std,
                val_scale=self._evaluated_scale())
        setup = self._history.meta.get("setup")
        if setup is None or not self._targets:
            self._rows = []
            return
        try:
            y = torch.cat(self._targets)
        except RuntimeError:  # batches of different shapes: leave the targets unknown
            y = None
        if y is not None:
            found = _targets_and_task(y, setup)
            for key, value in found["targets"].items():
                # classes and counts from the targets themselves replace those read from
                # gradients, and soft or numeric targets have none
                if setup["targets"].get(key) is None or key in ("classes", "counts"):
                    setup["targets"][key] = value
            if found["task"] == "classify" or setup["task"] == "unknown":
                setup["task"] = found["task"]  # one-hot targets make an MSE a classifier
            if "data" in self._history.monitors:
                # the targets replace the counts read from gradients: soft targets have none
                # (a constant output's gradient names one class for every row)
                self._history.monitors["data"]["class_counts"] = setup["targets"]["counts"]
            self._history.meta["chance_loss"] = chance_loss(setup)
        self._rows, self._targets = [], []

    def _evaluated_call(self, x: torch.Tensor, args: tuple, kwargs: dict) -> None:
        """An evaluation of the first epoch: its input's scale, its tensors' fingerprints."""
        self._evaluated.add(self._as_rows(x))
        self._batches.evaluated(*_call_tensors(args, kwargs))

    def _evaluated_scale(self) -> dict | None:
        """The scale of the inputs the loop evaluated the model on in the first epoch against
        its training rows' (`EvaluatedInputs.scale`), marked as such: the loop's validation
        rows are among them, the sitter cannot tell which."""
        found = self._evaluated.scale(self._rows)
        return None if found is None else {**found, "of": "evaluated"}

    def _hook_outputs(self) -> None:
        """For this forward only: hook every leaf's output to read dL/d(output) in backward."""
        grads = self._capture.setdefault("gradients", [None] * len(self._leaves))

        self._step_hooks = [m.register_forward_hook(_OutputGradient(self, grads, i))
                            for i, (_, m) in enumerate(self._leaves)]
        self._step_hooks.append(self.model.register_forward_hook(self._unhook_outputs))

    @_watching
    def _on_output(self, module, args, output) -> None:
        """After every training forward of the first epoch: hook the output's gradient, which
        names each row's target class (`labels_from_gradient`) when the loss is a
        cross-entropy; the loss, and so whether the labels are kept, is known at `log`."""
        if module is not self.model:
            return  # a copy of the watched model (`__deepcopy__`)
        output = _primary_output(output)
        if isinstance(output, torch.Tensor) and output.requires_grad and output.ndim in (1, 2):
            output.register_hook(self._read_labels)

    @_watching
    def _read_labels(self, grad: torch.Tensor) -> None:
        grad = grad.detach()
        classes = grad.shape[1] if grad.ndim == 2 and grad.shape[1] > 1 else 2
        if not grad.ndim or not len(grad) or self._labels and \
                self._labels[0].shape[0] != classes or len(self._labels) >= LABEL_BATCHES:
            return  # no rows (a batch the loop filtered empty), another output than the first
            # batches' (not the training loss's), or a loop that never calls end_epoch: enough
            # batches counted
        # a row whose gradient is exactly 0 (a constant or clipped output) names no class,
        # nor one whose gradient is not finite (a diverged step: NaN reads as class 0)
        rows = grad.reshape(grad.shape[0], -1)
        named = rows.ne(0).any(1) & rows.isfinite().all(1)
        labels = labels_from_gradient(grad)[named]
        if not len(labels):
            return
        self._labels.append(torch.bincount(labels, minlength=classes))
        if self._first_labels is None and bool(named.all()):
            self._first_labels = labels[:self.probe_size]

    @_watching
    def _on_grad(self, grad: torch.Tensor) -> None:
        """The watched parameter's gradient from one backward pass, summed until a checked
        step compares it with the `.grad` that step used."""
        if self._armed:
            # a gradient cleared since the last backward (zero_grad after a step skipped, as
            # AMP's GradScaler skips them) starts the sum again
            held = self._grad_param.grad
            cleared = held is None or not bool(held.any())
            if self._since is None:
                self._held_before = not cleared
            fresh = self._since is None or cleared
            self._since = grad.detach().clone() if fresh else self._since + grad.detach()

    @_watching
    def _unhook_outputs(self, module, args, output) -> None:
        if module is not self.model:
            return  # a copy of the watched model (`__deepcopy__`)
        if not (torch.is_grad_enabled() and (module.training or self._eval_training)):
            return  # an evaluation between the steps: the training forward is still to come
        for handle in self._step_hooks:
            handle.remove()
        self._step_hooks = []

    @_watching
    def _before_step(self, optimizer, args, kwargs) -> None:
        if self._leaves is None and self._pending is not None:
            # every training forward ran in eval mode: start from the last one
            self._start(*self._pending)
            self._pending, self._eval_training = None, True
            self._capture = {"step": self.steps + 1}  # its parameters' gradients
        if (self.steps + 1) % self.every == 0:
            with torch.no_grad():
                self._before = [p.detach().clone() for p in self._named.values()]

    @_watching
    def _after_step(self, optimizer, args, kwargs) -> None:
        # The step's gradients are read here, not before it: an optimizer given a closure
        # (as Lightning's is) runs the forward and backward passes inside step().
        self.steps += 1
        self._batches.step()
        if self.steps == 1 or self.steps % self.every == 0:
            self._check_step()
        self._armed, self._since = (self.steps + 1) % self.every == 0, None
        if self._capture is not None:
            self._read_gradients()
        if (self._history.epochs and (self.steps + 1) % self._history.iters_per_epoch == 0
                and self._leaves is not None and not self._step_hooks):
            self._capture = {"step": self.steps + 1}  # predicted to close an epoch
            self._hook_outputs()
        if self._before is None or self._leaves is None:  # no training forward seen yet
            self._before = None
            return
        before, self._before = self._before, None
        with torch.no_grad():
            # Two fused calls for all parameters (a per-parameter loop of small ops costs a
            # tiny network's step several percent); the copies become the updates in place.
            scales = torch._foreach_norm(before)
            torch._foreach_sub_(before, list(self._named.values()))
            steps = torch._foreach_norm(before)
            norms = torch.stack([n.double() for n in (*steps, *scales)]).cpu()
        norms = norms.reshape(2, -1).T  # (params, 2): ||update||, ||value before||
        rec = self._history.monitors["update_ratio"]
        rec["iterations"].append(self.steps)
        for (name, p), (step, scale) in zip(self._named.items(), norms.tolist(), strict=True):
            # a parameter the watched optimizer does not hold is not stepped by it (another
            # optimizer's, or none), nor one without a gradient at this step (PyTorch's
            # optimizers pass it by: a head that trains on other steps): its update is not
            # measured here
            held = name in self._stepped and p.grad is not None
            rec["params"][name].append(step / scale if scale > 0 and held else None)

    def _check_step(self) -> None:
        """At the first step and every `every`-th, after it: the mode the model trained in,
        which parameters had no gradient, and whether the watched parameter's `.grad` is
        what this step's backward passes made (up to a scale), or holds gradients carried
        over from earlier steps (`zero_grad()` forgotten) or none (cleared before the step)."""
        rec = self._torch
        rec["checked_steps"] += 1
        rec["eval_steps"] += trained_modes_in_eval(self._mode_owners, self._stepped_ids)
        grads = [_stored(p.grad) for p in self._stepped.values()]
        present = [g for g in grads if g is not None]
        norms = torch.stack(torch._foreach_norm(present)).tolist() if present else []
        norms = iter(norms)
        zero = [g is None or next(norms) == 0 for g in grads]
        for name, g in zip(self._stepped, grads, strict=True):
            rec["grad_none"][name] += g is None  # not in the loss's graph
        rec["no_grad_steps"] += all(zero)
        # every gradient there but exactly 0: backward ran and nothing came back (a constant
        # or clipped output), which is not a missing backward()
        rec["zero_grad_steps"] += all(zero) and any(g is not None for g in grads)
        grad, since = self._grad_param.grad, self._since
        if since is None:
            rec["stale_steps"] += grad is not None and bool(grad.any())
            return
        if grad is None:
            rec["cleared_steps"] += 1
            return
        used, made = grad.detach().double().flatten(), since.double().flatten()
        size = float(made @ made)
        if size == 0:
            return
        scale = float(used @ made) / size
        off = float(torch.linalg.vector_norm(used - scale * made)) \
            / max(float(torch.linalg.vector_norm(used)), 1e-300)
        if off > CARRY_RESIDUAL or scale > 1 + CARRY_RESIDUAL:
            # Each entry no larger than backward made it and of its sign: clipped entry by
            # entry (clip_grad_value_), which turns the gradient but adds nothing to it; a
            # carried-over gradient adds to the entries, so some grow or change sign.
            if self._held_before and \
                    not bool(((used.abs() <= made.abs() * (1 + 1e-6)) & (used * made >= 0)).all()):
                rec["carried_steps"] += 1
                return
            scale = float(torch.linalg.vector_norm(used) / torch.linalg.vector_norm(made))
        rec["kept_steps"] += 1
        # None where the gradients were inf or NaN: what a saved history reads back (JSON has
        # no NaN), so that the run diagnoses the same before and after it is saved
        rec["grad_kept"] = [*rec["grad_kept"][1 - KEPT_RECORDED:],
                            scale if math.isfinite(scale) else None]

    def _read_gradients(self) -> None:
        """After the step: its parameter gradients' norms (the outputs' gradients were kept in
        backward; their histograms wait until a sample needs them)."""
        capture, self._capture = self._capture, None
        capture["param_grad_norm"] = {name: None if p.grad is None else _norm(_stored(p.grad))
                                      for name, p in self._named.items()}
        if self._capture_for is not None:
            self._fill(self._capture_for, capture)
            self._capture_for = None
        else:
            self._captured = capture

    # -- samples ------------------------------------------------------------------------------

    def _start(self, args: tuple, kwargs: dict) -> None:
        """The first training forward, called with (args, kwargs): probe, leaf order, meta,
        data scale, the first sample."""
        x = _batch_input(args, kwargs)
        cut = self._probe_x is None
        if cut:
            self._probe_call = _first_rows(args, kwargs, x.shape[0], self.probe_size)
            self._probe_x = _batch_input(*self._probe_call)
        try:
            self._leaves, probed = self._leaf_order()
        except Exception:
            if not cut or len(self._probe_x) == len(x):
                raise
            # The first tensor's rows were not the batch's (an EmbeddingBag's flat tokens,
            # whose offsets say where each bag starts): the whole first batch is the probe.
            self._probe_call = _first_rows(args, kwargs, x.shape[0], x.shape[0])
            self._probe_x = _batch_input(*self._probe_call)
            self._leaves, probed = self._leaf_order()
        out = probed[2]
        if self._time_first(out, x):
            self._batch_axis = 1
            if cut and len(self._probe_x) < len(x):
                # cut along time (sequences longer than the probe's rows): cut along the batch
                alone = len(args) == 1 and args[0] is x and not kwargs
                self._probe_call = ((x.detach()[:, :self.probe_size].clone(
                    memory_format=torch.contiguous_format),), {}) if alone else (args, kwargs)
                self._probe_x = _batch_input(*self._probe_call)
                self._leaves, probed = self._leaf_order()
                out = probed[2]
        names = [f"{name} {type(m).__name__}" for name, m in self._leaves]
        names += [f"{kind}() call {i + 1}" for i, kind in enumerate(self._functional)]
        self._torch["functional"] = list(self._functional)
        classes = int(out.shape[1]) if out.ndim == 2 and out.shape[1] > 1 else None
        weights = [n for n, p in self._named.items() if p.ndim >= 2]
        self._history.monitors["layers"] = LayersRecord(
            every=None, probe_size=len(self._as_rows(self._probe_x)), names=names,
            kinds=[type(m).__name__ for _, m in self._leaves] + self._functional,
            probe_labels=self._class_counts(self._probe_y, classes), samples=[])
        self._history.monitors["params"] = ParamsRecord(
            iterations=[], names=list(self._named), weights=weights,
            grad_norm={n: [] for n in self._named}, value_norm={n: [] for n in self._named})
        self._history.monitors["update_ratio"] = UpdateRatioRecord(
            every=self.every, iterations=[], weights=weights,
            params={n: [] for n in self._named})
        mean, std = _feature_scale([self._as_rows(self._probe_x)])
        self._history.monitors["data"] = DataRecord(
            n=len(self._as_rows(self._probe_x)), feature_mean=mean, feature_std=std,
            class_counts=self._class_counts(self._probe_y, classes), val_class_counts=None,
            label_columns=[] if self._probe_y is None else self._probe_label_columns(
                self._probe_y),
            copies=None, val_scale=None)   # the evaluations' scale: at the first epoch's end
        self._history.meta.update(self._meta(x, classes, names))
        self._record_output(out)
        self._capture_for = self._sample(0, probed)
        self._record_first_layer()

    def _leaf_order(self) -> tuple[list[tuple[str, torch.nn.Module]], tuple]:
        """The leaf modules (no children) in the order the probe pass first calls them, from
        the first one with parameters on (a reshape of the input before it gets no gradient),
        and what that pass read, as `_probe_outputs` returns it (the start's sample reuses it:
        one probe pass less, a tenth of a second on pytorch/examples' Net)."""
        names = {m: name for name, m in self.model.named_modules()}
        order, first_output, rnn_inputs = [], {}, {}

        def seen(module, args, output):
            if module not in order:
                order.append(module)
            if module not in first_output and isinstance(output, torch.Tensor):
                first_output[module] = output.detach()
            if isinstance(module, torch.nn.RNNBase) and not module.batch_first and args \
                    and isinstance(args[0], torch.Tensor) and args[0].ndim == 3:
                rnn_inputs.setdefault(module, tuple(args[0].shape))

        leaves = [m for m in self.model.modules() if not list(m.children())]
        out, calls = self._traced_probe([(m, seen) for m in leaves])
        self._functional = [kind for kind, _ in calls]
        # an RNN that reads (time, batch, features) given (batch, time, features), in a model
        # that answers once a row ((rows, classes)): the RNN's first axis holds as many entries
        # as the output has rows, its second another number above 1 (a time-first model that
        # answers every time step, (T, C) or (T, B, C), or runs one sequence, (T, 1, F), is
        # left alone: PyTorch's own tagger tutorial)
        rows = out.shape[0] if isinstance(out, torch.Tensor) and out.ndim == 2 else None
        self._torch["rnn_fed_batch_first"] = [
            names[m] or type(m).__name__ for m, shape in rnn_inputs.items()
            if rows is not None and shape[0] == rows != shape[1] and shape[1] > 1]
        first = next((i for i, m in enumerate(order) if any(True for _ in m.parameters())), 0)
        return ([(names[m] or type(m).__name__, m) for m in order[first:]],
                ([first_output.get(m) for m in order[first:]], [y for _, y in calls], out))

    def _as_rows(self, x: torch.Tensor) -> torch.Tensor:
        """A batch input with its rows first: a time-first RNN's (time, batch, ...) as
        (batch, time, ...), a view (`_time_first`); any other input as it is."""
        return x.transpose(0, 1) if self._batch_axis else x

    def _time_first(self, out, x: torch.Tensor) -> bool:
        """Whether the batch's rows lie on the input's second axis: the first batch x a (time,
        batch, features) input, or (time, batch) token ids, to a model holding a time-first
        RNN that answers once a sequence, its output `out` on the probe (rows, classes) with
        as many rows as the probe's second axis holds (PyTorch's own RNN default). A square
        probe (cut to as many rows as that axis holds, or given so) is asked again with one
        row fewer: a batch-first model then answers one row fewer."""
        probe = self._probe_x
        if not (x.ndim in (2, 3) and probe.ndim == x.ndim and isinstance(out, torch.Tensor)
                and out.ndim == 2 and not self._torch["rnn_fed_batch_first"]
                and any(isinstance(m, torch.nn.RNNBase) and not m.batch_first
                        for m in self.model.modules())):
            return False
        if probe.shape[0] != probe.shape[1]:
            return out.shape[0] == probe.shape[1]
        if len(probe) < 2:
            return False
        call = self._probe_call
        self._probe_call = _first_rows(*call, len(probe), len(probe) - 1)
        try:
            fewer = self._forward_probe()
        except Exception:   # the model refused the shorter probe: the reading stays rows-first
            return False
        finally:
            self._probe_call = call
        return isinstance(fewer, torch.Tensor) and fewer.ndim == 2 \
            and fewer.shape[0] == probe.shape[1]

    def _traced_probe(self, hooks) -> tuple[torch.Tensor, list]:
        """The probe pass with `hooks` ((module, forward hook) pairs) on: the model's output,
        and the activation functions it called outside activation modules (kind, output), in
        call order (`babysit.torch.functional`)."""
        calls = ActivationCalls()

        def enter(module, args):
            calls.depth += 1

        def leave(module, args, output):
            calls.depth -= 1

        acts = [m for m in self.model.modules() if type(m) in _HEALTH]
        handles = [m.register_forward_hook(hook) for m, hook in hooks]
        handles += [m.register_forward_pre_hook(enter) for m in acts]
        handles += [m.register_forward_hook(leave) for m in acts]
        try:
            with calls:
                out = self._run_probe()
        finally:
            for h in handles:
                h.remove()
        return out, calls.calls

    def _run_probe(self) -> torch.Tensor:
        """The model on the probe batch in eval mode, changing nothing training reads."""
        out = _primary_output(self._forward_probe())
        if out is None:
            raise ValueError("the model's output holds no tensor to read")
        return out

    def _forward_probe(self):
        """The model's output on the probe batch, in eval mode under no_grad, with the random
        state, every module's attributes (its training flag, and what a forward keeps on
        itself: an RNN's hidden state carried between chunks as `self.h`) and its buffers'
        values (a quantization observer's range, which eval mode does not freeze) put back:
        the probe leaves the model as the loop left it."""
        modules = list(self.model.modules())
        attributes = [dict(m.__dict__) for m in modules]
        buffers = [(b, b.clone()) for b in self.model.buffers()]
        generators = [(g, g.get_state()) for kept in attributes for g in kept.values()
                      if isinstance(g, torch.Generator)]   # a module's own noise source
        # The CPU generator's state is put back afterwards (an eval pass should draw nothing,
        # but a custom module might); torch.random.fork_rng does the same at 1 ms a call.
        rng = torch.get_rng_state()
        try:
            # No grad and eval mode: our own pre-hook, which counts training forwards, and
            # BatchNorm's running statistics stay out of it.
            with torch.no_grad():
                self.model.eval()
                args, kwargs = self._probe_call
                self._probing = True     # not one of the loop's evaluations
                return self.model(*args, **kwargs)
        finally:
            self._probing = False
            torch.set_rng_state(rng)
            for m, kept in zip(modules, attributes, strict=True):
                for name in [name for name in m.__dict__ if name not in kept]:
                    del m.__dict__[name]
                m.__dict__.update(kept)
            with torch.no_grad():
                for b, value in buffers:
                    b.copy_(value)
            for g, state in generators:
                g.set_state(state)

    def _probe_outputs(self) -> tuple[list, list, torch.Tensor]:
        """On the probe batch: each leaf's output (leaf order), each activation function
        call's output (call order) and the model's output."""
        outputs = [None] * len(self._leaves)

        def keep(i):
            def on_output(module, args, output):
                if outputs[i] is None and isinstance(output, torch.Tensor):
                    outputs[i] = output.detach()
            return on_output

        final, calls = self._traced_probe([(m, keep(i))
                                           for i, (_, m) in enumerate(self._leaves)])
        return outputs, [y for _, y in calls], final

    def _sample(self, iteration: int, probed: tuple | None = None) -> dict:
        """Activations and predicted classes on the probe batch now (or as `probed`, a pass of
        these weights already made); gradients filled later."""
        outputs, calls, final = probed or self._probe_outputs()
        healths = [_HEALTH.get(type(m)) for _, m in self._leaves]
        healths += [_KIND_HEALTH[kind] for kind in self._functional]
        calls = (calls + [None] * len(self._functional))[:len(self._functional)]
        activations = []
        last = _output_module(self._leaves)
        modules = [m for _, m in self._leaves] + [None] * len(self._functional)
        for health, m, y in zip(healths, modules, outputs + calls, strict=True):
            if y is None:
                activations.append(None)
                continue
            units = _units(y)
            # the output's own activation is no hidden unit: a confident sigmoid output sits
            # in its tails by design (a wrong one is the setup's finding, not "saturated")
            health = None if m is not None and m is last else health
            activations.append({**histogram(strided_sample(units, HISTOGRAM_VALUES)),
                                **(unit_health(health, units) if health else {}),
                                **(identical_units(_unit_weights(m))
                                   if isinstance(m, _FIRST_LAYER) else {})})
        layers = self._history.monitors["layers"]
        predicted = None
        if final.ndim == 2 and final.shape[1] > 1 and torch.isfinite(final).all():
            predicted = torch.bincount(final.argmax(1).cpu(), minlength=final.shape[1]).tolist()
        sample = LayerSample(iteration=iteration, loss=self._probe_loss(final),
                             activations=activations, gradients=[None] * len(healths),
                             grad_norm=[None] * len(healths), predicted=predicted)
        layers["samples"].append(sample)
        params = self._history.monitors["params"]
        params["iterations"].append(iteration)
        for name, p in self._named.items():
            params["grad_norm"][name].append(None)
            params["value_norm"][name].append(_norm(p))
        return sample

    @_watching
    def _sample_now(self) -> None:
        """A sample of the current weights, with the gradients of the step that ended here
        when they were read (the last step of every epoch is, from the second epoch on)."""
        sample = self._sample(self.steps)
        if self._captured is not None and self._captured["step"] == self.steps:
            self._fill(sample, self._captured)
        self._record_first_layer()

    def _probe_loss(self, scores: torch.Tensor) -> float | None:
        """The data loss on the probe batch, when its labels were given (probe=(X, y)):
        `loss_fn`, or softmax cross-entropy without one. None when unknown or not finite."""
        y, loss_fn = self._probe_y, self.loss_fn
        if loss_fn is None and y is not None and not y.is_floating_point() and scores.ndim == 2:
            loss_fn = torch.nn.functional.cross_entropy
        if y is None or loss_fn is None:
            return None
        with torch.no_grad():
            value = float(loss_fn(scores, y))
        return value if math.isfinite(value) else None

    def _fill(self, sample: dict, capture: dict) -> None:
        """Put a step's gradient readings into `sample` and its entry of monitors["params"]."""
        outputs = capture.get("gradients") or []
        if outputs:
            pad = [None] * len(self._functional)  # no gradient read at function calls
            sample["gradients"] = [
                None if g is None else histogram(strided_sample(_as_numpy(g), HISTOGRAM_VALUES))
                for g in outputs] + pad
            sample["grad_norm"] = [None if g is None else _norm(g) for g in outputs] + pad
        params = self._history.monitors["params"]
        at = self._history.monitors["layers"]["samples"].index(sample)
        for name, norm in capture["param_grad_norm"].items():
            params["grad_norm"][name][at] = norm

    def _record_first_layer(self) -> None:
        """monitors["first_layer"]: the first Linear or Conv2d's weights, one column per unit,
        now ("W") and as first recorded ("W_start"), as babysit's FirstLayerWeights keeps them."""
        for name, m in self._leaves:
            if isinstance(m, _FIRST_LAYER):
                W = m.weight.detach().double().cpu()
                # (out, in) -> (in, out); (out, C, kh, kw) -> (kh * kw * C, out), pixel-major
                W = W.T if W.ndim == 2 else W.permute(2, 3, 1, 0).reshape(-1, W.shape[0])
                units = list(range(min(self.first_layer_units, W.shape[1])))
                now = picture_values(W[:, units].numpy())
                before = self._history.monitors.get("first_layer", {}).get("W_start", now)
                self._history.monitors["first_layer"] = FirstLayerRecord(
                    name=f"{name}.weight", shape=list(W.shape), units=units,
                    iteration=self.steps, W=now, W_start=before)
                return

    # -- the setup and the labels ---------------------------------------------------------------

    def _record_output(self, out: torch.Tensor) -> None:
        """meta["setup"]["output"] from the probe batch's output values, or the last module
        where the values cannot tell (tanh against small scores)."""
        setup = self._history.meta["setup"]
        measured = measured_activation(out)
        declared = declared_activation(self._leaves[-1][1] if self._leaves else None)
        units = int(out.shape[1]) if out.ndim == 2 else 1
        # a softmax over one unit gives 1 (log-softmax 0) on every row: values a sigmoid's
        # range holds too, so the module says what it is
        constant = units == 1 and declared in ("softmax", "log_softmax")
        if measured == "unknown" or (measured == "none" and declared == "tanh") or constant:
            activation, seen = declared, "declared"
        else:
            activation, seen = measured, "measured"
        setup["output"] = {"activation": activation, "units": units, "seen": seen}
        setup["task"] = task_of(setup["loss"]["name"], units)

    @_watching
    def _read_graph(self, loss: torch.Tensor) -> None:
        """The first loss's autograd graph: the loss and its reduction, what was fed to it,
        a softmax over the wrong dimension, a broadcast target (`babysit.torch.setup`)."""
        graph = from_graph(loss)
        if graph is None:
            return
        setup = self._history.meta["setup"]
        setup["loss"] = graph["loss"]
        if graph["activation"] != "unknown":  # else a reshape hides it: the values tell
            setup["output"].update(activation=graph["activation"], seen="measured")
        setup["task"] = task_of(graph["loss"]["name"], setup["output"]["units"])
        self._torch["softmax_dim"], self._torch["broadcast"] = (graph["softmax_dim"],
                                                                graph["broadcast"])

    @_watching
    def _learn_labels(self) -> None:
        """After the first epoch: the label counts its backward passes showed, when the loss
        is one whose gradient names the target (the training set's class counts, each
        batch's majority share, the probe's labels when the probe is the first batch, and
        the probe's features that give those labels: `babysit.data.leaks.label_columns`)."""
        setup, labels, self._labels = self._history.meta["setup"], self._labels, []
        if not labels or setup["loss"]["name"] not in LABELLED_BY_GRADIENT:
            return
        per_batch = torch.stack(labels).cpu()
        counts = per_batch.sum(0)
        shares = per_batch.max(1).values / per_batch.sum(1).clamp(min=1)
        self._torch["batch_majority"] = float(shares.median())
        setup["targets"].update(classes=int(counts.shape[0]), counts=counts.tolist())
        data, layers = self._history.monitors["data"], self._history.monitors["layers"]
        if data["class_counts"] is None:
            data["class_counts"] = counts.tolist()
        if layers["probe_labels"] is None and self._probe_is_batch \
                and self._first_labels is not None:
            layers["probe_labels"] = torch.bincount(self._first_labels.cpu(),
                                                    minlength=len(counts)).tolist()
        if self._probe_is_batch and self._first_labels is not None \
                and len(self._first_labels) == len(self._as_rows(self._probe_x)):
            data["label_columns"] = self._probe_label_columns(self._first_labels)

    def _probe_label_columns(self, labels) -> list[int]:
        """The probe's input columns that give `labels` (one per probe row) on every row
        (`babysit.data.leaks.label_columns`)."""
        return label_columns(_as_numpy(self._as_rows(self._probe_x)), _as_numpy(labels),
                             "classify")

    def _unmeasured(self) -> list[str]:
        """What the monitors could not see, in words (monitors["torch"]["unmeasured"])."""
        if self._stopped is not None:
            return [self._stopped]
        if self.steps and self._leaves is None:
            if self._torch["no_grad_forwards"]:
                return ["every forward of the watched model ran without gradients (under "
                        "torch.no_grad() or inference_mode): no training forward was seen, "
                        "only the loss is recorded"]
            if self._unreadable:
                return ["the watched model's inputs hold no plain tensor of rows (a "
                        "PackedSequence, a sparse or nested tensor): the monitors read rows of "
                        "a dense tensor, so only the loss is recorded"]
            return ["no forward pass of the watched model was seen before a step (is the "
                    "model given to watch the one trained?): only the loss is recorded"]
        notes = []
        if self._leaves is not None and not self._functional \
                and not any(type(m) in _HEALTH for _, m in self._leaves):
            notes.append("no ReLU, tanh or sigmoid output was seen (as a module or a function): "
                         "dead and saturated units are not measured")
        if self._probe_x is not None and not self._probe_x.is_floating_point():
            notes.append("the inputs are integers (ids an embedding looks up, or values the "
                         "model converts itself): their scale is not judged")
        return notes

    # -- meta ---------------------------------------------------------------------------------

    def _class_counts(self, y, classes: int | None) -> list[int] | None:
        if y is None or classes is None or y.ndim != 1 or y.is_floating_point():
            return None
        return torch.bincount(y.cpu(), minlength=classes).tolist()

    def _meta(self, x: torch.Tensor, classes: int | None, names: list[str]) -> dict:
        """What babysit's RunInfo writes, as far as hooks can see it."""
        svm = isinstance(self.loss_fn, torch.nn.MultiMarginLoss)
        chance = None
        if classes is not None:   # PyTorch's hinge divides the notes' SVM loss by the classes
            chance = MulticlassSVM(self.loss_fn.margin ** self.loss_fn.p).chance_loss(
                classes) / classes if svm else SoftmaxCrossEntropy().chance_loss(classes)
        group = self.optimizer.param_groups[0]
        decay = group.get("weight_decay") or 0
        shown = ", ".join(f"{k}={group[k]}" for k in ("lr", "momentum", "betas", "weight_decay")
                          if k in group)
        # The report draws the first layer's units as images of meta["image_shape"]: for a
        # first Conv2d that is its kernel's shape (the input's is kept as "input_shape").
        first = next((m for _, m in self._leaves if isinstance(m, _FIRST_LAYER)), None)
        image = self.image_shape
        if isinstance(first, torch.nn.Conv2d):
            kh, kw = first.kernel_size
            image = [kh, kw] if first.in_channels == 1 else [kh, kw, first.in_channels]
        return {"n_train": None, "n_val": 0,
                "n_features": int(np.prod(self._as_rows(x).shape[1:])),
                "n_classes": classes, "chance_loss": chance,
                "batch_size": int(x.shape[self._batch_axis]),
                "epochs": 0, "loss": repr(self.loss_fn) if self.loss_fn is not None else None,
                "optimizer": f"{type(self.optimizer).__name__}({shown})",
                "lr": float(group["lr"]),
                "regularizer": f"weight decay {decay:g}" if decay else None,
                "constraints": [],   # a loop's own clamps are not seen
                "layers": names, "model": " -> ".join(repr(m) for _, m in self._leaves),
                "dropout": max((float(m.p) for m in self.model.modules()
                                if isinstance(m, torch.nn.modules.dropout._DropoutNd)),
                               default=None),
                "inputs_normalized": bool(self._leaves) and isinstance(
                    self._leaves[0][1], torch.nn.modules.batchnorm._BatchNorm),
                "image_shape": image, "input_shape": self.image_shape,
                "framework": f"torch {torch.__version__}",
                **self.extra_meta}


def _stored(grad: torch.Tensor | None) -> torch.Tensor | None:
    """A gradient as a dense tensor of the values it holds: a sparse gradient (an embedding's
    with sparse=True) as the values of its rows, which norms are taken over."""
    return grad.coalesce().values() if grad is not None and grad.is_sparse else grad


def _feature_scale(rows: list[torch.Tensor]) -> tuple[list[float], list[float]]:
    """Each input feature's mean and spread (D,) over the rows of the batches `rows`, for the
    data record; none ([], []) for integer inputs: token ids or category codes that an
    embedding looks up, or values the model converts itself, whose size says nothing of the
    scale the network sees."""
    if not rows[0].is_floating_point() and not rows[0].is_complex():
        return [], []
    flat = torch.cat([r.reshape(len(r), -1) for r in rows]).double().cpu()
    return flat.mean(0).tolist(), flat.std(0, unbiased=False).tolist()


def _unit_weights(m: torch.nn.Module) -> np.ndarray:
    """A Linear's or Conv2d's weights as (inputs, units): one column per output unit."""
    W = m.weight.detach().to(torch.float64).cpu()
    return W.reshape(W.shape[0], -1).T.numpy()


def _output_module(leaves) -> torch.nn.Module | None:
    """The last leaf that computes something (reshapes and dropout looked through)."""
    return next((m for _, m in reversed(leaves) if not isinstance(m, _SHAPE_ONLY)), None)


def _targets_and_task(y: torch.Tensor, setup: dict) -> dict:
    """The setup's "targets" and "task" from the targets the loss was given: integer labels
    or one-hot rows (a classifier: classes and counts), else numbers (mean, std, min, max)."""
    # (the output's units are unknown when no training forward was seen: under no_grad)
    units, loss = setup["output"]["units"] or 0, setup["loss"]["name"]
    yd = y.detach().double().cpu()
    stats = {"classes": None, "counts": None, "mean": float(yd.mean()),
             "std": float(yd.std(unbiased=False)) if yd.numel() > 1 else 0.0,
             "min": float(yd.min()), "max": float(yd.max())}
    one_hot = (y.ndim == 2 and units > 1 and y.shape[1] == units
               and bool(((yd == 0) | (yd == 1)).all()) and bool((yd.sum(1) == 1).all()))
    if not y.is_floating_point() and y.ndim == 1 and (yd >= 0).all():
        counts = torch.bincount(y.cpu().long(), minlength=max(units, 1)).tolist()
        stats.update(classes=len(counts), counts=counts)
        task = "classify" if loss in ("cross_entropy", "nll", "hinge") else "unknown"
        if len(counts) <= 2 and loss in ("binary_cross_entropy", "bce_with_logits"):
            task = "binary"
        return {"targets": stats, "task": task}
    if one_hot:
        counts = yd.sum(0).long().tolist()
        stats.update(classes=units, counts=counts)
        return {"targets": stats, "task": "classify"}
    if (y.ndim == 1 or y.shape[-1] == 1) and bool(((yd == 0) | (yd == 1)).all()):
        ones = int(yd.sum())
        stats.update(classes=2, counts=[yd.numel() - ones, ones])
    if loss in ("binary_cross_entropy", "bce_with_logits"):
        p = yd.clamp(1e-12, 1 - 1e-12)
        inside = (yd >= 0) & (yd <= 1)
        if bool(inside.all()):  # soft targets: the loss cannot go below their entropy
            stats["entropy"] = float(-(p * p.log() + (1 - p) * (1 - p).log()).mean())
        return {"targets": stats, "task": "binary"}
    return {"targets": stats, "task": "regress" if loss in ("mse", "mae") else "unknown"}


def watch(model: torch.nn.Module, optimizer: torch.optim.Optimizer, image_shape=None,
          **options) -> Sitter:
    """Babysit a PyTorch training loop: hooks on `model` and `optimizer` that fill a History.

    image_shape: (H, W) or (H, W, C) when each input row is an image, so the report draws
    the first Linear layer's weights as images (a first Conv2d's filters are drawn in their
    kernel's shape). options: probe (the inputs X, or (X, y), to
    watch activations on; by default the first training batch's inputs; with labels y the
    samples hold the probe's loss and the data record its class counts), loss_fn (the
    loss for those and for the chance loss: an `nn.MultiMarginLoss` has the SVM's; softmax
    cross-entropy otherwise; also meta["setup"]'s loss until the first logged loss's graph
    shows it), every (steps between update-ratio samples and loop checks, 10), probe_size
    (128), first_layer_units (64), and anything else to add to history.meta (e.g.
    data="digits").

    Raises ValueError when the model has no parameters, all of them frozen, or when the
    optimizer holds none of its trainable parameters: nothing would train.
    """
    return Sitter(model, optimizer, image_shape, **options)


__all__ = ["Sitter", "watch"]
