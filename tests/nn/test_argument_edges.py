"""Arguments at the edges of what the layers, losses, penalties, optimizers and schedules take.

Each case was accepted before and went wrong later: a value that float32 rounds to 0 or to
inf (NaN outputs, -inf weights), a flag given as text ("no" read as True), a seed or a dtype
that NumPy refused with a message naming neither, a schedule's negative or NaN rate. Each is
now a ValueError, where the argument enters, naming the argument.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from babysit.backend import resolve_dtype
from babysit.nn import optim
from babysit.nn.layers import BatchNorm, Dropout, GaussianNoise, LeakyReLU, Linear, Param, mlp
from babysit.nn.losses import MeanSquaredError, MulticlassSVM, SoftmaxCrossEntropy
from babysit.nn.regularizers import L1, L2, ElasticNet


# F4: an eps that the dtype rounds to 0 makes a constant feature's 1/sqrt(0) inf
@pytest.mark.parametrize("eps, dtype", [(1e-50, "float32"), (1e-46, "float32"),
                                        (1e-320, "float64")])
def test_batchnorm_refuses_an_eps_its_dtype_rounds_to_zero(eps, dtype):
    with pytest.raises(ValueError, match="BatchNorm: eps .*smallest normal"):
        BatchNorm(3, eps=eps, dtype=dtype)


def test_batchnorm_keeps_a_small_eps_its_dtype_holds():
    bn = BatchNorm(2, eps=1e-30)   # float32's tiny is 1.2e-38
    y = bn(np.array([[1.0, 2.0], [1.0, 3.0]], dtype=np.float32), train=True)
    assert np.isfinite(y).all()


# F5: an eps of 0 in the parameter's dtype gives 0 / 0 = NaN from a gradient of 0
@pytest.mark.parametrize("make", [lambda: optim.Adam(1e-3, eps=1e-50),
                                  lambda: optim.Adagrad(1e-2, eps=1e-300),
                                  lambda: optim.RMSprop(1e-3, eps=1e-50)])
def test_adaptive_optimizers_refuse_an_eps_the_parameter_dtype_loses(make):
    opt = make()
    p = Param(np.ones(3, dtype=np.float32))
    p.grad[...] = 0.0
    with pytest.raises(ValueError, match=rf"{type(opt).__name__}: eps \(for a float32"):
        opt.step([p])
    assert np.isfinite(p.value).all()


def test_adaptive_optimizers_take_a_tiny_eps_on_float64_parameters():
    opt = optim.Adam(1e-3, eps=1e-300)
    p = Param(np.ones(3))
    p.grad[...] = 0.5
    opt.step([p])
    assert np.isfinite(p.value).all()


# F6: the schedules' arguments
@pytest.mark.parametrize("make, says", [
    (lambda: optim.ExponentialDecay(0.1, k=math.inf), "ExponentialDecay: k must be a finite"),
    (lambda: optim.InverseTimeDecay(0.1, k=math.inf), "InverseTimeDecay: k must be a finite"),
    (lambda: optim.StepDecay(math.inf), "StepDecay: lr0 must be a finite"),
    (lambda: optim.ExponentialDecay(math.inf, k=0.1), "ExponentialDecay: lr0 must be a finite"),
    (lambda: optim.StepDecay(True), "StepDecay: lr0 must be a finite number, got True"),
    (lambda: optim.InverseTimeDecay(0.1, k=True), "InverseTimeDecay: k must be a finite"),
    (lambda: optim.StepDecay(0.1, factor=True), "StepDecay: factor must be a finite"),
    (lambda: optim.StepDecay(0.1, factor="0.5"), "StepDecay: factor .*the string '0.5'"),
    (lambda: optim.StepDecay(0.1, factor=None), "StepDecay: factor must be a finite"),
    (lambda: optim.StepDecay(0.1, factor=math.nan), "StepDecay: factor must be a finite"),
])
def test_schedules_refuse_infinite_bool_and_text_settings(make, says):
    with pytest.raises(ValueError, match=says):
        make()


# F7: what a schedule returns
@pytest.mark.parametrize("rate, says", [(-0.1, "-0.1"), (math.nan, "nan"), (math.inf, "inf"),
                                        ("0.1", "the string '0.1'"), (None, "None"),
                                        (True, "True")])
def test_a_schedules_rate_must_be_a_finite_number_at_least_zero(rate, says):
    opt = optim.SGD(lambda t: rate)
    p = Param(np.ones(2))
    p.grad[...] = 1.0
    with pytest.raises(ValueError, match=rf"SGD: the learning-rate schedule .* gave {says}.* "
                                         r"at step t=0"):
        opt.step([p])
    assert (p.value == 1.0).all()


@pytest.mark.parametrize("rate", [0, 0.0, np.float32(0.5), np.exp(np.array(-1.0)), 1])
def test_a_schedule_may_give_zero_numpy_numbers_and_0d_arrays(rate):
    opt = optim.SGD(lambda t: rate)
    p = Param(np.ones(2))
    p.grad[...] = 1.0
    opt.step([p])
    assert np.allclose(p.value, 1.0 - float(rate))


# F8: values beyond float32's range become inf
def test_linear_refuses_a_bias_beyond_its_dtype():
    with pytest.raises(ValueError, match="Linear: bias must have a magnitude of at most"):
        Linear(3, 2, bias=1e39)
    assert Linear(3, 2, bias=1e39, dtype="float64").params["b"].value[0] == 1e39


@pytest.mark.parametrize("make, says", [
    (lambda: GaussianNoise(1e39), "GaussianNoise: std must have a magnitude"),
    (lambda: MulticlassSVM(1e39), "MulticlassSVM: margin must have a magnitude"),
    (lambda: MulticlassSVM(1e-300), "MulticlassSVM: margin must be 0 or of magnitude"),
    (lambda: L2(1e39), "L2: the regularization strength must have a magnitude"),
    (lambda: L1(1e39), "L1: the regularization strength must have a magnitude"),
    (lambda: ElasticNet(1e-4, 1e39), r"ElasticNet \(l2, its L2 part\): the regularization"),
])
def test_strengths_beyond_float32_are_refused_when_built(make, says):
    with pytest.raises(ValueError, match=says):
        make()


# F9: float32 scores whose span overflows `scores - max`
def test_softmax_loss_of_float32_scores_spanning_its_range_is_finite():
    scores = np.array([[3e38, -3e38, 0.0]], dtype=np.float32)
    with np.errstate(over="ignore"):   # `scores - max` still overflows (and says so)
        value, dscores = SoftmaxCrossEntropy()(scores, np.array([1]))
    assert math.isclose(value, 6e38, rel_tol=1e-6)
    assert np.allclose(dscores, [[1.0, -1.0, 0.0]])


# F10: MSE's shape error names the shapes given
def test_mse_names_one_dimensional_scores():
    with pytest.raises(ValueError, match=r"MeanSquaredError: scores must have shape \(N, D\), "
                                         r"got \(4,\)"):
        MeanSquaredError()(np.arange(4.0), np.arange(4.0))


def test_mse_names_the_targets_shape_as_given():
    with pytest.raises(ValueError, match=r"got \(3,\)$"):
        MeanSquaredError()(np.zeros((4, 1)), np.zeros(3))


# F13: seeds
@pytest.mark.parametrize("seed", [-1, 1.5, "3", True, [1]])
@pytest.mark.parametrize("make, name", [(lambda s: Linear(3, 2, seed=s), "Linear"),
                                        (lambda s: Dropout(0.5, seed=s), "Dropout"),
                                        (lambda s: GaussianNoise(0.1, seed=s), "GaussianNoise")])
def test_layers_refuse_bad_seeds_naming_them(make, name, seed):
    with pytest.raises(ValueError, match=f"{name}: seed must be a non-negative integer"):
        make(seed)


def test_layers_take_a_generator_as_seed():
    rng = np.random.default_rng(0)
    assert Linear(3, 2, seed=rng) and Dropout(0.5, seed=rng) and GaussianNoise(0.1, seed=rng)


# F14: dtype
@pytest.mark.parametrize("dtype", [None, "xyz"])
def test_resolve_dtype_refuses_none_and_unknown_names(dtype):
    with pytest.raises(ValueError, match=r"dtype must be one of \('float32', 'float64'\)"):
        resolve_dtype(dtype)


@pytest.mark.parametrize("make", [lambda: Linear(3, 2, dtype=None),
                                  lambda: BatchNorm(3, dtype=None),
                                  lambda: mlp(4, [5], 3, dtype=None)])
def test_layers_refuse_dtype_none(make):
    with pytest.raises(ValueError, match="dtype must be one of"):
        make()


# F15
@pytest.mark.parametrize("alpha, says", [("0.1", "the string '0.1'"), (None, "None"),
                                         (math.nan, "nan"), (1e-50, "smallest normal")])
def test_leaky_relu_refuses_alphas_naming_them(alpha, says):
    with pytest.raises(ValueError, match=f"LeakyReLU: alpha .*{says}"):
        LeakyReLU(alpha)


def test_leaky_relu_keeps_alpha_zero():
    assert LeakyReLU(0.0).alpha == 0.0


@pytest.mark.parametrize("hidden", [None, "100", 3.5])
def test_mlp_refuses_hidden_that_is_no_list_of_widths(hidden):
    with pytest.raises(ValueError, match="mlp: hidden must be a list of hidden layer widths"):
        mlp(4, hidden, 3)


# F16: flags given as text
@pytest.mark.parametrize("make, says", [
    (lambda: optim.Momentum(0.1, nesterov="no"), "Momentum: nesterov must be True or False"),
    (lambda: Linear(3, 2, allow_zeros="no"), "Linear: allow_zeros must be True or False"),
    (lambda: L2(1e-4, include_all="no"), "L2: include_all must be True or False"),
    (lambda: ElasticNet(1e-4, 1e-4, include_all=1), "ElasticNet: include_all must be True"),
    (lambda: mlp(4, [5], 3, batchnorm="no"), "mlp: batchnorm must be True or False"),
])
def test_flags_must_be_true_or_false(make, says):
    with pytest.raises(ValueError, match=says):
        make()


def test_flags_take_numpy_bools():
    assert optim.Momentum(0.1, nesterov=np.bool_(True)).nesterov is True


# F16: losses on lists, and on an empty batch
def test_losses_take_python_lists():
    scores = [[1.0, 2.0], [0.5, 0.1], [0.0, 3.0]]
    expected = SoftmaxCrossEntropy()(np.array(scores), np.array([1, 0, 1]))[0]
    assert SoftmaxCrossEntropy()(np.array(scores), [1, 0, 1])[0] == expected
    assert SoftmaxCrossEntropy()(scores, [1, 0, 1])[0] == expected
    assert MulticlassSVM()(np.array(scores), [1, 0, 1])[0] >= 0
    assert MeanSquaredError()(np.zeros((3, 1)), [1.0, 2.0, 2.0])[0] == 1.5


@pytest.mark.parametrize("loss", [SoftmaxCrossEntropy(), MulticlassSVM(), MeanSquaredError()])
def test_losses_refuse_an_empty_batch(loss):
    y = np.zeros(0, dtype=np.int64)
    with pytest.raises(ValueError, match=f"{type(loss).__name__}: the batch is empty"):
        loss(np.zeros((0, 3)) if loss.classification else np.zeros((0, 1)), y)
