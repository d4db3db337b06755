"""babysit.torch.evaluated: the inputs a loop evaluates its model on, gathered into passes."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from babysit.torch.evaluated import PASS_ROWS, PASSES, EvaluatedInputs  # noqa: E402


def _rows(n: int, scale: float = 1.0, seed: int = 0):
    return scale * torch.randn(n, 5, generator=torch.Generator().manual_seed(seed))


def test_the_pass_farthest_from_training_scale_is_the_one_kept():
    """A training-accuracy pass over 300 rows on scale and a validation pass over 120 rows
    10x wider, each one call: the validation pass is kept, whichever comes first."""
    train = [_rows(200)]
    for order in (((300, 1.0), (120, 10.0)), ((120, 10.0), (300, 1.0))):
        seen = EvaluatedInputs(min_rows=20)
        for seed, (rows, scale) in enumerate(order):
            seen.add(_rows(rows, scale, seed + 1))
        found = seen.scale(train)
        assert found["ratio"] > 5 and found["off"] == found["features"] == 5
        assert found["rows"] == 120


def test_a_validation_set_in_class_order_is_judged_whole_not_by_its_batches():
    """Rows sorted by class and evaluated in batches of 100: each batch holds one class, whose
    spread is far smaller than the set's; the pass keeps a sample of all of them."""
    g = torch.Generator().manual_seed(0)
    centres = 4 * torch.randn(4, 10, generator=g)
    labels = torch.arange(4).repeat_interleave(100)
    val = centres[labels] + torch.randn(400, 10, generator=g)
    train = centres[torch.randint(0, 4, (2000,), generator=g)] + torch.randn(2000, 10, generator=g)
    seen = EvaluatedInputs(min_rows=20)
    for at in range(0, 400, 100):
        seen.add(val[at:at + 100])
    found = seen.scale([train])
    assert found["rows"] == 400 and found["off"] == 0


def test_row_by_row_calls_make_one_pass_and_a_training_step_ends_a_pass():
    """One row at a time, 100 calls: one pass of 100 rows. A one-row smoke test alone has no
    spread to compare and is passed over; a training step between two evaluations of the
    same size keeps them apart."""
    seen = EvaluatedInputs(min_rows=20)
    for i in range(100):
        seen.add(_rows(1, 10.0, seed=i))
    assert seen.scale([_rows(200)])["rows"] == 100
    alone = EvaluatedInputs(min_rows=20)
    alone.add(_rows(1, 10.0))
    assert alone.scale([_rows(200)]) is None
    split = EvaluatedInputs(min_rows=20)
    split.add(_rows(64, 1.0, seed=1))
    split.training_step()
    split.add(_rows(64, 10.0, seed=2))
    assert split.scale([_rows(200)])["rows"] == 64


def test_integer_and_sparse_inputs_are_passed_over():
    seen = EvaluatedInputs(min_rows=20)
    seen.add(torch.randint(0, 100, (64, 5)))            # token ids: no scale
    seen.add(_rows(64, 10.0).to_sparse())
    assert seen.scale([_rows(200)]) is None


def test_passes_of_one_batch_after_every_step_give_way_to_the_validation_pass():
    """A running accuracy under no_grad after each training step makes a pass of one batch
    each time; when the passes are full, the fewest rows give way, and the epoch's validation
    pass (off scale) is still judged."""
    seen = EvaluatedInputs(min_rows=20)
    for i in range(PASSES + 10):
        seen.add(_rows(64, 1.0, seed=i))
        seen.training_step()
    for i in range(10):
        seen.add(_rows(64, 10.0, seed=100 + i))
    found = seen.scale([_rows(200)])
    assert found["rows"] == 640 and found["off"] == found["features"]


def test_the_sample_of_a_pass_is_uniform_over_all_its_rows():
    """Four calls of 1,000 rows and a last of 100, each row marked by its call: each call's
    share of the 256 sampled rows is its share of the rows (the last: 2.4%), within noise."""
    seen = EvaluatedInputs(min_rows=20)
    for call, rows in enumerate((1000, 1000, 1000, 1000, 100)):
        seen.add(torch.full((rows, 3), float(call)))
    calls = seen._passes[0].sample[:, 0]
    assert len(calls) == PASS_ROWS
    assert (calls == 4).sum() <= 15 and (calls == 3).sum() >= 35
