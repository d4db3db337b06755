"""The doctor on the fault zoo: how many planted faults does `--fix` cure?

    python benchmarks/doctor.py                 # every case of benchmarks/diagnosis.py
    python benchmarks/doctor.py --only digits   # cases whose name holds "digits"
    python benchmarks/doctor.py --workers 2     # two cases at a time

For every case of the diagnosis benchmark's fault zoo (`benchmarks/diagnosis.py`: CASES, its
datasets, data faults and network faults), this runs `babysit.doctor.treat` with at most 3
rounds and compares the kept run's validation accuracy with the case's healthy baseline.

- The healthy baseline: the same data (with the case's data fault: the data are what they
  are) and the same architecture (hidden widths, loss, epochs), trained with the zoo's
  healthy settings (ReLU, He init, Adam 1e-3, L2 1e-4, standardized inputs, batches of 32)
  and no network fault.
- Cured: the kept run's validation accuracy is at least the baseline's minus 1 point.
- A network fault (weights scaled, first-layer biases set) stands for a broken
  initialization the user wrote: it is planted in every round's network, until a round
  changes the setting it corrupts (`init` for scaled weights, `bias` for set biases) or the
  network no longer has the parameter (BatchNorm's hidden layers have no bias).
- The faults no setting can cure are the data faults: random labels (memorizing_noise), one
  class, blank inputs (collapsed_predictions) and class imbalance. For those the table shows
  what the doctor said; they are not counted among the curable.

Prints one Markdown table and the totals, with the time taken.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import diagnosis  # noqa: E402  (the fault zoo, beside this file)

from babysit.doctor import treat  # noqa: E402
from babysit.doctor.runs import Runner  # noqa: E402
from babysit.runs.config import RunConfig  # noqa: E402

DATA_FAULTS = {"memorizing_noise", "single_class", "collapsed_predictions", "class_imbalance"}
TOLERANCE = 0.01


class ZooRunner(Runner):
    """A Runner whose data carry the case's data fault and whose networks carry its network
    fault (until a round changes the setting the fault stands for)."""

    def __init__(self, case: diagnosis.Case, plant: bool = True):
        super().__init__()
        self.case, self.plant = case, plant
        self.initial = RunConfig(**case.config())

    def data(self, cfg):
        key = cfg.preprocess
        if key not in self._data:
            data = diagnosis.DATASETS[self.case.data]()
            if self.case.transform is not None:
                data = self.case.transform(data)
            self._data[key] = data.preprocessed(
                diagnosis.bs.preprocess.get(cfg.preprocess))
        return self._data[key]

    def model(self, cfg, data):
        net = super().model(cfg, data)
        fault = self.case.net_fault
        if fault is None or not self.plant:
            return net
        corrupts = "init" if fault.__name__.startswith("weights_times") else "bias"
        if getattr(cfg, corrupts) != getattr(self.initial, corrupts):
            return net
        with contextlib.suppress(KeyError):  # the parameter it sets is gone (BatchNorm: no bias)
            fault(net)
        return net


def baseline(case: diagnosis.Case) -> float | None:
    """Validation accuracy of the healthy settings on the case's data and architecture."""
    settings = case.config()
    healthy = {**diagnosis.DEFAULTS, **{k: settings[k] for k in ("hidden", "loss", "epochs")}}
    runner = ZooRunner(case, plant=False)
    return runner.train(RunConfig(**healthy)).val_acc


def run(case: diagnosis.Case) -> dict:
    start = time.perf_counter()
    base = baseline(case)
    runner = ZooRunner(case)
    with np.errstate(all="ignore"):
        treatment, kept = treat(runner.initial, train=runner.train,
                                suggest_lr=runner.suggest_lr, max_rounds=3)
    first = treatment.rounds[0].cause if treatment.rounds else None
    final = treatment.val_final
    return {"case": case.name, "expected": case.expected, "first": first,
            "rounds": len(treatment.rounds), "changed": treatment.changed,
            "not_kept": [r.changes for r in treatment.rounds[treatment.best:]],
            "val_initial": treatment.val_initial, "val_final": final, "baseline": base,
            "cured": final is not None and base is not None and final >= base - TOLERANCE,
            "cannot_cure": treatment.cannot_cure, "stopped": treatment.stopped,
            "seconds": time.perf_counter() - start}


def _run_or_skip(name: str):
    """`run` on the case called `name` (in a worker process), or why it was skipped."""
    case = next(c for c in diagnosis.CASES if c.name == name)
    try:
        return run(case)
    except LookupError as err:
        return str(err)


def _print_row(case: diagnosis.Case, row: dict) -> None:
    def shown(changes):
        return "; ".join(f"{k} {_short(a)}->{_short(b)}" for k, (a, b) in changes.items())

    changes = shown(row["changed"]) or "-"
    if row["not_kept"]:
        changes += " (not kept: " + ", ".join(map(shown, row["not_kept"])) + ")"
    if case.expected in DATA_FAULTS:
        verdict = f"cannot cure: {row['cannot_cure'] or row['stopped']}"
    elif case.expected is None:
        verdict = "left alone" if row["rounds"] == 0 else "TREATED a healthy run"
    else:
        verdict = "cured" if row["cured"] else "NOT cured"
    print(f"| {case.name} | {case.expected or 'healthy'} | {row['rounds']}: {changes} | "
          f"{_acc(row['val_initial'])} | {_acc(row['val_final'])} | "
          f"{_acc(row['baseline'])} | {verdict} |", flush=True)


def _short(value) -> str:
    return ",".join(map(str, value)) or "none" if isinstance(value, list | tuple) else str(value)


def _acc(x) -> str:
    return "diverged" if x is None else f"{x:.3f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="only cases whose name contains this text")
    parser.add_argument("--workers", type=int, default=1, help="cases run in parallel")
    args = parser.parse_args(argv)
    cases = [c for c in diagnosis.CASES if not args.only or args.only in c.name]
    start = time.perf_counter()
    rows = []
    print("| case | planted | rounds: changes | val before | val after | baseline | verdict |")
    print("|---|---|---|---|---|---|---|")
    with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
        done = pool.imap(_run_or_skip, [c.name for c in cases])
        for case, row in zip(cases, done, strict=True):
            if isinstance(row, str):
                print(f"| {case.name} | {case.expected or 'healthy'} | skipped: {row} "
                      f"| | | | |")
                continue
            rows.append(row)
            _print_row(case, row)
    curable = [r for r in rows if r["expected"] is not None and r["expected"] not in DATA_FAULTS]
    cured = [r for r in curable if r["cured"]]
    healthy = [r for r in rows if r["expected"] is None]
    data_faults = [r for r in rows if r["expected"] in DATA_FAULTS]
    said = [r for r in data_faults if r["cannot_cure"]]
    fine_before = [r for r in curable if r["val_initial"] is not None and r["baseline"]
                   is not None and r["val_initial"] >= r["baseline"] - TOLERANCE]
    print(f"\ncured {len(cured)} of {len(curable)} curable faults "
          f"({len(cured) / max(len(curable), 1):.0%}); {len(fine_before)} of them were within "
          f"1 point before treatment; healthy runs left alone: "
          f"{sum(r['rounds'] == 0 for r in healthy)} of {len(healthy)}; data faults named "
          f"incurable: {len(said)} of {len(data_faults)}; "
          f"{time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
