"""Checks of arguments where they enter, each raising a ValueError that names the argument,
the value and what was expected (one helper instead of the same lines in every module)."""

from __future__ import annotations

import numbers


def positive_int(value, name: str) -> int:
    """`value` as an int when it is a whole number >= 1 (not a bool); else a ValueError
    "`name` must be a positive integer, got `value`"."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def non_negative_int(value, name: str) -> int:
    """`value` as an int when it is a whole number >= 0 (not a bool); else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)
