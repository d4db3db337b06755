"""The training loop and what rides on it: the Trainer, callbacks, the History, monitors,
alerts, checkpoints and metrics. Built on `babysit.nn`; knows no command line."""

__all__: list[str] = []
