"""The array module and the dtype policy.

Every array operation in babysit goes through the module that owns the data
(`xp = get_array_module(x)`), so a CuPy array flows through the same layer code
as a NumPy one. float32 is the default dtype for training; float64 is used on
request (`net.astype("float64")`), as gradient checks need.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DEFAULT_DTYPE", "FLOAT_DTYPES", "get_array_module", "to_numpy", "DEVICES",
           "resolve_device", "to_device", "device_of", "resolve_dtype", "make_rng",
           "random_uniform"]

DEFAULT_DTYPE = np.float32
FLOAT_DTYPES = ("float32", "float64")

try:  # CuPy is an optional extra; without it everything runs on NumPy.
    import cupy as _cupy
except ImportError:  # pragma: no cover - depends on the machine
    _cupy = None


def get_array_module(x):
    """Return the array module (numpy or cupy) that owns `x`."""
    if _cupy is not None and isinstance(x, _cupy.ndarray):
        return _cupy
    return np


def to_numpy(x) -> np.ndarray:
    """Bring an array back to host memory as a NumPy array (no copy when it already is)."""
    if _cupy is not None and isinstance(x, _cupy.ndarray):
        return _cupy.asnumpy(x)
    return np.asarray(x)


DEVICES = ("cpu", "gpu")


def resolve_device(device: str) -> str:
    """Check that `device` is one of DEVICES, and that CuPy is there when it is "gpu"."""
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    if device == "gpu" and _cupy is None:
        raise ValueError("device='gpu' needs CuPy, which is not installed: "
                         "pip install 'babysit[gpu]' (or the cupy wheel for your CUDA)")
    return device


def to_device(x, device: str):
    """`x` as an array on `device`: "cpu" (NumPy) or "gpu" (CuPy, the current CUDA device)."""
    if resolve_device(device) == "cpu":
        return to_numpy(x)
    return _cupy.asarray(x)


def device_of(x) -> str:
    """"gpu" for a CuPy array, else "cpu"."""
    return "cpu" if get_array_module(x) is np else "gpu"


def resolve_dtype(dtype) -> np.dtype:
    """Turn "float32" / "float64" / a NumPy dtype into a float dtype, refusing anything else:
    None too (NumPy reads it as float64, so a dtype left unset would silently double every
    array), and a name NumPy does not know (its bare TypeError would not name dtype)."""
    if dtype is None:
        raise ValueError(f"dtype must be one of {FLOAT_DTYPES}, got None")
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"dtype must be one of {FLOAT_DTYPES}, got {dtype!r}") from None
    if resolved.name not in FLOAT_DTYPES:
        raise ValueError(f"dtype must be one of {FLOAT_DTYPES}, got {resolved.name!r}")
    return resolved


def make_rng(seed) -> np.random.Generator:
    """One seeded generator per model or trainer, so that runs are reproducible."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def random_uniform(rng: np.random.Generator, shape, like):
    """Uniform [0, 1) draws of `shape` in the dtype and on the device of `like`.

    The draw comes from the NumPy generator (so a seed fixes it whatever the device)
    and is moved to the device of `like` when that is a GPU array.
    """
    dtype = like.dtype if like.dtype in (np.float32, np.float64) else DEFAULT_DTYPE
    draw = rng.random(shape, dtype=dtype)
    xp = get_array_module(like)
    return draw if xp is np else xp.asarray(draw)
