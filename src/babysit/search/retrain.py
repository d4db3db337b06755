"""After the search: the best configuration retrained and saved, the top k as an ensemble."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from babysit.finish import finish, fit
from babysit.search.results import ranked
from babysit.search.studies import Job
from babysit.search.trial import build


def retrain(job: Job, rows: list[dict], out: Path, top_k: int, say: Callable,
            report: bool = True) -> tuple:
    """Retrain the best configuration and save it (out/best.safetensors, with the data's
    preprocessing), its history (out/history.json), diagnosis (printed) and report
    (out/report.html, unless report=False); retrain the next best up to `top_k` and average
    them as an ensemble (members saved in out/ensemble/). Same seed as the trials, so each
    retrained model is the one its trial scored. A retrained model that diverges raises its
    DivergedError (the best's history and report kept).

    Returns (retrained summary, ensemble summary, the Ensemble or None). The Ensemble takes
    raw features: each member applies the data's preprocessing.
    """
    from babysit import checkpoint
    from babysit.ensemble import Ensemble

    data, best = job.data, ranked(rows)[:max(1, top_k)]
    nets, paths = [], []
    for rank, row in enumerate(best):
        config = job.config(row["stage"] - 1, {k: row[k] for k in job.space if k in row})
        net, trainer = build(config, data.n_features, data.n_classes,
                             data=data if rank == 0 else None)
        error = fit(trainer, data.train.X, data.train.y, val=data.val)
        if rank == 0:  # the best: its history, diagnosis and report in the search's folder
            outcome = finish(trainer.history, out, say, report=report,
                             preprocess=data.preprocess, image_shape=data.raw_image_shape,
                             error=error, title="diagnosis of the best configuration retrained")
        if error is not None:
            raise error
        nets.append(net)
        meta = {"search": {"study": job.study, "stage": row["stage"], "trial": row["trial"],
                           "val_accuracy": row["val_accuracy"]}, "config": config}
        if rank == 0:
            path = checkpoint.save(out / "best", net, preprocess=data.preprocess, meta=meta)
            retrained = {"val_accuracy": trainer.accuracy(*data.val),
                         "test_accuracy": trainer.accuracy(*data.test), "path": str(path),
                         "config": config, **outcome.to_json()}
            say(f"best configuration retrained: val accuracy {retrained['val_accuracy']:.4f}, "
                f"test accuracy {retrained['test_accuracy']:.4f}, saved to {path}")
        if top_k > 1:
            paths.append(str(checkpoint.save(out / "ensemble" / f"member-{rank + 1}", net,
                                             preprocess=data.preprocess, meta=meta)))
    if len(nets) < 2:
        return retrained, {}, None
    on_splits = Ensemble(nets)  # the splits are already preprocessed
    summary = {"members": [{"stage": r["stage"], "trial": r["trial"]} for r in best],
               "paths": paths, "val_accuracy": on_splits.accuracy(*data.val),
               "test_accuracy": on_splits.accuracy(*data.test)}
    say(f"top-{len(nets)} ensemble: val accuracy {summary['val_accuracy']:.4f}, "
        f"test accuracy {summary['test_accuracy']:.4f}, members in {out / 'ensemble'}")
    return retrained, summary, Ensemble([(net, data.preprocess) for net in nets])


