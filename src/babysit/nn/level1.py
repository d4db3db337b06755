"""`scal`, `axpy` and `axpby` (x *= a; y += a * x; y = a * x + b * y) from the OpenBLAS that
NumPy itself is linked with.

NumPy has no axpy: its ufuncs run an update such as momentum's as four single-threaded
passes (v *= mu; s = lr * dw; v -= s; w += v). OpenBLAS runs scal and axpy on the
threads it already keeps for NumPy's matrix products, as PyTorch's update runs on its own:
on a 3072 x 1024 weight matrix, 2 threads, momentum's step takes 1.6 ms this way against
3.6 ms in ufuncs (benchmarks/README.md). It must be NumPy's own library and no other: a
second OpenBLAS (SciPy's) keeps a second pool of threads that spin while NumPy's work,
and made whole fits 2-4x slower.

OpenBLAS runs `scal` on one thread up to SCAL_ONE_THREAD entries (and `axpby` always on
one), `axpy` on all of them: `scale_add` picks, for `y = b * y + a * x`, the one pass of
`axpby` where a `scal` would not be threaded anyway, and `scal` then `axpy` beyond.

The library is found once, at first use, in NumPy's wheel (`numpy.libs/` on Linux and
Windows, `numpy/.dylibs/` on macOS, where auditwheel and delocate put it); a NumPy built
against another BLAS (a distribution's, conda's MKL) has none there, and `available`
then says False, so callers keep their ufunc path. Only C-contiguous NumPy arrays of
float32 or float64 qualify (`usable`). An axpy fuses its multiply and add (one rounding
where ufuncs round twice), so the last bit of an entry may differ from the ufunc path.
"""

from __future__ import annotations

import ctypes
import functools
import glob
import os

import numpy as np

__all__ = ["available", "usable", "scal", "axpy", "axpby", "scale_add", "SCAL_ONE_THREAD"]

# (prefix, index type) of the CBLAS symbols: scipy-openblas's 64-bit-index build (NumPy 2
# wheels), its 32-bit one, then a plain OpenBLAS
_SYMBOLS = (("scipy_cblas_{}64_", ctypes.c_int64), ("scipy_cblas_{}", ctypes.c_int),
            ("cblas_{}", ctypes.c_int))
_TYPES = {np.dtype(np.float32): ("s", ctypes.c_float), np.dtype(np.float64): ("d", ctypes.c_double)}
_NAMES = ("scal", "axpy", "axpby")
# OpenBLAS's scal runs on one thread up to this many entries, on all of them beyond (measured
# on NumPy 2.4's wheel, OpenBLAS 0.3.31, 2 threads, right after a matrix product: 2^20
# entries 97 us on 1 or 2 threads, 2^20 + 64 entries 102 us on one and 55 us on two).
SCAL_ONE_THREAD = 2**20


def _library_paths() -> list[str]:
    """OpenBLAS libraries shipped inside NumPy's wheel (none for a NumPy built otherwise)."""
    root = os.path.dirname(np.__file__)
    folders = (os.path.join(os.path.dirname(root), "numpy.libs"), os.path.join(root, ".dylibs"))
    return sorted(path for folder in folders
                  for path in glob.glob(os.path.join(folder, "*openblas*")))


@functools.cache
def _routines() -> dict:
    """{(dtype, "scal" | "axpy"): ctypes function} from NumPy's OpenBLAS, or {} if not found.
    Loading a library the process already holds hands back that same library, threads and
    all."""
    for path in _library_paths():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, index in _SYMBOLS:
            try:
                found = {(dtype, name): getattr(lib, prefix.format(letter + name))
                         for dtype, (letter, _) in _TYPES.items() for name in _NAMES}
            except AttributeError:
                continue
            for (dtype, name), fn in found.items():
                scalar = _TYPES[dtype][1]
                fn.restype = None
                fn.argtypes = {
                    "scal": [index, scalar, ctypes.c_void_p, index],
                    "axpy": [index, scalar, ctypes.c_void_p, index, ctypes.c_void_p, index],
                    "axpby": [index, scalar, ctypes.c_void_p, index, scalar, ctypes.c_void_p,
                              index]}[name]
            return found
    return {}


def available() -> bool:
    """Whether NumPy's own OpenBLAS was found."""
    return bool(_routines())


def usable(*arrays) -> bool:
    """Whether scal / axpy / axpby can run on these arrays: NumPy's OpenBLAS found, and all of them
    C-contiguous, writeable NumPy arrays of one float dtype (float32 or float64) and size."""
    first = arrays[0]
    return (available() and all(type(a) is np.ndarray and a.flags.c_contiguous
                                and a.flags.writeable and a.dtype == first.dtype
                                and a.size == first.size for a in arrays)
            and first.dtype in _TYPES)


def scal(a: float, x: np.ndarray) -> None:
    """x *= a, in place (x as `usable` says)."""
    _routines()[x.dtype, "scal"](x.size, a, x.ctypes.data, 1)


def axpy(a: float, x: np.ndarray, y: np.ndarray) -> None:
    """y += a * x, in place (x and y as `usable` says; they must not overlap)."""
    _routines()[x.dtype, "axpy"](x.size, a, x.ctypes.data, 1, y.ctypes.data, 1)


def axpby(a: float, x: np.ndarray, b: float, y: np.ndarray) -> None:
    """y = a * x + b * y, in place, in one pass on one thread (x and y as for `axpy`)."""
    _routines()[x.dtype, "axpby"](x.size, a, x.ctypes.data, 1, b, y.ctypes.data, 1)


def scale_add(b: float, y: np.ndarray, a: float, x: np.ndarray) -> None:
    """y = b * y + a * x, in place (x and y as for `axpy`): one `axpby` pass up to
    SCAL_ONE_THREAD entries, where a `scal` would run on one thread too; beyond, `scal`
    and `axpy`, two passes on all of OpenBLAS's threads. (A momentum update of
    784-512-512-10 in a fit: 0.335 -> 0.283 ms; benchmarks/README.md)."""
    if y.size <= SCAL_ONE_THREAD:
        axpby(a, x, b, y)
    else:
        scal(b, y)
        axpy(a, x, y)
