"""How the outside cases are scored, shared by torch_loops.py, engine_runs.py and confirm.py.

A faulty run's verdict reads its warnings and errors (infos are not a diagnosis):

- named: the first warning or error has one of the case's accepted causes (a divergence whose
  `what` gives the planted reason counts too: "diverged: inputs not scaled");
- wrong (named #k): an accepted cause is there, but under another warning or error;
- symptom only: the first is a cause that describes what the run shows (the loss does not
  fall, validation lags training) without a mechanism to fix, unless the case marks that
  cause as misleading for it;
- wrong: the first names another mechanism;
- missed: no warning or error.

A healthy run (accepted causes None) is clean without a warning or error, a false alarm with
one.
"""

from __future__ import annotations

import argparse
import warnings
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

SEVERE = ("error", "warning")

# Causes that report a symptom rather than its mechanism.
SYMPTOMS = frozenset({"loss_not_decreasing", "overfitting", "underfitting", "too_few_updates",
                      "bad_initial_loss", "collapsed_predictions", "noisy_loss"})

@dataclass(frozen=True)
class Absent:
    """A run scored on one cause only: clean when `cause` is not among its findings, whatever
    else they say (a table cut to a few binary pixels under-fits, rightly)."""

    cause: str


FAULT_VERDICTS = ("named", "symptom only", "wrong", "missed")
HEALTHY_VERDICTS = ("clean", "false alarm")


def verdict(findings, accepted: Collection[str] | None, *, named_in_what: Iterable[str] = (),
            misleading: Collection[str] = ()) -> str:
    """The verdict on one run's findings (babysit's order, most serious first); `accepted` is
    None for a healthy run."""
    severe = [f for f in findings if f.severity in SEVERE]
    if accepted is None:
        return "false alarm" if severe else "clean"
    if not severe:
        return "missed"
    top = severe[0]
    if top.cause in accepted or (top.cause == "diverged"
                                 and any(words in top.what for words in named_in_what)):
        return "named"
    lower = [i for i, f in enumerate(severe) if f.cause in accepted]
    if lower:
        return f"wrong (named #{lower[0] + 1})"
    if top.cause in SYMPTOMS and top.cause not in misleading:
        return "symptom only"
    return "wrong"


def scored(findings, accepted: Collection[str] | Absent | None) -> str:
    """`verdict`, or for a run scored on one cause only (`Absent`) "clean" / "false alarm"."""
    if isinstance(accepted, Absent):
        return "false alarm" if any(f.cause == accepted.cause for f in findings) else "clean"
    return verdict(findings, accepted)


def top3(findings) -> str:
    """The first three findings as cause(severity's initial)."""
    return ", ".join(f"{f.cause}({f.severity[0]})" for f in findings[:3]) or "-"


def outcome(history) -> str:
    """The last epoch's accuracies, or its losses where the loop gave none."""
    def last(series):
        return next((v for v in reversed(series) if v is not None), None)

    train_acc, val_acc = last(history.train_acc), last(history.val_acc)
    if train_acc is not None:
        return f"train {train_acc:.2f} / val {val_acc:.2f}"
    train_loss, val_loss = last(history.epoch_means(history.data_loss)), last(history.val_loss)
    return f"loss train {train_loss:.3g}" + ("" if val_loss is None else f" / val {val_loss:.3g}")


@dataclass
class Row:
    """One run's line of the table."""

    name: str
    half: str           # "tune": a rule was chosen on it; "confirm": never used to choose
    healthy: bool
    verdict: str
    result: str         # how the run ended
    top: str            # top3(findings)
    planted: str

    def show(self) -> None:
        print(f"{self.verdict:17} {self.half:7} {self.name:26} {self.result:44} "
              f"top: {self.top:60} planted: {self.planted}", flush=True)


def print_counts(rows: list[Row]) -> None:
    """The verdicts counted per half, faults and healthy runs apart."""
    print()
    for half in ("tune", "confirm"):
        for healthy, names in ((False, FAULT_VERDICTS), (True, HEALTHY_VERDICTS)):
            group = [r for r in rows if r.half == half and r.healthy == healthy]
            if not group:
                continue
            counts = Counter(next(v for v in names if r.verdict.startswith(v)) for r in group)
            kind = "healthy" if healthy else "faults"
            print(f"{half:7} {kind:8} {len(group):2}: "
                  + ", ".join(f"{v} {counts[v]}" for v in names))


def report(results: Iterable[tuple[Row, list]], verbose: bool) -> int:
    """Print each (row, findings) as it comes (every finding too when `verbose`), then the
    counts per half; returns the exit status, 0."""
    rows = []
    for row, findings in results:
        row.show()
        rows.append(row)
        if verbose:
            for finding in findings:
                print(f"    {finding.severity:7} {finding.cause:26} {finding.what} | "
                      f"{finding.evidence}")
    print_counts(rows)
    return 0


def checked(check, before: Callable[[], object] | None = None) -> tuple[Row, list]:
    """One confirmation check (its `name`, `half`, `run()` returning a History, `planted` and
    `accepted`: causes, None for a healthy run, or `Absent`), run after `before()` with
    warnings silenced, diagnosed and scored."""
    if before is not None:
        before()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = check.run()
        findings = history.diagnose()
    row = Row(check.name, check.half, not isinstance(check.accepted, set),
              scored(findings, check.accepted), outcome(history), top3(findings), check.planted)
    return row, findings


def run_checks(checks, doc: str, argv=None, before: Callable[[], object] | None = None) -> int:
    """A confirmation script's command line: `--only` runs the checks whose name holds it (or
    whose `section` is it), `-v` prints every finding; returns `report`'s status."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--only", default=None, help="a section, or a part of a check's name")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every finding")
    args = parser.parse_args(argv)
    chosen = (c for c in checks if not args.only or args.only in c.name
              or args.only == getattr(c, "section", None))
    return report((checked(check, before) for check in chosen), args.verbose)
