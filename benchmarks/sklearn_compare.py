"""BabysitClassifier against scikit-learn's MLPClassifier on digits, both with their defaults.

Each model gets the raw 0-16 pixels (as an MLPClassifier user would pass them) and
`cross_val_score`'s default folds (5-fold stratified, unshuffled: the same folds for both).
The only argument set is the seed (`random_state` / `seed`), over several values, so that the
comparison is not one lucky draw. Prints a Markdown table: mean 5-fold accuracy per seed,
the mean over seeds, and the seconds each cross-validation took.

    python benchmarks/sklearn_compare.py [--seeds 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings

import numpy as np
import sklearn
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_score
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from babysit.sklearn import BabysitClassifier

MODELS = {
    "sklearn MLPClassifier()": lambda seed: MLPClassifier(random_state=seed),
    "babysit BabysitClassifier()": lambda seed: BabysitClassifier(seed=seed),
}


def measure(make, X, y, seeds) -> tuple[list[float], list[float]]:
    """Mean cross-validated accuracy and wall-clock seconds of `make(seed)` for each seed."""
    accuracies, seconds = [], []
    for seed in seeds:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # MLPClassifier at max_iter
            scores = cross_val_score(make(seed), X, y)
        seconds.append(time.perf_counter() - start)
        accuracies.append(float(scores.mean()))
    return accuracies, seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default: 5)")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads (default: 1)")
    args = p.parse_args()
    X, y = load_digits(return_X_y=True)
    seeds = range(args.seeds)
    print(f"digits {X.shape}, cross_val_score cv=5, seeds {list(seeds)}, {args.threads} BLAS "
          f"thread(s), scikit-learn {sklearn.__version__}, {platform.processor() or 'cpu'}\n")
    print("| model | accuracy per seed | mean accuracy | seconds per cross-validation |")
    print("|---|---|---|---|")
    with threadpool_limits(args.threads):
        for name, make in MODELS.items():
            acc, sec = measure(make, X, y, seeds)
            print(f"| `{name}` | {' '.join(f'{a:.4f}' for a in acc)} | {np.mean(acc):.4f} | "
                  f"{np.mean(sec):.1f} (min {min(sec):.1f}, max {max(sec):.1f}) |", flush=True)


if __name__ == "__main__":
    main()
