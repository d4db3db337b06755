"""The folder a run writes into: created (or reused when empty), locked while the command
runs, and holding the run's config.json, which `babysit train --config` reads back.

Below every command and `Run.prepare`, so that the command line, the doctor and the ensembles
make their folders the same way."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

from babysit.runs import run_lock
from babysit.runs.config import RunConfig
from babysit.runs.run_lock import LOCK_NAME
from babysit.validation import make_folder

# The file in every run folder that `babysit train --config` reads back.
CONFIG_NAME = "config.json"


def new_folder(out: Path | None, command: str, cfg: RunConfig, *, lock: bool = True) -> Path:
    """Create and return `out` (the --out given), or a new runs/<command>-<timestamp>[-k]
    folder, holding the run's config.json (`babysit train --config RUN/config.json` repeats
    the run).

    An `out` that already holds files (an earlier run's history and checkpoints, or anything
    else) is refused: writing into it would overwrite them, or mix the old run's checkpoints
    with the new one's. A folder holding only a config.json (left by a command that stopped
    at bad input) is reused. `lock`: hold the folder's lock (`babysit.runs.run_lock`) until the
    command ends, taken before config.json is written; a folder another process is writing
    is refused (with --out given twice at once, one of the two runs goes on)."""
    if out is not None:
        out = Path(out)
        refuse_used(out)
        make_folder(out, "--out")
    else:
        out = _claimed_default(command)
    if lock:
        run_lock.hold(out)
        refuse_used(out)  # a run that took the folder, and ended, before this one locked it
    cfg.save(out / CONFIG_NAME)
    return out


def _claimed_default(command: str) -> Path:
    """A new runs/<command>-<timestamp>[-k] folder, made by this process: the first of those
    names that it creates itself (`mkdir` fails on one that exists), so that two commands
    started in the same second take two folders instead of refusing each other's lock."""
    make_folder(Path("runs"), "--out")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    names = (Path("runs") / (f"{command}-{stamp}" + (f"-{k}" if k > 1 else ""))
             for k in itertools.count(1))
    return next(out for out in names if _made(out))


def _made(folder: Path) -> bool:
    """Create `folder`; False when it exists already (another process's, or an earlier one)."""
    try:
        folder.mkdir()
    except FileExistsError:
        return False
    return True


def refuse_used(out: Path) -> None:
    """Refuse --out `out` when it holds files but config.json and the lock file."""
    held = sorted(p.name for p in out.iterdir() if p.name not in (CONFIG_NAME, LOCK_NAME)) \
        if out.is_dir() else []
    if held:
        shown = ", ".join(held[:3]) + (f" and {len(held) - 3} more" if len(held) > 3 else "")
        raise ValueError(f"--out {out} already holds {shown}: give a new or empty folder "
                         f"(or delete that one), so that nothing in it is overwritten")


__all__ = ["CONFIG_NAME", "new_folder", "refuse_used"]
