"""babysit.torch.watch and the Sitter's methods refuse bad arguments where they enter, by name,
rather than accepting them and stopping the monitors, or recording a history that disagrees
with itself, later."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from babysit.torch import watch  # noqa: E402

torch.set_num_threads(1)


def net(bn=False):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(16, 8), *([nn.BatchNorm1d(8)] if bn else []), nn.ReLU(),
                         nn.Dropout(0.5), nn.Linear(8, 3))


def sgd(model):
    return torch.optim.SGD(model.parameters(), lr=0.1)


def train(sitter, model, opt, steps=4):
    torch.manual_seed(1)
    X, y = torch.randn(32, 16), torch.randint(0, 3, (32,))
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(X), y)
        loss.backward()
        opt.step()
        sitter.log(loss)


# -- 1: probe= -------------------------------------------------------------------------------

def test_probe_the_model_cannot_take_is_refused_naming_the_models_error():
    model = net()
    with pytest.raises(ValueError, match=r"probe=.*RuntimeError: mat1 and mat2"):
        watch(model, sgd(model), probe=torch.randn(10, 5))


@pytest.mark.parametrize("probe, said", [
    (lambda: torch.randn(0, 16), "at least one example"),
    (lambda: (torch.randn(10, 16), torch.randint(0, 3, (7,))), "one label per row"),
    (lambda: (torch.randn(10, 16), torch.tensor([-1] + [0] * 9)), "labels >= 0"),
    (lambda: (torch.randn(10, 16), torch.tensor([5] + [0] * 9)), "below the model's 3"),
])
def test_probe_without_rows_or_with_labels_that_do_not_fit_is_refused(probe, said):
    model = net()
    with pytest.raises(ValueError, match=f"probe.*{said}"):
        watch(model, sgd(model), probe=probe())


def test_probe_check_changes_nothing_training_reads():
    model = net(bn=True)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    probe = (torch.randn(10, 16), torch.randint(0, 3, (10,)))
    rng = torch.get_rng_state()
    model.train()
    sitter = watch(model, sgd(model), probe=probe)
    assert model.training and all(m.training for m in model.modules())
    assert torch.equal(torch.get_rng_state(), rng)
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    # the check's forward is not counted as a forward of the run
    assert sitter._rows_first_epoch == 0 and sitter._leaves is None
    train(sitter, model, sitter.optimizer)
    assert sitter.history.monitors["torch"]["unmeasured"] == []


# -- 2: after close() ------------------------------------------------------------------------

def test_log_and_end_epoch_refuse_after_close():
    model = net()
    opt = sgd(model)
    sitter = watch(model, opt)
    train(sitter, model, opt)
    sitter.end_epoch()
    sitter.close()
    with pytest.raises(ValueError, match="log: this sitter was closed"):
        sitter.log(1.0)
    with pytest.raises(ValueError, match="end_epoch: this sitter was closed"):
        sitter.end_epoch()
    history = sitter.history
    assert len(history.loss) == 4 and history.epochs == 1


def test_log_still_records_after_the_monitors_stopped():
    """A sitter whose monitors stopped (not closed by the caller) keeps recording the loss."""
    model = net()
    opt = sgd(model)
    sitter = watch(model, opt)
    sitter._stopped = "stopped"
    sitter._remove_hooks()
    sitter.log(1.0)
    sitter.end_epoch()
    assert len(sitter.history.loss) == 1


# -- 3: penalty ------------------------------------------------------------------------------

@pytest.mark.parametrize("penalty, said", [
    (float("nan"), "finite number >= 0, got nan"),
    (-0.5, "finite number >= 0, got -0.5"), (torch.tensor(float("inf")), "finite number"),
])
def test_log_refuses_a_penalty_that_is_no_part_of_the_loss(penalty, said):
    model = net()
    sitter = watch(model, sgd(model))
    with pytest.raises(ValueError, match=f"log: penalty must be .*{said}"):
        sitter.log(1.0, penalty=penalty)
    sitter.log(1.0, penalty=torch.tensor(0.25))
    history = sitter.history
    assert history.data_loss == [pytest.approx(0.75)] and history.loss == [pytest.approx(1.0)]


# -- 4: NumPy integers -----------------------------------------------------------------------

def test_every_and_sizes_take_numpy_integers():
    model = net()
    sitter = watch(model, sgd(model), every=np.int64(5), probe_size=np.int32(16),
                   first_layer_units=np.int64(4))
    assert (sitter.every, sitter.probe_size, sitter.first_layer_units) == (5, 16, 4)
    assert type(sitter.every) is int
    with pytest.raises(ValueError, match="every must be a positive integer, got 2.5"):
        watch(model, sgd(model), every=2.5)


# -- 5: image_shape --------------------------------------------------------------------------

def test_image_shape_must_hold_the_first_layers_inputs():
    model = net()
    with pytest.raises(ValueError, match=r"image_shape=\(3, 3\) holds 9 values.*takes 16"):
        watch(model, sgd(model), image_shape=(3, 3))
    assert watch(model, sgd(model), image_shape=(4, 4)).image_shape == [4, 4]


def test_image_shape_checked_against_the_layer_the_probe_calls_first():
    class Net(nn.Module):  # the head is registered first, called last
        def __init__(self):
            super().__init__()
            self.head, self.body = nn.Linear(8, 3), nn.Linear(16, 8)

        def forward(self, x):
            return self.head(torch.relu(self.body(x)))

    model = Net()
    watch(model, sgd(model), image_shape=(4, 4), probe=torch.randn(4, 16))
    watch(model, sgd(model), image_shape=(4, 4))  # not a Sequential, no probe: unknown
    with pytest.raises(ValueError, match="image_shape"):
        watch(model, sgd(model), image_shape=(2, 4), probe=torch.randn(4, 16))
