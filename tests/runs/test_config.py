"""RunConfig: one configuration under the command line, the estimators and the search."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

from babysit.cli import main, parser
from babysit.nn import optim
from babysit.runs import builders
from babysit.runs.config import RunConfig, config_fields
from babysit.training.checkpoint import read_meta


def _last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


def test_to_dict_and_from_dict_round_trip_through_json():
    cfg = RunConfig(hidden=[64, 32], lr=3e-3, max_norm=2.0, patience=4, batchnorm=True)
    again = RunConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg
    assert again.hidden == (64, 32)          # lists come back as the tuple a frozen field holds


def test_from_dict_refuses_an_unknown_key_by_name():
    with pytest.raises(ValueError, match=r"unknown setting 'lrate'; known: data, target"):
        RunConfig.from_dict({"lrate": 1e-3})


@pytest.mark.parametrize("changes, says", [
    ({"epochs": 0}, "epochs must be a positive integer, got 0"),
    ({"batch_size": 2.5}, "batch_size must be a positive integer, got 2.5"),
    ({"lr": 0.0}, "lr must be > 0, got 0.0"),
    ({"dropout": 1.0}, r"dropout must be in \[0, 1\), got 1.0"),
    ({"average": 1.5}, r"average must be in \(0, 1\) or None, got 1.5"),
    ({"hidden": [100, 0]}, "hidden width must be a positive integer, got 0"),
    ({"activation": "gelu"}, "unknown activation 'gelu'; known: relu, leaky_relu"),
    ({"batchnorm": "yes"}, "batchnorm must be True or False, got 'yes'"),
    ({"seed": -1}, "seed must be a non-negative integer or None, got -1"),
])
def test_every_value_is_checked_where_it_enters_naming_field_value_and_expectation(changes,
                                                                                  says):
    with pytest.raises(ValueError, match=says):
        RunConfig(**changes)
    with pytest.raises(ValueError, match=says):
        RunConfig().replace(**changes)


def test_every_field_is_an_option_of_train_generated_from_its_metadata():
    """A new field appears on the command line with no edit there: each field's flag reads
    the field's default back (written as the command line writes it)."""
    for name, f in config_fields().items():
        default = f.default
        if f.type == "bool":
            argv = [f"--{name.replace('_', '-')}"]
            expected = True
        elif f.type == "str | None" and f.metadata["choices"]:   # --task: one of its names
            first = f.metadata["choices"]()[0]
            argv, expected = [f"--{name.replace('_', '-')}", first], first
        elif f.type == "str | None":        # --target: any text is a column name
            argv, expected = [f"--{name.replace('_', '-')}", "label"], "label"
            if name.endswith("_data"):      # --val-data, --test-data: a file, made absolute
                expected = os.path.abspath("label")
        else:
            text = ",".join(map(str, default)) if isinstance(default, tuple) else str(default)
            argv = [f"--{name.replace('_', '-')}", "none" if default is None else text]
            expected = default
        args = parser().parse_args(["train", *argv])
        assert getattr(args, name) == expected, name


def test_the_readme_builders_train_a_regression_table(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.normal(size=120)
    lines = ["a,color,price", *(f"{x:.3f},{'red' if i % 2 else 'blue'},{100 + 30 * x:.2f}"
                                for i, x in enumerate(a))]
    (tmp_path / "r.csv").write_text("\n".join(lines) + "\n")
    cfg = RunConfig(data=str(tmp_path / "r.csv"), target="price", hidden=(8,), epochs=2)
    data = builders.load_data(cfg)
    cfg = builders.fit_to_data(cfg, data, chosen=cfg.to_dict())
    assert (cfg.loss, cfg.epochs) == ("mse", 2)
    net = builders.build_model(cfg, data.n_features, data.n_outputs)
    trainer = builders.build_trainer(cfg, net, data=data, quiet=True)
    trainer.fit(data.train.X, data.train.y, val=data.val)
    assert len(trainer.history.val_loss) == 2


def test_train_config_repeats_a_run_to_the_last_digit(tmp_path, capsys):
    first, second = tmp_path / "first", tmp_path / "second"
    assert main(["train", "--hidden", "24", "--epochs", "2", "--lr", "3e-3", "--dropout", "0.1",
                 "--batchnorm", "--seed", "3", "--json", "--out", str(first)]) == 0
    one = _last_json(capsys.readouterr().out)
    assert main(["train", "--config", str(first / "config.json"), "--json",
                 "--out", str(second)]) == 0
    two = _last_json(capsys.readouterr().out)
    assert two["val_accuracy"] == one["val_accuracy"]
    assert two["final_loss"] == one["final_loss"]
    assert RunConfig.load(second / "config.json") == RunConfig.load(first / "config.json")


def test_config_json_repeats_a_run_on_a_relative_file_from_another_folder(tmp_path,
                                                                            monkeypatch):
    where, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    where.mkdir(), elsewhere.mkdir()
    rows = [f"{i % 7},{(i * 3) % 5},{'yes' if i % 2 else 'no'}" for i in range(60)]
    (where / "t.csv").write_text("\n".join(["a,b,y", *rows]) + "\n")
    monkeypatch.chdir(where)
    assert main(["train", "--data", "t.csv", "--target", "y", "--epochs", "1",
                 "--out", "run"]) == 0
    saved = json.loads((where / "run" / "config.json").read_text())
    assert saved["data"] == str(where / "t.csv")       # stored absolute, a name stays a name
    assert RunConfig(data="digits").data == "digits"
    monkeypatch.chdir(elsewhere)
    assert main(["train", "--config", str(where / "run" / "config.json"), "--out", "again"]) == 0
    assert RunConfig.load(elsewhere / "again" / "config.json") == RunConfig.load(
        where / "run" / "config.json")


def test_flags_beside_config_override_its_fields_and_only_those(tmp_path, capsys):
    first, second = tmp_path / "first", tmp_path / "second"
    assert main(["train", "--hidden", "24", "--epochs", "1", "--batchnorm",
                 "--out", str(first)]) == 0
    assert main(["train", "--config", str(first / "config.json"), "--epochs", "2",
                 "--no-batchnorm", "--out", str(second)]) == 0
    cfg = RunConfig.load(second / "config.json")
    assert (cfg.hidden, cfg.epochs, cfg.batchnorm) == ((24,), 2, False)


def test_a_bad_config_file_exits_2_naming_the_file_and_the_key(tmp_path, capsys):
    path = tmp_path / "config.json"
    path.write_text('{"lr": 1e-3, "momentum": 0.9}')
    assert main(["train", "--config", str(path), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert "config.json" in err and "unknown setting 'momentum'" in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("content", [b"\x80\x00safetensors header", b"{not json"])
def test_config_pointing_at_a_file_that_is_not_json_names_the_file(tmp_path, content):
    path = tmp_path / "best.safetensors"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"best\.safetensors.* is not a run configuration"):
        RunConfig.load(path)


def test_an_unknown_task_is_refused_naming_the_known_ones(capsys):
    with pytest.raises(ValueError, match="unknown task 'foo'; known: none, classify, regress"):
        RunConfig(task="foo")
    assert main(["train", "--data", "digits", "--task", "foo"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "unknown task 'foo'" in err and "classify, regress" in err


def test_checkpoints_and_history_record_the_configuration(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--hidden", "8", "--epochs", "1", "--lr", "2e-3",
                 "--out", str(out)]) == 0
    saved = RunConfig.load(out / "config.json")
    assert saved.lr == 2e-3
    assert RunConfig.from_dict(read_meta(out / "best")["config"]) == saved
    history = json.loads((out / "history.json").read_text())
    assert RunConfig.from_dict(history["meta"]["config"]) == saved


def test_lr_decay_decays_the_learning_rate_exponentially_per_iteration():
    """The example field added through RunConfig alone: lr * exp(-k t)."""
    cfg = RunConfig(hidden=[8], epochs=1, lr=1e-2, lr_decay=0.01, optimizer="sgd")
    opt = builders.build_optimizer(cfg)
    assert isinstance(opt.lr, optim.ExponentialDecay)
    assert math.isclose(opt.lr(100), 1e-2 * math.exp(-1.0))
    assert builders.build_optimizer(RunConfig()).lr == 1e-3   # 0: a constant rate


def test_min_delta_reaches_early_stopping():
    """A field added through RunConfig alone: the builder hands it to EarlyStopping."""
    from babysit.training.callbacks import EarlyStopping

    cfg = RunConfig(hidden=[8], patience=3, min_delta=0.01)
    trainer = builders.build_trainer(cfg, builders.build_model(cfg, 4, 2))
    stop = next(cb for cb in trainer.callbacks if isinstance(cb, EarlyStopping))
    assert (stop.patience, stop.min_delta) == (3, 0.01)
    with pytest.raises(ValueError, match="min_delta must be >= 0, got -0.1"):
        RunConfig(min_delta=-0.1)


def test_bias_starts_every_linear_bias_at_its_value():
    """A field added through RunConfig alone (the doctor's small positive bias for dead ReLUs):
    the builder hands it to every Linear; BatchNorm's hidden layers keep no bias."""
    net = builders.build_model(RunConfig(hidden=[8, 8], bias=0.01), 4, 3)
    biases = [p.value for name, p in net.named_params().items() if name.endswith(".b")]
    assert len(biases) == 3 and all(float(b.min()) == float(b.max()) == pytest.approx(0.01)
                                    for b in biases)
    with pytest.raises(ValueError, match=r"bias must be in \[-1, 1\], got 5"):
        RunConfig(bias=5)


def test_target_and_drop_are_cleared_with_none_as_the_other_optional_settings(tmp_path,
                                                                                capsys):
    """`--target none` was a column named "none": a table run's config.json could not be
    repeated on a built-in dataset."""
    args = parser().parse_args(["train", "--target", "none", "--drop", "None", "--seed", "none"])
    assert (args.target, args.drop, args.seed) == (None, (), None)
    rows = [f"{i % 7},{(i * 3) % 5},{i},{'yes' if i % 2 else 'no'}" for i in range(60)]
    (tmp_path / "t.csv").write_text("\n".join(["a,b,id,y", *rows]) + "\n")
    table = tmp_path / "table"
    assert main(["train", "--data", str(tmp_path / "t.csv"), "--target", "y", "--drop", "id",
                 "--epochs", "1", "--out", str(table)]) == 0
    config = str(table / "config.json")
    again = ["train", "--config", config, "--data", "digits", "--epochs", "1", "--hidden", "8"]
    assert main([*again, "--out", str(tmp_path / "refused")]) == 2
    assert "--drop none clears it" in capsys.readouterr().err
    assert main([*again, "--drop", "none", "--out", str(tmp_path / "refused")]) == 2
    assert "--target none clears it" in capsys.readouterr().err
    assert main([*again, "--target", "none", "--drop", "none", "--out",
                 str(tmp_path / "digits")]) == 0
    cfg = RunConfig.load(tmp_path / "digits" / "config.json")
    assert (cfg.data, cfg.target, cfg.drop) == ("digits", None, ())


def test_drop_reads_quoted_names_as_the_refusal_of_a_column_writes_them():
    import shlex

    from babysit.data import tabular
    from babysit.runs.config import parse_names

    assert parse_names('"Income, USD", id') == ("Income, USD", "id")
    assert parse_names("a,b") == ("a", "b") and parse_names("none") == ()
    refused = str(tabular.RefusedColumns({"Income, USD": "holds 10,000", "it's": "is odd"}))
    pasted = shlex.split(refused.rsplit(" out with --drop ", 1)[1])
    assert len(pasted) == 1 and parse_names(pasted[0]) == ("Income, USD", "it's")
