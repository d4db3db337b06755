"""Test-wide settings and the digits fixtures every layer's tests share.

The tests run tiny matrices, where a second BLAS thread only spins against the other
test processes (the search tests start workers): one thread each is faster. Set before
NumPy is first imported, so that OpenBLAS reads it.
"""

import os

import pytest

for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")


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
