"""A mechanism reads only the finite numbers of a record: a diverged step's share of the
gradient kept (NaN in memory, null in a saved history) is no evidence of clipping."""

from __future__ import annotations

import math
from types import SimpleNamespace

import babysit as bs
from babysit.diagnose.mechanisms import CLIP_KEPT, _clipped

OPEN = {"loss_flat": None}  # a symptom that clipping could explain


def _evidence(grad_kept: list) -> SimpleNamespace:
    """What `_clipped` reads: the PyTorch record of a run."""
    return SimpleNamespace(history=bs.History(monitors={"torch": {"grad_kept": grad_kept}}))


def test_clipping_is_judged_on_the_finite_shares_alone():
    kept = [None, math.nan, math.inf, *[CLIP_KEPT / 10] * 3]
    severity, text = _clipped(_evidence(kept), OPEN)
    assert severity == "warning" and f"typically {CLIP_KEPT / 10:.2g}" in text


def test_no_finite_share_is_no_evidence():
    assert _clipped(_evidence([None, None, math.nan]), OPEN) is None


def test_a_rate_of_zero_at_every_step_is_an_error_not_a_crash():
    """The rule for a rate of 0 in the first epoch looked for the first nonzero step with a
    bare next(): a run at 0 throughout (SGD(lr=0.0)) raised StopIteration from diagnose()."""
    history = bs.History(iters_per_epoch=10, loss=[2.3] * 50, lr=[0.0] * 50)
    found = {f.cause: f for f in history.diagnose()}
    assert found["lr_zero_at_start"].severity == "error"
    assert "0 at every one of the 50 steps: nothing trained" in found["lr_zero_at_start"].evidence
