"""Gradient checks done the way the notes say: every lesson of their "Gradient Checks" section.

`gradients(net, loss, X, y, reg)` compares the analytic gradient of every parameter with
centered differences and returns a `GradientReport`:

- it works on a float64 deep copy of the network (single precision alone can give relative
  errors of 1e-2 for a correct gradient); the network passed in is left bit-for-bit as it was;
- it samples a few coordinates of **every** `Param`, so a bias is checked even when its
  weight matrix is a thousand times larger;
- every random effect is fixed: each layer's `rng` (dropout masks, input noise) is put back
  to the same state before f(x+h), f(x-h) and the analytic pass, so dropout is checked
  rather than switched off;
- kinks are detected: the layers and losses that take a max() record which side won
  (`babysit.nn.layers.kinks`); when a side changes between f(x+h) and f(x-h) the row is
  marked "kink crossed" and its disagreement is not held against the code;
- the data loss and the regularization penalty are checked apart (two sections), so a
  strong penalty cannot hide a wrong data gradient;
- `burn_in=N` trains N iterations first, to check in a characteristic state;
- gradients below 1e-10 are flagged (with a warning): round-off rules there, scale the loss.

The verdict per parameter follows the notes' scale of relative errors: above 1e-2 wrong,
1e-4..1e-2 uncomfortable, below 1e-4 fine for an objective with kinks (too high without
them), below 1e-7 excellent. A row whose absolute disagreement is within the round-off of
the finite difference (1e-13 |f| / h) counts as excellent: a gradient 1e-5 times the loss
cannot be measured to a relative 1e-7. Only "wrong" fails the check.
"""

from __future__ import annotations

import copy
import math
import numbers
import warnings
from dataclasses import dataclass, field

import numpy as np

from babysit.backend import make_rng, to_numpy
from babysit.check.numerical import kink_aware_difference, rel_error
from babysit.nn.layers import kinks
from babysit.nn.layers.base import Layer
from babysit.nn.losses import Loss
from babysit.nn.optim import Adam, Optimizer
from babysit.training.trainer import Trainer
from babysit.validation import non_negative_int, positive_int, real_number, seed_or_generator

__all__ = ["REGULARIZATION", "WRONG", "GradientRow", "ParamVerdict", "verdict", "GradientReport",
           "gradients", "judge", "StepSizes", "step_sizes"]

DATA, REGULARIZATION = "data loss", "regularization"

# The notes' scale of relative errors.
WRONG = 1e-2          # above: the gradient is probably wrong
UNCOMFORTABLE = 1e-4  # above: uncomfortable; below: fine when the objective has kinks
EXCELLENT = 1e-7      # below: be happy
TINY = 1e-10          # gradients below this in absolute value are mostly round-off
# The relative precision assumed of one float64 loss evaluation, summations included (measured
# disagreements of correct gradients stay below 1e-14 |f| / h). A numerical gradient cannot be
# trusted closer than ROUNDOFF * |f| / h: a smaller gradient has a larger relative error.
ROUNDOFF = 1e-13
SEVERITY = ("excellent", "fine (kinks)", "uncomfortable", "wrong")

STEP_SIZES = tuple(10.0 ** -k for k in range(1, 11))  # 1e-1 ... 1e-10


@dataclass(frozen=True)
class GradientRow:
    """One checked coordinate: `param[index]` in `section` ("data loss" or "regularization").

    `kink` is True when a max() changed sides between f(x+h) and f(x-h); `tiny` when both
    gradients are below 1e-10 in absolute value (and not both exactly 0). Neither kind of
    row counts towards the verdict. `roundoff` is True when the relative error is above 1e-7
    only because the gradient is small next to the loss: |analytic - numerical| is within
    the round-off of the finite difference (1e-13 |f| / h), so the row counts as excellent.
    """

    section: str
    param: str
    index: tuple[int, ...]
    analytic: float
    numerical: float
    rel_error: float
    kink: bool
    tiny: bool
    roundoff: bool

    @property
    def judged(self) -> bool:
        """Whether this row's relative error says something about the code."""
        return not (self.kink or self.tiny)


@dataclass(frozen=True)
class ParamVerdict:
    """The verdict on one parameter in one section: the most severe reading of its judged rows.

    `worst` is the largest judged relative error, None when no row could be judged (every
    one crossed a kink or was tiny). A row within round-off reads "excellent" whatever its
    relative error.
    `smooth` says the section's objective took no max(), so 1e-4 counts as too high.
    """

    section: str
    param: str
    worst: float | None
    verdict: str
    rows: int
    kinks: int
    smooth: bool

    @property
    def wrong(self) -> bool:
        """True when this parameter's gradient fails in this section (error above 1e-2)."""
        return self.verdict == "wrong"


def verdict(error: float, smooth: bool) -> str:
    """The notes' reading of a relative error: excellent, fine (kinks), uncomfortable or wrong.

    Without kinks in the objective (`smooth`) an error between 1e-7 and 1e-4 is already
    uncomfortable ("if there are no kinks, 1e-4 is too high"); with kinks it is fine.
    """
    if error > WRONG:
        return "wrong"
    if error > UNCOMFORTABLE:
        return "uncomfortable"
    if error > EXCELLENT:
        return "uncomfortable" if smooth else "fine (kinks)"
    return "excellent"


@dataclass
class GradientReport:
    """What `gradients` found: one row per checked coordinate, one verdict per parameter.

    `ok` is False when any parameter's gradient is wrong (relative error above 1e-2 on a
    row that crossed no kink). `print(report)` shows the table.
    """

    rows: list[GradientRow]
    verdicts: list[ParamVerdict]
    h: float
    n_examples: int
    burn_in: int
    loss: float
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no parameter's gradient is wrong in any section."""
        return not any(v.wrong for v in self.verdicts)

    @property
    def wrong(self) -> list[str]:
        """Names of the parameters whose gradient is wrong in any section, in network order."""
        return list(dict.fromkeys(v.param for v in self.verdicts if v.wrong))

    @property
    def sections(self) -> list[str]:
        """The sections checked, in order: "data loss", then "regularization" with a reg."""
        return list(dict.fromkeys(v.section for v in self.verdicts))

    def verdict(self, param: str, section: str = DATA) -> ParamVerdict:
        """The verdict on `param` ("0.W") in `section` ("data loss" or "regularization")."""
        for v in self.verdicts:
            if v.param == param and v.section == section:
                return v
        known = ", ".join(sorted({v.param for v in self.verdicts}))
        raise ValueError(f"no verdict for parameter {param!r} in section {section!r}; "
                         f"checked parameters: {known}")

    def summary(self) -> dict:
        """A JSON-ready digest: ok, the wrong parameters, and each verdict with its worst error."""
        return {
            "ok": self.ok,
            "wrong": self.wrong,
            "h": self.h,
            "examples": self.n_examples,
            "burn_in": self.burn_in,
            "verdicts": [{"section": v.section, "param": v.param,
                          # a NaN or infinite gradient's error is inf, which JSON cannot hold
                          "worst": v.worst if v.worst is None or math.isfinite(v.worst)
                          else None,
                          "verdict": v.verdict, "rows": v.rows, "kinks": v.kinks}
                         for v in self.verdicts],
        }

    def __str__(self) -> str:
        lines = [f"gradient check: {self.n_examples} examples, h={self.h:g}, float64 copy, "
                 f"burn-in {self.burn_in} iterations, data loss {self.loss:.6g}"]
        for section in self.sections:
            lines += ["", f"{section}:", _row_table([r for r in self.rows
                                                     if r.section == section])]
            lines += ["", _verdict_table([v for v in self.verdicts if v.section == section])]
        lines.append("")
        if self.ok:
            lines.append("every parameter passes")
        else:
            wrong = [f"{v.param} ({v.section})" for v in self.verdicts if v.wrong]
            lines.append("WRONG gradient: " + ", ".join(wrong))
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)


def _row_table(rows: list[GradientRow]) -> str:
    header = ("parameter", "index", "analytic", "numerical", "rel. error", "kink")
    body = [(r.param, str(r.index), f"{r.analytic: .6e}", f"{r.numerical: .6e}",
             f"{r.rel_error:.1e}", _flag(r)) for r in rows]
    return _table(header, body, right=(2, 3, 4))


def _flag(row: GradientRow) -> str:
    if row.kink:
        return "crossed"
    if row.tiny:
        return "tiny"
    return "round-off" if row.roundoff else ""


def _verdict_table(verdicts: list[ParamVerdict]) -> str:
    header = ("parameter", "rows", "kinks", "worst", "verdict")
    body = [(v.param, str(v.rows), str(v.kinks), "-" if v.worst is None else f"{v.worst:.1e}",
             v.verdict) for v in verdicts]
    return _table(header, body, right=(1, 2, 3))


def _table(header, body, right=()) -> str:
    widths = [max(len(row[i]) for row in (header, *body)) for i in range(len(header))]

    def fmt(row):
        cells = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        return "  " + "  ".join(cells).rstrip()

    return "\n".join(fmt(row) for row in (header, *body))


class _Objective:
    """The float64 copy of a network with its data, evaluated with every random effect fixed.

    Each evaluation first puts every layer's `rng` back to the state it had when the
    objective was built, so dropout masks and input noise are the same draw every time.
    """

    def __init__(self, net: Layer, loss: Loss, reg, X, y):
        self.net, self.loss, self.reg, self.X, self.y = net, loss, reg, X, y
        self.params = net.named_params()
        self.rngs = [m.rng for m in net.modules()
                     if isinstance(getattr(m, "rng", None), np.random.Generator)]
        self.states = [r.bit_generator.state for r in self.rngs]

    def _reseed(self) -> None:
        for rng, state in zip(self.rngs, self.states, strict=True):
            rng.bit_generator.state = state

    def data_loss(self) -> tuple[float, list]:
        """The data loss in training mode and the max() sides recorded on the way."""
        self._reseed()
        with kinks.recording() as masks:
            scores, _ = self.net.forward(self.X, train=True)
            value, _ = self.loss(scores, self.y)
        return value, masks

    def data_gradients(self) -> tuple[float, list, dict[str, np.ndarray]]:
        """The data loss, its max() sides, and the analytic gradient of every parameter."""
        self._reseed()
        self.net.zero_grad()
        with kinks.recording() as masks:
            scores, backward = self.net.forward(self.X, train=True)
            value, dscores = self.loss(scores, self.y)
        backward(dscores)
        return value, masks, self._read_grads()

    def reg_loss(self) -> tuple[float, list]:
        with kinks.recording() as masks:
            value = self.reg.penalty(self.params.values())
        return value, masks

    def reg_gradients(self) -> tuple[float, list, dict[str, np.ndarray]]:
        self.net.zero_grad()
        value, masks = self.reg_loss()
        self.reg.add_grad(self.params.values())
        return value, masks, self._read_grads()

    def _read_grads(self) -> dict[str, np.ndarray]:
        return {name: np.array(to_numpy(p.grad), dtype=np.float64)
                for name, p in self.params.items()}

    def numerical(self, evaluate, name: str, index, h: float) -> tuple[float, bool, float]:
        """`kink_aware_difference` of `evaluate` along params[name][index]."""
        return kink_aware_difference(evaluate, self.params[name].value, index, h)


def _prepare(net, loss, X, y, reg, seed, burn_in, opt) -> tuple[_Objective, list[str]]:
    """Validate the arguments, copy the network to float64, burn in, and fix its randomness."""
    if not isinstance(net, Layer):
        raise ValueError(f"net must be a babysit Layer (e.g. a Sequential), got "
                         f"{type(net).__name__}")
    if not net.named_params():
        raise ValueError("net has no parameters to check")
    burn_in = non_negative_int(burn_in, "burn_in")
    seed_or_generator(seed, "seed")
    if opt is not None and not isinstance(opt, Optimizer):
        raise ValueError(f"opt must be a babysit Optimizer or None, got {type(opt).__name__}")
    work = net.copy().astype("float64")
    # The optimizer keeps state per Param: a copy keeps the caller's optimizer untouched.
    opt = Adam(lr=1e-3) if opt is None else copy.deepcopy(opt)
    trainer = Trainer(work, loss, opt, reg=reg, seed=seed, callbacks=(), progress=False)
    X, y = trainer.prepare(X, y, "X")
    notes = []
    if X.shape[0] > 32:
        notes.append(f"{X.shape[0]} examples: the notes advise a few (2-10), which have fewer "
                     f"kinks to cross and run faster")
    for i in range(burn_in):
        data_loss, reg_loss = trainer.step(X, y)
        if not math.isfinite(data_loss + reg_loss):
            raise ValueError(f"burn_in: the loss became {data_loss + reg_loss} at iteration "
                             f"{i + 1} of {burn_in}; pass an opt with a lower learning rate")
    return _Objective(work, loss, reg, X, y), notes


def _coordinates(params: dict, per_param: int, seed) -> dict[str, list[tuple[int, ...]]]:
    """Up to `per_param` distinct random coordinates of every parameter (all of a small one)."""
    rng = make_rng(seed)
    picked = {}
    for name, p in params.items():
        flat = np.sort(rng.choice(p.size, size=min(per_param, p.size), replace=False))
        picked[name] = [tuple(int(i) for i in np.unravel_index(k, p.shape)) for k in flat]
    return picked


def _check_step(h) -> float:
    return real_number(h, "h", above=0)   # the finite-difference step (e.g. 1e-5)


def _section(objective: _Objective, section: str, coordinates, h: float):
    """Check one section's analytic gradients against centered differences.

    Returns (rows, verdicts, the section's loss at the checked point).
    """
    if section == DATA:
        value, masks, analytic = objective.data_gradients()
        evaluate = objective.data_loss
    else:
        value, masks, analytic = objective.reg_gradients()
        evaluate = objective.reg_loss
    smooth = not masks
    rows, verdicts = [], []
    for name, indices in coordinates.items():
        param_rows = []
        for index in indices:
            numerical, crossed, size = objective.numerical(evaluate, name, index, h)
            a = float(analytic[name][index])
            largest = max(abs(a), abs(numerical))
            error = float(rel_error(a, numerical))
            within_roundoff = error > EXCELLENT and abs(a - numerical) <= ROUNDOFF * size / h
            param_rows.append(GradientRow(section, name, index, a, numerical, error, crossed,
                                          0 < largest < TINY, within_roundoff))
        judged = [r for r in param_rows if r.judged]
        if judged:
            worst = max(r.rel_error for r in judged)
            read = max((verdict(0.0 if r.roundoff else r.rel_error, smooth) for r in judged),
                       key=SEVERITY.index)
        else:
            worst, read = None, "unjudged"
        verdicts.append(ParamVerdict(section, name, worst, read, len(param_rows),
                                     sum(r.kink for r in param_rows), smooth))
        rows += param_rows
    return rows, verdicts, value


def gradients(net: Layer, loss: Loss, X, y, reg=None, per_param: int = 10, h: float = 1e-5,
              seed=0, burn_in: int = 0, opt: Optimizer | None = None) -> GradientReport:
    """Check every parameter's analytic gradient against centered differences, as the notes say.

    net: the network (any dtype; a float64 deep copy is checked, `net` stays bit-for-bit
    unchanged). X: (N, D) a few examples (the notes advise 2-10), y: (N,) their targets.
    reg: a regularizer, checked in its own section. per_param: coordinates sampled from
    each parameter (seeded by `seed`). h: the finite-difference step. burn_in: training
    iterations on (X, y) with `opt` (default Adam(lr=1e-3)) before the check, so that it
    happens in a characteristic state rather than at the initialization.

    The forward pass runs in training mode (BatchNorm uses batch statistics, dropout draws
    its mask from the layer's rng, reset to the same state before every evaluation).
    Returns a `GradientReport`; `report.ok` is False when any parameter's gradient is wrong.
    Warns (UserWarning) when gradients below 1e-10 were compared.
    """
    positive_int(per_param, "per_param")
    h = _check_step(h)
    objective, notes = _prepare(net, loss, X, y, reg, seed, burn_in, opt)
    return judge(objective, per_param, h, seed, notes, burn_in, regularized=reg is not None)


def judge(objective, per_param: int, h: float, seed=0, notes: list[str] | None = None,
          burn_in: int = 0, regularized: bool = False) -> GradientReport:
    """The report on `per_param` sampled coordinates of every parameter of `objective`: an
    `_Objective`, or `babysit.torch`'s for a PyTorch module (the same methods: `params` of
    arrays, `X`, `data_loss`, `data_gradients`, `numerical`, and `reg_*` if `regularized`)."""
    positive_int(per_param, "per_param")
    h, notes = _check_step(h), list(notes or [])
    coordinates = _coordinates(objective.params, per_param, seed)
    rows, verdicts, data_loss = _section(objective, DATA, coordinates, h)
    if regularized:
        reg_rows, reg_verdicts, _ = _section(objective, REGULARIZATION, coordinates, h)
        # Parameters the penalty leaves alone (biases, gamma, beta) would fill the section
        # with rows of zeros; they are named in a note instead.
        untouched = {v.param for v in reg_verdicts} - {
            r.param for r in reg_rows if r.analytic != 0 or r.numerical != 0}
        rows += [r for r in reg_rows if r.param not in untouched]
        verdicts += [v for v in reg_verdicts if v.param not in untouched]
        if untouched:
            notes.append("not penalized (both regularization gradients exactly 0): "
                         + ", ".join(name for name in coordinates if name in untouched))

    excused = sum(r.roundoff and r.judged for r in rows)
    if excused:
        notes.append(f"{excused} rows marked round-off: their gradient is so small next to the "
                     f"loss that |analytic - numerical| is within what round-off allows "
                     f"({ROUNDOFF:g} |f| / h); they count as agreeing")
    crossed = sum(r.kink for r in rows)
    if crossed:
        notes.append(f"{crossed} of {len(rows)} rows crossed a kink: f(x+h) and f(x-h) lie on "
                     f"different sides of a max(), so their error is not held against the code "
                     f"(fewer examples or a smaller h crosses fewer)")
    unjudged = [f"{v.param} ({v.section})" for v in verdicts if v.worst is None]
    if unjudged:
        notes.append("every row crossed a kink or was tiny, nothing judged: "
                     + ", ".join(unjudged))
    tiny = list(dict.fromkeys(f"{r.param} ({r.section})" for r in rows if r.tiny))
    if tiny:
        message = (f"gradients below {TINY:g} were compared for {', '.join(tiny)}: round-off "
                   f"dominates there, so those rows are not judged. Unless the gradient is truly "
                   f"zero (a bias feeding BatchNorm), scale the loss up by a constant so that "
                   f"gradients are near 1.0, and check again")
        notes.append(message)
        warnings.warn(message, stacklevel=3)
    return GradientReport(rows, verdicts, h, int(objective.X.shape[0]), burn_in, data_loss, notes)


@dataclass
class StepSizes:
    """The relative error of the numerical gradient as the step h shrinks.

    h: (K,) the steps, largest first; rel_error: (K,) the median relative error over the
    sampled coordinates (those with a non-zero analytic gradient); kinks: (K,) the fraction
    of them whose difference crossed a kink. Large h: truncation (and kinks) dominate;
    small h: round-off does.
    """

    h: np.ndarray
    rel_error: np.ndarray
    kinks: np.ndarray

    @property
    def best(self) -> float:
        """The step with the smallest relative error."""
        return float(self.h[np.nanargmin(self.rel_error)])

    def __str__(self) -> str:
        body = [(f"{h:.0e}", f"{e:.1e}", f"{k:.0%}")
                for h, e, k in zip(self.h, self.rel_error, self.kinks, strict=True)]
        return _table(("h", "median rel. error", "kinks crossed"), body, right=(1, 2))


def step_sizes(net: Layer, loss: Loss, X, y, steps=STEP_SIZES, per_param: int = 3, seed=0,
               burn_in: int = 0, opt: Optimizer | None = None) -> StepSizes:
    """The data-loss relative error for each step h in `steps` (default 1e-1 ... 1e-10).

    Shows the notes' point that smaller h is not always better: the error falls with h
    (truncation, O(h^2) for centered differences) until round-off takes over and it rises
    again. Same copy, seeding and burn-in as `gradients`; X: (N, D), y: (N,).
    """
    positive_int(per_param, "per_param")
    if isinstance(steps, str | numbers.Number) or not hasattr(steps, "__iter__"):
        raise ValueError(f"steps must be a sequence of step sizes h (e.g. [1e-3, 1e-5]), got "
                         f"{steps!r}")
    steps = [_check_step(h) for h in steps]
    if not steps:
        raise ValueError("steps must hold at least one step size h")
    objective, _ = _prepare(net, loss, X, y, None, seed, burn_in, opt)
    coordinates = _coordinates(objective.params, per_param, seed)
    _, _, analytic = objective.data_gradients()
    checked = [(name, index) for name, indices in coordinates.items() for index in indices
               if analytic[name][index] != 0]
    errors, crossed = [], []
    for h in steps:
        results = [objective.numerical(objective.data_loss, name, index, h)
                   for name, index in checked]
        errors.append(np.median([rel_error(analytic[name][index], num)
                                 for (name, index), (num, _, _) in zip(checked, results,
                                                                        strict=True)])
                      if checked else np.nan)
        crossed.append(np.mean([kink for _, kink, _ in results]) if checked else 0.0)
    return StepSizes(np.array(steps), np.array(errors, dtype=np.float64),
                     np.array(crossed, dtype=np.float64))
