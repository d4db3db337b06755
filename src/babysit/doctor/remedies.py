"""The remedy table: each root cause the diagnosis names, mapped to the notes' remedies.

`REMEDIES[cause](cfg, suggest_lr)` lists the changes of the run configuration the notes
prescribe for `cause`, in order of preference (the first one not yet in effect is tried
first); `suggest_lr(cfg)` is the learning-rate range test's rate for cfg's network.
A remedy function may instead return a sentence: the evidence says no setting cures this
run's case of the cause. `INCURABLE` names the causes that no setting ever cures (the data is
at fault), with the reason; `UNTREATED` the ones the doctor notes and then treats past (a
property of the data that training can still live with). `prescribe` makes one decision from
a diagnosis.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from babysit.diagnose.causes import FIRST_LOSS_NONFINITE
from babysit.report.words import setting

ACTING = ("error", "warning")   # the severities the doctor treats; "info" is left alone

# Causes no setting of the run can cure: the doctor stops and says why.
INCURABLE = {
    "memorizing_noise": "the labels look random (training accuracy rises while validation "
                        "stays at chance): the network is memorizing noise, and no setting "
                        "cures that; check the labels and how the data was joined",
    "single_class": "the training labels hold a single class: there is nothing to learn; "
                    "check the label column and the split",
    "labels_without_signal": "unseen examples are classified at chance while the weights move "
                             "normally: the labels do not depend on the inputs, and no setting "
                             "cures that; check that each label belongs to its input",
    "label_in_inputs": "a feature gives every training row's label: the label is among the "
                       "inputs, and every score the doctor could judge by would read it; drop "
                       "that column from the table",
    "validation_leakage": "the validation rows are copies of training rows: the validation "
                          "score the doctor judges by measures memory; hold distinct rows out",
    "val_scaled_otherwise": "the validation inputs are not on the training inputs' scale: no "
                            "setting of the run cures a validation score on other inputs; "
                            "preprocess every split alike",
}

# Causes no setting cures but that do not stop training from improving: noted, treated past.
UNTREATED = {
    "class_imbalance": "one class dominates the labels: re-weighting or resampling the classes "
                       "is not a setting of the run (collect more examples of the rare classes "
                       "or resample them); the doctor treats the rest",
    "noisy_train_labels": "the training labels hold errors the validation labels do not: "
                          "cleaning them is not a setting of the run; the doctor treats the "
                          "rest, judged on validation",
}


@dataclass(frozen=True)
class Remedy:
    """One change the notes prescribe: `changes` (setting -> new value) and `because` (why,
    in a sentence)."""

    changes: dict
    because: str


# -- the remedy table: cause -> candidates, in order of preference ---------------------------
# Each entry is a function (cfg, suggest_lr, finding) -> [Remedy, ...] (or a sentence: why
# this case cannot be cured); suggest_lr(cfg) runs the learning-rate range test on cfg's
# network and data (None when the loss never fell); finding is the Finding being treated.

# The initializers from larger to smaller weights: exploding gradients and a bad initial loss
# ask for the next one.
SMALLER_INIT = {"he": "lecun", "xavier": "lecun", "lecun": "small", "sparse": "lecun"}


def _lower_lr(cfg, suggest_lr) -> Remedy:
    # The notes lower a rate that is too high 10x; the range test may ask for lower still.
    rate, tenth = suggest_lr(cfg), cfg.lr / 10
    if rate is not None and rate < tenth:
        return Remedy({"lr": _round(rate)}, f"the learning-rate range test suggests {rate:.2g} "
                      f"(the rate at its lowest loss / 10), below a tenth of the current "
                      f"{cfg.lr:.2g}")
    shown = "none" if rate is None else f"{rate:.2g}"
    return Remedy({"lr": _round(tenth)}, f"the notes: lower the learning rate 10x (the range "
                  f"test's rate, {shown}, is not lower)")


def _raise_lr(cfg, suggest_lr) -> Remedy:
    rate = suggest_lr(cfg)
    if rate is not None and rate > 1.1 * cfg.lr:
        return Remedy({"lr": _round(rate)}, f"the learning-rate range test suggests {rate:.2g} "
                      f"(the rate at its lowest loss / 10), above the current {cfg.lr:.2g}")
    return Remedy({"lr": _round(cfg.lr * 10)}, "the notes: raise the learning rate 10x (the "
                  "range test found no higher rate to suggest)")


def _new_network(cfg, suggest_lr, changes: dict, because: str) -> Remedy:
    """A remedy that changes what the network computes (BatchNorm, the activation): its rate is
    found again, by the range test on the changed network."""
    rate = suggest_lr(cfg.replace(**changes))
    if rate is None:
        return Remedy(changes, because)
    return Remedy({**changes, "lr": _round(rate)}, f"{because}; at the rate the range test "
                  f"finds for the changed network ({rate:.2g})")


def lr_too_high(cfg, suggest_lr, finding=None):
    return [_lower_lr(cfg, suggest_lr)]


def diverged(cfg, suggest_lr, finding=None):
    # The diagnosis names the likely cause in the finding's `what`: "diverged: <cause>".
    what = getattr(finding, "what", "")
    if "not scaled" in what:
        return unscaled_inputs(cfg, suggest_lr) + lr_too_high(cfg, suggest_lr)
    if "exploding" in what:
        return exploding_gradients(cfg, suggest_lr)
    if FIRST_LOSS_NONFINITE in what:
        return ("the loss was not finite at the first step, before any update: no learning "
                "rate causes that; scale the inputs and a regression's targets, and check the "
                "initialization")
    return lr_too_high(cfg, suggest_lr)


def loss_not_decreasing(cfg, suggest_lr, finding=None):
    rate = suggest_lr(cfg)
    if rate is None or cfg.lr / 3 <= rate <= 3 * cfg.lr:
        return []
    return [Remedy({"lr": _round(rate)}, f"the loss does not fall; the range test finds it "
                   f"falling at {rate:.2g}, not the current {cfg.lr:.2g}")]


def lr_too_low(cfg, suggest_lr, finding=None):
    return [_raise_lr(cfg, suggest_lr)]


def collapsed_predictions(cfg, suggest_lr, finding=None):
    rate = suggest_lr(cfg)
    if rate is not None and rate < cfg.lr / 3:
        return [_lower_lr(cfg, suggest_lr)]
    return ("the network predicts one class whatever the input, and the range test finds the "
            "learning rate is not too high: the inputs likely carry no signal (constant or "
            "blank rows?); check how the features were loaded")


def exploding_gradients(cfg, suggest_lr, finding=None):
    out = []
    rate = suggest_lr(cfg)
    if rate is not None and rate < 0.9 * cfg.lr:
        out.append(_lower_lr(cfg, suggest_lr))
    if cfg.init in SMALLER_INIT:
        smaller = SMALLER_INIT[cfg.init]
        out.append(Remedy({"init": smaller}, f"gradients that grow through depth start from "
                          f"weights too large for it: initialize smaller ({cfg.init} -> "
                          f"{smaller})"))
    if not cfg.batchnorm:
        out.append(_new_network(cfg, suggest_lr, {"batchnorm": True}, "BatchNorm re-scales "
                                "every layer's outputs to unit variance, so activations and "
                                "gradients cannot grow with depth"))
    if cfg.max_norm is None:
        out.append(Remedy({"max_norm": 3.0}, "a max-norm constraint (c = 3) bounds every "
                          "unit's weights, so updates cannot explode"))
    return out


# A penalty at least this strong (a table's default is 3e-2) shrinks the weights of units the
# data loss does not defend until they never fire: what looks like dead units, or like
# underfitting, on a table is then the penalty's doing, and weakening it comes first.
STRONG_PENALTY = 1e-2


def _weaker_penalty(cfg, what: str) -> list[Remedy]:
    """A strong penalty (`STRONG_PENALTY` and up) weakened 10x, as the first remedy for
    `what` it causes; [] for a weak one."""
    if cfg.reg < STRONG_PENALTY:
        return []
    weaker = _round(cfg.reg / 10)
    return [Remedy({"reg": weaker}, f"a penalty of {cfg.reg:g} shrinks the weights until "
                   f"{what}: weaken it 10x ({cfg.reg:g} -> {weaker:g})")]


def dead_units(cfg, suggest_lr, finding=None):
    out = _weaker_penalty(cfg, "units the data does not defend never fire")
    rate = suggest_lr(cfg)
    if rate is not None and cfg.lr > 3 * rate:
        out.append(Remedy({"lr": _round(rate)}, f"a large step knocks ReLUs into the region "
                          f"where they never fire again: the range test suggests {rate:.2g}, "
                          f"below the current {cfg.lr:.2g}"))
    if cfg.init != "he":
        out.append(Remedy({"init": "he"}, "He initialization keeps ReLU units' inputs at unit "
                          "variance, so half of them fire at the start"))
    if cfg.bias <= 0 and not cfg.batchnorm:
        out.append(Remedy({"bias": 0.01}, "the notes: a small positive bias (0.01) makes every "
                          "ReLU fire at the start, so it gets a gradient"))
    if cfg.activation == "relu":
        out.append(_new_network(cfg, suggest_lr, {"activation": "leaky_relu"}, "a leaky ReLU "
                                "has a small slope for negative inputs, so a unit pushed there "
                                "still gets a gradient"))
    out.append(Remedy({"lr": _round(cfg.lr / 3)}, "dead ReLUs are usually killed by too large "
                      "a step: lower the learning rate 3x"))
    return out


def saturated_units(cfg, suggest_lr, finding=None):
    out = []
    if cfg.preprocess == "none":
        out.append(Remedy({"preprocess": "standardize"}, "unscaled inputs drive tanh/sigmoid "
                          "units into their flat tails: standardize the inputs"))
    # Xavier or LeCun, the notes' calibrated scales for tanh/sigmoid; when one is in use and
    # units still saturate, the weights did not come out at its scale: draw them with the other.
    other = "lecun" if cfg.init == "xavier" else "xavier"
    out.append(Remedy({"init": other}, f"{other} initialization keeps each unit's input near "
                      f"unit variance, inside the non-flat part of tanh/sigmoid"))
    if not cfg.batchnorm:
        out.append(_new_network(cfg, suggest_lr, {"batchnorm": True}, "BatchNorm puts every "
                                "hidden unit's input at zero mean and unit variance, away "
                                "from the flat tails"))
    if cfg.preprocess != "standardize":
        out.append(Remedy({"preprocess": "standardize"}, "standardized inputs keep the first "
                          "layer's units out of their flat tails"))
    return out


def vanishing_gradients(cfg, suggest_lr, finding=None):
    out = []
    if cfg.activation in ("tanh", "sigmoid"):
        out.append(_new_network(cfg, suggest_lr, {"activation": "relu", "init": "he"}, "ReLU "
                                "passes gradients through unchanged where it fires, and He "
                                "initialization keeps their scale from layer to layer"))
    elif cfg.init != "he":
        out.append(Remedy({"init": "he"}, "He initialization keeps the gradients' scale from "
                          "layer to layer in a ReLU network"))
    if not cfg.batchnorm:
        out.append(_new_network(cfg, suggest_lr, {"batchnorm": True}, "BatchNorm re-centres "
                                "and re-scales every layer, so gradients keep their size "
                                "through depth"))
    return out


def unscaled_inputs(cfg, suggest_lr, finding=None):
    if cfg.preprocess in ("standardize", "minmax", "whiten-pca", "whiten-zca"):
        return []
    return [Remedy({"preprocess": "standardize"}, "the notes: zero-centre each feature and "
                   "divide it by its standard deviation (fitted on the training split)")]


def overfitting(cfg, suggest_lr, finding=None):
    out = []
    if cfg.reg < 1e-2:
        stronger = _round(max(cfg.reg * 10, 1e-3))
        out.append(Remedy({"reg": stronger, "reg_kind": "l2"}, f"the notes: a stronger L2 "
                          f"penalty ({cfg.reg:g} -> {stronger:g}) keeps the weights small"))
    if cfg.dropout < 0.5 and cfg.hidden:
        out.append(Remedy({"dropout": 0.5}, "the notes: dropout (p = 0.5) trains an ensemble of "
                          "thinned networks that cannot co-adapt to the training set"))
    if cfg.patience is None:
        out.append(Remedy({"patience": 5}, "early stopping ends training once validation "
                          "accuracy has not improved for 5 epochs"))
    return out


def underfitting(cfg, suggest_lr, finding=None):
    out = []
    if cfg.reg >= 1e-3:
        out.append(Remedy({"reg": _round(cfg.reg / 10)}, f"weaker regularization "
                          f"({cfg.reg:g} -> {cfg.reg / 10:g}) lets the model fit the data"))
    if cfg.dropout > 0:
        out.append(Remedy({"dropout": 0.0}, "dropout limits capacity the model lacks: turn it "
                          "off"))
    wider = tuple(2 * w for w in cfg.hidden) if cfg.hidden else (100,)
    out.append(Remedy({"hidden": wider}, f"the notes: a bigger model (hidden "
                      f"{setting(cfg.hidden)} -> {setting(wider)}) has the capacity "
                      f"to fit"))
    return out


def reg_too_strong(cfg, suggest_lr, finding=None):
    # A penalty that dominates the data loss is off by decades, not by a factor: two at once.
    if not cfg.reg:
        return []
    weaker, tenth = _round(cfg.reg / 100), _round(cfg.reg / 10)
    return [Remedy({"reg": weaker}, f"the penalty dominates the data loss: weaken it 100x "
                   f"({cfg.reg:g} -> {weaker:g})"),
            Remedy({"reg": tenth}, f"the penalty dominates the data loss: weaken it 10x "
                   f"({cfg.reg:g} -> {tenth:g})")]


def noisy_loss(cfg, suggest_lr, finding=None):
    return [Remedy({"batch_size": cfg.batch_size * 4}, f"the notes: the loss wiggles less with "
                   f"a larger batch ({cfg.batch_size} -> {cfg.batch_size * 4})")]


def bad_initial_loss(cfg, suggest_lr, finding=None):
    out = []
    if cfg.init in SMALLER_INIT:
        smaller = SMALLER_INIT[cfg.init]
        out.append(Remedy({"init": smaller}, f"the notes: initialize with smaller weights "
                          f"({cfg.init} -> {smaller}), so that the first scores are near zero "
                          f"and the first loss near chance"))
    return out + unscaled_inputs(cfg, suggest_lr)


REMEDIES: dict[str, Callable] = {
    "lr_too_high": lr_too_high,
    "diverged": diverged,
    "loss_not_decreasing": loss_not_decreasing,
    "collapsed_predictions": collapsed_predictions,
    "exploding_gradients": exploding_gradients,
    "lr_too_low": lr_too_low,
    "dead_units": dead_units,
    "saturated_units": saturated_units,
    "vanishing_gradients": vanishing_gradients,
    "unscaled_inputs": unscaled_inputs,
    "overfitting": overfitting,
    "underfitting": underfitting,
    "reg_too_strong": reg_too_strong,
    "noisy_loss": noisy_loss,
    "bad_initial_loss": bad_initial_loss,
}


def prescribe(cfg, findings, suggest_lr, tried=()) -> tuple[object, Remedy | None, str | None]:
    """The doctor's decision for one diagnosis: (the finding treated, its remedy, why nothing
    can be done).

    findings: root causes first, most severe first (`History.diagnose`). The first warning or
    error whose cause the doctor knows decides: an incurable cause (or a remedy function's
    sentence that this case cannot be cured) stops with its reason; else
    the first candidate remedy that changes something and is not in `tried` (a list of
    (cause, changes) already applied). A cause whose candidates are used up passes the turn
    to the next finding. (None, None, None) when nothing is left to treat.
    """
    for finding in findings:
        if finding.severity not in ACTING:
            continue
        if finding.cause in INCURABLE:
            return finding, None, INCURABLE[finding.cause]
        remedies = REMEDIES.get(finding.cause)
        if remedies is None:
            continue
        candidates = remedies(cfg, suggest_lr, finding)
        if isinstance(candidates, str):
            return finding, None, candidates
        for remedy in candidates:
            changes = {k: v for k, v in remedy.changes.items() if getattr(cfg, k) != v}
            if changes and (finding.cause, changes) not in tried:
                return finding, Remedy(changes, remedy.because), None
    return None, None, None


def _round(x: float) -> float:
    """A rate or strength to 2 significant digits, as a person would write it."""
    return float(f"{x:.2g}")


__all__ = ["ACTING", "INCURABLE", "REMEDIES", "UNTREATED", "Remedy", "prescribe",
           # each cause's remedy, as REMEDIES maps them
           "lr_too_high", "diverged", "loss_not_decreasing", "lr_too_low", "collapsed_predictions",
           "exploding_gradients", "dead_units", "saturated_units", "vanishing_gradients",
           "unscaled_inputs", "overfitting", "underfitting", "reg_too_strong", "noisy_loss",
           "bad_initial_loss"]
