"""The engine's cost per training step, two source trees against each other.

`Trainer.step` (forward, loss, backward, update; no monitors) on N(0, 1) float32 data at three
MLP sizes, with SGD momentum and with Adam, in microseconds of *process CPU time* per step (on
a machine shared with other jobs, wall-clock time mostly measures the others), and one whole
`Trainer.fit` with the default monitors on the smallest size. With `--compare A B` each round
runs this script once under `PYTHONPATH=A/src` and once under `B/src`, in alternating order,
one BLAS thread each, and the table gives the median and the range over the rounds:

    .venv/bin/python benchmarks/step_cost.py --compare /path/to/main /path/to/branch --rounds 5

Without `--compare` it prints one round's figures (JSON) for the babysit it imports.

Where the machine is too loaded for any clock (a load average of 19 on 2 cores), the
instructions a step executes are counted instead, which no other job changes: `--steps N RULE`
only runs N steps of the 64-100-10 network (after 5 warm-up steps), and the difference
between N=500 and N=0 under callgrind, divided by 500, is one step:

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=src valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        .venv/bin/python benchmarks/step_cost.py --steps 500 momentum     # "Collected : ..."
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

# (name, widths, batch size, rows, timed steps)
SIZES = [("64-100-10", (64, 100, 10), 32, 2048, 3000),
         ("784-100-10", (784, 100, 10), 128, 4096, 600),
         ("784-512-512-10", (784, 512, 512, 10), 128, 2048, 150)]


def _trainer(widths, batch, rule):
    import babysit as bs

    opt = bs.optim.Momentum(1e-2, 0.9) if rule == "momentum" else bs.optim.Adam(1e-3)
    return bs.Trainer(bs.mlp(widths[0], list(widths[1:-1]), widths[-1], seed=0),
                      bs.losses.SoftmaxCrossEntropy(), opt, batch_size=batch, callbacks=(),
                      progress=False)


def _batches(widths, batch, rows):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((rows, widths[0]), dtype=np.float32)
    y = rng.integers(0, widths[-1], rows)
    return [(X[i:i + batch], y[i:i + batch]) for i in range(0, rows, batch)]


def run_steps(steps: int, rule: str) -> None:
    """`steps` untimed steps of the smallest size, after 5 warm-up steps (for callgrind)."""
    _, widths, batch, rows, _ = SIZES[0]
    trainer, batches = _trainer(widths, batch, rule), _batches(widths, batch, rows)
    for k in range(5 + steps):
        trainer.step(*batches[k % len(batches)])


def one_round() -> dict[str, float]:
    """Microseconds of process CPU per step, by "size optimizer"; and per fit."""
    import babysit as bs

    out = {}
    for name, widths, batch, rows, steps in SIZES:
        batches = _batches(widths, batch, rows)
        for rule in ("momentum", "adam"):
            trainer = _trainer(widths, batch, rule)
            for xb, yb in batches[:5]:   # warm: optimizer state, allocator
                trainer.step(xb, yb)
            start = time.process_time()
            for k in range(steps):
                trainer.step(*batches[k % len(batches)])
            out[f"{name} {rule}"] = (time.process_time() - start) / steps * 1e6
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((2048, 64), dtype=np.float32), rng.integers(0, 10, 2048)
    start = time.process_time()
    bs.Trainer(bs.mlp(64, [100], 10, seed=0), bs.losses.SoftmaxCrossEntropy(),
               bs.optim.Adam(1e-3), batch_size=32, epochs=3, progress=False).fit(X, y)
    out["fit 64-100-10 adam, monitors on (3 epochs)"] = (time.process_time() - start) * 1e6
    return out


def compare(trees: list[str], rounds: int) -> None:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    results: dict[str, list[dict]] = {tree: [] for tree in trees}
    for r in range(rounds):
        for tree in (trees if r % 2 == 0 else trees[::-1]):
            done = subprocess.run([sys.executable, __file__], capture_output=True, text=True,
                                  check=True, env={**env, "PYTHONPATH": f"{tree}/src"})
            results[tree].append(json.loads(done.stdout))
    print(f"microseconds of process CPU, median (range) over {rounds} rounds; load average at "
          f"the end {os.getloadavg()}")
    print("| | " + " | ".join(trees) + " | B / A |")
    print("|---|" + "---|" * (len(trees) + 1))
    for key in results[trees[0]][0]:
        medians = [statistics.median(run[key] for run in results[t]) for t in trees]
        cells = [f"{m:.0f} ({min(run[key] for run in results[t]):.0f}-"
                 f"{max(run[key] for run in results[t]):.0f})"
                 for m, t in zip(medians, trees, strict=True)]
        print(f"| {key} | " + " | ".join(cells) + f" | {medians[-1] / medians[0]:.3f} |")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--compare", nargs=2, metavar=("A", "B"),
                        help="two source trees (each holding src/babysit)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", nargs=2, metavar=("N", "RULE"),
                        help="only run N steps with RULE (momentum or adam), for callgrind")
    args = parser.parse_args(argv)
    if args.steps:
        run_steps(int(args.steps[0]), args.steps[1])
    elif args.compare:
        compare(args.compare, args.rounds)
    else:
        print(json.dumps(one_round()))


if __name__ == "__main__":
    main()
