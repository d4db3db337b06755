"""The treatment loop and its record: `treat`, `Round`, `Treatment`, `Visit`.

See the package docstring (`babysit.doctor`) for the loop and its stopping rules.
"""

from __future__ import annotations

import dataclasses
import math
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field

from babysit.data.datasets import BUILTIN
from babysit.doctor.remedies import ACTING, UNTREATED, Remedy, prescribe
from babysit.doctor.runs import Runner, Visit
from babysit.nn.losses import LOSSES
from babysit.report.words import setting
from babysit.runs.builders import TABLE_DEFAULTS

# -- the record ---------------------------------------------------------------------------


@dataclass
class Round:
    """One round of treatment: the cause treated and the evidence for it, the change made
    (setting -> [before, after]), why, validation accuracy before and after (None: the run
    diverged; for a regression its validation loss, `metric` says which), and the warnings
    and errors left after it (as cause names); `what` is the cause in words (the finding's),
    which the report shows."""

    number: int
    cause: str
    evidence: str
    changes: dict
    because: str
    val_before: float | None
    val_after: float | None
    left: list[str] = field(default_factory=list)
    metric: str = "validation accuracy"
    what: str = ""

    def __str__(self) -> str:
        change = ", ".join(f"{k} {setting(a)} -> {setting(b)}"
                           for k, (a, b) in self.changes.items())
        return (f"round {self.number}: {self.cause} ({self.evidence}); changed {change}: "
                f"{self.because}. {self.metric.capitalize()} {_acc(self.val_before)} -> "
                f"{_acc(self.val_after)}" + (f"; left: {', '.join(self.left)}" if self.left
                                              else "; no warning left"))


@dataclass
class Treatment:
    """What `treat` did. initial, final: the configurations before and after (final is the
    best round's). rounds: each `Round`. best: the round kept (0: the initial run). stopped:
    why treatment ended. cannot_cure: the reason when an incurable cause stopped it, else None.
    val_initial, val_final: validation accuracy of the initial and the kept run (for a
    regression their validation loss: `metric`). notes: what the doctor saw but does not
    treat (`UNTREATED`), one sentence each."""

    initial: object
    final: object
    rounds: list[Round]
    best: int
    stopped: str
    cannot_cure: str | None
    val_initial: float | None
    val_final: float | None
    notes: list[str] = field(default_factory=list)
    metric: str = "validation accuracy"

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
                "metric": self.metric, "notes": self.notes,
                "changed": {k: [_jsonable(a), _jsonable(b)] for k, (a, b) in
                            self.changed.items()},
                "initial_config": _config_dict(self.initial),
                "final_config": _config_dict(self.final), "command": self.command()}

    def __str__(self) -> str:
        lines = ["treatment:"]
        lines += [f"  {r}" for r in self.rounds]
        lines.append(f"  {self.stopped}")
        lines += [f"  note: {n}" for n in self.notes]
        if self.rounds:
            lines.append(f"  kept {'the initial run' if self.best == 0 else f'round {self.best}'}"
                         f": {self.metric} {_acc(self.val_initial)} -> "
                         f"{_acc(self.val_final)}")
        lines.append(f"  to train it again: {self.command()}")
        return "\n".join(lines)


# -- the loop -----------------------------------------------------------------------------


def treat(cfg, *, max_rounds: int = 3, train: Callable | None = None,
          suggest_lr: Callable | None = None, first: Visit | None = None,
          say: Callable[[str], None] | None = None) -> tuple[Treatment, Visit]:
    """Treat `cfg` until cured, stuck or out of rounds; returns (Treatment, the kept Visit).

    cfg: a `babysit.runs.config.RunConfig`. max_rounds: the most retrainings. train(cfg) -> Visit:
    trains cfg from scratch (seed-fixed) on the training split and scores the validation split
    (default: `Runner().train`, as `babysit train` builds the run). suggest_lr(cfg) -> float |
    None: the learning-rate range test's rate for cfg (default: `Runner().suggest_lr`).
    first: the initial run when it is already trained (the command line's own run). say:
    prints progress (None: silent).
    """
    if not isinstance(max_rounds, int) or isinstance(max_rounds, bool) or max_rounds < 0:
        raise ValueError(f"max_rounds must be a non-negative integer, got {max_rounds!r}")
    say = say or (lambda text: None)
    if train is None or suggest_lr is None:
        runner = Runner()
        train, suggest_lr = train or runner.train, suggest_lr or runner.suggest_lr
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
    stopped, cannot_cure, notes = None, None, []
    while stopped is None:
        notes += [f"{f.cause}: {UNTREATED[f.cause]}" for f in findings
                  if f.severity in ACTING and f.cause in UNTREATED
                  and f"{f.cause}: {UNTREATED[f.cause]}" not in notes]
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
            if all(c in UNTREATED for c in acting):   # only what no setting cures is left
                cannot_cure = "; ".join(UNTREATED[c] for c in acting)
                stopped = f"cannot cure {', '.join(acting)}: {cannot_cure}"
            else:
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
                            visit.value, after.value,
                            sorted({f.cause for f in findings if f.severity in ACTING}),
                            visit.metric, finding.what))
        say(f"  {visit.metric} {_acc(visit.value)} -> {_acc(after.value)}")
        if _score(after.score) <= _score(best.score):
            better = "lower" if visit.task == "regress" else "raise"
            stopped = (f"round {len(rounds)} did not {better} {visit.metric} "
                       f"({_acc(best.value)} -> {_acc(after.value)}): kept "
                       f"{'the initial run' if best_round == 0 else f'round {best_round}'}")
        else:
            best, best_round = after, len(rounds)
        visit = after
    treatment = Treatment(cfg, best.cfg, rounds, best_round, stopped, cannot_cure,
                          initial.value, best.value, notes, initial.metric)
    return treatment, best


# -- helpers ------------------------------------------------------------------------------


def train_command(cfg) -> str:
    """`babysit train` with the options that differ from the defaults (data always). A
    regression's loss is left out: its target implies it (`builders.fit_to_data`), and the
    command line's --loss offers only the classifiers'. On a data file, the settings a table
    takes its own defaults for (`builders.TABLE_DEFAULTS`: the penalty, the epochs, the best
    weights) are written whatever their value: left out, a table's run would take the
    table's (RunConfig's default of 30 epochs became 150 on a small table)."""
    defaults = type(cfg)()
    fitted = set() if getattr(cfg, "data", None) in BUILTIN else set(TABLE_DEFAULTS)
    words = ["babysit", "train"]
    for name in _field_names(cfg):
        value = getattr(cfg, name)
        if value == getattr(defaults, name) and name != "data" and name not in fitted or \
                name == "loss" and value in LOSSES and not LOSSES[value].classification:
            continue
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            words.append(flag if value else f"--no-{flag[2:]}")
        else:
            words += [flag, setting(value)]
    return shlex.join(words)     # pasted back into a shell as printed (a path with a space)


def _field_names(cfg) -> list[str]:
    return [f.name for f in dataclasses.fields(cfg)]


def _config_dict(cfg) -> dict:
    return cfg.to_dict() if hasattr(cfg, "to_dict") else {
        k: _jsonable(getattr(cfg, k)) for k in _field_names(cfg)}


def _round_dict(r: Round) -> dict:
    return dataclasses.asdict(r)


def _describe(remedy: Remedy, cfg) -> str:
    change = ", ".join(f"{k} {setting(getattr(cfg, k))} -> {setting(v)}"
                       for k, v in remedy.changes.items())
    return f"{change} ({remedy.because})"


def _score(acc) -> float:
    return -math.inf if acc is None or not math.isfinite(acc) else acc


def _jsonable(value):
    return list(value) if isinstance(value, tuple) else value


def _acc(acc) -> str:
    """An accuracy or a loss as the record prints it ("diverged" for None)."""
    return "diverged" if acc is None else f"{acc:.4f}"


__all__ = ["Round", "Treatment", "Visit", "train_command", "treat"]
