"""What checking inputs at the door costs (issue 15): `Trainer.predict` with its NaN/inf check
of X (`babysit.train.check_inputs`) against the same call with the check replaced by nothing,
interleaved and repeated (the machine is shared). Training itself checks its data once, in
`Trainer.prepare`, as before: each epoch's accuracy reuses those checked arrays.

    OPENBLAS_NUM_THREADS=1 python benchmarks/input_checks.py
"""

import time

import numpy as np

import babysit as bs
from babysit.training import trainer as train

REPS = 15


def main() -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((10_000, 784)).astype(np.float32)
    net = bs.mlp(784, [100], 10, seed=0)
    trainer = bs.Trainer(net, bs.losses.SoftmaxCrossEntropy(), bs.optim.Adam(1e-3),
                         progress=False)
    checked = train.check_inputs
    times = {"checked": [], "unchecked": []}
    for _ in range(REPS):
        for kind in times:
            train.check_inputs = checked if kind == "checked" else (lambda X, name="X": X)
            start = time.perf_counter()
            trainer.predict(X)
            times[kind].append(time.perf_counter() - start)
    train.check_inputs = checked
    for kind, seconds in times.items():
        print(f"{kind:9s} predict on 10,000 x 784: median {1e3 * np.median(seconds):.1f} ms "
              f"(min {1e3 * min(seconds):.1f}, max {1e3 * max(seconds):.1f})")
    ratios = np.array(times["checked"]) / np.array(times["unchecked"])
    print(f"checked / unchecked, per pair: median {np.median(ratios):.3f} "
          f"(quartiles {np.quantile(ratios, 0.25):.3f}-{np.quantile(ratios, 0.75):.3f})")


if __name__ == "__main__":
    main()
