"""`monitors.histogram` on arbitrary arrays: whatever values a layer holds (NaN, infinities,
subnormals, both ends of its float type, a single value), the summary is made and is
consistent, so no monitor stops a run that diverges. Derandomized examples under `make test`."""

import math

import numpy as np
import pytest

pytest.importorskip("hypothesis", reason="fuzzing needs hypothesis (the test extra)")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from babysit.training import monitors  # noqa: E402

QUICK = settings(max_examples=200, deadline=None, database=None, derandomize=True,
                 suppress_health_check=list(HealthCheck))

layer_values = st.sampled_from([np.float16, np.float32, np.float64]).flatmap(
    lambda dtype: hnp.arrays(dtype, hnp.array_shapes(min_dims=1, max_dims=2, max_side=40),
                             elements=hnp.from_dtype(np.dtype(dtype), allow_subnormal=True)))


@QUICK
@given(values=layer_values, bins=st.integers(1, 40))
def test_any_layers_values_are_summarized(values, bins):
    finite = values[np.isfinite(values)]
    h = monitors.histogram(values, bins=bins)
    assert h["nonfinite"] == pytest.approx(1 - finite.size / values.size)
    if finite.size == 0:
        assert h["counts"] == [] and h["mean"] is None
        return
    assert len(h["counts"]) == bins and min(h["counts"]) >= 0
    assert sum(h["counts"]) == min(finite.size, monitors.HISTOGRAM_VALUES)
    assert h["lo"] <= float(finite.min()) <= float(finite.max()) <= h["hi"]
    assert math.isfinite(h["mean"]) and 0 <= h["std"] <= (h["hi"] - h["lo"]) / 2
    assert h["lo"] <= h["mean"] <= h["hi"]


@pytest.mark.parametrize("values", [[0.0, 5e-324], [-5e-324, 0.0], [5e-324, 1e-323]])
def test_values_a_subnormal_apart_are_summarized(values):
    """float64 values one or two of the smallest subnormals apart: half their range rounds to
    zero, which would divide the values by zero (NaN mean and spread, bins taken from NaN)."""
    with np.errstate(divide="raise", invalid="raise"):  # underflow is expected
        h = monitors.histogram(np.array(values), bins=30)
    assert math.isfinite(h["mean"]) and math.isfinite(h["std"])
    assert h["lo"] <= min(values) <= max(values) <= h["hi"] and sum(h["counts"]) == 2
