"""Each update rule against its formula written out by hand (the notes' form), one and two steps."""

from __future__ import annotations

import math

import numpy as np
import pytest

from babysit.nn import optim
from babysit.nn.layers import Param

LR = 0.1
W0 = np.array([[0.5, -1.0, 2.0], [0.0, 0.3, -0.7]])
G1 = np.array([[0.1, -0.2, 0.3], [-0.4, 0.5, 0.05]])
G2 = np.array([[-0.3, 0.1, 0.2], [0.6, -0.1, 0.0]])


def _param():
    return Param(W0.copy())


def _step(opt, p, g):
    p.grad[...] = g
    opt.step([p])
    return p.value.copy()


def test_sgd():
    p, opt = _param(), optim.SGD(lr=LR)
    np.testing.assert_allclose(_step(opt, p, G1), W0 - LR * G1, rtol=1e-15)


def test_momentum_two_steps():
    mu = 0.9
    p, opt = _param(), optim.Momentum(lr=LR, mu=mu)
    v = np.zeros_like(W0)
    w = W0.copy()
    for g in (G1, G2):
        v = mu * v - LR * g
        w = w + v
        np.testing.assert_allclose(_step(opt, p, g), w, rtol=1e-14)


def test_nesterov_two_steps():
    mu = 0.9
    p, opt = _param(), optim.Momentum(lr=LR, mu=mu, nesterov=True)
    v = np.zeros_like(W0)
    w = W0.copy()
    for g in (G1, G2):
        v_prev = v
        v = mu * v - LR * g
        w = w - mu * v_prev + (1 + mu) * v
        np.testing.assert_allclose(_step(opt, p, g), w, rtol=1e-14, atol=1e-15)


def test_nesterov_differs_from_plain_momentum_on_the_second_step():
    plain, nest = optim.Momentum(LR, 0.9), optim.Momentum(LR, 0.9, nesterov=True)
    a, b = _param(), _param()
    for g in (G1, G2):
        wa, wb = _step(plain, a, g), _step(nest, b, g)
    assert not np.allclose(wa, wb)


def test_adagrad_two_steps():
    eps = 1e-8
    p, opt = _param(), optim.Adagrad(lr=LR, eps=eps)
    cache = np.zeros_like(W0)
    w = W0.copy()
    for g in (G1, G2):
        cache = cache + g**2
        w = w - LR * g / (np.sqrt(cache) + eps)
        np.testing.assert_allclose(_step(opt, p, g), w, rtol=1e-14)


def test_rmsprop_two_steps():
    decay, eps = 0.99, 1e-8
    p, opt = _param(), optim.RMSprop(lr=LR, decay=decay, eps=eps)
    cache = np.zeros_like(W0)
    w = W0.copy()
    for g in (G1, G2):
        cache = decay * cache + (1 - decay) * g**2
        w = w - LR / np.sqrt(cache + eps) * g  # eps inside the root, as in the notes
        np.testing.assert_allclose(_step(opt, p, g), w, rtol=1e-14)


def test_adam_two_steps_with_bias_correction():
    b1, b2, eps = 0.9, 0.999, 1e-8
    p, opt = _param(), optim.Adam(lr=LR, beta1=b1, beta2=b2, eps=eps)
    m, v = np.zeros_like(W0), np.zeros_like(W0)
    w = W0.copy()
    for t, g in enumerate((G1, G2), start=1):
        m = b1 * m + (1 - b1) * g
        mt = m / (1 - b1**t)
        v = b2 * v + (1 - b2) * g**2
        vt = v / (1 - b2**t)
        w = w - LR * mt / (np.sqrt(vt) + eps)
        np.testing.assert_allclose(_step(opt, p, g), w, rtol=1e-13)


def test_adam_first_step_moves_each_weight_by_about_lr():
    # With bias correction the first step is lr * g / |g| (up to eps): the point of correcting.
    p, opt = _param(), optim.Adam(lr=LR)
    moved = W0 - _step(opt, p, G1)
    np.testing.assert_allclose(moved, LR * np.sign(G1), rtol=1e-6)


def test_state_is_kept_per_parameter_name():
    a, b = _param(), _param()
    opt = optim.Momentum(lr=LR, mu=0.9)
    a.grad[...] = G1
    b.grad[...] = G2
    opt.step({"0.W": a, "1.W": b})
    opt.step({"0.W": a, "1.W": b})
    np.testing.assert_allclose(a.value, W0 - LR * G1 * (1 + 1.9), rtol=1e-14)
    np.testing.assert_allclose(b.value, W0 - LR * G2 * (1 + 1.9), rtol=1e-14)
    assert set(opt.state) == {"0.W", "1.W"}
    np.testing.assert_allclose(opt.state["1.W"]["v"], -LR * G2 * 1.9, rtol=1e-14)


def test_params_without_names_are_named_by_position():
    a, b = _param(), _param()
    opt = optim.Momentum(lr=LR, mu=0.9)
    a.grad[...], b.grad[...] = G1, G2
    opt.step([a, b])
    assert set(opt.state) == {"0", "1"}
    np.testing.assert_allclose(opt.state["1"]["v"], -LR * G2, rtol=1e-14)


def test_a_stale_gradient_reads_as_zero():
    p = _param()
    p.grad[...] = G1
    p.zero_grad()
    optim.SGD(lr=LR).step([p])
    np.testing.assert_array_equal(p.value, W0)


def test_float32_params_stay_float32():
    p = Param(W0.astype(np.float32))
    for opt in (optim.SGD(LR), optim.Momentum(LR), optim.Adagrad(LR), optim.RMSprop(LR),
                optim.Adam(LR)):
        p.grad[...] = G1
        opt.step([p])
        assert p.value.dtype == np.float32, opt


# -- schedules -------------------------------------------------------------------------------

def test_step_decay_drops_by_factor_every_k_steps():
    s = optim.StepDecay(0.1, factor=0.5, every=10)
    assert [s(t) for t in (0, 9, 10, 19, 20, 35)] == pytest.approx(
        [0.1, 0.1, 0.05, 0.05, 0.025, 0.0125])


def test_exponential_decay():
    s = optim.ExponentialDecay(0.1, k=0.01)
    for t in (0, 1, 50, 300):
        assert s(t) == pytest.approx(0.1 * math.exp(-0.01 * t), rel=1e-15)


def test_inverse_time_decay():
    s = optim.InverseTimeDecay(0.1, k=0.5)
    assert [s(t) for t in (0, 1, 2, 10)] == pytest.approx([0.1, 0.1 / 1.5, 0.05, 0.1 / 6])


def test_a_schedule_drives_the_optimizer_learning_rate():
    opt = optim.SGD(lr=optim.StepDecay(1.0, factor=0.5, every=1))
    p = Param(np.zeros(1))
    seen = []
    for _ in range(3):
        seen.append(opt.current_lr())
        p.grad[...] = 1.0
        opt.step([p])
    assert seen == [1.0, 0.5, 0.25]
    assert p.value[0] == pytest.approx(-1.75)


# -- construction ------------------------------------------------------------------------------

def test_get_by_name():
    assert isinstance(optim.get("adam", 1e-3), optim.Adam)
    nesterov = optim.get("nesterov", 1e-2)
    assert isinstance(nesterov, optim.Momentum) and nesterov.nesterov
    assert optim.get("rmsprop", 1e-3).lr == 1e-3


def test_unknown_optimizer_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown optimizer 'adamw'.*sgd.*momentum.*adam"):
        optim.get("adamw", 1e-3)


@pytest.mark.parametrize("make", [
    lambda: optim.SGD(lr=0), lambda: optim.SGD(lr=-1), lambda: optim.Momentum(mu=1.0),
    lambda: optim.RMSprop(decay=1.5), lambda: optim.Adam(beta1=1.0)])
def test_bad_hyperparameters_are_refused(make):
    with pytest.raises(ValueError):
        make()


def test_state_dict_is_keyed_by_parameter_name_and_loads_into_other_params():
    """A checkpoint holds names, not objects: the state moves to a fresh network's Params
    of the same names, and the two optimizers then take identical steps. Adam's scratch
    buffer (a temporary) is not saved."""
    a, b = _param(), _param()
    opt = optim.Adam(lr=LR)
    a.grad[...], b.grad[...] = G1, G2
    opt.step({"0.W": a, "1.W": b})
    saved = opt.state_dict()
    assert saved["type"] == "Adam" and saved["t"] == 1
    assert set(saved["state"]) == {"0.W", "1.W"}
    assert all(set(slots) == {"m", "v"} for slots in saved["state"].values())

    a2, b2 = Param(a.value.copy()), Param(b.value.copy())
    other = optim.Adam(lr=LR)
    other.load_state_dict(saved, {"0.W": a2, "1.W": b2})
    for p, q in ((a, a2), (b, b2)):
        p.grad[...] = q.grad[...] = G1
    opt.step({"0.W": a, "1.W": b})
    other.step({"0.W": a2, "1.W": b2})
    np.testing.assert_array_equal(a.value, a2.value)
    np.testing.assert_array_equal(b.value, b2.value)


def test_a_state_saved_with_adams_scratch_buffer_loads_without_it():
    """Training-state files written before the scratch buffer left the state hold it."""
    p = _param()
    opt = optim.Adam(lr=LR)
    p.grad[...] = G1
    opt.step({"w": p})
    saved = opt.state_dict()
    saved["state"]["w"]["scratch"] = np.full_like(W0, 123.0)   # the old layout
    other = optim.Adam(lr=LR)
    other.load_state_dict(saved, {"w": Param(p.value.copy())})
    assert set(other.state["w"]) == {"m", "v", "scratch"}   # a fresh temporary, unsaved
    assert not other.state["w"]["scratch"].any()
    np.testing.assert_array_equal(other.state["w"]["m"], opt.state["w"]["m"])


@pytest.mark.parametrize("make", [lambda: optim.Adagrad(LR), lambda: optim.RMSprop(LR)])
def test_adagrad_and_rmsprop_save_their_cache_not_their_scratch_buffer(make):
    """Their scratch buffer, like Adam's, is a temporary: the saved state holds the cache
    alone (the layout written before the buffer existed), and it loads into an optimizer
    that then steps exactly as the one that saved it."""
    p = _param()
    opt = make()
    p.grad[...] = G1
    opt.step({"w": p})
    saved = opt.state_dict()
    assert set(saved["state"]["w"]) == {"cache"}
    q = Param(p.value.copy())
    other = make()
    other.load_state_dict(saved, {"w": q})
    p.grad[...] = q.grad[...] = G2
    opt.step({"w": p})
    other.step({"w": q})
    np.testing.assert_array_equal(p.value, q.value)


def test_load_state_dict_refuses_another_rule_unknown_names_or_missing_slots():
    p = _param()
    p.grad[...] = G1
    opt = optim.Momentum(lr=LR)
    opt.step({"w": p})
    saved = opt.state_dict()
    with pytest.raises(ValueError, match="saved by Momentum, this optimizer is Adam"):
        optim.Adam(lr=LR).load_state_dict(saved, {"w": p})
    with pytest.raises(ValueError, match=r"unknown parameters \['nosuch.W'\]"):
        optim.Momentum(lr=LR).load_state_dict(
            {**saved, "state": {"nosuch.W": {"v": np.zeros(3)}}}, {"w": p})
    with pytest.raises(ValueError, match=r"'w' holds \[\]; Momentum keeps \['v'\]"):
        optim.Momentum(lr=LR).load_state_dict({**saved, "state": {"w": {}}}, {"w": p})


@pytest.mark.parametrize("nesterov", [False, True])
def test_an_update_run_block_by_block_is_bit_for_bit_the_whole_arrays_formula(nesterov,
                                                                              monkeypatch):
    """A Param larger than UPDATE_BLOCK (and not a whole number of blocks) is updated in
    blocks where BLAS does not take it; every entry must come out exactly as the formula on
    whole arrays leaves it."""
    monkeypatch.setattr(optim, "LEVEL1_MIN", 2**62)
    rng = np.random.default_rng(0)
    n = 2 * optim.UPDATE_BLOCK + 12345
    w0, dw = (rng.standard_normal(n).astype(np.float32) for _ in range(2))
    v0 = rng.standard_normal(n).astype(np.float32)
    lr, mu = 0.03, 0.9
    w, state = w0.copy(), {"v": v0.copy()}
    optim.Momentum(lr, mu=mu, nesterov=nesterov).update(w, dw, state, lr)
    v = v0.copy()
    expected = w0.copy()
    if nesterov:
        expected -= mu * v
        v *= mu
        v -= lr * dw
        expected += (1 + mu) * v
    else:
        v *= mu
        v -= lr * dw
        expected += v
    assert np.array_equal(w, expected) and np.array_equal(state["v"], v)
    w = w0.copy()
    optim.SGD(lr).update(w, dw, {}, lr)
    assert np.array_equal(w, w0 - lr * dw)
