"""One training run, whoever starts it: `Run.prepare` -> `Run.fit` -> `Run.finish`.

- prepare: the data (loaded from the config, or given), the config fitted to them
  (`fit_to_data`), the network, the run folder (new ones created, locked and given their
  config.json: `babysit.runs.folder`) and the Trainer with its callbacks (monitors, early
  stopping, alerts, and `Checkpoints` writing into the folder: the last epoch's model only
  on a run of more than LONG_RUN_EPOCHS);
- fit: trains, and says how the run ended (`ended`): FINISHED, STOPPED (early stopping or an
  alert ended it before its epochs), DIVERGED (a NaN or infinite loss; the run is kept, its
  `error` the DivergedError) or INTERRUPTED (Ctrl-C: what was kept is said, and the
  KeyboardInterrupt raised again);
- finish: the history kept, the diagnosis computed once (printed, handed to the report and
  to the exit status), the report, the summary of final numbers.

Every command of the command line, the doctor's rounds, the ensembles' members, a resumed
run (`babysit.runs.resume`), the search's trials and its retrained best go through it, so a
run configured the same way is built, trained and ended the same way.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from babysit.check.lr_range import LRRange, lr_range
from babysit.data import datasets, table_parts
from babysit.runs import finish
from babysit.runs.builders import (
    build_model,
    build_optimizer,
    build_regularizer,
    build_trainer,
    checkpoint_meta,
    fit_to_data,
    load_data,
)
from babysit.runs.config import RunConfig, config_fields
from babysit.runs.folder import new_folder
from babysit.training.checkpoint import Checkpoints
from babysit.training.trainer import DivergedError, Trainer

FINISHED, STOPPED, DIVERGED, INTERRUPTED = "finished", "stopped", "diverged", "interrupted"

# A run of more than this many epochs (a small table's: 60 to 400 short ones) keeps its best
# and its last epoch's checkpoint, not one file per epoch (wine's run left 375).
LONG_RUN_EPOCHS = 50


def run_checkpoints(out, cfg: RunConfig, data: datasets.Dataset) -> Checkpoints:
    """The Checkpoints callback that writes run folder `out`: each epoch's model (the last one
    only on a run of more than LONG_RUN_EPOCHS), the best, the training state, with
    `checkpoint_meta` and the data's preprocessing."""
    return Checkpoints(out, preprocess=data.preprocess, meta=checkpoint_meta(cfg, data),
                       keep_last=1 if cfg.epochs > LONG_RUN_EPOCHS else None)


def fitted(cfg: RunConfig, chosen=None,
           data: datasets.Dataset | None = None) -> tuple[RunConfig, datasets.Dataset]:
    """(cfg made concrete for its data, the data): `load_data(cfg)` unless `data` is given,
    then `fit_to_data` keeping the settings in `chosen` (the field names the user gave;
    None: all of them, as for a config read from a file or one already fitted)."""
    data = load_data(cfg) if data is None else data
    return fit_to_data(cfg, data, set(config_fields()) if chosen is None else chosen), data


@dataclass
class Run:
    """A configuration made into a run: its fitted `cfg`, its `data` (a babysit.data Dataset,
    preprocessed), its `trainer` (holding the network and the History) and its folder `out`
    (None: nothing is written). `ended` and `error` say how `fit` ended; `seconds` is the
    time spent in `fit`."""

    cfg: RunConfig
    data: datasets.Dataset
    trainer: Trainer
    out: Path | None = None
    ended: str | None = None
    error: DivergedError | None = None
    seconds: float = 0.0

    @classmethod
    def prepare(cls, cfg: RunConfig, *, chosen=None, data: datasets.Dataset | None = None,
                net=None, out: Path | None = None, command: str | None = None,
                lock: bool = True, checkpoints: bool = True, monitors: bool = True,
                quiet: bool = False) -> Run:
        """The run `cfg` describes, ready to fit.

        chosen: the settings the user gave (field names), which `fit_to_data` keeps; None:
        all of them (a config read from a file, or one already fitted). data: the dataset,
        when already loaded (else `load_data(cfg)`); net: the network (else `build_model`).
        command: make a new run folder for it (`new_folder`: at `out`, or under runs/
        named after the command; locked unless lock=False; config.json written); without
        it, `out` is a folder that exists already, or None for no folder. checkpoints: the
        Trainer writes `Checkpoints` into the folder. monitors: the default monitors record
        (a search trial leaves them off). quiet: no progress bar, alerts kept silent."""
        cfg, data = fitted(cfg, chosen, data)
        net = build_model(cfg, data.n_features, data.n_outputs) if net is None else net
        if command is not None:
            out = new_folder(out, command, cfg, lock=lock)
        callbacks = []
        if checkpoints and out is not None:
            callbacks.append(run_checkpoints(out, cfg, data))
        trainer = build_trainer(cfg, net, data=data if monitors else None, quiet=quiet,
                                callbacks=callbacks)
        return cls(cfg, data, trainer, None if out is None else Path(out))

    @property
    def net(self):
        """The network the run trains."""
        return self.trainer.net

    @property
    def history(self):
        """The run's History."""
        return self.trainer.history

    def fit(self, train=None, val=None, *, resume_hint: str | None = None) -> str:
        """Train on `train` (X, y) validating on `val` (X, y), by default the data's training
        and validation splits; returns `ended`. A run that diverged is kept (`error`);
        interrupted, the history so far is saved into the folder and the KeyboardInterrupt
        raised again, saying what was kept and `resume_hint` (`finish.fit`)."""
        if self.trainer.epoch >= self.trainer.epochs > 0:
            # resumed after its last epoch, stopped before its end was written (`resume`):
            # only the end is left, which the callbacks take as a fit's (the best weights
            # put back, the monitors' last samples)
            for callback in self.trainer.callbacks:
                callback.on_train_end(self.trainer)
            self.error, self.ended = None, FINISHED
            return self.ended
        if train is None:
            train, val = (self.data.train.X, self.data.train.y), self.data.val
        start = time.perf_counter()
        try:
            self.error = finish.fit(self.trainer, *train, val=val, out=self.out,
                                    resume_hint=resume_hint)
        except KeyboardInterrupt:
            self.ended = INTERRUPTED
            self._redraw_report()
            raise
        finally:
            self.seconds += time.perf_counter() - start
        self.ended = DIVERGED if self.error is not None else \
            STOPPED if self.trainer.epoch < self.trainer.epochs else FINISHED
        return self.ended

    def finish(self, say: Callable[[str], None], *, report: bool = True,
               title: str = "diagnosis", sections=()) -> tuple[dict, finish.Outcome]:
        """After `fit`: the final numbers, those of the network the run ends with (the best
        epoch's put back, else the last; none on the test split when it diverged), the test
        accuracy, split size and time into the history's meta (with "kept_model": that
        network's epoch and accuracies), then `conclude`. Returns (the --json summary, the
        Outcome)."""
        data, h = self.data, self.history
        if self.error is None:
            summary = self.summary()
        else:
            summary = {"data": data.name, "task": data.task, "epochs": h.epochs,
                       **finish.kept_accuracies(h), "test_accuracy": None,
                       "seconds": round(self.seconds, 3), "run_dir": str(self.out)}
        final = h.loss[-1] if h.loss else None
        summary["final_loss"] = final if final is not None and math.isfinite(final) else None
        if data.origins:            # which rows each score comes from (a table's)
            summary["scores"] = table_parts.scores_note(data.origins)
        h.meta.update(test_accuracy=summary.get("test_accuracy"), n_test=len(data.test.y),
                      seconds=round(self.seconds, 3))
        if self.error is None:   # the network it ends with: the history's last records are
            # the last epoch's, not those of the best epoch's weights put back (`BestWeights`)
            h.meta["kept_model"] = {"epoch": finish.kept_epoch(h),
                                    **finish.kept_accuracies(h)}
        if data.task == "regress" and self.error is None:  # the report's RMSE, MAE, R^2 rows
            h.meta["regression"] = {k: v for k, v in summary.items()    # of parts with rows
                                    if k.rpartition("_")[2] in ("rmse", "mae", "r2")
                                    and v is not None}
            h.meta["predictions"] = finish.validation_predictions(self.trainer, data)
        outcome = self.conclude(say, report=report, title=title, sections=sections)
        summary.update(outcome.to_json(), status=outcome.status)
        return summary, outcome

    def summary(self) -> dict:
        """The run's final numbers (`finish.summarize`): accuracies, or a regression's RMSE,
        MAE and R^2 on each split."""
        return finish.summarize(self.trainer, self.data, self.seconds, self.out)

    def _redraw_report(self) -> None:
        """An interrupted run whose folder holds a report (a resumed run's, of its earlier
        epochs) gets it drawn again from the history `finish.fit` kept, so that the page never
        shows less than the history beside it. Nothing is printed: the interrupt says what was
        kept. A second interrupt while drawing, or a page that cannot be drawn, leaves the old
        page; neither may hide the interrupt being raised."""
        if self.out is None or not (self.out / "report.html").is_file():
            return   # a fresh run's (or a search trial's, which has no folder): `babysit
            # report` draws it, as the interrupt says
        with contextlib.suppress(KeyboardInterrupt, Exception):
            self.conclude(lambda text: None)

    def conclude(self, say: Callable[[str], None], *, out: Path | None = None,
                 report: bool = True, title: str = "diagnosis", sections=()) -> finish.Outcome:
        """Keep the history in `out` (default: the run's folder), diagnose it once, print the
        findings, write the report (unless report=False): `finish.finish`."""
        return finish.finish(self.history, self.out if out is None else out, say,
                             report=report, preprocess=self.data.preprocess,
                             image_shape=self.data.raw_image_shape, error=self.error,
                             title=title, sections=sections)

    def range_test(self, **kwargs) -> LRRange:
        """The learning-rate range test on the run's network (left unchanged), optimizer,
        penalty and batch size, over the training split (kwargs: `lr_range`'s start, end,
        iterations, method)."""
        cfg = self.cfg
        return lr_range(self.net, self.trainer.loss, self.data.train.X, self.data.train.y,
                        build_optimizer(cfg), batch_size=cfg.batch_size,
                        reg=build_regularizer(cfg), seed=cfg.seed or 0, **kwargs)


__all__ = ["DIVERGED", "FINISHED", "INTERRUPTED", "LONG_RUN_EPOCHS", "STOPPED", "Run", "fitted",
           "run_checkpoints"]
