"""A search study shared by workers on many machines: its storage URL (driver, masked
password, one-line connection errors), the race of two workers over one dead trial, and the
whole thing on a real PostgreSQL server.

That server is a throwaway one, started for these tests in a temporary folder (Debian's
`postgresql` package: initdb, pg_ctl), listening on the loopback interface only at a free
port, stopped and deleted afterwards. Its tests skip, saying why, where PostgreSQL or a driver
(psycopg 3 or psycopg2, the `postgres` extra) is missing; `.ci/run` installs PostgreSQL.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

PASSWORD = "s3cret-Pw"        # a password no output may show
USER = "babysit"


@dataclass
class Server:
    """A running throwaway PostgreSQL server, how to reach it and how to restart it."""

    port: int
    database: str
    restart: Callable[[], None] = lambda: None

    def url(self, password: str | None = PASSWORD, port: int | None = None,
            database: str | None = None) -> str:
        """The server's URL; password=None leaves it out (libpq then reads PGPASSWORD)."""
        auth = USER if password is None else f"{USER}:{password}"
        return f"postgresql://{auth}@127.0.0.1:{port or self.port}/{database or self.database}"


def _bin_dir() -> Path | None:
    """The newest PostgreSQL server's bin folder (Debian keeps them out of PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_unprivileged() -> tuple[list[str], pwd.struct_passwd | None]:
    """PostgreSQL refuses to run as root: a command prefix that runs it as the `postgres` system
    user (or `nobody`) when the tests run as root, and that user; nothing otherwise."""
    if os.geteuid() != 0:
        return [], None
    for name in ("postgres", "nobody"):
        try:
            user = pwd.getpwnam(name)
        except KeyError:
            continue
        return ["runuser", "-u", name, "--"], user
    pytest.skip("running as root and no unprivileged user (postgres, nobody) to run PostgreSQL")


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL server for this module: user `babysit` with a password, database `study`."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (no initdb): the distributed-search tests need "
                    "it; `apt-get install postgresql` (.ci/run does this)")
    if not any(importlib.util.find_spec(m) for m in ("psycopg", "psycopg2")):
        pytest.skip("no PostgreSQL driver: pip install 'babysit[postgres]'")
    prefix, user = _as_unprivileged()
    home = Path(tempfile.mkdtemp(prefix="babysit-pg-"))
    if user is not None:
        os.chown(home, user.pw_uid, user.pw_gid)
    (home / "pw").write_text(PASSWORD)
    if user is not None:
        os.chown(home / "pw", user.pw_uid, user.pw_gid)
    data, port = home / "data", _free_port()

    def pg(tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([*prefix, str(bin_dir / tool), *args], capture_output=True,
                              text=True, timeout=120, check=check,
                              env={**os.environ, "PGPASSWORD": PASSWORD})

    pg("initdb", "-D", str(data), "-U", USER, "--auth=scram-sha-256", f"--pwfile={home / 'pw'}",
       "-E", "UTF8", "--no-sync")
    # fsync off: a crash of the server (`restart`) keeps what the system's cache holds. Not
    # synchronous_commit off: with it, a crash drops commits the server had acknowledged (a
    # trial a search had created and was training: RecordLostError, the test of its own)
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {home} -c fsync=off"
    started = pg("pg_ctl", "-D", str(data), "-l", str(home / "log"), "-w", "-t", "60",
                 "-o", options, "start", check=False)
    if started.returncode != 0:
        log = (home / "log").read_text() if (home / "log").exists() else ""
        shutil.rmtree(home, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start: {started.stderr}\n{log}")
    def restart() -> None:
        """Down at once (as a crash), then up again: every open connection is lost."""
        pg("pg_ctl", "-D", str(data), "-m", "immediate", "stop")
        pg("pg_ctl", "-D", str(data), "-l", str(home / "log"), "-w", "-t", "60", "-o", options,
           "start")

    try:
        pg("createdb", "-h", "127.0.0.1", "-p", str(port), "-U", USER, "study")
        yield Server(port, "study", restart)
    finally:
        pg("pg_ctl", "-D", str(data), "-m", "immediate", "stop", check=False)
        shutil.rmtree(home, ignore_errors=True)


def study_trials(server: Server, study: str, stage: int = 1):
    import optuna

    from babysit import search

    storage = search.open_storage(server.url())
    return optuna.load_study(study_name=f"{study}.stage{stage}", storage=storage).get_trials()


# -- babysit search processes ---------------------------------------------------------------

KILLED_IN_ITS_FIRST_TRIAL = """
import os, signal, sys
from babysit import cli
from babysit import search


def killed_in_its_first_trial(*args, **kwargs):
    # SIGKILL, as a machine going down would: no handler runs, nothing more is written.
    open(os.environ["BABYSIT_TEST_KILLED"], "w").close()   # the steady search may go on
    os.kill(os.getpid(), signal.SIGKILL)


search.workers.evaluate = killed_in_its_first_trial  # where a worker calls it
sys.exit(cli.main(sys.argv[1:]))
"""

# The steady search holds its first trial until the other has been killed in one of its own:
# trials of a few milliseconds would otherwise all be done before a loaded machine has even
# started the second process, which then finds the study finished and is never killed.
WAITS_FOR_THE_KILL = """
import os, sys, time
from babysit import cli
from babysit import search

evaluate = search.workers.evaluate


def after_the_kill(*args, **kwargs):
    deadline = time.monotonic() + 300
    while not os.path.exists(os.environ["BABYSIT_TEST_KILLED"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return evaluate(*args, **kwargs)


search.workers.evaluate = after_the_kill
sys.exit(cli.main(sys.argv[1:]))
"""


def search_command(server: Server, out: Path, trials: int, study: str) -> list[str]:
    return ["search", "--data", "digits", "--stages", f"{trials}:4",
            "--hidden", "16", "--batch-size", "64", "--param", "lr=loguniform(1e-3,1e-1)",
            "--param", "reg=loguniform(1e-6,1e-2)", "--storage", server.url(), "--study", study,
            "--top-k", "0", "--out", str(out)]


def start(args: list[str], script: str | None = None, env: dict | None = None
          ) -> subprocess.Popen:
    code = script if script is not None else "import sys; from babysit import cli; " \
                                               "sys.exit(cli.main(sys.argv[1:]))"
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=None if env is None else {**os.environ, **env})


def finish(proc: subprocess.Popen) -> tuple[int, str]:
    out, err = proc.communicate(timeout=600)
    return proc.returncode, out + err


def test_two_searches_share_a_study_and_one_killed_mid_trial_resumes(postgres, tmp_path):
    """Two `babysit search` processes on one study at once; one is killed with SIGKILL in the
    middle of a trial and run again while the other still works. The study ends with exactly
    the asked number of complete trials, none left running, none repeated; no traceback, and
    each process exits as it should."""
    import optuna

    trials, study = 8, "shared"
    mark = {"BABYSIT_TEST_KILLED": str(tmp_path / "killed")}
    steady = start(search_command(postgres, tmp_path / "a", trials, study), WAITS_FOR_THE_KILL,
                   mark)
    killed = start(search_command(postgres, tmp_path / "b", trials, study),
                   KILLED_IN_ITS_FIRST_TRIAL, mark)
    code_killed, text_killed = finish(killed)           # reaped at once: its pid is gone
    assert code_killed == -signal.SIGKILL, text_killed
    again = start(search_command(postgres, tmp_path / "b", trials, study))
    outcomes = {"steady": finish(steady), "again": finish(again)}

    for name, (code, text) in outcomes.items():
        assert code == 0, f"{name}: {text}"
        assert "Traceback" not in text, f"{name}: {text}"
        assert PASSWORD not in text, f"{name} printed the password"
    every = study_trials(postgres, study)
    states = [t.state for t in every]
    complete = [t for t in every if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == trials
    assert optuna.trial.TrialState.RUNNING not in states
    assert len({tuple(sorted(t.params.items())) for t in complete}) == trials
    assert set(states) <= {optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL}
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "search.json" for p in written)
    for path in written:                 # search.json, trials, configs, checkpoints, ...
        assert PASSWORD.encode() not in path.read_bytes(), path


def test_a_shared_search_under_a_kill_and_a_database_restart_ends_whole(postgres, tmp_path,
                                                                      monkeypatch):
    """The chaos run of benchmarks/chaos_search.py, short: 3 processes on one study, one
    SIGKILLed (and started again) once an eighth of the trials are done, the server restarted
    (every connection lost) at a quarter: early, so that on a loaded machine, where the driver
    looks less often, the events still fall while most trials remain. The study ends with the
    trials asked, none left running, no trial number twice, the best retrained by one process
    only, and every process that was not killed exits 0, or 2 with one line. The password
    travels in PGPASSWORD."""
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "chaos_search.py"
    spec = importlib.util.spec_from_file_location("chaos_search", path)
    chaos = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(chaos)
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    trials = 24
    summary = chaos.run_chaos(postgres.url(password=None), postgres.restart, tmp_path,
                              processes=3, kill_every=None, restart_after=None,
                              kill_at=(trials // 8,), restart_at=trials // 4,
                              trials=trials, epochs=6, study="chaos", timeout=900)
    assert summary["killed"] == 1 and summary["restarted"], summary
    assert summary["finished"] == trials and summary["running"] == 0, summary
    assert summary["repeated_numbers"] == [] and summary["retrains"] <= 1, summary
    for process in summary["survivors"]:   # 0, or one line
        assert process["status"] == 0 or (process["status"] == 2 and process["last_line"]
                                          .startswith("babysit search: error: ")), summary
    assert summary["ok"]


def one_line_error(capsys, argv) -> str:
    """Run the CLI; assert status 2 and a single line on stderr; return that line."""
    from babysit import cli

    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.mark.parametrize("wrong", ["password", "port", "database"])
def test_a_storage_that_cannot_be_reached_is_one_line_and_status_2(postgres, tmp_path, capsys,
                                                                   wrong):
    url = {"password": postgres.url(password="not-the-password"),
           "port": postgres.url(port=_free_port()),
           "database": postgres.url(database="no_such_db")}[wrong]
    line = one_line_error(capsys, ["search", "--trials", "2", "--epochs", "1", "--storage", url,
                                   "--out", str(tmp_path)])
    assert line.startswith("babysit search: error: cannot open the storage postgresql://babysit:"
                           "***@127.0.0.1:")
    assert {"password": "password authentication failed", "port": "refused",
            "database": '"no_such_db" does not exist'}[wrong] in line
    assert "not-the-password" not in line


# -- without a server ------------------------------------------------------------------------


@pytest.mark.parametrize("url, shown", [
    ("postgresql://ann:pw@db.example:5432/s", "postgresql://ann:***@db.example:5432/s"),
    ("postgresql+psycopg2://ann:p@ss:w@host/s", "postgresql+psycopg2://ann:***@host/s"),
    ("postgresql://ann@host/s", "postgresql://ann@host/s"),
    ("postgresql://host/s?user=ann&password=pw", "postgresql://host/s?user=ann&password=***"),
    ("redis://:pw@localhost:6379", "redis://:***@localhost:6379"),
    ("runs/s/study.journal", "runs/s/study.journal"),
])
def test_a_storage_url_is_shown_without_its_password(url, shown):
    from babysit.search.database import masked

    assert masked(url) == shown


@pytest.mark.parametrize("installed, expected", [
    ({"psycopg", "psycopg2"}, "postgresql+psycopg://u:pw@h/db"),
    ({"psycopg2"}, "postgresql+psycopg2://u:pw@h/db"),
])
def test_a_plain_postgresql_url_uses_the_driver_that_is_installed(monkeypatch, installed,
                                                                   expected):
    """SQLAlchemy 2.1 takes plain postgresql:// to mean psycopg 3, older ones psycopg2; the
    search page's psycopg2-binary and the `postgres` extra's psycopg 3 both work."""
    from babysit.search import database

    monkeypatch.setattr(database.importlib.util, "find_spec",
                        lambda name: object() if name in installed else None)
    assert database.with_driver("postgresql://u:pw@h/db") == expected
    assert database.with_driver("postgres://u:pw@h/db") == expected
    assert database.with_driver("postgresql+psycopg2://u:pw@h/db") == \
        "postgresql+psycopg2://u:pw@h/db"                       # named: kept
    assert database.with_driver("sqlite:///s.db") == "sqlite:///s.db"


def test_without_a_postgresql_driver_the_error_says_what_to_install(monkeypatch):
    from babysit.search import database

    monkeypatch.setattr(database.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ValueError, match=r"postgresql://u:\*\*\*@h/db needs a PostgreSQL "
                                         r"driver: pip install 'babysit\[postgres\]'"):
        database.with_driver("postgresql://u:pw@h/db")


def test_two_workers_failing_the_same_dead_trial_both_carry_on(tmp_path, monkeypatch):
    """Two workers that find the same dead trial both mark it failed; the storage refuses the
    second write (UpdateFinishedTrialError), which must not end that worker."""
    import optuna
    from optuna.exceptions import UpdateFinishedTrialError

    from babysit import search

    storage = search.open_storage(tmp_path / "s.journal")
    study = optuna.create_study(storage=storage)
    dead = study.ask()
    dead.set_user_attr("worker", "another-machine:123")
    dead.set_user_attr("heartbeat", 0.0)

    def already_failed_by_the_other_worker(*args, **kwargs):
        raise UpdateFinishedTrialError("Trial#0 has already finished and can not be updated.")

    monkeypatch.setattr(storage, "set_trial_state_values", already_failed_by_the_other_worker)
    search.workers.fail_stale(study, heartbeat=10)   # returns: the trial is failed either way


def test_a_search_whose_worker_crashed_never_exits_0(tmp_path, capsys, monkeypatch):
    """Two workers, one of which crashed after the other had finished every trial: the study
    is complete, but the command still says so and exits 2."""
    from babysit import cli
    from babysit.search import runner

    def one_worker_crashes(job, workers, poll=None):
        runner.work(job, 0)
        return [0, 1]

    monkeypatch.setattr(runner, "run_workers", one_worker_crashes)
    line = one_line_error(capsys, ["search", "--trials", "2", "--epochs", "1", "--hidden", "8",
                                   "--workers", "2", "--top-k", "0", "--out", str(tmp_path)])
    assert "worker(s) [1] stopped (exit codes [0, 1]" in line
    assert cli.main(["search", "--trials", "2", "--epochs", "1", "--hidden", "8",
                     "--top-k", "0", "--out", str(tmp_path)]) == 0     # run again: resumed


def test_the_manual_says_each_stage_is_its_own_study_and_how_to_read_it(tmp_path):
    """What the manual's search page tells a user to type reads the trials a search wrote."""
    import optuna

    from babysit import search

    page = (Path(__file__).parents[2] / "docs" / "search.md").read_text()
    assert "`<study>.stage1`, `<study>.stage2`" in page
    assert 'optuna.load_study(study_name="digits-1.stage1"' in page
    search.run({"lr": search.loguniform(1e-3, 1e-2)}, "digits", stages=[
        search.Stage(2, epochs=1), search.Stage(2, epochs=1)], base={"hidden": [8]},
        study="digits-1", out=tmp_path, top_k=0, say=lambda text: None)
    storage = search.open_storage(tmp_path / "study.journal")
    for stage in (1, 2):
        trials = optuna.load_study(study_name=f"digits-1.stage{stage}", storage=storage).trials
        assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"]
        assert all("lr" in t.params and "result" in t.user_attrs for t in trials)


def test_a_worker_process_that_fails_says_so_in_one_line(capsys, monkeypatch, job_file):
    from babysit.search import workers

    def broken(*args, **kwargs):
        raise RuntimeError("lost the database")

    monkeypatch.setattr(workers, "work", broken)
    with pytest.raises(SystemExit) as stopped:
        workers.work_with_cores(job_file, 3, None, 1)
    assert stopped.value.code == 1
    assert capsys.readouterr().err.splitlines() == [
        "babysit search: worker 3 stopped: RuntimeError: lost the database"]


def test_a_worker_that_lost_the_database_leaves_the_line_to_its_search(capsys, monkeypatch,
                                                                         job_file):
    """Every worker of `--workers N` loses a restarted database alike: N lines said one thing."""
    from babysit.search import database, workers

    def lost(*args, **kwargs):
        raise database.DatabaseLostError("lost the connection")

    monkeypatch.setattr(workers, "work", lost)
    with pytest.raises(SystemExit) as stopped:
        workers.work_with_cores(job_file, 3, None, 1)
    assert stopped.value.code == workers.EXIT_DATABASE_LOST == 2
    assert capsys.readouterr().err == ""


def test_a_short_password_is_masked_where_it_stands_not_in_the_drivers_words():
    # a password "p" masked every p: "***ort 1 failed ... acce***ting"
    from babysit.search.database import _reason

    url = "postgresql://u:p@127.0.0.1:1/db"
    said = _reason(OSError(f"connection to {url} at port 1 failed; is it accepting? p"), url)
    assert said == ("connection to postgresql://u:***@127.0.0.1:1/db at port 1 failed; is it "
                    "accepting? ***")


def test_a_password_with_a_slash_is_masked_whole():
    """"postgresql://ann:a/b@host/s" was shown as is: the mask stopped at the '/'."""
    from babysit.search.database import masked

    assert masked("postgresql://ann:a/b@host/s") == "postgresql://ann:***@host/s"


@pytest.mark.parametrize("password", ["Zq@Xv", "Jk/Wm#Rt", "Hy100%", "Qw?Er"])
def test_a_password_not_percent_encoded_is_refused_without_repeating_it(password, tmp_path,
                                                                        capsys):
    """'@' sent SQLAlchemy to another host, and the error showed a piece of the password
    ("invalid literal for int()")."""
    line = one_line_error(capsys, ["search", "--trials", "2", "--epochs", "1", "--storage",
                                   f"postgresql://ann:{password}@127.0.0.1:1/s",
                                   "--out", str(tmp_path)])
    assert "percent-encode the password" in line and "PGPASSWORD" in line
    for piece in filter(None, re.split(r"[@/#%?]", password)):
        assert piece not in line, line


def test_a_password_on_the_command_line_is_warned_about(tmp_path, capsys):
    from babysit import cli

    cli.main(["search", "--trials", "2", "--epochs", "1", "--storage",
              "postgresql://ann:pw@127.0.0.1:1/s", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "warning: the password in --storage postgresql://ann:***@127.0.0.1:1/s shows in " \
           "the process list (ps)" in out and "PGPASSWORD" in out


@pytest.mark.parametrize("url", ["postgresql://ann@127.0.0.1:1/s?password=s3cretpw"])
def test_a_password_in_the_query_is_warned_about_too(url, tmp_path, capsys):
    from babysit import cli

    cli.main(["search", "--trials", "2", "--epochs", "1", "--storage", url,
              "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert "warning: the password in --storage postgresql://ann@127.0.0.1:1/s?password=*** " \
           "shows in the process list (ps)" in captured.out
    assert "s3cretpw" not in captured.out + captured.err


@pytest.mark.parametrize("command", ["train", "search"])
def test_an_unrecognized_argument_beside_a_storage_url_is_refused_without_its_password(
        command, capsys):
    """argparse's refusal repeated the words it did not know, a URL's password among them."""
    from babysit import cli

    status = cli.main([command, "--data", "digits", "--storag",
                       "postgresql://ann:s3cretpw@127.0.0.1:1/db"])
    err = capsys.readouterr().err
    assert status == 2 and "unrecognized arguments: --storag " \
        "postgresql://ann:***@127.0.0.1:1/db" in err and "s3cretpw" not in err


def test_a_lost_connection_is_tried_again_then_one_line_saying_the_command_resumes(
        monkeypatch, capsys):
    """A server restart ended searches with Optuna's StorageInternalError "invalid data in
    the commit"; now each storage call tries again (saying so once), then stops in one line."""
    import optuna
    import sqlalchemy.exc

    from babysit.search import database

    calls = []

    def lost(*args):
        calls.append(args)
        try:
            raise sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("server closed"))
        except sqlalchemy.exc.OperationalError as err:
            raise optuna.exceptions.StorageInternalError("invalid data in the commit") from err

    class Storage:
        get_all_studies = staticmethod(lost)

    slept = []
    monkeypatch.setattr(database.time, "sleep", slept.append)
    storage = database._retrying(Storage(), "postgresql://ann:pw@db/s", seconds=5)
    with pytest.raises(database.DatabaseLostError) as caught:
        storage.get_all_studies()
    assert str(caught.value) == (
        "lost the connection to the study's database postgresql://ann:***@db/s (server "
        "closed), and it did not come back within 5 s; the finished trials are kept there: "
        "the same command resumes the search")
    assert slept == [0.5, 1.0, 2.0] and len(calls) == 4     # waits doubling, at most 5 s
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["babysit search: lost the connection to the study's database "
                   "postgresql://ann:***@db/s; trying again for up to 5 s"]

    def other(*args):
        raise optuna.exceptions.StorageInternalError("a real bug")

    Storage.get_all_studies = staticmethod(other)
    with pytest.raises(optuna.exceptions.StorageInternalError):   # not retried
        database._retrying(Storage(), "postgresql://db/s").get_all_studies()


def test_a_trial_the_database_lost_in_a_restart_is_one_line_not_a_key_error(tmp_path,
                                                                           monkeypatch):
    """A server that acknowledges commits before they are on disk (PostgreSQL's
    synchronous_commit off) loses the latest at a crash: the chaos run's searches then ended
    with Optuna's bare KeyError 'Record does not exist.' (or a traceback from the heartbeat's
    thread). Here the trial's row is deleted behind the storage's back, as the crash does."""
    import sqlite3
    import threading

    import optuna

    from babysit.search import database, workers

    path = tmp_path / "study.db"
    storage = database.open_database(f"sqlite:///{path}")
    study = optuna.create_study(storage=storage, study_name="s")
    trial = study.ask()
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM trials WHERE trial_id = ?", (trial._trial_id,))
    with pytest.raises(database.RecordLostError) as caught:
        trial.set_user_attr("worker", "here")
    assert str(caught.value).startswith(f"the study's database sqlite:///{path} no longer holds "
                                        f"a record this process wrote or read")
    assert str(caught.value).endswith("the same command resumes the search")
    raised = []                                         # what the thread did not catch
    monkeypatch.setattr(threading, "excepthook", raised.append)
    beat = workers._Heartbeat(trial, interval=0.001)   # its thread ends, no traceback
    with beat:
        beat.thread.join(timeout=60)
        assert not beat.thread.is_alive()
    assert raised == []
    with pytest.raises(KeyError):                       # a study asked for by name: a question
        storage.get_study_id_from_name("no such study")


def test_the_best_is_retrained_by_the_first_process_to_claim_it(tmp_path, monkeypatch):
    """Every process of a shared search retrained the best (11 times for 5 configurations)."""
    from babysit.search import retrain, studies

    storage = studies.open_storage(str(tmp_path / "study.journal"))
    job = type("Job", (), {"study": "s"})()
    first = retrain.claim_retrain(job, storage, tmp_path / "a")
    assert first.ours
    second = retrain.claim_retrain(job, storage, tmp_path / "b")
    assert not second.ours
    assert second.who == f"{socket.gethostname()}:{os.getpid()} retrains it into " \
                         f"{(tmp_path / 'a').resolve()}"
    retrain.mark_retrained(storage, first)
    assert "retrained it into" in retrain.claim_retrain(job, storage, tmp_path / "b").who
    # the same search run again in its own folder retrains, as it always did
    assert retrain.claim_retrain(job, storage, tmp_path / "a").ours
    # a claim whose process died before it was done is passed over
    other = type("Job", (), {"study": "t"})()
    assert retrain.claim_retrain(other, storage, tmp_path / "a").ours
    assert not retrain.claim_retrain(other, storage, tmp_path / "c").ours
    monkeypatch.setattr(retrain, "alive", lambda pid: False)
    assert retrain.claim_retrain(other, storage, tmp_path / "c").ours
