"""The Trainer: reproducible, one shuffle per epoch, a History of the right length, the loss
falls, divergence stops at once, and bad input is refused at the door."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

import babysit as bs
from babysit.nn.layers import Layer
from babysit.nn.losses import MeanSquaredError, SoftmaxCrossEntropy
from babysit.training.trainer import DivergedError, Trainer


def _trainer(net=None, opt=None, **kwargs):
    net = net if net is not None else bs.mlp(64, [32], 10, seed=0)
    kwargs.setdefault("batch_size", 64)
    kwargs.setdefault("epochs", 2)
    return Trainer(net, SoftmaxCrossEntropy(), opt or bs.optim.Adam(1e-2), **kwargs)


class Recorder(Layer):
    """Records the first column of every training batch: which examples a step saw."""

    def __init__(self):
        super().__init__()
        self.batches = []

    def forward(self, x, train=False):
        if train:
            self.batches.append(np.asarray(x[:, 0]).astype(int))
        return x, lambda dy: dy


def test_two_runs_with_the_same_seed_are_bit_identical(digits_split):
    def run():
        net = bs.mlp(64, [32], 10, dropout=0.3, input_noise=0.05, seed=1)
        trainer = _trainer(net, reg=bs.regularizers.L2(1e-3), seed=5)
        trainer.fit(digits_split.train.X, digits_split.train.y, val=digits_split.val)
        return trainer

    a, b = run(), run()
    assert a.history.loss == b.history.loss
    assert a.history.val_acc == b.history.val_acc
    for name in a.net.params:
        np.testing.assert_array_equal(a.net.params[name].value, b.net.params[name].value)
    c = _trainer(bs.mlp(64, [32], 10, dropout=0.3, input_noise=0.05, seed=1), seed=6)
    c.fit(digits_split.train.X, digits_split.train.y)
    assert c.history.loss != a.history.loss


def test_one_shuffle_per_epoch_and_contiguous_batches():
    n, batch, epochs = 50, 16, 3
    X = np.zeros((n, 3), np.float32)
    X[:, 0] = np.arange(n)
    y = np.arange(n) % 2
    recorder = Recorder()
    net = bs.Sequential(recorder, bs.layers.Linear(3, 2, seed=0))
    Trainer(net, SoftmaxCrossEntropy(), bs.optim.SGD(0.1), batch_size=batch, epochs=epochs,
            seed=0).fit(X, y)
    sizes = [len(b) for b in recorder.batches]
    assert sizes == [16, 16, 16, 2] * epochs
    orders = [np.concatenate(recorder.batches[i:i + 4]) for i in range(0, len(sizes), 4)]
    for order in orders:  # every example exactly once per epoch
        np.testing.assert_array_equal(np.sort(order), np.arange(n))
    assert not np.array_equal(orders[0], orders[1])  # a fresh shuffle each epoch
    assert not np.array_equal(orders[0], np.arange(n))


def test_history_has_one_entry_per_iteration_and_per_epoch(digits_split):
    batch, epochs = 100, 3
    trainer = _trainer(batch_size=batch, epochs=epochs, reg=bs.regularizers.L2(1e-3))
    h = trainer.fit(digits_split.train.X, digits_split.train.y, val=digits_split.val)
    per_epoch = math.ceil(len(digits_split.train.y) / batch)
    assert h is trainer.history
    assert h.iters_per_epoch == per_epoch
    for series in (h.loss, h.data_loss, h.reg_loss, h.lr):
        assert len(series) == epochs * per_epoch
    assert len(h.train_acc) == len(h.val_acc) == h.epochs == epochs
    assert h.epochs_axis()[-1] == pytest.approx(epochs)
    assert h.epochs_axis()[per_epoch - 1] == pytest.approx(1)
    np.testing.assert_allclose(h.loss, np.add(h.data_loss, h.reg_loss))
    assert all(r > 0 for r in h.reg_loss)  # the penalty is reported apart from the data loss


def test_epochs_of_different_lengths_are_placed_by_their_ends(digits_split, tmp_path):
    """A second fit on fewer rows (as scikit-learn's partial_fit on a short last chunk): each
    epoch spans one unit on the epoch axis, its iterations are named by the epoch they ran in,
    and its mean loss is taken over its own steps; the ends survive save and load, and a file
    without them (an earlier version's) reads as before, by iters_per_epoch."""
    X, y = digits_split.train.X, digits_split.train.y
    trainer = _trainer(epochs=2, callbacks=())
    trainer.fit(X[:640], y[:640])                         # 2 epochs of 10 steps
    trainer.epochs += 1
    h = trainer.fit(X[:128], y[:128])                     # 1 epoch of 2 steps
    assert h.epoch_ends == [10, 20, 22] and h.iters_per_epoch == 2
    axis = h.epochs_axis()
    assert axis[9] == pytest.approx(1) and axis[19] == pytest.approx(2)
    assert axis[20] == pytest.approx(2.5) and axis[-1] == pytest.approx(3)
    assert [h.epoch_of(i) for i in (1, 10, 11, 20, 21, 22)] == [1, 1, 2, 2, 3, 3]
    assert h.when(15) == "iteration 15 (epoch 2)"
    means = h.epoch_means(h.data_loss)
    assert means == pytest.approx([np.mean(h.data_loss[:10]), np.mean(h.data_loss[10:20]),
                                   np.mean(h.data_loss[20:])])
    h.save(tmp_path / "history.json")
    loaded = bs.History.load(tmp_path / "history.json")
    assert loaded.epoch_ends == h.epoch_ends and loaded.epochs_axis() == pytest.approx(axis)
    old = {k: v for k, v in h.to_dict().items() if k != "epoch_ends"}
    assert bs.History.from_dict(old).epoch_of(21) == 11      # 21 / 2 iterations an epoch
    damaged = {**h.to_dict(), "epoch_ends": [10, "20", 22]}
    assert bs.History.from_dict(damaged).epoch_ends == []


def test_without_validation_the_val_accuracy_is_none(digits_split):
    h = _trainer(epochs=1).fit(digits_split.train.X, digits_split.train.y)
    assert h.val_acc == [None]


def test_the_loss_falls_and_the_network_learns_digits(digits_split):
    trainer = _trainer(epochs=5, batch_size=32)
    h = trainer.fit(digits_split.train.X, digits_split.train.y, val=digits_split.val)
    assert h.loss[0] == pytest.approx(math.log(10), rel=0.25)  # chance at the start
    assert np.mean(h.loss[-10:]) < 0.3 * np.mean(h.loss[:10])
    assert h.val_acc[-1] > 0.9
    assert trainer.accuracy(*digits_split.test) > 0.9


def test_predict_and_predict_proba(digits_split):
    trainer = _trainer(epochs=3)
    trainer.fit(digits_split.train.X, digits_split.train.y)
    proba = trainer.predict_proba(digits_split.test.X)
    assert proba.shape == (len(digits_split.test.y), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    pred = trainer.predict(digits_split.test.X)
    np.testing.assert_array_equal(pred, proba.argmax(axis=1))
    assert trainer.accuracy(*digits_split.test) == pytest.approx(
        np.mean(pred == digits_split.test.y))


def test_a_schedule_is_followed_and_recorded(digits_split):
    schedule = bs.optim.StepDecay(0.1, factor=0.5, every=10)
    h = _trainer(opt=bs.optim.SGD(schedule), epochs=1).fit(digits_split.train.X,
                                                          digits_split.train.y)
    assert h.lr == [schedule(t) for t in range(len(h.lr))]


def test_a_batchnorm_net_takes_its_last_batch_of_one_from_the_one_before():
    # 33 rows in batches of 32 leave 1: BatchNorm cannot normalize a batch of one row, so the
    # epoch is cut 31 + 2 (as many batches); a net without BatchNorm keeps 32 + 1
    n = 33
    X = np.zeros((n, 3), np.float32)
    X[:, 0] = np.arange(n)
    y = np.arange(n) % 2
    sizes = {}
    for norm in (True, False):
        recorder = Recorder()
        net = bs.Sequential(recorder, *bs.mlp(3, [4], 2, batchnorm=norm).layers)
        Trainer(net, SoftmaxCrossEntropy(), bs.optim.SGD(0.1), batch_size=32, epochs=2,
                callbacks=(), progress=False).fit(X, y)
        sizes[norm] = [len(b) for b in recorder.batches]
        for epoch in (recorder.batches[:2], recorder.batches[2:]):
            np.testing.assert_array_equal(np.sort(np.concatenate(epoch)), np.arange(n))
    assert sizes == {True: [31, 2] * 2, False: [32, 1] * 2}


@pytest.mark.parametrize("n, batch, message", [
    (5, 2, "5 rows in batches of 2 leave a batch of 1: use a batch_size of at least 3"),
    (10, 1, "10 rows in batches of 1 leave a batch of 1"),
    (1, 32, "got 1 training row"),
])
def test_a_batchnorm_net_refuses_batches_of_one_row_before_any_step(n, batch, message):
    X = np.random.default_rng(0).standard_normal((n, 3)).astype(np.float32)
    trainer = Trainer(bs.mlp(3, [4], 2, batchnorm=True), SoftmaxCrossEntropy(),
                      bs.optim.SGD(0.1), batch_size=batch, callbacks=(), progress=False)
    with pytest.raises(ValueError, match="BatchNorm needs at least 2 examples in every "
                                         "training batch; " + message):
        trainer.fit(X, np.arange(n) % 2)
    assert trainer.iteration == 0


def test_a_loss_not_finite_before_any_update_is_not_blamed_on_the_learning_rate():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 5)).astype(np.float32)
    y = (1e20 * X.sum(axis=1, keepdims=True)).astype(np.float32)   # squares overflow float32
    trainer = Trainer(bs.mlp(5, [8], 1), MeanSquaredError(), bs.optim.SGD(1e-3), epochs=2,
                      progress=False)
    with pytest.raises(DivergedError, match="at the first step, before any update") as info:
        trainer.fit(X, y)
    assert "no learning rate causes this" in str(info.value)
    findings = {f.cause: f for f in trainer.history.diagnose()}
    # the targets of size 1e20 are named first; the blow-up is dated before any update
    assert next(iter(findings)) == "unscaled_targets"
    assert "before any update" in findings["diverged"].what


def test_a_diverging_run_stops_at_once_naming_the_iteration():
    # Least squares with lr=1e3: each step multiplies the error by about -1e3, so the float32
    # loss overflows within a few dozen steps (whatever NumPy's warning settings).
    rng = np.random.default_rng(0)
    X = rng.standard_normal((256, 4)).astype(np.float32)
    y = X.sum(axis=1)
    net = bs.Sequential(bs.layers.Linear(4, 1, seed=0))
    trainer = Trainer(net, MeanSquaredError(), bs.optim.SGD(1e3), batch_size=32, epochs=20)
    with pytest.raises(DivergedError) as info:
        trainer.fit(X, y)
    err = info.value
    assert err.history is trainer.history
    assert err.iteration == len(err.history.loss) < 100
    assert not math.isfinite(err.history.loss[-1])
    assert all(math.isfinite(v) for v in err.history.loss[:-1])
    assert f"iteration {err.iteration}" in str(err)
    assert "learning rate" in str(err) and "lower" in str(err)


def test_a_diverged_history_saves_as_strict_json_and_loads_back(tmp_path):
    h = bs.History(iters_per_epoch=2, loss=[2.3, math.nan, math.inf],
                   data_loss=[2.3, math.inf, -math.inf], reg_loss=[0.0, 0.0, 0.0],
                   lr=[0.1, 0.1, 0.1], train_acc=[0.5], val_acc=[None],
                   monitors={"ratio": np.array([1e-3, np.nan], np.float32)})
    h.save(tmp_path / "h.json")
    text = (tmp_path / "h.json").read_text()
    assert "NaN" not in text and "Infinity" not in text  # any JSON reader can read it
    assert list(tmp_path.iterdir()) == [tmp_path / "h.json"]   # no temporary file left
    back = bs.History.load(tmp_path / "h.json")
    # NaN stays NaN and an infinity its own sign: the diagnosis reads "became inf" either way
    assert back.loss[0] == 2.3 and math.isnan(back.loss[1]) and back.loss[2] == math.inf
    assert back.data_loss[1:] == [math.inf, -math.inf]
    assert back.val_acc == [None] and back.train_acc == [0.5] and back.iters_per_epoch == 2
    assert back.monitors["ratio"][1] is None


def test_a_validation_loss_that_was_not_finite_loads_back_as_such(tmp_path):
    """A null validation loss means "no validation data": one that was NaN or inf must not
    read back as that."""
    h = bs.History(loss=[2.3, 2.2, 2.1], data_loss=[2.3, 2.2, 2.1], reg_loss=[0.0] * 3,
                   lr=[0.1] * 3, train_acc=[0.5, 0.4, 0.4], val_acc=[0.5, 0.1, None],
                   val_loss=[1.0, math.nan, math.inf])
    h.save(tmp_path / "h.json")
    back = bs.History.load(tmp_path / "h.json")
    assert back.val_loss[0] == 1.0 and math.isnan(back.val_loss[1])
    assert back.val_loss[2] == math.inf
    h.val_loss = [1.0, None, None]                       # not measured: stays None
    h.save(tmp_path / "h.json")
    assert bs.History.load(tmp_path / "h.json").val_loss == [1.0, None, None]


def test_the_progress_bar_stays_quiet_when_stderr_is_not_a_terminal(digits_split, capsys):
    X, y = digits_split.train.X[:256], digits_split.train.y[:256]
    trainer = _trainer(epochs=1)
    assert trainer.progress is False  # pytest's captured stderr is not a terminal
    trainer.fit(X, y)
    assert capsys.readouterr().err == ""
    _trainer(epochs=1, progress=True).fit(X, y)
    assert "training" in capsys.readouterr().err


def test_float64_training_on_request(digits_split):
    net = bs.mlp(64, [16], 10, batchnorm=True, seed=0).astype("float64")
    trainer = _trainer(net, epochs=1)
    trainer.fit(digits_split.train.X, digits_split.train.y, val=digits_split.val)
    assert all(p.value.dtype == np.float64 for p in net.parameters())
    assert net[1].buffers["running_var"].dtype == np.float64
    assert trainer.scores(digits_split.test.X).dtype == np.float64
    assert trainer.accuracy(*digits_split.test) > 0.5


def test_callbacks_see_every_stage(digits_split):
    seen = []

    class Spy(bs.train.Callback):
        def on_train_begin(self, trainer, X, y, val):
            seen.append("begin")

        def before_update(self, trainer, iteration):
            assert trainer.params[0].grad.any()
            seen.append("before")

        def after_update(self, trainer, iteration):
            seen.append("after")

        def on_epoch_end(self, trainer, epoch):
            seen.append(f"epoch {epoch}")

        def on_train_end(self, trainer):
            seen.append("end")

    X, y = digits_split.train.X[:128], digits_split.train.y[:128]
    _trainer(epochs=2, callbacks=[Spy()]).fit(X, y)
    step = ["before", "after"] * 2
    assert seen == ["begin", *step, "epoch 1", *step, "epoch 2", "end"]


def test_step_hooks_run_only_at_the_steps_a_callback_asks_for(digits_split):
    """`update_every` (set as training begins, as the monitors set it): the Trainer calls
    before_update / after_update at every k-th update only; other hooks are not affected."""
    seen = []

    class EveryThird(bs.train.Callback):
        def on_train_begin(self, trainer, X, y, val):
            self.update_every = 3

        def before_update(self, trainer, iteration):
            seen.append(("before", iteration))

        def after_update(self, trainer, iteration):
            seen.append(("after", iteration))

    X, y = digits_split.train.X[:320], digits_split.train.y[:320]    # 5 steps an epoch
    _trainer(epochs=2, callbacks=[EveryThird()]).fit(X, y)
    assert seen == [(when, i) for i in (2, 5, 8) for when in ("before", "after")]
    trainer = _trainer(epochs=1)                         # the default monitors ask for theirs
    trainer.fit(X, y)
    sampling = {type(cb).__name__: cb.update_every for cb in trainer.callbacks}
    assert sampling["UpdateRatios"] == trainer.history.monitors["update_ratio"]["every"] > 1
    assert sampling["LayerStats"] == trainer.history.monitors["layers"]["every"]


def test_step_refuses_a_batch_that_is_no_array_by_name():
    """`Trainer.step` takes arrays as `prepare` returns them; a list is named, before any
    update, instead of an AttributeError from inside a layer."""
    trainer = Trainer(bs.mlp(4, [8], 3, seed=0), SoftmaxCrossEntropy(), NoWorkOptimizer(0.1),
                      callbacks=())
    X = np.zeros((5, 4), np.float32)
    y = np.array([0, 1, 2, 0, 1])
    with pytest.raises(ValueError, match="xb must be an array .*got list"):
        trainer.step(X.tolist(), y)
    with pytest.raises(ValueError, match="yb must be an array .*got list"):
        trainer.step(X, y.tolist())


def test_regression_with_mse():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3)).astype(np.float32)
    y = X @ np.array([1.0, -2.0, 0.5], np.float32)
    net = bs.Sequential(bs.layers.Linear(3, 1, seed=0))
    trainer = Trainer(net, MeanSquaredError(), bs.optim.Adam(0.05), batch_size=20, epochs=20)
    h = trainer.fit(X, y)
    assert h.loss[-1] < 1e-3
    np.testing.assert_allclose(net[0].params["W"].value[:, 0], [1.0, -2.0, 0.5], atol=0.05)


# -- bad input: a clear ValueError before any work --------------------------------------------

class NoWorkOptimizer(bs.optim.SGD):
    def step(self, params):
        raise AssertionError("an update ran before the bad input was refused")


def _refuses(X, y, match, val=None, net=None, loss=None):
    trainer = Trainer(net or bs.mlp(64, [8], 10, seed=0), loss or SoftmaxCrossEntropy(),
                      NoWorkOptimizer(0.1), epochs=2)
    with pytest.raises(ValueError, match=match) as info:
        trainer.fit(X, y, val=val)
    assert trainer.history.iterations == 0
    return str(info.value)


def test_wrong_input_width_names_the_layer_and_both_shapes(digits_split):
    message = _refuses(digits_split.train.X[:, :32], digits_split.train.y, "layer 0")
    assert "Linear" in message and "(N, 64)" in message and "(1078, 32)" in message


def test_wrong_validation_width_is_refused_before_training(digits_split):
    val = (digits_split.val.X[:, :10], digits_split.val.y)
    message = _refuses(digits_split.train.X, digits_split.train.y,
                       r"val X has shape \(359, 10\)", val=val)
    assert "(N, 64)" in message


@pytest.mark.parametrize("val", ["X", "X, y, extra", "y", "dict"])
def test_validation_that_is_not_an_x_y_pair_is_refused_saying_so(digits_split, val):
    parts = {"X": digits_split.val.X, "X, y, extra": (*digits_split.val, digits_split.val.y),
             "y": digits_split.val.y,
             "dict": {"X": digits_split.val.X, "y": digits_split.val.y}}
    _refuses(digits_split.train.X, digits_split.train.y, r"val must be a pair \(X, y\)",
             val=parts[val])


def test_labels_out_of_range(digits_split):
    y = digits_split.train.y.copy()
    y[5] = 10
    _refuses(digits_split.train.X, y, r"label 10 is out of range for 10 classes \(expected 0..9\)")
    y[5] = -1
    _refuses(digits_split.train.X, y, ">= 0")


def test_labels_that_are_not_integers(digits_split):
    y = digits_split.train.y.astype(float)
    y[7] = 2.5
    _refuses(digits_split.train.X, y, "integer class indices, got 2.5 at position 7")
    _refuses(digits_split.train.X, digits_split.train.y.astype(str), "integer class indices")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_in_the_data_names_row_and_column(digits_split, bad):
    X = digits_split.train.X.copy()
    X[12, 34] = bad
    _refuses(X, digits_split.train.y, "non-finite value .* at row 12, column 34")


def test_nan_in_validation_data(digits_split):
    Xv = digits_split.val.X.copy()
    Xv[3, 4] = np.nan
    _refuses(digits_split.train.X, digits_split.train.y, "val X .* row 3, column 4",
             val=(Xv, digits_split.val.y))


def test_empty_dataset(digits_split):
    _refuses(np.zeros((0, 64), np.float32), np.zeros(0, int), "empty")


@pytest.mark.parametrize(("X", "y", "match"), [
    (np.zeros(64), np.zeros(1, int), "2-d array"),
    (np.zeros((5, 64)), np.zeros(4, int), "5 rows but the labels have 4"),
    (np.zeros((5, 64)), 3, "scalar"),
    (np.zeros((5, 64)), np.zeros((5, 2), int), "1-d array"),
    (np.full((5, 64), "a"), np.zeros(5, int), "numeric"),
])
def test_malformed_arrays(X, y, match):
    _refuses(X, y, match)


def test_regression_targets_of_the_wrong_shape():
    net = bs.Sequential(bs.layers.Linear(64, 2, seed=0))
    _refuses(np.zeros((5, 64)), np.zeros((5, 3)), "targets must have the shape", net=net,
             loss=MeanSquaredError())


@pytest.mark.parametrize(("make", "match"), [
    (lambda: bs.mlp(4, [3], 2, init="glorot"), "unknown init 'glorot'; known: small, lecun"),
    (lambda: bs.mlp(4, [3], 2, activation="swish"), "unknown activation 'swish'; known: relu"),
    (lambda: bs.optim.get("adamw", 1e-3), "unknown optimizer 'adamw'; known: sgd"),
    (lambda: bs.losses.get("hinge"), "unknown loss 'hinge'; known: softmax"),
    (lambda: bs.data.load("mnist-typo"), "unknown dataset 'mnist-typo'.*digits"),
])
def test_unknown_names_list_the_known_ones(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("kwargs", [{"batch_size": 0}, {"batch_size": 2.5}, {"epochs": -1}])
def test_bad_trainer_settings(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        _trainer(**kwargs)


def test_a_bare_layer_trains_in_the_trainer():
    """Not only a Sequential: a single Linear is a linear softmax classifier."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 4)).astype(np.float32)
    y = (X @ rng.standard_normal((4, 3))).argmax(axis=1)     # linearly separable classes
    trainer = Trainer(bs.layers.Linear(4, 3, seed=0), bs.losses.SoftmaxCrossEntropy(),
                      bs.optim.Adam(1e-2), epochs=20, batch_size=20, progress=False)
    history = trainer.fit(X, y)
    assert history.loss[-1] < history.loss[0] / 2
    assert trainer.accuracy(X, y) > 0.9


def test_a_second_fit_after_the_last_epoch_is_refused_until_epochs_are_raised():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 4)).astype(np.float32), rng.integers(0, 2, 40)
    trainer = Trainer(bs.mlp(4, [8], 2), bs.losses.SoftmaxCrossEntropy(), bs.optim.SGD(0.1),
                      epochs=2, batch_size=8, progress=False)
    trainer.fit(X, y)
    with pytest.raises(ValueError, match="already run its 2 epochs; to train more, raise "
                                         "trainer.epochs"):
        trainer.fit(X, y)
    trainer.epochs += 3
    trainer.fit(X, y)
    assert trainer.epoch == 5 and trainer.history.epochs == 5


def test_a_trainer_left_without_callbacks_records_the_monitors():
    """design.md's `Trainer(...).fit(...)`: monitors record into the History, so its
    diagnosis and report see update ratios, dead units and the first layer, as the command
    line's runs do; `callbacks=()` turns them off, and steps taken outside fit record none."""
    data = bs.data.load("digits")
    make = functools.partial(bs.Trainer, loss=bs.losses.SoftmaxCrossEntropy(), epochs=1,
                             progress=False)
    watched = make(bs.mlp(64, [16], 10, seed=0), opt=bs.optim.SGD(0.1))
    watched.fit(*data.train)
    assert {"update_ratio", "layers", "params", "data", "first_layer"} <= set(
        watched.history.monitors)
    assert watched.history.meta["chance_loss"] == pytest.approx(np.log(10))
    bare = make(bs.mlp(64, [16], 10, seed=0), opt=bs.optim.SGD(0.1), callbacks=())
    bare.fit(*data.train)
    assert bare.history.monitors == {} and bare.history.meta == {}
    stepped = make(bs.mlp(64, [16], 10, seed=0), opt=bs.optim.SGD(0.1))
    for _ in range(60):
        stepped.step(data.train.X[:32], data.train.y[:32])
    assert stepped.history.monitors == {}


@pytest.mark.parametrize("item, said", [(object(), "lacks on_train_begin"),
                                        (bs.training.callbacks.EarlyStopping,
                                         "the class EarlyStopping: pass an instance")])
def test_a_callback_that_is_none_is_refused_by_name(item, said):
    """An object without the hooks, or a class for an instance, failed at fit with an
    AttributeError or a TypeError about on_train_begin's arguments."""
    with pytest.raises(ValueError, match=said):
        bs.Trainer(bs.mlp(3, [4], 2), bs.losses.SoftmaxCrossEntropy(), bs.optim.SGD(0.1),
                   callbacks=[item])


def test_a_run_that_already_stopped_itself_says_that_nothing_was_trained(digits_split):
    """EarlyStopping out of patience made a later fit (epochs raised) return at once, without
    a word, although fit's docstring promises that raising epochs goes on."""
    from babysit.training.callbacks import EarlyStopping

    trainer = bs.Trainer(bs.mlp(64, [16], 10, seed=0), bs.losses.SoftmaxCrossEntropy(),
                         bs.optim.SGD(1e-12), batch_size=256, epochs=20, progress=False,
                         callbacks=[EarlyStopping(patience=2)])
    trainer.fit(*digits_split.train, val=digits_split.val)
    stopped_at = trainer.epoch
    trainer.epochs = 40
    with pytest.warns(UserWarning, match=f"already ended at epoch {stopped_at}.*nothing was "
                                         f"trained"):
        trainer.fit(*digits_split.train, val=digits_split.val)
    assert trainer.epoch == stopped_at
