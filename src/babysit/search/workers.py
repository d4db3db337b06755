"""Workers: processes that take trials from a stage's study until it holds its count.

A trial whose worker died (a dead process on this machine, or no heartbeat for
`STALE_BEATS` intervals) is marked failed and its slot run again, so a killed worker loses
no finished trial.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import signal
import socket
import sys
import tempfile
import threading
import time
from multiprocessing.connection import wait as wait_for_processes
from pathlib import Path

import numpy as np

from babysit.runs.finish import (
    STOP_SIGNALS,
    Stopped,
    interrupt_status,
    stop_received,
    stop_signals_interrupt,
    top_finding,
)
from babysit.search.database import DatabaseLostError, RecordLostError
from babysit.search.studies import (
    FINISHED,
    Job,
    load_study,
    open_storage,
    per_trial_random_sampler,
    stage_space,
    trial_seed,
    trial_states,
)
from babysit.search.trial import evaluate
from babysit.training.checkpoint import stops_deferred
from babysit.training.trainer import DivergedError

__all__ = ["EXIT_DATABASE_LOST", "alive", "children_hold_stops", "end_with_parent", "fail_stale",
           "run_stage", "run_trial", "run_workers", "work", "work_with_cores"]

# A running trial with no heartbeat for this many intervals is taken for dead.
STALE_BEATS = 3
# Seconds the workers of one machine wait for each other before taking their first trial.
START_TIMEOUT = 60
# TPE samples at random for its first trials (at most this many, a third of a stage).
TPE_STARTUP = 10
# Seconds between the looks at the study while spawned workers run (the progress bar).
POLL_SECONDS = 1.0
# Seconds between a worker's looks at whether the search that started it is still there.
PARENT_LOOK_SECONDS = 0.5
EXIT_DATABASE_LOST = 2  # a worker's exit status when the study's database went away for good


class _Heartbeat:
    """Writes the time into a running trial every `interval` seconds, so that other workers can
    tell a trial whose worker died (no beat for 3 intervals) from one still training."""

    def __init__(self, trial, interval: float):
        self.trial, self.interval = trial, interval
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        from optuna.exceptions import UpdateFinishedTrialError

        while not self.stop.wait(self.interval):
            try:
                self.trial.set_user_attr("heartbeat", time.time())
            except UpdateFinishedTrialError:
                return  # taken for dead by another worker; `_run_trial` drops its result
            except (DatabaseLostError, RecordLostError):
                return  # the worker's own next call to the database says it

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def fail_stale(study, heartbeat: float) -> None:
    """Mark FAIL the running trials whose worker is gone: a dead process on this machine, or
    no heartbeat for 3 intervals. Their values were never recorded, so nothing is lost."""
    from optuna.exceptions import UpdateFinishedTrialError

    host, now = socket.gethostname(), time.time()
    for t in study.get_trials(deepcopy=False, states=trial_states("RUNNING")):
        where, _, pid = str(t.user_attrs.get("worker", "")).rpartition(":")
        beat = t.user_attrs.get("heartbeat", t.datetime_start.timestamp())
        if (where == host and pid.isdigit() and not alive(int(pid))) \
                or now - beat > STALE_BEATS * heartbeat:
            # Another worker may fail the same trial between this one's read and its write
            # (workers on other machines see the same dead trial): it is failed either way.
            with contextlib.suppress(UpdateFinishedTrialError):
                study.tell(t.number, state=trial_states("FAIL")[0], skip_if_finished=True)


def alive(pid: int) -> bool:
    """Whether a process `pid` runs on this machine (one of another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def work(job: Job, worker: int, ready=None, finished=None) -> None:
    """One worker: run each stage's trials until the stage holds its count of finished trials.

    `ready`, a barrier shared by the processes of one machine, makes them take their first
    trial together, so that one whose start-up is slow still gets its share. `finished()`,
    when given, is called after each trial this worker ran (a progress bar's tick).
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # babysit reports trials itself
    storage = open_storage(job.storage)
    if ready is not None:
        with contextlib.suppress(threading.BrokenBarrierError):  # a sibling failed to start
            ready.wait(timeout=START_TIMEOUT)
    for stage in range(len(job.stages)):
        space = stage_space(job, stage, storage)
        study = load_study(job, stage, storage)
        if job.sampler == "tpe":
            study.sampler = optuna.samplers.TPESampler(
                seed=trial_seed(job.seed, stage, worker, len(study.get_trials(deepcopy=False))),
                constant_liar=True,
                n_startup_trials=min(TPE_STARTUP, max(1, job.stages[stage].trials // 3)))
        else:
            study.sampler = per_trial_random_sampler(job.seed, stage)
        with np.errstate(over="ignore", under="ignore"):  # a diverging trial is expected
            run_stage(job, stage, study, space, finished)


def run_stage(job: Job, stage: int, study, space: dict, finished=None) -> None:
    target = job.stages[stage].trials
    over, live = trial_states(*FINISHED), trial_states(*FINISHED, "RUNNING", "WAITING")
    while True:
        fail_stale(study, job.heartbeat)
        trials = study.get_trials(deepcopy=False)
        done = sum(t.state in over for t in trials)
        if done >= target:
            return
        if sum(t.state in live for t in trials) >= target:
            time.sleep(min(1.0, job.heartbeat))  # the last trials run elsewhere: wait for them
            continue
        trial = None
        try:
            with stops_deferred():  # a stop while the trial is asked for waits till it is held
                trial = study.ask()
            trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
            ahead = study.get_trials(deepcopy=False, states=live)
            if sum(t.number < trial.number for t in ahead) >= target:
                # another worker asked for the last trial at the same moment: give this one back
                trial.set_user_attr("surplus", True)
                study.tell(trial, state=trial_states("FAIL")[0])
                continue
            run_trial(job, stage, study, trial, space)
        except BaseException:
            # interrupted (a stop, an error): the trial told failed, nothing recorded, nothing
            # lost, no trial left RUNNING for other workers to wait on. When that tell fails
            # too (the storage is what failed), the trial stays RUNNING until `fail_stale`
            # sees its worker gone, and the interruption is what is raised.
            if trial is not None:
                with contextlib.suppress(Exception):
                    study.tell(trial, state=trial_states("FAIL")[0], skip_if_finished=True)
            raise
        if finished is not None:
            finished()


def run_trial(job: Job, stage: int, study, trial, space: dict) -> None:
    """Train `trial`'s configuration and tell the study its score (a diverged run is told
    PRUNED, with its finding); `run_stage` tells it failed when this is interrupted."""
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    start = time.perf_counter()
    try:
        with _Heartbeat(trial, job.heartbeat):
            params = {name: dim.suggest(trial, name) for name, dim in space.items()}
            result = evaluate(job.config(stage, params), job.data, job.folds)
    except DivergedError as err:
        result = {"diverged": str(err).split(":")[0], "finding": top_finding(err.history)}
    value = result.pop(job.objective.metric, None)
    # skipped when another worker took this trial for dead (its heartbeats did not arrive):
    # it was marked failed and its slot given to a new trial
    with contextlib.suppress(UpdateFinishedTrialError):
        # one write for the details: each write to a journal file is a locked, fsynced append
        trial.set_user_attr("result", {**result,
                                       "seconds": round(time.perf_counter() - start, 3)})
        study.tell(trial, value, state=TrialState.PRUNED if value is None else None,
                   skip_if_finished=True)


def work_with_cores(job_file: str, worker: int, ready, cores: int) -> None:
    """A spawned worker: `_work` on the Job its parent wrote to `job_file` (`run_workers`),
    with its BLAS threads limited to its share of the cores, since N processes each running a
    thread per core slow each other down many times over.

    An error ends the worker with exit code 1 and one line on stderr, instead of the
    traceback multiprocessing would print (a search with one worker, under --debug, shows it);
    Ctrl-C ends it quietly with 130 (SIGTERM with 143), the parent saying what was kept, its
    running trial told failed. The worker ends when its parent does (`end_with_parent`), so a
    killed search leaves no workers taking trials behind it.
    """
    from threadpoolctl import threadpool_limits

    try:
        with stop_signals_interrupt():
            # held since the parent started this process (`children_hold_stops`): a stop
            # that came while it started is acted on now, by the handlers just put in place
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _HELD)
            end_with_parent()
            job = pickle.loads(Path(job_file).read_bytes())   # its parent's own, see above
            with threadpool_limits(cores):
                work(job, worker, ready)
    except KeyboardInterrupt as err:  # Ctrl-C reaches every process: the parent says it, once
        sys.exit(interrupt_status(err))
    except DatabaseLostError:  # every worker loses it alike: the parent says it, once
        sys.exit(EXIT_DATABASE_LOST)
    except Exception as err:
        if stop_received() is not None:  # an error raised while the stop unwound: the stop
            sys.exit(128 + stop_received())
        print(f"babysit search: worker {worker} stopped: {type(err).__name__}: {err}",
              file=sys.stderr)
        sys.exit(1)


def end_with_parent() -> None:
    """Have this process stopped as by SIGTERM when its parent dies: a thread looks every
    `PARENT_LOOK_SECONDS` whether the parent is still this process's parent (the system gives
    an orphan another, however its parent ended, `kill -9` too) and then sends this process
    SIGTERM, which `stop_signals_interrupt` turns into a stop that tells the running trial
    failed. A parent already gone by then ends it at once. Outside a spawned process (no
    parent to watch) nothing is set."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    if os.getppid() != parent.pid:
        raise Stopped("the search that started this worker has ended", signum=signal.SIGTERM)

    def watch() -> None:
        while os.getppid() == parent.pid:
            time.sleep(PARENT_LOOK_SECONDS)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="babysit-parent-watch", daemon=True).start()


# The signals that stop a search's processes: Ctrl-C's SIGINT and `STOP_SIGNALS`.
_HELD = (signal.SIGINT, *STOP_SIGNALS)


@contextlib.contextmanager
def children_hold_stops():
    """Within the block, processes started from this thread begin with the stop signals
    blocked (a started process inherits the mask), until `work_with_cores` has its handlers
    in place: a Ctrl-C or SIGTERM during a worker's start-up (its imports, the job it reads
    from the parent) would end it with multiprocessing's traceback. This thread's own stops
    wait as well, until the block ends."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def run_workers(job: Job, workers: int, poll=None) -> list[int]:
    """Start `workers` spawned processes on the job and wait for all; their exit codes.
    `poll()`, when given, is called about once a second while they run (a progress bar's
    update)."""
    with tempfile.TemporaryDirectory(prefix="babysit-search-") as private:
        # The job (its data too) goes through a file in a folder of this user's alone, not
        # through the pipe each process is started by: a pipe holds 64 KB, and multiprocessing
        # keeps its reading end open in this process until the write ends, so a worker that
        # died before reading it all (a script calling search.run without the __main__
        # guard) left this process writing forever.
        job_file = Path(private) / "job.pickle"
        job_file.write_bytes(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
        return _run_processes(str(job_file), workers, poll)


def _run_processes(job_file: str, workers: int, poll) -> list[int]:
    """`run_workers`' processes, started on `job_file` and waited for; their exit codes."""
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Barrier(workers)
    cores = max(1, (os.cpu_count() or 1) // workers)
    procs = [ctx.Process(target=work_with_cores, args=(job_file, i, ready, cores),
                         name=f"babysit-search-{i}") for i in range(workers)]
    try:
        # a stop while they start waits until all have (a process cut off while it reads
        # the job from this one prints a traceback); then every one is ended, as below
        with stops_deferred(), children_hold_stops():
            for p in procs:
                p.start()
        pending = list(procs)
        while pending:  # join each as it ends, so a killed worker is reaped (and seen dead) at once
            ended = wait_for_processes([p.sentinel for p in pending],
                                       timeout=None if poll is None else POLL_SECONDS)
            if poll is not None:
                poll()
            for p in [p for p in pending if p.sentinel in ended]:
                p.join()
                pending.remove(p)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
                p.join()
    return [p.exitcode for p in procs]


