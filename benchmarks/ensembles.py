"""Single model, running average of the weights, 5-seed ensembles and distilled students on digits.

    python benchmarks/ensembles.py                 # 15 seeds, 3 ensembles, 3 students

The configuration is `babysit train`'s default: digits split with seed 0 (1078 train / 359
val / 360 test), mean-centred on the training split, 64-100-100-10 ReLU (He init), Adam 1e-3,
L2 1e-4, 30 epochs of batches of 32. Seeds 0..14 each train one model (the seed fixes the
init and the shuffles; the split stays the same). From those same runs:

- single: the last iterate's test accuracy, one per seed;
- EMA: the running average of the weights (`Trainer(average=d)`) of those very runs (an
  average never changes training, so both come from one run) for each decay d;
- ensemble: seeds 0-4, 5-9 and 10-14 as three 5-model ensembles averaging probabilities;
- distilled: for each ensemble and each (temperature T, soft-target weight alpha) of
  --students, a fresh 64-100-100-10 student (seed 1000 + group) trained the same way on the
  ensemble's soft targets plus the labels.

Each is scored by test accuracy and by test log-loss (the mean of -log p(true class)), which
still moves when accuracy is saturated. Prints one Markdown table (mean, sample std, min and
max over seeds) and the JSON it came from.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

import babysit as bs
from babysit.nn.average import ParameterAverage
from babysit.nn.losses import softmax
from babysit.runs.ensemble import Ensemble, distill
from babysit.training.callbacks import Callback
from babysit.training.trainer import predict_scores


class AlsoAverage(Callback):
    """A second running average with another decay, updated after each step like the Trainer's."""

    def __init__(self, net, decay: float):
        self.average = ParameterAverage(net.named_params(), decay)

    def after_update(self, trainer, iteration: int) -> None:
        self.average.update()


def make_trainer(net, seed: int, epochs: int, average=None, callbacks=()) -> bs.Trainer:
    return bs.Trainer(net, bs.losses.SoftmaxCrossEntropy(), bs.optim.Adam(1e-3),
                      reg=bs.regularizers.L2(1e-4), batch_size=32, epochs=epochs, seed=seed,
                      average=average, callbacks=callbacks, progress=False)


def score(proba, y) -> tuple[float, float]:
    """(accuracy, log-loss) of probabilities proba (N, C) against labels y (N,)."""
    proba = np.asarray(proba, dtype=np.float64)
    picked = proba[np.arange(len(y)), y]
    return float((proba.argmax(axis=1) == y).mean()), float(-np.log(picked).mean())


def net_proba(net, X):
    return softmax(np.asarray(predict_scores(net, X), dtype=np.float64))


def stats(values) -> dict:
    v = np.asarray(values, dtype=np.float64)
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
            "min": float(v.min()), "max": float(v.max()), "n": len(v),
            "values": [round(float(x), 4) for x in v]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--groups", type=int, default=3, help="ensembles (default 3)")
    p.add_argument("--size", type=int, default=5, help="models per ensemble (default 5)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--decays", default="0.999,0.99", help="EMA decays, comma-separated")
    p.add_argument("--students", default="4:0.9,2:0.5",
                   help="T:alpha of each distilled student, comma-separated (alpha weights the "
                        "soft targets; default 4:0.9,2:0.5)")
    args = p.parse_args()
    decays = [float(d) for d in args.decays.split(",")]
    settings = [tuple(float(v) for v in pair.split(":")) for pair in args.students.split(",")]

    data = bs.data.load("digits", seed=0).preprocessed(bs.preprocess.MeanCenter())
    (X, y), val, (Xt, yt) = data.train, data.val, data.test
    d_in, n_classes = data.n_features, data.n_classes
    start = time.perf_counter()

    single, ema, members = [], {d: [] for d in decays}, []
    for seed in range(args.groups * args.size):
        net = bs.mlp(d_in, [100, 100], n_classes, seed=seed)
        extra = [AlsoAverage(net, d) for d in decays[1:]]
        trainer = make_trainer(net, seed, args.epochs, average=decays[0], callbacks=extra)
        trainer.fit(X, y, val=val)
        single.append(score(net_proba(net, Xt), yt))
        ema[decays[0]].append(score(trainer.predict_proba(Xt), yt))
        for cb, d in zip(extra, decays[1:], strict=True):
            with cb.average.applied():
                ema[d].append(score(net_proba(net, Xt), yt))
        members.append(net)
        print(f"seed {seed:2d}: single {single[-1][0]:.4f}  " + "  ".join(
            f"EMA {d} {ema[d][-1][0]:.4f}" for d in decays), flush=True)

    ensembles, students, mean_member = [], {s: [] for s in settings}, []
    for g in range(args.groups):
        group = members[g * args.size:(g + 1) * args.size]
        teacher = Ensemble(group)
        ensembles.append(score(teacher.predict_proba(Xt), yt))
        mean_member.append(float(np.mean(teacher.member_accuracies(Xt, yt))))
        for T, alpha in settings:
            student = bs.mlp(d_in, [100, 100], n_classes, seed=1000 + g)
            trained = distill(teacher, student, X, y, temperature=T, alpha=alpha,
                              opt=bs.optim.Adam(1e-3), reg=bs.regularizers.L2(1e-4),
                              epochs=args.epochs, batch_size=32, seed=1000 + g, val=val)
            students[T, alpha].append(score(trained.predict_proba(Xt), yt))
        print(f"group {g}: ensemble {ensembles[-1][0]:.4f} (its members {mean_member[-1]:.4f} "
              f"on average)  distilled students " + "  ".join(
                  f"T={T:g},alpha={alpha:g}: {students[T, alpha][-1][0]:.4f}"
                  for T, alpha in settings), flush=True)

    # How much the members' mistakes overlap: an ensemble can only fix a digit that most of
    # its members get right.
    wrong = np.array([net_proba(net, Xt).argmax(axis=1) != yt for net in members])
    per_digit = wrong.sum(axis=0)
    overlap = {"wrong_for_some_model": int((per_digit > 0).sum()),
               "wrong_for_most_models": int((per_digit > len(members) / 2).sum()),
               "wrong_for_every_model": int((per_digit == len(members)).sum()),
               "mean_errors_per_model": float(wrong.sum(axis=1).mean())}
    print(f"test digits misclassified: {overlap['mean_errors_per_model']:.1f} per model on "
          f"average; {overlap['wrong_for_some_model']} by at least one of the {len(members)} "
          f"models, {overlap['wrong_for_most_models']} by most, "
          f"{overlap['wrong_for_every_model']} by all")

    named = [("single model (last iterate)", single)]
    named += [(f"EMA of the weights, decay {d}", ema[d]) for d in decays]
    named += [(f"{args.size}-seed ensemble", ensembles)]
    named += [(f"distilled student (T={T:g}, alpha={alpha:g})", students[T, alpha])
              for T, alpha in settings]
    rows = {name: {"accuracy": stats([a for a, _ in runs]),
                   "log_loss": stats([nll for _, nll in runs])} for name, runs in named}
    seconds = time.perf_counter() - start
    print("\n| model | runs | test accuracy: mean | std | min | max | test log-loss: mean | std |"
          "\n|---|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        a, nll = r["accuracy"], r["log_loss"]
        print(f"| {name} | {a['n']} | {a['mean']:.4f} | {a['std']:.4f} | {a['min']:.4f} | "
              f"{a['max']:.4f} | {nll['mean']:.4f} | {nll['std']:.4f} |")
    print(f"\n{seconds:.0f} s on {platform.machine()} {platform.system()}, "
          f"numpy {np.__version__}, python {platform.python_version()}")
    print(json.dumps({"rows": rows, "ensemble_members_mean_accuracy": mean_member,
                      "overlap": overlap,
                      "test_size": len(yt), "seconds": round(seconds, 1)}))


if __name__ == "__main__":
    main()
