"""babysit: train fully-connected neural networks the careful way.

Readable layers (forward returns the output and a backward closure), gradients
checked against numerical derivatives, sanity checks before training, monitors
and a diagnosis in plain words while it trains.
"""

from babysit import (
    average,
    check,
    checkpoint,
    config,
    data,
    diagnose,
    doctor,
    ensemble,
    initializers,
    layers,
    losses,
    monitors,
    optim,
    preprocess,
    regularizers,
    report,
    search,
)
from babysit.checkpoint import load, save
from babysit.history import History
from babysit.layers import Sequential, mlp
from babysit.train import DivergedError, Trainer

init = initializers   # the engine issue's name for it (`bs.init`), kept beside the new one

__version__ = "0.1.0"

__all__ = [
    "DivergedError", "History", "Sequential", "Trainer", "check", "data", "initializers", "layers",
    "losses", "mlp", "optim", "regularizers",
    "average", "checkpoint", "ensemble", "load", "save", "preprocess",
    "diagnose", "doctor", "monitors", "report", "search", "config", "init",
]
