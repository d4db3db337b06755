"""After the search: the best configuration retrained and saved, the top k as an ensemble."""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from babysit.backend import to_numpy
from babysit.data import datasets
from babysit.runs.builders import table_meta
from babysit.runs.config import RunConfig
from babysit.runs.run import Run
from babysit.search.results import ranked
from babysit.search.studies import Job
from babysit.search.workers import alive
from babysit.training.metrics import split_metrics

__all__ = ["Claim", "claim_retrain", "describe", "mark_retrained", "retrain", "split_scores"]


def retrain(job: Job, rows: list[dict], out: Path, top_k: int, say: Callable,
            report: bool = True) -> tuple:
    """Retrain the best configuration (by the search's objective) and save it
    (out/best.safetensors, with the data's preprocessing and, for a table, its encoders, so
    that `babysit predict` applies it to new rows), its history (out/history.json), diagnosis
    (printed) and report (out/report.html, unless report=False); retrain the next best up to
    `top_k` and average them as an ensemble (members saved alike in out/ensemble/). Same seed
    as the trials, so each retrained model is the one its trial scored. A retrained model
    that diverges raises its DivergedError (the best's history and report kept).

    Returns (retrained summary, ensemble summary, the Ensemble or None): the summaries hold
    val/test accuracy, or for a regression val/test RMSE, MAE and R^2 in the target's units
    (the best's also its "val_loss", the score its trial was ranked by). The Ensemble takes
    raw features: each member applies the data's preprocessing.
    """
    from babysit.runs.ensemble import Ensemble
    from babysit.training import checkpoint

    data, objective = job.data, job.objective
    best = ranked(rows, objective)[:max(1, top_k)]
    nets, paths = [], []
    for rank, row in enumerate(best):
        config = job.config(row["stage"] - 1, {k: row[k] for k in job.space if k in row})
        run = Run.prepare(RunConfig.from_dict(config), data=data, monitors=rank == 0,
                          quiet=True)
        net, trainer = run.net, run.trainer
        run.fit()
        if rank == 0:  # the best: its history, diagnosis and report in the search's folder
            outcome = run.conclude(say, out=out, report=report,
                                   title="diagnosis of the best configuration retrained")
        if run.error is not None:
            raise run.error
        nets.append(net)
        meta = {"search": {"study": job.study, "stage": row["stage"], "trial": row["trial"],
                           objective.metric: row[objective.metric]}, "config": config,
                **table_meta(data)}
        if rank == 0:
            path = checkpoint.save(out / "best", net, preprocess=data.preprocess, meta=meta)
            scores = split_scores(trainer, data)
            if data.task == "regress":
                scores = {"val_loss": trainer.history.val_loss[-1], **scores}
            retrained = {**scores, "path": str(path), "config": config, **outcome.to_json()}
            say(f"best configuration retrained: {describe(scores)}, saved to {path}")
        if top_k > 1:
            paths.append(str(checkpoint.save(out / "ensemble" / f"member-{rank + 1}", net,
                                             preprocess=data.preprocess, meta=meta)))
    _drop_other_members(out / "ensemble", len(paths) if len(nets) > 1 else 0)
    if len(nets) < 2:
        return retrained, {}, None
    on_splits = Ensemble(nets, data.task)  # the splits are already preprocessed
    scores = split_scores(on_splits, data)
    summary = {"members": [{"stage": r["stage"], "trial": r["trial"]} for r in best],
               "paths": paths, **scores}
    say(f"top-{len(nets)} ensemble: {describe(scores)}, members in {out / 'ensemble'}")
    return retrained, summary, Ensemble([(net, data.preprocess) for net in nets], data.task)


@dataclass
class Claim:
    """Who retrains a study's best: `ours` (this process claimed it; `study_id` is the claim
    to mark done), else `who` says which process did or does, and into which folder."""

    ours: bool
    study_id: int | None = None
    who: str = ""


def claim_retrain(job: Job, storage, out: Path) -> Claim:
    """Claim the retraining of the study's best for this process, once per study: the processes
    of a shared search each finish the same trials, and only the first to claim retrains
    (on N machines the retrain would otherwise cost N times).

    A claim is a study of its own, "<study>.retrain<k>": creating a study is atomic in every
    Optuna storage (a second creation of the name fails), so exactly one process wins each k.
    A claim counts while its process runs, or once done into another folder; a claim whose
    process died before it was done (on this machine), or done into this process's own folder
    (the same search run again), is passed over for the next k, so that a search resumed
    after a stop in its retraining retrains."""
    from optuna.exceptions import DuplicatedStudyError
    from optuna.study import StudyDirection

    me, folder = f"{socket.gethostname()}:{os.getpid()}", str(Path(out).resolve())
    for k in itertools.count(1):
        name = f"{job.study}.retrain{k}"
        try:
            study_id = storage.create_new_study([StudyDirection.MAXIMIZE], name)
        except DuplicatedStudyError:
            attrs = storage.get_study_user_attrs(storage.get_study_id_from_name(name))
            by, where, done = attrs.get("by"), attrs.get("out"), attrs.get("done", False)
            host, _, pid = str(by).rpartition(":")
            dead = host == socket.gethostname() and pid.isdigit() and not alive(int(pid))
            if (done and where == folder) or (dead and not done):
                continue
            return Claim(False, who=f"{by or 'another process of this study'} "
                                    f"{'retrained' if done else 'retrains'} it"
                                    + (f" into {where}" if where else ""))
        storage.set_study_user_attr(study_id, "by", me)
        storage.set_study_user_attr(study_id, "out", folder)
        return Claim(True, study_id)


def _drop_other_members(folder: Path, kept: int) -> None:
    """Remove from `folder` the members this retrain did not write (member-<n> beyond the
    `kept` ones): a search run again with a smaller --top-k left the earlier run's there,
    where a user picks up members (and the whole folder when no ensemble is kept now)."""
    for path in folder.glob("member-*.safetensors"):
        number = path.stem.removeprefix("member-")
        if not number.isdigit() or int(number) > kept:
            path.unlink()
    with contextlib.suppress(OSError):   # not empty: other files of the user's are kept
        folder.rmdir()


def mark_retrained(storage, claim: Claim) -> None:
    """Mark this process's claim done: the best and the ensemble are saved."""
    storage.set_study_user_attr(claim.study_id, "done", True)


def split_scores(model, data: datasets.Dataset) -> dict:
    """A Trainer's or Ensemble's scores on the validation and test splits (preprocessed):
    "val_accuracy" and "test_accuracy" for classes; for a regression "val_rmse", "val_mae",
    "val_r2", "test_rmse", ... in the target's units (`babysit.training.metrics.split_metrics`);
    the test scores are None when the data has no test rows."""
    if data.task != "regress":
        return {"val_accuracy": model.accuracy(*data.val),
                "test_accuracy": model.accuracy(*data.test) if len(data.test.y) else None}
    predict = model.predict_values if hasattr(model, "predict_values") else (
        lambda X: to_numpy(model.scores(X)))
    return {k: v for k, v in split_metrics(predict, data).items() if not k.startswith("train_")}


def describe(scores: dict) -> str:
    """`split_scores` in words: "val accuracy 0.9611, test accuracy 0.9583", or for a
    regression "val RMSE 54.1, test RMSE 55.3, test R^2 0.4420"."""
    if "val_accuracy" in scores:
        test = scores["test_accuracy"]
        return f"val accuracy {scores['val_accuracy']:.4f}" + (
            f", test accuracy {test:.4f}" if test is not None else ", no test rows")
    val = f"val RMSE {scores['val_rmse']:.4g}"
    if scores["test_rmse"] is None:
        return f"{val}, val R^2 {scores['val_r2']:.4f}, no test rows"
    return f"{val}, test RMSE {scores['test_rmse']:.4g}, test R^2 {scores['test_r2']:.4f}"
