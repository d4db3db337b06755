"""What every command of the command line starts from: the run configuration its options
describe (`run_config`, and which settings the user chose: `chosen_settings`) and the run
folder it writes into (`run_folder`), with the folder's
config.json that `babysit train --config` reads back. Its own module so that the commands in
`babysit.cli` and `babysit.cli_doctor` share it without importing each other."""

from __future__ import annotations

import time
from pathlib import Path

from babysit.config import RunConfig, config_fields

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


def run_folder(args, command: str, cfg: RunConfig) -> Path:
    """Create and return --out, or a new runs/<command>-<timestamp>[-k] folder, holding the
    run's config.json (`babysit train --config RUN/config.json` repeats the run)."""
    if args.out is not None:
        out = Path(args.out)
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out = Path("runs") / f"{command}-{stamp}"
        suffix = 1
        while out.exists():
            suffix += 1
            out = Path("runs") / f"{command}-{stamp}-{suffix}"
    out.mkdir(parents=True, exist_ok=True)
    cfg.save(out / CONFIG_NAME)
    return out


__all__ = ["CONFIG_NAME", "chosen_settings", "run_config", "run_folder"]
