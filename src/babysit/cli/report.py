"""`babysit report RUN_DIR`: report.html of a saved run drawn again from its history.json;
`babysit report RUN1 RUN2 ...`: one page comparing the runs (`babysit.report.compare`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from babysit.cli.console import say
from babysit.cli.options import add_json_flag
from babysit.runs import finish


def add_options(p: argparse.ArgumentParser) -> None:
    """RUN_DIR (one run folder, whose report is drawn again; several, compared on one page),
    --out for the comparison's page, and --json."""
    p.add_argument("run_dir", type=Path, nargs="+", metavar="RUN_DIR",
                   help="a run folder holding history.json (written by babysit train, demo, "
                        "search or --fix); several are compared on one page")
    p.add_argument("--out", type=Path, default=None,
                   help="where the comparison of several runs is written (default: "
                        "compare.html in the folder that holds the first run)")
    add_json_flag(p)


def cmd_report(args) -> tuple[int, dict]:
    """Re-render report.html from run_dir/history.json, diagnosed once; with several run
    folders, write one page comparing them (curves overlaid, settings side by side)."""
    from babysit import report
    from babysit.training.history import History

    if len(args.run_dir) > 1:
        out = args.out or args.run_dir[0].resolve().parent / "compare.html"
        page = report.compare.write_comparison(args.run_dir, out)
        say(f"comparison of {len(args.run_dir)} runs: {page}")
        return 0, {"report": str(page), "run_dirs": [str(d) for d in args.run_dir]}
    run_dir = args.run_dir[0]
    if args.out is not None:
        raise ValueError("--out names the comparison page of several runs; a single run's "
                         f"report is always {run_dir / 'report.html'}")
    path = run_dir / "history.json"
    if not path.is_file():
        raise ValueError(f"RUN_DIR {str(run_dir)!r} holds no history.json: give a run "
                         f"folder written by babysit train or babysit demo")
    history = History.load(path)
    findings = history.diagnose()
    finish.say_findings(findings, say)
    page = report.write(history, run_dir, findings=findings)
    say(f"report: {page}")
    return 0, {"report": str(page), "run_dir": str(run_dir),
               "findings": [finish.finding_json(f) for f in findings]}


__all__ = ["add_options", "cmd_report"]
