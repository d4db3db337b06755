"""NumPy's own OpenBLAS for the updates of large parameters (`babysit.nn.level1`)."""

import numpy as np
import pytest

from babysit.nn import level1, optim

needs_blas = pytest.mark.skipif(not level1.available(),
                                reason="this NumPy was not built with its own OpenBLAS")


def _arrays(n, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(n).astype(dtype) for _ in range(3)]


@needs_blas
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scal_and_axpy_compute_their_formulas(dtype):
    x, y, _ = _arrays(10_001, dtype)
    scaled = np.asarray(-0.3, dtype) * x
    expected, scale = y + scaled, np.abs(y) + np.abs(scaled)   # within roundings of the terms
    level1.axpy(-0.3, x, y)
    assert np.all(np.abs(y - expected) <= 4 * np.finfo(dtype).eps * scale)
    before = x.copy()
    level1.scal(0.5, x)
    np.testing.assert_array_equal(x, before * np.asarray(0.5, dtype))   # a power of two: exact


@needs_blas
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("one_pass", [True, False])
def test_scale_add_computes_its_formula_by_either_route(dtype, one_pass, monkeypatch):
    """y = b * y + a * x: one axpby pass up to SCAL_ONE_THREAD entries, scal then axpy
    beyond; both the formula within roundings of its terms."""
    monkeypatch.setattr(level1, "SCAL_ONE_THREAD", 10**9 if one_pass else 0)
    x, y, _ = _arrays(10_001, dtype)
    terms = (np.asarray(0.9, dtype) * y, np.asarray(-0.03, dtype) * x)
    expected, scale = terms[0] + terms[1], np.abs(terms[0]) + np.abs(terms[1])
    level1.scale_add(0.9, y, -0.03, x)
    assert np.all(np.abs(y - expected) <= 4 * np.finfo(dtype).eps * scale)


@needs_blas
@pytest.mark.parametrize("nesterov", [False, True])
def test_a_large_parameters_update_on_blas_is_the_formula_to_rounding(nesterov):
    """Past LEVEL1_MIN entries, SGD and momentum run on BLAS: the same formula, each entry
    within a few float32 roundings of the ufuncs' (an axpy rounds its multiply-add once)."""
    n = optim.LEVEL1_MIN + 123
    w0, dw, v0 = _arrays(n)
    lr, mu = 0.03, 0.9
    w, state = w0.copy(), {"v": v0.copy()}
    optim.Momentum(lr, mu=mu, nesterov=nesterov).update(w, dw, state, lr)
    v = mu * v0 - lr * dw
    expected = w0 - mu * v0 + (1 + mu) * v if nesterov else w0 + v
    scale = np.abs(w0) + np.abs(v0) + np.abs(lr * dw)       # the size of what was summed
    assert np.all(np.abs(state["v"] - v) <= 4e-7 * scale)
    assert np.all(np.abs(w - expected) <= 8e-7 * scale)
    assert not np.array_equal(w, w0)
    w = w0.copy()
    optim.SGD(lr).update(w, dw, {}, lr)
    assert np.all(np.abs(w - (w0 - lr * dw)) <= 2.4e-7 * (np.abs(w0) + np.abs(lr * dw)))


@needs_blas
def test_adams_update_on_blas_is_the_formula_to_rounding():
    n = optim.LEVEL1_MIN + 7
    w0, dw, m0 = _arrays(n)
    v0 = np.abs(_arrays(n, seed=1)[0])
    lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-8
    adam = optim.Adam(lr, b1, b2, eps)
    adam.t = 3                                      # the fourth step's corrections
    w, state = w0.copy(), {"m": m0.copy(), "v": v0.copy(), "scratch": np.empty_like(w0)}
    adam.update(w, dw, state, lr)
    m, v = b1 * m0 + (1 - b1) * dw, b2 * v0 + (1 - b2) * dw * dw
    expected = w0 - lr * (m / (1 - b1**3)) / (np.sqrt(v / (1 - b2**3)) + eps)
    np.testing.assert_allclose(state["m"], m, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(state["v"], v, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(w, expected, rtol=1e-5, atol=1e-7)
    assert not np.array_equal(w, w0)


@needs_blas
@pytest.mark.parametrize("rule", ["adagrad", "rmsprop"])
def test_adagrads_and_rmsprops_updates_on_blas_are_the_formula_to_rounding(rule):
    n = optim.LEVEL1_MIN + 7
    w0, dw, _ = _arrays(n)
    cache0 = np.abs(_arrays(n, seed=1)[0])
    lr, decay, eps = 1e-2, 0.9, 1e-8
    if rule == "adagrad":
        opt = optim.Adagrad(lr, eps)
        cache = cache0 + dw * dw
        expected = w0 - lr * dw / (np.sqrt(cache) + eps)
    else:
        opt = optim.RMSprop(lr, decay, eps)
        cache = decay * cache0 + (1 - decay) * dw * dw
        expected = w0 - lr * dw / np.sqrt(cache + eps)
    w, state = w0.copy(), {"cache": cache0.copy(), "scratch": np.empty_like(w0)}
    opt.update(w, dw, state, lr)
    np.testing.assert_allclose(state["cache"], cache, rtol=1e-6)
    np.testing.assert_allclose(w, expected, rtol=1e-5, atol=1e-7)
    assert not np.array_equal(w, w0)


def test_arrays_blas_cannot_take_are_refused():
    x, y, _ = _arrays(64)
    assert not level1.usable(x, y[::2])                           # sizes differ
    assert not level1.usable(x.reshape(8, 8).T, y.reshape(8, 8))  # not C-contiguous
    assert not level1.usable(x, y.astype(np.float64))             # dtypes differ
    assert not level1.usable(x.astype(np.float16), y.astype(np.float16))
    assert not level1.usable(np.arange(64), np.arange(64))        # integers
    frozen = y.copy()
    frozen.flags.writeable = False
    assert not level1.usable(x, frozen)


def test_an_update_blas_cannot_take_runs_on_ufuncs_exactly(monkeypatch):
    """A large Param whose gradient is not C-contiguous (a transposed view) falls back to
    the ufuncs: exactly the formula."""
    monkeypatch.setattr(optim, "LEVEL1_MIN", 16)
    rng = np.random.default_rng(1)
    w0 = rng.standard_normal((64, 32)).astype(np.float32)
    dw = rng.standard_normal((32, 64)).astype(np.float32).T
    w = w0.copy()
    optim.SGD(0.1).update(w, dw, {}, 0.1)
    np.testing.assert_array_equal(w, w0 - np.float32(0.1) * dw)


def test_without_numpys_openblas_the_updates_keep_their_ufuncs(monkeypatch):
    monkeypatch.setattr(level1, "available", lambda: False)
    n = optim.LEVEL1_MIN + 5
    w0, dw, _ = _arrays(n)
    w = w0.copy()
    optim.SGD(0.1).update(w, dw, {}, 0.1)
    np.testing.assert_array_equal(w, w0 - np.float32(0.1) * dw)
