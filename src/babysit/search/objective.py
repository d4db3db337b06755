"""What a search optimizes, by task: the validation score a trial is ranked by and its direction.

Classes are scored by validation accuracy (higher is better); a regression target, which has
no accuracy, by the validation loss (the mean squared error of the standardized target, lower
is better), as the notes judge any model by its validation score. The study's Optuna
direction, the trial table's score column, the ranking, the plot and the retrained best all
read the one `Objective`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Objective", "ACCURACY", "LOSS", "objective_for"]


@dataclass(frozen=True)
class Objective:
    """metric: the trial table's score column ("val_accuracy" or "val_loss"); direction:
    Optuna's ("maximize" or "minimize"); label: the score in words (plot, messages)."""

    metric: str
    direction: str
    label: str

    @property
    def better(self) -> str:
        """Which way is better, in a word: "higher" or "lower"."""
        return "higher" if self.direction == "maximize" else "lower"

    def sort_key(self, value: float) -> float:
        """`value` as a key that sorts the best score first."""
        return -value if self.direction == "maximize" else value


ACCURACY = Objective("val_accuracy", "maximize", "validation accuracy")
LOSS = Objective("val_loss", "minimize", "validation loss")


def objective_for(task: str) -> Objective:
    """The objective of a Dataset's `task`: LOSS for "regress", ACCURACY for "classify"."""
    if task not in ("classify", "regress"):
        raise ValueError(f"task must be 'classify' or 'regress', got {task!r}")
    return LOSS if task == "regress" else ACCURACY
