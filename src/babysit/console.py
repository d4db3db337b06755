"""What babysit prints for a person: one helper below the command line and the search, so that
both print the same way and neither imports the other; and how the command line reports an
error: one line on stderr and exit status 2, whatever raised it, the traceback on --debug."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable


def say(text: str = "") -> None:
    """Human-readable output, flushed at once; a command's JSON summary (--json) is printed
    after it, so that it stays stdout's last line."""
    print(text, flush=True)


class OneLineParser(argparse.ArgumentParser):
    """argparse, refusing bad options in one line (no usage block above it) with status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def run_reporting_errors(command: str, run: Callable[[], int], debug: bool = False,
                         diverged_status: int = 2) -> int:
    """`run()`'s exit status; an error instead is one line "COMMAND: error: ..." on stderr and
    status 2 (bad input, or anything unexpected, then with a hint at --debug), after its
    traceback when `debug`; a DivergedError is one line and `diverged_status`. Ctrl-C is one
    line and status 130."""
    from babysit.train import DivergedError  # here: console is imported below the loop

    def say_error(message: str, prefix: str = "error: ") -> None:
        if debug:
            traceback.print_exc()
        print(f"{command}: {prefix}{' '.join(message.splitlines())}", file=sys.stderr)

    try:
        return run()
    except KeyboardInterrupt:
        say_error("interrupted")
        return 130
    except DivergedError as err:
        say_error(str(err), prefix="")
        return diverged_status
    except ValueError as err:
        say_error(str(err))
        return 2
    except Exception as err:  # a bug or the environment: still one line, the rest on --debug
        say_error(f"{type(err).__name__}: {err}"
                  + ("" if debug else " (run with --debug for the traceback)"))
        return 2
