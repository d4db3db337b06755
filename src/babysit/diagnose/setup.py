"""The run's setup against its task: the output layer, the loss and the targets, read once.

`history.meta["setup"]` says what the network's last layer does and which loss reads it
(babysit's Trainer writes it; the PyTorch sitter fills it from the loss module and the
outputs it is fed):

    {"output": {"activation": "none" | "softmax" | "log_softmax" | "sigmoid" | "relu" | "tanh"
                              | "nonnegative" | "unknown", "units": int, "seen": "declared" |
                              "measured"},
     "loss": {"name": "cross_entropy" | "nll" | "binary_cross_entropy" | "bce_with_logits" |
                      "mse" | "mae" | "hinge" | "other" | "unknown",
              "reduction": "mean" | "sum" | "unknown", "scale": float (optional: babysit's
              own MSE is half the squared error), "per_class": True (optional: PyTorch's
              hinge divides by the classes), "margin": float (optional: its margin^p)},
     "task": "classify" | "binary" | "regress" | "unknown",
     "targets": {"classes", "counts", "mean", "std", "min", "max"}}

From it come `chance_loss(setup)` (what an untrained network's loss is, per loss: every rule
that compares with chance reads it) and the causes in `SETUP_CAUSES`: a pairing of output
and loss that cannot learn the task (softmax over one output, binary cross-entropy on labels
0..K-1, a softmax fed to MSE, an activation on the logits, an output that cannot reach the
targets). Each is named with its fix; they lead the diagnosis, because no learning rate or
initialization repairs them.
"""

from __future__ import annotations

import math

__all__ = ["MULTILABEL_UNDERFIT", "RANGE_SLACK", "SETUP_RULES", "TARGET_SCALE", "chance_loss",
           "constant_output", "loss_floor", "setup_value"]

# A regression output squashed to a range misses targets beyond it by this share of their
# spread: 5% of the targets' standard deviation is well past float noise, and a sigmoid
# regression on [0, 1] targets (reachable) stays silent
RANGE_SLACK = 0.05
# A first mean squared error this many times the square of a bounded output's range: targets
# within the range cannot cost more than 1 (outputs and targets both inside it)
OUT_OF_REACH = 4.0
# Binary cross-entropy over K >= 3 sigmoid outputs on one-hot targets is K yes/no questions
# for a one-of-K answer: named only while the training accuracy is under this (a run that
# learns anyway gets no warning; matches UNDERFIT_ACC)
MULTILABEL_UNDERFIT = 0.9
# Regression targets of a typical size (root mean square) above this, under a squared error:
# the first loss is about their mean square and its gradient as large, so a rate that suits
# unit-scale targets blows up (the inputs' SCALE_HIGH, 5, for the same reason); judged only
# when the loss exploded or rose, or barely fell (a rate chosen for them trains well)
TARGET_SCALE = 5.0

_SQUASHED = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "relu": (0.0, math.inf),
             "nonnegative": (0.0, math.inf), "softmax": (0.0, 1.0)}
_SOFTMAX_LOSSES = ("cross_entropy",)          # losses that apply their own (log-)softmax


def setup_value(setup, *keys):
    """setup[keys[0]][keys[1]]...: the value at that path of `history.meta["setup"]`, or None
    where it is not there, or a part on the way is no dict (null in a damaged or hand-edited
    file): unknown, and the rules that read it stay silent."""
    value = setup or {}
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def chance_loss(setup: dict | None) -> float | None:
    """The loss of an untrained network (scores near 0) under `setup`, per example:
    cross-entropy ln C; binary cross-entropy ln 2 per output (a sigmoid at 0.5);
    MSE / MAE of outputs at 0 (at 0.5 behind a sigmoid, 1/K behind a softmax) from the
    targets' mean and spread; hinge (C - 1) x its margin (1 unless the setup gives it), over
    C for PyTorch's. None when it cannot be known (an unknown loss, a summed reduction,
    targets not seen)."""
    loss, units = setup_value(setup, "loss", "name"), setup_value(setup, "output", "units")
    if not loss or setup_value(setup, "loss", "reduction") == "sum":
        return None
    classes = setup_value(setup, "targets", "classes") or (units if units and units > 1 else None)
    if loss in ("cross_entropy", "nll"):
        return math.log(classes) if classes and classes > 1 else None
    if loss in ("binary_cross_entropy", "bce_with_logits"):
        return math.log(2.0)
    if loss == "hinge":   # PyTorch's MultiMarginLoss divides by the classes ("per_class")
        if not classes or classes < 2:
            return None
        per_class = setup_value(setup, "loss", "per_class")
        margin = setup_value(setup, "loss", "margin") or 1.0
        return (classes - 1) * margin / (classes if per_class else 1)
    if loss not in ("mse", "mae"):
        return None
    act = setup_value(setup, "output", "activation")
    at = 0.5 if act == "sigmoid" else (1.0 / units if act == "softmax" and units else 0.0)
    scale = setup_value(setup, "loss", "scale") or 1.0
    mean, std = setup_value(setup, "targets", "mean"), setup_value(setup, "targets", "std")
    if mean is None or std is None:
        return None
    root_mse = math.hypot(mean - at, std)   # sqrt((mean - at)^2 + std^2), with no overflow
    # MAE: E|y - at| is at least |mean - at| and at most the root of the MSE; their mean
    chance = scale * (root_mse * root_mse if loss == "mse" else
                      0.5 * (abs(mean - at) + root_mse))
    return chance if math.isfinite(chance) else None   # targets beyond 1e154: too large to say


def loss_floor(setup: dict | None) -> float:
    """The least loss the targets allow: binary cross-entropy on soft targets (in (0, 1), not
    0/1) cannot fall below their mean entropy (`targets["entropy"]`, which the sitter
    measures); 0 otherwise. A plateau is judged above it."""
    if setup_value(setup, "loss", "name") not in ("binary_cross_entropy", "bce_with_logits"):
        return 0.0
    return float(setup_value(setup, "targets", "entropy") or 0.0)


def _uses(setup, activations, losses=None) -> bool:
    """The output's activation is one of `activations` (and the loss one of `losses`)."""
    return setup_value(setup, "output", "activation") in activations \
        and (losses is None or setup_value(setup, "loss", "name") in losses)


def _classify(setup) -> bool:
    return setup_value(setup, "task") in ("classify", "binary")


def constant_output(setup: dict | None) -> bool:
    """The output is a softmax (or log-softmax) over one unit: 1 (or 0) whatever the input."""
    return _uses(setup, ("softmax", "log_softmax")) and setup_value(setup, "output", "units") == 1


def _softmax_one_output(e, open_):
    if not constant_output(e.setup):
        return None
    return "error", ("the last layer is a softmax over 1 output: its value is always 1 "
                     "(log-softmax 0), whatever the input, so the loss never changes and no "
                     "gradient reaches the network")


def _binary_loss_on_classes(e, open_):
    s = e.setup
    top = setup_value(s, "targets", "max")
    if setup_value(s, "loss", "name") not in ("binary_cross_entropy", "bce_with_logits") \
            or top is None or top <= 1:
        return None
    classes = setup_value(s, "targets", "classes")
    return "error", (f"binary cross-entropy on targets up to {top:g}"
                     + (f" ({classes} classes)" if classes else "")
                     + f" with {setup_value(s, 'output', 'units')} output(s): binary cross-entropy "
                       f"needs targets in [0, 1]")


def _mse_on_classes(e, open_):
    s = e.setup
    loss, act = setup_value(s, "loss", "name"), setup_value(s, "output", "activation")
    units = setup_value(s, "output", "units") or 0
    # a softmax's rows are class probabilities: fed to an MSE they are classes, whether or not
    # the targets were seen (a loop's one-hot float targets are not read from its gradient)
    if loss not in ("mse", "mae") or units < 2 or not (_classify(s) or act == "softmax"):
        return None
    name = "MSE" if loss == "mse" else "MAE"
    if act == "softmax":
        text = (f"{name} on a softmax over {units} classes: the gradient through the softmax "
                f"vanishes when an output is confidently wrong")
    else:
        text = (f"{name} on {units} {'linear ' if act == 'none' else ''}outputs of a "
                f"classifier: it pulls every score to 0/1 and weighs a confident mistake no "
                f"more than a near miss")
    return "warning", text


def _double_softmax(e, open_):
    if not _uses(e.setup, ("softmax",), _SOFTMAX_LOSSES):
        return None
    return "warning", ("the outputs are already a softmax (rows of probabilities) and the loss "
                       "applies its own softmax: the scores it sees lie in [0, 1], so the loss "
                       "cannot fall below a floor")


def _logit_activation(e, open_):
    """A squashing activation on the scores of a loss that applies its own softmax, or its
    own sigmoid (BCEWithLogitsLoss: a sigmoid or softmax output goes through two)."""
    act = setup_value(e.setup, "output", "activation")
    if _uses(e.setup, ("relu", "nonnegative", "sigmoid", "tanh"), _SOFTMAX_LOSSES):
        own = "softmax"
    elif _uses(e.setup, ("relu", "nonnegative", "sigmoid", "tanh", "softmax"),
               ("bce_with_logits",)):
        own = "sigmoid (BCEWithLogitsLoss)"
    else:
        return None
    low, high = _SQUASHED.get(act, (-1.0, 1.0))
    shown = f"in [{low:g}, {high:g}]" if math.isfinite(high) else f">= {low:g}"
    dead = " and a score at 0 gets no gradient" if act in ("relu", "nonnegative") else ""
    return "warning", (f"a {act} on the logits before the loss's own {own}: every score is "
                       f"{shown}, so the classes cannot be told apart with confidence{dead}")


def _probability_loss_on_scores(e, open_):
    """Binary cross-entropy fed something that is not a probability: a ReLU, tanh or linear
    output where a sigmoid belongs."""
    act = setup_value(e.setup, "output", "activation")
    if not _uses(e.setup, ("relu", "nonnegative", "none", "tanh"), ("binary_cross_entropy",)):
        return None
    return "warning", (f"binary cross-entropy on a {act} output: it needs probabilities in "
                       f"(0, 1) (a sigmoid), and values outside are clipped, with no gradient")


def _multilabel_on_one_hot(e, open_):
    s = e.setup
    units = setup_value(s, "output", "units") or 0
    if setup_value(s, "loss", "name") not in ("binary_cross_entropy", "bce_with_logits") \
            or setup_value(s, "task") != "classify" or units < 3 \
            or (e.train_acc is not None and e.train_acc >= MULTILABEL_UNDERFIT):
        return None
    return "warning", (f"binary cross-entropy over {units} outputs on one-of-{units} targets: "
                       f"{units} separate yes/no answers, most of whose loss is saying 'no'")


def _output_range(e, open_):
    s = e.setup
    act = setup_value(s, "output", "activation")
    low, high = setup_value(s, "targets", "min"), setup_value(s, "targets", "max")
    if setup_value(s, "task") != "regress" or act not in _SQUASHED:
        return None
    if low is None or high is None:
        return _out_of_reach_by_loss(e, act)
    reach_low, reach_high = _SQUASHED[act]
    slack = RANGE_SLACK * (setup_value(s, "targets", "std") or 0.0)
    if low >= reach_low - slack and high <= reach_high + slack:
        return None
    reach = f"[{reach_low:g}, {reach_high:g}]" if math.isfinite(reach_high) \
        else f">= {reach_low:g}"
    return "error", (f"the output goes through a {act} ({reach}) but the targets run from "
                     f"{low:.4g} to {high:.4g}: the network cannot predict them")


def _out_of_reach_by_loss(e, act: str) -> tuple[str, str] | None:
    """A bounded output's reach against the targets where they were not seen (a loop that
    gave watch() no loss_fn): outputs and targets both within [lo, hi] keep every squared error
    under (hi - lo)^2, so a first MSE of several times that says the targets lie well outside
    (a sigmoid on scores of 0 to 100)."""
    reach_low, reach_high = _SQUASHED[act]
    h = e.history
    first = (h.data_loss or h.loss or [None])[0]    # the data's own, without a penalty
    if not math.isfinite(reach_high) or setup_value(e.setup, "loss", "name") != "mse" \
            or setup_value(e.setup, "loss", "reduction") != "mean" \
            or not isinstance(first, int | float) or not math.isfinite(first):
        return None   # (a summed loss is the batch's size times larger)
    square = first / (setup_value(e.setup, "loss", "scale") or 1.0)
    if square <= OUT_OF_REACH * (reach_high - reach_low) ** 2:
        return None
    return "error", (f"the output goes through a {act} ([{reach_low:g}, {reach_high:g}]) but "
                     f"the first loss, {first:.4g}, is {square / (reach_high - reach_low) ** 2:.3g}"
                     f"x the most an error within that range can cost: the targets lie outside "
                     f"it, where the network cannot reach")


def _target_size(e) -> tuple[float, str] | None:
    """The regression targets' typical size (root mean square) and how it is known: from the
    targets' mean and spread, or, where the loop's targets were not seen, from the first
    loss of an MSE whose network started on inputs of unit scale (its outputs are then about
    unit size, so a first loss far above 1 is the targets' mean square)."""
    s = e.setup
    mean, std = setup_value(s, "targets", "mean"), setup_value(s, "targets", "std")
    if mean is not None and std is not None:
        return math.hypot(mean, std), f"mean {mean:.4g}, std {std:.4g}"   # never overflows
    first = e.history.loss[0] if e.history.loss else None
    scaled = e.input_scale is not None and e.input_scale <= TARGET_SCALE
    if first is None or not math.isfinite(first) or first <= 0 or not scaled:
        return None
    square = first / (setup_value(s, "loss", "scale") or 1.0)
    return math.sqrt(square), f"the first loss {first:.4g} on inputs of unit scale"


def _unscaled_targets(e, open_):
    """Targets far from unit scale under a squared error, where the loss blew up or rose (the
    gradient is as large as the targets: the steps are too) or where it barely fell (the
    outputs start near 0 and must grow to the targets' size: under Adam, whose steps are
    about the rate whatever the gradient, that takes size / rate steps)."""
    s = e.setup
    if setup_value(s, "task") != "regress" or setup_value(s, "loss", "name") != "mse":
        return None
    known = _target_size(e)
    if known is None or known[0] <= TARGET_SCALE:
        return None
    size, how = known
    far = f"the regression targets are far from unit scale (typical size {size:.3g}: {how})"
    blew = e.nonfinite_at is not None
    if blew or any(k in open_ for k in ("loss_exploded", "loss_rose", "gradient_explodes")):
        return ("error" if blew else "warning"), (
            f"{far}: the squared error starts near {size * size:.4g} and its gradient is as "
            f"large, so the steps are about {size:.3g}x those of standardized targets")
    if not any(k in open_ for k in ("loss_flat", "loss_slow", "high_plateau")):
        return None
    return "warning", (f"{far}, and the loss barely fell: the outputs start near 0 and must "
                       f"grow to about {size:.3g}, while each step moves them by about the "
                       f"learning rate's size")


# (name, what, advice, test): the Cause fields, in the order they are checked.
SETUP_RULES = (
    ("unscaled_targets", "regression targets not scaled",
     "Standardize the targets: subtract their training mean, divide by their spread, and undo "
     "it on the predictions.",
     _unscaled_targets),
    ("softmax_one_output", "softmax on one output",
     "Use a sigmoid (with binary cross-entropy) for one yes/no output, no activation for a "
     "regression, or one output per class with softmax.", _softmax_one_output),
    ("wrong_loss", "wrong loss for the task",
     "Use one output per class with categorical cross-entropy (nn.CrossEntropyLoss on "
     "integer labels), or map the targets to 0/1 for a binary task.", _binary_loss_on_classes),
    ("output_range", "output cannot reach the targets",
     "Remove the output activation (a linear output) or scale the targets into its range.",
     _output_range),
    ("wrong_loss", "wrong loss for the task",
     "Use cross-entropy on the raw scores (nn.CrossEntropyLoss, or softmax with "
     "categorical cross-entropy) for a classifier; MSE and MAE are for regression.",
     _mse_on_classes),
    ("double_softmax", "softmax before a loss that applies its own",
     "Feed the loss the raw scores (remove the softmax layer): nn.CrossEntropyLoss applies "
     "log-softmax itself.", _double_softmax),
    ("logit_activation", "activation on the logits",
     "Remove the activation after the last layer: the loss's softmax (or BCEWithLogitsLoss's "
     "sigmoid) wants raw scores of any sign.", _logit_activation),
    ("output_range", "output cannot be a probability",
     "Use a sigmoid output with binary cross-entropy (or no activation with "
     "BCEWithLogitsLoss).", _probability_loss_on_scores),
    ("wrong_loss", "wrong loss for the task",
     "Use one softmax over the classes with categorical cross-entropy (nn.CrossEntropyLoss on "
     "the raw scores) for one-of-K labels.", _multilabel_on_one_hot),
)

