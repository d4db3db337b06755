"""One run's configuration, below every front end: `RunConfig`.

The command line, the scikit-learn estimators and the hyperparameter search all describe a run
with the same frozen dataclass. Each field carries its help text, its group ("data", "model",
"training") and how a command-line word becomes its value, so that a new field appears on the
command line (and in the estimators and the search space) with no edit there: adding a
hyperparameter touches `RunConfig`, the code that uses it (`babysit.runs.builders`), and its test.

Validation happens once, in `RunConfig.__post_init__`: every error names the field, the value
and what was expected. `to_dict`/`from_dict` give the JSON form a run folder keeps as
`config.json` and a checkpoint keeps in its header.
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
import json
import math
import numbers
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from babysit.backend import DEVICES, FLOAT_DTYPES
from babysit.data import preprocess
from babysit.data.datasets import BUILTIN
from babysit.data.tabular import TASKS
from babysit.nn import initializers, layers, losses, optim
from babysit.training.alerts import STOP_ON
from babysit.validation import described, positive_int, seed_or_none

# -- how one field is described, parsed and checked -----------------------------------------


def _setting(default, help: str, group: str, *, check: Callable, parse: Callable = str,
             choices: Callable[[], tuple] | None = None, cli_choices: Callable | None = None):
    """A RunConfig field: its default, help text, group, `check(value, name) -> value`
    (normalizing or raising ValueError), `parse(text) -> value` for the command line, and
    `choices()` for the fields that take a name (`cli_choices()`: the subset the command line
    offers, when it offers fewer)."""
    return field(default=default, metadata={"help": help, "group": group, "check": check,
                                            "parse": parse, "choices": choices,
                                            "cli_choices": cli_choices or choices})


def parse_widths(text: str) -> tuple[int, ...]:
    """Hidden widths from "100,100" (or "" / "none" / "0" for none); ValueError otherwise."""
    text = text.strip()
    if text in ("", "none", "0"):
        return ()
    try:
        return tuple(int(w) for w in text.split(","))
    except ValueError:
        raise ValueError(f"--hidden takes comma-separated integers like 100,100, "
                         f"got {text!r}") from None


def parse_names(text: str) -> tuple[str, ...]:
    """Column names from "id,name" ("" or "none" for none, as `--hidden none`), read as a
    CSV row: a name holding a comma is quoted, '"Income, USD",id' (as a refused column's
    --drop is written: `tabular.RefusedColumns`)."""
    if text.strip().lower() == "none":
        return ()
    row = next(csv.reader([text], skipinitialspace=True), [])
    return tuple(name.strip() for name in row if name.strip())


def parse_bool(text: str) -> bool:
    """true/false, yes/no, 1/0 (case-insensitive)."""
    value = {"true": True, "yes": True, "1": True, "false": False, "no": False,
             "0": False}.get(text.strip().lower())
    if value is None:
        raise ValueError(f"expected true or false, got {text!r}")
    return value


def parse_whole(text: str) -> int:
    """A whole number from "30"; ValueError "expected a whole number" for "1.5" or "ten"."""
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"expected a whole number, got {text!r}") from None


def parse_real(text: str) -> float:
    """A number from "1e-3"; ValueError "expected a number" for "fast"."""
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"expected a number, got {text!r}") from None


def _optional(parse: Callable) -> Callable:
    """A parser that reads "none" as None and anything else with `parse`."""
    return lambda text: None if text.strip().lower() == "none" else parse(text)


def _number(value, name: str, low: float, high: float = math.inf, *, low_open: bool = False,
            high_open: bool = True, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if not isinstance(value, numbers.Real) or isinstance(value, bool):  # a type, not a range
        raise ValueError(f"{name} must be a number{' or None' if optional else ''}, got "
                         f"{described(value)}")
    ok = math.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and \
             (value < high if high_open else value <= high)
    if not ok:
        if high == math.inf:
            want = f"> {low:g}" if low_open else f">= {low:g}"
        else:
            want = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be {want}{' or None' if optional else ''}, got {value!r}")
    return float(value)


# The largest float32: a penalty strength or a noise std beyond it is inf in the network
FLOAT32_MAX = float(np.finfo(np.float32).max)


def _check_number(low, high=math.inf, **kw) -> Callable:
    return lambda value, name: _number(value, name, low, high, **kw)


def _check_count(optional: bool = False) -> Callable:
    def check(value, name):
        return None if value is None and optional else positive_int(value, name)
    return check


def _check_choice(choices: Callable[[], tuple]) -> Callable:
    def check(value, name):
        known = choices()
        if value not in known:
            words = ("none" if choice is None else str(choice) for choice in known)
            raise ValueError(f"unknown {name} {value!r}; known: {', '.join(words)}")
        return value
    return check


def _check_text(optional: bool = False) -> Callable:
    def check(value, name):
        if value is None and optional:
            return None
        if not isinstance(value, str | Path) or not str(value):
            raise ValueError(f"{name} must be a non-empty string, got {value!r}")
        return str(value)
    return check


def _check_data(value, name: str) -> str:
    """A built-in dataset's name as given; a file's path made absolute (a name with a suffix,
    `~` expanded), so that the config.json a run folder keeps repeats the run from any
    folder (`babysit train --config RUN/config.json`)."""
    value = _check_text()(value, name)
    if value in BUILTIN or not Path(value).suffix:   # no suffix: no file (load says so)
        return value
    return os.path.abspath(Path(value).expanduser())     # links kept, as the user named them


def _check_file(optional: bool = False) -> Callable:
    """A file's path made absolute (as `_check_data` does), or None when `optional`."""
    def check(value, name):
        if value is None and optional:
            return None
        return os.path.abspath(Path(_check_text()(value, name)).expanduser())
    return check


def _parse_fractions(text: str) -> tuple[float, ...]:
    """Fractions from "0.6,0.2,0.2"; ValueError naming the text otherwise."""
    try:
        return tuple(float(f) for f in text.split(","))
    except ValueError:
        raise ValueError(f"--split takes three comma-separated fractions like 0.8,0.2,0, got "
                         f"{text!r}") from None


def _check_split(value, name: str) -> tuple[float, float, float] | None:
    """Three fractions (train, val, test), each >= 0, train > 0, summing to 1; or None."""
    if value is None:
        return None
    ok = isinstance(value, list | tuple) and len(value) == 3 and all(
        isinstance(f, numbers.Real) and not isinstance(f, bool) and math.isfinite(f) and f >= 0
        for f in value)
    if not ok or value[0] <= 0 or not math.isclose(sum(value), 1, abs_tol=1e-6):
        raise ValueError(f"{name} must be three fractions (train, val, test), each >= 0, train "
                         f"above 0, summing to 1, such as (0.6, 0.2, 0.2), got {value!r}")
    return tuple(float(f) for f in value)


def _check_widths(value, name: str) -> tuple[int, ...]:
    """Positive layer widths, whose network fits in this machine's memory (`_refuse_too_big`)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value,)
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValueError(f"{name} must be a list of positive layer widths such as [100, 100], "
                         f"got {value!r}")
    widths = tuple(positive_int(w, f"{name} width") for w in value)
    _refuse_too_big(widths, name)
    return widths


def _refuse_too_big(widths: tuple[int, ...], name: str) -> None:
    """Refuse hidden `widths` whose network cannot be held in this machine's memory, before
    anything is allocated (NumPy would say "Maximum allowed dimension exceeded", or run out
    of memory building it). The count is the least any data gives: one input and one output,
    each weight and bias once; each is held twice (its value and its gradient, `Param`), in
    float32 at the least. Where the machine's memory is unknown, nothing is refused."""
    sizes = (1, *widths, 1)
    count = sum(a * b + b for a, b in itertools.pairwise(sizes))
    need, memory = 2 * 4 * count, _machine_memory()
    if memory is not None and need > memory:
        raise ValueError(f"{name} {','.join(map(str, widths))} makes a network of at least "
                         f"{count:,} parameters, {_gib(need)} in float32 with their gradients, "
                         f"more than this machine's {_gib(memory)} of memory; give narrower "
                         f"layers")


def _machine_memory() -> int | None:
    """This machine's physical memory in bytes, or None where the system does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):   # Windows has no sysconf
        return None


def _gib(size: int) -> str:
    """A size in bytes as GiB: "74.5 GiB", "1.1e+15 GiB"."""
    gib = size / 2**30
    return f"{gib:.1f} GiB" if gib < 1e6 else f"{gib:.2g} GiB"


def _check_names(value, name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{name} must be a list of column names such as ['id'], got {value!r}")
    return tuple(value)


def _check_bool(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value


def _names(mapping_or_tuple, drop=()) -> Callable[[], tuple]:
    return lambda: tuple(k for k in mapping_or_tuple if k not in drop)


# How every data file was split before `split` existed (a config.json naming a file without
# it means this).
BEFORE_SPLIT = (0.6, 0.2, 0.2)

# --reg-kind's names; builders.build_regularizer makes each penalty from the strength --reg.
REG_KINDS = ("l2", "l1", "elastic")

# -- the configuration ------------------------------------------------------------------------


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides a run: the data, the network, the training. Frozen; change one
    field with `cfg.replace(lr=3e-3)`. Every value is checked when the config is made."""

    # data
    data: str = _setting("digits", "built-in name, a .csv or .tsv (with --target) or a .npz "
                         "holding X and y", "data", check=_check_data)
    target: str | None = _setting(None, "the label column of a .csv file (none: no target, "
                                  "to run a table's config.json on a built-in dataset)", "data",
                                  check=_check_text(optional=True), parse=_optional(str))
    preprocess: str = _setting("auto", "fitted on the training split only, applied to val "
                               "and test (auto: center images, standardize tables)", "data",
                               check=_check_choice(_names(preprocess.CHOICES)),
                               choices=_names(preprocess.CHOICES))
    seed: int | None = _setting(0, "seeds the split, init, dropout and shuffles", "data",
                                check=seed_or_none, parse=_optional(parse_whole))
    task: str | None = _setting(None, "what a .csv's target asks for (none: decided from it: "
                                "text, or at most 20 distinct whole numbers, is classified; "
                                "other numbers are regressed)", "data",
                                check=_check_choice(lambda: (None, *TASKS)), parse=_optional(str),
                                choices=lambda: TASKS)
    drop: tuple[str, ...] = _setting((), "a .csv's columns to leave out, comma-separated, a "
                                     "name with a comma in double quotes (none: leave none "
                                     "out)",
                                     "data", check=_check_names, parse=parse_names)
    header: bool = _setting(True, "a .csv's first row names its columns (--no-header: it is "
                            "data, and the columns are named 1, 2, ... by position)", "data",
                            check=_check_bool, parse=parse_bool)
    split: tuple[float, float, float] | None = _setting(
        None, "TRAIN,VAL,TEST fractions of the --data file, e.g. 0.6,0.2,0.2 (val and test "
        "may be 0) (none: a table keeps a fifth of its rows, at most 1,000, to validate and "
        "trains on the rest, with no test part; arrays split 0.6,0.2,0.2)", "data",
        check=_check_split, parse=_optional(_parse_fractions))
    val_data: str | None = _setting(None, "a .csv of validation rows, the columns of --data's "
                                    "(then --data trains on all of its rows)", "data",
                                    check=_check_file(optional=True), parse=_optional(str))
    test_data: str | None = _setting(None, "a .csv of test rows, the columns of --data's, "
                                     "scored once training ends", "data",
                                     check=_check_file(optional=True), parse=_optional(str))
    # model
    hidden: tuple[int, ...] = _setting((100, 100), "hidden layer widths, comma-separated "
                                       "(none or 0: no hidden layer, a linear model)",
                                       "model", check=_check_widths, parse=parse_widths)
    activation: str = _setting("relu", "the hidden layers' nonlinearity", "model",
                               check=_check_choice(_names(layers.ACTIVATIONS)),
                               choices=_names(layers.ACTIVATIONS))
    init: str = _setting("he", "weight initialization", "model",
                         check=_check_choice(_names(initializers.INITIALIZERS, ("zeros",))),
                         choices=_names(initializers.INITIALIZERS, ("zeros",)))
    bias: float = _setting(0.0, "every bias's initial value (the notes: 0, or 0.01 so that "
                           "ReLUs fire at the start)", "model",
                           check=_check_number(-1.0, 1.0, high_open=False), parse=parse_real)
    batchnorm: bool = _setting(False, "BatchNorm after each hidden Linear", "model",
                               check=_check_bool, parse=parse_bool)
    dropout: float = _setting(0.0, "probability of zeroing a hidden unit in training", "model",
                              check=_check_number(0.0, 1.0), parse=parse_real)
    input_noise: float = _setting(0.0, "std of the Gaussian noise added to the inputs in "
                                  "training", "model",
                                  check=_check_number(0.0, FLOAT32_MAX, high_open=False),
                                  parse=parse_real)
    # The command line's classification losses; a regression target (task regress) trains on
    # mean squared error (see builders.fit_to_data).
    loss: str = _setting("softmax", "the data loss", "model",
                         check=_check_choice(_names(losses.LOSSES)),
                         choices=_names(losses.LOSSES),
                         cli_choices=lambda: tuple(k for k, v in losses.LOSSES.items()
                                                   if v.classification))
    dtype: str = _setting("float32", "the network's float type", "model",
                          check=_check_choice(lambda: FLOAT_DTYPES),
                          choices=lambda: FLOAT_DTYPES)
    device: str = _setting("cpu", "where the network trains: cpu (NumPy) or gpu (CuPy, "
                           "babysit[gpu])", "model", check=_check_choice(lambda: DEVICES),
                           choices=lambda: DEVICES)
    # training
    optimizer: str = _setting("adam", "the update rule", "training",
                              check=_check_choice(_names(optim.OPTIMIZERS)),
                              choices=_names(optim.OPTIMIZERS))
    lr: float = _setting(1e-3, "learning rate", "training",
                         check=_check_number(0.0, low_open=True), parse=parse_real)
    lr_decay: float = _setting(0.0, "exponential decay of the learning rate per iteration, "
                               "k in lr * exp(-k t) (0: constant)", "training",
                               check=_check_number(0.0), parse=parse_real)
    reg: float = _setting(1e-4, "regularization strength (0: none; a table's default is "
                          "3e-2 up to 700 training rows, weaker beyond: see "
                          "builders.table_reg)", "training",
                          check=_check_number(0.0, FLOAT32_MAX, high_open=False),
                          parse=parse_real)
    reg_kind: str = _setting("l2", "the penalty --reg weighs", "training",
                             check=_check_choice(lambda: REG_KINDS), choices=lambda: REG_KINDS)
    max_norm: float | None = _setting(None, "max-norm constraint c on each unit's incoming "
                                      "weights (none: off)", "training",
                                      check=_check_number(0.0, low_open=True, optional=True),
                                      parse=_optional(parse_real))
    epochs: int = _setting(30, "passes over the training data (a table's default: enough "
                           "for 1,500 updates, 60 to 400)", "training",
                           check=_check_count(), parse=parse_whole)
    batch_size: int = _setting(32, "examples per step", "training", check=_check_count(),
                               parse=parse_whole)
    average: float | None = _setting(None, "evaluate with a running average of the weights "
                                     "of this decay, e.g. 0.999 (none: off)", "training",
                                     check=_check_number(0.0, 1.0, low_open=True,
                                                         optional=True),
                                     parse=_optional(parse_real))
    patience: int | None = _setting(None, "stop after this many epochs without a better "
                                    "validation accuracy (a regression's: validation loss; "
                                    "none: off)", "training",
                                    check=_check_count(optional=True), parse=_optional(parse_whole))
    min_delta: float = _setting(0.0, "with --patience: the least gain in validation accuracy "
                                "(or fall in a regression's loss) that counts as better",
                                "training", check=_check_number(0.0),
                                parse=parse_real)
    best_weights: bool = _setting(False, "end with the weights of the epoch of the highest "
                                  "validation accuracy (the lower validation loss among epochs "
                                  "level on it; a regression's: the lowest validation loss; a "
                                  "table's default: on, see builders.TABLE_DEFAULTS)",
                                  "training",
                                  check=_check_bool, parse=parse_bool)
    stop_on: str = _setting("never", "end the run after the epoch in which a diagnosis finding "
                            "this severe first appears (never: only a NaN loss stops it)",
                            "training", check=_check_choice(lambda: STOP_ON),
                            choices=lambda: STOP_ON)

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = f.metadata["check"](getattr(self, f.name), f.name)
            object.__setattr__(self, f.name, value)

    def replace(self, **changes) -> RunConfig:
        """A copy with `changes` (field name -> value), checked like a new config."""
        unknown_fields(changes, "RunConfig.replace")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Field name -> value, JSON-ready (tuples as lists)."""
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
                for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, values: Mapping) -> RunConfig:
        """A config from `to_dict`'s form; missing fields take their defaults, an unknown key
        is a ValueError naming it and the known ones."""
        if not isinstance(values, Mapping):
            raise ValueError(f"a run configuration must be a JSON object of field: value, "
                             f"got {type(values).__name__}")
        unknown_fields(values, "a run configuration")
        return cls(**values)

    def save(self, path) -> Path:
        """Write `to_dict()` as JSON to `path` (e.g. RUN/config.json); returns the path."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        return path

    @classmethod
    def load(cls, path) -> RunConfig:
        """The config a `save` wrote (a run folder's config.json); errors name the file. A
        file written before `split` existed split every data file 60/20/20: one without
        "split" whose data is a file keeps doing so, so that such a run repeats (--config) and
        resumes on the same rows; a built-in dataset (named, or the default) always split
        itself, and keeps its own split."""
        path = Path(path)
        try:
            values = json.loads(path.read_text())
        except OSError as err:
            why = f"it is a folder; give the file in it, {path / 'config.json'}" \
                if path.is_dir() else err.strerror
            raise ValueError(f"cannot read the run configuration {str(path)!r}: {why}"
                             ) from None
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
            # a binary file (a .safetensors given by mistake), or brackets nested past Python's
            reason = "nested too deeply" if isinstance(err, RecursionError) else err
            raise ValueError(f"{str(path)!r} is not a run configuration (JSON): {reason}"
                             ) from None
        if isinstance(values, Mapping) and "split" not in values \
                and not _is_builtin(values.get("data", cls.data)):
            values = {**values, "split": list(BEFORE_SPLIT)}
        try:
            return cls.from_dict(values)
        except ValueError as err:
            raise ValueError(f"{str(path)!r}: {err}") from None


def _is_builtin(data) -> bool:
    """Whether a config's `data` value names a built-in dataset (which splits itself)."""
    return isinstance(data, str) and data in BUILTIN


def config_fields(group: str | None = None) -> dict[str, dataclasses.Field]:
    """RunConfig's fields by name, in order (only those of `group` when given)."""
    return {f.name: f for f in dataclasses.fields(RunConfig)
            if group is None or f.metadata["group"] == group}


def unknown_fields(names, where: str) -> None:
    """Raise a ValueError when any of `names` is not a RunConfig field, listing the known."""
    unknown = sorted(set(names) - set(config_fields()))
    if unknown:
        raise ValueError(f"{where}: unknown setting{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(map(repr, unknown))}; known: "
                         f"{', '.join(config_fields())}")


__all__ = ["REG_KINDS", "RunConfig", "config_fields", "parse_bool", "parse_names", "parse_real",
           "parse_whole", "parse_widths", "unknown_fields"]
