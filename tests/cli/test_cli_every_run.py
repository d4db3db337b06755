"""Every run the command line makes is babysat: `babysit train` (each ensemble member too) and
`babysit search`'s retrained best print the diagnosis and write report.html; a run that
diverges or explodes keeps its history, checkpoints and report and exits 3; --stop-on ends a
run on an alert; search trials carry their top finding; the estimators write the report too."""

from __future__ import annotations

import csv
import json
import math

import pytest

import babysit as bs
from babysit.cli import main
from babysit.sklearn import BabysitClassifier, BabysitRegressor


def _run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _summary(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def test_train_prints_the_diagnosis_writes_the_report_and_json_has_the_findings(
        tmp_path, capsys):
    code, out, _ = _run(capsys, "train", "--epochs", "3", "--json", "--out", str(tmp_path))
    assert code == 0
    assert "\ndiagnosis:\n" in out and f"report: {tmp_path / 'report.html'}" in out
    summary = _summary(out)
    assert summary["status"] == 0 and not summary["diverged"]
    assert summary["report"] == str(tmp_path / "report.html")
    assert summary["findings"] and {"severity", "what", "cause", "evidence", "advice"} <= set(
        summary["findings"][0])
    history = bs.History.load(tmp_path / "history.json")
    assert history.meta["test_accuracy"] == summary["test_accuracy"]  # the report shows it
    assert "test " in (tmp_path / "report.html").read_text()


def test_no_report_prints_the_diagnosis_but_writes_no_page(tmp_path, capsys):
    code, out, _ = _run(capsys, "train", "--epochs", "2", "--no-report", "--out", str(tmp_path))
    assert code == 0 and "\ndiagnosis:\n" in out
    assert not (tmp_path / "report.html").exists() and (tmp_path / "history.json").is_file()


def test_a_diverged_run_keeps_history_checkpoints_and_report_and_exits_3(tmp_path, capsys):
    # plain SGD at learning rate 5.5 on digits: NaN within the first epochs (which one depends
    # on the processor's BLAS)
    code, out, _ = _run(capsys, "train", "--optimizer", "sgd", "--lr", "5.5", "--epochs", "5",
                        "--json", "--out", str(tmp_path))
    assert code == 3
    history = bs.History.load(tmp_path / "history.json")
    assert math.isnan(history.loss[-1])
    assert history.epochs == history.epoch_of(history.nonfinite_at()) - 1 < 5
    # a checkpoint for every finished epoch, up to the last finite one, and none after
    assert sorted(p.name for p in (tmp_path / "checkpoints").glob("epoch-*")) == [
        f"epoch-{k:03d}.safetensors" for k in range(1, history.epochs + 1)]
    assert (tmp_path / "report.html").is_file()
    lines = out.strip().splitlines()
    assert lines[-2].startswith("babysit train: the run diverged: its history")
    assert str(tmp_path / "report.html") in lines[-2]
    summary = _summary(out)
    assert summary["diverged"] and summary["status"] == 3 and summary["test_accuracy"] is None
    assert summary["final_loss"] is None  # JSON has no NaN
    assert _run(capsys, "report", str(tmp_path))[0] == 0  # the folder is a run


def test_a_run_whose_loss_explodes_exits_3_and_says_so(tmp_path, capsys):
    # RMSprop at learning rate 0.1: the loss shoots to ~1e3, then training goes on
    code, out, _ = _run(capsys, "train", "--optimizer", "rmsprop", "--lr", "0.1", "--epochs",
                        "3", "--out", str(tmp_path))
    assert code == 3
    assert out.strip().splitlines()[-1].startswith("babysit train: the loss exploded")


def test_stop_on_warning_ends_the_run_after_the_first_alert_and_says_so(tmp_path, capsys):
    code, out, err = _run(capsys, "train", "--optimizer", "sgd", "--lr", "4", "--epochs", "5",
                          "--stop-on", "warning", "--json", "--no-report", "--out",
                          str(tmp_path))
    assert "babysit, end of epoch 1: [warning]" in err  # the alert, above the progress bar
    assert "babysit: training stopped (--stop-on warning: " in err
    assert _summary(out)["epochs"] == 1
    assert json.loads((tmp_path / "config.json").read_text())["stop_on"] == "warning"


def test_stop_on_takes_only_its_three_words(tmp_path, capsys):
    code, _, err = _run(capsys, "train", "--stop-on", "sometimes", "--out", str(tmp_path))
    assert code == 2 and "never" in err and "Traceback" not in err


def test_each_ensemble_member_gets_its_diagnosis_and_report(tmp_path, capsys):
    code, out, _ = _run(capsys, "train", "--ensemble", "2", "--epochs", "2", "--json",
                        "--out", str(tmp_path))
    assert code == 0
    assert "member 1 (seed 0) diagnosis:" in out and "member 2 (seed 1) diagnosis:" in out
    for member in ("member-1", "member-2"):
        assert (tmp_path / member / "report.html").is_file()
        assert (tmp_path / member / "history.json").is_file()
    assert len(_summary(out)["member_findings"]) == 2


def test_search_trials_say_their_top_finding_and_the_best_is_reported(tmp_path, capsys):
    code, out, _ = _run(capsys, "search", "--trials", "2", "--stages", "2:1", "--top-k", "1",
                        "--out", str(tmp_path))
    assert code == 0
    header = next(line for line in out.splitlines() if line.lstrip().startswith("stage"))
    assert header.split()[-1] == "finding"
    with open(tmp_path / "trials.csv") as f:
        rows = list(csv.DictReader(f))
    assert all(r["finding"].split(":")[0] in ("error", "warning", "info") for r in rows)
    assert {r["finding"] for r in json.loads((tmp_path / "trials.json").read_text())} == {
        r["finding"] for r in rows}
    assert "diagnosis of the best configuration retrained:" in out
    assert (tmp_path / "report.html").is_file() and (tmp_path / "history.json").is_file()


@pytest.mark.parametrize("estimator", [BabysitClassifier, BabysitRegressor])
def test_the_estimators_write_the_report_of_their_last_fit(estimator, digits_split, tmp_path):
    y = digits_split.train.y if estimator is BabysitClassifier else \
        digits_split.train.X[:, 20] + digits_split.train.X[:, 30]
    model = estimator(hidden=(32,), epochs=3).fit(digits_split.train.X, y)
    page = model.report(tmp_path)
    assert page == tmp_path / "report.html"
    text = page.read_text()
    assert "id=\"findings\"" in text and "id=\"loss\"" in text and "id=\"update_ratios\"" in text
