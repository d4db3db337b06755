"""`History`: what a training run recorded, readable back from JSON."""

from __future__ import annotations

import bisect
import json
import math
import numbers
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from babysit.diagnose.records import well_formed
from babysit.diagnose.symptoms import EXPLODE_FACTOR
from babysit.training.checkpoint_file import replaced_atomically
from babysit.validation import positive_int

__all__ = ["EPOCH_CONVENTION", "History", "SERIES"]

# The per-iteration series of a History (the rest are per epoch, or dicts)
SERIES = ("loss", "data_loss", "reg_loss", "lr")
# How `save` writes the infinities it turns into null, and `load` reads them back
_INFINITE = {"inf": math.inf, "-inf": -math.inf}
# The per-epoch series whose null already means "not measured" (no validation data): a NaN
# there is noted under "infinite" as "nan" too, so that it reads back as NaN, not as None
_MEASURED = ("val_loss",)
_NOT_A_NUMBER = {**_INFINITE, "nan": math.nan}

# The one epoch convention of babysit: the terminal, the diagnosis, the report and its figures
# all say it this way.
EPOCH_CONVENTION = (
    "Epoch k is the k-th pass over the training data (epoch 1 is the first). On an axis in "
    "epochs, iteration i of a run with n iterations per epoch sits at i / n, so epoch k spans "
    "k-1 to k: 2.25 is a quarter of the way through epoch 3, and an accuracy measured at the "
    "end of epoch k is drawn at k.")


@dataclass
class History:
    """The record of one training run.

    Per iteration: `loss` (data + regularization), `data_loss`, `reg_loss` and `lr`;
    their x axis in epochs is `epochs_axis()`. Per epoch: `train_acc`, `val_acc`
    (None without validation data; both None for a regression loss) and `val_loss`, the
    data loss on the validation data (None without it; what a regression is judged by).
    `monitors` holds what monitors recorded, keyed by monitor name; `meta` describes the
    run (model, optimizer, data). `epoch_ends` holds, per epoch, the iterations done when it
    ended: epochs of different lengths (a second `fit` on other data, scikit-learn's
    `partial_fit` on chunks of varying size) are placed by it; where every epoch held
    `iters_per_epoch` iterations (or a file of an earlier version lacks it), that says it all.
    """

    iters_per_epoch: int = 1
    loss: list[float] = field(default_factory=list)
    data_loss: list[float] = field(default_factory=list)
    reg_loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    train_acc: list[float | None] = field(default_factory=list)
    val_acc: list[float | None] = field(default_factory=list)
    val_loss: list[float | None] = field(default_factory=list)
    monitors: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    epoch_ends: list[int] = field(default_factory=list)

    @property
    def iterations(self) -> int:
        """Training steps recorded (one loss each)."""
        return len(self.loss)

    @property
    def epochs(self) -> int:
        """Epochs finished (one train accuracy each)."""
        return len(self.train_acc)

    def validation_scores(self) -> list[float | None]:
        """Per epoch, how well the model did on the validation data, higher being better: the
        accuracy, or where there is none (a regression loss) the validation loss negated.
        What early stopping and the best checkpoint go by."""
        if any(v is not None for v in self.val_acc):
            return list(self.val_acc)
        return [None if v is None else -v for v in self.val_loss]

    def validation_keys(self) -> list[tuple[float, ...] | None]:
        """Per epoch, what picks the best epoch (best.safetensors, `BestWeights`): the
        validation score (`validation_scores`) and, among epochs level on it, the lower
        validation loss. On a few validation rows the accuracy ties at its ceiling for many
        epochs (18 rows: every epoch from the fifth at 1.0); the first of them is the least
        trained, the loss still tells them apart. Tuples compare in that order."""
        scores = self.validation_scores()
        if not any(v is not None for v in self.val_acc):
            return [None if s is None else (s,) for s in scores]
        losses = [*self.val_loss, *[None] * (len(scores) - len(self.val_loss))]
        return [None if s is None else (s, -math.inf if v is None else -v)
                for s, v in zip(scores, losses, strict=False)]

    def end_epoch(self, iteration: int) -> None:
        """Note that an epoch ended after `iteration` updates in all (the Trainer calls it
        before it records the epoch's accuracies). Epochs recorded without ends (a History of
        an earlier version, resumed) are taken to have held `iters_per_epoch` each."""
        ends = self.epoch_ends
        if len(ends) != len(self.train_acc):
            ends[:] = [k * self.iters_per_epoch for k in range(1, len(self.train_acc) + 1)]
        ends.append(int(iteration))

    def _uneven_ends(self) -> list[int] | None:
        """`epoch_ends` where they place the epochs otherwise than `iters_per_epoch` does
        (epochs of different lengths), else None: then every epoch held `iters_per_epoch`
        iterations, or the ends are unknown or do not fit the run (one per epoch, in order,
        within the iterations recorded), and the even split is the best reading."""
        ends, ipe = self.epoch_ends, max(self.iters_per_epoch, 1)
        if not ends or len(ends) != len(self.train_acc) or ends[-1] > len(self.loss) \
                or ends == list(range(ipe, ipe * len(ends) + 1, ipe)):
            return None
        if ends[0] < 0 or any(b < a for a, b in zip(ends, ends[1:], strict=False)):
            return None
        return ends

    def epoch_bounds(self) -> list[int]:
        """The iterations done when each recorded epoch ended: `epoch_ends` where they place
        the epochs otherwise than `iters_per_epoch` does, else its multiples."""
        ends = self._uneven_ends()
        if ends is not None:
            return list(ends)
        ipe = max(self.iters_per_epoch, 1)
        return [ipe * k for k in range(1, len(self.train_acc) + 1)]

    def epoch_means(self, series: list) -> list[float | None]:
        """The mean of each whole epoch's finite values of a per-iteration `series` (such as
        `data_loss`), None for an epoch with none: (epochs,) from (iterations,)."""
        ends = self._uneven_ends()
        if ends is not None:
            means = []
            for start, end in zip([0, *ends], ends, strict=False):
                v = np.asarray(series[start:end], dtype=np.float64)
                v = v[np.isfinite(v)]
                means.append(float(v.mean()) if v.size else None)
            return means
        ipe = max(self.iters_per_epoch, 1)
        n = len(series) // ipe
        if n == 0:
            return []
        v = np.asarray(series[:n * ipe], dtype=np.float64).reshape(n, ipe)
        ok = np.isfinite(v)
        counts = ok.sum(axis=1)
        sums = np.where(ok, v, 0.0).sum(axis=1)
        return [float(s / c) if c else None for s, c in zip(sums, counts, strict=True)]

    def in_epochs(self, iterations) -> np.ndarray:
        """Where the moments after `iterations` updates (counts, array-like) sit on an axis in
        epochs (EPOCH_CONVENTION): i / iters_per_epoch when every epoch held that many; else
        each epoch spans one unit whatever its length, and iterations after the last epoch's
        end go on at `iters_per_epoch` a unit."""
        i = np.asarray(iterations, dtype=np.float64)
        ipe = max(self.iters_per_epoch, 1)
        ends = self._uneven_ends()
        if ends is None:
            return i / ipe
        bounds = np.asarray([0, *ends], dtype=np.float64)
        k = np.clip(np.searchsorted(bounds, i, side="left"), 1, len(ends))  # i's epoch, 1-based
        start, end = bounds[k - 1], bounds[k]
        within = np.divide(i - start, end - start, out=np.ones_like(i), where=end > start)
        return np.where(i <= 0, i / ipe,
                        np.where(i > bounds[-1], len(ends) + (i - bounds[-1]) / ipe,
                                 k - 1 + within))

    def epochs_axis(self) -> list[float]:
        """x of each recorded iteration, in epochs (iteration 1 of epoch 1 is 1/iters_per_epoch
        when every epoch held that many: `in_epochs`)."""
        return self.in_epochs(np.arange(1, len(self.loss) + 1)).tolist()

    def epoch_of(self, iteration: int) -> int:
        """The epoch (1-based pass) that the `iteration`-th update (1-based) belongs to:
        updates 1..n are epoch 1 when there are n per epoch (of epochs of different lengths,
        the one whose `epoch_ends` it falls within); 0 (before training) gives 0."""
        ipe = max(self.iters_per_epoch, 1)
        ends = self._uneven_ends()
        if ends is None or iteration <= 0:
            return math.ceil(iteration / ipe)
        if iteration > ends[-1]:
            return len(ends) + math.ceil((iteration - ends[-1]) / ipe)
        return bisect.bisect_left(ends, iteration) + 1

    def when(self, iteration: int) -> str:
        """How every text names the moment after the `iteration`-th update: "iteration 71
        (epoch 3)", or "the start (iteration 0)" before any update (see EPOCH_CONVENTION);
        "an unknown iteration" when `iteration` is no finite number (a monitor's record read
        from a damaged file holds null or inf), so that a report still names the rest."""
        if not isinstance(iteration, numbers.Real) or not math.isfinite(iteration):
            return "an unknown iteration"
        if iteration <= 0:
            return "the start (iteration 0)"
        return f"iteration {iteration} (epoch {self.epoch_of(iteration)})"

    def nonfinite_at(self) -> int | None:
        """The iteration (1-based) whose loss was first NaN or infinite, or None."""
        for i, value in enumerate(self.loss, start=1):
            if value is None or not math.isfinite(value):
                return i
        return None

    def loss_ceiling(self) -> float | None:
        """What a healthy loss stays under: the larger of its first value and chance (None
        when the first loss is not finite)."""
        if not self.loss or not math.isfinite(self.loss[0]):
            return None
        return max(float(self.loss[0]), self.meta.get("chance_loss") or 0.0)

    def blowup_at(self, factor: float = EXPLODE_FACTOR) -> int | None:
        """The iteration (1-based) whose loss first went above `factor` x `loss_ceiling()`
        (a blow-up: by default the diagnosis' own threshold), or None."""
        ceiling = self.loss_ceiling()
        if ceiling is None:
            return None
        for i, value in enumerate(self.loss, start=1):
            if value is not None and math.isfinite(value) and value > factor * ceiling:
                return i
        return None

    def record_step(self, data_loss: float, reg_loss: float, lr: float) -> None:
        """Append one training step: its data loss, penalty, their sum and the learning rate."""
        self.data_loss.append(data_loss)
        self.reg_loss.append(reg_loss)
        self.loss.append(data_loss + reg_loss)
        self.lr.append(lr)

    def diagnose(self):
        """The notes' rules of thumb applied to this run: a list of `Finding`s."""
        from babysit.diagnose import diagnose

        return diagnose(self)

    def to_dict(self, copy: bool = True) -> dict:
        """Every field as plain lists and dicts (what `save` writes). copy=False shares the
        History's own lists and dicts instead of copying them, for a caller that writes them
        out at once (a checkpoint after each epoch: the copy of a long run's monitors costs
        several times the write)."""
        return asdict(self) if copy else {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict) -> History:
        """The inverse of `to_dict`; keys this version does not know are ignored. Raises
        ValueError for an `iters_per_epoch` that is no positive integer (a hand-edited or
        damaged file: every epoch and per-epoch mean is counted in it). A monitor's record
        without its declared layout (the same damage, inside `monitors`) is left out
        (`records.well_formed`): the rules and plots that read it stay silent, the rest of
        the run is still read; so are `epoch_ends` that are no list of integers (the epochs
        are then placed by `iters_per_epoch`, as before they were recorded). A field of the
        wrong kind (a series that is no list, monitors or meta that are no dict) is a
        ValueError too."""
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        positive_int(known.get("iters_per_epoch", 1), "'iters_per_epoch'")
        ends = known.get("epoch_ends", [])
        known["epoch_ends"] = list(ends) if isinstance(ends, list) and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in ends) else []
        for f in fields(cls):   # a series that is no list failed at the next step's append
            kind = {"list": list, "dict": dict}.get(str(f.type).split("[")[0])
            if kind is not None and f.name in known and not isinstance(known[f.name], kind):
                raise ValueError(f"{f.name!r} must be a {kind.__name__}, got "
                                 f"{type(known[f.name]).__name__}")
        if isinstance(known.get("monitors"), dict):
            known["monitors"] = well_formed(known["monitors"])
        return cls(**known)

    def save(self, path) -> None:
        """Write the history as strict JSON, whole or not at all (`replaced_atomically`).

        JSON has no NaN or inf: a diverged run's last losses are written as null, so that any
        JSON reader (not only Python's) can read the file, and which of them were +-inf is
        kept under "infinite" ({series: {index: "inf" | "-inf"}}), so that `load` gives the
        diagnosis the same evidence ("the loss became inf"). A validation loss that was NaN
        is noted there as "nan" too: its null would read as "no validation data"."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        d = self.to_dict()
        # (a per-iteration series' NaN is its null's reading already: only infinities noted)
        infinite = {name: {str(i): "nan" if math.isnan(v) else "inf" if v > 0 else "-inf"
                           for i, v in enumerate(d[name]) if isinstance(v, float)
                           and (math.isinf(v) or name in _MEASURED and math.isnan(v))}
                    for name in (*SERIES, *_MEASURED)}
        d = _finite_or_null(d)
        if any(infinite.values()):
            d["infinite"] = {name: where for name, where in infinite.items() if where}
        with replaced_atomically(path, durable=False) as tmp:
            tmp.write_text(json.dumps(d, allow_nan=False))

    @classmethod
    def load(cls, path) -> History:
        """Read a history written by `save`; a null in a per-iteration series reads as NaN,
        or as the +-inf that `save` noted it was."""
        try:
            d = json.loads(Path(path).read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
            reason = "nested too deeply" if isinstance(err, RecursionError) else err
            raise ValueError(f"{path} is not a history written by History.save: {reason}"
                             ) from None
        if not isinstance(d, dict):
            raise ValueError(f"{path} is not a history written by History.save: expected a "
                             f"JSON object, got {type(d).__name__}")
        if "loss" not in d:
            raise ValueError(f"{path} is not a history written by History.save: it records no "
                             f"'loss' (its keys: {', '.join(map(str, list(d)[:8])) or 'none'})")
        infinite = d.get("infinite")
        for name in SERIES:
            values = d.get(name, [])
            if not isinstance(values, list) or not all(
                    v is None or isinstance(v, int | float) for v in values):
                raise ValueError(f"{path} is not a history written by History.save: {name!r} "
                                 f"must be a list of numbers")
            where = infinite.get(name) if isinstance(infinite, dict) else None
            where = where if isinstance(where, dict) else {}
            d[name] = [v if v is not None else _INFINITE.get(where.get(str(i)), math.nan)
                       for i, v in enumerate(values)]
        for name in ("train_acc", "val_acc", "val_loss"):
            values = d.get(name, [])
            if not isinstance(values, list) or not all(
                    v is None or isinstance(v, int | float) for v in values):
                raise ValueError(f"{path} is not a history written by History.save: {name!r} "
                                 f"must be a list of numbers (or null)")
            where = infinite.get(name) if name in _MEASURED and isinstance(infinite, dict) else {}
            where = where if isinstance(where, dict) else {}
            d[name] = [v if v is not None or str(i) not in where
                       else _NOT_A_NUMBER.get(where[str(i)]) for i, v in enumerate(values)]
        for name in ("monitors", "meta"):
            if not isinstance(d.get(name, {}), dict):
                raise ValueError(f"{path} is not a history written by History.save: {name!r} "
                                 f"must be a JSON object, got {type(d[name]).__name__}")
        for name in ("data_loss", "reg_loss"):  # recorded with `loss`, step by step
            if d[name] and len(d[name]) != len(d["loss"]):
                raise ValueError(f"{path} is not a history written by History.save: {name!r} "
                                 f"holds {len(d[name])} values but 'loss' {len(d['loss'])}")
        try:
            return cls.from_dict(d)
        except ValueError as err:
            raise ValueError(f"{path} is not a history written by History.save: {err}") from None


def _finite_or_null(x):
    """`x` with NumPy scalars and arrays as Python values and every NaN or inf as None."""
    if hasattr(x, "tolist"):
        x = x.tolist()
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _finite_or_null(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_finite_or_null(v) for v in x]
    return x
