"""How long `babysit report RUN_DIR` takes, wall clock, for one or more source trees.

    python benchmarks/report_speed.py RUN_DIR --src before=/path/to/old/src --src after=src

Each `--src` is a babysit source tree run as `python -m babysit report` on its own copy of
RUN_DIR (a demo's folder); the trees take turns, `--repeats` times, and the script prints each
one's median and range of wall clock and of CPU time. Bytecode is written to a private cache
(PYTHONPYCACHEPREFIX) and one warm-up run per tree fills it, as for an installed package: the
figures are not the cost of compiling babysit's modules (which an environment with
PYTHONDONTWRITEBYTECODE pays on every run). The same script also times `report.write` alone,
in process, for the last tree.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(src: Path, run_dir: Path, cache: Path) -> tuple[float, float]:
    """(wall clock, CPU time: user + system) in seconds of one `python -m babysit report
    run_dir` with `src` first. The CPU time depends less on what else the machine runs."""
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONPYCACHEPREFIX": str(cache)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "babysit", "report", str(run_dir)], env=env,
                   check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run_dir", type=Path, help="a run folder holding history.json")
    p.add_argument("--src", action="append", required=True, metavar="NAME=PATH",
                   help="a babysit source tree to time, repeatable")
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args()
    trees = dict(s.split("=", 1) for s in args.src)
    work = Path(tempfile.mkdtemp(prefix="report-speed-"))
    copies = {}
    for name in trees:
        copies[name] = work / name
        shutil.copytree(args.run_dir, copies[name])
        for png in copies[name].glob("*.png"):
            png.unlink()
    cache = work / "pycache"
    for name, src in trees.items():  # warm-up: fills the bytecode cache
        timed(Path(src).resolve(), copies[name], cache)
    seconds = {name: [] for name in trees}
    for _ in range(args.repeats):
        for name, src in trees.items():
            seconds[name].append(timed(Path(src).resolve(), copies[name], cache))
    for name, pairs in seconds.items():
        wall, cpu = [w for w, _ in pairs], [c for _, c in pairs]
        print(f"{name}: wall median {statistics.median(wall):.2f} s (range {min(wall):.2f}-"
              f"{max(wall):.2f}), CPU median {statistics.median(cpu):.2f} s (range "
              f"{min(cpu):.2f}-{max(cpu):.2f}) over {len(pairs)} runs")
    sys.path.insert(0, str(Path(list(trees.values())[-1]).resolve()))
    from babysit import report
    from babysit.training.history import History

    history = History.load(args.run_dir / "history.json")
    inside = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        report.write(history, work / "inside")
        inside.append(time.perf_counter() - start)
    print(f"report.write alone ({list(trees)[-1]}): median {statistics.median(inside):.3f} s, "
          f"range {min(inside):.3f}-{max(inside):.3f} s")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
