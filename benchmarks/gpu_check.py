"""babysit on a GPU: the same layer code on CuPy arrays, checked against the CPU, and timed.

    python benchmarks/gpu_check.py        # on a machine with CUDA and CuPy

Each check prints PASS or FAIL (with the error) and the next one runs regardless; the exit
status is the number of failures. Not part of the tests: CI has no GPU.
"""

from __future__ import annotations

import time
import traceback

import cupy as cp
import numpy as np

import babysit as bs
from babysit.backend import to_device, to_numpy
from babysit.sklearn import BabysitClassifier

CHECKS = []
DIGITS = bs.data.load("digits", seed=0)
SOFTMAX = bs.losses.SoftmaxCrossEntropy()


def check(name: str):
    """Register a check: a function returning a line of figures, raising when it fails."""
    def register(fn):
        CHECKS.append((name, fn))
        return fn
    return register


def loss_and_grads(net, loss, X, target) -> tuple[float, dict[str, np.ndarray]]:
    """One training-mode forward and backward pass; the loss and every gradient, on the host."""
    net.zero_grad()
    scores, backward = net.forward(to_device(X, net.device), train=True)
    value, dscores = loss(scores, to_device(target, net.device))
    backward(dscores)
    return float(value), {k: to_numpy(p.grad) for k, p in net.named_params().items()}


@check("float64 forward and backward on the GPU equal the CPU's (BatchNorm, dropout)")
def same_passes() -> str:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 64)), rng.integers(0, 10, 20)
    worst = 0.0
    for activation in ("relu", "leaky_relu", "tanh", "sigmoid"):
        cpu = bs.mlp(64, [32, 16], 10, activation=activation, batchnorm=True, dropout=0.3,
                     seed=1).astype("float64")
        gpu = cpu.copy().to("gpu")
        for loss in (SOFTMAX, bs.losses.MulticlassSVM(), bs.losses.MeanSquaredError()):
            target = y if loss.classification else np.eye(10)[y]
            (a, ga), (b, gb) = (loss_and_grads(net, loss, X, target) for net in (cpu, gpu))
            worst = max(worst, abs(a - b), *(np.abs(ga[k] - gb[k]).max() for k in ga))
    assert worst < 1e-9, worst
    return f"largest difference {worst:.1e}"


@check("gradient check and sanity checks of a GPU network")
def checks_on_gpu() -> str:
    net = bs.mlp(64, [16], 10, batchnorm=True, dropout=0.2, seed=0).to("gpu")
    X, y = DIGITS.train.X, DIGITS.train.y
    grads = bs.check.gradients(net, SOFTMAX, X[:4], y[:4], reg=bs.regularizers.L2(1e-3))
    assert grads.ok, str(grads)
    sanity = bs.check.sanity(bs.mlp(64, [32], 10, seed=0).to("gpu"), SOFTMAX, X, y,
                             reg=bs.regularizers.L2(1e-3))
    assert sanity.ok, str(sanity)
    worst = max(v.worst for v in grads.verdicts if v.worst is not None)
    return f"worst relative error {worst:.1e}"


@check("every optimizer with elastic net, max-norm, averaging and monitors: GPU == CPU")
def optimizers() -> str:
    lines = []
    for name, lr in (("sgd", 0.1), ("momentum", 0.05), ("nesterov", 0.05), ("adagrad", 0.05),
                     ("rmsprop", 1e-3), ("adam", 1e-3)):
        accuracies = []
        for device in ("cpu", "gpu"):
            net = bs.mlp(64, [64], 10, dropout=0.1, seed=0).to(device)
            trainer = bs.Trainer(net, SOFTMAX, bs.optim.get(name, lr),
                                 reg=bs.regularizers.ElasticNet(1e-5, 1e-4),
                                 constraints=[bs.regularizers.MaxNorm(3.0)], batch_size=32,
                                 epochs=5, seed=0, average=0.99, progress=None,
                                 callbacks=bs.monitors.default(DIGITS.image_shape))
            trainer.fit(DIGITS.train.X, DIGITS.train.y, val=DIGITS.val)
            assert net.device == device
            accuracies.append(trainer.accuracy(*DIGITS.test))
        lines.append(f"{name} {accuracies[0]:.4f}/{accuracies[1]:.4f}")
        assert abs(accuracies[0] - accuracies[1]) < 0.03, lines[-1]
    return "test accuracy cpu/gpu: " + ", ".join(lines)


@check("a checkpoint saved from the GPU loads on the CPU with the same predictions")
def checkpoints() -> str:
    net = bs.mlp(64, [32], 10, batchnorm=True, seed=0).to("gpu")
    bs.Trainer(net, SOFTMAX, bs.optim.Adam(1e-3), epochs=2, seed=0, progress=None).fit(
        DIGITS.train.X, DIGITS.train.y)
    back, _ = bs.load(bs.save("/tmp/babysit-gpu-check", net))
    on_gpu = to_numpy(net.forward(cp.asarray(DIGITS.test.X))[0])
    on_cpu = back.forward(DIGITS.test.X)[0]
    assert back.device == "cpu" and np.allclose(on_gpu, on_cpu, atol=1e-5)
    return f"largest difference {np.abs(on_gpu - on_cpu).max():.1e}"


@check("an ensemble of GPU networks and the scikit-learn estimator on the GPU")
def ensembles() -> str:
    def member(seed: int) -> bs.Trainer:
        return bs.Trainer(bs.mlp(64, [32], 10, seed=seed).to("gpu"), SOFTMAX,
                          bs.optim.Adam(1e-3), epochs=5, seed=seed, progress=None)

    ensemble = bs.ensemble.of_seeds(member, [0, 1, 2], DIGITS.train.X, DIGITS.train.y)
    clf = BabysitClassifier(hidden=(32,), epochs=10, device="gpu").fit(DIGITS.train.X,
                                                                       DIGITS.train.y)
    assert isinstance(clf.predict(DIGITS.test.X), np.ndarray)
    return (f"test accuracy: ensemble {ensemble.accuracy(*DIGITS.test):.4f}, "
            f"estimator {clf.score(DIGITS.test.X, DIGITS.test.y):.4f}")


@check("time per epoch: 3x1024 ReLU + dropout 0.5, Adam, max-norm, averaging, 50000 x 784")
def throughput() -> str:
    rng = np.random.default_rng(0)
    X, y = rng.random((50_000, 784), dtype=np.float32), rng.integers(0, 10, 50_000)
    net = bs.mlp(784, [1024] * 3, 10, dropout=0.5, seed=0).to("gpu")
    trainer = bs.Trainer(net, SOFTMAX, bs.optim.Adam(1e-3),
                         constraints=[bs.regularizers.MaxNorm(3.0)], batch_size=128, epochs=1,
                         seed=0, progress=None, average=0.999)
    trainer.fit(X[:2000], y[:2000])  # warm-up: CuPy compiles its kernels on first use
    trainer.epochs = 3
    cp.cuda.Device().synchronize()
    start = time.perf_counter()
    trainer.fit(X, y)
    cp.cuda.Device().synchronize()
    return f"{(time.perf_counter() - start) / 2:.2f} s per epoch (batch 128)"


def main() -> int:
    print(f"CuPy {cp.__version__} on {cp.cuda.runtime.getDeviceProperties(0)['name'].decode()}")
    failed = []
    for name, fn in CHECKS:
        start = time.perf_counter()
        try:
            figures = fn()
        except Exception:  # report and go on: one broken piece should not hide the others
            failed.append(name)
            print(f"FAIL {name}\n{traceback.format_exc()}", flush=True)
            continue
        print(f"PASS {name} ({time.perf_counter() - start:.1f} s): {figures}", flush=True)
    print(f"{len(CHECKS) - len(failed)} of {len(CHECKS)} checks pass")
    return len(failed)


if __name__ == "__main__":
    raise SystemExit(main())
