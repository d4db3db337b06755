"""`babysit report RUN_DIR`: report.html of a saved run drawn again from its history.json;
`babysit report RUN1 RUN2 ...`: one page comparing the runs (`babysit.report.compare`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from babysit.cli.console import say
from babysit.cli.options import add_force_flag, add_json_flag, new_output_file, path_given
from babysit.runs import finish
from babysit.training import checkpoint

COMPARE_NAMED = 3   # runs named in a comparison page's default file name


def add_options(p: argparse.ArgumentParser) -> None:
    """RUN_DIR (one run folder, whose report is drawn again; several, compared on one page),
    --out for the comparison's page (a new file, unless --force), and --json."""
    p.add_argument("run_dir", type=path_given, nargs="+", metavar="RUN_DIR",
                   help="a run folder holding history.json (written by babysit train, demo, "
                        "search or --fix); several are compared on one page")
    p.add_argument("--out", type=path_given, default=None,
                   help="where the comparison of several runs is written, a new file unless "
                        "--force (default: compare-RUN1-RUN2....html, named after the runs, in "
                        "the folder that holds the first)")
    add_force_flag(p)
    add_json_flag(p)


def cmd_report(args) -> tuple[int, dict]:
    """Re-render report.html from run_dir/history.json, diagnosed once; with several run
    folders, write one page comparing them (curves overlaid, settings side by side)."""
    from babysit import report

    if args.force and args.out is None:
        raise ValueError("--force lets --out replace a file that exists; give --out FILE, or "
                         "leave --force out")
    if len(args.run_dir) > 1:
        out = comparison_file(args.out, args.run_dir, args.force)
        page = report.compare.write_comparison(args.run_dir, out)
        say(f"comparison of {len(args.run_dir)} runs: {page}")
        return 0, {"report": str(page), "run_dirs": [str(d) for d in args.run_dir]}
    run_dir = args.run_dir[0]
    if args.out is not None:
        raise ValueError("--out names the comparison page of several runs; a single run's "
                         f"report is always {run_dir / 'report.html'}")
    history = report.compare.run_history(run_dir)
    findings = history.diagnose()
    finish.say_findings(findings, say)
    page = report.write(history, run_dir, findings=findings,
                        preprocess=_saved_preprocessing(run_dir),
                        image_shape=history.meta.get("raw_image_shape"))
    say(f"report: {page}")
    return 0, {"report": str(page), "run_dir": str(run_dir),
               "findings": [finish.finding_json(f) for f in findings]}


def comparison_file(out: Path | None, runs: list[Path], force: bool) -> Path:
    """Where the comparison page goes: --out `out` (refused when it is a folder, or exists
    without `force`: `options.new_output_file`), or a page named after the `runs` beside the
    first, compare-<run>-<run>...html (COMPARE_NAMED runs named, then how many more): the
    page an earlier comparison of the same runs wrote is replaced, another's is not (one
    compare.html for every comparison replaced each with the next)."""
    if out is not None:
        return new_output_file(out, "compare.html", force)
    names = [run.resolve().name for run in runs]
    shown = names[:COMPARE_NAMED] + ([f"and-{len(names) - COMPARE_NAMED}-more"]
                                     if len(names) > COMPARE_NAMED else [])
    return runs[0].resolve().parent / f"compare-{'-'.join(shown)}.html"


def _saved_preprocessing(run_dir: Path):
    """The preprocessing the run's model was saved with (its PCA draws the page's principal
    components, as the run's own page did), or None: no model kept, or one that cannot be
    read (the page is drawn without that figure)."""
    models = checkpoint.models_in(run_dir)
    if not models:
        return None
    try:
        return checkpoint.load(models[0])[1]
    except ValueError:
        return None


__all__ = ["add_options", "cmd_report", "comparison_file"]
