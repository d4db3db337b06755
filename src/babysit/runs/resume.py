"""A run that stopped (Ctrl-C, a crash, a machine that went away) or that should train longer,
made ready to go on in its own folder from its last finished epoch: `resume(folder, epochs)`.

What a run needs to go on is already in its folder: config.json (the settings, so the data,
its split and preprocessing, a table's encoders and the network are built again exactly as
they were) and state.safetensors, which the `Checkpoints` callback rewrites after every epoch
(weights, optimizer state, running average, generators, counters, History:
`checkpoint.save_training`). The continued run ends bit for bit where an uninterrupted one
would. Only the epochs (a larger count, to train longer) may change.

An ensemble's member (ENSEMBLE/member-<i>/) resumes alone too: its seed (in its config.json)
made its network, but the data were split and preprocessed once for the whole ensemble, by
the ensemble's config.json (the first member's seed), and are loaded again from that.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import numpy as np

from babysit.backend import to_numpy
from babysit.data.tabular import CHECKPOINT_KEY
from babysit.runs import run_lock
from babysit.runs.builders import load_data, table_meta
from babysit.runs.config import RunConfig
from babysit.runs.folder import CONFIG_NAME
from babysit.runs.run import Run, run_checkpoints
from babysit.training import checkpoint_file
from babysit.training.callbacks import EarlyStopping
from babysit.training.checkpoint import models_in, state_path
from babysit.training.history import History


def resume_command(run_dir) -> str:
    """The command that continues the run in `run_dir` (what an interrupted run says)."""
    return f"babysit resume {shlex.quote(str(run_dir))}"


def _refuse_other_settings(run: Path, cfg: RunConfig, history) -> None:
    """Refuse a config.json whose settings (--epochs aside, which a resume may raise) are not
    those the training state was made with (its History's meta["config"]): the run would go
    on as another one, in the same folder, without a word. A state written before the
    History kept its config passes."""
    trained = history.meta.get("config")
    if not isinstance(trained, dict):
        return
    now = json.loads(json.dumps(cfg.to_dict()))     # lists where the file has lists
    changed = [name for name in now if name != "epochs" and name in trained
               and trained[name] != now[name]]
    if changed:
        said = ", ".join(f"{name} {trained[name]!r} -> {now[name]!r}" for name in changed)
        raise ValueError(f"{run}: {CONFIG_NAME} is not the configuration its training state was "
                         f"made with ({said}); a resumed run goes on as it was trained, only "
                         f"--epochs may change: put {CONFIG_NAME} back, or train a new run "
                         f"with these settings")


def ended_history(folder: Path, epochs: int) -> History | None:
    """The History a run's end wrote in `folder` after `epochs` epochs (history.json holding
    the run's time, which `Run.finish` adds), or None: a run stopped after its last epoch,
    before its test score, history and report were written, has not ended."""
    path = Path(folder) / "history.json"
    if not path.is_file():
        return None
    history = History.load(path)
    return history if history.epochs == epochs and "seconds" in history.meta else None


def resume(folder, epochs: int | None = None) -> Run:
    """The run in `folder`, ready to go on: a `Run` whose Trainer holds its state, with the
    Checkpoints callback writing into the same folder, to `epochs` in all (default: its
    config's). The folder is locked (`run_lock.hold`) until the command ends. Errors
    (ValueError, one line) name the folder or file: not a run folder, another process
    writing it, no training state, a damaged one, a finished run, fewer epochs than
    trained, a run that stopped itself, data that changed since. A member of an ensemble
    locks the ensemble's folder too: it does not go on while its ensemble trains."""
    run = Path(folder)
    if not run.is_dir():
        raise ValueError(f"{run}: no such folder; give the folder a babysit train run "
                         f"wrote (it holds {CONFIG_NAME} and {state_path(run).name})")
    if not (run / CONFIG_NAME).is_file():
        raise ValueError(f"{run} is not a run folder: it holds no {CONFIG_NAME}; give "
                         f"the folder a babysit train run wrote")
    ensemble = _ensemble_of(run)
    if ensemble is not None:   # the ensemble's own writer may be about to train this member
        run_lock.hold(ensemble)
    run_lock.hold(run)  # before anything is read: the run's own writer may still be at work
    state = state_path(run)
    if not state.is_file() and (run / "member-1").is_dir():
        raise ValueError(f"{run}: an ensemble without ensemble.json (written before "
                         f"babysit resumed ensembles): resume each member alone, "
                         f"{resume_command(run / 'member-1')}, ...")
    if not state.is_file():
        raise ValueError(f"{run} holds no training state ({state}): {_instead(run)}")
    # a member's data: split and preprocessed once for the whole ensemble, by its config
    data = None if ensemble is None else load_data(RunConfig.load(ensemble / CONFIG_NAME))
    going = Run.prepare(RunConfig.load(run / CONFIG_NAME), data=data, checkpoints=False)
    cfg, data, trainer = going.cfg, going.data, going.trainer.resume(state)
    refuse_other_data(run, data, trainer.history)
    _refuse_other_settings(run, cfg, trainer.history)
    done = trainer.epoch
    if epochs is not None and epochs <= done:
        raise ValueError(f"{run}: --epochs {epochs} is not more than the {done} epochs it has "
                         f"trained; add --epochs N (N > {done}) to train it longer")
    epochs = cfg.epochs if epochs is None else epochs
    unended = epochs <= done and ended_history(run, done) is None
    if epochs <= done and not unended:
        raise ValueError(f"{run}: it has finished the {done} epochs it has trained; add "
                         f"--epochs N (N > {done}) to train it longer")
    stopped = stopped_itself(cfg, trainer.history)
    if stopped and not unended:
        raise ValueError(f"{run}: the run stopped itself after epoch {done} "
                         f"({stopped}); it would stop again at once: train a new run")
    if epochs != cfg.epochs:     # the folder's config says how long the run now is
        cfg = cfg.replace(epochs=epochs)
        cfg.save(run / CONFIG_NAME)
    trainer.epochs = epochs
    trainer.history.meta["config"] = cfg.to_dict()
    trainer.callbacks.append(run_checkpoints(run, cfg, data))
    going.cfg, going.out = cfg, run
    return going


_RANGE_TEST = ("it is a learning-rate range test's folder (babysit lr-find), which trains no "
               "run to go on: run babysit lr-find again")
# lr-find's own folder name (runs/lr-find-<stamp>): it writes lr_range.json only at its end
_RANGE_TEST_FOLDER = re.compile(r"lr-find-\d{8}-\d{6}(-\d+)?")
# The folders of the commands that keep no training state of their own, each known by a file
# (or folder) it holds, with what goes on there instead of `babysit resume` ({run}: the folder).
_NOT_RESUMED = (
    (("study.journal", "search.json"), "it is a search's folder; a search goes on when its own "
     "babysit search command runs again with --out {run} (the trials it finished count toward "
     "--trials)"),
    (("treatment.json", "round-0"), "it is the folder of babysit train --fix, whose rounds are "
     "runs of their own: resume one alone (babysit resume {run}/round-<k>), or run the --fix "
     "command again into a new folder"),
    (("lr_range.json",), _RANGE_TEST),
    (("gradient_check.txt",), "it is the folder of babysit demo or babysit check, which keep "
     "no training state: run the command again"),
)


def _instead(run: Path) -> str:
    """What to do with `run`, a folder without a training state: the `_NOT_RESUMED` advice for
    the command that wrote it, else (a run stopped before its first epoch ended) start it
    again from its config.json."""
    for names, advice in _NOT_RESUMED:
        if any((run / name).exists() for name in names):
            return advice.format(run=shlex.quote(str(run)))
    if _RANGE_TEST_FOLDER.fullmatch(run.name):
        return _RANGE_TEST
    if _written_by(run) == "overfit":   # its history and report, no checkpoints nor state
        return ("it is the folder of babysit overfit, a sanity run that keeps no training "
                "state: run babysit overfit again")
    return (f"the run stopped before its first epoch ended, or was not written by babysit "
            f"train; start it again: babysit train --config "
            f"{shlex.quote(str(run / CONFIG_NAME))}")


def _written_by(run: Path) -> str | None:
    """The command (overfit, train, ...) whose line the history.json in `run` records
    (`meta["command"]`: babysit [--debug] COMMAND ...), or None."""
    try:
        line = json.loads((run / "history.json").read_text())["meta"]["command"]
        words = shlex.split(line)[1:]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return next((word for word in words if not word.startswith("-")), None)


def _ensemble_of(run: Path) -> Path | None:
    """The folder of the ensemble `run` is a member of (ENSEMBLE/member-<i>/, beside
    ENSEMBLE's config.json and member-1/), or None for a run of its own."""
    ensemble = run.parent
    if re.fullmatch(r"member-\d+", run.name) and (ensemble / CONFIG_NAME).is_file() \
            and (ensemble / "member-1").is_dir():
        return ensemble
    return None


def stopped_itself(cfg: RunConfig, history) -> str | None:
    """Why a run ended before its epochs, by its own decision (alerts with --stop-on, or
    early stopping with --patience that has run out), or None."""
    if "stopped" in history.meta:
        return history.meta["stopped"].get("reason", "an alert")
    if cfg.patience is not None and EarlyStopping(cfg.patience, cfg.min_delta) \
            .epochs_without_improvement(history) >= cfg.patience:
        epochs = f"{cfg.patience} epoch" + ("s" if cfg.patience != 1 else "")
        return f"early stopping: no improvement in {epochs}"
    return None


def refuse_other_data(run: Path, data, history) -> None:
    """Refuse to go on when `data` (loaded again from the run's config) is not what the run
    trained on: a data file edited since would give other rows, another split, other
    encoders or another fitted preprocessing, and the continued run would silently be another
    run. Compared: the training rows' count (the History's), and the preprocessing and a
    table's encoders against the run's newest model checkpoint."""
    rows = history.meta.get("n_train")
    if rows is not None and rows != len(data.train.y):
        _changed(run, data, f"it now gives {len(data.train.y)} training rows, the run had {rows}")
    newest = models_in(run)[-1:]
    if not newest:
        return
    arrays, info = checkpoint_file.read(newest[0])
    config, fitted = data.preprocess.to_state() if data.preprocess is not None else (None, {})
    saved = {k.removeprefix("preprocess."): v for k, v in arrays.items()
             if k.startswith("preprocess.")}
    if (_as_json(config) != info.get("preprocess") or saved.keys() != fitted.keys()
            or not all(np.array_equal(saved[k], to_numpy(fitted[k])) for k in saved)):
        _changed(run, data, f"its fitted preprocessing differs from {newest[0]}'s")
    if _as_json(table_meta(data).get(CHECKPOINT_KEY)) != info.get("meta", {}).get(CHECKPOINT_KEY):
        _changed(run, data, f"its columns or encoders differ from {newest[0]}'s")


def _changed(run: Path, data, how: str) -> None:
    raise ValueError(f"{run}: the data {data.name} is not what the run trained on "
                     f"({how}); was the file changed? train a new run on it instead")


def _as_json(value):
    """`value` as it reads back from JSON (tuples as lists), to compare with a file's."""
    return json.loads(json.dumps(value))


__all__ = ["ended_history", "refuse_other_data", "resume", "resume_command", "stopped_itself"]
