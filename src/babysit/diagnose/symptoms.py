"""Symptoms: what is visibly wrong in a run, each with its severity and the numbers that show it.

A symptom names no cause. `babysit.diagnose.causes` decides which root cause explains which
symptoms (a too-high learning rate -> large update ratios -> dead ReLUs). Thresholds are
named constants, each with the reason for its value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from babysit.diagnose.evidence import Evidence, when

__all__ = ["EXPLODE_FACTOR", "RATIO_LOW", "RATIO_HIGH", "DEAD_WARNING", "SATURATED_INFO",
           "exploded_at_epoch_end", "EXPLODING_GAIN", "FELL_NOISE", "UNDERFIT_ACC",
           "PENALTY_HURTS", "PENALTY_PULLS", "val_fell",
           "UNDERFIT_GAP_SHARE", "STILL_FALLING", "still_falling",
           "OFF_CENTRE", "SCALE_HIGH", "SCALE_LOW", "ADAPTIVE_STEP", "ADAPTIVE_OFF_CENTRE",
           "FITS_ANY_LABELS", "Symptom", "symptoms", "worst"]

# -- the loss curve (the notes' "Loss function" picture)
EXPLODE_FACTOR = 3.0          # the loss above 3x where it started (or chance): it blew up; the
                              # one blow-up threshold (History.blowup_at, the report, checkpoints)
EXPLODE_ERROR = 30.0          # ... above 30x: nothing learned survives, an error
RISE_FACTOR = 1.1             # ending 10% above the start is more than batch-to-batch noise
FLAT_DECREASE = 0.1           # under 10% lower at the end than at the start: flat
LINEAR_PROGRESS = 0.65        # an exponential-like decay has done ~2/3 of its drop by half time
SLOW_END = 0.3                # ... and a slow run still ends above 30% of its start
PLATEAU_CHANCE = 0.5          # a plateau above half the chance loss has learned little
PLATEAU_PROGRESS = 0.9        # the drop was (almost) all done by half time ...
PLATEAU_LATE_DROP = 0.05      # ... and the second half gained under 5% of the start
NOISE_INFO = 0.1              # wiggle (std around the trend) over the total drop: visible
NOISE_WARNING = 2.0           # wiggle twice the loss's own level: one batch says little of it
                              # (a warning only where the wiggle is also NOISE_INFO of the drop)
# -- the initial loss: scores near zero give the chance loss (ln C for softmax); He init on a
# few classes starts at up to ~2x, so 3x means scores several units apart from the start
CHANCE_LOW, CHANCE_HIGH = 0.5, 3.0
CHANCE_HIGH_REGRESS = 10.0    # a regression's chance loss is outputs at 0; a fresh network's
                              # outputs add their own variance (He init on one-hot tables: a
                              # first MSE 3.1-4.9x chance on Hitters, Credit, CPS1985, Housing)
                              # and a batch of heavy-tailed targets swings; 10x is an output
                              # spread ~3x the targets' beyond that
# -- how much of a run there is to judge
FEW_UPDATES = 100             # under 100 updates the loss curve is its first fall and noise:
                              # neither its shape nor the accuracies say what is wrong yet
# -- update / weight norm ratios: the notes want ~1e-3
RATIO_LOW, RATIO_HIGH = 1e-4, 1e-2          # a decade either side of 1e-3: worth a note
RATIO_VERY_LOW, RATIO_VERY_HIGH = 1e-5, 3e-2  # further out: a warning
# A run that fits and whose smoothed loss fell this many times over has converged: its tiny
# updates at the end are the gradient's, not too low a rate (chosen on the fault zoo and the
# wine run of the ninth session's review; confirmed on the held-out runs)
CONVERGED = 10.0
# (the high side is the notes' rule for SGD, whose step is the gradient's size times the rate.
# Under an adaptive optimizer (ADAPTIVE_OPTIMIZERS) a large ratio stays a note and the loss
# judges the rate: healthy Adam 1e-3 runs start at 1e-2 to 2e-2, pytorch/examples' Adadelta
# 1.0 keeps 3.2e-2 to 3.5e-2 on its 9216-input layer, an Adam 0.1 that blew up 2.2e-3 median)
# -- units on the probe batch
DEAD_WARNING, DEAD_ERROR = 0.25, 0.9        # fraction of a ReLU layer's units that never fire
SATURATED_INFO, SATURATED_WARNING = 0.05, 0.2  # fraction of tanh/sigmoid values in the tails
SYMMETRY_SHARE = 0.9          # 90% of a hidden layer's units compute its first unit's function
                              # at the end: a constant initialization gave them one gradient,
                              # and nothing broke the tie (random init leaves ~0% equal); or
                              # at the start, with 90% of the next weighted layer's units equal
                              # too, so no gradient could tell them apart (a layer zeroed on
                              # purpose under a random one, as LoRA's B, is told apart at once)
# -- dropout
DROPOUT_STRONG = 0.8          # dropping 80% of the units keeps 1 in 5: the notes' 0.5 (and
                              # 0.2 on inputs) are the usual rates; 0.8 and up starves the layer
# -- gradients through depth (dL/d(first Linear's output) over dL/d(scores))
VANISHING_GAIN = 1e-2         # the first layer gets under 1% of the gradient at the scores
# (a warning only while the training accuracy is under UNDERFIT_ACC: a network that fits its
# training set got enough gradient to its first layers, e.g. Adam rescales each weight's step)
EXPLODING_GAIN = 10.0         # the gradient grows 10x on its way down the hidden layers
# -- accuracies
GAP_INFO = 0.02               # train above validation by 2 points: worth a note (and by
                              # FELL_NOISE standard errors of the validation accuracy: on a
                              # table's 36 validation rows one row is 2.8 points, noise)
GAP_WARNING = 0.08            # 8 points: the model learned the training set, not the task
                              # (a warning too needs the gap beyond FELL_NOISE standard errors:
                              # on 36 validation rows 3 misses are 8.3 points, within noise)
GAP_FELL = 0.05               # 5 points while validation fell from its best: overfitting too
VAL_FELL = 0.01               # validation 1 point below its best: it peaked
FELL_NOISE = 2.0              # ... and by 2 standard errors of an accuracy on the validation
                              # set: on 114 examples a 2-point fall is 1 example, noise
LOSS_GAP_INFO = 1.25          # no accuracy (regression): validation loss 1.25x the training
LOSS_GAP_WARNING = 2.0        # loss is worth a note, 2x (with VAL_LOSS_ROSE) a warning
VAL_LOSS_ROSE = 1.1           # ... a warning only once validation loss ended 10% above its
                              # minimum: on a small noisy table validation MSE sits 2x the
                              # training MSE at its best (mpg, Hitters, level with the MLP
                              # pipeline); overfitting is validation turning up from there
UNDERFIT_ACC = 0.9            # training accuracy under 90% (and validation never reached it:
                              # a model that once scored 90% is big enough; a low end is a dip)
UNDERFIT_GAP = 0.03           # ... that validation tracks within 3 points
UNDERFIT_GAP_SHARE = 0.25     # ... or within a quarter of what training misses: most of the
                              # error is on the training set itself (70% train, 66% val)
STILL_FALLING = 0.3           # the loss fell 30% of its end value in the second half: the run
                              # stopped while learning, so a low accuracy says "train longer",
                              # not "too small a model" (an info, not a warning)
FITS_ANY_LABELS = 2.0         # weights per training row: 2n + d weights in two ReLU layers fit
                              # any labels of n rows (Zhang et al. 2017, "rethinking
                              # generalization"); a network that large which fits no better is
                              # held back by the data's noise or its training, not its size
CHANCE_MARGIN = 0.05          # validation within 5 points of a constant answer: at chance
MEMORIZED = 0.2               # training 20 points above what a constant answer gets
COLLAPSE_SHARE = 0.95         # 95% of the probe examples get the same class
# -- regularization
PENALTY_HURTS = 0.3           # a classifier's penalty blamed for a low accuracy from 30% of
                              # the total loss (the zoo's L2 cases: 42-98%), or below it when
                              # validation fell from its best while the weights shrank (L1 on
                              # spiral at 21%: 0.66 -> 0.56); OJ's 18% with validation holding
                              # is the table's own limit (weaker penalties do worse there)
WEIGHT_SHRINK = 0.5           # weights ending under half their initial norm: decay dominates
PENALTY_DOMINATES = 0.5       # the penalty is half of the total loss at the end (while the
                              # weights did not grow: else the steps inflated it, not lambda)
PENALTY_PULLS = 1.2           # a regression's data loss ending 20% above its level at half
                              # time while the penalty is half the loss or more: the penalty
                              # pulls the fit away from the data (an outside tester's L2 of 1.0
                              # under Adam: 1.29, at R^2 0.63; a healthy penalized fit falls or
                              # holds to the end)
R2_POOR = 0.1                 # a regression whose data fit explains under 10% of the targets'
                              # variance is barely better than predicting their mean
# -- inputs (per feature, over the training set)
OFF_CENTRE = 3.0              # a typical feature's mean is 3 of its stds away from 0
SCALE_HIGH = 5.0              # inputs of typical size 5 start the scores 5x past calibrated init
SCALE_LOW = 1e-2              # inputs of typical size 0.01 barely move the scores
# (past any of these three, unscaled_inputs is a warning whatever the run reached: every
# initialization, PyTorch's default and He or Xavier, is sized for inputs of unit scale, so
# the first layer starts off by that factor and gets a gradient off by it too. The healthy
# runs of torch_bugs and the engine's benchmarks sit at typical sizes 0.26-1.0 and at most
# 0.04 of a std off centre. Under an adaptive optimizer the gradient's size is divided out,
# and moderate inputs are a note, within both of these:)
ADAPTIVE_STEP = 2e-2          # Adam moves each weight by about its rate, so inputs of size s
                              # move the first layer as rate x s would on unit inputs: 1e-3 x
                              # 13 (DeepFD row 30) is within Adam's usual 1e-4..1e-2; the zoo's
                              # unscaled Adam runs (1e-3 x 48 and up) are past it
ADAPTIVE_OFF_CENTRE = 4.5     # a first-layer unit keeps one sign on every row when its offset
                              # passes ~3 of its spreads: at init a share P(|z| > 3 / m) of
                              # the units at an offset of m spreads: half at m = 4.5 (37% at 3.6)
# -- labels
IMBALANCE_MARGIN = 0.02       # validation within 2 points of always answering the majority


@dataclass(frozen=True)
class Symptom:
    """One visible problem: severity ("error" | "warning" | "info") and the evidence text."""

    severity: str
    text: str


def _worse(a: str, b: str) -> str:
    order = ("info", "warning", "error")
    return a if order.index(a) >= order.index(b) else b


def symptoms(e: Evidence) -> dict[str, Symptom]:
    """Every symptom visible in `e`, by name."""
    found: dict[str, Symptom] = {}
    for rule in (_loss, _initial_loss, _ratios, _units, _depth, _accuracy, _loss_gap,
                 _predictions, _penalty):
        found.update(rule(e))
    return found


def _loss(e: Evidence) -> dict[str, Symptom]:
    c = e.curve
    if c is None:
        return {}
    out = {}
    if c.peak > EXPLODE_FACTOR * c.ceiling:
        out["loss_exploded"] = Symptom(
            "error" if c.peak > EXPLODE_ERROR * c.ceiling else "warning",
            f"the loss blew up from {c.first:.4g} to {c.peak:.4g} (smoothed) by "
            f"{when(e.history, c.peak_at)}")
    elif c.end > RISE_FACTOR * max(c.ceiling, c.start):  # one first batch can be lucky
        out["loss_rose"] = Symptom("warning", f"the loss rose from {c.start:.4g} to {c.end:.4g} "
                                              f"over {c.n} iterations")
    elif c.drop < FLAT_DECREASE * c.start:
        went = "went up" if c.end > c.start else "only went"   # up, though below a blow-up
        out["loss_flat"] = Symptom("warning", f"the loss {went} from {c.start:.4g} to "
                                              f"{c.end:.4g} in {c.n} iterations")
    elif c.progress < LINEAR_PROGRESS and c.end > SLOW_END * c.start:
        out["loss_slow"] = Symptom(
            "warning", f"the loss decreases slowly and nearly linearly: {c.start:.4g} -> "
                       f"{c.mid:.4g} at half time -> {c.end:.4g} at the end "
                       f"({c.progress:.0%} of the drop by half time)")
    elif (e.chance_loss and c.end - e.loss_floor > PLATEAU_CHANCE * (e.chance_loss
                                                                    - e.loss_floor)
          and (c.mid - c.end) / c.start < PLATEAU_LATE_DROP and c.progress > PLATEAU_PROGRESS):
        out["high_plateau"] = Symptom(
            "warning", f"the loss fell from {c.start:.4g} to {c.mid:.4g} by half time, then "
                       f"plateaued at {c.end:.4g}, above half the chance loss "
                       f"{e.chance_loss:.4g}")
    if 0 < c.drop >= FLAT_DECREASE * c.start and c.wiggle is not None \
            and "loss_exploded" not in out:
        noise, loud = c.wiggle / c.drop, c.wiggle / c.level if c.level > 0 else 0.0
        # loud against a level near 0 is no noise to act on when it is a sliver of the loss's
        # fall (a hinge loss at 0.001 on separable data, spiking now and then)
        if noise >= NOISE_INFO:
            batch = f" at batch size {e.batch_size}" if e.batch_size else ""
            out["noisy"] = Symptom("warning" if loud > NOISE_WARNING else "info",
                                   f"in the second half the loss wiggles by {c.wiggle:.3g} (std), "
                                   f"{loud:.2g}x its mean {c.level:.3g} and {noise:.0%} of its "
                                   f"total drop of {c.drop:.3g}{batch}")
    return out


def _initial_loss(e: Evidence) -> dict[str, Symptom]:
    if not e.chance_loss or e.data_loss_first is None:
        return {}
    ratio = e.data_loss_first / e.chance_loss
    loss = ((e.setup or {}).get("loss") or {}).get("name")
    regress = not e.n_classes and loss in ("mse", "mae")
    # a regression's first loss below that of outputs at 0 is a random network whose outputs
    # happen to follow the targets a little: nothing smaller weights would mend
    if (regress or ratio >= CHANCE_LOW) and \
            ratio <= (CHANCE_HIGH_REGRESS if regress else CHANCE_HIGH):
        return {}
    of = (f" (the {loss.upper()} of outputs at 0)" if regress else
          f" of {e.n_classes} classes" if e.n_classes else "")
    return {"initial_loss_far": Symptom(
        "warning", f"the first data loss was {e.data_loss_first:.4g}, {ratio:.1f}x the chance "
                   f"loss {e.chance_loss:.4g}{of}")}


def _shown_ratios(ratios: dict) -> str:
    return ", ".join(f"{name} {r:.1e}" for name, r in ratios.items())


def _ratios(e: Evidence) -> dict[str, Symptom]:
    out = {}
    low = {n: r for n, r in e.ratios.items() if r < RATIO_LOW}
    high = {n: r for n, r in e.ratios.items() if r > RATIO_HIGH}
    if low:
        # tiny updates in a run that fits its training set and whose loss fell CONVERGED
        # times over: it converged, and the updates shrank with the gradient; no higher rate
        # would improve it
        c = e.curve
        converged = _fits(e) and c is not None and c.end * CONVERGED <= c.start
        out["ratio_low"] = Symptom(
            "warning" if min(low.values()) < RATIO_VERY_LOW and not converged else "info",
            f"median ||update|| / ||weights|| per update {_shown_ratios(low)} (want ~1e-3)"
            + (f", in a run that fits and whose loss fell from {c.start:.4g} to {c.end:.4g}: "
               f"it converged" if converged else ""))
    if high:
        out["ratio_high"] = Symptom(
            "warning" if max(high.values()) > RATIO_VERY_HIGH and not e.adaptive else "info",
            f"median ||update|| / ||weights|| per update {_shown_ratios(high)} (want ~1e-3"
            + (", for SGD: an adaptive optimizer moves each weight by about its rate)"
               if e.adaptive else ")"))
    return out


def _units(e: Evidence) -> dict[str, Symptom]:
    out = {}
    born = {n: v for n, v in e.dead.items() if v[0] >= DEAD_WARNING}
    grew = {n: v for n, v in e.dead.items() if v[0] < DEAD_WARNING <= v[1]}
    for name, layers, how in (("dead_start", born, "from the start"),
                              ("dead_grew", grew, "during training")):
        if layers:
            worst = max(max(v) for v in layers.values())
            shown = ", ".join(f"layer {n}: {v[1]:.0%} at the end ({v[0]:.0%} at the start)"
                              for n, v in layers.items())
            # Dead units matter when they keep the network from fitting. In one that fits its
            # training set (UNDERFIT_ACC, or a regression's data fit explaining R2_POOR of the
            # targets' variance or more) units silent from the start (a unit whose weights
            # point away from every row of a few-column table) are a note unless nearly all
            # died; units that died during training stay a warning (the rate may have killed
            # them) unless the optimizer adapts its steps per weight (Adam's first steps are
            # the rate itself, whatever the gradient), as when an L2 penalty prunes the units
            # a small table does not need (a fifth of a layer on Salaries, at R^2 0.5).
            fits = _fits(e) and (name == "dead_start" or e.adaptive)
            out[name] = Symptom("error" if worst >= DEAD_ERROR else "info" if fits
                                else "warning",
                                f"ReLU units that output 0 on every probe example ({how}): "
                                f"{shown}")
    same = {n: v for n, v in e.identical.items() if v >= SYMMETRY_SHARE}
    if same:
        shown = ", ".join(f"layer {n}: {v:.0%} of its units" for n, v in same.items())
        out["units_identical"] = Symptom(
            "error", f"units identical to the layer's first on every probe example at the end "
                     f"(symmetry never broken): {shown}")
    started = {n: v for n, v in e.identical_start.items()
               if min(v) >= SYMMETRY_SHARE and n not in same}
    if started:
        shown = ", ".join(f"layer {n}: {v[0]:.0%} of its units ({e.identical.get(n, 0):.0%} at "
                          f"the end), the next layer {v[1]:.0%}" for n, v in started.items())
        out["units_started_identical"] = Symptom(
            "warning", f"units identical to the layer's first at the start, in a layer and the "
                       f"one after it (a constant initialization: every unit got the same "
                       f"gradient, and only other randomness, such as the biases, told them "
                       f"apart since): {shown}")
    born = {n: v for n, v in e.saturated.items() if v[0] >= SATURATED_INFO}
    grew = {n: v for n, v in e.saturated.items() if v[0] < SATURATED_INFO <= v[1]}
    for name, layers in (("saturated_start", born), ("saturated_grew", grew)):
        if layers:
            worst = max(max(v) for v in layers.values())
            shown = ", ".join(f"layer {n}: {v[0]:.0%} at the start, {v[1]:.0%} at the end"
                              for n, v in layers.items())
            # units that saturated during training in a network that fits its training set
            # are confident features, a note (as dead units that grew there)
            fits = name == "saturated_grew" and _fits(e)   # a regression's too (R^2)
            out[name] = Symptom("warning" if worst >= SATURATED_WARNING and not fits else "info",
                                f"tanh/sigmoid outputs in the flat tails (gradient under 2% of "
                                f"its peak): {shown}")
    return out


def _fits(e: Evidence) -> bool:
    """The network fits its training set: UNDERFIT_ACC accuracy, or for a regression a data
    fit that explains at least R2_POOR of the targets' variance."""
    return ((e.train_acc is not None and e.train_acc >= UNDERFIT_ACC)
            or (e.r2 is not None and e.r2 >= R2_POOR))


def _depth(e: Evidence) -> dict[str, Symptom]:
    out = {}
    if e.depth_gain is not None and e.depth_gain < VANISHING_GAIN:
        fits = e.train_acc is not None and e.train_acc >= UNDERFIT_ACC
        out["gradient_vanishes"] = Symptom(
            "info" if fits else "warning",
            f"at the start the first layer's output gets {e.depth_gain:.1e} of the gradient at "
            f"the scores (want ~1)")
    if e.hidden_gain is not None and e.hidden_gain > EXPLODING_GAIN:
        out["gradient_explodes"] = Symptom(
            "warning", f"at the start the gradient grows {e.hidden_gain:.3g}x on its way down "
                       f"the hidden layers ({e.depth_gain:.3g}x from the scores to the first "
                       f"layer; want ~1)")
    return out


def _loss_gap(e: Evidence) -> dict[str, Symptom]:
    """Where there is no accuracy (a regression), the gap shows in the losses: validation
    loss well above the training data loss of the last epoch. A gap alone is a note (a noisy
    table's validation loss sits above its training loss at its best); it is a warning once
    validation loss turned up from its minimum (VAL_LOSS_ROSE), and a note again when the run
    put back the weights of that minimum (`BestWeights`: the harm is already cut)."""
    if e.val_loss is None or not e.train_loss:
        return {}
    ratio = e.val_loss / e.train_loss
    if ratio < LOSS_GAP_INFO:
        return {}
    vals = [v for v in e.history.val_loss if v is not None and math.isfinite(v)]
    lowest = min(vals, default=e.val_loss)
    rose = lowest > 0 and e.val_loss >= VAL_LOSS_ROSE * lowest
    kept = e.history.meta.get("best_weights") or {}
    text = (f"validation loss {e.val_loss:.4g} is {ratio:.1f}x the training loss "
            f"{e.train_loss:.4g} of the last epoch")
    if rose:
        text += f"; it rose from its minimum {lowest:.4g}"
    if rose and kept:
        text += f" (the weights of epoch {kept['epoch']}, its best, were put back)"
    warn = rose and not kept and ratio >= LOSS_GAP_WARNING
    return {"gap": Symptom("warning" if warn else "info", text)}


def _val_noise(e: Evidence) -> float:
    """FELL_NOISE standard errors of the validation accuracy (0 without a count of rows)."""
    return FELL_NOISE * math.sqrt(e.val_acc * (1 - e.val_acc) / e.n_val) if e.n_val else 0.0


def still_falling(c) -> bool:
    """Whether the loss curve `c` (a LossCurve, or None) still fell steeply at the end: by
    STILL_FALLING of its end value since half time, from below where it started (a loss that
    blew up and is coming down from 1e11 is not a run that stopped too soon)."""
    return c is not None and 0 < c.end < c.start and (c.mid - c.end) / c.end >= STILL_FALLING


def val_fell(e: Evidence) -> bool:
    """Validation accuracy ended below its best by VAL_FELL and by more than its noise."""
    return e.val_acc is not None and e.best_val is not None \
        and e.best_val - e.val_acc >= max(VAL_FELL, _val_noise(e))


def _kept_accuracies(e: Evidence) -> tuple[int, float, float] | None:
    """(epoch, train accuracy, validation accuracy) of the epoch whose weights the run put
    back at its end (`BestWeights`: history.meta["best_weights"]), when an earlier one's
    were; None otherwise. The model the run ends with is that epoch's, measured then."""
    epoch = (e.history.meta.get("best_weights") or {}).get("epoch")
    if not isinstance(epoch, int) or not 1 <= epoch < len(e.history.val_acc):
        return None
    train, val = e.history.train_acc[epoch - 1], e.history.val_acc[epoch - 1]
    return None if train is None or val is None else (epoch, train, val)


def _accuracy(e: Evidence) -> dict[str, Symptom]:
    if e.train_acc is None:
        return {}
    out = {}
    chance = e.val_chance if e.val_chance is not None else (
        1 / e.n_classes if e.n_classes else None)
    if e.val_acc is not None:
        gap = e.train_acc - e.val_acc
        noise = _val_noise(e)
        fell = val_fell(e)
        # As for a regression's losses (`_loss_gap`): where the run put back the weights of an
        # earlier epoch that neither trailed training by a warning's gap nor sat at chance,
        # the later epochs' harm is already cut, and is a note.
        kept = _kept_accuracies(e)
        put_back = "" if kept is None else (
            f" (the weights of epoch {kept[0]}, train {kept[1]:.3f} vs validation "
            f"{kept[2]:.3f}, were put back)")
        kept_fits = kept is not None and kept[1] - kept[2] < max(GAP_WARNING, noise)
        if chance is not None and e.val_acc <= chance + CHANCE_MARGIN \
                and e.train_acc >= chance + MEMORIZED:
            cut = kept_fits and kept[2] > chance + CHANCE_MARGIN
            out["val_at_chance"] = Symptom(
                "info" if cut else "warning",
                f"train accuracy {e.train_acc:.3f} but validation {e.val_acc:.3f}, no better "
                f"than always answering one class ({chance:.3f})" + (put_back if cut else ""))
        warn = gap >= max(GAP_WARNING, noise) or (fell and gap >= GAP_FELL)
        if warn or gap >= max(GAP_INFO, noise):
            shown = f"; val peaked at {e.best_val:.3f} and fell since" if fell else ""
            out["gap"] = Symptom(
                "warning" if warn and not kept_fits else "info",
                f"train accuracy {e.train_acc:.3f} vs validation {e.val_acc:.3f} (gap "
                f"{gap:.3f}) after {e.epochs} epochs{shown}" + (put_back if kept_fits else ""))
        # validation "tracks" training only within less than an overfitting warning's gap: at
        # train 0.56 a quarter of the misses is 11 points, and one run was told both to
        # regularize more and less
        overfits = "gap" in out and out["gap"].severity == "warning"
        if e.train_acc < UNDERFIT_ACC and e.best_val < UNDERFIT_ACC and not overfits \
                and gap < max(UNDERFIT_GAP, UNDERFIT_GAP_SHARE * (1 - e.train_acc)):
            c = e.curve
            learning = still_falling(c)
            out["underfit"] = Symptom(
                "info" if learning else "warning",
                f"validation accuracy {e.val_acc:.3f} tracks a low train accuracy "
                f"{e.train_acc:.3f}" + (f", while the loss still fell from {c.mid:.4g} at half "
                                         f"time to {c.end:.4g} at the end (train longer)"
                                         if learning else ""))
        if e.val_majority_share is not None and e.majority_share is not None \
                and e.majority_share > 1 / max(e.n_classes or 2, 2) + CHANCE_MARGIN:
            onto_majority = (e.predicted_class == e.majority_class
                             and (e.predicted_share or 0.0) >= COLLAPSE_SHARE)
            # a network that learnt its training labels by heart and answers no better than
            # the majority on new rows has memorized noise (val_at_chance), whatever the
            # shares: unless it answers the majority class, no imbalance is shown
            memorized = "val_at_chance" in out
            if (e.val_acc <= e.val_majority_share + IMBALANCE_MARGIN and not memorized) \
                    or onto_majority:
                out["majority_accuracy"] = Symptom(
                    "warning", f"validation accuracy {e.val_acc:.3f}, against "
                               f"{e.val_majority_share:.3f} for always answering class "
                               f"{e.majority_class}, which is {e.majority_share:.0%} of the "
                               f"training labels")
    return out


def _predictions(e: Evidence) -> dict[str, Symptom]:
    if e.predicted_share is None or e.predicted_share < COLLAPSE_SHARE:
        return {}
    if e.probe_label_share is not None and e.probe_label_share >= COLLAPSE_SHARE:
        return {}
    return {"collapsed": Symptom(
        "warning", f"at the end {e.predicted_share:.0%} of the probe examples are predicted "
                   f"as class {e.predicted_class}"
                   + (f" (its labels: at most {e.probe_label_share:.0%} in one class)"
                      if e.probe_label_share is not None else ""))}


def _penalty(e: Evidence) -> dict[str, Symptom]:
    out = {}
    shrunk = {n: g for n, g in e.weight_growth.items() if g < WEIGHT_SHRINK}
    if shrunk and e.penalty_share:
        shown = ", ".join(f"{n} to {g:.2g}x" for n, g in shrunk.items())
        out["weights_shrank"] = Symptom("info", f"the weights shrank over the run: {shown} "
                                                f"of their initial norm")
    grew = max(e.weight_growth.values(), default=1.0) > 1.0
    if e.penalty_share is not None and e.penalty_share >= PENALTY_DOMINATES and not grew:
        out["penalty_dominates"] = Symptom(
            "info", f"the penalty is {e.penalty_share:.0%} of the total loss at the end")
    return out


def worst(symptoms_: list[Symptom], floor: str = "info") -> str:
    """The most severe of `symptoms_` (at least `floor`)."""
    severity = floor
    for s in symptoms_:
        severity = _worse(severity, s.severity)
    return severity


def exploded_at_epoch_end(history) -> str | None:
    """Why the network at the end of the last epoch counts as exploded, or None: the mean
    loss of that epoch is above EXPLODE_FACTOR x the loss's start (or chance, when higher),
    the threshold `_loss` judges a blown-up loss by. The checkpoints never save such a network
    as the best (its validation accuracy can still beat an earlier epoch's)."""
    if not history.loss:
        return None
    ceiling = max(float(history.loss[0]), history.meta.get("chance_loss") or 0.0)
    recent = float(np.mean(history.loss[-max(1, history.iters_per_epoch):]))
    if recent > EXPLODE_FACTOR * ceiling:
        return (f"the loss exploded (mean {recent:.3g} over the epoch, above "
                f"{EXPLODE_FACTOR:g} x its start {ceiling:.3g}); lower the learning rate")
    return None
