"""What every command of the command line starts from: the run configuration its options
describe (`run_config`, and which settings the user chose: `chosen_settings`) and the run
folder it writes into and holds the lock of (`run_folder`), with the folder's
config.json that `babysit train --config` reads back. Its own module so that the commands in
`babysit.cli` and `babysit.cli.fix` share it without importing each other."""

from __future__ import annotations

import time
from pathlib import Path

from babysit.runs import run_lock
from babysit.runs.config import RunConfig, config_fields
from babysit.runs.run_lock import LOCK_NAME
from babysit.validation import make_folder

# The file in every run folder that `babysit train --config` reads back.
CONFIG_NAME = "config.json"


def run_config(args) -> RunConfig:
    """The run the command line describes: RunConfig's defaults, under --config's file, under
    the flags given."""
    base = RunConfig.load(args.config) if getattr(args, "config", None) else RunConfig()
    return base.replace(**{k: v for k, v in vars(args).items() if k in config_fields()})


def chosen_settings(args) -> set[str]:
    """The RunConfig fields the user chose: the flags given, all of them with --config."""
    chosen = {k for k in vars(args) if k in config_fields()}
    return chosen | set(config_fields()) if getattr(args, "config", None) else chosen


def run_folder(args, command: str, cfg: RunConfig, *, lock: bool = True) -> Path:
    """Create and return --out, or a new runs/<command>-<timestamp>[-k] folder, holding the
    run's config.json (`babysit train --config RUN/config.json` repeats the run).

    An --out that already holds files (an earlier run's history and checkpoints, or anything
    else) is refused: writing into it would overwrite them, or mix the old run's checkpoints
    with the new one's. A folder holding only a config.json (left by a command that stopped
    at bad input) is reused. `lock`: hold the folder's lock (`babysit.runs.run_lock`) until the
    command ends, taken before config.json is written; a folder another process is writing
    is refused (with --out given twice at once, one of the two runs goes on)."""
    if args.out is not None:
        out = Path(args.out)
        _refuse_used(out)
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out = Path("runs") / f"{command}-{stamp}"
        suffix = 1
        while out.exists():
            suffix += 1
            out = Path("runs") / f"{command}-{stamp}-{suffix}"
    make_folder(out, "--out")
    if lock:
        run_lock.hold(out)
        _refuse_used(out)  # a run that took the folder, and ended, before this one locked it
    cfg.save(out / CONFIG_NAME)
    return out


def _refuse_used(out: Path) -> None:
    """Refuse --out `out` when it holds files but config.json and the lock file."""
    held = sorted(p.name for p in out.iterdir() if p.name not in (CONFIG_NAME, LOCK_NAME)) \
        if out.is_dir() else []
    if held:
        shown = ", ".join(held[:3]) + (f" and {len(held) - 3} more" if len(held) > 3 else "")
        raise ValueError(f"--out {out} already holds {shown}: give a new or empty folder "
                         f"(or delete that one), so that nothing in it is overwritten")


__all__ = ["CONFIG_NAME", "chosen_settings", "run_config", "run_folder"]
