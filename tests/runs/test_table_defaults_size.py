"""A table's penalty is a prior's weight: 3e-2 for a few hundred rows, weaker as rows grow
(builders.table_reg; the figures are in benchmarks/tabular_large.py and the comment above
builders.TABLE_DEFAULTS)."""

from __future__ import annotations

import csv

import pytest

from babysit.runs import builders
from babysit.runs.config import RunConfig


def table(path, rows: int):
    """A CSV of `rows` rows: two numeric columns and a yes/no target."""
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([["a", "b", "y"], *([i % 7, (i * 3) % 5, "yes" if i % 2 else
                                                     "no"] for i in range(rows))])
    return path


def test_a_few_hundred_rows_keep_the_table_penalty_of_3e_2():
    assert builders.TABLE_DEFAULTS["reg"] == 3e-2
    assert builders.table_reg(400) == 3e-2
    assert builders.table_reg(builders.TABLE_REG_ROWS) == 3e-2
    # the largest training set of benchmarks/tabular.py's tuning half (OJ), where 3e-2 was chosen
    assert builders.table_reg(685) == 3e-2


def test_the_penalty_falls_as_the_square_of_the_rows_to_the_images_default():
    assert builders.table_reg(2 * builders.TABLE_REG_ROWS) == pytest.approx(3e-2 / 4)
    assert builders.table_reg(4_000) < builders.table_reg(2_000) < 3e-2
    assert builders.table_reg(19_000) == RunConfig().reg == 1e-4     # 20,000 rows less val


def test_a_large_table_takes_the_weaker_penalty_unless_reg_is_chosen(tmp_path):
    path = table(tmp_path / "t.csv", 2_000)
    data = builders.load_data(RunConfig(data=str(path), target="y"))
    rows = len(data.train.y)
    assert rows == 1_600                                     # 400 validation rows kept out
    cfg = builders.fit_to_data(RunConfig(), data)
    assert cfg.reg == pytest.approx(3e-2 * (700 / 1_600) ** 2) and cfg.reg < 3e-2
    note = builders.table_reg_note(cfg, data)
    assert note.startswith(f"penalty {cfg.reg:.2g}: ") and "1,600 training rows" in note
    assert "--reg sets another" in note
    # a user's --reg wins, and the run then says nothing about the rule
    given = builders.fit_to_data(RunConfig(reg=3e-2), data, {"reg"})
    assert given.reg == 3e-2 and builders.table_reg_note(given, data, {"reg"}) is None


def test_a_small_table_keeps_3e_2_and_says_nothing_of_it(tmp_path):
    path = table(tmp_path / "t.csv", 500)
    data = builders.load_data(RunConfig(data=str(path), target="y"))
    assert len(data.train.y) == 400
    cfg = builders.fit_to_data(RunConfig(), data)
    assert cfg.reg == 3e-2 and builders.table_reg_note(cfg, data) is None
