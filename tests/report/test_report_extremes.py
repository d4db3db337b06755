"""The report draws whatever finite numbers a run recorded, however large (a loss of 1e307, a
range from -1e308 to 1e308), and a record with a hole in it (a loss never finite, a first-layer
record whose iteration was lost) leaves that part out with a word instead of stopping the
report."""

from __future__ import annotations

import math
import re
import sys

import numpy as np
import pytest

import babysit as bs
from babysit import report
from babysit.report import page, svg

BIG = sys.float_info.max


def _finite_coordinates(chart: str) -> list[float]:
    """Every number in the chart's path data and circle centres."""
    paths = " ".join(re.findall(r' d="([^"]*)"', chart) + re.findall(r' c[xy]="([^"]*)"', chart))
    return [float(v) for v in re.findall(r"[-+0-9.e]+|nan|inf", paths)]


def test_a_loss_near_the_largest_float_draws_on_both_loss_charts(tmp_path):
    h = bs.History(loss=[1.0, 1e307], data_loss=[1.0, 1e307], reg_loss=[0.0, 0.0],
                   lr=[0.1, 0.1])
    text = report.write(h, tmp_path).read_text(encoding="utf-8")
    assert "Loss per iteration, log scale" in text
    assert "Loss per iteration, linear scale" in text


@pytest.mark.parametrize("values", [[-1e308, 1e308], [0.0, 1.7e308], [-BIG, BIG], [BIG, BIG],
                                    [-BIG, -BIG]])
def test_any_finite_data_has_a_finite_linear_axis_with_ticks_that_holds_it(values):
    lo, hi = svg.limits(values, "linear")
    assert math.isfinite(lo) and math.isfinite(hi)
    assert lo <= min(values) and max(values) <= hi
    scale = svg.Scale("linear", lo, hi)
    ticks = scale.ticks()
    assert ticks and all(lo <= v <= hi for v, _ in ticks)
    where = scale(values)
    assert np.all((where >= 0) & (where <= 1))


@pytest.mark.parametrize("values", [[1.0, 1e307], [1.0, BIG], [1e300, BIG], [BIG]])
def test_any_positive_data_has_a_finite_log_axis_with_decade_ticks(values):
    lo, hi = svg.limits(values, "log")
    assert 0 < lo <= min(values) and max(values) <= hi < math.inf
    ticks = svg.Scale("log", lo, hi).ticks()
    assert ticks and all(math.isfinite(v) and "inf" not in label for v, label in ticks)


def test_a_value_far_above_a_fixed_axis_leaves_the_plot_with_finite_coordinates():
    chart = svg.Chart("loss", ylim=(0.0, 1.3))
    chart.line([1.0, 2.0, 3.0], [1.0, 1e307, 1.0])
    chart.line([1.0, 2.0], [-BIG, BIG], color=svg.color(1))
    numbers = _finite_coordinates(chart.svg())
    assert len(numbers) == 2 * 5 and all(math.isfinite(v) for v in numbers)


def _never_finite_loss() -> bs.History:
    """A run whose penalty was NaN from the first step: its data loss finite, its loss not."""
    nan = math.nan
    return bs.History(iters_per_epoch=2, loss=[nan] * 4, data_loss=[1.0, 0.9, 0.8, 0.7],
                      reg_loss=[nan] * 4, lr=[0.1] * 4, train_acc=[0.5, 0.6])


def test_a_loss_never_finite_says_so_in_the_run_table(tmp_path):
    rows = dict(page.run_rows(_never_finite_loss()))
    assert rows["Loss"].startswith("not finite at any iteration")
    assert "Loss at the end" not in rows
    assert "not finite at any iteration" in report.write(_never_finite_loss(), tmp_path) \
        .read_text(encoding="utf-8")


@pytest.mark.parametrize("iteration", [None, math.inf, math.nan])
def test_a_first_layer_record_without_its_iteration_still_draws(iteration, tmp_path):
    losses = [1.0, 0.9, 0.8, 0.7]
    h = bs.History(iters_per_epoch=2, loss=losses, data_loss=losses, reg_loss=[0.0] * 4,
                   lr=[0.1] * 4, train_acc=[0.5, 0.6])
    h.monitors["first_layer"] = {"name": "fc1", "shape": [4, 3], "units": [0, 1, 2],
                                 "iteration": iteration, "W": np.ones((4, 3)).tolist(),
                                 "W_start": np.zeros((4, 3)).tolist()}
    assert h.when(iteration) == "an unknown iteration"
    text = report.write(h, tmp_path).read_text(encoding="utf-8")
    assert "First-layer weights" in text and "after an unknown iteration" in text


def test_a_known_iteration_is_still_named_with_its_epoch():
    h = bs.History(iters_per_epoch=10)
    assert h.when(np.int64(71)) == "iteration 71 (epoch 8)"
    assert h.when(0) == "the start (iteration 0)"
