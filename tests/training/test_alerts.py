"""Alerts while training: the rules that can judge a partial run speak at the end of the epoch
in which their finding first appears, once, above the progress bar; --stop-on ends the run
there; a NaN always stops it."""

from __future__ import annotations

import numpy as np
import pytest

import babysit as bs
from babysit.training import monitors
from babysit.training.alerts import Alerts, blew_up, live_findings


def _fit(lr: float, epochs: int, optimizer: str = "sgd", **alerts):
    """Digits, centered, a 64-100-100-10 ReLU net: (history, lines said, error or None)."""
    data = bs.data.load("digits")
    mean = data.train.X.mean(axis=0)
    said = []
    trainer = bs.Trainer(bs.mlp(64, [100, 100], 10, seed=0), bs.losses.SoftmaxCrossEntropy(),
                         bs.optim.get(optimizer, lr), reg=bs.regularizers.L2(1e-4),
                         batch_size=32, epochs=epochs, progress=False,
                         callbacks=[*monitors.default(image_shape=(8, 8)),
                                    Alerts(write=said.append, **alerts)])
    try:
        with np.errstate(all="ignore"):
            trainer.fit(data.train.X - mean, data.train.y, val=(data.val.X - mean, data.val.y))
    except bs.DivergedError as err:
        return err.history, said, err
    return trainer.history, said, None


@pytest.fixture(scope="module")
def too_high():
    """Plain SGD at learning rate 4: the loss rises and ReLUs die (a warning in epoch 1 that
    grows into an error later); the run finishes."""
    return _fit(4.0, epochs=5)


def test_a_new_warning_is_said_once_at_the_end_of_the_epoch_it_first_appears(too_high):
    history, said, _ = too_high
    alerts = history.meta["alerts"]
    assert len(said) == len(alerts) >= 2
    assert alerts[0]["epoch"] == 1 and said[0].startswith("babysit, end of epoch 1: [")
    keys = [(a["cause"], a["what"], a["severity"]) for a in alerts]
    assert len(keys) == len(set(keys))  # nothing said twice
    # a finding is said again only when it grew from a warning into an error
    grew = [(a["cause"], a["what"]) for a in alerts if a["severity"] == "error"]
    assert grew
    for cause, what in grew:
        said_of = [a for a in alerts if (a["cause"], a["what"]) == (cause, what)]
        assert [a["severity"] for a in said_of] == ["warning", "error"]
        assert said_of[0]["epoch"] < said_of[1]["epoch"]


def test_without_stop_on_the_run_goes_on_to_its_last_epoch(too_high):
    history, _, err = too_high
    assert err is None and history.epochs == 5 and "stopped" not in history.meta


@pytest.mark.parametrize("level", ["warning", "error"])
def test_stop_on_ends_the_run_after_the_epoch_of_the_first_such_finding_and_says_so(
        too_high, level):
    first = next(a for a in too_high[0].meta["alerts"]
                 if a["severity"] == "error" or level == "warning")
    history, said, _ = _fit(4.0, epochs=5, stop_on=level)
    assert history.epochs == first["epoch"]
    assert history.meta["stopped"]["epoch"] == first["epoch"]
    assert said[-1].startswith(f"babysit: training stopped (--stop-on {level}: ")


def test_a_healthy_run_says_nothing():
    history, said, _ = _fit(1e-3, epochs=2, optimizer="adam")
    assert said == [] and history.meta["alerts"] == []
    assert not blew_up(history, history.diagnose())


def test_a_nan_stops_the_run_even_with_stop_on_never():
    # lr 10 overflows within the first epoch on every BLAS we ran; lr 5 sits on the edge (NaN
    # in epoch 3 on one processor, a finished run on another), so it would test the CPU.
    history, _, err = _fit(10.0, epochs=5, stop_on="never")
    assert isinstance(err, bs.DivergedError)
    assert not np.isfinite(history.loss[-1]) and history.epoch_of(history.iterations) < 5
    assert blew_up(history, history.diagnose())
    assert any(f.severity == "error" for f in live_findings(history))


def test_alerts_print_on_stderr_above_the_progress_bar(capsys):
    history = bs.History(iters_per_epoch=1, loss=[2.3, float("nan")], data_loss=[2.3, 0.0],
                         reg_loss=[0.0, 0.0], lr=[1.0, 1.0], train_acc=[0.1], val_acc=[None])

    class Run:
        stop_training, iteration = False, 2

    Run.history = history
    Alerts().on_epoch_end(Run, 1)
    err = capsys.readouterr().err
    assert err.startswith("babysit, end of epoch 1: [error] ")


def test_stop_on_takes_error_warning_or_never():
    with pytest.raises(ValueError, match="stop_on must be one of .* got 'sometimes'"):
        Alerts(stop_on="sometimes")
