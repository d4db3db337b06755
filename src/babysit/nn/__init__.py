"""The engine: layers, losses, initializers, regularizers, optimizers and parameter averaging.

Plain array code (NumPy or CuPy) that knows no training loop: a layer's forward returns its
output and a backward closure, a loss its value and gradient, an optimizer updates `Param`s.
"""

__all__: list[str] = []
