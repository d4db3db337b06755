"""One writer per run folder: a run holds an exclusive lock on the folder it writes for its
whole life, so that a second process writing the same folder (two `babysit resume RUN` at
once, or a resume while the run still trains) is refused with one line instead of
silently mixing its checkpoints, state.safetensors and history.json with the first's.

The lock is `fcntl.flock` (LOCK_EX, without waiting) on the file RUN/.lock, which holds the
PID of the process that took it last. The kernel drops a flock when its process ends, however
it ends (Ctrl-C, an error, kill -9, a machine that went down), so a dead run never leaves a
stale lock; the file itself stays, and a later run takes it over. Readers (`babysit report`,
`predict`, `check`) take no lock. Where `fcntl` does not exist (Windows), nothing is locked.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

# The file in a run folder that its writer locks.
LOCK_NAME = ".lock"

# The folders this process holds, by resolved path: the number of `locked` blocks inside
# which each one is, and its lock file's descriptor. A folder held already is not locked a
# second time (a second descriptor's flock would refuse this very process).
_held: dict[Path, list[int]] = {}

# The locks `hold` took for the command now running; `command_scope` releases them.
_command = contextlib.ExitStack()


class FolderBusyError(ValueError):
    """Another process is writing the run folder (a ValueError: the command line's one line
    and exit status 2)."""


@contextlib.contextmanager
def locked(folder) -> Iterator[Path]:
    """Hold the exclusive lock on `folder` (an existing folder) within the block; released at
    its end, or when the process ends. A folder another process holds is a FolderBusyError
    naming it and that process's PID. Re-entrant within one process."""
    key = Path(folder).resolve()
    if key in _held:
        _held[key][0] += 1
    else:
        _held[key] = [1, _acquire(Path(folder))]
    try:
        yield Path(folder)
    finally:
        _held[key][0] -= 1
        if _held[key][0] == 0:
            _close(_held.pop(key)[1])


def hold(folder) -> None:
    """Hold the lock on `folder` until the command now running ends (`command_scope`): for a
    command that learns its run folder deep inside and writes it to the end."""
    _command.enter_context(locked(folder))


@contextlib.contextmanager
def command_scope() -> Iterator[None]:
    """Run one command: the locks `hold` takes inside the block are released at its end,
    whether the command finished, failed or was interrupted."""
    try:
        yield
    finally:
        _command.close()


def _acquire(folder: Path) -> int:
    """A descriptor of folder/.lock holding the flock, with this process's PID written in it;
    -1 where there is no fcntl (nothing is locked)."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock
        return -1
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        os.close(fd)
        who = f" (PID {pid})" if pid.isdigit() else ""
        raise FolderBusyError(f"{folder} is being written by another babysit process{who}: one "
                              f"run folder takes one writer at a time; wait for it to end (or "
                              f"stop it), then try again") from None
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _close(fd: int) -> None:
    """Close a lock's descriptor, which releases its flock (-1: nothing was locked)."""
    if fd >= 0:
        os.close(fd)


__all__ = ["LOCK_NAME", "FolderBusyError", "command_scope", "hold", "locked"]
