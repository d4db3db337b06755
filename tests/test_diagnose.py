"""The diagnosis names the problem planted in a run: a learning rate too high or too low,
overfitting, saturated tanh units, dead ReLUs; a healthy run gets no warning."""

from __future__ import annotations

import math

import numpy as np
import pytest

import babysit as bs
from babysit import monitors
from babysit.diagnose import Finding, diagnose


@pytest.fixture(scope="module")
def digits():
    data = bs.data.load("digits")
    mean = data.train.X.mean(axis=0)
    return data.train.X - mean, data.train.y, data.val.X - mean, data.val.y


def _run(digits, net=None, lr=1e-3, opt="adam", n=None, reg=1e-4, epochs=5, batch_size=32):
    X, y, Xv, yv = digits
    net = net if net is not None else bs.mlp(64, [100, 100], 10, seed=0)
    trainer = bs.Trainer(net, bs.losses.SoftmaxCrossEntropy(), bs.optim.get(opt, lr),
                         reg=bs.regularizers.L2(reg) if reg else None, batch_size=batch_size,
                         epochs=epochs, callbacks=monitors.default(image_shape=(8, 8)),
                         progress=False)
    try:
        return trainer.fit(X[:n], y[:n], val=(Xv, yv))
    except bs.DivergedError as err:
        return err.history


def _named(findings, what):
    hits = [f for f in findings if f.what == what]
    assert hits, f"no finding {what!r} in:\n" + "\n".join(map(str, findings))
    return hits[0]


def _warnings(findings):
    return [f for f in findings if f.severity in ("warning", "error")]


def test_learning_rate_10_is_too_high(digits):
    h = _run(digits, lr=10.0, epochs=2)
    f = _named(h.diagnose(), "learning rate too high")
    assert f.severity in ("warning", "error")
    assert "exploded" in f.evidence or "rose" in f.evidence or "became" in f.evidence


def test_a_diverged_run_is_diagnosed_from_the_errors_history(digits):
    X, y, _, _ = digits
    trainer = bs.Trainer(bs.mlp(64, [100, 100], 10, seed=0), bs.losses.SoftmaxCrossEntropy(),
                         bs.optim.SGD(10.0), batch_size=32, epochs=3,
                         callbacks=monitors.default(), progress=False)
    with np.errstate(all="ignore"), pytest.raises(bs.DivergedError) as caught:
        trainer.fit(X, y)
    f = _named(diagnose(caught.value.history), "learning rate too high")
    assert f.severity == "error" and ("nan" in f.evidence or "inf" in f.evidence)


def test_learning_rate_1e_7_is_too_low(digits):
    findings = _run(digits, lr=1e-7, epochs=3).diagnose()
    f = _named(findings, "learning rate too low")
    assert f.severity == "warning"
    assert _named(findings, "update ratio too small").severity == "warning"
    assert not [g for g in findings if g.what == "learning rate too high"]


def test_a_large_net_without_regularization_on_100_examples_overfits(digits):
    h = _run(digits, net=bs.mlp(64, [200, 200], 10, seed=0), n=100, reg=0, epochs=20)
    f = _named(h.diagnose(), "overfitting")
    assert f.severity == "warning"
    assert "gap" in f.evidence and "regulariz" in f.advice.lower()


def test_tanh_with_weights_times_10_saturates(digits):
    net = bs.mlp(64, [100, 100], 10, activation="tanh", init="xavier", seed=0)
    for p in net.parameters():
        if p.regularize:
            p.value *= 10
    findings = _run(digits, net=net, epochs=2).diagnose()
    f = _named(findings, "saturated units")
    assert f.severity == "warning" and "Tanh" in f.evidence
    assert _named(findings, "initial loss far from chance").severity == "warning"


def test_a_relu_layer_with_bias_minus_10_has_dead_units(digits):
    net = bs.mlp(64, [100, 100], 10, seed=0)
    net.layers[0].params["b"].value[:] = -10
    findings = _run(digits, net=net, epochs=2).diagnose()
    f = _named(findings, "dead units")
    assert f.severity == "error" and "1 ReLU: 100%" in f.evidence
    assert findings[0].severity == "error"  # errors come first


def test_a_healthy_digits_run_gets_no_warning(digits):
    findings = _run(digits, epochs=15, batch_size=64).diagnose()
    assert not _warnings(findings), "\n".join(map(str, findings))
    assert _named(findings, "learning rate looks fine").severity == "info"


def test_the_diagnosis_of_a_saved_run_is_the_same(digits, tmp_path):
    h = _run(digits, lr=1e-7, epochs=2)
    h.save(tmp_path / "history.json")
    assert bs.History.load(tmp_path / "history.json").diagnose() == h.diagnose()


# -- rules on hand-made histories: each shape of loss curve the notes draw ----------------------

def _history(loss, batch_size=32, train_acc=(), val_acc=()):
    chance = math.log(10)
    return bs.History(iters_per_epoch=10, loss=list(loss), data_loss=list(loss),
                      reg_loss=[0.0] * len(loss), lr=[1e-3] * len(loss),
                      train_acc=list(train_acc), val_acc=list(val_acc),
                      meta={"chance_loss": chance, "batch_size": batch_size, "n_classes": 10})


def test_a_slow_nearly_linear_decrease_is_a_learning_rate_too_low():
    f = _named(diagnose(_history(np.linspace(2.3, 1.2, 200))), "learning rate too low")
    assert "linear" in f.evidence


def test_a_fast_drop_then_a_high_plateau_is_a_learning_rate_too_high():
    t = np.arange(300)
    loss = 1.6 + 0.7 * np.exp(-t / 5)
    f = _named(diagnose(_history(loss)), "learning rate too high")
    assert "plateau" in f.evidence


def test_a_noisy_loss_names_the_batch_size():
    t = np.arange(400)
    loss = 2.3 * np.exp(-t / 40) + np.random.default_rng(0).uniform(0, 1.0, 400)
    f = _named(diagnose(_history(loss, batch_size=1)), "noisy loss")
    assert "batch size 1" in f.evidence and f.severity in ("info", "warning")


def test_validation_tracking_a_low_train_accuracy_is_under_fitting():
    loss = 2.3 * np.exp(-np.arange(100) / 20) + 1.0
    h = _history(loss, train_acc=[0.5, 0.6, 0.65], val_acc=[0.49, 0.6, 0.64])
    f = _named(diagnose(h), "under-fitting")
    assert f.severity == "warning" and "bigger" in f.advice


def test_an_exact_exponential_decay_is_fine_and_quiet():
    findings = diagnose(_history(2.3 * np.exp(-np.arange(300) / 30) + 0.01,
                                 train_acc=[0.99], val_acc=[0.985]))
    assert [f.what for f in findings] == ["learning rate looks fine"]


def test_an_empty_history_has_nothing_to_say():
    assert diagnose(bs.History()) == []


def test_a_finding_refuses_an_unknown_severity():
    with pytest.raises(ValueError, match="severity"):
        Finding("fatal", "x", "y", "z")
    assert str(Finding("info", "a", "b", "c")) == "[info] a: b. c"
