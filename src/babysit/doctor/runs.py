"""The doctor's hands: train a run configuration, and run the range test for it (`Runner`).

`treat` takes any `train(cfg) -> Visit` and `suggest_lr(cfg) -> rate`; `Runner` gives the ones
every front end uses, each a `babysit.runs.run.Run`, exactly as `babysit train` makes a run.
Only the training and validation splits are read: the test split stays unseen.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from babysit.check.lr_range import LRRange
from babysit.runs.builders import build_model, load_data
from babysit.runs.config import config_fields
from babysit.runs.run import DIVERGED, Run


@dataclass
class Visit:
    """One trained run as the doctor sees it: its configuration, History and validation
    accuracy (None when it diverged); `run` keeps whatever the trainer function returned
    beside them (a Trainer, to save the kept model). A regression (task "regress") has no
    accuracy: it is judged by its validation loss `val_loss` (lower is better; None when it
    diverged), and `score` turns either into one number where higher is better."""

    cfg: object
    history: object
    val_acc: float | None
    run: object = None
    val_loss: float | None = None
    task: str = "classify"

    @property
    def metric(self) -> str:
        """What the doctor compares runs by, in words."""
        return "validation loss" if self.task == "regress" else "validation accuracy"

    @property
    def value(self) -> float | None:
        """The validation accuracy, or for a regression the validation loss."""
        return self.val_loss if self.task == "regress" else self.val_acc

    @property
    def score(self) -> float | None:
        """`value` turned so that higher is better (the loss negated); None: diverged."""
        value = self.value
        return None if value is None else (-value if self.task == "regress" else value)


class Runner:
    """Trains configurations for `treat` (`train`) and range-tests them (`suggest_lr`).

    The data are loaded once for each value of the configuration's data settings; `data` and
    `model` are the two places a subclass changes what is trained (benchmarks/doctor.py plants
    the fault zoo's faults there). out: a run folder (an attribute, which may be set once the
    data are loaded); when given, the n-th run trained (0: the initial one) keeps its
    checkpoints, history.json and config.json in out/round-<n>/. `ranges` holds every range
    test run, as (cfg, LRRange).
    """

    def __init__(self, out: Path | None = None):
        self.out = None if out is None else Path(out)
        self.ranges: list[tuple[object, LRRange]] = []
        self.trained = 0
        self._data = {}

    def data(self, cfg):
        """cfg's dataset, split and preprocessed (`babysit.runs.builders.load_data`), cached."""
        key = tuple(getattr(cfg, name) for name in config_fields("data"))
        if key not in self._data:
            self._data[key] = load_data(cfg)
        return self._data[key]

    def model(self, cfg, data):
        """cfg's freshly initialized network for `data` (`babysit.runs.builders.build_model`)."""
        return build_model(cfg, data.n_features, data.n_outputs)

    def train(self, cfg) -> Visit:
        """Train cfg from scratch (its seed fixes init and shuffles) with the default monitors;
        the Visit's val_acc is the last epoch's validation accuracy (a regression's val_loss
        its last validation loss), None when it diverged, and its `run` the `Run`."""
        data = self.data(cfg)
        folder = None if self.out is None else self.out / f"round-{self.trained}"
        self.trained += 1
        run = Run.prepare(cfg, data=data, net=self.model(cfg, data), out=folder, quiet=True)
        if folder is not None:   # first: a round stopped mid-fit resumes alone from it
            folder.mkdir(parents=True, exist_ok=True)
            cfg.save(folder / "config.json")
        diverged = run.fit() == DIVERGED
        history = run.history
        if folder is not None:
            history.save(folder / "history.json")
        val = None if diverged or not history.val_acc else history.val_acc[-1]
        loss = None if diverged or not history.val_loss else history.val_loss[-1]
        return Visit(cfg, history, val, run, val_loss=loss, task=data.task)

    def range_test(self, cfg, **kwargs) -> LRRange:
        """The learning-rate range test on cfg's freshly built network, optimizer, penalty and
        batch size, over the training split (kwargs: `lr_range`'s start, end, iterations)."""
        data = self.data(cfg)
        found = Run.prepare(cfg, data=data, net=self.model(cfg, data), monitors=False,
                            quiet=True).range_test(**kwargs)
        self.ranges.append((cfg, found))
        return found

    def suggest_lr(self, cfg) -> float | None:
        """The range test's suggested rate for cfg (None when its loss never fell)."""
        return self.range_test(cfg).suggestion


__all__ = ["Runner", "Visit"]
