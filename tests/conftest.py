"""Test-wide settings and the digits fixtures every layer's tests share.

The tests run tiny matrices, where a second BLAS thread only spins against the other
test processes (the search tests start workers): one thread each is faster. Set before
NumPy is first imported, so that OpenBLAS reads it.
"""

import os
import signal

import pytest

for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

# A shell without job control starts a background command (`make test &`, a CI step run
# with `&`) with SIGINT ignored, and an ignored signal stays ignored across exec: the runs
# the tests start and then stop with a real SIGINT would never see it and run to the end.
# The tests play a user at a terminal, where Ctrl-C reaches the run, so Ctrl-C is handled
# here as Python's default does, and the children inherit a default disposition.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def benchmark():
    """A loader of benchmarks/<name>.py as a module, for the tests that run a benchmark's fast
    subset (registered in sys.modules, which its dataclasses need)."""
    import importlib.util
    import sys
    from pathlib import Path

    def load(name: str, as_name: str):
        path = Path(__file__).resolve().parent.parent / "benchmarks" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(as_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[as_name] = module
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture(scope="session")
def digits_split():
    """The embedded digits as a `Dataset` split 60/20/20 with seed 0 (`.train`, `.val`,
    `.test`), pixels in [0, 1]; loaded once for the whole session (tests copy an array before
    changing it)."""
    import babysit as bs  # here, after the thread settings above

    return bs.data.load("digits")


@pytest.fixture(scope="session")
def centred_digits(digits_split):
    """(X, y, Xv, yv): the split's training and validation rows less the training mean, the
    inputs the notes' monitors and diagnosis expect."""
    mean = digits_split.train.X.mean(axis=0)
    return (digits_split.train.X - mean, digits_split.train.y,
            digits_split.val.X - mean, digits_split.val.y)
