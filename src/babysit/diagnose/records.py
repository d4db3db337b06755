"""The layout of what the monitors write into `History.monitors`, as code: the contract that
`babysit.monitors` (the Trainer's), `babysit.torch.sitter` (PyTorch's) and the diagnosis rely
on. Each record is a plain dict (JSON as it is), so these are TypedDicts: the writers build
their records with them and the readers annotate with them, and a key that drifts shows up
in a type checker and in `tests/test_monitors.py`, which holds a recorded History to them.

A key that is absent from `History.monitors` only silences the rules that need it; None
inside a record marks a value that was not finite (a diverging run) or does not apply.
`well_formed(monitors)` holds a History read from a file to these layouts: a record that a
damaged or hand-edited file left without them is dropped, as if never recorded.
"""

import numbers
import types
from functools import cache
from typing import (
    NewType,
    NotRequired,
    TypedDict,
    get_args,
    get_origin,
    get_type_hints,
    is_typeddict,
)

# A number that is never null: a count of steps or calls, or a setting such as a weight decay.
# `History.save` writes only a NaN or inf as null, which neither can be, so a null there is
# damage (and the rules add and compare them without a check).
Count = NewType("Count", int)
Setting = NewType("Setting", float)


class Histogram(TypedDict):
    """`monitors.histogram` of an array: equal-width `counts` over [lo, hi] of its finite
    values, their mean and std, and the fraction that was not finite. An activation's adds
    `dead` (ReLU: units at 0 on every probe example) or `saturated` (tanh / sigmoid), and a
    Linear layer's output `identical` (the share of its units that are copies of the first:
    `monitors.identical_units`)."""
    nonfinite: float
    mean: float | None
    std: float | None
    lo: float | None
    hi: float | None
    counts: list[int]
    dead: NotRequired[float]
    saturated: NotRequired[float]
    identical: NotRequired[float]


class UpdateRatioRecord(TypedDict):
    """monitors["update_ratio"]: ||update|| / ||value before|| per parameter at `iterations`
    (updates done), None where the value was all zeros; `weights` names the weight matrices."""
    every: int | None
    iterations: list[int]
    weights: list[str]
    params: dict[str, list[float | None]]


class LayerSample(TypedDict):
    """One sample of the probe batch: per layer (in `LayersRecord.names` order) the histogram
    of its output and of dL/d(output), ||dL/d(output)||; the probe's data loss and the counts
    of the classes the network predicts for it (None for regression)."""
    iteration: int
    loss: float | None
    activations: list[Histogram | None]
    gradients: list[Histogram | None]
    grad_norm: list[float | None]
    predicted: list[int] | None


class LayersRecord(TypedDict):
    """monitors["layers"]: the probe's samples; `names` as "0 Linear", `kinds` the classes,
    `probe_labels` the probe's label counts (None for regression or unknown labels)."""
    every: int | None
    probe_size: int
    names: list[str]
    kinds: list[str]
    probe_labels: list[int] | None
    samples: list[LayerSample]


class ParamsRecord(TypedDict):
    """monitors["params"]: per parameter, at the samples' iterations, the norm of the probe's
    data-loss gradient and of the value."""
    iterations: list[int]
    names: list[str]
    weights: list[str]
    grad_norm: dict[str, list[float | None]]
    value_norm: dict[str, list[float | None]]


class ValScale(TypedDict):
    """monitors["data"]["val_scale"]: the validation inputs against the training inputs' scale
    (`babysit.data.scales.scale_against`), on `rows` rows: the typical feature's shift (in
    training spreads) and spread ratio, how many of the `features` that vary in both are `off`
    training's scale, and what the rows are "of" ("evaluated": the inputs a PyTorch loop
    evaluated its model on; absent: the validation rows). Histories written before the count
    was kept have no "features" and "off"."""
    shift: float
    ratio: float
    rows: Count
    features: NotRequired[Count]
    off: NotRequired[Count]
    of: NotRequired[str]


class DataRecord(TypedDict):
    """monitors["data"]: the training inputs' per-feature mean and std, the class counts of
    the training and validation labels (None for regression / without validation), and what
    `babysit.data.leaks` found (absent from Histories written before it)."""
    n: int
    feature_mean: list[float]
    feature_std: list[float]
    class_counts: list[int] | None
    val_class_counts: list[int] | None
    label_columns: NotRequired[list[int]]         # features that give every row's label
    copies: NotRequired[dict[str, float] | None]  # {"val": share of validation rows that are
                                                  # training rows, "train": of training rows
                                                  # repeated}; None when not compared
    val_scale: NotRequired[ValScale | None]   # the validation inputs against training's scale


class FirstLayerRecord(TypedDict):
    """monitors["first_layer"]: the first layer's weights for `units`, now ("W", at
    `iteration`) and as first recorded ("W_start"), rows of the input's width."""
    name: str
    shape: list[int]
    units: list[int]
    iteration: int
    W: list[list[float]]
    W_start: list[list[float]]


class TorchRecord(TypedDict):
    """monitors["torch"] (`babysit.torch.sitter`): what only a PyTorch loop can get wrong.
    Parameter and module names (frozen ones, those the optimizer does not hold, the modules
    that train and evaluate differently, BatchNorms), each stepped parameter's weight decay
    (`decoupled`: AdamW's) and size; counts of the optimizer's steps and of the checked ones,
    and among the checked: in eval mode, with no gradient, with all-zero gradients, with
    gradients cleared before the step, stale, carrying earlier steps' gradients, or keeping
    their own; per parameter the checked steps it had no gradient at; the share of the
    gradient clipping kept at recent checked steps; evaluations in training mode and forwards
    without gradients; the median batch's majority-class share, the dimension a softmax before
    the loss ran over, whether the target broadcast against the output, the activation
    functions called as functions, what the monitors could not see, the step they stopped
    at, the recurrent modules (batch_first=False) given the batch on their first axis, and the
    first epoch's steps that trained on the previous step's rows.
    Keys read with a default are not required (files of earlier versions lack them)."""
    frozen: list[str]
    frozen_untrained: list[str]
    not_in_optimizer: list[str]
    decay: dict[str, Setting]
    decoupled: bool
    sizes: dict[str, Count]
    mode_modules: list[str]
    batchnorm_modules: NotRequired[list[str]]
    steps: Count
    checked_steps: Count
    eval_steps: Count
    no_grad_steps: Count
    zero_grad_steps: NotRequired[Count]
    cleared_steps: Count
    stale_steps: Count
    carried_steps: Count
    kept_steps: Count
    grad_kept: list[float | None]
    grad_none: dict[str, Count]
    train_mode_evals: Count
    batch_majority: NotRequired[float | None]
    softmax_dim: int | None
    broadcast: bool
    functional: list[str]
    unmeasured: NotRequired[list[str]]
    stopped_at: NotRequired[int | None]
    no_grad_forwards: NotRequired[Count]
    compared_steps: NotRequired[Count]   # first-epoch steps whose inputs were compared
    repeated_steps: NotRequired[Count]   # ... those that trained on the step before's rows
    repeated_rows: NotRequired[Count]    # ... the rows of a step's input
    repeated_evaluated: NotRequired[bool]  # ... also evaluated: the training set, full-batch
    rnn_fed_batch_first: NotRequired[list[str]]


# Every key of History.monitors and the layout of its record.
RECORDS: dict[str, type] = {"update_ratio": UpdateRatioRecord, "layers": LayersRecord,
                            "params": ParamsRecord, "data": DataRecord,
                            "first_layer": FirstLayerRecord, "torch": TorchRecord}


# The layouts of a number in a record (each may be null: `fits`)
_NUMBERS = (int, float, int | None, float | None)


@cache
def _keys(layout: type) -> dict[str, object]:
    """A record type's keys and their types (NotRequired unwrapped: `__required_keys__`
    says which a record must hold)."""
    return get_type_hints(layout)


def fits(value, layout) -> bool:
    """Whether `value`, as read from JSON, has `layout`: one of the record types above (every
    key it requires, and each of its keys that is there of its type; keys it does not name are
    let be), list[X], dict[str, X], X | None, str, bool, or a number. A number may be null
    anywhere but in a Count or a Setting: `History.save` writes a NaN or inf as null, and the
    readers take a null number for an unknown one (`evidence._number`). A null or missing
    list, dict or record is damage that no reader expects."""
    if is_typeddict(layout):
        keys = _keys(layout)
        return isinstance(value, dict) and layout.__required_keys__ <= value.keys() \
            and all(fits(value[k], keys[k]) for k in keys if k in value)
    origin, args = get_origin(layout), get_args(layout)
    if origin is list and args[0] in _NUMBERS:  # the long lists (weights, counts): inline
        return isinstance(value, list) and all(map(_number_or_null, value))
    if origin is list:
        return isinstance(value, list) and all(fits(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(fits(v, args[1]) for v in value.values())
    if origin is types.UnionType:
        return any(fits(value, arg) for arg in args)
    if layout is str or layout is types.NoneType or layout is bool:
        return isinstance(value, layout)
    if layout is Count:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if layout is Setting:
        return value is not None and _number_or_null(value)
    return _number_or_null(value)


def _number_or_null(value) -> bool:
    """Whether `value` is a number (not a bool) or null: what a record's number may be."""
    # JSON's own float and int asked first: the numbers.Real check (NumPy's scalars, in a
    # live History's dict) costs several times theirs, over a first layer's every weight
    return value is None or type(value) in (float, int) \
        or isinstance(value, numbers.Real) and not isinstance(value, bool)


def well_formed(monitors: dict) -> dict:
    """`monitors` without the records (of RECORDS) that do not fit their layout: what a
    damaged or hand-edited history.json holds there is dropped whole, so that the rules and
    the report's plots that read it stay silent rather than index into it. Keys RECORDS does
    not name are kept as they are."""
    return {key: rec for key, rec in monitors.items()
            if key not in RECORDS or fits(rec, RECORDS[key])}


__all__ = ["RECORDS", "Count", "DataRecord", "FirstLayerRecord", "Histogram", "LayerSample",
           "LayersRecord", "ParamsRecord", "Setting", "TorchRecord", "UpdateRatioRecord",
           "ValScale", "fits", "well_formed"]
