"""What babysit prints for a person: one helper below the command line and the search, so that
both print the same way and neither imports the other; and how the command line reports an
error: one line on stderr and exit status 2, whatever raised it, the traceback on --debug."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterator

__all__ = ["say", "stdout_reader_may_leave", "OneLineParser", "run_reporting_errors"]


def say(text: str = "") -> None:
    """Human-readable output, flushed at once; a command's JSON summary (--json) is printed
    after it, so that it stays stdout's last line."""
    print(text, flush=True)


class _ReaderMayLeave:
    """stdout for a run whose reader may go away (`babysit train | head`): once a write or
    flush finds the pipe closed, the rest of the output goes to /dev/null instead of raising
    BrokenPipeError in the middle of the work, so the run still writes its files. Everything
    else (isatty, fileno, encoding) is the wrapped stream's."""

    def __init__(self, stream):
        self._stream, self._gone = stream, False

    def write(self, text: str) -> int:
        if not self._gone:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._reader_left()
        return len(text)

    def flush(self) -> None:
        if not self._gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._reader_left()

    def _reader_left(self) -> None:
        # Point the file descriptor at /dev/null too, so that the interpreter's own flush of
        # the real stdout at exit finds nothing to complain about.
        self._gone = True
        with contextlib.suppress(OSError, ValueError, AttributeError, io.UnsupportedOperation):
            os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())

    def __getattr__(self, name):
        return getattr(self._stream, name)


@contextlib.contextmanager
def stdout_reader_may_leave() -> Iterator[None]:
    """Within the block, a closed stdout pipe silences the output instead of ending the run."""
    original = sys.stdout
    sys.stdout = _ReaderMayLeave(original)
    try:
        yield
    finally:
        sys.stdout = original


# A negative number as an option's value, in every form float() reads: argparse's own pattern
# (Python 3.11) takes -1 and -0.5 but not -1e-3 or -inf, which it read as an unknown option
# ("--reg: expected one argument") instead of handing them to the option's check
NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^-(inf|infinity|nan)$",
                             re.IGNORECASE)


class OneLineParser(argparse.ArgumentParser):
    """argparse, refusing bad options in one line (no usage block above it) with status 2,
    taking options only as spelled in full (argparse's default read `--ep 2` as `--epochs 2`
    without a word, and a later option could change what an abbreviation meant), and taking
    any negative number as a value (NEGATIVE_NUMBER), so that its option's check names it."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = NEGATIVE_NUMBER

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def run_reporting_errors(command: str, run: Callable[[], int], debug: bool = False,
                         diverged_status: int = 2) -> int:
    """`run()`'s exit status; an error instead is one line "COMMAND: error: ..." on stderr and
    status 2 (bad input, or anything unexpected, then with a hint at --debug), after its
    traceback when `debug`; a DivergedError is one line and `diverged_status`. Ctrl-C, SIGTERM
    and SIGHUP (`finish.stop_signals_interrupt`) are one line and status 128 + the signal
    (130, 143, 129)."""
    from babysit.runs.finish import interrupt_name, interrupt_status
    from babysit.training.trainer import DivergedError  # here: console is imported below the loop

    def say_error(message: str, prefix: str = "error: ") -> None:
        if debug:
            traceback.print_exc()
        print(f"{command}: {prefix}{' '.join(message.splitlines())}", file=sys.stderr)

    try:
        return run()
    except KeyboardInterrupt as err:  # the run may say what it kept (finish.fit)
        say_error(f"{interrupt_name(err)} {err}" if str(err) else interrupt_name(err))
        return interrupt_status(err)
    except DivergedError as err:
        say_error(str(err), prefix="")
        return diverged_status
    except ValueError as err:
        say_error(str(err))
        return 2
    except OSError as err:  # a full disk, no permission: the file, and the system's words
        where = f"{err.filename}: " if err.filename else ""
        say_error(f"{where}{err.strerror or err}" + ("" if debug else " (--debug shows where)"))
        return 2
    except Exception as err:  # a bug or the environment: still one line, the rest on --debug
        say_error(f"{type(err).__name__}: {err}"
                  + ("" if debug else " (run with --debug for the traceback)"))
        return 2
