"""`babysit overfit`: a few training examples, regularization off, learned by heart (exit 0)
or not (exit 1), as a run folder with its history."""

from __future__ import annotations

import json

from babysit import cli


def _overfit(tmp_path, capsys, name, *flags) -> tuple[int, dict]:
    code = cli.main(["overfit", "--hidden", "32", "--examples", "10", "--reg", "0.1",
                     "--dropout", "0.5", "--no-report", "--json", "--out", str(tmp_path / name),
                     *flags])
    out, err = capsys.readouterr()
    # what was asked and is left out is said, not dropped without a word
    assert "--dropout, --reg left out" in out + err
    return code, json.loads(out.strip().splitlines()[-1])


def test_a_healthy_network_learns_its_examples_by_heart(tmp_path, capsys):
    code, summary = _overfit(tmp_path, capsys, "ok", "--epochs", "200")
    assert code == 0 and summary["learned"] and summary["train_accuracy"] == 1.0
    config = json.loads((tmp_path / "ok" / "config.json").read_text())
    # Regularization and dropout are off whatever was asked; one full batch of the examples.
    assert (config["reg"], config["dropout"], config["batch_size"], config["epochs"]) == \
        (0.0, 0.0, 10, 200)
    assert (tmp_path / "ok" / "history.json").is_file()


def test_a_network_that_cannot_learn_them_exits_1(tmp_path, capsys):
    code, summary = _overfit(tmp_path, capsys, "stuck", "--optimizer", "sgd", "--lr", "1e-9",
                             "--epochs", "5")
    assert code == 1 and not summary["learned"]


def test_a_regressed_table_is_refused_before_a_run_folder_is_made(tmp_path, capsys,
                                                                   monkeypatch):
    """The refusal came after runs/overfit-<time>/ was made, left holding a config.json."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "q.csv").write_text("a,y\n" + "".join(f"{i % 7 / 2},{i * 1.5}\n"
                                                   for i in range(30)))
    assert cli.main(["overfit", "--data", "q.csv", "--target", "y", "--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "target is regressed" in err[0], err
    assert not (tmp_path / "runs").exists()


def test_a_config_file_leaves_nothing_out_that_was_not_typed(tmp_path, capsys):
    """Repeating an overfit run from its config.json (which holds batch_size and the rest)
    said '--batch-size, --dropout, --input-noise, --reg left out' though none was typed."""
    _overfit(tmp_path, capsys, "first", "--epochs", "5")
    code = cli.main(["overfit", "--config", str(tmp_path / "first" / "config.json"),
                     "--examples", "10", "--no-report", "--out", str(tmp_path / "again")])
    out, err = capsys.readouterr()
    assert code in (0, 1) and "left out" not in out + err


def test_check_and_lr_find_say_which_training_settings_they_leave_out(tmp_path, capsys):
    """A gradient check trains no epochs and the range test sweeps its own rate: the
    training settings typed for them are said to be left out, and their help does not offer
    them."""
    assert cli.main(["check", "--epochs", "3", "--patience", "2", "--examples", "2",
                     "--per-param", "2", "--out", str(tmp_path / "check")]) == 0
    out, err = capsys.readouterr()
    assert "babysit check: --epochs, --patience left out" in out + err
    assert cli.main(["lr-find", "--lr", "0.1", "--iterations", "5", "--out",
                     str(tmp_path / "lr")]) == 0
    out, err = capsys.readouterr()
    assert "babysit lr-find: --lr left out: the range test sweeps the rate" in out + err
    for command in ("check", "lr-find"):
        assert cli.main([command, "--help"]) == 0
        shown = capsys.readouterr().out
        assert "--patience" not in shown and "--hidden" in shown
