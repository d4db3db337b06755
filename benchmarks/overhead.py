"""What babysitting costs: `Trainer.fit` with its default monitors, without any
(`callbacks=()`), and the same loop written in PyTorch, at four MLP sizes, for a 1-epoch
and a 5-epoch fit.

Each timed run is a whole fit from fresh weights (babysit's He init, seed 0, copied into
PyTorch), a fresh Trainer (and a fresh PyTorch optimizer) each time, on the same float32
data (N(0, 1) inputs, uniform labels: `throughput.SIZES` and `make_data`), with SGD
momentum 0.9 at 1e-2:

- **babysit, defaults**: `bs.Trainer(net, SoftmaxCrossEntropy(), Momentum(...), batch_size,
  epochs, progress=False).fit(X, y)`: the monitors `bs.monitors.default()` on.
- **babysit, unwatched**: the same with `callbacks=()`.
- **PyTorch**: what `Trainer.fit` does, in PyTorch 2.13 on the CPU: each epoch one
  permutation of the rows (the same generator, so the same batches), each batch gathered by
  index, `zero_grad`, forward, `CrossEntropyLoss`, `backward`, `SGD(momentum).step()`, the
  loss read back (`.item()`) and checked for finiteness; at the end of each epoch the
  training accuracy on the same (at most 10,000) rows, under `no_grad`, in blocks of as many
  rows as babysit's (`trainer.eval_rows`: 2,048 rows for the two small networks, 1,024 and
  512 for the two large; PyTorch's pass is as fast or faster in these blocks than in 2,048).

Before timing, one 1-epoch fit of each is compared: babysit's final weights with and
without monitors must be bit-identical (monitors never change training), and PyTorch's
must be within float32 rounding of babysit's (printed), so all three compute the same fit.

The three contenders of one size take turns within every repetition in a rotating order,
with a short rest before each fit (idle BLAS / OpenMP threads spin for a while after a
call), and the 1- and 5-epoch fits alternate too, so that noise from other processes hits
them alike. A short fit is repeated more often (`repetitions`: about MIN_SECONDS of fits a
contender; the table's epochs column says how many). The table gives the median and, in
brackets, the range over the repetitions: seconds per fit; babysit / PyTorch (below 1:
babysit is faster), the median of the per-repetition ratios; the monitors' share, defaults /
unwatched - 1, paired the same way; and, from one more fit with the defaults per repetition,
the CPU time spent inside the monitors' hooks over the CPU time of the rest of that fit
(`hook_share`): on a machine shared with other jobs, where two wall-clock times differ by
more than 5% from noise alone, this is the figure to trust.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/overhead.py

(needs torch and threadpoolctl: `pip install -e '.[bench,torch]'`; about 5 minutes on a
2-core machine with the default 5 repetitions and more for the short fits.)
"""

from __future__ import annotations

import argparse
import collections
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from throughput import (
    LR,
    MU,
    SIZES,
    Torch,
    make_data,
    print_environment,
    print_row,
    save_json,
    wanted_sizes,
)

import babysit as bs
from babysit.backend import make_rng
from babysit.training.trainer import eval_rows

CONTENDERS = ("pytorch", "unwatched", "defaults")
EPOCHS = (1, 5)
EVAL_MAX = 10_000      # Trainer's default eval_max: the rows the training accuracy is taken on
SETTLE = 0.2           # seconds of rest before each timed fit
MIN_SECONDS = 3.0      # of fits per contender and number of epochs (`repetitions`)
MAX_REPEATS = 40


def babysit_net(widths):
    return bs.mlp(widths[0], list(widths[1:-1]), widths[-1], activation="relu", init="he",
                  seed=0)


def babysit_trainer(net, batch_size: int, epochs: int, watched: bool):
    """The Trainer every babysit fit here uses: SGD momentum, the default monitors when
    `watched`, else none."""
    return bs.Trainer(net, bs.losses.SoftmaxCrossEntropy(), bs.optim.Momentum(LR, mu=MU),
                      batch_size=batch_size, epochs=epochs, progress=False,
                      eval_max=EVAL_MAX, callbacks=None if watched else ())


def fit_babysit(widths, X, y, batch_size: int, epochs: int, watched: bool):
    """One fit with a fresh net and Trainer; returns (seconds, final weights)."""
    net = babysit_net(widths)
    start = time.perf_counter()
    babysit_trainer(net, batch_size, epochs, watched).fit(X, y)
    seconds = time.perf_counter() - start
    return seconds, [p.value for p in net.parameters()]


def fit_pytorch(widths, X, y, batch_size: int, epochs: int):
    """The same fit in PyTorch (see the module docstring); returns (seconds, final weights)."""
    start_net = babysit_net(widths)
    values = [p.value for p in start_net.parameters()]
    model = Torch(values[0::2], values[1::2], "momentum")   # SGD(momentum) from babysit's init
    net, loss_fn, opt = model.model, model.loss, model.opt
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    n = X.shape[0]
    block = eval_rows(start_net)
    start = time.perf_counter()
    rng = make_rng(0)                                       # the Trainer's shuffling generator
    pick = np.arange(n)
    if n > EVAL_MAX:
        pick = np.sort(make_rng(0).choice(n, EVAL_MAX, replace=False))
    X_eval, y_eval = Xt[torch.from_numpy(pick)], yt[torch.from_numpy(pick)]
    train_acc = []
    for _ in range(epochs):
        order = torch.from_numpy(rng.permutation(n))
        for i in range(0, n, batch_size):
            rows = order[i:i + batch_size]
            opt.zero_grad()
            out = loss_fn(net(Xt[rows]), yt[rows])
            out.backward()
            opt.step()
            if not np.isfinite(out.item()):
                raise FloatingPointError("the PyTorch run diverged")
        with torch.no_grad():
            correct = sum(int((net(X_eval[i:i + block]).argmax(1) == y_eval[i:i + block]).sum())
                          for i in range(0, len(pick), block))
        train_acc.append(correct / len(pick))
    seconds = time.perf_counter() - start
    return seconds, model.weights()


HOOKS = ("on_train_begin", "before_update", "after_update", "on_epoch_end", "on_train_end")


def time_hooks(trainer, clock, spent, calls) -> None:
    """Wrap every hook that a callback of `trainer` implements so that each call adds the
    time `clock` reads inside it to spent["Monitor.hook"] and 1 to calls["Monitor.hook"]
    (both Counters)."""
    for cb in trainer.callbacks:
        for hook in HOOKS:
            if hook in type(cb).__dict__:
                setattr(cb, hook, _timed(getattr(cb, hook), f"{type(cb).__name__}.{hook}",
                                         clock, spent, calls))


def _timed(hook, key: str, clock, spent, calls):
    def timed(*args):
        start = clock()
        hook(*args)
        spent[key] += clock() - start
        calls[key] += 1
    return timed


def hook_share(widths, X, y, batch_size: int, epochs: int) -> float:
    """One more fit with the default monitors, each hook a monitor implements wrapped in a
    CPU-time counter (`time_hooks`): the share of the fit's CPU time spent inside the
    monitors. Other jobs on the machine barely move this figure, unlike a difference of two
    wall-clock times. The counter's own cost (two clock reads a call; the step hooks are
    called only at the steps their monitors sample) is measured on a hook that does nothing
    and taken off."""
    spent, calls = collections.Counter(), collections.Counter()
    idle = _timed(lambda *args: None, "idle", time.process_time, spent, calls)
    start = time.process_time()
    for _ in range(20_000):
        idle()
    per_call, inside = (time.process_time() - start) / 20_000, spent["idle"] / 20_000
    spent.clear()
    calls.clear()
    trainer = babysit_trainer(babysit_net(widths), batch_size, epochs, watched=True)
    time_hooks(trainer, time.process_time, spent, calls)
    start = time.process_time()
    trainer.fit(X, y)
    n_calls = sum(calls.values())
    total = time.process_time() - start - n_calls * per_call
    monitors = sum(spent.values()) - n_calls * inside
    return monitors / (total - monitors)


def run(name: str, widths, X, y, batch_size: int, epochs: int):
    if name == "pytorch":
        return fit_pytorch(widths, X, y, batch_size, epochs)
    return fit_babysit(widths, X, y, batch_size, epochs, watched=name == "defaults")


def agreement(widths, X, y, batch_size: int) -> tuple[float, float]:
    """Check that the contenders fit the same thing (one epoch each): babysit's weights with
    and without monitors bit for bit, PyTorch's within rounding; returns PyTorch's relative
    distance ||theta_torch - theta|| / ||theta|| and the seconds of babysit's unwatched fit."""
    fits = {name: run(name, widths, X, y, batch_size, 1) for name in CONTENDERS}
    weights = {name: fit[1] for name, fit in fits.items()}
    if not all(np.array_equal(a, b)
               for a, b in zip(weights["unwatched"], weights["defaults"], strict=True)):
        raise AssertionError("the default monitors changed the weights of a fit")
    ours = np.concatenate([w.ravel() for w in weights["unwatched"]])
    theirs = np.concatenate([w.ravel() for w in weights["pytorch"]])
    return float(np.linalg.norm(theirs - ours) / np.linalg.norm(ours)), fits["unwatched"][0]


def repetitions(repeats: int, epoch_seconds: float) -> dict[int, int]:
    """Repetitions per number of epochs: at least `repeats`, and more for a short fit, until
    each contender has about MIN_SECONDS of fits (at most MAX_REPEATS): a 0.1-second fit
    varies by 10-30% from one run to the next on a shared machine, and five of them do not
    pin a 5% difference."""
    return {e: min(MAX_REPEATS, max(repeats, math.ceil(MIN_SECONDS / (epoch_seconds * e))))
            for e in EPOCHS}


def time_size(widths, batch_size: int, n: int, repeats: int, contenders=CONTENDERS) -> dict:
    """Seconds per fit of each contender, for each number of epochs, interleaved."""
    X, y = make_data(widths, n)
    distance, epoch_seconds = agreement(widths, X, y, batch_size)    # doubles as the warm-up
    wanted = repetitions(repeats, epoch_seconds)
    times = {(name, e): [] for name in CONTENDERS for e in EPOCHS}
    shares = {e: [] for e in EPOCHS}
    for r in range(max(wanted.values())):
        k = r % len(contenders)
        order = contenders[k:] + contenders[:k]
        for epochs in (EPOCHS if r % 2 == 0 else EPOCHS[::-1]):
            if r >= wanted[epochs]:
                continue
            for name in order:
                time.sleep(SETTLE)
                times[name, epochs].append(run(name, widths, X, y, batch_size, epochs)[0])
            shares[epochs].append(hook_share(widths, X, y, batch_size, epochs))
    return {"times": times, "hook_share": shares, "distance": distance}


def median_range(values, fmt: str) -> str:
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP threads for all")
    parser.add_argument("--repeats", type=int, default=5, help="timed fits per contender")
    parser.add_argument("--sizes", default=",".join(s[0] for s in SIZES),
                        help="comma-separated subset of: " + ", ".join(s[0] for s in SIZES))
    parser.add_argument("--json", metavar="PATH", help="also write the raw times here")
    parser.add_argument("--no-pytorch", action="store_true",
                        help="time babysit only (the monitors' share; PyTorch columns empty)")
    args = parser.parse_args(argv)
    wanted = wanted_sizes(parser, args.sizes)

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    out = {"command": " ".join([os.path.basename(sys.executable)] + sys.argv),
           "repeats": args.repeats, "sizes": {}}
    with threadpool_limits(limits=args.threads):
        out["environment"] = print_environment(args.threads)
        print(f"\nwhole fits from fresh weights, SGD momentum, float32, {args.threads} threads, "
              f"at least {args.repeats} interleaved repetitions (more for a short fit, about "
              f"{MIN_SECONDS:g} s of fits a contender, at most {MAX_REPEATS}); median "
              f"(min-max)\n")
        columns = ["MLP", "batch", "examples", "epochs", "PyTorch s", "unwatched s",
                   "defaults s", "unwatched / PyTorch", "defaults / PyTorch",
                   "monitors' share", "in their hooks"]
        print_row(columns)
        print_row(["---"] * len(columns))
        for name, widths, batch_size, n in (size for size in SIZES if size[0] in wanted):
            timed = CONTENDERS[1:] if args.no_pytorch else CONTENDERS
            res = time_size(widths, batch_size, n, args.repeats, timed)
            t = res["times"]
            for epochs in EPOCHS:
                torch_s, bare, full = (t[c, epochs] for c in CONTENDERS)
                cells = [name, str(batch_size), str(n), f"{epochs} (x{len(bare)})"]
                cells += [median_range(v, ".3f") if v else "-" for v in (torch_s, bare, full)]
                cells += [median_range([a / b for a, b in zip(v, torch_s, strict=True)], ".2f")
                          if torch_s else "-" for v in (bare, full)]
                cells.append(median_range([100 * (a / b - 1)
                                           for a, b in zip(full, bare, strict=True)], "+.1f")
                             .replace("(", "% (").replace(")", "%)"))
                cells.append(median_range([100 * v for v in res["hook_share"][epochs]], ".1f")
                             .replace("(", "% (").replace(")", "%)"))
                print_row(cells)
            out["sizes"][name] = {"batch_size": batch_size, "examples": n,
                                  "pytorch_distance": res["distance"],
                                  "hook_share": res["hook_share"],
                                  "times": {f"{c} {e}": v for (c, e), v in t.items()}}
        print("\nafter one epoch from the same start: default monitors vs callbacks=() "
              "bit-identical at every size; PyTorch's weights from babysit's, "
              "||theta_torch - theta|| / ||theta||:")
        for k, v in out["sizes"].items():
            print(f"  {k}: {v['pytorch_distance']:.1e}")
    print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}; "
          f"{time.perf_counter() - started:.0f} s in all")
    save_json(out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
