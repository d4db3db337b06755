"""Alerts: the diagnosis, said while training, as soon as a rule can judge.

At the end of every epoch `Alerts` runs `babysit.diagnose` on the history so far and keeps
the findings that a partial run already shows (`LIVE_CAUSES`: divergence, an exploding loss or
gradients, vanishing gradients, dead or saturated units, updates far too large). A warning or
an error is printed once, above the progress bar, when it first appears (and again only if it
grows from a warning into an error; a cause's distinct findings each count), and recorded in
`history.meta["alerts"]`, which the report lists. With `stop_on="warning"` or `"error"` the
run ends after the epoch in which such a finding first fired, and says so (in
`history.meta["stopped"]` too). A NaN or infinite loss always stops a run: the Trainer raises
`DivergedError` at that step.
"""

from __future__ import annotations

import sys

from babysit.diagnose import SEVERITIES, diagnose
from babysit.training.callbacks import Callback

STOP_ON = ("error", "warning", "never")

# Root causes (Finding.cause) that the history of a run still in progress can already show.
# The loss-curve rules on a learning rate too low or overfitting need the whole run: an
# early epoch looks "slow" or "not yet fitted" in a healthy run too.
LIVE_CAUSES = ("diverged", "lr_too_high", "exploding_gradients", "vanishing_gradients",
               "dead_units", "saturated_units")
# The causes whose error, after the loss went above 3x its start, means the run exploded.
BLOWUP_CAUSES = ("diverged", "lr_too_high", "exploding_gradients")


def cause_of(finding) -> str:
    """The finding's machine-readable root cause (`Finding.cause`)."""
    return finding.cause


def _rank(severity: str) -> int:
    """0 for info, 1 for warning, 2 for error: higher is worse."""
    return len(SEVERITIES) - 1 - SEVERITIES.index(severity)


def at_least(severity: str, level: str) -> bool:
    """True when `severity` is `level` or worse ("error" is at least "warning")."""
    return _rank(severity) >= _rank(level)


def live_findings(history) -> list:
    """The warnings and errors of `diagnose(history)` whose cause a partial run can show."""
    return [f for f in diagnose(history)
            if f.severity != "info" and cause_of(f) in LIVE_CAUSES]


def blew_up(history, findings) -> bool:
    """True when the run diverged (a NaN or infinite loss) or exploded: its loss went above
    `History.blowup_at`'s 3x its start and the diagnosis blames that with an error whose cause
    is in BLOWUP_CAUSES. What the command line answers with exit status 3."""
    if history.nonfinite_at() is not None:
        return True
    return history.blowup_at() is not None and any(
        f.severity == "error" and cause_of(f) in BLOWUP_CAUSES for f in findings)


class Alerts(Callback):
    """Prints each new warning or error of `live_findings` at the end of the epoch it first
    appears in; with `stop_on` "warning" or "error", stops the run there.

    stop_on: "never" (default: only a NaN stops a run), "warning" or "error". `write` prints
    one line (default: above the progress bar, on stderr).
    """

    def __init__(self, stop_on: str = "never", write=None):
        if stop_on not in STOP_ON:
            raise ValueError(f"stop_on must be one of {STOP_ON}, got {stop_on!r}")
        self.stop_on = stop_on
        self.write = write or _above_the_bar

    def on_train_begin(self, trainer, X, y, val) -> None:
        trainer.history.meta.setdefault("alerts", [])

    def on_epoch_end(self, trainer, epoch: int) -> None:
        history = trainer.history
        said = history.meta.setdefault("alerts", [])
        worst_said = {}
        for alert in said:
            key = (alert["cause"], alert["what"])
            worst_said[key] = max(worst_said.get(key, -1), _rank(alert["severity"]))
        fired = []
        for finding in live_findings(history):
            cause = cause_of(finding)
            key = (cause, finding.what)
            if _rank(finding.severity) <= worst_said.get(key, -1):
                continue
            worst_said[key] = _rank(finding.severity)
            when = f"end of epoch {epoch}"
            said.append({"when": when, "epoch": epoch, "iteration": trainer.iteration,
                         "severity": finding.severity, "cause": cause, "what": finding.what})
            self.write(f"babysit, {when}: {finding}")
            fired.append(finding)
        stops = [f for f in fired if at_least(f.severity, self.stop_on)] \
            if self.stop_on != "never" else []
        if stops and not trainer.stop_training:
            trainer.stop_training = True
            first = stops[0]
            reason = (f"--stop-on {self.stop_on}: {first.severity} {first.what!r} at the end "
                      f"of epoch {epoch}")
            history.meta["stopped"] = {"reason": reason, "epoch": epoch,
                                       "cause": cause_of(first)}
            self.write(f"babysit: training stopped ({reason})")


def say_nothing(line: str) -> None:
    """The writer of a quiet run's alerts: they are kept in history.meta["alerts"] only (a
    function, not a lambda, so that a Trainer holding it pickles)."""


def _above_the_bar(line: str) -> None:
    """Print `line` on stderr above a running tqdm progress bar (which redraws below it)."""
    from tqdm.auto import tqdm

    tqdm.write(line, file=sys.stderr)


__all__ = ["BLOWUP_CAUSES", "LIVE_CAUSES", "STOP_ON", "Alerts", "at_least", "blew_up",
           "cause_of", "live_findings", "say_nothing"]
