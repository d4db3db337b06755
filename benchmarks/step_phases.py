"""Where a training step's time goes, babysit's engine against PyTorch, phase by phase.

At the four MLP sizes of `throughput.SIZES`, both train the same network (babysit's He init,
copied into PyTorch) on the same float32 data (N(0, 1) inputs, uniform labels) in the same
shuffled batches with SGD momentum 0.9 at 1e-2 (or Adam at 1e-2, `--optimizer adam`), as a
fit runs them, and every step is cut
into its phases, each timed with `perf_counter` around it:

- gather: the batch's rows taken by index (`X[rows]`, `Xt[rows]`);
- forward: the network's training forward pass (babysit: `net.forward(xb, train=True)`
  after `zero_grad`; PyTorch: `zero_grad()`, `model(xb)`);
- loss: softmax cross-entropy and its gradient (PyTorch: the loss only; its gradient is in
  its backward);
- backward: the parameter gradients (babysit: `backward_params`; PyTorch: `loss.backward()`);
- update: `opt.step` (PyTorch: plus `loss.item()`, which a loop reads each step);

and, once an epoch, the test-time accuracy pass over the epoch's rows (`eval`: babysit's
`accuracy`, in blocks of `eval_rows`; PyTorch under `no_grad` in the same blocks). The
contenders alternate epoch by epoch, in a rotating order, so noise from other jobs hits them
alike. The table gives each phase's median over all steps in milliseconds and their sum;
the ratio is the median over the epoch pairs of babysit's mean step over PyTorch's (on this
shared 2-core machine one contender's whole run can be 20% slower than the next run's, and
a pair of neighbouring epochs shares most of the noise), with its range.
Timing each phase this way shows what a whole-fit figure cannot on a machine whose fits vary
by 10%: which phase one is ahead or behind in, as measured while training (the update right
after a backward pass does not find its arrays in cache as a loop of updates alone does).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/step_phases.py

(needs torch and threadpoolctl: `pip install -e '.[bench,torch]'`; about a minute.)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from throughput import (
    BETA1,
    BETA2,
    EPS,
    LR,
    MU,
    SIZES,
    Torch,
    make_data,
    print_environment,
    print_row,
    wanted_sizes,
)

import babysit as bs
from babysit.training.trainer import accuracy, batches_per_epoch, eval_rows

PHASES = ("gather", "forward", "loss", "backward", "update")


def record(times: dict, stamps) -> None:
    """Append each phase's seconds, from the clock readings between phases (len(PHASES) + 1)."""
    for phase, start, end in zip(PHASES, stamps[:-1], stamps[1:], strict=True):
        times[phase].append(end - start)


def babysit_epoch(trainer, X, y, order, batch_size: int, times: dict) -> None:
    """One epoch of babysit's steps, phase by phase, then the accuracy pass."""
    net, clock = trainer.net, time.perf_counter
    for i in range(0, X.shape[0], batch_size):
        rows = order[i:i + batch_size]
        t0 = clock()
        xb, yb = X[rows], y[rows]
        t1 = clock()
        net.zero_grad()
        scores, backward = net.forward(xb, train=True)
        t2 = clock()
        _, dscores = trainer.loss(scores, yb)
        t3 = clock()
        net.backward_params(backward, dscores)
        t4 = clock()
        trainer.opt.step(trainer._named)
        record(times, (t0, t1, t2, t3, t4, clock()))
    start = clock()
    accuracy(net, X, y)
    times["eval"].append(clock() - start)


def pytorch_epoch(model, X, y, order, batch_size: int, block: int, times: dict) -> None:
    """The same epoch in PyTorch, phase by phase, then the accuracy pass."""
    net, loss_fn, opt, clock = model.model, model.loss, model.opt, time.perf_counter
    for i in range(0, X.shape[0], batch_size):
        rows = order[i:i + batch_size]
        t0 = clock()
        xb, yb = X[rows], y[rows]
        t1 = clock()
        opt.zero_grad()
        scores = net(xb)
        t2 = clock()
        loss = loss_fn(scores, yb)
        t3 = clock()
        loss.backward()
        t4 = clock()
        opt.step()
        loss.item()
        record(times, (t0, t1, t2, t3, t4, clock()))
    start = clock()
    with torch.no_grad():
        sum(int((net(X[i:i + block]).argmax(1) == y[i:i + block]).sum())
            for i in range(0, X.shape[0], block))
    times["eval"].append(clock() - start)


def time_size(widths, batch_size: int, n: int, epochs: int, optimizer: str) -> dict:
    """{contender: {phase: [seconds]}} over `epochs` interleaved epochs of each."""
    X, y = make_data(widths, n)
    net = bs.mlp(widths[0], list(widths[1:-1]), widths[-1], activation="relu", init="he",
                 seed=0)
    values = [p.value.copy() for p in net.parameters()]
    opt = (bs.optim.Momentum(LR, mu=MU) if optimizer == "momentum" else
           bs.optim.Adam(LR, beta1=BETA1, beta2=BETA2, eps=EPS))
    trainer = bs.Trainer(net, bs.losses.SoftmaxCrossEntropy(), opt, batch_size=batch_size,
                         epochs=1, progress=False, callbacks=())
    model = Torch(values[0::2], values[1::2], optimizer)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    block = eval_rows(net)
    times = {name: {phase: [] for phase in (*PHASES, "eval")} for name in ("babysit", "pytorch")}
    rng = np.random.default_rng(0)
    for epoch in range(epochs + 1):            # the first epoch of each warms up, untimed
        order = rng.permutation(n)
        for name in ("babysit", "pytorch")[::1 if epoch % 2 else -1]:
            kept = times[name] if epoch else {phase: [] for phase in times[name]}
            time.sleep(0.2)        # idle BLAS / OpenMP threads spin for a while after a call
            if name == "babysit":
                babysit_epoch(trainer, X, y, order, batch_size, kept)
            else:
                pytorch_epoch(model, Xt, yt, torch.from_numpy(order), batch_size, block, kept)
    return times


def paired_ratios(times: dict, steps: int) -> list[float]:
    """Per epoch pair, babysit's mean step time over PyTorch's (`steps` steps an epoch)."""
    def epoch_totals(phases):
        per_step = np.sum([phases[p] for p in PHASES], axis=0)
        return per_step.reshape(-1, steps).mean(axis=1)
    ours, theirs = epoch_totals(times["babysit"]), epoch_totals(times["pytorch"])
    return (ours / theirs).tolist()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP threads for both")
    parser.add_argument("--epochs", type=int, default=8, help="timed epochs of each contender")
    parser.add_argument("--optimizer", choices=("momentum", "adam"), default="momentum")
    parser.add_argument("--sizes", default=",".join(s[0] for s in SIZES),
                        help="comma-separated subset of: " + ", ".join(s[0] for s in SIZES))
    args = parser.parse_args(argv)
    wanted = wanted_sizes(parser, args.sizes)
    torch.set_num_threads(args.threads)
    with threadpool_limits(limits=args.threads):
        print_environment(args.threads)
        print(f"\n{args.optimizer}: median milliseconds per step of each phase over "
              f"{args.epochs} epochs of each contender, interleaved; eval: the accuracy pass "
              f"over the epoch's rows\n")
        print_row(["MLP", "batch", "contender", *PHASES, "step (sum)", "eval"])
        print_row(["---"] * (len(PHASES) + 5))
        for name, widths, batch_size, n in (size for size in SIZES if size[0] in wanted):
            times = time_size(widths, batch_size, n, args.epochs, args.optimizer)
            sums = {}
            for contender, phases in times.items():
                medians = [1e3 * statistics.median(phases[p]) for p in PHASES]
                sums[contender] = sum(medians)
                print_row([name, str(batch_size), contender, *(f"{m:.3f}" for m in medians),
                           f"{sums[contender]:.3f}",
                           f"{1e3 * statistics.median(phases['eval']):.1f}"])
            ratios = paired_ratios(times, batches_per_epoch(n, batch_size))
            print_row([name, "", "babysit / PyTorch", *[""] * len(PHASES),
                       f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})",
                       ""])
    return 0


if __name__ == "__main__":
    sys.exit(main())
