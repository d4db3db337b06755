"""Monitors record update ratios, per-layer histograms, dead and saturated units and the first
layer's weights into the History, as JSON, and never change training."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import babysit as bs
from babysit.data.scales import val_scale
from babysit.nn.layers import ReLU, Sigmoid, Tanh
from babysit.training import monitors


def _fit(data, net, callbacks=(), epochs=2, opt=None, batch_size=64, **kwargs):
    X, y, Xv, yv = data
    trainer = bs.Trainer(net, bs.losses.SoftmaxCrossEntropy(), opt or bs.optim.Adam(1e-3),
                         reg=bs.regularizers.L2(1e-4), batch_size=batch_size, epochs=epochs,
                         callbacks=callbacks, progress=False, **kwargs)
    return trainer, trainer.fit(X, y, val=(Xv, yv))


def test_monitors_never_change_training(centred_digits):
    """Same losses, accuracies and final weights with and without every monitor, even with
    dropout (random masks) and BatchNorm (running averages) in the network."""
    def net():
        return bs.mlp(64, [50, 50], 10, dropout=0.3, batchnorm=True, seed=3)

    plain, h0 = _fit(centred_digits, net(), epochs=3)
    watched, h1 = _fit(centred_digits, net(), monitors.default(image_shape=(8, 8)), epochs=3)
    assert h1.loss == h0.loss
    assert h1.val_acc == h0.val_acc
    for (name, p0), p1 in zip(plain.net.named_params().items(), watched.net.parameters(),
                              strict=True):
        np.testing.assert_array_equal(p0.value, p1.value, err_msg=name)
        np.testing.assert_array_equal(p0.grad, p1.grad, err_msg=name)
    assert h1.monitors and not h0.monitors


def test_the_update_ratio_is_the_norm_of_the_update_over_the_norm_of_the_weights(centred_digits):
    X, y, _, _ = centred_digits
    net = bs.mlp(64, [20], 10, seed=0)
    ratios = monitors.UpdateRatios(every=1)
    trainer = bs.Trainer(net, bs.losses.SoftmaxCrossEntropy(), bs.optim.SGD(0.1),
                         batch_size=X.shape[0], callbacks=[ratios], progress=False)
    Xp, yp = trainer.prepare(X, y)
    ratios.on_train_begin(trainer, Xp, yp, None)
    before = net.layers[0].params["W"].value.copy()
    trainer.step(Xp, yp)
    after = net.layers[0].params["W"].value
    expected = np.linalg.norm(after - before) / np.linalg.norm(before)
    rec = trainer.history.monitors["update_ratio"]
    assert rec["iterations"] == [1]
    assert rec["params"]["0.W"][0] == pytest.approx(expected, rel=1e-5)
    assert rec["params"]["0.b"][0] is None  # a zero bias has no scale to compare with
    assert rec["weights"] == ["0.W", "2.W"]


def test_sampling_every_k_iterations_keeps_the_record_short(centred_digits):
    trainer, h = _fit(centred_digits, bs.mlp(64, [20], 10, seed=0),
                      [monitors.UpdateRatios(every=5), monitors.LayerStats(every=7)], epochs=2)
    assert h.monitors["update_ratio"]["iterations"] == list(range(5, h.iterations + 1, 5))
    its = [s["iteration"] for s in h.monitors["layers"]["samples"]]
    assert its[0] == 0 and its[-1] == h.iterations
    assert its[1:-1] == list(range(7, h.iterations, 7))


def test_layer_stats_name_every_layer_and_histogram_its_activations_and_gradients(centred_digits):
    _, h = _fit(centred_digits, bs.mlp(64, [30, 20], 10, seed=0),
                [monitors.LayerStats(probe_size=50)])
    rec = h.monitors["layers"]
    assert rec["names"] == ["0 Linear", "1 ReLU", "2 Linear", "3 ReLU", "4 Linear"]
    assert rec["probe_size"] == 50
    sample = rec["samples"][-1]
    widths = [30, 30, 20, 20, 10]
    for act, grad, width in zip(sample["activations"], sample["gradients"], widths, strict=True):
        assert sum(act["counts"]) == 50 * width
        assert sum(grad["counts"]) == 50 * width
        assert act["lo"] <= act["mean"] <= act["hi"]
    assert "dead" in sample["activations"][1] and "dead" not in sample["activations"][0]
    # the gradient of the mean loss wrt the scores sums to 0 over classes, row by row
    assert sample["gradients"][-1]["mean"] == pytest.approx(0, abs=1e-7)


def test_a_relu_layer_with_bias_minus_10_is_all_dead(centred_digits):
    net = bs.mlp(64, [50], 10, seed=0)
    net.layers[0].params["b"].value[:] = -10
    _, h = _fit(centred_digits, net, [monitors.LayerStats()], epochs=1)
    assert h.monitors["layers"]["samples"][-1]["activations"][1]["dead"] == 1.0
    _, h = _fit(centred_digits, bs.mlp(64, [50], 10, seed=0), [monitors.LayerStats()], epochs=1)
    assert h.monitors["layers"]["samples"][-1]["activations"][1]["dead"] < 0.1


def test_tanh_with_weights_times_10_saturates(centred_digits):
    net = bs.mlp(64, [50], 10, activation="tanh", init="xavier", seed=0)
    net.layers[0].params["W"].value *= 10
    _, h = _fit(centred_digits, net, [monitors.LayerStats()], epochs=1)
    assert h.monitors["layers"]["samples"][0]["activations"][1]["saturated"] > 0.2
    net = bs.mlp(64, [50], 10, activation="tanh", init="xavier", seed=0)
    _, h = _fit(centred_digits, net, [monitors.LayerStats()], epochs=1)
    assert h.monitors["layers"]["samples"][0]["activations"][1]["saturated"] < 0.02


def test_unit_health_by_activation():
    y = np.array([[0.0, 1.0, 0.0], [0.0, 2.0, 3.0]])
    assert monitors.unit_health(ReLU(), y) == {"dead": pytest.approx(1 / 3)}
    t = np.array([[0.999, 0.5], [-1.0, 0.0]])
    assert monitors.unit_health(Tanh(), t) == {"saturated": 0.5}
    s = np.array([[0.9999, 0.5], [0.0001, 0.3]])
    assert monitors.unit_health(Sigmoid(), s) == {"saturated": 0.5}
    assert monitors.unit_health(bs.layers.Linear(2, 2), y[:, :2]) == {}


def test_histogram_counts_the_finite_values_and_reports_the_rest():
    h = monitors.histogram(np.array([0.0, 1.0, 2.0, np.nan]), bins=2)
    assert h["counts"] == [1, 2] and h["nonfinite"] == 0.25
    assert (h["lo"], h["hi"]) == (0.0, 2.0)
    flat = monitors.histogram(np.zeros(10), bins=4)
    assert sum(flat["counts"]) == 10 and flat["lo"] < 0 < flat["hi"]
    empty = monitors.histogram(np.array([np.inf]))
    assert empty["counts"] == [] and empty["nonfinite"] == 1.0


def test_a_diverging_layers_histogram_is_taken_beyond_its_float_types_range():
    """Values near float32's limits on both sides (a layer of a diverging run) overflow
    float32 in their range, and values a few ulps apart in their bins' scale: both are
    summarized (in float64) instead of stopping the run."""
    a = np.array([-3e38, 0.5e38, 1.5e38, 3e38], dtype=np.float32)
    h = monitors.histogram(a, bins=6)
    assert h["counts"] == [1, 0, 0, 1, 1, 1]
    assert (h["lo"], h["hi"]) == (float(a[0]), float(a[-1]))
    assert h["mean"] == pytest.approx(a.astype(np.float64).mean(), rel=1e-6)
    close = np.array([1.0, np.nextafter(np.float32(1), np.float32(2))], dtype=np.float32)
    close = np.repeat(close, [3, 1]) * np.float32(1e-38)   # subnormal: two ulps apart
    assert monitors.histogram(close, bins=4)["counts"] == [3, 0, 0, 1]


def test_a_large_arrays_histogram_reads_an_even_sample_and_every_values_range():
    """The counts and moments of a 300,000-value array come from an even sample (its bins'
    shares within 2 points, its moments within a few standard errors); the range and the
    non-finite share are every value's, so one outlier and one infinity show."""
    a = np.random.default_rng(0).standard_normal((300, 1000)).astype(np.float32)
    a[7, 3], a[100, 500] = np.inf, 40.0
    h = monitors.histogram(a)
    finite = a[np.isfinite(a)].astype(np.float64)
    assert sum(h["counts"]) <= monitors.HISTOGRAM_VALUES < finite.size
    assert (h["lo"], h["hi"]) == (finite.min(), 40.0)
    assert h["nonfinite"] == pytest.approx(1 / a.size)
    standard_error = 1 / np.sqrt(monitors.HISTOGRAM_VALUES)
    assert h["mean"] == pytest.approx(finite.mean(), abs=4 * standard_error)
    assert h["std"] == pytest.approx(finite.std(), rel=4 * standard_error)
    full, _ = np.histogram(finite, bins=len(h["counts"]), range=(h["lo"], h["hi"]))
    share = np.asarray(h["counts"]) / sum(h["counts"])
    np.testing.assert_allclose(share, full / full.sum(), atol=0.02)


def test_linear_grad_norms_are_the_norms_of_the_gradients_they_do_not_form():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 300)).astype(np.float32)
    dy = rng.standard_normal((16, 200)).astype(np.float32)
    norms = monitors.linear_grad_norms(x, dy)
    assert norms["W"] == pytest.approx(np.linalg.norm(x.T.astype(np.float64) @ dy), rel=1e-5)
    assert norms["b"] == pytest.approx(np.linalg.norm(dy.sum(axis=0, dtype=np.float64)),
                                       rel=1e-5)
    assert monitors.linear_grad_norms(x, np.zeros_like(dy)) == {"W": 0.0, "b": 0.0}


def test_an_in_run_probe_sample_closer_to_the_planned_end_than_the_spacing_is_left_to_the_end(
        centred_digits):
    """1078 rows in batches of 96: 12 steps an epoch. Probes of 128 rows: the spacing (50
    probes' worth) is cut to one epoch, so 5 epochs sample every 12 steps up to the end at 60.
    Probes of 16 rows: 9 steps apart, so a 1-epoch run of 12 steps would sample at 9 and again
    at 12; it samples at the start and the end only."""
    assert centred_digits[0].shape[0] == 1078
    for probe_size, epochs, expected in ((128, 5, list(range(0, 61, 12))),
                                         (16, 1, [0, 12])):
        _, h = _fit(centred_digits, bs.mlp(64, [20], 10, seed=0),
                    [monitors.LayerStats(probe_size=probe_size)], epochs=epochs, batch_size=96)
        assert [s["iteration"] for s in h.monitors["layers"]["samples"]] == expected


def test_first_layer_weights_are_the_final_columns_of_w(centred_digits):
    trainer, h = _fit(centred_digits, bs.mlp(64, [100], 10, seed=0),
                      [monitors.FirstLayerWeights(max_units=16)], epochs=1)
    rec = h.monitors["first_layer"]
    assert rec["name"] == "0.W" and rec["shape"] == [64, 100] and rec["units"] == list(range(16))
    W = trainer.net.layers[0].params["W"].value[:, :16]
    # kept to 4 significant digits of the largest weight: finer than the picture's grey levels
    np.testing.assert_allclose(rec["W"], W, rtol=0, atol=5e-4 * np.abs(W).max())


def test_picture_values_keep_four_digits_of_the_largest_weight_and_zeros_exact():
    W = np.array([[0.123456789, -0.000123456], [0.0, 1e-9]], dtype=np.float32)
    assert monitors.picture_values(W) == [[0.1235, -0.0001], [0.0, 0.0]]
    assert monitors.picture_values(W * 1000) == [[123.5, -0.1], [0.0, 0.0]]
    assert monitors.picture_values(np.zeros((2, 3))) == [[0.0] * 3] * 2
    big = np.random.default_rng(0).normal(0, 0.2, (64, 64)).astype(np.float32)
    assert len(json.dumps(monitors.picture_values(big))) < len(json.dumps(big.tolist())) / 2


def test_run_info_puts_what_the_report_needs_in_meta(centred_digits):
    _, h = _fit(centred_digits, bs.mlp(64, [20], 10, seed=0),
                [monitors.RunInfo(image_shape=(8, 8), data="digits")], epochs=1)
    m = h.meta
    assert m["chance_loss"] == pytest.approx(math.log(10))
    assert m["n_classes"] == 10 and m["batch_size"] == 64 and m["image_shape"] == [8, 8]
    assert m["layers"] == ["0 Linear", "1 ReLU", "2 Linear"] and m["data"] == "digits"
    assert m["n_train"] == centred_digits[0].shape[0] and m["n_val"] == centred_digits[2].shape[0]
    assert m["n_params"] == 64 * 20 + 20 + 20 * 10 + 10  # weights and biases


def test_everything_recorded_survives_a_json_round_trip(centred_digits, tmp_path):
    _, h = _fit(centred_digits, bs.mlp(64, [20], 10, seed=0), monitors.default(image_shape=(8, 8)))
    h.save(tmp_path / "history.json")
    back = bs.History.load(tmp_path / "history.json")
    assert back.monitors == json.loads(json.dumps(h.monitors))
    assert back.meta == json.loads(json.dumps(h.meta))
    assert set(back.monitors) == {"update_ratio", "layers", "params", "data", "first_layer"}


def test_data_stats_record_the_input_scale_and_the_class_counts(centred_digits):
    X, y, Xv, yv = centred_digits
    _, h = _fit(centred_digits, bs.mlp(64, [20], 10, seed=0), [monitors.DataStats()], epochs=1)
    rec = h.monitors["data"]
    assert rec["n"] == X.shape[0]
    np.testing.assert_allclose(rec["feature_mean"], X.mean(axis=0), atol=1e-6)
    np.testing.assert_allclose(rec["feature_std"], X.std(axis=0), rtol=1e-5, atol=1e-7)
    assert rec["class_counts"] == np.bincount(y, minlength=10).tolist()
    assert rec["val_class_counts"] == np.bincount(yv, minlength=10).tolist()


@pytest.mark.parametrize("probe_size", [40, 8])
def test_layer_stats_record_gradient_norms_and_the_predicted_classes(centred_digits, probe_size):
    """The norms are those of one backward pass of the data loss on the probe batch, at test
    time, and the predicted counts are the argmax of the scores on it. A probe of 8 rows
    takes the first layer's weight-gradient norm from Gram matrices (GRAM_COST 8 (64 + 2 x 30)
    < 2 x 64 x 30), the probe's own taken once and reused by the later samples checked here;
    one of 40 rows forms dL/dW."""
    X, y, _, _ = centred_digits
    stats = monitors.LayerStats(probe_size=probe_size)
    trainer, h = _fit(centred_digits, bs.mlp(64, [30], 10, seed=0), [stats], epochs=1)
    net = trainer.net.copy()
    net.zero_grad()
    xp, yp = stats._probe
    scores, backward = net.forward(xp, train=False)
    loss, dscores = trainer.loss(scores, yp)
    backward(dscores)
    layers, params = h.monitors["layers"], h.monitors["params"]
    last = layers["samples"][-1]
    assert last["loss"] == pytest.approx(loss, rel=1e-5)
    assert last["grad_norm"][-1] == pytest.approx(np.linalg.norm(dscores), rel=1e-5)
    assert last["predicted"] == np.bincount(scores.argmax(axis=1), minlength=10).tolist()
    assert layers["probe_labels"] == np.bincount(yp, minlength=10).tolist()
    assert params["names"] == ["0.W", "0.b", "2.W", "2.b"] and params["weights"] == ["0.W", "2.W"]
    assert params["iterations"] == [s["iteration"] for s in layers["samples"]]
    for name, p in net.named_params().items():
        assert params["grad_norm"][name][-1] == pytest.approx(np.linalg.norm(p.grad), rel=1e-4)
        assert params["value_norm"][name][-1] == pytest.approx(np.linalg.norm(p.value), rel=1e-5)
    if probe_size == 8:
        gram = xp.astype(np.float64) @ xp.T
        np.testing.assert_allclose(stats._probe_gram, gram, atol=1e-5 * np.abs(gram).max())
    else:
        assert stats._probe_gram is None


def test_a_strided_sample_spans_every_column_and_keeps_the_ratio_of_norms():
    rng = np.random.default_rng(0)
    small = rng.standard_normal((64, 100)).astype(np.float32)
    assert monitors.strided_sample(small, 2**14).base is small    # all of it, a view
    W = rng.standard_normal((3072, 1024)).astype(np.float32)
    step = 1e-3 * rng.standard_normal(W.shape).astype(np.float32)
    sample = monitors.strided_sample(W, 2**14)
    assert sample.size <= 2**14 and np.shares_memory(sample, W)
    columns = np.unravel_index(np.arange(W.size)[::sample.strides[0] // 4], W.shape)[1]
    assert len(np.unique(columns)) == 1024     # a stride of 192 would visit 16 columns
    full = np.linalg.norm(step) / np.linalg.norm(W)
    part = np.linalg.norm(monitors.strided_sample(step, 2**14)) / np.linalg.norm(sample)
    assert part == pytest.approx(full, rel=0.03)


@pytest.mark.parametrize("shape", [(3072, 1024), (784, 100), (300, 7)])
def test_a_line_sample_reads_runs_of_neighbours_over_every_column(shape):
    """Runs of LINE_ENTRIES neighbours, at most `size` entries in all, whose columns cover the
    whole last axis (a run stride that is a multiple of the row would read 16 columns), and
    whose ratio of norms is the whole matrix's to a few percent."""
    rng = np.random.default_rng(0)
    W = rng.standard_normal(shape).astype(np.float32)
    step = 1e-3 * rng.standard_normal(shape).astype(np.float32)
    sample = monitors.line_sample(W, 2**11)
    assert sample.size <= 2**11 and np.shares_memory(sample, W)
    assert sample.shape[1] == monitors.LINE_ENTRIES
    index = np.arange(W.size).reshape(-1)
    taken = monitors.line_sample(index.reshape(shape), 2**11).ravel()
    assert len(np.unique(taken % shape[1])) == shape[1]
    np.testing.assert_array_equal(W.ravel()[taken], sample.ravel())
    full = np.linalg.norm(step) / np.linalg.norm(W)
    part = np.linalg.norm(monitors.line_sample(step, 2**11)) / np.linalg.norm(sample)
    assert part == pytest.approx(full, rel=0.05)
    small = np.ascontiguousarray(W[:8, :7])
    assert np.shares_memory(monitors.line_sample(small, 2**11), small)    # all of it
    assert monitors.line_sample(small, 2**11).size == small.size


def test_update_ratios_of_a_wide_layer_read_a_sample_of_it():
    """Each sampled update copies at most `sample_size` entries of a Param, and the ratio is
    within a few percent of the whole matrix's."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((512, 300)).astype(np.float32)
    y = rng.integers(0, 10, 512)
    ratios = monitors.UpdateRatios(every=1, sample_size=4000)
    net = bs.mlp(300, [200], 10, seed=0)
    trainer = bs.Trainer(net, bs.losses.SoftmaxCrossEntropy(), bs.optim.SGD(0.1),
                         batch_size=512, callbacks=[ratios], progress=False)
    Xp, yp = trainer.prepare(X, y)
    ratios.on_train_begin(trainer, Xp, yp, None)
    before = net.layers[0].params["W"].value.copy()
    trainer.step(Xp, yp)
    # the samples held: at most sample_size entries of each Param (300x200, 200, 200x10, 10)
    assert ratios._samples.held.shape[1] <= 4000 + 200 + 2000 + 10
    expected = np.linalg.norm(net.layers[0].params["W"].value - before) / np.linalg.norm(before)
    got = trainer.history.monitors["update_ratio"]["params"]["0.W"][0]
    assert got == pytest.approx(expected, rel=0.06) and got != pytest.approx(expected, rel=1e-6)


def test_the_probe_leaves_the_training_gradients_alone(centred_digits):
    """A LayerStats sample writes its gradients into buffers of its own: every Param.grad
    is the same array with the same contents afterwards, and no copy of the net is made."""
    X, y, _, _ = centred_digits
    stats = monitors.LayerStats(every=1)
    net = bs.mlp(64, [30], 10, seed=0)
    trainer = bs.Trainer(net, bs.losses.SoftmaxCrossEntropy(), bs.optim.SGD(0.1),
                         batch_size=64, callbacks=[stats], progress=False)
    Xp, yp = trainer.prepare(X, y)
    stats.on_train_begin(trainer, Xp, yp, None)
    trainer.step(Xp[:64], yp[:64])
    grads = {name: (p.grad, p.grad.copy()) for name, p in net.named_params().items()}
    stats.after_update(trainer, 1)
    for name, p in net.named_params().items():
        assert p.grad is grads[name][0], name
        np.testing.assert_array_equal(p.grad, grads[name][1], err_msg=name)
    norms = trainer.history.monitors["params"]["grad_norm"]["0.W"]
    training_grad = np.linalg.norm(net.named_params()["0.W"].grad)
    assert len(norms) == 3 and norms[-1] != pytest.approx(training_grad, rel=1e-3)


def test_probe_samples_are_spaced_by_the_training_work_between_them(centred_digits):
    """With small batches the probe runs at most once per PROBE_SPACING probe batches of
    training examples, or once an epoch when an epoch is shorter; `every` given is taken as
    it is."""
    X = centred_digits[0]
    _, h = _fit(centred_digits, bs.mlp(64, [20], 10, seed=0), [monitors.LayerStats(probe_size=4)],
                epochs=2, batch_size=8)
    every, per_epoch = h.monitors["layers"]["every"], math.ceil(X.shape[0] / 8)
    assert every == math.ceil(monitors.PROBE_SPACING * 4 / 8) < per_epoch
    assert every > per_epoch * 2 // 5    # the 5-samples rule would be denser
    _, h = _fit(centred_digits, bs.mlp(64, [20], 10, seed=0), [monitors.LayerStats()],
                epochs=5, batch_size=32)
    assert h.monitors["layers"]["every"] == math.ceil(X.shape[0] / 32)    # once an epoch
    _, h = _fit(centred_digits, bs.mlp(64, [20], 10, seed=0), [monitors.LayerStats(every=3)],
                epochs=1, batch_size=8)
    assert h.monitors["layers"]["every"] == 3


def test_data_stats_of_a_large_set_read_an_even_sample_of_rows():
    rng = np.random.default_rng(2)
    X = (rng.standard_normal((40_000, 100)) * np.arange(1, 101) + 5).astype(np.float32)
    rows = monitors.data_rows(X)
    assert rows.base is X and 256 <= rows.shape[0] <= monitors.DATA_VALUES // 100 + 100
    small = X[:monitors.DATA_VALUES // 100]
    assert monitors.data_rows(small) is small
    trainer = bs.Trainer(bs.mlp(100, [], 10, seed=0), bs.losses.SoftmaxCrossEntropy(),
                         bs.optim.SGD(0.1), epochs=1, callbacks=[monitors.DataStats()],
                         progress=False)
    rec = trainer.fit(X, rng.integers(0, 10, 40_000)).monitors["data"]
    assert rec["n"] == 40_000
    np.testing.assert_allclose(rec["feature_std"], X.std(axis=0), rtol=0.05)
    np.testing.assert_allclose(rec["feature_mean"], X.mean(axis=0),
                               atol=0.1 * float(X.std(axis=0).max()))


def test_the_records_have_the_layout_diagnose_records_declares(centred_digits):
    """`babysit.diagnose.records` is the contract: every key the monitors write, and no other
    but the PyTorch loop's (the sitter's History is held to this one in test_torch)."""
    from babysit.diagnose import records

    _, h = _fit(centred_digits, bs.mlp(64, [20], 10, seed=0),
                monitors.default(image_shape=(8, 8)))
    assert set(h.monitors) == set(records.RECORDS) - {"torch"}
    for key, layout in records.RECORDS.items() - {("torch", records.TorchRecord)}:
        assert set(h.monitors[key]) == set(layout.__annotations__), key
        assert records.fits(h.monitors[key], layout), key   # so History.load keeps it
    for sample in h.monitors["layers"]["samples"]:
        assert set(sample) == set(records.LayerSample.__annotations__)
        for summary in sample["activations"] + sample["gradients"]:
            assert records.Histogram.__required_keys__ <= set(summary)
            assert set(summary) <= set(records.Histogram.__annotations__)


def test_the_first_layer_picture_of_a_wide_input_keeps_fewer_units():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((64, 784)).astype(np.float32), rng.integers(0, 10, 64)
    trainer = bs.Trainer(bs.mlp(784, [100], 10, seed=0), bs.losses.SoftmaxCrossEntropy(),
                         bs.optim.SGD(0.1), epochs=1, callbacks=[monitors.FirstLayerWeights()],
                         progress=False)
    rec = trainer.fit(X, y).monitors["first_layer"]
    assert rec["units"] == list(range(monitors.PICTURE_VALUES // 784)) and len(rec["W"]) == 784
    X = rng.standard_normal((64, 3072)).astype(np.float32)    # CIFAR-10's width: 2 by the cap
    trainer = bs.Trainer(bs.mlp(3072, [100], 10, seed=0), bs.losses.SoftmaxCrossEntropy(),
                         bs.optim.SGD(0.1), epochs=1, callbacks=[monitors.FirstLayerWeights()],
                         progress=False)
    rec = trainer.fit(X, y).monitors["first_layer"]
    assert rec["units"] == list(range(monitors.PICTURE_MIN_UNITS)) and len(rec["W"][0]) == 4


def test_val_scale_compares_spreads_on_enough_rows():
    """Raw validation pixels against standardized training ones: a spread ratio far from 1.
    Rows split at random: about 1 and a shift near 0. Two validation rows are too few to
    judge, and the rule waits for 20."""
    rng = np.random.default_rng(0)
    X = rng.integers(0, 17, (600, 64)).astype(np.float32)
    mean, std = X[:500].mean(0), X[:500].std(0)
    train, val = (X[:500] - mean) / std, (X[500:] - mean) / std
    honest = val_scale(train, val)
    assert honest["rows"] == 100 and honest["shift"] < 0.2 and 0.9 < honest["ratio"] < 1.1
    assert val_scale(train, X[500:])["ratio"] > 3
    assert val_scale(train, val[:, :10]) is None


def test_label_columns_found_in_the_rows_read_are_read_again_on_every_row():
    """40,000 rows: DataStats reads every 4th. A column that is the label on those rows only
    is no label; one that is the label on every row is."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((40_000, 10)).astype(np.float32)
    y = rng.integers(0, 3, 40_000)
    X[:, 3] = rng.standard_normal(40_000)
    X[::monitors.data_step(X), 3] = y[::monitors.data_step(X)]     # the rows read only
    X[:, 7] = 2.0 * y - 1.0

    def found(inputs):
        trainer = bs.Trainer(bs.mlp(10, [], 3, seed=0), bs.losses.SoftmaxCrossEntropy(),
                             bs.optim.SGD(0.1), epochs=1, callbacks=[monitors.DataStats()],
                             progress=False)
        return trainer.fit(inputs, y).monitors["data"]["label_columns"]

    assert monitors.data_step(X) > 1
    assert found(X) == [7]
