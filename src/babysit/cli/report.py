"""`babysit report RUN_DIR`: report.html and the plots of a saved run drawn again from its
history.json."""

from __future__ import annotations

import argparse
from pathlib import Path

from babysit.cli.console import say
from babysit.cli.options import add_json_flag
from babysit.runs import finish


def add_options(p: argparse.ArgumentParser) -> None:
    """RUN_DIR and --json."""
    p.add_argument("run_dir", type=Path, help="a run folder holding history.json "
                   "(written by babysit train or demo)")
    add_json_flag(p)


def cmd_report(args) -> tuple[int, dict]:
    """Re-render report.html and the plots from run_dir/history.json, diagnosed once."""
    from babysit import report
    from babysit.training.history import History

    path = args.run_dir / "history.json"
    if not path.is_file():
        raise ValueError(f"RUN_DIR {str(args.run_dir)!r} holds no history.json: give a run "
                         f"folder written by babysit train or babysit demo")
    history = History.load(path)
    findings = history.diagnose()
    finish.say_findings(findings, say)
    page = report.write(history, args.run_dir, findings=findings)
    say(f"report: {page}")
    return 0, {"report": str(page), "run_dir": str(args.run_dir),
               "findings": [finish.finding_json(f) for f in findings]}


__all__ = ["add_options", "cmd_report"]
