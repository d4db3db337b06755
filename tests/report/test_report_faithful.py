"""The report draws what was recorded and no more, and says it in words: a constant layer is a
flat line, one sample is a dot, the diagnosis' own thresholds are drawn, the colour key is
readable, a run that was interrupted or resumed says so, a heatmap says how many units it
shows, and no code name ("SGD()", "image_shape None", "N params") reaches the page."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import babysit as bs
from babysit import report
from babysit.diagnose.symptoms import DEAD_WARNING, SATURATED_WARNING
from babysit.report import page, plots, words
from babysit.report.svg import Chart
from babysit.training import monitors
from babysit.training.checkpoint import state_path


def _run(epochs: int = 3, **meta) -> bs.History:
    """A short run's History with every monitor, its meta updated with `meta`."""
    losses = [2.3 - 0.01 * i for i in range(10 * epochs)]
    h = bs.History(iters_per_epoch=10, loss=losses, data_loss=losses, reg_loss=[0.0] * len(losses),
                   lr=[0.1] * len(losses), train_acc=[0.5] * epochs, val_acc=[0.5] * epochs,
                   val_loss=[1.0] * epochs)
    h.meta.update(data="digits", epochs=epochs, **meta)
    return h


def _y_ticks(chart: str) -> list[float]:
    return [float(t) for t in re.findall(r'text-anchor="end">([-0-9.e]+)<', chart)]


def test_a_constant_layer_is_a_flat_line_at_its_value_not_a_made_up_band():
    dead = monitors.histogram(np.zeros((16, 8), np.float32))  # an all-dead ReLU layer
    assert (dead["lo"], dead["hi"]) == (-0.5, 0.5)             # the monitors' placeholder range
    assert plots.percentiles(dead) == [0.0] * len(plots.PERCENTILES)
    assert plots.percentiles(monitors.histogram(np.full(10, 2.5))) == [2.5] * 5
    h = _run()
    h.monitors["layers"] = {"names": ["1 ReLU"], "samples": [
        {"iteration": i, "activations": [dead], "gradients": [dead]} for i in (0, 15, 30)]}
    chart = plots.plot_layer_bands(h, "activations")[0]
    ticks = _y_ticks(chart)
    assert min(ticks) < 0 < max(ticks) and max(ticks) == -min(ticks)  # about 0, not 0..0.03


def test_a_series_of_one_point_is_drawn_as_a_dot():
    chart = Chart("one sample")
    chart.line([0.9], [2.0], label="0.W")
    assert chart.svg().count("<circle") == 1
    gaps = Chart("a value between gaps")
    gaps.line([1, 2, 3, 4, 5], [1.0, None, 3.0, 4.0, None])
    assert gaps.svg().count("<circle") == 1   # the lone 1.0; 3 and 4 are joined by a line


def test_a_diverged_runs_single_update_ratio_is_visible_and_its_red_lines_are_named():
    nan = math.nan
    loss = [2.3] * 30 + [1e4] * 7 + [nan]
    h = bs.History(iters_per_epoch=34, loss=loss, data_loss=loss, reg_loss=[0.0] * 38,
                   lr=[5.5] * 38, train_acc=[0.1], val_acc=[0.1])
    h.monitors["update_ratio"] = {"every": 32, "iterations": [30], "weights": ["0.W"],
                                  "params": {"0.W": [9.9], "0.b": [None]}}
    chart = plots.plot_update_ratios(h)
    assert chart.count("<circle") == 1
    assert "loss NaN<" in chart and "loss above 3x its start<" in chart  # the legend names them


def test_the_unit_chart_draws_the_diagnosis_own_thresholds():
    h = _run()
    h.monitors["layers"] = {"names": ["1 ReLU", "3 Tanh"], "samples": [
        {"iteration": i, "activations": [{"dead": d}, {"saturated": d}]}
        for i, d in ((0, 0.0), (30, 0.5))]}
    chart = plots.plot_unit_health(h)
    assert f"{DEAD_WARNING:.0%}: dead units the diagnosis reports" in chart
    assert f"{SATURATED_WARNING:.0%}: saturation the diagnosis warns of" in chart
    assert "40%" not in chart


def test_the_colour_key_has_no_piled_y_labels_and_the_caption_no_direction():
    h = _run()
    h.monitors["first_layer"] = {"name": "0.W", "shape": [30, 300], "units": list(range(64)),
                                 "iteration": 30, "W": np.ones((30, 64)).tolist()}
    key = plots.plot_first_layer(h)[-1]
    assert "Colour key" in key and _y_ticks(key) == []
    caption = next(p for p in report.PLOTS if p.anchor == "first_layer_weights").caption(h)
    assert "below" not in caption and "(the colour key)" in caption


def test_the_heatmap_caption_says_how_many_of_the_layers_units_it_shows():
    h = _run()
    caption = next(p for p in report.PLOTS if p.anchor == "first_layer_weights").caption
    h.monitors["first_layer"] = {"shape": [30, 300], "units": list(range(64))}
    assert "the first 64 of the layer's 300 units" in caption(h)
    h.meta["image_shape"] = [5, 6]
    assert "the first 64 of the layer's 300 units" in caption(h)
    h.monitors["first_layer"] = {"shape": [30, 40], "units": list(range(40))}
    assert "the first" not in caption(h)


@pytest.mark.parametrize("saved_state", [True, False])
def test_an_interrupted_run_says_where_it_stopped_and_how_to_go_on(tmp_path, saved_state):
    h = _run(config={"data": "digits", "epochs": 200})
    h.meta["epochs"] = 200                               # 3 of 200 epochs, and no "finished"
    if saved_state:
        state_path(tmp_path).write_bytes(b"")
    text = report.write(h, tmp_path).read_text()
    assert "babysit report: digits, an interrupted run</h1>" in text
    assert "<b>Interrupted</b> in epoch 4 of 200 (3 finished, 30 iterations)" in text
    assert (f"<code>babysit resume {tmp_path.resolve()}</code> continues it" in text) == \
        saved_state
    finished = _run(config={"epochs": 200}, finished="2026-01-01 10:00 UTC")
    assert "Interrupted" not in report.write(finished, tmp_path / "done").read_text()
    fit = _run(config={"epochs": 3}, estimator="BabysitClassifier")  # never stamped, not cut off
    assert "Interrupted" not in report.write(fit, tmp_path / "estimator").read_text()


def test_a_resumed_run_says_its_wall_time_is_the_resumed_parts(tmp_path):
    h = _run(command="babysit resume runs/a", seconds=3.1, finished="2026-01-01 10:00 UTC")
    text = report.write(h, tmp_path).read_text()
    assert "<b>Resumed</b>" in text and "the wall time (3.1 s) is that command" in text
    assert dict(page.run_rows(h))["Wall time"] == "3.1 s, the babysit resume command's alone"
    assert page.verdict(h).startswith("3 of 3 epochs in 3.1 s (the resumed part)")
    trained = _run(command="babysit train", seconds=3.1, finished="2026-01-01 10:00 UTC")
    assert "Resumed" not in report.write(trained, tmp_path / "train").read_text()


def test_code_names_are_written_as_words():
    assert words.readable("MeanCenter(per='feature', image_shape=None)") == \
        "MeanCenter, per feature"
    assert words.readable("Pipeline(steps=(MeanCenter(per='feature', image_shape=None), "
                          "PCA(n_components=20, variance=None)))") == \
        "MeanCenter, per feature; then PCA, n components 20"
    found = {"lrs": [1e-4, 1e-3, 1e-2], "losses": [2.3, 2.0, 3.0],
             "smoothed": [2.3, 2.1, 2.5], "optimizer": "SGD()"}
    chart = plots.plot_lr_range(found)
    assert "Learning-rate range test, SGD<" in chart and "SGD()" not in chart
    rows = dict(page.run_rows(_run(n_params=17610, best_refused="best.safetensors not written")))
    assert rows["Parameters"] == "17,610" and rows["Best checkpoint"].startswith("best.")
    assert "N params" not in rows and "Best refused" not in rows


def test_an_accuracy_stuck_at_chance_is_drawn_flat_not_zoomed_onto_its_noise():
    h = _run(epochs=20)
    h.train_acc = [0.1020 - 0.0001 * (i % 3) for i in range(20)]
    h.val_acc = [0.1003] * 20
    ticks = _y_ticks(plots.plot_accuracy(h))
    assert max(ticks) - min(ticks) >= 0.08
    h.train_acc = list(np.linspace(0.2, 0.9, 20))   # a real rise keeps its own range
    assert plots.accuracy_limits(h.train_acc + h.val_acc) is None


def test_a_marker_line_outside_the_axis_is_neither_drawn_nor_named():
    chart = Chart("marks", xlim=(0.0, 1.0))
    chart.line([0.0, 1.0], [1.0, 2.0])
    chart.vline(0.5, label="inside")
    chart.vline(1.2, label="outside")
    drawn = chart.svg()
    assert "inside" in drawn and "outside" not in drawn


def test_a_run_that_put_an_earlier_epoch_back_is_reported_with_that_models_scores():
    """BestWeights put epoch 2's weights back: the verdict and the accuracy row give epoch 2's
    accuracies (what best.safetensors scores), not the last epoch's."""
    history = bs.History(iters_per_epoch=2)
    for i in range(8):
        history.record_step(1.0 / (i + 1), 0.0, 0.1)
    history.train_acc[:] = [0.70, 0.80, 0.95, 0.99]
    history.val_acc[:] = [0.65, 0.75, 0.70, 0.68]
    history.val_loss[:] = [0.9, 0.7, 0.8, 0.9]
    history.meta["best_weights"] = {"epoch": 2, "note": "put back"}
    line = page.verdict(history)
    assert "validation accuracy 0.7500" in line and "train accuracy 0.8000" in line
    assert "epoch 2, put back" in line and "0.6800" not in line
    rows = dict(page.run_rows(history))
    kept = rows["Accuracy of the model kept (epoch 2, put back at the end)"]
    assert kept == "train 0.8000, validation 0.7500 (the last epoch's 0.6800)"


def test_a_rate_decayed_into_float_underflow_still_draws_on_a_log_axis():
    """--lr-decay 1 took the rate to 1e-320 and then 0: the log axis divided by 0."""
    history = bs.History(iters_per_epoch=10)
    for i in range(40):
        history.record_step(2.3 - 0.01 * i, 0.0, 1e-3 * 1e-40 ** i if i < 9 else 0.0)
    svg_text = plots.plot_lr(history)
    assert svg_text.startswith("<svg") and "nan" not in svg_text
