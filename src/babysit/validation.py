"""Checks of arguments where they enter, each raising a ValueError that names the argument,
the value and what was expected (one helper instead of the same lines in every module)."""

from __future__ import annotations

import math
import numbers
import os
from pathlib import Path

import numpy as np

__all__ = ["creatable_folder", "described", "existing_file", "in_float_range", "make_folder",
           "non_negative_int", "positive_int", "real_number", "refuse_mixed_labels",
           "seed_or_generator", "seed_or_none", "shape_of_image", "true_or_false"]


def described(value) -> str:
    """`value` as an error names a value of the wrong type: "the string '0.01'" (a number
    written in quotes, in a JSON file or a call), "True (a bool)", "[1, 2] (a list)"."""
    if isinstance(value, str):
        return f"the string {value!r}"
    return f"{value!r} (a {type(value).__name__})"


def refuse_mixed_labels(labels, name: str = "y") -> None:
    """Refuse class labels that mix text and numbers (an object array such as [1, "cat"]): no
    order or encoding of them is the obvious one, and NumPy's sort fails on them with a bare
    TypeError. A ValueError naming `name`, one label of each kind and the way out."""
    values = np.asarray(labels, dtype=object).ravel() \
        if getattr(labels, "dtype", None) is None or labels.dtype == object else None
    if values is None:
        return
    text = next((v for v in values if isinstance(v, str | bytes)), None)
    number = next((v for v in values if isinstance(v, numbers.Number)), None)
    if text is not None and number is not None:
        raise ValueError(f"the class labels in {name} mix text and numbers ({text!r} and "
                         f"{number!r}); give every label one type, e.g. all text: "
                         f"np.asarray({name}, dtype=str)")


def positive_int(value, name: str) -> int:
    """`value` as an int when it is a whole number >= 1 (not a bool); else a ValueError
    "`name` must be a positive integer, got `value`" (the value's type said when it is not
    a number at all)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a positive integer, got {described(value)}")
    if not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def non_negative_int(value, name: str) -> int:
    """`value` as an int when it is a whole number >= 0 (not a bool): a count such as a
    number of steps done; else a ValueError "`name` must be a whole number >= 0, got
    `value`"."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")
    return int(value)


def real_number(value, name: str, *, at_least: float | None = None, above: float | None = None,
                below: float | None = None) -> float:
    """`value` as a float when it is a finite real number (not a bool) within the bounds
    given (>= at_least, > above, < below); else a ValueError naming `name`, the value and
    what was expected ("Adam: eps must be a finite number > 0, got nan"). A NaN fails every
    comparison, so a check written `if x < 0: raise` lets it through; this does not."""
    bounds = [f"{sign} {bound:g}" for sign, bound in ((">=", at_least), (">", above),
                                                      ("<", below)) if bound is not None]
    expected = " and ".join(["a finite number", *bounds]).replace("number and", "number", 1)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be {expected}, got {described(value)}")
    number = float(value)
    if not (math.isfinite(number) and (at_least is None or number >= at_least)
            and (above is None or number > above) and (below is None or number < below)):
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return number


def in_float_range(value: float, name: str, dtype=np.float32, *, tiny: bool = False) -> float:
    """`value` (a number `real_number` passed) when float `dtype` holds it: a magnitude of at
    most np.finfo(dtype).max, as beyond it the value becomes inf when cast (a bias, a noise
    std or a penalty strength then turns every output or gradient inf); with `tiny`, also a
    magnitude of at least np.finfo(dtype).tiny unless the value is 0, as below it the value
    rounds to a subnormal or to 0 (an eps added to a variance of 0 then gives 1/0). Else a
    ValueError naming `name`, the value and the dtype's limit."""
    info = np.finfo(dtype)
    magnitude = abs(float(value))
    if magnitude > float(info.max):
        raise ValueError(f"{name} must have a magnitude of at most {float(info.max):g} "
                         f"({info.dtype.name}'s largest; beyond it becomes inf), got {value!r}")
    if tiny and 0 < magnitude < float(info.tiny):
        raise ValueError(f"{name} must be 0 or of magnitude at least {float(info.tiny):g} "
                         f"({info.dtype.name}'s smallest normal number; below it rounds "
                         f"towards 0), got {value!r}")
    return value


def true_or_false(value, name: str) -> bool:
    """`value` as a bool when it is True or False (Python's or NumPy's); else a ValueError
    naming `name`: a flag given as "no", 0 or None would otherwise read as its truth value
    ("no" turning the option on)."""
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False, got {described(value)}")
    return bool(value)


def shape_of_image(value, name: str, dims: tuple[int, ...] = (2, 3)) -> tuple[int, ...]:
    """`value` as a tuple when it is an image's shape, (H, W) or (H, W, C) (`dims`: the
    lengths allowed), of positive whole numbers; else a ValueError naming `name`."""
    if not (isinstance(value, list | tuple) and len(value) in dims
            and all(isinstance(n, numbers.Integral) and not isinstance(n, bool) and n > 0
                    for n in value)):
        shapes = " or ".join({2: "(H, W)", 3: "(H, W, C)"}[d] for d in dims)
        raise ValueError(f"{name} must be an image's shape {shapes} of positive integers, got "
                         f"{value!r}")
    return tuple(int(n) for n in value)


# The largest seed: scikit-learn's splits (and NumPy's legacy RandomState) take 32 bits.
MAX_SEED = 2**32 - 1


def seed_or_none(value, name: str = "seed") -> int | None:
    """A seed as every generator babysit uses takes it: None (different each time) or a whole
    number from 0 to MAX_SEED (not a bool); else a ValueError "`name` must be a non-negative
    integer or None" (or "at most MAX_SEED")."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer or None, got {value!r}")
    if value > MAX_SEED:
        raise ValueError(f"{name} must be at most {MAX_SEED} (32 bits), got {value!r}")
    return int(value)


def seed_or_generator(value, name: str = "seed"):
    """A seed (`seed_or_none`) or a NumPy Generator, which `make_rng` uses as it is: `value`
    unchanged; else `seed_or_none`'s ValueError naming `name`."""
    if not isinstance(value, np.random.Generator):
        seed_or_none(value, name)
    return value


def creatable_folder(path, name: str) -> Path:
    """`path` as a Path when it is a folder or one could be made there, nothing created yet (a
    command checks its --out before its work, and makes the folder only to write into it: a
    failure leaves no empty folders behind). A file where it or one of its parents should be,
    or a nearest existing folder that is not writable, is a ValueError naming `name`."""
    path = Path(path)
    for folder in (path, *path.parents):
        if folder.exists():
            if not folder.is_dir():
                raise ValueError(f"{name} {path}: {folder} is a file, not a folder")
            if folder != path and not os.access(folder, os.W_OK | os.X_OK):
                raise ValueError(f"{name} {path}: cannot create the folder (no permission "
                                 f"to write in {folder})")
            break
    return path


def make_folder(path, name: str) -> Path:
    """Create the folder `path` (and its parents) when missing and return it as a Path; a file
    where it or one of its parents should be, or a folder that cannot be made (no permission,
    a read-only or virtual file system), is a ValueError naming `name` and the reason."""
    path = creatable_folder(path, name)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"{name} {path}: cannot create the folder ({err.strerror or err})") \
            from None
    return path


def existing_file(path, expected: str) -> Path:
    """`path` as a Path when it names a file; else a ValueError saying that there is no such
    file, or that it is a folder, and what was `expected` there ("a .csv file")."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder; expected {expected}")
    if not path.is_file():
        raise ValueError(f"no such file: {path} (expected {expected})")
    return path
