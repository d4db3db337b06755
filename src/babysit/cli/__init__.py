"""The `babysit` command line: one entry point, `main(argv)`, and its `parser()`."""

from babysit.cli.app import main, parser

__all__ = ["main", "parser"]
