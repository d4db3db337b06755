"""Checks before training: numerical gradients, relative errors, gradient reports, sanity checks,
the learning-rate range test."""

from babysit.check.gradients import (
    GradientReport,
    GradientRow,
    ParamVerdict,
    StepSizes,
    gradients,
    step_sizes,
)
from babysit.check.lr_range import LRRange, lr_range
from babysit.check.numerical import (
    centered_difference,
    numerical_gradient,
    numerical_gradient_array,
    rel_error,
)
from babysit.check.sanity import SanityCheck, SanityReport, sanity

__all__ = [
    "GradientReport", "GradientRow", "ParamVerdict", "StepSizes", "centered_difference",
    "gradients", "numerical_gradient", "numerical_gradient_array", "rel_error", "step_sizes",
    "SanityCheck", "SanityReport", "sanity", "LRRange", "lr_range",
]
