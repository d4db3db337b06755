"""babysit.torch.evaluated: the inputs a loop evaluates its model on, summarized as they come."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from babysit.torch.evaluated import EVAL_CHUNKS, EVAL_ROWS, EvaluatedInputs  # noqa: E402


def _rows(n: int, scale: float = 1.0, seed: int = 0):
    return scale * torch.randn(n, 5, generator=torch.Generator().manual_seed(seed))


def test_the_evaluation_farthest_from_training_scale_is_the_one_kept():
    """A pass over training rows (on scale) and one over validation rows 10x wider: the
    second is kept, however the passes are ordered."""
    train = [_rows(200)]
    for order in ((1.0, 10.0), (10.0, 1.0)):
        seen = EvaluatedInputs(min_rows=20)
        for seed, scale in enumerate(order):
            seen.add(_rows(300, scale, seed + 1))
        found = seen.scale(train)
        assert found["ratio"] > 5 and found["off"] == found["features"] == 5
        assert found["rows"] == EVAL_ROWS


def test_calls_of_a_row_or_two_are_gathered_and_single_rows_alone_never_judged():
    """One row at a time, 100 calls: gathered into chunks of EVAL_ROWS rows. A one-row smoke
    test before training, alone, has no spread to compare and is passed over."""
    seen = EvaluatedInputs(min_rows=20)
    for i in range(100):
        seen.add(_rows(1, 10.0, seed=i))
    assert seen.scale([_rows(200)])["rows"] in (EVAL_ROWS, 100 - EVAL_ROWS)
    alone = EvaluatedInputs(min_rows=20)
    alone.add(_rows(1, 10.0))
    assert alone.scale([_rows(200)]) is None


def test_integer_inputs_and_evaluations_past_the_cap_are_passed_over():
    seen = EvaluatedInputs(min_rows=20)
    seen.add(torch.randint(0, 100, (64, 5)))            # token ids: no scale
    assert seen.scale([_rows(200)]) is None
    capped = EvaluatedInputs(min_rows=20)
    for i in range(EVAL_CHUNKS):
        capped.add(_rows(EVAL_ROWS, 1.0, seed=i))
    capped.add(_rows(EVAL_ROWS, 50.0, seed=99))          # the seventeenth: not summarized
    assert capped.scale([_rows(200)])["off"] == 0
