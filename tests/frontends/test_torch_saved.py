"""A PyTorch run that diverged diagnoses the same from its saved history as in memory: what the
sitter records where a step's gradients were inf or NaN survives JSON (which has no NaN)."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import babysit as bs  # noqa: E402

torch.set_num_threads(1)


def test_a_diverged_run_diagnoses_the_same_after_save_and_load(tmp_path, watched_epochs):
    # SGD at learning rate 1e6 on random labels: the loss is NaN within the first epoch, and
    # the loop goes on for 3 epochs with its accuracies
    torch.manual_seed(0)
    X, y = torch.randn(256, 5), torch.randint(0, 3, (256,))
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))
    sitter = watched_epochs(model, torch.optim.SGD(model.parameters(), lr=1e6), X, y, 3, 32)
    sitter.close()
    history = sitter.history
    kept = history.monitors["torch"]["grad_kept"]
    assert None in kept and all(k is None or math.isfinite(k) for k in kept)
    history.save(tmp_path / "history.json")
    loaded = bs.History.load(tmp_path / "history.json")
    assert loaded.monitors["torch"]["grad_kept"] == kept
    causes = [f.cause for f in history.diagnose()]
    assert "diverged" in causes
    assert [f.cause for f in loaded.diagnose()] == causes


# What a hand-edited or damaged history.json may hold in place of a value of monitors["torch"]
DAMAGE = (None, "x", [], {}, 1.5, True)


def test_a_damaged_torch_record_is_left_out_and_never_crashes_the_diagnosis(watched_epochs):
    """Every key of monitors["torch"] replaced by a value of another kind, and every entry of
    its per-parameter tables damaged too: `History.from_dict` drops the record (the loop's
    rules stay silent, the rest of the run is diagnosed) or keeps one the rules can read; a
    record as the sitter wrote it is kept."""
    torch.manual_seed(0)
    X, y = torch.randn(128, 6), torch.arange(128) % 3
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 3))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-2)
    sitter = watched_epochs(model, opt, X, y, 2, 32)
    sitter.close()
    saved = sitter.history.to_dict()
    assert bs.History.from_dict(saved).monitors["torch"] == saved["monitors"]["torch"]
    record = saved["monitors"]["torch"]
    edits = [(key, None, bad) for key in record for bad in DAMAGE]
    edits += [(key, name, bad) for key in ("decay", "sizes", "grad_none") for name in record[key]
              for bad in (None, "x", 0, -1, "removed")]
    for key, name, bad in edits:
        damaged = {**saved, "monitors": {**saved["monitors"], "torch": dict(record)}}
        torch_record = damaged["monitors"]["torch"]
        if name is None:
            torch_record[key] = bad
        else:
            torch_record[key] = {k: v for k, v in record[key].items() if k != name}
            if bad != "removed":
                torch_record[key][name] = bad
        history = bs.History.from_dict(damaged)
        assert isinstance(history.diagnose(), list), (key, name, bad)
    for key in ("steps", "checked_steps", "carried_steps"):    # a count of null is damage
        damaged = {**saved, "monitors": {**saved["monitors"], "torch": {**record, key: None}}}
        assert "torch" not in bs.History.from_dict(damaged).monitors
