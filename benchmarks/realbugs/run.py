"""The DeepFD benchmark's real programs, buggy and fixed, under `babysit.torch.watch`.

Each case of `cases.py` is trained twice (the posted program and its fix) by the loop the
README shows (watch, log after every step, end_epoch with the accuracies, diagnose), and the
table puts babysit's verdicts next to the four published tools' (DeepFD's own per-case table):

- detected: a warning or error on the buggy program;
- diagnosed: the top warning/error's cause is one that names a labelled fault
  (`cases.LABEL_CAUSES`);
- false alarm: a warning or error on a fixed program that trains well (it reaches its case's
  `healthy` level less `trains_margin`); a fix that still fails to train is marked
  "fails" with its top finding, which a reader judges true or not (benchmarks/README.md does).
  Whether a warning on a fix is false is settled by applying its advice on held-out data of
  the same distribution: row30_scaling.py did that for row 30's "inputs not scaled".

    python benchmarks/realbugs/run.py                 # every case, both halves
    python benchmarks/realbugs/run.py --only 24 -v    # rows whose number or post has "24"
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from realbugs.cases import CASES, TOOLS, TRAINS_WELL_SE, Case, Port  # noqa: E402

from babysit.torch import watch  # noqa: E402

torch.set_num_threads(1)


def _accuracy(port: Port, X, labels) -> float | None:
    if labels is None or port.predict is None:
        return None
    modes = [(m, m.training) for m in port.model.modules()]
    port.model.eval()
    with torch.no_grad():
        predicted = port.predict(port.model(X))
    for m, mode in modes:
        m.training = mode
    return float((predicted == labels).float().mean())


def trains_margin(level: float, n_val: int) -> float:
    """How far under its healthy `level` a fix still trains well: TRAINS_WELL_SE standard
    errors of an accuracy at that level on `n_val` validation rows (0.09 on 80 rows at 0.8,
    0.02 on 500 rows at 0.93), at least 0.01."""
    return max(0.01, TRAINS_WELL_SE * math.sqrt(level * (1 - level) / n_val))


def _r2(port: Port) -> float | None:
    """A regression's R^2 on its validation rows (1 - MSE / the targets' variance)."""
    if port.y_val is None:
        return None
    port.model.eval()
    with torch.no_grad():
        error = float(((port.model(port.X_val) - port.y_val) ** 2).mean())
    return 1.0 - error / float(port.y_val.var(unbiased=False))


def train(port: Port):
    """The README's loop: watch, a step per batch with sitter.log, end_epoch per epoch."""
    torch.manual_seed(0)
    model, optimizer, loss_fn = port.model, port.optimizer, port.loss_fn
    sitter = watch(model, optimizer, image_shape=port.image_shape, loss_fn=loss_fn)
    n = len(port.X)
    for _ in range(port.epochs):
        model.train()
        order = torch.randperm(n)
        for start in range(0, n, port.batch_size):
            rows = order[start:start + port.batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(port.X[rows]), port.y[rows])
            loss.backward()
            optimizer.step()
            sitter.log(loss)
        sitter.end_epoch(train_acc=_accuracy(port, port.X, port.labels),
                         val_acc=_accuracy(port, port.X_val, port.labels_val))
    history = sitter.history
    sitter.close()
    return history, history.diagnose(), _r2(port)


def _alarms(findings):
    return [f for f in findings if f.severity != "info"]


def run_case(case: Case, verbose: bool = False) -> dict:
    out = {}
    for fixed in (False, True):
        t = time.perf_counter()
        port = case.build(fixed)
        history, findings, r2 = train(port)
        alarms = _alarms(findings)
        val = next((v for v in reversed(history.val_acc) if v is not None), r2)
        out["fixed" if fixed else "buggy"] = {
            "top": alarms[0].cause if alarms else "-", "alarms": alarms, "val": val,
            "seconds": time.perf_counter() - t}
        if verbose:
            print(f"  {'fixed' if fixed else 'buggy'} (val {val}):")
            for f in findings:
                print(f"    {f}")
    buggy, fixed = out["buggy"], out["fixed"]
    trains = fixed["val"] is not None and fixed["val"] >= case.healthy - trains_margin(
        case.healthy, len(port.X_val))
    return {"detected": bool(buggy["alarms"]), "diagnosed": buggy["top"] in case.causes,
            "trains": trains, "false_alarm": trains and bool(fixed["alarms"]), **out}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="rows whose number or post contains this")
    parser.add_argument("--half", choices=("tune", "confirm"), default=None)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    cases = [c for c in CASES if (args.only in f"{c.row} {c.post}")
             and (args.half is None or c.half == args.half)]
    head = "  ".join(f"{t[:6]:>6}" for t in TOOLS)
    print(f"{'row':>3} {'post':<18} {'half':<7} {'labels':<34} published det/diag: {head}"
          f" | babysit: det diag  top finding (buggy)        fixed: trains? top (val acc or "
          f"R^2 / healthy)")
    totals = {h: {"n": 0, "tools": [[0, 0] for _ in TOOLS], "det": 0, "diag": 0, "fa": 0,
                  "fails": 0} for h in ("tune", "confirm")}
    for case in cases:
        r = run_case(case, args.verbose)
        t = totals[case.half]
        t["n"] += 1
        for i in range(len(TOOLS)):
            t["tools"][i][0] += case.detected[i]
            t["tools"][i][1] += case.diagnosed[i]
        t["det"] += r["detected"]
        t["diag"] += r["diagnosed"]
        t["fa"] += r["false_alarm"]
        t["fails"] += not r["trains"]
        tools = "  ".join(f"{d}/{g}".rjust(6) for d, g in zip(case.detected, case.diagnosed,
                                                              strict=True))
        fixed = r["fixed"]
        val = f"{fixed['val']:.3f}" if fixed["val"] is not None else "-"
        print(f"{case.row:>3} {case.post:<18} {case.half:<7} {', '.join(case.labels)[:34]:<34} "
              f"                    {tools} |          {'Y' if r['detected'] else 'n'}   "
              f"{'Y' if r['diagnosed'] else 'n'}   {r['buggy']['top']:<26} "
              f"{'trains' if r['trains'] else 'FAILS':<7}{fixed['top']} ({val} / "
              f"{case.healthy:g}) [{r['buggy']['seconds'] + fixed['seconds']:.0f} s]",
              flush=True)
    print()
    for half, t in [*totals.items(), ("all", None)]:
        if half == "all":
            t = {"n": sum(v["n"] for v in totals.values()),
                 "tools": [[sum(v["tools"][i][j] for v in totals.values()) for j in (0, 1)]
                           for i in range(len(TOOLS))],
                 **{k: sum(v[k] for v in totals.values())
                    for k in ("det", "diag", "fa", "fails")}}
        if not t["n"]:
            continue
        tools = ", ".join(f"{name} {d}/{g}" for name, (d, g) in zip(TOOLS, t["tools"],
                                                                   strict=True))
        print(f"{half:<8} {t['n']} cases: published detected/diagnosed {tools}; babysit "
              f"detected {t['det']}, diagnosed {t['diag']} ({t['diag'] / t['n']:.0%}), "
              f"false alarms on the fixed programs that train well {t['fa']} of "
              f"{t['n'] - t['fails']} (fixes that still fail: {t['fails']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
