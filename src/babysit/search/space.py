"""What a search samples: the ranges of each hyperparameter (uniform, loguniform, intuniform,
choice), read from the command line by `parse_param`, and the coarse-to-fine `Stage`s.

A hyperparameter is a RunConfig field (`searchable_fields`: all but the data's own), so the
names a space may hold, and how a choice's words are read, come from RunConfig.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from babysit.runs.config import RunConfig, config_fields
from babysit.validation import positive_int

__all__ = ["searchable_fields", "base_config", "Uniform", "LogUniform", "IntUniform", "Choice",
           "choice_label", "uniform", "loguniform", "intuniform", "choice", "Dimension",
           "default_space", "parse_param", "Stage", "default_stages", "parse_stages"]

# A narrowed range spans the best values padded by this fraction of their spread on each side,
# and by at least this fraction of the whole range.
NARROW_MARGIN = 0.25
NARROW_MIN_PAD = 0.05

# RunConfig fields a search never varies: they decide the data, which is loaded once.
_DATA_FIELDS = ("data", "target", "preprocess", "task", "drop", "split", "val_data",
                "test_data", "header")


def searchable_fields() -> dict:
    """The RunConfig fields a search may vary (all but the data's), by name."""
    return {k: f for k, f in config_fields().items() if k not in _DATA_FIELDS}


def base_config() -> dict:
    """RunConfig's default for every field a search may vary (model, training, seed)."""
    return {k: v for k, v in RunConfig().to_dict().items() if k in searchable_fields()}


@dataclass(frozen=True)
class Uniform:
    """Values drawn uniformly from [lo, hi]."""

    lo: float
    hi: float
    log = False

    def __post_init__(self):
        if not (math.isfinite(self.lo) and math.isfinite(self.hi)) or self.lo >= self.hi:
            raise ValueError(f"{self.kind}: lo must be below hi (both finite), "
                             f"got lo={self.lo!r}, hi={self.hi!r}")

    @property
    def kind(self) -> str:
        """The name of the function that makes this range ("uniform", "loguniform", ...)."""
        return type(self).__name__.lower()

    def suggest(self, trial, name: str):
        """Draw this hyperparameter's value for an Optuna trial."""
        return trial.suggest_float(name, self.lo, self.hi, log=self.log)

    def scale(self, value: float) -> float:
        """Where `value` sits in the range: 0 at lo, 1 at hi (measured in log space when log)."""
        lo, hi, v = (np.log(x) if self.log else x for x in (self.lo, self.hi, value))
        return float((v - lo) / (hi - lo))

    def narrow(self, values: Sequence, margin: float = NARROW_MARGIN):
        """The sub-range spanning `values`, padded on each side by `margin` of their spread
        (at least 5% of this range) and kept inside this range."""
        lo, hi = self._padded_span(values, margin)
        return replace(self, lo=max(self.lo, lo), hi=min(self.hi, hi))

    def _padded_span(self, values: Sequence, margin: float) -> tuple[float, float]:
        t = [self.scale(v) for v in values]
        pad = max(margin * (max(t) - min(t)), NARROW_MIN_PAD)
        return self._unscale(max(0.0, min(t) - pad)), self._unscale(min(1.0, max(t) + pad))

    def widened(self, upward: bool):
        """A range one decade (log) or half its width (linear) wider on one side."""
        if self.log:
            return replace(self, hi=self.hi * 10) if upward else replace(self, lo=self.lo / 10)
        step = (self.hi - self.lo) / 2
        return replace(self, hi=self.hi + step) if upward else replace(self, lo=self.lo - step)

    def _unscale(self, u: float) -> float:
        if self.log:
            return float(np.exp(np.log(self.lo) + u * (np.log(self.hi) - np.log(self.lo))))
        return self.lo + u * (self.hi - self.lo)

    def __str__(self) -> str:
        return f"{self.kind}({self.lo:g}, {self.hi:g})"


@dataclass(frozen=True)
class LogUniform(Uniform):
    """Values whose logarithm is uniform in [log lo, log hi]: the notes' choice for learning
    rates and regularization strengths, which act multiplicatively."""

    log = True

    def __post_init__(self):
        super().__post_init__()
        if self.lo <= 0:
            raise ValueError(f"loguniform: lo must be positive, got {self.lo!r}")


@dataclass(frozen=True)
class IntUniform(Uniform):
    """Integers drawn uniformly from lo..hi inclusive (on a log scale with log=True)."""

    lo: int
    hi: int
    log: bool = False

    def __post_init__(self):
        if not (isinstance(self.lo, int) and isinstance(self.hi, int)):
            raise ValueError(f"intuniform: lo and hi must be integers, "
                             f"got {self.lo!r}, {self.hi!r}")
        super().__post_init__()
        if self.log and self.lo <= 0:
            raise ValueError(f"intuniform: lo must be positive on a log scale, got {self.lo!r}")

    def suggest(self, trial, name: str):
        """Draw this hyperparameter's integer value for an Optuna trial."""
        return trial.suggest_int(name, self.lo, self.hi, log=self.log)

    def narrow(self, values: Sequence, margin: float = NARROW_MARGIN):
        """As `Uniform.narrow`, rounded outward to integers and at least one step wide."""
        lo, hi = self._padded_span(values, margin)
        lo, hi = max(self.lo, math.floor(lo)), min(self.hi, math.ceil(hi))
        if lo == hi:  # keep a range, one step wide, inside this one
            lo, hi = (lo - 1, hi) if hi == self.hi else (lo, hi + 1)
        return replace(self, lo=lo, hi=hi)

    def widened(self, upward: bool):
        """As `Uniform.widened`, in whole numbers (a log range stays above 0)."""
        if self.log:
            return replace(self, hi=self.hi * 10) if upward else \
                replace(self, lo=max(1, self.lo // 10))
        step = max(1, (self.hi - self.lo) // 2)
        return replace(self, hi=self.hi + step) if upward else replace(self, lo=self.lo - step)

    def __str__(self) -> str:
        return f"intuniform({self.lo}, {self.hi}{', log=True' if self.log else ''})"


@dataclass(frozen=True)
class Choice:
    """One of a list of values (numbers, strings, or lists such as hidden widths)."""

    values: tuple
    log = False

    def __post_init__(self):
        object.__setattr__(self, "values", tuple(self.values))
        if not self.values:
            raise ValueError("choice: needs at least one value, got none")
        labels = self.labels()
        if len(set(labels)) != len(labels):
            raise ValueError(f"choice: values must be distinct, got {list(self.values)!r}")

    def labels(self) -> list[str]:
        """Optuna stores categorical values as scalars: each value's JSON text stands for it."""
        return [choice_label(v) for v in self.values]

    def suggest(self, trial, name: str):
        """Draw one of the values for an Optuna trial (Optuna records its label)."""
        labels = self.labels()
        return self.values[labels.index(trial.suggest_categorical(name, labels))]

    def value_of(self, label):
        """The value an Optuna parameter label stands for."""
        return self.values[self.labels().index(label)]

    def narrow(self, values: Sequence, margin: float = NARROW_MARGIN):
        """The choices that appear among `values`, in their original order."""
        kept = {choice_label(v) for v in values}
        return Choice(tuple(v for v in self.values if choice_label(v) in kept))

    def __str__(self) -> str:
        return f"choice({' | '.join(self.labels())})"


def _json_ready(value):
    """A setting's value as JSON holds it (hidden widths as a list), so that a choice's
    values, the trial table and RunConfig.to_dict() agree."""
    return list(value) if isinstance(value, tuple) else value


def choice_label(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def uniform(lo: float, hi: float) -> Uniform:
    """A hyperparameter drawn uniformly from [lo, hi], e.g. dropout: uniform(0, 0.5)."""
    return Uniform(float(lo), float(hi))


def loguniform(lo: float, hi: float) -> LogUniform:
    """A hyperparameter drawn on a log scale from [lo, hi], e.g. lr: loguniform(1e-5, 1e-1)."""
    return LogUniform(float(lo), float(hi))


def intuniform(lo: int, hi: int, log: bool = False) -> IntUniform:
    """An integer drawn uniformly from lo..hi (log=True: on a log scale), e.g. batch size."""
    return IntUniform(lo, hi, log)


def choice(values: Sequence) -> Choice:
    """One of `values`, e.g. hidden: choice([[100], [100, 100]])."""
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise ValueError(f"choice: values must be a list, got {values!r}")
    return Choice(tuple(values))


Dimension = Uniform | Choice


def default_space() -> dict[str, Dimension]:
    """The notes' usual suspects: learning rate and L2 strength on log scales, then the
    network's width and depth and dropout."""
    return {
        "lr": loguniform(1e-4, 3e-2),
        "reg": loguniform(1e-6, 1e-1),
        "hidden": choice([[50], [100], [100, 100], [200, 200]]),
        "dropout": uniform(0.0, 0.5),
    }


_DIMENSIONS = {"uniform": uniform, "loguniform": loguniform, "intuniform": intuniform,
               "choice": choice}


def parse_param(text: str) -> tuple[str, Dimension]:
    """Read a command-line range such as "lr=loguniform(1e-5,1e-1)", "batch_size=intuniform(16,
    256)" or "hidden=choice(50 | 100,100)" (choices separated by "|", each read the way the
    `babysit train` option of that name reads its value). Returns (name, dimension)."""
    match = re.fullmatch(r"\s*([A-Za-z_][\w-]*)\s*=\s*(\w+)\s*\((.*)\)\s*", text)
    if match is None:
        raise ValueError(f"--param must look like NAME=KIND(ARGS), e.g. lr=loguniform(1e-5,1e-1), "
                         f"got {text!r}")
    name, kind, body = match.group(1).replace("-", "_"), match.group(2), match.group(3)
    options = searchable_fields()
    if name not in options:
        raise ValueError(f"--param: unknown hyperparameter {name!r}; known: "
                         f"{', '.join(options)}")
    if kind not in _DIMENSIONS:
        raise ValueError(f"--param {name}: unknown kind {kind!r}; known: {', '.join(_DIMENSIONS)}")
    if kind == "choice":
        meta = options[name].metadata
        try:
            values = [_json_ready(meta["check"](meta["parse"](part.strip()), name))
                      for part in body.split("|")]
        except ValueError as err:
            raise ValueError(f"--param {name}: cannot read the choices {body!r}: {err}") from None
        return name, choice(values)
    parts = [p.strip().lower() for p in body.split(",")]
    log = False
    if kind == "intuniform" and len(parts) == 3:
        log = {"log": True, "log=true": True, "true": True, "log=false": False,
               "false": False}.get(parts.pop())
    if len(parts) != 2 or log is None:
        raise ValueError(f"--param {name}: {kind} takes (lo, hi)"
                         f"{' or (lo, hi, log=true)' if kind == 'intuniform' else ''}, "
                         f"got {body!r}")
    try:
        bounds = [int(p) if kind == "intuniform" else float(p) for p in parts]
    except ValueError:
        raise ValueError(f"--param {name}: {kind} takes numbers, got {body!r}") from None
    return name, (intuniform(*bounds, log=log) if kind == "intuniform"
                  else _DIMENSIONS[kind](*bounds))


# -- stages ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    """One pass of the search: `trials` trials of `epochs` epochs each (None: the base
    configuration's epochs). Every stage after the first narrows each range around the best
    `top` fraction (at least 3) of the previous stage's trials."""

    trials: int
    epochs: int | None = None
    top: float = 0.25

    def __post_init__(self):
        positive_int(self.trials, "Stage: trials")
        if self.epochs is not None:
            positive_int(self.epochs, "Stage: epochs")
        if not 0 < self.top <= 1:
            raise ValueError(f"Stage: top must be a fraction in (0, 1], got {self.top!r}")


def default_stages(trials: int, epochs: int) -> list[Stage]:
    """Two thirds of the trials short (a fifth of `epochs`) over the full ranges, then a third
    at `epochs` in narrowed ranges; under 6 trials, one stage at `epochs`."""
    positive_int(trials, "trials")
    if trials < 6:
        return [Stage(trials, epochs)]
    return [Stage(trials - trials // 3, max(1, epochs // 5)), Stage(trials // 3, epochs)]


def parse_stages(text: str) -> list[Stage]:
    """Read "--stages 20:6,10:30" (trials:epochs for each stage)."""
    stages = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*:\s*(\d+)\s*", part)
        if match is None:
            raise ValueError(f"--stages takes trials:epochs pairs like 20:6,10:30, got {text!r}")
        stages.append(Stage(int(match.group(1)), int(match.group(2))))
    return stages


