"""Faulty and healthy runs of babysit's own Trainer (default monitors), and variants of them:
does the first warning or error of `History.diagnose()` name the planted fault, and do the
healthy runs end without one?

The 21 faulty and 8 healthy runs were written by an outside tester in session 13, without
reading babysit's rules, on scikit-learn's bundled tables and generators (no downloads); the
12 probes (p_*) are the tester's variants of the runs babysit missed or named wrongly, on
other data, seeds or optimizers. `accepted` holds babysit's causes that name each planted
fault; verdicts: verdicts.py.

Halves: "tune" runs are the ones a rule was chosen on (h_circles_svm_nesterov, where a noisy
loss was a false alarm; dropout_09; maxnorm_tiny; regression_as_classes; in session 14
val_leakage_blobs, on which validation_leakage was chosen, l2_1_regression, on which
reg_too_strong's penalty that pulls a regression's fit back was, and p_label_noise_small_net,
on which noisy_train_labels was, a cause then accepted there); every other run and every
probe is "confirm", never used to choose anything.

    PYTHONPATH=src .venv/bin/python benchmarks/outside/engine_runs.py [--half tune|confirm]
        [--only NAME] [-v]

(about 10 s of one core).
"""

from __future__ import annotations

import argparse
import os
import warnings
from collections.abc import Callable, Collection
from dataclasses import dataclass

# Tiny matrices: a second BLAS thread only spins against the first (set before NumPy loads).
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402
from sklearn import datasets as skd  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from verdicts import Row, outcome, report, top3, verdict  # noqa: E402

import babysit as bs  # noqa: E402

F32 = np.float32


# -- data -----------------------------------------------------------------------------------

def split_scaled(X, y, seed=0, stratify=True):
    """A 75/25 split (stratified unless told not to), the inputs standardized by the training
    rows' means and deviations, as float32: (Xtr, ytr, Xv, yv)."""
    Xtr, Xv, ytr, yv = train_test_split(X, y, test_size=0.25, random_state=seed,
                                        stratify=y if stratify else None)
    mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-8
    return ((Xtr - mu) / sd).astype(F32), ytr, ((Xv - mu) / sd).astype(F32), yv


def clf_data(X, y, seed=0):
    """split_scaled with int64 labels."""
    Xtr, ytr, Xv, yv = split_scaled(X, y, seed)
    return Xtr, ytr.astype(np.int64), Xv, yv.astype(np.int64)


def scaled_targets(X, y):
    """An unstratified split_scaled whose targets are standardized too (float32)."""
    Xtr, ytr, Xv, yv = split_scaled(X, y, stratify=False)
    m, s = ytr.mean(), ytr.std()
    return Xtr, ((ytr - m) / s).astype(F32), Xv, ((yv - m) / s).astype(F32)


def regression10():
    """make_regression, 800 rows of 10 features (8 informative), targets standardized."""
    X, y = skd.make_regression(n_samples=800, n_features=10, n_informative=8, noise=5.0,
                               random_state=7)
    return scaled_targets(X, y)


def moons(n=600, noise=0.2, seed=0):
    return skd.make_moons(n_samples=n, noise=noise, random_state=seed)


def circles(n=600, seed=0):
    return skd.make_circles(n_samples=n, noise=0.08, factor=0.5, random_state=seed)


def mkclf(n=1500, f=20, classes=4, seed=0, **kw):
    return skd.make_classification(n_samples=n, n_features=f, n_informative=8,
                                   n_redundant=4, n_classes=classes, n_clusters_per_class=1,
                                   class_sep=1.5, random_state=seed, **kw)


def SCE():
    return bs.losses.SoftmaxCrossEntropy()


def MSE():
    return bs.losses.MeanSquaredError()


@dataclass
class Run:
    """A Trainer, its data, and what its diagnosis is scored against."""

    trainer: bs.Trainer
    data: tuple                         # (X, y, Xv, yv)
    planted: str | None                 # None: a healthy run
    accepted: Collection[str] | None
    note: str
    half: str
    named_in_what: tuple[str, ...]      # words of a divergence's `what` that name the fault


def case(trainer, data, planted, accept=(), note="", half="confirm", named_in_what=()) -> Run:
    """A run whose accepted causes are `accept`, or the planted cause alone by default."""
    accepted = None if planted is None else tuple(accept) or (planted,)
    return Run(trainer, data, planted, accepted, note, half, tuple(named_in_what))


# -- faults ---------------------------------------------------------------------------------

def shuffled_labels_moons():
    Xtr, ytr, Xv, yv = clf_data(*moons(800))
    ytr = np.random.default_rng(1).permutation(ytr)           # labels shuffled vs inputs
    net = bs.mlp(2, [16], 2, seed=0)
    t = bs.Trainer(net, SCE(), bs.optim.Adam(1e-2), reg=bs.regularizers.L2(1e-4),
                   batch_size=32, epochs=30)
    return case(t, (Xtr, ytr, Xv, yv), "labels_without_signal",
                ("labels_without_signal", "memorizing_noise"),
                "training labels permuted relative to inputs; small net")


def val_leakage_blobs():
    Xtr, ytr, _, _ = clf_data(*mkclf(n=300, f=30, classes=5, seed=3, flip_y=0.1))
    Xtr, ytr = Xtr[:120], ytr[:120]
    idx = np.random.default_rng(0).choice(len(Xtr), 60, replace=False)
    Xv, yv = Xtr[idx].copy(), ytr[idx].copy()                 # validation copied from train
    net = bs.mlp(30, [256, 256], 5, seed=0)
    t = bs.Trainer(net, SCE(), bs.optim.Adam(1e-3), batch_size=16, epochs=60)
    return case(t, (Xtr, ytr, Xv, yv), "validation_leakage (no cause in vocabulary)",
                ("validation_leakage", "overfitting"),
                "120 train rows, big net, val = 60 rows copied from train; true held-out acc "
                "is low", half="tune")


def one_feature_1e4():
    Xtr, ytr, Xv, yv = clf_data(*mkclf(n=1500, f=20, classes=3, seed=1))
    Xtr[:, 5] *= 1e4
    Xv[:, 5] *= 1e4                                            # one feature 1e4x the others
    net = bs.mlp(20, [64], 3, seed=0)
    t = bs.Trainer(net, SCE(), bs.optim.Momentum(1e-2), reg=bs.regularizers.L2(1e-4),
                   batch_size=32, epochs=20)
    return case(t, (Xtr, ytr, Xv, yv), "unscaled_inputs", note="feature 5 x1e4, momentum 0.01",
                named_in_what=("inputs not scaled",))


def label_noise_40():
    Xtr, ytr, Xv, yv = clf_data(*mkclf(n=1200, f=20, classes=3, seed=2))
    rng = np.random.default_rng(5)
    flip = rng.random(len(ytr)) < 0.4
    ytr = ytr.copy()
    ytr[flip] = (ytr[flip] + rng.integers(1, 3, flip.sum())) % 3   # 40% wrong labels
    net = bs.mlp(20, [256, 256], 3, seed=0)
    t = bs.Trainer(net, SCE(), bs.optim.Adam(1e-3), batch_size=32, epochs=60)
    return case(t, (Xtr, ytr, Xv, yv), "memorizing_noise (40% label noise)",
                ("memorizing_noise", "labels_without_signal"),
                "40% of training labels flipped; big unregularized net; val labels clean")


def too_small_circles():
    data = clf_data(*circles(800))
    net = bs.mlp(2, [1], 2, seed=0)                            # one hidden unit for a ring
    t = bs.Trainer(net, SCE(), bs.optim.Adam(1e-2), batch_size=32, epochs=40)
    return case(t, data, "underfitting (model too small)", ("underfitting",),
                "1 hidden ReLU unit on concentric circles")


def deep_sigmoid_default_init():
    data = clf_data(*mkclf(n=1500, f=20, classes=4, seed=4))
    net = bs.mlp(20, [64] * 7, 4, activation="sigmoid", seed=0)   # init left at default (he)
    t = bs.Trainer(net, SCE(), bs.optim.SGD(0.05), batch_size=32, epochs=15)
    return case(t, data, "vanishing_gradients", ("vanishing_gradients", "saturated_units"),
                "7 sigmoid layers, default init, SGD 0.05")


def imbalance_99():
    X, y = skd.make_classification(n_samples=4000, n_features=10, n_informative=3,
                                   weights=[0.99], class_sep=0.8, flip_y=0, random_state=6)
    net = bs.mlp(10, [32], 2, seed=0)
    t = bs.Trainer(net, SCE(), bs.optim.Adam(1e-3), reg=bs.regularizers.L2(1e-4),
                   batch_size=64, epochs=15)
    return case(t, clf_data(X, y), "class_imbalance", note="99:1 binary")


def dropout_09():
    cancer = skd.load_breast_cancer()
    net = bs.mlp(30, [64, 64], 2, dropout=0.9, seed=0)
    t = bs.Trainer(net, SCE(), bs.optim.SGD(0.01), batch_size=32, epochs=20)
    return case(t, clf_data(cancer.data, cancer.target, seed=1), "dropout_too_strong",
                note="dropout 0.9, SGD 0.01", half="tune")


def l2_1_regression():
    net = bs.mlp(10, [64], 1, seed=0)
    t = bs.Trainer(net, MSE(), bs.optim.Adam(1e-3), reg=bs.regularizers.L2(1.0),
                   batch_size=32, epochs=40)
    return case(t, regression10(), "reg_too_strong", note="regression, L2 1.0", half="tune")


def maxnorm_tiny():
    net = bs.mlp(2, [64, 64], 2, seed=0)
    t = bs.Trainer(net, SCE(), bs.optim.Adam(1e-2), constraints=bs.regularizers.MaxNorm(1e-3),
                   batch_size=32, epochs=30)
    return case(t, clf_data(*moons(800)), "reg_too_strong", note="max-norm c=1e-3 on moons",
                half="tune")


def lr_decay_to_zero():
    wine = skd.load_wine()
    Xtr, ytr, Xv, yv = clf_data(wine.data, wine.target, seed=2)
    per_epoch = int(np.ceil(len(ytr) / 16))
    sched = bs.optim.ExponentialDecay(1e-3, k=12.0 / per_epoch)   # ~6e-6 of lr0 after 1 epoch
    net = bs.mlp(13, [32], 3, init="xavier", activation="tanh", seed=0)
    t = bs.Trainer(net, SCE(), bs.optim.Adam(sched), batch_size=16, epochs=30)
    return case(t, (Xtr, ytr, Xv, yv), "lr_decayed_too_fast",
                note="exp decay reaching ~0 after epoch 1, wine, Adam 1e-3")


def targets_in_millions():
    X, y = skd.make_regression(n_samples=800, n_features=8, n_informative=6, noise=3.0,
                               random_state=8)
    Xtr, ytr, Xv, yv = split_scaled(X, y, stratify=False)
    ytr, yv = (ytr * 2e4 + 3e6).astype(F32), (yv * 2e4 + 3e6).astype(F32)   # millions
    net = bs.mlp(8, [32], 1, seed=0)
    t = bs.Trainer(net, MSE(), bs.optim.Adam(1e-3), batch_size=32, epochs=20)
    return case(t, (Xtr, ytr, Xv, yv), "unscaled_targets",
                note="targets ~3e6 +- 2e6, Adam 1e-3")


def regression_as_classes():
    diabetes = skd.load_diabetes()
    y = np.round(diabetes.target).astype(np.int64)             # 25..346 read as class ids
    net = bs.mlp(10, [64], int(y.max()) + 1, seed=0)
    t = bs.Trainer(net, SCE(), bs.optim.Adam(1e-3), batch_size=32, epochs=40)
    return case(t, split_scaled(diabetes.data, y, stratify=False), "wrong_loss",
                note="diabetes target as 347-way softmax", half="tune")


def classes_as_regression():
    X, y = skd.make_blobs(n_samples=900, centers=5, n_features=6, cluster_std=2.5,
                          random_state=9)
    Xtr, ytr, Xv, yv = split_scaled(X, y)
    net = bs.mlp(6, [32], 1, seed=0)
    t = bs.Trainer(net, MSE(), bs.optim.Adam(1e-3), batch_size=32, epochs=30)
    return case(t, (Xtr, ytr.astype(F32), Xv, yv.astype(F32)), "wrong_loss",
                note="5 unordered class ids 0..4 regressed on one MSE output")


def noise_inputs():
    rng = np.random.default_rng(10)
    y = rng.integers(0, 4, 1000)
    X = 7.0 + 1e-3 * rng.standard_normal((1000, 12))          # identical rows plus noise
    net = bs.mlp(12, [32], 4, seed=0)
    t = bs.Trainer(net, SCE(), bs.optim.Adam(1e-3), reg=bs.regularizers.L2(1e-4),
                   batch_size=32, epochs=20)
    return case(t, clf_data(X, y), "labels_without_signal",    # standardized: noise at unit scale
                ("labels_without_signal", "collapsed_predictions", "memorizing_noise"),
                "inputs identical up to 1e-3 noise, standardized")


def too_few_rows_moons():
    Xtr, ytr, Xv, yv = clf_data(*moons(430, noise=0.35, seed=11))
    net = bs.mlp(2, [512, 512], 2, seed=0)
    t = bs.Trainer(net, SCE(), bs.optim.Adam(3e-3), batch_size=8, epochs=150)
    return case(t, (Xtr[:24], ytr[:24], Xv, yv), "overfitting",
                note="24 rows, 512x512, noisy moons")


def adam_lr_1():
    net = bs.mlp(20, [64, 64], 4, seed=0)
    t = bs.Trainer(net, SCE(), bs.optim.Adam(1.0), batch_size=32, epochs=15)
    return case(t, clf_data(*mkclf(n=1500, f=20, classes=4, seed=12)), "lr_too_high",
                ("lr_too_high", "diverged"), "Adam lr 1.0")


def huge_init():
    cancer = skd.load_breast_cancer()
    net = bs.mlp(30, [64, 64], 2, seed=0)
    for layer in net.layers:
        if isinstance(layer, bs.layers.Linear):
            layer.params["W"].value *= 100.0                    # weights 100x He
    t = bs.Trainer(net, SCE(), bs.optim.SGD(1e-2), batch_size=32, epochs=20)
    return case(t, clf_data(cancer.data, cancer.target, seed=3), "bad_initial_loss (huge init)",
                ("bad_initial_loss", "exploding_gradients", "diverged", "lr_too_high"),
                "every weight x100, SGD 0.01")


def bias_minus5():
    net = bs.mlp(2, [64, 64], 2, bias=-5.0, seed=0)            # every hidden bias -5
    t = bs.Trainer(net, SCE(), bs.optim.Adam(1e-3), batch_size=32, epochs=30)
    return case(t, clf_data(*circles(800, seed=13)), "dead_units",
                note="hidden biases -5, ReLU, circles")


def zeros_init():
    net = bs.mlp(16, [64, 64], 3, activation="tanh", seed=0)
    for layer in net.layers:                                    # a constant init, 0.05 each
        if isinstance(layer, bs.layers.Linear):
            layer.params["W"].value[:] = 0.05
    t = bs.Trainer(net, SCE(), bs.optim.SGD(0.1), batch_size=32, epochs=20)
    return case(t, clf_data(*mkclf(n=1200, f=16, classes=3, seed=14)), "symmetry",
                note="every weight the constant 0.05 (user's own init), tanh, SGD 0.1")


def batch1_sgd_high_circles():
    net = bs.mlp(2, [32, 32], 2, seed=0)
    t = bs.Trainer(net, SCE(), bs.optim.SGD(0.8), batch_size=1, epochs=3)
    return case(t, clf_data(*circles(600, seed=15)), "noisy_loss / lr_too_high",
                ("noisy_loss", "lr_too_high", "diverged"), "batch 1, SGD 0.8 (x4 the zoo's)")


# -- healthy --------------------------------------------------------------------------------

def h_digits_tanh_rmsprop():
    digits = skd.load_digits()
    net = bs.mlp(64, [128], 10, activation="tanh", init="xavier", seed=0)
    t = bs.Trainer(net, SCE(), bs.optim.RMSprop(1e-3), reg=bs.regularizers.L2(1e-4),
                   batch_size=64, epochs=20)
    return case(t, clf_data(digits.data, digits.target, seed=20), None,
                note="sklearn digits, tanh 128, RMSprop")


def h_wine_momentum():
    wine = skd.load_wine()
    net = bs.mlp(13, [32], 3, seed=0)
    t = bs.Trainer(net, SCE(), bs.optim.Momentum(0.02), reg=bs.regularizers.L2(1e-4),
                   batch_size=16, epochs=40)
    return case(t, clf_data(wine.data, wine.target, seed=21), None,
                note="wine, relu 32, momentum 0.02")


def h_cancer_sgd():
    cancer = skd.load_breast_cancer()
    net = bs.mlp(30, [32, 16], 2, seed=0)
    t = bs.Trainer(net, SCE(), bs.optim.SGD(0.05), reg=bs.regularizers.L2(1e-3),
                   batch_size=16, epochs=30)
    return case(t, clf_data(cancer.data, cancer.target, seed=22), None,
                note="breast cancer, 32-16, SGD 0.05")


def h_iris_adam():
    iris = skd.load_iris()
    net = bs.mlp(4, [16], 3, seed=0)
    t = bs.Trainer(net, SCE(), bs.optim.Adam(1e-2), batch_size=8, epochs=50)
    return case(t, clf_data(iris.data, iris.target, seed=23), None, note="iris, 16, Adam 1e-2")


def h_mkclf_dropout():
    net = bs.mlp(20, [128, 64], 4, dropout=0.2, seed=0)
    t = bs.Trainer(net, SCE(), bs.optim.Adam(1e-3), reg=bs.regularizers.L2(1e-4),
                   batch_size=64, epochs=25)
    return case(t, clf_data(*mkclf(n=2000, f=20, classes=4, seed=24)), None,
                note="make_classification 4-way, dropout 0.2")


def h_moons_adam():
    net = bs.mlp(2, [64, 64], 2, seed=0)
    t = bs.Trainer(net, SCE(), bs.optim.Adam(3e-3), batch_size=32, epochs=30)
    return case(t, clf_data(*moons(1000, noise=0.15, seed=25)), None,
                note="moons, 64-64, Adam 3e-3")


def h_regression_adam():
    X, y = skd.make_regression(n_samples=1000, n_features=10, n_informative=8, noise=10.0,
                               random_state=26)
    net = bs.mlp(10, [64], 1, seed=0)
    t = bs.Trainer(net, MSE(), bs.optim.Adam(1e-3), reg=bs.regularizers.L2(1e-4),
                   batch_size=32, epochs=40)
    return case(t, scaled_targets(X, y), None, note="make_regression, targets standardized")


def h_circles_svm_nesterov():
    net = bs.mlp(2, [32, 32], 2, activation="leaky_relu", seed=0)
    t = bs.Trainer(net, bs.losses.MulticlassSVM(), bs.optim.Momentum(0.05, nesterov=True),
                   batch_size=32, epochs=40)
    return case(t, clf_data(*circles(800, seed=27)), None,
                note="circles, SVM loss, Nesterov 0.05", half="tune")


# -- probes: variants of the runs babysit missed, named wrongly or alarmed on ------------------

def p_maxnorm_sgd():
    net = bs.mlp(2, [64, 64], 2, seed=0)
    t = bs.Trainer(net, SCE(), bs.optim.SGD(0.05), constraints=bs.regularizers.MaxNorm(1e-3),
                   batch_size=32, epochs=30)
    return case(t, clf_data(*moons(800)), "reg_too_strong", note="max-norm 1e-3, SGD 0.05")


def p_maxnorm_digits_adam1e3():
    digits = skd.load_digits()
    net = bs.mlp(64, [100], 10, seed=0)
    t = bs.Trainer(net, SCE(), bs.optim.Adam(1e-3), constraints=bs.regularizers.MaxNorm(1e-3),
                   batch_size=32, epochs=15)
    return case(t, clf_data(digits.data, digits.target, seed=1), "reg_too_strong",
                note="max-norm 1e-3, Adam 1e-3, digits")


def p_dropout09_adam():
    net = bs.mlp(20, [64, 64], 4, dropout=0.9, seed=0)
    t = bs.Trainer(net, SCE(), bs.optim.Adam(1e-3), batch_size=32, epochs=20)
    return case(t, clf_data(*mkclf(n=1500, f=20, classes=4, seed=30)), "dropout_too_strong",
                note="dropout 0.9, Adam, mkclf")


def p_dropout09_cancer_seed2():
    cancer = skd.load_breast_cancer()
    net = bs.mlp(30, [64, 64], 2, dropout=0.9, seed=2)
    t = bs.Trainer(net, SCE(), bs.optim.SGD(0.01), batch_size=32, epochs=20)
    return case(t, clf_data(cancer.data, cancer.target, seed=5), "dropout_too_strong",
                note="dropout 0.9, SGD, cancer seed 2")


def p_l2_1_moons():
    net = bs.mlp(2, [64], 2, seed=0)
    t = bs.Trainer(net, SCE(), bs.optim.Adam(1e-2), reg=bs.regularizers.L2(1.0), batch_size=32,
                   epochs=30)
    return case(t, clf_data(*moons(800)), "reg_too_strong", note="L2 1.0 moons")


def p_l2_1_regression_sgd():
    net = bs.mlp(10, [64], 1, seed=0)
    t = bs.Trainer(net, MSE(), bs.optim.SGD(0.01), reg=bs.regularizers.L2(1.0), batch_size=32,
                   epochs=40)
    return case(t, regression10(), "reg_too_strong", note="regression L2 1.0, SGD")


def p_l2_1e4_regression_same():
    net = bs.mlp(10, [64], 1, seed=0)
    t = bs.Trainer(net, MSE(), bs.optim.Adam(1e-3), reg=bs.regularizers.L2(1e-4),
                   batch_size=32, epochs=40)
    return case(t, regression10(), None, note="same regression, L2 1e-4 (baseline)")


def p_label_noise_small_net():
    Xtr, ytr, Xv, yv = clf_data(*mkclf(n=1200, f=20, classes=3, seed=2))
    rng = np.random.default_rng(5)
    flip = rng.random(len(ytr)) < 0.4
    ytr = ytr.copy()
    ytr[flip] = (ytr[flip] + rng.integers(1, 3, flip.sum())) % 3
    net = bs.mlp(20, [32], 3, seed=0)
    t = bs.Trainer(net, SCE(), bs.optim.Adam(1e-3), reg=bs.regularizers.L2(1e-4),
                   batch_size=32, epochs=30)
    return case(t, (Xtr, ytr, Xv, yv), "memorizing_noise",
                ("memorizing_noise", "labels_without_signal", "noisy_train_labels"),
                "40% noise, small net", half="tune")


def p_leakage_moons():
    Xtr, ytr, _, _ = clf_data(*moons(300, noise=0.35, seed=3))
    Xtr, ytr = Xtr[:40], ytr[:40]
    net = bs.mlp(2, [256, 256], 2, seed=0)
    t = bs.Trainer(net, SCE(), bs.optim.Adam(3e-3), batch_size=8, epochs=100)
    return case(t, (Xtr, ytr, Xtr[:20].copy(), ytr[:20].copy()), "validation_leakage",
                note="moons 40 rows, val copied")


def p_svm_healthy_moons():
    net = bs.mlp(2, [64, 64], 2, seed=0)
    t = bs.Trainer(net, bs.losses.MulticlassSVM(), bs.optim.Adam(3e-3), batch_size=32,
                   epochs=40)
    return case(t, clf_data(*moons(800, noise=0.1, seed=31)), None,
                note="SVM loss, Adam, easy moons")


def p_svm_healthy_iris():
    iris = skd.load_iris()
    net = bs.mlp(4, [32], 3, seed=0)
    t = bs.Trainer(net, bs.losses.MulticlassSVM(), bs.optim.Momentum(0.02), batch_size=8,
                   epochs=60)
    return case(t, clf_data(iris.data, iris.target, seed=32), None,
                note="SVM loss, momentum, iris")


def p_svm_circles_seed1():
    net = bs.mlp(2, [32, 32], 2, activation="leaky_relu", seed=1)
    t = bs.Trainer(net, bs.losses.MulticlassSVM(), bs.optim.Momentum(0.05, nesterov=True),
                   batch_size=32, epochs=40)
    return case(t, clf_data(*circles(800, seed=33)), None,
                note="circles SVM nesterov, other seeds")


CASES: list[Callable[[], Run]] = [
    shuffled_labels_moons, val_leakage_blobs, one_feature_1e4, label_noise_40,
    too_small_circles, deep_sigmoid_default_init, imbalance_99, dropout_09, l2_1_regression,
    maxnorm_tiny, lr_decay_to_zero, targets_in_millions, regression_as_classes,
    classes_as_regression, noise_inputs, too_few_rows_moons, adam_lr_1, huge_init,
    bias_minus5, zeros_init, batch1_sgd_high_circles,
    h_digits_tanh_rmsprop, h_wine_momentum, h_cancer_sgd, h_iris_adam, h_mkclf_dropout,
    h_moons_adam, h_regression_adam, h_circles_svm_nesterov,
    p_maxnorm_sgd, p_maxnorm_digits_adam1e3, p_dropout09_adam, p_dropout09_cancer_seed2,
    p_l2_1_moons, p_l2_1_regression_sgd, p_l2_1e4_regression_same, p_label_noise_small_net,
    p_leakage_moons, p_svm_healthy_moons, p_svm_healthy_iris, p_svm_circles_seed1,
]


def evaluate(name: str, run: Run) -> tuple[Row, list]:
    """Fit the run (a divergence ends it with its history), diagnose, and score: the table's
    row and the findings."""
    X, y, Xv, yv = run.data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            history, diverged = run.trainer.fit(X, y, val=(Xv, yv)), False
        except bs.DivergedError as err:
            history, diverged = err.history, True
    findings = history.diagnose()
    result = "diverged" if diverged else outcome(history)
    val_loss = next((v for v in reversed(history.val_loss) if v is not None), None)
    if not diverged and val_loss is not None and all(a is None for a in history.train_acc):
        # babysit's MeanSquaredError is half the squared error
        result += f", val R^2 {1 - 2 * val_loss / float(np.var(yv)):.2f}"
    row = Row(name, run.half, run.planted is None,
              verdict(findings, run.accepted, named_in_what=run.named_in_what), result,
              top3(findings), run.planted or f"healthy: {run.note}")
    return row, findings


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=("tune", "confirm", "all"), default="all")
    parser.add_argument("--only", default=None, help="run the cases whose name contains this")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every finding")
    args = parser.parse_args(argv)
    runs = ((make.__name__, make()) for make in CASES
            if not args.only or args.only in make.__name__)
    return report((evaluate(name, run) for name, run in runs
                   if args.half == "all" or run.half == args.half), args.verbose)


if __name__ == "__main__":
    raise SystemExit(main())
