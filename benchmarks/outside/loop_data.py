"""Data and small helpers for the plain PyTorch loops of torch_loops.py and confirm.py.

Everything is built in (scikit-learn's bundled tables, or synthetic with fixed seeds): no
downloads. Splits are 75/25, stratified for classes; inputs standardized on the training rows.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_wine,
    make_classification,
    make_regression,
)
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn


def tensors(Xtr, Xva, ytr, yva, yfloat=False):
    """(X, y, Xv, yv) as float32 inputs and int64 labels (float32 targets with `yfloat`)."""
    f = torch.float32
    ty = f if yfloat else torch.long
    return (torch.tensor(Xtr, dtype=f), torch.tensor(ytr, dtype=ty),
            torch.tensor(Xva, dtype=f), torch.tensor(yva, dtype=ty))


def split(X, y, seed=0, test_size=0.25, stratify=True):
    return train_test_split(X, y, test_size=test_size, random_state=seed,
                            stratify=y if stratify else None)


def standardize(Xtr, Xva):
    scaler = StandardScaler().fit(Xtr)
    return scaler.transform(Xtr), scaler.transform(Xva)


def digits(scale=True):
    """The 8x8 digits, 10 classes."""
    X, y = load_digits(return_X_y=True)
    Xtr, Xva, ytr, yva = split(X, y)
    if scale:
        Xtr, Xva = standardize(Xtr, Xva)
    return tensors(Xtr, Xva, ytr, yva)


def breast_cancer(yfloat=True):
    """Breast cancer, binary; float labels by default (for BCE losses)."""
    X, y = load_breast_cancer(return_X_y=True)
    Xtr, Xva, ytr, yva = split(X, y)
    Xtr, Xva = standardize(Xtr, Xva)
    return tensors(Xtr, Xva, ytr, yva, yfloat=yfloat)


def wine():
    """Wine, 178 rows, 3 classes."""
    X, y = load_wine(return_X_y=True)
    Xtr, Xva, ytr, yva = split(X, y)
    Xtr, Xva = standardize(Xtr, Xva)
    return tensors(Xtr, Xva, ytr, yva)


def blobs4(n=3000):
    """A 4-class make_classification task, 20 features of which 10 informative."""
    X, y = make_classification(n_samples=n, n_features=20, n_informative=10, n_redundant=4,
                               n_classes=4, n_clusters_per_class=1, class_sep=1.2,
                               random_state=3)
    Xtr, Xva, ytr, yva = split(X, y)
    Xtr, Xva = standardize(Xtr, Xva)
    return tensors(Xtr, Xva, ytr, yva)


def regression(n=2000, scale_y=True):
    """make_regression with a little curvature (so an MLP has work to do); targets
    standardized unless `scale_y` is False."""
    X, y = make_regression(n_samples=n, n_features=20, n_informative=12, noise=10.0,
                           random_state=4)
    y = y + 0.02 * y ** 2 / np.std(y)
    Xtr, Xva, ytr, yva = split(X, y, stratify=False)
    Xtr, Xva = standardize(Xtr, Xva)
    if scale_y:
        m, s = ytr.mean(), ytr.std()
        ytr, yva = (ytr - m) / s, (yva - m) / s
    return tensors(Xtr, Xva, ytr, yva, yfloat=True)


def sequences(n=2400, T=12, F=4, seed=5):
    """Binary sequence task: is the sum of feature 0 over the sequence positive (an LSTM has
    to carry it through time)."""
    g = np.random.default_rng(seed)
    X = g.normal(size=(n, T, F))
    y = (X[:, :, 0].sum(1) > 0).astype(int)
    Xtr, Xva, ytr, yva = split(X, y)
    return tensors(Xtr, Xva, ytr, yva)


def loader(X, y, seed, batch=64, shuffle=True):
    """Shuffled batches in an order fixed by `seed` + 1 (apart from the initialization's
    `seed`)."""
    ds = torch.utils.data.TensorDataset(X, y)
    return torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=shuffle,
                                       generator=torch.Generator().manual_seed(seed + 1))


def mlp(i, h, o, depth=2, act=nn.ReLU, dropout=0.0, last=None):
    """`depth` hidden layers of `h` units (dropout after each if given), then `last` if given."""
    layers, w = [], i
    for _ in range(depth):
        layers += [nn.Linear(w, h), act()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        w = h
    layers.append(nn.Linear(w, o))
    if last is not None:
        layers.append(last)
    return nn.Sequential(*layers)


@torch.no_grad()
def acc(model, X, y, predict=None):
    """Accuracy in eval mode (argmax unless `predict` is given); the mode is restored."""
    was = model.training
    model.eval()
    out = model(X)
    model.train(was)
    pred = predict(out) if predict else out.argmax(1)
    return (pred == y).float().mean().item()


@torch.no_grad()
def mse(model, X, y):
    """Mean squared error of a one-output model in eval mode; the mode is restored."""
    was = model.training
    model.eval()
    out = model(X).squeeze(-1)
    model.train(was)
    return ((out - y) ** 2).mean().item()
