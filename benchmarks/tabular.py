"""`babysit train` with its defaults against scikit-learn's MLP pipeline and gradient boosting,
on tables that install offline: breast cancer, wine, diabetes (regression) and the Palmer
penguins (text columns and missing cells).

Each table is written as a CSV exactly as a user would have it and given to `babysit train
--data TABLE.csv --target COLUMN --seed S` with no other option. The scikit-learn models
get the same rows: for each seed the split is `babysit.data.datasets.split_rows` (60/20/20,
stratified by class; shuffled for regression), they are fitted on the training rows (the
validation rows are babysit's, for its checkpoints and early stopping; scikit-learn's models
hold out their own when they stop early) and all are scored on the same test rows:

- "sklearn MLP": `MLPClassifier()` / `MLPRegressor()` with their defaults, after a
  ColumnTransformer of SimpleImputer(median) + StandardScaler on the numeric columns and
  SimpleImputer(constant "missing") + OneHotEncoder(handle_unknown="ignore") on the text ones;
  the regressor inside a TransformedTargetRegressor that standardizes the target, as babysit
  does (without it MLPRegressor barely moves off zero on diabetes' targets of 25-346);
- "gradient boosting": `HistGradientBoostingClassifier()` / `...Regressor()` with their
  defaults on the same imputed, one-hot columns (unscaled; trees need no scaling).

Prints a Markdown table: test accuracy (or R^2 and RMSE for regression) as mean +- std over
the seeds, per model, the gap from babysit to gradient boosting, and babysit's paired
difference from the MLP pipeline (the mean over seeds of babysit's score minus the
pipeline's on the same split, +- its standard error) with a verdict: "ahead" or "behind"
when the difference is more than two standard errors from zero, "tied" when it is within
(for RMSE the sign is turned: positive is babysit ahead). Accuracy on a test split of 36 or 69
rows moves in steps of 1.4-2.8 points, so a difference of a row or two over thirty seeds is
noise, and the verdict says so.

    python benchmarks/tabular.py [--seeds 5] [--first-seed 0] [--threads 1] [--json FILE]

Needs the bench extra (`pip install -e .[bench]`: palmerpenguins, which brings pandas).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import sklearn
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, mean_squared_error, r2_score
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from babysit import cli
from babysit.data import datasets, formats, tabular


def write_tables(folder: Path) -> dict[str, tuple[Path, str]]:
    """The four tables as CSV files in `folder`: name -> (path, target column)."""
    import palmerpenguins
    from sklearn import datasets as sk

    tables = {}
    for name, load in (("breast-cancer", sk.load_breast_cancer), ("wine", sk.load_wine)):
        path = folder / f"{name}.csv"
        load(as_frame=True).frame.to_csv(path, index=False)
        tables[name] = (path, "target")
    path = folder / "diabetes.csv"       # the original units (age in years, bmi ...), unscaled
    sk.load_diabetes(as_frame=True, scaled=False).frame.to_csv(path, index=False)
    tables["diabetes"] = (path, "target")
    path = folder / "penguins.csv"
    palmerpenguins.load_penguins().to_csv(path, index=False)   # NA for the missing cells
    tables["penguins"] = (path, "species")
    return tables


def babysit_defaults(path: Path, target: str, seed: int, out: Path) -> dict:
    """`babysit train --data path --target target --seed seed --json`: its JSON summary."""
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = cli.main(["train", "--data", str(path), "--target", target, "--seed", str(seed),
                         "--out", str(out), "--json", "--no-report"])
    if code != 0:
        raise RuntimeError(f"babysit train failed on {path} (exit {code})")
    return json.loads(stdout.getvalue().strip().splitlines()[-1])


def sklearn_inputs(path: Path, target: str, seed: int):
    """The table as a DataFrame split as babysit splits it, the text and numeric columns
    (as babysit's TableEncoder reads them on the training rows), and the task."""
    import pandas as pd

    header, cells = formats.read_table(path)
    labels = np.char.strip(cells[:, header.index(target)])
    task, _ = tabular.decide_task(labels)
    classify = task == "classify"
    y_all = datasets.encode_labels(labels)[0] if classify else labels.astype(np.float64)
    parts = datasets.split_rows(y_all, seed=seed, stratify=classify)
    names = [n for n in header if n != target]
    features = cells[:, [header.index(n) for n in names]]
    kinds = tabular.TableEncoder().fit(features[parts[0]], names).kinds_
    frame = pd.DataFrame({n: np.where(tabular.missing_cells(features[:, j]), None,
                                      features[:, j].astype(object)) for j, n in enumerate(names)})
    numeric = [n for n, k in zip(names, kinds, strict=True) if k == "numeric"]
    frame[numeric] = frame[numeric].astype(np.float64)       # None -> NaN
    text = [n for n in names if n not in numeric]
    frame[text] = frame[text].astype(object).where(frame[text].notna(), np.nan)
    return frame, y_all, parts, numeric, text, task


def columns(numeric, text, scale: bool) -> ColumnTransformer:
    """Impute (median / a "missing" category), scale the numbers if asked, one-hot the text."""
    number_steps = [SimpleImputer(strategy="median")] + ([StandardScaler()] if scale else [])
    return ColumnTransformer([
        ("numbers", make_pipeline(*number_steps), numeric),
        ("text", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                               OneHotEncoder(handle_unknown="ignore")), text)])


def sklearn_models(numeric, text, task: str, seed: int) -> dict:
    if task == "classify":
        return {"sklearn MLP": make_pipeline(columns(numeric, text, True),
                                             MLPClassifier(random_state=seed)),
                "gradient boosting": make_pipeline(columns(numeric, text, False),
                                                   HistGradientBoostingClassifier(
                                                       random_state=seed))}
    return {"sklearn MLP": TransformedTargetRegressor(
                make_pipeline(columns(numeric, text, True), MLPRegressor(random_state=seed)),
                transformer=StandardScaler()),
            "gradient boosting": make_pipeline(columns(numeric, text, False),
                                               HistGradientBoostingRegressor(random_state=seed))}


def scores(task: str, y_true, y_pred) -> dict:
    if task == "classify":
        return {"test_accuracy": float(accuracy_score(y_true, y_pred))}
    return {"test_r2": float(r2_score(y_true, y_pred)),
            "test_rmse": float(np.sqrt(mean_squared_error(y_true, y_pred)))}


def run_table(path: Path, target: str, seeds, out: Path) -> dict:
    """Each model's scores (and seconds) per seed on one table."""
    results: dict[str, list[dict]] = {}
    for seed in seeds:
        frame, y, parts, numeric, text, task = sklearn_inputs(path, target, seed)
        train, _, test = parts
        start = time.perf_counter()
        summary = babysit_defaults(path, target, seed, out / f"{path.stem}-{seed}")
        run = {k: summary[k] for k in ("test_accuracy", "test_r2", "test_rmse") if k in summary}
        results.setdefault("babysit defaults", []).append(
            {**run, "seconds": time.perf_counter() - start})
        for name, model in sklearn_models(numeric, text, task, seed).items():
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)   # MLP at max_iter
                model.fit(frame.iloc[train], y[train])
            run = scores(task, y[test], model.predict(frame.iloc[test]))
            results.setdefault(name, []).append({**run, "seconds": time.perf_counter() - start})
    return {"task": task, "models": results}


def mean_std(values) -> str:
    return f"{np.mean(values):.3f} +- {np.std(values):.3f}"


def paired(ours, theirs, lower_is_better: bool = False) -> str:
    """The mean of ours - theirs over the seeds (the same split each), +- its standard error,
    and "ahead", "behind" or "tied" (within two standard errors of zero)."""
    diff = np.asarray(ours, dtype=float) - np.asarray(theirs, dtype=float)
    if lower_is_better:
        diff = -diff
    error = np.std(diff, ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
    mean = float(np.mean(diff))
    verdict = "ahead" if mean > 2 * error else "behind" if mean < -2 * error else "tied"
    return f"{mean:+.4f} +- {error:.4f} ({verdict})"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5, help="how many seeds (default: 5)")
    p.add_argument("--first-seed", type=int, default=0,
                   help="the seeds are FIRST..FIRST+N-1 (default: 0)")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads (default: 1)")
    p.add_argument("--json", type=Path, help="also write every run's scores here")
    args = p.parse_args()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    print(f"seeds {seeds.start}-{seeds.stop - 1}, 60/20/20 splits, {args.threads} BLAS "
          f"thread(s), scikit-learn {sklearn.__version__}, "
          f"{platform.processor() or platform.machine()}\n")
    print("| table | metric | babysit defaults | sklearn MLP | gradient boosting | "
          "babysit - boosting | babysit - MLP, paired |")
    print("|---|---|---|---|---|---|---|")
    everything = {}
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(args.threads):
        for name, (path, target) in write_tables(Path(tmp)).items():
            result = run_table(path, target, seeds, Path(tmp) / "runs")
            everything[name] = result
            metrics = ["test_accuracy"] if result["task"] == "classify" else ["test_r2",
                                                                                "test_rmse"]
            for metric in metrics:
                cells = {model: [run[metric] for run in runs]
                         for model, runs in result["models"].items()}
                ours = cells["babysit defaults"]
                gap = np.mean(ours) - np.mean(cells["gradient boosting"])
                versus = paired(ours, cells["sklearn MLP"], lower_is_better=metric == "test_rmse")
                print(f"| {name} | {metric.removeprefix('test_')} | {mean_std(ours)} | "
                      f"{mean_std(cells['sklearn MLP'])} | {mean_std(cells['gradient boosting'])} "
                      f"| {gap:+.3f} | {versus} |", flush=True)
    seconds = {model: np.mean([run["seconds"] for r in everything.values()
                               for run in r["models"][model]])
               for model in ("babysit defaults", "sklearn MLP", "gradient boosting")}
    print("\nmean seconds per fit: " + ", ".join(f"{m} {s:.2f}" for m, s in seconds.items()))
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1))


if __name__ == "__main__":
    main()
