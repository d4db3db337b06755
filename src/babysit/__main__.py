"""`python -m babysit ...`: the `babysit` command where its script is not on PATH."""

from babysit.cli import main

raise SystemExit(main())
