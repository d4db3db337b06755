"""A history.json damaged key by key (one received with a run folder, edited by hand): each
key of a real run's file set to null, and each deleted, one at a time. Every damaged file is
refused with a ValueError that names it (a history without its structure: no 'loss', a
series that is no list), or it diagnoses and its report is drawn: a record the damage left
unreadable is left out, so the rules that read it stay silent and its plot is not drawn."""

from __future__ import annotations

import copy
import json
import shutil

import pytest

import babysit as bs
from babysit import report
from babysit.cli import main

# The exceptions' names that `babysit report` must never print: a crash, not a refusal
CRASHES = ("AttributeError", "TypeError", "KeyError", "IndexError", "StopIteration")
# The parts of the file the report reads itself, not only through the diagnosis (meta's
# config is shown as JSON, its setup read by the diagnosis alone)
DRAWN_FROM = ("monitors.", "meta.")
NOT_DRAWN_FROM = ("meta.config.", "meta.setup.")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A short real run's folder, written by the command line: one hidden layer of 8 units,
    enough for every monitor and every plot of a classifier, and a report drawn a few
    hundred times stays quick."""
    out = tmp_path_factory.mktemp("run") / "digits"
    assert main(["train", "--data", "digits", "--epochs", "2", "--hidden", "8",
                 "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def recorded(run_dir) -> dict:
    """The run's history.json as read back."""
    return json.loads((run_dir / "history.json").read_text(encoding="utf-8"))


def _key_paths(x, path: tuple = ()):
    """The path to every key of nested dicts, and to the first element of every list (the
    rest hold the same layout)."""
    if isinstance(x, dict):
        for key, value in x.items():
            yield (*path, key)
            yield from _key_paths(value, (*path, key))
    elif isinstance(x, list) and x:
        yield (*path, 0)
        yield from _key_paths(x[0], (*path, 0))


def _damaged(d: dict, path: tuple, how: str) -> dict:
    """`d` with the value at `path` set to null (`how` "null") or deleted: a copy of the
    dicts and lists on the path only, the rest shared with `d` and left as it is."""
    damaged = node = copy.copy(d)
    for key in path[:-1]:
        node[key] = copy.copy(node[key])
        node = node[key]
    if how == "null":
        node[path[-1]] = None
    else:
        del node[path[-1]]
    return damaged


def _damages(d: dict):
    """(what was done, the damaged dict) for every key path of `d`: set to null, and
    deleted (a dict's key)."""
    for path in _key_paths(d):
        for how in ("null", "delete") if isinstance(path[-1], str) else ("null",):
            yield f"{'.'.join(map(str, path))} {how}", _damaged(d, path, how)


def _loaded(d: dict, folder) -> bs.History | None:
    """The History `d` reads back as from a file in `folder`, or None when it is refused."""
    path = folder / "history.json"
    path.write_text(json.dumps(d), encoding="utf-8")
    try:
        return bs.History.load(path)
    except ValueError as err:
        assert str(path) in str(err)
        return None


def test_every_key_nulled_or_deleted_diagnoses_or_is_refused(recorded, tmp_path):
    tried = 0
    for what, damaged in _damages(recorded):
        history = _loaded(damaged, tmp_path)
        if history is not None:
            assert isinstance(history.diagnose(), list), what
            tried += 1
    assert tried > 300


def test_every_monitor_or_meta_key_damaged_still_draws_the_report(recorded, tmp_path):
    drawn = set()  # the Histories drawn, as JSON: damages read back alike draw alike
    for what, damaged in _damages(recorded):
        if not what.startswith(DRAWN_FROM) or what.startswith(NOT_DRAWN_FROM):
            continue
        history = _loaded(damaged, tmp_path)
        read = history and json.dumps(history.to_dict(copy=False))
        if history is not None and read not in drawn:
            assert report.write(history, tmp_path).is_file(), what
            drawn.add(read)
    assert len(drawn) > 100


@pytest.mark.parametrize("path, plot", [
    (("monitors", "update_ratio", "params"), "update_ratios"),
    (("monitors", "layers", "names"), "activations"),
    (("monitors", "first_layer", "W"), "first_layer_weights")])
def test_a_damaged_record_leaves_its_plot_out_and_the_others_in(recorded, tmp_path, path, plot):
    damaged = copy.deepcopy(recorded)
    del damaged[path[0]][path[1]][path[2]]
    page = report.write(_loaded(damaged, tmp_path), tmp_path).read_text(encoding="utf-8")
    assert f'id="{plot}"' not in page and 'id="loss"' in page
    intact = report.write(_loaded(recorded, tmp_path), tmp_path).read_text(encoding="utf-8")
    assert f'id="{plot}"' in intact


def test_a_damaged_record_silences_only_the_rules_that_read_it(recorded, tmp_path):
    damaged = copy.deepcopy(recorded)
    damaged["monitors"]["update_ratio"]["params"]["0.W"] = None
    history = _loaded(damaged, tmp_path)
    assert "update_ratio" not in history.monitors and "layers" in history.monitors
    without = copy.deepcopy(recorded)
    del without["monitors"]["update_ratio"]
    assert history.diagnose() == _loaded(without, tmp_path).diagnose()


@pytest.mark.parametrize("damage", [
    lambda d: d["meta"]["setup"].update(loss=None),
    lambda d: d["meta"]["setup"].update(output=None),
    lambda d: d["monitors"].update(update_ratio=None),
    lambda d: d["monitors"]["layers"].pop("names"),
    lambda d: d["meta"]["image_shape"].__setitem__(0, None),
    lambda d: d["monitors"]["first_layer"]["shape"].__setitem__(1, None)],
    ids=["setup.loss null", "setup.output null", "update_ratio null", "layers.names deleted",
         "image_shape[0] null", "first_layer.shape[1] null"])
def test_babysit_report_on_a_damaged_folder_draws_or_says_why_in_a_line(
        recorded, run_dir, tmp_path, capsys, damage):
    folder = tmp_path / "run"
    shutil.copytree(run_dir, folder)
    damaged = copy.deepcopy(recorded)
    damage(damaged)
    (folder / "history.json").write_text(json.dumps(damaged), encoding="utf-8")
    capsys.readouterr()
    status = main(["report", str(folder)])
    err = capsys.readouterr().err
    assert status == 0 or (len(err.strip().splitlines()) == 1
                           and not any(name in err for name in CRASHES)), err


def _regression(**meta) -> bs.History:
    """A short regression's History whose penalty is most of its first loss."""
    return bs.History(iters_per_epoch=2, loss=[2.0, 1.5, 1.2, 1.0], data_loss=[1.0, 0.8, 0.7, 0.6],
                      reg_loss=[1.0, 0.7, 0.5, 0.4], lr=[0.1] * 4, train_acc=[None, None],
                      val_acc=[None, None], val_loss=[0.9, 0.7], meta=meta)


@pytest.mark.parametrize("damage", [{"predicted": None}, {"train_mean": None}],
                         ids=["predicted null", "train_mean null"])
def test_a_regression_whose_predictions_lack_a_part_draws_the_rest(tmp_path, damage):
    predictions = {"actual": [0.0, 1.0, 2.0], "predicted": [0.1, 0.9, 2.2], "train_mean": 1.0,
                   "split": "validation", **damage}
    page = report.write(_regression(predictions=predictions), tmp_path).read_text("utf-8")
    assert 'id="predictions"' not in page and 'id="loss"' in page


def test_a_history_without_its_data_loss_draws_the_loss_alone(tmp_path):
    history = _regression()
    history.data_loss = []
    page = report.write(history, tmp_path).read_text("utf-8")
    assert 'id="loss"' in page and "the data loss alone" not in page
