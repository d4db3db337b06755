"""The end of every run: history.json kept (a diverged run's too), the diagnosis printed, the
report written (or not), exit status 3 for a run that diverged, and a last line that says so."""

from __future__ import annotations

import json

import numpy as np

import babysit as bs
from babysit.diagnose import Finding
from babysit.runs import finish
from babysit.training import monitors

# Plain SGD at this rate blows up on digits and turns NaN within the first epochs; in which
# epoch depends on the processor's BLAS (5 finished a run on one machine), so no test names it.
DIVERGING_LR = 5.5


def _trainer(lr: float, epochs: int = 5):
    return bs.Trainer(bs.mlp(64, [100, 100], 10, seed=0), bs.losses.SoftmaxCrossEntropy(),
                      bs.optim.SGD(lr), reg=bs.regularizers.L2(1e-4), batch_size=32,
                      epochs=epochs, progress=False,
                      callbacks=monitors.default(image_shape=(8, 8), data="digits"))


def _fit(trainer, digits_split):
    mean = digits_split.train.X.mean(axis=0)
    with np.errstate(all="ignore"):
        return finish.fit(trainer, digits_split.train.X - mean, digits_split.train.y,
                          val=(digits_split.val.X - mean, digits_split.val.y))


def test_a_diverged_run_keeps_its_history_and_report_and_earns_status_3(digits_split, tmp_path):
    trainer = _trainer(DIVERGING_LR)
    error = _fit(trainer, digits_split)
    assert isinstance(error, bs.DivergedError)
    said = []
    outcome = finish.finish(trainer.history, tmp_path, said.append, error=error)
    assert outcome.diverged and outcome.status == finish.EXIT_DIVERGED == 3
    kept = bs.History.load(tmp_path / "history.json")
    assert kept.iterations == trainer.history.iterations and np.isnan(kept.loss[-1])
    assert outcome.report == tmp_path / "report.html" and outcome.report.is_file()
    assert "\ndiagnosis:" in said and said[-1] == f"report: {outcome.report}"
    assert outcome.last_line(tmp_path).startswith("the run diverged: its history")
    summary = outcome.to_json()
    assert summary["diverged"] and summary["report"] == str(outcome.report)
    assert summary["findings"][0]["severity"] == "error"
    json.dumps(summary)  # JSON-ready


def test_a_healthy_run_earns_status_0_and_says_nothing_more(digits_split, tmp_path):
    trainer = _trainer(0.05, epochs=3)
    assert _fit(trainer, digits_split) is None
    outcome = finish.finish(trainer.history, tmp_path, lambda line: None, report=False)
    assert outcome.status == 0 and outcome.report is None
    assert not (tmp_path / "report.html").exists() and (tmp_path / "history.json").is_file()
    assert outcome.last_line(tmp_path) is None


def test_a_run_that_ends_with_an_error_finding_says_so_last(tmp_path):
    dead = Finding("error", "dead units", "layer 1 ReLU: 95% dead", "Lower the learning rate.")
    note = Finding("warning", "overfitting", "gap 0.06", "Regularize more.")
    outcome = finish.Outcome([dead, note], tmp_path / "report.html", diverged=False)
    assert outcome.status == 0 and outcome.errors == [dead]
    assert outcome.last_line(tmp_path) == ("finished, but the diagnosis found an error: dead "
                                           f"units; the report is {tmp_path / 'report.html'}")
    assert finish.Outcome([note], None, diverged=False).last_line(tmp_path) is None


def test_the_end_of_a_run_diagnoses_it_once_for_the_printout_and_the_report(
        digits_split, tmp_path, monkeypatch):
    import babysit.diagnose
    import babysit.report

    trainer = _trainer(0.05, epochs=2)
    assert _fit(trainer, digits_split) is None
    calls = []
    real = babysit.diagnose.diagnose

    def counted(history):
        calls.append(history)
        return real(history)

    monkeypatch.setattr(babysit.diagnose, "diagnose", counted)   # History.diagnose's
    monkeypatch.setattr(babysit.report, "diagnose", counted)     # the report's own
    outcome = finish.finish(trainer.history, tmp_path, lambda line: None)
    assert len(calls) == 1 and outcome.report.is_file()
    assert outcome.findings[0].what in outcome.report.read_text()


class _StopAtStep(bs.training.callbacks.Callback):
    """Ctrl-C after the update of step `at` (0-based; by default the third of the first epoch:
    no epoch ends, no training state)."""

    update_every = 1

    def __init__(self, at: int = 2):
        self.at = at

    def after_update(self, trainer, iteration: int) -> None:
        if iteration == self.at:
            raise KeyboardInterrupt


def test_an_interrupt_before_any_epoch_ended_says_how_to_start_the_run_again(tmp_path):
    import pytest

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((256, 4)).astype(np.float32), rng.integers(0, 2, 256)
    (tmp_path / "config.json").write_text("{}")
    trainer = bs.Trainer(bs.mlp(4, [8], 2), bs.losses.SoftmaxCrossEntropy(), bs.optim.SGD(0.1),
                         batch_size=16, epochs=3, progress=False, callbacks=[_StopAtStep()])
    with pytest.raises(KeyboardInterrupt) as caught:
        finish.fit(trainer, X, y, out=tmp_path, resume_hint=f"babysit resume {tmp_path}")
    said = str(caught.value)
    # the third step's update is in the weights, and so in the History, though its hook failed
    assert "in epoch 1 of 3, after 3 iterations" in said
    assert trainer.iteration == trainer.history.iterations == 3
    assert said.endswith(f"no epoch ended, so nothing to resume: babysit train --config "
                         f"{tmp_path / 'config.json'} starts it again")


def test_an_interrupt_after_epochs_of_a_run_without_state_says_it_keeps_none(tmp_path):
    """babysit demo keeps no training state: stopped in epoch 201 it said "no epoch ended"."""
    import pytest

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 4)).astype(np.float32), rng.integers(0, 2, 64)
    (tmp_path / "config.json").write_text("{}")
    stop = _StopAtStep(at=9)
    trainer = bs.Trainer(bs.mlp(4, [8], 2), bs.losses.SoftmaxCrossEntropy(), bs.optim.SGD(0.1),
                         batch_size=16, epochs=5, progress=False, callbacks=[stop])
    with pytest.raises(KeyboardInterrupt) as caught:
        finish.fit(trainer, X, y, out=tmp_path, resume_hint=f"babysit resume {tmp_path}")
    said = str(caught.value)
    assert "in epoch 3 of 5" in said
    assert "this command keeps no training state, so nothing to resume: babysit train " \
           "--config" in said and "no epoch ended" not in said
