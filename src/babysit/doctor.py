"""The doctor: follow the diagnosis's advice, train again, and keep a record of the cure.

The notes' babysitting is a loop: watch the run, read the symptoms, change one thing, train
again. `treat(cfg)` closes it over a run configuration:

1. train `cfg` (a fresh, seed-fixed run) and diagnose it (`History.diagnose`);
2. take the top root cause among the warnings and errors and look up the notes' remedy for it
   (`REMEDIES`): a change of one or two settings, the first of its candidates that is not
   already in effect and was not tried before;
3. train the changed configuration from scratch with the same seed, diagnose it again;
4. stop when no warning or error is left (cured), when a round does not raise validation
   accuracy (the best round is kept), when the top cause is one no setting can cure
   (`INCURABLE`: labels that look random, a single class), or after `max_rounds`.

A healthy run is left alone: zero rounds. Every decision reads the training and validation
splits only; the test split is never looked at. The record (`Treatment`) holds each round's
change, the evidence that called for it and validation accuracy before and after; it prints,
serializes (`to_dict`) and gives the `babysit train` command of the final configuration.

The configuration is anything with the run configuration's field names as attributes and a
`replace(**changes)` that returns a changed copy (`babysit.config.RunConfig`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field

ACTING = ("error", "warning")   # the severities the doctor treats; "info" is left alone

# Causes no setting of the run can cure: the doctor stops and says why.
INCURABLE = {
    "memorizing_noise": "the labels look random (training accuracy rises while validation "
                        "stays at chance): the network is memorizing noise, and no setting "
                        "cures that; check the labels and how the data was joined",
    "single_class": "the training labels hold a single class: there is nothing to learn; "
                    "check the label column and the split",
    "class_imbalance": "one class dominates the training labels: re-weighting or resampling the "
                       "classes is not a setting of the run; collect more examples of the rare "
                       "classes or resample them",
}


@dataclass(frozen=True)
class Remedy:
    """One change the notes prescribe: `changes` (setting -> new value) and `because` (why,
    in a sentence)."""

    changes: dict
    because: str


# -- the remedy table: cause -> candidates, in order of preference ---------------------------
# Each entry is a function (cfg, suggest_lr) -> [Remedy, ...]; suggest_lr(cfg) runs the
# learning-rate range test on cfg's network and data (None when the loss never fell).

def _lower_lr(cfg, suggest_lr) -> Remedy:
    rate = suggest_lr(cfg)
    if rate is not None and rate < 0.9 * cfg.lr:
        return Remedy({"lr": _round(rate)}, f"the learning-rate range test suggests {rate:.2g} "
                      f"(the rate at its lowest loss / 10), below the current {cfg.lr:.2g}")
    return Remedy({"lr": _round(cfg.lr / 10)}, "the notes: lower the learning rate 10x (the "
                  "range test found no lower rate to suggest)")


def _raise_lr(cfg, suggest_lr) -> Remedy:
    rate = suggest_lr(cfg)
    if rate is not None and rate > 1.1 * cfg.lr:
        return Remedy({"lr": _round(rate)}, f"the learning-rate range test suggests {rate:.2g} "
                      f"(the rate at its lowest loss / 10), above the current {cfg.lr:.2g}")
    return Remedy({"lr": _round(cfg.lr * 10)}, "the notes: raise the learning rate 10x (the "
                  "range test found no higher rate to suggest)")


def lr_too_high(cfg, suggest_lr):
    return [_lower_lr(cfg, suggest_lr)]


def lr_too_low(cfg, suggest_lr):
    return [_raise_lr(cfg, suggest_lr)]


def exploding_gradients(cfg, suggest_lr):
    out = [_lower_lr(cfg, suggest_lr)]
    if cfg.max_norm is None:
        out.append(Remedy({"max_norm": 3.0}, "a max-norm constraint (c = 3) bounds every "
                          "unit's weights, so updates cannot explode"))
    return out


def dead_units(cfg, suggest_lr):
    out = []
    rate = suggest_lr(cfg)
    if rate is not None and cfg.lr > 3 * rate:
        out.append(Remedy({"lr": _round(rate)}, f"a large step knocks ReLUs into the region "
                          f"where they never fire again: the range test suggests {rate:.2g}, "
                          f"below the current {cfg.lr:.2g}"))
    if cfg.init != "he":
        out.append(Remedy({"init": "he"}, "He initialization keeps ReLU units' inputs at unit "
                          "variance, so half of them fire at the start"))
    if cfg.activation == "relu":
        out.append(Remedy({"activation": "leaky_relu"}, "a leaky ReLU has a small slope for "
                          "negative inputs, so a unit pushed there still gets a gradient"))
    out.append(Remedy({"lr": _round(cfg.lr / 3)}, "dead ReLUs are usually killed by too large "
                      "a step: lower the learning rate 3x"))
    return out


def saturated_units(cfg, suggest_lr):
    out = []
    if cfg.preprocess == "none":
        out.append(Remedy({"preprocess": "standardize"}, "unscaled inputs drive tanh/sigmoid "
                          "units into their flat tails: standardize the inputs"))
    if cfg.init not in ("xavier", "lecun"):
        out.append(Remedy({"init": "xavier"}, "Xavier initialization keeps each unit's input "
                          "near unit variance, inside the non-flat part of tanh/sigmoid"))
    if not cfg.batchnorm:
        out.append(Remedy({"batchnorm": True}, "BatchNorm puts every hidden unit's input at "
                          "zero mean and unit variance, away from the flat tails"))
    if cfg.preprocess != "standardize":
        out.append(Remedy({"preprocess": "standardize"}, "standardized inputs keep the first "
                          "layer's units out of their flat tails"))
    return out


def vanishing_gradients(cfg, suggest_lr):
    out = []
    if cfg.activation in ("tanh", "sigmoid"):
        out.append(Remedy({"activation": "relu", "init": "he"}, "ReLU passes gradients "
                          "through unchanged where it fires, and He initialization keeps their "
                          "scale from layer to layer"))
    elif cfg.init != "he":
        out.append(Remedy({"init": "he"}, "He initialization keeps the gradients' scale from "
                          "layer to layer in a ReLU network"))
    if not cfg.batchnorm:
        out.append(Remedy({"batchnorm": True}, "BatchNorm re-centres and re-scales every layer, "
                          "so gradients keep their size through depth"))
    return out


def unscaled_inputs(cfg, suggest_lr):
    if cfg.preprocess in ("standardize", "minmax", "whiten-pca", "whiten-zca"):
        return []
    return [Remedy({"preprocess": "standardize"}, "the notes: zero-centre each feature and "
                   "divide it by its standard deviation (fitted on the training split)")]


def overfitting(cfg, suggest_lr):
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


def underfitting(cfg, suggest_lr):
    out = []
    if cfg.reg >= 1e-3:
        out.append(Remedy({"reg": _round(cfg.reg / 10)}, f"weaker regularization "
                          f"({cfg.reg:g} -> {cfg.reg / 10:g}) lets the model fit the data"))
    if cfg.dropout > 0:
        out.append(Remedy({"dropout": 0.0}, "dropout limits capacity the model lacks: turn it "
                          "off"))
    wider = tuple(2 * w for w in cfg.hidden) if cfg.hidden else (100,)
    out.append(Remedy({"hidden": wider}, f"the notes: a bigger model (hidden "
                      f"{_widths(cfg.hidden)} -> {_widths(wider)}) has the capacity to fit"))
    return out


def reg_too_strong(cfg, suggest_lr):
    if not cfg.reg:
        return []
    return [Remedy({"reg": _round(cfg.reg / 10)}, f"the penalty dominates the data loss: "
                   f"weaken it 10x ({cfg.reg:g} -> {cfg.reg / 10:g})")]


def noisy_loss(cfg, suggest_lr):
    return [Remedy({"batch_size": cfg.batch_size * 4}, f"the notes: the loss wiggles less with "
                   f"a larger batch ({cfg.batch_size} -> {cfg.batch_size * 4})")]


def bad_initial_loss(cfg, suggest_lr):
    fitting = "xavier" if cfg.activation in ("tanh", "sigmoid") else "he"
    out = []
    if cfg.init != fitting:
        out.append(Remedy({"init": fitting}, f"{fitting} initialization starts the scores near "
                          f"zero, at the chance loss, for {cfg.activation} units"))
    out += unscaled_inputs(cfg, suggest_lr)
    return out


REMEDIES: dict[str, Callable] = {
    "lr_too_high": lr_too_high,
    "diverged": lr_too_high,
    "collapsed_predictions": lr_too_high,
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
    error whose cause the doctor knows decides: an incurable cause stops with its reason; else
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
        for remedy in remedies(cfg, suggest_lr):
            changes = {k: v for k, v in remedy.changes.items() if getattr(cfg, k) != v}
            if changes and (finding.cause, changes) not in tried:
                return finding, Remedy(changes, remedy.because), None
    return None, None, None


# -- the record ---------------------------------------------------------------------------


@dataclass
class Round:
    """One round of treatment: the cause treated and the evidence for it, the change made
    (setting -> [before, after]), why, validation accuracy before and after (None: the run
    diverged), and the warnings and errors left after it (as cause names)."""

    number: int
    cause: str
    evidence: str
    changes: dict
    because: str
    val_before: float | None
    val_after: float | None
    left: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        change = ", ".join(f"{k} {_show(a)} -> {_show(b)}" for k, (a, b) in self.changes.items())
        return (f"round {self.number}: {self.cause} ({self.evidence}); changed {change}: "
                f"{self.because}. Validation accuracy {_acc(self.val_before)} -> "
                f"{_acc(self.val_after)}" + (f"; left: {', '.join(self.left)}" if self.left
                                              else "; no warning left"))


@dataclass
class Treatment:
    """What `treat` did. initial, final: the configurations before and after (final is the
    best round's). rounds: each `Round`. best: the round kept (0: the initial run). stopped:
    why treatment ended. cannot_cure: the reason when an incurable cause stopped it, else None.
    val_initial, val_final: validation accuracy of the initial and the kept run."""

    initial: object
    final: object
    rounds: list[Round]
    best: int
    stopped: str
    cannot_cure: str | None
    val_initial: float | None
    val_final: float | None

    @property
    def changed(self) -> dict:
        """The settings the final configuration changes: name -> [initial, final]."""
        return {k: [getattr(self.initial, k), getattr(self.final, k)]
                for k in _field_names(self.final)
                if getattr(self.initial, k) != getattr(self.final, k)}

    def command(self) -> str:
        """The `babysit train` command that trains the final configuration again."""
        return train_command(self.final)

    def to_dict(self) -> dict:
        """JSON-ready: rounds, the kept round, why it stopped, accuracies, configurations."""
        return {"rounds": [_round_dict(r) for r in self.rounds], "best_round": self.best,
                "stopped": self.stopped, "cannot_cure": self.cannot_cure,
                "val_initial": self.val_initial, "val_final": self.val_final,
                "changed": {k: [_jsonable(a), _jsonable(b)] for k, (a, b) in
                            self.changed.items()},
                "initial_config": _config_dict(self.initial),
                "final_config": _config_dict(self.final), "command": self.command()}

    def __str__(self) -> str:
        lines = ["treatment:"]
        lines += [f"  {r}" for r in self.rounds]
        lines.append(f"  {self.stopped}")
        if self.rounds:
            lines.append(f"  kept {'the initial run' if self.best == 0 else f'round {self.best}'}"
                         f": validation accuracy {_acc(self.val_initial)} -> "
                         f"{_acc(self.val_final)}")
        lines.append(f"  to train it again: {self.command()}")
        return "\n".join(lines)


# -- the loop -----------------------------------------------------------------------------


@dataclass
class Visit:
    """One trained run as the doctor sees it: its configuration, History and validation
    accuracy (None when it diverged); `run` keeps whatever the trainer function returned
    beside them (a Trainer, to save the kept model)."""

    cfg: object
    history: object
    val_acc: float | None
    run: object = None


def treat(cfg, *, train: Callable, suggest_lr: Callable, max_rounds: int = 3,
          first: Visit | None = None, say: Callable[[str], None] | None = None
          ) -> tuple[Treatment, Visit]:
    """Treat `cfg` until cured, stuck or out of rounds; returns (Treatment, the kept Visit).

    train(cfg) -> Visit: trains cfg from scratch (seed-fixed) on the training split, scores
    the validation split. suggest_lr(cfg) -> float | None: the learning-rate range test's
    rate for cfg. max_rounds: the most retrainings. first: the initial run when it is
    already trained (the command line's own run). say: prints progress (None: silent).
    """
    if not isinstance(max_rounds, int) or isinstance(max_rounds, bool) or max_rounds < 0:
        raise ValueError(f"max_rounds must be a non-negative integer, got {max_rounds!r}")
    say = say or (lambda text: None)
    rates = {}

    def cached_rate(c):
        key = tuple((k, getattr(c, k)) for k in _field_names(c)
                    if k not in ("lr", "epochs", "patience"))
        if key not in rates:
            rates[key] = suggest_lr(c)
        return rates[key]

    initial = visit = first if first is not None else train(cfg)
    best, best_round, rounds, tried = visit, 0, [], []
    findings = visit.history.diagnose()
    stopped, cannot_cure = None, None
    while stopped is None:
        acting = sorted({f.cause for f in findings if f.severity in ACTING})
        if not acting:
            stopped = "healthy: no warning or error"
            break
        if len(rounds) == max_rounds:
            stopped = f"stopped after {max_rounds} rounds (max_rounds); left: {', '.join(acting)}"
            break
        finding, remedy, incurable = prescribe(visit.cfg, findings, cached_rate, tried)
        if incurable is not None:
            stopped, cannot_cure = f"cannot cure {finding.cause}: {incurable}", incurable
            break
        if finding is None:
            stopped = f"no remedy left for: {', '.join(acting)}"
            break
        tried.append((finding.cause, remedy.changes))
        new_cfg = visit.cfg.replace(**remedy.changes)
        say(f"round {len(rounds) + 1}: {finding.cause}: {_describe(remedy, visit.cfg)}")
        after = train(new_cfg)
        findings = after.history.diagnose()
        rounds.append(Round(len(rounds) + 1, finding.cause, finding.evidence,
                            {k: [_jsonable(getattr(visit.cfg, k)), _jsonable(v)]
                             for k, v in remedy.changes.items()}, remedy.because,
                            visit.val_acc, after.val_acc,
                            sorted({f.cause for f in findings if f.severity in ACTING})))
        say(f"  validation accuracy {_acc(visit.val_acc)} -> {_acc(after.val_acc)}")
        if _score(after.val_acc) <= _score(best.val_acc):
            stopped = (f"round {len(rounds)} did not raise validation accuracy "
                       f"({_acc(best.val_acc)} -> {_acc(after.val_acc)}): kept "
                       f"{'the initial run' if best_round == 0 else f'round {best_round}'}")
        else:
            best, best_round = after, len(rounds)
        visit = after
    treatment = Treatment(cfg, best.cfg, rounds, best_round, stopped, cannot_cure,
                          initial.val_acc, best.val_acc)
    return treatment, best


# -- helpers ------------------------------------------------------------------------------


def train_command(cfg) -> str:
    """`babysit train` with the options that differ from the defaults (data always)."""
    defaults = type(cfg)()
    words = ["babysit", "train"]
    for name in _field_names(cfg):
        value = getattr(cfg, name)
        if value == getattr(defaults, name) and name != "data":
            continue
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            words.append(flag if value else f"--no-{flag[2:]}")
        else:
            words += [flag, _show(value)]
    return " ".join(words)


def _field_names(cfg) -> list[str]:
    return [f.name for f in dataclasses.fields(cfg)]


def _config_dict(cfg) -> dict:
    return cfg.to_dict() if hasattr(cfg, "to_dict") else {
        k: _jsonable(getattr(cfg, k)) for k in _field_names(cfg)}


def _round_dict(r: Round) -> dict:
    return dataclasses.asdict(r)


def _describe(remedy: Remedy, cfg) -> str:
    change = ", ".join(f"{k} {_show(getattr(cfg, k))} -> {_show(v)}"
                       for k, v in remedy.changes.items())
    return f"{change} ({remedy.because})"


def _score(acc) -> float:
    return -math.inf if acc is None or not math.isfinite(acc) else acc


def _round(x: float) -> float:
    """A rate or strength to 2 significant digits, as a person would write it."""
    return float(f"{x:.2g}")


def _jsonable(value):
    return list(value) if isinstance(value, tuple) else value


def _widths(hidden) -> str:
    return ",".join(map(str, hidden)) or "none"


def _show(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, tuple | list):
        return _widths(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _acc(acc) -> str:
    return "diverged" if acc is None else f"{acc:.4f}"


__all__ = ["INCURABLE", "REMEDIES", "Remedy", "Round", "Treatment", "Visit", "prescribe",
           "train_command", "treat"]
