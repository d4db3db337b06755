"""The setup rules (babysit.diagnose.setup): the output layer and the loss against the task."""

import math

import numpy as np
import pytest

from babysit.diagnose import diagnose
from babysit.diagnose.setup import chance_loss
from babysit.training.history import History


def _setup(activation="none", units=10, loss="cross_entropy", task="classify", **targets):
    base = {"classes": None, "counts": None, "mean": None, "std": None, "min": None,
            "max": None}
    return {"output": {"activation": activation, "units": units, "seen": "declared"},
            "loss": {"name": loss, "reduction": "mean"}, "task": task,
            "targets": {**base, **targets}}


def _history(setup, losses, train_acc=0.5):
    h = History()
    for value in losses:
        h.record_step(float(value), 0.0, 0.1)
    h.iters_per_epoch = len(losses) // 4
    for _ in range(4):
        h.train_acc.append(train_acc)
        h.val_acc.append(train_acc)
    h.meta["setup"] = setup
    return h


def test_chance_loss_per_loss():
    assert chance_loss(_setup()) == pytest.approx(math.log(10))
    assert chance_loss(_setup("sigmoid", 1, "binary_cross_entropy", "binary")) \
        == pytest.approx(math.log(2))
    # MSE of outputs at 0 on targets of mean 3 and std 2: 9 + 4
    assert chance_loss(_setup("none", 1, "mse", "regress", mean=3.0, std=2.0)) \
        == pytest.approx(13.0)
    assert chance_loss(_setup("none", 1, "mse", "regress")) is None  # targets not seen
    summed = _setup()
    summed["loss"]["reduction"] = "sum"
    assert chance_loss(summed) is None


@pytest.mark.parametrize("setup, cause", [
    (_setup("softmax", 1, "binary_cross_entropy", "binary", min=0.0, max=1.0),
     "softmax_one_output"),
    (_setup("softmax", 2, "mse", "classify"), "wrong_loss"),
    (_setup("sigmoid", 1, "bce_with_logits", "binary", classes=3, max=2.0), "wrong_loss"),
    (_setup("softmax", 10), "double_softmax"),
    (_setup("relu", 10), "logit_activation"),
    (_setup("sigmoid", 3), "logit_activation"),
    (_setup("tanh", 1, "mse", "regress", mean=50.0, std=10.0, min=20.0, max=90.0),
     "output_range"),
    (_setup("relu", 1, "binary_cross_entropy", "binary", min=0.0, max=1.0), "output_range"),
])
def test_setup_that_cannot_learn_leads(setup, cause):
    rng = np.random.default_rng(0)
    h = _history(setup, 0.7 + 0.01 * rng.standard_normal(400))
    top = next(f for f in diagnose(h) if f.severity != "info")
    assert top.cause == cause


def test_sound_setups_name_no_setup_cause():
    rng = np.random.default_rng(0)
    falling = 2.3 * np.exp(-np.arange(400) / 60) + 0.05 + 0.01 * rng.standard_normal(400)
    for setup in (_setup(), _setup("log_softmax", 10, "nll"),
                  _setup("sigmoid", 1, "binary_cross_entropy", "binary", min=0.0, max=1.0),
                  _setup("sigmoid", 1, "mse", "regress", mean=0.5, std=0.2, min=0.0, max=1.0)):
        causes = {f.cause for f in diagnose(_history(setup, falling, train_acc=0.97))}
        assert not causes & {"softmax_one_output", "wrong_loss", "output_range",
                             "double_softmax", "logit_activation"}, setup


def test_too_few_updates_instead_of_a_guess():
    h = _history(_setup(), np.linspace(2.3, 2.0, 36), train_acc=0.3)
    top = next(f for f in diagnose(h) if f.severity != "info")
    assert top.cause == "too_few_updates"
    assert "36 updates" in top.evidence
