"""Tables end to end on the command line: a quantity is regressed, text columns and holes
train with no preparation, `--preprocess auto` says what it chose, `babysit predict` applies a
run's model to new rows."""

import json

import numpy as np

from babysit.cli import main
from babysit.training import checkpoint
from babysit.training.history import History


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def write(path, header, rows):
    path.write_text("\n".join(",".join(map(str, r)) for r in [header, *rows]) + "\n")
    return path


def test_a_numeric_target_trains_as_regression_with_rmse_mae_and_r2(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3)) * [1, 100, 0.01]          # three scales: standardize helps
    price = 50 + 10 * X[:, 0] + 0.1 * X[:, 1] - 300 * X[:, 2] + rng.normal(0, 1, 300)
    path = write(tmp_path / "houses.csv", ["a", "b", "c", "price"],
                 [[*np.round(x, 5), round(p, 3)] for x, p in zip(X, price, strict=True)])
    assert main(["train", "--data", str(path), "--target", "price", "--epochs", "20",
                 "--split", "0.6,0.2,0.2", "--out", str(tmp_path / "run"), "--json"]) == 0
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    assert "model 3-100-100-1" in first and "preprocessing standardize (auto" in first
    assert "task regress" in out
    summary = last_json(out)
    assert summary["task"] == "regress" and "test_accuracy" not in summary
    assert summary["test_r2"] > 0.9                         # a linear target, well learned
    assert 0 < summary["test_mae"] <= summary["test_rmse"] < 0.4 * price.std()
    # judged by its validation loss: the best checkpoint is the epoch where it was lowest
    history = History.load(tmp_path / "run" / "history.json")
    assert len(history.val_loss) == 20 and all(v is None for v in history.val_acc)
    best = checkpoint.read_meta(tmp_path / "run" / "best")
    assert best["val_loss"] == min(history.val_loss)


def test_text_columns_and_missing_cells_train_and_predict(tmp_path, capsys):
    rng = np.random.default_rng(1)
    species = np.array(["Adelie", "Chinstrap", "Gentoo"])[np.arange(150) % 3]
    mass = 3000 + 900 * (np.arange(150) % 3) + rng.normal(0, 150, 150).round()
    rows = [[["Biscoe", "Dream"][i % 2], "NA" if i % 9 == 0 else mass[i],
             "" if i % 7 == 0 else ["male", "female"][i % 2], species[i]] for i in range(150)]
    header = ["island", "mass", "sex", "species"]
    run = tmp_path / "run"
    assert main(["train", "--data", str(write(tmp_path / "p.csv", header, rows)), "--target",
                 "species", "--epochs", "15", "--split", "0.6,0.2,0.2", "--out", str(run),
                 "--json"]) == 0
    out = capsys.readouterr().out
    assert "column 'mass': " in out and "median" in out and "'sex missing'" in out
    assert last_json(out)["test_accuracy"] > 0.8

    new = write(tmp_path / "new.csv", ["sex", "mass", "island", "id"],
                [["male", 3010, "Dream", 1], ["", 4800, "Biscoe", 2],
                 ["female", "", "Torgersen", 3]])
    assert main(["predict", str(run), "--data", str(new), "--out", str(tmp_path / "pred.csv"),
                 "--json"]) == 0
    captured = capsys.readouterr()
    result = last_json(captured.out)
    assert result["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
    assert result["predictions"][:2] == ["Adelie", "Gentoo"]
    assert "ignoring column 'id'" in captured.err and "unseen in training ('Torgersen')" in \
        captured.err
    lines = (tmp_path / "pred.csv").read_text().splitlines()
    assert lines[0] == ("predicted species,P(Adelie),P(Chinstrap),P(Gentoo),"
                        "far outside training range") and len(lines) == 4

    write(tmp_path / "bad.csv", ["island", "sex"], [["Dream", "male"]])
    assert main(["predict", str(run), "--data", str(tmp_path / "bad.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "lacks the column 'mass'" in err[0]


def test_auto_centres_images(tmp_path, capsys):
    assert main(["train", "--epochs", "1", "--hidden", "8", "--out", str(tmp_path)]) == 0
    assert "preprocessing center (auto: images" in capsys.readouterr().out.splitlines()[0]


def test_drop_leaves_a_column_out_and_identifiers_are_left_out_unasked(tmp_path, capsys):
    rows = [[f"id{i}", i + 1, i % 2 + 0.1 * (i % 5), "yes" if i % 2 else "no"] for i in range(60)]
    path = write(tmp_path / "t.csv", ["name", "row", "x", "y"], rows)
    assert main(["train", "--data", str(path), "--target", "y", "--epochs", "1",
                 "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    left = [line for line in out.splitlines() if "left out, as identifiers" in line]
    assert len(left) == 1 and "'name'" in left[0] and "'row'" in left[0]
    assert "model 1-100-100-2" in out.splitlines()[0]
    assert main(["train", "--data", str(path), "--target", "y", "--epochs", "1", "--drop",
                 "x", "--out", str(tmp_path / "b")]) == 2
    assert "no feature column left" in capsys.readouterr().err


def test_a_table_takes_the_table_defaults_for_what_was_not_chosen(tmp_path):
    from babysit.runs.builders import TABLE_DEFAULTS
    from babysit.runs.config import RunConfig

    rows = [[i % 7, (i * 3) % 5, "yes" if i % 2 else "no"] for i in range(60)]
    path = write(tmp_path / "t.csv", ["a", "b", "y"], rows)
    assert main(["train", "--data", str(path), "--target", "y", "--epochs", "2",
                 "--out", str(tmp_path / "a")]) == 0
    cfg = RunConfig.load(tmp_path / "a" / "config.json")
    assert cfg.reg == TABLE_DEFAULTS["reg"] and cfg.epochs == 2        # --epochs was chosen
    assert main(["train", "--data", str(path), "--target", "y", "--epochs", "2", "--reg",
                 "1e-4", "--out", str(tmp_path / "b")]) == 0
    assert RunConfig.load(tmp_path / "b" / "config.json").reg == 1e-4
    # a repeated run keeps every value of its config.json
    assert main(["train", "--config", str(tmp_path / "b" / "config.json"),
                 "--out", str(tmp_path / "c")]) == 0
    assert RunConfig.load(tmp_path / "c" / "config.json") == RunConfig.load(
        tmp_path / "b" / "config.json")


def test_a_small_table_trains_for_enough_updates_whatever_its_rows():
    """An epoch of a few hundred rows is a handful of steps: a table trains for at least
    TABLE_MIN_UPDATES of them, never fewer than 60 epochs nor more than TABLE_MAX_EPOCHS."""
    from babysit.runs.builders import TABLE_MAX_EPOCHS, TABLE_MIN_UPDATES, table_epochs

    assert (TABLE_MIN_UPDATES, TABLE_MAX_EPOCHS) == (1500, 400)
    assert table_epochs(106, 32) == 375          # wine's training rows: 4 batches an epoch
    assert table_epochs(128, 32) == 375          # 4 full batches
    assert table_epochs(129, 32) == 300          # a fifth, smaller batch is a step too
    assert table_epochs(206, 16) == 116          # 13 batches of 16
    assert table_epochs(20, 32) == TABLE_MAX_EPOCHS
    assert table_epochs(10_000, 32) == 60        # a large table keeps the 60 epochs


def test_the_update_rule_sets_a_tables_epochs_unless_they_are_chosen(tmp_path, monkeypatch,
                                                                     capsys):
    from babysit.runs import builders
    from babysit.runs.config import RunConfig

    rows = [[i % 7, (i * 3) % 5, "yes" if i % 2 else "no"] for i in range(100)]
    path = write(tmp_path / "t.csv", ["a", "b", "y"], rows)      # 60 training rows
    data = builders.load_data(RunConfig(data=str(path), target="y", split=(0.6, 0.2, 0.2)))
    assert builders.fit_to_data(RunConfig(), data).epochs == 400       # 2 batches: capped
    assert builders.fit_to_data(RunConfig(batch_size=4), data, {"batch_size"}).epochs == 100
    assert builders.fit_to_data(RunConfig(epochs=7), data, {"epochs"}).epochs == 7
    # the run says what the rule chose, and config.json records it (scaled down to run fast)
    monkeypatch.setitem(builders.TABLE_DEFAULTS, "epochs", 2)
    monkeypatch.setattr(builders, "TABLE_MIN_UPDATES", 6)
    assert main(["train", "--data", str(path), "--target", "y", "--out", str(tmp_path / "a"),
                 "--split", "0.6,0.2,0.2", "--no-report"]) == 0
    assert "3 epochs: 60 training rows make 2 batches of 32 an epoch, and a table trains for " \
           "at least 6 updates" in capsys.readouterr().out
    assert RunConfig.load(tmp_path / "a" / "config.json").epochs == 3
    assert main(["train", "--data", str(path), "--target", "y", "--epochs", "3", "--out",
                 str(tmp_path / "b"), "--split", "0.6,0.2,0.2", "--no-report"]) == 0
    assert "a table trains for at least" not in capsys.readouterr().out  # no rule's note


def test_a_semicolon_separated_file_with_decimal_commas_trains_and_predicts(tmp_path, capsys):
    """Excel's CSV where the comma is the decimal sign: "a;b;y" and "1,5;0,2;x"."""
    rng = np.random.default_rng(0)
    size = np.arange(90) % 3
    rows = [[f"{c + rng.normal(0, 0.1):.2f}".replace(".", ","), f"{rng.normal():.3f}".replace(
        ".", ","), "ABC"[c]] for c in size]
    path = tmp_path / "eu.csv"
    path.write_text("\n".join(";".join(r) for r in [["size", "noise", "kind"], *rows]) + "\n")
    assert main(["train", "--data", str(path), "--target", "kind", "--epochs", "20",
                 "--split", "0.6,0.2,0.2", "--out", str(tmp_path / "run"), "--json"]) == 0
    out = capsys.readouterr().out
    assert "eu.csv read as separated by ';', its decimal commas as points" in out
    assert last_json(out)["test_accuracy"] > 0.8         # size, read as a number, tells kinds
    new = tmp_path / "new.csv"
    new.write_text("size;noise\n0,1;0,0\n2,05;-0,3\n")
    assert main(["predict", str(tmp_path / "run"), "--data", str(new), "--json"]) == 0
    assert last_json(capsys.readouterr().out)["predictions"] == ["A", "C"]



def test_a_tab_separated_file_trains_and_predicts(tmp_path, capsys):
    """A .tsv, or a .csv whose header holds tabs and no comma, was read as one column."""
    rng = np.random.default_rng(0)
    size = np.arange(90) % 3
    rows = [[f"{c + rng.normal(0, 0.1):.2f}", f"{rng.normal():.3f}", "ABC"[c]] for c in size]
    path = tmp_path / "kinds.tsv"
    path.write_text("\n".join("\t".join(r) for r in [["size", "noise", "kind"], *rows]) + "\n")
    assert main(["train", "--data", str(path), "--target", "kind", "--epochs", "20",
                 "--split", "0.6,0.2,0.2", "--out", str(tmp_path / "run"), "--json"]) == 0
    out = capsys.readouterr().out
    assert "  kinds.tsv read as separated by tabs" in out.splitlines()[:4]    # the first lines
    assert last_json(out)["test_accuracy"] > 0.8         # size, read as a number, tells kinds
    new = tmp_path / "new.csv"                            # tabs in a file named .csv
    new.write_text("size\tnoise\n0.1\t0.0\n2.05\t-0.3\n")
    assert main(["predict", str(tmp_path / "run"), "--data", str(new), "--json"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "babysit predict: new.csv read as separated by tabs"
    assert last_json(out)["predictions"] == ["A", "C"]


def test_a_date_column_trains_is_stated_and_a_later_date_is_flagged_at_predict(tmp_path, capsys):
    days = np.arange(120)
    when = (np.datetime64("2021-01-01") + days).astype(str)
    rows = [[i + 1, w, round(float(np.sin(d / 9)), 3), "up" if d % 7 < 3 else "down"]
            for i, (w, d) in enumerate(zip(when, days, strict=True))]
    path = write(tmp_path / "days.csv", ["id", "when", "x", "y"], rows)
    run = tmp_path / "run"
    assert main(["train", "--data", str(path), "--target", "y", "--epochs", "3",
                 "--no-report", "--out", str(run)]) == 0
    lines = capsys.readouterr().out.splitlines()
    head = "\n".join(lines[:8])
    assert "column 'when': dates (ISO 8601" in head and "day of week" in head
    assert "left out, as identifiers: 'id'" in head
    new = write(tmp_path / "new.csv", ["when", "x"], [["2021-02-01", 0.1], ["2031-06-01", 0.1]])
    assert main(["predict", str(run), "--data", str(new), "--json"]) == 0
    captured = capsys.readouterr()
    result = last_json(captured.out)
    assert result["far_outside_training_range"] == [[], ["when"]]
    assert "far outside the training range" in captured.err


def test_a_table_run_ends_with_the_model_predict_loads_unless_told_otherwise(tmp_path, capsys):
    from babysit.runs.config import RunConfig

    rows = [[i % 7, (i * 3) % 5, "yes" if i % 2 else "no"] for i in range(60)]
    path = write(tmp_path / "t.csv", ["a", "b", "y"], rows)
    assert main(["train", "--data", str(path), "--target", "y", "--epochs", "3",
                 "--out", str(tmp_path / "a"), "--no-report"]) == 0
    assert "the run ends with the weights of its best validation epoch" in \
        capsys.readouterr().out
    assert RunConfig.load(tmp_path / "a" / "config.json").best_weights is True
    assert main(["train", "--data", str(path), "--target", "y", "--epochs", "3",
                 "--no-best-weights", "--out", str(tmp_path / "b"), "--no-report"]) == 0
    assert "best validation epoch" not in capsys.readouterr().out
    assert RunConfig.load(tmp_path / "b" / "config.json").best_weights is False


def test_val_or_test_data_that_is_the_data_file_is_refused(tmp_path, capsys):
    """--test-data naming the --data file scored the training rows as "never seen in
    training" (and --val-data as "held out of training")."""
    path = write(tmp_path / "t.csv", ["a", "y"], [[i, "xy"[i % 2]] for i in range(20)])
    for option in ("--val-data", "--test-data"):
        run = tmp_path / option.strip("-")
        assert main(["train", "--data", str(path), "--target", "y", option,
                     str(tmp_path / "." / "t.csv"), "--epochs", "1", "--out", str(run)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"{option} " in err[0] and "is the --data file" in err[0], err
        assert not run.exists()
