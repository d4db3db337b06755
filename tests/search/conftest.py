"""Fixtures of the search's tests."""

import pickle

import pytest


@pytest.fixture
def job_file(tmp_path) -> str:
    """A job file as `workers.run_workers` writes one, holding None: for a worker whose `work`
    a test replaces (what it is given is never read)."""
    path = tmp_path / "job.pickle"
    path.write_bytes(pickle.dumps(None))
    return str(path)
