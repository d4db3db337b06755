"""Test-wide settings.

The tests run tiny matrices, where a second BLAS thread only spins against the other
test processes (the search tests start workers): one thread each is faster. Set before
NumPy is first imported, so that OpenBLAS reads it.
"""

import os

for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")
