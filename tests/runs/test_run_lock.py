"""One writer per run folder: a second process that would write a folder another babysit
process is writing is refused with exit status 2 and one line, leaving the first run's files
as they were; the lock goes when its run ends, however it ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import babysit as bs
from babysit import cli
from babysit.runs import run_lock
from babysit.runs.run import Run
from babysit.training.checkpoint import Checkpoints

pytestmark = pytest.mark.skipif(os.name != "posix", reason="flock: POSIX only")

SMALL = ["--hidden", "16", "--seed", "3", "--no-report"]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
HOLDER = ("import sys; from babysit.runs import run_lock\n"
          "with run_lock.locked(sys.argv[1]):\n"
          "    print('held', flush=True); sys.stdin.read()")


class Holder:
    """Another process holding `folder`'s lock (babysit's own `run_lock.locked`) until the
    block ends."""

    def __init__(self, folder: Path):
        self.folder = folder

    def __enter__(self) -> subprocess.Popen:
        self.proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(self.folder)], env=ENV,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "held"
        return self.proc

    def __exit__(self, *exc):
        self.proc.communicate("", timeout=300)


def refusal(capsys, argv) -> str:
    """The one line on stderr of a command refused with status 2."""
    assert cli.main(argv) == 2
    line, = capsys.readouterr().err.strip().splitlines()
    return line


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != run_lock.LOCK_NAME}


def is_free(folder: Path) -> bool:
    """Whether nobody holds `folder`'s lock: a lock of our own, on a new descriptor, is taken
    (a flock held anywhere, in this process too, refuses it)."""
    import fcntl

    fd = os.open(folder / run_lock.LOCK_NAME, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def train(tmp_path, name, *flags) -> int:
    return cli.main(["train", *SMALL, "--out", str(tmp_path / name), *flags])


def test_a_resume_while_another_process_writes_the_run_is_refused_naming_it(tmp_path, capsys):
    assert train(tmp_path, "run", "--epochs", "2") == 0
    run = tmp_path / "run"
    before = files(run)
    with Holder(run) as holder:
        line = refusal(capsys, ["train", "--resume", str(run), "--epochs", "4"])
    assert line == (f"babysit train: error: {run} is being written by another babysit process "
                    f"(PID {holder.pid}): one run folder takes one writer at a time; wait for "
                    f"it to end (or stop it), then try again")
    assert files(run) == before                       # not a byte of the first run changed
    capsys.readouterr()
    assert cli.main(["train", "--resume", str(run), "--epochs", "3"]) == 0   # free again


def test_a_new_run_into_a_folder_being_written_is_refused_before_writing(tmp_path, capsys):
    out = tmp_path / "new"
    out.mkdir()
    with Holder(out):
        line = refusal(capsys, ["train", *SMALL, "--out", str(out), "--epochs", "1"])
        assert "is being written by another babysit process" in line
        assert sorted(p.name for p in out.iterdir()) == [run_lock.LOCK_NAME]  # no config.json


def test_a_member_folder_being_written_refuses_the_ensembles_resume(tmp_path, capsys):
    assert train(tmp_path, "ens", "--epochs", "1", "--ensemble", "2") == 0
    ens = tmp_path / "ens"
    (ens / "ensemble.json").write_text('{"members": 2, "finished": false}\n')
    with Holder(ens / "member-2"):
        line = refusal(capsys, ["train", "--resume", str(ens)])
    assert line.startswith(f"babysit train: error: {ens / 'member-2'} is being written by")
    # Resumed alone, a member takes the ensemble's lock too: a running ensemble holds only
    # the member it trains, and would train the others into the same folders.
    with Holder(ens) as holder:
        line = refusal(capsys, ["resume", str(ens / "member-1"), "--epochs", "2"])
    assert line.startswith(f"babysit resume: error: {ens} is being written by another "
                           f"babysit process (PID {holder.pid})")
    assert cli.main(["resume", str(ens / "member-1"), "--epochs", "2", "--no-report"]) == 0


def test_fix_and_search_lock_their_folders(tmp_path, capsys):
    for command in (["train", "--fix", "--max-rounds", "1"], ["search", "--trials", "1"]):
        out = tmp_path / command[0] / command[1]
        out.mkdir(parents=True)
        with Holder(out):
            line = refusal(capsys, [*command, "--epochs", "1", "--out", str(out)])
        assert f"{out} is being written by another babysit process" in line, command


def test_a_search_holds_its_folder_until_its_config_files_are_written(tmp_path, monkeypatch):
    from babysit.runs.config import RunConfig

    out, held_while_saving = tmp_path / "search", []
    save = RunConfig.save

    def saving(self, path):
        held_while_saving.append(not is_free(Path(path).parent))
        return save(self, path)

    monkeypatch.setattr(RunConfig, "save", saving)
    assert cli.main(["search", "--trials", "2", "--epochs", "1", "--hidden", "8", "--top-k",
                     "1", "--no-report", "--out", str(out)]) == 0
    assert (out / "best_config.json").is_file()
    assert held_while_saving and all(held_while_saving)     # config.json, best_config.json
    assert is_free(out)                                      # and free once the command ended


def test_readers_take_no_lock(tmp_path, capsys):
    rows = [f"{i % 7},{(i * 3) % 5},{'ab'[i % 2]}" for i in range(80)]
    table = tmp_path / "t.csv"
    table.write_text("x,z,kind\n" + "\n".join(rows) + "\n")
    assert train(tmp_path, "run", "--data", str(table), "--target", "kind", "--epochs", "1") == 0
    run = tmp_path / "run"
    with Holder(run):                                  # the run is "still training"
        assert cli.main(["report", str(run)]) == 0
        assert cli.main(["predict", str(run), "--data", str(table)]) == 0
    assert cli.main(["check", "--hidden", "8", "--out", str(tmp_path / "check")]) == 0
    assert not (tmp_path / "check" / run_lock.LOCK_NAME).exists()


def test_the_lock_goes_when_the_run_ends_however_it_ends(tmp_path, capsys, monkeypatch):
    assert train(tmp_path, "done", "--epochs", "1") == 0      # normally
    assert is_free(tmp_path / "done")

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:                          # an error after training
        m.setattr(Run, "finish", disk_full)
        assert train(tmp_path, "failed", "--epochs", "1") == 2
    assert is_free(tmp_path / "failed")

    saved = Checkpoints.on_epoch_end

    def ctrl_c_after_epoch_1(self, trainer, epoch):
        saved(self, trainer, epoch)
        raise KeyboardInterrupt

    with monkeypatch.context() as m:                          # Ctrl-C
        m.setattr(Checkpoints, "on_epoch_end", ctrl_c_after_epoch_1)
        assert train(tmp_path, "stopped", "--epochs", "2") == 130
    assert is_free(tmp_path / "stopped")
    assert cli.main(["train", "--resume", str(tmp_path / "stopped")]) == 0
    assert bs.History.load(tmp_path / "stopped" / "history.json").epochs == 2


def test_two_real_processes_the_second_refused_then_the_first_interrupted_and_resumed(
        tmp_path, capsys):
    run = tmp_path / "run"
    first = subprocess.Popen([sys.executable, "-m", "babysit", "train", *SMALL, "--epochs",
                              "400", "--out", str(run)], env=ENV, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    state = run / "state.safetensors"
    while not state.exists() and first.poll() is None:   # the first epoch has ended
        time.sleep(0.05)
    line = refusal(capsys, ["train", "--resume", str(run), "--epochs", "500"])
    assert f"{run} is being written by another babysit process (PID {first.pid})" in line
    assert '"epochs": 400' in (run / "config.json").read_text()  # not rewritten to 500
    first.send_signal(signal.SIGINT)
    _, err = first.communicate(timeout=600)
    assert first.returncode == 130, err
    assert is_free(run)
    done = bs.History.load(run / "history.json").epochs
    assert cli.main(["train", "--resume", str(run), "--epochs", str(done + 1)]) == 0
    assert bs.History.load(run / "history.json").epochs == done + 1


def test_a_killed_writer_leaves_no_stale_lock(tmp_path):
    holder = Holder(tmp_path)
    proc = holder.__enter__()
    assert not is_free(tmp_path)
    proc.kill()                                     # SIGKILL: no handler, no cleanup runs
    proc.wait(timeout=300)
    assert is_free(tmp_path)


def test_without_fcntl_nothing_is_locked(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "fcntl", None)            # as on Windows
    with run_lock.locked(tmp_path):
        assert not (tmp_path / run_lock.LOCK_NAME).exists()
