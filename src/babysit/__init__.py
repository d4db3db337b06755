"""babysit: train fully-connected neural networks the careful way.

Readable layers (forward returns the output and a backward closure), gradients
checked against numerical derivatives, sanity checks before training, monitors
and a diagnosis in plain words while it trains.

The package is laid out by layer (each imports only the ones above it in this list):
`nn` (the engine), `data`, `training` (the loop and its instruments), `check`, `diagnose`,
`report`, `doctor`, `runs` (a run from a config), the front ends (`search`, `sklearn`,
`torch`) and `cli`. The names below are the public surface; `bs.losses`, `bs.optim` and
the other modules keep the short names they had before the layout by layer.
"""

import sys

from babysit import check, data, diagnose, doctor, report, search
from babysit.data import preprocess
from babysit.nn import average, initializers, layers, losses, optim, regularizers
from babysit.nn.layers import Sequential, mlp
from babysit.runs import builders, config, ensemble, predict
from babysit.training import callbacks, checkpoint, history, metrics, monitors, trainer
from babysit.training.checkpoint import load, save
from babysit.training.history import History
from babysit.training.trainer import DivergedError, Trainer

init = initializers   # the engine issue's name for it (`bs.init`), kept beside the new one

# The module paths from before the layout by layer (`from babysit.losses import ...`,
# `bs.train.DivergedError`, as older scripts and the README of 0.1 wrote them) name the same
# modules.
for _old, _module in {
        "average": average, "initializers": initializers, "layers": layers, "losses": losses,
        "optim": optim, "regularizers": regularizers, "preprocess": preprocess,
        "config": config, "builders": builders, "ensemble": ensemble, "predict": predict,
        "callbacks": callbacks, "checkpoint": checkpoint, "history": history,
        "metrics": metrics, "monitors": monitors, "train": trainer}.items():
    sys.modules.setdefault(f"babysit.{_old}", _module)
    globals().setdefault(_old, _module)
del _old, _module

__version__ = "0.1.0"

__all__ = [
    "DivergedError", "History", "Sequential", "Trainer", "check", "data", "initializers", "layers",
    "losses", "mlp", "optim", "regularizers",
    "average", "checkpoint", "ensemble", "load", "save", "preprocess",
    "diagnose", "doctor", "monitors", "report", "search", "config", "init",
]
