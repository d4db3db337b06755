"""What the estimators' training-range check costs a prediction: `BabysitClassifier.predict`
on 10,000 x 784 float32 rows with its `training_ranges_` (the check runs) against a copy
without them (an estimator pickled before they were kept: no check), interleaved and repeated
(the machine is shared). "in range": no row lies far outside, the common case, decided from
each column's min and max (`training_range.far_columns`); "one far row": the same rows with one
cell 40 std beyond the max, where the distances are measured and the warning is written.

    OPENBLAS_NUM_THREADS=1 python benchmarks/range_check.py
"""

import copy
import time
import warnings

import numpy as np

from babysit.sklearn import BabysitClassifier

REPS = 15


def main() -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((10_000, 784)).astype(np.float32)
    clf = BabysitClassifier(hidden=(100,), epochs=1, seed=0).fit(X, rng.integers(0, 10, 10_000))
    unchecked = copy.deepcopy(clf)
    del unchecked.training_ranges_
    far = X.copy()
    far[5, 3] = 40 * X[:, 3].std() + X[:, 3].max()
    warnings.simplefilter("ignore")
    for case, rows in (("in range", X), ("one far row", far)):
        times = {"checked": [], "unchecked": []}
        for _ in range(REPS):
            for kind, estimator in (("checked", clf), ("unchecked", unchecked)):
                start = time.perf_counter()
                estimator.predict(rows)
                times[kind].append(time.perf_counter() - start)
        ratios = np.array(times["checked"]) / np.array(times["unchecked"])
        print(f"{case:11s}: checked median {1e3 * np.median(times['checked']):.1f} ms, "
              f"unchecked {1e3 * np.median(times['unchecked']):.1f} ms; checked / unchecked "
              f"per pair: median {np.median(ratios):.3f} (quartiles "
              f"{np.quantile(ratios, 0.25):.3f}-{np.quantile(ratios, 0.75):.3f})")


if __name__ == "__main__":
    main()
