"""Hyperparameter search: log-scale random sampling, coarse to fine, shared studies, resuming."""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import optuna
import pytest

from babysit import cli, search
from babysit.data import datasets
from babysit.runs.config import RunConfig

SPACE = {"lr": search.loguniform(1e-3, 1e-2), "hidden": search.choice([[8], [16]])}


@pytest.fixture(scope="module")
def small():
    """300 training and 150 validation digits: trials of a few milliseconds."""
    d = datasets.load("digits")
    return datasets.Dataset("digits-small", datasets.Split(d.train.X[:300], d.train.y[:300]),
                            datasets.Split(d.val.X[:150], d.val.y[:150]),
                            datasets.Split(d.test.X[:150], d.test.y[:150]), d.image_shape,
                            d.class_names)


def study_trials(out: Path, stage: int = 1, study: str = "babysit"):
    storage = search.open_storage(out / "study.journal")
    return optuna.load_study(study_name=f"{study}.stage{stage}", storage=storage).get_trials()


def complete(trials):
    return [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]


def param_key(t) -> str:
    return json.dumps(t.params, sort_keys=True)


# -- the space ------------------------------------------------------------------------------------


def test_ranges_refuse_bad_bounds():
    with pytest.raises(ValueError, match="lo must be positive"):
        search.loguniform(0, 1)
    with pytest.raises(ValueError, match="lo must be below hi"):
        search.uniform(0.5, 0.5)
    with pytest.raises(ValueError, match="integers"):
        search.intuniform(1.5, 4)
    with pytest.raises(ValueError, match="at least one"):
        search.choice([])
    with pytest.raises(ValueError, match="must be a list"):
        search.choice("relu")


def test_parse_param_reads_each_kind_the_way_train_options_do():
    assert search.parse_param("lr=loguniform(1e-5, 1e-1)") == ("lr", search.loguniform(1e-5, 0.1))
    assert search.parse_param("batch-size=intuniform(16,256,log=true)") == (
        "batch_size", search.intuniform(16, 256, log=True))
    name, dim = search.parse_param("hidden=choice(50 | 100,100 | none)")
    assert name == "hidden" and dim.values == ([50], [100, 100], [])
    with pytest.raises(ValueError, match="unknown hyperparameter 'leraning_rate'"):
        search.parse_param("leraning_rate=loguniform(1e-5,1e-1)")
    with pytest.raises(ValueError, match="NAME=KIND"):
        search.parse_param("lr 1e-3")


def test_loguniform_draws_are_uniform_in_the_exponent():
    """The notes: learning rates are searched on a log scale, so each decade gets equal draws."""
    study = optuna.create_study(sampler=search.studies.per_trial_random_sampler(seed=0, stage=0))
    dim = search.loguniform(1e-6, 1e-2)
    draws = np.array([dim.suggest(study.ask(), "lr") for _ in range(800)])
    per_decade = np.histogram(np.log10(draws), bins=4, range=(-6, -2))[0]
    assert per_decade.min() > 150  # a linear draw would put ~99% in the top decade


def test_narrowing_keeps_the_best_values_inside_the_original_range():
    lr = search.loguniform(1e-5, 1e-1)
    narrowed = lr.narrow([2e-4, 1e-3])
    assert lr.lo <= narrowed.lo < 2e-4 and 1e-3 < narrowed.hi <= lr.hi
    assert narrowed.hi / narrowed.lo < 100  # far tighter than the original four decades
    assert search.intuniform(1, 8).narrow([8]).lo < 8  # still a range, inside the original
    assert search.choice([[8], [16], [32]]).narrow([[32], [8]]).values == ([8], [32])


def test_border_warning_when_the_best_value_sits_in_the_outer_tenth():
    space = {"lr": search.loguniform(1e-4, 1e-1), "dropout": search.uniform(0.0, 0.5)}
    rows = [{"stage": 1, "trial": i, "val_accuracy": acc, "lr": lr, "dropout": 0.25}
            for i, (acc, lr) in enumerate([(0.9, 0.08), (0.8, 1e-3), (0.7, 3e-4)])]
    warnings = search.border_warnings(rows, space)
    assert len(warnings) == 1 and warnings[0].startswith("lr:") and "upward" in warnings[0]
    assert "loguniform(0.0001, 1)" in warnings[0]
    rows[0]["lr"] = 3e-3
    assert search.border_warnings(rows, space) == []


# -- running searches ---------------------------------------------------------------------------


def test_two_workers_share_one_study_and_record_every_trial_once(small, tmp_path):
    result = search.run(SPACE, small, stages=[search.Stage(12, epochs=5)],
                        base={"hidden": [16], "batch_size": 16}, workers=2, out=tmp_path,
                        top_k=2, say=lambda text: None)
    trials = study_trials(tmp_path)
    done = complete(trials)
    # two workers that ask for the last trial at the same moment: one gives its trial back,
    # marked surplus and failed, so the study may hold one more trial than it finished
    surplus = [t for t in trials if t.user_attrs.get("surplus")]
    assert len(done) == 12 and len(done) + len(surplus) == len(trials)
    assert all(t.state == optuna.trial.TrialState.FAIL for t in surplus)
    assert len({t.number for t in done}) == 12
    assert len({param_key(t) for t in done}) == 12
    assert len({t.user_attrs["worker"] for t in done}) == 2  # both processes took trials
    assert len(result.trials) == 12
    assert len(json.loads((tmp_path / "trials.json").read_text())) == 12
    assert (tmp_path / "trials.csv").read_text().count("\n") == 13
    assert (tmp_path / "search.png").stat().st_size > 0
    # the best configuration, retrained with the same seed, reproduces its trial
    assert result.retrained["val_accuracy"] == result.best["val_accuracy"]
    assert Path(result.retrained["path"]).exists()
    assert len(result.ensemble["members"]) == len(result.ensemble["paths"]) == 2
    assert result.ensemble_model.accuracy(*small.val) == result.ensemble["val_accuracy"]


SCRIPT = """
import os, signal, sys
from babysit import data as datasets, search
d = datasets.load("digits")
small = datasets.Dataset("digits-small", datasets.Split(d.train.X[:300], d.train.y[:300]),
                         datasets.Split(d.val.X[:150], d.val.y[:150]), d.test, d.image_shape,
                         d.class_names)
space = {"lr": search.loguniform(1e-3, 1e-2), "hidden": search.choice([[8], [16]])}
evaluate, started = search.workers.evaluate, []


def killed_in_the_fourth_trial(*args, **kwargs):
    # SIGKILL, as a machine going down would: no handler runs, nothing is written. Killing
    # from inside the trial (not from the test, whose timing races the trials on a fast
    # machine) lands between two journal writes, never while the journal's lock is held.
    started.append(1)
    if len(started) == 4:
        os.kill(os.getpid(), signal.SIGKILL)
    return evaluate(*args, **kwargs)


search.workers.evaluate = killed_in_the_fourth_trial  # where a worker calls it
search.run(space, small, stages=[search.Stage(8, epochs=4)], base={"batch_size": 8},
           out=sys.argv[1], top_k=0)
"""


def test_a_killed_search_resumes_without_losing_or_repeating_a_trial(small, tmp_path):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], timeout=600,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    before = complete(study_trials(tmp_path))
    assert len(before) == 3, "killed in the fourth trial, after three were recorded"

    search.run(SPACE, small, stages=[search.Stage(8, epochs=4)], base={"batch_size": 8},
               out=tmp_path, top_k=0, say=lambda text: None)
    trials = study_trials(tmp_path)
    after = complete(trials)
    assert len(after) == 8
    kept = {t.number: (t.params, t.value) for t in after}
    assert all(kept[t.number] == (t.params, t.value) for t in before)  # nothing lost or redone
    assert len({param_key(t) for t in after}) == 8  # nothing repeated
    # at most the trial the kill interrupted is left, marked failed
    assert [t.state for t in trials if t not in after] in ([], [optuna.trial.TrialState.FAIL])


def test_an_interrupted_search_resumes_where_it_stopped(small, tmp_path, monkeypatch):
    calls = []
    evaluate = search.evaluate

    def interrupt_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(search.workers, "evaluate", interrupt_third)
    kwargs = dict(stages=[search.Stage(5, epochs=1)], out=tmp_path, top_k=0,
                  say=lambda text: None)
    with pytest.raises(KeyboardInterrupt):
        search.run(SPACE, small, **kwargs)
    states = [t.state.name for t in study_trials(tmp_path)]
    assert states == ["COMPLETE", "COMPLETE", "FAIL"]

    monkeypatch.setattr(search.workers, "evaluate", evaluate)
    search.run(SPACE, small, **kwargs)
    trials = study_trials(tmp_path)
    assert [t.state.name for t in trials] == ["COMPLETE"] * 2 + ["FAIL"] + ["COMPLETE"] * 3
    assert len({param_key(t) for t in complete(trials)}) == 5


def test_an_interrupt_inside_a_trials_training_is_the_interrupt(small, tmp_path, monkeypatch):
    """Ctrl-C while a trial trained: the Run, which has no folder of its own in a search,
    tried to redraw a report in None / "report.html" (a TypeError hid the interrupt)."""
    from babysit.training.trainer import Trainer

    calls, fit = [], Trainer.fit

    def interrupt_second(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "fit", interrupt_second)
    with pytest.raises(KeyboardInterrupt):
        search.run(SPACE, small, stages=[search.Stage(3, epochs=1)], out=tmp_path, top_k=0,
                   say=lambda text: None)


def test_resuming_with_another_space_is_refused(small, tmp_path):
    search.run(SPACE, small, stages=[search.Stage(2, epochs=1)], out=tmp_path, top_k=0,
               say=lambda text: None)
    with pytest.raises(ValueError, match="another --study"):
        search.run({"lr": search.loguniform(1e-4, 1e-1)}, small,
                   stages=[search.Stage(2, epochs=1)], out=tmp_path, say=lambda text: None)


def test_resuming_on_other_rows_of_the_same_name_and_size_is_refused(small, tmp_path):
    """Another file named alike with as many rows (or the same file with its labels fixed)
    took up the first search's trials and wrote over its folder."""
    search.run(SPACE, small, stages=[search.Stage(2, epochs=1)], out=tmp_path, top_k=0,
               say=lambda text: None)
    y = small.train.y.copy()
    y[:10] = (y[:10] + 1) % 10
    relabelled = dataclasses.replace(small, train=datasets.Split(small.train.X, y))
    with pytest.raises(ValueError, match="begun with other data.*another --study"):
        search.run(SPACE, relabelled, stages=[search.Stage(2, epochs=1)], out=tmp_path,
                   top_k=0, say=lambda text: None)
    search.run(SPACE, small, stages=[search.Stage(2, epochs=1)], out=tmp_path, top_k=0,
               say=lambda text: None)    # the same rows resume it


def test_coarse_to_fine_narrows_the_second_stage_and_trains_longer(small, tmp_path):
    result = search.run({"lr": search.loguniform(1e-4, 1e-1)}, small, 9,
                        base={"hidden": [16], "epochs": 5}, out=tmp_path, sampler="tpe",
                        top_k=0, say=lambda text: None)
    wide, narrow = result.spaces[0]["lr"], result.spaces[1]["lr"]
    assert wide.lo <= narrow.lo and narrow.hi <= wide.hi and narrow != wide
    assert [r["epochs"] for r in result.trials] == [1] * 6 + [5] * 3
    assert all(narrow.lo <= r["lr"] <= narrow.hi for r in result.trials if r["stage"] == 2)


def test_kfold_scores_the_mean_over_folds(small):
    config = {"hidden": [8], "epochs": 1}
    scores = search.evaluate(config, small, folds=3)
    assert 0 < scores["val_accuracy"] < 1 and scores["val_std"] >= 0
    assert "val_std" not in search.evaluate(config, small)


def test_cli_search_prints_a_json_summary(tmp_path, capsys):
    code = cli.main(["search", "--trials", "3", "--epochs", "1", "--hidden", "8",
                     "--param", "lr=loguniform(1e-3,1e-2)", "--top-k", "2", "--out",
                     str(tmp_path), "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["trials"] == 3 and 0 < summary["best"]["val_accuracy"] <= 1
    assert summary["run_dir"] == str(tmp_path)
    assert set(summary["spaces"][0]) == {"lr"}
    best = RunConfig.load(tmp_path / "best_config.json")       # train --config repeats it
    assert best.lr == summary["best"]["lr"] and best.hidden == (8,) and best.epochs == 1
    assert RunConfig.load(tmp_path / "config.json").lr == RunConfig().lr


def test_any_optuna_storage_url_holds_the_study(small, tmp_path):
    """Workers on many machines share a database URL; sqlite stands in for PostgreSQL here."""
    url = f"sqlite:///{tmp_path / 'study.db'}"
    kwargs = dict(stages=[search.Stage(3, epochs=1)], storage=url, out=tmp_path, top_k=0,
                  say=lambda text: None)
    first = search.run(SPACE, small, **kwargs)
    again = search.run(SPACE, small, **kwargs)  # finished: nothing more to run
    assert first.storage == url and not (tmp_path / "study.journal").exists()
    assert len(again.trials) == 3 and again.trials == first.trials
    study = optuna.load_study(study_name="babysit.stage1", storage=url)
    assert len(complete(study.get_trials())) == 3


def test_a_trial_whose_worker_stopped_beating_is_marked_failed(tmp_path):
    """Workers on other machines are judged by their heartbeats: 3 missed intervals and the
    trial is failed (its slot goes to a new trial); a recent beat keeps it running."""
    study = optuna.create_study(storage=search.open_storage(tmp_path / "s.journal"))
    silent, beating = study.ask(), study.ask()
    for trial, beat in ((silent, time.time() - 100), (beating, time.time())):
        trial.set_user_attr("worker", "another-machine:123")
        trial.set_user_attr("heartbeat", beat)
    search.workers.fail_stale(study, heartbeat=10)
    assert [t.state.name for t in study.get_trials()] == ["FAIL", "RUNNING"]


def test_diverged_trials_are_recorded_as_such(small, tmp_path):
    """A learning rate far too high makes the loss NaN: the trial is a finished, bad result.
    (With L2 strength 1, each SGD step multiplies the weights by 1 - 2 lr: they overflow.)"""
    result = search.run({"lr": search.loguniform(1e3, 1e4)}, small,
                        stages=[search.Stage(2, epochs=1)],
                        base={"optimizer": "sgd", "reg": 1.0, "batch_size": 8},
                        out=tmp_path, say=lambda text: None)
    assert [r["state"] for r in result.trials] == ["diverged", "diverged"]
    assert result.best == {} and result.retrained == {}
    assert [t.state.name for t in study_trials(tmp_path)] == ["PRUNED", "PRUNED"]


def test_train_command_names_only_what_differs_from_the_defaults():
    config = {**search.base_config(), "lr": 0.0031863505, "hidden": [100], "batchnorm": True}
    assert search.train_command(config, "digits") == (
        "babysit train --data digits --hidden 100 --batchnorm --lr 0.00318635")


@pytest.mark.parametrize("storage", ["bob:s3cretPW@db.example/study",
                                     "postgresql:/bob:s3cretPW@h/db", "notaurl:s3cretPW"])
def test_a_storage_url_missing_its_slashes_is_refused_and_its_password_never_shown(
        tmp_path, capsys, monkeypatch, storage):
    """It was taken for a journal file path: created in the working folder, printed and kept
    in search.json, password and all."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "search"
    assert cli.main(["search", "--trials", "1", "--epochs", "1", "--storage", storage,
                     "--out", str(out)]) == 2
    printed = capsys.readouterr()
    line, = printed.err.strip().splitlines()
    assert "neither a URL" in line and "'://'" in line
    written = [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()]
    assert "s3cretPW" not in printed.out + printed.err
    assert not any(b"s3cretPW" in content for content in written)
    assert not any("s3cretPW" in p.name for p in tmp_path.rglob("*"))


def test_a_redis_storage_without_its_package_is_one_line_without_the_password(
        tmp_path, capsys):
    if __import__("importlib").util.find_spec("redis") is not None:
        pytest.skip("the redis package is installed")
    assert cli.main(["search", "--trials", "1", "--epochs", "1", "--storage",
                     "redis://:s3cretPW@localhost:1/0", "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["babysit search: error: the storage redis://:***@localhost:1/0 needs the "
                   "redis package: pip install redis"]


def test_a_database_url_that_cannot_be_parsed_names_the_storage(tmp_path, capsys):
    assert cli.main(["search", "--trials", "1", "--epochs", "1", "--storage",
                     "sqlite://bob:s3cretPW@[::1/db", "--out", str(tmp_path / "s")]) == 2
    line, = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("babysit search: error: cannot open the storage sqlite://bob:***@")
    assert "s3cretPW" not in line


def test_more_folds_than_the_smallest_class_holds_are_refused_naming_folds(small, tmp_path):
    """scikit-learn's words ("n_splits=5000 greater than the number of samples") named
    neither the option nor the limit; the study file was made before it."""
    with pytest.raises(ValueError, match=r"folds must be at most \d+ \(the smallest class has "
                                         r"\d+ examples .*\), got 5000"):
        search.run(SPACE, small, stages=[search.Stage(1, epochs=1)], folds=5000,
                   out=tmp_path / "s", say=lambda text: None)
    assert not (tmp_path / "s").exists()


def test_searching_epochs_is_refused_rather_than_overridden_by_the_stage(small, tmp_path):
    """Each stage set its own epochs over the drawn value, while the table showed the drawn
    one: every trial trained --epochs, reported as 1, 2 or 3."""
    with pytest.raises(ValueError, match=r"epochs is each stage's training budget"):
        search.run({"epochs": search.intuniform(1, 3)}, small,
                   stages=[search.Stage(2, epochs=1)], out=tmp_path / "s", say=lambda t: None)


def test_a_range_reaching_values_a_run_refuses_is_refused_before_any_trial(small, tmp_path):
    with pytest.raises(ValueError, match=r"space\['dropout'\] = Uniform\(lo=0.0, hi=1.5\) "
                                         r"reaches a value a run refuses: dropout must be in"):
        search.run({"dropout": search.uniform(0, 1.5)}, small,
                   stages=[search.Stage(2, epochs=1)], out=tmp_path / "s", say=lambda t: None)
    assert not (tmp_path / "s").exists()


class Terminal(__import__("io").StringIO):
    """stderr as a terminal shows it: progress bars are drawn."""

    def isatty(self):
        return True


def test_a_search_shows_a_progress_bar_over_its_trials_on_a_terminal(small, tmp_path,
                                                                     monkeypatch):
    """A search printed nothing between its first line and its table, however long."""
    stderr = Terminal()
    monkeypatch.setattr("sys.stderr", stderr)
    search.run(SPACE, small, stages=[search.Stage(3, epochs=1)], out=tmp_path, top_k=0,
               say=lambda text: None, report=False)
    drawn = stderr.getvalue()
    assert "search:" in drawn and "/3 [" in drawn and "trial/s" in drawn


def test_ctrl_c_during_a_search_says_what_is_kept_and_how_to_resume(tmp_path, monkeypatch,
                                                                    capsys):
    from babysit.search import workers

    ran, original = [], workers.run_trial

    def interrupted_in_the_third(*args):
        if len(ran) == 2:
            raise KeyboardInterrupt
        original(*args)
        ran.append(1)

    monkeypatch.setattr(workers, "run_trial", interrupted_in_the_third)
    argv = ["search", "--trials", "4", "--stages", "4:1", "--hidden", "8", "--top-k", "0",
            "--out", str(tmp_path / "s")]
    assert cli.main(argv) == 130
    line, = capsys.readouterr().err.strip().splitlines()
    assert line == (f"babysit search: error: interrupted after 2 of 4 trials, which are kept in "
                    f"{tmp_path / 's' / 'study.journal'}: the same command resumes the search")


def test_a_spawned_worker_stopped_by_ctrl_c_leaves_the_saying_to_its_parent(monkeypatch,
                                                                            capsys, job_file):
    """Ctrl-C reaches every process of the group: each worker printed its traceback."""
    from babysit.search import workers

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(workers, "work", interrupted)
    with pytest.raises(SystemExit) as stopped:
        workers.work_with_cores(job_file, 0, None, 1)
    assert stopped.value.code == 130 and capsys.readouterr().err == ""


def test_a_search_whose_every_trial_diverged_says_so_and_exits_3(tmp_path, capsys):
    """It ended on its table with exit status 0, best {} and nothing retrained, unsaid."""
    argv = ["search", "--param", "lr=loguniform(1e3,1e5)", "--optimizer", "sgd", "--trials",
            "2", "--stages", "2:1", "--out", str(tmp_path / "s")]
    assert cli.main(argv) == 3
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("no trial ended with a score (2 diverged") and "retrained" in last


def small_table(path: Path) -> Path:
    """240 rows: two numbers, a colour and a text label that follows them; a price beside it."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=240).round(3), rng.normal(size=240).round(3)
    color = rng.choice(["red", "green", "blue"], 240)
    label = np.where(a + (color == "red") > 0.3, "yes", "no")
    price = (100 + 20 * a - 10 * b + rng.normal(size=240)).round(2)
    rows = [f"{x},{y},{c},{t},{p}" for x, y, c, t, p in zip(a, b, color, label, price,
                                                             strict=True)]
    path.write_text("a,b,color,label,price\n" + "\n".join(rows) + "\n")
    return path


def test_a_trial_is_scored_on_the_weights_its_run_ends_with(tmp_path, capsys):
    # a table keeps its best epoch's weights (BestWeights): a trial scored by its last epoch
    # ranked configurations by weights that the retrained best did not have
    data = small_table(tmp_path / "t.csv")
    assert cli.main(["search", "--data", str(data), "--target", "label", "--drop", "price",
                     "--trials", "3", "--epochs", "5", "--top-k", "1", "--no-report",
                     "--out", str(tmp_path / "s")]) == 0
    summary = json.loads((tmp_path / "s" / "search.json").read_text())
    assert summary["best"]["val_accuracy"] == summary["retrained"]["val_accuracy"]
    # and the command printed to train the best again keeps the data's options
    out = capsys.readouterr().out
    command = next(line for line in out.splitlines() if "to train the best again" in line)
    assert "--drop price" in command and "--target label" in command


def test_a_search_run_again_with_a_smaller_top_k_leaves_no_earlier_member(tmp_path):
    """member-3 of a --top-k 3 run stayed beside a --top-k 2 run's two members, where a user
    picks members up; with no ensemble now, the earlier one's folder stayed whole."""
    from babysit.search.retrain import _drop_other_members

    folder = tmp_path / "ensemble"
    folder.mkdir()
    for n in (1, 2, 3):
        (folder / f"member-{n}.safetensors").write_bytes(b"")
    _drop_other_members(folder, 2)
    assert sorted(p.name for p in folder.iterdir()) == ["member-1.safetensors",
                                                        "member-2.safetensors"]
    _drop_other_members(folder, 0)
    assert not folder.exists()
    _drop_other_members(folder, 0)   # nothing there: nothing to do


def test_a_script_without_the_main_guard_is_told_so_instead_of_hanging(tmp_path):
    """Each spawned worker imports the script; its search.run refused the folder the parent
    held and died before reading the job, and the parent, writing the job into the worker's
    pipe, waited forever."""
    import subprocess
    import sys

    script = tmp_path / "no_guard.py"
    script.write_text(
        "from babysit import search\n"
        "search.run({'lr': search.loguniform(1e-3, 1e-2)}, 'digits', trials=2, workers=2,\n"
        f"           base={{'epochs': 1}}, out={str(tmp_path / 'runs')!r}, say=print)\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode != 0
    assert "call it under `if __name__ == \"__main__\":`" in done.stderr


@pytest.mark.parametrize("before, after", [((6, 2), (12, 4)), ((6, 4, 2), (30, 8, 4))])
def test_more_trials_for_a_finished_search_keep_each_later_stages_space(small, tmp_path,
                                                                       monkeypatch, before,
                                                                       after):
    """A finished search run again with more trials: the first stage's new best trials would
    narrow the ranges and choices otherwise, but each later stage's study already drew from
    the space it began with (Optuna refuses to change a categorical's choices within a
    study), so its new trials draw from that, and the stage after it is narrowed from its
    trials as they were drawn."""
    favoured = {"hidden": [8], "score": 0.8}

    def scored(config, data, folds=1):
        hit = list(config["hidden"]) == favoured["hidden"]
        return {"val_accuracy": favoured["score"] if hit else 0.1, "train_accuracy": 0.5,
                "finding": ""}

    monkeypatch.setattr(search.workers, "evaluate", scored)
    space = {"lr": search.loguniform(1e-3, 1e-2),
             "hidden": search.choice([[8], [16], [32]])}

    def run(trials):
        search.run(space, small, stages=[search.Stage(trials[0], epochs=1)]
                   + [search.Stage(n, epochs=1, top=0.1) for n in trials[1:]],
                   out=tmp_path, top_k=0, say=lambda text: None)

    def drawn(stage):
        return {(tuple(t.distributions["hidden"].choices), t.distributions["lr"].low,
                 t.distributions["lr"].high) for t in study_trials(tmp_path, stage)}

    run(before)
    begun = {stage: drawn(stage) for stage in range(2, len(before) + 1)}
    favoured.update(hidden=[32], score=0.9)   # the first stage's new trials find a better one
    run(after)
    for stage, trials in enumerate(after, start=1):
        assert len(complete(study_trials(tmp_path, stage))) == trials
    assert all(drawn(stage) == space_ for stage, space_ in begun.items())


def test_a_range_given_in_whole_numbers_is_narrowed_in_floats(small, tmp_path, monkeypatch):
    """Uniform(0, 1) keeps its bounds as ints: a later stage's range read back from its trials
    was cut to whole numbers (0 to 0) and collecting the results failed."""
    monkeypatch.setattr(search.workers, "evaluate", lambda config, data, folds=1: {
        "val_accuracy": 1 - abs(config["input_noise"] - 0.3), "train_accuracy": 0.5,
        "finding": ""})
    result = search.run({"input_noise": search.space.Uniform(0, 1)}, small,
                        stages=[search.Stage(8, epochs=1), search.Stage(4, epochs=1, top=0.3)],
                        out=tmp_path, top_k=0, say=lambda text: None)
    second = study_trials(tmp_path, 2)[0].distributions["input_noise"]
    assert second.low < 0.3 < second.high < 1
    assert len(result.trials) == 12
