"""babysit.torch.batches: a step's input compared with the step before's."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from babysit.torch.batches import RepeatedBatches  # noqa: E402


def test_only_each_steps_first_input_counts_and_a_rewritten_buffer_is_no_repeat():
    seen = RepeatedBatches()
    a, b = torch.randn(32, 4), torch.randn(32, 4)
    for x in (a, a, b):          # a closure's second forward of `a` does not count
        seen.see(x)
    seen.step()
    seen.see(a.clone())          # the same rows, a new tensor
    seen.step()
    assert (seen.steps, seen.repeats, seen.rows) == (2, 1, 32)
    buffer = a.clone()
    seen.see(buffer)
    seen.step()
    buffer.copy_(b)              # the same tensor object, new rows
    seen.see(buffer)
    seen.step()
    assert (seen.steps, seen.repeats) == (4, 2)


def test_sparse_batches_whose_samples_agree_differ_by_their_sums():
    """Two batches of mostly zeros whose strided samples hold only zeros: told apart by the
    sum of all their values."""
    a, b = torch.zeros(64, 100), torch.zeros(64, 100)
    a[0, 1], b[5, 3] = 1.0, 2.0
    seen = RepeatedBatches()
    for x in (a, b):
        seen.see(x)
        seen.step()
    assert seen.repeats == 0
