"""The notes' rules of thumb for babysitting a run, as code over a `History`: root causes.

`diagnose(history)` reads the loss curve, the accuracies and what the monitors recorded
(babysit.training.monitors) and returns `Finding`s, root causes first: what is wrong, the
numbers that show it, one sentence of advice, and for a program the cause's name and the layers or
parameters it concerns. Three steps, one module each:

- `evidence`: the numbers, read once from the History (a missing monitor silences the rules
  that need it);
- `symptoms`: what is visibly wrong (the loss rose, 40% of a layer's ReLUs died, train and
  validation accuracy part), each with a severity; the thresholds live there, each with its
  reason;
- `causes`: which root cause explains which symptoms, checked in the order a careful person
  would (data, then the network, then the training, then what shows in the accuracies). The
  cause leads, at the severity of its worst symptom, with the symptoms as its evidence, so a
  run never reads "learning rate looks fine" next to a finding that blames the learning rate.

Cause names (`Finding.cause`) are a contract: lr_too_high, lr_too_low, exploding_gradients,
vanishing_gradients, dead_units, saturated_units, reg_too_strong, unscaled_inputs, noisy_loss,
overfitting, underfitting, memorizing_noise, collapsed_predictions, class_imbalance,
single_class, labels_start_at_one, label_in_inputs, validation_leakage, val_scaled_otherwise,
noisy_train_labels, bad_initial_loss, diverged, loss_not_decreasing; the loop's mechanisms
(`mechanisms`, checked first): no_optimizer_step, no_gradient, gradients_not_zeroed,
softmax_wrong_dim, target_broadcast, wrong_loss (nll_loss on raw scores or probabilities),
eval_mode_training,
params_not_in_optimizer, params_without_gradient, frozen_params, reg_too_strong (the
optimizer's weight decay), summed_loss, lr_decayed_too_fast, lr_zero_at_start,
batches_sorted_by_label, same_batch_every_step, gradients_clipped, rnn_not_batch_first,
batchnorm_small_batch, train_mode_evaluation, model_reset_each_epoch, accuracy_contradicts_loss,
labels_without_signal, class_imbalance (counts the sitter learnt), not_measured; from the
run's setup (history.meta["setup"], `setup`): unscaled_targets,
softmax_one_output, wrong_loss, output_range, double_softmax, logit_activation;
too_few_updates, no_gradient, symmetry, dropout_too_strong; and lr_ok, the one info finding of
a clean run ("learning rate looks fine"). An empty or info-only list means healthy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from babysit.diagnose.causes import CAUSES, explain
from babysit.diagnose.evidence import Evidence, LossCurve, moving_average
from babysit.diagnose.mechanisms import MECHANISMS, complete
from babysit.diagnose.symptoms import PENALTY_DOMINATES, symptoms

SEVERITIES = ("error", "warning", "info")
CAUSE_NAMES = tuple(dict.fromkeys(c.name for c in (*MECHANISMS, *CAUSES))) + ("lr_ok",)


@dataclass(frozen=True)
class Finding:
    """One observation about a run.

    severity: "error" (training cannot work this way), "warning" (fix it) or "info".
    what: the problem's name for a person ("learning rate too high", "overfitting", ...).
    evidence: the numbers that show it. advice: one sentence a person can act on.
    cause: the machine-readable root cause (one of `CAUSE_NAMES`). concerns: the layers
    ("1 ReLU") or parameters ("0.W") it is about, possibly empty.
    """

    severity: str
    what: str
    evidence: str
    advice: str
    cause: str = ""
    concerns: tuple[str, ...] = ()

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            raise ValueError(f"Finding: severity must be one of {SEVERITIES}, "
                             f"got {self.severity!r}")
        object.__setattr__(self, "concerns", tuple(self.concerns))

    def __str__(self) -> str:
        return f"[{self.severity}] {self.what}: {self.evidence}. {self.advice}"


def diagnose(history) -> list[Finding]:
    """The notes' rules applied to `history` (a babysit.History): root causes, errors first.

    Uses history.loss / data_loss / reg_loss (per iteration), train_acc / val_acc (per
    epoch), history.monitors ("update_ratio", "layers", "params", "data") and history.meta
    ("chance_loss", "n_classes", "batch_size") when present.
    """
    e = Evidence.of(history)
    complete(e)  # the optimizer's weight decay, where the loss shows no penalty
    findings = [Finding(severity, what, text, cause.advice_for(e), cause.name, cause.concerns(e))
                for cause, severity, what, text in explain(e, symptoms(e),
                                                           (*MECHANISMS, *CAUSES))]
    if e.curve is not None and all(f.severity == "info" and not f.cause.startswith("lr_")
                                   for f in findings):
        c = e.curve
        findings.insert(0, Finding(
            "info", "learning rate looks fine",
            f"the loss fell from {c.start:.4g} to {c.mid:.4g} by half time and {c.end:.4g} at "
            f"the end{_data_part(e)}", "Keep it; try 3x either side in a search to be sure.",
            "lr_ok"))
    return sorted(findings, key=lambda f: SEVERITIES.index(f.severity))


def _data_part(e: Evidence) -> str:
    """Where the penalty is most of the loss the curve quotes (a table's default L2 on a
    fresh network's weights: 6.1 of a two-class run's 6.9), the data loss beside it: the
    loss a classifier's chance is measured in."""
    data, penalty = e.history.data_loss, e.history.reg_loss
    # (an optimizer's weight decay, which `complete` weighs, is in no loss the curve quotes)
    if e.penalty_share is None or e.penalty_share < PENALTY_DOMINATES \
            or len(data) != e.curve.n or not any(penalty):
        return ""
    curve = LossCurve.of(np.asarray(data, dtype=np.float64), e.chance_loss)
    if (curve.start, curve.end) == (e.curve.start, e.curve.end):
        return ""    # the curve is the data loss already (a regression's)
    return (f" (the data loss from {curve.start:.4g} to {curve.end:.4g}; the penalty is "
            f"{e.penalty_share:.0%} of the loss at the end)")


__all__ = ["CAUSE_NAMES", "Finding", "SEVERITIES", "diagnose", "moving_average"]
