"""A shared search under faults: N `babysit search` processes on one PostgreSQL study, one
of them SIGKILLed every few seconds (and started again, as a scheduler would), the database
restarted once; then the study is checked.

    python benchmarks/chaos_search.py --url postgresql://user@127.0.0.1:5432/db \
        --restart-command "pg_ctl -D DATA -m immediate restart" [--processes 4] \
        [--kill-every 10] [--restart-after 30] [--trials 60] [--epochs 4]

(the password from PGPASSWORD or ~/.pgpass, never on the command line). It prints one JSON
object: the trials asked and finished, any left RUNNING, repeated trial numbers, how many
processes retrained the best, each process's exit status and its last line of stderr. The
run passes when the study holds exactly the trials asked, none stuck, no repeated number,
at most one retrain, and every process that was not killed exited 0 or with one line.
`run_chaos` is what tests/test_shared_study.py runs in a shorter form.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

RETRAINED = "best configuration retrained:"   # the line a process that retrained prints


def search_command(url: str, study: str, out: Path, trials: int, epochs: int) -> list[str]:
    return [sys.executable, "-m", "babysit", "search", "--data", "digits", "--stages",
            f"{trials}:{epochs}", "--hidden", "16", "--batch-size", "64", "--param",
            "lr=loguniform(1e-3,1e-1)", "--param", "reg=loguniform(1e-6,1e-2)", "--storage",
            url, "--study", study, "--top-k", "0", "--no-report", "--out", str(out)]


class TrialCounter:
    """Counts the study's finished trials over one database connection, kept between looks:
    a fresh connection costs the driver up to a second a look, long enough on a fast machine
    for a whole short study to finish between two looks (the kill due at an eighth of the
    trials then never falls). After a failure (the server is being restarted) the connection
    is dropped and made again at the next look."""

    def __init__(self, url: str, study: str):
        self.url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        self.study, self.storage = study, None

    def __call__(self) -> int:
        """How many trials the study holds finished (-1 when the database cannot say: it is
        being restarted, or the study is not made yet)."""
        import optuna

        try:
            if self.storage is None:
                self.storage = optuna.storages.RDBStorage(self.url)
            done = optuna.load_study(study_name=f"{self.study}.stage1",
                                     storage=self.storage).get_trials(
                deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,
                                        optuna.trial.TrialState.PRUNED))
        except KeyError:     # no such study yet: the connection is fine
            return -1
        except Exception:
            self.close()
            return -1
        return len(done)

    def close(self) -> None:
        """Drop the connection (one the server already closed too: nothing to say then)."""
        storage, self.storage = self.storage, None
        if storage is not None:
            with contextlib.suppress(Exception):
                storage.remove_session()
                storage.engine.dispose()


def run_chaos(url: str, restart, folder: Path, *, processes: int = 4,
              kill_every: float | None = 10.0, restart_after: float | None = 30.0,
              kill_at: tuple[int, ...] = (), restart_at: int | None = None, trials: int = 60,
              epochs: int = 4, study: str = "chaos", seed: int = 0,
              timeout: float = 1800.0) -> dict:
    """Run the chaos and check the study. `restart()` restarts the database, once:
    `restart_after` seconds after the first process printed its first line, or once the study
    holds `restart_at` finished trials and the kills of `kill_at` are done. A process is
    SIGKILLed (and a new one started in its place) every `kill_every` seconds, or as the study
    reaches each count in `kill_at`, while trials remain. Counts are events, not times: a test
    uses them, so that a loaded machine changes nothing. Returns the summary (the module's doc
    says its keys)."""
    import optuna

    from babysit import search

    rng = random.Random(seed)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    logs, procs, ended = folder / "logs", {}, []
    logs.mkdir(parents=True, exist_ok=True)

    def start(i: int) -> None:
        with open(logs / f"{i}.out", "w") as out, open(logs / f"{i}.err", "w") as err:
            procs[i] = subprocess.Popen(search_command(url, study, folder / f"run-{i}",
                                                       trials, epochs),
                                        env=env, stdout=out, stderr=err)

    finished_trials = TrialCounter(url, study)
    finished_trials()     # the driver and its imports are warm before any trial ends
    for i in range(processes):
        start(i)
    began = time.monotonic()
    # the clock starts once a process is at work: its first line is printed
    while not any((logs / f"{i}.out").stat().st_size for i in procs):
        assert time.monotonic() - began < timeout, "no search process started"
        time.sleep(0.1)
    began, restarted, killed = time.monotonic(), False, 0
    next_kill = began + (kill_every or math.inf)
    while procs:
        now = time.monotonic()
        assert now - began < timeout, "the chaos run did not end"
        for i, p in list(procs.items()):
            if p.poll() is not None:
                ended.append((i, p.returncode, False))
                del procs[i]
        done = finished_trials()
        due = now >= next_kill or (killed < len(kill_at) and done >= kill_at[killed])
        if procs and due and 0 <= done < trials:
            i = rng.choice(sorted(procs))
            procs[i].kill()
            procs[i].wait()
            ended.append((i, procs.pop(i).returncode, True))
            killed += 1
            start(max([*procs, *(e[0] for e in ended)]) + 1)   # the scheduler starts another
            next_kill = now + (kill_every or math.inf)
        # after the kill, in the same look: a driver that looks seldom still does both
        if not restarted and (now - began >= (restart_after or math.inf)
                              or (restart_at is not None and done >= restart_at
                                  and killed >= len(kill_at))):
            restart()
            restarted = True
        time.sleep(0.1)
    finished_trials.close()

    storage = search.open_storage(url)
    study_trials = optuna.load_study(study_name=f"{study}.stage1", storage=storage).get_trials()
    states = Counter(t.state.name for t in study_trials)
    numbers = Counter(t.number for t in study_trials)
    outputs = {i: (logs / f"{i}.out").read_text() for i, _, _ in ended}
    errors = {i: (logs / f"{i}.err").read_text().strip().splitlines() for i, _, _ in ended}
    survivors = [{"process": i, "status": code,
                  "last_line": errors[i][-1] if errors[i] else ""}
                 for i, code, was_killed in ended if not was_killed]
    summary = {"trials_asked": trials, "finished": states["COMPLETE"] + states["PRUNED"],
               "running": states["RUNNING"], "failed": states["FAIL"],
               "repeated_numbers": sorted(n for n, c in numbers.items() if c > 1),
               "retrains": sum(RETRAINED in text for text in outputs.values()),
               "killed": killed, "restarted": restarted,
               "seconds": round(time.monotonic() - began, 1), "survivors": survivors}
    summary["ok"] = (summary["finished"] == trials and not summary["running"]
                     and not summary["repeated_numbers"] and summary["retrains"] <= 1
                     and all(s["status"] in (0, 2) for s in survivors))
    return summary


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True, help="the study's PostgreSQL URL, no password")
    p.add_argument("--restart-command", required=True,
                   help="a shell command that restarts the database")
    p.add_argument("--processes", type=int, default=4)
    p.add_argument("--kill-every", type=float, default=10.0)
    p.add_argument("--restart-after", type=float, default=30.0)
    p.add_argument("--trials", type=int, default=60)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--study", default=f"chaos-{int(time.time())}")
    p.add_argument("--folder", type=Path, default=Path("runs") / "chaos")
    args = p.parse_args()
    summary = run_chaos(args.url, lambda: subprocess.run(args.restart_command, shell=True,
                                                         check=True),
                        args.folder, processes=args.processes, kill_every=args.kill_every,
                        restart_after=args.restart_after, trials=args.trials,
                        epochs=args.epochs, study=args.study)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
