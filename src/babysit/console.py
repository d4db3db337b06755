"""What babysit prints for a person: one helper below the command line and the search, so that
both print the same way and neither imports the other."""

from __future__ import annotations


def say(text: str = "") -> None:
    """Human-readable output, flushed at once; a command's JSON summary (--json) is printed
    after it, so that it stays stdout's last line."""
    print(text, flush=True)
