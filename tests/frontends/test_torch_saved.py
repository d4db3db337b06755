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
