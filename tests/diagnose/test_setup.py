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


def _with_layers(h, identical=None, start=None, dead=(0.0, 0.0)):
    """A History with a layers record of one hidden Linear (and the output), start and end:
    `identical` the hidden layer's share of copies at the end (and the start, unless `start`
    gives (hidden, output) shares there), `dead` its ReLU's dead share at start and end."""
    act = {"mean": 0.0, "std": 1.0, "nonfinite": 0.0, "lo": -1.0, "hi": 1.0, "counts": [1]}

    def layers(hidden, out, dead_now):
        shown = {**act, **({"identical": hidden} if hidden is not None else {})}
        return [shown, {**act, "dead": dead_now}, {**act, "identical": out}]

    first = layers(*(start or (identical, 0.0)), dead[0])
    h.monitors["layers"] = {
        "names": ["0 Linear", "1 ReLU", "2 Linear"], "kinds": ["Linear", "ReLU", "Linear"],
        "samples": [{"iteration": i, "loss": None, "predicted": None, "grad_norm": None,
                     "activations": acts}
                    for i, acts in ((0, first), (400, layers(identical, 0.0, dead[1])))]}
    return h


def test_symmetry_named_when_a_layers_units_stay_identical():
    rng = np.random.default_rng(0)
    h = _with_layers(_history(_setup(), 1.2 + 0.01 * rng.standard_normal(400), 0.25), 1.0)
    top = next(f for f in diagnose(h) if f.severity != "info")
    assert top.cause == "symmetry" and top.concerns == ("0 Linear",)
    h = _with_layers(_history(_setup(), 1.2 + 0.01 * rng.standard_normal(400), 0.25), 0.0)
    assert "symmetry" not in {f.cause for f in diagnose(h)}


def test_units_that_started_as_copies_explain_the_dead_ones():
    """All weights zero (random biases): every unit of the hidden layer and of the one after it
    started as a copy, the biases told them apart later, and half the ReLUs are silent from
    the start. Symmetry is the root; a layer zeroed under a random one (LoRA's B) is not."""
    rng = np.random.default_rng(0)
    losses = 1.2 + 0.01 * rng.standard_normal(400)
    h = _with_layers(_history(_setup(), losses, 0.45), 0.0, start=(1.0, 1.0), dead=(0.5, 0.5))
    top = next(f for f in diagnose(h) if f.severity != "info")
    assert top.cause == "symmetry" and top.concerns == ("0 Linear",)
    assert "dead_units" not in {f.cause for f in diagnose(h)}  # claimed: symmetry explains it
    h = _with_layers(_history(_setup(), losses, 0.45), 0.0, start=(1.0, 0.0), dead=(0.5, 0.5))
    causes = [f.cause for f in diagnose(h) if f.severity != "info"]
    assert "symmetry" not in causes and causes[0] == "dead_units"


def test_dropout_too_strong_names_the_rate_when_it_underfits():
    rng = np.random.default_rng(0)
    falling = 2.3 * np.exp(-np.arange(400) / 60) + 0.4 + 0.01 * rng.standard_normal(400)
    h = _history(_setup(), falling, train_acc=0.85)
    h.meta["dropout"] = 0.95
    found = [f for f in diagnose(h) if f.cause == "dropout_too_strong"]
    assert found and found[0].severity == "warning" and "95%" in found[0].evidence
    h.meta["dropout"] = 0.5
    assert "dropout_too_strong" not in {f.cause for f in diagnose(h)}


def test_a_zero_update_is_no_gradient_not_a_low_rate():
    h = _history(_setup(), np.full(400, 0.7), train_acc=0.5)
    h.monitors["update_ratio"] = {"every": 10, "iterations": list(range(10, 410, 10)),
                                  "weights": ["0.W"], "params": {"0.W": [0.0] * 40}}
    causes = [f.cause for f in diagnose(h) if f.severity != "info"]
    assert causes[0] == "no_gradient" and "lr_too_low" not in causes


def _silent(h, mean, std):
    h.monitors["update_ratio"] = {"every": 10, "iterations": list(range(10, 410, 10)),
                                  "weights": ["0.W"], "params": {"0.W": [0.0] * 40}}
    h.monitors["data"] = {"feature_mean": mean, "feature_std": std, "class_counts": None}
    return h


def test_unscaled_inputs_that_silence_every_gradient_lead_the_output_rules():
    relu_bce = _setup("relu", 1, "binary_cross_entropy", "binary")
    h = _silent(_history(relu_bce, np.full(400, 3.2), 0.75), [800.0, 3e4], [400.0, 2e4])
    top = next(f for f in diagnose(h) if f.severity != "info")
    assert top.cause == "unscaled_inputs" and top.severity == "error"
    assert "output_range" in {f.cause for f in diagnose(h)}  # still named, after it
    scaled = _silent(_history(relu_bce, np.full(400, 3.2), 0.75), [0.0, 0.0], [1.0, 1.0])
    assert next(f for f in diagnose(scaled) if f.severity != "info").cause == "output_range"
    one = _silent(_history(_setup("softmax", 1, "binary_cross_entropy", "binary"),
                           np.full(400, 3.2), 0.75), [800.0, 3e4], [400.0, 2e4])
    assert diagnose(one)[0].cause == "softmax_one_output"  # constant at any scale


def test_units_that_died_under_adam_in_a_network_that_fits_are_a_note():
    """A quarter of a ReLU layer died during training while the first updates were 3e-2 of
    the weights: under SGD the rate is named; under Adam (whose first steps are the rate in
    every weight) in a network at 0.95 train accuracy, it is a note."""
    def run(optimizer):
        h = _with_layers(_history(_setup(), 2.3 * np.exp(-np.arange(400) / 40) + 0.1, 0.95))
        h.monitors["layers"]["samples"][1]["activations"][1]["dead"] = 0.3
        ratios = [3e-2] * 8 + [1e-3] * 32
        h.monitors["update_ratio"] = {"every": 10, "iterations": list(range(10, 410, 10)),
                                      "weights": ["0.W"], "params": {"0.W": ratios}}
        h.meta["optimizer"] = optimizer
        return [f for f in diagnose(h) if f.severity != "info"]
    assert [f.cause for f in run("SGD(lr=0.5)")] == ["lr_too_high"]
    assert run("Adam(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-08)") == []


def test_regression_penalty_read_against_the_data_loss():
    """The total falls as the penalty shrinks while the data loss stays at the mean
    predictor's: regularization too strong, with R^2 in the evidence."""
    h = History()
    setup = _setup("none", 1, "mse", "regress", mean=0.0, std=1.0, min=-3.0, max=3.0)
    for i in range(600):
        h.record_step(1.0, 8.0 * np.exp(-i / 100) + 1.0, 0.01)
    h.iters_per_epoch = 4
    h.meta["setup"] = setup
    h.monitors["params"] = {"weights": ["0.W"], "value_norm": {"0.W": [1.0, 0.3]}}
    found = [f for f in diagnose(h) if f.severity != "info"]
    assert found[0].cause == "reg_too_strong" and "R^2" in found[0].evidence


def _regression(first_loss):
    """A regression of unit targets (chance MSE 1) whose first data loss is `first_loss`."""
    h = History(iters_per_epoch=10)
    for value in np.geomspace(first_loss, 0.3, 40):
        h.record_step(float(value), 0.0, 0.1)
    h.meta["setup"] = _setup("none", 1, "mse", "regress", mean=0.0, std=1.0)
    return h


def test_a_regressions_first_loss_a_few_times_chance_is_a_fresh_networks_own_spread():
    """He init's outputs add their own variance to the targets' (3-5x chance on Hitters,
    Credit, Housing): no "far from chance" below CHANCE_HIGH_REGRESS."""
    assert not [f for f in diagnose(_regression(4.5)) if f.cause == "bad_initial_loss"]


def test_a_regressions_first_loss_far_from_chance_is_worded_for_its_loss():
    found = [f for f in diagnose(_regression(30.0)) if f.cause == "bad_initial_loss"]
    assert found and "30.0x the chance loss 1 (the MSE of outputs at 0)" in found[0].evidence
    assert "classes" not in found[0].evidence


def test_pytorchs_hinge_chance_loss_is_divided_by_the_classes():
    """The notes' SVM loss sums C - 1 margins of 1 for scores at 0; PyTorch's MultiMarginLoss
    divides that sum by C."""
    assert chance_loss(_setup("none", 3, "hinge")) == pytest.approx(2.0)
    per_class = _setup("none", 3, "hinge")
    per_class["loss"]["per_class"] = True
    assert chance_loss(per_class) == pytest.approx(2 / 3)
