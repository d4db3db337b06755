"""The diagnosis names the root cause planted in a run (a learning rate too high or too low, a
penalty too strong, vanishing gradients, overfitting, saturated tanh units, dead ReLUs, random
labels, one class, unscaled inputs), with its symptoms as evidence; a healthy run gets no
warning, and nothing says the learning rate is fine when a finding blames it."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import babysit as bs
from babysit.diagnose import CAUSE_NAMES, Finding, _data_part, diagnose
from babysit.diagnose.causes import explain
from babysit.diagnose.evidence import Evidence
from babysit.diagnose.symptoms import symptoms
from babysit.training import monitors


def _run(data, net=None, lr=1e-3, opt="adam", n=None, reg=1e-4, epochs=5, batch_size=32):
    X, y, Xv, yv = data
    net = net if net is not None else bs.mlp(64, [100, 100], 10, seed=0)
    trainer = bs.Trainer(net, bs.losses.SoftmaxCrossEntropy(), bs.optim.get(opt, lr),
                         reg=bs.regularizers.L2(reg) if reg else None, batch_size=batch_size,
                         epochs=epochs, callbacks=monitors.default(image_shape=(8, 8)),
                         progress=False)
    try:
        return trainer.fit(X[:n], y[:n], val=(Xv, yv))
    except bs.DivergedError as err:
        return err.history


def _named(findings, cause):
    hits = [f for f in findings if f.cause == cause]
    assert hits, f"no finding of cause {cause!r} in:\n" + "\n".join(map(str, findings))
    return hits[0]


def _warnings(findings):
    return [f for f in findings if f.severity in ("warning", "error")]


def _no_contradiction(findings):
    blamed = {f.cause for f in findings} & {"lr_too_high", "lr_too_low", "diverged"}
    assert not (blamed and any(f.cause == "lr_ok" for f in findings)), findings


def test_a_loss_of_exactly_zero_throughout_is_diagnosed_without_dividing_by_it():
    # a softmax over one output scores every example at loss 0: nothing falls or wiggles
    n = 20
    h = bs.History(iters_per_epoch=10, loss=[0.0] * n, data_loss=[0.0] * n, reg_loss=[0.0] * n,
                   lr=[1e-3] * n, train_acc=[1.0] * 2, val_acc=[None] * 2, val_loss=[None] * 2)
    assert all(f.cause != "noisy_loss" for f in diagnose(h))


def test_learning_rate_10_is_too_high(centred_digits):
    findings = _run(centred_digits, lr=10.0, epochs=2).diagnose()
    top = findings[0]
    assert top.cause in ("lr_too_high", "diverged") and top.severity in ("warning", "error")
    assert "learning rate too high" in top.what
    _no_contradiction(findings)


def test_a_diverged_run_is_diagnosed_from_the_errors_history(centred_digits):
    X, y, _, _ = centred_digits
    trainer = bs.Trainer(bs.mlp(64, [100, 100], 10, seed=0), bs.losses.SoftmaxCrossEntropy(),
                         bs.optim.SGD(10.0), batch_size=32, epochs=3,
                         callbacks=monitors.default(), progress=False)
    with np.errstate(all="ignore"), pytest.raises(bs.DivergedError) as caught:
        trainer.fit(X, y)
    f = diagnose(caught.value.history)[0]
    assert f.cause == "diverged" and f.severity == "error"
    assert f.what == "diverged: learning rate too high"
    assert "nan" in f.evidence or "inf" in f.evidence


def test_learning_rate_1e_7_is_too_low(centred_digits):
    findings = _run(centred_digits, lr=1e-7, epochs=3).diagnose()
    f = findings[0]
    assert f.cause == "lr_too_low" and f.severity == "warning"
    assert "||update|| / ||weights||" in f.evidence  # the small update ratios are its evidence
    assert "0.W" in f.concerns
    assert not [g for g in findings if g.cause == "lr_too_high"]
    _no_contradiction(findings)


def test_a_learning_rate_that_kills_relus_without_nan_is_named_with_its_symptoms(centred_digits):
    """Adam at 0.05 kills half a layer's ReLUs without reaching NaN: the cause leads, the dead
    units and the large update ratios are its evidence, nothing says the rate is fine."""
    findings = _run(centred_digits, lr=0.05, epochs=10).diagnose()
    top = findings[0]
    assert top.cause == "lr_too_high" and top.severity in ("warning", "error"), findings
    assert "ReLU units that output 0" in top.evidence
    assert not [f for f in findings if f.cause == "dead_units"]
    _no_contradiction(findings)


def test_a_far_too_strong_l2_penalty_is_not_blamed_on_the_learning_rate(centred_digits):
    findings = _run(centred_digits, reg=1.0, epochs=10).diagnose()
    assert findings[0].cause == "reg_too_strong" and findings[0].severity == "warning"
    assert "shrank" in findings[0].evidence
    # nothing blames the learning rate, nothing asks to regularize more
    assert not [f for f in findings if f.cause.startswith("lr_") or f.cause == "overfitting"]


def test_a_deep_sigmoid_net_with_small_weights_has_vanishing_gradients(centred_digits):
    net = bs.mlp(64, [100] * 5, 10, activation="sigmoid", init="small", seed=0)
    findings = _run(centred_digits, net=net, opt="sgd", lr=0.1, epochs=3).diagnose()
    assert findings[0].cause == "vanishing_gradients", findings
    # the small and large update ratios of the first and last layers are its evidence
    assert not [f for f in findings if f.cause.startswith("lr_")]


def test_batch_size_1_makes_a_noisy_loss_a_warning(centred_digits):
    findings = _run(centred_digits, opt="sgd", lr=0.05, batch_size=1, epochs=1).diagnose()
    f = _named(findings, "noisy_loss")
    assert f.severity == "warning" and "batch size 1" in f.evidence


def test_a_large_net_without_regularization_on_100_examples_overfits(centred_digits):
    h = _run(centred_digits, net=bs.mlp(64, [200, 200], 10, seed=0), n=100, reg=0, epochs=20)
    f = _named(h.diagnose(), "overfitting")
    assert f.severity == "warning"
    assert "gap" in f.evidence and "regulariz" in f.advice.lower()


def test_tanh_with_weights_times_10_saturates(centred_digits):
    net = bs.mlp(64, [100, 100], 10, activation="tanh", init="xavier", seed=0)
    for p in net.parameters():
        if p.regularize:
            p.value *= 10
    findings = _run(centred_digits, net=net, epochs=2).diagnose()
    f = findings[0]
    assert f.cause == "saturated_units" and f.severity == "warning" and "Tanh" in f.evidence
    assert "chance loss" in f.evidence  # the far initial loss is its symptom
    assert "1 Tanh" in f.concerns


def test_a_relu_layer_with_bias_minus_10_has_dead_units(centred_digits):
    net = bs.mlp(64, [100, 100], 10, seed=0)
    net.layers[0].params["b"].value[:] = -10
    findings = _run(centred_digits, net=net, epochs=2).diagnose()
    f = findings[0]  # errors come first
    assert f.cause == "dead_units" and f.severity == "error"
    assert "layer 1 ReLU: 100%" in f.evidence and f.concerns[0] == "1 ReLU"


def test_a_healthy_digits_run_gets_no_warning(centred_digits):
    findings = _run(centred_digits, epochs=15, batch_size=64).diagnose()
    assert not _warnings(findings), "\n".join(map(str, findings))
    assert _named(findings, "lr_ok").what == "learning rate looks fine"


def test_random_labels_are_memorized_not_learned(centred_digits):
    X, y, Xv, yv = centred_digits
    y_random = np.random.default_rng(1).integers(0, 10, y.shape[0])
    findings = _run((X, y_random, Xv, yv), net=bs.mlp(64, [300, 300], 10, seed=0), lr=3e-3,
                    reg=0, epochs=20).diagnose()
    assert findings[0].cause == "memorizing_noise", findings


def test_one_class_in_the_training_labels_is_an_error(centred_digits):
    X, y, Xv, yv = centred_digits
    findings = _run((X, np.full_like(y, 3), Xv, yv), epochs=1).diagnose()
    assert findings[0].cause == "single_class" and findings[0].severity == "error"
    assert "class 3" in findings[0].evidence


def test_unscaled_inputs_are_the_root_of_a_far_initial_loss(centred_digits):
    X, y, Xv, yv = centred_digits
    findings = _run((X * 100 + 50, y, Xv * 100 + 50, yv), epochs=3).diagnose()
    assert findings[0].cause == "unscaled_inputs" and findings[0].severity == "warning"
    assert "chance loss" in findings[0].evidence
    assert not [f for f in findings if f.cause == "bad_initial_loss"]


def test_the_diagnosis_of_a_saved_run_is_the_same(centred_digits, tmp_path):
    h = _run(centred_digits, lr=1e-7, epochs=2)
    h.save(tmp_path / "history.json")
    assert bs.History.load(tmp_path / "history.json").diagnose() == h.diagnose()


# -- rules on hand-made histories: each shape of loss curve the notes draw ----------------------

def _history(loss, batch_size=32, train_acc=(), val_acc=()):
    chance = math.log(10)
    return bs.History(iters_per_epoch=10, loss=list(loss), data_loss=list(loss),
                      reg_loss=[0.0] * len(loss), lr=[1e-3] * len(loss),
                      train_acc=list(train_acc), val_acc=list(val_acc),
                      meta={"chance_loss": chance, "batch_size": batch_size, "n_classes": 10})


def test_rare_spikes_on_a_loss_near_zero_are_no_noisy_loss():
    """A hinge loss on separable data: down from 1.2 to about 0.001, spiking now and then.
    Its wiggle is several times its own level but a sliver (under 1%) of its fall: nothing
    to act on (a wiggle that is a share of the fall: `test_a_noisy_loss_names_the_batch_size`)."""
    t = np.arange(400)
    spikes = np.where(np.arange(400) % 37 == 0, 0.03, 0.0)
    loss = 1.2 * np.exp(-t / 20) + 0.001 + spikes
    assert all(f.cause != "noisy_loss" for f in diagnose(_history(loss, batch_size=8)))


def test_a_slow_nearly_linear_decrease_is_a_learning_rate_too_low():
    f = _named(diagnose(_history(np.linspace(2.3, 1.2, 200))), "lr_too_low")
    assert "linear" in f.evidence


def test_a_fast_drop_then_a_high_plateau_is_a_learning_rate_too_high():
    t = np.arange(300)
    loss = 1.6 + 0.7 * np.exp(-t / 5)
    f = _named(diagnose(_history(loss)), "lr_too_high")
    assert "plateau" in f.evidence


def test_a_noisy_loss_names_the_batch_size():
    t = np.arange(400)
    loss = 2.3 * np.exp(-t / 40) + np.random.default_rng(0).uniform(0, 1.0, 400)
    f = _named(diagnose(_history(loss, batch_size=1)), "noisy_loss")
    assert "batch size 1" in f.evidence and f.severity in ("info", "warning")


def test_validation_tracking_a_low_train_accuracy_is_under_fitting():
    loss = 2.3 * np.exp(-np.arange(100) / 20) + 1.0
    h = _history(loss, train_acc=[0.5, 0.64, 0.65], val_acc=[0.49, 0.63, 0.64])
    f = _named(diagnose(h), "underfitting")
    assert f.severity == "warning" and "bigger" in f.advice


def test_an_exact_exponential_decay_is_fine_and_quiet():
    findings = diagnose(_history(2.3 * np.exp(-np.arange(300) / 30) + 0.01,
                                 train_acc=[0.99], val_acc=[0.985]))
    assert [f.cause for f in findings] == ["lr_ok"]


def test_the_learning_rate_note_quotes_the_data_loss_where_the_penalty_is_most_of_the_loss():
    """A table's default L2 on fresh weights: a two-class loss of 6.9 falling to 3.1 is
    penalty; the data loss is what chance (0.69) and the accuracy are measured against."""
    t = np.arange(300)
    data = 0.69 * np.exp(-t / 30) + 0.05
    penalty = 3.0 + 3.0 * np.exp(-t / 150)
    h = _history(data + penalty, train_acc=[0.98], val_acc=[0.98])
    h.data_loss, h.reg_loss = list(data), list(penalty)
    h.meta.update(chance_loss=math.log(2), n_classes=2)
    note = _named(diagnose(h), "lr_ok").evidence
    assert "(the data loss from 0.6955 to 0.05005; the penalty is 99% of the loss" in note
    plain = _history(data, train_acc=[0.98], val_acc=[0.98])
    plain.meta.update(chance_loss=math.log(2), n_classes=2)
    assert "data loss" not in _named(diagnose(plain), "lr_ok").evidence
    # a weight decay the optimizer applies (`complete` weighs it) is in no loss logged
    e = Evidence.of(plain)
    e.penalty_share = 0.9
    assert _data_part(e) == ""


def test_an_empty_history_has_nothing_to_say():
    assert diagnose(bs.History()) == []


def test_a_finding_refuses_an_unknown_severity():
    with pytest.raises(ValueError, match="severity"):
        Finding("fatal", "x", "y", "z")
    assert str(Finding("info", "a", "b", "c")) == "[info] a: b. c"


def test_the_cause_names_of_the_contract_are_all_there():
    contract = {"lr_too_high", "lr_too_low", "exploding_gradients", "vanishing_gradients",
                "dead_units", "saturated_units", "reg_too_strong", "unscaled_inputs",
                "noisy_loss", "overfitting", "underfitting", "memorizing_noise",
                "collapsed_predictions", "class_imbalance", "single_class", "bad_initial_loss",
                "diverged"}
    assert contract <= set(CAUSE_NAMES)
    f = Finding("warning", "dead units", "...", "...", "dead_units", ["1 ReLU"])
    assert f.concerns == ("1 ReLU",)


# -- the fault zoo (benchmarks/diagnosis.py): its fast subset -----------------------------------

def test_the_fast_subset_of_the_fault_zoo_is_diagnosed_right(benchmark):
    zoo = benchmark("diagnosis", "fault_zoo")
    cases = zoo.fast_cases()
    assert {c.expected for c in cases} - {None} and None in {c.expected for c in cases}
    wrong = []
    for case in cases:
        _, findings = zoo.run_case(case)
        _no_contradiction(findings)
        if not zoo.verdict(case, findings):
            wrong.append(f"{case.name} (expected {case.expected}): "
                         + "; ".join(map(str, findings[:2])))
    assert not wrong, "\n".join(wrong)


def _regression(val_loss):
    """A regression's history: training data loss 1/(epoch + 1), `val_loss` per epoch."""
    history = bs.History(iters_per_epoch=2)
    for epoch, val in enumerate(val_loss):
        for _ in range(2):
            history.record_step(1.0 / (epoch + 1), 0.0, 1e-3)
        history.train_acc.append(None)                  # no accuracy: a regression loss
        history.val_acc.append(None)
        history.val_loss.append(val)
    return history


def test_a_regression_overfits_when_its_validation_loss_turns_up_far_above_training():
    history = _regression([0.6, 0.5, 0.4, 0.35, 0.3, 0.32, 0.36, 0.4, 0.45, 0.5])
    finding = _named(diagnose(history), "overfitting")
    assert finding.severity == "warning" and "5.0x the training loss" in finding.evidence
    assert "rose from its minimum 0.3" in finding.evidence
    history.val_loss[-1] = 0.11                         # close to it: no gap
    assert not [f for f in diagnose(history) if f.cause == "overfitting"]


def test_a_regression_gap_without_a_rise_in_validation_loss_is_a_note():
    """A small noisy table's validation MSE sits 2x its training MSE at its best (mpg,
    Hitters): a gap that never turned up is not a model learning its rows."""
    finding = _named(diagnose(_regression([0.9, 0.7, 0.6, 0.55, 0.52, 0.5, 0.5, 0.5, 0.5, 0.5])),
                     "overfitting")
    assert finding.severity == "info" and "rose" not in finding.evidence


def test_a_regression_that_turned_up_but_got_its_best_weights_back_is_a_note():
    history = _regression([0.6, 0.5, 0.4, 0.35, 0.3, 0.32, 0.36, 0.4, 0.45, 0.5])
    history.meta["best_weights"] = {"epoch": 5, "note": "put back"}
    finding = _named(diagnose(history), "overfitting")
    assert finding.severity == "info" and "epoch 5, its best, were put back" in finding.evidence


def test_a_low_accuracy_while_the_loss_still_falls_is_under_trained_not_a_small_model():
    loss = 2.3 * np.exp(-np.arange(100) / 60)  # half time 1.0, end 0.45: still falling
    h = _history(loss, train_acc=[0.6, 0.8], val_acc=[0.6, 0.8])
    top = diagnose(h)[0]
    assert top.cause == "too_few_updates" and top.severity == "warning"
    assert "still learning" in top.what and "train longer" in top.evidence
    assert "underfitting" not in {f.cause for f in diagnose(h)}
    flat = _history(2.3 * np.exp(-np.arange(100) / 10) + 1.0, train_acc=[0.6, 0.8],
                    val_acc=[0.6, 0.8])  # levelled off: the model is too small
    assert diagnose(flat)[0].cause == "underfitting"


def test_validation_within_a_quarter_of_the_training_error_is_under_fitting():
    loss = 2.3 * np.exp(-np.arange(100) / 20) + 1.0
    h = _history(loss, train_acc=[0.6, 0.69, 0.70], val_acc=[0.6, 0.65, 0.66])  # 4 of 30
    assert diagnose(h)[0].cause == "underfitting" and diagnose(h)[0].severity == "warning"


def test_first_batches_below_chance_are_learning_not_a_flat_loss():
    # batch 1 at a fast rate: the first examples are already fit, the rest is noise
    loss = np.r_[2.3, 0.1, 0.05, 0.2, 0.1, np.random.default_rng(0).uniform(0, 0.6, 395)]
    causes = [f.cause for f in diagnose(_history(loss, batch_size=1))]
    assert "loss_not_decreasing" not in causes and "lr_too_low" not in causes


def _overfitting(n_val, train_acc, val_acc):
    """The overfitting findings of a run with these accuracies over its two epochs, on
    `n_val` validation examples."""
    h = _history(2.3 * np.exp(-np.arange(300) / 30) + 0.01, batch_size=32,
                 train_acc=train_acc, val_acc=val_acc)
    h.meta["n_classes"] = 2
    h.monitors["data"] = {"feature_mean": [0.0] * 4, "feature_std": [1.0] * 4,
                          "class_counts": [200, 200], "val_class_counts": [n_val // 2] * 2}
    return [f for f in diagnose(h) if f.cause == "overfitting"]


def test_a_validation_fall_within_its_sampling_noise_is_no_peak():
    # 2 points of 114 validation examples is 2 examples: a gap of 5 points stays a note
    fell_by_two_points = [0.98, 1.0], [0.965, 0.947]
    assert [f.severity for f in _overfitting(114, *fell_by_two_points)] == ["info"]
    assert [f.severity for f in _overfitting(10_000, *fell_by_two_points)] == ["warning"]


def test_a_gap_of_one_validation_row_is_no_overfitting_note():
    # train 1.000 against validation 0.972: one row of wine's 36 (noise), 28 rows of 1,000
    gap_of_3_points = [0.99, 1.0], [0.972, 0.972]
    assert _overfitting(36, *gap_of_3_points) == []
    assert [f.severity for f in _overfitting(1000, *gap_of_3_points)] == ["info"]


def _raw_digits_run(net, opt):
    """Uncentred digits in [0, 1], as bs.data.load gives them, with the CLI's monitors."""
    data = bs.data.load("digits")
    trainer = bs.Trainer(net, bs.losses.SoftmaxCrossEntropy(), opt, batch_size=32, epochs=10,
                         callbacks=monitors.default((8, 8)), progress=False)
    return trainer.fit(*data.train, val=data.val).diagnose()


@pytest.mark.parametrize("opt", [bs.optim.SGD(10.0), bs.optim.Adam(0.3)])
def test_a_rate_that_blows_up_and_kills_the_relus_is_named_too_high_not_too_low(opt):
    # The loss blows up without reaching NaN and every ReLU dies, so the updates recorded
    # afterwards are ~0. Those tiny ratios follow from the dead units; they must neither
    # clear the rate nor call it too low.
    findings = _raw_digits_run(bs.mlp(64, [100, 100], 10, seed=0), opt)
    assert findings[0].cause == "lr_too_high" and findings[0].severity == "error", findings
    assert "lr_too_low" not in {f.cause for f in findings}


def test_units_dead_from_the_start_explain_the_weights_that_do_not_move():
    # A bias of -10 silences layer 1 from the first step: no gradient reaches 0.W or 2.W, so
    # "update ratio too small" is a symptom of the dead units, not a second cause.
    net = bs.mlp(64, [100, 100], 10, seed=0)
    net.params["0.b"].value[:] = -10.0
    findings = _raw_digits_run(net, bs.optim.Adam(1e-3))
    assert findings[0].cause == "dead_units" and findings[0].severity == "error", findings
    assert "lr_too_low" not in {f.cause for f in findings}, findings


def _penalized(penalty_share, val_acc, best_val):
    """A classifier's evidence at 84% training accuracy whose weights shrank to 0.1x."""
    e = Evidence(history=bs.History(), penalty_share=penalty_share, train_acc=0.84,
                 val_acc=val_acc, best_val=best_val, n_val=170, epochs=100, n_classes=2,
                 weight_growth={"0.W": 0.1, "2.W": 0.1})
    return [cause.name for cause, *_ in explain(e, symptoms(e))]


def test_a_small_penalty_with_validation_holding_is_not_blamed_for_the_accuracy():
    """OJ: L2 at 18% of the loss, validation level with training and at its best, and weaker
    penalties do worse: the table's limit, not the penalty's."""
    assert "reg_too_strong" not in _penalized(0.18, 0.85, 0.86)


def test_a_penalty_is_blamed_when_it_is_a_large_share_or_validation_fell_from_its_best():
    assert "reg_too_strong" in _penalized(0.4, 0.85, 0.86)     # the zoo's L2: 42-98%
    assert "reg_too_strong" in _penalized(0.18, 0.70, 0.86)    # spiral L1: 0.66 -> 0.56


def _fitting_run(optimizer, ratio, dead=None):
    """A run that fits (98% / 96%) under `optimizer` (its meta string), its weights moving by
    `ratio` of their size per update (in the first fifth when a ReLU layer's dead share went
    `dead` (start, end), and by 5e-3 after)."""
    h = _history(2.3 * np.exp(-np.arange(300) / 30) + 0.05, train_acc=[0.9, 0.98],
                 val_acc=[0.9, 0.96])
    h.meta["optimizer"] = optimizer
    ratios = [ratio] * 30 if dead is None else [ratio] * 6 + [5e-3] * 24
    h.monitors["update_ratio"] = {"every": 10, "iterations": list(range(10, 310, 10)),
                                  "weights": ["fc1.weight"], "params": {"fc1.weight": ratios}}
    if dead is not None:
        act = {"mean": 0.0, "std": 1.0, "nonfinite": 0.0, "lo": 0.0, "hi": 1.0, "counts": [1]}
        h.monitors["layers"] = {
            "names": ["fc1 Linear", "relu() call 1"], "kinds": ["Linear", "relu"],
            "samples": [{"iteration": i, "loss": None, "predicted": None, "grad_norm": None,
                         "activations": [act, {**act, "dead": share}]}
                        for i, share in ((0, dead[0]), (300, dead[1]))]}
    return h


@pytest.mark.parametrize("optimizer, named", [("SGD(lr=0.1, momentum=0)", True),
                                              ("Adadelta(lr=1.0, rho=0.9)", False),
                                              ("Adam(lr=0.001, betas=(0.9, 0.999))", False)])
def test_large_update_ratios_blame_the_rate_only_where_the_step_follows_the_gradient(
        optimizer, named):
    """pytorch/examples' Net under Adadelta 1.0 moves its 9216-input layer by 3.5e-2 of its
    size per update and fits: an adaptive optimizer moves each weight by about its rate, so
    there the ratio is a note; under SGD it is a rate too high."""
    causes = {f.cause for f in diagnose(_fitting_run(optimizer, 3.5e-2))
              if f.severity != "info"}
    assert causes == ({"lr_too_high"} if named else set())


@pytest.mark.parametrize("optimizer, early, named", [("SGD(lr=1.0)", 0.1, True),
                                                     ("Adam(lr=0.001)", 1.9e-2, False)])
def test_units_that_die_in_a_fitting_network_blame_only_a_large_gradient_step(
        optimizer, early, named):
    """28% of a functional ReLU layer died in a network that fits: after SGD's first updates
    of 0.1 of the weights that is the rate; after Adam's 1.9e-2 at its default 1e-3 (its
    usual first steps on PyTorch's initialization) it is a note."""
    findings = diagnose(_fitting_run(optimizer, early, dead=(0.05, 0.28)))
    alarms = [f.cause for f in findings if f.severity != "info"]
    assert alarms == (["lr_too_high"] if named else [])
    assert named or "dead_units" in {f.cause for f in findings}  # still noted


def test_unscaled_inputs_are_a_warning_even_in_a_run_that_learns():
    """SGD on digits' pixels 0..16 reaches 93%: the inputs' typical size of 7.7 is still a
    warning (every initialization is sized for unit inputs); standardized inputs are quiet."""
    def run(mean, std):
        h = _history(2.3 * np.exp(-np.arange(300) / 30) + 0.05, train_acc=[0.9, 0.95],
                     val_acc=[0.9, 0.93])
        h.monitors["data"] = {"n": 1078, "feature_mean": [mean] * 64, "feature_std": [std] * 64,
                              "class_counts": None, "val_class_counts": None}
        return [f for f in diagnose(h) if f.severity != "info"]
    alarms = run(4.9, 6.0)
    assert [f.cause for f in alarms] == ["unscaled_inputs"] and "7.75" in alarms[0].evidence
    assert run(0.0, 1.0) == []


def _noisy_table(optimizer="Adam(lr=0.001, betas=(0.9, 0.999))", lr=1e-3, mean=12.6,
                 std=3.5, n_params=4292, dead_start=0.3, first=4.1):
    """DeepFD row 30's fix, as its history reads: 4 count features `mean` +- `std`, a
    network of `n_params` trained on 720 rows, at the labels' noise (train 0.79, val 0.81,
    the loss levelled off at 0.47 of a chance 0.69) with Adam's usual update ratios, a first
    loss `first` x chance and `dead_start` of a ReLU layer off on every row from the start."""
    h = _history(0.47 + 1.2 * np.exp(-np.arange(300) / 20), train_acc=[0.75, 0.79],
                 val_acc=[0.78, 0.81])
    h.lr = [lr] * 300
    h.meta.update(optimizer=optimizer, chance_loss=math.log(2), n_classes=2, n_train=720,
                  n_params=n_params)
    h.data_loss[0] = first * math.log(2)
    h.monitors["update_ratio"] = {"every": 10, "iterations": list(range(10, 310, 10)),
                                  "weights": ["0.weight"], "params": {"0.weight": [1e-2] * 30}}
    h.monitors["data"] = {"n": 720, "feature_mean": [mean] * 4, "feature_std": [std] * 4,
                          "class_counts": None, "val_class_counts": None}
    act = {"mean": 0.0, "std": 1.0, "nonfinite": 0.0, "lo": 0.0, "hi": 1.0, "counts": [1]}
    h.monitors["layers"] = {
        "names": ["0 Linear", "1 ReLU"], "kinds": ["Linear", "relu"],
        "samples": [{"iteration": i, "loss": None, "predicted": None, "grad_norm": None,
                     "activations": [act, {**act, "dead": dead_start}]} for i in (0, 300)]}
    return h


def test_inputs_moderately_off_centre_under_adam_are_a_note_that_explains_the_start():
    """Counts 3.6 spreads off centre (typical size 13) under Adam 1e-3: the far first loss
    and the units off from the start are theirs, and all of it is a note; the network
    (4292 parameters for 720 rows) is not too small either."""
    findings = diagnose(_noisy_table())
    assert _warnings(findings) == []
    note = _named(findings, "unscaled_inputs")
    assert note.severity == "info" and "3.6" in note.evidence and "0.013" in note.evidence
    assert "4.1x the chance loss" in note.evidence and "from the start" in note.evidence
    size = _named(findings, "underfitting")
    assert size.severity == "info" and "4292 parameters for 720 training rows" in size.evidence


@pytest.mark.parametrize("change", [
    {"optimizer": "SGD(lr=0.001, momentum=0)"},  # the step follows the gradient's size
    {"lr": 1e-2},                               # 1e-2 x 13: past Adam's usual rates
    {"mean": 35.0, "std": 7.0},                 # 5 spreads off centre
    {"dead_start": 0.95}])                      # nearly every unit off from the start
def test_unscaled_inputs_stay_a_warning_past_what_an_adaptive_optimizer_copes_with(change):
    findings = diagnose(_noisy_table(**change))
    top = findings[0]
    assert top.cause == "unscaled_inputs" and top.severity in ("warning", "error")


def test_under_fitting_is_a_warning_for_a_network_too_small_to_fit_its_rows():
    findings = diagnose(_noisy_table(mean=0.0, std=1.0, n_params=1400, dead_start=0.0,
                                     first=1.0))  # under 2 parameters per row
    assert [(f.cause, f.severity) for f in _warnings(findings)] == [("underfitting", "warning")]
    assert "bigger" in findings[0].advice


def _standardized_fit(X, y, hidden, opt, regress=False, act="relu", init="he", epochs=40):
    """A careful run: a 75/25 split, inputs (and a regression's targets) standardized on the
    training part, L2 1e-4; returns (History, validation accuracy or R^2)."""
    from sklearn.model_selection import train_test_split

    tr, va = train_test_split(np.arange(len(y)), test_size=0.25, random_state=0,
                              stratify=None if regress else y)
    mu, sd = X[tr].mean(0), X[tr].std(0) + 1e-12
    Xtr, Xva = ((X[tr] - mu) / sd).astype(np.float32), ((X[va] - mu) / sd).astype(np.float32)
    ytr, yva = y[tr], y[va]
    if regress:
        m, s = ytr.mean(), ytr.std()
        ytr, yva = ((ytr - m) / s).astype(np.float32), ((yva - m) / s).astype(np.float32)
    net = bs.mlp(X.shape[1], hidden, 1 if regress else int(y.max()) + 1, activation=act,
                 init=init, seed=0)
    loss = bs.losses.MeanSquaredError() if regress else bs.losses.SoftmaxCrossEntropy()
    trainer = bs.Trainer(net, loss, opt, reg=bs.regularizers.L2(1e-4), batch_size=32,
                         epochs=epochs, progress=False)
    history = trainer.fit(Xtr, ytr, val=(Xva, yva))
    score = (1 - np.mean((trainer.scores(Xva).ravel() - yva) ** 2) / yva.var() if regress
             else trainer.accuracy(Xva, yva))
    return history, score


def test_healthy_regressions_get_no_warning_for_a_lucky_start_or_saturated_units():
    # a tanh net whose first outputs happen to follow the targets started "0.4x the chance
    # loss: initialize with smaller weights"; units that saturated while it fitted (R^2 0.98)
    # were a warning, where a classifier that fits gets a note
    from sklearn.datasets import make_regression

    X, y = make_regression(1000, 10, n_informative=5, noise=10, random_state=0)
    for hidden, opt in (([100, 100], bs.optim.Adam(1e-3)), ([64], bs.optim.Adam(1e-2))):
        history, r2 = _standardized_fit(X, y, hidden, opt, regress=True, act="tanh",
                                        init="xavier")
        assert r2 > 0.95
        assert [f for f in diagnose(history) if f.severity != "info"] == []


def test_a_rate_that_kills_the_relus_is_not_blamed_on_the_labels():
    # momentum at 0.5 on digits: 99% of a layer's ReLUs die, the accuracy falls to chance and
    # the top finding was "labels carry no signal: check the label file"
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    history, acc = _standardized_fit(X, y, [100, 100], bs.optim.Momentum(0.5), epochs=30)
    top = diagnose(history)[0]
    assert acc < 0.2 and top.cause != "labels_without_signal" and "learning rate" in top.advice


def test_labels_learnt_by_heart_on_a_set_with_a_larger_class_are_memorizing_noise():
    # shuffled labels of wine (classes 40/33/27%): train 1.000, validation 0.378, below the
    # majority's share, was "class imbalance: balance the classes"
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    y = np.random.default_rng(1).permutation(y)
    history, acc = _standardized_fit(X, y, [64, 64], bs.optim.Adam(1e-3), epochs=200)
    top = diagnose(history)[0]
    assert acc < 0.5 and top.cause == "memorizing_noise"


def test_tiny_updates_of_a_run_that_converged_are_a_note_not_a_low_rate():
    # wine to validation 1.000, 500 epochs: the median update ratio falls below 1e-5 as the
    # gradient vanishes, and "learning rate may be too low" was a warning
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    history, acc = _standardized_fit(X, y, [128, 128], bs.optim.Momentum(1e-2), epochs=500)
    ratio = next(f for f in diagnose(history) if "update ratio" in f.what or
                 f.cause == "lr_too_low")
    assert acc > 0.95 and ratio.severity == "info" and "it converged" in ratio.evidence


def test_overfitting_after_the_epoch_whose_weights_were_put_back_is_a_note():
    """A table run keeps its best epoch's weights (BestWeights): the gap that opened after it
    was a warning to 'regularize more' on a model that does not have it (as a regression's
    loss gap already was, `_loss_gap`); without the weights put back it stays a warning."""
    loss = 2.3 * np.exp(-np.arange(100) / 10) + 0.05
    train, val = [0.80, 0.90, 0.96, 0.99, 1.00], [0.78, 0.86, 0.84, 0.82, 0.80]
    h = _history(loss, train_acc=train, val_acc=val)
    assert _named(diagnose(h), "overfitting").severity == "warning"
    h.meta["best_weights"] = {"epoch": 2, "note": "put back"}
    f = _named(diagnose(h), "overfitting")
    assert f.severity == "info" and "the weights of epoch 2, train 0.900 vs validation 0.860" \
        in f.evidence


def test_a_model_that_fits_its_training_rows_far_above_validation_is_no_penalty_too_strong():
    """The table penalty shrinks every weight: a shrink with train 0.88 against validation
    0.62 was read as 'lower the regularization 10x' on a model that over-fits."""
    loss = 2.3 * np.exp(-np.arange(200) / 30) + 0.4
    h = _history(loss, train_acc=[0.70, 0.85, 0.88], val_acc=[0.70, 0.66, 0.62])
    h.reg_loss = [0.3] * len(loss)
    h.loss = [a + 0.3 for a in loss]
    h.monitors["params"] = {"iterations": [0, 200], "names": ["0.W"], "weights": ["0.W"],
                            "grad_norm": {"0.W": [1.0, 1.0]}, "value_norm": {"0.W": [10.0, 3.0]}}
    causes = {f.cause for f in diagnose(h)}
    assert "reg_too_strong" not in causes and "overfitting" in causes


def test_a_regression_on_inputs_that_never_vary_is_not_said_to_predict_one_class():
    """A regression has no classes: constant inputs were named 'predictions collapsed to one
    class'."""
    rng = np.random.default_rng(0)
    X = np.tile([[1.0, 2.0]], (300, 1)).astype(np.float32)
    y = (rng.normal(size=(300, 1)) * 3 + 10).astype(np.float32)
    trainer = bs.Trainer(bs.mlp(2, [16], 1, seed=0), bs.losses.MeanSquaredError(),
                         bs.optim.Adam(1e-2), epochs=5, progress=False)
    found = _named(trainer.fit(X[:240], y[:240], val=(X[240:], y[240:])).diagnose(),
                   "collapsed_predictions")
    assert "class" not in found.what and "every input the same" in found.what


def test_a_quiet_loss_says_how_small_its_wiggle_is_against_its_level():
    """A wiggle of 2.6% of the loss's level was printed as '0.0x its mean'."""
    rng = np.random.default_rng(0)
    loss = 2.3 - 0.5 * np.arange(200) / 200 + rng.normal(0, 0.06, 200)
    f = _named(diagnose(_history(loss)), "noisy_loss")
    assert "0.026x its mean" in f.evidence and "0.0x" not in f.evidence


def test_a_warning_sized_gap_is_not_also_validation_tracking_training():
    """At train 0.56 a quarter of the misses is 11 points: a gap of 8 was both overfitting
    ('regularize more') and under-fitting ('regularize less'), and the doctor flip-flopped."""
    loss = 2.3 * np.exp(-np.arange(200) / 60) + 1.2
    h = _history(loss, train_acc=[0.40, 0.52, 0.561], val_acc=[0.40, 0.47, 0.479])
    causes = {f.cause for f in diagnose(h)}
    assert "overfitting" in causes and "underfitting" not in causes
    # within an overfitting warning's gap, validation still tracks a low training accuracy
    h = _history(loss, train_acc=[0.40, 0.52, 0.561], val_acc=[0.40, 0.50, 0.52])
    assert "underfitting" in {f.cause for f in diagnose(h)}


def test_a_loss_coming_down_from_a_blow_up_is_not_told_to_train_longer():
    loss = np.concatenate([[2.38] * 20, np.geomspace(2.38, 5.8e11, 30),
                           np.geomspace(5.8e11, 7.4e10, 150)])
    h = _history(loss, train_acc=[0.1, 0.099], val_acc=[0.1, 0.1])
    found = diagnose(h)
    assert found and not any("train longer" in f.evidence for f in found)


def test_unscaled_regression_targets_are_named_when_the_loss_barely_falls_under_adam():
    """Adam's steps are about the rate whatever the gradient: targets of 2e5 stayed where
    they started, and the finding was 'loss not decreasing: run the gradient check'."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 5)).astype(np.float32)
    y = (200_000 + 20_000 * (X @ np.array([1.0, 2, -1, 0.5, 0]))).astype(np.float32)[:, None]
    trainer = bs.Trainer(bs.mlp(5, [50], 1, seed=0), bs.losses.MeanSquaredError(),
                         bs.optim.Adam(lr=1e-3), epochs=100, progress=False)
    history = trainer.fit(X[:300], y[:300], val=(X[300:], y[300:]))
    f = _named(history.diagnose(), "unscaled_targets")
    assert f.severity == "warning" and "the loss barely fell" in f.evidence


def test_under_fitting_advises_regularizing_less_only_where_the_run_regularizes():
    loss = 2.3 * np.exp(-np.arange(200) / 15) + 0.9
    h = _history(loss, train_acc=[0.50, 0.58, 0.60], val_acc=[0.50, 0.57, 0.59])
    advice = _named(diagnose(h), "underfitting").advice
    assert "regularize less" not in advice and "it is not regularized" in advice
    h.reg_loss = [0.2] * len(loss)
    h.loss = [a + 0.2 for a in loss]
    assert "regularize less" in _named(diagnose(h), "underfitting").advice


def test_dead_unit_advice_leaves_out_what_the_network_already_does():
    """A default network (He initialization, biases at 0) with dead units was told to start
    its biases at 0 and use He initialization."""
    from types import SimpleNamespace

    from babysit.diagnose.causes import CAUSES

    default = repr(bs.mlp(4, [5], 2, seed=0).layers[0])
    shifted = repr(bs.mlp(4, [5], 2, init="xavier", bias=-1.0, seed=0).layers[0])
    for cause in [c for c in CAUSES if c.name == "dead_units"]:
        told = cause.advice_for(SimpleNamespace(history=bs.History(meta={"model": default})))
        assert "He initialization" not in told and "biases at 0" not in told
        assert "lower the learning rate" in told and "leaky ReLU" in told
        told = cause.advice_for(SimpleNamespace(history=bs.History(meta={"model": shifted})))
        assert "He initialization" in told and "biases at 0" in told


def _advice(name: str, **evidence) -> list[str]:
    """What every cause called `name` advises a run with `evidence` (Evidence's fields)."""
    from babysit.diagnose.causes import CAUSES
    from babysit.diagnose.evidence import Evidence

    e = Evidence(history=evidence.pop("history", bs.History()), **evidence)
    return [c.advice_for(e) for c in CAUSES if c.name == name]


def test_rate_advice_names_the_runs_rate_and_the_range_to_try():
    lower = _advice("lr_too_high", lr=0.3)
    assert "(from 0.3: try 0.03 to 0.1)" in lower[0] and "(0.3) may be too high" in lower[-1]
    assert "(from 0.001: try 0.003 to 0.01)" in _advice("lr_too_low", lr=1e-3)[0]
    assert "Lower the learning rate 3-10x. A good rate" in _advice("lr_too_high", lr=None)[0]


def test_overfitting_advice_raises_what_the_run_has_and_adds_what_it_lacks():
    told = _advice("overfitting")[0]
    assert "add an L2 penalty" in told and "dropout (0.2-0.5)" in told
    told = _advice("overfitting", penalty_share=0.2, dropout=0.3)[0]
    assert "3-10x stronger" in told and "raise dropout above 0.3" in told
    assert "add" not in told


def test_saturation_advice_leaves_out_what_the_network_already_does():
    tanh = bs.mlp(4, [5], 2, activation="tanh", init="xavier", batchnorm=True, seed=0)
    model = " -> ".join(repr(layer) for layer in tanh.layers)
    meta = {"model": model, "inputs_normalized": True}
    for told in _advice("saturated_units", history=bs.History(meta=meta), input_mean=0.0):
        assert "Xavier" not in told and "standardize" not in told and "BatchNorm" not in told
        assert "Lower the learning rate" in told
    plain = repr(bs.mlp(4, [5], 2, activation="tanh", init="he", seed=0).layers[0])
    for told in _advice("saturated_units", history=bs.History(meta={"model": plain})):
        assert "Xavier" in told and "standardize the inputs" in told and "add BatchNorm" in told


def test_noisy_loss_advice_names_the_batch_size():
    assert "larger batch size than 16" in _advice("noisy_loss", batch_size=16)[0]


def test_labels_that_once_gave_a_good_validation_accuracy_carry_signal():
    """Dropout 0.9 on breast cancer: validation peaks near 0.9, then the last epoch lands on
    the majority share. Labels without signal never let unseen rows be classified well
    above chance; the dropout is named first."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True)
    Xtr, Xv, ytr, yv = train_test_split(X, y, test_size=0.25, random_state=1, stratify=y)
    mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-8
    Xtr, Xv = ((Xtr - mu) / sd).astype(np.float32), ((Xv - mu) / sd).astype(np.float32)
    trainer = bs.Trainer(bs.mlp(30, [64, 64], 2, dropout=0.9, seed=0),
                         bs.losses.SoftmaxCrossEntropy(), bs.optim.SGD(0.01), batch_size=32,
                         epochs=20, progress=False)
    history = trainer.fit(Xtr, ytr, val=(Xv, yv))
    assert max(history.val_acc) > 0.85 and history.val_acc[-1] < 0.7   # the case's shape
    causes = [f.cause for f in history.diagnose() if f.severity != "info"]
    assert "labels_without_signal" not in causes and causes[0] == "dropout_too_strong"


def test_a_rate_cut_to_a_millionth_of_its_peak_before_the_last_tenth_decayed_too_fast():
    """A plateau scheduler fed the wrong signal cuts the rate 10x every 20 steps: a millionth
    of its peak by 60% of the run, though never 1/1000 within the first quarter. A one-cycle
    schedule reaches 1/250,000 of its peak only at its very end: not named."""
    t = np.arange(200)
    h = _history(2.3 - 0.4 * (1 - np.exp(-t / 15)))    # learns a little, then stalls
    h.lr = [0.01 * 0.1 ** (i // 20) for i in t]
    f = _named(diagnose(h), "lr_decayed_too_fast")
    assert f.severity == "warning" and "0.01" in f.evidence
    h.lr = [0.01 * (1 - i / 200) ** 8 + 4e-8 for i in t]     # down to 1/250,000 at the end
    assert all(f.cause != "lr_decayed_too_fast" for f in diagnose(h))


def test_labels_numbered_from_one_are_named():
    """Wine's classes as 1, 2, 3 for a network of 4 outputs: output 0 is never a target. The
    same labels from 0 on 3 outputs are quiet about it."""
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)

    def causes(labels, outputs):
        trainer = bs.Trainer(bs.mlp(13, [16], outputs, seed=0), bs.losses.SoftmaxCrossEntropy(),
                             bs.optim.Adam(1e-2), batch_size=16, epochs=10, progress=False)
        return {f.cause: f for f in trainer.fit(X, labels).diagnose()}

    found = causes(y + 1, 4)
    assert found["labels_start_at_one"].severity == "warning"
    assert "the other 3 classes" in found["labels_start_at_one"].evidence
    assert "labels_start_at_one" not in causes(y, 3)


def test_a_max_norm_bound_that_crushes_the_weights_is_regularization_too_strong(
        centred_digits):
    """MaxNorm(c=0.001): every unit's incoming weights held at a thousandth of a norm, the
    model learns nothing, and the update ratios read high because the weights are tiny: it
    was called a learning rate too high. The usual c of 3 is quiet about it."""
    X, y = centred_digits[:2]

    def causes(c):
        trainer = bs.Trainer(bs.mlp(64, [32], 10, seed=0), bs.losses.SoftmaxCrossEntropy(),
                             bs.optim.SGD(0.05), constraints=[bs.regularizers.MaxNorm(c)],
                             batch_size=32, epochs=5, progress=False)
        return {f.cause: f for f in trainer.fit(X, y).diagnose()}

    found = causes(1e-3)
    assert "MaxNorm(c=0.001)" in found["reg_too_strong"].evidence
    assert "lr_too_high" not in found
    assert "reg_too_strong" not in causes(3.0)


def test_a_quantity_classified_value_by_value_is_the_wrong_loss():
    """A regression's targets rounded to whole numbers and classified: hundreds of classes of
    a row or two each. Many classes of 5 rows each (a few-shot table) are left alone."""
    from sklearn.datasets import make_regression

    X, y = make_regression(n_samples=400, n_features=8, noise=5.0, random_state=3)
    X = X.astype(np.float32)

    def causes(labels, val=False):
        classes = int(labels.max()) + 1
        trainer = bs.Trainer(bs.mlp(8, [32], classes, seed=0), bs.losses.SoftmaxCrossEntropy(),
                             bs.optim.Adam(1e-2), batch_size=32, epochs=10, progress=False)
        held = (X[300:], labels[300:]) if val else None     # a quarter held out
        fit = trainer.fit(X[:300], labels[:300], val=held) if val else trainer.fit(X, labels)
        return {f.cause: f for f in fit.diagnose()}

    quantity = np.round(y - y.min()).astype(np.int64)
    found = causes(quantity, val=True)
    assert "the labels look like the values of a quantity" in found["wrong_loss"].evidence
    few_shot = np.arange(400) % 80                      # 80 classes of 5 rows
    assert "wrong_loss" not in causes(few_shot)


def test_a_loss_back_at_its_start_every_epoch_is_a_model_made_again():
    """A sawtooth: each epoch's loss falls from the chance loss to 1.6, and the next starts at
    chance again (an init call inside the epoch loop). A loss that falls across the epochs
    (the same steps, in one run) is no reset."""
    epoch = 2.3 - 0.7 * (1 - np.exp(-np.arange(40) / 10))
    rng = np.random.default_rng(0)
    sawtooth = np.tile(epoch, 8) + rng.normal(0, 0.02, 320)
    h = _history(sawtooth, train_acc=[0.4] * 8, val_acc=[0.4] * 8)   # 30 points above chance
    h.iters_per_epoch = 40
    f = _named(diagnose(h), "model_reset_each_epoch")
    assert f.severity == "error" and "7 of the 7 epochs" in f.evidence
    falling = 2.3 - 1.5 * (1 - np.exp(-np.arange(320) / 60)) + rng.normal(0, 0.02, 320)
    h = _history(falling, train_acc=[0.4 + i / 20 for i in range(8)], val_acc=[0.4] * 8)
    h.iters_per_epoch = 40
    assert all(f.cause != "model_reset_each_epoch" for f in diagnose(h))


def test_no_reset_is_read_into_noise_a_frozen_model_or_short_epochs():
    """What the first model_reset_each_epoch rule read as a reset (an outside review): a short,
    noisy, slowly learning run; a model that learns nothing, whose batches come in the same
    order every epoch (the same losses, epoch after epoch); epochs of different lengths, one
    shorter than the steps compared (a partial_fit's first chunk)."""
    rng = np.random.default_rng(1)
    fired = 0
    for _ in range(40):
        steps = 6 * 20
        loss = (0.8 + 0.2 * np.exp(-np.arange(steps) / 60)) * np.abs(
            1 + 0.2 * rng.standard_normal(steps))
        h = _history(loss, train_acc=[0.45] * 6, val_acc=[0.45] * 6)
        h.iters_per_epoch = 20
        fired += any(f.cause == "model_reset_each_epoch" for f in diagnose(h))
    assert fired == 0
    batches = np.linspace(2.4, 1.9, 20)                 # a frozen model's losses, batch by batch
    frozen = _history(np.tile(batches, 8), train_acc=[0.3] * 8)
    frozen.iters_per_epoch = 20
    assert all(f.cause != "model_reset_each_epoch" for f in diagnose(frozen))
    uneven = _history(np.linspace(2, 1, 191), train_acc=[0.5] * 4)
    uneven.iters_per_epoch, uneven.epoch_ends = 63, [2, 65, 128, 191]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert all(f.cause != "model_reset_each_epoch" for f in diagnose(uneven))


def test_a_run_that_learns_slowly_starts_each_epoch_where_the_last_ended_not_at_a_reset():
    """A binary classifier whose loss creeps from 0.70 to 0.66 over 7 epochs of 12 steps (the
    DeepFD MovieReviews fix, dropout 0.5 under RMSprop): every epoch starts within 95% of the
    first loss and falls a little, yet nothing is undone at the boundaries. A reset
    re-learns the same fall every epoch."""
    rng = np.random.default_rng(2)
    steps = np.arange(84)
    creeping = 0.70 - 0.04 * steps / 84 + rng.normal(0, 0.003, 84)
    h = _history(creeping, train_acc=[0.55, 0.6, 0.63, 0.67, 0.72, 0.74, 0.77],
                 val_acc=[0.5, 0.52, 0.55, 0.57, 0.6, 0.62, 0.62])
    h.iters_per_epoch = 12
    assert all(f.cause != "model_reset_each_epoch" for f in diagnose(h))
    relearnt = np.tile(0.70 - 0.2 * (1 - np.exp(-np.arange(12) / 4)), 7) \
        + rng.normal(0, 0.003, 84)
    h = _history(relearnt, train_acc=[0.75] * 7, val_acc=[0.7] * 7)
    h.iters_per_epoch = 12
    assert _named(diagnose(h), "model_reset_each_epoch").severity == "error"


def test_class_counts_of_a_sample_name_no_class_as_missing_or_too_thin():
    """Counts of a loop's probe (128 of 2,000 rows), or of one partial_fit chunk, say nothing of
    the classes of the whole training set: no labels_start_at_one, no quantity classified."""
    counts = [0] + [8] * 15 + [1] * 32          # 47 outputs: 128 rows counted
    loss = 3.8 * np.exp(-np.arange(200) / 60) + 0.1
    for meta in ({"n_train": 2000}, {"n_train": 128, "partial_fit": True}):
        h = _history(loss, train_acc=[0.3, 0.3], val_acc=[0.05, 0.05])
        h.meta.update(meta, n_classes=len(counts))
        h.monitors["data"] = {"n": 128, "feature_mean": [0.0], "feature_std": [1.0],
                              "class_counts": counts, "val_class_counts": None}
        causes = {f.cause for f in diagnose(h)}
        assert not causes & {"labels_start_at_one", "wrong_loss"}, meta


def test_a_late_cut_after_the_run_converged_is_no_decay_too_fast():
    """A plateau scheduler's cuts after the loss has converged reach a millionth of the peak
    at 60% of a long run: fine, the model had learnt what it could."""
    t = np.arange(400)
    h = _history(2.3 * np.exp(-t / 30) + 0.05, train_acc=[0.98] * 40, val_acc=[0.96] * 40)
    h.lr = [0.1 * 0.1 ** max(0, (i - 120) // 24) for i in t]
    assert all(f.cause != "lr_decayed_too_fast" for f in diagnose(h))


def test_a_summed_loss_is_no_bounded_output_out_of_reach():
    """MSELoss(reduction='sum') over a batch of 64 on a sigmoid output: a first loss of 4.6 is
    64 errors inside [0, 1], not one out of its reach."""
    h = _history(np.linspace(4.6, 3.2, 120))
    h.meta.update(chance_loss=None, n_classes=None, setup={
        "output": {"activation": "sigmoid", "units": 1, "seen": "measured"},
        "loss": {"name": "mse", "reduction": "sum"}, "task": "regress",
        "targets": {"classes": None, "counts": None, "mean": None, "std": None, "min": None,
                    "max": None}})
    assert all(f.cause != "output_range" for f in diagnose(h))
    h.meta["setup"]["loss"]["reduction"] = "mean"
    assert _named(diagnose(h), "output_range").severity == "error"


@pytest.mark.parametrize("constraints", [3, True, "MaxNorm(c=3)", None])
def test_damaged_constraints_in_meta_never_crash_the_diagnosis(constraints):
    h = _history(np.linspace(2.3, 1.0, 120))
    h.meta["constraints"] = constraints
    assert isinstance(diagnose(h), list)


def test_a_label_column_among_the_inputs_and_copied_validation_rows_are_named(centred_digits):
    """Digits with its class appended as a feature; then validated on 150 of its own training
    rows. An honest split says neither."""
    X, y, Xv, yv = centred_digits

    def causes(X, y, val):
        trainer = bs.Trainer(bs.mlp(X.shape[1], [32], 10, seed=0),
                             bs.losses.SoftmaxCrossEntropy(), bs.optim.Adam(1e-3),
                             batch_size=32, epochs=3, progress=False)
        return {f.cause: f for f in trainer.fit(X, y, val=val).diagnose()}

    labelled = np.c_[X, y].astype(np.float32)
    found = causes(labelled, y, (np.c_[Xv, yv].astype(np.float32), yv))
    assert found["label_in_inputs"].severity == "warning"
    assert "input feature 64 holds one value for each class" in found["label_in_inputs"].evidence
    found = causes(X, y, (X[:150], y[:150]))
    assert "100% of the validation rows are copies of training rows" \
        in found["validation_leakage"].evidence
    honest = causes(X, y, (Xv, yv))
    assert "label_in_inputs" not in honest and "validation_leakage" not in honest


def test_validation_rows_that_repeat_as_the_training_rows_do_are_no_leak():
    """A table of few distinct rows (3 binary features): an honest split puts repeats on both
    sides, as often as the training rows repeat each other."""
    rng = np.random.default_rng(3)
    X = rng.integers(0, 2, (600, 3)).astype(np.float32)
    y = (X.sum(axis=1) >= 2).astype(np.int64)
    trainer = bs.Trainer(bs.mlp(3, [8], 2, seed=0), bs.losses.SoftmaxCrossEntropy(),
                         bs.optim.Adam(1e-2), batch_size=32, epochs=3, progress=False)
    history = trainer.fit(X[:450], y[:450], val=(X[450:], y[450:]))
    assert history.monitors["data"]["copies"] == {"val": 1.0, "train": 1.0}
    assert all(f.cause != "validation_leakage" for f in history.diagnose())


def test_a_penalty_that_pulls_a_regressions_fit_back_is_too_strong():
    """L2 of 1.0 under Adam on a regression that fits (R^2 about 0.6): the data loss climbs
    back from its half-time level as the penalty takes over the loss. At 1e-4 the same run
    fits to the end."""
    from sklearn.datasets import make_regression

    X, y = make_regression(n_samples=800, n_features=10, n_informative=8, noise=5.0,
                           random_state=1)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    y = ((y - y.mean()) / y.std()).astype(np.float32).reshape(-1, 1)

    def causes(strength):
        trainer = bs.Trainer(bs.mlp(10, [64], 1, seed=0), bs.losses.MeanSquaredError(),
                             bs.optim.Adam(1e-3), reg=bs.regularizers.L2(strength),
                             batch_size=32, epochs=40, progress=False)
        return {f.cause: f for f in trainer.fit(X[:600], y[:600],
                                                val=(X[600:], y[600:])).diagnose()}

    found = causes(1.0)
    assert "it pulls the fit away from the data" in found["reg_too_strong"].evidence
    assert "reg_too_strong" not in causes(1e-4)


def test_validation_inputs_left_raw_are_named_not_overfitting(digits_split):
    """Training pixels standardized, validation pixels left as they are: the network is judged
    on inputs it never saw the like of. The same validation rows standardized alike are fine."""
    X, y, Xv, yv = (digits_split.train.X, digits_split.train.y, digits_split.val.X,
                    digits_split.val.y)
    mean, std = X.mean(axis=0), X.std(axis=0) + 1e-3

    def causes(val_inputs):
        trainer = bs.Trainer(bs.mlp(64, [32], 10, seed=0), bs.losses.SoftmaxCrossEntropy(),
                             bs.optim.Adam(1e-3), batch_size=32, epochs=5, progress=False)
        history = trainer.fit((X - mean) / std, y, val=(val_inputs, yv))
        return history, {f.cause: f for f in history.diagnose()}

    history, found = causes(Xv * 16)                     # the raw 0..16 pixels
    assert found["val_scaled_otherwise"].severity == "warning"
    assert "overfitting" not in found
    assert history.monitors["data"]["val_scale"]["ratio"] > 3
    history, found = causes((Xv - mean) / std)
    assert "val_scaled_otherwise" not in found
    scale = history.monitors["data"]["val_scale"]
    assert scale["shift"] < 0.2 and 0.8 < scale["ratio"] < 1.25


def test_validation_rows_off_scale_by_their_means_alone_are_named():
    """Wine's validation rows left raw: their typical spread is 0.8x the standardized
    training rows' (inside any bound on spreads), but most of their means sit 3 training
    spreads away or more. Half the features off training's scale is enough; an honest split
    has none off."""
    from sklearn.datasets import load_wine
    from sklearn.model_selection import train_test_split

    X, y = load_wine(return_X_y=True)
    Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    mean, std = Xtr.mean(0), Xtr.std(0)

    def fitted(val_inputs):
        trainer = bs.Trainer(bs.mlp(13, [32], 3, seed=0), bs.losses.SoftmaxCrossEntropy(),
                             bs.optim.Adam(1e-3), batch_size=32, epochs=20, progress=False)
        history = trainer.fit(((Xtr - mean) / std).astype(np.float32), ytr,
                              val=(val_inputs.astype(np.float32), yva))
        return history.monitors["data"]["val_scale"], {f.cause for f in history.diagnose()}

    scale, found = fitted(Xva)
    assert 1 / 3 < scale["ratio"] < 3 and scale["off"] / scale["features"] >= 0.5
    assert "val_scaled_otherwise" in found
    scale, found = fitted((Xva - mean) / std)
    assert scale["off"] == 0 and "val_scaled_otherwise" not in found


def test_labels_noisier_in_training_than_in_validation_are_named():
    """40% of the training labels wrong (validation's clean), a small network: validation is
    classified 20 points better than the training rows. Without the wrong labels, nothing."""
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=1200, n_features=20, n_informative=10, n_classes=3,
                               n_clusters_per_class=1, class_sep=2.0, random_state=2)
    X = X.astype(np.float32)

    def causes(share):
        rng = np.random.default_rng(5)
        labels = y[:900].copy()
        wrong = rng.random(900) < share
        labels[wrong] = (labels[wrong] + rng.integers(1, 3, wrong.sum())) % 3
        trainer = bs.Trainer(bs.mlp(20, [32], 3, seed=0), bs.losses.SoftmaxCrossEntropy(),
                             bs.optim.Adam(1e-3), batch_size=32, epochs=20, progress=False)
        return {f.cause: f for f in trainer.fit(X[:900], labels, val=(X[900:], y[900:]))
                .diagnose()}

    found = causes(0.4)
    assert found["noisy_train_labels"].severity == "warning"
    assert "above the training accuracy" in found["noisy_train_labels"].evidence
    assert "noisy_train_labels" not in causes(0.0)


def test_a_run_stopped_while_its_loss_still_falls_steeply_has_labels_with_signal():
    """Iris for 120 updates at Adam's 1e-3, from a loss 2.6x chance: accuracy 0.12 -> 0.44 and
    the loss falling fast at the end. That is a run stopped early, not labels without signal;
    shuffled labels on a small network still are."""
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    order = np.random.default_rng(0).permutation(150)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)[order]
    y = y[order]

    def causes(labels, epochs):
        trainer = bs.Trainer(bs.mlp(4, [16], 3, seed=0), bs.losses.SoftmaxCrossEntropy(),
                             bs.optim.Adam(1e-3), batch_size=32, epochs=epochs, progress=False)
        return {f.cause for f in trainer.fit(X[:112], labels[:112], val=(X[112:], labels[112:]))
                .diagnose()}

    assert "labels_without_signal" not in causes(y, 30)
    shuffled = np.random.default_rng(1).permutation(y)
    assert "labels_without_signal" in causes(shuffled, 60)


def test_one_feature_off_of_two_is_a_split_by_time_not_a_scaling_mistake():
    """[a time index, a reading] split by time: the index alone sits off training's scale.
    Two features off of two, or the one of one, are a mistake."""
    from babysit.diagnose.data_rules import val_off_scale
    from babysit.diagnose.evidence import Evidence

    def off(count: int, features: int) -> bool:
        h = bs.History()
        h.monitors["data"] = {"n": 400, "feature_mean": [0.0] * features,
                              "feature_std": [1.0] * features, "class_counts": None,
                              "val_class_counts": None,
                              "val_scale": {"shift": 1.3, "ratio": 0.66, "rows": 100,
                                            "features": features, "off": count}}
        return val_off_scale(Evidence.of(h))

    assert not off(1, 2) and off(2, 2) and off(1, 1) and not off(2, 5) and off(3, 5)
