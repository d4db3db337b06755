"""Test-wide settings.

The tests run tiny matrices, where a second BLAS thread only spins against the other
test processes (the search tests start workers): one thread each is faster. Set before
NumPy is first imported, so that OpenBLAS reads it.
"""

import os

import pytest

for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")


@pytest.fixture(scope="session")
def digits():
    """The embedded digits split 60/20/20 with seed 0, loaded once for every test module that
    does not define its own `digits` (tests copy an array before changing it)."""
    import babysit as bs  # here, after the thread settings above

    return bs.data.load("digits")
