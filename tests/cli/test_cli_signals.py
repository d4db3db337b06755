"""SIGTERM (`kill PID`, `docker stop`, a scheduler's pre-emption) and SIGHUP (a closed terminal)
stop a run as Ctrl-C does: its history kept, what was kept and the command that resumes it
said in one line, exit status 128 + the signal. Each test sends the signal to a real process
once an event shows it is at work (a line it printed, a file it wrote), never after a sleep."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import babysit as bs

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
SMALL = ["--hidden", "16", "--seed", "3", "--no-report"]
LONG = ["--epochs", "400"]   # never reached: the signal ends the run
WAIT = 120                   # seconds an event may take on a loaded machine before a test fails


def babysit(*argv: str, stdout=subprocess.DEVNULL) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "babysit", *argv], env=ENV, stdout=stdout,
                            stderr=subprocess.PIPE, text=True)


def wait_for_file(proc: subprocess.Popen, path: Path) -> None:
    """Return once `path` exists; fail if `proc` ended first or WAIT seconds passed."""
    deadline = time.monotonic() + WAIT
    while not path.exists():
        assert proc.poll() is None, f"ended before writing {path}: {proc.stderr.read()}"
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def wait_for_text(proc: subprocess.Popen, path: Path, text: str, count: int = 1) -> None:
    """Return once the file `path` holds `text` `count` times; fail if `proc` ended first or
    WAIT seconds passed."""
    deadline = time.monotonic() + WAIT
    while not path.exists() or path.read_text(errors="replace").count(text) < count:
        assert proc.poll() is None, f"ended before {path} held {text!r}: {proc.stderr.read()}"
        assert time.monotonic() < deadline, f"{path} never held {text!r}"
        time.sleep(0.02)


def wait_for_line(proc: subprocess.Popen, text: str) -> str:
    """Read `proc`'s stdout until a line holding `text`; that line."""
    for line in proc.stdout:
        if text in line:
            return line
    raise AssertionError(f"{text!r} never printed: {proc.stderr.read()}")


def wait_for_cpu(proc: subprocess.Popen, seconds: float) -> None:
    """Return once `proc` has used `seconds` more of CPU time (Linux's /proc): after a line it
    printed, proof that it went on to the work that follows, however loaded the machine."""
    def used() -> float:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    start, deadline = used(), time.monotonic() + WAIT
    while used() - start < seconds:
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
        time.sleep(0.02)


def stopped(proc: subprocess.Popen, signum: int) -> str:
    """Send `signum`, wait for the end; its stderr, after checking the status is 128 + signum."""
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == 128 + signum, err
    return err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP],
                         ids=["SIGTERM", "SIGHUP"])
def test_a_signalled_run_keeps_its_history_and_says_how_to_resume(tmp_path, signum):
    run = tmp_path / "run"
    proc = babysit("train", *SMALL, *LONG, "--out", str(run))
    wait_for_file(proc, run / "state.safetensors")        # the first epoch has ended
    err = stopped(proc, signum)
    line, = err.strip().splitlines()
    assert line.startswith(f"babysit train: error: stopped by {signal.Signals(signum).name} in "
                           f"epoch ")
    assert line.endswith(f"to continue it: babysit resume {run}")
    history = bs.History.load(run / "history.json")
    assert 1 <= history.epochs < 400
    # `babysit report RUN` reads the folder (it refused it when SIGTERM left no history.json)
    report = subprocess.run([sys.executable, "-m", "babysit", "report", str(run), "--json"],
                            env=ENV, capture_output=True, text=True, timeout=WAIT)
    assert report.returncode == 0, report.stderr
    assert (run / "report.html").is_file()


def test_a_resumed_run_stopped_by_sigterm_keeps_its_history_current(tmp_path):
    run = tmp_path / "run"
    first = babysit("train", *SMALL, *LONG, "--out", str(run))
    wait_for_file(first, run / "state.safetensors")
    stopped(first, signal.SIGTERM)
    before = bs.History.load(run / "history.json").epochs
    resumed = babysit("train", "--resume", str(run))
    # epochs after the resume began have ended: the training state says so
    deadline = time.monotonic() + WAIT
    while bs.checkpoint.checkpoint_file.read(
            run / "state.safetensors")[1]["trainer"]["epoch"] < before + 2:
        assert resumed.poll() is None and time.monotonic() < deadline, resumed.stderr.read()
        time.sleep(0.1)
    err = stopped(resumed, signal.SIGTERM)
    assert f"babysit resume {run}" in err
    after = bs.History.load(run / "history.json")
    assert after.epochs >= before + 2            # not the epoch the resume began at
    assert after.epochs >= bs.checkpoint.checkpoint_file.read(      # never behind its state
        run / "state.safetensors")[1]["trainer"]["epoch"]


def test_an_ensemble_stopped_by_sigterm_says_how_to_continue_the_ensemble(tmp_path):
    run = tmp_path / "ens"
    proc = babysit("train", *SMALL, *LONG, "--ensemble", "2", "--out", str(run))
    wait_for_file(proc, run / "member-1" / "state.safetensors")
    err = stopped(proc, signal.SIGTERM)
    assert "stopped by SIGTERM" in err and f"babysit resume {run}" in err
    assert bs.History.load(run / "member-1" / "history.json").epochs >= 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="CPU time from /proc")
def test_the_demo_stopped_by_sigterm_keeps_its_history(tmp_path):
    run = tmp_path / "demo"
    proc = babysit("demo", "--hidden", "16", *LONG, "--out", str(run), stdout=subprocess.PIPE)
    wait_for_line(proc, "training for 400 epochs")
    wait_for_cpu(proc, 0.5)                               # training, with no checkpoint to see
    err = stopped(proc, signal.SIGTERM)
    assert "babysit demo: error: stopped by SIGTERM" in err
    assert (run / "history.json").is_file()


def test_lr_find_stopped_by_sighup_is_one_line(tmp_path):
    proc = babysit("lr-find", "--hidden", "16", "--iterations", "100000", "--out",
                   str(tmp_path / "lr"), stdout=subprocess.PIPE)
    wait_for_line(proc, "babysit lr-find:")
    err = stopped(proc, signal.SIGHUP)
    assert err.strip() == (f"babysit lr-find: error: stopped by SIGHUP before the range test "
                           f"ended; it keeps nothing to resume: run babysit lr-find again "
                           f"(--out {tmp_path / 'lr'} may be given again)")


def test_a_search_stopped_by_sigterm_says_the_same_command_resumes(tmp_path):
    out = tmp_path / "search"
    proc = babysit("search", "--hidden", "16", "--trials", "200", "--epochs", "200",
                   "--no-report", "--out", str(out))
    # a trial has begun (a stop during the journal's writes around it waits for the write)
    wait_for_text(proc, out / "study.journal", '"worker"')
    err = stopped(proc, signal.SIGTERM)
    line, = err.strip().splitlines()
    assert line.startswith("babysit search: error: stopped by SIGTERM after ")
    assert line.endswith("the same command resumes the search")


def _children(pid: int) -> set[int]:
    """The processes whose parent is `pid` (Linux's /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue                                  # ended while listed
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return True
    return state == "Z"                               # ended, not yet reaped by init


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")
def test_the_workers_of_a_killed_search_end_with_it(tmp_path):
    out = tmp_path / "search"
    proc = babysit("search", "--hidden", "16", "--trials", "200", "--epochs", "5000",
                   "--workers", "2", "--no-report", "--out", str(out))
    journal = out / "study.journal"
    # both workers at work: each has written its "worker" mark into a trial of its own. A
    # trial of 5,000 epochs outlasts the test, so both are in the middle of one when the
    # search is killed (at 50 epochs a worker could be between two trials, with none to fail)
    wait_for_text(proc, journal, '"worker"', count=2)
    workers = _children(proc.pid)
    assert len(workers) >= 2
    proc.kill()                                        # SIGKILL: the parent runs nothing
    proc.wait(timeout=WAIT)
    deadline = time.monotonic() + WAIT
    while not all(_gone(p) for p in workers):
        assert time.monotonic() < deadline, f"workers {workers} outlived their search"
        time.sleep(0.05)
    # each told its running trial failed as it ended: none is left RUNNING
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    storage = JournalStorage(JournalFileBackend(str(journal)))
    study = optuna.load_study(study_name="babysit.stage1", storage=storage)
    states = [t.state.name for t in study.get_trials(deepcopy=False)]
    assert "RUNNING" not in states and states.count("FAIL") >= 2
