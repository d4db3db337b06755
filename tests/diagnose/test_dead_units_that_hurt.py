"""Dead units and a strong penalty are warnings only where they hurt the fit: a regression
that explains its targets (R^2 against their mean) gets notes, one that does not gets
warnings."""

import numpy as np

from babysit.diagnose import diagnose
from babysit.diagnose.evidence import Evidence
from babysit.diagnose.symptoms import symptoms
from babysit.training.history import History


def _table_regression(plateau: float, dead_at_end: float, optimizer: str = "Adam") -> History:
    """A regression on standardized targets (the mean predictor's loss is 1) whose data loss
    falls to `plateau` (R^2 = 1 - plateau) at update ratios of 1e-3 under a penalty that
    shrinks the weights to a tenth, while the second ReLU layer's dead share grows from 2% to
    `dead_at_end` (trained by `optimizer`, as a table's defaults train: Adam)."""
    h = History()
    for i in range(1500):
        h.record_step(plateau + (1.0 - plateau) * np.exp(-i / 100), 0.3, 1e-3)
    h.iters_per_epoch = 10
    for _ in range(150):
        h.train_acc.append(None)
        h.val_acc.append(None)
        h.val_loss.append(plateau * 1.1)
    h.meta["optimizer"] = optimizer
    h.meta["setup"] = {"output": {"activation": "none", "units": 1, "seen": "declared"},
                       "loss": {"name": "mse", "reduction": "mean"}, "task": "regress",
                       "targets": {"classes": None, "counts": None, "mean": 0.0, "std": 1.0,
                                   "min": -3.0, "max": 3.0}}
    h.monitors["update_ratio"] = {"every": 10, "iterations": list(range(10, 1510, 10)),
                                  "weights": ["0.W", "2.W"],
                                  "params": {"0.W": [1e-3] * 150, "2.W": [1e-3] * 150}}
    h.monitors["params"] = {"weights": ["0.W", "2.W"],
                            "value_norm": {"0.W": [1.0, 0.1], "2.W": [1.0, 0.1]}}
    h.monitors["layers"] = {"names": ["1 ReLU", "3 ReLU"], "samples": [
        {"iteration": 0, "activations": [{"dead": 0.0}, {"dead": 0.02}]},
        {"iteration": 1500, "activations": [{"dead": 0.05}, {"dead": dead_at_end}]}]}
    return h


def _severities(h: History) -> dict:
    return {f.cause: f.severity for f in diagnose(h)}


def test_units_the_penalty_silenced_in_a_regression_that_fits_are_a_note():
    h = _table_regression(plateau=0.6, dead_at_end=0.4)         # R^2 0.4, as on Salaries
    assert abs(Evidence.of(h).r2 - 0.4) < 0.01
    assert symptoms(Evidence.of(h))["dead_grew"].severity == "info"
    found = _severities(h)
    assert found.get("dead_units") == "info"
    assert "warning" not in found.values() and "error" not in found.values(), found


def test_the_same_dead_units_in_a_regression_that_does_not_fit_are_a_warning():
    h = _table_regression(plateau=0.95, dead_at_end=0.4)        # R^2 0.05
    assert symptoms(Evidence.of(h))["dead_grew"].severity == "warning"
    assert "warning" in _severities(h).values()


def test_nearly_all_units_dead_stay_an_error_however_good_the_fit():
    h = _table_regression(plateau=0.6, dead_at_end=0.95)
    assert symptoms(Evidence.of(h))["dead_grew"].severity == "error"


def test_a_strong_penalty_on_a_regression_is_blamed_by_its_fit_not_its_plateau():
    # Both plateau above half the mean predictor's loss with the weights shrunk to a tenth;
    # only the one that explains under R2_POOR of the variance is told to lower the penalty.
    assert _severities(_table_regression(plateau=0.6, dead_at_end=0.1)).get(
        "reg_too_strong") is None
    assert _severities(_table_regression(plateau=0.95, dead_at_end=0.1)).get(
        "reg_too_strong") == "warning"


def test_units_that_died_under_sgd_in_a_regression_that_fits_stay_a_warning():
    # plain SGD: the rate may have killed them (main's rule for classifiers, kept)
    h = _table_regression(plateau=0.6, dead_at_end=0.4, optimizer="SGD")
    assert symptoms(Evidence.of(h))["dead_grew"].severity == "warning"
