"""`babysit train --ensemble K`: K models of one configuration from seeds seed..seed+K-1, each
a run of its own (a `Run`) in ENSEMBLE/member-<i>/, then the test scores of each and of their
average; and `babysit resume ENSEMBLE`, which continues an ensemble that stopped.

The ensemble's folder holds its config.json (the first seed's), ensemble.json (the number of
members; "finished" once the ensemble has been evaluated) and the member folders. Resumed, a
member that finished is loaded from its training state (not trained again), a member that
was interrupted goes on from its state (`Trainer.resume`, bit for bit as `babysit resume`),
and a member not yet started is trained: the ensemble ends exactly as an uninterrupted one.
The ensemble's folder is locked (`run_lock`) while it runs, and each member's folder while
that member trains (released when it ends: an ensemble of many members would otherwise hold
a descriptor for each, and run out of them); a member resumed alone
(`babysit resume ENSEMBLE/member-<i>`) takes the ensemble's lock too.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from babysit.cli.console import say
from babysit.cli.options import chosen_settings, count, run_config
from babysit.data import table_parts
from babysit.runs import ensemble, finish, run_lock
from babysit.runs.config import RunConfig
from babysit.runs.folder import CONFIG_NAME, new_folder
from babysit.runs.resume import ended_history, refuse_other_data, resume_command, stopped_itself
from babysit.runs.run import Run, fitted
from babysit.training.alerts import blew_up
from babysit.training.checkpoint import state_path
from babysit.training.history import History
from babysit.training.metrics import scores_in_words
from babysit.validation import make_folder

# The file that makes a folder an ensemble's: {"members": K, "finished": bool}.
ENSEMBLE_NAME = "ensemble.json"

# The most members --ensemble takes. Each is a whole run (its folder, checkpoints, report),
# and the notes' ensembles gain little past 5 to 10 models.
MAX_MEMBERS = 100


def is_ensemble(folder) -> bool:
    """Whether `folder` is the folder of a `babysit train --ensemble K` run."""
    return (Path(folder) / ENSEMBLE_NAME).is_file()


def add_ensemble_option(p) -> None:
    """--ensemble K: train K seeds of one configuration and average them."""
    p.add_argument("--ensemble", type=_members, default=1, metavar="K",
                   help=f"train K models from seeds seed..seed+K-1 and average their "
                        f"probabilities, K at most {MAX_MEMBERS} (default: 1, a single model)")


def _members(text: str) -> int:
    """argparse type for --ensemble K: a positive count of at most MAX_MEMBERS."""
    k = count(text)
    if k > MAX_MEMBERS:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_MEMBERS} members (each is a "
                                         f"whole run), got {text}")
    return k


def train_ensemble(args) -> tuple[int, dict]:
    """`train --ensemble K` with the settings the options give: the exit status (3 when a
    member diverged, which ends the ensemble there, its folder kept) and --json summary."""
    cfg, data = fitted(run_config(args), chosen_settings(args))
    out = new_folder(args.out, "train", cfg)
    _write_record(out, args.ensemble, finished=False)
    first = cfg.seed or 0
    say(f"babysit train: {data.name}, an ensemble of {args.ensemble} models, seeds "
        f"{first}..{first + args.ensemble - 1}")
    return _train_members(cfg, data, out, args.ensemble, report=not args.no_report)


def resume_ensemble(out: Path, epochs: int | None, report: bool = True) -> tuple[int, dict]:
    """`babysit resume ENSEMBLE`: the ensemble in folder `out` goes on from where it stopped
    (`epochs` is refused: resume a member alone to train it longer)."""
    if epochs is not None:
        raise ValueError(f"--epochs cannot be given for {out}, an ensemble: its members go "
                         f"on to the epochs of its {CONFIG_NAME}; to train a member longer, "
                         f"resume it alone: {resume_command(out / 'member-1')} --epochs N")
    run_lock.hold(out)
    members, finished = _read_record(out)
    if finished:
        raise ValueError(f"{out}: the ensemble has finished its {members} members; train a "
                         f"new one (or resume a member alone with --epochs N)")
    cfg, data = fitted(RunConfig.load(out / CONFIG_NAME))  # the file's settings: all chosen
    first = cfg.seed or 0
    say(f"babysit resume: {data.name}, resuming the ensemble of {members} models in {out}, "
        f"seeds {first}..{first + members - 1}")
    return _train_members(cfg, data, out, members, report)


def _train_members(cfg: RunConfig, data, out: Path, count: int,
                   report: bool) -> tuple[int, dict]:
    """Train (or load, or continue) the `count` members in out/member-<i>/, seeds cfg.seed..,
    each with its history, checkpoints, diagnosis and report (unless report=False); then the
    test scores of each and of their average (`Ensemble.evaluate`), printed; the exit status
    and the --json summary."""
    first = cfg.seed or 0
    folders = [out / f"member-{i}" for i in range(1, count + 1)]
    start = time.perf_counter()
    trainers, outcomes = [], []
    for i, folder in enumerate(folders, start=1):
        seed = first + i - 1
        with run_lock.locked(make_folder(folder, "a member's folder")):  # while it trains
            trainer, summary, outcome = _member(cfg.replace(seed=seed), data, folder, i,
                                                resume_command(out), report)
        outcomes.append(outcome)
        if outcome.diverged:
            say(f"babysit train: member {i} (seed {seed}): {outcome.last_line(folder)}")
            return outcome.status, {**summary, "members": count, "diverged_member": i,
                                    "run_dir": str(out)}
        trainers.append(trainer)
    models = ensemble.Ensemble(trainers, data.task)
    restore = data.target.inverse_transform if data.task == "regress" else None
    part = "test" if len(data.test.y) else "val"      # a table may keep no test rows
    members, mean = models.evaluate(*getattr(data, part), restore=restore)
    for i, scores in enumerate(members, start=1):
        say(f"  member {i} (seed {first + i - 1}): {part} {scores_in_words(scores)}")
    summary = {"data": data.name, "task": data.task, "members": count,
               f"member_{part}_scores": members, **{f"{part}_{k}": v for k, v in mean.items()},
               "seconds": round(time.perf_counter() - start, 3), "run_dir": str(out),
               "member_findings": [o.to_json()["findings"] for o in outcomes], "status": 0}
    _write_record(out, count, finished=True)
    say(f"ensemble of {count}: {part} {scores_in_words(mean)} ({summary['seconds']:.1f} "
        f"s, run folder {out})")
    if data.origins:
        say(table_parts.scores_note(data.origins))
    errors = [f"member {i}: {o.last_line(folders[i - 1])}"
              for i, o in enumerate(outcomes, start=1) if o.errors]
    if errors:
        say("babysit train: " + "; ".join(errors))
    return 0, summary


def _member(cfg: RunConfig, data, folder: Path, i: int, hint: str, report: bool):
    """Member `i` (settings `cfg`, its seed) in `folder`: trained from the start, continued from
    the training state an interrupted run left, or, finished and ended earlier, loaded from it.
    Returns (its Trainer, its summary, its `finish.Outcome`)."""
    title = f"member {i} (seed {cfg.seed}) diagnosis"
    run = Run.prepare(cfg, data=data, out=folder)
    trainer = run.trainer
    finished = False
    if state_path(folder).is_file():     # a resumed ensemble's member that had begun
        trainer.resume(state_path(folder))
        refuse_other_data(folder, data, trainer.history)
        finished = trainer.epoch >= trainer.epochs \
            or stopped_itself(cfg, trainer.history) is not None
        ended = ended_history(folder, trainer.epoch) if finished else None
        if ended is not None:
            say(f"  member {i} (seed {cfg.seed}): finished earlier, loaded from {folder}")
            return (trainer, *_loaded(trainer, ended, data, folder))
        if not finished:
            say(f"  member {i} (seed {cfg.seed}): resuming after epoch {trainer.epoch}, to "
                f"epoch {trainer.epochs}")
    else:
        cfg.save(folder / CONFIG_NAME)
    # A member that finished but was stopped before its end was written only ends here.
    try:
        if not finished:
            run.fit(resume_hint=hint)
    except KeyboardInterrupt as err:  # stopped before its first epoch ended: members before it
        if i == 1 or hint in str(err):  # finished, so the ensemble goes on all the same
            raise
        raise finish.reworded(err, f"{err}; to continue the ensemble: {hint}") from None
    summary, outcome = run.finish(say, report=report, title=title)
    return trainer, summary, outcome


def _loaded(trainer, history: History, data, folder: Path) -> tuple[dict, finish.Outcome]:
    """The summary and Outcome of a member loaded from its folder, as its run ended them:
    its findings from its saved History, its report when written, its scores from `trainer`."""
    findings = history.diagnose()
    report = folder / "report.html"
    outcome = finish.Outcome(findings, report if report.is_file() else None,
                             blew_up(history, findings))
    summary = finish.summarize(trainer, data, history.meta["seconds"], folder)
    return {**summary, **outcome.to_json(), "status": outcome.status}, outcome


def _write_record(out: Path, count: int, finished: bool) -> None:
    (out / ENSEMBLE_NAME).write_text(json.dumps({"members": count, "finished": finished}) + "\n")


def _read_record(out: Path) -> tuple[int, bool]:
    """(members, finished) from out/ensemble.json; a damaged file is a ValueError naming it."""
    path = out / ENSEMBLE_NAME
    try:
        record = json.loads(path.read_text())
        count, finished = record["members"], record["finished"]
    except (ValueError, KeyError, TypeError):
        raise ValueError(f"{out}: {path} is damaged; expected {{\"members\": K, "
                         f"\"finished\": false}} as babysit train --ensemble K writes it") \
            from None
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_MEMBERS \
            or not isinstance(finished, bool):
        raise ValueError(f"{out}: {path} holds members={count!r}, finished={finished!r}; "
                         f"expected a count from 1 to {MAX_MEMBERS} and true/false")
    return count, finished


__all__ = ["ENSEMBLE_NAME", "MAX_MEMBERS", "add_ensemble_option", "is_ensemble", "resume_ensemble",
           "train_ensemble"]
