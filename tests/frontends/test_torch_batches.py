"""babysit.torch.batches: a step's input compared with the step before's."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from babysit.torch.batches import STEPS, RepeatedBatches  # noqa: E402


def _steps(seen: RepeatedBatches, *inputs) -> None:
    for x in inputs:
        seen.see(x)
        seen.step()


def test_only_each_steps_first_input_counts_and_a_rewritten_buffer_is_no_repeat():
    seen = RepeatedBatches()
    a, b = torch.randn(32, 4), torch.randn(32, 4)
    for x in (a, a, b):          # a closure's later forwards do not count
        seen.see(x)
    seen.step()
    _steps(seen, a.clone())      # the same rows, a new tensor
    assert seen.result()[:3] == (2, 1, 32)
    buffer = a.clone()
    _steps(seen, buffer)
    buffer.copy_(b)              # the same tensor object, new rows
    _steps(seen, buffer)
    assert seen.result()[:2] == (4, 2)


def test_sparse_batches_whose_samples_agree_differ_by_their_sums():
    a, b = torch.zeros(64, 100), torch.zeros(64, 100)
    a[0, 1], b[5, 3] = 1.0, 2.0
    seen = RepeatedBatches()
    _steps(seen, a, b)
    assert seen.result()[1] == 0


def test_images_with_a_constant_border_are_told_apart():
    """2,048 images of 28 x 28 whose first columns are black: a stride of two image rows would
    read the border alone; the sample walks across the columns."""
    g = torch.Generator().manual_seed(0)
    images = [torch.rand(2048, 1, 28, 28, generator=g) for _ in range(3)]
    for x in images:
        x[..., :4] = 0.0
    seen = RepeatedBatches()
    _steps(seen, *images)
    assert seen.result()[:2] == (3, 0)


def test_a_long_first_epoch_stops_at_the_cap():
    seen = RepeatedBatches()
    x = torch.randn(8, 3)
    _steps(seen, *[x] * (STEPS + 10))
    assert seen.result()[:2] == (STEPS, STEPS - 1)


def test_one_hot_rows_that_sum_alike_are_told_apart():
    """Batches of 16 one-hot rows of 50,000 classes all sum to 16, and a sample of 1,024
    values seldom meets a one: the checksum weighs each value by its position."""
    g = torch.Generator().manual_seed(1)
    seen = RepeatedBatches()
    for _ in range(5):
        x = torch.zeros(16, 50_000)
        x[torch.arange(16), torch.randint(0, 50_000, (16,), generator=g)] = 1.0
        _steps(seen, x)
    assert seen.result()[1] == 0


def test_a_batch_holding_a_nan_is_the_same_as_itself_and_empty_ones_are_never():
    x = torch.randn(8, 3)
    x[2, 1] = float("nan")
    seen = RepeatedBatches()
    _steps(seen, x, x.clone())
    assert seen.result()[:2] == (2, 1)
    empty = RepeatedBatches()
    _steps(empty, torch.zeros(0, 3), torch.zeros(0, 3))
    assert empty.result()[:2] == (2, 0)


def test_a_step_repeats_only_when_every_tensor_of_its_call_does():
    """model(mask=ones, x=x): the mask is the same at every step, the inputs are not."""
    mask = torch.ones(16, 4)
    seen = RepeatedBatches()
    for seed in range(3):
        seen.see(mask, torch.randn(16, 4, generator=torch.Generator().manual_seed(seed)))
        seen.step()
    assert seen.result()[:2] == (3, 0)
    same = torch.randn(16, 4)
    seen = RepeatedBatches()
    for _ in range(3):
        seen.see(mask, same)
        seen.step()
    assert seen.result()[:2] == (3, 2)


def test_a_repeated_batch_that_is_also_evaluated_is_the_training_set():
    """Full-batch training that evaluates its training accuracy on the very rows it steps on:
    the repeated batch is the training set. A batch that is a slice of what is evaluated is
    not."""
    X = torch.randn(112, 4)
    seen = RepeatedBatches()
    for _ in range(3):
        seen.see(X)
        seen.step()
    seen.evaluated(X)
    assert seen.result()[1:] == (2, 112, True)
    sliced = RepeatedBatches()
    for _ in range(3):
        sliced.see(X[:32])
        sliced.step()
    sliced.evaluated(X)
    assert sliced.result()[1:] == (2, 32, False)


def test_a_scalar_tensor_beside_the_inputs_is_read_as_a_value():
    """model(x, torch.tensor(0.5)): the 0-d argument has no rows or axes to sample; it is
    compared as it is, and the steps with new inputs are no repeat."""
    seen = RepeatedBatches()
    for seed in range(3):
        seen.see(torch.randn(4, 3, generator=torch.Generator().manual_seed(seed)),
                 torch.tensor(0.5))
        seen.step()
    assert seen.result()[:2] == (3, 0)
