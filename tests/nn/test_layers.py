"""Every layer's backward pass against centered numerical differences, in float64.

The analytic gradients (dL/dx returned by backward, dL/dparam written into each
Param.grad) must agree with (f(x+h) - f(x-h)) / 2h to a relative error below 1e-7.
Layers that take a max (ReLU, leaky ReLU) are checked at points away from their kinks,
which the test confirms with `kinks.recording` rather than assumes.
"""

from __future__ import annotations

import numpy as np
import pytest

import babysit as bs
from babysit.check import numerical_gradient_array, rel_error
from babysit.nn.layers import (
    BatchNorm,
    Dropout,
    GaussianNoise,
    LeakyReLU,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    kinks,
)

TOL = 1e-7
# "The deeper the network, the higher the relative errors" (the notes): rounding in the
# composed forward passes reaches the smallest entries of a whole network's gradient.
NET_TOL = 1e-6


def _fresh_masks(layer):
    """Reseed every random layer inside `layer`, so each forward draws the same mask/noise."""
    for module in layer.modules():
        if hasattr(module, "rng"):
            module.rng = np.random.default_rng(1234)


def check_layer(layer, x, train, seed=12345, tol=TOL):
    """Compare dx and every Param.grad of `layer` at `x` with numerical gradients.

    Returns the recorded max() masks of every evaluation, so ReLU-like callers can
    confirm that no finite difference crossed a kink.
    """
    rng = np.random.default_rng(seed)
    _fresh_masks(layer)
    y, backward = layer.forward(x, train)
    dout = rng.standard_normal(y.shape)
    layer.zero_grad()
    dx = backward(dout)

    with kinks.recording() as base:
        _fresh_masks(layer)
        layer.forward(x, train)
    crossings = []

    def f():
        _fresh_masks(layer)
        with kinks.recording() as masks:
            out = layer.forward(x, train)[0]
        crossings.append(kinks.crossed(base, masks))
        return out

    errors = {"x": rel_error(dx, numerical_gradient_array(f, x, dout)).max()}
    for name, p in layer.named_params().items():
        assert p.value.dtype == np.float64
        errors[name] = rel_error(p.grad, numerical_gradient_array(f, p.value, dout)).max()
    assert not any(crossings), "a finite difference crossed a kink: move the test point"
    for name, err in errors.items():
        assert err < tol, f"{type(layer).__name__}: d{name} relative error {err:.2e}"
    return errors


def _x(shape, seed=0, scale=1.0):
    return scale * np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("bias", [0.0, None])
def test_linear_gradients_match_numerical(bias):
    layer = Linear(5, 4, init="he", bias=bias, seed=0, dtype=np.float64)
    if bias is not None:
        layer.params["b"].value[...] = _x(4, seed=3)
    errors = check_layer(layer, _x((6, 5)), train=True)
    assert set(errors) == ({"x", "W", "b"} if bias is not None else {"x", "W"})


@pytest.mark.parametrize("layer", [Tanh(), Sigmoid()], ids=["tanh", "sigmoid"])
def test_smooth_activations_match_numerical(layer):
    check_layer(layer, _x((4, 7), scale=2.0), train=False)


@pytest.mark.parametrize("layer", [ReLU(), LeakyReLU(0.1)], ids=["relu", "leaky_relu"])
def test_relu_like_activations_match_numerical_away_from_kinks(layer):
    x = _x((4, 7))
    x[np.abs(x) < 1e-2] = 0.5  # every input well clear of the kink at 0
    check_layer(layer, x, train=False)


def test_leaky_relu_passes_alpha_times_the_gradient_below_zero():
    x = np.array([[-2.0, 3.0]])
    y, backward = LeakyReLU(0.1).forward(x)
    np.testing.assert_allclose(y, [[-0.2, 3.0]])
    np.testing.assert_allclose(backward(np.ones_like(x)), [[0.1, 1.0]])


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_batchnorm_gradients_match_numerical(train):
    bn = BatchNorm(5, dtype=np.float64)
    bn.params["gamma"].value[...] = 1 + 0.5 * _x(5, seed=1)
    bn.params["beta"].value[...] = _x(5, seed=2)
    bn.buffers["running_mean"][...] = _x(5, seed=3)
    bn.buffers["running_var"][...] = 1 + np.abs(_x(5, seed=4))
    check_layer(bn, 3 + 2 * _x((8, 5)), train=train)


def test_dropout_gradient_matches_numerical_with_a_fixed_mask():
    check_layer(Dropout(0.4), _x((6, 9)), train=True)


def test_gaussian_noise_gradient_matches_numerical():
    check_layer(GaussianNoise(0.3), _x((5, 4)), train=True)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_mlp_with_batchnorm_and_dropout_matches_numerical(activation):
    # No biases: a bias right before BatchNorm has an exactly zero gradient (the batch mean
    # removes it), so its relative error would compare two rounding errors.
    net = bs.mlp(6, [6], 3, activation=activation, init="xavier", batchnorm=True,
                 dropout=0.3, input_noise=0.1, bias=None, seed=0).astype("float64")
    errors = check_layer(net, _x((8, 6)), train=True, tol=NET_TOL)
    assert set(errors) == {"x", *net.params}


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_relu_mlp_matches_numerical_away_from_kinks(activation):
    net = bs.mlp(6, [10, 8], 3, activation=activation, bias=0.01, seed=2).astype("float64")
    errors = check_layer(net, _x((5, 6), seed=5), train=True, tol=NET_TOL)
    assert set(errors) == {"x", *net.params}


def test_sequential_params_are_flat_dotted_names():
    net = Sequential(Linear(3, 4, seed=0), BatchNorm(4), ReLU(), Linear(4, 2, bias=None, seed=1))
    assert list(net.params) == ["0.W", "0.b", "1.gamma", "1.beta", "3.W"]
    assert net.params["3.W"] is net[3].params["W"]


def test_backward_passes_accumulate_until_zero_grad():
    net = bs.mlp(4, [5], 3, batchnorm=True, seed=0).astype("float64")
    x = _x((6, 4))
    y, backward = net.forward(x, train=True)
    dout = _x(y.shape, seed=1)
    net.zero_grad()
    dx = backward(dout)
    once = {name: p.grad.copy() for name, p in net.params.items()}
    np.testing.assert_array_equal(backward(dout), dx)  # the closure can run again
    for name, p in net.params.items():
        np.testing.assert_allclose(p.grad, 2 * once[name], rtol=1e-12, err_msg=name)
    net.zero_grad()
    backward(dout)
    for name, p in net.params.items():
        np.testing.assert_allclose(p.grad, once[name], rtol=1e-12, err_msg=name)


def test_a_training_step_backward_skips_the_input_gradient_but_not_the_params():
    net = bs.mlp(4, [5], 3, seed=0).astype("float64")
    x = _x((6, 4))
    y, backward = net.forward(x, train=True)
    dout = _x(y.shape, seed=1)
    net.zero_grad()
    backward(dout)
    full = {name: p.grad.copy() for name, p in net.params.items()}
    net.zero_grad()
    assert backward(dout, input_grad=False) is None
    for name, p in net.params.items():
        np.testing.assert_array_equal(p.grad, full[name], err_msg=name)


def test_zero_grad_reads_as_zero_before_any_backward():
    layer = Linear(3, 2, seed=0)
    layer.params["W"].grad[...] = 7
    layer.zero_grad()
    assert not layer.params["W"].grad.any()


def test_relu_reports_which_side_of_the_max_won():
    x = np.array([[-1.0, 2.0, 0.0]])
    with kinks.recording() as masks:
        ReLU().forward(x)
    assert len(masks) == 1
    np.testing.assert_array_equal(masks[0], [[False, True, False]])


# -- dropout keeps the expected activation ---------------------------------------------------

def test_dropout_keeps_the_mean_activation_of_test_time():
    drop = 0.3
    layer = Dropout(drop, seed=0)
    x = np.tile(np.linspace(0.5, 2.0, 40, dtype=np.float32), (20_000, 1))
    y = layer(x, train=True)
    assert abs((y == 0).mean() - drop) < 0.01
    kept = y[y != 0]
    np.testing.assert_allclose(kept, (x / (1 - drop))[y != 0], rtol=1e-6)
    # mean over many draws of training output == test output, per unit
    np.testing.assert_allclose(y.mean(axis=0), layer(x[:1], train=False)[0], rtol=0.03)


def test_dropout_is_the_identity_at_test_time():
    layer = Dropout(0.5, seed=0)
    x = _x((3, 4)).astype(np.float32)
    y, backward = layer.forward(x, train=False)
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(backward(x), x)


def test_dropout_refuses_a_drop_probability_outside_0_1():
    with pytest.raises(ValueError, match="drop"):
        Dropout(1.0)


def test_gaussian_noise_has_zero_mean_and_is_off_at_test_time():
    layer = GaussianNoise(0.5, seed=0)
    x = np.ones((50_000, 4), dtype=np.float32)
    y = layer(x, train=True)
    assert abs(float(y.mean()) - 1) < 0.01
    assert abs(float(y.std()) - 0.5) < 0.01
    np.testing.assert_array_equal(layer(x, train=False), x)


# -- batchnorm at test time uses the running averages ----------------------------------------

def test_batchnorm_training_normalizes_with_batch_statistics_and_updates_running_averages():
    bn = BatchNorm(3, momentum=0.9, dtype=np.float64)
    x = 5 + 3 * _x((200, 3))
    y = bn(x, train=True)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=0), 1, atol=1e-5)
    np.testing.assert_allclose(bn.buffers["running_mean"], 0.1 * x.mean(axis=0))
    np.testing.assert_allclose(bn.buffers["running_var"], 0.9 + 0.1 * x.var(axis=0))


def test_batchnorm_at_test_time_uses_the_running_averages_not_the_batch():
    bn = BatchNorm(3, dtype=np.float64)
    bn.params["gamma"].value[...] = [1.0, 2.0, 0.5]
    bn.params["beta"].value[...] = [0.0, -1.0, 1.0]
    for seed in range(50):
        bn(4 + 2 * _x((64, 3), seed=seed), train=True)
    mean, var = bn.buffers["running_mean"].copy(), bn.buffers["running_var"].copy()
    np.testing.assert_allclose(mean, 4, atol=0.2)
    np.testing.assert_allclose(var, 4, rtol=0.15)

    batch = _x((10, 3), seed=99)
    expected = (batch - mean) / np.sqrt(var + bn.eps) * bn.params["gamma"].value \
        + bn.params["beta"].value
    np.testing.assert_allclose(bn(batch, train=False), expected, rtol=1e-12)
    # One example on its own gets the same output as inside the batch.
    np.testing.assert_allclose(bn(batch[3:4], train=False), expected[3:4], rtol=1e-12)
    # and test-time passes leave the running averages alone.
    np.testing.assert_array_equal(bn.buffers["running_mean"], mean)
    np.testing.assert_array_equal(bn.buffers["running_var"], var)


def test_batchnorm_output_at_test_time_follows_the_running_statistics():
    bn = BatchNorm(2, dtype=np.float64)
    x = _x((1, 2))
    before = bn(x, train=False)
    bn.buffers["running_mean"][...] = 1.0
    assert not np.allclose(bn(x, train=False), before)


# -- dtype and construction ------------------------------------------------------------------

def test_float32_by_default_and_float64_on_request():
    net = bs.mlp(4, [5], 3, batchnorm=True, seed=0)
    assert all(p.value.dtype == np.float32 for p in net.parameters())
    assert net(np.zeros((2, 4), np.float32)).dtype == np.float32
    net.astype("float64")
    assert all(p.value.dtype == p.grad.dtype == np.float64 for p in net.parameters())
    assert net[1].buffers["running_mean"].dtype == np.float64
    with pytest.raises(ValueError, match="float32"):
        net.astype("int32")


def test_mlp_builds_the_usual_stack():
    net = bs.mlp(8, [6, 4], 3, activation="tanh", batchnorm=True, dropout=0.5)
    kinds = [type(layer).__name__ for layer in net]
    assert kinds == ["Linear", "BatchNorm", "Tanh", "Dropout",
                     "Linear", "BatchNorm", "Tanh", "Dropout", "Linear"]
    assert [net[0].n_in, net[0].n_out, net[4].n_out, net[8].n_out] == [8, 6, 4, 3]
    assert [type(layer).__name__ for layer in bs.mlp(8, [], 3)] == ["Linear"]


def test_mlp_is_reproducible_from_its_seed():
    a, b = bs.mlp(8, [6], 3, seed=7), bs.mlp(8, [6], 3, seed=7)
    c = bs.mlp(8, [6], 3, seed=8)
    for name in a.params:
        np.testing.assert_array_equal(a.params[name].value, b.params[name].value)
    assert not np.array_equal(a.params["0.W"].value, c.params["0.W"].value)


# -- bad input: clear errors naming the layer and the shapes ---------------------------------

def test_wrong_input_width_names_the_layer_and_both_shapes():
    net = bs.mlp(64, [10], 3)
    with pytest.raises(ValueError) as err:
        net(np.zeros((5, 32), np.float32))
    message = str(err.value)
    assert "layer 0" in message and "Linear" in message
    assert "64" in message and "(5, 32)" in message


def test_batchnorm_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(N, 4\).*\(2, 3\)"):
        BatchNorm(4)(np.zeros((2, 3)), train=True)


def test_unknown_activation_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown activation 'swish'.*relu.*tanh"):
        bs.mlp(4, [3], 2, activation="swish")


@pytest.mark.parametrize("args", [(0, 3), (3, -1), (2.5, 3)])
def test_linear_refuses_non_positive_sizes(args):
    with pytest.raises(ValueError, match="positive integer"):
        Linear(*args)


def test_sequential_refuses_things_that_are_not_layers():
    with pytest.raises(ValueError, match="position 1"):
        Sequential(Linear(2, 2), np.tanh)


# -- devices -----------------------------------------------------------------------------------


def test_to_cpu_keeps_every_parameter_and_buffer_and_names_the_device():
    net = bs.mlp(4, [5], 3, batchnorm=True, seed=0)
    before = {name: p.value.copy() for name, p in net.named_params().items()}
    assert net.to("cpu") is net and net.device == "cpu"
    assert all(np.array_equal(p.value, before[name]) for name, p in net.named_params().items())
    assert all(isinstance(b, np.ndarray) for layer in net.modules() for b in layer.buffers.values())


def test_to_refuses_an_unknown_device_by_name():
    with pytest.raises(ValueError, match="device must be one of .*'tpu'"):
        bs.mlp(4, [5], 3).to("tpu")


@pytest.mark.skipif(bs.backend._cupy is not None, reason="CuPy is installed here")
def test_to_gpu_without_cupy_says_how_to_install_it():
    with pytest.raises(ValueError, match=r"babysit\[gpu\]"):
        bs.mlp(4, [5], 3).to("gpu")


def test_kinks_are_recorded_only_inside_a_recording_block_and_per_block():
    """Outside a gradient check no mask is even computed; nested blocks keep their own."""
    def must_not_run():
        raise AssertionError("a mask was computed outside recording()")

    kinks.record(must_not_run)
    x = np.array([[-1.0, 2.0]])
    with kinks.recording() as outer:
        bs.layers.ReLU().forward(x)
        with kinks.recording() as inner:
            bs.regularizers.L1(1e-3).penalty([bs.layers.Param(x, regularize=True)])
        bs.layers.LeakyReLU().forward(x)
    assert [m.tolist() for m in outer] == [[[False, True]], [[False, True]]]
    assert [m.tolist() for m in inner] == [[[False, True]]]
