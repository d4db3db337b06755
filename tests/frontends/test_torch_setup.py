"""The PyTorch sitter's setup (meta["setup"]) and its probe from several batches."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from babysit.torch import watch  # noqa: E402


def _run(model, loss_fn, X, y, epochs=3, batch=16, lr=1e-2):
    torch.manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sitter = watch(model, opt, loss_fn=loss_fn)
    for _ in range(epochs):
        for start in range(0, len(X), batch):
            opt.zero_grad()
            loss = loss_fn(model(X[start:start + batch]), y[start:start + batch])
            loss.backward()
            opt.step()
            sitter.log(loss)
        sitter.end_epoch()
    history = sitter.history
    sitter.close()
    return history


def _binary(n=256, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.float32)[:, None]
    return torch.as_tensor(X), torch.as_tensor(y)


def test_setup_read_from_the_loss_and_the_last_module():
    X, y = _binary()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 1), nn.Softmax(dim=1))
    history = _run(model, nn.BCELoss(), X, y)
    setup = history.meta["setup"]
    assert setup["output"]["activation"] == "softmax" and setup["output"]["units"] == 1
    assert setup["loss"]["name"] == "binary_cross_entropy"
    assert setup["task"] == "binary" and setup["targets"]["max"] == 1.0
    top = next(f for f in history.diagnose() if f.severity != "info")
    assert top.cause == "softmax_one_output"


def test_targets_of_a_classifier_counted_from_what_the_loss_is_given():
    rng = np.random.default_rng(1)
    X = torch.as_tensor(rng.standard_normal((300, 4)).astype(np.float32))
    y = torch.as_tensor(rng.integers(0, 3, 300))
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    history = _run(model, nn.CrossEntropyLoss(), X, y, epochs=1)
    targets = history.meta["setup"]["targets"]
    assert targets["classes"] == 3 and sum(targets["counts"]) == 300
    assert history.monitors["data"]["class_counts"] == targets["counts"]


def test_batch_size_one_reads_inputs_and_units_from_several_batches():
    """At batch size 1 the first batch is one row: the data record and the later probe come
    from the first epoch's rows, so neither 'no feature varies' nor 'dead units' is read
    off that one row."""
    X, y = _binary(200)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 32), nn.ReLU(), nn.Linear(32, 1), nn.Sigmoid())
    history = _run(model, nn.BCELoss(), X, y, epochs=2, batch=1, lr=1e-3)
    assert history.monitors["data"]["n"] == 200
    assert history.monitors["layers"]["probe_size"] == 128
    causes = {f.cause for f in history.diagnose() if f.severity != "info"}
    assert not causes & {"collapsed_predictions", "dead_units"}
