"""`babysit train`'s modes (--resume, --fix, --ensemble), declared in one table with their
exclusions: an option a mode refuses, or one that belongs to a mode not chosen, is one line
naming it, before any run folder is made."""

from __future__ import annotations

import argparse

import pytest

from babysit import cli
from babysit.cli.train import MODES, add_options, chosen_mode
from babysit.runs.config import config_fields


def test_a_plain_run_has_no_mode_and_each_mode_is_chosen_by_its_option():
    assert chosen_mode({"lr": 0.1, "epochs": 3}) is None
    assert chosen_mode({"fix": True, "max_rounds": 2, "lr": 0.1}) == "fix"
    assert chosen_mode({"ensemble": 3, "epochs": 2}) == "ensemble"
    assert chosen_mode({"resume": "run", "epochs": 9, "json": True, "debug": True}) == "resume"


@pytest.mark.parametrize("given, refused, mode", [
    ({"fix": True, "ensemble": 2}, "--ensemble", "--fix"),
    ({"ensemble": 2, "fix": True}, "--ensemble", "--fix"),
    ({"resume": "run", "lr": 0.1}, "--lr", "--resume"),
    ({"resume": "run", "fix": True}, "--fix", "--resume"),
    ({"resume": "run", "ensemble": 2}, "--ensemble", "--resume"),
])
def test_an_option_a_mode_refuses_is_named(given, refused, mode):
    with pytest.raises(ValueError, match=f"^{refused} cannot be given with {mode}: "):
        chosen_mode(given)


def test_an_option_of_a_mode_not_chosen_is_refused():
    with pytest.raises(ValueError, match="^--max-rounds 2 counts the retrainings of --fix; "
                                         "add --fix, or leave --max-rounds out$"):
        chosen_mode({"max_rounds": 2, "epochs": 1})


def test_the_table_names_only_options_train_has():
    p = argparse.ArgumentParser()
    add_options(p)
    dests = set(vars(p.parse_args([]))) | set(config_fields())  # the settings: no defaults
    for name, mode in MODES.items():
        assert name in dests
        assert set(mode.refuses) | set(mode.beside or ()) | set(mode.owns) <= dests, name


def test_fix_with_an_ensemble_is_one_line_and_makes_no_folder(tmp_path, capsys):
    out = tmp_path / "r"
    assert cli.main(["train", "--fix", "--ensemble", "2", "--out", str(out)]) == 2
    line, = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("babysit train: error: --ensemble cannot be given with --fix")
    assert not out.exists()
