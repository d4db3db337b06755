"""RunConfig at the door: a config.json without "split" takes its data's own split, and a
network too big for the machine is refused by its --hidden before anything is allocated."""

from __future__ import annotations

import json

import pytest

from babysit import cli
from babysit.runs import config
from babysit.runs.builders import load_data
from babysit.runs.config import RunConfig


@pytest.mark.parametrize("written", [
    {"lr": 0.01},                                                   # by hand: digits, default
    {k: v for k, v in RunConfig(data="digits").to_dict().items() if k != "split"},  # by babysit
])
def test_a_config_without_split_on_a_built_in_dataset_keeps_its_own_split(tmp_path, written):
    """It was given 0.6,0.2,0.2, which a built-in dataset refuses ("apply to files only")."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(written))
    cfg = RunConfig.load(path)
    assert cfg.split is None
    assert len(load_data(cfg).train.y) == len(load_data(RunConfig()).train.y)


def test_a_config_without_split_on_a_data_file_keeps_the_split_files_had(tmp_path):
    """Before `split` existed every file split 60/20/20: such a run repeats on the same rows."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"data": str(tmp_path / "t.csv"), "target": "y"}))
    assert RunConfig.load(path).split == (0.6, 0.2, 0.2)


def test_train_with_a_config_naming_only_the_rate_runs_on_digits(tmp_path):
    (tmp_path / "lr.json").write_text('{"lr": 0.01}')
    assert cli.main(["train", "--config", str(tmp_path / "lr.json"), "--epochs", "1",
                     "--hidden", "8", "--no-report", "--out", str(tmp_path / "run")]) == 0


GIB = 2**30


def test_a_network_bigger_than_the_memory_is_refused_naming_its_size_in_float32(monkeypatch):
    """100000,100000 ran out of memory allocating a 74.5 GiB float64 array."""
    monkeypatch.setattr(config, "_machine_memory", lambda: 16 * GIB)
    with pytest.raises(ValueError) as refused:
        RunConfig(hidden=(100_000, 100_000))
    # 1*100000 + 100000*100000 + 100000*1 weights and 200001 biases, twice (with gradients)
    assert str(refused.value) == (
        "hidden 100000,100000 makes a network of at least 10,000,400,001 parameters, 74.5 GiB "
        "in float32 with their gradients, more than this machine's 16.0 GiB of memory; give "
        "narrower layers")
    assert RunConfig(hidden=(1000, 1000)).hidden == (1000, 1000)


def test_a_width_past_numpy_s_largest_is_one_line_naming_hidden(tmp_path, capsys):
    """It said "Maximum allowed dimension exceeded", naming nothing."""
    assert cli.main(["train", "--hidden", "99999999999999999999999", "--out",
                     str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "argument --hidden: hidden 99999999999999999999999 makes a " \
                             "network of at least" in err[0]
    assert "GiB in float32" in err[0] and "dimension" not in err[0]
    assert not (tmp_path / "run").exists()
