"""Root causes a training loop makes, named by their mechanism: what babysit.torch's sitter
measured in a PyTorch loop (`history.monitors["torch"]`, `history.meta["setup"]`) and what any
run's labels and learning rates show.

These causes are checked before `babysit.diagnose.causes.CAUSES`: a loop that never zeroes its
gradients, trains in eval mode or steps parameters no gradient reaches explains the symptoms
(a loss that rises, tiny update ratios, a low accuracy) that the later causes would otherwise
blame on the learning rate or the model. Each is measured directly (a count of steps, a
parameter list, an autograd node) rather than inferred from the loss, so each applies only
when its own record says so; a history without the record (babysit's own engine) skips the
PyTorch ones. The thresholds are named constants with their reasons.

`complete(e)` adds to the evidence what the optimizer's weight decay does (a penalty the loss
never shows), so the existing "regularization too strong" rule judges it.
"""

from __future__ import annotations

import math
import statistics

import numpy as np

from babysit.diagnose.causes import CRUSHED, Cause
from babysit.diagnose.data_rules import val_off_scale
from babysit.diagnose.evidence import Evidence, when
from babysit.diagnose.setup import setup_value
from babysit.diagnose.symptoms import (
    CHANCE_MARGIN,
    IMBALANCE_MARGIN,
    MEMORIZED,
    OFF_CENTRE,
    PENALTY_DOMINATES,
    RATIO_LOW,
    SCALE_HIGH,
    SCALE_LOW,
    WEIGHT_SHRINK,
    still_falling,
)

# Every symptom a broken loop can produce: a root cause found in the loop explains them all.
EFFECTS = ("loss_exploded", "loss_rose", "loss_flat", "loss_slow", "high_plateau", "underfit",
           "collapsed", "majority_accuracy", "val_at_chance", "gap", "noisy", "ratio_low",
           "ratio_high", "dead_start", "dead_grew", "saturated_start", "saturated_grew",
           "gradient_vanishes", "gradient_explodes", "initial_loss_far", "weights_shrank",
           "penalty_dominates")
# What shows that a model learns too little (a partial loop bug matters only then).
_LEARNS_LITTLE = ("loss_flat", "loss_slow", "high_plateau", "underfit", "val_at_chance",
                  "majority_accuracy", "collapsed", "ratio_low")

CARRIED_SHARE = 0.5      # gradients carried over at half the checked steps: not a one-off
EVAL_SHARE = 0.5         # eval mode at half the checked steps: most of the training
SUM_FACTOR = 0.5         # a first loss above half of batch size x chance is a sum over the
                         # batch (a mean starts within 3x of chance: CHANCE_HIGH)
SUM_BATCH = 8            # ... told apart from a bad start only for batches of 8 or more
LR_COLLAPSE = 1e-3       # the rate under 1/1000 of its peak: no schedule means to stop there ...
LR_COLLAPSE_BY = 0.25    # ... within the first quarter of the run (cosine and one-cycle
                         # schedules are still above half their peak there)
LR_VANISHED = 1e-6       # or at a millionth of its peak or below (six cuts of 0.1) ...
LR_VANISHED_BY = 0.9     # ... before the last tenth (one-cycle ends at 1/250,000 of its peak,
                         # at the very end; milestones of 30, 60 and 90 epochs reach 1/1000)
LR_DROP = 1e-2           # or at 1/100 of its peak or below (two cuts of gamma 0.1), for good, ...
LR_DROP_BY = 0.1         # ... within the first tenth (milestones of 30 and 60 epochs, gamma
                         # 0.1, stepped every batch: 1/100 by step 60 of 1,410; an exponential
                         # decay of 0.9 an epoch is at 0.35 of its peak a tenth into 100 epochs)
SORTED_BATCH = 0.9       # batches whose commonest class is 90% of their rows ...
SORTED_SPREAD = 0.5      # ... from training labels whose commonest class is under half
SORTED_ROWS = 2          # ... judged where a batch holds 2 rows per class (smaller shuffled
                         # batches are mostly one class by chance)
ACCURACY_SLACK = 0.25    # a reported accuracy 25 points below what the loss guarantees
RESET_BACK = 0.95        # epochs whose first steps are back at 95% of the run's first loss or
RESET_SHARE = 0.75       # above, three quarters of those after the first, ...
RESET_FALLS = 0.9        # ... while the loss falls within nine tenths of the epochs (its second
                         # half below its first steps), in 5 epochs or more: the model is made
                         # again each epoch. A learning run's epochs do not start back at its
                         # start; a flat, noisy one falls within half its epochs, by chance; a
                         # model that learns nothing repeats the same losses, epoch after epoch,
                         # where its batches come in the same order (left out)
RESET_EPOCHS = 5
RESET_DEPTH = 0.05       # A reset undoes what an epoch learnt: the loss falls by 5% of the run's
RESET_UNDONE = 0.5       # first within a typical epoch (the median), and the typical boundary
                         # takes back half that fall or more. A run that learns slowly starts
                         # each epoch near its start too, but where the last one ended (chosen
                         # on the tune loops: a digits MLP re-initialized each epoch falls 14-19%
                         # of its first loss an epoch and takes back 98-112% of it)
SIGNAL_LOSS = 0.9        # a loss still at 90% of chance at the end: nothing learnt ...
SIGNAL_RISE = 0.1        # a training accuracy 10 points up over the second half: still learning
SIGNAL_UPDATES = 100     # ... after 100 updates or more (a digits MLP at Adam's 1e-3 has done
                         # most of its learning by then; fewer is too short to tell)
DECAY_LOSS = 0.25        # the optimizer's decay is half the loss, the weights shrank, and the
                         # data loss ends above a quarter of chance: the decay holds the scores
                         # small (a healthy digits run ends under a tenth of chance)
BN_BATCH = 8             # BatchNorm on batches of fewer rows: their mean and spread are noise
                         # (Wu & He, Group Normalization, 2018: its error climbs steeply below
                         # 8 a batch), and the running averages evaluation uses follow them
CLIP_KEPT = 0.1          # steps that used under 10% of the gradient backward made (clipped),
                         # while the model learns little


def _record(e: Evidence) -> dict | None:
    return e.history.monitors.get("torch")


def _names(names: list[str], most: int = 4) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def complete(e: Evidence) -> None:
    """Add the optimizer's weight decay to `e.penalty_share` when the loss carried no penalty:
    coupled decay (SGD, Adam) adds wd * w to the gradient, the gradient of (wd / 2) ||w||^2;
    AdamW's decoupled decay shrinks w by lr * wd * w a step, which Adam's own step matches
    for a penalty (wd * rms(gradient) / 2) ||w||^2. Its share of the end loss is the penalty
    over the penalty plus the data loss, at the last sample with the gradients read."""
    rec, params = _record(e), e.history.monitors.get("params")
    if e.penalty_share or not rec or not rec.get("decay") or not params or e.curve is None:
        return
    penalty = 0.0
    for name, decay in rec["decay"].items():
        pairs = [(g, v) for g, v in zip(params["grad_norm"].get(name, []),
                                       params["value_norm"].get(name, []), strict=False)
                 if g is not None and v is not None]
        size = rec["sizes"].get(name, 0)   # none (a damaged file): this decay's scale unknown
        if not pairs or rec["decoupled"] and size <= 0:
            continue
        grad, value = pairs[-1]
        scale = grad / math.sqrt(size) if rec["decoupled"] else 1.0
        penalty += 0.5 * decay * scale * value * value   # inf, not an error, past 1e154
    if penalty > 0:
        e.penalty_share = penalty / (penalty + max(e.curve.end, 0.0))


# -- the tests: (severity, evidence text) or None ----------------------------------------------

def _no_step(e, open_):
    rec = _record(e)
    if not rec or rec["steps"] or not e.history.loss or rec.get("stopped_at") is not None:
        return None   # (monitors that stopped counted no step after that)
    return "error", (f"log() recorded {len(e.history.loss)} losses but the optimizer never "
                     f"stepped: optimizer.step() is not called (or another optimizer steps)")


def _no_gradient(e, open_):
    rec = _record(e)
    if not rec or not rec["checked_steps"] or rec["no_grad_steps"] < rec["checked_steps"]:
        return None
    if rec.get("zero_grad_steps"):
        return None  # backward ran and gave zeros (a softmax over one output, an output that
        # is dead or clipped): no loop bug; `causes` names a gradient that never arrives
    if rec["cleared_steps"]:
        return "error", (f"backward() made gradients, but at step() they were gone at all "
                         f"{rec['checked_steps']} checked steps: zero_grad() runs between "
                         f"backward() and step()")
    if rec.get("no_grad_forwards") and "layers" not in e.history.monitors:
        return "error", (f"no parameter had a gradient at any of the {rec['checked_steps']} "
                         f"checked steps, and every forward of the model ran under "
                         f"torch.no_grad(): backward() reaches no parameter (a loss made to "
                         f"require gradients afterwards, loss.requires_grad_(), trains "
                         f"nothing)")
    return "error", (f"no parameter had a gradient at any of the {rec['checked_steps']} "
                     f"checked steps: loss.backward() is never called")


def _not_zeroed(e, open_):
    rec = _record(e)
    compared = rec and rec["carried_steps"] + rec["kept_steps"]
    if not compared or rec["carried_steps"] < CARRIED_SHARE * compared:
        return None
    return "error", (f"at {rec['carried_steps']} of {compared} checked steps the gradient "
                     f"step() used held more than that step's backward passes made: "
                     f"gradients of earlier steps were added in")


def _eval_mode(e, open_):
    rec = _record(e)
    if not rec or not rec["mode_modules"] or not rec["checked_steps"] \
            or rec["eval_steps"] < EVAL_SHARE * rec["checked_steps"]:
        return None
    return "warning", (f"the model was in eval mode at {rec['eval_steps']} of "
                       f"{rec['checked_steps']} checked steps: {_names(rec['mode_modules'])} "
                       f"trained as at evaluation (no dropout, BatchNorm's running statistics)")


def _train_mode_eval(e, open_):
    rec = _record(e)
    if not rec or not rec["mode_modules"] or not rec["train_mode_evals"]:
        return None
    return "warning", (f"{rec['train_mode_evals']} forward passes without gradients (an "
                       f"evaluation) ran in training mode in the first epoch: "
                       f"{_names(rec['mode_modules'])} dropped units or used (and updated) "
                       f"batch statistics while the accuracies were measured")


def _listed(key: str, says: str):
    """A test that warns about the parameters listed under monitors["torch"][key]: their
    names, then `says`."""
    def test(e, open_):
        rec = _record(e)
        return ("warning", f"{_names(rec[key])} {says}") if rec and rec[key] else None
    return test


def _not_in_optimizer(e, open_):
    """The parameters that require gradients, held by no group of the watched optimizer and
    whose norm never moved over the samples: a second optimizer (SparseAdam for an embedding
    beside Adam, SGD for one part and Adam for another) trains those it holds, and their
    norms move."""
    rec = _record(e)
    if not rec or not rec["not_in_optimizer"]:
        return None
    still = _never_moved(e, rec["not_in_optimizer"])
    if not still:
        return None
    return "warning", (f"{_names(still)} require gradients but no optimizer group holds them: "
                       f"they keep their initial values")


def _never_moved(e, names) -> list[str]:
    """Those of the parameters `names` whose recorded norms (monitors["params"]; None where
    not finite) never changed between samples by more than float rounding: nothing trained
    them."""
    norms = (e.history.monitors.get("params") or {}).get("value_norm") or {}
    return [name for name in names if not _moved(norms.get(name) or [])]


def _moved(norms: list) -> bool:
    """Whether a parameter's recorded norms (None where not finite) changed between samples,
    by more than float rounding."""
    finite = [v for v in norms if v is not None]
    return len(finite) >= 2 and max(finite) - min(finite) > 1e-6 * max(map(abs, finite))


def _without_gradient(e, open_):
    """The parameters without a gradient at every checked step whose norm never moved over the
    samples: a model that trains one head a step (round-robin tasks) leaves a head out of
    every checked step when their number shares a factor with `every`, and those heads move."""
    rec = _record(e)
    if not rec or not rec["checked_steps"] or rec["no_grad_steps"] >= rec["checked_steps"]:
        return None
    never = _never_moved(e, [n for n, k in rec["grad_none"].items()
                             if k >= rec["checked_steps"]])
    if not never:
        return None
    return "warning", (f"{_names(never)} never had a gradient at the {rec['checked_steps']} "
                       f"checked steps while the other parameters did: no gradient reaches "
                       f"them (a .detach(), a torch.no_grad() block or a tensor rebuilt from "
                       f"numbers cuts the graph)")


def _frozen(e, open_):
    rec = _record(e)
    if not rec or not rec["frozen"] or rec["frozen_untrained"]:
        return None
    return "info", (f"{_names(rec['frozen'])} have requires_grad=False (a frozen pretrained "
                    f"part, if intended)")


def _softmax_dim(e, open_):
    rec = _record(e)
    if not rec or rec["softmax_dim"] not in (0, -2):
        return None
    return "error", ("the (log-)softmax before the loss normalizes over dimension 0, the "
                     "examples of the batch, not over the classes: each example's scores "
                     "depend on the others'")


def _broadcast(e, open_):
    rec = _record(e)
    if not rec or not rec["broadcast"]:
        return None
    return "error", ("the MSE's output was expanded to the target's shape (an (N, 1) output "
                     "against an (N,) target): every output is compared with every target, "
                     "so the model can only learn their mean")


def _summed(e, open_):
    # An adaptive optimizer divides each step by the gradient's own running size, so a sum
    # over the batch moves the weights as its mean does (a VAE's summed loss under Adam is
    # PyTorch's own example): the sum explains nothing there
    if e.adaptive:
        return None
    # ln C when the chance loss is not given (a setup-aware chance loss leaves a sum unknown)
    chance = e.chance_loss or (math.log(e.n_classes) if e.n_classes else None)
    first, batch = e.history.loss[0] if e.history.loss else None, e.batch_size
    reduction = setup_value(e.setup, "loss", "reduction")
    known = reduction == "sum"
    # the size test only where the reduction is not known to be a mean (a PyTorch loop whose
    # loss graph was not seen): elsewhere a large first loss is a bad initialization
    big = (_record(e) is not None and reduction != "mean" and first is not None and chance
           and batch and batch >= SUM_BATCH
           and math.isfinite(first) and first >= SUM_FACTOR * batch * chance)
    if not (big or (known and any(s in open_ for s in ("loss_exploded", "loss_rose",
                                                       "ratio_high", "initial_loss_far")))
            or (known and e.nonfinite_at is not None)):
        return None
    shown = (f"the first loss {first:.4g} is {first / chance:.0f}x the chance loss "
             f"{chance:.4g} at batch size {batch}" if big else "the loss uses reduction='sum'")
    return ("error" if e.nonfinite_at is not None else "warning"), (
        f"{shown}: the loss is summed over the batch, so the gradient and the step are "
        f"{batch or 'batch size'}x those of a mean")


def _nll_on_scores(e, open_):
    """nll_loss fed what no log_softmax made (the autograd graph, or the output's values, show
    it): raw scores, or probabilities (a softmax or sigmoid without the log)."""
    act = setup_value(e.setup, "output", "activation")
    if setup_value(e.setup, "loss", "name") != "nll" \
            or setup_value(e.setup, "output", "seen") != "measured" \
            or act not in ("none", "relu", "nonnegative", "softmax", "sigmoid"):
        return None
    if act in ("softmax", "sigmoid"):
        return "error", (f"nll_loss is fed probabilities (a {act}), not log-probabilities: it "
                         f"only negates the target's probability, so the loss lies between -1 "
                         f"and 0 and its gradient is weak where the model is most wrong")
    return "error", ("nll_loss is fed scores no log_softmax made: it only negates the target's "
                     "score, so the loss falls without bound instead of towards 0")


def _lr_collapse(e, open_):
    """The rate cut to nothing early and never raised again (a restart, SGDR's, raises it:
    a cycle, not a collapse): under 1/1000 of its peak within the first quarter, at 1/100 or
    below within the first tenth (milestones meant for epochs reached in the first steps), or
    at a millionth of it or below before the last tenth (a plateau scheduler cutting on the
    wrong signal, a decay far too steep: the rest of the run trains nothing)."""
    lr = [v for v in e.history.lr if v is not None]
    if len(lr) < 20 or max(lr) <= 0:
        return None
    peak = max(lr)
    top = lr.index(peak)  # after the peak: a warm-up may start near 0
    floor = LR_DROP * peak * (1 + 1e-9)   # 0.1 * 0.1 of a rate, as floats, not above it

    def first_at(most: float, by: float) -> int | None:
        """The first step after the peak whose rate is at most `most`, within the first `by`
        of the run."""
        at = next((i for i, v in enumerate(lr[top:], top) if v <= most), None)
        return at if at is not None and at <= by * len(lr) else None

    low = first_at(LR_COLLAPSE * peak * (1 - 1e-9), LR_COLLAPSE_BY)   # under 1/1000
    if low is None:
        low = first_at(floor, LR_DROP_BY)
        if low is None:
            low = first_at(LR_VANISHED * peak * (1 + 1e-9), LR_VANISHED_BY)
            # late in a run, a plateau scheduler's many cuts after it converged are fine
            if low is None or not any(s in open_ for s in _LEARNS_LITTLE):
                return None
    if max(lr[low:]) > floor:
        return None
    return "warning", (f"the learning rate fell from {peak:.3g} to {lr[low]:.3g} by "
                       f"{when(e.history, low + 1)} and {lr[-1]:.3g} at the end, of "
                       f"{len(lr)} iterations: a scheduler stepped every batch where it "
                       f"counts epochs?")


def _lr_zero_at_start(e, open_):
    """A rate of exactly 0 at every step of the first epoch of a longer run: nothing trained
    in it, and a schedule that starts at 0 and is stepped per epoch (a warm-up counted in
    steps) stays near 0 for most of the run."""
    lr, per_epoch = e.history.lr, e.history.iters_per_epoch
    if not per_epoch or len(lr) < 2 * per_epoch or any(v != 0 for v in lr[:per_epoch]):
        return None
    started = next((i for i, v in enumerate(lr) if v != 0), None)
    if started is None:
        return "error", (f"the learning rate was 0 at every one of the {len(lr)} steps: "
                         f"nothing trained (a rate of 0 given, or a schedule that starts at 0 "
                         f"and was never stepped)")
    return "warning", (f"the learning rate was 0 at every step of the first epoch (the first "
                       f"{started} steps), so nothing trained there; at most {max(lr):.3g} "
                       f"after it")


def _sorted_batches(e, open_):
    rec = _record(e)
    share = rec and rec.get("batch_majority")
    counts = setup_value(e.setup, "targets", "counts")
    if share is None or share < SORTED_BATCH or e.majority_share is None \
            or e.majority_share >= SORTED_SPREAD or not e.batch_size \
            or not isinstance(counts, list) or e.batch_size < SORTED_ROWS * len(counts):
        return None
    return "warning", (f"in the first epoch the commonest class was {share:.0%} of a typical "
                       f"batch but {e.majority_share:.0%} of all the labels: the batches come "
                       f"in label order (not shuffled), so each step fits one class")


# A loop whose every step of the first epoch (3 steps or more, of the first STEPS compared:
# `babysit.torch.batches`) trained on the rows of the step before: one batch, learnt at the
# expense of every other row. A full-batch method (LBFGS, Rprop) steps on the whole training
# set by design, and so does a loop whose repeated batch is the one it evaluates its training
# accuracy on (`repeated_evaluated`).
SAME_BATCH_STEPS = 3
_FULL_BATCH_OPTIMIZERS = ("LBFGS(", "Rprop(")


def _same_batch(e, open_):
    rec = _record(e) or {}
    steps, repeats = rec.get("compared_steps") or 0, rec.get("repeated_steps") or 0
    optimizer = str(e.history.meta.get("optimizer") or "")
    if steps < SAME_BATCH_STEPS or repeats < steps - 1 or rec.get("repeated_evaluated") \
            or optimizer.startswith(_FULL_BATCH_OPTIMIZERS):
        return None
    return "warning", (f"every one of the first epoch's {steps} steps trained on the same "
                       f"{rec.get('repeated_rows') or 0} rows as the step before (value for "
                       f"value): the model learns those rows and no other")


def _chance_accuracy(e) -> float | None:
    if e.val_chance is not None:
        return e.val_chance
    if e.majority_share is not None:
        return e.majority_share
    return 1 / e.n_classes if e.n_classes else None


def _no_signal(e, open_):
    """The weights move at a normal pace and nothing is broken, yet unseen examples are
    classified at chance and the loss stays at the chance loss: the labels do not depend on
    the inputs (shuffled apart from them, misaligned)."""
    chance = _chance_accuracy(e)
    acc = e.val_acc if e.val_acc is not None else e.train_acc
    if chance is None or acc is None or acc > chance + CHANCE_MARGIN or e.curve is None \
            or not e.ratios or min(e.ratios.values()) < RATIO_LOW \
            or len(e.history.loss) < SIGNAL_UPDATES:
        return None
    if e.train_acc is not None and e.train_acc >= chance + MEMORIZED:
        return None  # it learns the training labels by heart: memorizing_noise names that
    if e.best_val is not None and e.best_val >= chance + MEMORIZED:
        return None  # unseen examples were once classified well above chance: the labels
        # carry signal, which the run lost (dropout too strong, a rate too high: their rules)
    if any(s in open_ for s in ("dead_start", "saturated_start", "gradient_vanishes",
                                "loss_exploded", "loss_rose", "weights_shrank")):
        return None
    if "dead_grew" in open_ and open_["dead_grew"].severity == "error":
        return None  # most of a layer died while training (too high a rate): it is broken
    if any(g < CRUSHED for g in e.weight_growth.values()):
        return None  # the weights were crushed (a decay explained first): they carry nothing
    if (e.input_mean or 0) > OFF_CENTRE or (e.input_scale or 1) > SCALE_HIGH \
            or (e.input_scale or 1) < SCALE_LOW:
        return None  # unscaled inputs explain a network that learns nothing
    c, accs = e.curve, [a for a in e.history.train_acc if a is not None]
    if still_falling(c) and len(accs) >= 2 and accs[-1] - accs[len(accs) // 2] >= SIGNAL_RISE:
        return None  # the loss still fell steeply and the accuracy rose over the second half:
        # the run stopped while learning (iris at Adam's 1e-3 for 120 updates, from a loss
        # 2.6x chance: 0.12 -> 0.44); a loss coming down to chance from a large start, the
        # accuracy flat, is no learning
    flat = e.chance_loss and c.end >= SIGNAL_LOSS * e.chance_loss
    if not (flat or "val_at_chance" in open_):
        return None
    which = "validation" if e.val_acc is not None else "training"
    return "warning", (f"{which} accuracy {acc:.3f} is chance ({chance:.3f}) while updates "
                       f"are of normal size (median ratio {min(e.ratios.values()):.1e} or more)"
                       + (f" and the loss ends at {e.curve.end:.4g}, the chance loss "
                          f"{e.chance_loss:.4g}" if flat else ""))


def _accuracy_against_loss(e, open_):
    """A training accuracy far below what the training loss guarantees. A row whose true
    class gets a probability of at most 1/2 costs a cross-entropy of at least ln 2, so a mean
    loss L over the last epoch's steps leaves at most L / ln 2 of its rows misclassified: the
    accuracy on them is at least 1 - L / ln 2 (evaluation mode without dropout only raises
    it). Reported well below that, the accuracy was computed wrong (the values of
    out.max(1) for its indices, labels of shape (N, 1) broadcast against (N,)), or on other
    rows. A loop's own accuracy only: the Trainer computes its own (and may evaluate an
    average of the weights, which lags the loss)."""
    if "torch" not in e.history.monitors or e.train_acc is None \
            or setup_value(e.setup, "loss", "reduction") != "mean":
        return None
    name, units = setup_value(e.setup, "loss", "name"), setup_value(e.setup, "output", "units")
    if not (name in ("cross_entropy", "nll") or name in ("binary_cross_entropy",
                                                           "bce_with_logits") and units == 1):
        return None   # (several binary outputs: an accuracy may count a row right only whole)
    means = [m for m in e.history.epoch_means(e.history.data_loss) if m is not None]
    if not means or means[-1] < 0:
        return None
    floor = 1 - means[-1] / math.log(2)
    if e.train_acc >= floor - ACCURACY_SLACK:
        return None
    return "warning", (f"the training accuracy reported is {e.train_acc:.3f}, but the last "
                       f"epoch's mean loss {means[-1]:.3g} leaves at most "
                       f"{1 - floor:.1%} of its rows misclassified (accuracy at least "
                       f"{floor:.3f}): the accuracy is computed wrong, or on other rows")


def _reset_each_epoch(e, open_):
    """The loss back at its start when most epochs begin, though it falls within nearly every
    epoch (by RESET_DEPTH of the start, typically), the next epoch's start takes back most of
    that fall, and the epoch's end classifies 20 points above chance: the model's weights are
    made again every epoch (an init call, or the model built, inside the epoch loop), so
    nothing learnt carries over. A run that learns slowly also starts every epoch near its
    first loss, but where the epoch before ended. A classifier only: its start is an
    untrained network's loss, near chance."""
    h = e.history
    epochs, per_epoch, ends = len(h.train_acc), max(h.iters_per_epoch, 1), h.epoch_bounds()
    loss = np.asarray(h.data_loss if len(h.data_loss) == len(h.loss) else h.loss, dtype=float)
    k = max(3, per_epoch // 10)        # a few steps at each side of a boundary, not one
    chance = _chance_accuracy(e)
    if epochs < RESET_EPOCHS or per_epoch < 2 * k or len(loss) < ends[-1] \
            or not e.chance_loss or chance is None or e.train_acc is None \
            or e.train_acc < chance + MEMORIZED:
        return None   # each epoch must learn something: a model that learns nothing (its
        # weights crushed by a decay, its output constant) has no start to go back to
    first = float(np.mean(loss[:k]))
    if not math.isfinite(first) or first <= 0:
        return None
    spans = [(a, b) for a, b in zip([0, *ends], ends, strict=False) if b - a >= 2 * k]
    if len(spans) < RESET_EPOCHS:
        return None   # epochs too short to tell their first steps from their second half
    starts = [float(np.mean(loss[a:a + k])) for a, _ in spans]
    finals = [float(np.mean(loss[b - k:b])) for _, b in spans]
    falls = sum(float(np.mean(loss[(a + b) // 2:b])) < start
                for (a, b), start in zip(spans, starts, strict=True))
    backs = sum(start >= RESET_BACK * first for start in starts[1:])
    repeats = sum(b - a == d - c and np.allclose(loss[a:b], loss[c:d], rtol=1e-3)
                  for (a, b), (c, d) in zip(spans, spans[1:], strict=False))
    if falls < RESET_FALLS * len(spans) or backs < RESET_SHARE * (len(spans) - 1) \
            or repeats:
        return None
    # what an epoch learnt, and what the next epoch's start took back of it
    fall = statistics.median(s - f for s, f in zip(starts, finals, strict=True))
    undone = statistics.median(s - f for s, f in zip(starts[1:], finals, strict=False))
    if fall < RESET_DEPTH * first or undone < RESET_UNDONE * fall:
        return None   # slow learning: each epoch starts where the last one ended
    return "error", (f"the loss was back at its start ({first:.4g}) when {backs} of the "
                     f"{len(spans) - 1} epochs after the first began, though it fell within "
                     f"{falls} of the {len(spans)} (typically by {fall:.3g}, of which the next "
                     f"start took back {undone:.3g}): the weights start again every epoch")


def _imbalance(e, open_):
    """Accuracy no better than always answering the commonest class, whose share the sitter
    learnt from the training labels (the validation counts are not known)."""
    if e.val_majority_share is not None or e.majority_share is None \
            or e.majority_share <= 1 / max(e.n_classes or 2, 2) + CHANCE_MARGIN \
            or e.no_update:
        return None  # (a network no gradient reached learnt nothing: not even the majority)
    # validation rows off the training rows' scale are misread whatever the classes' balance
    acc = e.val_acc if e.val_acc is not None and not val_off_scale(e) else e.train_acc
    if acc is None or acc > e.majority_share + IMBALANCE_MARGIN:
        return None
    return "warning", (f"accuracy {acc:.3f}, against {e.majority_share:.3f} for always "
                       f"answering class {e.majority_class}, which is {e.majority_share:.0%} "
                       f"of the training labels")


def _clipped(e, open_):
    rec = _record(e)
    # a diverged step's share is NaN in memory and null once saved: it tells nothing
    kept = [k for k in rec["grad_kept"] if k is not None and math.isfinite(k)] if rec else []
    if not kept or not any(s in open_ for s in _LEARNS_LITTLE):
        return None
    typical = statistics.median(kept)
    # AMP's GradScaler unscales by a power of two: that is no clipping
    scaler = all(k > 0 and abs(math.log2(k) - round(math.log2(k))) < 1e-6 for k in kept)
    if typical >= CLIP_KEPT or scaler:
        return None
    return "warning", (f"the gradient step() used was typically {typical:.2g} of the one "
                       f"backward made: clipped (clip_grad_norm_'s max_norm or "
                       f"clip_grad_value_'s clip_value) far below its size")


def _batchnorm_small_batch(e, open_):
    rec = _record(e)
    norms = rec and rec.get("batchnorm_modules")
    if not norms or not e.batch_size or e.batch_size >= BN_BATCH \
            or not any(s in open_ for s in (*_LEARNS_LITTLE, "noisy", "gap")):
        return None
    return "warning", (f"the BatchNorm layers {_names(norms)} normalize each training batch by "
                       f"its own mean and "
                       f"spread, and the batches hold {e.batch_size} rows: those statistics "
                       f"are noise, and the running averages used at evaluation follow them")


def _rnn_batch_first(e, open_):
    """A recurrent module built time-first (batch_first=False, PyTorch's default) was given
    (batch, time, features): it runs along the batch, carrying each row's state into the next
    row, and reads the time steps as independent rows. Seen on the probe pass: the module's
    first input axis as long as the model's output has rows, its second not."""
    rec = _record(e)
    modules = rec and rec.get("rnn_fed_batch_first")
    if not modules:
        return None
    one = len(modules) == 1
    return "error", (f"{_names(modules)} {'reads' if one else 'read'} (time, batch, features) "
                     f"but {'was' if one else 'were'} given the batch on the first axis: "
                     f"{'it steps' if one else 'each steps'} along the batch, from one row to "
                     f"the next")


def _decay_dominates(e, open_):
    """The optimizer's weight decay (no penalty in the loss) outweighs the data: the decay's
    share of the loss (`complete`) is over half, or the weights were crushed to under
    CRUSHED of their size (then their penalty is nothing: the share cannot tell), the
    weights shrank and the data loss stays high. (A decay that makes the model under-fit is
    judged by the existing rule.)"""
    rec = _record(e)
    if not rec or not rec["decay"] or e.history.reg_loss and any(e.history.reg_loss) \
            or not e.chance_loss or e.curve is None or e.curve.end < DECAY_LOSS * e.chance_loss:
        return None
    shrunk = {n: g for n, g in e.weight_growth.items() if g < WEIGHT_SHRINK}
    crushed = any(g < CRUSHED for g in shrunk.values())
    if not shrunk or not crushed and (not e.penalty_share
                                      or e.penalty_share < PENALTY_DOMINATES):
        return None
    kind = "AdamW's decoupled" if rec["decoupled"] else "the optimizer's"
    values = _names(sorted({f"{d:g}" for d in rec["decay"].values()}))
    if crushed and not (e.penalty_share and e.penalty_share >= PENALTY_DOMINATES):
        return "warning", (f"{kind} weight decay ({values}) crushed the weights "
                           f"({', '.join(f'{n} to {g:.2g}x' for n, g in shrunk.items())} "
                           f"their initial norm) while the data loss ends at "
                           f"{e.curve.end:.4g}, {e.curve.end / e.chance_loss:.0%} of the "
                           f"chance loss: the decay, not the data, sets them")
    return "warning", (f"{kind} weight decay ({values}) is {e.penalty_share:.0%} of the loss "
                       f"at the end; the weights shrank "
                       f"({', '.join(f'{n} to {g:.2g}x' for n, g in shrunk.items())}) and the "
                       f"data loss ends at {e.curve.end:.4g}, {e.curve.end / e.chance_loss:.0%} "
                       f"of the chance loss")


def _unmeasured(e, open_):
    rec = _record(e)
    if not rec or not rec.get("unmeasured"):
        return None
    return "info", "; ".join(rec["unmeasured"])


def _param_list(key: str):
    def concerns(e):
        rec = _record(e)
        return tuple(rec[key]) if rec else ()
    return concerns


def _gradless(e):
    rec = _record(e)
    return tuple(n for n, k in rec["grad_none"].items() if k >= rec["checked_steps"]) \
        if rec else ()


MECHANISMS: tuple[Cause, ...] = (
    Cause("no_optimizer_step", "optimizer.step() never called",
          "Call optimizer.step() after loss.backward() in every iteration (on the optimizer "
          "that holds the model's parameters). Create the optimizer once, before the loop, "
          "and watch that one: an optimizer created inside the loop steps instead of the "
          "watched one and starts its momentum (or Adam's averages) afresh at every step.",
          EFFECTS, _no_step),
    Cause("no_gradient", "no gradient reaches step()",
          "Call loss.backward() before optimizer.step(), and optimizer.zero_grad() before the "
          "forward pass (not between backward and step).", EFFECTS, _no_gradient),
    Cause("gradients_not_zeroed", "gradients not zeroed between steps",
          "Call optimizer.zero_grad() once per step, before the forward pass: PyTorch adds "
          "each backward's gradient to .grad.", EFFECTS, _not_zeroed,
          supersedes=("diverged",)),
    Cause("softmax_wrong_dim", "softmax over the wrong dimension",
          "Normalize over the classes: F.softmax(x, dim=1) / F.log_softmax(x, dim=1) (or no "
          "softmax at all before nn.CrossEntropyLoss).", EFFECTS, _softmax_dim),
    Cause("target_broadcast", "target shape broadcast in the loss",
          "Give the loss a target of the output's shape: y.view(-1, 1) for an (N, 1) output "
          "(PyTorch warns 'Using a target size that is different to the input size').",
          EFFECTS, _broadcast),
    Cause("wrong_loss", "nll_loss without log_softmax",
          "Apply F.log_softmax(x, dim=1) before nll_loss (nn.LogSoftmax, not nn.Softmax), or "
          "use F.cross_entropy on the raw scores (it does both).", EFFECTS, _nll_on_scores,
          supersedes=("diverged",)),
    Cause("eval_mode_training", "training in eval mode",
          "Call model.train() before the training steps (and after every evaluation, which "
          "calls model.eval()).", EFFECTS, _eval_mode),
    Cause("params_not_in_optimizer", "parameters not in the optimizer",
          "Build the optimizer over every parameter that should learn: "
          "torch.optim.Adam(model.parameters(), ...), after the model is complete.",
          EFFECTS, _not_in_optimizer, _param_list("not_in_optimizer")),
    Cause("params_without_gradient", "no gradient reaches some parameters",
          "Remove the .detach() / torch.no_grad() / .item()-and-rebuild between these layers "
          "and the loss, so that backward reaches them.", EFFECTS, _without_gradient, _gradless),
    Cause("frozen_params", "parameters frozen by mistake",
          "Set requires_grad=True on the layers that should learn (freeze only pretrained "
          "layers), then rebuild the optimizer.", EFFECTS,
          _listed("frozen_untrained", "have requires_grad=False and hold PyTorch's default "
                                      "initialization: random weights that never learn"),
          _param_list("frozen_untrained")),
    Cause("summed_loss", "loss summed over the batch",
          "Use reduction='mean' (the default), or divide the learning rate by the batch size.",
          EFFECTS, _summed, supersedes=("diverged",)),
    Cause("reg_too_strong", "weight decay too strong",
          "Lower the optimizer's weight_decay 10x (AdamW's default is 0.01; coupled decay in "
          "SGD or Adam is typically 1e-4 to 5e-4).", EFFECTS, _decay_dominates),
    Cause("lr_decayed_too_fast", "learning rate decayed to nothing",
          "Step an epoch-based scheduler (StepLR, ExponentialLR, MultiStepLR) once per epoch, "
          "after the epoch's batches, not after every batch.", EFFECTS, _lr_collapse),
    Cause("lr_zero_at_start", "learning rate 0 at the start",
          "A warm-up counted in optimizer steps must be stepped after every batch "
          "(scheduler.step() inside the batch loop), or counted in epochs; check that the "
          "optimizer's rate is the target and the schedule starts above 0.",
          EFFECTS, _lr_zero_at_start),
    Cause("batches_sorted_by_label", "batches sorted by label",
          "Shuffle the training data every epoch (DataLoader(..., shuffle=True)): each batch "
          "should hold a mix of classes.", EFFECTS, _sorted_batches),
    Cause("same_batch_every_step", "the same batch at every step",
          "Draw a new batch at every step: iterate over the loader (for xb, yb in loader:), "
          "not next(iter(loader)) inside the loop, which starts a new iterator each time and "
          "gives its first batch again unless the loader shuffles; a batch sliced once before "
          "the loop is the same at every step. If each step trains on the whole training set "
          "(full-batch), call end_epoch() after each step.", EFFECTS, _same_batch),
    Cause("gradients_clipped", "gradients clipped too hard",
          "Raise clip_grad_norm_'s max_norm to about the typical gradient norm, or "
          "clip_grad_value_'s clip_value to about its typical entries (or remove the "
          "clipping): steps of a tenth of the gradient learn ten times slower.",
          EFFECTS, _clipped),
    Cause("rnn_not_batch_first", "an RNN given batch-first input",
          "Build the recurrent layer with batch_first=True (nn.LSTM(..., batch_first=True)) "
          "when its input is (batch, time, features), or transpose the input to (time, batch, "
          "features) before it; then read the last time step as out[:, -1] (batch first) or "
          "out[-1] (time first).", EFFECTS, _rnn_batch_first),
    Cause("batchnorm_small_batch", "BatchNorm on tiny batches",
          f"Train with batches of at least {BN_BATCH} rows (better 32), or replace BatchNorm "
          f"with a normalization that does not depend on the batch (nn.LayerNorm, "
          f"nn.GroupNorm).", EFFECTS, _batchnorm_small_batch),
    Cause("train_mode_evaluation", "evaluated in training mode",
          "Call model.eval() before measuring the accuracies (and model.train() after): in "
          "training mode dropout drops units and BatchNorm uses, and updates, batch "
          "statistics.", ("gap", "noisy", "underfit"), _train_mode_eval),
    Cause("model_reset_each_epoch", "the model starts again every epoch",
          "Initialize (or build) the model once, before the epoch loop: an init call such as "
          "model.apply(init_weights) inside it throws away what each epoch learnt.",
          EFFECTS, _reset_each_epoch),
    Cause("accuracy_contradicts_loss", "the accuracy contradicts the loss",
          "Check how the accuracy is computed: compare the predicted classes "
          "(output.argmax(1)) with the labels of the same rows, both of shape (N,); "
          "output.max(1)[0] gives the highest scores, not the classes, and labels of shape "
          "(N, 1) broadcast against (N,) predictions.",
          ("underfit", "val_at_chance", "majority_accuracy", "collapsed", "gap"),
          _accuracy_against_loss),
    Cause("labels_without_signal", "labels carry no signal",
          "Check that each label belongs to its input: a shuffle applied to X but not y, a "
          "misaligned label file, or a label column read from the wrong place.",
          EFFECTS, _no_signal),
    Cause("class_imbalance", "class imbalance",
          "Balance the classes (resample or weight them: CrossEntropyLoss(weight=...)) and "
          "judge the model by per-class accuracy: it has learned little beyond the majority "
          "class.", ("majority_accuracy", "collapsed", "underfit", "val_at_chance", "gap"),
          _imbalance),
    Cause("frozen_params", "frozen parameters",
          "Frozen parameters never learn; fine when they are a pretrained part.", (), _frozen,
          _param_list("frozen")),
    Cause("not_measured", "not measured",
          "Pass the loss tensor to log() and let the model run its activations as modules or "
          "torch functions, so that the monitors can read them.", (), _unmeasured),
)


__all__ = ["MECHANISMS", "complete"]
