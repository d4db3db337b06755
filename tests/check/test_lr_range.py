"""The learning-rate range test: a copy trains while the rate grows exponentially; the curve
stops once the loss has blown up, and a rate is read off it."""

import json
import math

import numpy as np
import pytest

import babysit as bs
from babysit.check.lr_range import DIVERGE_FACTOR, _result


@pytest.fixture(scope="module")
def centred(digits_split):
    return digits_split.preprocessed(bs.preprocess.MeanCenter())


def small_net(seed=0, dropout=0.0):
    return bs.mlp(64, [50], 10, dropout=dropout, seed=seed)


def test_the_network_and_the_optimizer_are_left_as_they_were(centred):
    net = small_net(dropout=0.3)
    before = {k: p.value.copy() for k, p in net.named_params().items()}
    opt = bs.optim.Momentum(lr=0.05)
    bs.check.lr_range(net, bs.losses.SoftmaxCrossEntropy(), *centred.train, opt, iterations=50)
    for k, p in net.named_params().items():
        assert np.array_equal(p.value, before[k]), k
    # The dropout generator was not drawn from either: a training forward matches a fresh net's.
    fresh = small_net(dropout=0.3)
    x = centred.train.X[:8]
    assert np.array_equal(net(x, train=True), fresh(x, train=True))
    assert opt.lr == 0.05 and opt.t == 0 and opt.state == {}


def test_the_rate_grows_exponentially_from_start_to_end(centred):
    found = bs.check.lr_range(small_net(), bs.losses.SoftmaxCrossEntropy(), *centred.train,
                              bs.optim.SGD(), start=1e-6, end=1e-2, iterations=40)
    lrs = np.asarray(found.lrs)
    assert len(lrs) == 40  # far too low to blow up: it runs to the end
    assert lrs[0] == pytest.approx(1e-6) and lrs[-1] == pytest.approx(1e-2)
    np.testing.assert_allclose(lrs[1:] / lrs[:-1], (1e-2 / 1e-6) ** (1 / 39), rtol=1e-9)
    assert found.stopped.startswith("reached")


def test_it_stops_once_the_smoothed_loss_passes_4x_its_minimum(centred):
    found = bs.check.lr_range(small_net(), bs.losses.SoftmaxCrossEntropy(), *centred.train,
                              bs.optim.SGD(), start=1e-4, end=1e3, iterations=200)
    smooth = np.asarray(found.smoothed)
    assert len(smooth) < 200
    assert not (smooth[-1] <= DIVERGE_FACTOR * smooth[:-1].min())  # passed 4x (or NaN)
    running_min = np.minimum.accumulate(smooth[:-1])
    assert np.all(smooth[1:-1] <= DIVERGE_FACTOR * running_min[:-1])  # and not before


def test_the_suggestion_lies_before_the_minimum_and_the_rules_are_consistent(centred):
    found = bs.check.lr_range(small_net(), bs.losses.SoftmaxCrossEntropy(), *centred.train,
                              bs.optim.Adam())
    assert found.steepest <= found.at_minimum
    assert found.min_over_10 == pytest.approx(found.at_minimum / 10)
    assert found.suggestion == (found.min_over_10 if found.method == "min/10" else found.steepest)
    i = found.lrs.index(found.at_minimum)
    assert found.smoothed[i] == min(found.smoothed)
    steep = bs.check.lr_range(small_net(), bs.losses.SoftmaxCrossEntropy(), *centred.train,
                              bs.optim.Adam(), method="steepest")
    assert steep.suggestion == steep.steepest == found.steepest


def test_the_steepest_descent_is_where_the_loss_falls_fastest_against_log_lr():
    lrs = list(np.logspace(-6, 0, 61))
    # A smooth step in log lr centred at 1e-3, then a rise after 1e-1.
    t = np.log10(lrs)
    curve = 2.0 - 1.5 / (1 + np.exp(-3 * (t + 3))) + np.where(t > -1, 5 * (t + 1) ** 2, 0)
    found = _result(lrs, list(curve), list(curve), "test", "min/10", "SGD()")
    assert found.steepest == pytest.approx(1e-3, rel=0.3)
    assert found.at_minimum == pytest.approx(1e-1, rel=0.3)


def test_a_loss_that_never_falls_gives_no_suggestion_and_says_why():
    lrs = list(np.logspace(-6, 0, 20))
    rising = list(np.linspace(2.3, 9.3, 20))
    found = _result(lrs, rising, rising, "test", "min/10", "SGD()")
    assert found.suggestion is None and found.steepest is None
    assert "never fell" in found.note and "no suggestion" in str(found)


def test_the_result_plots_and_serializes(centred, tmp_path):
    found = bs.check.lr_range(small_net(), bs.losses.SoftmaxCrossEntropy(), *centred.train,
                              bs.optim.SGD(), iterations=60, start=1e-4, end=1e2)
    path = found.plot(tmp_path / "lr_range.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    d = json.loads(json.dumps(found.to_dict(), allow_nan=False))
    assert d["suggestion"] == found.suggestion and d["iterations"] == len(found.lrs)
    assert all(v is None or math.isfinite(v) for v in d["losses"])
    assert "suggested rate" in str(found)


@pytest.mark.parametrize("kwargs, named", [
    ({"start": 1.0, "end": 0.1}, "start and end"),
    ({"iterations": 1}, "iterations"),
    ({"smoothing": 1.0}, "smoothing"),
    ({"diverge": 1.0}, "diverge"),
    ({"method": "valley"}, "method"),
    ({"optimizer": "adam"}, "optimizer"),
])
def test_bad_arguments_are_refused_by_name(centred, kwargs, named):
    with pytest.raises(ValueError, match=named):
        bs.check.lr_range(small_net(), bs.losses.SoftmaxCrossEntropy(), *centred.train, **kwargs)


def test_lr_find_writes_the_plot_and_prints_the_suggestion(tmp_path, capsys):
    from babysit.cli import main

    out = tmp_path / "find"
    assert main(["lr-find", "--hidden", "16", "--optimizer", "sgd", "--iterations", "80",
                 "--out", str(out), "--json"]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(printed[-1])
    assert summary["suggestion"] == pytest.approx(summary["at_minimum"] / 10)
    assert summary["command"].startswith("babysit train --data digits --hidden 16 "
                                         "--optimizer sgd --lr ")
    assert (out / "lr_range.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((out / "lr_range.json").read_text())["suggestion"] == summary["suggestion"]


def test_lr_find_refuses_a_bad_range_in_one_line(tmp_path, capsys):
    from babysit.cli import main

    assert main(["lr-find", "--start", "1", "--end", "0.1", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "start and end" in err[0]
