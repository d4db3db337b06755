"""Root causes: which cause explains which symptoms, in the order a careful person checks them.

`CAUSES` runs from the data (a single class, identical inputs, unscaled inputs) through the
network (gradients through depth, dead and saturated units) and the training (the penalty,
the learning rate) to what shows in the accuracies last (memorization, imbalance, overfitting,
noise, under-fitting). A cause that applies claims the symptoms it explains: they become its
evidence, it takes the severity of the worst of them, and no later cause can claim them again.
So a too-high learning rate that kills ReLUs is one finding, "learning rate too high", with the
large update ratios and the dead units as its evidence.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from babysit.diagnose import data_rules
from babysit.diagnose.evidence import Evidence, when
from babysit.diagnose.setup import SETUP_RULES, constant_output
from babysit.diagnose.symptoms import (
    ADAPTIVE_OFF_CENTRE,
    ADAPTIVE_STEP,
    CONVERGED,
    DEAD_WARNING,
    DROPOUT_STRONG,
    EXPLODING_GAIN,
    FEW_UPDATES,
    FITS_ANY_LABELS,
    GAP_INFO,
    GAP_WARNING,
    OFF_CENTRE,
    PENALTY_DOMINATES,
    PENALTY_HURTS,
    PENALTY_PULLS,
    R2_POOR,
    RATIO_HIGH,
    RATIO_LOW,
    SATURATED_INFO,
    SCALE_HIGH,
    SCALE_LOW,
    STILL_FALLING,
    SYMMETRY_SHARE,
    UNDERFIT_ACC,
    Symptom,
    val_fell,
    worst,
)

__all__ = ["Cause", "CAUSES", "explain"]

# What every cause may explain about the loss and the accuracies, when it is the root.
_LOSS = ("loss_exploded", "loss_rose", "loss_flat", "loss_slow", "high_plateau")
_OUTCOME = ("underfit", "collapsed", "majority_accuracy")
# What a setup that cannot learn the task explains: whatever the loss and the units then do.
_SETUP_CLAIMS = ("initial_loss_far", "ratio_low", "ratio_high", "dead_start", "dead_grew",
                 "saturated_start", "saturated_grew", "gradient_vanishes", "noisy",
                 "val_at_chance", *_LOSS, *_OUTCOME)


@dataclass(frozen=True)
class Cause:
    """A root cause: `name` (the machine-readable cause), `what` a person reads, `advice`,
    the symptoms it `claims` when it applies, and `test(evidence, open_symptoms)`, which
    returns (base severity, its own evidence text or "") when the cause applies, else None.
    `concerns(evidence)` names the layers or parameters it is about; `supersedes` the causes
    it explains when it applies (they are not checked after it). A finding's severity is the
    worst of its base and its claimed symptoms', unless `judges`: then the test has weighed
    the symptoms it claims (as consequences that did no harm) and its base is the severity.
    `advise(evidence)`, when given, is the advice for this run (`advice` less the remedies
    it already uses)."""

    name: str
    what: str
    advice: str
    claims: tuple[str, ...]
    test: Callable[[Evidence, dict[str, Symptom]], tuple[str, str] | None]
    concerns: Callable[[Evidence], tuple[str, ...]] = lambda e: ()
    supersedes: tuple[str, ...] = ()
    judges: bool = False
    advise: Callable[[Evidence], str] | None = None

    def advice_for(self, e: Evidence) -> str:
        """The advice for the run `e` describes."""
        return self.advise(e) if self.advise is not None else self.advice


def _from(*names: str) -> Callable:
    """A test that applies when one of the symptoms `names` is still unexplained, at the
    severity of the worst of them."""
    def test(e, open_):
        found = [open_[name] for name in names if name in open_]
        return (worst(found, "info"), "") if found else None
    return test


def _unscaled(e: Evidence) -> str | None:
    """What is wrong with the input scale, in words, or None (a network whose first layer is a
    BatchNorm standardizes its own inputs)."""
    if e.history.meta.get("inputs_normalized"):
        return None
    if e.input_mean is not None and e.input_mean > OFF_CENTRE:
        return (f"a typical feature's mean is {e.input_mean:.3g} of its standard deviations "
                f"from 0 (want 0: centred)")
    if e.input_scale is not None and e.input_scale > SCALE_HIGH:
        return (f"the inputs' typical size (root mean square) is {e.input_scale:.3g} (want ~1), "
                f"feature spreads differ {e.input_spread:.3g}x")
    if e.input_scale is not None and e.input_scale < SCALE_LOW:
        return f"the inputs' typical size (root mean square) is {e.input_scale:.2g} (want ~1)"
    return None


def _dead_unit_advice(rate_first: bool) -> Callable[[Evidence], str]:
    """The dead-units advice for a run: the notes' remedies (biases at 0 or 0.01, He
    initialization, a lower rate, leaky ReLU), less those babysit's network already uses (read
    from meta["model"]: its Linear layers' init and bias), the rate first where units died
    during training (`rate_first`), the start's settings first where they were dead at once."""
    def advise(e: Evidence) -> str:
        linear = _LINEAR.findall(str(e.history.meta.get("model") or ""))
        he = bool(linear) and all(init == "he" for init, _ in linear)
        zero = bool(linear) and all(bias in ("0.0", "0.01", "None") for _, bias in linear)
        start = ([] if zero else ["start biases at 0 (or 0.01)"]) + \
            ([] if he else ["use He initialization"])
        remedies = (["lower the learning rate", *start] if rate_first else
                    [*start, "lower the learning rate"]) + ["try leaky ReLU"]
        return f"Dead ReLUs never recover: {', '.join(remedies[:-1])}, or {remedies[-1]}."
    return advise


# A babysit Linear layer in meta["model"]: "Linear(n_in=64, n_out=100, init='he', bias=0.0)"
_LINEAR = re.compile(r"Linear\([^)]*init='(\w+)'[^)]*bias=([^,)]+)\)")


def _bigger_or_less_regularized(e) -> str:
    """Under-fitting's advice: regularizing less only where the run regularizes (a penalty in
    its loss or the optimizer's weight decay, `complete`, or dropout)."""
    regularized = bool(e.penalty_share) or bool(e.dropout)
    return ("Make the model bigger (wider or more layers)"
            + (" or regularize less." if regularized else "; it is not regularized."))


def _rate(e) -> float | None:
    """The run's largest learning rate, where it is a positive finite number."""
    lr = getattr(e, "lr", None)
    return lr if isinstance(lr, int | float) and math.isfinite(lr) and lr > 0 else None


def _rate_advice(lower: bool, tail: str) -> Callable[[Evidence], str]:
    """A learning-rate cause's advice with the run's own rate and the range to try (3-10x
    lower or higher), then the sentence `tail`; without a known rate, the factors alone."""
    def advise(e: Evidence) -> str:
        lr = _rate(e)
        move = "Lower" if lower else "Raise"
        if lr is None:
            return f"{move} the learning rate 3-10x. {tail}"
        low, high = (lr / 10, lr / 3) if lower else (3 * lr, 10 * lr)
        return (f"{move} the learning rate 3-10x (from {lr:.3g}: try {low:.2g} to "
                f"{high:.2g}). {tail}")
    return advise


def _rate_may_be(high: bool) -> Callable[[Evidence], str]:
    """An update ratio's advice, naming the run's rate where known."""
    def advise(e: Evidence) -> str:
        lr = _rate(e)
        rate = f"learning rate ({lr:.3g})" if lr is not None else "learning rate"
        return (f"The {rate} may be too {'high' if high else 'low'}: weights should move by "
                f"~1e-3 of their size per update.")
    return advise


def _more_regularized(e: Evidence) -> str:
    """Over-fitting's advice, by what the run already uses: a penalty (its loss's or the
    optimizer's weight decay) made stronger or one added, dropout raised or added."""
    if not e.penalty_share and not e.dropout:
        items = "add an L2 penalty (e.g. 1e-4) or dropout (0.2-0.5)"
    else:
        penalty = ("make the penalty (L2 or weight decay) 3-10x stronger" if e.penalty_share
                   else "add an L2 penalty (e.g. 1e-4)")
        dropout = f"raise dropout above {e.dropout:g}" if e.dropout else "add dropout (0.2-0.5)"
        items = f"{penalty} or {dropout}"
    return f"Regularize more: {items}; or get more training data."


def _saturation_advice(e: Evidence) -> str:
    """Saturated units' advice less what the run already does: smaller weights unless every
    Linear layer starts with Xavier or LeCun, standardized inputs unless they are, BatchNorm
    unless the network has it (read from meta["model"], babysit's network)."""
    model = str(e.history.meta.get("model") or "")
    inits = [init for init, _ in _LINEAR.findall(model)]
    remedies = []
    if not inits or any(init not in ("xavier", "lecun") for init in inits):
        remedies.append("initialize with smaller weights (Xavier/LeCun for tanh and sigmoid)")
    if _unscaled(e) or e.input_mean is None:
        remedies.append("standardize the inputs")
    if "BatchNorm" not in model:
        remedies.append("add BatchNorm")
    if not remedies:
        return ("Lower the learning rate (units saturated as the weights grew), or use ReLU "
                "instead of tanh / sigmoid.")
    text = ", ".join(remedies[:-1]) + (", or " if len(remedies) > 1 else "") + remedies[-1]
    return text[0].upper() + text[1:] + "."


def _larger_batch(e: Evidence) -> str:
    """Noisy loss's advice with the run's batch size."""
    now = f" than {e.batch_size}" if e.batch_size else ""
    return f"Use a larger batch size{now} (or a lower learning rate): the loss is mostly noise."


def _identical_inputs(e, open_):
    if not e.constant_inputs:
        return None
    return "warning", ("every training input is the same (no feature varies): the network "
                       "cannot tell the examples apart")


def _diverged(e, open_):
    if e.nonfinite_at is None:
        return None
    h = e.history
    at = e.nonfinite_at
    lr = h.lr[at - 1] if len(h.lr) >= at else float("nan")
    text = (f"the loss became {h.loss[at - 1]} at {when(h, at)}, learning rate {lr:g}, after "
            f"starting at {h.loss[0]:.4g}")
    if e.early_ratios:
        text += (f"; updates were up to {max(e.early_ratios.values()):.2g} of the weights' "
                 f"size before (want ~1e-3)")
    return "error", text


# `_likely_divergence` when the very first loss was not finite
FIRST_LOSS_NONFINITE = ("not finite from the first loss, before any update: inputs, targets or "
                        "initial weights too large")


def _likely_divergence(e: Evidence) -> str:
    """Why a run diverged, from what it recorded before the loss stopped being finite."""
    if _unscaled(e):
        return "inputs not scaled"
    if e.nonfinite_at == 1:   # the first loss is taken before any update: no rate made it
        return FIRST_LOSS_NONFINITE
    if e.hidden_gain is not None and e.hidden_gain > EXPLODING_GAIN:
        return "exploding gradients"
    return "learning rate too high"


def _too_few_updates(e, open_):
    """A run too short for the rules that read the loss curve's shape or the accuracies:
    say so instead of guessing a learning rate or a collapse from its first updates (at the
    severity of what it would have guessed from: a short run with only notes stays a note).
    Tiny updates and a majority-class accuracy are judged however short the run."""
    updates = len(e.history.loss)
    if not updates or updates >= FEW_UPDATES or e.nonfinite_at is not None:
        return None
    if e.train_acc is not None and e.train_acc >= UNDERFIT_ACC:
        return None  # it learned the task already: nothing to judge
    if "majority_accuracy" in open_ or (
            "ratio_low" in open_ and open_["ratio_low"].severity != "info"):
        return None
    judged = [s for s in ("loss_flat", "loss_slow", "high_plateau", "collapsed", "underfit",
                          "ratio_low", "ratio_high", "noisy") if s in open_]
    if not judged and e.train_acc is None:
        return None
    return "info", (f"{updates} updates: too few to judge the learning rate or the network; "
                    f"train longer (at least {FEW_UPDATES} updates)")


def _no_gradient(e, open_):
    """Every recorded update of every weight is exactly 0: no gradient arrives (a constant
    output, a cut graph, frozen weights). A learning rate cannot be too low for that. A loss
    that fell CONVERGED times over did move the weights: the updates recorded came after it
    converged (a full-batch LBFGS at its tolerance, a hinge loss with every margin met)."""
    if "ratio_low" not in open_ or not e.no_update:
        return None  # no tiny updates left to explain (a setup cause claimed them)
    c = e.curve   # (from its very first loss, not from chance, and a loss that can reach 0)
    if c is not None and c.first > 0 and c.end >= 0 and c.end * CONVERGED <= c.first:
        return None
    return "error", ("every recorded update of every parameter is exactly 0: no gradient "
                     "reaches the weights, whatever the learning rate")


def _dropout_too_strong(e, open_):
    if e.dropout is None or e.dropout < DROPOUT_STRONG:
        return None
    hurts = any(s in open_ for s in ("underfit", "high_plateau", "loss_flat", "loss_slow")) \
        or (e.train_acc is not None and e.train_acc < UNDERFIT_ACC)
    return ("warning" if hurts else "info",
            f"dropout drops {e.dropout:.0%} of a layer's units at every step (usual: 20-50%)")


def _unscaled_silence(e, open_):
    """Unscaled inputs and not one nonzero update: inputs this large push every unit, the
    output's too, into a flat region (a ReLU at 0, a clipped or saturated output), so no
    gradient comes back. The scale is the root cause; an output activation that a loss
    clips is named after it. (A softmax over one output is constant at any scale.)"""
    text = _unscaled(e)
    if not text or not e.no_update or constant_output(e.setup):
        return None
    return "error", (f"{text}; not one update of any weight was nonzero: at this scale every "
                     f"unit, the output's too, sits where its gradient is 0")


# What moderately unscaled inputs do at the start, which an adaptive optimizer outgrows: the
# scores start s times too large, and units the offset turns off on every row stay off.
_UNSCALED_START = ("initial_loss_far", "dead_start", "saturated_start")


def _moderate_for_adaptive(e: Evidence) -> bool:
    """Inputs whose scale an adaptive optimizer divides out (symptoms.ADAPTIVE_STEP and
    ADAPTIVE_OFF_CENTRE): too large (not too small), a rate times their size within Adam's
    usual rates, off centre by at most ADAPTIVE_OFF_CENTRE spreads."""
    return (e.adaptive and e.lr is not None and e.input_scale is not None
            and e.input_scale >= SCALE_LOW and e.lr * e.input_scale <= ADAPTIVE_STEP
            and (e.input_mean or 0.0) <= ADAPTIVE_OFF_CENTRE)


def _unscaled_inputs(e, open_):
    """Inputs far from unit scale: a warning on their own (the thresholds' reason is beside
    symptoms.SCALE_LOW), even in a run that learns (SGD on digits' pixels 0..16 reaches 93%),
    as a softmax before the loss is; moderate ones under an adaptive optimizer are a note
    (`_unscaled_note`)."""
    text = _unscaled(e)
    if not text or (_moderate_for_adaptive(e) and not _start_error(open_)):
        return None
    return "warning", text


def _start_error(open_) -> bool:
    return any(open_[name].severity == "error" for name in _UNSCALED_START if name in open_)


def _unscaled_note(e, open_):
    """Moderately unscaled inputs under an adaptive optimizer (Adam moves each weight by about
    its rate whatever the gradient's size, so the scale does not reach the steps): a note that
    judges what they did at the start (the far first loss, units off on every row) unless
    that is an error. On DeepFD row 30's fix (counts 3.6 spreads off centre, Adam 1e-3),
    standardizing lost 0.5 points on 49,000 held-out rows over 10 seeds
    (benchmarks/realbugs/row30_scaling.py)."""
    text = _unscaled(e)
    if not text or not _moderate_for_adaptive(e) or _start_error(open_):
        return None
    return "info", (f"{text}; at a rate of {e.lr:g} under an adaptive optimizer that moves the "
                    f"first layer as {e.lr * e.input_scale:.2g} would on standardized inputs")


def _large_underfit(e, open_):
    """Under-fitting by a network with at least FITS_ANY_LABELS weights per training row: a
    note, since size is not what holds it back (the data's noise, or the training)."""
    if "underfit" not in open_ or not (e.n_params and e.n_train) \
            or e.n_params < FITS_ANY_LABELS * e.n_train:
        return None
    return "info", (f"{e.n_params} parameters for {e.n_train} training rows, enough to fit any "
                    f"labels of them: not too small a model")


def _fits_past_validation(e) -> bool:
    """Whether the model kept fitting its training rows after validation's best: training
    accuracy ends GAP_WARNING above validation and rose by GAP_INFO or more since the epoch
    validation peaked. That is over-fitting: a penalty too strong holds training back with
    it (the default table penalty shrinks every weight, so a shrink alone says nothing; the
    zoo's too-strong L1 lowers validation while training does not climb)."""
    train, val = e.history.train_acc, e.history.val_acc
    if e.train_acc is None or e.val_acc is None or e.train_acc - e.val_acc < GAP_WARNING \
            or len(train) != len(val):
        return False
    scored = [(v, i) for i, v in enumerate(val) if v is not None and train[i] is not None]
    if not scored:
        return False
    _, at = max(scored, key=lambda p: (p[0], -p[1]))
    return e.train_acc - train[at] >= GAP_INFO


# The symptoms of a classifier that learns too little
_UNDERFITS = ("underfit", "high_plateau", "loss_flat", "majority_accuracy")


def _fits_poorly(e, open_, symptoms) -> bool:
    """The model learns little: a regression's fit explains under R2_POOR of its targets'
    variance (R^2 against predicting their mean); a classifier shows one of `symptoms`, or
    ends under UNDERFIT_ACC training accuracy."""
    if e.r2 is not None:
        return e.r2 < R2_POOR
    return any(s in open_ for s in symptoms) \
        or (e.train_acc is not None and e.train_acc < UNDERFIT_ACC)


# A weight matrix ending under 1/100 of its initial norm: a decay or a constraint, not the
# data, set it (a rate too high grows weights; units that die keep theirs but for a decay,
# which at a usual lr * wd of 5e-4 a step takes 10,000 steps to halve them)
CRUSHED = 1e-2


def _constraint_too_tight(e, open_):
    """A max-norm constraint small enough to crush the weights (meta["constraints"]): a
    weight matrix ended under 1/100 of its initial norm while the model learns little. The
    update ratios then read high because the weights are tiny, not because of the rate."""
    given = e.history.meta.get("constraints")
    tight = [c for c in given if str(c).startswith("MaxNorm")] \
        if isinstance(given, list | tuple) else []
    crushed = {name: g for name, g in e.weight_growth.items() if g < CRUSHED}
    if not tight or not crushed:
        return None
    if not _fits_poorly(e, open_, (*_UNDERFITS, "val_at_chance")):
        return None
    name = min(crushed, key=crushed.get)
    return "warning", (f"{tight[0]} holds the weights down: {name} ended at "
                       f"{crushed[name]:.2g} of its initial norm, and the model learns little")


def _reg_too_strong(e, open_):
    if not e.penalty_share:
        return None
    if _fits_past_validation(e):
        return None
    # A regression's loss plateaus at the noise in its targets whatever the penalty (R^2 0.5
    # on Salaries' training rows, level with the MLP pipeline): its data fit against the mean
    # predictor says whether the penalty hurts, not the height of the plateau.
    # A classifier's low accuracy is the penalty's doing when the penalty is a large share of
    # the loss, or when validation fell from its best as the weights shrank; an 18% penalty
    # with validation holding (OJ, where weaker penalties do worse) is the table's limit.
    hurts = _fits_poorly(e, open_, _UNDERFITS) \
        and (e.r2 is not None or e.penalty_share >= PENALTY_HURTS or val_fell(e))
    if not ("weights_shrank" in open_ or "penalty_dominates" in open_):
        return None
    if hurts:
        return "warning", (f"the fit to the data explains {e.r2:.0%} of the targets' variance "
                           f"(R^2 against predicting their mean)" if e.r2 is not None else "")
    # A regression that fits, yet less well as the run goes on: the penalty, most of the
    # loss, pulls the weights back from the data
    if e.r2 is not None and e.curve is not None and e.curve.mid > 0 \
            and e.curve.end >= PENALTY_PULLS * e.curve.mid \
            and e.penalty_share >= PENALTY_DOMINATES:
        return "warning", (f"the data loss rose from {e.curve.mid:.4g} at half time to "
                           f"{e.curve.end:.4g} at the end while the penalty grew to "
                           f"{e.penalty_share:.0%} of the loss: it pulls the fit away from the "
                           f"data (R^2 {e.r2:.2f})")
    return None


def _lr_too_high(e, open_):
    # Tiny update ratios clear the rate of a blow-up, unless units died during the run: a dead
    # unit's weights get no gradient, so their ratios fall to 0 because of the blow-up.
    tiny = bool(e.ratios) and max(e.ratios.values()) < RATIO_LOW and "dead_grew" not in open_
    big = not e.ratios or max(e.ratios.values()) > RATIO_HIGH
    for symptom in ("loss_exploded", "loss_rose"):
        if symptom in open_ and not tiny:
            return open_[symptom].severity, ""
    if "high_plateau" in open_ and big:
        return "warning", ""
    if "ratio_high" in open_ and open_["ratio_high"].severity != "info":
        return "warning", ""
    # units that died after large first updates; an adaptive optimizer's first updates are
    # large at its default rate too (symptoms.RATIO_HIGH), so there the large steps must show
    # elsewhere as well: in the fit (dead_grew above a note) or a loss that jitters (noisy)
    early = max(e.early_ratios.values(), default=0.0)
    if "dead_grew" in open_ and early > RATIO_HIGH and (
            open_["dead_grew"].severity != "info" or "noisy" in open_):
        return "warning", (f"early in the run updates were {early:.2g} of the weights' size "
                           f"(want ~1e-3)")
    return None


def _lr_too_low(e, open_):
    """The loss hardly moves and neither do the weights (or no update ratios were recorded);
    or weights that barely move (under 1e-5 of their size per update) in a model that
    under-fits."""
    stuck = "ratio_low" in open_ and open_["ratio_low"].severity != "info"
    if stuck and ("underfit" in open_ or "high_plateau" in open_):
        return "warning", ""
    if not ("loss_flat" in open_ or "loss_slow" in open_):
        return None
    if e.ratios and "ratio_low" not in open_:
        return None  # the weights move at a normal pace: look at the other causes first
    return "warning", ""


def _still_learning(e, open_):
    """Under-fitting while the loss still falls fast (STILL_FALLING of its end value in the
    second half): the run stopped while learning, so the accuracy says "train longer", and
    a low one is worth a warning, not a note."""
    c = e.curve
    if "underfit" not in open_ or c is None or c.end <= 0 or (c.mid - c.end) / c.end \
            < STILL_FALLING:
        return None
    return "warning", f"{len(e.history.loss)} updates ({e.epochs} epochs) so far"


def _loud_noise(e, open_):
    """A wiggle loud enough to explain a low accuracy as well."""
    if "noisy" not in open_ or open_["noisy"].severity == "info":
        return None
    return open_["noisy"].severity, ""


def _layers_in(*names: str) -> Callable[[Evidence], tuple[str, ...]]:
    """concerns(): the layers named in the evidence's per-layer dicts `names`."""
    def concerns(e):
        out = []
        for name in names:
            out += [n for n in getattr(e, name) if n not in out]
        return tuple(out)
    return concerns


def _symmetric_layers(e):
    return tuple(n for n, v in e.identical.items() if v >= SYMMETRY_SHARE) + tuple(
        n for n, v in e.identical_start.items()
        if min(v) >= SYMMETRY_SHARE and e.identical.get(n, 0) < SYMMETRY_SHARE)


def _dead_layers(e):
    return tuple(n for n, v in e.dead.items() if max(v) >= DEAD_WARNING)


def _saturated_layers(e):
    return tuple(n for n, v in e.saturated.items() if max(v) >= SATURATED_INFO)


def _ratio_params(e):
    return tuple(n for n, r in e.ratios.items() if not RATIO_LOW <= r <= RATIO_HIGH)


# What weights held small by a penalty or a constraint show
_HELD_SMALL = ("weights_shrank", "penalty_dominates", "ratio_high", "dead_grew", "val_at_chance",
               "gap", *_LOSS, *_OUTCOME)

CAUSES: tuple[Cause, ...] = (
    Cause("single_class", "a single class in the training labels",
          "Check how the labels were read and filtered: a classifier needs examples of every "
          "class.", ("val_at_chance", "gap", "collapsed", "majority_accuracy", "underfit",
                     "initial_loss_far"), data_rules.single_class),
    Cause("labels_start_at_one", "labels numbered from 1",
          "Number the classes from 0 (subtract 1 from the labels) and give the network one "
          "output per class: output 0 is never a target, and a prediction may name it.",
          (), data_rules.labels_from_one),
    Cause("label_in_inputs", "the label is among the inputs",
          "Drop the label column (and any feature computed from the label) from the inputs: "
          "the network reads the answer instead of learning it, and new data will not carry "
          "it.", (), data_rules.label_among_inputs),
    Cause("validation_leakage", "validation rows copied from training",
          "Hold the validation rows out of training: split first, then oversample or augment "
          "the training part only, and drop repeated rows before splitting; judge the model "
          "on rows it never saw.", (), data_rules.val_copied),
    Cause("val_scaled_otherwise", "validation inputs scaled otherwise than training's",
          "Preprocess the validation (and test) inputs exactly as the training inputs: fit the "
          "scaler on the training rows once, then transform every split with it. If they are "
          "preprocessed alike, the validation rows come from elsewhere (a split by time or "
          "place): the network is judged outside the range it learnt.",
          ("gap", "val_at_chance"), data_rules.val_scaled_otherwise),
    Cause("noisy_train_labels", "training labels noisier than validation's",
          "Check the training labels (a sample by hand, or the rows the model gets wrong with "
          "confidence): the network fits unseen rows better than the training rows, whose "
          "labels hold errors. Clean or relabel them, or train with label smoothing and stop "
          "early; if the training rows are augmented or measured with dropout on, measure "
          "them as validation is.", ("underfit", "high_plateau", "loss_flat", "noisy"),
          data_rules.train_labels_noisier),
    Cause("wrong_loss", "a quantity classified",
          "Regress the quantity: one output with a mean squared error (--task regress on a "
          "table), its targets standardized; a classifier cannot learn a class from a row or "
          "two, and cannot tell 41 from 42 is near 43.",
          ("val_at_chance", "gap", "underfit", "majority_accuracy", "collapsed", "noisy",
           "initial_loss_far"), data_rules.quantity_classified),
    Cause("collapsed_predictions", "every input the same: one prediction for all",
          "The inputs carry nothing: check that the features are read (not all zero or all "
          "the same) and reach the network.",
          ("collapsed", "dead_start", "weights_shrank", "penalty_dominates", "ratio_high",
           "ratio_low", "val_at_chance", "gradient_vanishes", *_LOSS, *_OUTCOME),
          _identical_inputs),
    Cause("unscaled_inputs", "inputs not scaled: no gradient arrives",
          "Standardize the inputs (--preprocess standardize): subtract each feature's training "
          "mean and divide by its standard deviation.", ("ratio_low", *_SETUP_CLAIMS),
          _unscaled_silence, supersedes=("unscaled_inputs", "no_gradient")),
    *(Cause(name, what, advice, _SETUP_CLAIMS, test) for name, what, advice, test in SETUP_RULES),
    Cause("diverged", "diverged", "Lower the learning rate 10x (standardize the inputs, or add "
          "max-norm constraints) and train again.",
          ("ratio_high", "dead_grew", "saturated_grew", "initial_loss_far", "gradient_explodes",
           "gap", *_OUTCOME), _diverged, _ratio_params),
    Cause("unscaled_inputs", "inputs not scaled",
          "Standardize the inputs (--preprocess standardize): subtract each feature's training "
          "mean and divide by its standard deviation.",
          ("initial_loss_far", "dead_start", "saturated_start", "dead_grew", "saturated_grew",
           "ratio_high", "ratio_low", "noisy", "gradient_explodes", *_LOSS, *_OUTCOME),
          _unscaled_inputs),
    Cause("unscaled_inputs", "inputs not scaled (moderately, under an adaptive optimizer)",
          "Standardizing is still the usual practice (--preprocess standardize); at this "
          "scale an adaptive optimizer copes, so judge the run by its accuracy.",
          _UNSCALED_START, _unscaled_note, judges=True),
    Cause("symmetry", "symmetry not broken",
          "Initialize the weights randomly (He or Xavier), not with a constant: units that "
          "start equal get equal gradients and stay copies of each other.",
          ("units_identical", "units_started_identical", "gradient_vanishes", "dead_start",
           "dead_grew", "saturated_start", "saturated_grew", "ratio_low", "ratio_high",
           "initial_loss_far", "val_at_chance", "noisy", *_LOSS, *_OUTCOME),
          _from("units_identical", "units_started_identical"), _symmetric_layers),
    Cause("dropout_too_strong", "dropout too strong",
          "Lower the dropout rate to 0.2-0.5: at this rate the layer sees too few units to "
          "learn from.", ("underfit", "high_plateau", "loss_flat", "loss_slow"),
          _dropout_too_strong),
    Cause("vanishing_gradients", "vanishing gradients",
          "Use ReLU with He initialization (not sigmoid with small weights), fewer layers, or "
          "BatchNorm, so that the gradient reaches the first layers.",
          ("gradient_vanishes", "ratio_low", "ratio_high", "saturated_start", "saturated_grew",
           "noisy", *_LOSS, *_OUTCOME), _from("gradient_vanishes"),
          _layers_in("ratios")),
    Cause("dead_units", "dead units",
          "Dead ReLUs never recover: start biases at 0 (or 0.01), use He initialization, lower "
          "the learning rate, or try leaky ReLU.",
          ("dead_start", "gradient_vanishes", "weights_shrank", "penalty_dominates",
           "val_at_chance", "noisy", "ratio_low", *_LOSS, *_OUTCOME), _from("dead_start"),
          _dead_layers, advise=_dead_unit_advice(rate_first=False)),
    Cause("saturated_units", "saturated units",
          "Initialize with smaller weights (Xavier/LeCun for tanh and sigmoid), standardize "
          "the inputs, or add BatchNorm.",
          ("saturated_start", "initial_loss_far", "gradient_explodes", "gradient_vanishes",
           "ratio_low", *_LOSS, *_OUTCOME), _from("saturated_start"), _saturated_layers,
          advise=_saturation_advice),
    Cause("exploding_gradients", "exploding gradients",
          "Initialize with smaller weights (He for ReLU, Xavier for tanh), add BatchNorm, or "
          "use fewer layers, so that the gradient keeps its size through depth.",
          ("gradient_explodes", "initial_loss_far", "ratio_high", "ratio_low", "dead_grew",
           "noisy", *_LOSS, *_OUTCOME), _from("gradient_explodes"), _layers_in("ratios")),
    Cause("no_gradient", "no gradient reaches the weights",
          "Look for what stops the gradient: a constant output (softmax over one unit), a "
          "detached tensor or a cut graph, parameters frozen or missing from the optimizer.",
          ("ratio_low", "loss_flat", "loss_slow", "high_plateau", "gradient_vanishes",
           *_OUTCOME), _no_gradient),
    Cause("reg_too_strong", "regularization too strong",
          "Raise the max-norm constraint's c (3 or 4 is usual, the norm of a unit's incoming "
          "weights at a sensible scale): at this bound no unit can respond to its inputs.",
          (*_HELD_SMALL, "ratio_low", "gradient_vanishes"), _constraint_too_tight),
    Cause("reg_too_strong", "regularization too strong",
          "Lower the regularization strength 10x: the penalty pulls the weights to zero "
          "faster than the data can move them.", _HELD_SMALL, _reg_too_strong),
    Cause("too_few_updates", "too few updates to judge",
          "Train longer (more epochs, or a smaller batch for more updates per epoch), then "
          "judge the learning rate and the network.",
          ("loss_flat", "loss_slow", "high_plateau", "collapsed", "underfit", "ratio_low",
           "ratio_high", "noisy", "gap"),
          _too_few_updates),
    Cause("lr_too_high", "learning rate too high",
          "Lower the learning rate 3-10x: a good rate drops the loss fast at first, then "
          "levels off, with updates ~1e-3 of the weights.",
          ("ratio_high", "dead_grew", "saturated_grew", "noisy", *_LOSS, *_OUTCOME),
          _lr_too_high, _ratio_params,
          advise=_rate_advice(True, "A good rate drops the loss fast at first, then levels "
                                    "off, with updates ~1e-3 of the weights.")),
    Cause("lr_too_low", "learning rate too low",
          "Raise the learning rate 3-10x (or more) until the loss falls clearly in the first "
          "epoch and updates are ~1e-3 of the weights.",
          ("ratio_low", "loss_flat", "loss_slow", *_OUTCOME), _lr_too_low, _ratio_params,
          advise=_rate_advice(False, "Go further if the loss still does not fall clearly in "
                                     "the first epoch; updates should be ~1e-3 of the "
                                     "weights.")),
    Cause("class_imbalance", "class imbalance",
          "Balance the classes (resample or weight them) and judge the model by per-class "
          "accuracy: it has learned little beyond the majority class.",
          ("majority_accuracy", "collapsed", "underfit", "val_at_chance", "gap"),
          _from("majority_accuracy")),
    Cause("memorizing_noise", "memorizing noise",
          "The labels look random to the network: check that they belong to their inputs (a "
          "shuffled or misaligned label file); it is learning the examples by heart.",
          ("val_at_chance", "gap", "noisy"), _from("val_at_chance")),
    Cause("lr_too_low", "learning rate too low",
          "Raise the learning rate 3x: a good rate drops the loss fast at first, then levels "
          "off.", ("loss_slow", "collapsed", "underfit"), _from("loss_slow")),
    Cause("bad_initial_loss", "initial loss far from chance",
          "Initialize with smaller weights so the first scores are near zero (and check the "
          "data scale); run babysit.check.sanity first.", ("initial_loss_far",),
          _from("initial_loss_far")),
    Cause("collapsed_predictions", "predictions collapsed to one class",
          "Check the dead and saturated units and the labels; the network answers the same "
          "class whatever the input.", ("collapsed",), _from("collapsed")),
    Cause("loss_not_decreasing", "loss not decreasing",
          "Look at the dead and saturated units and run the gradient check: the updates move "
          "the weights without lowering the loss.", ("loss_flat",), _from("loss_flat")),
    Cause("noisy_loss", "noisy loss",
          "Use a larger batch size (or a lower learning rate): the loss is mostly noise.",
          ("noisy", "underfit"), _loud_noise, advise=_larger_batch),
    Cause("overfitting", "overfitting",
          "Regularize more (a stronger L2 penalty, dropout) or get more training data.",
          ("gap",), _from("gap"), advise=_more_regularized),
    Cause("noisy_loss", "noisy loss",
          "A larger batch size (or a lower learning rate) smooths the loss; some wiggle is "
          "normal for small batches.", ("noisy",), _from("noisy")),
    Cause("too_few_updates", "under-trained: stopped while still learning",
          "Train longer (more epochs), until the loss levels off; then judge the model's size.",
          ("underfit",), _still_learning),
    Cause("underfitting", "under-fitting by a network large enough to fit its rows",
          "A bigger model will not help: compare with what the data allow (a linear model or "
          "gradient boosting on the same rows); the noise in the labels may be the limit.",
          ("underfit",), _large_underfit, judges=True),
    Cause("underfitting", "under-fitting",
          "Make the model bigger (wider or more layers) or regularize less.",
          ("underfit",), _from("underfit"), advise=_bigger_or_less_regularized),
    Cause("dead_units", "dead units",
          "Dead ReLUs never recover: lower the learning rate, start biases at 0 (or 0.01) and "
          "use He initialization, or try leaky ReLU.", ("dead_grew",), _from("dead_grew"),
          _dead_layers, advise=_dead_unit_advice(rate_first=True)),
    Cause("saturated_units", "saturated units",
          "Initialize with smaller weights (Xavier/LeCun for tanh), standardize the inputs, "
          "or add BatchNorm.", ("saturated_grew",), _from("saturated_grew"), _saturated_layers,
          advise=_saturation_advice),
    Cause("lr_too_high", "update ratio too large",
          "The learning rate may be too high: weights should move by ~1e-3 of their size per "
          "update.", ("ratio_high",), _from("ratio_high"), _ratio_params,
          advise=_rate_may_be(high=True)),
    Cause("lr_too_low", "update ratio too small",
          "The learning rate may be too low: weights should move by ~1e-3 of their size per "
          "update.", ("ratio_low",), _from("ratio_low"), _ratio_params,
          advise=_rate_may_be(high=False)),
)


_OPPOSITE = {"lr_too_high": "lr_too_low", "lr_too_low": "lr_too_high"}


def explain(e: Evidence, found: dict[str, Symptom],
            causes: tuple[Cause, ...] = CAUSES) -> list[tuple[Cause, str, str, str]]:
    """(cause, severity, what, evidence text) for every cause that applies, in `causes` order;
    each symptom is explained by the first cause that applies and claims it."""
    open_ = dict(found)
    out, named, superseded = [], set(), set()
    for cause in causes:
        if _OPPOSITE.get(cause.name) in named or cause.name in superseded:
            continue  # never "too high" and "too low" in one diagnosis: the first one found leads
        hit = cause.test(e, open_)
        if hit is None:
            continue
        base, text = hit
        claimed = [open_.pop(name) for name in cause.claims if name in open_]
        parts = ([text] if text else []) + [s.text for s in claimed]
        what = cause.what
        if cause.name == "diverged":
            what = f"diverged: {_likely_divergence(e)}"
        out.append((cause, base if cause.judges else worst(claimed, base), what,
                    "; ".join(parts)))
        named.add(cause.name)
        superseded.update(cause.supersedes)
    return out
