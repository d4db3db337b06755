"""Gradient checks as the notes teach them: planted bugs are caught, kinks are not blamed,
dropout is checked with fixed masks, and the network checked is never touched."""

import json

import numpy as np
import pytest

import babysit as bs
from babysit import cli
from babysit.check import (
    centered_difference,
    gradients,
    numerical_gradient,
    numerical_gradient_array,
    rel_error,
    step_sizes,
)
from babysit.nn.layers import Dropout, Linear, ReLU, Sequential, Tanh
from babysit.nn.losses import MeanSquaredError, MulticlassSVM, SoftmaxCrossEntropy
from babysit.nn.regularizers import L1, L2, ElasticNet
from babysit.runs import run as run_module

SOFTMAX = SoftmaxCrossEntropy()


class PlantedLinear(Linear):
    """y = x @ W + b with one deliberate bug in the backward pass."""

    takes_input_grad = False   # its closure takes dL/dy alone

    def __init__(self, n_in, n_out, bug, seed=0):
        super().__init__(n_in, n_out, init="xavier", seed=seed)
        self.bug = bug

    def forward(self, x, train=False):
        W, b = self.params["W"], self.params["b"]
        y = x @ W.value + b.value

        def backward(dy):
            dW = x.T @ dy
            if self.bug == "factor":
                dW = 2 * dW
            elif self.bug == "nan":     # a backward that divides 0 by 0 somewhere
                dW = dW * np.nan
            elif self.bug == "transpose":
                dW = dW.T
            W.grad += dW
            if self.bug != "no_bias":
                b.grad += dy.sum(axis=0)
            return dy @ W.value.T

        return y, backward


class UnscaledDropout(Dropout):
    """Dropout whose backward forgets the 1/(1-drop) scaling of inverted dropout."""

    def forward(self, x, train=False):
        y, backward = super().forward(x, train)
        keep = 1.0 - self.drop
        return y, lambda dy: backward(dy) * keep


class DoubledL2(L2):
    """An L2 penalty whose gradient is twice what its value says."""

    def _add_grad(self, p):
        p.grad += 2 * self.lam * p.value


def planted_net(bug):
    return Sequential(Linear(6, 5, init="xavier", seed=1), Tanh(), PlantedLinear(5, 5, bug, seed=2),
                      Tanh(), Linear(5, 3, init="xavier", seed=3))


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    return rng.normal(size=(5, 6)).astype(np.float32), np.array([0, 1, 2, 0, 1])


def snapshot(net):
    params = {k: (p.value.copy(), p.grad.copy()) for k, p in net.params.items()}
    buffers = [{k: b.copy() for k, b in m.buffers.items()} for m in net.modules()]
    rngs = [m.rng.bit_generator.state for m in net.modules() if hasattr(m, "rng")]
    return params, buffers, rngs


# -- planted bugs ------------------------------------------------------------------------


@pytest.mark.parametrize("bug, culprit", [("factor", "2.W"), ("transpose", "2.W"),
                                          ("no_bias", "2.b"), ("nan", "2.W")])
def test_a_planted_bug_is_caught_and_named(batch, bug, culprit):
    report = gradients(planted_net(bug), SOFTMAX, *batch, per_param=25)
    assert not report.ok
    assert report.wrong == [culprit]
    assert report.verdict(culprit).verdict == "wrong"
    assert f"WRONG gradient: {culprit} (data loss)" in str(report)
    # Every other parameter, in the same network, checks out.
    others = [v for v in report.verdicts if v.param != culprit]
    assert others and all(v.verdict == "excellent" for v in others)


def test_a_gradient_that_is_not_a_number_agrees_with_nothing(batch):
    assert rel_error(np.nan, 1.0) == np.inf and rel_error(1.0, np.inf) == np.inf
    assert rel_error(0.0, 0.0) == 0.0 and rel_error(np.nan, np.nan) == np.inf
    summary = gradients(planted_net("nan"), SOFTMAX, *batch).summary()
    json.dumps(summary, allow_nan=False)      # what `babysit check` writes: strict JSON
    assert not summary["ok"] and summary["wrong"] == ["2.W"]


def test_the_correct_version_of_the_planted_layer_passes(batch):
    report = gradients(planted_net(None), SOFTMAX, *batch, per_param=25)
    assert report.ok and report.wrong == []
    assert {v.param for v in report.verdicts} == {"0.W", "0.b", "2.W", "2.b", "4.W", "4.b"}
    assert all(v.verdict == "excellent" for v in report.verdicts)


# A bias feeding BatchNorm has a gradient of exactly zero, which the check flags as tiny.
@pytest.mark.filterwarnings("ignore:gradients below 1e-10")
@pytest.mark.parametrize("kwargs, loss, reg", [
    ({"activation": "relu"}, SOFTMAX, L2(1e-2)),
    ({"activation": "tanh"}, SOFTMAX, L1(1e-2)),
    ({"activation": "leaky_relu"}, MulticlassSVM(), ElasticNet(1e-3, 1e-2)),
    ({"activation": "sigmoid", "batchnorm": True}, SOFTMAX, L2(1e-3)),
    ({"activation": "relu", "batchnorm": True, "dropout": 0.3, "input_noise": 0.1}, SOFTMAX,
     L2(1e-3)),
])
def test_correct_layers_losses_and_penalties_pass(batch, kwargs, loss, reg):
    net = bs.mlp(6, [7, 7], 3, seed=4, **kwargs)
    report = gradients(net, loss, *batch, reg=reg, per_param=8, burn_in=3)
    assert report.ok, str(report)
    assert all(v.verdict in ("excellent", "fine (kinks)") for v in report.verdicts
               if v.worst is not None)
    # Every parameter is sampled, BatchNorm's gamma and beta included, in both sections.
    assert {v.param for v in report.verdicts if v.section == "data loss"} == set(net.params)
    penalized = {k for k, p in net.params.items() if p.regularize}
    assert {v.param for v in report.verdicts if v.section == "regularization"} == penalized


def test_a_regression_loss_passes(batch):
    X, _ = batch
    targets = np.random.default_rng(1).normal(size=(5, 2))
    report = gradients(bs.mlp(6, [4], 2, activation="tanh"), MeanSquaredError(), X, targets)
    assert report.ok
    assert all(v.verdict == "excellent" for v in report.verdicts)


# -- data loss and regularization apart -------------------------------------------------------


def test_a_strong_penalty_cannot_hide_a_wrong_data_gradient(batch):
    report = gradients(planted_net("factor"), SOFTMAX, *batch, reg=L2(100.0), per_param=25)
    assert report.verdict("2.W", "data loss").wrong
    assert not report.verdict("2.W", "regularization").wrong
    assert report.wrong == ["2.W"]


def test_a_wrong_penalty_gradient_is_caught_in_its_own_section(batch):
    report = gradients(planted_net(None), SOFTMAX, *batch, reg=DoubledL2(1e-2))
    assert not report.ok
    assert report.wrong == ["0.W", "2.W", "4.W"]
    assert all(not v.wrong for v in report.verdicts if v.section == "data loss")
    assert all(v.wrong for v in report.verdicts if v.section == "regularization")
    assert "not penalized (both regularization gradients exactly 0): 0.b, 2.b, 4.b" in report.notes


# -- kinks -------------------------------------------------------------------------------------


def kinked_relu_net():
    """Example 0's first hidden unit sits exactly on ReLU's kink: 1*0.5 + 0*0.3 - 0.5 = 0."""
    first, last = Linear(2, 2, seed=0, dtype="float64"), Linear(2, 3, seed=1, dtype="float64")
    first.params["W"].value[...] = [[0.5, 1.0], [0.3, -0.7]]
    first.params["b"].value[...] = [-0.5, 0.2]
    X = np.array([[1.0, 0.0], [2.0, 1.0], [-1.0, 3.0]])
    return Sequential(first, ReLU(), last), X, np.array([0, 1, 2])


def test_a_step_across_a_relu_kink_is_reported_and_not_blamed():
    net, X, y = kinked_relu_net()
    report = gradients(net, SOFTMAX, X, y, per_param=100)
    kinked = {(r.param, r.index) for r in report.rows if r.kink}
    # Moving b[0] or W[0, 0] by h moves example 0 across the kink; W[1, 0] meets a zero input.
    assert kinked == {("0.W", (0, 0)), ("0.b", (0,))}
    for row in report.rows:
        if row.kink:
            assert row.rel_error > 1e-2  # the finite difference really is off there ...
    assert report.ok  # ... and yet the gradient is not called wrong
    # The verdict reads the rows that crossed no kink, and those agree.
    assert report.verdict("0.b").kinks == 1 and report.verdict("0.b").worst < 1e-7
    assert "crossed" in str(report)
    assert any("crossed a kink" in note for note in report.notes)


def test_the_l1_penalty_kink_at_zero_is_reported():
    net, X, y = kinked_relu_net()
    net[0].params["W"].value[0, 1] = 5e-6  # within h of |w|'s kink at 0
    report = gradients(net, SOFTMAX, X, y, reg=L1(1e-2), per_param=100)
    row = next(r for r in report.rows if r.section == "regularization" and r.index == (0, 1)
               and r.param == "0.W")
    assert row.kink and row.rel_error > 1e-2
    assert not report.verdict("0.W", "regularization").wrong


def test_a_large_step_crosses_kinks_without_calling_the_gradient_wrong(batch):
    report = gradients(bs.mlp(6, [20], 3, seed=2), MulticlassSVM(), *batch, h=0.5, per_param=20)
    assert sum(r.kink for r in report.rows) > 0
    assert report.ok


# -- dropout -------------------------------------------------------------------------------


def dropout_net(dropout_type):
    return Sequential(Linear(6, 16, seed=0), ReLU(), dropout_type(0.5, seed=3),
                      Linear(16, 3, seed=1))


def test_dropout_is_checked_with_the_same_mask_and_passes(batch):
    report = gradients(dropout_net(Dropout), SOFTMAX, *batch, per_param=20)
    assert report.ok
    assert all(v.verdict in ("excellent", "fine (kinks)") for v in report.verdicts)


def test_a_broken_dropout_backward_is_caught(batch):
    report = gradients(dropout_net(UnscaledDropout), SOFTMAX, *batch, per_param=20)
    assert not report.ok
    # The gradients below the dropout layer lack the 1/(1-drop) factor; those above are right.
    assert report.wrong == ["0.W", "0.b"]
    assert not report.verdict("3.W").wrong and not report.verdict("3.b").wrong


# -- the network passed in is left alone ---------------------------------------------------


@pytest.mark.filterwarnings("ignore:gradients below 1e-10")
def test_the_float32_network_is_unchanged_bit_for_bit(batch):
    net = bs.mlp(6, [8, 8], 3, batchnorm=True, dropout=0.3, input_noise=0.1, seed=0)
    bs.Trainer(net, SOFTMAX, bs.optim.SGD(0.1), epochs=1, batch_size=5).fit(*batch)
    before = snapshot(net)
    opt = bs.optim.Adam(1e-2)
    gradients(net, SOFTMAX, *batch, reg=L2(1e-3), burn_in=3, opt=opt)
    after = snapshot(net)
    for name, (value, grad) in before[0].items():
        assert after[0][name][0].dtype == np.float32
        assert np.array_equal(after[0][name][0], value) and np.array_equal(after[0][name][1], grad)
    for b0, b1 in zip(before[1], after[1], strict=True):
        assert b0.keys() == b1.keys()
        assert all(b1[k].dtype == np.float32 and np.array_equal(b0[k], b1[k]) for k in b0)
    assert before[2] == after[2]  # dropout and noise generators not advanced
    assert opt.t == 0 and not opt.state  # the caller's optimizer is not used up by the burn-in


def test_burn_in_checks_after_the_loss_has_gone_down(batch):
    net = bs.mlp(6, [10], 3, seed=0)
    fresh = gradients(net, SOFTMAX, *batch)
    trained = gradients(net, SOFTMAX, *batch, burn_in=30, opt=bs.optim.Adam(1e-2))
    assert trained.loss < 0.5 * fresh.loss
    assert trained.burn_in == 30 and trained.ok


# -- tiny gradients and the step size ---------------------------------------------------------


class ScaledDownSoftmax(SoftmaxCrossEntropy):
    """The softmax loss times 1e-12: gradients far below where floats are dense."""

    def __call__(self, scores, y):
        value, dscores = super().__call__(scores, y)
        return value * 1e-12, dscores * 1e-12


def test_tiny_gradients_are_flagged_with_a_warning_to_scale_the_loss(batch):
    with pytest.warns(UserWarning, match="scale the loss up"):
        report = gradients(bs.mlp(6, [5], 3, activation="tanh"), ScaledDownSoftmax(), *batch)
    assert all(r.tiny for r in report.rows if r.analytic or r.numerical)
    assert any("scale the loss up" in note for note in report.notes)
    assert "tiny" in str(report)


def test_the_step_size_curve_falls_then_rises(batch):
    curve = step_sizes(bs.mlp(6, [8], 3, activation="tanh"), SOFTMAX, *batch)
    assert np.allclose(curve.h, 10.0 ** -np.arange(1, 11))
    at = dict(zip(curve.h.tolist(), curve.rel_error.tolist(), strict=True))
    assert at[1e-5] < 1e-2 * at[1e-1]   # truncation error shrinks with h ...
    assert at[1e-5] < 1e-2 * at[1e-10]  # ... until round-off takes over
    assert 1e-7 <= curve.best <= 1e-3
    assert "median rel. error" in str(curve)


# -- the helpers and bad input ------------------------------------------------------------------


def test_centered_differences_divide_by_the_step_actually_taken():
    x = np.array([3.0, -2.0], dtype=np.float32)
    grad = numerical_gradient(lambda: float((x.astype(np.float64) ** 2).sum()), x, h=1e-3)
    assert np.allclose(grad, [6.0, -4.0], rtol=1e-6)
    assert x.tolist() == [3.0, -2.0]  # restored exactly
    with pytest.raises(ValueError, match="below the resolution"):
        centered_difference(lambda: 0.0, x, (0,), h=1e-12)


class ViewIndexed(np.ndarray):
    """Indexes like a CuPy array: x[i, j] is a 0-d view into x, not a scalar copy."""

    def __getitem__(self, index):
        index = index if isinstance(index, tuple) else (index,)
        return super().__getitem__((*index, Ellipsis))


def test_centered_differences_are_centered_when_indexing_returns_a_view():
    # CuPy's x[index] is a view: a perturbation read through it would shift the point of
    # the lower evaluation and turn the centered difference into a one-sided one.
    x = np.array([0.5, -1.5, 2.0]).view(ViewIndexed)
    grad = numerical_gradient(lambda: float((np.asarray(x) ** 3).sum()), x, h=1e-4)
    # a one-sided difference is off by 3*x*h (1e-4 here); the centered one by h^2
    assert np.allclose(grad, 3 * np.array([0.5, -1.5, 2.0]) ** 2, rtol=0, atol=1e-7)
    assert np.asarray(x).tolist() == [0.5, -1.5, 2.0]


def test_numerical_gradient_array_matches_a_linear_layer_backward():
    layer = Linear(4, 3, seed=0, dtype="float64")
    x = np.random.default_rng(0).normal(size=(2, 4))
    dout = np.random.default_rng(1).normal(size=(2, 3))
    _, backward = layer.forward(x)
    dx = backward(dout)
    assert np.allclose(numerical_gradient_array(lambda: layer(x), x, dout), dx, rtol=1e-7)


def test_the_numerical_helpers_take_f_of_x_as_the_notes_write_it():
    # eval_numerical_gradient(f, x) in the notes calls f(x); a function that reads x itself
    # (or binds what it needs as a default, lambda w=p: ...) is called with no argument.
    x = np.array([1.0, -2.0, 0.5])
    assert np.allclose(numerical_gradient(lambda v: float((v ** 2).sum()), x), 2 * x)
    assert np.allclose(numerical_gradient(lambda k=3.0: float(k * x.sum()), x), 3.0)
    dout = np.array([1.0, 2.0, -1.0])
    assert np.allclose(numerical_gradient_array(lambda v: np.tanh(v), x, dout),
                       dout * (1 - np.tanh(x) ** 2), rtol=1e-8)
    assert x.tolist() == [1.0, -2.0, 0.5]


@pytest.mark.parametrize("kwargs, match", [
    ({"per_param": 0}, "per_param"), ({"h": 0.0}, "h must be"), ({"h": float("nan")}, "h must"),
    ({"burn_in": -1}, "burn_in"), ({"opt": "adam"}, "opt must"),
])
def test_bad_arguments_are_refused_by_name(batch, kwargs, match):
    with pytest.raises(ValueError, match=match):
        gradients(bs.mlp(6, [4], 3), SOFTMAX, *batch, **kwargs)


def test_bad_network_and_data_are_refused(batch):
    with pytest.raises(ValueError, match="net must be a babysit Layer"):
        gradients(lambda x: x, SOFTMAX, *batch)
    with pytest.raises(ValueError, match="out of range"):
        gradients(bs.mlp(6, [4], 3), SOFTMAX, batch[0], np.array([0, 1, 2, 3, 4]))


# -- the command line ----------------------------------------------------------------------


def test_babysit_check_prints_the_table_and_exits_0(tmp_path, capsys):
    code = cli.main(["check", "--data", "digits", "--hidden", "20", "--examples", "4",
                     "--per-param", "5", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    for column in ("parameter", "index", "analytic", "numerical", "rel. error", "kink"):
        assert column in out
    assert "regularization:" in out and "every parameter passes" in out
    assert (tmp_path / "gradient_check.txt").read_text().strip() == out.strip()


def test_babysit_check_exits_1_on_a_wrong_gradient(tmp_path, capsys, monkeypatch):
    def planted(cfg, n_in, n_out):
        return Sequential(Linear(n_in, 5, seed=0), Tanh(), PlantedLinear(5, 5, "no_bias"),
                          Linear(5, n_out, seed=1))

    monkeypatch.setattr(run_module, "build_model", planted)
    code = cli.main(["check", "--data", "digits", "--per-param", "5", "--out", str(tmp_path)])
    assert code == 1
    assert "WRONG gradient: 2.b (data loss)" in capsys.readouterr().out
