"""Checks before training: numerical gradients, relative errors, gradient reports, sanity checks."""

from babysit.check.numerical import numerical_gradient, numerical_gradient_array, rel_error

__all__ = ["numerical_gradient", "numerical_gradient_array", "rel_error"]
