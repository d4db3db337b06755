"""Which task a target column asks for: classes or a quantity, decided from its values
(`decide_task`), as `babysit train` decides for a table's --target unless --task says."""

from __future__ import annotations

import numpy as np

from babysit.data.arrays import first_fractional
from babysit.data.cells import as_numbers

__all__ = ["MAX_CLASSES_FROM_NUMBERS", "MAX_CLASSES_IN_A_RANGE", "TASKS", "decide_task"]

TASKS = ("classify", "regress")
MAX_CLASSES_FROM_NUMBERS = 20     # distinct whole numbers taken as classes, at most
MAX_CLASSES_IN_A_RANGE = 10       # ... and, filling most of their range, at most this many


def decide_task(values) -> tuple[str, str]:
    """The task a target column asks for, and the reason in words: (task, reason).

    The rule: a target holding text is classified. A numeric target is regressed when its
    values are not all whole numbers (a price), when it holds more than
    `MAX_CLASSES_FROM_NUMBERS` (20) distinct whole numbers (a count), when more than
    `MAX_CLASSES_IN_A_RANGE` (10) of them fill most of the range between the smallest and the
    largest (a count of 0-15 is a quantity whatever the sample), or when more than two
    distinct values include one held by a single row (a class with one example can be neither
    learned nor split; a quantity's rare value can). Otherwise it is classified: 0/1, ratings
    1-5, digit labels 0-9.
    """
    values = np.asarray(values)
    if values.dtype.kind in "US":
        numbers = as_numbers(values, np.zeros(len(values), dtype=bool))
        if numbers is None:
            return "classify", "the target holds text, so its values are classes"
        values = numbers
    values = values.astype(np.float64)
    distinct, counts = np.unique(values, return_counts=True)
    if first_fractional(values) is not None:
        return "regress", (f"the target holds {len(distinct)} distinct numbers, not all "
                           f"whole, so it is a quantity")
    span = distinct[-1] - distinct[0] + 1
    why = None
    if len(distinct) > MAX_CLASSES_FROM_NUMBERS:
        why = f"more than the {MAX_CLASSES_FROM_NUMBERS} that are taken as classes"
    elif len(distinct) > MAX_CLASSES_IN_A_RANGE and len(distinct) * 2 > span:
        why = f"filling most of the range {distinct[0]:g} to {distinct[-1]:g}, like a count"
    elif len(distinct) > 2 and counts.min() == 1:
        why = (f"and {distinct[counts.argmin()]:g} is held by one row only: a class with one "
               f"example could be neither learned nor split")
    if why:
        return "regress", (f"the target holds {len(distinct)} distinct whole numbers, {why}, "
                           f"so it is a quantity (--task classify says otherwise)")
    return "classify", (f"the target holds {len(distinct)} distinct whole numbers (at most "
                        f"{MAX_CLASSES_FROM_NUMBERS}, each in more than one row, are taken as "
                        f"classes; --task regress says otherwise)")
