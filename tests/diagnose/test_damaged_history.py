"""A damaged or hand-edited history (one received with a run folder) never crashes the
diagnosis: a null where a monitor's number belongs is unknown, and the rules that need it
stay silent; an `iters_per_epoch` that is no positive integer is refused with a ValueError
that names the file and the key."""

from __future__ import annotations

import copy
import json
import re

import numpy as np
import pytest

import babysit as bs
from babysit.diagnose.evidence import Evidence
from babysit.training import checkpoint, checkpoint_file

MAX_PER_KIND = 3  # leaves nulled per kind of leaf (its path without list indices)
REFUSED = "'iters_per_epoch' must be a positive integer"


def _fit(activation: str, callbacks=None) -> bs.Trainer:
    """A short run with two hidden layers and validation data, so that every monitor
    records (ReLU: dead units; tanh: saturated ones) unless `callbacks` replace them."""
    X = np.random.default_rng(0).normal(size=(200, 6)).astype(np.float32)
    y = np.arange(200) % 3
    trainer = bs.Trainer(bs.mlp(6, [16, 8], 3, activation=activation, seed=0),
                         bs.losses.SoftmaxCrossEntropy(), bs.optim.SGD(0.1), batch_size=16,
                         epochs=3, callbacks=callbacks, progress=False)
    trainer.fit(X[:160], y[:160], val=(X[160:], y[160:]))
    return trainer


@pytest.fixture(scope="module", params=["relu", "tanh"])
def recorded(request) -> dict:
    """A real run's history as the dict that `History.save` writes."""
    return _fit(request.param).history.to_dict()


def _nulled(d: dict, path: tuple) -> bs.History:
    """A History read from `d` with the value at `path` replaced by null."""
    damaged = copy.deepcopy(d)
    node = damaged
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = None
    return bs.History.from_dict(damaged)


def _numeric_leaves(x, path: tuple = ()):
    """The paths to every number inside nested dicts and lists."""
    if isinstance(x, dict):
        for key, value in x.items():
            yield from _numeric_leaves(value, (*path, key))
    elif isinstance(x, list):
        for i, value in enumerate(x):
            yield from _numeric_leaves(value, (*path, i))
    elif isinstance(x, int | float) and not isinstance(x, bool):
        yield path


def _some_of_each_kind(paths: list[tuple]) -> list[tuple]:
    """Up to MAX_PER_KIND paths of each kind (the path with its list indices left out),
    spread evenly: every kind of monitor value gets nulled, in a few hundred cases."""
    kinds: dict[tuple, list[tuple]] = {}
    for path in paths:
        kinds.setdefault(tuple(k for k in path if isinstance(k, str)), []).append(path)
    chosen = []
    for group in kinds.values():
        picks = np.linspace(0, len(group) - 1, min(MAX_PER_KIND, len(group))).round()
        chosen += [group[int(i)] for i in sorted(set(picks))]
    return chosen


def test_any_null_in_the_monitors_diagnoses_or_is_refused(recorded):
    paths = _some_of_each_kind(list(_numeric_leaves(recorded["monitors"], ("monitors",))))
    assert 20 < len(paths) < 400
    for path in paths:
        try:
            findings = _nulled(recorded, path).diagnose()
        except ValueError:
            continue
        assert isinstance(findings, list), path


def _last_activation(d: dict, key: str) -> tuple:
    """The path to the last sample's `key` ("dead", "saturated", "identical") of the first
    layer that records it."""
    layers = d["monitors"]["layers"]
    last = len(layers["samples"]) - 1
    i = next(i for i, a in enumerate(layers["samples"][last]["activations"]) if a and key in a)
    return "monitors", "layers", "samples", last, "activations", i, key


@pytest.mark.parametrize("activation, key, field", [
    ("relu", "dead", "dead"), ("tanh", "saturated", "saturated"),
    ("relu", "identical", "identical"), ("relu", "identical", "identical_start")])
def test_an_unknown_share_of_units_silences_the_rules_on_that_layer(activation, key, field):
    d = _fit(activation).history.to_dict()
    path = _last_activation(d, key)
    history = _nulled(d, path)
    name = d["monitors"]["layers"]["names"][path[5]]
    assert name not in getattr(Evidence.of(history), field)
    history.diagnose()


def test_an_unknown_start_share_silences_the_rules_on_that_layer():
    d = _fit("relu").history.to_dict()
    path = _last_activation(d, "dead")
    history = _nulled(d, (*path[:3], 0, *path[4:]))
    assert d["monitors"]["layers"]["names"][path[5]] not in Evidence.of(history).dead
    history.diagnose()


@pytest.mark.parametrize("path, field", [
    (("monitors", "data", "class_counts", 0), "majority_share"),
    (("monitors", "data", "val_class_counts", 1), "val_chance"),
    (("monitors", "layers", "probe_labels", 2), "probe_label_share"),
    (("monitors", "layers", "samples", -1, "predicted", 0), "predicted_share")])
def test_an_unknown_class_count_leaves_the_shares_unknown(path, field):
    history = _nulled(_fit("relu").history.to_dict(), path)
    assert getattr(Evidence.of(history), field) is None
    history.diagnose()


@pytest.mark.parametrize("iters_per_epoch", [2.5, "8", 0, True, None])
def test_an_impossible_iters_per_epoch_is_refused(iters_per_epoch, tmp_path):
    d = {**_fit("relu").history.to_dict(), "iters_per_epoch": iters_per_epoch}
    with pytest.raises(ValueError, match=REFUSED):
        bs.History.from_dict(d)
    path = tmp_path / "history.json"
    path.write_text(json.dumps(d))
    with pytest.raises(ValueError, match=f"{re.escape(str(path))}.*{REFUSED}"):
        bs.History.load(path)


def test_resume_refuses_a_state_whose_iters_per_epoch_is_impossible(tmp_path):
    _fit("relu", callbacks=[checkpoint.Checkpoints(tmp_path)])
    state = checkpoint.state_path(tmp_path)
    arrays, info = checkpoint_file.read(state)
    info["history"]["iters_per_epoch"] = 2.5
    checkpoint_file.write(state, arrays, info)
    with pytest.raises(ValueError, match=f"{re.escape(str(state))}.*{REFUSED}"):
        _fit("relu").resume(tmp_path)
