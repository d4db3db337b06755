"""The notes' rules of thumb for babysitting a run, as code over a `History`.

`diagnose(history)` reads the loss curve, the accuracies and what the monitors
recorded (babysit.monitors) and returns `Finding`s: what is wrong (or fine), the
numbers that show it, and one sentence of advice. The rules follow the notes'
"Babysitting the learning process":

- the loss curve's shape tells the learning rate: it explodes or rises (too high),
  drops fast then plateaus high (too high), decreases slowly and nearly linearly
  (too low); its wiggle is the batch size;
- a large gap between train and validation accuracy is overfitting; validation
  tracking a low training accuracy is under-fitting;
- update-to-weight norm ratios should be near 1e-3 for every parameter;
- dead ReLUs and saturated tanh / sigmoid units stall learning;
- the initial loss should be the loss at chance.

Thresholds are module constants, so a reader can see (and tune) what "far" means.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SEVERITIES = ("error", "warning", "info")

EXPLODE_FACTOR = 3.0          # the smoothed loss above 3x its start: it exploded
RISE_FACTOR = 1.1             # ending 10% above the start: it went up
FLAT_DECREASE = 0.1           # less than 10% lower at the end than at the start: flat
LINEAR_PROGRESS = 0.65        # at half time, less than 65% of the total drop is done: linear
PLATEAU_CHANCE = 0.5          # a plateau above half the chance loss is "high"
NOISE_INFO, NOISE_WARNING = 0.1, 0.3        # wiggle relative to the total drop
GAP_INFO, GAP_WARNING = 0.02, 0.05          # train - val accuracy
UNDERFIT_ACC, UNDERFIT_GAP = 0.9, 0.03      # a low train accuracy that val tracks closely
RATIO_LOW, RATIO_HIGH = 1e-4, 1e-2          # update ratio outside this: worth a note
RATIO_VERY_LOW, RATIO_VERY_HIGH = 1e-5, 3e-2  # outside this: a warning
DEAD_WARNING, DEAD_ERROR = 0.25, 0.9        # fraction of a ReLU layer's units dead
SATURATED_INFO, SATURATED_WARNING = 0.05, 0.2  # fraction of tanh/sigmoid values in the tails
CHANCE_LOW, CHANCE_HIGH = 0.5, 2.0          # initial loss / chance loss outside: far


@dataclass(frozen=True)
class Finding:
    """One observation about a run.

    severity: "error" (training cannot work this way), "warning" (fix it) or "info".
    what: the problem's name ("learning rate too high", "overfitting", ...).
    evidence: the numbers that show it. advice: one sentence a person can act on.
    """

    severity: str
    what: str
    evidence: str
    advice: str

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            raise ValueError(f"Finding: severity must be one of {SEVERITIES}, "
                             f"got {self.severity!r}")

    def __str__(self) -> str:
        return f"[{self.severity}] {self.what}: {self.evidence}. {self.advice}"


def diagnose(history) -> list[Finding]:
    """The notes' rules applied to `history` (a babysit.History): findings, errors first.

    Uses history.loss (per iteration), train_acc / val_acc (per epoch),
    history.monitors ("update_ratio", "layers") and history.meta ("chance_loss",
    "batch_size") when present; a rule whose inputs are missing stays silent.
    """
    findings = _loss_findings(history)
    findings += _accuracy_findings(history, findings)
    findings += _ratio_findings(history)
    findings += _unit_findings(history)
    findings += _chance_findings(history)
    return sorted(findings, key=lambda f: SEVERITIES.index(f.severity))


# -- the loss curve ---------------------------------------------------------------------------

def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Moving average of `values` (N,) over `window` iterations: (N - window + 1,), the valid
    part only (the window is clipped to [1, N]). Smooths the loss curve for the rules and the
    report's plot alike."""
    window = max(1, min(window, len(values)))
    return np.convolve(values, np.ones(window) / window, mode="valid")


def _epochs(history, iteration: int) -> str:
    return f"epoch {iteration / max(history.iters_per_epoch, 1):.2f}"


def _loss_findings(history) -> list[Finding]:
    loss = np.asarray(history.loss, dtype=np.float64)
    bad = ~np.isfinite(loss)
    if bad.any():
        at = int(np.argmax(bad)) + 1
        lr = history.lr[at - 1] if history.lr else float("nan")
        return [Finding("error", "learning rate too high",
                        f"the loss became {loss[at - 1]} at iteration {at} "
                        f"({_epochs(history, at)}, learning rate {lr:g}) after starting at "
                        f"{loss[0]:.4g}",
                        "Lower the learning rate 10x (or add max-norm constraints) and "
                        "train again.")]
    if loss.size < 10:
        return []
    n = loss.size
    window = max(5, n // 50)
    smooth = moving_average(loss, window)
    start = float(np.median(loss[:min(5, n)]))
    chance = history.meta.get("chance_loss")
    # What the loss must not climb above: its value before the first update (or chance,
    # when higher; a first batch can be unlucky), not a median that may already include
    # an explosion one step in.
    ceiling = max(float(loss[0]), chance or 0.0)
    end = float(loss[-max(window, n // 10):].mean())
    mid = float(smooth[len(smooth) // 2])
    peak = float(smooth.max())
    peak_at = int(np.argmax(smooth)) + window
    ratio_median = _weight_ratio_median(history)

    if peak > EXPLODE_FACTOR * ceiling or end > RISE_FACTOR * ceiling:
        shown = (f"the loss exploded from {loss[0]:.4g} to {peak:.4g} (smoothed) by "
                 f"{_epochs(history, peak_at)}" if peak > EXPLODE_FACTOR * ceiling else
                 f"the loss rose from {loss[0]:.4g} to {end:.4g}")
        return [Finding("error" if peak > 10 * EXPLODE_FACTOR * ceiling else "warning",
                        "learning rate too high", f"{shown} over {n} iterations",
                        "Lower the learning rate 3-10x; the loss should fall from the start.")]
    findings = []
    drop = start - end
    if drop < FLAT_DECREASE * start:
        if ratio_median is not None and ratio_median >= RATIO_LOW:
            findings.append(Finding(
                "warning", "loss not decreasing",
                f"the loss went from {start:.4g} to {end:.4g} in {n} iterations although "
                f"updates are of a normal size (median update/weight ratio {ratio_median:.1e})",
                "Look at the dead and saturated units and run the gradient check: the "
                "updates move the weights without lowering the loss."))
        else:
            shown = (f"; median update/weight ratio {ratio_median:.1e} (want ~1e-3)"
                     if ratio_median is not None else "")
            findings.append(Finding(
                "warning", "learning rate too low",
                f"the loss only went from {start:.4g} to {end:.4g} in {n} iterations{shown}",
                "Raise the learning rate 10x (or more) until the loss falls clearly in the "
                "first epoch."))
    else:
        progress = (start - mid) / drop
        high_end = chance is not None and end > PLATEAU_CHANCE * chance
        late_drop = (mid - end) / start
        if progress < LINEAR_PROGRESS and end > 0.3 * start:
            findings.append(Finding(
                "warning", "learning rate too low",
                f"the loss decreases slowly and nearly linearly: {start:.4g} -> {mid:.4g} at "
                f"half time -> {end:.4g} at the end ({progress:.0%} of the drop by half time)",
                "Raise the learning rate 3-10x: a good rate drops the loss fast at first, "
                "then levels off."))
        elif high_end and late_drop < 0.05 and progress > 0.9:
            findings.append(Finding(
                "warning", "learning rate too high",
                f"the loss fell from {start:.4g} to {mid:.4g} by half time, then plateaued at "
                f"{end:.4g}, above half the chance loss {chance:.4g}",
                "Lower the learning rate 3x (or decay it): a plateau high up early means the "
                "steps are too large to settle into a minimum."))
        else:
            findings.append(Finding(
                "info", "learning rate looks fine",
                f"the loss fell from {start:.4g} to {mid:.4g} by half time and {end:.4g} at "
                f"the end", "Keep it; try 3x either side in a search to be sure."))
        findings += _noise_findings(history, loss, window, drop)
    return findings


def _noise_findings(history, loss: np.ndarray, window: int, drop: float) -> list[Finding]:
    """The wiggle of the loss: std of its deviation from the moving average, late in training."""
    half = loss[len(loss) // 2:]
    if len(half) < 2 * window or drop <= 0:
        return []
    trend = moving_average(half, window)
    offset = (window - 1) // 2
    wiggle = float((half[offset:offset + len(trend)] - trend).std())
    noise = wiggle / drop
    if noise < NOISE_INFO:
        return []
    batch = history.meta.get("batch_size")
    shown = f" at batch size {batch}" if batch else ""
    return [Finding("warning" if noise > NOISE_WARNING else "info", "noisy loss",
                    f"in the second half the loss wiggles by {wiggle:.3g} (std), "
                    f"{noise:.0%} of its total drop of {drop:.3g}{shown}",
                    "A larger batch size (or a lower learning rate) smooths the loss; "
                    "some wiggle is normal for small batches.")]


# -- accuracies -------------------------------------------------------------------------------

def _accuracy_findings(history, loss_findings: list[Finding]) -> list[Finding]:
    pairs = [(t, v) for t, v in zip(history.train_acc, history.val_acc, strict=False)
             if t is not None and v is not None and math.isfinite(t) and math.isfinite(v)]
    if not pairs:
        return []
    train, val = pairs[-1]
    best_val = max(v for _, v in pairs)
    gap = train - val
    findings = []
    if gap >= GAP_INFO:
        fell = f"; val peaked at {best_val:.3f} and fell since" if best_val - val > 0.01 else ""
        findings.append(Finding(
            "warning" if gap >= GAP_WARNING else "info", "overfitting",
            f"train accuracy {train:.3f} vs validation {val:.3f} (gap {gap:.3f}) after "
            f"{len(pairs)} epochs{fell}",
            "Regularize more (a stronger L2 penalty, dropout) or get more training data."))
    elif train < UNDERFIT_ACC and abs(gap) < UNDERFIT_GAP:
        lr_problem = any(f.what.startswith("learning rate too") or f.what == "loss not decreasing"
                         for f in loss_findings)
        findings.append(Finding(
            "info" if lr_problem else "warning", "under-fitting",
            f"validation accuracy {val:.3f} tracks a low train accuracy {train:.3f}",
            "Fix the learning rate first." if lr_problem else
            "Make the model bigger (wider or more layers) or regularize less."))
    return findings


# -- update ratios ----------------------------------------------------------------------------

def _ratios(history) -> dict[str, float]:
    """Median update/weight ratio of each weight matrix over the run (finite samples only)."""
    rec = history.monitors.get("update_ratio")
    if not rec:
        return {}
    names = rec.get("weights") or list(rec["params"])
    out = {}
    for name in names:
        values = [r for r in rec["params"].get(name, []) if r is not None and math.isfinite(r)]
        if values:
            out[name] = float(np.median(values))
    return out


def _weight_ratio_median(history) -> float | None:
    ratios = _ratios(history)
    return float(np.median(list(ratios.values()))) if ratios else None


def _ratio_findings(history) -> list[Finding]:
    ratios = _ratios(history)
    findings = []
    for what, outside, very, advice in (
        ("update ratio too small", lambda r: r < RATIO_LOW, lambda r: r < RATIO_VERY_LOW,
         "The learning rate is probably too low: raise it until weights move by ~1e-3 of "
         "their size per update."),
        ("update ratio too large", lambda r: r > RATIO_HIGH, lambda r: r > RATIO_VERY_HIGH,
         "The learning rate is probably too high: lower it until weights move by ~1e-3 of "
         "their size per update."),
    ):
        hit = {name: r for name, r in ratios.items() if outside(r)}
        if hit:
            shown = ", ".join(f"{name} {r:.1e}" for name, r in hit.items())
            severity = "warning" if any(very(r) for r in hit.values()) else "info"
            findings.append(Finding(severity, what,
                                    f"median ||update|| / ||weights|| per update: {shown} "
                                    f"(want ~1e-3)", advice))
    return findings


# -- units ------------------------------------------------------------------------------------

def _unit_findings(history) -> list[Finding]:
    rec = history.monitors.get("layers")
    if not rec or not rec.get("samples"):
        return []
    names, samples = rec["names"], rec["samples"]
    first, last = samples[0], samples[-1]
    dead, saturated = {}, {}
    for i, name in enumerate(names):
        a0, a1 = first["activations"][i], last["activations"][i]
        if "dead" in a1:
            dead[name] = (a0["dead"], a1["dead"])
        if "saturated" in a1:
            # Saturation at the start alone already slows the whole run: take the worse.
            saturated[name] = (a0["saturated"], a1["saturated"])
    findings = []
    worst = {n: v for n, v in dead.items() if v[1] >= DEAD_WARNING}
    if worst:
        shown = ", ".join(f"layer {n}: {v[1]:.0%} (at the start {v[0]:.0%})"
                          for n, v in worst.items())
        findings.append(Finding(
            "error" if max(v[1] for v in worst.values()) >= DEAD_ERROR else "warning",
            "dead units",
            f"ReLU units that output 0 on every probe example, at the end: {shown}",
            "Dead ReLUs never recover: lower the learning rate, start biases at 0 (or 0.01) "
            "and use He initialization, or try leaky ReLU."))
    worst = {n: v for n, v in saturated.items() if max(v) >= SATURATED_INFO}
    if worst:
        shown = ", ".join(f"layer {n}: {v[0]:.0%} at the start, {v[1]:.0%} at the end"
                          for n, v in worst.items())
        findings.append(Finding(
            "warning" if max(max(v) for v in worst.values()) >= SATURATED_WARNING else "info",
            "saturated units",
            f"tanh/sigmoid outputs in the flat tails (gradient under 2% of its peak): {shown}",
            "Initialize with smaller weights (Xavier/LeCun for tanh), standardize the inputs, "
            "or add BatchNorm."))
    return findings


# -- the initial loss -------------------------------------------------------------------------

def _chance_findings(history) -> list[Finding]:
    chance = history.meta.get("chance_loss")
    # Only the first loss is measured before any update.
    first = history.data_loss[0] if history.data_loss else None
    if not chance or first is None or not math.isfinite(first):
        return []
    initial = float(first)
    ratio = initial / chance
    if CHANCE_LOW <= ratio <= CHANCE_HIGH:
        return []
    return [Finding("warning", "initial loss far from chance",
                    f"the first data loss was {initial:.4g}, {ratio:.1f}x the chance loss "
                    f"{chance:.4g} of {history.meta.get('n_classes', '?')} classes",
                    "Initialize with smaller weights so the first scores are near zero "
                    "(and check the data scale); run babysit.check.sanity first.")]


__all__ = ["Finding", "SEVERITIES", "diagnose"]
