"""An ensemble holds one member's folder at a time: its lock is released when the member ends
(80 members under `ulimit -n 64` ran out of descriptors at member 60), and --ensemble K is
bounded (a K of 23 digits hung building the list of members)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys

import pytest

from babysit import cli
from babysit.cli.ensemble import MAX_MEMBERS

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


@pytest.mark.skipif(os.name != "posix", reason="flock and RLIMIT_NOFILE: POSIX only")
def test_an_ensemble_of_more_members_than_free_descriptors_trains(tmp_path):
    def few_descriptors():
        resource.setrlimit(resource.RLIMIT_NOFILE, (24, 24))

    done = subprocess.run([sys.executable, "-m", "babysit", "train", "--ensemble", "30",
                           "--epochs", "1", "--hidden", "8", "--no-report", "--out",
                           str(tmp_path / "ens")], env=ENV, preexec_fn=few_descriptors,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "ensemble of 30: test accuracy" in done.stdout


@pytest.mark.parametrize("k", [str(MAX_MEMBERS + 1), "99999999999999999999999"])
def test_more_members_than_the_bound_is_one_line_naming_ensemble(tmp_path, capsys, k):
    assert cli.main(["train", "--ensemble", k, "--out", str(tmp_path / "ens")]) == 2
    line, = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"babysit train: error: argument --ensemble: expected at most "
                           f"{MAX_MEMBERS} members (each is a whole run), got {k}")
    assert not (tmp_path / "ens").exists()
