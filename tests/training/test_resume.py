"""Run folders, resuming an interrupted run exactly, early stopping, and the running average."""

import copy
from pathlib import Path

import numpy as np
import pytest

import babysit as bs
from babysit.nn.average import ParameterAverage
from babysit.nn.layers import Param
from babysit.training import checkpoint, checkpoint_file
from babysit.training.trainer import EarlyStopping


def make_trainer(seed=0, epochs=4, average=0.99, callbacks=(), net_seed=None):
    """The same configuration every time; `net_seed` only changes the (overwritten) init."""
    net = bs.mlp(64, [32, 32], 10, batchnorm=True, dropout=0.2, input_noise=0.05,
                 seed=seed if net_seed is None else net_seed)
    return bs.Trainer(net, bs.losses.SoftmaxCrossEntropy(), bs.optim.Adam(2e-3),
                      reg=bs.regularizers.L2(1e-4), constraints=[bs.regularizers.MaxNorm(4.0)],
                      batch_size=64, epochs=epochs, seed=seed, average=average,
                      callbacks=callbacks, progress=False)


def test_an_interrupted_then_resumed_run_equals_an_uninterrupted_one(digits_split, tmp_path):
    straight = make_trainer(epochs=4)
    straight.fit(*digits_split.train, val=digits_split.val)

    first = make_trainer(epochs=2, callbacks=[checkpoint.Checkpoints(tmp_path)])
    first.fit(*digits_split.train, val=digits_split.val)
    del first  # the process "dies": only the run folder survives

    # Fresh objects, another init seed (the weights come from the file), the run's length.
    resumed = make_trainer(epochs=4, net_seed=123).resume(tmp_path)
    assert resumed.epoch == 2
    resumed.fit(*digits_split.train, val=digits_split.val)

    for name, p in straight.net.params.items():
        assert np.array_equal(p.value, resumed.net.params[name].value), name
    for a, b in zip(straight.net.modules(), resumed.net.modules(), strict=True):
        for name, buf in a.buffers.items():
            assert np.array_equal(buf, b.buffers[name]), name
    for name in straight.average.values:
        assert np.array_equal(straight.average.values[name], resumed.average.values[name])
    assert straight.history.to_dict() == resumed.history.to_dict()
    assert straight.iteration == resumed.iteration and straight.opt.t == resumed.opt.t
    assert np.array_equal(straight.predict_proba(digits_split.test.X),
                          resumed.predict_proba(digits_split.test.X))


def test_the_run_folder_holds_every_epoch_and_the_best(digits_split, tmp_path):
    trainer = make_trainer(epochs=3, callbacks=[checkpoint.Checkpoints(tmp_path)])
    trainer.fit(*digits_split.train, val=digits_split.val)
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == ["epoch-001.safetensors", "epoch-002.safetensors", "epoch-003.safetensors"]
    best = checkpoint.read_meta(tmp_path / "best")
    h = trainer.history
    assert best["val_acc"] == max(h.val_acc)
    assert best["epoch"] == h.val_acc.index(max(h.val_acc)) + 1
    # The last epoch's checkpoint is the model as evaluated: the averaged weights.
    net, _ = bs.load(tmp_path / "checkpoints" / "epoch-003")
    assert bs.train.accuracy(net, *digits_split.val) == h.val_acc[-1]


def test_resume_refuses_a_different_network(digits_split, tmp_path):
    make_trainer(epochs=1, callbacks=[checkpoint.Checkpoints(tmp_path)]).fit(*digits_split.train)
    other = bs.Trainer(bs.mlp(64, [16], 10), bs.losses.SoftmaxCrossEntropy(), bs.optim.Adam(),
                       batch_size=64, average=0.99)
    with pytest.raises(ValueError, match="was trained with the network"):
        other.resume(tmp_path)
    no_average = make_trainer(average=None)
    with pytest.raises(ValueError, match="average=0.99.*average=None"):
        no_average.resume(tmp_path)


def test_resume_refuses_a_model_checkpoint(tmp_path):
    trainer = make_trainer()
    bs.save(tmp_path / "model", trainer.net)
    with pytest.raises(ValueError, match="holds a model, not a training state"):
        trainer.resume(tmp_path / "model")


def test_early_stopping_counts_epochs_since_the_best():
    stop = EarlyStopping(patience=2, min_delta=0.005)
    assert stop.epochs_without_improvement(bs.History(val_acc=[0.5, 0.6, 0.6, 0.603])) == 2
    assert stop.epochs_without_improvement(bs.History(val_acc=[0.5, 0.6, 0.7])) == 0
    # Without validation data the training accuracy is watched.
    assert stop.epochs_without_improvement(
        bs.History(train_acc=[0.9, 0.8], val_acc=[None, None])) == 1


def test_a_run_trained_on_keeps_its_starting_learning_rate_in_meta(digits_split):
    # the report says "lr ... at the start": a schedule that has moved on must not replace it
    opt = bs.optim.Momentum(bs.optim.StepDecay(0.1, factor=0.5, every=5))
    trainer = bs.Trainer(bs.mlp(64, [16], 10), bs.losses.SoftmaxCrossEntropy(), opt,
                         batch_size=256, epochs=1, progress=False)
    trainer.fit(*digits_split.train)
    trainer.epochs += 1
    history = trainer.fit(*digits_split.train)
    assert history.lr[-1] < 0.1 and history.meta["lr"] == 0.1


def test_early_stopping_watches_a_regressions_training_loss_without_validation_data():
    # no accuracy and no validation loss: the mean training loss of each epoch is watched
    # (it stopped such a run after `patience` epochs, whatever the loss did)
    stop = EarlyStopping(patience=2)
    falling = [4.0, 3.0, 2.0, 1.5, 1.2, 1.1]
    h = bs.History(iters_per_epoch=2, loss=falling, data_loss=falling, train_acc=[None] * 3,
                   val_acc=[None] * 3, val_loss=[None] * 3)
    assert stop.epochs_without_improvement(h) == 0
    h.data_loss = [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
    assert stop.epochs_without_improvement(h) == 2


def test_early_stopping_ends_a_run_that_stopped_improving(digits_split, tmp_path):
    # A learning rate too small to change any prediction: validation accuracy stays flat.
    net = bs.mlp(64, [16], 10, seed=0)
    trainer = bs.Trainer(net, bs.losses.SoftmaxCrossEntropy(), bs.optim.SGD(1e-12),
                         batch_size=256, epochs=20, progress=False,
                         callbacks=[EarlyStopping(patience=3), checkpoint.Checkpoints(tmp_path)])
    trainer.fit(*digits_split.train, val=digits_split.val)
    assert trainer.history.epochs == 4  # the first epoch, then 3 without improvement
    # A resumed run that had already run out of patience trains no further.
    again = bs.Trainer(bs.mlp(64, [16], 10), bs.losses.SoftmaxCrossEntropy(),
                       bs.optim.SGD(1e-12), batch_size=256, epochs=20, progress=False,
                       callbacks=[EarlyStopping(patience=3)]).resume(tmp_path)
    again.fit(*digits_split.train, val=digits_split.val)
    assert again.history.epochs == 4


def test_the_running_average_is_the_debiased_exponential_average():
    p = Param(np.zeros(3))
    avg = ParameterAverage({"w": p}, decay=0.9)
    seen = []
    for t in range(1, 6):
        p.value = p.value + t  # a new array each step, as an out-of-place update would give
        seen.append(p.value.copy())
        avg.update()
    weights = 0.9 ** np.arange(4, -1, -1)  # d^(t-s) for s = 1..5
    expected = (weights[:, None] * np.array(seen)).sum(axis=0) / weights.sum()
    np.testing.assert_allclose(avg.values["w"], expected, rtol=1e-12)


def test_evaluation_uses_the_averaged_weights_and_training_keeps_its_own(digits_split):
    trainer = make_trainer(epochs=2)
    trainer.fit(*digits_split.train, val=digits_split.val)
    trained = {name: p.value.copy() for name, p in trainer.net.params.items()}
    averaged = trainer.net.copy()
    for name, p in averaged.params.items():
        p.value = trainer.average.values[name].copy()
    assert not np.array_equal(trained["1.W"], averaged.params["1.W"].value)
    assert trainer.accuracy(*digits_split.test) == bs.train.accuracy(averaged, *digits_split.test)
    assert trainer.history.val_acc[-1] == bs.train.accuracy(averaged, *digits_split.val)
    for name, p in trainer.net.params.items():  # the trained values came back after evaluating
        assert np.array_equal(p.value, trained[name])


def test_average_decay_is_checked():
    with pytest.raises(ValueError, match="decay must be a number in \\(0, 1\\)"):
        make_trainer(average=1.5)


def test_trainer_state_moves_a_run_between_trainers_without_a_file(digits_split):
    """`state()`/`load_state()` carry the counters, generators, History, optimizer and average:
    a trainer that takes them over (and the weights) goes on exactly as the first would."""
    first = make_trainer(epochs=2)
    first.fit(*digits_split.train, val=digits_split.val)
    net = copy.deepcopy(first.net)      # the weights, buffers and dropout generators
    second = bs.Trainer(net, bs.losses.SoftmaxCrossEntropy(), bs.optim.Adam(2e-3),
                        reg=bs.regularizers.L2(1e-4), constraints=[bs.regularizers.MaxNorm(4.0)],
                        batch_size=64, epochs=2, seed=99, average=0.99, callbacks=(),
                        progress=False)
    second.load_state(first.state())
    assert (second.epoch, second.iteration, second.opt.t) == (2, first.iteration, first.opt.t)
    first.epochs = second.epochs = 3
    first.fit(*digits_split.train, val=digits_split.val)
    second.fit(*digits_split.train, val=digits_split.val)
    assert first.history.to_dict() == second.history.to_dict()


def test_one_state_loaded_into_two_trainers_gives_each_its_own_history(digits_split):
    """A run branched in two (the same `state()` taken over by two trainers): training one
    branch leaves the other's History, and the state itself, as they were."""
    first = make_trainer(epochs=1, average=None)
    first.fit(*digits_split.train)
    state = first.state()
    a, b = make_trainer(epochs=2, average=None), make_trainer(epochs=2, average=None)
    a.load_state(state)
    b.load_state(state)
    before = len(a.history.loss)
    b.fit(*digits_split.train)
    assert len(a.history.loss) == len(state["history"]["loss"]) == before
    assert len(b.history.loss) == 2 * before


def _drop_optimizer_state(arrays, info):
    for key in [k for k in arrays if k.startswith("optimizer.")]:
        del arrays[key]


def _half_precision_moment(arrays, info):
    arrays["optimizer.1.W.m"] = arrays["optimizer.1.W.m"].astype(np.float16)


@pytest.mark.parametrize("edit, said", [
    (lambda a, i: i["trainer"].update(epoch=-3), "epoch must be a whole number >= 0, got -3"),
    (lambda a, i: i["optimizer"].update(t="5"), "optimizer's step count t must be a whole"),
    (lambda a, i: i["average"].update(t=-5), "average's step count t must be a whole number"),
    (lambda a, i: i["history"].update(loss="abc"), "'loss' must be a list, got str"),
    (_half_precision_moment, "'m' of '1.W' is float16, Adam keeps it in float32"),
    (_drop_optimizer_state, r"no optimizer state for \['1.W', .*after \d+ steps"),
])
def test_a_training_state_whose_description_lies_is_refused_by_name(digits_split, tmp_path,
                                                                      edit, said):
    """Written with a valid checksum, so that what refuses it is the check of what it says:
    these resumed (a negative epoch ran more epochs, Adam's moments missing or in float16 went
    on unlike the run) or failed deep inside a step (a negative t divided by 0, a loss that
    is text had no `append`)."""
    first = make_trainer(epochs=1)
    first.fit(*digits_split.train)
    arrays, info = checkpoint_file.read(checkpoint.save_training(tmp_path / "state", first))
    edit(arrays, info)
    checkpoint_file.write(tmp_path / "state.safetensors", arrays, info)
    with pytest.raises(ValueError, match=r"state\.safetensors.*" + said):
        make_trainer(epochs=2).resume(tmp_path)


def test_load_state_refuses_a_trainer_built_differently(digits_split):
    first = make_trainer(epochs=1)
    first.fit(*digits_split.train, val=digits_split.val)
    with pytest.raises(ValueError, match="saved with batch_size=64, this trainer has"):
        bs.Trainer(first.net, bs.losses.SoftmaxCrossEntropy(), bs.optim.Adam(2e-3),
                   batch_size=32, average=0.99).load_state(first.state())


# A training state written by babysit before optimizer temporaries left the saved state (main
# at 4f8729e, 2026-12-06): Adam's "scratch" buffer is in it beside "m" and "v". It was made by
# `make_old_layout_trainer(2, [Checkpoints(d, every_epoch=False, best=False)])` fitted on the
# digits split, copying d/state.safetensors here.
OLD_STATE = Path(__file__).parent / "old_state" / "adam-2-epochs.safetensors"


def make_old_layout_trainer(epochs, callbacks=(), net_seed=0):
    net = bs.mlp(64, [16], 10, batchnorm=True, dropout=0.2, seed=net_seed)
    return bs.Trainer(net, bs.losses.SoftmaxCrossEntropy(), bs.optim.Adam(2e-3), batch_size=64,
                      epochs=epochs, seed=0, average=0.99, callbacks=callbacks, progress=False)


def test_a_training_state_of_the_old_layout_resumes_exactly(digits_split, tmp_path):
    old_arrays, _ = checkpoint_file.read(OLD_STATE)
    assert "optimizer.0.W.scratch" in old_arrays      # it is the old layout

    resumed = make_old_layout_trainer(4, net_seed=7).resume(OLD_STATE)
    assert resumed.epoch == 2
    for name, p in resumed.net.params.items():        # every value read back as written
        assert np.array_equal(p.value, old_arrays[f"param.{name}"]), name
        for key in ("m", "v"):
            assert np.array_equal(resumed.opt.state[name][key],
                                  old_arrays[f"optimizer.{name}.{key}"]), (name, key)
    # The same state in this version's layout, resumed beside it, trains to the same bits
    # (the file was written on another machine, whose BLAS rounds differently, so a run
    # from scratch here is not the reference)
    again = make_old_layout_trainer(4).resume(checkpoint.save_training(tmp_path / "new", resumed))
    resumed.fit(*digits_split.train, val=digits_split.val)
    again.fit(*digits_split.train, val=digits_split.val)
    for name, p in again.net.params.items():
        assert np.array_equal(p.value, resumed.net.params[name].value), name
    for name, slots in again.opt.state.items():
        for key in ("m", "v"):
            assert np.array_equal(slots[key], resumed.opt.state[name][key]), (name, key)
    assert again.history.to_dict() == resumed.history.to_dict()
    assert len(resumed.history.train_acc) == 4

    straight = make_old_layout_trainer(4)
    straight.fit(*digits_split.train, val=digits_split.val)
    # What this version writes holds m and v alone: a third fewer optimizer bytes.
    new_state = checkpoint.save_training(tmp_path / "state", straight)
    new_arrays, _ = checkpoint_file.read(new_state)
    slots = {key.rsplit(".", 1)[1] for key in new_arrays if key.startswith("optimizer.")}
    assert slots == {"m", "v"}
