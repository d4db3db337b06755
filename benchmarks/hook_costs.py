"""Where the default monitors' time goes: every hook of every default monitor timed (wall
clock) inside whole fits, at one of `overhead.py`'s sizes, beside the same fit unwatched.

Each repetition runs one fit with `callbacks=()` and one with the default monitors, each
from fresh weights with a fresh Trainer (as `overhead.py` does: SGD momentum, float32, the
same synthetic data), in alternating order after a short rest. In the watched fit each
hook a monitor implements is wrapped in a timer. The table gives, per monitor and hook,
the median milliseconds a fit spends there and that as a share of the median unwatched fit;
the last row is the sum. Above the table, the monitors' share of the pairs' wall-clock
and CPU times (each fit's CPU time counts BLAS's threads too, spinning included), the same
for the watched fit less its time inside the hooks (what watching costs beyond them: slower
training steps would show here), and the watched / unwatched ratio at the 10th, 25th and 50th
percentile of each one's fits (the fastest fits vary least from one run to the next). This is
the breakdown behind `overhead.py`'s "in their hooks"
column (which counts CPU time, all hooks together), so a change to one monitor can be
weighed on its own:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/hook_costs.py \\
        --size 784-100-10 --epochs 1 --fits 20

(needs the `bench` extra and torch, as `overhead.py`; about 10 s for the default arguments.)
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys
import time

from overhead import SETTLE, babysit_net, babysit_trainer, time_hooks
from threadpoolctl import threadpool_limits
from throughput import SIZES, make_data, print_row


def timed_fit(widths, X, y, batch_size: int, epochs: int, watched: bool):
    """One fit from fresh weights; returns (seconds, CPU seconds of the process, {"Monitor.hook":
    seconds inside it})."""
    spent = collections.Counter()
    trainer = babysit_trainer(babysit_net(widths), batch_size, epochs, watched)
    time_hooks(trainer, time.perf_counter, spent, collections.Counter())
    start, cpu = time.perf_counter(), time.process_time()
    trainer.fit(X, y)
    return time.perf_counter() - start, time.process_time() - cpu, spent


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    names = [name for name, *_ in SIZES]
    parser.add_argument("--size", default="784-100-10", choices=names)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--fits", type=int, default=20, help="repetitions (one fit of each)")
    parser.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP threads")
    args = parser.parse_args(argv)
    _, widths, batch_size, n = next(size for size in SIZES if size[0] == args.size)
    X, y = make_data(widths, n)
    fits = {False: [], True: []}            # watched -> [(seconds, CPU seconds)]
    hooks = collections.defaultdict(list)
    inside = []                             # seconds in all hooks, per watched fit
    with threadpool_limits(limits=args.threads):
        timed_fit(widths, X, y, batch_size, args.epochs, True)          # warm-up
        for r in range(args.fits):
            for watched in ((False, True) if r % 2 == 0 else (True, False)):
                time.sleep(SETTLE)
                seconds, cpu, spent = timed_fit(widths, X, y, batch_size, args.epochs, watched)
                fits[watched].append((seconds, cpu))
                for key, value in spent.items():
                    hooks[key].append(value)
                if watched:
                    inside.append(sum(spent.values()))
    base = statistics.median(seconds for seconds, _ in fits[False])
    pairs = list(zip(fits[False], fits[True], strict=True))
    wall = statistics.median(100 * (on[0] / off[0] - 1) for off, on in pairs)
    cpu = statistics.median(100 * (on[1] / off[1] - 1) for off, on in pairs)
    outside = statistics.median(100 * ((on[0] - spent) / off[0] - 1)
                                for (off, on), spent in zip(pairs, inside, strict=True))
    print(f"{args.size}, batch {batch_size}, {n} examples, {args.epochs} epoch(s), "
          f"{args.threads} threads, {args.fits} fits each: unwatched {1e3 * base:.1f} ms, "
          f"defaults {1e3 * statistics.median(s for s, _ in fits[True]):.1f} ms (medians); "
          f"defaults / unwatched - 1, the median over the pairs: wall clock {wall:+.1f}%, "
          f"the process's CPU time {cpu:+.1f}%; the watched fit less its time in the hooks "
          f"{outside:+.1f}%")
    if args.fits >= 2:
        cuts = {watched: statistics.quantiles([s for s, _ in fits[watched]], n=20)
                for watched in (False, True)}   # the 5th, 10th, ..., 95th percentiles
        print("defaults / unwatched - 1 at the same percentile of each one's fits (a fit's time "
              "varies by more than the monitors cost, least in the fastest fits): "
              + ", ".join(f"{p}th {100 * (cuts[True][i] / cuts[False][i] - 1):+.1f}%"
                          for p, i in ((10, 1), (25, 4), (50, 9))))
    print()
    print_row(["monitor.hook", "ms per fit", "share of the unwatched fit"])
    print_row(["---"] * 3)
    total = 0.0
    for key in sorted(hooks):
        ms = 1e3 * statistics.median(hooks[key])
        total += ms
        print_row([key, f"{ms:.3f}", f"{ms / (10 * base):.2f} %"])
    print_row(["all hooks", f"{total:.3f}", f"{total / (10 * base):.2f} %"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
