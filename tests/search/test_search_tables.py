"""Search on tables: a regression target is searched by its validation loss (lowest first,
the study minimizes), classes by validation accuracy; the retrained best and the top-k members
carry the table's encoders, so `babysit predict` applies a search's result to new rows."""

import json

import numpy as np
import optuna
import pytest

from babysit import search
from babysit.cli import main
from babysit.search.objective import ACCURACY, LOSS, objective_for


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def write(path, header, rows):
    path.write_text("\n".join(",".join(map(str, r)) for r in [header, *rows]) + "\n")
    return path


@pytest.fixture(scope="module")
def houses(tmp_path_factory):
    """200 rows of a linear price over three columns of different scales, and a text column."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3)) * [1, 100, 0.01]
    town = np.array(["north", "south"])[np.arange(200) % 2]
    price = 50 + 10 * X[:, 0] + 0.1 * X[:, 1] - 300 * X[:, 2] + 8 * (town == "south") \
        + rng.normal(0, 1, 200)
    rows = [[*np.round(x, 5), t, round(p, 3)] for x, t, p in zip(X, town, price, strict=True)]
    path = write(tmp_path_factory.mktemp("houses") / "houses.csv",
                 ["a", "b", "c", "town", "price"], rows)
    return path, price


SEARCH = ["--trials", "4", "--epochs", "15", "--hidden", "16", "--reg", "1e-4",
          "--param", "lr=loguniform(3e-3,3e-2)", "--top-k", "2", "--split", "0.6,0.2,0.2",
          "--json"]


def test_the_objective_follows_the_task():
    assert objective_for("regress") == LOSS and LOSS.direction == "minimize"
    assert LOSS.better == "lower" and ACCURACY.better == "higher"
    assert objective_for("classify") == ACCURACY and ACCURACY.direction == "maximize"
    with pytest.raises(ValueError, match="task must be"):
        objective_for("cluster")


def test_a_loss_ranks_lowest_first_and_warns_at_the_border_of_the_lowest():
    rows = [{"stage": 1, "trial": i, "val_loss": loss, "lr": lr}
            for i, (loss, lr) in enumerate([(0.9, 1e-3), (0.2, 0.095), (0.5, 0.01)])]
    assert [r["trial"] for r in search.results.ranked(rows, LOSS)] == [1, 2, 0]
    assert [r["trial"] for r in search.results.ranked(
        [{**r, "val_accuracy": r["val_loss"]} for r in rows])] == [0, 2, 1]
    space = {"lr": search.loguniform(1e-3, 1e-1)}
    warning, = search.border_warnings(rows, space, objective=LOSS)
    assert warning.startswith("lr: the best value 0.095 lies in the top tenth")


def test_a_regression_search_minimizes_the_validation_loss_and_predicts(houses, tmp_path,
                                                                         capsys):
    path, price = houses
    run = tmp_path / "run"
    assert main(["search", "--data", str(path), "--target", "price", "--out", str(run),
                 *SEARCH]) == 0
    out = capsys.readouterr().out
    assert "validation loss (minimized)" in out.splitlines()[0]
    # the data's own options kept: the file as given, its target and split
    assert f"to train the best again: babysit train --data {path} --target price --split " \
        "0.6,0.2,0.2 " in out
    summary = last_json(out)
    assert summary["objective"] == {"metric": "val_loss", "direction": "minimize"}
    trials = json.loads((run / "trials.json").read_text())
    assert len(trials) == 4 and all("val_accuracy" not in t for t in trials)
    assert all(t["val_rmse"] > 0 for t in trials)
    assert summary["best"]["val_loss"] == min(t["val_loss"] for t in trials)
    assert "val_loss" in (run / "trials.csv").read_text().splitlines()[0].split(",")
    storage = search.open_storage(run / "study.journal")
    study = optuna.load_study(study_name="babysit.stage1", storage=storage)
    assert study.direction == optuna.study.StudyDirection.MINIMIZE
    # retrained with the trial's seed, the best reproduces its trial's loss
    retrained, ensemble = summary["retrained"], summary["ensemble"]
    assert retrained["val_loss"] == summary["best"]["val_loss"]
    assert retrained["test_r2"] > 0.8 and "test_accuracy" not in retrained
    assert {"val_rmse", "test_rmse", "test_mae", "test_r2"} <= set(ensemble)

    # the search's best and its ensemble members predict new rows, in the target's units
    for model in (run / "best.safetensors", run / "ensemble" / "member-2.safetensors"):
        assert main(["predict", str(model), "--data", str(path), "--json"]) == 0
        captured = capsys.readouterr()
        predicted = np.array(last_json(captured.out)["predictions"])
        assert "ignoring column 'price'" in captured.err
        assert np.sqrt(np.mean((predicted - price) ** 2)) < 0.3 * price.std()


def test_a_classification_search_on_a_table_predicts_class_names(tmp_path, capsys):
    rng = np.random.default_rng(1)
    kind = np.array(["bream", "perch", "pike"])[np.arange(150) % 3]
    length = 20 + 10 * (np.arange(150) % 3) + rng.normal(0, 2, 150)
    rows = [[round(v, 2), ["lake", "river"][i % 2], kind[i]] for i, v in enumerate(length)]
    path = write(tmp_path / "fish.csv", ["length", "water", "kind"], rows)
    run = tmp_path / "run"
    assert main(["search", "--data", str(path), "--target", "kind", "--out", str(run),
                 *SEARCH]) == 0
    summary = last_json(capsys.readouterr().out)
    assert summary["objective"] == {"metric": "val_accuracy", "direction": "maximize"}
    assert summary["retrained"]["val_accuracy"] == summary["best"]["val_accuracy"]
    new = write(tmp_path / "new.csv", ["water", "length"], [["lake", 20], ["river", 40]])
    assert main(["predict", str(run / "best.safetensors"), "--data", str(new), "--json"]) == 0
    result = last_json(capsys.readouterr().out)
    assert result["classes"] == ["bream", "perch", "pike"]
    assert result["predictions"] == ["bream", "pike"]


def test_train_ensemble_averages_a_regression_in_the_targets_units(houses, tmp_path, capsys):
    path, _ = houses
    assert main(["train", "--data", str(path), "--target", "price", "--ensemble", "3",
                 "--epochs", "10", "--hidden", "16", "--split", "0.6,0.2,0.2", "--out",
                 str(tmp_path), "--json"]) == 0
    out = capsys.readouterr().out
    summary = last_json(out)
    members = summary["member_test_scores"]
    assert summary["task"] == "regress" and len(members) == 3
    assert out.count("test RMSE") == 4                            # each member, then the mean
    # the mean prediction's squared error is at most the members' mean squared error (Jensen)
    assert summary["test_rmse"] ** 2 <= np.mean([m["rmse"] ** 2 for m in members]) + 1e-9
    assert summary["test_r2"] >= np.mean([m["r2"] for m in members]) - 1e-9
    assert main(["predict", str(tmp_path / "member-1"), "--data", str(path)]) == 0


def test_kfold_on_a_regression_averages_the_loss_over_plain_folds(houses):
    from babysit.runs.builders import load_data
    from babysit.runs.config import RunConfig

    data = load_data(RunConfig(data=str(houses[0]), target="price"))
    config = {"hidden": [8], "epochs": 2, "loss": "mse"}
    scores = search.evaluate(config, data, folds=3)       # StratifiedKFold would refuse floats
    assert {"val_loss", "val_rmse", "val_std"} <= set(scores)
    assert scores["val_loss"] > 0 and scores["val_rmse"] > 0 and scores["val_std"] >= 0
    one = search.evaluate(config, data)
    assert {"val_loss", "val_rmse"} <= set(one) and "val_std" not in one
    # RMSE in the target's units: the loss is half the mean squared standardized error
    assert one["val_rmse"] == pytest.approx(np.sqrt(2 * one["val_loss"]) * data.target.scale_,
                                            rel=1e-3)


def test_search_from_python_fits_its_settings_to_a_table_as_babysit_search_does(houses):
    """`search.run(data=...)` sets what `babysit search` sets: a table's defaults for the
    settings `base` does not give, the regression loss; those `base` gives stay."""
    from babysit.runs.builders import TABLE_DEFAULTS, load_data, table_epochs
    from babysit.runs.config import RunConfig
    from babysit.search.runner import _fixed_settings

    data = load_data(RunConfig(data=str(houses[0]), target="price"))
    fitted = _fixed_settings(None, 0, data)
    assert fitted["reg"] == TABLE_DEFAULTS["reg"] and fitted["loss"] == "mse"
    assert fitted["epochs"] == table_epochs(len(data.train.y), fitted["batch_size"])
    given = _fixed_settings({"reg": 1e-4, "epochs": 7}, 0, data)
    assert (given["reg"], given["epochs"], given["loss"]) == (1e-4, 7, "mse")
