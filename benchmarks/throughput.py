"""Training throughput: one epoch of an MLP in babysit, PyTorch (CPU) and a hand-written NumPy loop.

Each contender trains the same network (same initial weights, copied from babysit's) on the same
float32 data in the same mini-batches, with the same update rule and the same number of BLAS /
OpenMP threads. One timed epoch is a pass over every batch doing: forward, softmax cross-entropy
(its value as a Python float, as any training loop logs it), backward, and the update.

- babysit: `Trainer.step(xb, yb)` for each batch, the call `Trainer.fit` makes per batch.
- PyTorch: `nn.Sequential` of `nn.Linear` / `nn.ReLU`, `nn.CrossEntropyLoss`, `torch.optim`.
- NumPy: the loop a careful person writes by hand after the CS231n notes (`NumpyMLP`).

Before timing, the three run a few steps from the same weights and their weights are compared,
so every contender is known to compute the same thing. Within a repetition the three contenders
run back to back in a rotating order, so that noise from other processes hits them alike.

Run with `make bench`, or

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/throughput.py

(needs the `bench` extra and torch: `pip install -e '.[bench]' torch`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np
import torch
from threadpoolctl import threadpool_info, threadpool_limits

import babysit as bs

# (name, layer widths, batch size, examples per epoch). The widths are those of digits,
# MNIST and CIFAR-10 classifiers; the epoch lengths keep one epoch between ~0.05 s and ~2 s.
SIZES = [
    ("64-100-10", (64, 100, 10), 32, 32_768),
    ("784-100-10", (784, 100, 10), 128, 16_384),
    ("784-512-512-10", (784, 512, 512, 10), 128, 8_192),
    ("3072-1024-1024-10", (3072, 1024, 1024, 10), 256, 5_120),
]
CONTENDERS = ("babysit", "pytorch", "numpy")
LR, MU = 1e-2, 0.9
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8
# Seconds of rest before each timed epoch: OpenBLAS's and OpenMP's idle worker threads spin for
# a while after a call, and must not steal a core from the next contender.
SETTLE = 0.3


# -- the hand-written NumPy loop --------------------------------------------------------------
class NumpyMLP:
    """An MLP trained by the plain loop of the CS231n notes: ReLU, softmax, momentum or Adam.

    `weights` and `biases` are lists of (n_in, n_out) and (n_out,) float32 arrays (copied).
    """

    def __init__(self, weights, biases, optimizer: str):
        self.params = [p.copy() for pair in zip(weights, biases, strict=True) for p in pair]
        self.optimizer = optimizer
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.t = 0

    def step(self, X, y) -> float:
        """One update on (X: (N, D), y: (N,)); returns the mean softmax loss of the batch."""
        n = X.shape[0]
        Ws, bs_ = self.params[0::2], self.params[1::2]
        # forward: affine -> ReLU for each hidden layer, affine for the scores
        acts = [X]
        h = X
        for W, b in zip(Ws[:-1], bs_[:-1], strict=True):
            h = np.maximum(h @ W + b, 0)
            acts.append(h)
        scores = h @ Ws[-1] + bs_[-1]
        # softmax loss, shifted for stability
        shifted = scores - scores.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        sums = exp.sum(axis=1, keepdims=True)
        rows = np.arange(n)
        loss = float(np.mean(np.log(sums[:, 0]) - shifted[rows, y]))
        dscores = exp / sums
        dscores[rows, y] -= 1
        dscores /= n
        # backward
        grads = [None] * len(self.params)
        d = dscores
        for i in range(len(Ws) - 1, -1, -1):
            grads[2 * i] = acts[i].T @ d
            grads[2 * i + 1] = d.sum(axis=0)
            if i > 0:  # no gradient for the input
                d = d @ Ws[i].T
                d[acts[i] <= 0] = 0
        self.update(grads)
        return loss

    def update(self, grads) -> None:
        """Momentum: v = mu v - lr dw; w += v.  Adam: the notes' rule with bias correction."""
        self.t += 1
        for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
            if self.optimizer == "momentum":
                m *= MU
                m -= LR * g
                p += m
            else:
                m *= BETA1
                m += (1 - BETA1) * g
                v *= BETA2
                v += (1 - BETA2) * (g * g)
                mt = m / (1 - BETA1**self.t)
                vt = v / (1 - BETA2**self.t)
                p -= LR * mt / (np.sqrt(vt) + EPS)

    def weights(self) -> list[np.ndarray]:
        return list(self.params)


# -- the contenders, behind one interface: epoch(batches) and weights() ------------------------
class Babysit:
    """babysit's Trainer, stepping through the given batches."""

    def __init__(self, widths, optimizer: str):
        self.net = bs.mlp(widths[0], list(widths[1:-1]), widths[-1], activation="relu",
                          init="he", seed=0)
        opt = (bs.optim.Momentum(LR, mu=MU) if optimizer == "momentum"
               else bs.optim.Adam(LR, beta1=BETA1, beta2=BETA2, eps=EPS))
        self.trainer = bs.Trainer(self.net, bs.losses.SoftmaxCrossEntropy(), opt, progress=False)

    def epoch(self, batches) -> float:
        step = self.trainer.step
        loss = 0.0
        for xb, yb in batches:
            loss = step(xb, yb)[0]
        return loss

    def weights(self) -> list[np.ndarray]:
        return [p.value for p in self.net.parameters()]


class Torch:
    """The same network in PyTorch, weights copied from babysit's (W transposed to (out, in))."""

    def __init__(self, weights, biases, optimizer: str):
        layers = []
        for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
            lin = torch.nn.Linear(*W.shape)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(W.T.copy()))
                lin.bias.copy_(torch.from_numpy(b))
            layers.append(lin)
            if i < len(weights) - 1:
                layers.append(torch.nn.ReLU())
        self.model = torch.nn.Sequential(*layers)
        self.loss = torch.nn.CrossEntropyLoss()
        params = self.model.parameters()
        # torch's momentum keeps v' = mu v' + dw, w -= lr v' (v' = -v / lr for a constant lr):
        # the same iterates as the notes' v = mu v - lr dw, w += v.
        self.opt = (torch.optim.SGD(params, lr=LR, momentum=MU) if optimizer == "momentum"
                    else torch.optim.Adam(params, lr=LR, betas=(BETA1, BETA2), eps=EPS))

    def epoch(self, batches) -> float:
        model, loss_fn, opt = self.model, self.loss, self.opt
        loss = 0.0
        for xb, yb in batches:
            opt.zero_grad()
            out = loss_fn(model(xb), yb)
            out.backward()
            opt.step()
            loss = out.item()
        return loss

    def weights(self) -> list[np.ndarray]:
        out = []
        for m in self.model:
            if isinstance(m, torch.nn.Linear):
                out += [m.weight.detach().numpy().T, m.bias.detach().numpy()]
        return out


class Numpy:
    """The hand-written loop over the same batches."""

    def __init__(self, weights, biases, optimizer: str):
        self.mlp = NumpyMLP(weights, biases, optimizer)

    def epoch(self, batches) -> float:
        step = self.mlp.step
        loss = 0.0
        for xb, yb in batches:
            loss = step(xb, yb)
        return loss

    def weights(self) -> list[np.ndarray]:
        return self.mlp.weights()


def make_contenders(widths, optimizer: str) -> dict:
    """The three contenders, all starting from babysit's initial weights."""
    ours = Babysit(widths, optimizer)
    values = ours.weights()
    weights, biases = values[0::2], values[1::2]
    return {"babysit": ours, "pytorch": Torch(weights, biases, optimizer),
            "numpy": Numpy(weights, biases, optimizer)}


def make_data(widths, n: int, seed: int = 0):
    """Synthetic float32 inputs (n, D), N(0, 1), and int64 labels (n,), uniform over classes."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, widths[0]), dtype=np.float32)
    return X, rng.integers(0, widths[-1], n).astype(np.int64)


def make_batches(widths, batch_size: int, n: int, seed: int = 0):
    """`make_data`, cut into contiguous mini-batches.

    Returns (numpy batches, torch batches); the torch tensors share the NumPy memory.
    """
    X, y = make_data(widths, n, seed)
    np_batches = [(X[i:i + batch_size], y[i:i + batch_size]) for i in range(0, n, batch_size)]
    torch_batches = [(torch.from_numpy(xb), torch.from_numpy(yb)) for xb, yb in np_batches]
    return np_batches, torch_batches


def weight_difference(contenders, np_batches, torch_batches, steps: int = 3) -> dict:
    """Run `steps` batches on each contender from the same start; return how far apart the
    parameters end up, ||theta - theta_numpy|| / ||theta_numpy|| over all parameters together,
    for babysit and PyTorch, and how far the NumPy loop's moved, ||theta_numpy - theta_0|| /
    ||theta_0||, the scale a different update formula would show up on.
    """
    def flat(c):
        return np.concatenate([w.ravel() for w in c.weights()])

    start = flat(contenders["numpy"]).copy()
    for name, c in contenders.items():
        c.epoch((torch_batches if name == "pytorch" else np_batches)[:steps])
    ref = flat(contenders["numpy"])
    diffs = {name: float(np.linalg.norm(flat(contenders[name]) - ref) / np.linalg.norm(ref))
             for name in ("babysit", "pytorch")}
    diffs["moved"] = float(np.linalg.norm(ref - start) / np.linalg.norm(start))
    return diffs


def time_size(widths, batch_size: int, n: int, optimizer: str, repeats: int) -> dict:
    """Epoch times of the three contenders on one network size, interleaved per repetition."""
    np_batches, torch_batches = make_batches(widths, batch_size, n)
    contenders = make_contenders(widths, optimizer)
    diffs = weight_difference(contenders, np_batches, torch_batches)
    for name, c in contenders.items():  # warm-up epoch: caches, allocator, lazy init
        c.epoch(torch_batches if name == "pytorch" else np_batches)
    times = {name: [] for name in CONTENDERS}
    for r in range(repeats):
        order = CONTENDERS[r % 3:] + CONTENDERS[:r % 3]
        for name in order:
            batches = torch_batches if name == "pytorch" else np_batches
            time.sleep(SETTLE)
            start = time.perf_counter()
            contenders[name].epoch(batches)
            times[name].append(time.perf_counter() - start)
    return {"times": times, "weight_diff": diffs, "steps": len(np_batches)}


def environment(threads: int) -> dict:
    """What the numbers depend on: machine, threads, library versions, BLAS kernels."""
    blas = [{k: lib.get(k) for k in ("internal_api", "prefix", "version", "architecture",
                                     "num_threads")}
            for lib in threadpool_info()]
    return {
        "machine": f"{platform.processor() or platform.machine()}, {_cpu_model()}, "
                   f"{os.cpu_count()} cores",
        "python": platform.python_version(),
        "threads": threads,
        "numpy": np.__version__,
        "torch": torch.__version__,
        "torch_blas": "MKL" if torch.backends.mkl.is_available() else "other",
        "threadpoolctl": blas,
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "load_average_1_5_15_min": [round(x, 2) for x in os.getloadavg()],
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def print_environment(threads: int) -> dict:
    """Print `environment(threads)` as JSON and return it."""
    env = environment(threads)
    print(json.dumps(env, indent=1))
    return env


def print_row(cells) -> None:
    """One row of a Markdown table, printed at once (a long run shows its rows as they come)."""
    print("| " + " | ".join(cells) + " |", flush=True)


def save_json(results: dict, path: str | None) -> None:
    """Write the raw results to `path` (the --json option) when one was given."""
    if path:
        with open(path, "w") as f:
            json.dump(results, f, indent=1)


def wanted_sizes(parser, text: str) -> list[str]:
    """The size names of a comma-separated --sizes; any not in SIZES is a parser error."""
    wanted = text.split(",")
    unknown = [s for s in wanted if s not in {name for name, *_ in SIZES}]
    if unknown:
        parser.error(f"unknown sizes {unknown}")
    return wanted


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP threads for all three")
    parser.add_argument("--repeats", type=int, default=9, help="timed epochs per contender")
    parser.add_argument("--optimizer", choices=("momentum", "adam"), default="momentum")
    parser.add_argument("--sizes", default=",".join(s[0] for s in SIZES),
                        help="comma-separated subset of: " + ", ".join(s[0] for s in SIZES))
    parser.add_argument("--json", metavar="PATH", help="also write the raw times here")
    args = parser.parse_args(argv)
    wanted = wanted_sizes(parser, args.sizes)

    torch.set_num_threads(args.threads)
    results = {"command": " ".join([os.path.basename(sys.executable)] + sys.argv),
               "optimizer": args.optimizer, "repeats": args.repeats, "sizes": {}}
    with threadpool_limits(limits=args.threads):
        results["environment"] = print_environment(args.threads)
        print(f"\noptimizer {args.optimizer}, float32, {args.threads} threads, {args.repeats} "
              f"timed epochs each; ms per epoch and ratios as median (min)\n")
        columns = ["MLP", "batch", "steps", "babysit ms", "PyTorch ms", "NumPy loop ms",
                   "PyTorch / babysit", "babysit / NumPy loop"]
        print_row(columns)
        print_row(["---"] * len(columns))
        for name, widths, batch_size, n in (size for size in SIZES if size[0] in wanted):
            res = time_size(widths, batch_size, n, args.optimizer, args.repeats)
            med = {k: statistics.median(v) for k, v in res["times"].items()}
            low = {k: min(v) for k, v in res["times"].items()}
            cells = [name, str(batch_size), str(res["steps"])]
            cells += [f"{1e3 * med[k]:.1f} ({1e3 * low[k]:.1f})" for k in CONTENDERS]
            cells += [f"{med[a] / med[b]:.2f}x ({low[a] / low[b]:.2f}x)"
                      for a, b in (("pytorch", "babysit"), ("babysit", "numpy"))]
            print_row(cells)
            res.update(median=med, min=low, batch_size=batch_size, examples=n)
            results["sizes"][name] = res
        print("\nparameters after 3 steps from the same start, ||theta - theta_numpy|| / "
              "||theta_numpy||\n(against how far those steps moved them, "
              "||theta_numpy - theta_0|| / ||theta_0||):")
        for k, v in results["sizes"].items():
            d = v["weight_diff"]
            print(f"  {k}: babysit {d['babysit']:.1e}, PyTorch {d['pytorch']:.1e} "
                  f"(moved {d['moved']:.1e})")
    print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}")
    save_json(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
