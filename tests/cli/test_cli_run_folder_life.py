"""A run folder's life, as Hypothesis plays it: train, stopped by SIGINT, SIGTERM or SIGKILL
at a point it picks (after some epoch), resumed, reported, predicted from, in any order. After
every step the folder reads back whole (config, training state, history, checkpoints), its
history is never behind its checkpoints, and at the end the run goes on to its last epoch
with nothing lost. Bounded: a few examples of a few steps each (the processes are real)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import babysit as bs
from babysit import cli
from babysit.training import checkpoint_file

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
EPOCHS = 40        # under 50: every epoch's checkpoint is kept (a longer run keeps the last)
WAIT = 120          # seconds an event may take on a loaded machine before the test fails


def _table(path: Path) -> Path:
    rows = [f"{i % 7 * 0.5:.1f},{(i * 13) % 10},{'ab'[i % 2]}{'xy'[i % 3 == 0]}"
            for i in range(300)]
    path.write_text("\n".join(["u,v,kind", *rows]) + "\n")
    return path


def _state_epoch(run: Path) -> int:
    return checkpoint_file.read(run / "state.safetensors")[1]["trainer"]["epoch"]


class RunFolderLife(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.home = Path(tempfile.mkdtemp(prefix="babysit-life-"))
        self.data = _table(self.home / "t.csv")
        self.run = self.home / "run"
        self.predictions, self.trained, self.killed = 0, False, False

    def _process(self) -> subprocess.Popen:
        if self.run.is_dir() and not (self.run / "state.safetensors").is_file():
            shutil.rmtree(self.run)   # killed in its first epoch: nothing to resume, start over
        if (self.run / "state.safetensors").is_file():
            argv = ["train", "--resume", str(self.run)]
        else:
            argv = ["train", "--data", str(self.data), "--target", "kind", "--hidden", "8",
                    "--epochs", str(EPOCHS), "--no-report", "--out", str(self.run)]
        return subprocess.Popen([sys.executable, "-m", "babysit", *argv], env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def _finished(self) -> bool:
        path = self.run / "history.json"
        return path.is_file() and bs.History.load(path).epochs >= EPOCHS

    # The preconditions read the machine's own record, never the folder: where a stop lands
    # varies from run to run, and Hypothesis replays a case expecting the same rules to apply.
    @rule(signum=st.sampled_from([signal.SIGINT, signal.SIGTERM, signal.SIGKILL]),
          after=st.integers(1, 4))
    def train_then_stop(self, signum, after):
        """Train (or resume) and stop it once `after` more epochs have ended: their
        checkpoint is the event, not a time."""
        if self._finished():
            return
        self.trained, self.killed = True, signum == signal.SIGKILL
        start = _state_epoch(self.run) if (self.run / "state.safetensors").is_file() else 0
        target = self.run / "checkpoints" / f"epoch-{min(start + after, EPOCHS):03d}.safetensors"
        # A resume starts from its last state, which may be older than epoch files a stopped
        # run left: wait for this process's own write of the target, not a file from before
        # (a signal sent before the interpreter is up kills it with no word, as -2).
        before = target.stat().st_mtime_ns if target.exists() else None
        proc, deadline = self._process(), time.monotonic() + WAIT
        while (not target.exists() or target.stat().st_mtime_ns == before) \
                and proc.poll() is None:
            assert time.monotonic() < deadline, "no epoch ended"
            time.sleep(0.01)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=WAIT)
        ok = {0, -signal.SIGKILL if signum == signal.SIGKILL else 128 + signum}
        if proc.returncode == -signum and self._finished():
            ok.add(-signum)   # the run had ended and kept everything; the signal hit its exit
        assert proc.returncode in ok, err          # 0: it had finished before the signal
        if proc.returncode == 128 + signum:
            assert f"babysit resume {self.run}" in err, err

    @precondition(lambda self: self.trained)
    @rule()
    def report(self):
        if not (self.run / "history.json").is_file():   # killed before its first epoch's end
            assert cli.main(["report", str(self.run)]) == 2
            return
        assert cli.main(["report", str(self.run)]) == 0
        assert (self.run / "report.html").is_file()

    @precondition(lambda self: self.trained)
    @rule()
    def predict(self):
        self.predictions += 1
        out = self.home / f"p{self.predictions}.csv"
        if not (self.run / "best.safetensors").is_file():
            assert cli.main(["predict", str(self.run), "--data", str(self.data), "--out",
                             str(out)]) == 2
            return
        assert cli.main(["predict", str(self.run), "--data", str(self.data), "--out",
                         str(out)]) == 0
        assert len(out.read_text().splitlines()) == 301

    @invariant()
    def the_folder_reads_back_whole(self):
        if not (self.run / "state.safetensors").is_file():
            return
        assert json.loads((self.run / "config.json").read_text())["epochs"] == EPOCHS
        epoch = _state_epoch(self.run)
        history = bs.History.load(self.run / "history.json")
        assert history.epochs >= epoch                   # never behind the checkpoints
        kept = sorted((self.run / "checkpoints").glob("epoch-*.safetensors"))
        assert [p.name for p in kept][:epoch] == [f"epoch-{e:03d}.safetensors"
                                                  for e in range(1, epoch + 1)]
        for path in [*kept[-1:], self.run / "best.safetensors"]:
            checkpoint_file.read(path)                   # whole: verified by its digest
        # a temporary file is left only by a writer killed outright (the next run removes it),
        # never in the way
        assert self.killed or not [p for p in self.run.rglob("*.tmp")]

    def teardown(self):
        try:
            if (self.run / "state.safetensors").is_file() and not self._finished():
                proc = self._process()
                _, err = proc.communicate(timeout=WAIT)
                assert proc.returncode == 0, err
            if (self.run / "state.safetensors").is_file():
                history = bs.History.load(self.run / "history.json")
                assert history.epochs == EPOCHS == _state_epoch(self.run)   # nothing lost
                assert len(history.train_acc) == EPOCHS
        finally:
            shutil.rmtree(self.home, ignore_errors=True)


TestRunFolderLife = RunFolderLife.TestCase
TestRunFolderLife.settings = settings(max_examples=2, stateful_step_count=4, deadline=None,
                                      suppress_health_check=list(HealthCheck))
