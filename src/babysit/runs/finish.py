"""What every run ends with, whoever started it: the history kept, the diagnosis printed, the
report written, and whether the run counts as diverged (the command line's exit status 3).

`fit(trainer, X, y, val)` trains and keeps a run that diverged: the Trainer stops at the first
NaN or infinite loss (`DivergedError`), and the history up to that step is what `finish` then
saves, diagnoses and reports, beside the checkpoints of the epochs finished before it.
Every run ends through `finish` (`babysit.runs.run.Run` calls it), so every run prints its
diagnosis the same way; `report_summary` adds what the command line prints around it
(accuracies or regression metrics, the last line).
"""

from __future__ import annotations

import contextlib
import shlex
import signal
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np

from babysit.backend import to_numpy
from babysit.training.alerts import blew_up
from babysit.training.checkpoint import state_path
from babysit.training.metrics import split_metrics
from babysit.training.trainer import DivergedError

EXIT_DIVERGED = 3  # the command line's exit status for a run that diverged or exploded
# The signals that stop a run as Ctrl-C does: `kill PID`, `docker stop`, a batch scheduler's
# pre-emption (SIGTERM) and a closed terminal or ssh session (SIGHUP).
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP")
                     if hasattr(signal, name))


class Stopped(KeyboardInterrupt):
    """A run stopped by a signal (`signum`, SIGTERM or SIGHUP) rather than by Ctrl-C: a
    KeyboardInterrupt, so that every place that keeps a run's files on Ctrl-C keeps them the
    same way; its `signum` decides the exit status (128 + signum, as the shell reports a
    process the signal ended)."""

    def __init__(self, *args, signum: int):
        super().__init__(*args)
        self.signum = signum


def interrupt_status(err: KeyboardInterrupt) -> int:
    """The exit status of a run that `err` stopped: 128 + the signal (130 for Ctrl-C's SIGINT,
    143 for SIGTERM, 129 for SIGHUP)."""
    return 128 + getattr(err, "signum", signal.SIGINT)


def interrupt_name(err: KeyboardInterrupt) -> str:
    """How `err` stopped the run, in words: "interrupted" (Ctrl-C), "stopped by SIGTERM"."""
    signum = getattr(err, "signum", None)
    return "interrupted" if signum is None else f"stopped by {signal.Signals(signum).name}"


@contextlib.contextmanager
def stop_signals_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise `Stopped` in the main thread as Ctrl-C raises
    KeyboardInterrupt, so the run keeps its history and report and says how to resume instead
    of vanishing. A second such signal while the first is handled is ignored (the run is
    saving what it keeps). Off the main thread (where Python allows no handler) nothing
    changes. The previous handlers come back at the end."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    outer = _SEEN[:]
    _SEEN.clear()

    def stop(signum, frame):
        if not _SEEN:
            _SEEN.append(signum)
            raise Stopped(signum=signum)

    previous = {s: signal.signal(s, stop) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        _SEEN[:] = outer


# The stop signal the innermost `stop_signals_interrupt` block received (at most one).
_SEEN: list[int] = []


def stop_received() -> int | None:
    """The signal (SIGTERM, SIGHUP) that stopped the current `stop_signals_interrupt` block, or
    None. A library's cleanup may raise an error of its own while the stop unwinds through it
    (a lock it no longer holds, a connection cut mid-message): with a stop received, that
    error is still the stop."""
    return _SEEN[0] if _SEEN else None


@dataclass
class Outcome:
    """How a run ended: its findings (root causes first), the report's path (None with
    report=False), `diverged` (a NaN or infinite loss, or a loss that exploded and the
    diagnosis blames with an error), and the DivergedError when the Trainer raised one."""

    findings: list
    report: Path | None
    diverged: bool
    error: DivergedError | None = field(default=None, repr=False)

    @property
    def status(self) -> int:
        """The exit status the run earns: EXIT_DIVERGED when it diverged, else 0."""
        return EXIT_DIVERGED if self.diverged else 0

    @property
    def errors(self) -> list:
        """The error-severity findings."""
        return [f for f in self.findings if f.severity == "error"]

    def to_json(self) -> dict:
        """The findings (each with its severity, name, cause, concerns, evidence and advice),
        the report's path and `diverged`, for a --json summary."""
        return {"findings": [finding_json(f) for f in self.findings],
                "report": str(self.report) if self.report else None,
                "diverged": self.diverged}

    def last_line(self, run_dir) -> str | None:
        """What a run that diverged, or that finished with an error-severity finding, says
        last: where its history, checkpoints and report are, or which error was found."""
        where = f"the report is {self.report}" if self.report else f"the run folder is {run_dir}"
        if self.diverged and self.error is not None:
            return (f"the run diverged: its history, the checkpoints of the epochs before it "
                    f"and the diagnosis are kept; {where} (exit status {EXIT_DIVERGED})")
        if self.diverged:
            return (f"the loss exploded (the diagnosis above says where); {where} "
                    f"(exit status {EXIT_DIVERGED})")
        if self.errors:
            names = ", ".join(dict.fromkeys(f.what for f in self.errors))
            return f"finished, but the diagnosis found an error: {names}; {where}"
        return None


def finding_json(f) -> dict:
    """One Finding as JSON: severity, what, cause, concerns, evidence, advice."""
    return {"severity": f.severity, "what": f.what, "cause": f.cause,
            "concerns": list(f.concerns), "evidence": f.evidence, "advice": f.advice}


def top_finding(history) -> str:
    """The first of the history's findings (the most severe root cause) as "severity: what"
    ("warning: overfitting"), or "" when nothing was found: why a search trial scored low."""
    findings = history.diagnose()
    return f"{findings[0].severity}: {findings[0].what}" if findings else ""


# Training rows of at most this many values train with one BLAS thread. Every product of a
# small table is small (batches of 32, evaluation passes of a few thousand rows), and a second
# OpenBLAS thread costs more than it gains: the threads wait for each other at each product,
# and on a busy machine a wait is a time slice. A 400-row table of 30 columns (150 epochs)
# trained in 30.7 s wall, 8.1 s CPU with two threads, 15.4 s and 3.1 s with one (2 cores
# shared with other work, load 17). Larger data keeps the library's threads.
ONE_THREAD_VALUES = 2**22


def _blas_threads(X):
    """One BLAS thread while training on X (N, D) of at most ONE_THREAD_VALUES values, else
    the library's own number."""
    if X.size > ONE_THREAD_VALUES:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="blas")


def fit(trainer, X, y, val=None, out: Path | None = None,
        resume_hint: str | None = None) -> DivergedError | None:
    """`trainer.fit(X, y, val)`, keeping a run that diverged: returns the DivergedError (its
    history is `trainer.history`, up to the step whose loss was not finite), else None.

    Interrupted (Ctrl-C, or SIGTERM/SIGHUP under `stop_signals_interrupt`), the history so far
    is saved as `out`/history.json (when `out` is given) and the same KeyboardInterrupt raised
    again with one line saying what was kept, and `resume_hint` (the command that continues
    the run) once `out` holds a training state (an epoch has ended). An OSError (a full disk)
    is raised again with that command added to its words."""
    try:
        with _blas_threads(X):
            trainer.fit(X, y, val=val)
    except DivergedError as err:
        return err
    except KeyboardInterrupt as err:
        if out is None:
            raise
        h = trainer.history
        h.save(Path(out) / "history.json")
        kept = [f"{out / 'history.json'} (babysit report {shlex.quote(str(out))} draws it)"]
        if h.epochs and (Path(out) / "checkpoints").is_dir():
            kept.append(f"the checkpoints in {out / 'checkpoints'}")
        go_on = ""
        if resume_hint and state_path(out).is_file():
            go_on = f"; to continue it: {resume_hint}"
        elif resume_hint and str(out) in resume_hint and (Path(out) / "config.json").is_file():
            # no state to go on from (no epoch ended, or a command that keeps none, as
            # babysit demo): the same run starts again
            why = "no epoch ended" if not h.epochs else "this command keeps no training state"
            go_on = (f"; {why}, so nothing to resume: babysit train --config "
                     f"{shlex.quote(str(Path(out) / 'config.json'))} starts it again")
        when = f"in epoch {h.epochs + 1} of {trainer.epochs}" if h.epochs < trainer.epochs \
            else f"after its last epoch ({trainer.epochs}), before its end was written"
        raise reworded(err, f"{when}, after {len(h.loss)} iterations; kept: "
                            f"{' and '.join(kept)}"
                            f"{go_on}") from None
    except OSError as err:  # a full disk, a folder gone: the file it names, and how to go on
        if out is None:
            raise
        with contextlib.suppress(OSError):  # the history too, if there is room for it
            trainer.history.save(Path(out) / "history.json")
        go_on = f"; once it can be written, to continue the run: {resume_hint}" \
            if resume_hint and state_path(out).is_file() else ""
        raise OSError(err.errno, f"{err.strerror or err}{go_on}", err.filename) from err
    return None


def reworded(err: KeyboardInterrupt, message: str) -> KeyboardInterrupt:
    """`err` (a KeyboardInterrupt, or `Stopped` by a signal) saying `message` instead, its type
    and signal kept, its traceback dropped: `raise reworded(err, ...) from None` where a run
    says what it kept."""
    err.args = (message,)
    return err.with_traceback(None)


# The validation rows a regression's report draws as predicted against actual, at most.
PREDICTIONS_KEPT = 1000


def validation_predictions(trainer, data) -> dict:
    """For the report's predicted-vs-actual plot: up to PREDICTIONS_KEPT validation rows'
    targets and predictions (N,) in the target's units, and the training targets' mean (what
    the mean predictor, the baseline, predicts for every row)."""
    X, y = data.val.X[:PREDICTIONS_KEPT], data.val.y[:PREDICTIONS_KEPT]
    predicted = data.target.inverse_transform(to_numpy(trainer.scores(X)))
    actual = data.target.inverse_transform(y)
    mean = float(np.mean(data.target.inverse_transform(data.train.y)))
    return {"split": "validation", "actual": np.ravel(actual).tolist(),
            "predicted": np.ravel(predicted).tolist(), "train_mean": mean}


def kept_epoch(history) -> int:
    """The epoch (from 1) whose weights the run ends with: the one `BestWeights` put back
    (history.meta["best_weights"]), else the last; 0 before any epoch ended."""
    return (history.meta.get("best_weights") or {}).get("epoch", history.epochs)


def kept_accuracies(history) -> dict:
    """The training and validation accuracy of the network the run ends with (`kept_epoch`):
    {"train_accuracy", "val_accuracy"}, each None where it was not recorded (a regression,
    no validation split, no epoch).

    They are the kept epoch's own records, not a second pass over the data: the Trainer
    measures them at each epoch's end and `BestWeights` copies the weights (buffers too) right
    after, so the network put back is the one measured and the records are exact; measuring
    again would cost a pass over both splits and, past the Trainer's `eval_max` training
    rows, score other rows than every epoch's record."""
    at = kept_epoch(history) - 1

    def record(series):
        return series[at] if 0 <= at < len(series) else None

    return {"train_accuracy": record(history.train_acc), "val_accuracy": record(history.val_acc)}


def summarize(trainer, data, seconds: float, out: Path) -> dict:
    """The run's final numbers as a JSON-ready dict (what --json prints), all of the network
    the run ends with (the best epoch's that `BestWeights` put back, else the last): its
    accuracies (`kept_accuracies`; the test split's measured now), or for a regression RMSE,
    MAE and R^2 on each split in the target's units, measured now. `final_loss` is the loss
    (with the penalty) of the run's last training step: where training ended, not a score of
    a network put back."""
    h = trainer.history
    summary = {"data": data.name, "task": data.task, "epochs": h.epochs,
               "final_loss": h.loss[-1] if h.loss else None}
    if data.task == "regress":
        summary.update(split_metrics(lambda X: to_numpy(trainer.scores(X)), data))
    else:
        summary.update(kept_accuracies(h),
                       test_accuracy=trainer.accuracy(*data.test) if len(data.test.y)
                       else None)
    return {**summary, "seconds": round(seconds, 3), "run_dir": str(out)}


def report_summary(summary: dict, outcome: Outcome, out: Path, command: str,
                   say: Callable[[str], None]) -> None:
    """Print the accuracies (or RMSE, MAE, R^2) of `summarize` (for a diverged run, where it
    stopped), then the line a diverged run or an error-severity finding ends with."""
    if outcome.error is not None:
        say(f"babysit {command}: {outcome.error}")
    elif summary.get("task") == "regress":
        last = "test" if summary["test_r2"] is not None else "val"
        say(f"R^2 train {_score(summary['train_r2'])}  val {_score(summary['val_r2'])}  test "
            f"{_score(summary['test_r2'])};  {last} RMSE {summary[f'{last}_rmse']:.4g}  MAE "
            f"{summary[f'{last}_mae']:.4g}  ({summary['seconds']:.1f} s, run folder "
            f"{summary['run_dir']})")
    else:
        say(f"train accuracy {_score(summary['train_accuracy'])}  "
            f"val accuracy {_score(summary['val_accuracy'])}  "
            f"test accuracy {_score(summary['test_accuracy'])}  "
            f"({summary['seconds']:.1f} s, run folder {summary['run_dir']})")
    if outcome.error is None and summary.get("scores"):
        say(summary["scores"])
    last = outcome.last_line(out)
    if last:
        say(f"babysit {command}: {last}")


def _score(value) -> str:
    """An accuracy or R^2 as printed: 4 decimals, or "-" where there is none (no rows)."""
    return "-" if value is None else f"{value:.4f}"


def say_findings(findings, say: Callable[[str], None], title: str = "diagnosis") -> None:
    """Print the findings one per line under `title`, as the demo does."""
    say(f"\n{title}:")
    for f in findings:
        say(f"  {f}")
    if not findings:
        say("  too little was recorded to judge")


# The command line of the `babysit` command running now (the command line's `main` sets it),
# stamped on every run it finishes so that a report says how its run was started.
COMMAND_LINE: ContextVar[str | None] = ContextVar("COMMAND_LINE", default=None)


def stamp(history) -> None:
    """Write the run's identity into history.meta: when it finished (UTC), the babysit
    version, and the command line when a `babysit` command ran it."""
    history.meta.update(finished=f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
                        version=metadata.version("babysit"))
    if COMMAND_LINE.get() is not None:
        history.meta["command"] = COMMAND_LINE.get()


def finish(history, run_dir, say: Callable[[str], None], *, report: bool = True,
           preprocess=None, image_shape=None, error: DivergedError | None = None,
           title: str = "diagnosis", sections=()) -> Outcome:
    """End a run: save `history` as run_dir/history.json, print its diagnosis with `say`,
    write run_dir/report.html unless report=False (`preprocess`, `image_shape` and `sections`
    go to `babysit.report.write`, with the findings: the diagnosis runs once), print where
    the report is; returns the `Outcome`."""
    run_dir = Path(run_dir)
    stamp(history)
    history.save(run_dir / "history.json")
    findings = history.diagnose()
    say_findings(findings, say, title)
    page = None
    if report:
        from babysit import report as report_module

        page = report_module.write(history, run_dir, preprocess=preprocess,
                                   image_shape=image_shape, sections=sections,
                                   findings=findings)
        say(f"report: {page}")
    return Outcome(findings, page, blew_up(history, findings), error)


__all__ = ["COMMAND_LINE", "EXIT_DIVERGED", "Outcome", "Stopped", "finding_json", "finish", "fit",
           "interrupt_name", "interrupt_status", "kept_accuracies", "kept_epoch",
           "report_summary", "reworded", "say_findings", "stamp", "stop_received",
           "stop_signals_interrupt", "summarize", "top_finding", "validation_predictions"]
