"""A stop (SIGTERM, SIGHUP, Ctrl-C) that reaches a search inside a call to its journal file (while
it waits for another process's lock, writes, or reads) is still a stop: exit 128 + the signal
and the line saying the same command resumes, never "error: RuntimeError: did not possess lock"
(status 2), and never another process's lock taken.

The window is hit by events, not timing: Optuna's wait for the lock is replaced by the other
process's next move (the signal arrives, the other process lets go), with a real signal and a
real lock file."""

from __future__ import annotations

import os
import signal
import types
from pathlib import Path

import pytest

from babysit.runs.finish import Stopped, stop_received, stop_signals_interrupt
from babysit.search import runner
from babysit.search.studies import open_storage

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")


@pytest.mark.parametrize("let_go_first", [False, True],
                         ids=["the other still holds the lock", "the other just let go"])
def test_a_stop_while_waiting_for_the_journal_lock_ends_the_write_then_stops(
        tmp_path, monkeypatch, let_go_first):
    import optuna
    from optuna.storages.journal import _file
    from optuna.study import StudyDirection

    journal = tmp_path / "study.journal"
    storage = open_storage(journal)
    study = storage.create_new_study([StudyDirection.MAXIMIZE], "s")
    lock = Path(f"{journal}{_file.LOCK_FILE_SUFFIX}")
    lock.symlink_to(journal.name)            # another process is writing: it holds the lock
    moves = []

    def other_process_moves(seconds):        # each time Optuna waits for the lock
        if not moves:                        # first: the signal comes
            moves.append("signal")
            if let_go_first:
                lock.unlink()
            os.kill(os.getpid(), signal.SIGTERM)
        else:                                # then the other process ends its write
            moves.append("its lock still there" if lock.is_symlink() else "its lock taken")
            lock.unlink()

    monkeypatch.setattr(_file, "time", types.SimpleNamespace(sleep=other_process_moves,
                                                             monotonic=_file.time.monotonic))
    with stop_signals_interrupt(), pytest.raises(Stopped) as stop:
        storage.set_study_user_attr(study, "written", 1)
    assert stop.value.signum == signal.SIGTERM
    assert moves == (["signal"] if let_go_first else ["signal", "its lock still there"])
    assert not lock.is_symlink()             # let go after the write
    again = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(
        str(journal)))
    assert again.get_study_user_attrs(study) == {"written": 1}   # the write, whole
    assert storage.get_study_user_attrs(study) == {"written": 1}  # the stopped one's copy too


def test_an_error_raised_while_a_stop_unwinds_is_the_stop_with_the_resume_line(
        tmp_path, monkeypatch):
    def work(job, worker, finished=None):    # a library's cleanup fails after the signal
        try:
            os.kill(os.getpid(), signal.SIGHUP)
        finally:
            raise RuntimeError("Error: did not possess lock")

    monkeypatch.setattr(runner, "work", work)
    with stop_signals_interrupt(), pytest.raises(Stopped) as stop:
        runner.run(trials=2, out=tmp_path / "s", say=lambda text: None)
    assert stop.value.signum == signal.SIGHUP
    assert str(stop.value).endswith("the same command resumes the search")
    assert stop_received() is None           # the block's end forgets its stop


def test_without_a_stop_the_error_is_the_error(tmp_path, monkeypatch):
    def work(job, worker, finished=None):
        raise RuntimeError("a bug")

    monkeypatch.setattr(runner, "work", work)
    with stop_signals_interrupt(), pytest.raises(RuntimeError, match="a bug"):
        runner.run(trials=2, out=tmp_path / "s", say=lambda text: None)


def test_a_stop_while_a_trial_is_asked_for_leaves_it_failed_not_running(tmp_path, monkeypatch):
    import optuna
    from optuna.storages import JournalStorage

    created = JournalStorage.create_new_trial

    def created_then_stopped(self, *args, **kwargs):   # the signal comes inside `study.ask()`
        number = created(self, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)
        return number

    monkeypatch.setattr(JournalStorage, "create_new_trial", created_then_stopped)
    with stop_signals_interrupt(), pytest.raises(Stopped):
        runner.run(trials=2, out=tmp_path / "s", say=lambda text: None)
    monkeypatch.undo()
    study = optuna.load_study(study_name="babysit.stage1",
                              storage=open_storage(tmp_path / "s" / "study.journal"))
    # the worker that asked for it tells it failed as it stops: no other worker waits on it
    assert [t.state.name for t in study.get_trials(deepcopy=False)] == ["FAIL"]


def test_counting_the_finished_trials_writes_nothing_to_the_journal(tmp_path):
    """The parent of `--workers N` counts them every second for its progress bar: each count
    appended a line to the journal (Optuna's create_study), under the lock, so that a search
    killed there left its workers a stale lock to wait out (30 s)."""
    from babysit.search import Stage, studies

    runner.run(stages=[Stage(2, epochs=1)], out=tmp_path / "s", say=lambda text: None,
               report=False, top_k=0)
    journal = tmp_path / "s" / "study.journal"
    before = journal.read_bytes()
    job = types.SimpleNamespace(study="babysit", stages=[None])
    assert runner._finished_trials(job, studies.open_storage(journal)) == 2
    assert journal.read_bytes() == before


def _blocked_signals() -> set[int]:
    return set(signal.pthread_sigmask(signal.SIG_BLOCK, []))


def test_workers_start_with_stops_held_and_a_stop_while_they_start_comes_after():
    """A SIGTERM or Ctrl-C while the workers were starting cut the job a worker read from its
    parent: multiprocessing's bootstrap printed a traceback. Processes started inside the
    block inherit the stop signals blocked (each worker unblocks them once its handlers are
    in place), and the parent's own stop waits until every worker has started."""
    import subprocess
    import sys

    from babysit.search.workers import children_hold_stops
    from babysit.training.checkpoint import stops_deferred

    reached = False
    with stop_signals_interrupt(), pytest.raises(Stopped), stops_deferred(), \
            children_hold_stops():
        assert {signal.SIGINT, signal.SIGTERM} <= _blocked_signals()
        child = subprocess.run([sys.executable, "-c", "import signal; print(sorted(int(s) "
                                "for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])))"],
                               capture_output=True, text=True, check=True)
        os.kill(os.getpid(), signal.SIGTERM)
        reached = True
    assert reached and signal.SIGTERM not in _blocked_signals()
    assert {int(signal.SIGINT), int(signal.SIGTERM)} <= set(eval(child.stdout))
