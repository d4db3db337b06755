"""How `benchmarks/accuracy.py` chose its dropout, max-norm and learning rates: a grid over the
3x1024 ReLU network on the 50,000/10,000 training/validation split, on a GPU with PyTorch.

    python benchmarks/accuracy_sweep.py [--smoke]     # CUDA, PyTorch; `make data` or BABYSIT_DATA
    python benchmarks/accuracy_sweep.py --bounds      # the max-norm bounds, as the benchmark runs

The K networks of a group train side by side as one batched network (a weight tensor of
shape (K, n_in, n_out) per layer, `torch.baddbmm`), on the same mini-batches, each with its own
hyperparameters, dropout masks and initial weights. Each follows babysit's algorithm: He init,
zero biases, inverted dropout, Adam (bias-corrected, eps outside the square root) or momentum
(v = mu v - lr dw), the learning rate decayed exponentially to lr * f over the run, max-norm on
each unit's incoming weights after every step, and a bias-corrected running average of the
weights. TF32 matrix products keep it fast; the rows are chosen on validation error, and the
test error is printed only to compare with the final CPU run. `--bounds` instead trains
as `benchmarks/accuracy.py` does (all 60,000 training images, 40 epochs; "val" is then the test
error) with max-norm bounds of none, 1.5, 2 and 3, three networks each, to see whether a bound
binds at all and whether it helps. Results go to sweep.jsonl in --out, one line per network.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import babysit as bs

NO_BOUND = 1e9  # a max-norm bound no unit reaches
DECAYS = (0.999, 0.9998)  # the running averages kept beside the trained weights
WIDTHS = (784, 1024, 1024, 1024, 10)


def grid(**axes) -> list[dict]:
    return [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())]


GROUPS = {  # name: (data, optimizer, epochs, configurations)
    "mnist-adam": ("mnist", "adam", 60, grid(
        lr=[5e-4, 1e-3, 2e-3], f=[0.01, 0.001], p_in=[0.0, 0.2], p_h=[0.5],
        c=[NO_BOUND, 2.0, 3.0, 4.0], mu=[0.0])),
    "mnist-momentum": ("mnist", "momentum", 60, grid(
        lr=[0.03, 0.1, 0.3, 1.0], f=[0.01], p_in=[0.0, 0.2], p_h=[0.5], c=[2.0, 3.0, 4.0],
        mu=[0.9, 0.95])),
    "fashion-adam": ("fashion-mnist", "adam", 40, grid(
        lr=[5e-4, 1e-3], f=[0.01], p_in=[0.0, 0.1, 0.2], p_h=[0.2, 0.3, 0.5],
        c=[NO_BOUND, 3.0], mu=[0.0])),
}


def load(name: str, device: str, limit: int | None) -> dict:
    data = bs.data.load(name, seed=0)
    splits = {"train": data.train, "val": data.val, "test": data.test}
    out = {}
    for key, split in splits.items():
        X, y = split.X, split.y
        if key == "train" and limit:
            X, y = X[:limit], y[:limit]
        out[key] = (torch.from_numpy(X).to(device), torch.from_numpy(y).long().to(device))
    return out


def errors(Ws, bs_, X, y) -> list[float]:
    """Test-time error (%) of each of the K networks on (X, y)."""
    wrong = torch.zeros(Ws[0].shape[0], device=X.device)
    with torch.no_grad():
        for i in range(0, len(y), 5000):
            h = X[i:i + 5000].unsqueeze(0).expand(Ws[0].shape[0], -1, -1)
            for j, (W, b) in enumerate(zip(Ws, bs_, strict=True)):
                h = torch.baddbmm(b, h, W)
                h = h.relu_() if j < len(Ws) - 1 else h
            wrong += (h.argmax(-1) != y[i:i + 5000]).sum(1)
    return (100 * wrong / len(y)).tolist()


def train_group(data: dict, configs: list[dict], optimizer: str, epochs: int, seed: int,
                batch: int = 128) -> list[dict]:
    """Train the K networks of `configs` together; one result row per network."""
    K, device = len(configs), data["train"][0].device
    gen = torch.Generator(device=device).manual_seed(1234 + seed)
    Ws = [(torch.randn(K, a, b, device=device, generator=gen) * math.sqrt(2 / a))
          .requires_grad_() for a, b in zip(WIDTHS[:-1], WIDTHS[1:], strict=True)]
    Bs = [torch.zeros(K, 1, b, device=device, requires_grad=True) for b in WIDTHS[1:]]
    params = Ws + Bs

    def column(key):
        return torch.tensor([c[key] for c in configs], device=device).view(K, 1, 1)

    lr0, f, p_in, p_h, bound, mu = (column(k) for k in ("lr", "f", "p_in", "p_h", "c", "mu"))
    first = [torch.zeros_like(p) for p in params]  # Adam's m, or the momentum's velocity
    second = [torch.zeros_like(p) for p in params]  # Adam's v
    averages = {d: [p.detach().clone() for p in params] for d in DECAYS}
    X, y = data["train"]
    n = len(y)
    total = epochs * math.ceil(n / batch)
    rng = np.random.default_rng(seed)
    t, start, curve = 0, time.time(), []
    for epoch in range(epochs):
        order = torch.from_numpy(rng.permutation(n)).to(device)
        Xs, ys = X[order], y[order]
        for i in range(0, n, batch):
            xb, yb = Xs[i:i + batch], ys[i:i + batch]
            B = len(yb)
            keep = 1 - p_in
            h = xb.unsqueeze(0).expand(K, B, WIDTHS[0])
            h = h * ((torch.rand(K, B, WIDTHS[0], device=device, generator=gen) < keep) / keep)
            for j, (W, b) in enumerate(zip(Ws, Bs, strict=True)):
                h = torch.baddbmm(b, h, W)
                if j < len(Ws) - 1:
                    keep = 1 - p_h
                    mask = torch.rand(K, B, h.shape[-1], device=device, generator=gen) < keep
                    h = h.relu() * (mask / keep)
            # the sum of the K mean losses: each network's gradient is its own loss's
            loss = F.cross_entropy(h.reshape(K * B, -1), yb.repeat(K), reduction="sum") / B
            grads = torch.autograd.grad(loss, params)
            t += 1
            lr = lr0 * f ** (t / total)
            with torch.no_grad():
                for p, g, m, v in zip(params, grads, first, second, strict=True):
                    if optimizer == "adam":
                        m.mul_(0.9).add_(g, alpha=0.1)
                        v.mul_(0.999).addcmul_(g, g, value=0.001)
                        p.sub_(lr / (1 - 0.9**t) * m / (v / (1 - 0.999**t)).sqrt_().add_(1e-8))
                    else:
                        m.mul_(mu).sub_(lr * g)
                        p.add_(m)
                for W in Ws:
                    W.mul_(torch.clamp(bound / W.norm(dim=1, keepdim=True).clamp_min(1e-12),
                                       max=1.0))
                for d, avg in averages.items():
                    torch._foreach_lerp_(avg, [p.detach() for p in params],
                                         (1 - d) / (1 - d**t))
        if (epoch + 1) % 10 == 0 or epoch + 1 == epochs:
            curve.append(errors(Ws, Bs, *data["val"]))
    rows = [{**c, "optimizer": optimizer, "epochs": epochs, "seed": seed,
             "val": v, "test": te, "val_every_10_epochs": [row[k] for row in curve],
             "seconds": round(time.time() - start, 1)}
            for k, (c, v, te) in enumerate(zip(configs, errors(Ws, Bs, *data["val"]),
                                                errors(Ws, Bs, *data["test"]), strict=True))]
    for d, avg in averages.items():
        for row, v, te in zip(rows, errors(avg[:4], avg[4:], *data["val"]),
                              errors(avg[:4], avg[4:], *data["test"]), strict=True):
            row[f"val_averaged_{d}"], row[f"test_averaged_{d}"] = v, te
    return rows


def report(name: str, rows: list[dict], out: Path) -> None:
    with open(out / "sweep.jsonl", "a") as f:
        for row in rows:
            f.write(json.dumps({"group": name, **row}) + "\n")
    print(f"\n{name}: the 5 best of {len(rows)} by validation error "
          f"(averaged weights, decay {DECAYS[0]})")
    for r in sorted(rows, key=lambda r: r[f"val_averaged_{DECAYS[0]}"])[:5]:
        bound = "-" if r["c"] >= NO_BOUND else f"{r['c']:g}"
        print(f"  lr {r['lr']:<6g} to x{r['f']:<6g} dropout {r['p_in']:g}/{r['p_h']:g} "
              f"max-norm {bound:<3} mu {r['mu']:<4g} val {r['val']:.2f}% "
              f"(averaged {r[f'val_averaged_{DECAYS[0]}']:.2f}%) "
              f"test {r['test']:.2f}%", flush=True)


BOUNDS = (NO_BOUND, 1.5, 2.0, 3.0)


def bounds_check(device: str, out: Path, smoke: bool) -> None:
    """Each benchmark row's network with each of BOUNDS, three networks per bound, trained
    on all 60,000 training images and scored on the test images, like the benchmark."""
    for name, p_in, p_h in (("mnist", 0.2, 0.5), ("fashion-mnist", 0.0, 0.2)):
        d = load(name, device, 2000 if smoke else None)
        train = tuple(torch.cat([a, b]) for a, b in zip(d["train"], d["val"], strict=True))
        data = {"train": train, "val": d["test"], "test": d["test"]}
        configs = [dict(lr=1e-3, f=0.01, p_in=p_in, p_h=p_h, c=c, mu=0.0)
                   for c in BOUNDS for _ in range(3)]
        report(f"bounds-{name}", train_group(data, configs, "adam", 2 if smoke else 40, seed=0),
               out)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("sweep"))
    p.add_argument("--seeds", type=int, default=3,
                   help="seeds for the best 8 (Adam) and 4 (momentum) MNIST rows (default 3)")
    p.add_argument("--smoke", action="store_true", help="2 epochs on 2,000 images, 3 per group")
    p.add_argument("--bounds", action="store_true", help="only the max-norm bounds check")
    args = p.parse_args(argv)
    torch.backends.cuda.matmul.allow_tf32 = True
    device = "cuda" if torch.cuda.is_available() else "cpu"
    args.out.mkdir(parents=True, exist_ok=True)
    if args.bounds:
        bounds_check(device, args.out, args.smoke)
        return
    datasets, pool = {}, {}
    for name, (data, optimizer, epochs, configs) in GROUPS.items():
        if data not in datasets:
            datasets[data] = load(data, device, 2000 if args.smoke else None)
        if args.smoke:
            configs, epochs = configs[:3], 2
        rows = train_group(datasets[data], configs, optimizer, epochs, seed=0)
        report(name, rows, args.out)
        pool[name] = rows
    # the best MNIST rows again with other seeds, so that the choice is not one seed's luck
    keys = ("lr", "f", "p_in", "p_h", "c", "mu")
    for name, top in (("mnist-adam", 8), ("mnist-momentum", 4)):
        _, optimizer, epochs, _ = GROUPS[name]
        best = sorted(pool[name], key=lambda r: r[f"val_averaged_{DECAYS[0]}"])[:top]
        for seed in range(1, args.seeds):
            rows = train_group(datasets["mnist"], [{k: r[k] for k in keys} for r in best],
                               optimizer, 2 if args.smoke else epochs, seed=seed)
            report(f"{name}-seed{seed}", rows, args.out)


if __name__ == "__main__":
    main()
